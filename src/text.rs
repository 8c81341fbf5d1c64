//! Decoded text that remembers where each of its bytes came from.
//!
//! YAML and JSON scalars, shell words and Python string literals are all *decoded*:
//! quotes are dropped, escapes expanded, folded lines joined. Rules match on the
//! decoded text but must report the position of the token in the original file.
//! [`MappedText`] keeps the decoded string together with a piecewise map back to
//! byte offsets in its source, and maps compose, so a token found inside a shell
//! word inside a YAML scalar still lands on the right byte of the file.
//!
//! This module never computes line or column numbers: that is `source::LineIndex`'s job.

use std::ops::{Deref, Range};

/// Lower-case hexadecimal digits, by value: for fingerprints, JSON's `\u00XX` escapes and
/// the lengths in memo keys, written a digit at a time rather than through `format!`.
pub const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends `text` to a memo key after its length in hex and a `:`, so that keys made of
/// several texts are equal exactly when the texts are (no `format!`: a run writes 100,000).
pub fn push_counted(key: &mut String, text: &str) {
    let digits = (usize::BITS - text.len().leading_zeros()).div_ceil(4).max(1);
    for digit in (0..digits).rev() {
        key.push(char::from(HEX_DIGITS[(text.len() >> (4 * digit)) & 0xf]));
    }
    key.push(':');
    key.push_str(text);
}

/// A decoded string plus the byte offset in its source of every decoded byte.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MappedText {
    text: String,
    pieces: Pieces,
}

/// The pieces of a text. Most texts (a shell word, a string literal, a plain scalar) are
/// one verbatim run: that piece is kept inline, so such a text costs one allocation, not two.
#[derive(Clone, Default)]
enum Pieces {
    #[default]
    Empty,
    One(Piece),
    Many(Vec<Piece>),
}

impl Pieces {
    fn push(&mut self, piece: Piece) {
        match self {
            Pieces::Empty => *self = Pieces::One(piece),
            Pieces::One(first) => *self = Pieces::Many(vec![*first, piece]),
            Pieces::Many(pieces) => pieces.push(piece),
        }
    }

    fn last_mut(&mut self) -> Option<&mut Piece> {
        match self {
            Pieces::Empty => None,
            Pieces::One(piece) => Some(piece),
            Pieces::Many(pieces) => pieces.last_mut(),
        }
    }
}

impl Deref for Pieces {
    type Target = [Piece];

    fn deref(&self) -> &[Piece] {
        match self {
            Pieces::Empty => &[],
            Pieces::One(piece) => std::slice::from_ref(piece),
            Pieces::Many(pieces) => pieces,
        }
    }
}

/// Equal when the pieces are, however they are stored.
impl PartialEq for Pieces {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Pieces {}

/// Shown as the list it is.
impl std::fmt::Debug for Pieces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The decoded text, so code that only reads words can take any word type.
impl AsRef<str> for MappedText {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// One run of decoded bytes. A verbatim run was copied from its source and maps byte for
/// byte; any other run (an escape, a folded line break) maps every decoded byte to the
/// start of its source run, even when the two happen to have the same length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Piece {
    decoded_start: usize,
    source_start: usize,
    source_len: usize,
    verbatim: bool,
}

impl MappedText {
    /// An empty text that will be filled with the `push_*` methods.
    pub fn new() -> Self {
        Self::default()
    }

    /// `text` copied unchanged from `source_start` in its source.
    pub fn verbatim(text: &str, source_start: usize) -> Self {
        let mut mapped = Self::new();
        mapped.push_verbatim(text, source_start);
        mapped
    }

    /// Appends text that appears unchanged at `source_start` in the source.
    pub fn push_verbatim(&mut self, text: &str, source_start: usize) {
        if text.is_empty() {
            return;
        }
        let decoded_start = self.text.len();
        self.text.push_str(text);
        if let Some(last) = self.pieces.last_mut()
            && last.verbatim
            && last.source_start + last.source_len == source_start
        {
            last.source_len += text.len();
            return;
        }
        self.pieces.push(Piece { decoded_start, source_start, source_len: text.len(), verbatim: true });
    }

    /// Appends `decoded`, which stands for the source bytes `source` (an escape sequence,
    /// a folded line break, ...). All of its bytes map to `source.start`.
    pub fn push_decoded(&mut self, decoded: &str, source: Range<usize>) {
        if decoded.is_empty() {
            return;
        }
        let source_len = source.end.saturating_sub(source.start);
        let decoded_start = self.text.len();
        self.text.push_str(decoded);
        self.pieces.push(Piece { decoded_start, source_start: source.start, source_len, verbatim: false });
    }

    /// Appends a character that stands for the source bytes `source`.
    pub fn push_char(&mut self, decoded: char, source: Range<usize>) {
        let mut buf = [0u8; 4];
        self.push_decoded(decoded.encode_utf8(&mut buf), source);
    }

    /// Appends `other`, keeping its map.
    pub fn append(&mut self, other: &MappedText) {
        for (index, piece) in other.pieces.iter().enumerate() {
            let run = &other.text[piece.decoded_start..piece.decoded_start + other.piece_decoded_len(index)];
            if piece.verbatim {
                self.push_verbatim(run, piece.source_start);
            } else {
                self.push_decoded(run, piece.source_start..piece.source_start + piece.source_len);
            }
        }
    }

    /// The decoded text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The source offset of decoded byte `decoded` (clamped to the text; the end of
    /// the text maps just past the last source byte).
    pub fn source_offset(&self, decoded: usize) -> usize {
        let Some(index) = self.piece_index(decoded) else {
            return 0;
        };
        let piece = self.pieces[index];
        let decoded_len = self.piece_decoded_len(index);
        let delta = decoded - piece.decoded_start;
        if delta >= decoded_len {
            return piece.source_start + piece.source_len;
        }
        if piece.verbatim { piece.source_start + delta } else { piece.source_start }
    }

    /// The source range covered by the decoded range `decoded`.
    pub fn source_range(&self, decoded: Range<usize>) -> Range<usize> {
        let start = self.source_offset(decoded.start);
        if decoded.end <= decoded.start {
            return start..start;
        }
        let last = decoded.end - 1;
        let Some(index) = self.piece_index(last) else {
            return start..start;
        };
        let piece = self.pieces[index];
        let end = if piece.verbatim {
            piece.source_start + (last - piece.decoded_start) + 1
        } else {
            piece.source_start + piece.source_len
        };
        start..end.max(start)
    }

    /// The source range of the whole text.
    pub fn source_span(&self) -> Range<usize> {
        self.source_range(0..self.text.len())
    }

    /// The decoded bytes `decoded` as a new text with the same source map.
    /// `decoded` must lie on character boundaries of the text.
    pub fn slice(&self, decoded: Range<usize>) -> MappedText {
        let mut out = MappedText::new();
        let end = decoded.end.min(self.text.len());
        let mut pos = decoded.start.min(end);
        while pos < end {
            let Some(index) = self.piece_index(pos) else { break };
            let piece = self.pieces[index];
            let piece_end = piece.decoded_start + self.piece_decoded_len(index);
            let run_end = piece_end.min(end);
            let Some(run) = self.text.get(pos..run_end) else { break };
            if piece.verbatim {
                out.push_verbatim(run, piece.source_start + (pos - piece.decoded_start));
            } else {
                out.push_decoded(run, piece.source_start..piece.source_start + piece.source_len);
            }
            pos = run_end;
        }
        out
    }

    /// Re-expresses this map in the source of `outer`: `self` was decoded from
    /// `outer.as_str()`, the result maps straight to `outer`'s source.
    pub fn remap(&self, outer: &MappedText) -> MappedText {
        let mut out = MappedText::new();
        for (index, piece) in self.pieces.iter().enumerate() {
            let decoded_len = self.piece_decoded_len(index);
            let run = &self.text[piece.decoded_start..piece.decoded_start + decoded_len];
            if !piece.verbatim {
                let source = outer.source_range(piece.source_start..piece.source_start + piece.source_len);
                out.push_decoded(run, source);
                continue;
            }
            // A byte-for-byte run may cross several pieces of `outer`: split it there.
            let inner = outer.slice(piece.source_start..piece.source_start + piece.source_len);
            for (inner_index, inner_piece) in inner.pieces.iter().enumerate() {
                let inner_len = inner.piece_decoded_len(inner_index);
                let offset = inner_piece.decoded_start;
                let Some(sub) = run.get(offset..offset + inner_len) else { continue };
                if inner_piece.verbatim {
                    out.push_verbatim(sub, inner_piece.source_start);
                } else {
                    out.push_decoded(sub, inner_piece.source_start..inner_piece.source_start + inner_piece.source_len);
                }
            }
        }
        out
    }

    fn piece_decoded_len(&self, index: usize) -> usize {
        let start = self.pieces[index].decoded_start;
        let end = self.pieces.get(index + 1).map_or(self.text.len(), |next| next.decoded_start);
        end - start
    }

    /// The piece holding decoded byte `decoded` (the last piece for the end of text).
    fn piece_index(&self, decoded: usize) -> Option<usize> {
        if self.pieces.is_empty() {
            return None;
        }
        let index = self.pieces.partition_point(|piece| piece.decoded_start <= decoded);
        Some(index.saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbatim_maps_byte_for_byte() {
        let text = MappedText::verbatim("curl http://x", 100);
        assert_eq!(text.source_offset(5), 105);
        assert_eq!(text.source_range(5..13), 105..113);
        assert_eq!(text.source_offset(13), 113);
    }

    #[test]
    fn escapes_map_to_their_start() {
        // source: a\"b  (decoded a"b), starting at offset 10
        let mut text = MappedText::new();
        text.push_verbatim("a", 10);
        text.push_char('"', 11..13);
        text.push_verbatim("b", 13);
        assert_eq!(text.as_str(), "a\"b");
        assert_eq!(text.source_offset(1), 11);
        assert_eq!(text.source_offset(2), 13);
        assert_eq!(text.source_range(0..3), 10..14);
    }

    #[test]
    fn folded_break_maps_to_the_break() {
        // "foo\n  bar" folded to "foo bar"
        let mut text = MappedText::new();
        text.push_verbatim("foo", 0);
        text.push_decoded(" ", 3..6);
        text.push_verbatim("bar", 6);
        assert_eq!(text.source_offset(4), 6);
        assert_eq!(text.slice(4..7).source_offset(0), 6);
    }

    #[test]
    fn remap_composes_two_levels() {
        // outer: file bytes 50.. hold `x\ty` escaped as `x\\ty` (4 bytes -> 3 decoded)
        let mut outer = MappedText::new();
        outer.push_verbatim("x", 50);
        outer.push_char('\t', 51..53);
        outer.push_verbatim("yz", 53);
        // inner: decoded from outer "x\tyz", take "yz" verbatim at inner source 2
        let inner = MappedText::verbatim("yz", 2);
        let composed = inner.remap(&outer);
        assert_eq!(composed.as_str(), "yz");
        assert_eq!(composed.source_offset(0), 53);
        assert_eq!(composed.source_offset(1), 54);
    }

    #[test]
    fn append_keeps_both_maps() {
        let mut text = MappedText::verbatim("ab", 10);
        let mut escaped = MappedText::new();
        escaped.push_char('\n', 20..22);
        text.append(&escaped);
        text.append(&MappedText::verbatim("c", 30));
        assert_eq!(text.as_str(), "ab\nc");
        assert_eq!(text.source_offset(1), 11);
        assert_eq!(text.source_offset(2), 20);
        assert_eq!(text.source_offset(3), 30);
    }

    #[test]
    fn empty_text_is_harmless() {
        let text = MappedText::new();
        assert_eq!(text.source_offset(3), 0);
        assert_eq!(text.source_range(0..0), 0..0);
        assert!(text.slice(0..4).is_empty());
    }
}
