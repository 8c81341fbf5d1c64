//! Renderers write the report while it is built: [`Renderer::begin`] once, then
//! [`Renderer::findings`] once per file in report order with that file's findings, then
//! [`Renderer::end`] with the run's totals. Findings are not kept after their call, so
//! memory does not grow with the size of the run; a renderer that must order or count
//! across files (annotations, the job summary) keeps only what it will print.

pub mod github;
pub mod json;
mod json_writer;
pub mod markdown;
pub mod pretty;
pub mod sarif;

use std::io::{self, Write};

use crate::policy::Policy;
use crate::report::{FileResult, Report, ReportBuilder, ReportedFinding};

/// One output format, written incrementally.
pub trait Renderer {
    /// Before the first file.
    fn begin(&mut self, out: &mut dyn Write) -> io::Result<()>;
    /// One file's findings (possibly none), sorted by position.
    fn findings(&mut self, out: &mut dyn Write, findings: &[ReportedFinding]) -> io::Result<()>;
    /// After the last file.
    fn end(&mut self, out: &mut dyn Write, report: &Report) -> io::Result<()>;
}

/// Renders complete results at once (tests, benchmarks, examples; the CLI streams):
/// sorts them by path, applies `policy`, returns the output and the report.
pub fn to_string(renderer: &mut dyn Renderer, mut results: Vec<FileResult>, policy: &Policy) -> (String, Report) {
    results.sort_by(|a, b| a.path.cmp(&b.path));
    let mut builder = ReportBuilder::new(policy);
    let files: Vec<Vec<ReportedFinding>> = results.into_iter().map(|result| builder.add(result)).collect();
    let report = builder.finish();
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write_all(renderer, &mut out, &files, &report);
    (String::from_utf8_lossy(&out).into_owned(), report)
}

/// Renders findings already through the policy (one batch per file, in report order) and
/// the report, in one go.
pub fn write_all(
    renderer: &mut dyn Renderer,
    out: &mut dyn Write,
    files: &[Vec<ReportedFinding>],
    report: &Report,
) -> io::Result<()> {
    renderer.begin(out)?;
    for findings in files {
        renderer.findings(out, findings)?;
    }
    renderer.end(out, report)
}

/// Writes `value` as pretty-printed JSON whose lines after the first are indented by
/// `indent` spaces, so it can be placed inside a document written piece by piece and
/// still read exactly as `serde_json::to_writer_pretty` would print the whole.
fn write_json(
    out: &mut dyn Write,
    value: &impl serde::Serialize,
    indent: usize,
    scratch: &mut Vec<u8>,
) -> io::Result<()> {
    scratch.clear();
    let mut serializer = serde_json::Serializer::with_formatter(&mut *scratch, IndentedFormatter::at(indent));
    value.serialize(&mut serializer)?;
    out.write_all(scratch)
}

/// serde_json's pretty layout (two spaces per level) starting `base` spaces to the right.
struct IndentedFormatter {
    base: usize,
    depth: usize,
    has_value: bool,
}

impl IndentedFormatter {
    fn at(base: usize) -> Self {
        Self { base, depth: 0, has_value: false }
    }

    fn open<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        writer.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, writer: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.new_line(writer)?;
        }
        writer.write_all(bracket)
    }

    fn new_line<W: ?Sized + Write>(&self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b"\n")?;
        write_spaces(writer, self.base + 2 * self.depth)
    }

    fn separate<W: ?Sized + Write>(&self, writer: &mut W, first: bool) -> io::Result<()> {
        if !first {
            writer.write_all(b",")?;
        }
        self.new_line(writer)
    }
}

impl serde_json::ser::Formatter for IndentedFormatter {
    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.separate(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.open(writer, b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.close(writer, b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.separate(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _writer: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

fn write_spaces<W: ?Sized + Write>(out: &mut W, count: usize) -> io::Result<()> {
    const SPACES: &[u8] = b"                                ";
    let mut left = count;
    while left > 0 {
        let chunk = left.min(SPACES.len());
        out.write_all(&SPACES[..chunk])?;
        left -= chunk;
    }
    Ok(())
}

/// Writes one element of a JSON array being streamed at depth `indent`: the separator,
/// the line break and indentation, then the element.
fn write_json_element(
    out: &mut dyn Write,
    value: &impl serde::Serialize,
    index: usize,
    indent: usize,
    scratch: &mut Vec<u8>,
) -> io::Result<()> {
    out.write_all(if index == 0 { b"\n" } else { b",\n" })?;
    write_spaces(out, indent)?;
    write_json(out, value, indent, scratch)
}

/// Closes a JSON array streamed at depth `indent` (its `[` already written) as serde_json's
/// pretty printer would: `[]` when empty, else `]` on its own line.
fn close_json_array(out: &mut dyn Write, elements: usize, indent: usize) -> io::Result<()> {
    if elements > 0 {
        out.write_all(b"\n")?;
        write_spaces(out, indent)?;
    }
    out.write_all(b"]")
}
