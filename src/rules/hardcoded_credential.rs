//! `hardcoded-credential`: a recognizable provider token or private key anywhere in the
//! pipeline's documents.
//!
//! Every scalar of the documents the pipeline was built from is scanned (keys, values,
//! embedded scripts and JSON annotations alike), and so is every YAML comment, for
//! credential formats that carry a fixed prefix ([`crate::secrets::find_tokens`]). Formats
//! without one (a W&B API key is 40 hex digits, like any SHA-1) are only judged where a
//! credential is expected: secret-named env vars, parameters, assignments and flags
//! ([`crate::secrets::sink_token`]). It runs before the weaker secret rules, which skip the
//! values it reported.

use std::cell::OnceCell;
use std::ops::Range;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, Input, MatchKind};
use saphyr_parser::ScalarStyle;

use super::secret_in_args::command_sinks;
use super::{Check, Docs, Emitter, Hit, Rule, RuleMeta};
use crate::finding::Severity;
use crate::model::{Container, EnvValue, Pipeline};
use crate::secrets::{PEM_PREFIX, TokenMatch, credential_prefixes, find_tokens, redact, sink_token};
use crate::text::MappedText;
use crate::yaml::{NodeRef, Tree};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "hardcoded-credential",
        severity: Severity::High,
        enabled_by_default: true,
        summary: "Provider token or private key written into the pipeline",
        help: "revoke the credential now, then inject it from a Kubernetes Secret instead of writing it into the pipeline",
        tags: &["security", "secrets", "CWE-798", "CWE-321"],
        docs: Docs {
            what: "Flags credentials whose format identifies them, wherever they appear in the \
file (env values, parameter defaults, commands, scripts, embedded Python, annotations, \
comments): AWS access key IDs (`AKIA…`, `ASIA…`), GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, \
`github_pat_`), GitLab `glpat-`, Slack tokens (`xoxb-`, `xoxp-`, …, `xapp-`) and webhook URLs, \
Google API keys (`AIza…`) and OAuth client secrets (`GOCSPX-`), Hugging Face `hf_`, OpenAI \
`sk-…`/`sk-proj-…`, Anthropic `sk-ant-…`, Stripe live keys (`sk_live_`, `rk_live_`), Azure \
storage account keys in connection strings (`AccountKey=`), Databricks `dapi…`, npm `npm_`, \
PyPI `pypi-AgE…`, JSON Web Tokens, and PEM `PRIVATE KEY` blocks. W&B API keys (40 hex \
digits) are recognised only as the value of a W&B secret-named variable, parameter or flag \
(`WANDB_API_KEY`, `wandb login KEY`).

Visible placeholders are not reported (`ghp_xxxx…`, `AKIAXXXXXXXXXXXXXXXX`, `0000…`, \
`your-token-here`, a PEM header without a body). Keys that spell `EXAMPLE` (such as \
`AKIAIOSFODNN7EXAMPLE`, AWS's documentation key) *are* reported, with a note: the pipeline \
still passes a literal credential where a real one will end up, and skipping them would let \
any key ending in `EXAMPLE` through. In comments (a private key commented out line by line \
included), a credential is reported unless the same value is already reported in a value of \
the pipeline (the KFP v2 SDK repeats parameter defaults in the comment that heads the file). \
A value reported here is not reported again by `secret-in-env`, \
`secret-in-parameter-default` or `secret-in-args`.",
            why: "A compiled pipeline is committed, uploaded to the pipeline server, shown in its \
UI and copied into every run: a live provider credential in it is as good as published. \
Unlike a password, these tokens work from anywhere, often with broad scope (cloud storage, \
source code, model hubs, billing), and automated scanners harvest them from public \
repositories within minutes.",
            example: "\
env:
- name: AWS_ACCESS_KEY_ID
  value: AKIAIOSFODNN7EXAMPLE     # <- flagged (AWS access key ID)",
            fix: "\
First **revoke or rotate the credential**: it is compromised once committed. Then:
- **KFP v2**: create a Kubernetes Secret and use \
`kubernetes.use_secret_as_env(task, secret_name='aws-creds', \
secret_key_to_env={'access_key_id': 'AWS_ACCESS_KEY_ID'})` (kfp-kubernetes); never as a \
pipeline parameter default or `set_env_variable` value.
- **KFP v1**: `op.apply(use_aws_secret('aws-creds', 'access_key_id', 'secret_access_key'))`, \
`use_k8s_secret(...)` or `V1EnvVar(value_from=V1EnvVarSource(secret_key_ref=...))`.
- **Hera / Argo**: `env=[SecretEnv(name='HF_TOKEN', secret_name='hf', secret_key='token')]` \
(`valueFrom.secretKeyRef`); keys and certificates as `SecretVolume`s.
- **Tekton**: `env[].valueFrom.secretKeyRef` on the step or a workspace bound to the Secret.
- Better still, use workload identity (IRSA, GKE Workload Identity, Azure Workload \
Identity) so no long-lived key is needed at all.",
        },
    },
    check: Check::Code(check),
};

fn check(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    // Built on the first token: most pipelines have none.
    let owners = OnceCell::new();
    let owner_of = |span: &Range<usize>| owners.get_or_init(|| Owners::new(container_spans(pipeline))).of(span);
    let mut mentions_wandb = false;
    let mut in_scalars: Vec<String> = Vec::new();
    let mut comments: Vec<(&Tree, MappedText)> = Vec::new();
    for document in out.sources() {
        let candidates = candidates(*document);
        comments.extend(candidates.comments.into_iter().map(|comment| (document.tree(), comment)));
        for scalar in candidates.scalars {
            let Some(value) = scalar.as_str() else { continue };
            mentions_wandb = mentions_wandb || spells_wandb(value);
            let tokens = find_tokens(value);
            if tokens.is_empty() {
                continue;
            }
            // The position map is built only for the rare scalar that holds a credential.
            let text = scalar.text();
            let tokens = if text.as_str() == value { tokens } else { find_tokens(text.as_str()) };
            for token in tokens {
                let (value, span) = written(&text, &token);
                in_scalars.push(value.to_string());
                report(out, value, &token, span.clone(), Place::Container(owner_of(&span)));
            }
        }
    }
    // The KFP v2 SDK echoes parameter defaults in its header comment: a credential found
    // in a value is not reported again there.
    for (tree, comment) in comments {
        for token in find_tokens(comment.as_str()) {
            let (value, span) = written(&comment, &token);
            if in_scalars.iter().any(|reported| reported == value) {
                continue;
            }
            report(out, value, &token, tree.file_range(span), Place::Comment);
        }
    }
    // Formats recognisable only by where they are written (only W&B keys so far).
    if !mentions_wandb {
        return;
    }
    for container in &pipeline.containers {
        for var in &container.env {
            let (EnvValue::Literal(value), Some(name)) = (&var.value, var.name.as_str()) else { continue };
            sink(out, name, &value.text(), Some(container));
        }
        out.check_code(container, |out, code| {
            let wandb = |name: &str| name.to_ascii_lowercase().contains("wandb");
            for command_sink in command_sinks(code, &wandb) {
                sink(out, &command_sink.name, &command_sink.value, Some(container));
            }
        });
    }
    for parameter in &pipeline.parameters {
        let Some(name) = parameter.name.as_str() else { continue };
        sink(out, name, &parameter.value.text(), None);
    }
}

fn sink(out: &mut Emitter<'_>, name: &str, value: &MappedText, container: Option<&Container<'_>>) {
    if let Some(token) = sink_token(name, value.as_str()) {
        let (text, span) = written(value, &token);
        report(out, text, &token, span, Place::Container(container));
    }
}

/// The text of `token`, found in `text`, and where it is written in the source `text` maps to.
fn written<'a>(text: &'a MappedText, token: &TokenMatch) -> (&'a str, Range<usize>) {
    let value = text.as_str().get(token.range.clone()).unwrap_or_default();
    (value, text.source_range(token.range.clone()))
}

/// True if `text` spells `wandb` or `WANDB`: in a scalar, the sign that W&B keys may sit
/// in secret-named places.
fn spells_wandb(text: &str) -> bool {
    text.contains("wandb") || text.contains("WANDB")
}

/// Where in a document a credential or a W&B mention may be written.
struct Candidates<'t> {
    /// The scalars whose decoded value may hold one.
    scalars: Vec<NodeRef<'t>>,
    /// The comments that may hold a credential, mapped to the document's tree source
    /// ([`Leads::comments`]).
    comments: Vec<MappedText>,
}

/// What of `document` may hold a credential or a W&B mention.
fn candidates(document: NodeRef<'_>) -> Candidates<'_> {
    let tree = document.tree();
    let source = tree.source();
    // A single-document tree is scanned flat, without `NodeRef::scalars`' bookkeeping.
    if tree.document_count() == 1 {
        return Leads::new(source, 0..source.len()).candidates(source, tree.scalars());
    }
    // A document's scalars are written from its start to the next document's (anywhere,
    // for a node that is no document's root): most documents hold no lead there, and their
    // scalars are never gathered. The first document's range starts with the file, so that
    // the comments before it (the KFP SDK's header) are searched too.
    let first = tree.documents().next().map(|root| root.id());
    let mut roots = tree.documents().skip_while(|root| root.id() != document.id());
    let range = match roots.next() {
        Some(root) => {
            let start = if Some(root.id()) == first { 0 } else { root.span().start };
            start..roots.next().map_or(source.len(), |next| next.span().start)
        }
        None => 0..source.len(),
    };
    let leads = Leads::new(source, range);
    if leads.none() {
        return Candidates { scalars: Vec::new(), comments: Vec::new() };
    }
    leads.candidates(source, document.scalars())
}

/// Where the scalars of a document may hold what [`check`] looks for, a credential prefix
/// ([`credential_prefixes`], [`PEM_PREFIX`]) or a W&B mention, found by searching the
/// document's source (with the two searchers of [`LEADS`]) instead of each scalar.
///
/// A decoded value holds such a literal only if its source does, except through escapes:
/// plain, single-quoted and block scalars only drop indentation and fold line breaks into
/// spaces or line feeds (so `-----BEGIN ` is looked for without its space), and a quote
/// doubled in a single-quoted scalar is in no literal. Double-quoted scalars with an escape
/// that can make a character of a literal, or join two lines, are always looked at.
///
/// A provider credential's prefix counts only where it does not follow an ASCII letter or
/// digit ([`may_start_a_credential`]): `sk-` is in every `task-`, and [`find_tokens`]
/// rejects such matches anyway.
struct Leads {
    /// Source offsets where the searches found a literal that counts, in order; `None` if
    /// they could not run (every scalar is then looked at).
    starts: Option<Vec<usize>>,
    /// The length of the longest literal.
    longest: usize,
    /// Source offsets of the `\` of each escape that can make a literal (see
    /// [`escape_may_make_a_literal`]), in order.
    escapes: Vec<usize>,
}

/// One searcher of [`LEADS`].
struct LeadSearcher {
    /// Leftmost first: the credential prefixes, then the literals that need no boundary,
    /// then the escapes ([`ESCAPES`]).
    literals: AhoCorasick,
    /// How many of the literals are credential prefixes.
    prefixes: usize,
    /// Where the escapes start among the literals.
    escapes: usize,
}

/// The literals [`Leads`] looks for, in two searchers: those shorter than [`SHORT_LEAD`]
/// bytes (`sk-`, `hf_`, `xox`, `eyJ`, and the two-byte [`ESCAPES`]) and the rest. In one
/// searcher the short ones would cut every literal's fingerprint to their length, and
/// checking the many false candidates took twice as long as two searches (measured with
/// three-byte fingerprints). The escapes ride along with the short literals instead of a
/// third pass over the text: a two-byte fingerprint there cost less than that pass.
static LEADS: LazyLock<Option<[LeadSearcher; 2]>> = LazyLock::new(|| {
    let searcher = |short: bool| {
        let wanted = |literal: &&str| (literal.len() < SHORT_LEAD) == short;
        let prefixes: Vec<&str> = credential_prefixes().filter(wanted).collect();
        let mut literals: Vec<&str> = prefixes.clone();
        literals.extend([PEM_PREFIX.trim_end(), "wandb", "WANDB"].into_iter().filter(wanted));
        let escapes = literals.len();
        literals.extend(ESCAPES.into_iter().filter(wanted));
        let literals = AhoCorasick::builder().match_kind(MatchKind::LeftmostFirst).build(literals).ok()?;
        Some(LeadSearcher { literals, prefixes: prefixes.len(), escapes })
    };
    Some([searcher(true)?, searcher(false)?])
});

/// How every double-quoted escape that can make a byte of a literal starts: the numbered
/// ones ([`NUMBERED_ESCAPES`]), `\/`, and a line join.
const ESCAPES: [&str; 6] = ["\\x", "\\u", "\\U", "\\/", "\\\n", "\\\r"];

/// Literals shorter than this many bytes get a searcher of their own ([`LEADS`]).
const SHORT_LEAD: usize = 4;

impl LeadSearcher {
    /// Adds to `starts` where the literals that count are in `written` (which starts at
    /// `offset` of the source), and to `escapes` where the escapes that count are.
    fn find(&self, written: &str, offset: usize, starts: &mut Vec<usize>, escapes: &mut Vec<usize>) {
        let bytes = written.as_bytes();
        let mut input = Input::new(written);
        while let Some(found) = self.literals.find(input.clone()) {
            let pattern = found.pattern().as_usize();
            if pattern >= self.escapes {
                if escape_may_make_a_literal(bytes, found.start()) {
                    escapes.push(offset + found.start());
                }
                // A literal may start on the escape's letter (`\xoxb-` in a plain scalar).
                input.set_start(found.start() + 1);
            } else if pattern >= self.prefixes || may_start_a_credential(bytes, found.start()) {
                starts.push(offset + found.start());
                input.set_start(found.end());
            } else {
                // A literal may start inside the one that does not count (`xGOCSPX-----BEGIN`).
                input.set_start(found.start() + 1);
            }
        }
    }
}

/// False if the credential prefix at `at` of `written` follows an ASCII letter or digit in
/// the decoded value too: the source byte before it is one, and does not end an escape
/// (`\t` decodes to a tab, `\u00e9` to `é`). Folded line breaks and dropped indentation are
/// whitespace in the source and the value alike.
fn may_start_a_credential(written: &[u8], at: usize) -> bool {
    let before = |back: usize| at.checked_sub(back).and_then(|index| written.get(index));
    let ends_escape =
        |&(letter, digits): &(u8, usize)| before(digits + 2) == Some(&b'\\') && before(digits + 1) == Some(&letter);
    !before(1).is_some_and(u8::is_ascii_alphanumeric)
        || before(2) == Some(&b'\\')
        || NUMBERED_ESCAPES.iter().any(ends_escape)
}

/// The double-quoted escapes that name a character by its code: letter, hex digits.
const NUMBERED_ESCAPES: [(u8, usize); 3] = [(b'x', 2), (b'u', 4), (b'U', 8)];

impl Leads {
    /// The leads written in `range` of `source`, the bytes of a document's scalars.
    fn new(source: &str, range: Range<usize>) -> Self {
        let mut escapes = Vec::new();
        let starts = LEADS.as_ref().zip(source.get(range.clone())).map(|(searchers, written)| {
            let mut starts = Vec::new();
            for searcher in searchers {
                searcher.find(written, range.start, &mut starts, &mut escapes);
            }
            starts.sort_unstable();
            starts
        });
        let longest =
            LEADS.as_ref().into_iter().flatten().map(|searcher| searcher.literals.max_pattern_len()).max().unwrap_or(0);
        Self { starts, longest, escapes }
    }

    /// True if no scalar can hold a literal: most documents hold neither a literal nor an
    /// escape that could make one.
    fn none(&self) -> bool {
        self.starts.as_ref().is_some_and(Vec::is_empty) && self.escapes.is_empty()
    }

    /// The `scalars` of `source` whose decoded value may hold a credential or a W&B
    /// mention, and the comments that may hold a credential.
    fn candidates<'t>(&self, source: &str, scalars: impl IntoIterator<Item = NodeRef<'t>>) -> Candidates<'t> {
        if self.none() {
            return Candidates { scalars: Vec::new(), comments: Vec::new() };
        }
        let scalars: Vec<NodeRef<'t>> = scalars.into_iter().filter(|scalar| self.may_be_in(scalar)).collect();
        let comments = self.comments(source, &scalars);
        Candidates { scalars, comments }
    }

    /// The comments of `source` that hold a literal found by the searches (a literal in
    /// none of the `candidates`, which hold every scalar holding one, on a line where a `#`
    /// that opens a comment comes before it): each the text after its `#` to the end of its
    /// line, joined by a line feed to the text of the whole-line comments right below it (a
    /// private key commented out line by line), mapped to `source`.
    fn comments(&self, source: &str, candidates: &[NodeRef<'_>]) -> Vec<MappedText> {
        let Some(starts) = &self.starts else { return Vec::new() };
        let mut spans: Vec<Range<usize>> = candidates.iter().map(NodeRef::span).collect();
        spans.sort_unstable_by_key(|span| span.start);
        let bytes = source.as_bytes();
        let line_end = |from: usize| memchr::memchr2(b'\n', b'\r', &bytes[from..]).map_or(bytes.len(), |at| from + at);
        let mut comments = Vec::new();
        // Where the last comment taken ends: a literal before it is in it.
        let mut taken = 0;
        // The line of the last literal looked at, and how far no `#` opens a comment on it:
        // each line is searched once, however many literals it holds.
        let (mut line, mut searched) = (0..0, 0);
        for &start in starts {
            let holder = spans.partition_point(|span| span.start <= start);
            let in_scalar = holder.checked_sub(1).is_some_and(|index| start < spans[index].end);
            if in_scalar || start < taken {
                continue;
            }
            if !line.contains(&start) {
                let line_start = memchr::memrchr2(b'\n', b'\r', &bytes[..start]).map_or(0, |at| at + 1);
                line = line_start..line_end(start);
                searched = line_start;
            }
            let opens_comment =
                |&at: &usize| bytes[at] == b'#' && (at == line.start || matches!(bytes[at - 1], b' ' | b'\t'));
            let found = (searched..start).find(opens_comment);
            searched = start;
            let Some(hash) = found else { continue };
            let mut end = line.end;
            let mut comment = MappedText::verbatim(&source[hash + 1..end], hash + 1);
            loop {
                let next = end + if bytes[end..].starts_with(b"\r\n") { 2 } else { 1 };
                let indentation = bytes
                    .get(next..)
                    .map_or(0, |rest| rest.iter().take_while(|&&byte| byte == b' ' || byte == b'\t').count());
                if next >= bytes.len() || bytes.get(next + indentation) != Some(&b'#') {
                    break;
                }
                comment.push_decoded("\n", end..next);
                let text_start = next + indentation + 1;
                end = line_end(text_start);
                comment.push_verbatim(&source[text_start..end], text_start);
            }
            taken = end;
            comments.push(comment);
        }
        comments
    }

    /// False if the decoded value of `scalar` can hold no literal.
    fn may_be_in(&self, scalar: &NodeRef<'_>) -> bool {
        let Some(starts) = &self.starts else { return true };
        let double_quoted = scalar.style() == Some(ScalarStyle::DoubleQuoted);
        if starts.is_empty() && !double_quoted {
            return false;
        }
        let span = scalar.span();
        Self::written_in(starts, self.longest, &span) || (double_quoted && Self::escape_in(&self.escapes, &span))
    }

    /// True if one of the `escapes` found is written in `span`.
    fn escape_in(escapes: &[usize], span: &Range<usize>) -> bool {
        let first = escapes.partition_point(|&at| at < span.start);
        escapes.get(first).is_some_and(|&at| at < span.end)
    }

    /// True if a literal that counts may be written in `span`, given where the searches
    /// found them.
    fn written_in(starts: &[usize], longest: usize, span: &Range<usize>) -> bool {
        // Each search skips what starts inside one of the matches it keeps: a literal that
        // counts written in the span starts a kept match of its searcher, or lies in one
        // that starts less than that searcher's longest literal (so less than the longest of
        // all) before it.
        let from = span.start.saturating_sub(longest.saturating_sub(1));
        let first = starts.partition_point(|&start| start < from);
        starts.get(first).is_some_and(|&start| start < span.end)
    }
}

/// True if the `\` at `at` of `written` starts a double-quoted scalar's escape that can
/// make a character of a literal of [`LEADS`] (`\x`, `\u`, `\U` that make one; `\/`) or
/// join two pieces of one (`\` before a line break, between bytes that can be in a
/// literal). Other escapes make characters that are in no literal (the space of
/// `-----BEGIN ` is not looked for).
fn escape_may_make_a_literal(written: &[u8], at: usize) -> bool {
    let next = written.get(at + 1).copied();
    if let Some(&(_, digits)) = NUMBERED_ESCAPES.iter().find(|&&(letter, _)| Some(letter) == next) {
        let code = written.get(at + 2..at + 2 + digits).and_then(|hex| std::str::from_utf8(hex).ok());
        let code = code.and_then(|hex| u32::from_str_radix(hex, 16).ok());
        return code.is_none_or(|code| u8::try_from(code).is_ok_and(may_be_in_a_literal));
    }
    match next {
        Some(b'/') => true,
        Some(b'\n' | b'\r') => joins_literal_bytes(written, at),
        _ => false,
    }
}

/// True if the line join whose `\` is at `at` of `written` has a byte that can be in a
/// literal right before it, and one right after the line break, the next line's
/// indentation and any further joins. PyYAML breaks long lines before a space (written
/// `\ `) or after an escape (`\n`): such joins are not. (Escapes that can make a byte of a
/// literal are looked for on their own.)
fn joins_literal_bytes(written: &[u8], at: usize) -> bool {
    let before = written.get(..at).unwrap_or_default();
    let Some((&last, rest)) = before.split_last() else { return false };
    // `last` is escaped if an odd number of backslashes comes right before it.
    let escaped = rest.iter().rev().take_while(|&&byte| byte == b'\\').count() % 2 == 1;
    if !may_be_in_a_literal(last) || escaped {
        return false;
    }
    // The first byte after the line break, the indentation and any further joins.
    let mut after = written.get(at + 1..).unwrap_or_default();
    loop {
        after = after.strip_prefix(b"\r\n").or_else(|| after.get(1..)).unwrap_or_default();
        let indentation = after.iter().take_while(|&&byte| byte == b' ' || byte == b'\t').count();
        after = after.get(indentation..).unwrap_or_default();
        match after {
            [b'\\', b'\n' | b'\r', ..] => after = after.get(1..).unwrap_or_default(),
            [first, ..] => return may_be_in_a_literal(*first),
            [] => return false,
        }
    }
}

/// True for the bytes the literals of [`LEADS`] are made of (a unit test says so).
fn may_be_in_a_literal(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'/' | b'=')
}

/// File spans of every node a container was read from, to name the container a token is in.
fn container_spans<'p, 't>(pipeline: &'p Pipeline<'t>) -> Vec<(Range<usize>, &'p Container<'t>)> {
    let mut spans = Vec::new();
    for container in &pipeline.containers {
        let nodes = container.command.iter().chain(&container.args).chain(&container.script).chain(&container.image);
        spans.extend(nodes.map(|node| (node.file_span(), container)));
        for var in &container.env {
            spans.push((var.name.file_span(), container));
            if let EnvValue::Literal(value) = var.value {
                spans.push((value.file_span(), container));
            }
        }
    }
    spans
}

/// Owners of spans (containers, in [`check`]) looked up by a span they hold.
struct Owners<T> {
    /// Span, position in the order given, owner; sorted by start.
    spans: Vec<(Range<usize>, usize, T)>,
    /// `reach[i]`: the furthest end of `spans[..=i]`.
    reach: Vec<usize>,
}

impl<T: Copy> Owners<T> {
    fn new(spans: Vec<(Range<usize>, T)>) -> Self {
        let mut spans: Vec<_> =
            spans.into_iter().enumerate().map(|(position, (span, owner))| (span, position, owner)).collect();
        spans.sort_by_key(|(span, position, _)| (span.start, *position));
        let reach = spans
            .iter()
            .scan(0, |furthest, (span, _, _)| {
                *furthest = span.end.max(*furthest);
                Some(*furthest)
            })
            .collect();
        Self { spans, reach }
    }

    /// The owner of the innermost span holding `span` (an env value inside a platform spec
    /// joined onto it), the first in the order given among equally long ones.
    fn of(&self, span: &Range<usize>) -> Option<T> {
        // Candidates start at or before the span; walk back from the last one.
        let candidates = self.spans.partition_point(|(owned, _, _)| owned.start <= span.start);
        let mut best: Option<(usize, usize, T)> = None;
        for (index, (owned, position, owner)) in self.spans[..candidates].iter().enumerate().rev() {
            // No span from here back reaches the span's end: none holds it.
            if self.reach[index] < span.end {
                break;
            }
            // Spans from here back start earlier, so holding the span makes them longer.
            if best.is_some_and(|(length, _, _)| owned.start + length < span.end) {
                break;
            }
            let length = owned.end - owned.start;
            let better =
                best.is_none_or(|(best_length, best_position, _)| (length, *position) < (best_length, best_position));
            if span.end <= owned.end && better {
                best = Some((length, *position, *owner));
            }
        }
        best.map(|(_, _, owner)| owner)
    }
}

/// Where a credential was found, for its message.
#[derive(Clone, Copy)]
enum Place<'p, 't> {
    /// In a value, in this container if it is one of a container's.
    Container(Option<&'p Container<'t>>),
    /// In a YAML comment.
    Comment,
}

/// Reports credential `token`, whose text is `value`, at file bytes `span`.
fn report(out: &mut Emitter<'_>, value: &str, token: &TokenMatch, span: Range<usize>, place: Place<'_, '_>) {
    // `covered` first: asking it marks a candidate (`Emitter::check_code`), reported or not.
    if out.covered(RULE.meta.id, &span) || span.is_empty() {
        return;
    }
    let (container, place) = match place {
        Place::Container(container) => (container, container.map(|c| format!(" in container `{}`", c.name))),
        Place::Comment => (None, Some(" in a comment".to_string())),
    };
    let note = if token.example {
        "; it looks like a documentation example, but a real key would sit in the same place"
    } else {
        ""
    };
    out.emit(
        &RULE.meta,
        Hit {
            span: span.clone(),
            message: format!(
                "{} ({}) written into the pipeline{}{note}",
                token.kind,
                redact(value),
                place.unwrap_or_default()
            ),
            container,
            field: format!("credential.{}", token.kind).into(),
            value: value.to_string(),
            secret: Some(span),
            ..Hit::default()
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Limits, Tree};

    #[test]
    fn owners_answer_like_a_scan_of_every_span() {
        // Pseudo-random spans, many nested, overlapping and repeated.
        let mut next = crate::rules::tests::fixed_random(11);
        let spans: Vec<(Range<usize>, usize)> = (0..300)
            .map(|owner| {
                let start = next(400);
                (start..start + next(60), owner)
            })
            .collect();
        let owners = Owners::new(spans.clone());
        let mut found = 0;
        for _ in 0..3000 {
            let start = next(450);
            let span = start..start + next(8);
            let scanned = spans
                .iter()
                .filter(|(owned, _)| owned.start <= span.start && span.end <= owned.end)
                .min_by_key(|(owned, _)| owned.end - owned.start)
                .map(|(_, owner)| *owner);
            assert_eq!(owners.of(&span), scanned, "{span:?}");
            found += usize::from(scanned.is_some());
        }
        assert!((100..2900).contains(&found), "{found}");
    }

    #[test]
    fn comments_holding_a_lead_are_found_and_values_are_not_comments() {
        let key = "ghp_hDAEYqL62pBum9BIy2ewA5s02KGvdiP4TLqi";
        let comments_of = |text: &str| -> Vec<String> {
            let tree = Tree::parse(text.to_string(), None, Limits::default()).unwrap();
            tree.documents()
                .flat_map(|document| candidates(document).comments)
                .map(|c| c.as_str().to_string())
                .collect()
        };
        // A whole-line comment, a trailing one, and one before the first of two documents
        // (the KFP SDK's header); each from after its `#` to the end of its line.
        assert_eq!(comments_of(&format!("# old: {key}\na: 1\n")), [format!(" old: {key}")]);
        assert_eq!(comments_of(&format!("a: 1  # {key} x\r\nb: 2\n")), [format!(" {key} x")]);
        let two_documents = format!("# {key}\n---\na: 1\n---\nb: 2 #{key}\n");
        assert_eq!(comments_of(&two_documents), [format!(" {key}"), key.to_string()]);
        // A `#` inside a value, after a non-blank, or a line of a block scalar opens none.
        for text in [
            format!("a: \"x # {key}\"\n"),
            format!("a: 'x # {key}' # y\n"),
            format!("a: http://h/#{key}\n"),
            format!("a: |\n  # {key}\n  b\n"),
            format!("a: >-\n  x\n  # {key}\n"),
        ] {
            assert!(comments_of(&text).is_empty(), "{text:?}");
        }
        // Two leads on one line, or in whole-line comments below it: one comment.
        assert_eq!(comments_of(&format!("a: 1 # {key} {key}\n")).len(), 1);
        assert_eq!(
            comments_of(&format!("a: 1 # {key}\n  # {key}\r\n#\nb: 2 # {key}\n")),
            [format!(" {key}\n {key}\n"), format!(" {key}")]
        );
    }

    #[test]
    fn a_line_of_many_literals_outside_values_is_searched_once() {
        // Aliases are neither values nor comments: 20,000 literals on one line, each
        // searched back to the line's start, would be 2 G steps.
        let aliases = ", *sk-a".repeat(20_000);
        let text = format!("a: [&sk-a x{aliases}] # ghp_hDAEYqL62pBum9BIy2ewA5s02KGvdiP4TLqi\n");
        let tree = Tree::parse(text, None, Limits::default()).unwrap();
        let document = tree.documents().next().unwrap();
        let comments = candidates(document).comments;
        assert_eq!(
            comments.iter().map(MappedText::as_str).collect::<Vec<_>>(),
            [" ghp_hDAEYqL62pBum9BIy2ewA5s02KGvdiP4TLqi"]
        );
    }

    #[test]
    fn a_private_key_commented_out_line_by_line_is_reported_where_it_is_written() {
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END RSA PRIVATE KEY-----";
        let commented: String = key.lines().map(|line| format!("  # {line}\n")).collect();
        let text = format!("a: 1\n{commented}b: 2\n");
        let tree = Tree::parse(text.clone(), None, Limits::default()).unwrap();
        let document = tree.documents().next().unwrap();
        let [comment] = &candidates(document).comments[..] else { panic!("one comment") };
        let [token] = &find_tokens(comment.as_str())[..] else { panic!("{comment:?}") };
        let span = comment.source_range(token.range.clone());
        assert_eq!(&text[span.clone()], commented.trim().strip_prefix("# ").unwrap());
        assert_eq!(span.start, text.find("-----BEGIN").unwrap());
    }

    #[test]
    fn leads_hidden_in_an_earlier_match_are_still_found() {
        // `GOCSPX-` is found first and hides the `-----BEGIN` that starts on its last byte.
        let text = "GOCSPX-----BEGIN ... wandb";
        let leads = Leads::new(text, 0..text.len());
        let starts = leads.starts.unwrap_or_default();
        assert_eq!(starts, [0, 21]);
        assert!(Leads::written_in(&starts, leads.longest, &(6..16)));
        assert!(!Leads::written_in(&starts, leads.longest, &(17..20)));
        // A prefix after a letter does not count, nor hide the literal that starts in it.
        let text = "xGOCSPX-----BEGIN ...";
        assert_eq!(Leads::new(text, 0..text.len()).starts.unwrap_or_default(), [7]);
    }

    #[test]
    fn literal_bytes_cover_every_literal() {
        let escapes = |text: &str| !Leads::new(text, 0..text.len()).escapes.is_empty();
        let literals = credential_prefixes().chain([PEM_PREFIX.trim_end(), "wandb", "WANDB"]);
        for literal in literals {
            assert!(literal.bytes().all(may_be_in_a_literal), "{literal}");
        }
        // Every escape that names a character by its code is searched for.
        for (letter, _) in NUMBERED_ESCAPES {
            assert!(ESCAPES.contains(&format!("\\{}", char::from(letter)).as_str()), "{letter}");
        }
        // A join between two such bytes may split a literal; one before a space may not.
        assert!(escapes("\"AK\\\r\n  IA"));
        assert!(escapes("\"AK\\\n  \\\n\t IA"));
        // A numbered escape matters if it makes a byte of a literal.
        assert!(escapes("\"\\x41KIA"));
        assert!(escapes("\"\\u0077andb"));
        assert!(escapes("\"\\U0000002D----BEGIN"));
        assert!(!escapes("\"it\\u2019s \\xE9t\\xE9 \\U0001F600 \\x20"));
        assert!(!escapes("\"an\\\n  \\ AKIA\\\n\n AKIA \\\n  x\\ \\\" \\t"));
        // After an escape (`\n`), but not after an escaped backslash and a letter.
        assert!(!escapes("\"a\\n\\\n  AKIA \\\\\\\\\\n\\\n  x"));
        assert!(escapes("\"a\\\\n\\\n  AKIA"));
    }

    /// The leads of `text` found the slow way, and how many literals that count were
    /// skipped: each searcher of [`LEADS`] tries its literals in order at every byte, and
    /// skips past the ones it keeps; an escape is a `\` before `x`, `u`, `U`, `/` or a line
    /// break that may make a literal.
    fn leads_by_hand(text: &str) -> (Vec<usize>, Vec<usize>, usize) {
        let bytes = text.as_bytes();
        let mut starts = Vec::new();
        let mut skipped = 0;
        for short in [true, false] {
            let wanted = |literal: &&str| (literal.len() < SHORT_LEAD) == short;
            let prefixes = credential_prefixes().filter(wanted).map(|literal| (literal, true));
            let others = [PEM_PREFIX.trim_end(), "wandb", "WANDB"].into_iter().filter(wanted);
            let literals: Vec<(&str, bool)> = prefixes.chain(others.map(|literal| (literal, false))).collect();
            let (mut at, mut kept_until) = (0, 0);
            while at < bytes.len() {
                let written = literals.iter().find(|(literal, _)| bytes[at..].starts_with(literal.as_bytes()));
                let counts = written.filter(|(_, prefix)| !prefix || may_start_a_credential(bytes, at));
                if at < kept_until {
                    skipped += usize::from(counts.is_some());
                } else if let Some((literal, _)) = counts {
                    starts.push(at);
                    kept_until = at + literal.len();
                }
                at += 1;
            }
        }
        starts.sort_unstable();
        let escape_bytes = [b'x', b'u', b'U', b'/', b'\n', b'\r'];
        let escapes = (0..bytes.len())
            .filter(|&at| bytes[at] == b'\\' && bytes.get(at + 1).is_some_and(|next| escape_bytes.contains(next)))
            .filter(|&at| escape_may_make_a_literal(bytes, at))
            .collect();
        (starts, escapes, skipped)
    }

    #[test]
    fn leads_are_found_like_a_search_by_hand() {
        let mut next = crate::rules::tests::fixed_random(23);
        let mut pieces: Vec<String> =
            credential_prefixes().chain([PEM_PREFIX, "wandb", "WANDB"]).map(String::from).collect();
        // Near misses, literals inside and across others, escapes that make a byte of a
        // literal or not, line joins, and bytes around them (a two-byte character included).
        let near_misses = ["sk", "task-", "xoxox", "ey", "yJ", "GOCSPX-----BEGIN", "-----BEGI", "wand", "AKI", "hf"];
        let escapes = ["\\x41", "\\xE9", "\\x2", "\\x78", "\\u0077", "\\u2019", "\\U0000002D", "\\U0001F600", "\\/"];
        let other_escapes = ["\\\n", "\\\r\n", "\\\\", "\\t", "\\n", "\\\"", "\\"];
        let around = ["a", "Z", "0", "x", "o", "_", "-", " ", "\n", "\r", "  ", "é", "\t", "#", "\""];
        pieces.extend(near_misses.into_iter().chain(escapes).chain(other_escapes).chain(around).map(String::from));
        let (mut starts_found, mut escapes_found, mut skipped, mut outside) = (0, 0, 0, 0);
        for _ in 0..20_000 {
            let text: String = (0..next(30)).map(|_| pieces[next(pieces.len() as u64)].as_str()).collect();
            let (start, end) = (next(text.len() as u64 / 4 + 1), text.len() - next(text.len() as u64 / 4 + 1));
            let range = start..end.max(start);
            let leads = Leads::new(&text, range.clone());
            let Some(written) = text.get(range.clone()) else {
                assert!(leads.starts.is_none() && leads.escapes.is_empty(), "{text:?} {range:?}");
                outside += 1;
                continue;
            };
            let (starts, escapes, hidden) = leads_by_hand(written);
            let shift = |found: Vec<usize>| found.into_iter().map(|at| at + range.start).collect::<Vec<_>>();
            assert_eq!(leads.starts, Some(shift(starts.clone())), "{text:?} {range:?}");
            assert_eq!(leads.escapes, shift(escapes.clone()), "{text:?} {range:?}");
            starts_found += starts.len();
            escapes_found += escapes.len();
            skipped += hidden;
        }
        // The texts hold many of each, literals that count inside one kept before them, and
        // ranges that cut a character.
        assert!(starts_found > 20_000 && escapes_found > 5_000, "{starts_found} {escapes_found}");
        assert!(skipped > 500 && outside > 50, "{skipped} {outside}");
    }

    #[test]
    fn credential_prefixes_count_only_after_a_boundary() {
        let starts = |text: &str| Leads::new(text, 0..text.len()).starts.unwrap_or_default();
        assert_eq!(starts("task-1 disk-2 XeyJ"), [0; 0]);
        // At the start, after a space, a quote, a dash, a line break, an escape (`\t`).
        assert_eq!(starts("sk- 'sk- -sk-\nsk-\\tsk-\n  hf_"), [0, 5, 10, 14, 19, 25]);
        // After an escape that makes no letter or digit, or perhaps none.
        assert_eq!(starts("\\x20sk- \\u00e9sk- \\U0001F600sk- x\\u0041sk-"), [4, 14, 28, 39]);
        // The literals that need no boundary count anywhere.
        assert_eq!(starts("x-----BEGIN xwandb"), [1, 13]);
    }

    #[test]
    fn leads_miss_no_scalar_that_holds_a_credential_or_a_wandb_mention() {
        // Fake credentials assembled at run time, as in `secrets`' tests.
        let key = format!("{}{}", "AKIA", "Q3EGRBQXJNS2ZL5W");
        let webhook = format!("{}{}", "T02ABCD1E/B03FGHI2J/", "Zq3Lk9Wm2Xr7Tb4Nc8Vd1Fg6");
        let openai = format!("{}{}", "sk-", "Zq3Lk9Wm2Xr7Tb4Nc8Vd1Fg6Hj5Kp0Qs2Rt4Uv6Wx8Yz1Ab3C");
        let hugging_face = format!("{}{}", "hf_", "Zq3Lk9Wm2Xr7Tb4Nc8Vd1Fg6Hj5Kp0Qs2R");
        let slack = format!("{}{}", "xoxb-", "Zq3Lk9Wm2Xr7Tb4Nc8Vd1Fg6");
        let texts = [
            "env: {name: WANDB_API_KEY}\n".to_string(),
            // Spelled by escapes only: a letter escape, a backslash line join.
            "a: \"\\x77andb\"\n".to_string(),
            "a: \"wan\\\n  db\"\n".to_string(),
            format!("a: \"\\x41{}\"\n", &key[1..]),
            format!("a: \"{}\\\n  {}\"\n", &key[..2], &key[2..]),
            format!("a: |\n  export K={key}\n"),
            format!("a: '{key}'\nb: \"x {key}\"\nc: >\n  x\n  {key}\n"),
            // Folding makes the space of `-----BEGIN `.
            "k: -----BEGIN\n  RSA PRIVATE KEY-----\n  MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n  -----END RSA PRIVATE KEY-----\n"
                .to_string(),
            // JSON-style `\/` makes the `/` of `hooks.slack.com/`.
            format!("u: \"https:\\/\\/hooks.slack.com\\/services\\/{}\"\n", webhook.replace('/', "\\/")),
            format!("---\nx: 1\n---\ny: [{key}, z]\n"),
            // Each document is searched from its start to the next one's.
            format!("a: 1\n---\n- {key}\n- x\n---\nb: 2\n"),
            format!("---\nk: |\n  {key}\n...\n# c\n---\nz: \"{key}\"\n"),
            // After an escape that makes no letter; next to prefixes after letters.
            format!("a: \"x\\t{openai}\"\n"),
            format!("a: task-name\nb: x{openai}\nc: [{hugging_face}]\n"),
            // A literal on the letter of what would be an escape in a double-quoted scalar.
            format!("a: \\{slack}\n"),
            // In a comment only, or broken by an escape that makes no letter: nothing to find.
            "# wandb\na: \"w\\tandb\"\nb: plain\n".to_string(),
        ];
        let (mut wanted, mut skipped) = (0, 0);
        for text in &texts {
            let tree = Tree::parse(text.clone(), None, Limits::default()).unwrap();
            for document in tree.documents() {
                let candidates: Vec<_> = candidates(document).scalars.iter().map(NodeRef::id).collect();
                for scalar in document.scalars() {
                    let value = scalar.as_str().unwrap();
                    let candidate = candidates.contains(&scalar.id());
                    if spells_wandb(value) || !find_tokens(value).is_empty() {
                        assert!(candidate, "{text:?}: {value:?}");
                        wanted += 1;
                    } else if !candidate {
                        skipped += 1;
                    }
                }
            }
        }
        assert_eq!(wanted, 18);
        assert!(skipped >= 13, "{skipped}");
    }
}
