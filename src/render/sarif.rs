//! SARIF 2.1.0 for GitHub code scanning: one rule descriptor per rule (docs from the rule
//! itself, `security-severity` so GitHub ranks alerts), 1-based regions, relative URIs
//! under `%SRCROOT%`, line-independent `partialFingerprints`, and failed files as
//! tool execution notifications.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::json_writer::{SharedString, push_escaped, push_name, push_number, push_string, write_object};
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
    let stays = |byte: u8| matches!(byte, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~');
    let mut encoded = String::with_capacity(path.len());
    // Runs of characters that stay, most of a path, are copied at once, not byte by byte.
    let mut rest = path;
    while let Some(index) = rest.bytes().position(|byte| !stays(byte)) {
        // A character boundary: the characters that stay are ASCII.
        let (run, after) = rest.split_at(index);
        encoded.push_str(run);
        let Some(character) = after.chars().next() else { break };
        for byte in character.encode_utf8(&mut [0; 4]).bytes() {
            let _ = write!(encoded, "%{byte:02X}");
        }
        rest = &after[character.len_utf8()..];
    }
    encoded.push_str(rest);
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
    // An absolute path of plain components only (no `.`, `..` or empty one) is already
    // resolved, as nearly every one is: walking its components costs thousands of
    // instructions per file.
    let plain = path.starts_with('/') && path.split('/').skip(1).all(|component| !matches!(component, "" | "." | ".."));
    let text = if plain { path.replace('\\', "/") } else { resolve(path, root) };
    ArtifactLocation { uri: ["file://", &encode_path(&text)].concat(), uri_base_id: None }
}

/// `path` made absolute against `root`, its `.` and `..` components resolved, `/`-separated.
fn resolve(path: &str, root: &Path) -> String {
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
    if text.starts_with('/') { text } else { format!("/{text}") }
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

/// One element of `results`, eight spaces in, keys sorted as in the rest of the log:
/// serde_json's pretty layout spelled out as `json::write_finding` spells it, each member's
/// separator, indentation and name copied as one literal. Through
/// [`super::json_writer::Object`], placing the 40-odd members of a result cost several times
/// what writing their values does, and a run has thousands of results. `artifact` is the
/// file's `artifactLocation` value, written once per file ([`artifact_value`]); `pipeline`
/// keeps the pipeline's name escaped while the next results share it.
fn write_result(
    out: &mut Vec<u8>,
    reported: &ReportedFinding,
    artifact: &[u8],
    pipeline: &mut SharedString,
    rule_index: Option<usize>,
) {
    let finding = &reported.finding;
    out.extend_from_slice(b"{\n          \"level\": ");
    push_name(out, level(finding.severity));
    out.extend_from_slice(b",\n          \"locations\": [\n            {\n              \"logicalLocations\": [");
    out.extend_from_slice(
        b"\n                {\n                  \"kind\": \"module\",\n                  \"name\": ",
    );
    pipeline.push(out, &finding.pipeline);
    out.extend_from_slice(b"\n                }");
    if let Some(container) = &finding.container {
        out.extend_from_slice(b",\n                {\n                  \"fullyQualifiedName\": \"");
        push_escaped(out, &finding.pipeline);
        out.push(b'/');
        push_escaped(out, container);
        out.extend_from_slice(b"\",\n                  \"kind\": \"function\",\n                  \"name\": ");
        push_string(out, container);
        out.extend_from_slice(b"\n                }");
    }
    out.extend_from_slice(b"\n              ],");
    write_physical_location(out, artifact, &reported.region);
    out.extend_from_slice(b"\n            }\n          ],\n          \"message\": {\n            \"text\": ");
    push_string(out, &finding.message);
    out.extend_from_slice(b"\n          },\n          \"partialFingerprints\": {\n            \"kfpguard/v1\": ");
    push_name(out, &finding.fingerprint);
    out.extend_from_slice(b"\n          },\n          \"properties\": {\n            \"pipeline\": ");
    pipeline.push(out, &finding.pipeline);
    out.extend_from_slice(b",\n            \"steps\": [");
    for (index, step) in finding.steps.iter().enumerate() {
        out.extend_from_slice(if index == 0 { b"\n              " } else { b",\n              " });
        push_string(out, step);
    }
    out.extend_from_slice(if finding.steps.is_empty() { b"]\n          }" } else { b"\n            ]\n          }" });
    if !reported.related.is_empty() {
        out.extend_from_slice(b",\n          \"relatedLocations\": [");
        for (id, (region, message)) in reported.related.iter().enumerate() {
            out.extend_from_slice(if id == 0 { b"\n            {" } else { b",\n            {" });
            out.extend_from_slice(b"\n              \"id\": ");
            push_number(out, id);
            out.extend_from_slice(b",\n              \"message\": {\n                \"text\": ");
            push_string(out, message);
            out.extend_from_slice(b"\n              },");
            write_physical_location(out, artifact, region);
            out.extend_from_slice(b"\n            }");
        }
        out.extend_from_slice(b"\n          ]");
    }
    out.extend_from_slice(b",\n          \"ruleId\": ");
    push_name(out, finding.rule);
    if let Some(index) = rule_index {
        out.extend_from_slice(b",\n          \"ruleIndex\": ");
        push_number(out, index);
    }
    out.extend_from_slice(b"\n        }");
}

/// The `physicalLocation` member of a result's location or related location, fourteen spaces
/// in, after the comma that separates it from the member before.
fn write_physical_location(out: &mut Vec<u8>, artifact: &[u8], region: &Region) {
    out.extend_from_slice(b"\n              \"physicalLocation\": {\n                \"artifactLocation\": ");
    out.extend_from_slice(artifact);
    // A region is never empty: a zero-width span on one line still covers a column.
    let end_column =
        region.end.column.max(if region.end.line == region.start.line { region.start.column + 1 } else { 1 });
    out.extend_from_slice(b",\n                \"region\": {\n                  \"endColumn\": ");
    push_number(out, end_column);
    out.extend_from_slice(b",\n                  \"endLine\": ");
    push_number(out, region.end.line);
    out.extend_from_slice(b",\n                  \"startColumn\": ");
    push_number(out, region.start.column);
    out.extend_from_slice(b",\n                  \"startLine\": ");
    push_number(out, region.start.line);
    out.extend_from_slice(b"\n                }\n              }");
}

/// A file's `artifactLocation` value as [`write_physical_location`] places it, sixteen spaces in.
fn artifact_value(artifact: &ArtifactLocation) -> Vec<u8> {
    let mut out = Vec::new();
    write_object(&mut out, 16, |artifact_location| {
        artifact_location.string("uri", &artifact.uri);
        if let Some(base) = artifact.uri_base_id {
            artifact_location.string("uriBaseId", base);
        }
    });
    out
}

/// The place of rule `id` in the catalogue, whose ids are sorted. Findings carry the
/// catalogue's own id, found by its address first: no hashing or string comparison for most.
fn rule_index(id: &str) -> Option<usize> {
    let rules = rules::all();
    (rules.iter().position(|rule| std::ptr::eq(rule.meta.id, id)))
        .or_else(|| rules.binary_search_by(|rule| rule.meta.id.cmp(id)).ok())
}

/// Streams a SARIF log with one run. The run's keys come in the order
/// `automationDetails`, `columnKind`, `originalUriBaseIds`, `tool`, `results`,
/// `invocations`, `properties`: what depends on the whole run goes after the results.
pub struct Sarif {
    /// The directory report paths are relative to (the working directory).
    root: PathBuf,
    written: usize,
    scratch: Vec<u8>,
    pipeline: SharedString,
}

impl Sarif {
    pub fn new(root: &Path) -> Self {
        Self { root: root.to_path_buf(), written: 0, scratch: Vec::new(), pipeline: SharedString::default() }
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
        let artifact = artifact_value(&artifact_location(&first.path, &self.root));
        for reported in findings {
            self.scratch.clear();
            self.scratch.extend_from_slice(if self.written == 0 { b"\n        " } else { b",\n        " });
            let rule_index = rule_index(reported.finding.rule);
            write_result(&mut self.scratch, reported, &artifact, &mut self.pipeline, rule_index);
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Map, Value, json};

    use super::*;
    use crate::finding::Finding;
    use crate::source::Position;

    #[test]
    fn plain_absolute_paths_are_what_resolving_them_gives() {
        let root = Path::new("/work/dir");
        for path in ["/a", "/a/b.yaml", "/a/b\\c.yaml", "/caf\u{e9} x/%41.yaml", "/a/.b/..c/..."] {
            let expected = ["file://", &encode_path(&resolve(path, root))].concat();
            assert_eq!(artifact_location(path, root).uri, expected, "{path}");
        }
        // Resolved the long way.
        let resolved = [("/a/./b/../c", "file:///a/c"), ("/a//b/", "file:///a/b"), ("../x y", "file:///work/x%20y")];
        for (path, uri) in resolved {
            assert_eq!(artifact_location(path, root).uri, uri, "{path}");
        }
        assert_eq!(encode_path("a b/\u{e9}\u{1f980}~"), "a%20b/%C3%A9%F0%9F%A6%80~");
    }

    #[test]
    fn results_are_written_as_serde_json_writes_them() {
        let awkward = "\"quoted\" \\ tab\t newline\n \u{1} café 🦀";
        let at = |line, column| Position { line, column };
        // The expected location's parts, keys in order (whether or not serde_json keeps them
        // in insertion order).
        let physical = |artifact: &ArtifactLocation, [start_line, start_column, end_line, end_column]: [usize; 4]| {
            let mut artifact_location = Map::new();
            artifact_location.insert("uri".into(), json!(artifact.uri));
            if let Some(base) = artifact.uri_base_id {
                artifact_location.insert("uriBaseId".into(), json!(base));
            }
            json!({
                "artifactLocation": artifact_location,
                "region": {
                    "endColumn": end_column,
                    "endLine": end_line,
                    "startColumn": start_column,
                    "startLine": start_line,
                },
            })
        };
        for case in 0..4 {
            let pipeline = format!("pipeline {awkward}");
            let container: Option<Arc<str>> = (case % 2 == 0).then(|| Arc::from(format!("main {awkward}")));
            let steps: Vec<String> = (0..case).map(|n| format!("step {n} {awkward}")).collect();
            // Related regions end on their line; the result's own is empty, and shown a column wide.
            let related: Vec<(Region, String)> = (0..case)
                .map(|n| (Region { start: at(n + 1, 2), end: at(n + 1, 9) }, format!("set in {awkward} {n}")))
                .collect();
            let reported = ReportedFinding {
                path: Arc::from(format!("dir/{awkward}.yaml")),
                region: Region { start: at(12, 7), end: at(12, 7) },
                finding: Finding {
                    rule: "missing-cpu-limit",
                    severity: Severity::Medium,
                    message: format!("container `{awkward}` has no limit"),
                    span: 0..0,
                    secret: None,
                    related: Vec::new(),
                    pipeline: Arc::from(pipeline.as_str()),
                    container: container.clone(),
                    steps: steps.clone().into(),
                    fingerprint: "0123456789abcdef0123456789abcdef:2".to_string(),
                },
                related,
                snippet: None,
            };
            let artifact =
                ArtifactLocation { uri: encode_path(&reported.path), uri_base_id: (case < 2).then_some("%SRCROOT%") };
            let rule_index = (case != 3).then_some(case * 5);

            let mut logical = vec![json!({ "kind": "module", "name": pipeline })];
            if let Some(container) = &container {
                logical.push(json!({
                    "fullyQualifiedName": format!("{pipeline}/{container}"),
                    "kind": "function",
                    "name": &**container,
                }));
            }
            let mut expected = Map::new();
            expected.insert("level".into(), json!("warning"));
            expected.insert(
                "locations".into(),
                json!([{ "logicalLocations": logical, "physicalLocation": physical(&artifact, [12, 7, 12, 8]) }]),
            );
            expected.insert("message".into(), json!({ "text": reported.finding.message }));
            expected.insert("partialFingerprints".into(), json!({ "kfpguard/v1": reported.finding.fingerprint }));
            expected.insert("properties".into(), json!({ "pipeline": pipeline, "steps": steps }));
            if !reported.related.is_empty() {
                let related: Vec<Value> = (reported.related.iter().enumerate())
                    .map(|(id, (region, message))| {
                        let line = region.start.line;
                        json!({
                            "id": id,
                            "message": { "text": message },
                            "physicalLocation": physical(&artifact, [line, 2, line, 9]),
                        })
                    })
                    .collect();
                expected.insert("relatedLocations".into(), json!(related));
            }
            expected.insert("ruleId".into(), json!(reported.finding.rule));
            if let Some(index) = rule_index {
                expected.insert("ruleIndex".into(), json!(index));
            }
            // Eight spaces in, as an element of `results`.
            let expected = serde_json::to_string_pretty(&expected).unwrap().replace('\n', "\n        ");
            let mut out = Vec::new();
            let mut pipeline = SharedString::default();
            write_result(&mut out, &reported, &artifact_value(&artifact), &mut pipeline, rule_index);
            assert_eq!(String::from_utf8(out).unwrap(), expected, "case {case}");
        }
    }
}
