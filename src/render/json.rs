//! The JSON report, schema version [`JSON_SCHEMA_VERSION`] (documented in
//! `docs/json-output.md`). Field names are a public contract: add, never rename.

use std::io::{self, Write};

use serde::Serialize;

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
struct JsonFinding<'r> {
    rule: &'static str,
    severity: &'static str,
    message: &'r str,
    path: &'r str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    pipeline: &'r str,
    container: Option<&'r str>,
    steps: &'r [String],
    fingerprint: &'r str,
    related: Vec<JsonRelated<'r>>,
}

#[derive(Serialize)]
struct JsonRelated<'r> {
    line: usize,
    column: usize,
    message: &'r str,
}

#[derive(Serialize)]
struct JsonFile<'r> {
    path: &'r str,
    #[serde(flatten)]
    outcome: &'r FileOutcome,
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
        for reported in findings {
            let finding = JsonFinding {
                rule: reported.finding.rule,
                severity: reported.finding.severity.as_str(),
                message: &reported.finding.message,
                path: &reported.path,
                line: reported.region.start.line,
                column: reported.region.start.column,
                end_line: reported.region.end.line,
                end_column: reported.region.end.column,
                pipeline: &reported.finding.pipeline,
                container: reported.finding.container.as_deref(),
                steps: &reported.finding.steps,
                fingerprint: &reported.finding.fingerprint,
                related: reported
                    .related
                    .iter()
                    .map(|(region, message)| JsonRelated {
                        line: region.start.line,
                        column: region.start.column,
                        message,
                    })
                    .collect(),
            };
            write_json_element(out, &finding, self.written, 4, &mut self.scratch)?;
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
