//! Source files and the conversion from byte offsets to 1-based line/column.
//!
//! Everything else in kfpguard keeps positions as byte offsets into the file
//! ([`std::ops::Range<usize>`]); only this module turns them into lines and columns, when a
//! finding is reported: all of a file's findings at once with [`SourceFile::regions`], one
//! pass over the text, or one at a time through a [`LineIndex`].

use std::cell::OnceCell;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// A file read from disk, decoded as UTF-8.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as given or discovered, used to read the file.
    pub path: PathBuf,
    /// The path shown to users and written into reports (relative, `/`-separated).
    pub display_path: String,
    /// Shared with the file's [`crate::yaml::Tree`], which keeps its source.
    pub text: Arc<String>,
    /// Built on first use: placing findings ([`SourceFile::regions`]) does without it; only
    /// snippets and single lookups need it.
    lines: OnceCell<LineIndex>,
}

impl SourceFile {
    pub fn new(path: PathBuf, display_path: String, text: String) -> Self {
        Self { path, display_path, text: Arc::new(text), lines: OnceCell::new() }
    }

    /// The start of every line.
    pub fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(&self.text))
    }

    /// 1-based start and end positions of `range` in this file.
    pub fn region(&self, range: Range<usize>) -> Region {
        let start = self.lines().position(&self.text, range.start);
        let end = self.lines().position(&self.text, range.end.max(range.start));
        Region { start, end }
    }

    /// What [`SourceFile::region`] gives for each of `spans`, in one pass over the text up
    /// to the last of them: lines are counted between consecutive offsets, a few vector
    /// instructions per 16 bytes, instead of indexing every line start of the file.
    ///
    /// The end of a span up to [`SHORT_SPAN`] bytes long (a name, an image: nearly all) is
    /// placed from its start, as the pass steps from one offset to the next, rather than
    /// sorted into the pass: half the offsets to sort. Longer spans' ends go through the
    /// pass, which keeps the whole linear in the text.
    pub fn regions(&self, spans: &[Range<usize>]) -> Vec<Region> {
        let text = self.text.as_str();
        let is_short = |span: &Range<usize>| span.end.saturating_sub(span.start) <= SHORT_SPAN;
        let ends = spans.iter().filter(|span| !is_short(span)).map(|span| span.end);
        let offsets: Vec<usize> = spans.iter().map(|span| span.start).chain(ends).collect();
        let positions = positions(text, &offsets);
        let (starts, mut long_ends) = (positions.iter(), positions[spans.len()..].iter());
        (spans.iter().zip(starts))
            .map(|(span, &start)| {
                let end = if is_short(span) {
                    let from = clamp(text, span.start);
                    let to = clamp(text, span.end).max(from);
                    // Nearly every one is on one line: a look at its few bytes says so.
                    if text.as_bytes()[from..to].iter().any(|&byte| byte == b'\n' || byte == b'\r') {
                        advance(text, start, from, to, false)
                    } else {
                        Position { line: start.line, column: start.column + text[from..to].chars().count() }
                    }
                } else {
                    long_ends.next().copied().unwrap_or(start)
                };
                Region { start, end }
            })
            .collect()
    }
}

/// The longest span whose end [`SourceFile::regions`] places from its start.
const SHORT_SPAN: usize = 256;

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
            let breaks = memchr::memchr2_iter(b'\n', b'\r', bytes).filter(|&index| ends_line(bytes, index));
            starts.extend(breaks.map(|index| index + 1));
        }
        Self { starts }
    }

    /// The 1-based position of byte `offset` of `text` (clamped to the text, and moved
    /// back to a character boundary).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let offset = clamp(text, offset);
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

/// `offset`, clamped to `text` and moved back to a character boundary: where a position is
/// taken. Never moves an offset past a larger one's.
fn clamp(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// True if byte `index` of `bytes` ends a line: a `\n`, or a `\r` not followed by `\n`
/// (`\r\n` is one break, ending at its `\n`).
fn ends_line(bytes: &[u8], index: usize) -> bool {
    match bytes[index] {
        b'\n' => true,
        b'\r' => bytes.get(index + 1) != Some(&b'\n'),
        _ => false,
    }
}

/// The position of each of `offsets` (in any order), as [`LineIndex::position`] gives it,
/// from one walk over `text` through the offsets in ascending order: from one offset to the
/// next, the line grows by the breaks in between, and the column by the characters since the
/// last of them (or since the previous offset when there is none). Linear in the text up to
/// the largest offset, however many offsets.
fn positions(text: &str, offsets: &[usize]) -> Vec<Position> {
    let bytes = text.as_bytes();
    // Most files have no `\r`: their breaks are counted without looking at the next byte.
    let only_newlines = memchr::memchr(b'\r', bytes).is_none();
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_unstable_by_key(|&index| offsets[index]);
    let mut placed = vec![Position { line: 1, column: 1 }; offsets.len()];
    let mut at = Position { line: 1, column: 1 };
    let mut from = 0;
    for index in order {
        let to = clamp(text, offsets[index]);
        at = advance(text, at, from, to, only_newlines);
        placed[index] = at;
        from = to;
    }
    placed
}

/// The position of byte `to` of `text`, byte `from` being at `at` (`from <= to`, both
/// character boundaries). `only_newlines`: the text has no `\r`, so its breaks are counted
/// without looking at the next byte.
fn advance(text: &str, at: Position, from: usize, to: usize, only_newlines: bool) -> Position {
    let bytes = text.as_bytes();
    let passed = &bytes[from..to];
    let (breaks, last_break) = if only_newlines {
        (count_newlines(passed), memchr::memrchr(b'\n', passed))
    } else {
        let mut breaks = memchr::memchr2_iter(b'\n', b'\r', passed).filter(|&i| ends_line(bytes, from + i));
        let last = breaks.next_back();
        (breaks.count() + usize::from(last.is_some()), last)
    };
    let (mut at, line_start) = match last_break {
        Some(last) => (Position { line: at.line + breaks, column: 1 }, from + last + 1),
        None => (at, from),
    };
    at.column += text[line_start..to].chars().count();
    at
}

/// How many `\n` `bytes` holds. Summed in blocks short enough for a byte per lane not to
/// overflow, which the compiler turns into vector compares and adds (a few instructions per
/// 16 bytes, where `memchr_iter(..).count()` spends tens per line).
fn count_newlines(bytes: &[u8]) -> usize {
    const BLOCK: usize = 192;
    let count = |block: &[u8]| usize::from(block.iter().fold(0u8, |sum, &byte| sum + u8::from(byte == b'\n')));
    let blocks = bytes.chunks_exact(BLOCK);
    let rest = count(blocks.remainder());
    blocks.map(count).sum::<usize>() + rest
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
    fn one_pass_positions_are_the_line_index_positions() {
        let mut next = crate::rules::tests::fixed_random(11);
        // Every kind of break, several at once, multibyte characters, long lines.
        const PIECES: &[&str] = &["a", "key: value", "\n", "\r\n", "\r", "\n\n", "\r\r\n", "é", "日本", "🦀", "x"];
        for case in 0..300 {
            let pieces = 1 + next(if case % 10 == 0 { 2000 } else { 60 });
            let text: String = (0..pieces).map(|_| PIECES[next(PIECES.len() as u64)]).collect();
            // Offsets anywhere, inside characters and past the end too, some repeated.
            let mut offsets: Vec<usize> = (0..next(40)).map(|_| next(text.len() as u64 + 8)).collect();
            offsets.extend_from_slice(&offsets.clone()[..offsets.len() / 4]);
            offsets.extend([0, text.len()]);
            let index = LineIndex::new(&text);
            let expected: Vec<Position> = offsets.iter().map(|&offset| index.position(&text, offset)).collect();
            assert_eq!(positions(&text, &offsets), expected, "{text:?} {offsets:?}");
        }
    }

    #[test]
    fn regions_are_the_line_index_regions() {
        let mut next = crate::rules::tests::fixed_random(12);
        const PIECES: &[&str] = &["a", "key: value", "\n", "\r\n", "\r", "\n\n", "é", "日本", "🦀", "x"];
        for case in 0..200 {
            let pieces = 1 + next(if case % 10 == 0 { 400 } else { 60 });
            let text: String = (0..pieces).map(|_| PIECES[next(PIECES.len() as u64)]).collect();
            // Spans short and long (past `SHORT_SPAN` too), inside characters, empty, reversed,
            // past the end.
            let spans: Vec<Range<usize>> = (0..next(30))
                .map(|_| {
                    let start = next(text.len() as u64 + 4);
                    let length = next(if case % 3 == 0 { 2 * SHORT_SPAN as u64 } else { 20 });
                    if case % 7 == 0 { start..start.saturating_sub(length) } else { start..start + length }
                })
                .collect();
            let file = SourceFile::new("f.yaml".into(), "f.yaml".to_string(), text.clone());
            let expected: Vec<Region> = spans.iter().map(|span| file.region(span.clone())).collect();
            assert_eq!(file.regions(&spans), expected, "{text:?} {spans:?}");
        }
    }

    #[test]
    fn newlines_are_counted_across_blocks() {
        for length in [0, 1, 191, 192, 193, 1000] {
            let text: Vec<u8> = (0..length).map(|i| if i % 3 == 0 { b'\n' } else { b'x' }).collect();
            assert_eq!(count_newlines(&text), text.iter().filter(|&&b| b == b'\n').count(), "{length}");
        }
        assert_eq!(count_newlines(&[b'\n'; 1000]), 1000);
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
