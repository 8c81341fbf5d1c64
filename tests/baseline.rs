//! Baselines and config ignores across a real recompile.
//!
//! `fixtures/recompile/v1.yaml` and `v2.yaml` are compiled by the real KFP SDK (see
//! `fixtures/build.sh`) from `v1.py` and `v2.py`: v2 adds a step whose component and executor
//! sort before the existing ones, so every old finding moves down in the compiled file, and
//! renames a pipeline parameter. Fingerprints include the file path, so both versions are
//! linted under the same name, `pipeline.yaml`, as a pipeline file edited in place would be.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The executor of the step v2 adds.
const NEW_CONTAINER: &str = "exec-authenticate-registry";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {self:?}"))
    }
}

fn kfpguard(cwd: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_kfpguard")).args(args).current_dir(cwd).output().unwrap();
    Run {
        code: output.status.code().expect("kfpguard was killed by a signal"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Puts `fixtures/recompile/<version>.yaml` in place as `dir/pipeline.yaml`.
fn install(dir: &Path, version: &str) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/recompile/{version}.yaml"));
    std::fs::copy(source, dir.join("pipeline.yaml")).unwrap();
}

/// A finding of the JSON report, reduced to what these tests compare.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Found {
    rule: String,
    container: String,
    line: u64,
}

/// Fingerprint -> finding.
fn findings(report: &Value) -> BTreeMap<String, Found> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|finding| {
            (
                finding["fingerprint"].as_str().unwrap().to_string(),
                Found {
                    rule: finding["rule"].as_str().unwrap().to_string(),
                    container: finding["container"].as_str().unwrap_or("-").to_string(),
                    line: finding["line"].as_u64().unwrap(),
                },
            )
        })
        .collect()
}

fn lint(dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    args.push("pipeline.yaml");
    kfpguard(dir, &args)
}

#[test]
fn the_fixtures_are_a_real_edit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/recompile");
    let v1 = std::fs::read_to_string(root.join("v1.yaml")).unwrap();
    let v2 = std::fs::read_to_string(root.join("v2.yaml")).unwrap();
    for text in [&v1, &v2] {
        assert!(text.contains("sdkVersion: kfp-2."), "compiled by the KFP SDK");
    }
    assert!(v1.contains("componentInputParameter: epochs\n") && !v1.contains(NEW_CONTAINER));
    assert!(v2.contains("componentInputParameter: num_epochs\n"), "the parameter is renamed in v2");
    assert!(
        v2.find(&format!("{NEW_CONTAINER}:\n")) < v2.find("exec-fetch-data:\n"),
        "the new executor comes first in v2"
    );
}

#[test]
fn baseline_written_before_a_recompile_reports_only_the_new_findings() {
    let dir = tempfile::tempdir().unwrap();
    install(dir.path(), "v1");
    let v1 = lint(dir.path(), &["--no-config"]);
    assert_eq!(v1.code, 1, "{v1:?}");
    let old = findings(&v1.json());
    assert!(old.values().any(|f| f.rule == "secret-in-env"), "{old:#?}");
    assert!(old.values().any(|f| f.rule == "plaintext-download"), "{old:#?}");

    let written = kfpguard(dir.path(), &["--no-config", "--write-baseline", "b.json", "pipeline.yaml"]);
    assert_eq!(written.code, 0, "{written:?}");
    assert!(written.stderr.contains(&format!("wrote {} findings to baseline b.json", old.len())), "{written:?}");

    // The recompile: same file name, new content.
    install(dir.path(), "v2");
    let all = findings(&lint(dir.path(), &["--no-config"]).json());
    for (fingerprint, before) in &old {
        let after = all.get(fingerprint).unwrap_or_else(|| panic!("{before:?} lost its fingerprint in v2: {all:#?}"));
        assert_eq!((&after.rule, &after.container), (&before.rule, &before.container));
        assert!(
            after.line > before.line,
            "{before:?} did not move down in v2 (now {after:?}): the test proves nothing"
        );
    }
    let expected_new: BTreeMap<&String, &Found> = all.iter().filter(|(fp, _)| !old.contains_key(*fp)).collect();
    assert!(
        expected_new.values().all(|f| f.container == NEW_CONTAINER),
        "only the new step's container has new findings: {expected_new:#?}"
    );

    let run = lint(dir.path(), &["--no-config", "--baseline", "b.json"]);
    assert_eq!(run.code, 1, "the new finding fails the run: {run:?}");
    let report = run.json();
    let new = findings(&report);
    let new: BTreeMap<&String, &Found> = new.iter().collect();
    assert_eq!(new, expected_new, "{run:?}");
    assert!(new.values().any(|f| f.rule == "secret-in-env"), "the new literal secret is reported: {new:#?}");
    assert_eq!(report["summary"]["suppressed"]["baselined"], old.len(), "{run:?}");
    assert!(!run.stdout.contains("example-registry-passw0rd"), "the secret is never printed");
}

/// The config of the ignore tests: plaintext-download accepted in fetch-data by names.
fn ignore_config(expires: &str) -> String {
    format!(
        "ignore:\n  - rule: plaintext-download\n    pipeline: recompile-demo\n    task: fetch-data\n    \
         container: exec-fetch-data\n    reason: the data mirror is only reachable over http inside the cluster\n    \
         expires: {expires}\n"
    )
}

#[test]
fn config_ignore_by_names_survives_the_recompile() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kfpguard.yaml"), ignore_config("2999-12-31")).unwrap();
    for version in ["v1", "v2"] {
        install(dir.path(), version);
        let unfiltered = findings(&lint(dir.path(), &["--no-config"]).json());
        let target: Vec<&Found> = unfiltered.values().filter(|f| f.rule == "plaintext-download").collect();
        assert_eq!(target.len(), 1, "{version}: {unfiltered:#?}");
        assert_eq!(target[0].container, "exec-fetch-data");

        let run = lint(dir.path(), &["--config", "kfpguard.yaml"]);
        let report = run.json();
        let kept = findings(&report);
        assert!(kept.values().all(|f| f.rule != "plaintext-download"), "{version}: {run:?}");
        assert_eq!(kept.len(), unfiltered.len() - 1, "{version}: only the ignored finding goes: {run:?}");
        assert_eq!(report["summary"]["suppressed"]["ignored"], 1, "{version}: {run:?}");
        assert!(!run.stderr.contains("expired"), "{version}: {run:?}");
    }
}

#[test]
fn expired_ignore_is_reported_and_no_longer_applies() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kfpguard.yaml"), ignore_config("2000-01-01")).unwrap();
    install(dir.path(), "v2");
    let run = lint(dir.path(), &["--config", "kfpguard.yaml"]);
    assert!(
        run.stderr.contains("warning: ignore at kfpguard.yaml:2 expired on 2000-01-01 and no longer applies"),
        "{run:?}"
    );
    let report = run.json();
    assert!(findings(&report).values().any(|f| f.rule == "plaintext-download"), "{run:?}");
    assert_eq!(report["summary"]["suppressed"]["ignored"], 0, "{run:?}");
    assert!(
        report["summary"]["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("expired")),
        "the JSON report carries the note too: {run:?}"
    );
}
