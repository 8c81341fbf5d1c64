//! The GitHub Action (`action.yml` at the repository root): its structure, read with
//! kfpguard's own YAML tree, and its shell steps run locally in a fake GitHub environment.
//!
//! The local runner plays the composite action the way GitHub does for `run:` steps: in
//! order, each with `bash --noprofile --norc -eo pipefail`, in `GITHUB_WORKSPACE`, with its
//! own `GITHUB_OUTPUT` file, its `env:` after `${{ }}` substitution, and stopping at the first
//! step that fails. `uses:` steps (cache, SARIF upload) are skipped. The build is skipped
//! with `KFPGUARD_SKIP_BUILD=1` and a `kfpguard` on PATH: a wrapper that logs each call and
//! runs the binary under test.
//!
//! The lint step renders every report from one run: `--format json -o FILE` plus
//! `--output-format FORMAT=FILE` for SARIF, annotations and the job summary.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kfpguard::yaml::{Limits, NodeRef, Tree};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn action_tree() -> Tree {
    let text = std::fs::read_to_string(repo().join("action.yml")).expect("action.yml is readable");
    Tree::parse(text, None, Limits::default()).expect("action.yml is valid YAML")
}

fn string(node: Option<NodeRef<'_>>) -> Option<String> {
    node.and_then(|node| node.as_str()).map(str::to_string)
}

/// One step of the composite action.
#[derive(Debug, Default)]
struct Step {
    id: Option<String>,
    name: Option<String>,
    uses: Option<String>,
    run: Option<String>,
    shell: Option<String>,
    condition: Option<String>,
    env: Vec<(String, String)>,
    with: Vec<(String, String)>,
}

impl Step {
    fn label(&self) -> String {
        self.id.clone().or_else(|| self.name.clone()).unwrap_or_else(|| "?".into())
    }
}

fn pairs(node: Option<NodeRef<'_>>) -> Vec<(String, String)> {
    node.map(|node| {
        node.entries()
            .map(|(key, value)| {
                (key.as_str().unwrap_or_default().to_string(), value.as_str().unwrap_or_default().to_string())
            })
            .collect()
    })
    .unwrap_or_default()
}

fn steps() -> Vec<Step> {
    let tree = action_tree();
    let root = tree.documents().next().expect("one document");
    root.at(&["runs", "steps"])
        .expect("runs.steps")
        .items()
        .map(|step| Step {
            id: string(step.get("id")),
            name: string(step.get("name")),
            uses: string(step.get("uses")),
            run: string(step.get("run")),
            shell: string(step.get("shell")),
            condition: string(step.get("if")),
            env: pairs(step.get("env")),
            with: pairs(step.get("with")),
        })
        .collect()
}

/// Input name -> default.
fn input_defaults() -> BTreeMap<String, Option<String>> {
    let tree = action_tree();
    let root = tree.documents().next().expect("one document");
    root.get("inputs")
        .expect("inputs")
        .entries()
        .map(|(name, input)| (name.as_str().unwrap().to_string(), string(input.get("default"))))
        .collect()
}

/// The expressions (`${{ ... }}`, trimmed) in a text.
fn expressions(text: &str) -> Vec<&str> {
    text.split("${{").skip(1).map(|rest| rest.split("}}").next().unwrap_or_default().trim()).collect()
}

// ---------------------------------------------------------------------------------------
// Structure
// ---------------------------------------------------------------------------------------

#[test]
fn inputs_have_the_documented_defaults() {
    let defaults = input_defaults();
    let expected = [
        ("paths", "."),
        ("fail-on", "low"),
        ("config", ""),
        ("baseline", ""),
        ("sarif-file", "kfpguard.sarif"),
        ("upload-sarif", "true"),
        ("annotations", "true"),
        ("summary", "true"),
    ];
    for (name, default) in expected {
        assert_eq!(defaults.get(name), Some(&Some(default.to_string())), "input `{name}`");
    }
    assert_eq!(defaults.len(), expected.len(), "undocumented inputs: {defaults:?}");
}

#[test]
fn outputs_come_from_the_lint_step() {
    let tree = action_tree();
    let root = tree.documents().next().unwrap();
    let outputs = root.get("outputs").expect("outputs");
    for name in ["findings", "score", "sarif-file"] {
        let value = outputs.at(&[name, "value"]).and_then(|v| v.as_str());
        assert_eq!(value, Some(format!("${{{{ steps.lint.outputs.{name} }}}}").as_str()), "output `{name}`");
    }
}

#[test]
fn composite_with_bash_steps_and_no_expression_inside_scripts() {
    let tree = action_tree();
    let root = tree.documents().next().unwrap();
    assert_eq!(root.at(&["runs", "using"]).and_then(|n| n.as_str()), Some("composite"));
    let steps = steps();
    assert!(steps.iter().filter(|step| step.run.is_some()).count() >= 3);
    for step in &steps {
        assert!(step.run.is_some() != step.uses.is_some(), "step {} needs exactly one of run/uses", step.label());
        if let Some(script) = &step.run {
            assert_eq!(step.shell.as_deref(), Some("bash"), "step {} must say `shell: bash`", step.label());
            // Inputs arrive through `env:`: an expression inside a script would be pasted
            // into the shell source (script injection, and untestable).
            assert!(!script.contains("${{"), "step {} has an expression inside `run:`", step.label());
        }
    }
}

#[test]
fn expressions_refer_to_declared_inputs_and_earlier_steps() {
    let inputs = input_defaults();
    let steps = steps();
    let text = std::fs::read_to_string(repo().join("action.yml")).unwrap();
    for expression in expressions(&text) {
        for word in expression.split(|c: char| !(c.is_alphanumeric() || "._-".contains(c))) {
            if let Some(name) = word.strip_prefix("inputs.") {
                assert!(inputs.contains_key(name), "`{expression}` names an unknown input");
            }
        }
    }
    for (index, step) in steps.iter().enumerate() {
        let mine = step.env.iter().chain(&step.with).map(|(_, value)| value.as_str()).chain(step.condition.as_deref());
        for expression in mine.flat_map(expressions) {
            for word in expression.split(|c: char| !(c.is_alphanumeric() || "._-".contains(c))) {
                if let Some(rest) = word.strip_prefix("steps.") {
                    let id = rest.split('.').next().unwrap();
                    assert!(
                        steps[..index].iter().any(|earlier| earlier.id.as_deref() == Some(id)),
                        "step {} refers to `{word}`, which is not an earlier step",
                        step.label()
                    );
                }
            }
        }
    }
}

#[test]
fn build_is_cached_and_comes_from_the_action_checkout() {
    let steps = steps();
    let cache = steps
        .iter()
        .find(|step| step.uses.as_deref().is_some_and(|uses| uses.starts_with("actions/cache@")))
        .expect("an actions/cache step");
    let with: BTreeMap<_, _> = cache.with.iter().cloned().collect();
    let paths = with.get("path").expect("cache path");
    for path in ["~/.cargo/registry", "~/.cargo/git", "${{ steps.prepare.outputs.target-dir }}"] {
        assert!(paths.lines().any(|line| line.trim() == path), "cache path lacks {path}: {paths}");
    }
    assert_eq!(with.get("key").map(String::as_str), Some("${{ steps.prepare.outputs.cache-key }}"));
    let prepare = steps.iter().find(|step| step.id.as_deref() == Some("prepare")).expect("prepare step");
    assert!(
        prepare.run.as_deref().unwrap().contains("$GITHUB_ACTION_PATH/Cargo.lock"),
        "key on the action's lock file"
    );
    let build = steps.iter().find(|step| step.id.as_deref() == Some("build")).expect("build step");
    let script = build.run.as_deref().unwrap();
    assert!(script.contains("--manifest-path \"$GITHUB_ACTION_PATH/Cargo.toml\""), "{script}");
    assert!(script.contains("--locked"), "{script}");
    let position = |label: &str| steps.iter().position(|step| step.label() == label).unwrap();
    assert!(position("prepare") < steps.iter().position(|s| s.uses == cache.uses).unwrap());
    assert!(steps.iter().position(|s| s.uses == cache.uses).unwrap() < position("build"));
}

#[test]
fn kfpguard_runs_once_and_the_upload_comes_before_the_failing_step() {
    let steps = steps();
    let lint = steps.iter().position(|step| step.id.as_deref() == Some("lint")).expect("lint step");
    let upload = steps
        .iter()
        .position(|step| {
            step.uses.as_deref().is_some_and(|uses| uses.starts_with("github/codeql-action/upload-sarif@v3"))
        })
        .expect("a github/codeql-action/upload-sarif@v3 step");
    let fail = steps.iter().position(|step| step.id.as_deref() == Some("fail")).expect("fail step");
    assert!(lint < upload && upload < fail, "lint {lint}, upload {upload}, fail {fail}");

    // The upload runs whenever a SARIF file was written, findings or not, unless turned off.
    let condition = steps[upload].condition.as_deref().expect("the upload step has an `if:`");
    for part in ["!cancelled()", "inputs.upload-sarif == 'true'", "steps.lint.outputs.sarif-file"] {
        assert!(condition.contains(part), "upload `if:` lacks {part}: {condition}");
    }
    let with: BTreeMap<_, _> = steps[upload].with.iter().cloned().collect();
    assert_eq!(with.get("sarif_file").map(String::as_str), Some("${{ steps.lint.outputs.sarif-file }}"));

    // Only the lint step runs kfpguard, once, and it does not fail on findings.
    let script = steps[lint].run.as_deref().unwrap();
    assert_eq!(script.matches("\"${KFPGUARD_BIN:-kfpguard}\"").count(), 1, "{script}");
    assert!(script.contains("|| rc=$?"), "the lint step must not fail on findings: {script}");
    for (index, step) in steps.iter().enumerate() {
        if index != lint {
            assert!(!step.run.as_deref().unwrap_or_default().contains("KFPGUARD_BIN"), "step {}", step.label());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Running the steps
// ---------------------------------------------------------------------------------------

/// What one step did.
#[derive(Debug)]
struct StepRun {
    label: String,
    code: i32,
    stdout: String,
    stderr: String,
}

/// A fake runner: a workspace with the files to lint, GitHub's files, a wrapper `kfpguard`.
struct Runner {
    dir: tempfile::TempDir,
    inputs: BTreeMap<String, String>,
    outputs: BTreeMap<String, BTreeMap<String, String>>,
    skip_build: bool,
}

impl Runner {
    fn new() -> Runner {
        let dir = tempfile::tempdir().expect("temporary directory");
        for sub in ["workspace", "runner-temp", "bin"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("summary.md"), "").unwrap();
        // A wrapper that logs its arguments, one call per line, and runs the binary under test.
        let wrapper = dir.path().join("bin/kfpguard");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
                dir.path().join("calls.log").display(),
                env!("CARGO_BIN_EXE_kfpguard")
            ),
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let inputs = input_defaults().into_iter().map(|(name, default)| (name, default.unwrap_or_default())).collect();
        Runner { dir, inputs, outputs: BTreeMap::new(), skip_build: true }
    }

    fn workspace(&self) -> PathBuf {
        self.dir.path().join("workspace")
    }

    /// Copies a repository file into the workspace.
    fn add(&self, from: &str, to: &str) -> &Runner {
        let target = self.workspace().join(to);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(repo().join(from), target).unwrap();
        self
    }

    fn input(&mut self, name: &str, value: &str) -> &mut Runner {
        assert!(self.inputs.contains_key(name), "unknown input {name}");
        self.inputs.insert(name.into(), value.into());
        self
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("summary.md")).unwrap()
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    fn output(&self, step: &str, name: &str) -> Option<&str> {
        self.outputs.get(step)?.get(name).map(String::as_str)
    }

    /// Substitutes the `${{ }}` expressions the action uses in `env:`.
    fn expand(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").expect("unclosed expression") + start;
            let expression = rest[start + 3..end].trim();
            let value = if let Some(name) = expression.strip_prefix("inputs.") {
                self.inputs.get(name).unwrap_or_else(|| panic!("unknown input in `{expression}`")).clone()
            } else if let Some(path) = expression.strip_prefix("steps.") {
                let parts: Vec<&str> = path.split('.').collect();
                let [step, "outputs", name] = parts.as_slice() else { panic!("unsupported expression `{expression}`") };
                self.output(step, name).unwrap_or_default().to_string()
            } else if expression == "github.action_path" {
                repo().display().to_string()
            } else {
                panic!("the local runner does not support `{expression}`")
            };
            out.push_str(&value);
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// Runs one `run:` step; records its outputs.
    fn run_step(&mut self, step: &Step) -> StepRun {
        let label = step.label();
        let script_path = self.dir.path().join(format!("step-{label}.sh"));
        std::fs::write(&script_path, step.run.as_deref().unwrap()).unwrap();
        let output_file = self.dir.path().join(format!("output-{label}"));
        std::fs::write(&output_file, "").unwrap();
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
        );
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script_path)
            .current_dir(self.workspace())
            // Nothing of a real GitHub job the tests may run in leaks in (its GITHUB_OUTPUT...).
            .env_clear()
            .env("PATH", path)
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_WORKSPACE", self.workspace())
            .env("GITHUB_ACTION_PATH", repo())
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", self.dir.path().join("summary.md"))
            .env("RUNNER_TEMP", self.dir.path().join("runner-temp"))
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64");
        // What the toolchain needs (the prepare step runs `rustc`).
        for name in ["HOME", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "TMPDIR"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        if self.skip_build {
            command.env("KFPGUARD_SKIP_BUILD", "1");
        }
        for (name, value) in &step.env {
            command.env(name, self.expand(value));
        }
        let output = command.output().expect("bash runs");
        if let Some(id) = &step.id {
            let text = std::fs::read_to_string(&output_file).unwrap();
            let outputs = text
                .lines()
                .filter_map(|line| line.split_once('='))
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect();
            self.outputs.insert(id.clone(), outputs);
        }
        StepRun {
            label,
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs the action's `run:` steps in order, stopping at the first that fails.
    fn run(&mut self) -> Vec<StepRun> {
        let mut runs = Vec::new();
        for step in steps().iter().filter(|step| step.run.is_some()) {
            let run = self.run_step(step);
            let failed = run.code != 0;
            runs.push(run);
            if failed {
                break;
            }
        }
        runs
    }
}

fn find<'r>(runs: &'r [StepRun], label: &str) -> &'r StepRun {
    runs.iter().find(|run| run.label == label).unwrap_or_else(|| panic!("step {label} did not run: {runs:#?}"))
}

#[test]
fn prepare_step_keys_the_cache_on_the_action_lock_file() {
    let steps = steps();
    let prepare = steps.iter().find(|step| step.id.as_deref() == Some("prepare")).unwrap();
    let mut runner = Runner::new();
    runner.skip_build = false;
    let run = runner.run_step(prepare);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(runner.output("prepare", "build"), Some("true"));
    assert_eq!(runner.output("prepare", "target-dir"), Some(repo().join("target").to_str().unwrap()));
    let key = runner.output("prepare", "cache-key").expect("cache-key output");
    assert!(key.starts_with("kfpguard-Linux-X64-"), "{key}");
    // The key changes with the lock file: it ends with a digest of it.
    let lock_digest = key.rsplit('-').next().unwrap();
    assert_eq!(lock_digest.len(), 16, "{key}");

    let mut skipping = Runner::new();
    let run = skipping.run_step(prepare);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(skipping.output("prepare", "build"), Some("false"));
}

#[test]
fn fail_step_applies_the_exit_code_of_the_lint_run() {
    let steps = steps();
    let fail = steps.iter().find(|step| step.id.as_deref() == Some("fail")).unwrap();
    for (code, expected) in [("0", 0), ("1", 1), ("2", 2)] {
        let mut runner = Runner::new();
        runner.outputs.insert(
            "lint".into(),
            [("exit-code".to_string(), code.to_string()), ("findings".into(), "3".into())].into(),
        );
        let run = runner.run_step(fail);
        assert_eq!(run.code, expected, "{run:#?}");
        assert_eq!(run.stdout.contains("::error"), expected != 0, "{run:#?}");
    }
}

#[test]
fn vulnerable_pipeline_is_reported_everywhere_and_fails_the_job() {
    let mut runner = Runner::new();
    runner.add("fixtures/examples/training-pipeline.yaml", "pipelines/training.yaml");
    let runs = runner.run();
    let lint = find(&runs, "lint");
    assert_eq!(lint.code, 0, "the lint step must not fail on findings: {runs:#?}");
    assert!(!lint.stderr.contains("error"), "{}", lint.stderr);

    assert_eq!(runner.calls().len(), 1, "kfpguard must run once: {:?}", runner.calls());
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runner.workspace().join("kfpguard.sarif")).expect("SARIF file"))
            .expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"].as_str().unwrap_or_default().contains("sarif"), "{}", sarif["$schema"]);
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    assert!(
        results
            .iter()
            .all(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pipelines/training.yaml"),
        "SARIF paths are relative to the workspace"
    );

    assert!(
        lint.stdout.lines().any(|l| l.starts_with("::error file=pipelines/training.yaml,line=")),
        "{}",
        lint.stdout
    );
    assert!(
        lint.stdout.lines().any(|l| l.starts_with("::warning file=pipelines/training.yaml,line=")),
        "{}",
        lint.stdout
    );
    let summary = runner.summary();
    assert!(summary.contains("| verdict | pipeline | file | high | medium | low | score |"), "{summary}");
    assert!(summary.contains("training-pipeline"), "{summary}");

    let findings: usize = runner.output("lint", "findings").expect("findings output").parse().unwrap();
    assert_eq!(findings, results.len());
    let score: u32 = runner.output("lint", "score").expect("score output").parse().unwrap();
    assert!(score > 0);
    assert_eq!(runner.output("lint", "sarif-file"), Some("kfpguard.sarif"));
    assert_eq!(runner.output("lint", "exit-code"), Some("1"));

    let fail = find(&runs, "fail");
    assert_eq!(fail.code, 1, "{fail:#?}");
    assert!(fail.stdout.contains("::error title=kfpguard::"), "{fail:#?}");
}

#[test]
fn clean_pipeline_passes() {
    let mut runner = Runner::new();
    runner.add("fixtures/examples/secure-pipeline.yaml", "pipelines/secure.yaml");
    let runs = runner.run();
    assert!(runs.iter().all(|run| run.code == 0), "{runs:#?}");
    assert_eq!(runs.last().unwrap().label, "fail");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runner.workspace().join("kfpguard.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"].as_array().map(Vec::len), Some(0));
    assert!(!find(&runs, "lint").stdout.contains("::error"), "{runs:#?}");
    assert!(runner.summary().contains("✅ secure"), "{}", runner.summary());
    assert_eq!(runner.output("lint", "findings"), Some("0"));
    assert_eq!(runner.output("lint", "score"), Some("0"));
}

#[test]
fn inputs_reach_kfpguard() {
    // fail-on, sarif-file, paths, annotations and summary.
    let mut runner = Runner::new();
    runner
        .add("fixtures/examples/training-pipeline.yaml", "a/training.yaml")
        .add("fixtures/examples/secure-pipeline.yaml", "b/secure.yaml")
        .add("fixtures/examples/llm-finetune-pipeline.yaml", "c/not-linted.yaml");
    runner
        .input("paths", "a/training.yaml\nb")
        .input("fail-on", "never")
        .input("sarif-file", "reports/out.sarif")
        .input("annotations", "false")
        .input("summary", "false");
    let runs = runner.run();
    assert!(runs.iter().all(|run| run.code == 0), "{runs:#?}");
    let calls = runner.calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].contains("--fail-on never") && calls[0].ends_with("-- a/training.yaml b"), "{calls:?}");
    let sarif = std::fs::read_to_string(runner.workspace().join("reports/out.sarif")).expect("SARIF at sarif-file");
    assert!(sarif.contains("a/training.yaml") && !sarif.contains("not-linted"));
    assert_eq!(runner.output("lint", "sarif-file"), Some("reports/out.sarif"));
    let lint = find(&runs, "lint");
    assert!(!lint.stdout.contains("::"), "annotations are off: {}", lint.stdout);
    assert!(lint.stdout.contains("kfpguard: "), "the one-line result is still printed: {}", lint.stdout);
    assert_eq!(runner.summary(), "", "the summary is off");
}

#[test]
fn baseline_and_config_inputs_accept_findings() {
    let mut runner = Runner::new();
    runner.add("fixtures/examples/training-pipeline.yaml", "pipelines/training.yaml");
    // Accept every current finding in a baseline, and turn one rule off in a config.
    let status = Command::new(env!("CARGO_BIN_EXE_kfpguard"))
        .args(["--no-config", "--write-baseline", "kfpguard-baseline.json", "pipelines"])
        .current_dir(runner.workspace())
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(runner.workspace().join("ci.kfpguard.yaml"), "rules:\n  missing-cpu-limit: false\n").unwrap();
    runner.input("baseline", "kfpguard-baseline.json").input("config", "ci.kfpguard.yaml");
    let runs = runner.run();
    assert!(runs.iter().all(|run| run.code == 0), "{runs:#?}");
    assert_eq!(runner.output("lint", "findings"), Some("0"));
    let call = &runner.calls()[0];
    assert!(call.contains("--baseline kfpguard-baseline.json") && call.contains("--config ci.kfpguard.yaml"), "{call}");
}

#[test]
fn unparsable_input_still_uploads_then_fails() {
    let mut runner = Runner::new();
    std::fs::create_dir_all(runner.workspace().join("pipelines")).unwrap();
    std::fs::write(runner.workspace().join("pipelines/broken.yaml"), "a: [1, 2\nb: }\n").unwrap();
    let runs = runner.run();
    let lint = find(&runs, "lint");
    assert_eq!(lint.code, 0, "the SARIF must still be uploaded: {runs:#?}");
    assert!(lint.stderr.contains("pipelines/broken.yaml"), "kfpguard names the file: {}", lint.stderr);
    assert!(runner.workspace().join("kfpguard.sarif").is_file());
    assert_eq!(runner.output("lint", "exit-code"), Some("2"));
    assert_eq!(find(&runs, "fail").code, 2, "{runs:#?}");
}
