//! Source files and the one conversion from byte offsets to 1-based line/column.
//!
//! Everything else in kfpguard keeps positions as byte offsets into the file
//! ([`std::ops::Range<usize>`]); only [`LineIndex`] turns them into lines and
//! columns, when a finding is reported.

use std::ops::Range;
use std::path::PathBuf;

/// A file read from disk, decoded as UTF-8.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as given or discovered, used to read the file.
    pub path: PathBuf,
    /// The path shown to users and written into reports (relative, `/`-separated).
    pub display_path: String,
    pub text: String,
    pub lines: LineIndex,
}

impl SourceFile {
    pub fn new(path: PathBuf, display_path: String, text: String) -> Self {
        let lines = LineIndex::new(&text);
        Self { path, display_path, text, lines }
    }

    /// 1-based start and end positions of `range` in this file.
    pub fn region(&self, range: Range<usize>) -> Region {
        let start = self.lines.position(&self.text, range.start);
        let end = self.lines.position(&self.text, range.end.max(range.start));
        Region { start, end }
    }
}

/// A 1-based line and column; columns count Unicode scalar values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Where a finding sits in its file: 1-based, end exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Region {
    pub start: Position,
    pub end: Position,
}

/// Byte offsets of line starts. `\n`, `\r\n` and a lone `\r` all end a line, as in YAML.
#[derive(Debug, Default)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        // Jumps from break to break (SIMD) instead of testing every byte; most files have
        // no `\r` at all, and looking for one byte is faster than looking for two.
        if memchr::memchr(b'\r', bytes).is_none() {
            starts.extend(memchr::memchr_iter(b'\n', bytes).map(|index| index + 1));
        } else {
            for index in memchr::memchr2_iter(b'\n', b'\r', bytes) {
                if bytes[index] == b'\n' || bytes.get(index + 1) != Some(&b'\n') {
                    starts.push(index + 1);
                }
            }
        }
        Self { starts }
    }

    /// The 1-based position of byte `offset` of `text` (clamped to the text, and moved
    /// back to a character boundary).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line_index = self.starts.partition_point(|&start| start <= offset).saturating_sub(1);
        let line_start = self.starts.get(line_index).copied().unwrap_or(0);
        let column = text.get(line_start..offset).map_or(0, |prefix| prefix.chars().count());
        Position { line: line_index + 1, column: column + 1 }
    }

    /// The byte range of 1-based `line`, without its line break.
    pub fn line_range(&self, text: &str, line: usize) -> Range<usize> {
        let Some(&start) = self.starts.get(line.wrapping_sub(1)) else {
            return text.len()..text.len();
        };
        let next = self.starts.get(line).copied().unwrap_or(text.len());
        let mut end = next;
        let bytes = text.as_bytes();
        while end > start && matches!(bytes[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        start..end
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
}

/// Converts character indices (what the YAML parser reports) to byte offsets.
///
/// Files are nearly always ASCII, where the two are equal; otherwise a checkpoint every
/// [`CharOffsets::STRIDE`] characters keeps each lookup short whatever the file size.
#[derive(Debug)]
pub struct CharOffsets {
    /// Byte offset of every `STRIDE`-th character; empty for ASCII text.
    checkpoints: Vec<usize>,
}

impl CharOffsets {
    const STRIDE: usize = 128;

    pub fn new(text: &str) -> Self {
        if text.is_ascii() {
            return Self { checkpoints: Vec::new() };
        }
        let checkpoints = text.char_indices().step_by(Self::STRIDE).map(|(byte, _)| byte).collect();
        Self { checkpoints }
    }

    /// The byte offset of character `char_index` in `text` (the text's length past the end).
    pub fn byte_offset(&self, text: &str, char_index: usize) -> usize {
        if self.checkpoints.is_empty() {
            return char_index.min(text.len());
        }
        let checkpoint = char_index / Self::STRIDE;
        let Some(&base) = self.checkpoints.get(checkpoint) else {
            return text.len();
        };
        let rest = char_index - checkpoint * Self::STRIDE;
        text[base..].char_indices().nth(rest).map_or(text.len(), |(byte, _)| base + byte)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_chars() {
        let text = "a: 1\nbé: http://x\r\nc";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 0), Position { line: 1, column: 1 });
        let url = text.find("http").unwrap();
        assert_eq!(index.position(text, url), Position { line: 2, column: 5 });
        let c = text.rfind('c').unwrap();
        assert_eq!(index.position(text, c), Position { line: 3, column: 1 });
        assert_eq!(index.line_range(text, 2), 5..18);
    }

    #[test]
    fn every_kind_of_line_break_starts_a_line() {
        let text = "a\nb\r\nc\rd\r\r\ne\n\r";
        let index = LineIndex::new(text);
        assert_eq!(index.starts, vec![0, 2, 5, 7, 9, 11, 13, 14]);
        assert_eq!(LineIndex::new("a\nb\n\nc").starts, vec![0, 2, 4, 5]);
    }

    #[test]
    fn char_offsets_handle_multibyte_text() {
        let text = format!("{}é{}", "x".repeat(300), "y".repeat(300));
        let offsets = CharOffsets::new(&text);
        assert_eq!(offsets.byte_offset(&text, 300), 300);
        assert_eq!(offsets.byte_offset(&text, 301), 302);
        assert_eq!(offsets.byte_offset(&text, 10_000), text.len());
    }
}
