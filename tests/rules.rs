//! Rule fixtures: every `fixtures/rules/<rule-id>/*` file is linted and its findings of
//! that rule (plus any named in `# also:`) must match the expectations exactly: no
//! missing and no unexpected finding.
//!
//! Expectations come from a sidecar `<name>.expect` (`<rule-id> <line>:<column> <token>`,
//! where `<token>` must be the text at that position; used for compiled files, whose
//! comments a recompile would drop) or from `# expect: <rule-id>` comments in hand-written
//! files, which mark the next non-comment line. Files named `*clean*` expect nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kfpguard::lint::{LintOptions, lint_file};
use kfpguard::report::FileOutcome;
use kfpguard::rules;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules")
}

fn fixture_files(rule_dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(rule_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
        .collect();
    files.sort();
    files
}

/// (rule, line, column or 0 for "any column").
type Expected = BTreeSet<(String, usize, usize)>;

struct Expectations {
    expected: Expected,
    scope: BTreeSet<String>,
    /// (line, column, token) the file must contain.
    tokens: Vec<(usize, usize, String)>,
}

fn expectations(file: &Path, rule: &str) -> Expectations {
    let mut result =
        Expectations { expected: Expected::new(), scope: BTreeSet::from([rule.to_string()]), tokens: Vec::new() };
    let sidecar = file.with_extension("expect");
    let text = std::fs::read_to_string(file).unwrap();
    if let Ok(expect) = std::fs::read_to_string(&sidecar) {
        for line in expect.lines().map(str::trim) {
            if let Some(also) = line.strip_prefix("# also:") {
                result.scope.extend(also.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()));
                continue;
            }
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.splitn(3, ' ');
            let (Some(id), Some(position), token) = (parts.next(), parts.next(), parts.next()) else {
                panic!("{}: bad expectation line: {line}", sidecar.display());
            };
            let (l, c) =
                position.split_once(':').unwrap_or_else(|| panic!("{}: bad position in: {line}", sidecar.display()));
            let (l, c): (usize, usize) = (l.parse().unwrap(), c.parse().unwrap());
            result.expected.insert((id.to_string(), l, c));
            if let Some(token) = token {
                result.tokens.push((l, c, token.to_string()));
            }
        }
        return result;
    }
    let lines: Vec<&str> = text.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        let Some(ids) = line.trim_start().strip_prefix("# expect:") else { continue };
        let target = (index + 1..lines.len())
            .find(|&i| !lines[i].trim_start().starts_with('#'))
            .expect("expect comment at end of file");
        for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            result.scope.insert(id.to_string());
            result.expected.insert((id.to_string(), target + 1, 0));
        }
    }
    result
}

#[test]
fn rule_fixtures_match_their_expectations() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let rule_dir = entry.unwrap().path();
        let rule = rule_dir.file_name().unwrap().to_str().unwrap().to_string();
        for file in fixture_files(&rule_dir) {
            checked += 1;
            let name = file.display().to_string();
            let expectations = expectations(&file, &rule);
            let is_vulnerable = name.contains("vulnerable");
            if is_vulnerable && expectations.expected.is_empty() {
                failures.push(format!("{name}: vulnerable fixture without expectations"));
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for (line, column, token) in &expectations.tokens {
                let actual: String = text.lines().nth(line - 1).unwrap_or("").chars().skip(column - 1).collect();
                if !actual.starts_with(token.as_str()) {
                    failures.push(format!(
                        "{name}:{line}:{column}: expected token `{token}`, file has `{}`",
                        actual.chars().take(40).collect::<String>()
                    ));
                }
            }
            let result = lint_file(&file, &name, true, &LintOptions::default(), &|_| true);
            if !matches!(result.outcome, FileOutcome::Linted { .. }) {
                failures.push(format!("{name}: not linted: {:?}", result.outcome));
                continue;
            }
            let column_free: BTreeSet<(String, usize)> =
                expectations.expected.iter().filter(|e| e.2 == 0).map(|e| (e.0.clone(), e.1)).collect();
            let mut actual = Expected::new();
            for reported in result.findings.iter().filter(|f| expectations.scope.contains(f.finding.rule)) {
                let (line, column) = (reported.region.start.line, reported.region.start.column);
                let key = if column_free.contains(&(reported.finding.rule.to_string(), line)) { 0 } else { column };
                actual.insert((reported.finding.rule.to_string(), line, key));
            }
            for missing in expectations.expected.difference(&actual) {
                failures.push(format!("{name}:{}:{}: missing {}", missing.1, missing.2, missing.0));
            }
            for unexpected in actual.difference(&expectations.expected) {
                let message = result
                    .findings
                    .iter()
                    .find(|f| f.finding.rule == unexpected.0 && f.region.start.line == unexpected.1)
                    .map(|f| f.finding.message.clone())
                    .unwrap_or_default();
                failures
                    .push(format!("{name}:{}:{}: unexpected {}: {message}", unexpected.1, unexpected.2, unexpected.0));
            }
        }
    }
    assert!(checked > 0, "no rule fixtures found");
    assert!(failures.is_empty(), "{} fixture mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_rule_has_docs_and_vulnerable_and_clean_fixtures() {
    let mut problems = Vec::new();
    let mut ids = BTreeSet::new();
    for rule in rules::all() {
        let meta = &rule.meta;
        if !ids.insert(meta.id) {
            problems.push(format!("duplicate rule id {}", meta.id));
        }
        let kebab = meta.id.chars().all(|c| c.is_ascii_lowercase() || c == '-');
        if !kebab {
            problems.push(format!("{}: id is not kebab-case", meta.id));
        }
        for (section, text) in [
            ("what", meta.docs.what),
            ("why", meta.docs.why),
            ("example", meta.docs.example),
            ("fix", meta.docs.fix),
            ("help", meta.help),
            ("summary", meta.summary),
        ] {
            if text.trim().len() < 10 {
                problems.push(format!("{}: docs section `{section}` is missing", meta.id));
            }
        }
        if !meta.docs.fix.contains("KFP") && !meta.docs.fix.contains("All DSLs") {
            problems.push(format!("{}: fix does not say how to fix it in the KFP DSL", meta.id));
        }
        let dir = fixtures_dir().join(meta.id);
        let files: Vec<String> = if dir.is_dir() {
            fixture_files(&dir).iter().map(|p| p.display().to_string()).collect()
        } else {
            Vec::new()
        };
        if !files.iter().any(|f| f.contains("vulnerable")) {
            problems.push(format!("{}: no vulnerable fixture in {}", meta.id, dir.display()));
        }
        if !files.iter().any(|f| f.contains("clean")) {
            problems.push(format!("{}: no clean fixture in {}", meta.id, dir.display()));
        }
    }
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if rules::find(&name).is_none() {
            problems.push(format!("fixtures/rules/{name} belongs to no rule"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn declarative_rule_files_parse_and_are_named_after_their_ids() {
    let mut checked = 0;
    for dir in ["rules", "examples/rule-pack"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
            let text = std::fs::read_to_string(&path).unwrap();
            let rule = kfpguard::rules::pattern::parse(&path.display().to_string(), &stem, &text)
                .unwrap_or_else(|error| panic!("{}: {}", path.display(), error.message));
            assert_eq!(rule.meta.id, stem);
            checked += 1;
        }
    }
    assert!(checked >= 3);
    for stem in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).unwrap() {
        let stem = stem.unwrap().path().file_stem().unwrap().to_str().unwrap().to_string();
        assert!(rules::find(&stem).is_some(), "rules/{stem}.yaml is not in the catalogue");
    }
}
