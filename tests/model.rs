//! Normalization snapshots: the pipeline model (with positions) each format sample turns
//! into, so a failing rule test means a rule bug, not an adapter bug.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use std::fmt::Write;
use std::path::Path;

use kfpguard::formats::{Embedded, recognize};
use kfpguard::model::{EnvValue, Setting};
use kfpguard::source::SourceFile;
use kfpguard::yaml::{Limits, NodeRef, Tree};

fn at(file: &SourceFile, node: NodeRef<'_>) -> String {
    let start = file.region(node.file_span()).start;
    format!("{:?}@{}:{}", node.as_str().unwrap_or("<collection>"), start.line, start.column)
}

fn setting(file: &SourceFile, setting: Option<&Setting<'_>>) -> String {
    setting.map_or_else(|| "-".to_string(), |s| at(file, s.value))
}

fn describe(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    let text = std::fs::read_to_string(&path).unwrap();
    let file = SourceFile::new(path.clone(), relative.to_string(), text.clone());
    let tree = Tree::parse(text, None, Limits::default()).unwrap();
    let embedded = Embedded::new(Limits::default(), file.text.len());
    let recognized = recognize(&tree, &embedded, "fallback");
    let mut out = String::new();
    for document in &recognized.documents {
        writeln!(out, "document {}: {:?} {:?}", document.index, document.format, document.skipped).unwrap();
    }
    for pipeline in &recognized.pipelines {
        writeln!(out, "pipeline {} ({}) at {}", pipeline.name, pipeline.format.label(), at(&file, pipeline.anchor))
            .unwrap();
        for (index, pod) in pipeline.pods.iter().enumerate() {
            writeln!(
                out,
                "  pod {index} {}: runAsUser={} runAsNonRoot={}",
                pod.name,
                setting(&file, pod.security.run_as_user.as_ref()),
                setting(&file, pod.security.run_as_non_root.as_ref())
            )
            .unwrap();
        }
        for container in &pipeline.containers {
            writeln!(
                out,
                "  container {} ({:?}) anchor {} path {}",
                container.name,
                container.role,
                at(&file, container.anchor),
                container.path
            )
            .unwrap();
            writeln!(out, "    steps {:?} pod {:?}", container.steps, container.pod).unwrap();
            if let Some(image) = container.image {
                writeln!(out, "    image {}", at(&file, image)).unwrap();
            }
            writeln!(out, "    command {} args {}", container.command.len(), container.args.len()).unwrap();
            for var in &container.env {
                let value = match &var.value {
                    EnvValue::Literal(node) => at(&file, *node),
                    EnvValue::Reference(kind) => format!("<{kind}>"),
                };
                writeln!(out, "    env {} = {value}", at(&file, var.name)).unwrap();
            }
            writeln!(
                out,
                "    limits cpu={} memory={}",
                setting(&file, container.cpu_limit.as_ref()),
                setting(&file, container.memory_limit.as_ref())
            )
            .unwrap();
        }
        for parameter in &pipeline.parameters {
            writeln!(
                out,
                "  parameter {:?} {} = {} ({})",
                parameter.kind,
                at(&file, parameter.name),
                at(&file, parameter.value),
                parameter.scope
            )
            .unwrap();
        }
    }
    out
}

/// Every sample under `fixtures/formats/<format>/` has a snapshot of its model.
#[test]
fn format_samples_normalize() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/formats");
    let mut samples = Vec::new();
    for format in std::fs::read_dir(&root).unwrap() {
        let format = format.unwrap().file_name().to_string_lossy().to_string();
        for entry in std::fs::read_dir(root.join(&format)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().to_string();
            if name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json") {
                samples.push((format.clone(), name));
            }
        }
    }
    samples.sort();
    assert!(!samples.is_empty());
    for (format, name) in samples {
        let relative = format!("fixtures/formats/{format}/{name}");
        insta::assert_snapshot!(format!("{format}__{name}"), describe(&relative));
    }
}
