//! `pipe-to-shell`: content downloaded at run time is executed: `curl … | sh`,
//! `bash <(curl …)`, `sh -c "$(curl …)"`, `python -c "$(wget -qO- …)"`, a script saved by
//! `curl -o F` / `wget` and then run (`sh F`, `./F`), or Python `exec(urlopen(…).read())`.
//!
//! Works on the container's analysed code ([`crate::analysis::Code`]): pipes
//! (`piped_from`, followed through pass-through filters such as `tee` or `gunzip`),
//! substitutions (`substituted_into`, located by file span inside the word that runs
//! them), and output files of downloaders matched against later commands. HTTPS does not
//! make it safe, so the scheme is not looked at.

use std::ops::Range;

use super::{Check, Docs, Emitter, Hit, Rule, RuleMeta};
use crate::analysis::{Command, PythonSource, Word, shell};
use crate::finding::{Related, Severity};
use crate::model::{Container, Pipeline};
use crate::text::MappedText;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "pipe-to-shell",
        severity: Severity::High,
        enabled_by_default: true,
        summary: "Downloaded content executed (piped into a shell, sourced, run)",
        help: "bake the tool into the image, or download a pinned version and verify its checksum before running it",
        tags: &["security", "supply-chain", "CWE-494", "CWE-829"],
        docs: Docs {
            what: "Flags code that is downloaded and executed in one go:
- a download piped into an interpreter that reads its program from stdin: `curl … | sh`, \
`wget -qO- … | sudo bash -s`, `curl … | python3 -` (also through `tee`, `gunzip`, `base64 -d`, \
…);
- a download substituted into code: `bash <(curl …)`, `source <(curl …)`, `sh -c \"$(curl …)\"`, \
`python -c \"$(wget -qO- …)\"`, `eval \"$(curl …)\"`, `bash < <(curl …)`;
- a file saved by `curl -o F`/`-O`, `wget [-O F]` (or `> F`, `| tee F`) and run later in the \
same script (`sh F`, `bash \"$path\"`, `python get-pip.py`, `./install.sh`, `source F`) \
without a checksum or signature check in between (`sha256sum -c`, `shasum -c`, `gpg --verify`, \
`gpgv`, `cosign verify-blob`, `minisign -V`);
- Python `exec(…)`/`eval(…)` of `urlopen(…)`/`requests.get(…)` content.

Downloaders are `curl`, `wget`, `fetch`, HTTPie (`http`, `https`), `xh`, `aria2c`, `gsutil \
cat`, `gcloud storage cat`, `aws s3 cp … -`; interpreters are the shells, `python*`, `perl`, \
`ruby`, `node`, `php`, `source`/`.` and `eval`. It fires over HTTPS too: transport security \
does not make the content trustworthy. A download that is only parsed (`curl … | jq`, \
`curl … | python -m json.tool`, `wget -qO- … | tar xz`) is not flagged.",
            why: "Whatever the server returns at run time runs inside the pipeline step, with its \
service account, its secrets and its access to data and models. The script is not pinned or \
reviewed, can change between two runs of the same pipeline, and a compromised or spoofed \
host (or a typo-squatted URL) owns the step. Runs stop being reproducible.",
            example: "\
command:
- sh
- -c
- curl -fsSL https://tools.example.com/install.sh | bash   # <- flagged",
            fix: "\
- **All DSLs**: install the tool when building the image (a `Dockerfile` `RUN` step, pinned \
by version and checksum) and reference the image by digest.
- If it must be fetched at run time: download a pinned version to a file, check it \
(`echo \"<sha256>  tool.sh\" | sha256sum -c -`), then run it.
- **KFP v2**: `@dsl.component(base_image='registry.example.com/tools@sha256:…')` or \
`dsl.ContainerSpec(image=…)` with the tool inside; `packages_to_install` with pinned \
versions for Python packages.
- **KFP v1**: `ContainerOp(image=…)` / `create_component_from_func(base_image=…)` with the \
tool baked in.
- **Hera / Argo**: `Container(image=…)` / `Script(image=…)` with the tool baked in.
- **Tekton**: a step `image` that already contains the tool.",
        },
    },
    check: Check::Code(check),
};

/// Programs that fetch a URL.
const DOWNLOADERS: &[&str] = &["curl", "wget", "fetch", "http", "https", "xh", "aria2c", "gsutil", "gcloud", "aws"];

/// Programs that pass their input through to their output, more or less transformed.
const FILTERS: &[&str] = &[
    "tee", "cat", "gunzip", "gzip", "zcat", "bzcat", "bzip2", "xz", "xzcat", "unxz", "zstd", "zstdcat", "base64", "tr",
    "sed", "head", "tail", "dos2unix", "iconv",
];

/// Interpreters that run a program given as a file, `-c`/`-e` code or stdin.
fn is_interpreter(program: &str) -> bool {
    shell::is_shell(program)
        || is_python(program)
        || matches!(program, "perl" | "ruby" | "node" | "nodejs" | "php" | "deno" | "bun" | "Rscript" | "lua")
}

fn is_python(program: &str) -> bool {
    program.strip_prefix("python").is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
        || program == "pypy"
        || program == "pypy3"
}

/// True when `command` fetches something from the network.
fn is_download(command: &Command) -> bool {
    let Some(program) = command.program() else { return false };
    if !DOWNLOADERS.contains(&program) {
        return false;
    }
    let args: Vec<&str> = command.args().iter().map(Word::as_str).collect();
    match program {
        "gsutil" => args.first() == Some(&"cat"),
        "gcloud" => args.starts_with(&["storage", "cat"]),
        // `aws s3 cp s3://… -` writes the object to stdout.
        "aws" => args.starts_with(&["s3", "cp"]) && args.last() == Some(&"-"),
        _ => true,
    }
}

/// How an interpreter takes its program.
#[derive(Debug, PartialEq, Eq)]
enum ProgramSource {
    Stdin,
    /// The program is the word at this index of `words` (`-c CODE`, or a script file).
    Word(usize),
    /// `-m module`, `--version`, ...
    Other,
}

/// Where the interpreter run by `command` reads its program from.
fn program_source(command: &Command) -> ProgramSource {
    let Some(program) = command.program() else { return ProgramSource::Other };
    let words = &command.words;
    if matches!(program, "source" | ".") {
        return if words.len() > 1 { ProgramSource::Word(1) } else { ProgramSource::Other };
    }
    let code_flags: &[char] = if shell::is_shell(program) || is_python(program) { &['c'] } else { &['e', 'E', 'r'] };
    let mut index = 1;
    let mut from_stdin = false;
    while let Some(word) = words.get(index) {
        let text = word.as_str();
        if text == "-" || text == "/dev/stdin" {
            return ProgramSource::Stdin;
        }
        if text == "--" {
            index += 1;
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            if matches!(long, "rcfile" | "init-file") {
                index += 1;
            }
            if matches!(long, "eval" | "command") {
                return if index + 1 < words.len() { ProgramSource::Word(index + 1) } else { ProgramSource::Other };
            }
            index += 1;
            continue;
        }
        let Some(flags) = text.strip_prefix('-').or_else(|| text.strip_prefix('+')) else { break };
        if flags.is_empty() {
            break;
        }
        index += 1;
        for flag in flags.chars() {
            if code_flags.contains(&flag) {
                return if index < words.len() { ProgramSource::Word(index) } else { ProgramSource::Other };
            }
            match flag {
                's' if shell::is_shell(program) => from_stdin = true,
                'm' if is_python(program) => return ProgramSource::Other,
                'o' | 'O' if shell::is_shell(program) => index += 1,
                'W' | 'X' if is_python(program) => index += 1,
                _ => {}
            }
        }
    }
    if from_stdin || index >= words.len() {
        return ProgramSource::Stdin;
    }
    if words[index].as_str() == "/dev/stdin" { ProgramSource::Stdin } else { ProgramSource::Word(index) }
}

/// True when `inner` lies inside the file span of `word`.
fn within(word: &MappedText, inner: &Range<usize>) -> bool {
    let outer = word.source_span();
    outer.start <= inner.start && inner.end <= outer.end && !outer.is_empty()
}

/// The download feeding `commands[index]` through a pipe, through pass-through filters.
fn piped_download(commands: &[Command], index: usize) -> Option<usize> {
    let mut current = commands.get(index)?.piped_from?;
    for _ in 0..8 {
        let command = commands.get(current)?;
        if is_download(command) {
            return Some(current);
        }
        if !command.program().is_some_and(|program| FILTERS.contains(&program)) {
            return None;
        }
        current = command.piped_from?;
    }
    None
}

fn check(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for container in &pipeline.containers {
        out.check_code(container, |out, code| {
            let commands = &code.commands;
            for (index, command) in commands.iter().enumerate() {
                let Some(program) = command.program() else { continue };
                let executes = is_interpreter(program) || matches!(program, "source" | "." | "eval");
                // `curl … | sh`
                if executes
                    && program_source(command) == ProgramSource::Stdin
                    && let Some(download) = piped_download(commands, index)
                    && output_file(&commands[download]).is_none()
                {
                    report(out, container, command, &commands[download], Execution::Pipe);
                }
            }
            // `bash <(curl …)`, `sh -c "$(curl …)"`, `$(curl …)` run as a command, `bash < <(curl …)`.
            // Few commands run in a substitution: that is asked first.
            let substituted_downloads =
                commands.iter().filter(|command| command.substituted_into.is_some() && is_download(command));
            for download in substituted_downloads {
                let (Some(runner), Some(first)) = (download.substituted_into, download.words.first()) else { continue };
                let Some(runner) = commands.get(runner) else { continue };
                // `$(curl -o F …)`, `$(curl … >& F)`: the content goes to a file, not into the code.
                if output_file(download).is_none() && substitution_is_executed(runner, &first.source_span()) {
                    report(out, container, runner, download, Execution::Substitution);
                }
            }
            downloaded_files_run(out, container, commands);
            for source in &code.python {
                python_exec_of_download(out, container, source);
            }
        });
    }
}

/// True when the substitution at `inner` is part of the code `runner` executes.
fn substitution_is_executed(runner: &Command, inner: &Range<usize>) -> bool {
    let Some(program) = runner.program() else { return false };
    let Some(program_word) = runner.words.first() else { return false };
    if within(program_word, inner) {
        return true;
    }
    if program == "eval" {
        return runner.args().iter().any(|word| within(word, inner));
    }
    if !is_interpreter(program) && !matches!(program, "source" | ".") {
        return false;
    }
    match program_source(runner) {
        ProgramSource::Word(index) => runner.words.get(index).is_some_and(|word| within(word, inner)),
        ProgramSource::Stdin => runner.redirects.iter().any(|target| within(target, inner)),
        ProgramSource::Other => false,
    }
}

/// Short options of downloaders that take a value (the output file is tracked apart).
fn option_takes_value(program: &str, option: char) -> bool {
    match program {
        "curl" => "dHuXAeEmwxTbcKrYyzCFUQtPDo".contains(option),
        "wget" => "OoPaitTwUeBQlARDIX".contains(option),
        "aria2c" => "odsxkjiU".contains(option),
        "fetch" => "oNST".contains(option),
        _ => false,
    }
}

/// Where a downloader writes what it fetches, if to a file.
fn output_file(command: &Command) -> Option<String> {
    let program = command.program()?;
    if !matches!(program, "curl" | "wget" | "fetch" | "aria2c") {
        return None;
    }
    let args = command.args();
    let mut output: Option<String> = None;
    let mut remote_name = program == "wget" || program == "fetch";
    let mut directory: Option<String> = None;
    let mut url: Option<&str> = None;
    let mut index = 0;
    while let Some(word) = args.get(index) {
        let text = word.as_str();
        index += 1;
        if let Some(long) = text.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (long, None),
            };
            let value = || inline.clone().or_else(|| args.get(index).map(|w| w.as_str().to_string()));
            match name {
                "output" | "output-document" | "out" => {
                    output = value();
                    index += usize::from(inline.is_none());
                }
                "remote-name" | "remote-name-all" => remote_name = true,
                "directory-prefix" | "output-dir" | "dir" => {
                    directory = value();
                    index += usize::from(inline.is_none());
                }
                _ => {}
            }
            continue;
        }
        if let Some(cluster) = text.strip_prefix('-').filter(|c| !c.is_empty()) {
            for (offset, option) in cluster.char_indices() {
                if option == 'O' && program == "curl" {
                    remote_name = true;
                    continue;
                }
                if !option_takes_value(program, option) {
                    continue;
                }
                let rest = &cluster[offset + option.len_utf8()..];
                let value = if rest.is_empty() {
                    index += 1;
                    args.get(index - 1).map(|w| w.as_str().to_string())
                } else {
                    Some(rest.to_string())
                };
                let is_output = match program {
                    "curl" | "aria2c" | "fetch" => option == 'o',
                    _ => option == 'O',
                };
                if is_output {
                    output = value;
                } else if option == 'P' && program == "wget" || option == 'd' && program == "aria2c" {
                    directory = value;
                }
                break;
            }
            continue;
        }
        url.get_or_insert(text);
    }
    if let Some(output) = output {
        return (output != "-").then_some(output);
    }
    // `curl URL > F` (a redirect of the download itself; not `2>/dev/null`).
    let redirected = command.redirects.iter().map(Word::as_str).find(|target| {
        !target.is_empty() && !target.starts_with("/dev/") && !target.chars().all(|c| c.is_ascii_digit() || c == '-')
    });
    if let Some(target) = redirected {
        return Some(target.to_string());
    }
    if !remote_name {
        return None;
    }
    let path = url?.split(['?', '#']).next()?;
    let name = path.rsplit('/').next().filter(|name| !name.is_empty() && !path.ends_with("//"))?;
    if !path.contains('/') || name.contains(':') {
        return None;
    }
    Some(match directory {
        Some(directory) => format!("{}/{name}", directory.trim_end_matches('/')),
        None => name.to_string(),
    })
}

/// `./x.sh` and `x.sh` name the same file.
fn same_file(a: &str, b: &str) -> bool {
    let normalize = |path: &str| path.trim_start_matches("./").to_string();
    !a.is_empty() && normalize(a) == normalize(b)
}

/// A file written by a download and run by a later command.
fn downloaded_files_run(out: &mut Emitter<'_>, container: &Container<'_>, commands: &[Command]) {
    for (index, download) in commands.iter().enumerate() {
        if !is_download(download) {
            continue;
        }
        let mut files: Vec<String> = output_file(download).into_iter().collect();
        // `curl … | tee F`
        for (tee_index, tee) in commands.iter().enumerate().skip(index + 1) {
            if tee.program() == Some("tee") && piped_download(commands, tee_index) == Some(index) {
                files.extend(tee.args().iter().map(|w| w.as_str().to_string()).filter(|w| !w.starts_with('-')));
            }
        }
        if files.is_empty() {
            continue;
        }
        for (runner_index, runner) in commands.iter().enumerate().skip(index + 1) {
            let Some(program_word) = runner.words.first() else { continue };
            let Some(program) = runner.program() else { continue };
            let run = files.iter().find(|file| {
                if same_file(program_word.as_str(), file) {
                    return true;
                }
                if !is_interpreter(program) && !matches!(program, "source" | ".") {
                    return false;
                }
                match program_source(runner) {
                    ProgramSource::Word(word) => {
                        // `sh -c CODE` runs CODE, not a file.
                        let code =
                            runner.words.get(word.saturating_sub(1)).is_some_and(|w| w.as_str().starts_with('-'));
                        !code && runner.words.get(word).is_some_and(|w| same_file(w.as_str(), file))
                    }
                    _ => false,
                }
            });
            if let Some(file) = run {
                let checked = commands.get(index + 1..runner_index).is_some_and(|between| between.iter().any(verifies));
                if !checked {
                    report(out, container, runner, download, Execution::File(file));
                }
                break;
            }
        }
    }
}

/// A checksum or signature check (`sha256sum -c`, `gpg --verify`, `cosign verify-blob`):
/// a downloaded file checked before it runs is what the rule asks for.
fn verifies(command: &Command) -> bool {
    let Some(program) = command.program() else { return false };
    let args: Vec<&str> = command.args().iter().map(Word::as_str).collect();
    let check_flag = || {
        args.iter().any(|arg| *arg == "--check" || arg.starts_with('-') && !arg.starts_with("--") && arg.contains('c'))
    };
    match program {
        "sha256sum" | "sha384sum" | "sha512sum" | "sha224sum" | "shasum" | "b2sum" => check_flag(),
        "gpg" | "gpg2" => args.iter().any(|arg| matches!(*arg, "--verify" | "--verify-files")),
        "gpgv" | "gpgv2" => true,
        "cosign" => args.first().is_some_and(|sub| sub.starts_with("verify")),
        "minisign" => args.contains(&"-V"),
        "signify" | "signify-openbsd" => args.contains(&"-V") || args.contains(&"-C"),
        _ => false,
    }
}

/// Python `exec(urlopen(url).read())`, `eval(requests.get(url).text)`.
fn python_exec_of_download(out: &mut Emitter<'_>, container: &Container<'_>, source: &PythonSource) {
    let module = &source.module;
    for call in &module.calls {
        let callee = call.qualified();
        if !matches!(callee, "exec" | "eval" | "builtins.exec" | "builtins.eval") {
            continue;
        }
        let fetch = module.calls.iter().find(|inner| {
            let inner_callee = inner.qualified();
            let last = inner_callee.rsplit('.').next().unwrap_or_default();
            let fetcher = inner_callee.starts_with("requests.")
                || inner_callee.starts_with("httpx.")
                || inner_callee.starts_with("urllib.request.")
                || inner_callee.starts_with("urllib3.")
                || matches!(last, "urlopen" | "urlretrieve");
            fetcher && call.span.start < inner.span.start && inner.span.end <= call.span.end
        });
        let Some(fetch) = fetch else { continue };
        let span = source.file_range(call.callee_span.clone());
        if out.covered(RULE.meta.id, &span) {
            continue;
        }
        let fetcher = fetch.qualified();
        out.emit(
            &RULE.meta,
            Hit {
                span,
                message: format!("`{callee}` runs code downloaded by `{fetcher}` in container `{}`", container.name),
                container: Some(container),
                field: "code".into(),
                value: format!("{callee}({fetcher})"),
                related: vec![Related {
                    span: source.file_range(fetch.callee_span.clone()),
                    message: "downloaded here".to_string(),
                }],
                ..Hit::default()
            },
        );
    }
}

/// `curl` and the URL it fetches, for messages: userinfo and query string left out (they
/// may hold credentials).
fn describe_download(download: &Command) -> String {
    let downloader = download.program().unwrap_or_default();
    let url = download.args().iter().map(Word::as_str).find(|word| word.contains("://"));
    let Some(url) = url else { return format!("`{downloader}`") };
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let url = match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
            let host = authority.rsplit('@').next().unwrap_or(authority);
            let slash = if rest.contains('/') { "/" } else { "" };
            format!("{scheme}://{host}{slash}{path}")
        }
        None => url.to_string(),
    };
    format!("`{downloader} {url}`")
}

fn report(out: &mut Emitter<'_>, container: &Container<'_>, runner: &Command, download: &Command, how: Execution) {
    let (Some(runner_word), Some(download_word)) = (runner.words.first(), download.words.first()) else { return };
    let span = runner_word.source_span();
    // `covered` first: asking it marks a candidate (`Emitter::check_code`), reported or not.
    if out.covered(RULE.meta.id, &span) || span.is_empty() {
        return;
    }
    let downloader = download.program().unwrap_or_default();
    let executor = runner_word.as_str();
    let source = describe_download(download);
    let message = match how {
        Execution::Pipe => format!("what {source} downloads is piped into `{executor}`"),
        Execution::Substitution => format!("what {source} downloads is executed by `{executor}`"),
        Execution::File(file) if same_file(file, executor) => format!("`{file}`, downloaded by {source}, is run"),
        Execution::File(file) => format!("`{file}`, downloaded by {source}, is run by `{executor}`"),
    };
    out.emit(
        &RULE.meta,
        Hit {
            span,
            message: format!("{message} in container `{}`", container.name),
            container: Some(container),
            field: "code".into(),
            value: format!("{source} -> {executor}"),
            related: vec![Related {
                span: download_word.source_span(),
                message: format!("`{downloader}` downloads here"),
            }],
            ..Hit::default()
        },
    );
}

/// How downloaded content reaches the program that runs it.
enum Execution<'a> {
    Pipe,
    Substitution,
    File(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Format, Role};
    use crate::yaml::{Limits, Tree};

    /// The messages of the findings for a container running `argv`.
    fn findings(argv: &[&str]) -> Vec<String> {
        let yaml = serde_json::json!({ "command": argv }).to_string();
        let Ok(tree) = Tree::parse(yaml, None, Limits::default()) else { panic!("test YAML") };
        let Some(document) = tree.documents().next() else { panic!("no document") };
        let mut container = Container::new("main", Role::Main, document, "main".into());
        container.command = document.get("command").map(|list| list.items().collect()).unwrap_or_default();
        let pipeline = Pipeline {
            name: "p".into(),
            format: Format::Generic,
            anchor: document,
            containers: vec![container],
            parameters: Vec::new(),
            pods: Vec::new(),
        };
        let enabled = |_: &str| true;
        let mut out = Emitter::new("f.yaml", "p", &enabled);
        check(&pipeline, &mut out);
        out.into_findings().into_iter().map(|finding| finding.message).collect()
    }

    fn script(text: &str) -> Vec<String> {
        findings(&["sh", "-c", text])
    }

    #[test]
    fn downloads_that_run_are_found() {
        for text in [
            "curl -fsSL https://get.example.com/install.sh | sh",
            "wget -qO- https://get.example.com/install.sh | sudo bash -s -- --yes",
            "curl -s https://x.example.com/a.sh | tee /tmp/a.sh | bash",
            "curl -s https://x.example.com/a.py | python3 -",
            "bash <(curl -s https://x.example.com/a.sh)",
            "source <(curl -s https://x.example.com/env.sh)",
            "sh -c \"$(curl -fsSL https://x.example.com/a.sh)\"",
            "python3 -c \"$(wget -qO- https://x.example.com/a.py)\"",
            "eval \"$(curl -s https://x.example.com/a.sh)\"",
            "bash < <(curl -s https://x.example.com/a.sh)",
            "curl -fsSL https://x.example.com/a.sh -o /tmp/a.sh && chmod +x /tmp/a.sh && /tmp/a.sh",
            "url=\"$0\"; path=/tmp/s; curl \"$url\" -o \"$path\"; chmod 700 \"$path\"; /bin/sh \"$path\"",
            "wget https://bootstrap.example.com/get-pip.py && python get-pip.py",
            "curl -O https://x.example.com/install.sh && bash ./install.sh",
            "wget -P /opt https://x.example.com/install.sh; sh /opt/install.sh",
            "curl https://x.example.com/a.sh > a.sh; . ./a.sh",
        ] {
            assert_eq!(script(text).len(), 1, "{text}: {:?}", script(text));
        }
        let python = "import urllib.request\nexec(urllib.request.urlopen('https://x.example.com/a.py').read())\n";
        assert_eq!(findings(&["python3", "-c", python]).len(), 1);
    }

    #[test]
    fn downloads_that_are_only_read_are_not() {
        for text in [
            "curl -s https://api.example.com/x | jq .",
            "curl -s https://api.example.com/x | python3 -m json.tool",
            "curl -s https://api.example.com/x | python3 -c 'import sys, json; print(json.load(sys.stdin))'",
            "wget -qO- https://x.example.com/model.tar.gz | tar xz -C /models",
            "curl -fsSL https://x.example.com/data.tar.gz -o /tmp/d.tar.gz && tar xzf /tmp/d.tar.gz",
            "curl -fsSL https://x.example.com/a.sh -o a.sh && echo \"$SUM  a.sh\" | sha256sum -c - && sh a.sh",
            "until `curl -G 'http://127.0.0.1/' >& /tmp/out`; do sleep 1; done",
            "echo \"$(curl -s https://api.example.com/version)\"",
            "bash run.sh \"$(curl -s https://api.example.com/version)\"",
            "curl -o /tmp/a.sh https://x.example.com/a.sh; cat /tmp/a.sh",
            "wget -q https://x.example.com/a.sh | sh",
        ] {
            assert!(script(text).is_empty(), "{text}: {:?}", script(text));
        }
    }

    #[test]
    fn messages_leave_credentials_out_of_urls() {
        let found = script("curl -s https://user:s3cr3t@x.example.com/a.sh?token=abc | sh");
        assert_eq!(found.len(), 1);
        assert!(!found[0].contains("s3cr3t") && !found[0].contains("abc"), "{}", found[0]);
    }
}
