//! Maps every byte of a decoded YAML/JSON scalar back to its byte offset in the file.
//!
//! saphyr hands us a scalar's decoded value and a span; rules search the decoded value (shell
//! and Python sources embedded in quoted, folded and block scalars) but must report where a
//! match is written in the file. [`map_scalar`] re-walks the scalar's source text with the YAML
//! rules of its style and records, for each decoded run, the source bytes it came from:
//! copied text maps byte for byte, escapes and folded line breaks map to the source bytes they
//! stand for.
//!
//! What saphyr-parser 0.3.4's event span covers (character indices, which the caller turns
//! into byte offsets; `\r` of a CRLF counts as one character):
//!
//! * every style: a tag or anchor written before the scalar is included, so the span starts
//!   at the first `!` / `&` of the node's properties;
//! * plain: exactly the first to the last non-blank character, folded lines included;
//! * single/double-quoted: the opening quote up to the closing quote *plus* the blanks and
//!   the comment that follow it on the same line;
//! * literal/folded block: with properties, from the properties (so the `|`/`>` header is
//!   inside); without them, from the first content character of the first non-empty line
//!   (after its indentation: the header and the leading empty lines are *before* the span);
//!   a block with no content line spans from the header (at end of stream) or is empty at
//!   the next token. The end is past the last line break and the blank lines that follow,
//!   plus the indentation of the next line up to the block's indent.
//!
//! Hence only the plain style relies on `end`; the other styles find their own end.
//!
//! The result always decodes to exactly `value`: a walk that does not reproduce `value`
//! (input this module does not understand, or a saphyr decoding quirk it does not know) is
//! thrown away for a coarser map. This module never panics on input, never parses YAML
//! structure (that is saphyr's job) and never computes lines or columns.

use saphyr_parser::ScalarStyle;

use crate::text::MappedText;

/// Maps the decoded `value` of one scalar to byte offsets in `source`.
///
/// `source`: the whole file text. `start..end`: the scalar event's span converted to byte
/// offsets (see the module doc for what it covers per style). `style`: the style saphyr
/// reported. `value`: saphyr's decoded value.
///
/// The result's `as_str()` is always `value`. When the scalar's source cannot be re-walked to
/// `value`, each line of `value` is mapped to where it is found verbatim inside the span, and
/// whatever is not found maps to the span as a whole.
pub fn map_scalar(source: &str, start: usize, end: usize, style: ScalarStyle, value: &str) -> MappedText {
    if value.is_empty() {
        return MappedText::new();
    }
    map_precise(source, start, end, style, value).unwrap_or_else(|| map_coarse(source, start, end, value))
}

/// The exact map of `value`, or `None` when the source does not re-walk to `value`.
fn map_precise(source: &str, start: usize, end: usize, style: ScalarStyle, value: &str) -> Option<MappedText> {
    if !source.is_char_boundary(start) {
        return None;
    }
    let end = end.clamp(start, source.len());
    let mapped = match style {
        ScalarStyle::Plain => plain(source, start, end)?,
        ScalarStyle::SingleQuoted => quoted(source, start, b'\'')?,
        ScalarStyle::DoubleQuoted => quoted(source, start, b'"')?,
        ScalarStyle::Literal => return block(source, start, true, value),
        ScalarStyle::Folded => return block(source, start, false, value),
    };
    (mapped.as_str() == value).then_some(mapped)
}

fn is_break(byte: u8) -> bool {
    byte == b'\n' || byte == b'\r'
}

fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// The end of the line break starting at `at` (`\r\n`, `\r` or `\n`, as saphyr reads them).
fn break_end(bytes: &[u8], at: usize) -> usize {
    if bytes.get(at) == Some(&b'\r') && bytes.get(at + 1) == Some(&b'\n') { at + 2 } else { at + 1 }
}

/// The first position at or after `at` that is not a space or a tab.
fn skip_blanks(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|&b| is_blank(b)) {
        at += 1;
    }
    at
}

/// The first position at or after `at` that is not a space, stopping after `max` spaces
/// (tabs are never indentation).
fn skip_spaces(bytes: &[u8], at: usize, max: usize) -> usize {
    let limit = at.saturating_add(max).min(bytes.len());
    let mut pos = at;
    while pos < limit && bytes[pos] == b' ' {
        pos += 1;
    }
    pos
}

/// The first line break (or the end of the text) at or after `at`.
fn find_break(bytes: &[u8], at: usize) -> usize {
    let rest = bytes.get(at..).unwrap_or_default();
    rest.iter().position(|&b| is_break(b)).map_or(bytes.len(), |offset| at + offset)
}

/// Skips the node properties (`!tag`, `&anchor`) starting at `at` and the separation after
/// them, which may span lines and comments.
fn skip_properties(bytes: &[u8], mut at: usize) -> usize {
    while let Some(&(b'!' | b'&')) = bytes.get(at) {
        if bytes.get(at + 1) == Some(&b'<') {
            // A verbatim tag `!<...>` may hold characters that end other tags.
            while bytes.get(at).is_some_and(|&b| b != b'>') {
                at += 1;
            }
        }
        while bytes
            .get(at)
            .is_some_and(|&b| !is_blank(b) && !is_break(b) && !matches!(b, b',' | b'[' | b']' | b'{' | b'}'))
        {
            at += 1;
        }
        loop {
            match bytes.get(at) {
                Some(&b) if is_blank(b) || is_break(b) => at += 1,
                Some(b'#') => at = find_break(bytes, at),
                _ => break,
            }
        }
    }
    at
}

/// Appends `source[from..to]` as copied text.
fn push_source(out: &mut MappedText, source: &str, from: usize, to: usize) -> Option<()> {
    out.push_verbatim(source.get(from..to)?, from);
    Some(())
}

/// Appends the `\n` that the line break at `from..to` reads as.
fn push_break(out: &mut MappedText, from: usize, to: usize) {
    if to == from + 1 {
        // Copied (`\n`, or a lone `\r` mapped byte for byte): a block of LF lines stays one
        // piece.
        out.push_verbatim("\n", from);
    } else {
        out.push_char('\n', from..to);
    }
}

/// Folds the line break at `brk` of a flow scalar (plain or quoted) and the lines after it,
/// returning the position of the next content character. Every empty line gives a `\n` that
/// maps to that line's break; with none, the break becomes one space standing for the blanks
/// and break from `blanks_start` to the next content (an escaped break, `\` + break in a
/// double-quoted scalar, gives nothing).
fn fold(out: &mut MappedText, bytes: &[u8], blanks_start: usize, brk: usize, escaped: bool) -> usize {
    let mut pos = break_end(bytes, brk);
    let mut empty_lines = false;
    loop {
        let next = skip_blanks(bytes, pos);
        match bytes.get(next) {
            Some(&b) if is_break(b) => {
                let end = break_end(bytes, next);
                push_break(out, next, end);
                empty_lines = true;
                pos = end;
            }
            _ => {
                pos = next;
                break;
            }
        }
    }
    if !escaped && !empty_lines {
        out.push_decoded(" ", blanks_start..pos);
    }
    pos
}

/// The start of the trailing blanks of `bytes[from..to]`: they are dropped before a fold.
fn trim_blanks_end(bytes: &[u8], from: usize, mut to: usize) -> usize {
    while to > from && is_blank(bytes[to - 1]) {
        to -= 1;
    }
    to
}

/// A plain scalar: its span is exactly its text, so only folds need decoding.
fn plain(source: &str, start: usize, end: usize) -> Option<MappedText> {
    let bytes = source.as_bytes();
    let start = skip_properties(bytes, start);
    if start >= end {
        return None;
    }
    let mut out = MappedText::new();
    let mut pos = start;
    loop {
        // Bounded by `end`: a minified JSON file is one long line of short scalars.
        let brk = find_break(bytes.get(..end)?, pos);
        if brk >= end {
            push_source(&mut out, source, pos, end)?;
            return Some(out);
        }
        let text_end = trim_blanks_end(bytes, pos, brk);
        push_source(&mut out, source, pos, text_end)?;
        pos = fold(&mut out, bytes, text_end, brk, false);
    }
}

/// A single- (`quote` = `'`) or double-quoted (`"`) scalar, walked to its closing quote.
fn quoted(source: &str, start: usize, quote: u8) -> Option<MappedText> {
    let bytes = source.as_bytes();
    let open = skip_properties(bytes, start);
    if bytes.get(open) != Some(&quote) {
        return None;
    }
    let double = quote == b'"';
    let mut out = MappedText::new();
    // `text` is where the run of copied text not yet pushed starts.
    let mut text = open + 1;
    let mut pos = text;
    loop {
        let at = pos + quoted_stop(bytes.get(pos..)?, quote)?;
        match bytes[at] {
            b'\'' if !double && bytes.get(at + 1) == Some(&b'\'') => {
                // `''` reads as its first quote.
                push_source(&mut out, source, text, at + 1)?;
                pos = at + 2;
                text = pos;
            }
            b'\\' => {
                push_source(&mut out, source, text, at)?;
                pos = escape(&mut out, source, at)?;
                text = pos;
            }
            b if b == quote => {
                push_source(&mut out, source, text, at)?;
                return Some(out);
            }
            _ => {
                let text_end = trim_blanks_end(bytes, text, at);
                push_source(&mut out, source, text, text_end)?;
                pos = fold(&mut out, bytes, text_end, at, false);
                text = pos;
            }
        }
    }
}

/// The offset in `rest` of the first byte a quoted scalar must look at: its quote, a line
/// break, or (double-quoted) a backslash. memchr skips the copied text between them, which
/// may be kilobytes of embedded source.
fn quoted_stop(rest: &[u8], quote: u8) -> Option<usize> {
    if quote == b'\'' {
        return memchr::memchr3(quote, b'\n', b'\r', rest);
    }
    // Four bytes to look for and memchr3 takes three: a `\r` (only in files with CR or CRLF
    // line ends) is looked for in the run the search skipped.
    let found = memchr::memchr3(quote, b'\\', b'\n', rest);
    memchr::memchr(b'\r', &rest[..found.unwrap_or(rest.len())]).or(found)
}

/// Decodes the double-quoted escape at `at` (its `\`) into `out`; returns the position after
/// it. JSON's UTF-16 surrogate pairs (`\ud83d\ude00`) are joined, although saphyr 0.3.4
/// rejects them, so that a value decoded by another parser still maps.
fn escape(out: &mut MappedText, source: &str, at: usize) -> Option<usize> {
    let bytes = source.as_bytes();
    let decoded = match *bytes.get(at + 1)? {
        b'\r' | b'\n' => return Some(fold(out, bytes, at, at + 1, true)),
        b'0' => '\0',
        b'a' => '\x07',
        b'b' => '\x08',
        b't' | b'\t' => '\t',
        b'n' => '\n',
        b'v' => '\x0b',
        b'f' => '\x0c',
        b'r' => '\r',
        b'e' => '\x1b',
        b' ' => ' ',
        b'"' => '"',
        b'/' => '/',
        b'\\' => '\\',
        b'N' => '\u{85}',
        b'_' => '\u{a0}',
        b'L' => '\u{2028}',
        b'P' => '\u{2029}',
        b'x' => return hex_escape(out, source, at, 2),
        b'u' => return hex_escape(out, source, at, 4),
        b'U' => return hex_escape(out, source, at, 8),
        _ => return None,
    };
    out.push_char(decoded, at..at + 2);
    Some(at + 2)
}

/// Decodes `\x`, `\u` or `\U` at `at` with `digits` hex digits.
fn hex_escape(out: &mut MappedText, source: &str, at: usize, digits: usize) -> Option<usize> {
    let mut end = at + 2 + digits;
    let mut code = hex_value(source.get(at + 2..end)?)?;
    if digits == 4 && (0xD800..0xDC00).contains(&code) && source.get(end..end + 2) == Some("\\u") {
        let low = hex_value(source.get(end + 2..end + 6)?)?;
        if (0xDC00..0xE000).contains(&low) {
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            end += 6;
        }
    }
    out.push_char(char::from_u32(code)?, at..end);
    Some(end)
}

/// The value of a string of ASCII hex digits (no sign, unlike `from_str_radix`).
fn hex_value(digits: &str) -> Option<u32> {
    digits.bytes().try_fold(0u32, |acc, b| Some((acc << 4) | char::from(b).to_digit(16)?))
}

/// A literal (`|`) or folded (`>`) block scalar.
///
/// The span starts at the properties, at the header, or at the first content character (see
/// the module doc), and a content line may itself begin with `!`, `&`, `|` or `>`: the header
/// reading is tried first and kept only if it re-walks to `value`.
fn block(source: &str, start: usize, literal: bool, value: &str) -> Option<MappedText> {
    let bytes = source.as_bytes();
    // The value's leading line breaks are the empty lines before the first content line.
    let leading = value.bytes().take_while(|&b| b == b'\n').count();
    if let Some(b'!' | b'&' | b'|' | b'>') = bytes.get(start)
        && let Some(mapped) = block_from_header(source, start, literal, leading, value)
    {
        return Some(mapped);
    }
    if leading == value.len() {
        return breaks_before(bytes, start, leading);
    }
    block_from_content(source, start, literal, leading, value)
}

/// The position after the line break that ends the block header found at `start` (after the
/// node's properties, if any), or the end of the text when the header ends it.
fn header_end(bytes: &[u8], start: usize, literal: bool) -> Option<usize> {
    let header = skip_properties(bytes, start);
    if bytes.get(header) != Some(if literal { &b'|' } else { &b'>' }) {
        return None;
    }
    // The chomping and indentation indicators are not needed: the value shows their effect.
    let mut pos = header + 1;
    while bytes.get(pos).is_some_and(|&b| matches!(b, b'+' | b'-' | b'1'..=b'9')) {
        pos += 1;
    }
    pos = skip_blanks(bytes, pos);
    if bytes.get(pos) == Some(&b'#') {
        pos = find_break(bytes, pos);
    }
    match bytes.get(pos) {
        None => Some(pos),
        Some(&b) if is_break(b) => Some(break_end(bytes, pos)),
        Some(_) => None,
    }
}

/// Appends the line breaks of `count` empty lines from `pos` (at most `max_spaces` spaces
/// each) and returns the position after them, or `None` when a line is not empty.
fn push_empty_lines(
    out: &mut MappedText,
    bytes: &[u8],
    mut pos: usize,
    count: usize,
    max_spaces: usize,
) -> Option<usize> {
    for _ in 0..count {
        let brk = skip_spaces(bytes, pos, max_spaces);
        if !bytes.get(brk).is_some_and(|&b| is_break(b)) {
            return None;
        }
        let end = break_end(bytes, brk);
        push_break(out, brk, end);
        pos = end;
    }
    Some(pos)
}

/// The block whose span starts at its properties or header.
fn block_from_header(source: &str, start: usize, literal: bool, leading: usize, value: &str) -> Option<MappedText> {
    let bytes = source.as_bytes();
    let leading_start = header_end(bytes, start, literal)?;
    if leading == value.len() {
        // No content line: saphyr spans from the header only when the text ends in the block;
        // a last blank line without a break still reads as one `\n`, mapped to the end.
        let mut out = MappedText::new();
        let mut pos = leading_start;
        for _ in 0..leading {
            let brk = skip_spaces(bytes, pos, usize::MAX);
            match bytes.get(brk) {
                Some(&b) if is_break(b) => {
                    let end = break_end(bytes, brk);
                    push_break(&mut out, brk, end);
                    pos = end;
                }
                None => out.push_decoded("\n", bytes.len()..bytes.len()),
                Some(_) => return None,
            }
        }
        return (out.as_str() == value).then_some(out);
    }
    let mut line = leading_start;
    for _ in 0..leading {
        let brk = skip_spaces(bytes, line, usize::MAX);
        if !bytes.get(brk).is_some_and(|&b| is_break(b)) {
            return None;
        }
        line = break_end(bytes, brk);
    }
    // The first content line is the block's indentation followed by the value's first line,
    // which may itself start with spaces (after an indentation indicator).
    let value_spaces = value.get(leading..)?.bytes().take_while(|&b| b == b' ').count();
    let line_spaces = skip_spaces(bytes, line, usize::MAX) - line;
    let indent = line_spaces.checked_sub(value_spaces)?;
    block_lines(source, leading_start, leading, line, indent, literal, value)
}

/// The start of the line holding `at`, if only spaces come before `at` on it.
fn indented_line_start(bytes: &[u8], at: usize) -> Option<usize> {
    let line = bytes.get(..at)?.iter().rposition(|&b| is_break(b)).map_or(0, |brk| brk + 1);
    bytes[line..at].iter().all(|&b| b == b' ').then_some(line)
}

/// The start of the `count` empty lines (spaces only) that end right before `line`.
fn empty_lines_before(bytes: &[u8], line: usize, count: usize) -> Option<usize> {
    let mut pos = line;
    for _ in 0..count {
        // Step back over the line break ending the previous line, then over its spaces.
        let mut brk = pos.checked_sub(1)?;
        if !is_break(bytes[brk]) {
            return None;
        }
        if bytes[brk] == b'\n' && brk > 0 && bytes[brk - 1] == b'\r' {
            brk -= 1;
        }
        pos = brk;
        while pos > 0 && bytes[pos - 1] == b' ' {
            pos -= 1;
        }
        if pos == 0 || !is_break(bytes[pos - 1]) {
            return None;
        }
    }
    Some(pos)
}

/// A block with no content line whose span is empty at the next token: its `count` line
/// breaks are those of the empty lines right before that token's line.
fn breaks_before(bytes: &[u8], start: usize, count: usize) -> Option<MappedText> {
    let line = indented_line_start(bytes, start)?;
    let first = empty_lines_before(bytes, line, count)?;
    let mut out = MappedText::new();
    push_empty_lines(&mut out, bytes, first, count, usize::MAX)?;
    Some(out)
}

/// The block whose span starts at the first content character, after its indentation.
fn block_from_content(source: &str, start: usize, literal: bool, leading: usize, value: &str) -> Option<MappedText> {
    let bytes = source.as_bytes();
    let line = indented_line_start(bytes, start)?;
    let leading_start = empty_lines_before(bytes, line, leading)?;
    block_lines(source, leading_start, leading, line, start - line, literal, value)
}

/// Walks a block scalar's lines: `leading` empty lines from `leading_start`, then content
/// lines from `first_line`, each indented by `indent` spaces. Chomping is read off `value`.
fn block_lines(
    source: &str,
    leading_start: usize,
    leading: usize,
    first_line: usize,
    indent: usize,
    literal: bool,
    value: &str,
) -> Option<MappedText> {
    let bytes = source.as_bytes();
    let mut out = MappedText::new();
    if push_empty_lines(&mut out, bytes, leading_start, leading, usize::MAX)? != first_line {
        return None;
    }
    let mut line = first_line;
    let mut gap: Option<Gap> = None;
    let mut previous_blank = false;
    loop {
        let content = line + indent;
        let content_end = find_break(bytes, content);
        let starts_blank = bytes.get(content).is_some_and(|&b| is_blank(b));
        if let Some(gap) = gap {
            // Folding joins two lines unless one of them is more indented (starts blank).
            if literal || previous_blank || starts_blank {
                push_break(&mut out, gap.brk, gap.brk_end);
                gap.push_empty_lines(&mut out, bytes, indent, gap.empty_lines)?;
            } else if gap.empty_lines == 0 {
                out.push_decoded(" ", gap.brk..content);
            } else {
                gap.push_empty_lines(&mut out, bytes, indent, gap.empty_lines)?;
            }
        }
        push_source(&mut out, source, content, content_end)?;
        previous_blank = starts_blank;
        if content_end >= bytes.len() {
            return finish_block(out, bytes, None, indent, true, value);
        }
        let brk_end = break_end(bytes, content_end);
        let mut next = brk_end;
        let mut empty_lines = 0;
        // Empty lines hold at most `indent` spaces; a line indented less ends the block, and
        // so does a document marker at indentation 0.
        let next_line = loop {
            let indented = skip_spaces(bytes, next, indent);
            match bytes.get(indented) {
                Some(&b) if is_break(b) => {
                    empty_lines += 1;
                    next = break_end(bytes, indented);
                }
                Some(_) if indented - next == indent && !(indent == 0 && document_marker(bytes, next)) => {
                    break Some(next);
                }
                _ => break None,
            }
        };
        let new_gap = Gap { brk: content_end, brk_end, empty_lines };
        match next_line {
            Some(next_line) => {
                line = next_line;
                gap = Some(new_gap);
            }
            None => {
                let at_eof = skip_spaces(bytes, next, indent) >= bytes.len();
                return finish_block(out, bytes, Some(new_gap), indent, at_eof, value);
            }
        }
    }
}

/// The line break after a block's content line and the empty lines that follow it.
#[derive(Clone, Copy)]
struct Gap {
    brk: usize,
    brk_end: usize,
    empty_lines: usize,
}

impl Gap {
    /// Appends the line breaks of the first `count` empty lines.
    fn push_empty_lines(&self, out: &mut MappedText, bytes: &[u8], indent: usize, count: usize) -> Option<usize> {
        push_empty_lines(out, bytes, self.brk_end, count, indent)
    }
}

/// Whether a `---` or `...` document marker starts at `at`.
fn document_marker(bytes: &[u8], at: usize) -> bool {
    let marker = bytes.get(at..at + 3);
    (marker == Some(b"---") || marker == Some(b"...")) && bytes.get(at + 3).is_none_or(|&b| is_blank(b) || is_break(b))
}

/// Maps the line breaks that chomping kept after the last content line: the rest of `value`
/// must be line breaks. saphyr adds one `\n` that has no source when the text ends in the
/// block's last line (content without a line break, or blanks after it); it maps to the end.
fn finish_block(
    mut out: MappedText,
    bytes: &[u8],
    gap: Option<Gap>,
    indent: usize,
    at_eof: bool,
    value: &str,
) -> Option<MappedText> {
    let rest = value.get(out.len()..)?;
    if !rest.bytes().all(|b| b == b'\n') {
        return None;
    }
    let mut wanted = rest.len();
    if let Some(gap) = gap {
        if wanted > 0 {
            push_break(&mut out, gap.brk, gap.brk_end);
            wanted -= 1;
        }
        let kept = wanted.min(gap.empty_lines);
        gap.push_empty_lines(&mut out, bytes, indent, kept)?;
        wanted -= kept;
    }
    if wanted == 1 && at_eof {
        out.push_decoded("\n", bytes.len()..bytes.len());
    }
    (out.as_str() == value).then_some(out)
}

/// The fallback map: each line of `value` found verbatim, in order, inside the span maps
/// there; the rest maps to the span from where the search stopped.
fn map_coarse(source: &str, start: usize, end: usize, value: &str) -> MappedText {
    let start = start.min(source.len());
    let end = end.clamp(start, source.len());
    let mut out = MappedText::new();
    let mut cursor = start;
    let mut searching = true;
    for (index, line) in value.split('\n').enumerate() {
        if index > 0 {
            out.push_decoded("\n", cursor..cursor);
        }
        if line.is_empty() {
            continue;
        }
        let found = if searching { source.get(cursor..end).and_then(|hay| hay.find(line)) } else { None };
        match found {
            Some(offset) => {
                out.push_verbatim(line, cursor + offset);
                cursor += offset + line.len();
            }
            None => {
                // Stop searching: a line that is not there means the walk is lost, and
                // searching on would make the fallback quadratic.
                searching = false;
                out.push_decoded(line, cursor..end);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use saphyr_parser::{Event, Parser};

    type Scalar = (usize, usize, ScalarStyle, String);

    /// The scalar events of `source` (byte start, byte end, style, value) up to saphyr's
    /// first error, if any.
    fn scalars(source: &str) -> (Vec<Scalar>, Option<String>) {
        let mut bytes_at: Vec<usize> = source.char_indices().map(|(at, _)| at).collect();
        bytes_at.push(source.len());
        let mut parser = Parser::new_from_str(source);
        let mut out = Vec::new();
        while let Some(event) = parser.next_event() {
            let (event, span) = match event {
                Ok(event) => event,
                Err(error) => return (out, Some(error.to_string())),
            };
            if let Event::Scalar(value, style, _, _) = event {
                let start = bytes_at[span.start.index()];
                let end = bytes_at[span.end.index()];
                out.push((start, end, style, value.into_owned()));
            }
        }
        (out, None)
    }

    /// Maps every scalar of `source` (which saphyr must parse) and checks each map with the
    /// oracle; returns the decoded values with their maps.
    fn map_all(source: &str) -> Vec<(String, MappedText)> {
        let (scalars, error) = scalars(source);
        assert_eq!(error, None);
        let mut out = Vec::new();
        for (start, end, style, value) in scalars {
            let mapped = map_scalar(source, start, end, style, &value);
            assert_eq!(mapped.as_str(), value);
            if !value.is_empty() {
                let exact = map_precise(source, start, end, style, &value);
                assert!(exact.is_some(), "not exact: {style:?} {value:?}");
                if let Err(error) = precise(source, start, end, style, &mapped) {
                    panic!("{style:?} {value:?}: {error}");
                }
            }
            out.push((value, mapped));
        }
        out
    }

    /// The file offset of `needle` as found in the decoded scalar that contains it.
    fn offset_of(source: &str, needle: &str) -> usize {
        map_all(source)
            .iter()
            .find_map(|(value, mapped)| value.find(needle).map(|at| mapped.source_offset(at)))
            .unwrap_or_else(|| panic!("{needle:?} not decoded"))
    }

    /// Asserts that `needle`, decoded, maps to where it is first written in `source`.
    fn assert_maps(source: &str, needle: &str) {
        let written = source.find(needle);
        assert_eq!(Some(offset_of(source, needle)), written, "{needle:?} in {source:?}");
    }

    /// The same text with CRLF line endings.
    fn crlf(source: &str) -> String {
        source.replace('\n', "\r\n")
    }

    #[test]
    fn plain_single_and_folded_lines() {
        let source = "a: curl é http://x\nb: first line\n  \tsecond\t line\n\n   third http://y\n";
        for source in [source.to_string(), crlf(source)] {
            assert_maps(&source, "http://x");
            assert_maps(&source, "second\t line");
            assert_maps(&source, "third http://y");
            let scalars = map_all(&source);
            assert_eq!(scalars[3].0, "first line second\t line\nthird http://y");
            // The folded space stands for the break and the indentation around it.
            let space = scalars[3].1.source_offset("first line".len());
            assert!(source[space..].starts_with(['\n', '\r']));
        }
    }

    #[test]
    fn single_quoted_escapes_and_folds() {
        let source = "k: 'it''s  \n   a ''b''\n\n   http://x '  # trailing comment\n";
        for source in [source.to_string(), crlf(source)] {
            let scalars = map_all(&source);
            assert_eq!(scalars[1].0, "it's a 'b'\nhttp://x ");
            assert_maps(&source, "http://x");
            // `''` reads as its first quote.
            let quote = scalars[1].1.source_offset(2);
            assert_eq!(&source[quote..quote + 2], "''");
        }
    }

    #[test]
    fn quoted_stop_finds_what_a_byte_walk_finds() {
        let texts = [
            "",
            "plain text",
            "a'b",
            "it''s",
            "esc \\\" q\"",
            "crlf\r\nnext'\"",
            "lone\rcr\\",
            "\r",
            "\n\r",
            "é\u{2028}\\n\"'",
            "x\\\r\n\"",
        ];
        for text in texts {
            let bytes = text.as_bytes();
            for from in 0..=bytes.len() {
                let rest = &bytes[from..];
                for quote in [b'\'', b'"'] {
                    let double = quote == b'"';
                    let walked = rest.iter().position(|&b| b == quote || is_break(b) || (double && b == b'\\'));
                    assert_eq!(quoted_stop(rest, quote), walked, "{text:?} from {from}, quote {}", char::from(quote));
                }
            }
        }
    }

    #[test]
    fn double_quoted_kfp_style_escaped_line_breaks() {
        // How PyYAML writes KFP's long embedded sources: escaped breaks, `\ ` to keep a
        // leading space after them.
        let source = concat!(
            "command:\n",
            "- sh\n",
            "- -c\n",
            r#"- "\nif ! [ -x \"$(command -v pip)\" ]; then\n    python3 -m ensurepip ||\"#,
            "\n",
            r#"  \ python3 -m ensurepip --user\nfi\n\nPIP_DISABLE_PIP_VERSION_CHECK=1\"#,
            "\n",
            r#"  \ python3 -m pip install --quiet --index-url https://pypi.org/simple\"#,
            "\n",
            r#"  \ --trusted-host https://pypi.org/simple 'kfp==2.7.0' && \"$0\" \"$@\"\n""#,
            "\n",
        );
        for source in [source.to_string(), crlf(source)] {
            let scalars = map_all(&source);
            let (value, mapped) = &scalars[3];
            assert!(value.contains("ensurepip || python3 -m ensurepip --user\nfi"));
            let decoded = value.find("https://pypi.org/simple").unwrap_or_default();
            let written = source.find("https://pypi.org/simple").unwrap_or_default();
            assert_eq!(mapped.source_offset(decoded), written);
            assert_maps(&source, "--trusted-host https://pypi.org/simple 'kfp");
            assert_maps(&source, "PIP_DISABLE_PIP_VERSION_CHECK=1");
            // `\ ` decodes to a space that maps to its backslash.
            let space = value.find(" python3 -m pip").unwrap_or_default();
            let at = mapped.source_offset(space);
            assert_eq!(&source[at..at + 3], "\\ p");
        }
    }

    #[test]
    fn double_quoted_escapes_map_to_their_backslash() {
        let source = concat!(r#"k: "\x41\u00e9\U0001F600\t\/\ \N\_\L\P\e\0\a\b\v\f\r\n\"\\"#, "\\\tz\"\n",);
        let scalars = map_all(source);
        let (value, mapped) = &scalars[1];
        assert_eq!(value, "Aé😀\t/ \u{85}\u{a0}\u{2028}\u{2029}\x1b\0\x07\x08\x0b\x0c\r\n\"\\\tz");
        // Each escape's decoded character maps to its backslash; `z` is copied.
        let mut expected = Vec::new();
        let mut at = source.find('"').unwrap_or_default() + 1;
        while source[at..].starts_with('\\') {
            expected.push(at);
            at += match &source[at + 1..at + 2] {
                "x" => 4,
                "u" => 6,
                "U" => 10,
                _ => 2,
            };
        }
        expected.push(at);
        let actual: Vec<usize> = value.char_indices().map(|(i, _)| mapped.source_offset(i)).collect();
        assert_eq!(actual, expected);
    }

    #[test]
    fn double_quoted_folds_and_escaped_breaks() {
        let source = "k: \"a \t\n  b \\\n\n   \tc\\\n  \\ d  \"\n";
        for source in [source.to_string(), crlf(source)] {
            let scalars = map_all(&source);
            assert_eq!(scalars[1].0, "a b \nc d  ");
            assert_maps(&source, "c");
            assert_maps(&source, "d  ");
        }
    }

    #[test]
    fn json_strings_and_surrogate_pairs() {
        let source = "{\"cmd\": [\"sh\", \"-c\", \"curl \\/x http:\\/\\/h\\/p\"], \"n\": 1}";
        let scalars = map_all(source);
        assert_eq!(scalars[3].0, "curl /x http://h/p");
        assert_maps(source, "curl ");
        // saphyr rejects UTF-16 surrogate pairs; a value decoded by a JSON parser still maps.
        let source = "{\"k\": \"\\ud83d\\ude00 http://x\"}";
        let start = source.find("\"\\u").unwrap_or_default();
        let mapped = map_scalar(source, start, source.len() - 1, ScalarStyle::DoubleQuoted, "😀 http://x");
        assert_eq!(mapped.as_str(), "😀 http://x");
        assert_eq!(mapped.source_offset(0), start + 1);
        assert_eq!(mapped.source_offset(5), source.find("http").unwrap_or_default());
    }

    #[test]
    fn literal_blocks() {
        let source = concat!(
            "a: |\n\n  first é http://x\n    more\n\n  last\n\n",
            "b: |2-\n    spaced http://y\n  z\n",
            "c: |+\n  kept\n\n\n",
            "d:\n  - key: !!str &anchor |  # header comment\n      |content\n      !bang\n",
            "e: |\n  ends without a break http://z",
        );
        for source in [source.to_string(), crlf(source)] {
            let scalars = map_all(&source);
            assert_eq!(scalars[1].0, "\nfirst é http://x\n  more\n\nlast\n");
            assert_eq!(scalars[3].0, "  spaced http://y\nz");
            assert_eq!(scalars[5].0, "kept\n\n\n");
            assert_eq!(scalars[8].0, "|content\n!bang\n");
            assert_eq!(scalars[10].0, "ends without a break http://z\n");
            for needle in ["http://x", "  more", "http://y", "kept", "|content", "!bang", "http://z"] {
                assert_maps(&source, needle);
            }
            // The `\n` that saphyr adds at the end of the text maps to the end.
            let (value, mapped) = &scalars[10];
            assert_eq!(mapped.source_offset(value.len() - 1), source.len());
        }
    }

    #[test]
    fn folded_blocks() {
        let source = "k: >-\n  one\n  two\n\n  three\n    indented\n  four\n\n\nn: >\n  x\n";
        for source in [source.to_string(), crlf(source)] {
            let scalars = map_all(&source);
            assert_eq!(scalars[1].0, "one two\nthree\n  indented\nfour");
            for needle in ["two", "three", "  indented", "four"] {
                assert_maps(&source, needle);
            }
        }
    }

    #[test]
    fn root_block_and_document_markers() {
        let source = "--- |\nroot http://x\n  kept\n...\n--- >\n a\n b\n";
        let scalars = map_all(source);
        assert_eq!(scalars[0].0, "root http://x\n  kept\n");
        assert_eq!(scalars[1].0, "a b\n");
        assert_maps(source, "http://x");
        assert_maps(source, "b\n");
    }

    #[test]
    fn saphyr_quirks_still_map() {
        // saphyr reads a last blank line at the end of the text as one more line break.
        let source = "k: |\n  foo\n  ";
        let scalars = map_all(source);
        assert_eq!(scalars[1].0, "foo\n\n");
        // A kept block with no content line spans nothing at the next key.
        let scalars = map_all("a: |+\n\n  \nb: x\n");
        assert_eq!(scalars[1].0, "\n\n");
        // Its line breaks are those of the empty lines, after the header's.
        assert_eq!(scalars[1].1.source_offset(0), 6);
        assert_eq!(scalars[1].1.source_offset(1), 9);
    }

    #[test]
    fn unexpected_input_falls_back_without_panicking() {
        let source = "k: \"abc\" x\n  é http://x\n";
        // A value the source does not spell: every line found verbatim maps there.
        // A value the source does not spell: lines found verbatim, in order, map there, up to
        // the first line that is not found.
        let value = "abc\né http://x\nnope";
        let mapped = map_scalar(source, 3, source.len(), ScalarStyle::Plain, value);
        assert_eq!(mapped.as_str(), value);
        assert_eq!(mapped.source_offset(0), 4);
        assert_eq!(mapped.source_offset(4), source.find('é').unwrap_or_default());
        // "nope" maps to where the search stopped: after "http://x".
        assert_eq!(mapped.source_offset(value.len() - 1), source.len() - 1);
        // Spans outside the text, inside a character, reversed, every style.
        let styles = [
            ScalarStyle::Plain,
            ScalarStyle::SingleQuoted,
            ScalarStyle::DoubleQuoted,
            ScalarStyle::Literal,
            ScalarStyle::Folded,
        ];
        for style in styles {
            for start in 0..source.len() + 3 {
                for end in [0, start, start + 1, source.len(), source.len() + 9] {
                    for value in ["abc", "x", "é http://x\n", "\n\n", ""] {
                        let mapped = map_scalar(source, start, end, style, value);
                        assert_eq!(mapped.as_str(), value);
                    }
                }
            }
        }
    }

    /// Decodes the double-quoted escape at the start of `text` (independently of `escape`).
    fn oracle_escape(text: &str) -> Option<char> {
        let mut chars = text.chars();
        if chars.next() != Some('\\') {
            return None;
        }
        let digits = match chars.next()? {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            c => {
                return Some(match c {
                    '0' => '\0',
                    'a' => '\x07',
                    'b' => '\x08',
                    't' | '\t' => '\t',
                    'n' => '\n',
                    'v' => '\x0b',
                    'f' => '\x0c',
                    'r' => '\r',
                    'e' => '\x1b',
                    'N' => '\u{85}',
                    '_' => '\u{a0}',
                    'L' => '\u{2028}',
                    'P' => '\u{2029}',
                    c => c,
                });
            }
        };
        let code = u32::from_str_radix(text.get(2..2 + digits)?, 16).ok()?;
        if (0xD800..0xDC00).contains(&code) {
            let low = u32::from_str_radix(text.get(2 + digits + 2..2 + digits + 6)?, 16).ok()?;
            return char::from_u32(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00));
        }
        char::from_u32(code)
    }

    /// Checks the map of one scalar: each decoded character is copied from where it maps, or
    /// is a fold, a line break or an escape that stands there. Offsets never go backwards.
    fn precise(source: &str, start: usize, end: usize, style: ScalarStyle, mapped: &MappedText) -> Result<(), String> {
        let block = matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
        let mut last = 0;
        for (i, c) in mapped.as_str().char_indices() {
            let at = mapped.source_offset(i);
            if at < last {
                return Err(format!("offset of decoded byte {i} goes back: {at} < {last}"));
            }
            last = at;
            if (!block && at < start) || at > end.max(if block { source.len() } else { end }) {
                return Err(format!("decoded byte {i} maps to {at}, outside {start}..{end}"));
            }
            let Some(here) = source.get(at..) else {
                return Err(format!("decoded byte {i} maps inside a character, at {at}"));
            };
            let ok = here.starts_with(c)
                || (c == ' ' && !matches!(style, ScalarStyle::Literal) && here.starts_with(['\n', '\r', ' ', '\t']))
                || (c == '\n' && (here.starts_with('\r') || (block && at == source.len())))
                || (matches!(style, ScalarStyle::DoubleQuoted) && oracle_escape(here) == Some(c));
            if !ok {
                return Err(format!("decoded {c:?} at {i} maps to {at}: {:?}", &here[..here.floor_char_boundary(20)]));
            }
        }
        Ok(())
    }

    #[derive(Default, Debug)]
    struct Stats {
        files: usize,
        parse_errors: usize,
        scalars: usize,
        precise: usize,
        fallback: usize,
        imprecise: usize,
    }

    fn check_source(source: &str, name: &str, stats: &mut Stats, failures: &mut Vec<String>) {
        stats.files += 1;
        let (scalars, error) = scalars(source);
        if let Some(error) = error {
            stats.parse_errors += 1;
            failures.push(format!("{name}: saphyr error {error}"));
        }
        for (start, end, style, value) in scalars {
            stats.scalars += 1;
            let mapped = map_scalar(source, start, end, style, &value);
            assert_eq!(mapped.as_str(), value, "{name}: {start}..{end}");
            if value.is_empty() {
                stats.precise += 1;
                continue;
            }
            match map_precise(source, start, end, style, &value) {
                None => {
                    stats.fallback += 1;
                    failures.push(format!(
                        "{name}: fallback {style:?} {start}..{end} {:?}",
                        &value[..value.floor_char_boundary(80)]
                    ));
                }
                Some(mapped) => match precise(source, start, end, style, &mapped) {
                    Ok(()) => stats.precise += 1,
                    Err(error) => {
                        stats.imprecise += 1;
                        failures.push(format!("{name}: imprecise {style:?} {start}..{end}: {error}"));
                    }
                },
            }
        }
    }

    /// Runs the oracle over every YAML/JSON file under `root`, as written and with CRLF line
    /// endings.
    fn run_oracle(root: &std::path::Path) -> (Stats, Stats, Vec<String>) {
        let mut paths = Vec::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json") {
                    paths.push(path);
                }
            }
        }
        paths.sort();
        let mut stats = Stats::default();
        let mut crlf = Stats::default();
        let mut failures = Vec::new();
        for path in &paths {
            let Ok(source) = std::fs::read_to_string(path) else {
                continue;
            };
            let name = path.display().to_string();
            check_source(&source, &name, &mut stats, &mut failures);
            let with_crlf = source.replace("\r\n", "\n").replace('\n', "\r\n");
            check_source(&with_crlf, &format!("{name} (CRLF)"), &mut crlf, &mut failures);
        }
        (stats, crlf, failures)
    }

    /// The oracle over the shared corpus of real pipeline files (1,708 files), skipped visibly
    /// when it is absent. Files saphyr rejects are counted, not failed: parsing is not this
    /// module's job.
    #[test]
    fn corpus_maps_every_scalar_precisely() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        if !root.is_dir() {
            eprintln!("SKIPPED corpus_maps_every_scalar_precisely: no corpus at {}", root.display());
            return;
        }
        let (stats, crlf, failures) = run_oracle(&root);
        eprintln!("corpus: {stats:?}\ncorpus as CRLF: {crlf:?}");
        let mapping_failures: Vec<_> = failures.iter().filter(|f| !f.contains("saphyr error")).collect();
        for failure in mapping_failures.iter().take(40) {
            eprintln!("{failure}");
        }
        assert!(stats.files > 0);
        assert!(mapping_failures.is_empty(), "{} scalars not mapped precisely", mapping_failures.len());
    }
}
