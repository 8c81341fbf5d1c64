//! `secret-in-args`: a literal credential on a command line or in a script: a secret flag
//! (`--password=…`, `--token …`, `mysql -p…`), a secret-named assignment
//! (`export AWS_SECRET_ACCESS_KEY=…`), a password in a URL (`https://user:pass@host`), an
//! `Authorization` header, or a secret keyword/variable in embedded Python.
//!
//! The places a container's code hands a value to something that expects a credential
//! ("sinks") are collected by [`command_sinks`], which `hardcoded-credential` reuses for
//! the formats it can only recognise by where they are written. Values that are
//! references (placeholders, `$VAR`, `$(…)`, paths) never count.

use std::cell::OnceCell;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::{Check, Docs, Emitter, Hit, Rule, RuleMeta};
use crate::analysis::{Code, Command, PythonSource, Word, python};
use crate::finding::Severity;
use crate::model::Pipeline;
use crate::secrets::{
    NameClass, classify_name, contains_reference, is_placeholder_value, is_reference_value, is_switch_flag,
    may_be_secret_name, redact,
};
use crate::text::MappedText;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "secret-in-args",
        severity: Severity::Medium,
        enabled_by_default: true,
        summary: "Literal credential in a command line or script",
        help: "pass credentials through a Secret mounted as a file or an env var and reference it (`$DB_PASSWORD`)",
        tags: &["security", "secrets", "CWE-798", "CWE-214"],
        docs: Docs {
            what: "Flags credentials written literally into a container's `command`, `args` or \
script (shell run with `sh -c`, Argo `source`, Tekton `script`, the Python source of a KFP \
component and its `subprocess` calls):
- flags whose name is secret-like: `--password=…`, `--token …`, `--api-key …`, \
`--client-secret=…`, `-Dspring.datasource.password=…`, `--set auth.password=…`, \
`--from-literal=password=…`, `curl -d 'password=…'`;
- short password options of the programs that have one: `mysql -pX` (attached only), \
`sshpass -p`, `redis-cli -a`, `mongo*/mongosh -p`, `docker|podman|helm|oras login -p`, \
`az login -p`, `ldapsearch -w`, `sqlcmd -P`, `zip -P`, `7z -pX`, `curl -u user:pass`, \
`smbclient -U user%pass`, `openssl … -pass pass:X`;
- secret-named assignments: `export AWS_SECRET_ACCESS_KEY=…`, `PGPASSWORD=… psql`, \
`env TOKEN=… cmd`;
- a password in a URL (`postgresql://user:pass@db`, `https://oauth2:TOKEN@git.example.com`);
- `Authorization: Bearer|Basic|Token …` and other secret-named headers (`-H 'X-API-Key: …'`, \
`PRIVATE-TOKEN`);
- `wandb login KEY`, `mc alias set NAME URL ACCESS SECRET`, `aws configure set \
aws_secret_access_key …`;
- in embedded Python: keyword arguments (`boto3.client(aws_secret_access_key='…')`, \
`psycopg2.connect(password='…')`) and variables (`API_KEY = '…'`) with secret-like names, \
`'Bearer …'` strings and URLs with passwords.

Names are judged like `secret-in-env` does (`--token-path`, `--password-stdin`, \
`--no-password` are not secrets). Values that are references never fire: KFP/Argo \
`{{…}}` placeholders, Tekton `$(params.x)`, shell `$VAR`/`${VAR}`/`$(cat …)`, file paths, \
empty strings. A value that is a recognizable provider token is reported once, by \
`hardcoded-credential`.",
            why: "Command lines are the least private place for a secret: they are compiled \
into the pipeline file and shown in the pipeline UI, stored with every run, visible to anyone \
who can list the pod (`kubectl get pod -o yaml`), and readable by every process on the node \
through `/proc/<pid>/cmdline` and `ps`. They also end up in shell traces (`set -x`) and logs.",
            example: "\
command:
- sh
- -c
- |
  export AWS_SECRET_ACCESS_KEY=minio123          # <- flagged
  mysql -h db -u etl -pS3cr3tPass < load.sql    # <- flagged",
            fix: "\
- **KFP v2**: `kubernetes.use_secret_as_env(task, secret_name='db-creds', \
secret_key_to_env={'password': 'DB_PASSWORD'})` and reference `$DB_PASSWORD` (or read \
`os.environ['DB_PASSWORD']` in the component); or `kubernetes.use_secret_as_volume` and \
pass the file path (`--password-file /mnt/creds/password`).
- **KFP v1**: `op.add_env_variable(V1EnvVar(name='DB_PASSWORD', value_from=…secret_key_ref…))` \
or `use_k8s_secret`, then `$DB_PASSWORD` in the command.
- **Hera / Argo**: `env=[SecretEnv(name='DB_PASSWORD', secret_name='db-creds', \
secret_key='password')]` (`valueFrom.secretKeyRef`), referenced as `$DB_PASSWORD`.
- **Tekton**: `env[].valueFrom.secretKeyRef` on the step, or a workspace bound to the \
Secret; reference `$DB_PASSWORD` in the `script`.
- Tools that read secrets from files or stdin are better still: `--password-stdin`, \
`--password-file`, `PGPASSFILE`, `~/.my.cnf` from a mounted Secret.",
        },
    },
    check: Check::Code(check),
};

/// A place where a container's code hands a value to something expecting a credential.
#[derive(Clone, Debug)]
pub(super) struct Sink {
    /// The name the value is judged by: a variable, flag, keyword or header name, or a
    /// generic `password` for credentials known by position (`mysql -pX`).
    pub name: String,
    /// How the value is given, for messages: "flag `--password` of `mysql`".
    pub label: String,
    pub value: MappedText,
    /// Known to be a credential by position (`-p` of `mysql`, a URL password), not by name.
    pub positional: bool,
    /// Comes from Python source: a value with spaces there is prose, not a secret.
    pub python: bool,
}

impl Sink {
    /// True when the value is a credential written into the pipeline.
    pub fn is_literal_secret(&self, extra_words: &[String]) -> bool {
        let value = self.value.as_str();
        if is_reference_value(value)
            || contains_reference(value)
            || looks_like_env_name(value)
            || is_placeholder_value(value)
        {
            return false;
        }
        if self.python && value.trim().contains(char::is_whitespace) {
            return false;
        }
        if self.positional {
            return true;
        }
        match classify_name(&self.name, extra_words) {
            NameClass::Plain => false,
            NameClass::Secret => true,
            // `--secret id=x,src=/y` (docker), `--secret my-secret`: names of Secret objects.
            NameClass::SecretObject => !value.contains('=') && !crate::secrets::looks_like_object_name(value),
        }
    }
}

/// `OPENAI_API_KEY`: a value that names an environment variable rather than holding a secret.
fn looks_like_env_name(value: &str) -> bool {
    value.contains('_')
        && value.starts_with(|c: char| c.is_ascii_uppercase())
        && value.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `scheme://user:password@host`: the user and the password.
static URL_CREDENTIALS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z][a-z0-9+.-]*://(?P<user>[^\s/:@?#'`]*):(?P<password>[^\s/@?#'`]+)@[^\s/@'`]").ok()
});

/// `Authorization: Bearer TOKEN` (also `Proxy-Authorization`, `Basic`, `Token`, ...).
static AUTHORIZATION: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:proxy-)?authorization\s*:\s*(?:bearer|basic|token|bot|digest|apikey|sso-key)\s+(?P<value>[^\s'`]+)",
    )
    .ok()
});

/// A whole Python string that is an authorization value: `"Bearer TOKEN"`.
static AUTH_VALUE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^(?:Bearer|Basic|Token|Bot)\s+(?P<value>[^\s]{8,})$").ok());

/// A `Name: value` header word (`-H 'X-API-Key: …'`).
static HEADER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^\s*(?P<name>[A-Za-z0-9_-]+)\s*:\s*(?P<value>\S.*?)\s*$").ok());

/// Programs whose short option takes a password: (programs, option, value must be attached,
/// subcommand required).
type ShortPasswordOption = (&'static [&'static str], char, bool, Option<&'static str>);

const SHORT_PASSWORD_OPTIONS: &[ShortPasswordOption] = &[
    (
        &[
            "mysql",
            "mysqldump",
            "mysqladmin",
            "mysqlimport",
            "mysqlshow",
            "mysqlcheck",
            "mysqlpump",
            "mysqlsh",
            "mariadb",
            "mariadb-dump",
            "mariadb-admin",
        ],
        'p',
        true,
        None,
    ),
    (&["7z", "7za", "7zr"], 'p', true, None),
    (&["sshpass"], 'p', false, None),
    (&["redis-cli", "valkey-cli", "keydb-cli"], 'a', false, None),
    (
        &["mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport", "mongostat", "mongotop"],
        'p',
        false,
        None,
    ),
    (
        &["docker", "podman", "nerdctl", "buildah", "skopeo", "helm", "oras", "crane", "regctl"],
        'p',
        false,
        Some("login"),
    ),
    (&["az"], 'p', false, Some("login")),
    (&["ldapsearch", "ldapadd", "ldapmodify", "ldapdelete", "ldapwhoami", "ldappasswd"], 'w', false, None),
    (&["sqlcmd", "bcp", "zip", "unzip"], 'P', false, None),
];

// The lists below are `matches!` rather than slices: they are asked about every flag or
// command, and a `match` on strings compares the length first.

/// True for a flag whose value is a `KEY=VALUE` pair (or several, comma-separated).
fn is_key_value_flag(flag: &str) -> bool {
    matches!(
        flag,
        "--set"
            | "--set-string"
            | "--conf"
            | "--from-literal"
            | "--build-arg"
            | "--env"
            | "--set-env-vars"
            | "--update-env-vars"
    )
}

/// True for a program for which `-e KEY=VALUE` sets an environment variable.
fn has_env_flag(program: &str) -> bool {
    matches!(program, "docker" | "podman" | "nerdctl" | "kubectl" | "oc")
}

/// True for a builtin whose `NAME=VALUE` arguments are assignments.
fn is_declaration_builtin(program: &str) -> bool {
    matches!(program, "export" | "declare" | "typeset" | "local" | "readonly")
}

/// Gathers sinks, skipping early (before any allocation) those whose name is not wanted.
struct Collector<'a> {
    accept: &'a dyn Fn(&str) -> bool,
    python: bool,
    sinks: Vec<Sink>,
    /// When set, only the sinks' names are gathered, here (not `sinks`).
    names: Option<Vec<String>>,
}

impl Collector<'_> {
    fn named(&mut self, name: &str, label: impl FnOnce() -> String, value: impl FnOnce() -> MappedText) {
        self.found(name, false, label, value);
    }

    /// A credential known by position; judged under the name `password`.
    fn positional(&mut self, label: impl FnOnce() -> String, value: impl FnOnce() -> MappedText) {
        self.found("password", true, label, value);
    }

    /// Keeps a sink named `name` if it is wanted: its name only when gathering names.
    fn found(
        &mut self,
        name: &str,
        positional: bool,
        label: impl FnOnce() -> String,
        value: impl FnOnce() -> MappedText,
    ) {
        if !(self.accept)(name) {
            return;
        }
        match &mut self.names {
            Some(names) => names.push(name.to_string()),
            None => {
                let sink =
                    Sink { name: name.to_string(), label: label(), value: value(), positional, python: self.python };
                self.sinks.push(sink);
            }
        }
    }

    /// `NAME=VALUE` as a sink named `NAME`.
    fn assignment_word(&mut self, word: &MappedText, what: impl FnOnce() -> String) {
        let text = word.as_str();
        let Some((name, _)) = text.split_once('=') else { return };
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if valid && !name.starts_with('-') {
            self.named(name, || format!("{} `{name}`", what()), || word.slice(name.len() + 1..text.len()));
        }
    }
}

/// Every sink in a container's code (its commands with their assignments, and its Python
/// sources) whose name `accept` wants. Credentials known by position are named `password`.
pub(super) fn command_sinks(code: &Code, accept: &dyn Fn(&str) -> bool) -> Vec<Sink> {
    let mut collector = Collector { accept, python: false, sinks: Vec::new(), names: None };
    for command in &code.commands {
        // A script's command is searched once per container only if a name it hands a
        // value under is wanted (most hand none).
        let names = command.facts().map(|facts| facts.credential_names.get_or_init(|| sink_names(command)));
        if names.is_some_and(|names| !names.iter().any(|name| accept(name))) {
            continue;
        }
        command_sinks_of(command, &mut collector);
    }
    collector.python = true;
    for source in &code.python {
        python_sinks(source, &mut collector);
    }
    collector.sinks
}

/// The names of `command`'s sinks whatever names are accepted. `accept` only filters the
/// sinks found, so `command` has a sink for an `accept` only if it accepts one of these.
fn sink_names(command: &Command) -> Box<[String]> {
    let mut collector = Collector { accept: &|_| true, python: false, sinks: Vec::new(), names: Some(Vec::new()) };
    command_sinks_of(command, &mut collector);
    collector.names.unwrap_or_default().into_boxed_slice()
}

fn command_sinks_of(command: &Command, out: &mut Collector<'_>) {
    for assignment in &command.assignments {
        let name = assignment.name.as_str();
        out.named(name, || format!("variable `{name}`"), || assignment.value.mapped().clone());
    }
    let Some(program) = command.program() else { return };
    let args = command.args();
    if is_declaration_builtin(program) {
        for word in args {
            out.assignment_word(word, || "variable".to_string());
        }
        return;
    }
    // The inline code of `sh -c CODE`/`python -c CODE` is analysed as code of its own, and
    // so are multi-line words (scripts and sources passed as arguments).
    let code_word = inline_code_word(program, args);
    // Looked up once per command, and only for commands with flags.
    let short_option = OnceCell::new();
    for (index, word) in args.iter().enumerate() {
        // Neither a flag nor a URL or header: nothing below applies.
        if !command.may_be_option_or_hold_colon(index) || Some(index) == code_word {
            continue;
        }
        let holds = Holds::of(word.as_str());
        if holds.newline {
            continue;
        }
        let next = args.get(index + 1).filter(|_| Some(index + 1) != code_word);
        flag_sinks(program, &short_option, args, word, next, out);
        // A URL with a password holds `@` and `://`, a header a colon.
        if holds.at && holds.colon {
            url_sinks(word.as_str(), |range| word.slice(range), || format!("a URL given to `{program}`"), out);
        }
        if holds.colon {
            header_sinks(word, program, out);
        }
    }
    special_sinks(program, args, out);
}

/// Which of the bytes [`command_sinks_of`] decides on a word holds, found in one pass: a
/// search for each byte cost more than most words.
struct Holds {
    newline: bool,
    at: bool,
    colon: bool,
}

impl Holds {
    fn of(text: &str) -> Holds {
        let bytes = text.as_bytes();
        let mut holds = Holds { newline: false, at: false, colon: false };
        for position in memchr::memchr3_iter(b'\n', b'@', b':', bytes) {
            match bytes[position] {
                b'\n' => {
                    holds.newline = true;
                    break;
                }
                b'@' => holds.at = true,
                _ => holds.colon = true,
            }
        }
        holds
    }
}

/// The index (in `args`) of the inline code of `sh -c CODE` / `python -c CODE`.
fn inline_code_word(program: &str, args: &[Word]) -> Option<usize> {
    let interpreter = crate::analysis::shell::is_shell(program) || program.starts_with("python");
    if !interpreter {
        return None;
    }
    for (index, word) in args.iter().enumerate() {
        let text = word.as_str();
        if !text.starts_with('-') || text.starts_with("--") {
            return None;
        }
        if text.len() > 1 && text[1..].chars().all(|c| c.is_ascii_alphabetic()) && text.contains('c') {
            return Some(index + 1);
        }
    }
    None
}

/// Flags that carry a secret: `--password=X`, `--password X`, `-pX` of `mysql`, ...
fn flag_sinks(
    program: &str,
    short_option: &OnceCell<Option<&ShortPasswordOption>>,
    args: &[Word],
    word: &Word,
    next: Option<&Word>,
    out: &mut Collector<'_>,
) {
    let text = word.as_str();
    if !text.starts_with('-') || text == "-" || text == "--" {
        return;
    }
    // (None of the short options is spelled with two dashes.)
    if !text.starts_with("--") && short_password_option(program, short_option, args, word, next, out) {
        return;
    }
    let (flag, attached) = match memchr::memchr(b'=', text.as_bytes()) {
        Some(equals) => (&text[..equals], true),
        None => (text, false),
    };
    let value = || {
        if attached {
            Some(word.slice(flag.len() + 1..text.len()))
        } else {
            next.filter(|next| !next.as_str().starts_with('-')).map(|next| next.mapped().clone())
        }
    };
    // `--set auth.password=X`, `--from-literal=password=X`, `docker run -e TOKEN=X`.
    let env_flag = flag == "-e" && has_env_flag(program);
    if is_key_value_flag(flag) || env_flag {
        let Some(value) = value() else { return };
        let mut offset = 0;
        for pair in value.as_str().split(',') {
            let piece = value.slice(offset..offset + pair.len());
            offset += pair.len() + 1;
            out.assignment_word(&piece, || format!("`{flag}` of `{program}` sets"));
        }
        return;
    }
    // Java system properties: `-Dspring.datasource.password=X`.
    if let Some(property) = flag.strip_prefix("-D").filter(|p| !p.is_empty() && !flag.starts_with("--")) {
        if text.contains('=') {
            out.named(
                property,
                || format!("property `{property}` of `{program}`"),
                || word.slice(flag.len() + 1..text.len()),
            );
        }
        return;
    }
    // Form fields: `curl -d 'user=x&password=y'`.
    if matches!(flag, "-d" | "--data" | "--data-raw" | "--data-urlencode" | "--data-binary" | "-F" | "--form")
        && matches!(program, "curl" | "http" | "wget")
    {
        let Some(value) = value() else { return };
        let mut offset = 0;
        for pair in value.as_str().split('&') {
            let piece = value.slice(offset..offset + pair.len());
            offset += pair.len() + 1;
            out.assignment_word(&piece, || format!("form field sent by `{program}`:"));
        }
        return;
    }
    // `openssl … -pass pass:X`; `env:VAR`, `file:path`, `fd:N` and `stdin` are references.
    if program == "openssl" && matches!(flag, "-pass" | "-passin" | "-passout" | "-passwd" | "-password" | "-k") {
        match value() {
            Some(value) if value.as_str().starts_with("pass:") => {
                out.positional(|| format!("`{flag} pass:` of `{program}`"), || value.slice(5..value.len()));
            }
            // `openssl enc -k PASSWORD` (legacy): the password itself.
            Some(value) if flag == "-k" => out.positional(|| "`-k` of `openssl`".to_string(), || value),
            _ => {}
        }
        return;
    }
    if program == "curl" && matches!(flag, "--user" | "--proxy-user" | "-U") {
        if let Some(value) = value() {
            user_password(&value, ':', || format!("`{flag}` of `curl`"), out);
        }
        return;
    }
    // Long flags and single-dash long flags (`-password`); short clusters (`-xzf`) are not names.
    let long = text.starts_with("--") || flag.len() > 3;
    // Whether there is a value is cheaper to tell than whether the name is secret-like.
    let has_value = attached || next.is_some_and(|next| !next.as_str().starts_with('-'));
    if !long || !has_value {
        return;
    }
    let name = flag.trim_start_matches('-');
    if (out.accept)(name)
        && !is_switch_flag(flag)
        && let Some(value) = value()
    {
        out.named(name, || format!("flag `{flag}` of `{program}`"), || value);
    }
}

/// `-pX` / `-p X` for the programs whose short option takes a password (`short_option`,
/// the program's entry of [`SHORT_PASSWORD_OPTIONS`], looked up on first use); true if
/// `word` was such an option.
fn short_password_option(
    program: &str,
    short_option: &OnceCell<Option<&ShortPasswordOption>>,
    args: &[Word],
    word: &Word,
    next: Option<&Word>,
    out: &mut Collector<'_>,
) -> bool {
    let text = word.as_str();
    let attached_or_next = |option: &str| {
        if text == option {
            next.map(|next| next.mapped().clone())
        } else if text.starts_with(option) && !text.starts_with("--") {
            Some(word.slice(option.len()..text.len()))
        } else {
            None
        }
    };
    if program == "curl" && (text == "-u" || text.starts_with("-u")) {
        if let Some(value) = attached_or_next("-u") {
            user_password(&value, ':', || "`-u` of `curl`".to_string(), out);
        }
        return true;
    }
    if program == "smbclient" && text.starts_with("-U") {
        if let Some(value) = attached_or_next("-U") {
            user_password(&value, '%', || "`-U` of `smbclient`".to_string(), out);
        }
        return true;
    }
    // Only a word whose second character is some program's option looks the program up.
    let letter = text.chars().nth(1);
    if !SHORT_PASSWORD_OPTIONS.iter().any(|&(_, option, ..)| letter == Some(option)) {
        return false;
    }
    let short_option =
        short_option.get_or_init(|| SHORT_PASSWORD_OPTIONS.iter().find(|(programs, ..)| programs.contains(&program)));
    let Some(&(_, option, attached_only, subcommand)) = *short_option else {
        return false;
    };
    if subcommand.is_some_and(|sub| !args.iter().any(|arg| arg.as_str() == sub)) {
        return false;
    }
    let mut chars = text.chars();
    if chars.next() != Some('-') || chars.next() != Some(option) {
        return false;
    }
    let label = || format!("`-{option}` of `{program}`");
    if text.len() > 2 {
        out.positional(label, || word.slice(2..text.len()));
    } else if !attached_only {
        // (`mysql -p dbname` prompts for the password; `dbname` is the database.)
        if let Some(value) = next.filter(|next| !next.as_str().starts_with('-')) {
            out.positional(label, || value.mapped().clone());
        }
    }
    true
}

/// The password of a `user:password` (or `user%password`) value.
fn user_password(value: &MappedText, separator: char, label: impl FnOnce() -> String, out: &mut Collector<'_>) {
    let text = value.as_str();
    let Some(position) = text.find(separator) else { return };
    if position + 1 < text.len() {
        out.positional(label, || value.slice(position + 1..text.len()));
    }
}

/// Passwords in `scheme://user:password@host` URLs inside `raw`; `slice` maps a range of
/// `raw` to the file.
fn url_sinks(
    raw: &str,
    slice: impl Fn(Range<usize>) -> MappedText,
    label: impl Fn() -> String,
    out: &mut Collector<'_>,
) {
    // `@` first: a byte search rules out nearly every word before the substring search.
    if !raw.contains('@') || !raw.contains("://") {
        return;
    }
    let Some(regex) = URL_CREDENTIALS.as_ref() else { return };
    for captures in regex.captures_iter(raw) {
        let (Some(user), Some(password)) = (captures.name("user"), captures.name("password")) else { continue };
        // GitHub's `https://TOKEN:x-oauth-basic@github.com`: the user is the secret.
        let secret = if password.as_str() == "x-oauth-basic" { user } else { password };
        if !secret.as_str().is_empty() {
            out.positional(|| format!("the password of {}", label()), || slice(secret.range()));
        }
    }
}

/// `Authorization: Bearer X` anywhere in a word; `Name: value` after `-H`/`--header`.
/// Called for words that hold a colon.
fn header_sinks(word: &Word, program: &str, out: &mut Collector<'_>) {
    let text = word.as_str();
    // Most words with a colon are URLs or `key: value` pairs: the regex runs on the few
    // that name the header.
    if let Some(regex) = AUTHORIZATION.as_ref().filter(|_| mentions_authorization(text)) {
        for captures in regex.captures_iter(text) {
            if let Some(value) = captures.name("value") {
                out.positional(
                    || format!("an `Authorization` header sent by `{program}`"),
                    || word.slice(value.range()),
                );
            }
        }
    }
    if !matches!(program, "curl" | "wget" | "http" | "https" | "xh" | "grpcurl") {
        return;
    }
    let header = text.strip_prefix("--header=").map(|rest| (text.len() - rest.len(), rest));
    let header = header.or_else(|| (!text.contains("://")).then_some((0, text)));
    let Some((offset, header)) = header else { return };
    if mentions_authorization(header) {
        return;
    }
    let Some(captures) = HEADER.as_ref().and_then(|regex| regex.captures(header)) else { return };
    let (Some(name), Some(value)) = (captures.name("name"), captures.name("value")) else { return };
    out.named(
        name.as_str(),
        || format!("header `{}` sent by `{program}`", name.as_str()),
        || word.slice(offset + value.start()..offset + value.end()),
    );
}

/// True if `text` holds `authorization` in any ASCII case, without a lower-cased copy of
/// `text`. The search stops at its `z`, rare elsewhere: stopping at every `a` cost 1,500
/// instructions a word in the long JSON arguments of some components.
fn mentions_authorization(text: &str) -> bool {
    const WORD: &[u8] = b"authorization";
    const Z_AT: usize = 7;
    let bytes = text.as_bytes();
    memchr::memchr2_iter(b'z', b'Z', bytes).any(|at| {
        at.checked_sub(Z_AT)
            .and_then(|start| bytes.get(start..start + WORD.len()))
            .is_some_and(|part| part.eq_ignore_ascii_case(WORD))
    })
}

/// Subcommands that take a credential by position.
fn special_sinks(program: &str, args: &[Word], out: &mut Collector<'_>) {
    if !matches!(program, "wandb" | "mc" | "mcli" | "aws") {
        return;
    }
    let operands: Vec<&Word> = args.iter().filter(|word| !word.as_str().starts_with('-')).collect();
    let texts: Vec<&str> = operands.iter().map(|word| word.as_str()).collect();
    match (program, texts.as_slice()) {
        // `wandb login KEY`
        ("wandb", ["login", _, ..]) => {
            out.named("WANDB_API_KEY", || "the key given to `wandb login`".into(), || operands[1].mapped().clone());
        }
        // `mc alias set NAME URL ACCESS_KEY SECRET_KEY`, `mc config host add …` (older mc).
        ("mc" | "mcli", ["alias", "set", _, _, _, _, ..]) => {
            out.positional(|| "the secret key given to `mc alias set`".into(), || operands[5].mapped().clone());
        }
        ("mc" | "mcli", ["config", "host", "add", _, _, _, _, ..]) => {
            out.positional(|| "the secret key given to `mc config host add`".into(), || operands[6].mapped().clone());
        }
        // `aws configure set aws_secret_access_key VALUE`
        ("aws", ["configure", "set", name, _, ..]) => {
            out.named(name, || format!("`aws configure set {name}`"), || operands[3].mapped().clone());
        }
        _ => {}
    }
}

/// Secret keyword arguments and variables, `Bearer …` strings and URL passwords in Python.
fn python_sinks(source: &PythonSource, out: &mut Collector<'_>) {
    let module = &source.module;
    for call in &module.calls {
        for arg in &call.args {
            let (Some(keyword), python::Value::Str(text)) = (arg.keyword.as_deref(), &arg.value) else { continue };
            // `wandb.login(key=…)`: a bare `key` is a W&B API key only there.
            let name = if keyword == "key" && call.callee.starts_with("wandb.") { "wandb_api_key" } else { keyword };
            out.named(name, || format!("keyword `{keyword}=` of `{}`", call.qualified()), || source.file_text(text));
        }
    }
    for assignment in &module.assignments {
        let python::Value::Str(text) = &assignment.value else { continue };
        let name = assignment.target.as_str();
        out.named(name, || format!("Python variable `{name}`"), || source.file_text(text));
    }
    for string in &module.strings {
        let text = string.as_str();
        if text.len() < 8 {
            continue;
        }
        // What `AUTH_VALUE` matches starts with `B` or `T`: most strings never reach the regex.
        let bearer = AUTH_VALUE
            .as_ref()
            .filter(|_| text.starts_with(['B', 'T']))
            .and_then(|regex| regex.captures(text))
            .and_then(|c| c.name("value"));
        if let Some(value) = bearer {
            out.positional(
                || "an authorization value in Python".into(),
                || source.file_text(&string.slice(value.range())),
            );
        }
        let url = text.contains("://") && text.contains('@');
        let header = text.contains(':') && mentions_authorization(text);
        if !url && !header {
            continue;
        }
        // Mapping the string to the file costs more than the searches: only what is found is.
        let file_text = |range: Range<usize>| source.file_text(&string.slice(range));
        url_sinks(text, file_text, || "a URL in Python".to_string(), out);
        if let Some(regex) = AUTHORIZATION.as_ref().filter(|_| header) {
            for captures in regex.captures_iter(text) {
                if let Some(value) = captures.name("value") {
                    out.positional(|| "an `Authorization` header in Python".into(), || file_text(value.range()));
                }
            }
        }
    }
}

fn check(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for container in &pipeline.containers {
        out.check_code(container, |out, code| {
            let extra = &out.settings().secret_name_words;
            let accept = |name: &str| may_be_secret_name(name, extra) && classify_name(name, extra) != NameClass::Plain;
            let sinks = command_sinks(code, &accept);
            for sink in sinks {
                if !sink.is_literal_secret(&out.settings().secret_name_words) {
                    continue;
                }
                let span = sink.value.source_span();
                // `covered` first: asking it marks a candidate (`Emitter::check_code`), reported or not.
                if out.covered("hardcoded-credential", &span) || out.covered(RULE.meta.id, &span) || span.is_empty() {
                    continue;
                }
                let value = sink.value.as_str();
                out.emit(
                    &RULE.meta,
                    Hit {
                        span: span.clone(),
                        message: format!(
                            "{} holds a literal secret ({}) in container `{}`",
                            sink.label,
                            redact(value),
                            container.name
                        ),
                        container: Some(container),
                        field: format!("code.{}", sink.name).into(),
                        value: value.to_string(),
                        secret: Some(span),
                        ..Hit::default()
                    },
                );
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::{Container, Role};
    use crate::yaml::{Limits, Tree};

    /// The sinks that `accept` wants in a container running `argv`.
    fn sinks(argv: &[&str], accept: &dyn Fn(&str) -> bool) -> Vec<Sink> {
        let yaml = serde_json::json!({ "command": argv }).to_string();
        let Ok(tree) = Tree::parse(yaml, None, Limits::default()) else { panic!("test YAML") };
        let Some(document) = tree.documents().next() else { panic!("no document") };
        let mut container = Container::new("main", Role::Main, document, "main".into());
        container.command = document.get("command").map(|list| list.items().collect()).unwrap_or_default();
        command_sinks(container.code(), accept)
    }

    /// The literal secrets among the sinks of a container running `argv`.
    pub(crate) fn literal_secrets(argv: &[&str]) -> Vec<(String, String)> {
        sinks(argv, &|name| classify_name(name, &[]) != NameClass::Plain)
            .into_iter()
            .filter(|sink| sink.is_literal_secret(&[]))
            .map(|sink| (sink.label, sink.value.as_str().to_string()))
            .collect()
    }

    fn sinks_of(script: &str) -> Vec<(String, String)> {
        literal_secrets(&["sh", "-c", script])
    }

    #[test]
    fn shell_credentials_are_found() {
        let cases: &[(&str, &str)] = &[
            ("mysql -h db -u etl -pS3cr3tPass db", "S3cr3tPass"),
            ("export AWS_SECRET_ACCESS_KEY=minio123", "minio123"),
            ("PGPASSWORD=hunter22 psql -h db", "hunter22"),
            ("env API_TOKEN=tok-123456 ./run", "tok-123456"),
            ("python train.py --db-password=s3cr3t", "s3cr3t"),
            ("python train.py --api-key s3cr3t-key", "s3cr3t-key"),
            ("git clone https://oauth2:glpat-abc@gitlab.example.com/x.git", "glpat-abc"),
            ("psql postgresql://etl:S3cr3t@db:5432/x", "S3cr3t"),
            ("curl -H 'Authorization: Bearer abc.def.ghi' https://api.example.com", "abc.def.ghi"),
            ("curl -H 'X-API-Key: k-123456' https://api.example.com", "k-123456"),
            ("curl -u admin:S3cr3t https://api.example.com", "S3cr3t"),
            ("sshpass -p S3cr3t ssh host", "S3cr3t"),
            ("docker login -u me -p S3cr3t registry.example.com", "S3cr3t"),
            ("helm upgrade x y --set auth.password=S3cr3t", "S3cr3t"),
            ("kubectl create secret generic x --from-literal=password=S3cr3t", "S3cr3t"),
            ("mc alias set minio http://minio:9000 minio minio123", "minio123"),
            ("wandb login 3f7a9c1e5b2d8f4a6c0e9b1d7f3a5c8e2b4d6f0a", "3f7a9c1e5b2d8f4a6c0e9b1d7f3a5c8e2b4d6f0a"),
            ("java -Dspring.datasource.password=S3cr3t -jar app.jar", "S3cr3t"),
            ("openssl enc -aes256 -pass pass:S3cr3t -in x", "S3cr3t"),
            ("openssl enc -aes256 -k S3cr3t -in x", "S3cr3t"),
            ("aws configure set aws_secret_access_key S3cr3t", "S3cr3t"),
            ("curl -d 'user=a&password=S3cr3t' https://x.example.com", "S3cr3t"),
        ];
        for (script, secret) in cases {
            let found = sinks_of(script);
            assert!(found.iter().any(|(_, value)| value == secret), "{script}: {found:?}");
        }
    }

    #[test]
    fn a_script_seen_before_is_searched_for_what_each_caller_accepts() {
        // After the first container, the script's commands come from the parse cache with
        // the sink names found then, whatever the first caller accepted.
        let script = "mysql -pS3cr3tPass db\npython run.py --wandb-key k-1234567 --epochs 3\necho done\n";
        let names = |accept: &dyn Fn(&str) -> bool| -> Vec<String> {
            sinks(&["sh", "-c", script], accept).into_iter().map(|sink| sink.name).collect()
        };
        assert!(names(&|name| name == "nothing").is_empty());
        assert_eq!(names(&|name| name.contains("wandb")), ["wandb-key"]);
        assert_eq!(names(&|_| true), ["password", "wandb-key", "epochs"]);
    }

    #[test]
    fn references_and_near_misses_do_not_fire() {
        for script in [
            "mysql -h db -u etl -p dbname",
            "mysql -h db -u etl -p\"$DB_PASSWORD\" db",
            "export AWS_SECRET_ACCESS_KEY=$SECRET",
            "export AWS_SECRET_ACCESS_KEY=\"${SECRET}\"",
            "python train.py --password {{$.inputs.parameters['pw']}}",
            "python train.py --password $(params.password)",
            "python train.py --password-file /var/run/secrets/db/password",
            "python train.py --token-path /var/run/secrets/token",
            "echo \"$PASS\" | docker login -u me --password-stdin registry.example.com",
            "python train.py --no-password --verbose",
            "python train.py --tokenizer-name bert-base",
            "python train.py --sort-key id",
            "psql -h db -p 5432 -U etl",
            "docker run -p 8080:80 nginx",
            "curl -H \"Authorization: Bearer $TOKEN\" https://api.example.com",
            "curl -H 'Content-Type: application/json' https://api.example.com",
            "curl -u admin https://api.example.com",
            "git clone git@github.com:org/repo.git",
            "curl https://user@example.com/x",
            "docker build --secret id=npmrc,src=/root/.npmrc .",
            "export TOKEN_PATH=/var/run/secrets/token KEY_COLUMN=id",
            "python train.py --api-key OPENAI_API_KEY",
            "openssl enc -aes256 -pass env:PASSPHRASE -in x",
            "python train.py --api-key <your-api-key>",
            "python train.py --pad-token '[PAD]' --eos-token '</s>'",
            "openssl enc -aes256 -pass file:/run/secrets/p -in x",
        ] {
            assert!(sinks_of(script).is_empty(), "{script}: {:?}", sinks_of(script));
        }
    }

    #[test]
    fn authorization_is_found_in_any_case() {
        for text in ["Authorization: Bearer x", "-H 'proxy-AUTHORIZATION: x'", "authorization"] {
            assert!(mentions_authorization(text), "{text}");
        }
        for text in ["zip", "authorisation", "uthorization", "Authorizatio", "{\"a\": \"z\"}"] {
            assert!(!mentions_authorization(text), "{text}");
        }
    }

    #[test]
    fn python_credentials_are_found() {
        let source = "import boto3, psycopg2\n\
s3 = boto3.client('s3', aws_secret_access_key='S3cr3tKey123')\n\
conn = psycopg2.connect(host='db', password=os.environ['PW'])\n\
API_KEY = 'k-live-123456'\n\
PASSWORD_PROMPT = 'Enter password: '\n\
headers = {'Authorization': 'Bearer abcdef123456'}\n\
engine = create_engine('postgresql://etl:S3cr3t@db/x')\n\
token = f'Bearer {tok}'\n";
        let found: Vec<String> =
            literal_secrets(&["python3", "-c", source]).into_iter().map(|(_, value)| value).collect();
        assert_eq!(found, ["S3cr3tKey123", "k-live-123456", "abcdef123456", "S3cr3t"]);
    }
}
