//! GitHub Actions workflow commands (`::error file=…,line=…::message`), most severe first,
//! within GitHub's per-step annotation limits; what does not fit is counted in one line.

use std::fmt::Write;

use crate::finding::Severity;
use crate::report::{FileOutcome, Report};

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

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    for file in &report.files {
        if let FileOutcome::Failed { error } = &file.outcome {
            let line = error.region.map(|r| format!(",line={}", r.start.line)).unwrap_or_default();
            let _ = writeln!(
                out,
                "::error file={}{line},title={}::{}",
                escape_property(&file.path),
                escape_property(error.code),
                escape_data(&error.message)
            );
        }
    }
    let mut ordered: Vec<_> = report.findings.iter().collect();
    // Most severe first; the report's order (path, position) within a severity.
    ordered.sort_by_key(|reported| std::cmp::Reverse(reported.finding.severity));
    let mut shown = [0usize; 3];
    let mut skipped = 0;
    for reported in ordered {
        let finding = &reported.finding;
        let slot = finding.severity as usize;
        if shown[slot] >= MAX_PER_LEVEL {
            skipped += 1;
            continue;
        }
        shown[slot] += 1;
        let region = reported.region;
        let _ = writeln!(
            out,
            "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            level(finding.severity),
            escape_property(&reported.path),
            region.start.line,
            region.start.column,
            region.end.line,
            region.end.column,
            escape_property(&format!("kfpguard {} ({})", finding.rule, finding.severity)),
            escape_data(&finding.message),
        );
    }
    let counts = report.counts;
    let _ = write!(
        out,
        "kfpguard: {} findings ({} high, {} medium, {} low) in {} pipelines, risk score {}",
        counts.total(),
        counts.high,
        counts.medium,
        counts.low,
        report.pipelines.len(),
        report.score
    );
    if skipped > 0 {
        let _ = write!(
            out,
            "; {skipped} not annotated (GitHub shows {MAX_PER_LEVEL} per level): see the SARIF upload or the job summary"
        );
    }
    out.push('\n');
    out
}
