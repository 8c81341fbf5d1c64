//! A panic inside a rule or an adapter costs one file, never the run (issue 7).
//!
//! There is no hook to inject a panic into a rule, but `lint_file` calls the `enabled` rule
//! filter from inside its `catch_unwind`, once per rule, while the rules run: a filter that
//! panics stands in for a rule that panics. The release profile must keep unwinding, or
//! `catch_unwind` would catch nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use std::path::{Path, PathBuf};

use kfpguard::lint::{LintOptions, lint_file};
use kfpguard::report::{FileOutcome, ReportBuilder};

/// A Pod with a privileged container and no limits: several findings when linted.
const POD: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: victim
spec:
  containers:
  - name: main
    image: busybox:1.36
    securityContext:
      privileged: true
";

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("cannot write a file");
    path
}

/// Lints `path`, panicking with `payload` when the rule filter is asked about `rule`.
fn lint_with_panicking_rule(path: &Path, rule: &'static str, payload: fn() -> !) -> FileOutcome {
    let panicking = move |id: &str| {
        if id == rule {
            payload();
        }
        true
    };
    let result = lint_file(path, "boom.yaml", true, &LintOptions::default(), &panicking);
    assert!(result.findings.is_empty(), "a failed file must not keep partial findings: {:?}", result.findings);
    assert!(result.pipelines.is_empty(), "a failed file must not keep partial pipelines");
    result.outcome
}

fn internal_message(outcome: &FileOutcome) -> String {
    match outcome {
        FileOutcome::Failed { error } => {
            assert_eq!(error.code, "kfpguard::internal", "{error:?}");
            assert!(error.region.is_none());
            error.message.clone()
        }
        other => panic!("expected an internal error, got {other:?}"),
    }
}

fn panic_with_str() -> ! {
    panic!("injected panic in a rule")
}

fn panic_with_string() -> ! {
    let rule = "secret-in-env";
    panic!("injected panic in {rule} at byte {}", 42)
}

fn panic_with_other_payload() -> ! {
    std::panic::panic_any(42_u32)
}

#[test]
fn a_panicking_rule_fails_only_its_file() {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let boom = write(dir.path(), "boom.yaml", POD);
    let fine = write(dir.path(), "fine.yaml", POD);

    // The last rule, after others have already reported findings: they must be dropped.
    let last_rule = kfpguard::rules::all().last().map(|rule| rule.meta.id).expect("no rules");
    assert!(last_rule > "privileged-container", "test assumes rules run in id order");
    let failed = lint_with_panicking_rule(&boom, last_rule, panic_with_str);
    // The panic message may quote input (a secret): only a generic message (and, with the
    // binary's panic hook, the location) is reported.
    let message = internal_message(&failed);
    assert!(message.contains("panicked") && !message.contains("injected panic"), "{failed:?}");

    let boom_result = lint_file(&boom, "boom.yaml", true, &LintOptions::default(), &|id| {
        if id == last_rule {
            panic!("injected panic in a rule");
        }
        true
    });
    let fine_result = lint_file(&fine, "fine.yaml", true, &LintOptions::default(), &|_| true);
    assert!(matches!(fine_result.outcome, FileOutcome::Linted { .. }), "{:?}", fine_result.outcome);
    assert!(!fine_result.findings.is_empty());

    let (json, report) = kfpguard::render::to_string(
        &mut kfpguard::render::json::Json::new(),
        vec![boom_result, fine_result],
        &kfpguard::policy::Policy::defaults(),
    );
    assert_eq!((report.file_counts.linted, report.file_counts.failed), (1, 1));
    assert!(report.has_failures());
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("JSON report");
    let findings = parsed["findings"].as_array().expect("findings");
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f["path"] == "fine.yaml"), "findings of the failed file leaked");
    assert!(json.contains("kfpguard::internal"), "{json}");
}

#[test]
fn every_panic_payload_becomes_a_message_that_never_quotes_it() {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let boom = write(dir.path(), "boom.yaml", POD);
    let first_rule = kfpguard::rules::all().first().map(|rule| rule.meta.id).expect("no rules");
    let message = internal_message(&lint_with_panicking_rule(&boom, first_rule, panic_with_string));
    assert!(message.contains("panicked") && !message.contains("byte 42"), "{message}");
    let message = internal_message(&lint_with_panicking_rule(&boom, first_rule, panic_with_other_payload));
    assert!(!message.is_empty(), "{message}");
}

#[test]
fn panics_are_isolated_on_worker_threads_too() {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let paths: Vec<(usize, PathBuf)> = (0..16).map(|i| (i, write(dir.path(), &format!("f{i:02}.yaml"), POD))).collect();
    let policy = kfpguard::policy::Policy::defaults();
    let mut builder = ReportBuilder::new(&policy);
    kfpguard::ordered::for_each_in_order(
        paths.iter(),
        4,
        |(index, path)| {
            let enabled = move |_: &str| {
                if index % 3 == 0 {
                    panic!("injected panic for file {index}");
                }
                true
            };
            lint_file(path, &format!("f{index:02}.yaml"), false, &LintOptions::default(), &enabled)
        },
        kfpguard::ordered::Backlog::unweighed(),
        |result| drop(builder.add(result)),
    );
    let report = builder.finish();
    assert_eq!(report.files.len(), 16);
    assert_eq!(report.file_counts.failed, 6);
    assert_eq!(report.file_counts.linted, 10);
}

/// Every `panic` setting in the build configuration files, as `file: line`.
fn panic_settings() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for file in ["Cargo.toml", ".cargo/config.toml", ".cargo/config"] {
        let Ok(text) = std::fs::read_to_string(root.join(file)) else { continue };
        for line in text.lines() {
            let code = line.split('#').next().unwrap_or_default().replace(' ', "");
            if code.contains("panic=\"abort\"") || code.contains("panic='abort'") || code.contains("panic=abort") {
                found.push(format!("{file}: {line}"));
            }
        }
    }
    found
}

#[test]
fn no_profile_aborts_on_panic() {
    // `panic = "abort"` would turn every caught panic into a crash of the whole run.
    assert_eq!(panic_settings(), Vec::<String>::new());
    if let Ok(flags) = std::env::var("RUSTFLAGS") {
        assert!(!flags.replace(' ', "").contains("panic=abort"), "RUSTFLAGS: {flags}");
    }
}
