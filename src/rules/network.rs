//! The network rules: `plaintext-download`, `pipe-to-shell`'s siblings `netcat-listener`,
//! `remote-shell` and `ftp-transfer`. They share one reading of the container's code
//! ([`crate::analysis::Code`]): shell split into commands and words, Python calls with
//! their literal arguments.

use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::{Check, Docs, Emitter, Hit, Rule, RuleMeta};
use crate::analysis::{Command, Word};
use crate::config::RuleSettings;
use crate::finding::Severity;
use crate::model::{Container, Pipeline};
use crate::text::MappedText;

pub static PLAINTEXT_DOWNLOAD: Rule = Rule {
    meta: RuleMeta {
        id: "plaintext-download",
        severity: Severity::High,
        enabled_by_default: true,
        summary: "Code or data downloaded over plain HTTP",
        help: "use https:// (or an in-cluster service name) for every download and package index",
        tags: &["security", "network", "supply-chain", "CWE-319", "CWE-494"],
        docs: Docs {
            what: "Flags downloads over `http://` from hosts that are not local: `curl`/`wget` \
URLs, `pip install --index-url/--extra-index-url/-i/--find-links http://...`, `pip install \
http://...`, `git clone http://...`, KFP `pip_index_urls`, and Python calls such as \
`requests.get(\"http://...\")`, `urllib.request.urlopen(...)` or `pandas.read_csv(...)` inside \
the component source. `localhost`, `127.0.0.1`, `[::1]`, single-label in-cluster names \
(`http://minio:9000`) and `*.svc` / `*.svc.cluster.local` hosts are local.",
            why: "Anything fetched over plain HTTP can be replaced in transit. A package index or \
a script fetched that way lets anyone on the path run code inside the pipeline, with its \
credentials and its access to training data and models.",
            example: "\
command:
- sh
- -c
- pip install --index-url http://pypi.example.com/simple torch   # <- flagged",
            fix: "\
- **KFP v2**: `@dsl.component(pip_index_urls=['https://...'])`; use `https://` URLs in the \
component code.
- **KFP v1**: `func_to_container_op(..., packages_to_install=[...])` with an HTTPS index \
(`pip.conf`), HTTPS URLs in `ContainerOp` commands.
- **Hera / Argo**: HTTPS in `Container(command=...)`/`Script(source=...)`; bake dependencies \
into the image.
- **Tekton**: HTTPS in the step's `script`/`args`.",
        },
    },
    check: Check::Code(check_plaintext),
};

pub static NETCAT_LISTENER: Rule = Rule {
    meta: RuleMeta {
        id: "netcat-listener",
        severity: Severity::High,
        enabled_by_default: true,
        summary: "Netcat/socat listener or reverse shell",
        help: "remove the listener; expose services through a Kubernetes Service, not a shell",
        tags: &["security", "network", "CWE-78", "CWE-506"],
        docs: Docs {
            what: "Flags `nc`/`ncat`/`netcat` run with `-l` (listen), `-e` or `-c` (execute), \
`socat` with a `*-LISTEN` address or an `EXEC:`/`SYSTEM:` address, and shell reverse shells \
through `/dev/tcp/` or `/dev/udp/` — in shell commands and in Python `subprocess`/`os.system` \
calls.",
            why: "A listener opens a door into the pipeline's pod, and `-e`/`EXEC:` hands a shell \
to whoever connects. These are the classic backdoor and reverse-shell patterns; legitimate \
pipeline steps never need them.",
            example: "\
command:
- sh
- -c
- nc -lvp 4444 -e /bin/sh   # <- flagged",
            fix: "\
- **All DSLs**: remove the command. To serve something, run a proper server behind a \
Kubernetes Service (a KFP/Argo daemon step or a separate Deployment); to debug, use \
`kubectl exec` on a paused step instead of baking a shell listener into the pipeline.",
        },
    },
    check: Check::Code(check_netcat),
};

pub static REMOTE_SHELL: Rule = Rule {
    meta: RuleMeta {
        id: "remote-shell",
        severity: Severity::High,
        enabled_by_default: true,
        summary: "SSH/SCP to a remote host",
        help: "move data through object storage or artifacts, not ssh/scp from a pipeline step",
        tags: &["security", "network", "CWE-200"],
        docs: Docs {
            what: "Flags `ssh`, `scp`, `sftp`, `sshpass`, `slogin`, `rsync` over ssh (`-e ssh` or a \
`host:path` remote), and Python `paramiko`/`fabric` connections, in shell commands and in \
Python `subprocess` calls.",
            why: "A pipeline step that logs into other machines carries the keys to do so, \
usually baked into the image or passed as parameters, and it moves data outside the \
platform's audited paths: it is how models and datasets leak, and how a compromised step \
spreads.",
            example: "\
command:
- sh
- -c
- scp /tmp/model.pt deploy@10.0.0.5:/models/   # <- flagged",
            fix: "\
- **KFP v2 / v1**: write outputs as artifacts (`Output[Model]`) to the pipeline root, or to \
object storage with credentials from `kubernetes.use_secret_as_env`.
- **Hera / Argo**: use output artifacts (S3/GCS/MinIO) instead of `scp`.
- **Tekton**: use a workspace or a results/artifact task instead of `scp`.",
        },
    },
    check: Check::Code(check_remote_shell),
};

pub static FTP_TRANSFER: Rule = Rule {
    meta: RuleMeta {
        id: "ftp-transfer",
        severity: Severity::High,
        enabled_by_default: true,
        summary: "FTP/TFTP transfer",
        help: "replace FTP with HTTPS or object storage",
        tags: &["security", "network", "CWE-319"],
        docs: Docs {
            what: "Flags `ftp`, `tftp`, `lftp`, `ncftp*` commands, `ftp://` and `tftp://` URLs in \
commands, and Python `ftplib` use or `ftp://` URLs in the component source. `sftp` is \
`remote-shell`, not this rule.",
            why: "FTP sends credentials and data in clear text and cannot authenticate the \
server: anyone on the path can read the dataset, steal the password or swap the file.",
            example: "\
command:
- sh
- -c
- curl -o data.csv ftp://files.example.com/data.csv   # <- flagged",
            fix: "\
- **All DSLs**: fetch data over HTTPS or from object storage (GCS/S3/MinIO) with credentials \
injected from a Kubernetes Secret; in KFP prefer `dsl.importer` for existing artifacts.",
        },
    },
    check: Check::Code(check_ftp),
};

/// Finds the `://` after a URL's scheme; built once.
static SCHEME_END: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("://"));

/// True for hosts that never leave the machine or the cluster.
pub fn is_local_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host = host.as_str();
    matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "0.0.0.0")
        || host.starts_with("127.")
        || host.ends_with(".localhost")
        || host.ends_with(".svc")
        || host.ends_with(".svc.cluster.local")
        || host.ends_with(".cluster.local")
        // A single label (`minio`, `ml-pipeline`) only resolves inside the cluster.
        || (!host.contains('.') && !host.contains(':') && !host.is_empty())
}

/// Finds `http://host...` URLs with a non-local, not explicitly allowed host in `word`;
/// returns their byte ranges.
fn plain_http_urls(word: &str, settings: &RuleSettings) -> Vec<std::ops::Range<usize>> {
    // Every argument of every downloader comes here: look for `://`, then at the scheme
    // before it, instead of searching a lower-cased copy.
    let bytes = word.as_bytes();
    let mut found = Vec::new();
    for separator in SCHEME_END.find_iter(bytes) {
        let Some(start) = separator.checked_sub("http".len()) else { continue };
        if !bytes[start..separator].eq_ignore_ascii_case(b"http") {
            continue;
        }
        let rest = &word[start + 7..];
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ')' | '>' | '<'))
            .map_or(word.len(), |e| start + 7 + e);
        let authority = rest.split(['/', '?', '#', '"', '\'', ' ']).next().unwrap_or("");
        let host_port = authority.rsplit('@').next().unwrap_or(authority);
        let host = if host_port.starts_with('[') {
            host_port.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
        } else {
            host_port.split(':').next().unwrap_or("").to_string()
        };
        // Templated hosts (`{{...}}`, `$(...)`, `$VAR`) are decided at run time: not judged here.
        let templated = host.contains('{') || host.contains('$');
        if !host.is_empty() && !templated && !is_local_host(&host) && !settings.http_host_allowed(&host) {
            found.push(start..end);
        }
    }
    found
}

fn emit_span(
    out: &mut Emitter<'_>,
    rule: &RuleMeta,
    container: &Container<'_>,
    span: std::ops::Range<usize>,
    value: &str,
    message: String,
) {
    if out.covered(rule.id, &span) {
        return;
    }
    out.emit(
        rule,
        Hit {
            span,
            message,
            container: Some(container),
            field: "code".into(),
            value: value.to_string(),
            ..Hit::default()
        },
    );
}

fn emit_token(
    out: &mut Emitter<'_>,
    rule: &RuleMeta,
    container: &Container<'_>,
    word: &MappedText,
    range: std::ops::Range<usize>,
    message: String,
) {
    let span = word.source_range(range.clone());
    if out.covered(rule.id, &span) {
        return;
    }
    let value = word.as_str().get(range.clone()).unwrap_or_default().to_string();
    // `scheme://user:password@host`: the password never reaches any output.
    let (message, secret) = match url_password(&value) {
        Some(password) => {
            let shown = message.replace(&value[password.clone()], "***");
            (shown, Some(word.source_range(range.start + password.start..range.start + password.end)))
        }
        None => (message, None),
    };
    out.emit(
        rule,
        Hit { span, message, container: Some(container), field: "code".into(), value, secret, ..Hit::default() },
    );
}

/// The byte range of the password in a URL's `user:password@` part, if it has one.
fn url_password(url: &str) -> Option<std::ops::Range<usize>> {
    let authority_start = url.find("://")? + 3;
    let authority_len = url[authority_start..].find(['/', '?', '#']).unwrap_or(url.len() - authority_start);
    let authority = &url[authority_start..authority_start + authority_len];
    let at = authority.rfind('@')?;
    let colon = authority[..at].find(':')?;
    (colon + 1 < at).then(|| authority_start + colon + 1..authority_start + at)
}

const DOWNLOADERS: &[&str] = &[
    "curl",
    "wget",
    "aria2c",
    "http",
    "fetch",
    "git",
    "pip",
    "pip3",
    "conda",
    "mamba",
    "micromamba",
    "npm",
    "yarn",
    "helm",
    "apt-key",
    "gsutil",
];

/// Python functions that fetch what their URL argument names (last segment of the callee).
const PYTHON_FETCHERS: &[&str] = &[
    "get",
    "post",
    "put",
    "patch",
    "head",
    "request",
    "urlopen",
    "urlretrieve",
    "Request",
    "download",
    "stream",
    "read_csv",
    "read_json",
    "read_parquet",
    "read_table",
    "read_excel",
    "read_html",
    "read_pickle",
    "read_feather",
    "load_dataset",
    "get_file",
    "load_url",
    "load_state_dict_from_url",
    "download_url_to_file",
];

fn check_plaintext(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for container in &pipeline.containers {
        out.check_code(container, |out, code| {
            for source in &code.python {
                for call in &source.module.calls {
                    let callee = call.qualified();
                    // Callees are short: a byte loop is done before a reverse search is set up.
                    let last = callee.bytes().rposition(|byte| byte == b'.').map_or(callee, |dot| &callee[dot + 1..]);
                    if !PYTHON_FETCHERS.contains(&last) {
                        continue;
                    }
                    let url_args = call
                        .positional(0)
                        .into_iter()
                        .chain(call.keyword("url"))
                        .chain(call.keyword("filepath_or_buffer"));
                    for arg in url_args {
                        let Some(local) = source.leading_literal(arg) else { continue };
                        // Mapped to the file (the whole source's map, on first use) only when
                        // there is a URL to report.
                        let ranges = plain_http_urls(local.as_str(), out.settings());
                        if ranges.is_empty() {
                            continue;
                        }
                        let text = source.file_text(local);
                        for range in ranges {
                            let url = text.as_str()[range.clone()].to_string();
                            emit_token(
                                out,
                                &PLAINTEXT_DOWNLOAD.meta,
                                container,
                                &text,
                                range,
                                format!("`{callee}` fetches `{url}` over plain HTTP in container `{}`", container.name),
                            );
                        }
                    }
                }
            }
            for command in &code.commands {
                let Some(program) = command.program() else { continue };
                let is_pip = matches!(program, "pip" | "pip3") || is_python_module(command, "pip");
                if !DOWNLOADERS.contains(&program) && !is_pip {
                    continue;
                }
                let mut after_trusted_host = false;
                for word in command.args() {
                    // `--trusted-host URL` names a host, it downloads nothing (insecure-tls's business).
                    let trusted_host = after_trusted_host || word.as_str().starts_with("--trusted-host=");
                    after_trusted_host = word.as_str() == "--trusted-host";
                    if trusted_host {
                        continue;
                    }
                    for range in plain_http_urls(word.as_str(), out.settings()) {
                        let url = word.as_str()[range.clone()].to_string();
                        emit_token(
                            out,
                            &PLAINTEXT_DOWNLOAD.meta,
                            container,
                            word,
                            range,
                            format!("`{program}` fetches `{url}` over plain HTTP in container `{}`", container.name),
                        );
                    }
                }
            }
        });
    }
}

/// True for `python -m <module>` (any python).
fn is_python_module(command: &Command, module: &str) -> bool {
    command.program().is_some_and(|p| p.starts_with("python"))
        && command.args().windows(2).any(|pair| pair[0].as_str() == "-m" && pair[1].as_str() == module)
}

/// True when a short-option cluster such as `-lvp` contains one of `letters`, or the word
/// is one of the long options.
fn has_flag(args: &[Word], letters: &[char], long: &[&str]) -> Option<usize> {
    args.iter().position(|arg| {
        let text = arg.as_str();
        if let Some(name) = text.strip_prefix("--") {
            return long.iter().any(|l| name == *l || name.starts_with(&format!("{l}=")));
        }
        text.strip_prefix('-').is_some_and(|cluster| {
            !cluster.is_empty()
                && cluster.chars().all(|c| c.is_ascii_alphanumeric())
                && cluster.chars().any(|c| letters.contains(&c))
        })
    })
}

fn check_netcat(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for container in &pipeline.containers {
        out.check_code(container, |out, code| {
            for command in &code.commands {
                let Some(program) = command.program() else { continue };
                match program {
                    "nc" | "ncat" | "netcat" | "nc.traditional" | "nc.openbsd"
                        if has_flag(command.args(), &['l', 'e', 'c'], &["listen", "exec", "sh-exec", "lua-exec"])
                            .is_some() =>
                    {
                        let word = &command.words[0];
                        let message = format!(
                            "`{program}` opens a listener or executes a shell in container `{}`",
                            container.name
                        );
                        emit_token(out, &NETCAT_LISTENER.meta, container, word, 0..word.len(), message);
                    }
                    "socat" => {
                        let dangerous = command.args().iter().any(|word| {
                            let upper = word.as_str().to_ascii_uppercase();
                            upper.contains("-LISTEN")
                                || upper.starts_with("EXEC:")
                                || upper.starts_with("SYSTEM:")
                                || upper.contains(",EXEC:")
                        });
                        if dangerous {
                            let word = &command.words[0];
                            let message = format!(
                                "`socat` opens a listener or executes a command in container `{}`",
                                container.name
                            );
                            emit_token(out, &NETCAT_LISTENER.meta, container, word, 0..word.len(), message);
                        }
                    }
                    _ => {}
                }
                if !command.may_hold_device_path() {
                    continue;
                }
                for word in command.words.iter().chain(&command.redirects) {
                    let text = word.as_str();
                    // Most words are shorter than the markers; one search for what both start
                    // with rules out nearly every other one.
                    static DEV: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("/dev/"));
                    if text.len() < "/dev/tcp/".len() || DEV.find(text.as_bytes()).is_none() {
                        continue;
                    }
                    for marker in ["/dev/tcp/", "/dev/udp/"] {
                        if let Some(position) = text.find(marker) {
                            emit_token(
                                out,
                                &NETCAT_LISTENER.meta,
                                container,
                                word,
                                position..text.len(),
                                format!(
                                    "reverse-shell style connection through `{marker}` in container `{}`",
                                    container.name
                                ),
                            );
                        }
                    }
                }
            }
        });
    }
}

fn check_remote_shell(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for container in &pipeline.containers {
        out.check_code(container, |out, code| {
            for command in &code.commands {
                let Some(program) = command.program() else { continue };
                let remote = match program {
                    "ssh" | "scp" | "sftp" | "sshpass" | "slogin" | "autossh" => true,
                    "rsync" => rsync_over_ssh(command.args()),
                    _ => false,
                };
                if remote {
                    let word = &command.words[0];
                    let message = format!("`{program}` connects to a remote host in container `{}`", container.name);
                    emit_token(out, &REMOTE_SHELL.meta, container, word, 0..word.len(), message);
                }
            }
            for source in &code.python {
                for call in &source.module.calls {
                    let callee = call.qualified();
                    if REMOTE_SHELL_PYTHON.contains(&callee) {
                        let span = source.file_range(call.callee_span.clone());
                        let message = format!("`{callee}` opens an SSH connection in container `{}`", container.name);
                        emit_span(out, &REMOTE_SHELL.meta, container, span, callee, message);
                    }
                }
            }
        });
    }
}

/// Python APIs that open SSH sessions.
const REMOTE_SHELL_PYTHON: &[&str] = &[
    "paramiko.SSHClient",
    "paramiko.client.SSHClient",
    "paramiko.Transport",
    "fabric.Connection",
    "fabric.connection.Connection",
    "asyncssh.connect",
    "pysftp.Connection",
    "scp.SCPClient",
];

/// `rsync -e ssh ...`, `rsync --rsh=ssh ...` or a `host:path` source/destination.
fn rsync_over_ssh(args: &[Word]) -> bool {
    let mut previous_was_e = false;
    for arg in args {
        let text = arg.as_str();
        if previous_was_e && text.contains("ssh") {
            return true;
        }
        previous_was_e = text == "-e" || text == "--rsh";
        if text.starts_with("--rsh=") && text.contains("ssh") {
            return true;
        }
        if text.starts_with('-') || text.contains("://") {
            continue;
        }
        // `host:path` or `user@host:path`; a `::` module is the rsync daemon protocol.
        let remote = text.split_once(':').is_some_and(|(host, _)| !host.is_empty() && !host.contains('/'));
        if remote && !text.contains("::") {
            return true;
        }
    }
    false
}

/// `ftp://` and `tftp://` URLs in `text` (not `sftp://`: that is SSH), in that order:
/// first every `ftp://` URL, then every `tftp://` one.
fn ftp_urls(text: &str) -> Vec<std::ops::Range<usize>> {
    // Every word of every command (embedded component sources included) goes through
    // here: look for `://` with a finder built once, then at the scheme before it, instead
    // of lower-casing a copy of the text and searching it once per scheme.
    let bytes = text.as_bytes();
    // One byte search rules out most words, before the substring search is set up.
    if bytes.len() < "ftp://".len() || memchr::memchr(b':', bytes).is_none() {
        return Vec::new();
    }
    let mut ftp = Vec::new();
    let mut tftp = Vec::new();
    for separator in SCHEME_END.find_iter(bytes) {
        for (scheme, found) in [(&b"ftp"[..], &mut ftp), (&b"tftp"[..], &mut tftp)] {
            let Some(start) = separator.checked_sub(scheme.len()) else { continue };
            let at_word_start = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
            if at_word_start && bytes[start..separator].eq_ignore_ascii_case(scheme) {
                let end = text[start..]
                    .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')'))
                    .map_or(text.len(), |e| start + e);
                found.push(start..end);
            }
        }
    }
    ftp.append(&mut tftp);
    ftp
}

fn check_ftp(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for container in &pipeline.containers {
        out.check_code(container, |out, code| {
            for command in &code.commands {
                let Some(program) = command.program() else { continue };
                if matches!(program, "ftp" | "tftp" | "lftp" | "ncftp" | "ncftpget" | "ncftpput" | "pftp") {
                    let word = &command.words[0];
                    let message = format!("`{program}` transfers files over FTP in container `{}`", container.name);
                    emit_token(out, &FTP_TRANSFER.meta, container, word, 0..word.len(), message);
                    continue;
                }
                if !command.may_hold_url() {
                    continue;
                }
                for word in command.args() {
                    for range in ftp_urls(word.as_str()) {
                        let message =
                            format!("`{}` URL in container `{}`", &word.as_str()[range.clone()], container.name);
                        emit_token(out, &FTP_TRANSFER.meta, container, word, range, message);
                    }
                }
            }
            for source in &code.python {
                for call in &source.module.calls {
                    let callee = call.qualified();
                    if callee.starts_with("ftplib.FTP") {
                        let span = source.file_range(call.callee_span.clone());
                        let message = format!("`{callee}` transfers files over FTP in container `{}`", container.name);
                        emit_span(out, &FTP_TRANSFER.meta, container, span, callee, message);
                    }
                }
                for local in &source.module.strings {
                    let ranges = ftp_urls(local.as_str());
                    if ranges.is_empty() {
                        continue;
                    }
                    let text = source.file_text(local);
                    for range in ranges {
                        let message =
                            format!("`{}` URL in container `{}`", &text.as_str()[range.clone()], container.name);
                        emit_token(out, &FTP_TRANSFER.meta, container, &text, range, message);
                    }
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ftp_urls_start_words_and_come_ftp_first() {
        let text = "get FTP://a/x tftp://b/y sftp://c/z xftp://d \"ftp://e/w\" tftp://";
        let found: Vec<&str> = ftp_urls(text).into_iter().map(|range| &text[range]).collect();
        assert_eq!(found, ["FTP://a/x", "ftp://e/w", "tftp://b/y", "tftp://"]);
        assert!(ftp_urls("xftp:// é:// ://").is_empty());
        assert_eq!(ftp_urls("ftp://"), vec![0..6]);
        assert!(ftp_urls("ftp:/").is_empty());
    }

    #[test]
    fn url_passwords_are_found() {
        assert_eq!(url_password("http://user:s3cret@host/x"), Some(12..18));
        assert_eq!(url_password("http://host:8080/x"), None);
        assert_eq!(url_password("http://user@host/x"), None);
    }

    #[test]
    fn local_hosts_are_local() {
        for host in [
            "localhost",
            "127.0.0.1",
            "[::1]",
            "minio",
            "ml-pipeline",
            "svc.ns.svc.cluster.local",
            "minio-service.kubeflow.svc",
        ] {
            assert!(is_local_host(host), "{host}");
        }
        for host in ["example.com", "10.0.0.5", "pypi.internal.example.com"] {
            assert!(!is_local_host(host), "{host}");
        }
    }

    #[test]
    fn plain_http_urls_skip_local_and_templated_hosts() {
        let none = RuleSettings::default();
        assert_eq!(plain_http_urls("--index-url=http://pypi.example.com/simple", &none), vec![12..42]);
        assert!(plain_http_urls("http://localhost:8080/x", &none).is_empty());
        assert!(plain_http_urls("http://{{inputs.parameters.host}}/x", &none).is_empty());
        assert!(plain_http_urls("https://example.com", &none).is_empty());
        let mirror = RuleSettings { allowed_http_hosts: vec!["pypi.example.com".into()], ..RuleSettings::default() };
        assert!(plain_http_urls("http://pypi.example.com/simple", &mirror).is_empty());
    }
}
