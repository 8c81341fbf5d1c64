//! Linting one file: read, parse, recognise, run the rules, place the findings.
//!
//! Everything that can go wrong with an input becomes a [`FileError`] value in the
//! file's result; a panic in an adapter or a rule is caught here too, so one bad file
//! never stops the run.

use std::fs::{File, Metadata};
use std::io::Read;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;

use aho_corasick::AhoCorasick;

use crate::config::RuleSettings;
use crate::discover::Input;
use crate::finding::Finding;
use crate::formats;
use crate::report::{FileErrorInfo, FileOutcome, FileResult, PipelineInfo, ReportedFinding, snippet};
use crate::rules::Emitter;
use crate::source::SourceFile;
use crate::yaml::{Limits, ParseError, Tree};

/// What a run may read and build, and the parameters rules read.
#[derive(Clone, Debug)]
pub struct LintOptions {
    /// Largest file read, in bytes.
    pub max_file_size: u64,
    pub limits: Limits,
    pub settings: RuleSettings,
    /// Cut a source snippet, secrets masked, for every finding ([`ReportedFinding::snippet`]).
    /// Only the terminal output shows them.
    pub snippets: bool,
}

impl Default for LintOptions {
    fn default() -> Self {
        Self {
            max_file_size: 64 * 1024 * 1024,
            limits: Limits::default(),
            settings: RuleSettings::default(),
            snippets: true,
        }
    }
}

/// Why a file could not be linted.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FileError {
    #[error("cannot read: {0}")]
    #[diagnostic(code(kfpguard::io))]
    Read(#[from] std::io::Error),
    #[error("file is {size} bytes, over the {limit}-byte limit")]
    #[diagnostic(
        code(kfpguard::too_large),
        help("raise the limit with --max-file-size if this file really is a pipeline")
    )]
    TooLarge { size: u64, limit: u64 },
    #[error("UTF-16 text is not supported; convert the file to UTF-8")]
    #[diagnostic(code(kfpguard::encoding))]
    Utf16,
    #[error("not UTF-8 text (invalid byte at offset {offset}); binary file?")]
    #[diagnostic(code(kfpguard::encoding))]
    NotUtf8 { offset: usize },
    #[error("{0}")]
    #[diagnostic(code(kfpguard::parse))]
    Parse(ParseError),
    #[error("internal error while linting this file: {0}")]
    #[diagnostic(code(kfpguard::internal), help("this is a kfpguard bug; please report it with the file"))]
    Internal(String),
}

impl FileError {
    fn code(&self) -> &'static str {
        match self {
            FileError::Read(_) => "kfpguard::io",
            FileError::TooLarge { .. } => "kfpguard::too_large",
            FileError::NotUtf8 { .. } | FileError::Utf16 => "kfpguard::encoding",
            FileError::Parse(_) => "kfpguard::parse",
            FileError::Internal(_) => "kfpguard::internal",
        }
    }
}

thread_local! {
    /// Where the last panic on this thread happened, recorded by [`install_panic_hook`].
    static PANIC_LOCATION: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Replaces the default panic hook, which prints the panic message (possibly quoting a
/// secret from the input), by one that only records the panic's location for the file's
/// internal-error diagnostic.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
        PANIC_LOCATION.with(|cell| *cell.borrow_mut() = location);
    }));
}

/// Lints one file; never panics, never fails: problems become the file's outcome.
pub fn lint_file(
    path: &Path,
    display_path: &str,
    explicit: bool,
    options: &LintOptions,
    enabled: &(dyn Fn(&str) -> bool + Sync),
) -> FileResult {
    lint_path(path, display_path, explicit, false, options, enabled)
}

/// Lints one discovered file, as [`lint_file`] does. A file discovery already saw as regular
/// ([`Input::known_regular`]) is opened at once and its type read from the open file: one
/// lookup of its path instead of two.
pub fn lint_input(input: &Input, options: &LintOptions, enabled: &(dyn Fn(&str) -> bool + Sync)) -> FileResult {
    lint_path(&input.path, &input.display, input.explicit, input.known_regular, options, enabled)
}

fn lint_path(
    path: &Path,
    display_path: &str,
    explicit: bool,
    known_regular: bool,
    options: &LintOptions,
    enabled: &(dyn Fn(&str) -> bool + Sync),
) -> FileResult {
    let mut result = FileResult {
        path: display_path.to_string(),
        explicit,
        outcome: FileOutcome::Skipped { reason: String::new() },
        pipelines: Vec::new(),
        findings: Vec::new(),
    };
    let opened = if known_regular { open_then_check(path) } else { check_then_open(path) };
    let text = match opened.and_then(|opened| match opened {
        Opened::File(file, metadata) => read_text(file, &metadata, options.max_file_size).map(Some),
        Opened::Special if !explicit => Ok(None),
        Opened::Special => Err(not_a_regular_file()),
    }) {
        Ok(Some(text)) => text,
        Ok(None) => {
            // A FIFO, socket or device found while walking is not an input error: it is
            // skipped. Named explicitly, it fails.
            result.outcome = FileOutcome::Skipped { reason: "not a regular file (FIFO, socket or device)".to_string() };
            return result;
        }
        Err(error) => {
            result.outcome = failed(&error, None);
            return result;
        }
    };
    let file = SourceFile::new(path.to_path_buf(), display_path.to_string(), text);
    let linted = catch_unwind(AssertUnwindSafe(|| lint_source(&file, options, enabled, &mut result)));
    match linted {
        Ok(Ok(())) => {}
        Ok(Err(error)) => result.outcome = failed(&error, Some(&file)),
        Err(_) => {
            // The panic message may quote input (a secret); report only where it happened.
            let message = PANIC_LOCATION.with(|cell| cell.borrow_mut().take()).map_or_else(
                || "a rule or adapter panicked".to_string(),
                |location| format!("a rule or adapter panicked at {location}"),
            );
            result.pipelines.clear();
            result.findings.clear();
            result.outcome = failed(&FileError::Internal(message), None);
        }
    }
    result
}

fn lint_source(
    file: &SourceFile,
    options: &LintOptions,
    enabled: &(dyn Fn(&str) -> bool + Sync),
    result: &mut FileResult,
) -> Result<(), FileError> {
    let tree = Tree::parse(Arc::clone(&file.text), None, options.limits).map_err(FileError::Parse)?;
    let stem = Path::new(&file.display_path).file_stem().and_then(|s| s.to_str()).unwrap_or("pipeline");
    let embedded = formats::Embedded::new(options.limits, file.text.len());
    let recognized = formats::recognize(&tree, &embedded, stem);
    if recognized.pipelines.is_empty() {
        let reason = match recognized.documents.as_slice() {
            [] => "empty file".to_string(),
            [single] => single.skipped.clone().unwrap_or_default(),
            many => format!("none of its {} documents is a pipeline", many.len()),
        };
        result.outcome = FileOutcome::Skipped { reason };
        return Ok(());
    }
    let mut findings: Vec<Finding> = Vec::new();
    for (pipeline, sources) in recognized.pipelines.iter().zip(&recognized.sources) {
        let mut emitter = Emitter::new(&file.display_path, &pipeline.name, enabled)
            .with_settings(&options.settings)
            .with_sources(sources);
        emitter.run_all(pipeline);
        // Most files hold one pipeline: its findings are taken as they are, not copied.
        if findings.is_empty() {
            findings = emitter.into_findings();
        } else {
            findings.extend(emitter.into_findings());
        }
        result.pipelines.push(PipelineInfo {
            path: file.display_path.clone(),
            name: pipeline.name.clone(),
            format: pipeline.format.label().into(),
            containers: pipeline.containers.len(),
        });
    }
    result.findings = place(file, findings, options.snippets);
    result.outcome = FileOutcome::Linted { documents: recognized.documents };
    Ok(())
}

/// Places a file's findings: their regions and those of their related locations, all found
/// in one pass over the text, and a snippet with secrets masked for each if `snippets`.
pub fn place(file: &SourceFile, findings: Vec<Finding>, snippets: bool) -> Vec<ReportedFinding> {
    let path: Arc<str> = Arc::from(file.display_path.as_str());
    let secrets = if snippets { secret_ranges(&file.text, &findings) } else { Vec::new() };
    // Each finding's span, then its related ones: taken back in the same order below.
    let spans: Vec<Range<usize>> = findings
        .iter()
        .flat_map(|finding| std::iter::once(&finding.span).chain(finding.related.iter().map(|r| &r.span)))
        .cloned()
        .collect();
    let mut regions = file.regions(&spans).into_iter();
    // Allocated at its final size: collected from an iterator that may stop early, the
    // findings (a few hundred bytes each) would be copied at every growth.
    let mut placed = Vec::with_capacity(findings.len());
    for finding in findings {
        let Some(region) = regions.next() else { break };
        let related = finding.related.iter().zip(regions.by_ref());
        placed.push(ReportedFinding {
            path: Arc::clone(&path),
            region,
            related: related.map(|(related, region)| (region, related.message.clone())).collect(),
            snippet: snippets.then(|| snippet(file, finding.span.clone(), &secrets)),
            finding,
        });
    }
    placed
}

/// Every byte range of `text` holding a secret some finding reported: the reported range
/// and every other place the same value is written, so no snippet shows it. Sorted, with
/// overlapping ranges merged, so [`snippet`] can find a line's secrets by binary search.
pub fn secret_ranges(text: &str, findings: &[Finding]) -> Vec<Range<usize>> {
    let mut ranges: Vec<Range<usize>> = findings.iter().filter_map(|f| f.secret.clone()).collect();
    // Each distinct value is searched for once, however many findings report it.
    let mut values: Vec<&str> = ranges.iter().filter_map(|range| text.get(range.clone())).collect();
    values.retain(|value| value.len() >= 4);
    values.sort_unstable();
    values.dedup();
    ranges.extend(occurrences(text, &values));
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start < last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

/// Up to this many values, a substring search per value is cheaper than one automaton pass
/// for all (callgrind, 2 MB file: ~2 instructions per byte and value against ~20 per byte,
/// up to ~50 when the automaton's prefilter keeps firing); past it, the automaton keeps the
/// cost from growing with the number of values too.
const FEW_VALUES: usize = 8;

/// Where each of `values` occurs in `text`: for each value, what `text.match_indices(value)`
/// finds (its occurrences left to right, none overlapping another of the same value).
fn occurrences(text: &str, values: &[&str]) -> Vec<Range<usize>> {
    let all_at_once = if values.len() > FEW_VALUES { in_one_pass(text, values) } else { None };
    all_at_once.unwrap_or_else(|| {
        values
            .iter()
            .flat_map(|value| text.match_indices(value).map(|(start, found)| start..start + found.len()))
            .collect()
    })
}

/// [`occurrences`] in one Aho-Corasick pass over `text` for all values; `None` if the
/// values are too many or too long for the automaton's limits.
fn in_one_pass(text: &str, values: &[&str]) -> Option<Vec<Range<usize>>> {
    let searcher = AhoCorasick::new(values).ok()?;
    // Overlapping matches, so a value inside or across another is found too; a match that
    // overlaps the last one kept for the same value is dropped, as `match_indices` skips it.
    let mut next_start = vec![0; values.len()];
    let mut found = Vec::new();
    for matched in searcher.find_overlapping_iter(text) {
        let value = matched.pattern().as_usize();
        if let Some(next) = next_start.get_mut(value)
            && matched.start() >= *next
        {
            *next = matched.end();
            found.push(matched.range());
        }
    }
    Some(found)
}

/// A path opened for reading, or what was found there instead of a regular file.
enum Opened {
    File(File, Metadata),
    /// A FIFO, socket or device: not read.
    Special,
}

/// Opens a path discovery saw as a regular file, then reads its type again from the open
/// file (`fstat`, no second walk of the path). Non-blocking, so that a FIFO put in the
/// file's place since is found out here instead of blocking the open until a writer
/// appears.
fn open_then_check(path: &Path) -> Result<Opened, FileError> {
    let file = open_nonblocking(path)?;
    let metadata = file.metadata()?;
    Ok(if is_regular(&metadata)? { Opened::File(file, metadata) } else { Opened::Special })
}

/// Opens a path whose type is not known yet: looks at it first (`stat`, following links),
/// so that a FIFO, socket or device is never opened.
fn check_then_open(path: &Path) -> Result<Opened, FileError> {
    let metadata = std::fs::metadata(path)?;
    Ok(if is_regular(&metadata)? { Opened::File(open_nonblocking(path)?, metadata) } else { Opened::Special })
}

/// True for a regular file, false for a FIFO, socket or device; a directory cannot be read.
fn is_regular(metadata: &Metadata) -> Result<bool, FileError> {
    if metadata.is_dir() {
        return Err(not_a_regular_file());
    }
    Ok(metadata.is_file())
}

fn not_a_regular_file() -> FileError {
    FileError::Read(std::io::Error::other("not a regular file"))
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // Reading a regular file ignores O_NONBLOCK.
    std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

/// Reads an opened regular file as UTF-8 text, refusing what is too large or not UTF-8.
/// `metadata` is the file's, taken once by the caller for its type and size.
fn read_text(file: File, metadata: &Metadata, max_size: u64) -> Result<String, FileError> {
    if metadata.len() > max_size {
        return Err(FileError::TooLarge { size: metadata.len(), limit: max_size });
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // Read at most one byte past the limit: the file may have grown since `metadata`.
    file.take(max_size + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_size {
        return Err(FileError::TooLarge { size: bytes.len() as u64, limit: max_size });
    }
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(FileError::Utf16);
    }
    String::from_utf8(bytes).map_err(|error| FileError::NotUtf8 { offset: error.utf8_error().valid_up_to() })
}

fn failed(error: &FileError, file: Option<&SourceFile>) -> FileOutcome {
    let (region, snip) = match (error, file) {
        (FileError::Parse(parse), Some(file)) => {
            let offset = parse.offset().min(file.text.len());
            let span = offset..offset;
            (Some(file.region(span.clone())), Some(snippet(file, span, &[])))
        }
        _ => (None, None),
    };
    FileOutcome::Failed {
        error: Box::new(FileErrorInfo { code: error.code().into(), message: error.to_string(), region, snippet: snip }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the search did before it was one pass: `match_indices` per value, together.
    fn per_value(text: &str, values: &[&str]) -> Vec<Range<usize>> {
        let mut found: Vec<_> = values
            .iter()
            .flat_map(|value| text.match_indices(value).map(|(start, found)| start..start + found.len()))
            .collect();
        found.sort_by_key(|r| (r.start, r.end));
        found
    }

    #[test]
    fn occurrences_are_what_match_indices_finds_per_value() {
        let cases: &[(&str, &[&str])] = &[
            // A value overlapping itself: `match_indices` takes 0..4 and 4..8, not 1..5.
            ("aaaaaaaaa", &["aaaa"]),
            ("abababab", &["abab", "baba"]),
            // One value inside another, one across the end of another.
            ("x s3cr3t-long-s3cr3t y s3cr3t", &["s3cr3t", "s3cr3t-long-s3cr3t", "long-s3cr3t y"]),
            ("pässwörd=pässwörd", &["pässwörd", "rd=pä"]),
            ("nothing here", &["absent"]),
        ];
        for (text, values) in cases {
            let mut found = in_one_pass(text, values).unwrap();
            found.sort_by_key(|r| (r.start, r.end));
            assert_eq!(found, per_value(text, values), "{text:?} {values:?}");
        }
        // Past FEW_VALUES, `occurrences` takes the one pass.
        let text = "k0=v-0000 k1=v-1111 k2=v-2222 k3=v-3333 v-0000v-0000 k4=v-4444";
        let values: Vec<String> = (0..=FEW_VALUES).map(|n| format!("v-{}", n.to_string().repeat(4))).collect();
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let mut found = occurrences(text, &values);
        found.sort_by_key(|r| (r.start, r.end));
        assert_eq!(found, per_value(text, &values));
        assert_eq!(found.len(), 7);
    }

    #[test]
    fn nested_and_overlapping_secrets_are_merged_and_masked() {
        let text = "a: x-p4ssw0rd-x\nb: p4ssw0rd\nc: p4ssw0rd-and-more\nd: plain\n";
        let at = |needle: &str, nth: usize| {
            let start = text.match_indices(needle).nth(nth).unwrap().0;
            start..start + needle.len()
        };
        let finding = |secret: Range<usize>| Finding {
            rule: "secret-in-env",
            severity: crate::finding::Severity::Medium,
            message: String::new(),
            span: secret.clone(),
            secret: Some(secret),
            related: Vec::new(),
            pipeline: Arc::from(""),
            container: None,
            steps: Default::default(),
            fingerprint: String::new(),
        };
        // One value inside another, one overlapping another's end.
        let findings = [finding(at("x-p4ssw0rd-x", 0)), finding(at("p4ssw0rd", 1)), finding(at("d-and-more", 0))];
        let secrets = secret_ranges(text, &findings);
        assert!(secrets.windows(2).all(|pair| pair[0].end <= pair[1].start), "{secrets:?}");
        let file = SourceFile::new("f.yaml".into(), "f.yaml".to_string(), text.to_string());
        let shown = snippet(&file, 0..at("c: ", 0).end, &secrets);
        assert_eq!(shown.text, "a: ************\nb: ********\nc: *****************\nd: plain");
    }
}
