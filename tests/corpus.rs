//! Runs over the real compiled pipelines in `../shared/corpus` when it is present (it is
//! not part of this repository): every file must be linted or skipped with a reason,
//! never fail or panic, and every document must be recognised or skipped with a reason.

use std::path::{Path, PathBuf};

use kfpguard::lint::{LintOptions, lint_file};
use kfpguard::report::{FileOutcome, Report};

fn corpus(sub: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus").join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: corpus directory {} not found; corpus tests need ../shared beside the repository",
            dir.display()
        );
        None
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn lint_all(dir: &Path) -> Report {
    let results = files_under(dir)
        .iter()
        .map(|path| lint_file(path, &path.display().to_string(), false, &LintOptions::default(), &|_| true))
        .collect();
    Report::new(results)
}

#[test]
fn kfp_v2_corpus_is_fully_recognized() {
    let Some(dir) = corpus("kfp-v2") else { return };
    let report = lint_all(&dir);
    let mut problems = Vec::new();
    for file in &report.files {
        match &file.outcome {
            FileOutcome::Failed { error } => problems.push(format!("{}: {}", file.path, error.message)),
            FileOutcome::Skipped { reason } => problems.push(format!("{}: skipped: {reason}", file.path)),
            FileOutcome::Linted { documents } => {
                for document in documents {
                    if document.format != Some("KFP v2") && document.format != Some("KFP v2 platform spec") {
                        problems.push(format!("{} document {}: {:?}", file.path, document.index, document));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(report.files.len(), 605, "the kfp-v2 corpus has 605 files");
    // formats.md census: 2,155 container executors (+ platform init containers).
    assert!(report.containers >= 2155, "only {} containers found", report.containers);
    eprintln!(
        "kfp-v2 corpus: {} files, {} pipelines, {} containers, {} findings",
        report.files.len(),
        report.pipelines.len(),
        report.containers,
        report.findings.len()
    );
}

#[test]
fn every_finding_position_is_inside_its_file() {
    let Some(dir) = corpus("kfp-v2") else { return };
    let report = lint_all(&dir);
    for finding in &report.findings {
        let text = std::fs::read_to_string(&finding.path).unwrap();
        let line_count = text.lines().count().max(1);
        assert!(
            finding.region.start.line >= 1 && finding.region.start.line <= line_count,
            "{}: {:?}",
            finding.path,
            finding.region
        );
        assert!(finding.region.start.column >= 1);
        if finding.finding.rule.starts_with("missing-") {
            assert!(finding.region.start.line > 1 || line_count == 1, "{}: missing-* finding on line 1", finding.path);
        }
    }
}
