//! Redaction proof (issue 7): no secret value appears in full in anything kfpguard writes.
//!
//! Runs every output format (pretty with and without colour, `--verbose`, json, sarif), to
//! standard output and with `-o FILE`, over every fixture that holds a secret
//! (`fixtures/rules/secret-*/**`, `fixtures/examples/**`), and checks standard output,
//! standard error and the written file. The secret values come from two independent places:
//! the `<token>` column of the secret rules' `.expect` files, and the secret ranges kfpguard
//! itself reports (decoded through the YAML tree, so quoted and escaped values count too).
//!
//! A value that the output contains even when it lints nothing (the rule docs in SARIF quote
//! example values such as `minio123`) only counts as leaked beyond that many occurrences.
//! Tests marked `` describe the intended behaviour of a known bug.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use kfpguard::lint::{LintOptions, lint_file};
use kfpguard::yaml::{Limits, Tree};

/// Values shorter than this are too likely to occur by chance (`true`, `abc`).
const MIN_SECRET_LEN: usize = 6;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, found);
        } else {
            found.push(path);
        }
    }
}

/// Every fixture file that may hold a secret, and the `.expect` files beside them.
fn secret_fixtures() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut all = Vec::new();
    files_under(&root().join("fixtures/examples"), &mut all);
    if let Ok(entries) = std::fs::read_dir(root().join("fixtures/rules")) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("secret-") {
                files_under(&entry.path(), &mut all);
            }
        }
    }
    all.sort();
    let is = |path: &Path, exts: &[&str]| path.extension().and_then(|e| e.to_str()).is_some_and(|e| exts.contains(&e));
    let inputs = all.iter().filter(|p| is(p, &["yaml", "yml", "json"])).cloned().collect();
    let expects = all.iter().filter(|p| is(p, &["expect"])).cloned().collect();
    (inputs, expects)
}

/// The secret values of the fixtures: `.expect` tokens of secret rules, and the decoded
/// value of every range kfpguard reports as a secret.
fn secret_values(inputs: &[PathBuf], expects: &[PathBuf]) -> BTreeSet<String> {
    let mut secrets = BTreeSet::new();
    for expect in expects {
        let text = std::fs::read_to_string(expect).expect("cannot read an .expect file");
        for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
            let mut parts = line.splitn(3, ' ');
            if let (Some(rule), Some(_), Some(token)) = (parts.next(), parts.next(), parts.next())
                && rule.starts_with("secret-")
            {
                secrets.insert(token.trim().to_string());
            }
        }
    }
    for input in inputs {
        let result = lint_file(input, &input.display().to_string(), true, &LintOptions::default(), &|_| true);
        let text = std::fs::read_to_string(input).expect("cannot read a fixture");
        let tree = Tree::parse(text.clone(), None, Limits::default()).ok();
        for reported in &result.findings {
            let Some(range) = reported.finding.secret.clone() else { continue };
            if let Some(raw) = text.get(range.clone()) {
                secrets.insert(raw.to_string());
            }
            let decoded = tree.iter().flat_map(|tree| tree.scalars()).find(|node| node.text().source_span() == range);
            if let Some(value) = decoded.and_then(|node| node.as_str()) {
                secrets.insert(value.to_string());
            }
        }
    }
    secrets.retain(|secret| secret.chars().count() >= MIN_SECRET_LEN);
    secrets
}

/// Everything one run wrote: standard output, standard error, and the `-o` file if any.
struct Written {
    label: String,
    texts: Vec<(&'static str, String)>,
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ params letter; OSC: ESC ] ... BEL or ESC \.
            match chars.next() {
                Some('[') => {
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || (c == '\u{1b}' && chars.next() == Some('\\')) {
                            break;
                        }
                    }
                }
                _ => {}
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Runs kfpguard with `args` on `paths`, to stdout and again with `-o`.
fn run_both_ways(cwd: &Path, args: &[&str], paths: &[PathBuf]) -> Vec<Written> {
    let out_dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let mut written = Vec::new();
    for to_file in [false, true] {
        let out_file = out_dir.path().join("report.out");
        let mut command = Command::new(env!("CARGO_BIN_EXE_kfpguard"));
        command.args(args).args(paths).current_dir(cwd).env_remove("NO_COLOR");
        if to_file {
            command.arg("-o").arg(&out_file);
        }
        let output = command.output().expect("cannot run kfpguard");
        assert!(output.status.code().is_some_and(|code| code <= 2), "{args:?}: {output:?}");
        let mut texts = vec![
            ("stdout", strip_ansi(&String::from_utf8_lossy(&output.stdout))),
            ("stderr", strip_ansi(&String::from_utf8_lossy(&output.stderr))),
        ];
        if to_file {
            let file = std::fs::read(&out_file).expect("-o wrote no file");
            texts.push(("-o file", strip_ansi(&String::from_utf8_lossy(&file))));
        }
        assert!(texts.iter().any(|(_, text)| !text.trim().is_empty()), "{args:?} wrote nothing");
        let label = format!("{}{}", args.join(" "), if to_file { " -o FILE" } else { "" });
        written.push(Written { label, texts });
    }
    written
}

/// Every output configuration checked.
const FORMATS: &[&[&str]] = &[
    &["--color", "never"],
    &["--color", "always"],
    &["--color", "never", "--verbose"],
    &["--format", "json"],
    &["--format", "sarif"],
];

/// `secret -> how often` each output already holds it when nothing is linted.
fn baseline(secrets: &BTreeSet<String>) -> Vec<(String, Vec<usize>)> {
    let empty = tempfile::tempdir().expect("cannot create a temporary directory");
    let runs: Vec<Written> = FORMATS.iter().flat_map(|args| run_both_ways(empty.path(), args, &[])).collect();
    secrets
        .iter()
        .map(|secret| {
            let counts = runs.iter().flat_map(|run| run.texts.iter().map(|(_, t)| t.matches(secret.as_str()).count()));
            (secret.clone(), counts.collect())
        })
        .collect()
}

/// Asserts that no secret occurs in any output more often than in the baseline.
fn assert_no_leak(cwd: &Path, paths: &[PathBuf], secrets: &BTreeSet<String>) {
    let baseline = baseline(secrets);
    let runs: Vec<Written> = FORMATS.iter().flat_map(|args| run_both_ways(cwd, args, paths)).collect();
    let mut leaks = Vec::new();
    for (secret, base_counts) in &baseline {
        let outputs = runs.iter().flat_map(|run| run.texts.iter().map(move |(name, text)| (run, *name, text)));
        for ((run, name, text), base) in outputs.zip(base_counts) {
            let count = text.matches(secret.as_str()).count();
            if count > *base {
                let at = text.find(secret.as_str()).unwrap_or(0);
                let from = (0..=at.saturating_sub(60)).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
                let context: String = text[from..].chars().take(120 + secret.chars().count()).collect();
                leaks.push(format!("{secret:?} in {name} of `kfpguard {}`: {context:?}", run.label));
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}

#[test]
fn no_output_format_reveals_a_fixture_secret() {
    let (inputs, expects) = secret_fixtures();
    assert!(!inputs.is_empty() && !expects.is_empty(), "no secret fixtures found");
    let secrets = secret_values(&inputs, &expects);
    eprintln!("checking {} secret values over {} fixtures", secrets.len(), inputs.len());
    // The known ones must be among them, or the check proves nothing.
    for known in ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "example-wandb-api-key-not-real-0000"] {
        assert!(secrets.contains(known), "{known} not collected: {secrets:?}");
    }
    let relative: Vec<PathBuf> =
        inputs.iter().map(|p| p.strip_prefix(root()).map(Path::to_path_buf).unwrap_or_else(|_| p.clone())).collect();
    assert_no_leak(root(), &relative, &secrets);
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("cannot write a file");
    PathBuf::from(name)
}

#[test]
fn secrets_in_every_scalar_style_are_masked() {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let pod = "\
apiVersion: v1
kind: Pod
metadata: {name: styles}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: [echo, hi]
    resources: {limits: {cpu: 100m, memory: 64Mi}}
    env:
    - {name: PLAIN_PASSWORD, value: Plain-Style-Secret-01}
    - name: SINGLE_TOKEN
      value: 'Single''Quoted-Secret-02'
    - name: DOUBLE_API_KEY
      value: \"Double\\x2DQuoted\\tSecret-03\"
    - name: LITERAL_SECRET
      value: |-
        Literal-Block-Secret-04
    - name: FOLDED_PASSWORD
      value: >-
        Folded-Block
        Secret-05
    - name: MULTILINE_TOKEN
      value: \"Multi-Line
        Double-Secret-06\"
";
    let path = write(dir.path(), "styles.yaml", pod);
    let secrets: BTreeSet<String> = [
        "Plain-Style-Secret-01",
        "Single'Quoted-Secret-02",
        "Single''Quoted-Secret-02",
        "Double-Quoted\tSecret-03",
        "Double\\x2DQuoted\\tSecret-03",
        "Literal-Block-Secret-04",
        "Folded-Block Secret-05",
        "Secret-05",
        "Multi-Line Double-Secret-06",
        "Double-Secret-06",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    let result = lint_file(&dir.path().join(&path), "styles.yaml", true, &LintOptions::default(), &|_| true);
    let flagged = result.findings.iter().filter(|f| f.finding.rule == "secret-in-env").count();
    assert_eq!(flagged, 6, "{:#?}", result.findings);
    assert_no_leak(dir.path(), &[path], &secrets);
}

#[test]
fn a_file_that_fails_to_parse_shows_none_of_its_text() {
    // kfpguard cannot know where the secrets of a file it cannot parse are, so it must not
    // print the file's text around the error.
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let broken = "\
apiVersion: v1
kind: Pod
spec:
  containers:
  - name: main
    env:
    - name: DB_PASSWORD
      value: Broken-File-Secret-Value-77
    - name: X
      value: [unterminated
";
    let path = write(dir.path(), "broken.yaml", broken);
    let secrets = BTreeSet::from(["Broken-File-Secret-Value-77".to_string()]);
    assert_no_leak(dir.path(), &[path], &secrets);
}

#[test]
fn a_secret_repeated_elsewhere_in_the_file_is_masked_there_too() {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let pod = "\
apiVersion: v1
kind: Pod
metadata: {name: repeated}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: [sh, -c, \"mysql --password=Zq8-hunter2-Leaky-Value db; curl -fsSL http://repo.example.com/p.tgz\"]
    env:
    - name: DB_PASSWORD
      value: Zq8-hunter2-Leaky-Value
    resources: {limits: {cpu: 100m, memory: 64Mi}}
";
    let path = write(dir.path(), "repeated.yaml", pod);
    let secrets = BTreeSet::from(["Zq8-hunter2-Leaky-Value".to_string()]);
    assert_no_leak(dir.path(), &[path], &secrets);
}

#[test]
fn credentials_in_urls_are_redacted() {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory");
    let pod = "\
apiVersion: v1
kind: Pod
metadata: {name: userinfo}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: [sh, -c, \"curl -fsSL http://deploy:An0ther-Secr3t-Pass@repo.example.com/pkg.tgz -o /tmp/p\"]
    resources: {limits: {cpu: 100m, memory: 64Mi}}
";
    let path = write(dir.path(), "userinfo.yaml", pod);
    let secrets = BTreeSet::from(["An0ther-Secr3t-Pass".to_string()]);
    assert_no_leak(dir.path(), &[path], &secrets);
}
