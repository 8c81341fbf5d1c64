//! The JSON report, schema version [`JSON_SCHEMA_VERSION`] (documented in
//! `docs/json-output.md`). Field names are a public contract: add, never rename.

use serde::Serialize;

use crate::report::{Counts, FileCounts, FileOutcome, JSON_SCHEMA_VERSION, PipelineSummary, Report, Suppressed};

#[derive(Serialize)]
struct JsonReport<'r> {
    schema_version: u32,
    tool: Tool,
    summary: Summary<'r>,
    findings: Vec<JsonFinding<'r>>,
    pipelines: &'r [PipelineSummary],
    files: Vec<JsonFile<'r>>,
}

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

pub fn render(report: &Report) -> String {
    let json = JsonReport {
        schema_version: JSON_SCHEMA_VERSION,
        tool: Tool { name: env!("CARGO_PKG_NAME"), version: env!("CARGO_PKG_VERSION") },
        summary: Summary {
            files: report.file_counts,
            suppressed: report.suppressed,
            notes: &report.notes,
            pipelines: report.pipelines.len(),
            containers: report.containers,
            findings: report.counts,
            score: report.score,
        },
        findings: report
            .findings
            .iter()
            .map(|reported| JsonFinding {
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
            })
            .collect(),
        pipelines: &report.pipelines,
        files: report.files.iter().map(|file| JsonFile { path: &file.path, outcome: &file.outcome }).collect(),
    };
    let mut text = serde_json::to_string_pretty(&json).unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
    text.push('\n');
    text
}
