//! Per-stage timing of a lint, single-threaded, for `bench/run.sh`.
//!
//! Runs the same steps as `kfpguard::lint::lint_file` and the CLI, one file after the
//! other, with a clock around each stage, then assembles the report and renders it as JSON
//! and SARIF. Not a product feature: the CLI has no timing flags.
//!
//! ```text
//! cargo run --release --example stages -- [--repeat N] PATH...
//! ```
//!
//! Prints a table (stage, total ms, share, MB/s) to standard output.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kfpguard::discover::{Found, Input, discover};
use kfpguard::finding::Finding;
use kfpguard::formats::{self, Embedded};
use kfpguard::lint::LintOptions;
use kfpguard::policy::Policy;
use kfpguard::render::Renderer;
use kfpguard::render::json::Json;
use kfpguard::render::sarif::Sarif;
use kfpguard::report::{FileOutcome, FileResult, PipelineInfo, Report, ReportBuilder, ReportedFinding};
use kfpguard::rules::{self, Emitter};
use kfpguard::source::SourceFile;
use kfpguard::yaml::Tree;

// The CLI's allocator, so that the stages add up to what the CLI spends.
kfpguard::use_kfpguard_allocator!();

const USAGE: &str = "usage: stages [--repeat N] PATH...";

/// The stages, in pipeline order.
const STAGES: [&str; 8] = [
    "read",
    "parse (Tree::parse)",
    "normalize (recognize)",
    "rules (Emitter::run_all)",
    "place (regions, snippets)",
    "report (policy, totals)",
    "render json",
    "render sarif",
];

#[derive(Default)]
struct Clock {
    spent: [Duration; STAGES.len()],
}

impl Clock {
    /// Runs `work` and adds its duration to `stage`.
    fn time<T>(&mut self, stage: usize, work: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let value = work();
        if let Some(spent) = self.spent.get_mut(stage) {
            *spent += started.elapsed();
        }
        value
    }
}

fn enabled(id: &str) -> bool {
    rules::find(id).is_some_and(|rule| rule.meta.enabled_by_default)
}

fn read(path: &Path, display: &str, max_size: u64) -> Result<SourceFile, String> {
    let metadata = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if metadata.len() > max_size {
        return Err(format!("over {max_size} bytes"));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|e| format!("not UTF-8 at byte {}", e.utf8_error().valid_up_to()))?;
    Ok(SourceFile::new(path.to_path_buf(), display.to_string(), text))
}

/// `lint::lint_file` split into timed stages (no panic guard: a panic here is a bug to see).
fn lint(path: &Path, display: &str, options: &LintOptions, clock: &mut Clock) -> FileResult {
    let mut result = FileResult {
        path: display.to_string(),
        explicit: false,
        outcome: FileOutcome::Skipped { reason: String::new() },
        pipelines: Vec::new(),
        findings: Vec::new(),
    };
    let fail = |message: String| FileOutcome::Failed {
        error: Box::new(kfpguard::report::FileErrorInfo { code: "bench".into(), message, region: None, snippet: None }),
    };
    let file = match clock.time(0, || read(path, display, options.max_file_size)) {
        Ok(file) => file,
        Err(message) => {
            result.outcome = fail(message);
            return result;
        }
    };
    let tree = match clock.time(1, || Tree::parse(Arc::clone(&file.text), None, options.limits)) {
        Ok(tree) => tree,
        Err(error) => {
            result.outcome = fail(error.to_string());
            return result;
        }
    };
    let stem = Path::new(display).file_stem().and_then(|s| s.to_str()).unwrap_or("pipeline");
    let embedded = Embedded::new(options.limits, file.text.len());
    let recognized = clock.time(2, || formats::recognize(&tree, &embedded, stem));
    if recognized.pipelines.is_empty() {
        result.outcome = FileOutcome::Skipped { reason: "no pipeline".to_string() };
        return result;
    }
    let findings = clock.time(3, || {
        let mut findings: Vec<Finding> = Vec::new();
        for (pipeline, sources) in recognized.pipelines.iter().zip(&recognized.sources) {
            let mut emitter =
                Emitter::new(display, &pipeline.name, &enabled).with_settings(&options.settings).with_sources(sources);
            emitter.run_all(pipeline);
            findings.extend(emitter.into_findings());
            result.pipelines.push(PipelineInfo {
                path: display.to_string(),
                name: pipeline.name.clone(),
                format: pipeline.format.label().into(),
                containers: pipeline.containers.len(),
            });
        }
        findings
    });
    result.findings = clock.time(4, || kfpguard::lint::place(&file, findings, true));
    result.outcome = FileOutcome::Linted { documents: recognized.documents };
    result
}

/// Renders per-file findings as the CLI does, into memory; returns the size in bytes.
fn render_into(renderer: &mut dyn Renderer, batches: &[Vec<ReportedFinding>], report: &Report) -> usize {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = kfpguard::render::write_all(renderer, &mut out, batches, report);
    out.len()
}

/// What the self-check compares: finding count and a digest of every placed snippet.
fn fingerprint_of(results: &[FileResult]) -> (usize, u64) {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut count = 0;
    for reported in results.iter().flat_map(|r| &r.findings) {
        count += 1;
        (&reported.path, reported.region, reported.snippet.as_ref().map(|s| &s.text), &reported.finding.fingerprint)
            .hash(&mut hasher);
    }
    (count, hasher.finish())
}

fn parse_args() -> Result<(usize, Vec<PathBuf>), String> {
    let mut repeat = 1;
    let mut paths = Vec::new();
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--repeat") => {
                repeat = args
                    .next()
                    .and_then(|v| v.to_str().and_then(|v| v.parse().ok()))
                    .filter(|&n: &usize| n > 0)
                    .ok_or("--repeat needs a positive number")?;
            }
            Some("-h" | "--help") => return Err(String::new()),
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    if paths.is_empty() {
        return Err("no path given".to_string());
    }
    Ok((repeat, paths))
}

fn main() -> ExitCode {
    let (repeat, paths) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("stages: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let inputs: Vec<Input> = discover(&paths)
        .filter_map(|found| match found {
            Found::File(input) => Some(input),
            Found::Unwalkable(_) => None,
        })
        .collect();
    let bytes: u64 = inputs.iter().filter_map(|input| std::fs::metadata(&input.path).ok()).map(|m| m.len()).sum();
    let options = LintOptions::default();
    let root = std::env::current_dir().unwrap_or_default();
    let mut clock = Clock::default();
    let mut summary = (0, 0, 0);
    let mut staged = (0, 0);
    for _ in 0..repeat {
        let results: Vec<FileResult> =
            inputs.iter().map(|input| lint(&input.path, &input.display, &options, &mut clock)).collect();
        staged = fingerprint_of(&results);
        let (batches, report) = clock.time(5, || {
            let policy = Policy::defaults();
            let mut builder = ReportBuilder::new(&policy);
            let batches: Vec<Vec<ReportedFinding>> = results.into_iter().map(|result| builder.add(result)).collect();
            (batches, builder.finish())
        });
        let json = clock.time(6, || render_into(&mut Json::new(), &batches, &report));
        let sarif = clock.time(7, || render_into(&mut Sarif::new(&root), &batches, &report));
        summary = (report.counts.total(), json, sarif);
    }
    // This file re-implements `lint::lint_file` to time its stages: check it still agrees
    // (same findings, same snippets), and time the real thing for comparison.
    let started = Instant::now();
    let whole: Vec<FileResult> = inputs
        .iter()
        .map(|input| kfpguard::lint::lint_file(&input.path, &input.display, false, &options, &enabled))
        .collect();
    let whole_ms = started.elapsed().as_secs_f64() * 1e3;
    if fingerprint_of(&whole) != staged {
        println!("WARNING: the stages disagree with lint_file: examples/stages.rs is out of date with src/lint.rs");
    }
    let total: Duration = clock.spent.iter().sum();
    let megabytes = bytes as f64 * repeat as f64 / 1e6;
    println!(
        "{} files, {:.1} MB, {} findings (json {:.1} MB, sarif {:.1} MB), {repeat} pass(es), 1 thread",
        inputs.len(),
        bytes as f64 / 1e6,
        summary.0,
        summary.1 as f64 / 1e6,
        summary.2 as f64 / 1e6
    );
    println!("{:<28} {:>10} {:>7} {:>10}", "stage", "ms/pass", "share", "MB/s");
    for (name, spent) in STAGES.iter().zip(clock.spent) {
        let seconds = spent.as_secs_f64();
        let share = 100.0 * seconds / total.as_secs_f64().max(1e-9);
        let rate = if seconds > 0.0 { format!("{:.1}", megabytes / seconds) } else { "-".to_string() };
        println!("{name:<28} {:>10.1} {share:>6.1}% {rate:>10}", seconds * 1e3 / repeat as f64);
    }
    println!(
        "{:<28} {:>10.1} {:>6.1}% {:>10.1}",
        "total",
        total.as_secs_f64() * 1e3 / repeat as f64,
        100.0,
        megabytes / total.as_secs_f64().max(1e-9)
    );
    println!(
        "{:<28} {whole_ms:>10.1}  (lint_file on the same files, 1 pass: compare with read..place)",
        "check: lint_file"
    );
    ExitCode::SUCCESS
}
