//! The JSON report, schema version [`JSON_SCHEMA_VERSION`] (documented in
//! `docs/json-output.md`). Field names are a public contract: add, never rename.

use std::io::{self, Write};

use serde::Serialize;

use super::json_writer::{Object, SharedString, push_name, push_number, push_string, write_object};
use super::{Renderer, close_json_array, write_json};
use crate::report::{
    Counts, FileCounts, FileOutcome, JSON_SCHEMA_VERSION, PipelineSummary, Report, ReportedFinding, Suppressed,
};
use crate::source::{Position, Region};

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

/// One element of `pipelines`, four spaces in, as serde_json lays out a [`PipelineSummary`].
fn write_pipeline(out: &mut Vec<u8>, pipeline: &PipelineSummary) {
    let PipelineSummary { info, counts, score, secure } = pipeline;
    write_object(out, 4, |object| {
        object.string("path", &info.path);
        object.string("name", &info.name);
        object.string("format", &info.format);
        object.number("containers", info.containers);
        object.object("counts", |object| write_counts(object, counts));
        object.number("score", *score as usize);
        object.boolean("secure", *secure);
    });
}

fn write_counts(object: &mut Object, counts: &Counts) {
    let Counts { high, medium, low } = counts;
    object.number("high", *high);
    object.number("medium", *medium);
    object.number("low", *low);
}

/// One element of `files`, four spaces in: its path, then its outcome tagged by `status`,
/// as serde_json lays out the path next to a flattened [`FileOutcome`].
fn write_file(out: &mut Vec<u8>, path: &str, outcome: &FileOutcome) {
    write_object(out, 4, |object| {
        object.string("path", path);
        match outcome {
            FileOutcome::Linted { documents } => {
                object.string("status", "linted");
                object.array("documents", |array| {
                    for document in documents {
                        array.object(|object| {
                            object.number("index", document.index);
                            object.optional_string("format", document.format.as_deref());
                            object.optional_string("skipped", document.skipped.as_deref());
                        });
                    }
                });
            }
            FileOutcome::Skipped { reason } => {
                object.string("status", "skipped");
                object.string("reason", reason);
            }
            FileOutcome::Failed { error } => {
                object.string("status", "failed");
                object.object("error", |object| {
                    object.string("code", &error.code);
                    object.string("message", &error.message);
                    object.optional_object("region", error.region, |object, Region { start, end }| {
                        object.object("start", |object| write_position(object, start));
                        object.object("end", |object| write_position(object, end));
                    });
                });
            }
        }
    });
}

fn write_position(object: &mut Object, position: Position) {
    object.number("line", position.line);
    object.number("column", position.column);
}

/// One element of `findings`, four spaces in: serde_json's pretty layout spelled out, each
/// member's separator, indentation and name copied as one literal. Through
/// [`super::json_writer::Object`], placing a member cost about as much as writing its value,
/// and a run writes a dozen members for each of thousands of findings.
fn write_finding(out: &mut Vec<u8>, reported: &ReportedFinding, shared: &mut SharedStrings) {
    let finding = &reported.finding;
    let Region { start, end } = reported.region;
    out.extend_from_slice(b"{\n      \"rule\": ");
    push_name(out, finding.rule);
    out.extend_from_slice(b",\n      \"severity\": ");
    push_name(out, finding.severity.as_str());
    out.extend_from_slice(b",\n      \"message\": ");
    push_string(out, &finding.message);
    out.extend_from_slice(b",\n      \"path\": ");
    shared.path.push(out, &reported.path);
    out.extend_from_slice(b",\n      \"line\": ");
    push_number(out, start.line);
    out.extend_from_slice(b",\n      \"column\": ");
    push_number(out, start.column);
    out.extend_from_slice(b",\n      \"end_line\": ");
    push_number(out, end.line);
    out.extend_from_slice(b",\n      \"end_column\": ");
    push_number(out, end.column);
    out.extend_from_slice(b",\n      \"pipeline\": ");
    shared.pipeline.push(out, &finding.pipeline);
    out.extend_from_slice(b",\n      \"container\": ");
    match &finding.container {
        Some(container) => push_string(out, container),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\n      \"steps\": [");
    for (index, step) in finding.steps.iter().enumerate() {
        out.extend_from_slice(if index == 0 { b"\n        " } else { b",\n        " });
        push_string(out, step);
    }
    out.extend_from_slice(if finding.steps.is_empty() { b"]" } else { b"\n      ]" });
    out.extend_from_slice(b",\n      \"fingerprint\": ");
    push_name(out, &finding.fingerprint);
    out.extend_from_slice(b",\n      \"related\": [");
    for (index, (region, message)) in reported.related.iter().enumerate() {
        out.extend_from_slice(if index == 0 { b"\n        {" } else { b",\n        {" });
        out.extend_from_slice(b"\n          \"line\": ");
        push_number(out, region.start.line);
        out.extend_from_slice(b",\n          \"column\": ");
        push_number(out, region.start.column);
        out.extend_from_slice(b",\n          \"message\": ");
        push_string(out, message);
        out.extend_from_slice(b"\n        }");
    }
    out.extend_from_slice(if reported.related.is_empty() { b"]\n    }" } else { b"\n      ]\n    }" });
}

/// The strings findings share, escaped once ([`SharedString`]).
#[derive(Default)]
struct SharedStrings {
    path: SharedString,
    pipeline: SharedString,
}

/// Streams the JSON report. Keys come in the order `schema_version`, `tool`, `findings`,
/// `pipelines`, `files`, `summary`: the totals are known only at the end of the run.
#[derive(Default)]
pub struct Json {
    written: usize,
    scratch: Vec<u8>,
    shared: SharedStrings,
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
        // Written by hand (see `write_finding`): a run has thousands of findings.
        for reported in findings {
            self.scratch.clear();
            self.scratch.extend_from_slice(if self.written == 0 { b"\n    " } else { b",\n    " });
            write_finding(&mut self.scratch, reported, &mut self.shared);
            out.write_all(&self.scratch)?;
            self.written += 1;
        }
        Ok(())
    }

    fn end(&mut self, out: &mut dyn Write, report: &Report) -> io::Result<()> {
        close_json_array(out, self.written, 2)?;
        // Element by element: a run over many files must not be serialised whole in memory.
        // By hand too (`write_pipeline`, `write_file`): one of each per pipeline and file.
        out.write_all(b",\n  \"pipelines\": [")?;
        let mut index = 0;
        report.pipelines.for_each(|pipeline| {
            self.scratch.clear();
            self.scratch.extend_from_slice(if index == 0 { b"\n    " } else { b",\n    " });
            write_pipeline(&mut self.scratch, pipeline);
            index += 1;
            out.write_all(&self.scratch)
        })?;
        close_json_array(out, report.pipelines.len(), 2)?;
        out.write_all(b",\n  \"files\": [")?;
        let mut index = 0;
        report.files.for_each(|file| {
            self.scratch.clear();
            self.scratch.extend_from_slice(if index == 0 { b"\n    " } else { b",\n    " });
            write_file(&mut self.scratch, &file.path, &file.outcome);
            index += 1;
            out.write_all(&self.scratch)
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::finding::{Finding, Severity};
    use crate::formats::DocumentOutcome;
    use crate::report::{FileErrorInfo, PipelineInfo};

    /// The members of a finding in `write_finding`'s order, for serde_json to lay out.
    #[derive(Serialize)]
    struct Expected<'f> {
        rule: &'f str,
        severity: &'f str,
        message: &'f str,
        path: &'f str,
        line: usize,
        column: usize,
        end_line: usize,
        end_column: usize,
        pipeline: &'f str,
        container: Option<&'f str>,
        steps: &'f [String],
        fingerprint: &'f str,
        related: Vec<ExpectedRelated<'f>>,
    }

    #[derive(Serialize)]
    struct ExpectedRelated<'f> {
        line: usize,
        column: usize,
        message: &'f str,
    }

    #[test]
    fn findings_are_written_as_serde_json_writes_them() {
        let at = |line, column| Position { line, column };
        let awkward = "\"quoted\" \\ tab\t newline\n \u{1} café 🦀";
        let steps: [&[&str]; 3] = [&[], &["one"], &["a", awkward, "c"]];
        for (case, steps) in steps.iter().enumerate() {
            let related: Vec<(Region, String)> = (0..case)
                .map(|n| (Region { start: at(n + 1, 2), end: at(n + 1, 9) }, format!("set in {awkward} {n}")))
                .collect();
            let reported = ReportedFinding {
                path: Arc::from(format!("dir/{awkward}.yaml")),
                region: Region { start: at(12, 7), end: at(130, 1) },
                finding: Finding {
                    rule: "missing-cpu-limit",
                    severity: [Severity::Low, Severity::Medium, Severity::High][case],
                    message: format!("container `{awkward}` has no limit"),
                    span: 0..0,
                    secret: None,
                    related: Vec::new(),
                    pipeline: Arc::from(awkward),
                    container: (case != 1).then(|| Arc::from("main")),
                    steps: steps.iter().map(|step| step.to_string()).collect(),
                    fingerprint: "0123456789abcdef0123456789abcdef:2".to_string(),
                },
                related,
                snippet: None,
            };
            let finding = &reported.finding;
            let expected = Expected {
                rule: finding.rule,
                severity: finding.severity.as_str(),
                message: &finding.message,
                path: &reported.path,
                line: 12,
                column: 7,
                end_line: 130,
                end_column: 1,
                pipeline: &finding.pipeline,
                container: finding.container.as_deref(),
                steps: &finding.steps,
                fingerprint: &finding.fingerprint,
                related: reported
                    .related
                    .iter()
                    .map(|(region, message)| ExpectedRelated {
                        line: region.start.line,
                        column: region.start.column,
                        message,
                    })
                    .collect(),
            };
            // Four spaces in, as an element of `findings`.
            let expected = serde_json::to_string_pretty(&expected).unwrap().replace('\n', "\n    ");
            let mut out = Vec::new();
            write_finding(&mut out, &reported, &mut SharedStrings::default());
            assert_eq!(String::from_utf8(out).unwrap(), expected, "case {case}");
        }
    }

    /// What the report wrote through serde before `write_file`: the path next to the
    /// flattened outcome.
    #[derive(Serialize)]
    struct SerdeFile<'r> {
        path: &'r str,
        #[serde(flatten)]
        outcome: &'r FileOutcome,
    }

    #[test]
    fn pipelines_and_files_are_written_as_serde_json_writes_them() {
        let awkward = "\"quoted\" \\ tab\t newline\n \u{1} café 🦀";
        for (secure, containers) in [(true, 0), (false, 12)] {
            let pipeline = PipelineSummary {
                info: PipelineInfo {
                    path: format!("dir/{awkward}.yaml"),
                    name: awkward.to_string(),
                    format: "KFP v2".into(),
                    containers,
                },
                counts: Counts { high: 1, medium: 20, low: 300 },
                score: 100,
                secure,
            };
            let mut out = Vec::new();
            write_pipeline(&mut out, &pipeline);
            assert_eq!(String::from_utf8(out).unwrap(), as_element(&pipeline));
        }
        let document = |index, format: Option<&str>, skipped: Option<&str>| DocumentOutcome {
            index,
            format: format.map(|f| f.to_string().into()),
            skipped: skipped.map(str::to_string),
        };
        let error = |region| FileErrorInfo {
            code: "kfpguard::parse".into(),
            message: format!("bad {awkward}"),
            region,
            snippet: None,
        };
        let at = |line, column| Position { line, column };
        let outcomes = [
            FileOutcome::Linted { documents: Vec::new() },
            FileOutcome::Linted { documents: vec![document(0, Some("Argo"), None), document(1, None, Some(awkward))] },
            FileOutcome::Skipped { reason: awkward.to_string() },
            FileOutcome::Failed { error: Box::new(error(None)) },
            FileOutcome::Failed { error: Box::new(error(Some(Region { start: at(3, 4), end: at(5, 6) }))) },
        ];
        for (case, outcome) in outcomes.iter().enumerate() {
            let path = format!("{awkward}/{case}.yaml");
            let mut out = Vec::new();
            write_file(&mut out, &path, outcome);
            assert_eq!(String::from_utf8(out).unwrap(), as_element(&SerdeFile { path: &path, outcome }), "case {case}");
        }
    }

    /// `value` as serde_json pretty-prints it, four spaces in: as an element of `pipelines`
    /// or `files`.
    fn as_element(value: &impl Serialize) -> String {
        serde_json::to_string_pretty(value).unwrap().replace('\n', "\n    ")
    }
}
