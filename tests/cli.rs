//! End-to-end tests of the `kfpguard` binary: exit codes, error reporting, file discovery,
//! output formats and options.
//!
//! Most tests lint small synthetic Kubernetes Pods written into a temporary directory (the
//! generic adapter picks them up) and rely only on the resource-limit, secret-in-env and
//! privileged-container rules, so they do not change as the network rules evolve. Tests over
//! the whole `fixtures/` directory check properties (determinism, positions, format
//! agreement), never exact counts.
//!
//! Tests marked `#[ignore = "bug: ..."]` describe the intended behaviour of a known bug.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// A Pod whose only container sets CPU and memory limits and nothing risky: no findings.
const CLEAN_POD: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: tiny
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: [\"echo\", \"hi\"]
    resources:
      limits: {cpu: 100m, memory: 64Mi}
";

/// A Pod without limits: exactly two medium findings (missing-cpu-limit, missing-memory-limit).
const MEDIUM_POD: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: unlimited
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: [\"echo\", \"hi\"]
";

/// A Pod with limits but a privileged container: one high finding.
const PRIVILEGED_POD: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: privileged
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: [\"echo\", \"hi\"]
    securityContext:
      privileged: true
    resources:
      limits: {cpu: 100m, memory: 64Mi}
";

/// The literal secret in [`SECRET_POD`]; it must never be printed.
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// A Pod with limits and a literal secret in an env var: one medium secret-in-env finding.
const SECRET_POD: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: leaky
spec:
  containers:
  - name: main
    image: busybox:1.36
    env:
    - name: AWS_SECRET_ACCESS_KEY
      value: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
    resources:
      limits: {cpu: 100m, memory: 64Mi}
";

/// Valid YAML that is not a pipeline: no container anywhere.
const NOT_A_PIPELINE: &str = "{a: 1}\n";

/// Invalid YAML.
const INVALID_YAML: &str = "a: [1, 2\nb: }\n";

/// The outcome of one run of the binary.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// stdout parsed as JSON.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}):\n{}", self.stdout))
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

/// Runs `kfpguard args...` in `cwd`, with no colour-related environment leaking in.
fn kfpguard(cwd: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_kfpguard"))
        .args(args)
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR")
        .output()
        .expect("failed to start kfpguard");
    Run {
        code: output.status.code().expect("kfpguard was killed by a signal"),
        stdout: String::from_utf8(output.stdout).expect("stdout is not UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is not UTF-8"),
    }
}

/// The crate root, where `fixtures/` lives.
fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh temporary directory.
fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("cannot create a temporary directory")
}

/// Writes `contents` to `dir/relative`, creating parent directories.
fn write(dir: &Path, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, contents).unwrap();
    path
}

/// The `path` of every entry of the JSON report's `files`, in report order.
fn file_paths(report: &Value) -> Vec<String> {
    report["files"].as_array().unwrap().iter().map(|file| file["path"].as_str().unwrap().to_string()).collect()
}

/// The `status` of the file `path` in the JSON report.
fn file_status<'r>(report: &'r Value, path: &str) -> &'r str {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| file["path"] == path)
        .unwrap_or_else(|| panic!("{path} is not in the report's files"))["status"]
        .as_str()
        .unwrap()
}

/// The findings array of a JSON report.
fn findings(report: &Value) -> &Vec<Value> {
    report["findings"].as_array().expect("findings is an array")
}

/// The rule ids of a JSON report's findings, sorted.
fn rules_found(report: &Value) -> Vec<String> {
    let mut rules: Vec<String> = findings(report).iter().map(|f| f["rule"].as_str().unwrap().to_string()).collect();
    rules.sort();
    rules
}

fn has_ansi(text: &str) -> bool {
    text.contains('\u{1b}')
}

// ---------------------------------------------------------------------------------------
// Exit code 0 and 1
// ---------------------------------------------------------------------------------------

#[test]
fn clean_pipeline_exits_0_with_no_findings() {
    let dir = tempdir();
    write(dir.path(), "clean.yaml", CLEAN_POD);
    let run = kfpguard(dir.path(), &["--format", "json", "clean.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.json();
    assert_eq!(findings(&report).len(), 0, "{run:?}");
    assert_eq!(report["summary"]["files"]["linted"], 1);
    assert_eq!(file_status(&report, "clean.yaml"), "linted");
}

#[test]
fn clean_pipeline_pretty_output_exits_0_and_reports_zero_findings() {
    let dir = tempdir();
    write(dir.path(), "clean.yaml", CLEAN_POD);
    let run = kfpguard(dir.path(), &["--color", "never", "clean.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("1 files linted"), "{run:?}");
    assert!(run.stdout.contains("0 findings"), "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
}

#[test]
fn fail_on_never_exits_0_despite_high_findings() {
    let dir = tempdir();
    write(dir.path(), "privileged.yaml", PRIVILEGED_POD);
    let run = kfpguard(dir.path(), &["--fail-on", "never", "--format", "json", "privileged.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(rules_found(&run.json()).contains(&"privileged-container".to_string()), "{run:?}");
}

#[test]
fn fail_on_high_exits_0_when_only_medium_findings() {
    let dir = tempdir();
    write(dir.path(), "medium.yaml", MEDIUM_POD);
    let run = kfpguard(dir.path(), &["--fail-on", "high", "--format", "json", "medium.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.json();
    assert_eq!(rules_found(&report), ["missing-cpu-limit", "missing-memory-limit"], "{run:?}");
    assert!(findings(&report).iter().all(|f| f["severity"] == "medium"), "{run:?}");
}

#[test]
fn fail_on_medium_exits_1_on_medium_findings() {
    let dir = tempdir();
    write(dir.path(), "medium.yaml", MEDIUM_POD);
    let run = kfpguard(dir.path(), &["--fail-on", "medium", "-q", "medium.yaml"]);
    assert_eq!(run.code, 1, "{run:?}");
}

#[test]
fn fail_on_high_exits_1_on_high_findings() {
    let dir = tempdir();
    write(dir.path(), "privileged.yaml", PRIVILEGED_POD);
    let run = kfpguard(dir.path(), &["--fail-on", "high", "-q", "privileged.yaml"]);
    assert_eq!(run.code, 1, "{run:?}");
}

#[test]
fn vulnerable_file_exits_1_with_default_fail_on() {
    let dir = tempdir();
    write(dir.path(), "medium.yaml", MEDIUM_POD);
    let run = kfpguard(dir.path(), &["--color", "never", "medium.yaml"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("missing-cpu-limit"), "{run:?}");
    assert!(run.stdout.contains("medium.yaml:7:11"), "finding location shown: {run:?}");
}

#[test]
fn vulnerable_fixture_exits_1_with_default_fail_on() {
    let run = kfpguard(crate_root(), &["--format", "json", "fixtures/rules/privileged-container/k8s-vulnerable.yaml"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(rules_found(&run.json()).contains(&"privileged-container".to_string()), "{run:?}");
}

#[test]
fn secure_example_fixture_exits_0() {
    let run = kfpguard(crate_root(), &["--format", "json", "fixtures/examples/secure-pipeline.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(findings(&run.json()).len(), 0, "{run:?}");
}

#[test]
fn help_and_version_exit_0() {
    let dir = tempdir();
    let help = kfpguard(dir.path(), &["--help"]);
    assert_eq!(help.code, 0, "{help:?}");
    assert!(help.stdout.contains("--fail-on"), "{help:?}");
    let version = kfpguard(dir.path(), &["--version"]);
    assert_eq!(version.code, 0, "{version:?}");
    assert!(version.stdout.contains(env!("CARGO_PKG_VERSION")), "{version:?}");
}

// ---------------------------------------------------------------------------------------
// Exit code 2: usage and input errors
// ---------------------------------------------------------------------------------------

#[test]
fn nonexistent_path_exits_2_and_stderr_names_it() {
    let dir = tempdir();
    let run = kfpguard(dir.path(), &["--color", "never", "no-such-pipeline.yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("no-such-pipeline.yaml"), "{run:?}");
}

#[test]
fn nonexistent_path_next_to_clean_file_still_exits_2() {
    let dir = tempdir();
    write(dir.path(), "clean.yaml", CLEAN_POD);
    let run = kfpguard(dir.path(), &["--format", "json", "clean.yaml", "missing-dir"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("missing-dir"), "{run:?}");
    assert_eq!(file_status(&run.json(), "clean.yaml"), "linted");
}

#[test]
fn nonexistent_path_is_recorded_as_failed_in_json_report() {
    let dir = tempdir();
    let run = kfpguard(dir.path(), &["--format", "json", "no-such-pipeline.yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
    let report = run.json();
    assert_eq!(report["summary"]["files"]["failed"], 1, "{run:?}");
    assert_eq!(file_status(&report, "no-such-pipeline.yaml"), "failed");
}

#[test]
fn invalid_yaml_next_to_valid_file_exits_2_and_keeps_valid_findings() {
    let dir = tempdir();
    write(dir.path(), "broken.yaml", INVALID_YAML);
    write(dir.path(), "medium.yaml", MEDIUM_POD);
    let run = kfpguard(dir.path(), &["--format", "json", "broken.yaml", "medium.yaml"]);
    assert_eq!(run.code, 2, "an input error wins over findings: {run:?}");
    let report = run.json();
    assert_eq!(report["summary"]["files"]["failed"], 1, "{run:?}");
    assert_eq!(report["summary"]["files"]["linted"], 1, "{run:?}");
    assert_eq!(file_status(&report, "broken.yaml"), "failed");
    assert_eq!(file_status(&report, "medium.yaml"), "linted");
    assert_eq!(rules_found(&report), ["missing-cpu-limit", "missing-memory-limit"], "{run:?}");
    assert!(findings(&report).iter().all(|f| f["path"] == "medium.yaml"), "{run:?}");
    let broken = report["files"].as_array().unwrap().iter().find(|f| f["path"] == "broken.yaml").unwrap();
    assert_eq!(broken["error"]["code"], "kfpguard::parse", "{run:?}");
    assert!(broken["error"]["region"]["start"]["line"].as_u64().unwrap() >= 1, "{run:?}");
    assert!(run.stderr.contains("broken.yaml"), "the error is also on stderr: {run:?}");
}

#[test]
fn invalid_yaml_found_by_directory_walk_exits_2() {
    let dir = tempdir();
    write(dir.path(), "pipelines/broken.yaml", INVALID_YAML);
    write(dir.path(), "pipelines/clean.yaml", CLEAN_POD);
    let run = kfpguard(dir.path(), &["--color", "never", "pipelines"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("error[kfpguard::parse]: pipelines/broken.yaml:"), "{run:?}");
    assert!(run.stdout.contains("1 failed"), "{run:?}");
}

#[test]
fn binary_file_named_yaml_exits_2_with_clear_message() {
    let dir = tempdir();
    write(dir.path(), "x.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe");
    let pretty = kfpguard(dir.path(), &["--color", "never", "x.yaml"]);
    assert_eq!(pretty.code, 2, "{pretty:?}");
    assert!(pretty.stderr.contains("error[kfpguard::encoding]: x.yaml"), "{pretty:?}");
    assert!(pretty.stderr.contains("not UTF-8"), "{pretty:?}");

    let json = kfpguard(dir.path(), &["--format", "json", "x.yaml"]);
    assert_eq!(json.code, 2, "{json:?}");
    let report = json.json();
    assert_eq!(report["files"][0]["status"], "failed");
    assert_eq!(report["files"][0]["error"]["code"], "kfpguard::encoding");
    assert!(json.stderr.contains("x.yaml") && json.stderr.contains("not UTF-8"), "{json:?}");
}

#[test]
fn file_over_max_file_size_exits_2_naming_the_limit() {
    let dir = tempdir();
    write(dir.path(), "clean.yaml", CLEAN_POD);
    let run = kfpguard(dir.path(), &["--color", "never", "--max-file-size", "10", "clean.yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("error[kfpguard::too_large]: clean.yaml"), "{run:?}");
    assert!(run.stderr.contains("limit"), "{run:?}");

    let json = kfpguard(dir.path(), &["--format", "json", "--max-file-size", "10", "clean.yaml"]);
    assert_eq!(json.code, 2, "{json:?}");
    assert_eq!(json.json()["files"][0]["error"]["code"], "kfpguard::too_large");
    assert!(json.stderr.contains("limit"), "{json:?}");
}

#[test]
fn file_exactly_at_max_file_size_is_linted() {
    let dir = tempdir();
    write(dir.path(), "clean.yaml", CLEAN_POD);
    let size = CLEAN_POD.len().to_string();
    let run = kfpguard(dir.path(), &["--format", "json", "--max-file-size", &size, "clean.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(file_status(&run.json(), "clean.yaml"), "linted");
}

#[test]
fn unknown_flag_exits_2() {
    let dir = tempdir();
    let run = kfpguard(dir.path(), &["--no-such-flag"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--no-such-flag"), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
}

#[test]
fn unknown_format_exits_2() {
    let dir = tempdir();
    write(dir.path(), "clean.yaml", CLEAN_POD);
    let run = kfpguard(dir.path(), &["--format", "nonsense", "clean.yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("nonsense"), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
}

#[test]
fn unknown_fail_on_value_exits_2() {
    let dir = tempdir();
    write(dir.path(), "clean.yaml", CLEAN_POD);
    let run = kfpguard(dir.path(), &["--fail-on", "critical", "clean.yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn quiet_and_verbose_together_exit_2() {
    let dir = tempdir();
    write(dir.path(), "clean.yaml", CLEAN_POD);
    let run = kfpguard(dir.path(), &["-q", "-v", "clean.yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
}

#[test]
fn unwritable_output_file_exits_2() {
    let dir = tempdir();
    write(dir.path(), "clean.yaml", CLEAN_POD);
    let run = kfpguard(dir.path(), &["-o", "no-such-dir/report.json", "--format", "json", "clean.yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("cannot write the report"), "{run:?}");
}

#[test]
fn pretty_report_written_to_file_still_reports_input_errors_on_stderr() {
    let dir = tempdir();
    write(dir.path(), "broken.yaml", INVALID_YAML);
    let run = kfpguard(dir.path(), &["-o", "report.txt", "broken.yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("broken.yaml"), "{run:?}");
}

#[test]
fn quiet_machine_format_still_reports_input_errors_on_stderr() {
    let dir = tempdir();
    write(dir.path(), "broken.yaml", INVALID_YAML);
    let run = kfpguard(dir.path(), &["-q", "--format", "json", "broken.yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("broken.yaml"), "{run:?}");
}

// ---------------------------------------------------------------------------------------
// Files that are not pipelines
// ---------------------------------------------------------------------------------------

#[test]
fn explicit_non_pipeline_file_exits_0_with_one_note_naming_it() {
    let dir = tempdir();
    write(dir.path(), "config.yaml", NOT_A_PIPELINE);
    let run = kfpguard(dir.path(), &["--color", "never", "config.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    let notes: Vec<&str> = run.stdout.lines().filter(|line| line.starts_with("note:")).collect();
    assert_eq!(notes.len(), 1, "{run:?}");
    assert!(notes[0].contains("config.yaml"), "{run:?}");
    assert!(run.stdout.contains("1 skipped"), "{run:?}");
}

#[test]
fn non_pipeline_file_found_by_walk_is_not_noted() {
    let dir = tempdir();
    write(dir.path(), "configs/config.yaml", NOT_A_PIPELINE);
    let run = kfpguard(dir.path(), &["--color", "never", "configs"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("note:"), "{run:?}");
    assert!(!run.stdout.contains("config.yaml"), "{run:?}");
    assert!(run.stdout.contains("1 skipped"), "still counted: {run:?}");
}

#[test]
fn non_pipeline_file_found_by_walk_is_listed_as_skipped_with_verbose() {
    let dir = tempdir();
    write(dir.path(), "configs/config.yaml", NOT_A_PIPELINE);
    let run = kfpguard(dir.path(), &["--color", "never", "-v", "configs"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(!run.stdout.contains("note:"), "{run:?}");
    let skipped: Vec<&str> = run.stdout.lines().filter(|line| line.starts_with("skipped:")).collect();
    assert_eq!(skipped.len(), 1, "{run:?}");
    assert!(skipped[0].contains("configs/config.yaml"), "{run:?}");
}

#[test]
fn explicit_empty_file_exits_0_and_is_skipped() {
    let dir = tempdir();
    write(dir.path(), "empty.yaml", "");
    let run = kfpguard(dir.path(), &["--format", "json", "empty.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(file_status(&run.json(), "empty.yaml"), "skipped");
}

// ---------------------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------------------

#[test]
fn gitignored_file_is_not_linted_inside_a_git_repository() {
    // Like ripgrep, the `ignore` crate honours `.gitignore` only inside a git repository;
    // an (empty) `.git` directory is enough to make the temporary directory one.
    let dir = tempdir();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(dir.path(), ".gitignore", "generated/\nscratch.yaml\n");
    write(dir.path(), "kept.yaml", MEDIUM_POD);
    write(dir.path(), "scratch.yaml", MEDIUM_POD);
    write(dir.path(), "generated/out.yaml", MEDIUM_POD);
    let run = kfpguard(dir.path(), &["--format", "json", "."]);
    assert_eq!(file_paths(&run.json()), ["kept.yaml"], "{run:?}");
}

#[test]
fn gitignored_file_named_explicitly_is_linted() {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    write(dir.path(), ".gitignore", "scratch.yaml\n");
    write(dir.path(), "scratch.yaml", MEDIUM_POD);
    let run = kfpguard(dir.path(), &["--format", "json", "scratch.yaml"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(file_status(&run.json(), "scratch.yaml"), "linted");
}

#[test]
fn dot_ignore_file_is_honoured_without_git() {
    let dir = tempdir();
    write(dir.path(), ".ignore", "vendor/\n*.generated.yaml\n");
    write(dir.path(), "kept.yaml", MEDIUM_POD);
    write(dir.path(), "big.generated.yaml", MEDIUM_POD);
    write(dir.path(), "vendor/third-party.yaml", MEDIUM_POD);
    let run = kfpguard(dir.path(), &["--format", "json", "."]);
    assert_eq!(file_paths(&run.json()), ["kept.yaml"], "{run:?}");
}

#[test]
fn hidden_directories_and_files_are_skipped_in_walks() {
    let dir = tempdir();
    write(dir.path(), "kept.yaml", MEDIUM_POD);
    write(dir.path(), ".hidden/inside.yaml", MEDIUM_POD);
    write(dir.path(), ".github/workflows/ci.yml", MEDIUM_POD);
    write(dir.path(), ".dotfile.yaml", MEDIUM_POD);
    let run = kfpguard(dir.path(), &["--format", "json", "."]);
    assert_eq!(file_paths(&run.json()), ["kept.yaml"], "{run:?}");
}

#[test]
fn walk_considers_yaml_yml_and_json_only() {
    let dir = tempdir();
    write(dir.path(), "a.yaml", CLEAN_POD);
    write(dir.path(), "b.yml", CLEAN_POD);
    write(
        dir.path(),
        "c.json",
        r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"},
            "spec": {"containers": [{"name": "main", "image": "busybox:1.36",
                                     "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}}"#,
    );
    // Pipelines in disguise: never picked up by a walk.
    write(dir.path(), "d.txt", MEDIUM_POD);
    write(dir.path(), "e.yaml.bak", MEDIUM_POD);
    write(dir.path(), "f", MEDIUM_POD);
    let run = kfpguard(dir.path(), &["--format", "json", "."]);
    assert_eq!(run.code, 0, "{run:?}");
    let report = run.json();
    assert_eq!(file_paths(&report), ["a.yaml", "b.yml", "c.json"], "{run:?}");
    assert!(report["files"].as_array().unwrap().iter().all(|f| f["status"] == "linted"), "{run:?}");
}

#[test]
fn explicit_file_with_other_extension_is_linted() {
    let dir = tempdir();
    write(dir.path(), "pipeline.txt", MEDIUM_POD);
    let run = kfpguard(dir.path(), &["--format", "json", "pipeline.txt"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(file_status(&run.json(), "pipeline.txt"), "linted");
}

#[test]
fn file_named_twice_is_linted_once() {
    let dir = tempdir();
    write(dir.path(), "pipelines/medium.yaml", MEDIUM_POD);
    let run = kfpguard(dir.path(), &["--format", "json", "pipelines", "pipelines/medium.yaml"]);
    assert_eq!(run.code, 1, "{run:?}");
    let report = run.json();
    assert_eq!(report["summary"]["files"]["linted"], 1, "{run:?}");
    assert_eq!(findings(&report).len(), 2, "{run:?}");
}

#[test]
fn files_are_reported_in_path_order_component_by_component_whatever_the_arguments() {
    let dir = tempdir();
    for path in ["a/x.yaml", "a-b/x.yaml", "a.yaml", "b/c.yaml"] {
        write(dir.path(), path, MEDIUM_POD);
    }
    let expected = ["a/x.yaml", "a-b/x.yaml", "a.yaml", "b/c.yaml"];
    for args in [&["."][..], &["b", "a.yaml", "a-b", "a"][..], &["./b/../b", ".", "a.yaml"][..]] {
        for threads in ["1", "2"] {
            let run = kfpguard(dir.path(), &[&["--format", "json", "-j", threads][..], args].concat());
            assert_eq!(run.code, 1, "{args:?} -j {threads}: {run:?}");
            assert_eq!(file_paths(&run.json()), expected, "{args:?} -j {threads}");
        }
    }
}

#[test]
fn directory_named_like_a_yaml_file_is_walked_not_failed() {
    let dir = tempdir();
    write(dir.path(), "x.yaml/inner.yaml", MEDIUM_POD);
    write(dir.path(), "x.yaml/notes.txt", "not linted");

    let walked = kfpguard(dir.path(), &["--format", "json", "."]);
    assert_eq!(walked.code, 1, "{walked:?}");
    let report = walked.json();
    assert_eq!(report["summary"]["files"]["failed"], 0, "{walked:?}");
    assert_eq!(file_paths(&report), ["x.yaml/inner.yaml"], "{walked:?}");

    let explicit = kfpguard(dir.path(), &["--format", "json", "x.yaml"]);
    assert_eq!(explicit.code, 1, "{explicit:?}");
    assert_eq!(file_paths(&explicit.json()), ["x.yaml/inner.yaml"], "{explicit:?}");
}

#[cfg(unix)]
#[test]
fn symlink_to_directory_named_like_yaml_is_not_a_failure() {
    let dir = tempdir();
    write(dir.path(), "real/inner.yaml", CLEAN_POD);
    std::fs::create_dir(dir.path().join("walked")).unwrap();
    std::os::unix::fs::symlink("../real", dir.path().join("walked/link.yaml")).unwrap();
    let run = kfpguard(dir.path(), &["--format", "json", "walked"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["summary"]["files"]["failed"], 0, "{run:?}");
}

// ---------------------------------------------------------------------------------------
// Output destinations and formats
// ---------------------------------------------------------------------------------------

#[test]
fn output_flag_writes_json_report_to_file_and_nothing_to_stdout() {
    let dir = tempdir();
    write(dir.path(), "medium.yaml", MEDIUM_POD);
    let run = kfpguard(dir.path(), &["--format", "json", "-o", "report.json", "medium.yaml"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let written = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    let report: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(findings(&report).len(), 2);
}

#[test]
fn output_flag_writes_pretty_report_to_file_without_colour() {
    let dir = tempdir();
    write(dir.path(), "medium.yaml", MEDIUM_POD);
    let run = kfpguard(dir.path(), &["--output", "report.txt", "medium.yaml"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");
    let written = std::fs::read_to_string(dir.path().join("report.txt")).unwrap();
    assert!(written.contains("missing-memory-limit"), "{written}");
    assert!(written.contains("1 files linted"), "{written}");
    assert!(!has_ansi(&written), "colour auto never colours a file: {written}");
}

#[test]
fn output_flag_overwrites_an_existing_file() {
    let dir = tempdir();
    write(dir.path(), "clean.yaml", CLEAN_POD);
    write(dir.path(), "report.json", "stale contents that are much longer than nothing at all ".repeat(100));
    let run = kfpguard(dir.path(), &["--format", "json", "-o", "report.json", "clean.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    let written = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    let report: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(findings(&report).len(), 0);
}

#[test]
fn json_format_is_valid_json_with_schema_version_1() {
    let dir = tempdir();
    write(dir.path(), "medium.yaml", MEDIUM_POD);
    write(dir.path(), "privileged.yaml", PRIVILEGED_POD);
    write(dir.path(), "config.yaml", NOT_A_PIPELINE);
    let run = kfpguard(dir.path(), &["--format", "json", "."]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
    let report = run.json();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["tool"]["name"], "kfpguard");
    assert_eq!(report["tool"]["version"], env!("CARGO_PKG_VERSION"));

    let files = &report["summary"]["files"];
    assert_eq!(
        (files["linted"].as_u64(), files["skipped"].as_u64(), files["failed"].as_u64()),
        (Some(2), Some(1), Some(0))
    );
    assert_eq!(file_status(&report, "config.yaml"), "skipped");

    // The summary counts agree with the findings list.
    let list = findings(&report);
    for severity in ["high", "medium", "low"] {
        let counted = list.iter().filter(|f| f["severity"] == severity).count() as u64;
        assert_eq!(report["summary"]["findings"][severity].as_u64(), Some(counted), "{severity}");
    }
    assert_eq!(report["summary"]["pipelines"], 2);

    // Every finding carries the documented fields.
    for finding in list {
        for field in ["rule", "severity", "message", "path", "pipeline", "fingerprint"] {
            assert!(finding[field].is_string(), "{field} in {finding}");
        }
        for field in ["line", "column", "end_line", "end_column"] {
            assert!(finding[field].is_u64(), "{field} in {finding}");
        }
        assert!(finding["steps"].is_array() && finding["related"].is_array(), "{finding}");
    }
    let privileged = list.iter().find(|f| f["rule"] == "privileged-container").expect("privileged-container finding");
    assert_eq!(privileged["severity"], "high");
    assert_eq!(privileged["path"], "privileged.yaml");
    assert_eq!((privileged["line"].as_u64(), privileged["column"].as_u64()), (Some(11), Some(7)), "{privileged}");
    assert_eq!(privileged["container"], "main");
}

#[test]
fn sarif_format_has_version_2_1_0_and_one_result_per_json_finding() {
    let json = kfpguard(crate_root(), &["--format", "json", "fixtures"]);
    let sarif = kfpguard(crate_root(), &["--format", "sarif", "fixtures"]);
    assert_eq!(json.code, sarif.code, "same exit code: {json:?}\n{sarif:?}");
    let report = json.json();
    let log = sarif.json();
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"].as_array().unwrap().len(), 1);
    let results = log["runs"][0]["results"].as_array().expect("runs[0].results");
    let list = findings(&report);
    assert!(!list.is_empty(), "the fixtures have findings");
    assert_eq!(results.len(), list.len());
    // Same findings, same order.
    for (result, finding) in results.iter().zip(list) {
        assert_eq!(result["ruleId"], finding["rule"]);
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], finding["line"]);
        assert_eq!(region["startColumn"], finding["column"]);
        assert_eq!(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], finding["path"]);
    }
}

#[test]
fn sarif_reports_failed_files_as_unsuccessful_execution() {
    let dir = tempdir();
    write(dir.path(), "broken.yaml", INVALID_YAML);
    let run = kfpguard(dir.path(), &["--format", "sarif", "broken.yaml"]);
    assert_eq!(run.code, 2, "{run:?}");
    let log = run.json();
    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false, "{run:?}");
    let notifications = invocation["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notifications.len(), 1, "{run:?}");
    assert_eq!(notifications[0]["descriptor"]["id"], "kfpguard::parse");
}

#[test]
fn sarif_help_uris_are_absolute() {
    let dir = tempdir();
    write(dir.path(), "clean.yaml", CLEAN_POD);
    let log = kfpguard(dir.path(), &["--format", "sarif", "clean.yaml"]).json();
    let rules = log["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(!rules.is_empty());
    for rule in rules {
        if let Some(uri) = rule["helpUri"].as_str() {
            assert!(uri.starts_with("https://"), "{} has helpUri {uri:?}", rule["id"]);
        }
    }
}

#[test]
fn sarif_artifact_uris_are_percent_encoded() {
    let dir = tempdir();
    write(dir.path(), "sp ace/a#1.yaml", MEDIUM_POD);
    let log = kfpguard(dir.path(), &["--format", "sarif", "sp ace"]).json();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        assert_eq!(result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "sp%20ace/a%231.yaml");
    }
}

#[test]
fn sarif_uri_of_file_outside_working_directory_is_absolute() {
    let dir = tempdir();
    let cwd = tempdir();
    let file = write(dir.path(), "medium.yaml", MEDIUM_POD);
    let log = kfpguard(cwd.path(), &["--format", "sarif", file.to_str().unwrap()]).json();
    let location = &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert!(location["uri"].as_str().unwrap().starts_with("file:///"), "{location}");
    assert!(location.get("uriBaseId").is_none(), "{location}");
}

#[test]
fn secrets_never_appear_in_any_output_format() {
    let dir = tempdir();
    write(dir.path(), "leaky.yaml", SECRET_POD);
    for format in ["pretty", "json", "sarif"] {
        let run = kfpguard(dir.path(), &["--format", format, "--color", "never", "leaky.yaml"]);
        assert_eq!(run.code, 1, "{format}: {run:?}");
        assert!(run.stdout.contains("secret-in-env"), "{format}: {run:?}");
        assert!(!run.stdout.contains(SECRET), "{format} leaks the secret: {run:?}");
        assert!(!run.stderr.contains(SECRET), "{format} leaks the secret: {run:?}");
    }
}

#[test]
fn explain_works_for_every_rule_a_finding_points_to() {
    // Every finding's help ends in `kfpguard --explain <rule>`: that command must work.
    let report = kfpguard(crate_root(), &["--format", "json", "fixtures"]).json();
    let mut rules = rules_found(&report);
    rules.dedup();
    assert!(!rules.is_empty());
    for rule in rules {
        let run = kfpguard(crate_root(), &["--explain", &rule]);
        assert_eq!(run.code, 0, "--explain {rule}: {run:?}");
        assert!(run.stdout.contains(&rule), "--explain {rule}: {run:?}");
    }
}

#[test]
fn explain_unknown_rule_exits_2() {
    let dir = tempdir();
    let run = kfpguard(dir.path(), &["--explain", "no-such-rule"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("no-such-rule"), "{run:?}");
}

#[test]
fn list_rules_names_every_rule_seen_in_findings() {
    let report = kfpguard(crate_root(), &["--format", "json", "fixtures"]).json();
    let run = kfpguard(crate_root(), &["--list-rules"]);
    assert_eq!(run.code, 0, "{run:?}");
    for rule in rules_found(&report) {
        assert!(run.stdout.contains(&rule), "{rule} not listed: {run:?}");
    }
}

#[test]
fn markdown_format_prints_a_job_summary() {
    let dir = tempdir();
    write(dir.path(), "clean.yaml", CLEAN_POD);
    let run = kfpguard(dir.path(), &["--format", "markdown", "clean.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("## kfpguard"), "{run:?}");
    assert!(run.stdout.contains("| ✅ secure |"), "{run:?}");
}

// ---------------------------------------------------------------------------------------
// Properties over all fixtures
// ---------------------------------------------------------------------------------------

#[test]
fn json_output_is_identical_across_thread_counts() {
    let one = kfpguard(crate_root(), &["--format", "json", "-j", "1", "fixtures"]);
    let two = kfpguard(crate_root(), &["--format", "json", "-j", "2", "fixtures"]);
    let many = kfpguard(crate_root(), &["--format", "json", "-j", "8", "fixtures"]);
    assert_eq!(one.code, two.code);
    assert!(one.stdout == two.stdout, "-j 1 and -j 2 differ");
    assert!(one.stdout == many.stdout, "-j 1 and -j 8 differ");
    // And a second run is identical too.
    let again = kfpguard(crate_root(), &["--format", "json", "-j", "2", "fixtures"]);
    assert!(two.stdout == again.stdout, "two runs with -j 2 differ");
}

#[test]
fn fixture_findings_have_real_positions_and_unique_fingerprints() {
    let run = kfpguard(crate_root(), &["--format", "json", "fixtures"]);
    let report = run.json();
    assert_eq!(report["summary"]["files"]["failed"], 0, "{run:?}");
    let list = findings(&report);
    assert!(!list.is_empty());
    let mut fingerprints = std::collections::BTreeSet::new();
    for finding in list {
        let line = finding["line"].as_u64().unwrap();
        let column = finding["column"].as_u64().unwrap();
        assert!(line >= 1 && column >= 1, "{finding}");
        let end = (finding["end_line"].as_u64().unwrap(), finding["end_column"].as_u64().unwrap());
        assert!(end >= (line, column), "end before start: {finding}");
        let rule = finding["rule"].as_str().unwrap();
        if rule.starts_with("missing-") {
            assert_ne!(line, 1, "a missing-* finding should point at its container, not the file start: {finding}");
        }
        assert!(
            fingerprints.insert(finding["fingerprint"].as_str().unwrap().to_string()),
            "duplicate fingerprint: {finding}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Pretty output options
// ---------------------------------------------------------------------------------------

#[test]
fn color_never_output_has_no_ansi_escapes() {
    let dir = tempdir();
    write(dir.path(), "medium.yaml", MEDIUM_POD);
    write(dir.path(), "privileged.yaml", PRIVILEGED_POD);
    let run = kfpguard(dir.path(), &["--color", "never", "."]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("privileged-container"), "{run:?}");
    assert!(!has_ansi(&run.stdout) && !has_ansi(&run.stderr), "{run:?}");
}

#[test]
fn color_auto_does_not_colour_a_pipe_and_always_does() {
    let dir = tempdir();
    write(dir.path(), "medium.yaml", MEDIUM_POD);
    let auto = kfpguard(dir.path(), &["medium.yaml"]);
    assert!(!has_ansi(&auto.stdout), "stdout is a pipe here: {auto:?}");
    let always = kfpguard(dir.path(), &["--color", "always", "medium.yaml"]);
    assert!(has_ansi(&always.stdout), "{always:?}");
}

#[test]
fn quiet_prints_findings_but_no_summary() {
    let dir = tempdir();
    write(dir.path(), "medium.yaml", MEDIUM_POD);
    write(dir.path(), "config.yaml", NOT_A_PIPELINE);
    let run = kfpguard(dir.path(), &["-q", "--color", "never", "medium.yaml", "config.yaml"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("missing-cpu-limit"), "{run:?}");
    assert!(!run.stdout.contains("files linted"), "{run:?}");
    assert!(!run.stdout.contains("verdict"), "no pipeline table: {run:?}");
    assert!(!run.stdout.contains("note:"), "{run:?}");
}

#[test]
fn quiet_on_clean_pipeline_prints_nothing() {
    let dir = tempdir();
    write(dir.path(), "clean.yaml", CLEAN_POD);
    let run = kfpguard(dir.path(), &["-q", "clean.yaml"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.trim().is_empty(), "{run:?}");
    assert!(run.stderr.is_empty(), "{run:?}");
}

#[test]
fn summary_line_counts_files_and_findings() {
    let dir = tempdir();
    write(dir.path(), "medium.yaml", MEDIUM_POD);
    write(dir.path(), "config.yaml", NOT_A_PIPELINE);
    write(dir.path(), "broken.yaml", INVALID_YAML);
    let run = kfpguard(dir.path(), &["--color", "never", "."]);
    assert_eq!(run.code, 2, "{run:?}");
    let summary = run.stdout.lines().last().unwrap();
    assert!(
        summary.starts_with(
            "1 files linted (1 skipped, 1 failed), 1 pipelines, 1 containers: 2 findings (0 high, 2 medium, 0 low)"
        ),
        "{summary}"
    );
}

// ---------------------------------------------------------------------------------------
// Runs with more files than the report keeps in memory
// ---------------------------------------------------------------------------------------

/// Past `spool::IN_MEMORY` files the report's per-file and per-pipeline entries go to a
/// temporary file; every renderer must still list them all, in path order.
#[test]
fn runs_with_more_files_than_kept_in_memory_list_every_file_in_order() {
    let dir = tempdir();
    let count = kfpguard::spool::IN_MEMORY + 20;
    let kinds = [CLEAN_POD, NOT_A_PIPELINE, PRIVILEGED_POD, INVALID_YAML];
    for index in 0..count {
        write(dir.path(), &format!("p{index:05}.yaml"), kinds[index % kinds.len()]);
    }
    let expected_paths: Vec<String> = (0..count).map(|index| format!("p{index:05}.yaml")).collect();
    let pipelines = (0..count).filter(|index| index % 2 == 0).count();
    let failed = (0..count).filter(|index| index % 4 == 3).count();

    let json = kfpguard(dir.path(), &["--format", "json", "."]);
    assert_eq!(json.code, 2, "{json:?}");
    let report = json.json();
    assert_eq!(file_paths(&report), expected_paths);
    let last = &expected_paths[count - 1];
    assert_eq!(file_status(&report, last), ["linted", "skipped", "linted", "failed"][(count - 1) % 4]);
    assert_eq!(report["pipelines"].as_array().unwrap().len(), pipelines);
    assert_eq!(report["summary"]["pipelines"], pipelines);

    let sarif: Value = serde_json::from_str(&kfpguard(dir.path(), &["--format", "sarif", "."]).stdout).unwrap();
    let run = &sarif["runs"][0];
    assert_eq!(run["properties"]["pipelines"].as_array().unwrap().len(), pipelines);
    assert_eq!(run["invocations"][0]["toolExecutionNotifications"].as_array().unwrap().len(), failed);

    let pretty = kfpguard(dir.path(), &["--format", "pretty", "--verbose", "."]);
    let skipped = pretty.stdout.lines().filter(|line| line.starts_with("skipped: ")).count();
    assert_eq!(skipped, count / 4, "{pretty:?}");
    let table_rows = pretty.stdout.lines().filter(|line| line.ends_with("secure") || line.ends_with("at risk")).count();
    assert_eq!(table_rows, pipelines, "{pretty:?}");

    let github = kfpguard(dir.path(), &["--format", "github", "."]);
    let failure_annotations =
        github.stdout.lines().filter(|line| line.contains(",title=kfpguard%3A%3Aparse::")).count();
    assert_eq!(failure_annotations, failed, "{github:?}");
}

/// A run too big to keep its summaries in memory, with no usable temporary directory, fails
/// with exit code 2 and says why, rather than writing a shortened report. (`TMPDIR` is
/// where Unix looks for the temporary directory.)
#[cfg(unix)]
#[test]
fn unusable_temporary_directory_fails_a_large_run_with_exit_2() {
    let dir = tempdir();
    for index in 0..kfpguard::spool::IN_MEMORY + 2 {
        write(dir.path(), &format!("p{index:05}.yaml"), CLEAN_POD);
    }
    let missing = dir.path().join("no-such-directory");
    let output = Command::new(env!("CARGO_BIN_EXE_kfpguard"))
        .args(["--format", "json", "."])
        .current_dir(dir.path())
        .env("TMPDIR", &missing)
        .output()
        .expect("failed to start kfpguard");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("temporary file") && stderr.contains("no-such-directory"), "{stderr}");
}

/// The binary runs on jemalloc with kfpguard's setting (src/allocator.rs): the symbol that
/// carries it must reach jemalloc, which only a run shows (a misnamed or dropped symbol
/// links fine and is ignored). jemalloc prints its options at exit when asked to.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[test]
fn the_binary_runs_on_jemalloc_with_its_decay_setting() {
    let output = Command::new(env!("CARGO_BIN_EXE_kfpguard"))
        .arg("--version")
        .env("_RJEM_MALLOC_CONF", "stats_print:true")
        .output()
        .expect("failed to start kfpguard");
    assert!(output.status.success());
    let stats = String::from_utf8_lossy(&output.stderr);
    let expected = std::str::from_utf8(kfpguard::allocator::JEMALLOC_CONF).unwrap().trim_end_matches('\0');
    assert!(stats.contains(&format!("Global variable malloc_conf: \"{expected}\"")), "{stats}");
    assert!(stats.contains("opt.dirty_decay_ms: 300 "), "{stats}");
}
