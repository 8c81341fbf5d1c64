//! A Markdown job summary (for `$GITHUB_STEP_SUMMARY`): per pipeline its verdict, score and
//! counts, then the most severe findings with links to their lines.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::Renderer;
use crate::report::{Report, ReportedFinding};

/// Findings listed in the summary; the rest are counted.
const TOP_FINDINGS: usize = 50;

/// The summary is written at the end; the renderer keeps the rows of the first
/// [`TOP_FINDINGS`] findings of each severity (the most severe are listed first).
pub struct Markdown {
    /// e.g. `https://github.com/org/repo/blob/<sha>`: turns paths into links to the line.
    link_base: Option<String>,
    /// Table rows by severity (low, medium, high), in report order.
    rows: [Vec<String>; 3],
}

impl Markdown {
    pub fn new(link_base: Option<&str>) -> Self {
        Self { link_base: link_base.map(|base| base.trim_end_matches('/').to_string()), rows: Default::default() }
    }
}

impl Renderer for Markdown {
    fn begin(&mut self, _out: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn findings(&mut self, _out: &mut dyn Write, findings: &[ReportedFinding]) -> io::Result<()> {
        for reported in findings {
            let rows = &mut self.rows[reported.finding.severity as usize];
            if rows.len() >= TOP_FINDINGS {
                continue;
            }
            let location = format!("{}:{}", reported.path, reported.region.start.line);
            let location = match &self.link_base {
                Some(base) => format!("[`{location}`]({base}/{}#L{})", reported.path, reported.region.start.line),
                None => format!("`{location}`"),
            };
            rows.push(format!(
                "| {} | `{}` | {location} | {} |\n",
                reported.finding.severity,
                reported.finding.rule,
                cell(&reported.finding.message)
            ));
        }
        Ok(())
    }

    fn end(&mut self, out: &mut dyn Write, report: &Report) -> io::Result<()> {
        let mut text = String::from("## kfpguard\n\n");
        let counts = report.counts;
        let files = report.file_counts;
        let _ = writeln!(
            text,
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
            let _ = writeln!(text, "> **Note:** {}\n", cell(note));
        }
        if !report.pipelines.is_empty() {
            text.push_str(
                "| verdict | pipeline | file | high | medium | low | score |\n|---|---|---|---:|---:|---:|---:|\n",
            );
            // Row by row: the table has a row per pipeline of the run.
            out.write_all(text.as_bytes())?;
            text.clear();
            report.pipelines.for_each(|pipeline| {
                let verdict = if pipeline.secure { "✅ secure" } else { "❌ at risk" };
                writeln!(
                    out,
                    "| {verdict} | {} | `{}` | {} | {} | {} | {} |",
                    cell(&pipeline.info.name),
                    cell(&pipeline.info.path),
                    pipeline.counts.high,
                    pipeline.counts.medium,
                    pipeline.counts.low,
                    pipeline.score
                )
            })?;
            text.push('\n');
        }
        if counts.total() > 0 {
            text.push_str("### Top findings\n\n| severity | rule | location | message |\n|---|---|---|---|\n");
            self.rows.iter().rev().flatten().take(TOP_FINDINGS).for_each(|row| text.push_str(row));
            if counts.total() > TOP_FINDINGS {
                let _ = writeln!(
                    text,
                    "\n…and {} more (see the SARIF upload or the full log).",
                    counts.total() - TOP_FINDINGS
                );
            }
        }
        out.write_all(text.as_bytes())
    }
}

/// Makes text safe inside a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
