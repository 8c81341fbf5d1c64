//! GitHub Actions workflow commands (`::error file=…,line=…::message`), most severe first,
//! within GitHub's per-step annotation limits; what does not fit is counted in one line.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::Renderer;
use crate::finding::Severity;
use crate::report::{FileOutcome, Report, ReportedFinding};

/// GitHub shows at most this many annotations of each level per step.
pub const MAX_PER_LEVEL: usize = 10;

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "notice",
    }
}

/// Escapes a workflow-command message.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a workflow-command property value.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Annotations are written at the end, most severe first: the renderer keeps the first
/// [`MAX_PER_LEVEL`] of each level and counts the rest.
#[derive(Default)]
pub struct Github {
    /// Annotation lines by severity (low, medium, high), in report order.
    shown: [Vec<String>; 3],
    not_shown: usize,
}

impl Github {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Renderer for Github {
    fn begin(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn findings(&mut self, _out: &mut dyn Write, findings: &[ReportedFinding]) -> io::Result<()> {
        for reported in findings {
            let finding = &reported.finding;
            let shown = &mut self.shown[finding.severity as usize];
            if shown.len() >= MAX_PER_LEVEL {
                self.not_shown += 1;
                continue;
            }
            let region = reported.region;
            shown.push(format!(
                "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
                level(finding.severity),
                escape_property(&reported.path),
                region.start.line,
                region.start.column,
                region.end.line,
                region.end.column,
                escape_property(&format!("kfpguard {} ({})", finding.rule, finding.severity)),
                escape_data(&finding.message),
            ));
        }
        Ok(())
    }

    fn end(&mut self, out: &mut dyn Write, report: &Report) -> io::Result<()> {
        let mut text = String::new();
        report.files.for_each(|file| {
            if let FileOutcome::Failed { error } = &file.outcome {
                let line = error.region.map(|r| format!(",line={}", r.start.line)).unwrap_or_default();
                let _ = writeln!(
                    text,
                    "::error file={}{line},title={}::{}",
                    escape_property(&file.path),
                    escape_property(&error.code),
                    escape_data(&error.message)
                );
            }
            Ok(())
        })?;
        self.shown.iter().rev().flatten().for_each(|line| text.push_str(line));
        let counts = report.counts;
        let _ = write!(
            text,
            "kfpguard: {} findings ({} high, {} medium, {} low) in {} pipelines, risk score {}",
            counts.total(),
            counts.high,
            counts.medium,
            counts.low,
            report.pipelines.len(),
            report.score
        );
        if self.not_shown > 0 {
            let _ = write!(
                text,
                "; {} not annotated (GitHub shows {MAX_PER_LEVEL} per level): see the SARIF upload or the job summary",
                self.not_shown
            );
        }
        text.push('\n');
        out.write_all(text.as_bytes())
    }
}
