//! The rule catalogue and the machinery rules report through.
//!
//! A rule is one module: its [`RuleMeta`] (id, severity, docs) and a `check` function
//! over the [`Pipeline`] model. Rules never read configuration, print, or compute line
//! numbers: they hand [`Hit`]s to an [`Emitter`], which attaches context and fingerprints.

mod dangerous_capabilities;
mod hardcoded_credential;
mod host_namespace;
mod host_path_volume;
mod image_pinning;
mod missing_limits;
mod network;
pub mod pattern;
mod pipe_to_shell;
mod privilege_escalation;
mod privileged_container;
mod run_as_root;
mod secret_in_args;
mod secret_in_env;
mod secret_in_parameter_default;

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use crate::analysis::{Code, QuietChecks};
use crate::config::RuleSettings;
use crate::finding::{Finding, FingerprintPrefix, Related, Severity};
use crate::model::{Container, Effective, Pipeline};
use crate::yaml::NodeRef;

/// Documentation of a rule, in Markdown, one section each.
#[derive(Debug)]
pub struct Docs {
    /// What it does.
    pub what: &'static str,
    /// Why is this bad.
    pub why: &'static str,
    /// A compiled snippet that triggers it.
    pub example: &'static str,
    /// How to fix it in the source DSL (KFP v2, KFP v1, Hera/Argo, Tekton).
    pub fix: &'static str,
}

/// Everything about a rule except its logic.
#[derive(Debug)]
pub struct RuleMeta {
    /// Public, stable, kebab-case id.
    pub id: &'static str,
    pub severity: Severity,
    pub enabled_by_default: bool,
    /// One line: what the rule flags.
    pub summary: &'static str,
    /// One line: how to fix, shown under each finding.
    pub help: &'static str,
    /// CWE ids and topics, for SARIF tags.
    pub tags: &'static [&'static str],
    pub docs: Docs,
}

impl RuleMeta {
    /// The rule's documentation as one Markdown document.
    pub fn markdown(&self) -> String {
        format!(
            "## What it does\n{}\n\n## Why is this bad\n{}\n\n## Example\n```yaml\n{}\n```\n\n## How to fix\n{}\n",
            self.docs.what.trim(),
            self.docs.why.trim(),
            self.docs.example.trim_matches('\n'),
            self.docs.fix.trim()
        )
    }
}

/// A rule: metadata plus the check over one pipeline.
pub struct Rule {
    pub meta: RuleMeta,
    pub check: Check,
}

/// How a rule looks at a pipeline.
pub enum Check {
    /// A structural rule: a function in its own module.
    Code(fn(&Pipeline<'_>, &mut Emitter<'_>)),
    /// A declarative rule from a YAML file (`rules/`, or a user's `--rules DIR`).
    Pattern(pattern::PatternRule),
}

/// The declarative rules shipped in `rules/`, embedded at build time: (file stem, text).
const BUILTIN_PATTERN_FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// Rules from `--rules` directories, installed before the catalogue is first used.
static USER_RULES: OnceLock<Vec<Rule>> = OnceLock::new();
static CATALOG: OnceLock<Vec<&'static Rule>> = OnceLock::new();

/// Adds user rule packs to the catalogue. Must be called before the catalogue is first
/// used; ids must not collide with built-in rules or each other.
pub fn install_user_rules(rules: Vec<Rule>) -> Result<(), String> {
    if CATALOG.get().is_some() {
        return Err("user rules must be installed before the rule catalogue is used".to_string());
    }
    let mut seen: BTreeSet<&str> = code_rules().iter().map(|rule| rule.meta.id).collect();
    seen.extend(BUILTIN_PATTERN_FILES.iter().map(|(stem, _)| *stem));
    for rule in &rules {
        if !seen.insert(rule.meta.id) {
            return Err(format!("rule id `{}` is defined twice", rule.meta.id));
        }
    }
    USER_RULES.set(rules).map_err(|_| "user rules were already installed".to_string())
}

/// Every rule kfpguard knows (structural, built-in declarative, user), in id order.
pub fn all() -> &'static [&'static Rule] {
    CATALOG.get_or_init(|| {
        static BUILTIN_PATTERNS: OnceLock<Vec<Rule>> = OnceLock::new();
        let builtin = BUILTIN_PATTERNS.get_or_init(|| {
            BUILTIN_PATTERN_FILES
                .iter()
                // Built-in rule files are validated by tests; a broken one cannot ship.
                .filter_map(|(stem, text)| pattern::parse(&format!("rules/{stem}.yaml"), stem, text).ok())
                .collect()
        });
        let mut rules: Vec<&'static Rule> = code_rules().to_vec();
        rules.extend(builtin.iter());
        rules.extend(USER_RULES.get().into_iter().flatten());
        rules.sort_by_key(|rule| rule.meta.id);
        rules
    })
}

/// The structural rules, one module each.
fn code_rules() -> &'static [&'static Rule] {
    static RULES: &[&Rule] = &[
        &dangerous_capabilities::RULE,
        &network::FTP_TRANSFER,
        &hardcoded_credential::RULE,
        &host_namespace::RULE,
        &host_path_volume::RULE,
        &image_pinning::IMAGE_NOT_DIGEST_PINNED,
        &missing_limits::MISSING_CPU_LIMIT,
        &missing_limits::MISSING_MEMORY_LIMIT,
        &network::NETCAT_LISTENER,
        &pipe_to_shell::RULE,
        &network::PLAINTEXT_DOWNLOAD,
        &privilege_escalation::RULE,
        &privileged_container::RULE,
        &network::REMOTE_SHELL,
        &run_as_root::RULE,
        &secret_in_args::RULE,
        &secret_in_env::RULE,
        &secret_in_parameter_default::RULE,
        &image_pinning::UNPINNED_IMAGE,
    ];
    RULES
}

/// Looks a rule up by id.
pub fn find(id: &str) -> Option<&'static Rule> {
    all().iter().copied().find(|rule| rule.meta.id == id)
}

/// What a rule found, before context is attached.
#[derive(Debug, Default)]
pub struct Hit<'c> {
    /// The offending bytes in the file.
    pub span: Range<usize>,
    pub message: String,
    /// The container it concerns, if any.
    pub container: Option<&'c Container<'c>>,
    /// Symbolic field (names, no line numbers) for the fingerprint, e.g. `env.DB_PASSWORD`;
    /// mostly a fixed name, so borrowed rather than allocated per finding.
    pub field: Cow<'static, str>,
    /// The offending value, hashed into the fingerprint.
    pub value: String,
    /// Bytes holding a secret, to be masked everywhere.
    pub secret: Option<Range<usize>>,
    pub related: Vec<Related>,
}

/// Reports a container's security setting that is in force (its own or its pod's), with
/// the pod-level source as a related location when it is inherited.
fn emit_security_setting(
    out: &mut Emitter<'_>,
    rule: &RuleMeta,
    container: &Container<'_>,
    effective: Effective<'_, '_>,
    field: &str,
    message: String,
) {
    let related = effective
        .from_pod
        .map(|pod| Related { span: pod.anchor.file_span(), message: format!("set in {}", pod.name) })
        .into_iter()
        .collect();
    out.emit(
        rule,
        Hit {
            span: effective.setting.key.file_span(),
            message,
            container: Some(container),
            field: format!("securityContext.{field}").into(),
            value: effective.setting.value.as_str().unwrap_or_default().to_string(),
            related,
            ..Hit::default()
        },
    );
}

/// Rules whose findings others check with [`Emitter::covered`] to avoid reporting a value
/// twice (`secret-in-*` defer to `hardcoded-credential`, `image-not-digest-pinned` to
/// `unpinned-image`): [`Emitter::run_all`] runs them before the rest.
const RUN_FIRST: &[&str] = &["hardcoded-credential", "unpinned-image"];

/// Collects the findings of the rules run over one file.
pub struct Emitter<'a> {
    file: &'a str,
    /// The pipeline's name, shared by its findings.
    pipeline: Arc<str>,
    enabled: &'a dyn Fn(&str) -> bool,
    settings: &'a RuleSettings,
    sources: &'a [NodeRef<'a>],
    findings: Vec<Finding>,
    /// The reach of each rule [`Emitter::covered`] was asked about (a list: a few are). Most
    /// findings come from rules nobody asks about, so a rule's reach takes in its new
    /// findings when the rule is asked about, not at every finding.
    reach: RefCell<Vec<RuleReach>>,
    /// The fingerprint prefix of the rule that emitted last (rules emit one after another).
    fingerprint_prefix: Option<(&'static str, FingerprintPrefix)>,
    /// The place in [`all`] of the rule [`Emitter::run_all`] is running.
    running: Option<usize>,
    /// Findings emitted and [`Emitter::covered`] questions asked so far: a check that did
    /// neither found nothing, even held back by another finding.
    candidates: Cell<usize>,
}

/// The bytes the findings of one rule cover, so that [`Emitter::covered`] costs a lookup
/// instead of a scan of every finding (rules ask once per candidate, and both grow with the
/// pipeline).
///
/// Only spans no other span of the rule contains are kept, as `start -> end`: among them a
/// later start means a later end, so the last one starting at or before a span reaches
/// furthest of all that do, and covers the span if any does.
#[derive(Default)]
struct Reach(BTreeMap<usize, usize>);

/// The [`Reach`] of one rule's findings among the first `folded` findings of the pipeline.
struct RuleReach {
    rule: &'static str,
    reach: Reach,
    folded: usize,
}

impl Reach {
    fn add(&mut self, start: usize, end: usize) {
        if self.covers(start, end) {
            return;
        }
        // The spans this one now contains: they start at or after it and end no later.
        let contained: Vec<usize> =
            self.0.range(start..).take_while(|&(_, &other_end)| other_end <= end).map(|(&other, _)| other).collect();
        for other in contained {
            self.0.remove(&other);
        }
        self.0.insert(start, end);
    }

    fn covers(&self, start: usize, end: usize) -> bool {
        self.0.range(..=start).next_back().is_some_and(|(_, &reach)| end <= reach)
    }
}

/// Settings when none are configured.
static DEFAULT_SETTINGS: RuleSettings =
    RuleSettings { secret_name_words: Vec::new(), allowed_http_hosts: Vec::new(), allowed_registries: Vec::new() };

/// Findings room made per container before the rules run ([`Emitter::run_all`]).
const FINDINGS_PER_CONTAINER: usize = 3;

impl<'a> Emitter<'a> {
    pub fn new(file: &'a str, pipeline: &'a str, enabled: &'a dyn Fn(&str) -> bool) -> Self {
        Self {
            file,
            pipeline: Arc::from(pipeline),
            enabled,
            settings: &DEFAULT_SETTINGS,
            sources: &[],
            findings: Vec::new(),
            reach: RefCell::new(Vec::new()),
            fingerprint_prefix: None,
            running: None,
            candidates: Cell::new(0),
        }
    }

    /// Uses configured rule parameters.
    pub fn with_settings(mut self, settings: &'a RuleSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The documents the pipeline was built from, for rules that scan every scalar.
    pub fn with_sources(mut self, sources: &'a [NodeRef<'a>]) -> Self {
        self.sources = sources;
        self
    }

    /// The documents of the pipeline being checked (raw tree access for token scans).
    pub fn sources(&self) -> &'a [NodeRef<'a>] {
        self.sources
    }

    /// The parameters rules may read (from the config's `settings`).
    pub fn settings(&self) -> &RuleSettings {
        self.settings
    }

    pub fn emit(&mut self, rule: &RuleMeta, hit: Hit<'_>) {
        self.candidates.set(self.candidates.get() + 1);
        let container_path = hit.container.map_or("", |c| c.path.as_str());
        let (_, prefix) = match &mut self.fingerprint_prefix {
            Some(last) if last.0 == rule.id => last,
            slot => slot.insert((rule.id, FingerprintPrefix::new(rule.id, self.file, &self.pipeline))),
        };
        let fingerprint = prefix.finish(container_path, &hit.field, &hit.value);
        self.findings.push(Finding {
            rule: rule.id,
            severity: rule.severity,
            message: hit.message,
            span: hit.span,
            secret: hit.secret,
            related: hit.related,
            pipeline: Arc::clone(&self.pipeline),
            container: hit.container.map(|c| Arc::clone(&c.name)),
            steps: hit.container.map(|c| c.steps.clone()).unwrap_or_default(),
            fingerprint,
        });
    }

    /// True if a finding of `rule` already covers bytes `span` (a stronger rule ran first).
    pub fn covered(&self, rule: &'static str, span: &Range<usize>) -> bool {
        self.candidates.set(self.candidates.get() + 1);
        let mut reaches = self.reach.borrow_mut();
        let index = match reaches.iter().position(|reach| reach.rule == rule) {
            Some(index) => index,
            None => {
                reaches.push(RuleReach { rule, reach: Reach::default(), folded: 0 });
                reaches.len() - 1
            }
        };
        let RuleReach { reach, folded, .. } = &mut reaches[index];
        for finding in self.findings[*folded..].iter().filter(|finding| finding.rule == rule) {
            // An empty span still covers the byte it points at.
            reach.add(finding.span.start, finding.span.end.max(finding.span.start + 1));
        }
        *folded = self.findings.len();
        reach.covers(span.start, span.end)
    }

    /// Runs `check` over `container`'s code, unless the rule being run found nothing in
    /// the same code before ([`QuietChecks`]): then the code is not even analysed.
    ///
    /// Whether `check` reports must depend only on the code's texts and the settings, not
    /// on the container's other fields or the pipeline: what a rule reads besides the
    /// code, it reads outside `check`. A candidate counts when it is emitted or `covered` is
    /// asked about it, so a rule that may drop one for where it is (an empty span) asks
    /// `covered` first.
    pub fn check_code<'c>(&mut self, container: &'c Container<'_>, check: impl FnOnce(&mut Self, &'c Code)) {
        let Some(rule) = self.running else { return check(self, container.code()) };
        let settings = self.settings;
        let quiet = container.quiet.get_or_init(|| QuietChecks::of(container, |key| settings.spell(key), all().len()));
        if quiet.is_quiet(rule) {
            return;
        }
        let candidates = self.candidates.get();
        check(self, container.code());
        if self.candidates.get() == candidates {
            quiet.set_quiet(rule);
        }
    }

    pub fn into_findings(self) -> Vec<Finding> {
        self.findings
    }

    /// Runs every enabled rule over `pipeline`.
    pub fn run_all(&mut self, pipeline: &Pipeline<'_>) {
        // Rules that others defer to (through `covered`) run first, whatever their ids;
        // ordered once, not once per pipeline.
        // Each with its place in the catalogue, for `check_code`.
        static ORDER: OnceLock<Vec<(usize, &'static Rule)>> = OnceLock::new();
        let order = ORDER.get_or_init(|| {
            let (first, rest): (Vec<_>, Vec<_>) =
                all().iter().copied().enumerate().partition(|(_, rule)| RUN_FIRST.contains(&rule.meta.id));
            first.into_iter().chain(rest).collect()
        });
        // Sized once: most containers miss a CPU and a memory limit, and many pin no image
        // (the corpus: 2.3 findings per container). A vector grown finding by finding
        // (~200 bytes each) is copied at every doubling into pages touched for the first time.
        self.findings.reserve(FINDINGS_PER_CONTAINER * pipeline.containers.len());
        for &(index, rule) in order {
            if (self.enabled)(rule.meta.id) {
                self.running = Some(index);
                match &rule.check {
                    Check::Code(check) => check(pipeline, self),
                    Check::Pattern(pattern) => pattern.check(&rule.meta, pipeline, self),
                }
            }
        }
        self.running = None;
    }
}

/// The rules table of the README and `--list-rules --format markdown`.
pub fn markdown_table() -> String {
    let mut table = String::from("| id | severity | default | what it flags |\n|---|---|---|---|\n");
    for rule in all() {
        let meta = &rule.meta;
        let default = if meta.enabled_by_default { "on" } else { "off" };
        table.push_str(&format!("| `{}` | {} | {default} | {} |\n", meta.id, meta.severity, meta.summary));
    }
    table
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Numbers below the bound each call is given, from a fixed linear congruential
    /// generator: the same sequence on every run, so a failing case reproduces.
    pub(crate) fn fixed_random(mut seed: u64) -> impl FnMut(u64) -> usize {
        move |below| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((seed >> 33) % below) as usize
        }
    }

    #[test]
    fn reach_answers_like_a_scan_of_every_span() {
        // Pseudo-random spans, many nested, overlapping and repeated.
        let mut next = crate::rules::tests::fixed_random(7);
        let mut reach = Reach::default();
        let mut spans: Vec<(usize, usize)> = Vec::new();
        let mut answers = [0; 2];
        for _ in 0..2000 {
            let start = next(500);
            let end = start + next(40);
            if next(2) == 0 {
                let end = end.max(start + 1);
                reach.add(start, end);
                spans.push((start, end));
            } else {
                let scanned = spans.iter().any(|&(from, to)| from <= start && end <= to);
                assert_eq!(reach.covers(start, end), scanned, "{start}..{end}");
                answers[usize::from(scanned)] += 1;
            }
        }
        assert!(answers.iter().all(|&count| count > 100), "{answers:?}");
    }

    /// A finding's rule, span and container.
    type Found = (&'static str, Range<usize>, String);

    /// Lints one Kubernetes Pod whose containers each run `sh -c SCRIPT`, one per script,
    /// with `settings`; returns the findings (rule, span, container) and, per container,
    /// whether its code was analysed.
    fn lint_pod(scripts: &[&str], settings: &RuleSettings) -> (Vec<Found>, Vec<bool>) {
        let containers: Vec<_> = scripts
            .iter()
            .enumerate()
            .map(|(index, script)| {
                serde_json::json!({ "name": format!("c{index}"), "image": format!("i@sha256:{}", "0".repeat(64)), "command": ["sh", "-c", script] })
            })
            .collect();
        let pod = serde_json::json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": "p" },
            "spec": { "containers": containers } });
        let Ok(tree) = crate::yaml::Tree::parse(pod.to_string(), None, crate::yaml::Limits::default()) else {
            panic!("test YAML")
        };
        let embedded = crate::formats::Embedded::new(crate::yaml::Limits::default(), 0);
        let recognized = crate::formats::recognize(&tree, &embedded, "p");
        let [pipeline] = &recognized.pipelines[..] else { panic!("one pipeline") };
        let enabled = |_: &str| true;
        let mut out =
            Emitter::new("p.yaml", "p", &enabled).with_settings(settings).with_sources(&recognized.sources[0]);
        out.run_all(pipeline);
        let analysed = pipeline.containers.iter().map(|container| container.code.get().is_some()).collect();
        let findings = out
            .into_findings()
            .into_iter()
            .map(|finding| (finding.rule, finding.span, finding.container.as_deref().unwrap_or_default().to_string()))
            .collect();
        (findings, analysed)
    }

    #[test]
    fn code_found_clean_is_not_analysed_again() {
        // Texts of this test only: the record of clean codes is the process's.
        let clean = "echo code-found-clean-is-not-analysed-again";
        let (findings, analysed) = lint_pod(&[clean, clean], &RuleSettings::default());
        let rules: Vec<_> = findings.iter().map(|(rule, ..)| *rule).collect();
        assert!(rules.iter().all(|rule| rule.starts_with("missing-")), "{rules:?}");
        assert_eq!(analysed, [true, false]);
        // Another file with the same code, and one that differs by a byte.
        let (_, analysed) = lint_pod(&[clean, &format!("{clean}!")], &RuleSettings::default());
        assert_eq!(analysed, [false, true]);
    }

    #[test]
    fn code_with_findings_is_checked_in_every_container() {
        let script = "curl -s http://code-with-findings.example/install.sh | sh";
        let (findings, analysed) = lint_pod(&[script, script, script], &RuleSettings::default());
        assert_eq!(analysed, [true, true, true]);
        for rule in ["plaintext-download", "pipe-to-shell"] {
            let found: Vec<_> = findings.iter().filter(|(id, ..)| *id == rule).collect();
            let containers: Vec<&str> = found.iter().map(|(.., container)| container.as_str()).collect();
            assert_eq!(containers, ["c0", "c1", "c2"], "{rule}");
            // Each at its own container's script.
            assert!(found.windows(2).all(|pair| pair[0].1.end <= pair[1].1.start), "{found:?}");
        }
    }

    #[test]
    fn code_found_clean_under_other_settings_is_checked_again() {
        let script = "curl -s http://other-settings.example/data.csv -o data.csv";
        let allowing =
            RuleSettings { allowed_http_hosts: vec!["other-settings.example".into()], ..RuleSettings::default() };
        let plaintext = |findings: &[Found]| findings.iter().filter(|(rule, ..)| *rule == "plaintext-download").count();
        let (findings, _) = lint_pod(&[script], &allowing);
        assert_eq!(plaintext(&findings), 0);
        let (findings, analysed) = lint_pod(&[script], &RuleSettings::default());
        assert_eq!((plaintext(&findings), &analysed[..]), (1, &[true][..]));
        let (findings, analysed) = lint_pod(&[script], &allowing);
        assert_eq!((plaintext(&findings), &analysed[..]), (0, &[false][..]));
    }
}
