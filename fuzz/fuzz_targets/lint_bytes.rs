//! Any bytes as a file: read -> parse -> recognise -> every rule -> report -> every renderer.
//!
//! Goes through the real `lint::lint_file` (its size, UTF-16 and UTF-8 checks included) on a
//! file in a private temporary directory; libfuzzer's panic hook aborts even inside
//! `lint_file`'s `catch_unwind`, so a panic in any adapter or rule is a crash here. Also checks
//! what renderers rely on: spans inside the file, snippet spans inside the snippet, and JSON
//! and SARIF that parse back.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use kfpguard::lint::{LintOptions, lint_file};
use kfpguard::policy::Policy;
use kfpguard::render;
use kfpguard::report::FileOutcome;
use libfuzzer_sys::fuzz_target;

/// One file per fuzzing process, rewritten for each input (on tmpfs when there is one).
fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let base =
            if std::path::Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
        let dir = base.join(format!("kfpguard-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("cannot create the scratch directory");
        dir.join("input.yaml")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch();
    std::fs::write(path, data).expect("cannot write the scratch file");
    let options = LintOptions::default();
    let result = lint_file(path, "input.yaml", true, &options, &|_| true);
    if let FileOutcome::Failed { error } = &result.outcome {
        assert_ne!(error.code, "kfpguard::internal", "internal error: {}", error.message);
    }
    let text = std::str::from_utf8(data).unwrap_or("");
    for reported in &result.findings {
        let span = &reported.finding.span;
        assert!(span.start <= span.end && span.end <= text.len(), "finding span {span:?} outside the file");
        assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end), "span {span:?} splits a char");
        // `LintOptions::default()` asks for snippets: every finding has one.
        let snippet = reported.snippet.as_ref().expect("a finding without a snippet");
        assert!(
            snippet.span.start <= snippet.span.end && snippet.text.get(snippet.span.clone()).is_some(),
            "snippet span {:?} outside its {}-byte text",
            snippet.span,
            snippet.text.len()
        );
    }
    let policy = Policy::defaults();
    for color in [false, true] {
        let style = render::pretty::Style { color, width: 100, verbose: true, quiet: false };
        let _ = render::to_string(&mut render::pretty::Pretty::new(style), vec![result.clone()], &policy);
    }
    let (json, _) = render::to_string(&mut render::json::Json::new(), vec![result.clone()], &policy);
    serde_json::from_str::<serde_json::Value>(&json).expect("JSON output does not parse");
    let (sarif, _) =
        render::to_string(&mut render::sarif::Sarif::new(std::path::Path::new("/src")), vec![result], &policy);
    serde_json::from_str::<serde_json::Value>(&sarif).expect("SARIF output does not parse");
});
