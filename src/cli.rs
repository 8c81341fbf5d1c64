//! The command line: parses arguments, runs discover -> lint -> report -> render, and
//! maps the outcome to the exit-code contract (0 clean, 1 findings, 2 errors).

use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

use crate::baseline;
use crate::config::{self, Config};
use crate::discover::{Found, discover};
use crate::finding::Severity;
use crate::lint::{LintOptions, lint_input};
use crate::ordered;
use crate::policy::{self, Policy};
use crate::render::{self, Renderer};
use crate::report::{FileErrorInfo, FileOutcome, FileResult, Report, ReportBuilder};

/// Exit code: nothing at or above the threshold.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code: findings at or above the threshold.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage error, or an input that could not be read or parsed.
pub const EXIT_ERROR: u8 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Pretty,
    Json,
    Sarif,
    /// GitHub Actions annotations (workflow commands).
    Github,
    /// A Markdown job summary (also the rules table with `--list-rules`).
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Low,
    Medium,
    High,
    Never,
}

impl FailOn {
    fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::Never => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Security linter for compiled ML pipelines (Kubeflow Pipelines, Argo, Tekton).
#[derive(Debug, Parser)]
#[command(name = "kfpguard", version, about, long_about = None)]
pub struct Args {
    /// Files or directories to lint.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Pretty)]
    pub format: OutputFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with 1 when a finding of this severity or worse is reported.
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    pub fail_on: FailOn,
    /// Number of threads (default: all cores).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// When to use colours in pretty output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only findings and errors.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also list skipped files and why.
    #[arg(short, long)]
    pub verbose: bool,
    /// List the rules (in --format pretty, json or markdown) and exit.
    #[arg(long)]
    pub list_rules: bool,
    /// Print the documentation of one rule and exit.
    #[arg(long, value_name = "RULE")]
    pub explain: Option<String>,
    /// Largest file to read, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = LintOptions::default().max_file_size)]
    pub max_file_size: u64,
    /// Use this config file instead of the nearest `.kfpguard.yaml`.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore any `.kfpguard.yaml`.
    #[arg(long)]
    pub no_config: bool,
    /// Run only these rules (comma-separated, repeatable; `ALL` for every rule, also those off by default).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Vec<String>,
    /// Do not run these rules (comma-separated, repeatable).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,
    /// Report only findings of this severity or worse.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub min_severity: Option<Severity>,
    /// Report only findings that are not in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings in this baseline file (they are then accepted).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Load extra declarative rules from every `*.yaml` in DIR (repeatable; docs/rules-format.md).
    #[arg(long = "rules", value_name = "DIR")]
    pub rule_dirs: Vec<PathBuf>,
    /// Also write the report in FORMAT to FILE (repeatable), from the same run: e.g.
    /// `--output-format sarif=kfpguard.sarif --output-format markdown=summary.md`.
    #[arg(long, value_name = "FORMAT=FILE", value_parser = parse_extra_output)]
    pub output_format: Vec<(OutputFormat, PathBuf)>,
    /// Write a commented starter `.kfpguard.yaml` (or the -o file) and exit.
    #[arg(long)]
    pub init_config: bool,
}

/// Runs kfpguard with the process's arguments.
pub fn main() -> ExitCode {
    crate::lint::install_panic_hook();
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) => {
            let code = if error.use_stderr() { EXIT_ERROR } else { EXIT_CLEAN };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    ExitCode::from(run(&args))
}

/// Runs one lint with parsed arguments; returns the exit code.
pub fn run(args: &Args) -> u8 {
    if !args.rule_dirs.is_empty() {
        let mut user_rules = Vec::new();
        for dir in &args.rule_dirs {
            match crate::rules::pattern::load_dir(dir) {
                Ok(rules) => user_rules.extend(rules),
                Err(error) => {
                    print_diagnostic(error.as_ref());
                    return EXIT_ERROR;
                }
            }
        }
        if let Err(error) = crate::rules::install_user_rules(user_rules) {
            eprintln!("kfpguard: {error}");
            return EXIT_ERROR;
        }
    }
    if args.list_rules || args.explain.is_some() {
        return document_rules(args);
    }
    if args.init_config {
        return init_config(args);
    }
    let mut destinations: Vec<&PathBuf> = args.output.iter().chain(args.output_format.iter().map(|(_, p)| p)).collect();
    destinations.sort();
    if let Some(pair) = destinations.windows(2).find(|pair| pair[0] == pair[1]) {
        eprintln!("kfpguard: {} is given as more than one output", pair[0].display());
        return EXIT_ERROR;
    }
    let config = match load_config(args) {
        Ok(config) => config,
        Err(error) => {
            print_diagnostic(error.as_ref());
            return EXIT_ERROR;
        }
    };
    let baseline = match args.baseline.as_deref().filter(|_| args.write_baseline.is_none()).map(baseline::read) {
        None => None,
        Some(Ok(fingerprints)) => Some(fingerprints),
        Some(Err(error)) => {
            eprintln!("kfpguard: {error}");
            return EXIT_ERROR;
        }
    };
    let policy = match Policy::new(&config, &args.select, &args.ignore, args.min_severity, baseline, policy::today()) {
        Ok(policy) => policy,
        Err(error) => {
            eprintln!("kfpguard: {error}");
            return EXIT_ERROR;
        }
    };
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    // A baseline keeps no snippets; a report needs them only if it has a terminal output.
    let snippets = args.write_baseline.is_none()
        && std::iter::once(args.format).chain(args.output_format.iter().map(|(format, _)| *format)).any(quotes_source);
    let options = LintOptions {
        max_file_size: args.max_file_size,
        settings: config.settings.clone(),
        snippets,
        ..LintOptions::default()
    };
    let enabled = |id: &str| policy.is_enabled(id);
    // Paths that could not be walked are inputs that failed: reported like any other, in path order.
    let lint = |item: Found| match item {
        Found::File(input) => lint_input(&input, &options, &enabled),
        Found::Unwalkable(error) => FileResult {
            path: error.path,
            explicit: true,
            outcome: FileOutcome::Failed {
                error: Box::new(FileErrorInfo {
                    code: "kfpguard::io".into(),
                    message: error.message,
                    region: None,
                    snippet: None,
                }),
            },
            pipelines: Vec::new(),
            findings: Vec::new(),
        },
    };
    let mut builder = ReportBuilder::new(&policy);

    if let Some(path) = &args.write_baseline {
        let mut entries = Vec::new();
        ordered::for_each_in_order(discover(&args.paths), threads, lint, findings_backlog(), |result| {
            report_file_error(&result);
            entries.extend(builder.add(result).iter().map(baseline::Entry::new));
        });
        let report = builder.finish();
        return match baseline::write(path, entries) {
            Ok(count) => {
                eprintln!("kfpguard: wrote {count} findings to baseline {}", path.display());
                if report.has_failures() { EXIT_ERROR } else { EXIT_CLEAN }
            }
            Err(error) => {
                eprintln!("kfpguard: {error}");
                EXIT_ERROR
            }
        };
    }
    for note in policy.notes() {
        eprintln!("warning: {note}");
    }
    let mut outputs = match open_outputs(args) {
        Ok(outputs) => outputs,
        Err(message) => {
            eprintln!("kfpguard: {message}");
            return EXIT_ERROR;
        }
    };
    outputs.iter_mut().for_each(|output| output.write(|renderer, out| renderer.begin(out)));
    ordered::for_each_in_order(discover(&args.paths), threads, lint, findings_backlog(), |result| {
        report_file_error(&result);
        let findings = builder.add(result);
        for output in &mut outputs {
            output.write(|renderer, out| renderer.findings(out, &findings));
        }
    });
    let report = builder.finish();
    let mut write_failed = false;
    for output in outputs {
        write_failed |= !output.end(&report);
    }
    if write_failed { EXIT_ERROR } else { exit_code(args, &report) }
}

/// Findings of linted files that may wait for the renderer before workers stop starting
/// new files: about 10 MB with messages and snippets. The terminal renderer is slower than
/// the workers, and a file can have thousands of findings; without a bound, the files
/// linted ahead of it would hold them all (80 MB on `bench/`'s generated corpus).
const FINDINGS_BACKLOG: usize = 10_000;

fn findings_backlog() -> ordered::Backlog<fn(&FileResult) -> usize> {
    ordered::Backlog { weigh: |result| result.findings.len(), budget: FINDINGS_BACKLOG }
}

/// File errors always go to standard error, whatever the format and destination.
fn report_file_error(result: &FileResult) {
    if let FileOutcome::Failed { error } = &result.outcome {
        let location = error.region.map(|r| format!(":{}:{}", r.start.line, r.start.column)).unwrap_or_default();
        eprintln!("error[{}]: {}{location}: {}", error.code, result.path, error.message);
    }
}

/// One destination of the report: a renderer and where it writes, written as the run goes.
struct Output {
    renderer: Box<dyn Renderer>,
    writer: Box<dyn Write>,
    /// `None` for standard output.
    path: Option<PathBuf>,
    /// Flush after each file, so a terminal shows findings as they are found.
    interactive: bool,
    /// The first write error; nothing more is written to this output after it.
    error: Option<std::io::Error>,
}

impl Output {
    fn write(&mut self, step: impl FnOnce(&mut dyn Renderer, &mut dyn Write) -> std::io::Result<()>) {
        if self.error.is_some() {
            return;
        }
        let mut result = step(self.renderer.as_mut(), self.writer.as_mut());
        if result.is_ok() && self.interactive {
            result = self.writer.flush();
        }
        if let Err(error) = result {
            self.error = Some(error);
        }
    }

    /// Writes the end of the report; false (after saying why) if the output is incomplete.
    fn end(mut self, report: &Report) -> bool {
        self.write(|renderer, out| {
            renderer.end(out, report)?;
            out.flush()
        });
        match (self.error, &self.path) {
            (None, _) => true,
            // A closed pipe (`kfpguard … | head`) is not an error.
            (Some(error), None) if error.kind() == std::io::ErrorKind::BrokenPipe => true,
            (Some(error), None) => {
                eprintln!("kfpguard: cannot write the report: {error}");
                false
            }
            (Some(error), Some(path)) => {
                eprintln!("kfpguard: cannot write the report to {}: {error}", path.display());
                false
            }
        }
    }
}

/// Bytes written to an output at once: a report of the corpus is 9 MB of JSON (21 MB of
/// SARIF), 140 writes instead of 1,100 with `BufWriter`'s 8 KiB; a pipe holds 64 KiB.
const OUTPUT_BUFFER: usize = 64 * 1024;

/// The `--format` output (standard output or `-o`) and the `--output-format` files,
/// created before linting starts so a bad path fails at once.
fn open_outputs(args: &Args) -> Result<Vec<Output>, String> {
    let main = std::iter::once((args.format, args.output.clone(), true));
    let extra = args.output_format.iter().map(|(format, path)| (*format, Some(path.clone()), false));
    main.chain(extra)
        .map(|(format, path, main)| {
            let interactive = main && path.is_none() && std::io::stdout().is_terminal();
            let writer: Box<dyn Write> = match &path {
                Some(path) => Box::new(BufWriter::with_capacity(
                    OUTPUT_BUFFER,
                    std::fs::File::create(path)
                        .map_err(|error| format!("cannot write the report to {}: {error}", path.display()))?,
                )),
                None => Box::new(BufWriter::with_capacity(OUTPUT_BUFFER, std::io::stdout())),
            };
            Ok(Output { renderer: renderer_for(format, args, main), writer, path, interactive, error: None })
        })
        .collect()
}

/// The renderer of `format`; `main` is the `--format` output (which may go to a
/// terminal), the others are `--output-format` files and never coloured.
fn renderer_for(format: OutputFormat, args: &Args, main: bool) -> Box<dyn Renderer> {
    match format {
        OutputFormat::Pretty => {
            let style = pretty_style(args);
            Box::new(render::pretty::Pretty::new(render::pretty::Style { color: style.color && main, ..style }))
        }
        OutputFormat::Json => Box::new(render::json::Json::new()),
        OutputFormat::Sarif => Box::new(render::sarif::Sarif::new(&std::env::current_dir().unwrap_or_default())),
        OutputFormat::Github => Box::new(render::github::Github::new()),
        OutputFormat::Markdown => Box::new(render::markdown::Markdown::new(github_blob_url().as_deref())),
    }
}

/// True if `format` shows each finding's source lines (the lint then cuts a snippet per
/// finding, which the other formats would never read).
fn quotes_source(format: OutputFormat) -> bool {
    matches!(format, OutputFormat::Pretty)
}

/// Parses `FORMAT=FILE` for `--output-format`.
fn parse_extra_output(value: &str) -> Result<(OutputFormat, PathBuf), String> {
    let (format, file) = value.split_once('=').ok_or("expected FORMAT=FILE, e.g. sarif=kfpguard.sarif")?;
    let format = OutputFormat::from_str(format, true)
        .map_err(|_| format!("unknown format `{format}` (pretty, json, sarif, github, markdown)"))?;
    if file.is_empty() {
        return Err("missing FILE after `=`".to_string());
    }
    Ok((format, PathBuf::from(file)))
}

/// The config in force: `--config`, else the nearest `.kfpguard.yaml`, unless `--no-config`.
fn load_config(args: &Args) -> Result<Config, Box<config::ConfigError>> {
    if args.no_config {
        return Ok(Config::default());
    }
    let path = match &args.config {
        Some(path) => Some(path.clone()),
        None => std::env::current_dir().ok().and_then(|cwd| config::discover(&cwd)),
    };
    match path {
        Some(path) => config::load(&path),
        None => Ok(Config::default()),
    }
}

fn print_diagnostic(diagnostic: &dyn miette::Diagnostic) {
    let mut text = String::new();
    let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
    if handler.render_report(&mut text, diagnostic).is_err() {
        text = diagnostic.to_string();
    }
    eprintln!("{text}");
}

/// `--init-config`: writes the starter config, never over an existing file.
fn init_config(args: &Args) -> u8 {
    let path = args.output.clone().unwrap_or_else(|| PathBuf::from(config::FILE_NAME));
    if path.exists() {
        eprintln!("kfpguard: {} already exists; not overwriting it", path.display());
        return EXIT_ERROR;
    }
    match std::fs::write(&path, config::STARTER) {
        Ok(()) => {
            eprintln!("kfpguard: wrote {}", path.display());
            EXIT_CLEAN
        }
        Err(error) => {
            eprintln!("kfpguard: cannot write {}: {error}", path.display());
            EXIT_ERROR
        }
    }
}

/// `https://github.com/<repo>/blob/<sha>` inside GitHub Actions, for links in the summary.
fn github_blob_url() -> Option<String> {
    let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    Some(format!("{}/{}/blob/{}", var("GITHUB_SERVER_URL")?, var("GITHUB_REPOSITORY")?, var("GITHUB_SHA")?))
}

/// `--list-rules` and `--explain`: the rule docs, from the rules themselves.
fn document_rules(args: &Args) -> u8 {
    use crate::rules;
    let text = if let Some(id) = &args.explain {
        let Some(rule) = rules::find(id) else {
            eprintln!("kfpguard: unknown rule `{id}` (see --list-rules)");
            return EXIT_ERROR;
        };
        let meta = &rule.meta;
        match args.format {
            OutputFormat::Json | OutputFormat::Sarif | OutputFormat::Github => rules_json(&[rule]),
            _ => format!(
                "# {} ({}, {})\n\n{}\n\n{}",
                meta.id,
                meta.severity,
                if meta.enabled_by_default { "on by default" } else { "off by default" },
                meta.summary,
                meta.markdown()
            ),
        }
    } else {
        match args.format {
            OutputFormat::Json | OutputFormat::Sarif | OutputFormat::Github => rules_json(rules::all()),
            OutputFormat::Markdown => rules::markdown_table(),
            OutputFormat::Pretty => rules::all()
                .iter()
                .map(|rule| {
                    let meta = &rule.meta;
                    format!(
                        "{:<28} {:<6} {:<3}  {}\n",
                        meta.id,
                        meta.severity.as_str(),
                        if meta.enabled_by_default { "on" } else { "off" },
                        meta.summary
                    )
                })
                .collect(),
        }
    };
    match write_output(args.output.as_ref(), &text) {
        Ok(()) => EXIT_CLEAN,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => EXIT_CLEAN,
        Err(error) => {
            eprintln!("kfpguard: cannot write: {error}");
            EXIT_ERROR
        }
    }
}

fn rules_json(rules: &[&crate::rules::Rule]) -> String {
    let list: Vec<serde_json::Value> = rules
        .iter()
        .map(|rule| {
            let meta = &rule.meta;
            serde_json::json!({
                "id": meta.id, "severity": meta.severity, "enabled_by_default": meta.enabled_by_default,
                "summary": meta.summary, "help": meta.help, "tags": meta.tags,
                "docs": { "what": meta.docs.what, "why": meta.docs.why, "example": meta.docs.example, "fix": meta.docs.fix },
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&list).unwrap_or_default();
    text.push('\n');
    text
}

fn exit_code(args: &Args, report: &Report) -> u8 {
    if report.has_failures() {
        return EXIT_ERROR;
    }
    match (args.fail_on.threshold(), report.max_severity) {
        (Some(threshold), Some(worst)) if worst >= threshold => EXIT_FINDINGS,
        _ => EXIT_CLEAN,
    }
}

fn pretty_style(args: &Args) -> render::pretty::Style {
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => to_terminal && std::env::var_os("NO_COLOR").is_none(),
    };
    render::pretty::Style { color, width: 100, verbose: args.verbose, quiet: args.quiet }
}

fn write_output(path: Option<&PathBuf>, text: &str) -> std::io::Result<()> {
    match path {
        Some(path) => std::fs::write(path, text),
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(text.as_bytes())?;
            stdout.flush()
        }
    }
}
