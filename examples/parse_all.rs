//! Parse-only baseline: discover, read and parse files with kfpguard's YAML parser, and
//! nothing else (no model, no rules, no report). `bench/run.sh` compares a full lint with
//! this to measure what recognition, rules and rendering cost on top of parsing.
//!
//! ```text
//! cargo run --release --example parse_all -- [-j N] [-q] PATH...
//! ```
//!
//! Files that cannot be read or parsed are listed on standard output as
//! `path:line:column: message`; the summary goes to standard error. Exit code 0 when every
//! file parsed, 1 when some did not, 2 on a usage error.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use kfpguard::discover::{Found, discover};
use kfpguard::source::LineIndex;
use kfpguard::yaml::{Limits, Tree};
// The CLI's allocator, so that both measure the same one.
kfpguard::use_kfpguard_allocator!();

const USAGE: &str = "usage: parse_all [-j N] [-q] PATH...";

struct Options {
    threads: usize,
    quiet: bool,
    paths: Vec<PathBuf>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options { threads: 1, quiet: false, paths: Vec::new() };
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("-j") => {
                let value = args.next().ok_or("-j needs a number")?;
                options.threads = value
                    .to_str()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n: &usize| n > 0)
                    .ok_or("-j needs a positive number")?;
            }
            Some("-q") => options.quiet = true,
            Some("-h" | "--help") => return Err(String::new()),
            _ => options.paths.push(PathBuf::from(arg)),
        }
    }
    if options.paths.is_empty() {
        return Err("no path given".to_string());
    }
    Ok(options)
}

/// What became of one file.
enum Outcome {
    Parsed { bytes: usize, documents: usize },
    Failed { bytes: usize, message: String },
    Unwalkable { message: String },
}

fn parse_file(path: &std::path::Path, display: &str) -> Outcome {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) => return Outcome::Failed { bytes: 0, message: format!("{display}: cannot read: {error}") },
    };
    let size = bytes.len();
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let offset = error.utf8_error().valid_up_to();
            return Outcome::Failed { bytes: size, message: format!("{display}: not UTF-8 (byte {offset})") };
        }
    };
    // Shared with the tree, as the lint shares a file's text (`lint::lint_source`), and kept
    // to place an error.
    let text = Arc::new(text);
    match Tree::parse(Arc::clone(&text), None, Limits::default()) {
        Ok(tree) => Outcome::Parsed { bytes: size, documents: tree.document_count() },
        Err(error) => {
            let position = LineIndex::new(&text).position(&text, error.offset());
            Outcome::Failed {
                bytes: size,
                message: format!("{display}:{}:{}: {error}", position.line, position.column),
            }
        }
    }
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("parse_all: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    // The same lazy discovery and worker pool as the CLI; like the CLI it keeps nothing
    // per file, so its memory is a fair baseline at any file count.
    let (mut files, mut bytes, mut documents, mut failed) = (0usize, 0usize, 0usize, 0usize);
    kfpguard::ordered::for_each_in_order(
        discover(&options.paths),
        options.threads,
        |found| match found {
            Found::File(input) => parse_file(&input.path, &input.display),
            Found::Unwalkable(error) => Outcome::Unwalkable { message: format!("{}: {}", error.path, error.message) },
        },
        kfpguard::ordered::Backlog::unweighed(),
        |outcome| {
            files += 1;
            match outcome {
                Outcome::Parsed { bytes: size, documents: docs } => {
                    bytes += size;
                    documents += docs;
                }
                Outcome::Failed { bytes: size, message } => {
                    bytes += size;
                    failed += 1;
                    println!("{message}");
                }
                Outcome::Unwalkable { message } => {
                    failed += 1;
                    println!("{message}");
                }
            }
        },
    );
    let elapsed = started.elapsed();
    if !options.quiet {
        let seconds = elapsed.as_secs_f64().max(1e-9);
        eprintln!(
            "parse_all: {} files, {:.1} MB, {documents} documents, {failed} failed, {:.3} s ({:.0} files/s, {:.1} MB/s, {} thread{})",
            files,
            bytes as f64 / 1e6,
            seconds,
            files as f64 / seconds,
            bytes as f64 / 1e6 / seconds,
            options.threads,
            if options.threads == 1 { "" } else { "s" },
        );
    }
    if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) }
}
