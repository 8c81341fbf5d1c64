//! A Markdown job summary (for `$GITHUB_STEP_SUMMARY`): per pipeline its verdict, score and
//! counts, then the most severe findings with links to their lines.

use std::fmt::Write;

use crate::report::Report;

/// Findings listed in the summary; the rest are counted.
const TOP_FINDINGS: usize = 50;

/// `link_base`, when given (e.g. `https://github.com/org/repo/blob/<sha>`), turns paths into
/// links to the exact line.
pub fn render(report: &Report, link_base: Option<&str>) -> String {
    let mut out = String::from("## kfpguard\n\n");
    let counts = report.counts;
    let files = report.file_counts;
    let _ = writeln!(
        out,
        "{} findings ({} high, {} medium, {} low) in {} pipelines, {} containers; {} files linted, {} skipped, {} failed. Risk score **{}**.\n",
        counts.total(),
        counts.high,
        counts.medium,
        counts.low,
        report.pipelines.len(),
        report.containers,
        files.linted,
        files.skipped,
        files.failed,
        report.score
    );
    for note in &report.notes {
        let _ = writeln!(out, "> **Note:** {}\n", cell(note));
    }
    if !report.pipelines.is_empty() {
        out.push_str(
            "| verdict | pipeline | file | high | medium | low | score |\n|---|---|---|---:|---:|---:|---:|\n",
        );
        for pipeline in &report.pipelines {
            let verdict = if pipeline.secure { "✅ secure" } else { "❌ at risk" };
            let _ = writeln!(
                out,
                "| {verdict} | {} | `{}` | {} | {} | {} | {} |",
                cell(&pipeline.info.name),
                cell(&pipeline.info.path),
                pipeline.counts.high,
                pipeline.counts.medium,
                pipeline.counts.low,
                pipeline.score
            );
        }
        out.push('\n');
    }
    if report.findings.is_empty() {
        return out;
    }
    let mut ordered: Vec<_> = report.findings.iter().collect();
    ordered.sort_by_key(|reported| std::cmp::Reverse(reported.finding.severity));
    out.push_str("### Top findings\n\n| severity | rule | location | message |\n|---|---|---|---|\n");
    for reported in ordered.iter().take(TOP_FINDINGS) {
        let location = format!("{}:{}", reported.path, reported.region.start.line);
        let location = match link_base {
            Some(base) => format!(
                "[`{location}`]({}/{}#L{})",
                base.trim_end_matches('/'),
                reported.path,
                reported.region.start.line
            ),
            None => format!("`{location}`"),
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {location} | {} |",
            reported.finding.severity,
            reported.finding.rule,
            cell(&reported.finding.message)
        );
    }
    if report.findings.len() > TOP_FINDINGS {
        let _ = writeln!(
            out,
            "\n…and {} more (see the SARIF upload or the full log).",
            report.findings.len() - TOP_FINDINGS
        );
    }
    out
}

/// Makes text safe inside a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
