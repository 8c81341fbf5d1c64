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
    path.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
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

/// `root` is the directory that report paths are relative to (the working directory).
pub fn render(report: &Report, root: &Path) -> String {
    let all = rules::all();
    let rule_index = |id: &str| all.iter().position(|rule| rule.meta.id == id);
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|reported| {
            let finding = &reported.finding;
            let region = |r: &crate::source::Region| {
                json!({
                    "startLine": r.start.line,
                    "startColumn": r.start.column,
                    "endLine": r.end.line,
                    "endColumn": r.end.column.max(if r.end.line == r.start.line { r.start.column + 1 } else { 1 }),
                })
            };
            let location = |r: &crate::source::Region| {
                json!({ "physicalLocation": {
                    "artifactLocation": artifact_location(&reported.path, root),
                    "region": region(r),
                }})
            };
            let mut logical = vec![json!({ "name": finding.pipeline, "kind": "module" })];
            if let Some(container) = &finding.container {
                logical.push(json!({ "name": container, "fullyQualifiedName": format!("{}/{}", finding.pipeline, container), "kind": "function" }));
            }
            let mut primary = location(&reported.region);
            primary["logicalLocations"] = Value::Array(logical);
            let mut result = json!({
                "ruleId": finding.rule,
                "level": level(finding.severity),
                "message": { "text": finding.message },
                "locations": [primary],
                "partialFingerprints": { "kfpguard/v1": finding.fingerprint },
                "properties": { "pipeline": finding.pipeline, "steps": finding.steps },
            });
            if let Some(index) = rule_index(finding.rule) {
                result["ruleIndex"] = json!(index);
            }
            if !reported.related.is_empty() {
                result["relatedLocations"] = Value::Array(
                    reported
                        .related
                        .iter()
                        .enumerate()
                        .map(|(id, (region, message))| {
                            let mut related = location(region);
                            related["id"] = json!(id);
                            related["message"] = json!({ "text": message });
                            related
                        })
                        .collect(),
                );
            }
            result
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
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "kfpguard",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": all.iter().map(|rule| descriptor(rule)).collect::<Vec<_>>(),
            }},
            "automationDetails": { "id": "kfpguard/" },
            "originalUriBaseIds": { "%SRCROOT%": { "uri": directory_uri(root) } },
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                "executionSuccessful": !report.has_failures(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "properties": {
                "score": report.score,
                "files": report.file_counts,
                "suppressed": report.suppressed,
                "pipelines": report.pipelines.iter().map(|p| json!({
                    "path": p.info.path, "name": p.info.name, "format": p.info.format,
                    "score": p.score, "secure": p.secure, "counts": p.counts,
                })).collect::<Vec<_>>(),
            },
        }],
    });
    let mut text = serde_json::to_string_pretty(&sarif).unwrap_or_default();
    text.push('\n');
    text
}
