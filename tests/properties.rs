//! Property tests (issue 7): generated pipelines, written in random YAML styles, must be
//! linted with every finding's line:column on the first character of the text it names.
//!
//! Each case is a Kubernetes Pod or a KFP v2 IR with a literal secret in an env var (and, for
//! KFP, a secret parameter default) and a plain-HTTP download in a `sh -c` script. Every
//! scalar that matters is written plain, single- or double-quoted (with escapes and both
//! kinds of line folding), literal or folded; collections in block or flow style; line ends
//! LF or CRLF; non-ASCII text before the tokens on their lines. The generator records the
//! byte where each token's first character is written (the backslash when it is escaped),
//! and the findings of `secret-in-env`, `secret-in-parameter-default` and
//! `plaintext-download` must be exactly there.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use std::fmt::Write as _;

use kfpguard::lint::{LintOptions, lint_file};
use kfpguard::report::FileOutcome;
use proptest::prelude::*;
use proptest::test_runner::Config;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
    Folded,
}

fn style() -> impl Strategy<Value = Style> {
    prop_oneof![Just(Style::Plain), Just(Style::Single), Just(Style::Double), Just(Style::Literal), Just(Style::Folded)]
}

/// How a scalar is written, besides its style.
#[derive(Clone, Debug)]
struct Shape {
    style: Style,
    /// Fold (break the line) at a space once a line is longer than this; 0: never.
    fold_width: usize,
    /// Double-quoted only: fold with an escaped line break (`\` + break) instead.
    escaped_folds: bool,
    /// Double-quoted only: bit i set -> write the i-th ASCII letter (from the second
    /// character on) as `\xNN`.
    escapes: u64,
}

fn shape() -> impl Strategy<Value = Shape> {
    (style(), prop_oneof![Just(0usize), 4usize..40], any::<bool>(), any::<u64>())
        .prop_map(|(style, fold_width, escaped_folds, escapes)| Shape { style, fold_width, escaped_folds, escapes })
}

/// A scalar rendered into YAML text, with the offset in that text where the representation
/// of each byte of the value starts (`None` for bytes that are not the start of a char or
/// that stand for a folded line break).
struct Rendered {
    text: String,
    starts: Vec<Option<usize>>,
}

fn plain_safe(value: &str, flow: bool) -> bool {
    let first = value.chars().next().unwrap_or(' ');
    first.is_ascii_alphanumeric()
        && !value.contains(": ")
        && !value.contains(" #")
        && !value.ends_with([' ', ':'])
        && !value.contains('\n')
        && !value.contains('\t')
        && !(flow && value.contains([',', '[', ']', '{', '}']))
}

/// Renders `value` in `shape` for a node that follows `key: ` or `- ` on its line;
/// continuation lines are indented by `indent` spaces. Falls back to double quotes when the
/// style cannot hold the value (a block scalar in a flow collection, an unsafe plain value).
fn render(value: &str, shape: &Shape, indent: usize, flow: bool) -> Rendered {
    let mut style = shape.style;
    if (flow && matches!(style, Style::Literal | Style::Folded))
        || (style == Style::Plain && !plain_safe(value, flow))
        || (matches!(style, Style::Literal | Style::Folded) && (value.starts_with(' ') || value.contains('\t')))
        || (style == Style::Folded && value.contains('\n'))
        || (style == Style::Single && value.contains('\n'))
    {
        style = Style::Double;
    }
    let pad = " ".repeat(indent);
    let mut out = Rendered { text: String::new(), starts: vec![None; value.len()] };
    match style {
        Style::Literal => {
            out.text.push_str("|-\n");
            out.text.push_str(&pad);
            for (index, c) in value.char_indices() {
                if c == '\n' {
                    out.text.push('\n');
                    out.text.push_str(&pad);
                    continue;
                }
                out.starts[index] = Some(out.text.len());
                out.text.push(c);
            }
        }
        Style::Plain | Style::Folded | Style::Single => {
            let (open, close) = match style {
                Style::Single => ("'", "'"),
                Style::Folded => (">-\n", ""),
                _ => ("", ""),
            };
            out.text.push_str(open);
            if style == Style::Folded {
                out.text.push_str(&pad);
            }
            let mut line_len = 0;
            let bytes = value.as_bytes();
            for (index, c) in value.char_indices() {
                let single_space = c == ' '
                    && index > 0
                    && bytes.get(index - 1) != Some(&b' ')
                    && bytes.get(index + 1).is_some_and(|&b| b != b' ');
                if single_space && shape.fold_width > 0 && line_len >= shape.fold_width {
                    out.text.push('\n');
                    out.text.push_str(&pad);
                    line_len = 0;
                    continue;
                }
                out.starts[index] = Some(out.text.len());
                if style == Style::Single && c == '\'' {
                    out.text.push('\'');
                }
                out.text.push(c);
                line_len += 1;
            }
            out.text.push_str(close);
        }
        Style::Double => {
            out.text.push('"');
            let mut line_len = 0;
            let mut letter = 0;
            let bytes = value.as_bytes();
            for (index, c) in value.char_indices() {
                let single_space = c == ' '
                    && index > 0
                    && bytes.get(index - 1) != Some(&b' ')
                    && bytes.get(index + 1).is_some_and(|&b| b != b' ');
                let fold_here = shape.fold_width > 0 && line_len >= shape.fold_width && index > 0;
                if fold_here && !shape.escaped_folds && single_space {
                    out.text.push('\n');
                    out.text.push_str(&pad);
                    line_len = 0;
                    continue;
                }
                if fold_here && shape.escaped_folds {
                    out.text.push_str("\\\n");
                    out.text.push_str(&pad);
                    line_len = 0;
                }
                out.starts[index] = Some(out.text.len());
                let at_line_start = line_len == 0 && index > 0;
                match c {
                    '"' => out.text.push_str("\\\""),
                    '\\' => out.text.push_str("\\\\"),
                    '\n' => out.text.push_str("\\n"),
                    '\t' => out.text.push_str("\\t"),
                    // Leading blanks of a continuation line are not content: escape them.
                    ' ' if at_line_start => out.text.push_str("\\ "),
                    c if c.is_ascii_alphabetic() && index > 0 => {
                        if shape.escapes & (1 << (letter % 64)) != 0 {
                            let _ = write!(out.text, "\\x{:02X}", c as u32);
                        } else {
                            out.text.push(c);
                        }
                        letter += 1;
                    }
                    c => out.text.push(c),
                }
                line_len += 1;
            }
            out.text.push('"');
        }
    }
    out
}

/// Builds YAML text and remembers where tokens went.
#[derive(Default)]
struct Doc {
    text: String,
    /// (rule, byte offset of the token's first character).
    expected: Vec<(&'static str, usize)>,
}

impl Doc {
    fn line(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }

    /// Appends `prefix` and the rendered scalar, and records `rule` at value byte `token`.
    fn scalar(&mut self, prefix: &str, rendered: &Rendered, token: Option<(&'static str, usize)>) {
        self.text.push_str(prefix);
        let base = self.text.len();
        self.text.push_str(&rendered.text);
        if let Some((rule, index)) = token {
            let start = rendered.starts[index].expect("token start not rendered");
            self.expected.push((rule, base + start));
        }
    }
}

#[derive(Clone, Debug)]
struct Case {
    kfp: bool,
    crlf: bool,
    comment: String,
    before: Vec<String>,
    download: String,
    after: Vec<String>,
    script_shape: Shape,
    flow_command: bool,
    secret_name: String,
    secret: String,
    secret_shape: Shape,
    flow_env: bool,
    param_name: String,
    param: String,
    param_shape: Shape,
}

fn command() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("set -e".to_string()),
        Just("echo 'café ☕ 日本'".to_string()),
        Just("cd /tmp".to_string()),
        Just("export MODE=train".to_string()),
        Just("echo \"step done\"".to_string()),
        Just("ls -la  /data".to_string()),
        "[a-z]{2,8}".prop_map(|word| format!("echo {word}")),
    ]
}

fn download() -> impl Strategy<Value = String> {
    let url = ("[a-z]{3,8}", prop_oneof![Just("com"), Just("org"), Just("io")], "[a-z0-9]{1,8}(/[a-z0-9.]{1,8})?")
        .prop_map(|(host, tld, path)| format!("http://{host}.example.{tld}/{path}"));
    (url, 0..4usize).prop_map(|(url, form)| match form {
        0 => format!("curl -fsSL {url} -o /tmp/x"),
        1 => format!("wget -q {url}"),
        2 => format!("pip install --index-url {url} torch"),
        _ => format!("curl {url} | tar xz"),
    })
}

/// A literal secret: starts with a letter, never looks like a reference.
fn secret_value() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_.+=/!@%'\"\\\\#: -]{6,30}[A-Za-z0-9]"
}

fn case() -> impl Strategy<Value = Case> {
    let secret_names = prop_oneof![
        Just("DB_PASSWORD"),
        Just("API_TOKEN"),
        Just("AWS_SECRET_ACCESS_KEY"),
        Just("GITHUB_TOKEN"),
        Just("client_secret"),
        Just("apiKey"),
    ];
    let param_names = prop_oneof![Just("db_password"), Just("api_token"), Just("hf_token")];
    let code = (
        prop::collection::vec(command(), 0..3),
        download(),
        prop::collection::vec(command(), 0..3),
        shape(),
        any::<bool>(),
    );
    let secrets = (secret_names, secret_value(), shape(), any::<bool>(), param_names, secret_value(), shape());
    (any::<bool>(), any::<bool>(), "[ -~éß日本語☕]{0,20}", code, secrets).prop_map(
        |(kfp, crlf, comment, code, secrets)| {
            let (before, download, after, script_shape, flow_command) = code;
            let (secret_name, secret, secret_shape, flow_env, param_name, param, param_shape) = secrets;
            Case {
                kfp,
                crlf,
                comment,
                before,
                download,
                after,
                script_shape,
                flow_command,
                secret_name: secret_name.to_string(),
                secret,
                secret_shape,
                flow_env,
                param_name: param_name.to_string(),
                param,
                param_shape,
            }
        },
    )
}

/// The script, and the byte of `http://` in it.
fn script(case: &Case) -> (String, usize) {
    let joiner = if case.script_shape.style == Style::Literal { "\n" } else { "; " };
    let mut script = String::new();
    for command in &case.before {
        script.push_str(command);
        script.push_str(joiner);
    }
    let url = script.len() + case.download.find("http://").expect("no URL");
    script.push_str(&case.download);
    for command in &case.after {
        script.push_str(joiner);
        script.push_str(command);
    }
    (script, url)
}

/// Writes the `command:` and `env:` of a container whose keys are indented by `indent`.
fn container_body(doc: &mut Doc, case: &Case, indent: usize) {
    let pad = " ".repeat(indent);
    let (script, url) = script(case);
    if case.flow_command {
        let rendered = render(&script, &case.script_shape, indent + 4, true);
        doc.scalar(&format!("{pad}command: [sh, -c, "), &rendered, Some(("plaintext-download", url)));
        doc.line("]");
    } else {
        doc.line(&format!("{pad}command:"));
        doc.line(&format!("{pad}- sh"));
        doc.line(&format!("{pad}- -c"));
        let rendered = render(&script, &case.script_shape, indent + 2, false);
        doc.scalar(&format!("{pad}- "), &rendered, Some(("plaintext-download", url)));
        doc.line("");
    }
    doc.line(&format!("{pad}env:"));
    doc.line(&format!("{pad}- name: PLAIN_SETTING"));
    doc.line(&format!("{pad}  value: not-a-secret"));
    if case.flow_env {
        let rendered = render(&case.secret, &case.secret_shape, indent + 4, true);
        doc.scalar(&format!("{pad}- {{name: {}, value: ", case.secret_name), &rendered, Some(("secret-in-env", 0)));
        doc.line("}");
    } else {
        doc.line(&format!("{pad}- name: {}", case.secret_name));
        let rendered = render(&case.secret, &case.secret_shape, indent + 4, false);
        doc.scalar(&format!("{pad}  value: "), &rendered, Some(("secret-in-env", 0)));
        doc.line("");
    }
}

fn document(case: &Case) -> Doc {
    let mut doc = Doc::default();
    doc.line(&format!("# {}", case.comment));
    if case.kfp {
        doc.line("components:");
        doc.line("  comp-main:");
        doc.line("    executorLabel: exec-main");
        doc.line("deploymentSpec:");
        doc.line("  executors:");
        doc.line("    exec-main:");
        doc.line("      container:");
        doc.line("        image: python:3.12");
        container_body(&mut doc, case, 8);
        doc.line("        resources: {cpuLimit: 1.0, memoryLimit: 1.0}");
        doc.line("pipelineInfo: {name: prop-café}");
        doc.line("root:");
        doc.line("  dag:");
        doc.line("    tasks:");
        doc.line("      main: {componentRef: {name: comp-main}, taskInfo: {name: main}}");
        doc.line("  inputDefinitions:");
        doc.line("    parameters:");
        doc.line(&format!("      {}:", case.param_name));
        let rendered = render(&case.param, &case.param_shape, 10, false);
        doc.scalar("        defaultValue: ", &rendered, Some(("secret-in-parameter-default", 0)));
        doc.line("");
        doc.line("        parameterType: STRING");
    } else {
        doc.line("apiVersion: v1");
        doc.line("kind: Pod");
        doc.line("metadata:");
        doc.line("  name: prop");
        doc.line("  annotations: {note: \"ünïcödé ☕\"}");
        doc.line("spec:");
        doc.line("  containers:");
        doc.line("  - name: main");
        doc.line("    image: busybox:1.36");
        doc.line("    resources:");
        doc.line("      limits: {cpu: 100m, memory: 64Mi}");
        container_body(&mut doc, case, 4);
    }
    if case.crlf {
        // Every recorded offset moves by the `\r`s inserted before it.
        let crlf = doc.text.replace('\n', "\r\n");
        for (_, offset) in &mut doc.expected {
            *offset += doc.text[..*offset].matches('\n').count();
        }
        doc.text = crlf;
    }
    doc
}

/// 1-based line and column (in characters) of byte `offset`; `\r\n` is one line break.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}

const RULES: [&str; 3] = ["plaintext-download", "secret-in-env", "secret-in-parameter-default"];

/// 96 cases (about a second); `PROPTEST_CASES=10000 cargo test --test properties` for more.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(96);
    Config { cases, max_shrink_iters: 2000, ..Config::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn findings_land_on_their_tokens(case in case()) {
        let doc = document(&case);
        let dir = tempfile::tempdir().expect("cannot create a temporary directory");
        let path = dir.path().join("case.yaml");
        std::fs::write(&path, &doc.text).expect("cannot write the case");
        let result = lint_file(&path, "case.yaml", true, &LintOptions::default(), &|_| true);
        prop_assert!(
            matches!(result.outcome, FileOutcome::Linted { .. }),
            "not linted: {:?}\n{}", result.outcome, doc.text
        );
        let mut expected: Vec<(&str, (usize, usize))> =
            doc.expected.iter().map(|&(rule, offset)| (rule, line_column(&doc.text, offset))).collect();
        expected.sort();
        let mut actual: Vec<(&str, (usize, usize))> = result
            .findings
            .iter()
            .filter(|f| RULES.contains(&f.finding.rule))
            .map(|f| (f.finding.rule, (f.region.start.line, f.region.start.column)))
            .collect();
        actual.sort();
        prop_assert_eq!(&actual, &expected, "\n{}", doc.text);
        for reported in &result.findings {
            let span = &reported.finding.span;
            prop_assert!(span.end <= doc.text.len() && doc.text.is_char_boundary(span.start));
        }
    }
}

/// The renderer itself: every style decodes back to the value (checked with kfpguard's own
/// parser on a tiny document), so a failure above is kfpguard's, not the generator's.
#[test]
fn rendered_scalars_decode_to_their_values() {
    let shapes = [
        Shape { style: Style::Plain, fold_width: 3, escaped_folds: false, escapes: 0 },
        Shape { style: Style::Single, fold_width: 3, escaped_folds: false, escapes: 0 },
        Shape { style: Style::Double, fold_width: 3, escaped_folds: false, escapes: u64::MAX },
        Shape { style: Style::Double, fold_width: 3, escaped_folds: true, escapes: 0b1010 },
        Shape { style: Style::Literal, fold_width: 0, escaped_folds: false, escapes: 0 },
        Shape { style: Style::Folded, fold_width: 3, escaped_folds: false, escapes: 0 },
    ];
    for value in ["echo 'café ☕'; curl http://x.example.com/a b", "Ab'c\"d\\e#f: g-1", "one\ntwo  three"] {
        for shape in &shapes {
            let rendered = render(value, shape, 2, false);
            let text = format!("k: {}\n", rendered.text);
            let tree = kfpguard::yaml::Tree::parse(text.clone(), None, kfpguard::yaml::Limits::default())
                .unwrap_or_else(|error| panic!("{shape:?}: {error}\n{text}"));
            let decoded = tree.documents().next().and_then(|doc| doc.get("k")).and_then(|node| node.as_str());
            assert_eq!(decoded, Some(value), "{shape:?}\n{text}");
        }
    }
}
