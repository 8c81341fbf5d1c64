//! SARIF 2.1.0 for GitHub code scanning: one rule descriptor per rule (docs from the rule
//! itself, `security-severity` so GitHub ranks alerts), 1-based regions, relative URIs
//! under `%SRCROOT%`, line-independent `partialFingerprints`, and failed files as
//! tool execution notifications.

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::json_writer::{Object, write_object};
use super::{Renderer, close_json_array, write_json, write_json_element};
use crate::finding::Severity;
use crate::report::{Counts, FileOutcome, Report, ReportedFinding};
use crate::rules::{self, Rule};
use crate::source::Region;

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

/// Where a file is: relative to `%SRCROOT%` when the path is below it, else absolute.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

fn artifact_location(path: &str, root: &Path) -> ArtifactLocation {
    let outside = path.starts_with('/') || path.starts_with("../") || path == "..";
    if !outside {
        return ArtifactLocation { uri: encode_path(path), uri_base_id: Some("%SRCROOT%") };
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
    ArtifactLocation { uri: format!("file://{}", encode_path(&text)), uri_base_id: None }
}

/// A pipeline in the run's properties (keys sorted, as in the rest of the log).
#[derive(serde::Serialize)]
struct PipelineProperties<'r> {
    counts: Counts,
    format: &'r str,
    name: &'r str,
    path: &'r str,
    score: u32,
    secure: bool,
}

/// One element of `results`, eight spaces in, keys sorted as in the rest of the log. Written
/// by hand (see `json_writer`): a run has thousands of results.
fn write_result(out: &mut Vec<u8>, reported: &ReportedFinding, artifact: &ArtifactLocation, rule_index: Option<usize>) {
    let finding = &reported.finding;
    write_object(out, 8, |result| {
        result.string("level", level(finding.severity));
        result.array("locations", |locations| {
            locations.object(|location| {
                location.array("logicalLocations", |logical| {
                    logical.object(|module| {
                        module.string("kind", "module");
                        module.string("name", &finding.pipeline);
                    });
                    if let Some(container) = &finding.container {
                        logical.object(|function| {
                            function.joined_string("fullyQualifiedName", &[&finding.pipeline, "/", container]);
                            function.string("kind", "function");
                            function.string("name", container);
                        });
                    }
                });
                write_physical_location(location, artifact, &reported.region);
            });
        });
        result.object("message", |message| message.string("text", &finding.message));
        result.object("partialFingerprints", |fingerprints| fingerprints.string("kfpguard/v1", &finding.fingerprint));
        result.object("properties", |properties| {
            properties.string("pipeline", &finding.pipeline);
            properties.strings("steps", &finding.steps);
        });
        if !reported.related.is_empty() {
            result.array("relatedLocations", |related| {
                for (id, (region, message)) in reported.related.iter().enumerate() {
                    related.object(|location| {
                        location.number("id", id);
                        location.object("message", |text| text.string("text", message));
                        write_physical_location(location, artifact, region);
                    });
                }
            });
        }
        result.string("ruleId", finding.rule);
        if let Some(index) = rule_index {
            result.number("ruleIndex", index);
        }
    });
}

fn write_physical_location(location: &mut Object, artifact: &ArtifactLocation, region: &Region) {
    location.object("physicalLocation", |physical| {
        physical.object("artifactLocation", |artifact_location| {
            artifact_location.string("uri", &artifact.uri);
            if let Some(base) = artifact.uri_base_id {
                artifact_location.string("uriBaseId", base);
            }
        });
        // A region is never empty: a zero-width span on one line still covers a column.
        let end_column =
            region.end.column.max(if region.end.line == region.start.line { region.start.column + 1 } else { 1 });
        physical.object("region", |sarif_region| {
            sarif_region.number("endColumn", end_column);
            sarif_region.number("endLine", region.end.line);
            sarif_region.number("startColumn", region.start.column);
            sarif_region.number("startLine", region.start.line);
        });
    });
}

/// Streams a SARIF log with one run. The run's keys come in the order
/// `automationDetails`, `columnKind`, `originalUriBaseIds`, `tool`, `results`,
/// `invocations`, `properties`: what depends on the whole run goes after the results.
pub struct Sarif {
    /// The directory report paths are relative to (the working directory).
    root: PathBuf,
    rule_indices: HashMap<&'static str, usize>,
    written: usize,
    scratch: Vec<u8>,
}

impl Sarif {
    pub fn new(root: &Path) -> Self {
        let rule_indices = rules::all().iter().enumerate().rev().map(|(index, rule)| (rule.meta.id, index)).collect();
        Self { root: root.to_path_buf(), rule_indices, written: 0, scratch: Vec::new() }
    }
}

impl Renderer for Sarif {
    fn begin(&mut self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(b"{\n  \"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\",\n  \"runs\": [\n    {\n")?;
        out.write_all(b"      \"automationDetails\": ")?;
        write_json(out, &json!({ "id": "kfpguard/" }), 6, &mut self.scratch)?;
        out.write_all(b",\n      \"columnKind\": \"unicodeCodePoints\",\n      \"originalUriBaseIds\": ")?;
        write_json(out, &json!({ "%SRCROOT%": { "uri": directory_uri(&self.root) } }), 6, &mut self.scratch)?;
        out.write_all(b",\n      \"tool\": ")?;
        let tool = json!({ "driver": {
            "name": "kfpguard",
            "version": env!("CARGO_PKG_VERSION"),
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "rules": rules::all().iter().map(|rule| descriptor(rule)).collect::<Vec<_>>(),
        }});
        write_json(out, &tool, 6, &mut self.scratch)?;
        out.write_all(b",\n      \"results\": [")
    }

    fn findings(&mut self, out: &mut dyn Write, findings: &[ReportedFinding]) -> io::Result<()> {
        let Some(first) = findings.first() else { return Ok(()) };
        // One artifact location per file, written in every location that points into it.
        let artifact = artifact_location(&first.path, &self.root);
        for reported in findings {
            self.scratch.clear();
            self.scratch.extend_from_slice(if self.written == 0 { b"\n        " } else { b",\n        " });
            let rule_index = self.rule_indices.get(reported.finding.rule).copied();
            write_result(&mut self.scratch, reported, &artifact, rule_index);
            out.write_all(&self.scratch)?;
            self.written += 1;
        }
        Ok(())
    }

    fn end(&mut self, out: &mut dyn Write, report: &Report) -> io::Result<()> {
        close_json_array(out, self.written, 6)?;
        let mut notifications: Vec<Value> = Vec::new();
        report.files.for_each(|file| {
            let FileOutcome::Failed { error } = &file.outcome else { return Ok(()) };
            let mut location =
                json!({ "physicalLocation": { "artifactLocation": artifact_location(&file.path, &self.root) } });
            if let Some(region) = error.region {
                location["physicalLocation"]["region"] =
                    json!({ "startLine": region.start.line, "startColumn": region.start.column });
            }
            notifications.push(json!({
                "level": "error",
                "message": { "text": format!("{}: {}", file.path, error.message) },
                "descriptor": { "id": error.code },
                "locations": [location],
            }));
            Ok(())
        })?;
        out.write_all(b",\n      \"invocations\": ")?;
        let invocations = json!([{
            "executionSuccessful": !report.has_failures(),
            "toolExecutionNotifications": notifications,
        }]);
        write_json(out, &invocations, 6, &mut self.scratch)?;
        // Element by element: a run over many files must not be serialised whole in memory.
        out.write_all(b",\n      \"properties\": {\n        \"files\": ")?;
        write_json(out, &report.file_counts, 8, &mut self.scratch)?;
        out.write_all(b",\n        \"pipelines\": [")?;
        let mut index = 0;
        report.pipelines.for_each(|pipeline| {
            let properties = PipelineProperties {
                counts: pipeline.counts,
                format: &pipeline.info.format,
                name: &pipeline.info.name,
                path: &pipeline.info.path,
                score: pipeline.score,
                secure: pipeline.secure,
            };
            write_json_element(out, &properties, index, 10, &mut self.scratch)?;
            index += 1;
            Ok(())
        })?;
        close_json_array(out, report.pipelines.len(), 8)?;
        out.write_all(format!(",\n        \"score\": {},\n        \"suppressed\": ", report.score).as_bytes())?;
        write_json(out, &report.suppressed, 8, &mut self.scratch)?;
        out.write_all(b"\n      }")?;
        out.write_all(b"\n    }\n  ],\n  \"version\": \"2.1.0\"\n}\n")
    }
}
