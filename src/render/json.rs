//! The JSON report, schema version [`JSON_SCHEMA_VERSION`] (documented in
//! `docs/json-output.md`). Field names are a public contract: add, never rename.

use std::io::{self, Write};

use serde::Serialize;

use super::json_writer::write_object;
use super::{Renderer, close_json_array, write_json, write_json_element};
use crate::report::{Counts, FileCounts, FileOutcome, JSON_SCHEMA_VERSION, Report, ReportedFinding, Suppressed};

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Summary<'r> {
    files: FileCounts,
    /// Findings held back by `--min-severity`, config ignores or the baseline.
    suppressed: Suppressed,
    notes: &'r [String],
    pipelines: usize,
    containers: usize,
    findings: Counts,
    score: u32,
}

#[derive(Serialize)]
struct JsonFile<'r> {
    path: &'r str,
    #[serde(flatten)]
    outcome: &'r FileOutcome,
}

/// One element of `findings`, four spaces in.
fn write_finding(out: &mut Vec<u8>, reported: &ReportedFinding) {
    let finding = &reported.finding;
    write_object(out, 4, |object| {
        object.string("rule", finding.rule);
        object.string("severity", finding.severity.as_str());
        object.string("message", &finding.message);
        object.string("path", &reported.path);
        object.number("line", reported.region.start.line);
        object.number("column", reported.region.start.column);
        object.number("end_line", reported.region.end.line);
        object.number("end_column", reported.region.end.column);
        object.string("pipeline", &finding.pipeline);
        object.optional_string("container", finding.container.as_deref());
        object.strings("steps", &finding.steps);
        object.string("fingerprint", &finding.fingerprint);
        object.array("related", |related| {
            for (region, message) in &reported.related {
                related.object(|entry| {
                    entry.number("line", region.start.line);
                    entry.number("column", region.start.column);
                    entry.string("message", message);
                });
            }
        });
    });
}

/// Streams the JSON report. Keys come in the order `schema_version`, `tool`, `findings`,
/// `pipelines`, `files`, `summary`: the totals are known only at the end of the run.
#[derive(Default)]
pub struct Json {
    written: usize,
    scratch: Vec<u8>,
}

impl Json {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Renderer for Json {
    fn begin(&mut self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(format!("{{\n  \"schema_version\": {JSON_SCHEMA_VERSION},\n  \"tool\": ").as_bytes())?;
        let tool = Tool { name: env!("CARGO_PKG_NAME"), version: env!("CARGO_PKG_VERSION") };
        write_json(out, &tool, 2, &mut self.scratch)?;
        out.write_all(b",\n  \"findings\": [")
    }

    fn findings(&mut self, out: &mut dyn Write, findings: &[ReportedFinding]) -> io::Result<()> {
        // Written by hand (see `json_writer`): a run has thousands of findings.
        for reported in findings {
            self.scratch.clear();
            self.scratch.extend_from_slice(if self.written == 0 { b"\n    " } else { b",\n    " });
            write_finding(&mut self.scratch, reported);
            out.write_all(&self.scratch)?;
            self.written += 1;
        }
        Ok(())
    }

    fn end(&mut self, out: &mut dyn Write, report: &Report) -> io::Result<()> {
        close_json_array(out, self.written, 2)?;
        // Element by element: a run over many files must not be serialised whole in memory.
        out.write_all(b",\n  \"pipelines\": [")?;
        let mut index = 0;
        report.pipelines.for_each(|pipeline| {
            write_json_element(out, pipeline, index, 4, &mut self.scratch)?;
            index += 1;
            Ok(())
        })?;
        close_json_array(out, report.pipelines.len(), 2)?;
        out.write_all(b",\n  \"files\": [")?;
        let mut index = 0;
        report.files.for_each(|file| {
            let file = JsonFile { path: &file.path, outcome: &file.outcome };
            write_json_element(out, &file, index, 4, &mut self.scratch)?;
            index += 1;
            Ok(())
        })?;
        close_json_array(out, report.files.len(), 2)?;
        out.write_all(b",\n  \"summary\": ")?;
        let summary = Summary {
            files: report.file_counts,
            suppressed: report.suppressed,
            notes: &report.notes,
            pipelines: report.pipelines.len(),
            containers: report.containers,
            findings: report.counts,
            score: report.score,
        };
        write_json(out, &summary, 2, &mut self.scratch)?;
        out.write_all(b"\n}\n")
    }
}
