//! In-process timing of each lint stage on the fixture files, and of rendering a large
//! report.
//!
//! ```text
//! cargo bench --bench pipeline                 # everything
//! cargo bench --bench pipeline -- render_10k   # only the 10,000-finding rendering
//! ```
//!
//! Groups:
//! * `stages/*`: one pass over every fixture (`fixtures/**/*.{yaml,yml,json}`) per stage:
//!   read, parse (`Tree::parse`), normalize (`formats::recognize`), rules
//!   (`Emitter::run_all`), place (secret masks, regions and snippets), and `lint_file` end
//!   to end (the sum of the stages should be close to it; if not, this file is out of date
//!   with `src/lint.rs`).
//! * `render_fixtures/*`: the report of all fixtures, as JSON and SARIF.
//! * `render_10k/*`: a report of 10,000 findings (real fixture findings, copied under new
//!   paths) as JSON and SARIF, fed file by file as the CLI does, into memory. Target:
//!   < 50 ms each (docs/performance.md). `report_builder`: the policy and totals over them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kfpguard::finding::{Finding, fingerprint};
use kfpguard::formats::{self, Embedded};
use kfpguard::lint::{LintOptions, lint_file};
use kfpguard::policy::Policy;
use kfpguard::render::Renderer;
use kfpguard::render::json::Json;
use kfpguard::render::sarif::Sarif;
use kfpguard::report::{FileResult, Report, ReportBuilder, ReportedFinding, snippet};
use kfpguard::rules::{self, Emitter};
use kfpguard::source::SourceFile;
use kfpguard::yaml::Tree;

/// Findings in the synthetic report.
const SYNTHETIC_FINDINGS: usize = 10_000;

fn enabled(id: &str) -> bool {
    rules::find(id).is_some_and(|rule| rule.meta.enabled_by_default)
}

/// Every fixture file, sorted; unreadable ones are skipped with a note.
fn fixture_paths() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"), &mut paths);
    paths.sort();
    paths
}

/// A fixture read into memory, with the path shown in reports.
struct Fixture {
    path: PathBuf,
    display: String,
    stem: String,
    file: SourceFile,
}

fn load_fixtures() -> Vec<Fixture> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    fixture_paths()
        .into_iter()
        .filter_map(|path| {
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(error) => {
                    eprintln!("skipping {}: {error}", path.display());
                    return None;
                }
            };
            let display = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("pipeline").to_string();
            let file = SourceFile::new(path.clone(), display.clone(), text);
            Some(Fixture { path, display, stem, file })
        })
        .collect()
}

fn parse_all(fixtures: &[Fixture], options: &LintOptions) -> Vec<Option<Tree>> {
    fixtures.iter().map(|f| Tree::parse(Arc::clone(&f.file.text), None, options.limits).ok()).collect()
}

fn stages(c: &mut Criterion) {
    let fixtures = load_fixtures();
    if fixtures.is_empty() {
        eprintln!("no fixtures found: skipping the stage benchmarks");
        return;
    }
    let options = LintOptions::default();
    let bytes: u64 = fixtures.iter().map(|f| f.file.text.len() as u64).sum();
    let mut group = c.benchmark_group("stages");
    group.throughput(Throughput::Bytes(bytes));

    group.bench_function("read", |b| {
        b.iter(|| {
            fixtures
                .iter()
                .filter_map(|f| std::fs::read(&f.path).ok())
                .filter_map(|bytes| String::from_utf8(bytes).ok())
                .map(|text| SourceFile::new(PathBuf::new(), String::new(), text).text.len())
                .sum::<usize>()
        })
    });

    group.bench_function("parse", |b| {
        b.iter(|| {
            fixtures
                .iter()
                .filter_map(|f| Tree::parse(Arc::clone(&f.file.text), None, options.limits).ok())
                .map(|tree| tree.document_count())
                .sum::<usize>()
        })
    });

    let trees = parse_all(&fixtures, &options);
    group.bench_function("normalize", |b| {
        b.iter(|| {
            let mut pipelines = 0;
            for (fixture, tree) in fixtures.iter().zip(&trees) {
                let Some(tree) = tree else { continue };
                let embedded = Embedded::new(options.limits, fixture.file.text.len());
                pipelines += formats::recognize(tree, &embedded, &fixture.stem).pipelines.len();
            }
            pipelines
        })
    });

    let embedded: Vec<Embedded> = fixtures.iter().map(|f| Embedded::new(options.limits, f.file.text.len())).collect();
    let recognized: Vec<_> = fixtures
        .iter()
        .zip(&trees)
        .zip(&embedded)
        .filter_map(|((fixture, tree), embedded)| {
            tree.as_ref().map(|tree| (fixture, formats::recognize(tree, embedded, &fixture.stem)))
        })
        .collect();
    let run_rules = || -> Vec<(&Fixture, Vec<Finding>)> {
        recognized
            .iter()
            .map(|(fixture, recognized)| {
                let mut findings = Vec::new();
                for (pipeline, sources) in recognized.pipelines.iter().zip(&recognized.sources) {
                    let mut emitter = Emitter::new(&fixture.display, &pipeline.name, &enabled)
                        .with_settings(&options.settings)
                        .with_sources(sources);
                    emitter.run_all(pipeline);
                    findings.extend(emitter.into_findings());
                }
                (*fixture, findings)
            })
            .collect()
    };
    group.bench_function("rules", |b| b.iter(|| run_rules().len()));

    let findings = run_rules();
    group.bench_function("place", |b| {
        b.iter_batched(
            || findings.clone(),
            |findings| {
                let mut placed = 0;
                for (fixture, findings) in findings {
                    let file = &fixture.file;
                    let secrets = kfpguard::lint::secret_ranges(&file.text, &findings);
                    let reported: Vec<ReportedFinding> = findings
                        .into_iter()
                        .map(|finding| ReportedFinding {
                            path: fixture.display.as_str().into(),
                            region: file.region(finding.span.clone()),
                            related: finding
                                .related
                                .iter()
                                .map(|r| (file.region(r.span.clone()), r.message.clone()))
                                .collect(),
                            snippet: Some(snippet(file, finding.span.clone(), &secrets)),
                            finding,
                        })
                        .collect();
                    placed += reported.len();
                }
                placed
            },
            BatchSize::SmallInput,
        )
    });

    group.bench_function("lint_file", |b| {
        b.iter(|| {
            fixtures
                .iter()
                .map(|f| lint_file(&f.path, &f.display, false, &options, &enabled).findings.len())
                .sum::<usize>()
        })
    });
    group.finish();
}

fn lint_fixtures() -> Vec<FileResult> {
    let options = LintOptions::default();
    load_fixtures().iter().map(|f| lint_file(&f.path, &f.display, false, &options, &enabled)).collect()
}

/// 10,000 real findings: the fixtures' results copied under new paths (fingerprints
/// recomputed so they stay unique), the last copy cut to reach the count exactly.
fn synthetic_results(template: &[FileResult], wanted: usize) -> Vec<FileResult> {
    let per_copy: usize = template.iter().map(|f| f.findings.len()).sum();
    if per_copy == 0 {
        return Vec::new();
    }
    let mut results = Vec::new();
    let mut total = 0;
    'copies: for copy in 0.. {
        for original in template {
            if total >= wanted {
                break 'copies;
            }
            let path = format!("copy-{copy:04}/{}", original.path);
            let mut result = original.clone();
            result.path = path.clone();
            result.pipelines.iter_mut().for_each(|p| p.path = path.clone());
            result.findings.truncate(wanted - total);
            for reported in &mut result.findings {
                let finding = &mut reported.finding;
                finding.fingerprint = fingerprint(
                    finding.rule,
                    &path,
                    &finding.pipeline,
                    finding.container.as_deref().unwrap_or(""),
                    &finding.fingerprint,
                    "",
                );
                reported.path = Arc::from(path.as_str());
            }
            total += result.findings.len();
            results.push(result);
        }
    }
    results
}

/// Results through the policy, as the CLI hands them to renderers: each file's findings,
/// and the report.
fn through_policy(results: Vec<FileResult>) -> (Vec<Vec<ReportedFinding>>, Report) {
    let policy = Policy::defaults();
    let mut builder = ReportBuilder::new(&policy);
    let batches = results.into_iter().map(|result| builder.add(result)).collect();
    (batches, builder.finish())
}

/// Renders prepared results into `out` (reused, as a `BufWriter` would be); returns the size.
fn render_into(
    mut renderer: impl Renderer,
    prepared: &(Vec<Vec<ReportedFinding>>, Report),
    out: &mut Vec<u8>,
) -> usize {
    out.clear();
    // Writing to a Vec cannot fail.
    let _ = kfpguard::render::write_all(&mut renderer, out, &prepared.0, &prepared.1);
    out.len()
}

fn render(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut results = lint_fixtures();
    results.sort_by(|a, b| a.path.cmp(&b.path));
    let fixtures = through_policy(results.clone());
    let mut out = Vec::new();
    let mut group = c.benchmark_group("render_fixtures");
    group.bench_function("json", |b| b.iter(|| render_into(Json::new(), black_box(&fixtures), &mut out)));
    group.bench_function("sarif", |b| b.iter(|| render_into(Sarif::new(&root), black_box(&fixtures), &mut out)));
    group.finish();

    let synthetic_files = synthetic_results(&results, SYNTHETIC_FINDINGS);
    let synthetic = through_policy(synthetic_files.clone());
    if synthetic.1.counts.total() != SYNTHETIC_FINDINGS {
        eprintln!("the fixtures yield no findings: skipping render_10k");
        return;
    }
    let mut group = c.benchmark_group("render_10k");
    group.sample_size(20).measurement_time(Duration::from_secs(5));
    group.bench_function("json", |b| b.iter(|| render_into(Json::new(), black_box(&synthetic), &mut out)));
    group.bench_function("sarif", |b| b.iter(|| render_into(Sarif::new(&root), black_box(&synthetic), &mut out)));
    group.bench_function("report_builder", |b| {
        b.iter_batched(
            || synthetic_files.clone(),
            |files| through_policy(files).1.counts.total(),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, stages, render);
criterion_main!(benches);
