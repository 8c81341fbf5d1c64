//! SARIF 2.1.0 for GitHub code scanning: one rule descriptor per rule (docs from the rule
//! itself, `security-severity` so GitHub ranks alerts), 1-based regions, relative URIs
//! under `%SRCROOT%`, line-independent `partialFingerprints`, and failed files as
//! tool execution notifications.

use std::path::Path;

use serde_json::{Value, json};

use crate::finding::Severity;
use crate::report::{FileOutcome, Report};
use crate::rules::{self, Rule};

/// GitHub maps `security-severity` >= 7.0 to high, >= 4.0 to medium, else low.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "8.0",
        Severity::Medium => "5.0",
        Severity::Low => "2.0",
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

fn descriptor(rule: &Rule) -> Value {
    let meta = &rule.meta;
    json!({
        "id": meta.id,
        "name": pascal_case(meta.id),
        "shortDescription": { "text": meta.summary },
        "fullDescription": { "text": meta.docs.what.trim() },
        "help": { "text": meta.help, "markdown": meta.markdown() },
        "defaultConfiguration": { "level": level(meta.severity), "enabled": meta.enabled_by_default },
        "properties": {
            "tags": meta.tags,
            "precision": "high",
            "security-severity": security_severity(meta.severity),
        },
    })
}

/// SARIF wants a rule `name` different from its opaque `id`: `run-as-root` -> `RunAsRoot`.
fn pascal_case(id: &str) -> String {
    id.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// Percent-encodes a path for a URI (RFC 3986 unreserved characters and `/` stay).
fn encode_path(path: &str) -> String {
    use std::fmt::Write as _;
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => encoded.push(byte as char),
            other => {
                let _ = write!(encoded, "%{other:02X}");
            }
        }
    }
    encoded
}

/// An absolute directory as a `file://` URI ending in `/`.
fn directory_uri(dir: &Path) -> String {
    let mut path = dir.to_string_lossy().replace('\\', "/");
    if !path.ends_with('/') {
        path.push('/');
    }
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    format!("file://{}", encode_path(&path))
}

/// An artifact location: relative to `%SRCROOT%` when the path is below it, else absolute.
fn artifact_location(path: &str, root: &Path) -> Value {
    let outside = path.starts_with('/') || path.starts_with("../") || path == "..";
    if !outside {
        return json!({ "uri": encode_path(path), "uriBaseId": "%SRCROOT%" });
    }
    let absolute = root.join(path);
    let mut normalized = std::path::PathBuf::new();
    for component in absolute.components() {
        match component {
            std::path::Component::ParentDir => {
                normalized.pop();
            }
            std::path::Component::CurDir => {}
            other => normalized.push(other),
        }
    }
    let text = normalized.to_string_lossy().replace('\\', "/");
    let text = if text.starts_with('/') { text } else { format!("/{text}") };
    json!({ "uri": format!("file://{}", encode_path(&text)) })
}

#[derive(serde::Serialize)]
struct Log<'r> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    runs: [Run<'r>; 1],
    version: &'static str,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'r> {
    automation_details: Value,
    column_kind: &'static str,
    invocations: Value,
    original_uri_base_ids: Value,
    properties: Value,
    results: Vec<SarifResult<'r>>,
    tool: Value,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'r> {
    level: &'static str,
    locations: [Location<'r>; 1],
    message: Text<'r>,
    partial_fingerprints: Fingerprints<'r>,
    properties: ResultProperties<'r>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location<'r>>,
    rule_id: &'r str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
}

#[derive(serde::Serialize)]
struct Text<'r> {
    text: &'r str,
}

#[derive(serde::Serialize)]
struct Fingerprints<'r> {
    #[serde(rename = "kfpguard/v1")]
    v1: &'r str,
}

#[derive(serde::Serialize)]
struct ResultProperties<'r> {
    pipeline: &'r str,
    steps: &'r [String],
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Location<'r> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logical_locations: Option<Vec<Logical<'r>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text<'r>>,
    physical_location: Physical<'r>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Logical<'r> {
    #[serde(skip_serializing_if = "Option::is_none")]
    fully_qualified_name: Option<String>,
    kind: &'static str,
    name: &'r str,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Physical<'r> {
    artifact_location: &'r Value,
    region: SarifRegion,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRegion {
    end_column: usize,
    end_line: usize,
    start_column: usize,
    start_line: usize,
}

fn sarif_region(r: &crate::source::Region) -> SarifRegion {
    SarifRegion {
        end_column: r.end.column.max(if r.end.line == r.start.line { r.start.column + 1 } else { 1 }),
        end_line: r.end.line,
        start_column: r.start.column,
        start_line: r.start.line,
    }
}

/// `root` is the directory that report paths are relative to (the working directory).
pub fn render(report: &Report, root: &Path) -> String {
    let all = rules::all();
    let rule_indices: std::collections::HashMap<&str, usize> =
        all.iter().enumerate().rev().map(|(index, rule)| (rule.meta.id, index)).collect();
    // One artifact location per file, borrowed by every location that points into it.
    let mut artifacts: std::collections::HashMap<&str, Value> = std::collections::HashMap::new();
    for reported in &report.findings {
        artifacts.entry(reported.path.as_str()).or_insert_with(|| artifact_location(&reported.path, root));
    }
    let artifacts = &artifacts;
    let null = Value::Null;
    let null = &null;
    let results: Vec<SarifResult<'_>> = report
        .findings
        .iter()
        .map(|reported| {
            let finding = &reported.finding;
            let artifact = artifacts.get(reported.path.as_str()).unwrap_or(null);
            let mut logical = vec![Logical { fully_qualified_name: None, kind: "module", name: &finding.pipeline }];
            if let Some(container) = &finding.container {
                logical.push(Logical {
                    fully_qualified_name: Some(format!("{}/{}", finding.pipeline, container)),
                    kind: "function",
                    name: container,
                });
            }
            let related_locations = reported
                .related
                .iter()
                .enumerate()
                .map(|(id, (region, message))| Location {
                    id: Some(id),
                    logical_locations: None,
                    message: Some(Text { text: message }),
                    physical_location: Physical { artifact_location: artifact, region: sarif_region(region) },
                })
                .collect();
            SarifResult {
                level: level(finding.severity),
                locations: [Location {
                    id: None,
                    logical_locations: Some(logical),
                    message: None,
                    physical_location: Physical { artifact_location: artifact, region: sarif_region(&reported.region) },
                }],
                message: Text { text: &finding.message },
                partial_fingerprints: Fingerprints { v1: &finding.fingerprint },
                properties: ResultProperties { pipeline: &finding.pipeline, steps: &finding.steps },
                related_locations,
                rule_id: finding.rule,
                rule_index: rule_indices.get(finding.rule).copied(),
            }
        })
        .collect();
    let notifications: Vec<Value> = report
        .files
        .iter()
        .filter_map(|file| {
            let FileOutcome::Failed { error } = &file.outcome else { return None };
            let mut location =
                json!({ "physicalLocation": { "artifactLocation": artifact_location(&file.path, root) } });
            if let Some(region) = error.region {
                location["physicalLocation"]["region"] =
                    json!({ "startLine": region.start.line, "startColumn": region.start.column });
            }
            Some(json!({
                "level": "error",
                "message": { "text": format!("{}: {}", file.path, error.message) },
                "descriptor": { "id": error.code },
                "locations": [location],
            }))
        })
        .collect();
    let log = Log {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [Run {
            automation_details: json!({ "id": "kfpguard/" }),
            column_kind: "unicodeCodePoints",
            invocations: json!([{
                "executionSuccessful": !report.has_failures(),
                "toolExecutionNotifications": notifications,
            }]),
            original_uri_base_ids: json!({ "%SRCROOT%": { "uri": directory_uri(root) } }),
            properties: json!({
                "score": report.score,
                "files": report.file_counts,
                "suppressed": report.suppressed,
                "pipelines": report.pipelines.iter().map(|p| json!({
                    "path": p.info.path, "name": p.info.name, "format": p.info.format,
                    "score": p.score, "secure": p.secure, "counts": p.counts,
                })).collect::<Vec<_>>(),
            }),
            results,
            tool: json!({ "driver": {
                "name": "kfpguard",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": all.iter().map(|rule| descriptor(rule)).collect::<Vec<_>>(),
            }}),
        }],
    };
    // Sized up front: growing a 20 MB buffer by doubling copies it about twice over.
    let mut out = Vec::with_capacity(4096 + report.findings.len() * 1536);
    if serde_json::to_writer_pretty(&mut out, &log).is_err() {
        out.clear();
    }
    out.push(b'\n');
    String::from_utf8(out).unwrap_or_default()
}
