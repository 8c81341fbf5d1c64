//! Rendered output: snapshots of every format over a few fixtures (paths relative, the
//! SARIF root and the tool version replaced by placeholders), and the official SARIF
//! validator over the SARIF for all fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use std::path::Path;
use std::process::Command;

use kfpguard::lint::{LintOptions, lint_file};
use kfpguard::policy::Policy;
use kfpguard::render::{self, Renderer};
use kfpguard::report::{FileResult, Report};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn results_of(relative_paths: &[&str]) -> Vec<FileResult> {
    relative_paths
        .iter()
        .map(|relative| lint_file(&Path::new(ROOT).join(relative), relative, true, &LintOptions::default(), &|_| true))
        .collect()
}

/// `renderer`'s output for a few fixtures.
fn sample(renderer: &mut dyn Renderer) -> String {
    let results = results_of(&[
        "fixtures/rules/secret-in-env/kfp-v2-vulnerable.yaml",
        "fixtures/rules/privileged-container/k8s-vulnerable.yaml",
        "fixtures/rules/run-as-root/kfp-v2-vulnerable.yaml",
    ]);
    render::to_string(renderer, results, &Policy::defaults()).0
}

fn stable(text: String) -> String {
    text.replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
}

#[test]
fn pretty_output() {
    let style = render::pretty::Style { color: false, width: 100, verbose: true, quiet: false };
    insta::assert_snapshot!(stable(sample(&mut render::pretty::Pretty::new(style))));
}

#[test]
fn only_the_terminal_output_reads_snippets() {
    let paths =
        ["fixtures/rules/secret-in-env/kfp-v2-vulnerable.yaml", "fixtures/rules/run-as-root/kfp-v2-vulnerable.yaml"];
    let without_snippets = || -> Vec<FileResult> {
        let options = LintOptions { snippets: false, ..LintOptions::default() };
        paths
            .iter()
            .map(|relative| lint_file(&Path::new(ROOT).join(relative), relative, true, &options, &|_| true))
            .collect()
    };
    let render_both =
        |renderer: &mut dyn Renderer, results| render::to_string(renderer, results, &Policy::defaults()).0;
    // The CLI cuts snippets only for `pretty`: every other format must not depend on them.
    let with: Vec<FileResult> = results_of(&paths);
    assert!(with.iter().flat_map(|r| &r.findings).all(|f| f.snippet.is_some()));
    assert!(without_snippets().iter().flat_map(|r| &r.findings).all(|f| f.snippet.is_none()));
    let renderers: [fn() -> Box<dyn Renderer>; 4] = [
        || Box::new(render::json::Json::new()),
        || Box::new(render::sarif::Sarif::new(Path::new("/ROOT"))),
        || Box::new(render::github::Github::new()),
        || Box::new(render::markdown::Markdown::new(None)),
    ];
    for renderer in renderers {
        assert_eq!(
            render_both(renderer().as_mut(), results_of(&paths)),
            render_both(renderer().as_mut(), without_snippets())
        );
    }
    // Without snippets the terminal output still names every finding and where it is.
    let style = render::pretty::Style { color: false, width: 100, verbose: true, quiet: false };
    let pretty = render_both(&mut render::pretty::Pretty::new(style), without_snippets());
    for finding in with.iter().flat_map(|r| &r.findings) {
        assert!(pretty.contains(&finding.finding.message), "{pretty}");
    }
}

#[test]
fn json_output() {
    insta::assert_snapshot!(stable(sample(&mut render::json::Json::new())));
}

#[test]
fn sarif_output() {
    insta::assert_snapshot!(stable(sample(&mut render::sarif::Sarif::new(Path::new("/ROOT")))));
}

#[test]
fn sarif_passes_the_official_validator() {
    let required = std::env::var_os("KFPGUARD_REQUIRE_SARIF_VALIDATOR").is_some();
    if Command::new("npm").arg("--version").output().map(|o| !o.status.success()).unwrap_or(true) {
        assert!(!required, "npm is required for the SARIF validator");
        eprintln!("SKIPPED: npm not found, cannot install the SARIF multitool");
        return;
    }
    let mut paths = Vec::new();
    let mut stack = vec![Path::new(ROOT).join("fixtures")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "json")) {
                paths.push(path.strip_prefix(ROOT).unwrap().to_string_lossy().to_string());
            }
        }
    }
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let (text, report): (String, Report) =
        render::to_string(&mut render::sarif::Sarif::new(Path::new(ROOT)), results_of(&refs), &Policy::defaults());
    assert!(report.counts.total() > 0);
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("fixtures.sarif");
    std::fs::write(&sarif, text).unwrap();
    let output =
        Command::new("bash").arg(Path::new(ROOT).join("scripts/validate-sarif.sh")).arg(&sarif).output().unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if output.status.code() == Some(2) && !required {
        eprintln!("SKIPPED: the SARIF validator could not be installed or run:\n{log}");
        return;
    }
    assert!(output.status.success(), "SARIF validation failed:\n{log}");
}
