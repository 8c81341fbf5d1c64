#![allow(clippy::unwrap_used, clippy::expect_used)]
use kfpguard::discover::{Found, Input, discover};
use kfpguard::finding::Finding;
use kfpguard::formats::{self, Embedded};
use kfpguard::lint::LintOptions;
use kfpguard::rules::{self, Emitter};
use kfpguard::source::SourceFile;
use kfpguard::yaml::Tree;
use std::path::Path;
use std::time::Instant;
kfpguard::use_kfpguard_allocator!();
fn enabled(id: &str) -> bool {
    rules::find(id).is_some_and(|rule| rule.meta.enabled_by_default)
}
fn load(input: &Input, options: &LintOptions) -> Option<(SourceFile, Tree)> {
    let bytes = std::fs::read(&input.path).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let file = SourceFile::new(input.path.clone(), input.display.clone(), text);
    let tree = Tree::parse(file.text.clone(), None, options.limits).ok()?;
    Some((file, tree))
}
fn finish(file: &SourceFile, tree: &Tree, options: &LintOptions) -> usize {
    let stem = Path::new(&file.display_path).file_stem().and_then(|s| s.to_str()).unwrap_or("pipeline");
    let embedded = Embedded::new(options.limits, file.text.len());
    let recognized = formats::recognize(tree, &embedded, stem);
    let mut findings: Vec<Finding> = Vec::new();
    for (pipeline, sources) in recognized.pipelines.iter().zip(&recognized.sources) {
        let mut emitter = Emitter::new(&file.display_path, &pipeline.name, &enabled)
            .with_settings(&options.settings)
            .with_sources(sources);
        emitter.run_all(pipeline);
        findings.extend(emitter.into_findings());
    }
    kfpguard::lint::place(file, findings, false).len()
}
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let windows: Vec<usize> = args[0].split(',').map(|w| w.parse().unwrap()).collect();
    let rounds: usize = args[1].parse().unwrap();
    let inputs: Vec<Input> = discover(&[args[2].clone().into()])
        .filter_map(|f| match f {
            Found::File(i) => Some(i),
            _ => None,
        })
        .collect();
    let options = LintOptions::default();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); windows.len() + 1];
    for round in 0..rounds {
        for (index, &window) in windows.iter().enumerate().cycle().skip(round % windows.len()).take(windows.len()) {
            let started = Instant::now();
            let mut count = 0;
            for chunk in inputs.chunks(window) {
                let loaded: Vec<_> = chunk.iter().filter_map(|i| load(i, &options)).collect();
                for (file, tree) in &loaded {
                    count += finish(file, tree, &options);
                }
            }
            times[index].push(started.elapsed().as_secs_f64());
            std::hint::black_box(count);
        }
        let started = Instant::now();
        for input in &inputs {
            std::hint::black_box(load(input, &options));
        }
        times[windows.len()].push(started.elapsed().as_secs_f64());
    }
    for t in &mut times {
        t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    }
    let parse = times[windows.len()][rounds / 2];
    for (index, window) in windows.iter().enumerate() {
        let median = times[index][rounds / 2];
        println!(
            "window {window:3}: median {:.1} ms  min {:.1}  ratio to parse-only {:.3}",
            median * 1e3,
            times[index][0] * 1e3,
            median / parse
        );
    }
    println!("parse-only: median {:.1} ms min {:.1}", parse * 1e3, times[windows.len()][0] * 1e3);
}
