//! A reader for strict JSON that builds the same [`Tree`](super::Tree) the YAML parser
//! builds for the same text, node for node and span for span.
//!
//! Strings decoded from scalars are often JSON (the KFP v2 backend stores every component
//! and container spec as a JSON parameter; `podSpecPatch` is usually JSON). The YAML parser
//! reads them correctly but at several times the cost of a JSON reader. This reader accepts
//! only what it reads exactly as the YAML parser does, and gives up on anything else (YAML
//! syntax, escapes JSON lacks, surrogate escapes, keys YAML would not take as implicit keys)
//! so that the caller hands the text to the YAML parser: the tree never depends on which
//! reader built it.

use saphyr_parser::ScalarStyle;

use super::{Builder, Built, Kind, Limits, ParseError};

/// Why reading stopped.
enum Stop {
    /// Not strict JSON, or not JSON this reader is sure to read as YAML would.
    NotJson,
    /// JSON that the tree refuses (nesting too deep), as the YAML parser would.
    Refused(ParseError),
}

impl From<ParseError> for Stop {
    fn from(error: ParseError) -> Self {
        Stop::Refused(error)
    }
}

/// The longest key YAML takes as an implicit key (the YAML spec's 1024 characters).
const MAX_KEY_LENGTH: usize = 1024;

/// Bytes per node of JSON, to size the tree before reading: a little below the average
/// of the KFP backend's specs in the corpus (20), so most trees never grow.
const BYTES_PER_NODE: usize = 16;

/// Reads `source` if it is one strict JSON object or array. `None` when the YAML parser
/// must read it. The reader recurses once per level of nesting, which the builder bounds
/// (`limits.max_depth`).
pub(super) fn build(source: &str, limits: Limits) -> Option<Result<Built, ParseError>> {
    let mut builder = Builder::new(source, limits);
    // Room for what the text can hold, so the tree is not copied as it grows: decoded
    // strings are never longer than the text.
    builder.strings.reserve(source.len());
    let nodes = source.len() / BYTES_PER_NODE;
    builder.nodes.reserve(nodes);
    builder.expanded.reserve(nodes);
    builder.children.reserve(nodes);
    builder.pending.reserve(nodes);
    let mut reader = Reader { bytes: source.as_bytes(), text: source, position: 0, builder };
    let outcome = reader.document();
    match outcome {
        Ok(()) => Some(Ok(reader.builder.finish())),
        Err(Stop::Refused(error)) => Some(Err(error)),
        Err(Stop::NotJson) => None,
    }
}

struct Reader<'s> {
    bytes: &'s [u8],
    text: &'s str,
    position: usize,
    builder: Builder<'s>,
}

impl Reader<'_> {
    fn document(&mut self) -> Result<(), Stop> {
        self.skip_space();
        if !matches!(self.peek(), Some(b'{' | b'[')) {
            return Err(Stop::NotJson);
        }
        self.value()?;
        self.skip_space();
        if self.position != self.bytes.len() {
            return Err(Stop::NotJson);
        }
        Ok(())
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    /// Skips JSON whitespace but tabs (which YAML does not always take as space).
    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r')) {
            self.position += 1;
        }
    }

    fn value(&mut self) -> Result<(), Stop> {
        match self.peek() {
            Some(b'{') => self.mapping(),
            Some(b'[') => self.sequence(),
            Some(b'"') => self.string().map(|_| ()),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.word("true"),
            Some(b'f') => self.word("false"),
            Some(b'n') => self.word("null"),
            _ => Err(Stop::NotJson),
        }
    }

    fn mapping(&mut self) -> Result<(), Stop> {
        if !self.open(Kind::Mapping, b'}')? {
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(Stop::NotJson);
            }
            let key_start = self.position;
            self.string()?;
            // YAML spans a key up to its colon: spaces before the colon are left to it.
            if self.position - key_start > MAX_KEY_LENGTH || self.peek() != Some(b':') {
                return Err(Stop::NotJson);
            }
            self.position += 1;
            self.skip_space();
            self.value()?;
            if !self.another_item(b'}')? {
                return Ok(());
            }
        }
    }

    fn sequence(&mut self) -> Result<(), Stop> {
        if !self.open(Kind::Sequence, b']')? {
            return Ok(());
        }
        loop {
            self.value()?;
            if !self.another_item(b']')? {
                return Ok(());
            }
        }
    }

    /// Opens a collection at its opening bracket: true if items follow, false if the
    /// `closing` bracket came at once and closed it.
    fn open(&mut self, kind: Kind, closing: u8) -> Result<bool, Stop> {
        self.builder.open(kind, 0, self.position)?;
        self.position += 1;
        self.skip_space();
        if self.peek() == Some(closing) {
            return self.close().map(|()| false);
        }
        Ok(true)
    }

    /// After an item of a collection: true past a `,` (another item follows), false once
    /// the `closing` bracket has closed the collection.
    fn another_item(&mut self, closing: u8) -> Result<bool, Stop> {
        self.skip_space();
        match self.peek() {
            Some(b',') => {
                self.position += 1;
                self.skip_space();
                Ok(true)
            }
            Some(byte) if byte == closing => self.close().map(|()| false),
            _ => Err(Stop::NotJson),
        }
    }

    /// Closes the open collection at its closing bracket.
    fn close(&mut self) -> Result<(), Stop> {
        self.position += 1;
        self.no_space_after()?;
        self.builder.close(self.position)?;
        Ok(())
    }

    /// YAML spans quoted scalars and flow collections over the spaces that follow them on
    /// their line: such spaces are left to the YAML parser.
    fn no_space_after(&self) -> Result<(), Stop> {
        match self.peek() {
            None | Some(b',' | b']' | b'}' | b':' | b'\n' | b'\r') => Ok(()),
            _ => Err(Stop::NotJson),
        }
    }

    /// A double-quoted string; its value is decoded into the tree.
    fn string(&mut self) -> Result<(), Stop> {
        let start = self.position;
        self.position += 1;
        let mut decoded: Option<String> = None;
        let mut run_start = self.position;
        loop {
            // Most bytes are plain ASCII: skipped in one tight loop.
            let plain = self.bytes[self.position..]
                .iter()
                .position(|&b| matches!(b, b'"' | b'\\' | 0..0x20 | 0x7f..))
                .ok_or(Stop::NotJson)?;
            self.position += plain;
            match self.bytes[self.position] {
                b'"' => break,
                b'\\' => {
                    let value = decoded.get_or_insert_with(String::new);
                    value.push_str(&self.text[run_start..self.position]);
                    let escaped = self.escape()?;
                    value.push(escaped);
                    run_start = self.position;
                }
                0x80.. => {
                    let character = self.text[self.position..].chars().next().ok_or(Stop::NotJson)?;
                    // C1 controls and the BOM are not printable in YAML; NEL, LS and PS
                    // may be read as line breaks.
                    if matches!(character, '\u{80}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}') {
                        return Err(Stop::NotJson);
                    }
                    self.position += character.len_utf8();
                }
                // Control characters are not JSON; DEL is not printable in YAML.
                _ => return Err(Stop::NotJson),
            }
        }
        let raw = &self.text[run_start..self.position];
        self.position += 1;
        self.no_space_after()?;
        let style = ScalarStyle::DoubleQuoted;
        match decoded {
            None => self.builder.scalar(raw, style, 0, start, self.position),
            Some(mut value) => {
                value.push_str(raw);
                self.builder.scalar(&value, style, 0, start, self.position);
            }
        }
        Ok(())
    }

    /// One escape sequence (the reader at its backslash): the character it stands for.
    fn escape(&mut self) -> Result<char, Stop> {
        let code = self.bytes.get(self.position + 1).copied().ok_or(Stop::NotJson)?;
        self.position += 2;
        let character = match code {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let digits = self.text.get(self.position..self.position + 4).ok_or(Stop::NotJson)?;
                if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Stop::NotJson);
                }
                let value = u32::from_str_radix(digits, 16).map_err(|_| Stop::NotJson)?;
                self.position += 4;
                // Surrogates (halves of a pair) are where YAML and JSON readers differ.
                char::from_u32(value).ok_or(Stop::NotJson)?
            }
            _ => return Err(Stop::NotJson),
        };
        Ok(character)
    }

    /// A JSON number, kept as written (a plain scalar).
    fn number(&mut self) -> Result<(), Stop> {
        let start = self.position;
        if self.peek() == Some(b'-') {
            self.position += 1;
        }
        match self.peek() {
            Some(b'0') => self.position += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(Stop::NotJson),
        }
        if self.peek() == Some(b'.') {
            self.position += 1;
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(Stop::NotJson);
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.position += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.position += 1;
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(Stop::NotJson);
            }
            self.digits();
        }
        self.plain(start)
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.position += 1;
        }
    }

    /// `true`, `false` or `null` (plain scalars).
    fn word(&mut self, word: &str) -> Result<(), Stop> {
        let start = self.position;
        if !self.text[start..].starts_with(word) {
            return Err(Stop::NotJson);
        }
        self.position += word.len();
        self.plain(start)
    }

    /// A plain scalar from `start` to here, which must end where YAML ends it too.
    fn plain(&mut self, start: usize) -> Result<(), Stop> {
        if !matches!(self.peek(), None | Some(b' ' | b'\n' | b'\r' | b',' | b']' | b'}')) {
            return Err(Stop::NotJson);
        }
        let text = &self.text[start..self.position];
        self.builder.scalar(text, ScalarStyle::Plain, 0, start, self.position);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::super::{NodeRef, Tree};
    use super::*;

    /// All a caller can see of a node: its kind, span, style and value (a scalar's decoded
    /// text and its map to the source follow from these), then its children.
    fn dump(node: NodeRef<'_>, depth: usize, out: &mut String) {
        let indent = "  ".repeat(depth);
        if node.is_mapping() {
            out.push_str(&format!("{indent}map {:?}\n", node.span()));
            for (key, value) in node.entries() {
                dump(key, depth + 1, out);
                dump(value, depth + 2, out);
            }
        } else if node.is_sequence() {
            out.push_str(&format!("{indent}seq {:?}\n", node.span()));
            node.items().for_each(|item| dump(item, depth + 1, out));
        } else {
            let text = node.text();
            let map: Vec<usize> = (0..=text.len()).map(|offset| text.source_offset(offset)).collect();
            out.push_str(&format!(
                "{indent}scalar {:?} {:?} {:?} null={} text={:?} {map:?}\n",
                node.span(),
                node.style(),
                node.as_str(),
                node.is_null(),
                text.as_str()
            ));
        }
    }

    fn dump_tree(tree: &Tree) -> String {
        let mut out = String::new();
        tree.documents().for_each(|document| dump(document, 0, &mut out));
        out
    }

    /// The JSON reader's tree, `None` when it hands the text to the YAML parser.
    fn read_as_json(text: &str) -> Option<String> {
        let built = build(text, Limits::default())?.expect("JSON refused");
        Some(dump_tree(&Tree::from_built(text.to_string(), None, built)))
    }

    fn read_as_yaml(text: &str) -> String {
        dump_tree(&Tree::parse(text.to_string(), None, Limits::default()).expect("YAML parser failed"))
    }

    /// JSON as the KFP backend and `podSpecPatch` strings write it, and the corners of the
    /// grammar: every one must be read, and read exactly as the YAML parser reads it.
    const READ_AS_JSON: &[&str] = &[
        r#"{"image": "python:3.11", "command": ["sh", "-c", "pip install x && python -m y"]}"#,
        "{\n  \"containers\": [\n    {\n      \"name\": \"main\",\n      \"resources\": {\"limits\": {\"cpu\": \"2\"}}\n    }\n  ]\n}",
        r#"{"args":["--executor_input","{{$}}","--function_to_execute","train"],"env":[]}"#,
        r#"{"a": "line\nnext\ttab \"quoted\" back\\slash \/ \u00e9 \u20ac"}"#,
        r#"{"n": 1, "f": -2.5e-3, "t": true, "f2": false, "z": null, "e": "", "o": {}, "l": []}"#,
        r#"[1, [2, [3, [{"deep": ["x"]}]]]]"#,
        r#"{"unicode": "naïve 日本語 🚀", "key with spaces": "v"}"#,
        "[]",
        "{}",
    ];

    #[test]
    fn reads_json_exactly_as_the_yaml_parser_does() {
        for text in READ_AS_JSON {
            let json = read_as_json(text).unwrap_or_else(|| panic!("handed to YAML: {text}"));
            assert_eq!(json, read_as_yaml(text), "{text}");
        }
    }

    /// Texts the YAML parser reads differently from JSON, or that are not JSON at all: the
    /// reader must hand them over rather than guess.
    #[test]
    fn hands_yaml_and_doubtful_json_to_the_yaml_parser() {
        for text in [
            "{a: 1}",
            "key: value",
            "- item",
            r#"{"a": 'single'}"#,
            r#"{"a": "\ud83d\ude80"}"#,
            r#"{"a": "\x41"}"#,
            r#"{"a": 1} trailing"#,
            "\"just a string\"",
            "42",
            r#"{"a": [1, 2,]}"#,
        ] {
            assert_eq!(read_as_json(text), None, "{text}");
        }
    }

    /// JSON values whose strings come from `strings`.
    fn json_value(strings: BoxedStrategy<String>) -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            (-1.0e12f64..1.0e12).prop_map(Value::from),
            strings.prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::btree_map("[ -~]{0,20}", inner, 0..8)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    fn compact_and_indented(value: &Value) -> [String; 2] {
        [serde_json::to_string(value).unwrap_or_default(), serde_json::to_string_pretty(value).unwrap_or_default()]
    }

    proptest! {
        /// Whatever JSON it accepts, with any Unicode in its strings, compact or indented,
        /// it reads as the YAML parser does.
        #[test]
        fn generated_json_reads_as_yaml_reads_it(value in json_value(any::<String>().boxed())) {
            for text in compact_and_indented(&value) {
                if let Some(json) = read_as_json(&text) {
                    prop_assert_eq!(json, read_as_yaml(&text), "{}", text);
                }
            }
        }

        /// JSON as KFP writes it (printable text, newlines and tabs escaped) is always read
        /// by the JSON reader, not handed back.
        #[test]
        fn generated_plain_json_is_read_not_handed_over(value in json_value("[ -~\\n\\t]{0,40}".boxed())) {
            // The reader takes documents that are an object or an array.
            for text in compact_and_indented(&serde_json::json!({ "spec": value })) {
                let json = read_as_json(&text);
                prop_assert!(json.is_some(), "handed to YAML: {}", text);
                prop_assert_eq!(json.unwrap_or_default(), read_as_yaml(&text), "{}", text);
            }
        }
    }
}
