//! JSON text in serde_json's pretty layout, written by hand for the records written once per
//! finding: going through serde costs several thousand instructions per finding, most of
//! them escaping strings byte by byte. The output is byte for byte what serde_json prints
//! (tests below compare the two); everything written once per run still goes through serde.
//! The JSON report's findings, the most numerous records, spell the layout out with
//! [`push_string`] and [`push_number`] instead (`json::write_finding`).

use std::sync::Arc;

use crate::text::HEX_DIGITS;

/// Writes an object whose own line is indented by `indent` spaces (the caller has put the
/// cursor where its `{` goes), its members written by `members`.
pub(super) fn write_object(out: &mut Vec<u8>, indent: usize, members: impl FnOnce(&mut Object)) {
    let mut object = Object(Items::open(out, indent, b'{'));
    members(&mut object);
    object.0.close(b'}');
}

/// An object being written.
pub(super) struct Object<'o>(Items<'o>);

impl Object<'_> {
    /// Starts the member `key`; its value is written next, to the returned buffer.
    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        let out = self.0.next();
        // Keys are names written in this program: none needs an escape.
        debug_assert!(!key.bytes().any(needs_escape), "{key:?}");
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\": ");
        out
    }

    pub(super) fn string(&mut self, key: &str, value: &str) {
        push_string(self.key(key), value);
    }

    pub(super) fn number(&mut self, key: &str, value: usize) {
        push_number(self.key(key), value);
    }

    pub(super) fn boolean(&mut self, key: &str, value: bool) {
        self.key(key).extend_from_slice(if value { b"true" } else { b"false" });
    }

    /// A string, or `null` for `None`.
    pub(super) fn optional_string(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(value) => self.string(key, value),
            None => self.key(key).extend_from_slice(b"null"),
        }
    }

    /// An object, or `null` for `None`.
    pub(super) fn optional_object<T>(&mut self, key: &str, value: Option<T>, members: impl FnOnce(&mut Object, T)) {
        match value {
            Some(value) => self.object(key, |object| members(object, value)),
            None => self.key(key).extend_from_slice(b"null"),
        }
    }

    pub(super) fn object(&mut self, key: &str, members: impl FnOnce(&mut Object)) {
        let indent = self.0.indent + 2;
        write_object(self.key(key), indent, members);
    }

    pub(super) fn array(&mut self, key: &str, elements: impl FnOnce(&mut Array)) {
        let indent = self.0.indent + 2;
        let mut array = Array(Items::open(self.key(key), indent, b'['));
        elements(&mut array);
        array.0.close(b']');
    }
}

/// An array being written.
pub(super) struct Array<'o>(Items<'o>);

impl Array<'_> {
    pub(super) fn object(&mut self, members: impl FnOnce(&mut Object)) {
        let indent = self.0.indent + 2;
        write_object(self.0.next(), indent, members);
    }
}

/// The members of an object or elements of an array: each on its own line, `indent + 2`
/// spaces in, where `indent` is that of the line holding the opening bracket.
struct Items<'o> {
    out: &'o mut Vec<u8>,
    indent: usize,
    empty: bool,
}

impl<'o> Items<'o> {
    fn open(out: &'o mut Vec<u8>, indent: usize, bracket: u8) -> Self {
        out.push(bracket);
        Self { out, indent, empty: true }
    }

    /// The separator and indentation of the next item, which is written next, to the
    /// returned buffer.
    fn next(&mut self) -> &mut Vec<u8> {
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        new_line(self.out, self.indent + 2);
        self.out
    }

    /// The closing bracket: on its own line, or right after the opening one when empty.
    fn close(self, bracket: u8) {
        if !self.empty {
            new_line(self.out, self.indent);
        }
        self.out.push(bracket);
    }
}

fn new_line(out: &mut Vec<u8>, indent: usize) {
    // Deeper than the deepest SARIF member, which is 18 spaces in. Copied whole, a length
    // known at compile time (a few vector moves instead of a call into `memcpy`, which pays a
    // size dispatch for every few bytes), then cut to the indentation.
    const NEW_LINE: &[u8; 33] = b"\n                                ";
    let length = out.len();
    if indent < NEW_LINE.len() {
        out.extend_from_slice(NEW_LINE);
        out.truncate(length + 1 + indent);
    } else {
        out.push(b'\n');
        out.resize(length + 1 + indent, b' ');
    }
}

pub(super) fn push_number(out: &mut Vec<u8>, value: usize) {
    // The digits are laid out from the left of a buffer copied whole, then cut to their
    // count: no call into `memcpy` for a few bytes (see `new_line`).
    let count = value.checked_ilog10().map_or(1, |log| log as usize + 1);
    let mut digits = [b'0'; 20];
    let mut rest = value;
    for digit in digits[..count].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let length = out.len();
    out.extend_from_slice(&digits);
    out.truncate(length + count);
}

/// The JSON string of a shared text, kept while the same text (the same `Arc`) comes again:
/// the findings of a file share its path and, mostly, their pipeline's name, which are then
/// escaped once, not once per finding.
#[derive(Default)]
pub(super) struct SharedString {
    text: Option<Arc<str>>,
    json: Vec<u8>,
}

impl SharedString {
    /// Appends `text` as [`push_string`] does.
    pub(super) fn push(&mut self, out: &mut Vec<u8>, text: &Arc<str>) {
        if !self.text.as_ref().is_some_and(|kept| Arc::ptr_eq(kept, text)) {
            self.json.clear();
            push_string(&mut self.json, text);
            self.text = Some(Arc::clone(text));
        }
        out.extend_from_slice(&self.json);
    }
}

/// Appends `name` as a JSON string without looking for escapes: for the names that cannot
/// need one and every finding has: rule ids (kebab-case, checked when a rule is loaded),
/// severities and SARIF levels (words of this program) and fingerprints (hexadecimal).
pub(super) fn push_name(out: &mut Vec<u8>, name: &str) {
    debug_assert!(!any_needs_escape(name.as_bytes()), "{name:?}");
    out.reserve(name.len() + 2);
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.push(b'"');
}

/// Appends `text` as a JSON string escaped as serde_json escapes it: `"`, `\` and the control
/// characters, those with a short form as `\n`, `\t`, ..., the others as `\u00XX`; everything
/// else (non-ASCII, U+2028) as it is.
pub(super) fn push_string(out: &mut Vec<u8>, text: &str) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    push_escaped(out, text);
    out.push(b'"');
}

/// The inside of [`push_string`]: for a string written in pieces.
pub(super) fn push_escaped(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    // Almost no string needs an escape: such a string is checked and copied at once.
    if !any_needs_escape(bytes) {
        out.extend_from_slice(bytes);
        return;
    }
    let mut run_start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        if !needs_escape(byte) {
            continue;
        }
        out.extend_from_slice(&bytes[run_start..index]);
        run_start = index + 1;
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            control => {
                out.extend_from_slice(b"\\u00");
                out.extend_from_slice(&[HEX_DIGITS[usize::from(control >> 4)], HEX_DIGITS[usize::from(control & 0xf)]]);
            }
        }
    }
    out.extend_from_slice(&bytes[run_start..]);
}

fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// True if any of `bytes` [`needs_escape`], looked at eight bytes at a time: a dozen
/// instructions per word, where the byte-wise check vectorises only its 16-byte blocks and
/// pays several instructions per byte for the rest, which for the short strings of a report
/// (names, paths, messages) is most of them.
fn any_needs_escape(bytes: &[u8]) -> bool {
    let (words, rest) = bytes.as_chunks::<8>();
    let Some(last) = words.last() else {
        return rest.iter().any(|&byte| needs_escape(byte));
    };
    // The last eight bytes, overlapping the last word, cover the rest.
    let tail = bytes.len() - 8;
    let last_eight: &[u8; 8] = bytes.get(tail..).and_then(|tail| tail.try_into().ok()).unwrap_or(last);
    words.iter().chain([last_eight]).fold(false, |found, word| found | word_needs_escape(u64::from_le_bytes(*word)))
}

/// True if a byte of `word` is below `0x20`, `"` or `\`. Bit tricks on the whole word (after
/// "Bit Twiddling Hacks"): subtracting `n` from every byte borrows into the top bit of a byte
/// below `n` that did not have it set; a byte equal to `c` is a zero byte of `word ^ c`, so
/// below 1. Borrows may mark more bytes above a marked one, but never mark a word with none.
fn word_needs_escape(word: u64) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const TOPS: u64 = u64::from_le_bytes([0x80; 8]);
    let below = |word: u64, bound: u8| word.wrapping_sub(ONES * u64::from(bound)) & !word;
    let control = below(word, 0x20);
    let quote = below(word ^ (ONES * u64::from(b'"')), 1);
    let backslash = below(word ^ (ONES * u64::from(b'\\')), 1);
    (control | quote | backslash) & TOPS != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWKWARD: &[&str] = &[
        "",
        "plain ASCII, long enough to span more than one vector of bytes at once",
        "\"quoted\" and back\\slashed \\\"",
        "\u{0}\u{1}\u{7}\u{8}\t\n\u{b}\u{c}\r\u{e}\u{1b}\u{1f} \u{7f}",
        "line\u{2028}separator\u{2029}paragraph",
        "non-ASCII: café, 日本語, 🦀, \u{80}\u{ffff}",
        "ends with an escape\n",
        "sixteen bytes or more before the only escape: a tab\t",
        "\"",
    ];

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for text in AWKWARD {
            let mut out = Vec::new();
            push_string(&mut out, text);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn escapes_are_found_wherever_they_are() {
        // Every byte value alone at every place of strings of every length up to three words,
        // among bytes that need no escape (some close to those that do, some non-ASCII).
        for length in 1..=24 {
            for place in 0..length {
                for filler in [b' ', b'!', b'#', b'[', b']', 0x7f, 0xa2, 0xdc, 0xff] {
                    for byte in 0..=u8::MAX {
                        let mut bytes = vec![filler; length];
                        bytes[place] = byte;
                        assert_eq!(any_needs_escape(&bytes), needs_escape(byte), "{bytes:?}");
                    }
                }
            }
        }
        assert!(!any_needs_escape(b""));
    }

    #[test]
    fn numbers_are_written_as_serde_json_writes_them() {
        // Around every change in the count of digits, after what the buffer already holds.
        let powers = (0..20).map(|exponent| 10usize.pow(exponent));
        let values = powers.flat_map(|power| [power - 1, power, power + 1]).chain([1234567890, usize::MAX]);
        for value in values {
            let mut out = b"[".to_vec();
            push_number(&mut out, value);
            assert_eq!(String::from_utf8(out).unwrap(), format!("[{value}"));
        }
    }

    #[test]
    fn layout_is_serde_json_pretty_layout_at_any_indent() {
        let expected = serde_json::json!({
            "count": 42,
            "empty": {},
            "flag": false,
            "name": AWKWARD[2],
            "nested": { "list": [{ "line": 1 }, {}] },
            "none": [],
            "null": null,
            "some": AWKWARD[3],
        });
        let expected = serde_json::to_string_pretty(&expected).unwrap();
        // 30: the deepest lines go past the indentation copied at once.
        for indent in [0, 30] {
            // Keys in alphabetical order, as `json!` objects sort theirs.
            let mut out = Vec::new();
            write_object(&mut out, indent, |object| {
                object.number("count", 42);
                object.object("empty", |_| {});
                object.boolean("flag", false);
                object.string("name", AWKWARD[2]);
                object.object("nested", |nested| {
                    nested.array("list", |list| {
                        list.object(|element| element.number("line", 1));
                        list.object(|_| {});
                    })
                });
                object.array("none", |_| {});
                object.optional_string("null", None);
                object.optional_string("some", Some(AWKWARD[3]));
            });
            let indented = expected.replace('\n', &format!("\n{}", " ".repeat(indent)));
            assert_eq!(String::from_utf8(out).unwrap(), indented, "at {indent}");
        }
    }
}
