//! JSON text in serde_json's pretty layout, written by hand for the records written once per
//! finding: going through serde costs several thousand instructions per finding, most of
//! them escaping strings byte by byte. The output is byte for byte what serde_json prints
//! (tests below compare the two); everything written once per run still goes through serde.
//! The JSON report's findings, the most numerous records, spell the layout out with
//! [`push_string`] and [`push_number`] instead (`json::write_finding`).

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

    /// One string made of `parts`, without putting them together first.
    pub(super) fn joined_string(&mut self, key: &str, parts: &[&str]) {
        let out = self.key(key);
        out.push(b'"');
        parts.iter().for_each(|part| push_escaped(out, part));
        out.push(b'"');
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

    pub(super) fn strings(&mut self, key: &str, values: &[String]) {
        self.array(key, |array| values.iter().for_each(|value| array.string(value)));
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
    pub(super) fn string(&mut self, value: &str) {
        push_string(self.0.next(), value);
    }

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
    // Copied at once: deeper than the deepest SARIF member, which is 18 spaces in.
    const NEW_LINE: &[u8; 33] = b"\n                                ";
    match NEW_LINE.get(..=indent) {
        Some(new_line) => out.extend_from_slice(new_line),
        None => {
            out.push(b'\n');
            out.resize(out.len() + indent, b' ');
        }
    }
}

pub(super) fn push_number(out: &mut Vec<u8>, mut value: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
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

/// The inside of [`push_string`].
fn push_escaped(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    // Almost no string needs an escape. A check without early exit compiles to a few vector
    // instructions per 16 bytes, so such a string is checked and copied at once.
    if !bytes.iter().fold(false, |found, &byte| found | needs_escape(byte)) {
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
    fn numbers_are_written_as_serde_json_writes_them() {
        for value in [0, 7, 10, 99, 1234567890, usize::MAX] {
            let mut out = Vec::new();
            push_number(&mut out, value);
            assert_eq!(String::from_utf8(out).unwrap(), value.to_string());
        }
    }

    #[test]
    fn layout_is_serde_json_pretty_layout_at_any_indent() {
        let expected = serde_json::json!({
            "count": 42,
            "empty": {},
            "joined": format!("a/{}/b", AWKWARD[3]),
            "name": AWKWARD[2],
            "nested": { "list": [{ "line": 1 }, {}] },
            "none": [],
            "some": AWKWARD,
        });
        let expected = serde_json::to_string_pretty(&expected).unwrap();
        // 30: the deepest lines go past the indentation copied at once.
        for indent in [0, 30] {
            // Keys in alphabetical order, as `json!` objects sort theirs.
            let mut out = Vec::new();
            write_object(&mut out, indent, |object| {
                object.number("count", 42);
                object.object("empty", |_| {});
                object.joined_string("joined", &["a/", AWKWARD[3], "/b"]);
                object.string("name", AWKWARD[2]);
                object.object("nested", |nested| {
                    nested.array("list", |list| {
                        list.object(|element| element.number("line", 1));
                        list.object(|_| {});
                    })
                });
                object.strings("none", &[]);
                object.strings("some", &AWKWARD.iter().map(|text| text.to_string()).collect::<Vec<_>>());
            });
            let indented = expected.replace('\n', &format!("\n{}", " ".repeat(indent)));
            assert_eq!(String::from_utf8(out).unwrap(), indented, "at {indent}");
        }
    }
}
