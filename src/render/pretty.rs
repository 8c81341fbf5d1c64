//! Terminal output: one miette diagnostic per finding (source snippet, rule id, context,
//! how to fix), streamed file by file, then a summary table per pipeline.

use std::fmt::Write as _;
use std::io::{self, Write};

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents, SourceCode,
    SourceSpan, SpanContents,
};

use super::Renderer;
use crate::finding::Severity;
use crate::report::{FileOutcome, Report, ReportedFinding, Snippet};
use crate::rules;

/// How to draw.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
    /// Terminal width for wrapping.
    pub width: usize,
    /// Also list skipped files and documents.
    pub verbose: bool,
    /// Only the diagnostics: no notes, no summary.
    pub quiet: bool,
}

/// Streams miette diagnostics, then the summary.
pub struct Pretty {
    style: Style,
    handler: GraphicalReportHandler,
    text: String,
}

impl Pretty {
    pub fn new(style: Style) -> Self {
        let theme = if style.color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
        let handler =
            GraphicalReportHandler::new_themed(theme).with_width(style.width).with_wrap_lines(false).with_links(false);
        Self { style, handler, text: String::new() }
    }
}

impl Renderer for Pretty {
    fn begin(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn findings(&mut self, out: &mut dyn Write, findings: &[ReportedFinding]) -> io::Result<()> {
        for reported in findings {
            self.text.clear();
            let diagnostic = FindingDiagnostic::new(reported);
            if self.handler.render_report(&mut self.text, &diagnostic).is_err() {
                // Rendering into a String cannot fail but for a bug in a Display impl: fall back.
                self.text.clear();
                let _ = writeln!(
                    self.text,
                    "{}:{}:{}: {} {}",
                    reported.path,
                    reported.region.start.line,
                    reported.region.start.column,
                    reported.finding.rule,
                    reported.finding.message
                );
            }
            self.text.push('\n');
            out.write_all(self.text.as_bytes())?;
        }
        Ok(())
    }

    fn end(&mut self, out: &mut dyn Write, report: &Report) -> io::Result<()> {
        if self.style.quiet {
            return Ok(());
        }
        summary(out, report, self.style.verbose)
    }
}

/// Skipped files, the table of pipelines and the totals. Written line by line: both lists
/// have an entry per file or pipeline of the run.
fn summary(out: &mut dyn Write, report: &Report, verbose: bool) -> io::Result<()> {
    report.files.for_each(|file| {
        if let FileOutcome::Skipped { reason } = &file.outcome {
            if file.explicit {
                writeln!(out, "note: {}: not a pipeline kfpguard understands ({reason})", file.path)?;
            } else if verbose {
                writeln!(out, "skipped: {}: {reason}", file.path)?;
            }
        }
        Ok(())
    })?;
    if !report.pipelines.is_empty() {
        let (mut path_width, mut name_width) = (4, 8);
        report.pipelines.for_each(|pipeline| {
            path_width = path_width.max(pipeline.info.path.chars().count());
            name_width = name_width.max(pipeline.info.name.chars().count());
            Ok(())
        })?;
        writeln!(
            out,
            "{:<path_width$}  {:<name_width$}  {:>4}  {:>6}  {:>3}  {:>5}  verdict",
            "file", "pipeline", "high", "medium", "low", "score"
        )?;
        report.pipelines.for_each(|pipeline| {
            let verdict = if pipeline.secure { "secure" } else { "at risk" };
            writeln!(
                out,
                "{:<path_width$}  {:<name_width$}  {:>4}  {:>6}  {:>3}  {:>5}  {verdict}",
                pipeline.info.path,
                pipeline.info.name,
                pipeline.counts.high,
                pipeline.counts.medium,
                pipeline.counts.low,
                pipeline.score
            )
        })?;
        writeln!(out)?;
    }
    let files = report.file_counts;
    let counts = report.counts;
    writeln!(
        out,
        "{} files linted ({} skipped, {} failed), {} pipelines, {} containers: {} findings ({} high, {} medium, {} low), risk score {}",
        files.linted,
        files.skipped,
        files.failed,
        report.pipelines.len(),
        report.containers,
        counts.total(),
        counts.high,
        counts.medium,
        counts.low,
        report.score
    )
}

/// A finding as a miette diagnostic over its snippet.
struct FindingDiagnostic<'r> {
    reported: &'r ReportedFinding,
    /// `None` if the lint cut no snippet (a library caller may not ask for them).
    source: Option<SnippetSource<'r>>,
    help: String,
}

impl<'r> FindingDiagnostic<'r> {
    fn new(reported: &'r ReportedFinding) -> Self {
        let finding = &reported.finding;
        let mut context = format!("pipeline `{}`", finding.pipeline);
        if !finding.steps.is_empty() {
            let _ = write!(
                context,
                ", task {}",
                finding.steps.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
            );
        }
        if let Some(container) = &finding.container {
            let _ = write!(context, ", container `{container}`");
        }
        let mut help = format!("in {context}");
        for (region, message) in &reported.related {
            let _ = write!(help, "\n{message} at {}:{}:{}", reported.path, region.start.line, region.start.column);
        }
        if let Some(rule) = rules::find(finding.rule) {
            let _ = write!(help, "\nfix: {} (kfpguard --explain {})", rule.meta.help, rule.meta.id);
        }
        let source = reported.snippet.as_ref().map(|snippet| SnippetSource { reported, snippet });
        Self { reported, source, help }
    }
}

impl std::fmt::Debug for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reported.finding.message)
    }
}

impl std::fmt::Display for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reported.finding.message)
    }
}

impl std::error::Error for FindingDiagnostic<'_> {}

impl Diagnostic for FindingDiagnostic<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(format!("{}({})", self.reported.finding.rule, self.reported.finding.severity)))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.reported.finding.severity {
            Severity::High => miette::Severity::Error,
            Severity::Medium => miette::Severity::Warning,
            Severity::Low => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(&self.help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|source| source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = &self.source.as_ref()?.snippet.span;
        let label = LabeledSpan::new_primary_with_span(
            Some(self.reported.finding.rule.to_string()),
            SourceSpan::new(span.start.into(), span.len()),
        );
        Some(Box::new(std::iter::once(label)))
    }
}

/// The snippet as miette source, reporting the real line numbers and the finding's column.
struct SnippetSource<'r> {
    reported: &'r ReportedFinding,
    snippet: &'r Snippet,
}

impl SourceCode for SnippetSource<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let contents = self.snippet.text.read_span(span, before, after)?;
        let line = contents.line() + self.snippet.first_line - 1;
        let column = if span.offset() == self.snippet.span.start {
            self.reported.region.start.column - 1
        } else {
            contents.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.reported.path.to_string(),
            contents.data(),
            *contents.span(),
            line,
            column,
            contents.line_count(),
        )))
    }
}
