//! Runs over the real compiled pipelines in `../shared/corpus` when it is present (it is
//! not part of this repository): every file must be linted or skipped with a reason,
//! never fail or panic, and every document must be recognised or skipped with a reason.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use std::path::{Path, PathBuf};

use kfpguard::lint::{LintOptions, lint_file};
use kfpguard::policy::Policy;
use kfpguard::report::{FileOutcome, Report, ReportBuilder, ReportedFinding};

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

/// The report of every file under `dir`, and all its findings.
fn lint_all(dir: &Path) -> (Report, Vec<ReportedFinding>) {
    let policy = Policy::defaults();
    let mut builder = ReportBuilder::new(&policy);
    let mut findings = Vec::new();
    for path in files_under(dir) {
        findings.extend(builder.add(lint_file(
            &path,
            &path.display().to_string(),
            false,
            &LintOptions::default(),
            &|_| true,
        )));
    }
    (builder.finish(), findings)
}

#[test]
fn kfp_v2_corpus_is_fully_recognized() {
    let Some(dir) = corpus("kfp-v2") else { return };
    let (report, findings) = lint_all(&dir);
    let mut problems = Vec::new();
    report
        .files
        .for_each(|file| {
            match &file.outcome {
                FileOutcome::Failed { error } => problems.push(format!("{}: {}", file.path, error.message)),
                FileOutcome::Skipped { reason } => problems.push(format!("{}: skipped: {reason}", file.path)),
                FileOutcome::Linted { documents } => {
                    for document in documents {
                        let format = document.format.as_deref();
                        if format != Some("KFP v2") && format != Some("KFP v2 platform spec") {
                            problems.push(format!("{} document {}: {:?}", file.path, document.index, document));
                        }
                    }
                }
            }
            Ok(())
        })
        .expect("read the report's files");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(report.files.len(), 605, "the kfp-v2 corpus has 605 files");
    // formats.md census: 2,155 container executors (+ platform init containers).
    assert!(report.containers >= 2155, "only {} containers found", report.containers);
    eprintln!(
        "kfp-v2 corpus: {} files, {} pipelines, {} containers, {} findings",
        report.files.len(),
        report.pipelines.len(),
        report.containers,
        findings.len()
    );
}

#[test]
fn every_finding_position_is_inside_its_file() {
    let Some(dir) = corpus("kfp-v2") else { return };
    let (_, findings) = lint_all(&dir);
    for finding in &findings {
        let text = std::fs::read_to_string(&*finding.path).unwrap();
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

/// Issue 3: the whole corpus (1,708 files, every format) is linted without a failed file,
/// every document is recognised or skipped with a reason, and the findings a user would
/// check by hand are there.
#[test]
fn whole_corpus_is_recognized_and_spot_checks_hold() {
    let Some(dir) = corpus("") else { return };
    let (report, findings) = lint_all(&dir);
    let mut problems = Vec::new();
    let mut formats: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    report
        .files
        .for_each(|file| {
            match &file.outcome {
                FileOutcome::Failed { error } => problems.push(format!("{}: failed: {}", file.path, error.message)),
                FileOutcome::Skipped { reason } if reason.is_empty() => {
                    problems.push(format!("{}: skipped without a reason", file.path))
                }
                FileOutcome::Skipped { .. } => {}
                FileOutcome::Linted { documents } => {
                    for document in documents {
                        match (&document.format, &document.skipped) {
                            (Some(format), _) => *formats.entry(format.to_string()).or_default() += 1,
                            (None, Some(reason)) if !reason.is_empty() => {}
                            _ => problems.push(format!(
                                "{} document {}: neither recognized nor skipped with a reason",
                                file.path, document.index
                            )),
                        }
                    }
                }
            }
            Ok(())
        })
        .expect("read the report's files");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(report.files.len(), 1708, "the corpus has 1,708 files");
    eprintln!(
        "corpus: {} files, documents per format {formats:?}, {} containers, {} findings",
        report.files.len(),
        report.containers,
        findings.len()
    );

    let findings_in = |rule: &str, path_part: &str| {
        findings.iter().filter(|f| f.finding.rule == rule && f.path.contains(path_part)).collect::<Vec<_>>()
    };
    // The Docker-in-Docker sidecars of the Argo examples and KFP CI workflows (formats.md 4).
    let privileged = findings_in("privileged-container", "/argo/");
    assert!(privileged.len() >= 12, "privileged DinD sidecars: {}", privileged.len());
    // The Tekton log-collection hostPath volumes (formats.md 5).
    let host_paths = findings_in("host-path-volume", "/tekton/kfp-tekton-testdata/");
    let logging = host_paths
        .iter()
        .filter(|f| f.path.contains("volume_logging") || f.path.contains("parallel_join_with_logging"))
        .count();
    assert_eq!(logging, 20, "hostPath volumes in the log-collection samples");
    // The literal MinIO credentials of the TFX pipeline, reported and redacted.
    let minio = findings_in("secret-in-env", "tfx-taxi-on-prem/tfx-kfs.yaml");
    assert!(!minio.is_empty(), "MinIO credentials in tfx-kfs.yaml");
    assert!(minio.iter().all(|f| !f.finding.message.contains("minio123")), "secrets must be redacted");
    // The download-then-execute of the recurring demo.
    let download: Vec<_> = findings
        .iter()
        .filter(|f| f.path.contains("demos/recurring/download.yaml"))
        .filter(|f| matches!(f.finding.rule, "pipe-to-shell" | "plaintext-download"))
        .collect();
    assert!(!download.is_empty(), "download-then-execute in demos/recurring/download.yaml");
}
