//! The result of a run: every finding placed at its line and column with a redacted
//! source snippet, every input's outcome, and the risk score per pipeline. Findings are
//! handed to the renderers file by file and then dropped; the [`Report`] keeps only the
//! totals. Renderers read only these; they never open or parse files again.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::Range;
use std::sync::Arc;

use crate::finding::{Finding, Severity};
use crate::formats::DocumentOutcome;
use crate::policy::{Policy, Verdict};
use crate::source::{Region, SourceFile};
use crate::spool::Spool;

/// Version of the JSON report schema (`docs/json-schema.md`).
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// What happened to one input file.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum FileOutcome {
    /// Parsed and checked; `documents` says what each document was.
    Linted { documents: Vec<DocumentOutcome> },
    /// Not a pipeline kfpguard understands.
    Skipped { reason: String },
    /// Could not be read or parsed, or kfpguard failed on it.
    /// (Boxed: most files do not fail, and the report keeps an outcome per file.)
    Failed { error: Box<FileErrorInfo> },
}

/// A file error, ready for display.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FileErrorInfo {
    /// Stable code, e.g. `kfpguard::parse`.
    pub code: Cow<'static, str>,
    pub message: String,
    /// Where in the file, when known.
    pub region: Option<Region>,
    #[serde(skip)]
    pub snippet: Option<Snippet>,
}

/// A few lines of source around a location, secrets masked, for terminal output.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snippet {
    /// 1-based line number of the first line of `text`.
    pub first_line: usize,
    pub text: String,
    /// The location inside `text`.
    pub span: Range<usize>,
}

/// A finding placed in its file.
#[derive(Clone, Debug)]
pub struct ReportedFinding {
    /// Shared by the findings of the file.
    pub path: Arc<str>,
    pub region: Region,
    pub finding: Finding,
    pub related: Vec<(Region, String)>,
    /// `None` unless the lint was asked for snippets ([`crate::lint::LintOptions::snippets`]).
    pub snippet: Option<Snippet>,
}

/// A pipeline seen in a file.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PipelineInfo {
    pub path: String,
    pub name: String,
    pub format: Cow<'static, str>,
    pub containers: usize,
}

/// The result of linting one file.
#[derive(Clone, Debug)]
pub struct FileResult {
    pub path: String,
    /// Named on the command line (rather than found in a directory).
    pub explicit: bool,
    pub outcome: FileOutcome,
    pub pipelines: Vec<PipelineInfo>,
    pub findings: Vec<ReportedFinding>,
}

/// A pipeline's findings summed up.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PipelineSummary {
    #[serde(flatten)]
    pub info: PipelineInfo,
    pub counts: Counts,
    /// Sum of finding weights (high 10, medium 5, low 1), capped at 100.
    pub score: u32,
    /// No high-severity finding.
    pub secure: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub high: usize,
    pub medium: usize,
    pub low: usize,
}

impl Counts {
    pub fn add(&mut self, severity: Severity) {
        match severity {
            Severity::High => self.high += 1,
            Severity::Medium => self.medium += 1,
            Severity::Low => self.low += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.high + self.medium + self.low
    }
}

/// How many inputs ended which way.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct FileCounts {
    pub linted: usize,
    pub skipped: usize,
    pub failed: usize,
}

/// Findings the policy held back, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Suppressed {
    /// Below `--min-severity`.
    pub below_minimum: usize,
    /// Matched an ignore of the config.
    pub ignored: usize,
    /// Already in the baseline.
    pub baselined: usize,
}

/// A run's totals and per-file outcomes: everything a renderer needs besides the findings,
/// which are handed over file by file (see [`ReportBuilder`]) and not kept. The per-file
/// and per-pipeline entries are spooled, so the report's memory does not grow with the
/// number of files.
#[derive(Debug, Default)]
pub struct Report {
    /// Every input, in path order.
    pub files: Spool<FileEntry>,
    pub pipelines: Spool<PipelineSummary>,
    pub file_counts: FileCounts,
    pub containers: usize,
    pub counts: Counts,
    /// Sum over pipelines, capped at 100.
    pub score: u32,
    pub suppressed: Suppressed,
    /// Things the user should know about the run itself (e.g. an expired ignore).
    pub notes: Vec<String>,
    /// The most severe finding reported, if any.
    pub max_severity: Option<Severity>,
}

/// One input and what happened to it (its findings are not kept here).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    pub path: String,
    /// Named on the command line (rather than found in a directory).
    pub explicit: bool,
    pub outcome: FileOutcome,
}

/// Risk score of a set of findings (rules.md): weights summed, capped at 100.
pub fn score<'a>(severities: impl IntoIterator<Item = &'a Severity>) -> u32 {
    severities.into_iter().map(|s| s.weight()).sum::<u32>().min(100)
}

impl Report {
    pub fn has_failures(&self) -> bool {
        self.file_counts.failed > 0
    }
}

/// Builds the [`Report`] from per-file results given in path order, applying the policy
/// (severity remaps, floor, ignores, baseline) to each file's findings once their
/// fingerprints are final, and hands back the findings to render.
pub struct ReportBuilder<'p> {
    policy: &'p Policy,
    report: Report,
}

impl<'p> ReportBuilder<'p> {
    pub fn new(policy: &'p Policy) -> Self {
        Self { policy, report: Report { notes: policy.notes(), ..Report::default() } }
    }

    /// Records one file; returns its findings that the policy keeps, sorted by position
    /// and rule. Files must come in path order (fingerprints name the file, so
    /// disambiguating them file by file is the same as over the whole run).
    pub fn add(&mut self, file: FileResult) -> Vec<ReportedFinding> {
        let FileResult { path, explicit, outcome, pipelines, mut findings } = file;
        findings.sort_by(|a, b| {
            (a.region.start.cmp(&b.region.start))
                .then_with(|| a.finding.rule.cmp(b.finding.rule))
                .then_with(|| fingerprint_order(&a.finding.fingerprint, &b.finding.fingerprint))
        });
        disambiguate_fingerprints(&mut findings);
        let suppressed = &mut self.report.suppressed;
        findings.retain_mut(|reported| match self.policy.judge(reported) {
            Verdict::Keep => true,
            Verdict::BelowMinimum => {
                suppressed.below_minimum += 1;
                false
            }
            Verdict::Ignored => {
                suppressed.ignored += 1;
                false
            }
            Verdict::Baselined => {
                suppressed.baselined += 1;
                false
            }
        });

        let report = &mut self.report;
        for info in pipelines {
            let severities = || {
                findings
                    .iter()
                    .filter(|reported| *reported.finding.pipeline == *info.name)
                    .map(|reported| &reported.finding.severity)
            };
            let mut counts = Counts::default();
            severities().for_each(|&s| counts.add(s));
            let score = score(severities());
            report.containers += info.containers;
            report.pipelines.push(PipelineSummary { info, counts, score, secure: counts.high == 0 });
        }
        match outcome {
            FileOutcome::Linted { .. } => report.file_counts.linted += 1,
            FileOutcome::Skipped { .. } => report.file_counts.skipped += 1,
            FileOutcome::Failed { .. } => report.file_counts.failed += 1,
        }
        for reported in &findings {
            let severity = reported.finding.severity;
            report.counts.add(severity);
            report.score = (report.score + severity.weight()).min(100);
            report.max_severity = report.max_severity.max(Some(severity));
        }
        report.files.push(FileEntry { path, explicit, outcome });
        findings
    }

    pub fn finish(mut self) -> Report {
        self.report.files.finish();
        self.report.pipelines.finish();
        self.report
    }
}

/// Identical findings (same rule, place and value, e.g. the same URL twice in one script)
/// get `:2`, `:3`, ... in source order so every fingerprint is unique and stays stable.
fn disambiguate_fingerprints(findings: &mut [ReportedFinding]) {
    // Positions grouped by fingerprint, each group in source order (a stable sort), so no
    // fingerprint is copied to count it.
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&a, &b| fingerprint_order(&findings[a].finding.fingerprint, &findings[b].finding.fingerprint));
    // The first of a group keeps its fingerprint: the others are compared with it.
    let mut group_start = 0;
    for position in 1..order.len() {
        let (first, index) = (order[group_start], order[position]);
        if findings[index].finding.fingerprint == findings[first].finding.fingerprint {
            let fingerprint = &mut findings[index].finding.fingerprint;
            *fingerprint = format!("{fingerprint}:{}", position - group_start + 1);
        } else {
            group_start = position;
        }
    }
}

/// Fingerprints in lexicographic order, their first eight bytes compared as one number
/// first: fingerprints nearly always differ there, which spares a call into `memcmp` for most
/// comparisons of a sort.
fn fingerprint_order(a: &str, b: &str) -> Ordering {
    match (a.as_bytes().first_chunk::<8>(), b.as_bytes().first_chunk::<8>()) {
        (Some(a_head), Some(b_head)) => {
            u64::from_be_bytes(*a_head).cmp(&u64::from_be_bytes(*b_head)).then_with(|| a.cmp(b))
        }
        _ => a.cmp(b),
    }
}

/// Longest line, in bytes, shown whole in a snippet; longer lines are clipped around the span.
const MAX_SNIPPET_LINE: usize = 240;

/// Cuts a snippet around `span` out of `file`, masking every range in `secrets` (sorted and
/// disjoint, as [`crate::lint::secret_ranges`] returns them).
pub fn snippet(file: &SourceFile, span: Range<usize>, secrets: &[Range<usize>]) -> Snippet {
    let text = &file.text;
    let start = span.start.min(text.len());
    let lines = file.lines();
    let region = file.region(span.clone());
    // The span's own lines (at most 3), plus one line of context on each side.
    let first_line = region.start.line.saturating_sub(1).max(1);
    let last_span_line = region.end.line.min(region.start.line + 2);
    let last_line = (last_span_line + 1).min(lines.line_count());
    let from = lines.line_range(text, first_line).start;
    let to = lines.line_range(text, last_line).end.max(from);
    let mut shown = String::with_capacity((to - from).min(4 * MAX_SNIPPET_LINE));
    let mut relative_span = 0..0;
    for line in first_line..=last_line {
        let range = lines.line_range(text, line);
        let (mut clip_from, mut clip_to) = (range.start, range.end);
        if range.len() > MAX_SNIPPET_LINE {
            let anchor = if (range.start..=range.end).contains(&start) { start } else { range.start };
            clip_from = floor_char(text, anchor.saturating_sub(MAX_SNIPPET_LINE / 3).max(range.start));
            clip_to = floor_char(text, (clip_from + MAX_SNIPPET_LINE).min(range.end));
        }
        if line == region.start.line {
            let span_start = shown.len() + (start.max(clip_from) - clip_from);
            let span_end = shown.len() + (span.end.min(clip_to).max(start.max(clip_from)) - clip_from);
            relative_span = span_start..span_end;
        } else if line > region.start.line && line <= last_span_line && span.end > range.start {
            relative_span.end = shown.len() + (span.end.min(clip_to).max(clip_from) - clip_from);
        }
        let piece_start = shown.len();
        shown.push_str(&text[clip_from..clip_to]);
        mask(&mut shown, piece_start, clip_from..clip_to, secrets);
        if line < last_line {
            shown.push('\n');
        }
    }
    Snippet { first_line, text: shown, span: relative_span }
}

fn floor_char(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Replaces the bytes of `shown[piece_start..]` that came from a secret range with `*`,
/// keeping byte lengths so spans stay valid.
fn mask(shown: &mut String, piece_start: usize, source: Range<usize>, secrets: &[Range<usize>]) {
    // Sorted and disjoint, the secrets overlapping `source` are consecutive: from the first
    // that ends after its start to the last that starts before its end. Found by binary
    // search, as a file may hold a secret in every one of thousands of copied components.
    let first = secrets.partition_point(|secret| secret.end <= source.start);
    for secret in secrets[first..].iter().take_while(|secret| secret.start < source.end) {
        let from = secret.start.max(source.start);
        let to = secret.end.min(source.end);
        if from >= to {
            continue;
        }
        let local = piece_start + (from - source.start)..piece_start + (to - source.start);
        let Some(hidden) = shown.get(local.clone()) else { continue };
        let stars = "*".repeat(hidden.len());
        shown.replace_range(local, &stars);
    }
}
