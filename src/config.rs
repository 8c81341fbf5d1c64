//! `.kfpguard.yaml`: which rules run, at what severity, with which parameters, and which
//! findings are accepted (ignores keyed by rule, path glob and pipeline/task/container
//! names, each with a reason and an optional expiry date).
//!
//! The file is parsed with kfpguard's own spanned YAML tree, so every unknown key or bad
//! value is an error that points at its line. Parsing produces a validated [`Config`];
//! nothing downstream sees the raw file.

use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::finding::Severity;
use crate::rules;
use crate::text::push_counted;
use crate::yaml::{Limits, NodeRef, Tree};

/// The config file name looked up from the working directory upward.
pub const FILE_NAME: &str = ".kfpguard.yaml";

/// Parameters rules read (never the file itself).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleSettings {
    /// Extra words that make a variable or parameter name secret (`secret-name-words`).
    pub secret_name_words: Vec<String>,
    /// Hosts that may be reached over plain HTTP (`allowed-http-hosts`), e.g. an internal
    /// mirror; `*.example.com` matches subdomains.
    pub allowed_http_hosts: Vec<String>,
    /// Registry prefixes images may come from (`allowed-registries`); empty: any.
    pub allowed_registries: Vec<String>,
}

impl RuleSettings {
    /// Appends every parameter to `key` (for [`crate::analysis::QuietChecks::of`]), so that
    /// two settings append the same text exactly when they are equal.
    pub fn spell(&self, key: &mut String) {
        // Destructured: a new parameter cannot be left out of the key.
        let RuleSettings { secret_name_words, allowed_http_hosts, allowed_registries } = self;
        for list in [secret_name_words, allowed_http_hosts, allowed_registries] {
            key.push('[');
            list.iter().for_each(|item| push_counted(key, item));
            key.push(']');
        }
    }

    /// True when `host` is allowed over plain HTTP by configuration.
    pub fn http_host_allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.allowed_http_hosts.iter().any(|allowed| match allowed.strip_prefix("*.") {
            Some(domain) => host.ends_with(&format!(".{domain}")) || host == domain,
            None => host == *allowed,
        })
    }
}

/// Per-rule configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleConfig {
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
}

/// One accepted finding pattern.
#[derive(Clone, Debug)]
pub struct Ignore {
    /// Rule ids (empty: every rule).
    pub rules: Vec<String>,
    /// Path globs (empty: every file).
    pub paths: Option<globset::GlobSet>,
    pub path_patterns: Vec<String>,
    /// Pipeline, task (or template/step) and container name globs.
    pub pipeline: Option<globset::GlobMatcher>,
    pub task: Option<globset::GlobMatcher>,
    pub container: Option<globset::GlobMatcher>,
    pub reason: String,
    /// `YYYY-MM-DD`; the ignore stops applying after this day.
    pub expires: Option<String>,
    /// 1-based line of the entry in the config file, for messages.
    pub line: usize,
}

/// A validated configuration.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Where it was read from, if from a file.
    pub path: Option<PathBuf>,
    pub rules: Vec<(String, RuleConfig)>,
    pub settings: RuleSettings,
    pub ignores: Vec<Ignore>,
}

/// An invalid config file, pointing at the offending text.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
#[diagnostic(code(kfpguard::config))]
pub struct ConfigError {
    pub message: String,
    #[source_code]
    pub source_code: miette::NamedSource<String>,
    #[label("here")]
    pub span: Option<miette::SourceSpan>,
    #[help]
    pub help: Option<String>,
}

/// Finds `.kfpguard.yaml` in `start` or the nearest parent directory.
pub fn discover(start: &Path) -> Option<PathBuf> {
    start.ancestors().map(|dir| dir.join(FILE_NAME)).find(|candidate| candidate.is_file())
}

/// Reads and validates a config file.
pub fn load(path: &Path) -> Result<Config, Box<ConfigError>> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| {
        Box::new(ConfigError {
            message: format!("cannot read config {display}: {error}"),
            source_code: miette::NamedSource::new(display.clone(), String::new()),
            span: None,
            help: None,
        })
    })?;
    let mut config = parse(&display, &text)?;
    config.path = Some(path.to_path_buf());
    Ok(config)
}

/// Parses config text; `name` is used in error messages.
pub fn parse(name: &str, text: &str) -> Result<Config, Box<ConfigError>> {
    let error = |message: String, span: Option<Range<usize>>, help: Option<String>| {
        Box::new(ConfigError {
            message,
            source_code: miette::NamedSource::new(name, text.to_string()),
            span: span.map(|s| miette::SourceSpan::new(s.start.into(), s.end.saturating_sub(s.start))),
            help,
        })
    };
    let tree = Tree::parse(text.to_string(), None, Limits::default())
        .map_err(|e| error(format!("invalid YAML in config: {e}"), Some(e.offset()..e.offset()), None))?;
    let mut config = Config::default();
    let Some(root) = tree.documents().next() else { return Ok(config) };
    if root.is_null() {
        return Ok(config);
    }
    if !root.is_mapping() {
        return Err(error("the config must be a mapping".into(), Some(root.span()), None));
    }
    let lines = crate::source::LineIndex::new(text);
    for (key, value) in root.entries() {
        let section = key.as_str().unwrap_or_default();
        if matches!(section, "rules" | "settings") && !value.is_mapping() && !value.is_null() {
            return Err(error(format!("`{section}` must be a mapping"), Some(value.span()), None));
        }
        match key.as_str() {
            Some("rules") => config.rules = parse_rules(value, &error)?,
            Some("settings") => config.settings = parse_settings(value, &error)?,
            Some("ignore") => {
                for entry in value.items() {
                    let mut ignore = parse_ignore(entry, &error)?;
                    ignore.line = lines.position(text, entry.span().start).line;
                    config.ignores.push(ignore);
                }
                if !value.is_sequence() && !value.is_null() {
                    return Err(error("`ignore` must be a list".into(), Some(value.span()), None));
                }
            }
            _ => {
                return Err(error(
                    format!("unknown key `{}`", key.as_str().unwrap_or("?")),
                    Some(key.span()),
                    Some("expected one of: rules, settings, ignore".into()),
                ));
            }
        }
    }
    Ok(config)
}

type MakeError<'a> = dyn Fn(String, Option<Range<usize>>, Option<String>) -> Box<ConfigError> + 'a;

fn known_rule(id: NodeRef<'_>, error: &MakeError<'_>) -> Result<String, Box<ConfigError>> {
    let text = id.as_str().unwrap_or_default();
    if rules::find(text).is_none() {
        return Err(error(
            format!("unknown rule `{text}`"),
            Some(id.span()),
            Some("see `kfpguard --list-rules`".into()),
        ));
    }
    Ok(text.to_string())
}

fn parse_rules(node: NodeRef<'_>, error: &MakeError<'_>) -> Result<Vec<(String, RuleConfig)>, Box<ConfigError>> {
    let mut rules = Vec::new();
    for (id, settings) in node.entries() {
        let id_text = known_rule(id, error)?;
        let mut rule = RuleConfig::default();
        if let Some(enabled) = settings.as_bool() {
            rule.enabled = Some(enabled);
        } else {
            for (key, value) in settings.entries() {
                match key.as_str() {
                    Some("enabled") => {
                        rule.enabled =
                            Some(value.as_bool().ok_or_else(|| {
                                error("`enabled` must be true or false".into(), Some(value.span()), None)
                            })?)
                    }
                    Some("severity") => rule.severity = Some(severity(value, error)?),
                    _ => {
                        return Err(error(
                            format!("unknown key `{}` for rule `{id_text}`", key.as_str().unwrap_or("?")),
                            Some(key.span()),
                            Some("expected `enabled` or `severity`".into()),
                        ));
                    }
                }
            }
            if !settings.is_mapping() {
                return Err(error(
                    format!("rule `{id_text}` takes `true`, `false` or a mapping"),
                    Some(settings.span()),
                    None,
                ));
            }
        }
        rules.push((id_text, rule));
    }
    Ok(rules)
}

fn severity(node: NodeRef<'_>, error: &MakeError<'_>) -> Result<Severity, Box<ConfigError>> {
    match node.as_str() {
        Some("low") => Ok(Severity::Low),
        Some("medium") => Ok(Severity::Medium),
        Some("high") => Ok(Severity::High),
        _ => Err(error("severity must be low, medium or high".into(), Some(node.span()), None)),
    }
}

fn string_list(node: NodeRef<'_>, what: &str, error: &MakeError<'_>) -> Result<Vec<String>, Box<ConfigError>> {
    if let Some(single) = node.as_str().filter(|_| !node.is_null()) {
        return Ok(vec![single.to_string()]);
    }
    if !node.is_sequence() {
        return Err(error(format!("`{what}` must be a list of strings"), Some(node.span()), None));
    }
    node.items()
        .map(|item| {
            item.as_str()
                .filter(|_| !item.is_null())
                .map(str::to_string)
                .ok_or_else(|| error(format!("`{what}` must be a list of strings"), Some(item.span()), None))
        })
        .collect()
}

fn parse_settings(node: NodeRef<'_>, error: &MakeError<'_>) -> Result<RuleSettings, Box<ConfigError>> {
    let mut settings = RuleSettings::default();
    for (key, value) in node.entries() {
        match key.as_str() {
            Some("secret-name-words") => {
                settings.secret_name_words =
                    string_list(value, "secret-name-words", error)?.into_iter().map(|w| w.to_lowercase()).collect()
            }
            Some("allowed-http-hosts") => {
                settings.allowed_http_hosts =
                    string_list(value, "allowed-http-hosts", error)?.into_iter().map(|h| h.to_lowercase()).collect()
            }
            Some("allowed-registries") => {
                settings.allowed_registries = string_list(value, "allowed-registries", error)?
            }
            _ => {
                return Err(error(
                    format!("unknown setting `{}`", key.as_str().unwrap_or("?")),
                    Some(key.span()),
                    Some("expected one of: secret-name-words, allowed-http-hosts, allowed-registries".into()),
                ));
            }
        }
    }
    Ok(settings)
}

fn glob(node: NodeRef<'_>, error: &MakeError<'_>) -> Result<globset::GlobMatcher, Box<ConfigError>> {
    let text = node.as_str().unwrap_or_default();
    globset::Glob::new(text)
        .map(|g| g.compile_matcher())
        .map_err(|e| error(format!("invalid pattern `{text}`: {e}"), Some(node.span()), None))
}

fn parse_ignore(node: NodeRef<'_>, error: &MakeError<'_>) -> Result<Ignore, Box<ConfigError>> {
    if !node.is_mapping() {
        return Err(error("each ignore must be a mapping".into(), Some(node.span()), None));
    }
    let mut ignore = Ignore {
        rules: Vec::new(),
        paths: None,
        path_patterns: Vec::new(),
        pipeline: None,
        task: None,
        container: None,
        reason: String::new(),
        expires: None,
        line: 0,
    };
    for (key, value) in node.entries() {
        match key.as_str() {
            Some("rule" | "rules") => {
                let ids = if value.is_sequence() { value.items().collect() } else { vec![value] };
                ignore.rules = ids.into_iter().map(|id| known_rule(id, error)).collect::<Result<_, _>>()?;
            }
            Some("path" | "paths") => {
                let patterns = string_list(value, "paths", error)?;
                let mut builder = globset::GlobSetBuilder::new();
                for pattern in &patterns {
                    let glob = globset::Glob::new(pattern).map_err(|e| {
                        error(format!("invalid path pattern `{pattern}`: {e}"), Some(value.span()), None)
                    })?;
                    builder.add(glob);
                }
                ignore.paths = Some(builder.build().map_err(|e| error(format!("{e}"), Some(value.span()), None))?);
                ignore.path_patterns = patterns;
            }
            Some("pipeline") => ignore.pipeline = Some(glob(value, error)?),
            Some("task" | "template" | "step") => ignore.task = Some(glob(value, error)?),
            Some("container" | "executor") => ignore.container = Some(glob(value, error)?),
            Some("reason") => ignore.reason = value.as_str().unwrap_or_default().trim().to_string(),
            Some("expires") => {
                let text = value.as_str().unwrap_or_default();
                if !is_date(text) {
                    return Err(error(
                        format!("`expires` must be a date YYYY-MM-DD, not `{text}`"),
                        Some(value.span()),
                        None,
                    ));
                }
                ignore.expires = Some(text.to_string());
            }
            _ => {
                return Err(error(
                    format!("unknown key `{}` in ignore", key.as_str().unwrap_or("?")),
                    Some(key.span()),
                    Some("expected: rule, paths, pipeline, task, container, reason, expires".into()),
                ));
            }
        }
    }
    if ignore.reason.is_empty() {
        return Err(error(
            "every ignore needs a `reason`".into(),
            Some(node.span()),
            Some("say why the finding is accepted, for the next reader".into()),
        ));
    }
    Ok(ignore)
}

fn is_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else { return false };
    let number = |part: &str, len: usize| part.len() == len && part.chars().all(|c| c.is_ascii_digit());
    number(year, 4)
        && number(month, 2)
        && number(day, 2)
        && (1..=12).contains(&month.parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&day.parse::<u32>().unwrap_or(0))
}

/// The commented starter config written by `--init-config`.
pub const STARTER: &str = r#"# kfpguard configuration. Schema: docs/config.schema.json
# Every key is optional. Rule ids: `kfpguard --list-rules`.

# Turn rules on or off, or change their severity (low, medium, high).
rules:
  # runtime-package-install: true          # off by default
  # missing-cpu-limit: {severity: low}
  # unpinned-image: false

# Parameters some rules read.
settings:
  # Extra words that make a variable or parameter name secret.
  secret-name-words: []
  # Hosts that may be reached over plain http:// (an internal mirror); `*.corp.example` allowed.
  allowed-http-hosts: []
  # Registries images may come from (prefixes); empty means any.
  allowed-registries: []

# Accepted findings. Keyed by names, not line numbers, so they survive recompiles.
ignore:
  # - rule: missing-cpu-limit
  #   paths: ["pipelines/legacy/**"]
  #   pipeline: "legacy-*"
  #   task: "*"
  #   container: "exec-*"
  #   reason: legacy pipelines run in a namespace with a LimitRange
  #   expires: 2027-06-30
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_section() {
        let text = "rules:\n  missing-cpu-limit: {severity: low}\n  run-as-root: false\nsettings:\n  allowed-http-hosts: [mirror.corp]\nignore:\n- rule: secret-in-env\n  paths: ['legacy/**']\n  container: exec-*\n  reason: rotated\n  expires: 2027-01-31\n";
        let config = parse("c.yaml", text).unwrap();
        assert_eq!(config.rules.len(), 2);
        assert_eq!(config.rules[0].1.severity, Some(Severity::Low));
        assert_eq!(config.rules[1].1.enabled, Some(false));
        assert!(config.settings.http_host_allowed("mirror.corp"));
        assert_eq!(config.ignores[0].expires.as_deref(), Some("2027-01-31"));
        assert_eq!(config.ignores[0].line, 7);
    }

    #[test]
    fn errors_point_at_the_offending_key() {
        let text = "rules:\n  no-such-rule: true\n";
        let error = parse("c.yaml", text).unwrap_err();
        assert!(error.message.contains("no-such-rule"));
        assert_eq!(error.span.map(|s| s.offset()), Some(9));
        assert!(parse("c.yaml", "ignore:\n- rule: run-as-root\n").unwrap_err().message.contains("reason"));
        assert!(parse("c.yaml", "setings: {}\n").unwrap_err().message.contains("unknown key"));
        assert!(parse("c.yaml", "ignore:\n- reason: x\n  expires: tomorrow\n").is_err());
        assert!(parse("c.yaml", "rules: 5\n").is_err());
        assert!(parse("c.yaml", "settings: [a]\n").is_err());
    }

    #[test]
    fn settings_spell_the_same_key_exactly_when_equal() {
        let spelled = |words: &[&str], hosts: &[&str], registries: &[&str]| {
            let settings = RuleSettings {
                secret_name_words: words.iter().map(|w| w.to_string()).collect(),
                allowed_http_hosts: hosts.iter().map(|h| h.to_string()).collect(),
                allowed_registries: registries.iter().map(|r| r.to_string()).collect(),
            };
            let mut key = String::new();
            settings.spell(&mut key);
            key
        };
        let distinct = [
            spelled(&[], &[], &[]),
            spelled(&["a", "b"], &[], &[]),
            spelled(&["a"], &["b"], &[]),
            spelled(&["a"], &[], &["b"]),
            spelled(&["ab"], &[], &[]),
            spelled(&["a]["], &[], &[]),
            spelled(&[], &["a"], &[]),
        ];
        for (index, key) in distinct.iter().enumerate() {
            assert!(!distinct[index + 1..].contains(key), "{key:?} spelled twice");
        }
        assert_eq!(spelled(&["a"], &["b"], &[]), spelled(&["a"], &["b"], &[]));
    }

    #[test]
    fn starter_config_is_valid() {
        assert!(parse("starter", STARTER).is_ok());
    }

    #[test]
    fn wildcard_hosts_match_subdomains() {
        let settings = RuleSettings { allowed_http_hosts: vec!["*.corp.example".into()], ..RuleSettings::default() };
        assert!(settings.http_host_allowed("pypi.corp.example"));
        assert!(!settings.http_host_allowed("corp.example.evil.com"));
    }
}
