//! Declarative pattern rules: one YAML file per rule under `rules/` (embedded into the
//! binary at build time) or in a user's `--rules DIR`. The vocabulary is small and typed
//! (see `docs/rules-format.md`): match a command (program, subcommand, flags, argument
//! regex), an environment variable, or a Python call (callee, keyword value). Anything
//! that needs more is a structural rule in Rust.
//!
//! Files are parsed with kfpguard's spanned YAML tree, so every error points at its line.

use std::ops::Range;
use std::path::Path;

use regex::Regex;

use super::{Check, Docs, Emitter, Hit, Rule, RuleMeta};
use crate::analysis::{Code, Command, Word, is_python, python};
use crate::finding::Severity;
use crate::model::{Container, EnvValue, Pipeline};
use crate::yaml::{Limits, NodeRef, Tree};

/// A compiled pattern rule: a finding for every match of any of its patterns.
#[derive(Debug)]
pub struct PatternRule {
    patterns: Vec<Pattern>,
    /// The programs of the commands its patterns read.
    programs: ProgramsRead,
}

/// The programs whose commands some pattern of a rule reads: a command running another
/// matches none of its patterns.
#[derive(Debug, Default)]
struct ProgramsRead {
    names: Vec<String>,
    /// Any Python (`python -m MODULE` patterns).
    python: bool,
    /// `export`, `declare`, ... (env patterns).
    declarations: bool,
}

impl ProgramsRead {
    fn of(patterns: &[Pattern]) -> ProgramsRead {
        let mut read = ProgramsRead::default();
        for pattern in patterns {
            match &pattern.matcher {
                Matcher::Command { programs, .. } => {
                    for program in programs {
                        match program {
                            Program::Name(name) if !read.names.contains(name) => read.names.push(name.clone()),
                            Program::Name(_) => {}
                            Program::PythonModule(_) => read.python = true,
                        }
                    }
                }
                Matcher::Env { .. } => read.declarations = true,
                Matcher::PythonCall { .. } => {}
            }
        }
        read
    }

    fn contains(&self, program: &str) -> bool {
        self.names.iter().any(|name| name == program)
            || self.python && is_python(program)
            || self.declarations && is_declaration(program)
    }
}

#[derive(Debug)]
struct Pattern {
    matcher: Matcher,
    /// Message template: `{program}`, `{token}` and `{container}` are filled in.
    message: Option<String>,
}

#[derive(Debug)]
enum Matcher {
    Command {
        programs: Vec<Program>,
        subcommands: Vec<String>,
        flags: Vec<String>,
        arg_regex: Option<Regex>,
    },
    Env {
        /// `NAME` (any literal value) or `NAME=VALUE` (that value, case-insensitive).
        names: Vec<(String, Option<String>)>,
    },
    PythonCall {
        callees: Vec<String>,
        keyword: Option<(String, KeywordValue)>,
    },
}

/// A program name, or `python -m MODULE` written as `python -m pip`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Program {
    Name(String),
    PythonModule(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum KeywordValue {
    Bool(bool),
    Text(String),
}

/// A rule file that could not be loaded, pointing at the offending text.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
#[diagnostic(code(kfpguard::rule_file))]
pub struct RuleFileError {
    pub message: String,
    #[source_code]
    pub source_code: miette::NamedSource<String>,
    #[label("here")]
    pub span: Option<miette::SourceSpan>,
}

/// Loads every `*.yaml` / `*.yml` file of `dir` as a rule.
pub fn load_dir(dir: &Path) -> Result<Vec<Rule>, Box<RuleFileError>> {
    let plain_error = |message: String| {
        Box::new(RuleFileError {
            message,
            source_code: miette::NamedSource::new(dir.display().to_string(), String::new()),
            span: None,
        })
    };
    let entries =
        std::fs::read_dir(dir).map_err(|e| plain_error(format!("cannot read rules from {}: {e}", dir.display())))?;
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    paths.sort();
    let mut rules = Vec::new();
    for path in paths {
        let text =
            std::fs::read_to_string(&path).map_err(|e| plain_error(format!("cannot read {}: {e}", path.display())))?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        rules.push(parse(&path.display().to_string(), &stem, &text)?);
    }
    Ok(rules)
}

/// Parses one rule file; `stem` is its file name without extension, which must equal the id.
pub fn parse(name: &str, stem: &str, text: &str) -> Result<Rule, Box<RuleFileError>> {
    let error = |message: String, span: Option<Range<usize>>| {
        Box::new(RuleFileError {
            message,
            source_code: miette::NamedSource::new(name, text.to_string()),
            span: span.map(|s| miette::SourceSpan::new(s.start.into(), s.end.saturating_sub(s.start))),
        })
    };
    let tree = Tree::parse(text.to_string(), None, Limits::default())
        .map_err(|e| error(format!("invalid YAML: {e}"), Some(e.offset()..e.offset())))?;
    let root = tree
        .documents()
        .next()
        .filter(|root| root.is_mapping())
        .ok_or_else(|| error("a rule file must be a mapping".into(), None))?;
    let string = |key: &str| -> Result<String, Box<RuleFileError>> {
        let node = root.get(key).ok_or_else(|| error(format!("missing `{key}`"), Some(0..0)))?;
        node.as_str()
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .ok_or_else(|| error(format!("`{key}` must be a non-empty string"), Some(node.span())))
    };
    for (key, _) in root.entries() {
        let known = ["id", "severity", "enabled-by-default", "summary", "help", "tags", "docs", "match"];
        if !key.as_str().is_some_and(|k| known.contains(&k)) {
            return Err(error(format!("unknown key `{}`", key.as_str().unwrap_or("?")), Some(key.span())));
        }
    }
    let id = string("id")?;
    let id_ok = !id.is_empty() && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !id_ok {
        return Err(error(format!("rule id `{id}` must be kebab-case"), root.get("id").map(|n| n.span())));
    }
    if id != stem {
        return Err(error(
            format!("rule id `{id}` must match the file name `{stem}`"),
            root.get("id").map(|n| n.span()),
        ));
    }
    let severity_node = root.get("severity").ok_or_else(|| error("missing `severity`".into(), Some(0..0)))?;
    let severity = match severity_node.as_str() {
        Some("low") => Severity::Low,
        Some("medium") => Severity::Medium,
        Some("high") => Severity::High,
        _ => return Err(error("severity must be low, medium or high".into(), Some(severity_node.span()))),
    };
    let enabled_by_default = match root.get("enabled-by-default") {
        None => true,
        Some(node) => node
            .as_bool()
            .ok_or_else(|| error("`enabled-by-default` must be true or false".into(), Some(node.span())))?,
    };
    let tags: Vec<&'static str> =
        root.get("tags").into_iter().flat_map(|t| t.items()).filter_map(|t| t.as_str()).map(leak).collect();
    let docs_node = root.get("docs").ok_or_else(|| error("missing `docs`".into(), Some(0..0)))?;
    let doc = |key: &str| -> Result<&'static str, Box<RuleFileError>> {
        docs_node
            .get(key)
            .and_then(|n| n.as_str())
            .filter(|s| !s.trim().is_empty())
            .map(leak)
            .ok_or_else(|| error(format!("missing `docs.{key}`"), Some(docs_node.span())))
    };
    let docs = Docs { what: doc("what")?, why: doc("why")?, example: doc("example")?, fix: doc("fix")? };
    let match_node = root.get("match").ok_or_else(|| error("missing `match`".into(), Some(0..0)))?;
    if !match_node.is_sequence() || match_node.items().next().is_none() {
        return Err(error("`match` must be a non-empty list of patterns".into(), Some(match_node.span())));
    }
    let patterns = match_node.items().map(|node| parse_pattern(node, &error)).collect::<Result<Vec<_>, _>>()?;
    Ok(Rule {
        meta: RuleMeta {
            id: leak(&id),
            severity,
            enabled_by_default,
            summary: leak(&string("summary")?),
            help: leak(&string("help")?),
            tags: Vec::leak(tags),
            docs,
        },
        check: Check::Pattern(PatternRule { programs: ProgramsRead::of(&patterns), patterns }),
    })
}

/// Rule metadata lives as long as the process, like the built-in rules' statics.
fn leak(text: &str) -> &'static str {
    String::leak(text.to_string())
}

type MakeError<'a> = dyn Fn(String, Option<Range<usize>>) -> Box<RuleFileError> + 'a;

fn strings(node: NodeRef<'_>, what: &str, error: &MakeError<'_>) -> Result<Vec<String>, Box<RuleFileError>> {
    if node.is_sequence() {
        return node
            .items()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| error(format!("`{what}` must list strings"), Some(item.span())))
            })
            .collect();
    }
    node.as_str()
        .map(|s| vec![s.to_string()])
        .ok_or_else(|| error(format!("`{what}` must be a string or a list"), Some(node.span())))
}

fn parse_pattern(node: NodeRef<'_>, error: &MakeError<'_>) -> Result<Pattern, Box<RuleFileError>> {
    let known = ["command", "subcommand", "flag", "arg-regex", "env", "python-call", "message"];
    for (key, _) in node.entries() {
        if !key.as_str().is_some_and(|k| known.contains(&k)) {
            return Err(error(
                format!("unknown pattern key `{}` (expected one of {})", key.as_str().unwrap_or("?"), known.join(", ")),
                Some(key.span()),
            ));
        }
    }
    let message = node.get("message").and_then(|m| m.as_str()).map(str::to_string);
    let kinds = ["command", "env", "python-call"].iter().filter(|k| node.get(k).is_some()).count();
    if kinds != 1 {
        return Err(error("a pattern needs exactly one of `command`, `env`, `python-call`".into(), Some(node.span())));
    }
    if let Some(programs) = node.get("command") {
        let programs = strings(programs, "command", error)?
            .into_iter()
            .map(|program| match program.split_whitespace().collect::<Vec<_>>().as_slice() {
                [python, "-m", module] if python.starts_with("python") => Program::PythonModule(module.to_string()),
                _ => Program::Name(program),
            })
            .collect();
        let subcommands =
            node.get("subcommand").map(|n| strings(n, "subcommand", error)).transpose()?.unwrap_or_default();
        let flags = node.get("flag").map(|n| strings(n, "flag", error)).transpose()?.unwrap_or_default();
        let arg_regex = match node.get("arg-regex") {
            None => None,
            Some(regex) => {
                let text = regex.as_str().unwrap_or_default();
                Some(Regex::new(text).map_err(|e| error(format!("invalid `arg-regex`: {e}"), Some(regex.span())))?)
            }
        };
        return Ok(Pattern { matcher: Matcher::Command { programs, subcommands, flags, arg_regex }, message });
    }
    if let Some(names) = node.get("env") {
        let names = strings(names, "env", error)?
            .into_iter()
            .map(|entry| match entry.split_once('=') {
                Some((name, value)) => (name.to_string(), Some(value.to_string())),
                None => (entry, None),
            })
            .collect();
        return Ok(Pattern { matcher: Matcher::Env { names }, message });
    }
    let call = node
        .get("python-call")
        .filter(|c| c.is_mapping())
        .ok_or_else(|| error("`python-call` must be a mapping".into(), Some(node.span())))?;
    let mut callees = Vec::new();
    let mut keyword = None;
    for (key, value) in call.entries() {
        match key.as_str() {
            Some("callee") => callees = strings(value, "callee", error)?,
            Some("keyword") => {
                let name = value
                    .get("name")
                    .and_then(|n| n.as_str())
                    .ok_or_else(|| error("`keyword` needs a `name`".into(), Some(value.span())))?;
                let equals =
                    value.get("equals").ok_or_else(|| error("`keyword` needs `equals`".into(), Some(value.span())))?;
                let expected = match equals.as_bool() {
                    Some(flag) => KeywordValue::Bool(flag),
                    None => KeywordValue::Text(equals.as_str().unwrap_or_default().to_string()),
                };
                keyword = Some((name.to_string(), expected));
            }
            _ => {
                return Err(error(
                    format!("unknown `python-call` key `{}` (expected callee, keyword)", key.as_str().unwrap_or("?")),
                    Some(key.span()),
                ));
            }
        }
    }
    if callees.is_empty() && keyword.is_none() {
        return Err(error("`python-call` needs `callee` or `keyword`".into(), Some(call.span())));
    }
    Ok(Pattern { matcher: Matcher::PythonCall { callees, keyword }, message })
}

impl PatternRule {
    /// Reports every match of every pattern in every container.
    pub fn check(&self, meta: &RuleMeta, pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
        // The commands some pattern reads, with their programs: each command's program is
        // read once for all the patterns, and most commands run none that they name.
        let mut commands = Vec::new();
        for container in &pipeline.containers {
            for pattern in &self.patterns {
                for found in pattern.matcher.env_matches(container) {
                    report(meta, pattern, container, found, out);
                }
            }
            out.check_code(container, |out, code| {
                commands.clear();
                commands.extend(code.commands.iter().filter_map(|command| {
                    let program = command.program()?;
                    self.programs.contains(program).then_some((command, program))
                }));
                for pattern in &self.patterns {
                    for found in pattern.matcher.code_matches(code, &commands) {
                        report(meta, pattern, container, found, out);
                    }
                }
            });
        }
    }
}

/// Reports a match of `pattern` in `container`, unless a finding of the rule covers it.
fn report(meta: &RuleMeta, pattern: &Pattern, container: &Container<'_>, found: Match, out: &mut Emitter<'_>) {
    let (span, token, program) = found;
    if out.covered(meta.id, &span) {
        return;
    }
    let message = match &pattern.message {
        Some(template) => {
            template.replace("{program}", &program).replace("{token}", &token).replace("{container}", &container.name)
        }
        None => format!("{}: `{token}` in container `{}`", meta.summary, container.name),
    };
    out.emit(
        meta,
        Hit { span, message, container: Some(container), field: "code".into(), value: token, ..Hit::default() },
    );
}

/// (file span, matched text, program or variable name) of each match.
type Match = (Range<usize>, String, String);

impl Matcher {
    /// The matches among `container`'s environment variables (only env patterns have any).
    fn env_matches(&self, container: &Container<'_>) -> Vec<Match> {
        let Matcher::Env { names } = self else { return Vec::new() };
        let mut found = Vec::new();
        for var in &container.env {
            let (EnvValue::Literal(value), Some(name)) = (&var.value, var.name.as_str()) else { continue };
            if env_wanted(names, name, value.as_str().unwrap_or_default()) {
                let text = value.text();
                found.push((var.name.file_span(), format!("{name}={}", text.as_str()), name.to_string()));
            }
        }
        found
    }

    /// The matches in a container's `code`, given its commands that the rule reads
    /// ([`ProgramsRead`]) with their programs.
    fn code_matches(&self, code: &Code, commands: &[(&Command, &str)]) -> Vec<Match> {
        match self {
            Matcher::Command { programs, subcommands, flags, arg_regex } => {
                let mut found = Vec::new();
                for &(command, program) in commands {
                    let Some(args) = program_args(command, program, programs) else { continue };
                    let program = program.to_string();
                    if !subcommands.is_empty() {
                        let first = args.iter().find(|a| !a.as_str().starts_with('-'));
                        if !first.is_some_and(|a| subcommands.iter().any(|s| s == a.as_str())) {
                            continue;
                        }
                    }
                    let mut hits: Vec<&Word> = Vec::new();
                    if !flags.is_empty() {
                        hits.extend(args.iter().filter(|arg| flag_matches(arg.as_str(), flags)));
                    }
                    if let Some(regex) = arg_regex {
                        hits.extend(args.iter().filter(|arg| regex.is_match(arg.as_str())));
                    }
                    if flags.is_empty() && arg_regex.is_none() {
                        // The command itself is the match: point at the subcommand or program.
                        let word = if subcommands.is_empty() {
                            command.words.first()
                        } else {
                            args.iter().find(|a| !a.as_str().starts_with('-'))
                        };
                        hits.extend(word);
                    }
                    for word in hits {
                        found.push((word.source_span(), word.as_str().to_string(), program.clone()));
                    }
                }
                found
            }
            Matcher::Env { names } => {
                // `export NAME=VALUE` and `env NAME=VALUE cmd` in scripts.
                let mut found = Vec::new();
                for &(command, program) in commands {
                    if !is_declaration(program) {
                        continue;
                    }
                    for word in command.args() {
                        let Some((name, value)) = word.as_str().split_once('=') else { continue };
                        if env_wanted(names, name, value) {
                            found.push((word.source_span(), word.as_str().to_string(), name.to_string()));
                        }
                    }
                }
                found
            }
            Matcher::PythonCall { callees, keyword } => {
                let mut found = Vec::new();
                for source in &code.python {
                    for call in &source.module.calls {
                        let qualified = call.qualified();
                        // `qualified` is `c` or ends with `.c` (without formatting `.c` per call).
                        let callee_ok = callees.is_empty()
                            || callees.iter().any(|c| {
                                qualified
                                    .strip_suffix(c.as_str())
                                    .is_some_and(|head| head.is_empty() || head.ends_with('.'))
                            });
                        if !callee_ok {
                            continue;
                        }
                        match keyword {
                            None => found.push((
                                source.file_range(call.callee_span.clone()),
                                qualified.to_string(),
                                qualified.to_string(),
                            )),
                            Some((name, expected)) => {
                                let Some(arg) = call.keyword(name) else { continue };
                                let hit = match (expected, &arg.value) {
                                    (KeywordValue::Bool(want), python::Value::Bool(got)) => want == got,
                                    (KeywordValue::Text(want), python::Value::Str(got)) => got.as_str() == want,
                                    _ => false,
                                };
                                if hit {
                                    found.push((
                                        source.file_range(arg.span.clone()),
                                        format!("{qualified}(…{name}=…)"),
                                        qualified.to_string(),
                                    ));
                                }
                            }
                        }
                    }
                }
                found
            }
        }
    }
}

/// True if an env pattern's `names` want variable `name` set to `value`.
fn env_wanted(names: &[(String, Option<String>)], name: &str, value: &str) -> bool {
    names.iter().any(|(wanted, expected)| {
        wanted == name && expected.as_ref().is_none_or(|v| v.eq_ignore_ascii_case(value.trim()))
    })
}

/// True for the builtins whose `NAME=VALUE` arguments set variables that env patterns read.
fn is_declaration(program: &str) -> bool {
    matches!(program, "export" | "declare" | "typeset" | "setenv")
}

/// The arguments after the program (or after `-m MODULE`) if `command`, running `name`,
/// runs one of `programs`.
fn program_args<'c>(command: &'c Command, name: &str, programs: &[Program]) -> Option<&'c [Word]> {
    programs.iter().find_map(|program| match program {
        Program::Name(wanted) => (wanted == name).then(|| command.args()),
        Program::PythonModule(module) => {
            if !is_python(name) {
                return None;
            }
            let args = command.args();
            let position = args.windows(2).position(|pair| pair[0].as_str() == "-m" && pair[1].as_str() == module)?;
            Some(&args[position + 2..])
        }
    })
}

/// `k` matches `-k` and clusters like `-kL`; longer names match `--name` and `--name=…`.
fn flag_matches(arg: &str, flags: &[String]) -> bool {
    flags.iter().any(|flag| {
        if flag.chars().count() == 1 {
            arg.strip_prefix('-').is_some_and(|cluster| {
                !cluster.starts_with('-')
                    && cluster.chars().all(|c| c.is_ascii_alphanumeric())
                    && cluster.contains(flag.as_str())
            })
        } else {
            // `--flag` or `--flag=…`, without formatting `flag=` per argument.
            arg.strip_prefix("--")
                .and_then(|name| name.strip_prefix(flag.as_str()))
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('='))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_match_clusters_and_long_forms() {
        let flags = vec!["k".to_string(), "insecure".to_string()];
        assert!(flag_matches("-k", &flags));
        assert!(flag_matches("-sSLk", &flags));
        assert!(flag_matches("--insecure", &flags));
        assert!(flag_matches("--insecure=yes", &flags));
        assert!(!flag_matches("--insecurely", &flags));
        assert!(!flag_matches("--keep", &flags));
        assert!(!flag_matches("-o", &flags));
        assert!(!flag_matches("https://k", &flags));
    }

    #[test]
    fn rule_files_are_validated_with_locations() {
        let error = parse("x.yaml", "x", "id: x\nseverity: urgent\n").err().unwrap();
        assert!(error.message.contains("severity"));
        assert!(error.span.is_some());
        let error = parse("x.yaml", "y", "id: x\n").err().unwrap();
        assert!(error.message.contains("file name"));
        let error = parse("x.yaml", "x", "id: x\nsevrity: low\n").err().unwrap();
        assert!(error.message.contains("unknown key"));
    }
}
