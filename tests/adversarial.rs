//! Hostile and broken inputs (issue 7: never crash, never lose a file, never leak a secret).
//!
//! Each test runs the real binary with `--format json` on a temporary directory holding the
//! bad input *and* a good pipeline (`companion.yaml`, one privileged container), under a
//! wall-clock timeout and, where `prlimit` exists, an address-space limit. Each checks: no
//! panic, the bad file is in the report's `files[]` with a clear diagnostic naming it (also
//! on standard error when it failed), the companion is still linted and its finding reported,
//! and the exit code is 2 only for a real input error (runs use `--fail-on never`, so a clean
//! run exits 0).
//!
//! Large inputs are generated at test time. Tests marked `` describe
//! the intended behaviour of a known bug.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Longest any single run may take (debug build, two cores, other tests running alongside).
const TIMEOUT: Duration = Duration::from_secs(30);

/// Address space a run may use (`prlimit --as`): far above what any input here needs when
/// limits work, far below what an expanded alias bomb or a copied 200 MB file would take.
const MEMORY_LIMIT: u64 = 3 << 30;

/// A Pod with limits and a privileged container: exactly one high finding.
const COMPANION: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: companion
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: [\"echo\", \"hi\"]
    securityContext:
      privileged: true
    resources:
      limits: {cpu: 100m, memory: 64Mi}
";

/// The outcome of one run of the binary.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    elapsed: Duration,
    /// Peak resident memory of the run, when `/usr/bin/time` can tell.
    max_rss_kib: Option<u64>,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let clip = |text: &str| text.chars().take(4000).collect::<String>();
        write!(
            f,
            "exit code {} after {:?}, peak RSS {:?} KiB\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            self.elapsed,
            self.max_rss_kib,
            clip(&self.stdout),
            clip(&self.stderr)
        )
    }
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {self:?}"))
    }
}

/// Where `prlimit` is, if this machine has it.
fn prlimit() -> Option<&'static str> {
    ["/usr/bin/prlimit", "/bin/prlimit"].into_iter().find(|path| Path::new(path).exists())
}

/// GNU time, which can write the peak RSS of what it runs to a file, if this machine has it.
fn gnu_time() -> Option<&'static str> {
    ["/usr/bin/time"].into_iter().find(|path| Path::new(path).exists())
}

/// Asserts the run's peak resident memory stayed below `limit_kib`, when it is known.
fn assert_rss_below(run: &Run, limit_kib: u64) {
    match run.max_rss_kib {
        Some(rss) => assert!(rss < limit_kib, "peak RSS {rss} KiB, limit {limit_kib} KiB: {run:?}"),
        None => eprintln!("NOTE: /usr/bin/time not available: peak memory not measured"),
    }
}

/// Runs `program args...` in `cwd` under `timeout` (killed and failed past it) and
/// [`MEMORY_LIMIT`], measuring its peak RSS. Output goes through files, so a large report
/// cannot block the child.
fn run_program(program: &Path, cwd: &Path, args: &[&str], before: &[&str], timeout: Duration) -> Run {
    let out = tempfile::tempdir().expect("cannot create a temporary directory");
    let stdout_path = out.path().join("stdout");
    let stderr_path = out.path().join("stderr");
    let rss_path = out.path().join("rss");
    // [prlimit --as=N --] [time -f %M -o FILE] [before...] program args...
    let mut argv: Vec<std::ffi::OsString> = Vec::new();
    if let Some(prlimit) = prlimit() {
        argv.extend([prlimit.into(), format!("--as={MEMORY_LIMIT}").into(), "--".into()]);
    }
    if let Some(time) = gnu_time() {
        argv.extend([time.into(), "-f".into(), "%M".into(), "-o".into(), rss_path.clone().into_os_string()]);
    }
    argv.extend(before.iter().map(Into::into));
    argv.push(program.into());
    argv.extend(args.iter().map(Into::into));
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .current_dir(cwd)
        .env_remove("NO_COLOR")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).expect("cannot create the stdout file"))
        .stderr(File::create(&stderr_path).expect("cannot create the stderr file"));
    let started = Instant::now();
    let mut child = command.spawn().expect("cannot start kfpguard");
    let status = loop {
        if let Some(status) = child.try_wait().expect("cannot wait for kfpguard") {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            panic!("kfpguard {args:?} did not finish within {timeout:?} (hang?)\n--- stderr ---\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    let stdout = String::from_utf8(std::fs::read(&stdout_path).expect("no stdout file")).expect("stdout is not UTF-8");
    let stderr = String::from_utf8(std::fs::read(&stderr_path).expect("no stderr file")).expect("stderr is not UTF-8");
    let Some(code) = status.code() else {
        panic!("kfpguard {args:?} was killed by a signal ({status:?}): crash or out of memory\n{stderr}");
    };
    // GNU time writes `Command exited with non-zero status N` or `Command terminated by
    // signal N` before the format's line.
    let time_report = std::fs::read_to_string(&rss_path).unwrap_or_default();
    assert!(!time_report.contains("signal"), "kfpguard {args:?} was killed: {time_report}\n{stderr}");
    assert!(code <= 2, "kfpguard {args:?} exited with {code} (killed?)\n{stderr}");
    let max_rss_kib = time_report.lines().last().and_then(|line| line.trim().parse().ok());
    let run = Run { code, stdout, stderr, elapsed, max_rss_kib };
    assert!(!run.stderr.contains("panicked"), "kfpguard panicked: {run:?}");
    assert!(!run.stdout.contains("kfpguard::internal"), "internal error: {run:?}");
    run
}

fn kfpguard_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_kfpguard"))
}

/// `kfpguard --format json --fail-on never args...` in `cwd`.
fn lint(cwd: &Path, args: &[&str]) -> Run {
    lint_within(cwd, args, TIMEOUT)
}

/// [`lint`] with another timeout.
fn lint_within(cwd: &Path, args: &[&str], timeout: Duration) -> Run {
    let mut all = vec!["--format", "json", "--fail-on", "never"];
    all.extend_from_slice(args);
    run_program(kfpguard_bin(), cwd, &all, &[], timeout)
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("cannot create a temporary directory")
}

/// Writes `contents` to `dir/relative`, creating parent directories.
fn write(dir: &Path, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("cannot create a directory");
    }
    std::fs::write(&path, contents).expect("cannot write a file");
    path
}

/// A directory holding `companion.yaml`.
fn dir_with_companion() -> tempfile::TempDir {
    let dir = tempdir();
    write(dir.path(), "companion.yaml", COMPANION);
    dir
}

/// The `files[]` entry of `path`.
fn file_entry<'r>(report: &'r Value, path: &str) -> &'r Value {
    report["files"]
        .as_array()
        .expect("files is an array")
        .iter()
        .find(|file| file["path"] == path)
        .unwrap_or_else(|| panic!("{path} is not in the report's files: {:#}", report["files"]))
}

/// Asserts the companion was linted and its one finding reported.
fn assert_companion_linted(run: &Run) {
    let report = run.json();
    assert_eq!(file_entry(&report, "companion.yaml")["status"], "linted", "{run:?}");
    let privileged = report["findings"]
        .as_array()
        .expect("findings is an array")
        .iter()
        .filter(|f| f["path"] == "companion.yaml" && f["rule"] == "privileged-container")
        .count();
    assert_eq!(privileged, 1, "companion finding missing: {run:?}");
}

/// Asserts `path` failed with error `code` whose message contains `needle`, on stdout's JSON
/// and on standard error, and that the run exited 2.
fn assert_failed(run: &Run, path: &str, code: &str, needle: &str) -> Value {
    let report = run.json();
    let entry = file_entry(&report, path).clone();
    assert_eq!(entry["status"], "failed", "{path}: {run:?}");
    assert_eq!(entry["error"]["code"], code, "{path}: {run:?}");
    let message = entry["error"]["message"].as_str().unwrap_or_default();
    assert!(message.to_lowercase().contains(&needle.to_lowercase()), "{path}: message {message:?} lacks {needle:?}");
    let line = run.stderr.lines().find(|line| line.contains(&format!("error[{code}]: {path}")));
    assert!(line.is_some(), "no `error[{code}]: {path}` line on stderr: {run:?}");
    assert_eq!(run.code, 2, "a failed input must exit 2: {run:?}");
    assert!(report["summary"]["files"]["failed"].as_u64().unwrap_or(0) >= 1, "{run:?}");
    entry
}

/// Asserts `path` was skipped (with a non-empty reason) and the run exited 0.
fn assert_skipped(run: &Run, path: &str) -> String {
    let report = run.json();
    let entry = file_entry(&report, path);
    assert_eq!(entry["status"], "skipped", "{path}: {run:?}");
    let reason = entry["reason"].as_str().unwrap_or_default().to_string();
    assert!(!reason.is_empty(), "{path}: skipped without a reason: {run:?}");
    assert_eq!(run.code, 0, "a skipped file is not an error: {run:?}");
    reason
}

/// 1-based (line, column in characters) of byte `offset` of `text`; `\r\n`, `\n` and a lone
/// `\r` end lines, as in YAML.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    let mut chars = text[..offset].chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                line += 1;
                column = 1;
            }
            _ => column += 1,
        }
    }
    (line, column)
}

/// The (line, column) of every finding of `rule` in `path`, sorted.
fn finding_positions(report: &Value, path: &str, rule: &str) -> Vec<(usize, usize)> {
    let mut positions: Vec<(usize, usize)> = report["findings"]
        .as_array()
        .expect("findings is an array")
        .iter()
        .filter(|f| f["path"] == path && f["rule"] == rule)
        .map(|f| (f["line"].as_u64().unwrap_or(0) as usize, f["column"].as_u64().unwrap_or(0) as usize))
        .collect();
    positions.sort();
    positions
}

// ---------------------------------------------------------------------------------------
// Resource exhaustion: alias bombs, deep nesting, huge files
// ---------------------------------------------------------------------------------------

#[test]
fn billion_laughs_is_refused_quickly() {
    let dir = dir_with_companion();
    // Nine levels of ten aliases each: 10^9 nodes if expanded.
    let mut bomb =
        String::from("apiVersion: v1\nkind: Pod\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10 {
        let items = vec![format!("*l{}", level - 1); 10].join(", ");
        bomb.push_str(&format!("l{level}: &l{level} [{items}]\n"));
    }
    bomb.push_str("spec:\n  containers:\n  - name: x\n    image: *l9\n");
    write(dir.path(), "bomb.yaml", &bomb);
    let run = lint(dir.path(), &["."]);
    assert_failed(&run, "bomb.yaml", "kfpguard::parse", "alias");
    assert_companion_linted(&run);
    assert!(run.elapsed < Duration::from_secs(10), "{run:?}");
    assert_rss_below(&run, 200 << 10);
}

#[test]
fn alias_bomb_in_block_style_and_across_documents_is_refused() {
    let dir = dir_with_companion();
    // Block mappings this time, the bomb in the second document of a stream.
    let mut bomb = String::from("a: 1\n---\nl0: &l0\n  k0: lol\n  k1: lol\n  k2: lol\n  k3: lol\n");
    for level in 1..12 {
        bomb.push_str(&format!("l{level}: &l{level}\n"));
        for key in 0..8 {
            bomb.push_str(&format!("  k{key}: *l{}\n", level - 1));
        }
    }
    write(dir.path(), "block-bomb.yml", &bomb);
    let run = lint(dir.path(), &["."]);
    assert_failed(&run, "block-bomb.yml", "kfpguard::parse", "alias");
    assert_companion_linted(&run);
    assert_rss_below(&run, 200 << 10);
}

#[test]
fn many_harmless_aliases_are_fine() {
    // Kubernetes merge-key style reuse is not a bomb: linted, the finding in the alias target.
    let dir = dir_with_companion();
    let mut text = String::from(
        "apiVersion: v1\nkind: List\nitems:\n- &pod\n  apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n  spec:\n    containers:\n    - name: c\n      image: busybox\n      resources: {limits: {cpu: 1, memory: 1Gi}}\n",
    );
    for _ in 0..2000 {
        text.push_str("- *pod\n");
    }
    write(dir.path(), "aliases.yaml", &text);
    let run = lint(dir.path(), &["."]);
    assert_ne!(file_entry(&run.json(), "aliases.yaml")["status"], "failed", "{run:?}");
    assert_companion_linted(&run);
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn nesting_100_000_levels_deep_is_refused_without_overflow() {
    let dir = dir_with_companion();
    let depth = 100_000;
    write(dir.path(), "flow-seq.yaml", format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
    write(dir.path(), "flow-map.yaml", format!("{}x{}", "{a: ".repeat(depth), "}".repeat(depth)));
    // Block sequences nest on one line: `- - - ... x`.
    write(dir.path(), "block-seq.yaml", format!("{}x\n", "- ".repeat(depth)));
    // Block mappings need indentation, so the file grows quadratically: 2,000 levels (4 MB)
    // are well past the limit.
    let block_map: String = (0..2000).map(|level| format!("{}k:\n", " ".repeat(level * 2))).collect();
    write(dir.path(), "block-map.yaml", block_map);
    // Mixed: a JSON-ish document 100,000 objects deep.
    write(dir.path(), "deep.json", format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth)));
    let run = lint(dir.path(), &["."]);
    for path in ["flow-seq.yaml", "flow-map.yaml", "block-seq.yaml", "block-map.yaml", "deep.json"] {
        // Refused for its depth (or as a syntax error, if the parser gives up first).
        let entry = assert_failed(&run, path, "kfpguard::parse", "");
        let message = entry["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("nesting") || message.contains("invalid YAML"), "{path}: {message}");
    }
    assert_companion_linted(&run);
    assert_rss_below(&run, 300 << 10);
}

/// A file's access time, or `None` when this file system does not track reads.
fn accessed(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path).and_then(|m| m.accessed()).expect("no access time")
}

/// Sets `path`'s access time an hour before its modification time, so that the next read
/// moves it even under `relatime`.
fn age_access_time(path: &Path) {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).expect("no modification time");
    let times = std::fs::FileTimes::new().set_accessed(modified - Duration::from_secs(3600)).set_modified(modified);
    File::options().write(true).open(path).and_then(|f| f.set_times(times)).expect("cannot set file times");
}

#[test]
fn file_over_the_size_limit_is_refused_without_being_read() {
    let dir = dir_with_companion();
    let size: u64 = 200 * 1024 * 1024;
    // Sparse: created instantly, takes no disk space.
    let huge = dir.path().join("huge.yaml");
    File::create(&huge).and_then(|f| f.set_len(size)).expect("cannot create a sparse file");
    // A twin to learn whether this file system records reads at all.
    let twin = dir.path().join("twin.bin");
    File::create(&twin).and_then(|f| f.set_len(size)).expect("cannot create a sparse file");
    age_access_time(&huge);
    age_access_time(&twin);
    let huge_before = accessed(&huge);
    let twin_before = accessed(&twin);

    let run = lint(dir.path(), &["."]);
    let entry = assert_failed(&run, "huge.yaml", "kfpguard::too_large", &size.to_string());
    assert!(entry["error"]["message"].as_str().unwrap_or_default().contains("67108864"), "{run:?}");
    assert_companion_linted(&run);
    assert!(run.elapsed < Duration::from_secs(20), "{run:?}");
    // Reading the file would take 200 MB.
    assert_rss_below(&run, 100 << 10);

    // Read one byte of the twin: if that moves its access time, kfpguard's untouched one
    // proves it never read the huge file.
    let mut byte = [0u8; 1];
    std::io::Read::read(&mut File::open(&twin).expect("cannot open the twin"), &mut byte).expect("cannot read");
    if accessed(&twin) != twin_before {
        assert_eq!(accessed(&huge), huge_before, "kfpguard read a file it refused for its size");
    } else {
        eprintln!("NOTE: this file system does not record reads (noatime): 'not read' checked by time only");
    }
    // The limit is a flag: raised above the file, it is read (and fails as binary zeros).
    let run = lint(dir.path(), &["--max-file-size", &(size + 1).to_string(), "huge.yaml", "companion.yaml"]);
    let entry = file_entry(&run.json(), "huge.yaml").clone();
    assert_ne!(entry["error"]["code"], "kfpguard::too_large", "{run:?}");
}

/// A valid Pod with `containers` containers, each with `env` variables and a literal script
/// of `lines` lines; one container in the middle downloads over plain HTTP. Returns the text
/// and the byte offset of that URL.
fn big_pod(containers: usize, env: usize, lines: usize) -> (String, usize) {
    let mut text = String::from("apiVersion: v1\nkind: Pod\nmetadata:\n  name: big\nspec:\n  containers:\n");
    let mut url_offset = 0;
    for index in 0..containers {
        text.push_str(&format!(
            "  - name: step-{index}\n    image: python:3.12\n    resources:\n      limits: {{cpu: '1', memory: 1Gi}}\n    env:\n"
        ));
        for var in 0..env {
            text.push_str(&format!("    - {{name: SETTING_{var}, value: \"value-{var}-of-step-{index}\"}}\n"));
        }
        text.push_str("    command:\n    - sh\n    - -c\n    - |\n");
        for line in 0..lines {
            if index == containers / 2 && line == lines / 2 {
                text.push_str("      curl -fsSL -o /tmp/m.bin ");
                url_offset = text.len();
                text.push_str("http://models.example.com/m.bin\n");
            } else {
                text.push_str(&format!("      echo \"processing shard {line} of step {index}\" >> /tmp/log.txt\n"));
            }
        }
    }
    (text, url_offset)
}

#[test]
fn twenty_megabyte_pipeline_is_linted_within_bounds() {
    let dir = dir_with_companion();
    let (text, url_offset) = big_pod(870, 300, 100);
    assert!(text.len() > 20_000_000, "generated only {} bytes", text.len());
    write(dir.path(), "big.yaml", &text);
    // About 15 s of CPU in a debug build (2 s in release; linear: a tenth of the file takes a
    // tenth of the time); the timeout leaves room for a busy machine.
    let run = lint_within(dir.path(), &["."], Duration::from_secs(180));
    eprintln!("20 MB pipeline linted in {:?}, peak RSS {:?} KiB", run.elapsed, run.max_rss_kib);
    let report = run.json();
    assert_eq!(file_entry(&report, "big.yaml")["status"], "linted", "{run:?}");
    assert_eq!(finding_positions(&report, "big.yaml", "plaintext-download"), vec![line_column(&text, url_offset)]);
    assert_companion_linted(&run);
    assert_eq!(run.code, 0, "{run:?}");
    // The tree costs about ten times the file: 1 GiB would mean copies or expanded aliases.
    assert_rss_below(&run, 1 << 20);
}

// ---------------------------------------------------------------------------------------
// Encodings and bytes
// ---------------------------------------------------------------------------------------

#[test]
fn binary_file_named_yaml_fails_as_encoding_error() {
    let dir = dir_with_companion();
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d];
    png.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    write(dir.path(), "image.yaml", &png);
    let run = lint(dir.path(), &["."]);
    let entry = assert_failed(&run, "image.yaml", "kfpguard::encoding", "UTF-8");
    assert!(entry["error"]["message"].as_str().unwrap_or_default().contains("offset 0"), "{run:?}");
    assert_companion_linted(&run);
}

#[test]
fn file_with_nul_bytes_does_not_crash() {
    let dir = dir_with_companion();
    // Valid UTF-8, but NUL is not allowed in YAML.
    write(dir.path(), "nul.yaml", "apiVersion: v1\nkind: Pod\x00\x00\nspec: {}\n");
    let run = lint(dir.path(), &["."]);
    assert_failed(&run, "nul.yaml", "kfpguard::parse", "");
    assert_companion_linted(&run);
}

#[test]
fn invalid_utf8_names_the_offset() {
    let dir = dir_with_companion();
    let mut bytes = COMPANION.replace("companion", "latin1").into_bytes();
    let offset = bytes.len();
    bytes.extend_from_slice(b"# caf\xe9 au lait\n");
    let offset = offset + "# caf".len();
    write(dir.path(), "latin1.yaml", &bytes);
    let run = lint(dir.path(), &["."]);
    assert_failed(&run, "latin1.yaml", "kfpguard::encoding", &format!("offset {offset}"));
    assert_companion_linted(&run);
}

fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
    let mut bytes = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
    for unit in text.encode_utf16() {
        bytes.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
    }
    bytes
}

#[test]
fn utf16_with_bom_fails_with_a_clear_message() {
    let dir = dir_with_companion();
    write(dir.path(), "le.yaml", utf16(COMPANION, false));
    write(dir.path(), "be.yaml", utf16(COMPANION, true));
    let run = lint(dir.path(), &["."]);
    assert_failed(&run, "le.yaml", "kfpguard::encoding", "UTF-16");
    assert_failed(&run, "be.yaml", "kfpguard::encoding", "UTF-16");
    assert_companion_linted(&run);
}

#[test]
fn utf16_without_bom_does_not_crash() {
    let dir = dir_with_companion();
    // ASCII text in UTF-16LE is valid UTF-8 full of NULs.
    let bytes: Vec<u8> = utf16(COMPANION, false).into_iter().skip(2).collect();
    write(dir.path(), "nobom.yaml", bytes);
    let run = lint(dir.path(), &["."]);
    let entry = file_entry(&run.json(), "nobom.yaml").clone();
    assert_eq!(entry["status"], "failed", "{run:?}");
    assert_companion_linted(&run);
}

#[test]
fn utf8_bom_is_accepted_and_positions_stay_exact() {
    let dir = dir_with_companion();
    let text = format!("\u{feff}{}", COMPANION.replace("companion", "bom"));
    write(dir.path(), "bom.yaml", &text);
    let run = lint(dir.path(), &["."]);
    let report = run.json();
    assert_eq!(file_entry(&report, "bom.yaml")["status"], "linted", "{run:?}");
    let privileged = text.find("privileged: true").expect("no privileged key");
    let positions = finding_positions(&report, "bom.yaml", "privileged-container");
    assert_eq!(positions.len(), 1, "{run:?}");
    // The finding is on the `privileged` line (the rule may point at the key or the value).
    assert_eq!(positions[0].0, line_column(&text, privileged).0, "{run:?}");
}

// ---------------------------------------------------------------------------------------
// Line endings, tabs, duplicate keys: still linted, positions still exact
// ---------------------------------------------------------------------------------------

/// A Pod with literal secrets in double- and single-quoted scalars, a plain-HTTP download
/// in a literal block scalar, and another in a double-quoted scalar with escapes that folds
/// over two lines: positions are checked per token.
const POSITIONS_POD: &str = "\
apiVersion: v1
kind: Pod
metadata:
  name: positions
spec:
  containers:
  - name: main
    image: busybox:1.36
    resources:
      limits: {cpu: 100m, memory: 64Mi}
    command:
    - sh
    - -c
    - |
      echo start
      curl -fsSL http://one.example.com/install.sh -o /tmp/i.sh
    env:
    - name: DB_PASSWORD
      value: \"Sup3r-S3cret-Value\"
    - name: API_TOKEN
      value: 'tok-9f8e7d6c5b4a'
  - name: side
    image: busybox:1.36
    resources: {limits: {cpu: 100m, memory: 64Mi}}
    command: [sh, -c]
    args:
    - \"echo \\\"two\\\"; wget -q
      http://two.example.com/data.csv\"
";

/// Lints `text` as `name` and checks every finding of the position pod lands on its token.
fn assert_positions_exact(text: &str, name: &str) {
    let dir = tempdir();
    write(dir.path(), name, text);
    let run = lint(dir.path(), &[name]);
    let report = run.json();
    assert_eq!(file_entry(&report, name)["status"], "linted", "{run:?}");
    let expect = |needle: &str| {
        let offset = text.find(needle).unwrap_or_else(|| panic!("no {needle:?} in the input"));
        line_column(text, offset)
    };
    assert_eq!(
        finding_positions(&report, name, "plaintext-download"),
        vec![expect("http://one.example.com"), expect("http://two.example.com")],
        "{run:?}"
    );
    assert_eq!(
        finding_positions(&report, name, "secret-in-env"),
        vec![expect("Sup3r-S3cret-Value"), expect("tok-9f8e7d6c5b4a")],
        "{run:?}"
    );
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn positions_are_exact_with_lf_line_endings() {
    assert_positions_exact(POSITIONS_POD, "lf.yaml");
}

#[test]
fn positions_are_exact_with_crlf_line_endings() {
    assert_positions_exact(&POSITIONS_POD.replace('\n', "\r\n"), "crlf.yaml");
}

#[test]
fn positions_are_exact_with_lone_cr_line_endings() {
    assert_positions_exact(&POSITIONS_POD.replace('\n', "\r"), "cr.yaml");
}

#[test]
fn positions_are_exact_with_tabs_in_values() {
    // Tabs are allowed as separators after `:`/`-` and inside scalars (never as indentation).
    let text = POSITIONS_POD
        .replace("      value: \"Sup3r", "      value:\t\t\"Sup3r")
        .replace("echo start", "echo\tstart\t")
        .replace("curl -fsSL http", "curl\t-fsSL\thttp")
        .replace("wget -q\n", "wget\t-q\t\n");
    assert_positions_exact(&text, "tabs.yaml");
}

#[test]
fn tab_indentation_fails_with_a_located_parse_error() {
    let dir = dir_with_companion();
    let text = COMPANION.replace("\n    image:", "\n\t  image:");
    write(dir.path(), "tabbed.yaml", &text);
    let run = lint(dir.path(), &["."]);
    let entry = assert_failed(&run, "tabbed.yaml", "kfpguard::parse", "");
    let line = entry["error"]["region"]["start"]["line"].as_u64().unwrap_or(0) as usize;
    let tab_line = line_column(&text, text.find('\t').unwrap_or(0)).0;
    assert!(line == tab_line || line == tab_line - 1, "error on line {line}, tab on line {tab_line}: {run:?}");
    assert_companion_linted(&run);
}

#[test]
fn duplicate_keys_are_linted_without_crashing() {
    let dir = dir_with_companion();
    let text = "\
apiVersion: v1
kind: Pod
kind: Pod
metadata: {name: dup, name: dup2}
spec:
  containers:
  - name: main
    image: busybox
    resources: {limits: {cpu: 1, memory: 1Gi}}
    env:
    - name: DB_PASSWORD
      value: first-Secret-Value-1
      value: second-Secret-Value-2
  containers:
  - name: other
    image: busybox
    resources: {limits: {cpu: 1, memory: 1Gi}}
    securityContext: {privileged: false, privileged: true}
";
    write(dir.path(), "dup.yaml", text);
    let run = lint(dir.path(), &["."]);
    let report = run.json();
    assert_eq!(file_entry(&report, "dup.yaml")["status"], "linted", "{run:?}");
    // The last value wins, as in PyYAML and the KFP SDK: the privileged flag is found.
    assert_eq!(finding_positions(&report, "dup.yaml", "privileged-container").len(), 1, "{run:?}");
    assert_companion_linted(&run);
}

// ---------------------------------------------------------------------------------------
// Empty and odd directory entries
// ---------------------------------------------------------------------------------------

#[test]
fn empty_and_comment_only_files_are_skipped_not_errors() {
    let dir = dir_with_companion();
    write(dir.path(), "empty.yaml", "");
    write(dir.path(), "blank.yml", "\n\n   \n");
    write(dir.path(), "comments.yaml", "# nothing here\n---\n# still nothing\n");
    write(dir.path(), "empty.json", "");
    let run = lint(dir.path(), &["."]);
    for path in ["empty.yaml", "blank.yml", "comments.yaml", "empty.json"] {
        assert_skipped(&run, path);
    }
    assert_companion_linted(&run);
}

#[test]
fn directory_named_like_a_yaml_file_is_walked_not_an_error() {
    let dir = dir_with_companion();
    std::fs::create_dir(dir.path().join("empty.yaml")).expect("cannot create a directory");
    write(dir.path(), "x.yaml/inner.yaml", COMPANION.replace("companion", "inner"));
    // Walked from the top and named explicitly: never an error.
    for args in [&["."][..], &["x.yaml", "empty.yaml", "companion.yaml"][..]] {
        let run = lint(dir.path(), args);
        let report = run.json();
        assert_eq!(file_entry(&report, "x.yaml/inner.yaml")["status"], "linted", "{run:?}");
        for dir_path in ["x.yaml", "empty.yaml"] {
            let listed = report["files"].as_array().into_iter().flatten().any(|f| f["path"] == dir_path);
            assert!(!listed, "the directory {dir_path} is not a file: {run:?}");
        }
        assert_companion_linted(&run);
        assert_eq!(run.code, 0, "{run:?}");
    }
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("cannot run mkfifo");
    assert!(status.success(), "mkfifo failed");
}

#[test]
fn fifo_named_on_the_command_line_does_not_hang() {
    let dir = dir_with_companion();
    mkfifo(&dir.path().join("pipe.yaml"));
    // No writer ever opens the FIFO: opening it for reading would block forever.
    let run = lint(dir.path(), &["pipe.yaml", "companion.yaml"]);
    assert_failed(&run, "pipe.yaml", "kfpguard::io", "not a regular file");
    assert_companion_linted(&run);
}

#[test]
fn fifo_found_in_a_directory_does_not_hang() {
    let dir = dir_with_companion();
    mkfifo(&dir.path().join("pipe.yaml"));
    let run = lint(dir.path(), &["."]);
    assert_companion_linted(&run);
    // Not linted, whatever else: it holds no file to read.
    let listed = run.json()["files"].as_array().into_iter().flatten().find(|f| f["path"] == "pipe.yaml").cloned();
    if let Some(entry) = listed {
        assert_ne!(entry["status"], "linted", "{run:?}");
    }
}

#[test]
fn fifo_found_in_a_directory_is_accounted_for() {
    let dir = dir_with_companion();
    mkfifo(&dir.path().join("pipe.yaml"));
    let run = lint(dir.path(), &["."]);
    let report = run.json();
    let entry = file_entry(&report, "pipe.yaml");
    assert_ne!(entry["status"], "linted", "{run:?}");
}

#[test]
fn symlink_loops_fail_cleanly() {
    let dir = dir_with_companion();
    std::os::unix::fs::symlink("b.yaml", dir.path().join("a.yaml")).expect("cannot symlink");
    std::os::unix::fs::symlink("a.yaml", dir.path().join("b.yaml")).expect("cannot symlink");
    std::os::unix::fs::symlink("self.yaml", dir.path().join("self.yaml")).expect("cannot symlink");
    // A directory loop: links to directories are not followed.
    std::os::unix::fs::symlink(".", dir.path().join("loop")).expect("cannot symlink");
    std::os::unix::fs::symlink("..", dir.path().join("up.yaml")).expect("cannot symlink");
    let run = lint(dir.path(), &["."]);
    for path in ["a.yaml", "b.yaml", "self.yaml"] {
        assert_failed(&run, path, "kfpguard::io", "symbolic links");
    }
    assert_companion_linted(&run);
    // Named explicitly, too.
    let run = lint(dir.path(), &["a.yaml", "companion.yaml"]);
    assert_failed(&run, "a.yaml", "kfpguard::io", "symbolic links");
    assert_companion_linted(&run);
}

#[test]
fn broken_symlink_and_vanished_file_fail_cleanly() {
    let dir = dir_with_companion();
    std::os::unix::fs::symlink("does-not-exist.yaml", dir.path().join("dangling.yaml")).expect("cannot symlink");
    let run = lint(dir.path(), &[".", "missing.yaml"]);
    assert_failed(&run, "dangling.yaml", "kfpguard::io", "No such file");
    assert_failed(&run, "missing.yaml", "kfpguard::io", "No such file");
    assert_companion_linted(&run);
}

#[test]
fn file_deleted_between_discovery_and_reading_fails_cleanly() {
    // What a file removed mid-run looks like to the library: discovered, then gone.
    let dir = dir_with_companion();
    write(dir.path(), "gone.yaml", COMPANION);
    let inputs = discovered_inputs(dir.path());
    std::fs::remove_file(dir.path().join("gone.yaml")).expect("cannot remove");
    let options = kfpguard::lint::LintOptions::default();
    // As the CLI lints them: both files were listed as regular, so they are opened first.
    assert!(inputs.iter().all(|input| input.known_regular), "{inputs:?}");
    let results: Vec<_> = inputs.iter().map(|input| kfpguard::lint::lint_input(input, &options, &|_| true)).collect();
    let policy = kfpguard::policy::Policy::defaults();
    let mut builder = kfpguard::report::ReportBuilder::new(&policy);
    results.into_iter().for_each(|result| drop(builder.add(result)));
    let report = builder.finish();
    assert_eq!(report.files.len(), 2);
    assert_eq!((report.file_counts.linted, report.file_counts.failed), (1, 1));
    let mut gone = None;
    report
        .files
        .for_each(|file| {
            if file.path.ends_with("gone.yaml") {
                gone = Some(file.clone());
            }
            Ok(())
        })
        .expect("read the report's files");
    let gone = gone.expect("gone.yaml not reported");
    let kfpguard::report::FileOutcome::Failed { error } = &gone.outcome else {
        panic!("gone.yaml: {:?}", gone.outcome);
    };
    assert_eq!(error.code, "kfpguard::io");
}

/// The inputs `discover` finds in `dir`, which must all be files.
fn discovered_inputs(dir: &Path) -> Vec<kfpguard::discover::Input> {
    kfpguard::discover::discover(&[dir.to_path_buf()])
        .map(|found| match found {
            kfpguard::discover::Found::File(input) => input,
            unwalkable @ kfpguard::discover::Found::Unwalkable(_) => panic!("{unwalkable:?}"),
        })
        .collect()
}

#[test]
fn fifo_swapped_in_after_discovery_does_not_hang() {
    // A file discovery saw as regular (listed in its directory, or named and `stat`ed) is
    // opened before its type is looked at again: a FIFO put in its place since must be
    // found out without blocking the open.
    let dir = dir_with_companion();
    write(dir.path(), "swapped.yaml", COMPANION);
    let named = dir.path().join("swapped.yaml");
    let mut inputs = discovered_inputs(dir.path());
    inputs.extend(kfpguard::discover::discover(std::slice::from_ref(&named)).filter_map(|found| match found {
        kfpguard::discover::Found::File(input) => Some(input),
        kfpguard::discover::Found::Unwalkable(_) => None,
    }));
    assert_eq!(inputs.iter().filter(|input| input.known_regular).count(), 3, "{inputs:?}");
    std::fs::remove_file(&named).expect("cannot remove");
    mkfifo(&named);
    let options = kfpguard::lint::LintOptions::default();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let outcomes: Vec<_> = inputs
            .iter()
            .map(|input| (input.clone(), kfpguard::lint::lint_input(input, &options, &|_| true).outcome))
            .collect();
        let _ = sender.send(outcomes);
    });
    let outcomes = receiver.recv_timeout(Duration::from_secs(20)).expect("linting a FIFO hung");
    let swapped: Vec<_> = outcomes.iter().filter(|(input, _)| input.display.ends_with("swapped.yaml")).collect();
    assert_eq!(swapped.len(), 2, "{outcomes:?}");
    for (input, outcome) in swapped {
        match outcome {
            // Found by walking: skipped, as a FIFO listed as one is.
            kfpguard::report::FileOutcome::Skipped { reason } if !input.explicit => {
                assert!(reason.contains("not a regular file"), "{reason}");
            }
            // Named on the command line: an input error.
            kfpguard::report::FileOutcome::Failed { error } if input.explicit => {
                assert_eq!(error.code, "kfpguard::io");
                assert!(error.message.contains("not a regular file"), "{}", error.message);
            }
            other => panic!("{input:?}: {other:?}"),
        }
    }
    let companion =
        outcomes.iter().find(|(input, _)| input.display.ends_with("companion.yaml")).expect("companion linted");
    assert!(matches!(companion.1, kfpguard::report::FileOutcome::Linted { .. }), "{outcomes:?}");
}

#[test]
fn files_deleted_while_the_binary_runs_are_never_lost() {
    // Racy by nature: whatever the timing, every file is either linted or failed, never
    // dropped, and the run never crashes.
    let dir = tempdir();
    let count = 400;
    for index in 0..count {
        write(dir.path(), &format!("f{index:04}.yaml"), COMPANION.replace("companion", &format!("p{index}")));
    }
    let root = dir.path().to_path_buf();
    let deleter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        for index in (0..count).rev().step_by(2) {
            let _ = std::fs::remove_file(root.join(format!("f{index:04}.yaml")));
        }
    });
    let run = lint(dir.path(), &["."]);
    deleter.join().expect("the deleting thread panicked");
    let report = run.json();
    let files = report["files"].as_array().expect("files is an array");
    for entry in files {
        let status = entry["status"].as_str().unwrap_or_default();
        assert!(status == "linted" || (status == "failed" && entry["error"]["code"] == "kfpguard::io"), "{entry}");
    }
    // Files never deleted are all there and linted.
    for index in (0..count).step_by(2) {
        assert_eq!(file_entry(&report, &format!("f{index:04}.yaml"))["status"], "linted");
    }
    let linted = files.iter().filter(|f| f["status"] == "linted").count();
    assert_eq!(report["summary"]["files"]["linted"].as_u64(), Some(linted as u64));
}

/// Runs `kfpguard` as `nobody`, or says why it cannot.
fn setpriv_nobody() -> Option<Vec<&'static str>> {
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].into_iter().find(|p| Path::new(p).exists())?;
    let probe =
        Command::new(setpriv).args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"]).status().ok()?;
    probe.success().then(|| vec![setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"])
}

#[test]
fn unreadable_file_and_directory_fail_cleanly() {
    let Some(drop_privileges) = setpriv_nobody() else {
        eprintln!("SKIPPED: cannot drop privileges (no working setpriv): unreadable-file test not run");
        return;
    };
    let dir = dir_with_companion();
    let secret = write(dir.path(), "locked.yaml", COMPANION);
    write(dir.path(), "closed/inner.yaml", COMPANION);
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("cannot chmod");
    };
    // `nobody` runs the built binary if the build tree is open to it, else a copy.
    let runs_as_nobody = Command::new(drop_privileges[0])
        .args(&drop_privileges[1..])
        .arg(kfpguard_bin())
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    let bin = if runs_as_nobody {
        kfpguard_bin().to_path_buf()
    } else {
        let copy = dir.path().join("kfpguard-bin");
        std::fs::copy(kfpguard_bin(), &copy).expect("cannot copy the binary");
        mode(&copy, 0o755);
        copy
    };
    mode(dir.path(), 0o755);
    mode(&dir.path().join("companion.yaml"), 0o644);
    mode(&secret, 0o000);
    mode(&dir.path().join("closed"), 0o000);
    let args = ["--format", "json", "--fail-on", "never", "."];
    let run = run_program(&bin, dir.path(), &args, &drop_privileges, TIMEOUT);
    mode(&dir.path().join("closed"), 0o755);
    assert_failed(&run, "locked.yaml", "kfpguard::io", "Permission denied");
    let report = run.json();
    let closed = report["files"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["path"].as_str().is_some_and(|p| p.starts_with("closed")))
        .cloned()
        .unwrap_or_else(|| panic!("the unreadable directory is not reported: {run:?}"));
    assert_eq!(closed["status"], "failed", "{run:?}");
    assert!(run.stderr.contains("closed"), "{run:?}");
    assert_companion_linted(&run);
}

// ---------------------------------------------------------------------------------------
// Accounting: every input ends up in files[] exactly once, and the counts agree
// ---------------------------------------------------------------------------------------

/// A tree of every kind of input, and the status each must end with.
fn accounting_tree(dir: &Path) -> Vec<(&'static str, &'static str)> {
    write(dir, "companion.yaml", COMPANION);
    write(dir, "clean.yml", COMPANION.replace("privileged: true", "privileged: false"));
    write(
        dir,
        "pod.json",
        r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}"#,
    );
    write(dir, "sub/deeper/nested.yaml", COMPANION.replace("companion", "nested"));
    write(dir, "not-a-pipeline.yaml", "{a: 1}\n");
    write(dir, "configmap.yaml", "apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n");
    write(dir, "empty.yaml", "");
    write(dir, "invalid.yaml", "a: [1, 2\nb: }\n");
    write(dir, "binary.yaml", [0u8, 159, 146, 150, 255]);
    write(dir, "utf16.yaml", utf16(COMPANION, false));
    write(dir, "bomb.yaml", {
        let mut bomb = String::from("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            bomb.push_str(&format!("l{level}: &l{level} [{}]\n", vec![format!("*l{}", level - 1); 10].join(", ")));
        }
        bomb
    });
    std::os::unix::fs::symlink("nowhere.yaml", dir.join("dangling.yaml")).expect("cannot symlink");
    // Not inputs: other extensions, hidden folders.
    write(dir, "README.md", "# not linted\n");
    write(dir, ".hidden/h.yaml", COMPANION);
    // Named on the command line: kept whatever the extension; a missing path fails.
    write(dir, "notes.txt", "just text\n");
    vec![
        ("companion.yaml", "linted"),
        ("clean.yml", "linted"),
        ("pod.json", "linted"),
        ("sub/deeper/nested.yaml", "linted"),
        ("not-a-pipeline.yaml", "skipped"),
        ("configmap.yaml", "skipped"),
        ("empty.yaml", "skipped"),
        ("notes.txt", "skipped"),
        ("invalid.yaml", "failed"),
        ("binary.yaml", "failed"),
        ("utf16.yaml", "failed"),
        ("bomb.yaml", "failed"),
        ("dangling.yaml", "failed"),
        ("missing.yaml", "failed"),
    ]
}

#[test]
fn every_input_is_accounted_for_in_json_and_sarif() {
    let dir = tempdir();
    let expected = accounting_tree(dir.path());
    let args = [".", "notes.txt", "missing.yaml"];
    let run = lint(dir.path(), &args);
    assert_eq!(run.code, 2, "{run:?}");
    let report = run.json();
    let files = report["files"].as_array().expect("files is an array");

    let mut listed: Vec<&str> = files.iter().filter_map(|f| f["path"].as_str()).collect();
    listed.sort_unstable();
    let mut wanted: Vec<&str> = expected.iter().map(|(path, _)| *path).collect();
    wanted.sort_unstable();
    assert_eq!(listed, wanted, "files[] must list every input exactly once: {run:?}");

    let mut counts = [0u64; 3];
    for (path, status) in &expected {
        let entry = file_entry(&report, path);
        assert_eq!(entry["status"], *status, "{path}: {entry}");
        match *status {
            "linted" => counts[0] += 1,
            "skipped" => {
                counts[1] += 1;
                assert!(!entry["reason"].as_str().unwrap_or_default().is_empty(), "{path}: no reason: {entry}");
            }
            _ => {
                counts[2] += 1;
                let error = &entry["error"];
                assert!(error["code"].as_str().is_some_and(|c| c.starts_with("kfpguard::")), "{path}: {entry}");
                assert!(!error["message"].as_str().unwrap_or_default().is_empty(), "{path}: {entry}");
                assert!(run.stderr.contains(&format!("]: {path}")), "{path} not named on stderr: {run:?}");
            }
        }
    }
    let summary = &report["summary"]["files"];
    assert_eq!([&summary["linted"], &summary["skipped"], &summary["failed"]], counts.map(Value::from).each_ref());

    // SARIF carries the same counts, and one notification per failed file.
    let mut sarif_args = vec!["--format", "sarif", "--fail-on", "never"];
    sarif_args.extend_from_slice(&args);
    let sarif_run = run_program(kfpguard_bin(), dir.path(), &sarif_args, &[], TIMEOUT);
    assert_eq!(sarif_run.code, 2, "{sarif_run:?}");
    let sarif = sarif_run.json();
    let sarif_run_object = &sarif["runs"][0];
    let properties = &sarif_run_object["properties"]["files"];
    assert_eq!(
        [&properties["linted"], &properties["skipped"], &properties["failed"]],
        counts.map(Value::from).each_ref()
    );
    let invocation = &sarif_run_object["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notifications = invocation["toolExecutionNotifications"].as_array().expect("notifications");
    assert_eq!(notifications.len() as u64, counts[2], "{sarif_run:?}");
    for (path, _) in expected.iter().filter(|(_, status)| *status == "failed") {
        let named = notifications.iter().any(|n| {
            n["message"]["text"].as_str().is_some_and(|text| text.starts_with(&format!("{path}: ")))
                && n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == *path
        });
        assert!(named, "{path}: no SARIF notification names it: {:#}", invocation);
    }
}

#[test]
fn pretty_output_names_every_failed_file_too() {
    let dir = tempdir();
    let expected = accounting_tree(dir.path());
    let args = ["--color", "never", "--fail-on", "never", "--verbose", ".", "notes.txt", "missing.yaml"];
    let run = run_program(kfpguard_bin(), dir.path(), &args, &[], TIMEOUT);
    assert_eq!(run.code, 2, "{run:?}");
    for (path, status) in &expected {
        if *status == "failed" {
            assert!(run.stderr.contains(&format!("]: {path}")), "{path} not named on stderr: {run:?}");
        }
        if *status == "skipped" {
            assert!(run.stdout.contains(path), "--verbose does not list skipped {path}: {run:?}");
        }
    }
}

#[test]
fn a_file_named_twice_is_reported_once() {
    let dir = dir_with_companion();
    write(dir.path(), "sub/nested.yaml", COMPANION.replace("companion", "nested"));
    for args in [&[".", "companion.yaml"][..], &["sub", "./sub"][..], &["companion.yaml", "./companion.yaml"][..]] {
        let run = lint(dir.path(), args);
        let report = run.json();
        let mut paths: Vec<&str> =
            report["files"].as_array().into_iter().flatten().filter_map(|f| f["path"].as_str()).collect();
        let total = paths.len();
        paths.dedup();
        assert_eq!(paths.len(), total, "{args:?}: a file is listed twice: {run:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Regressions found by fuzzing
// ---------------------------------------------------------------------------------------

/// Every input under `fixtures/regressions/` once crashed or misled kfpguard (see
/// `fuzz/README.md`); each must now lint, be skipped or fail cleanly, and never hit an
/// internal error. Findings and positions are checked by the tests named after each file.
#[test]
fn regression_fixtures_never_fail_internally() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/regressions");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("NOTE: no fixtures/regressions directory: no fuzzing regressions recorded yet");
        return;
    };
    let options = kfpguard::lint::LintOptions::default();
    for path in entries.flatten().map(|entry| entry.path()).filter(|path| path.is_file()) {
        let display = path.display().to_string();
        let result = kfpguard::lint::lint_file(&path, &display, true, &options, &|_| true);
        if let kfpguard::report::FileOutcome::Failed { error } = &result.outcome {
            assert_ne!(error.code, "kfpguard::internal", "{display}: {}", error.message);
        }
    }
}

#[test]
fn sarif_notifications_locate_failed_files_with_valid_uris() {
    let dir = tempdir();
    write(dir.path(), "work/my file.yaml", "a: [1, 2\n");
    write(dir.path(), "outside.yaml", "a: [1, 2\n");
    let cwd = dir.path().join("work");
    let args = ["--format", "sarif", "my file.yaml", "../outside.yaml"];
    let run = run_program(kfpguard_bin(), &cwd, &args, &[], TIMEOUT);
    let sarif = run.json();
    let notifications = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"].as_array().cloned();
    let uris: Vec<Value> = notifications
        .into_iter()
        .flatten()
        .map(|n| n["locations"][0]["physicalLocation"]["artifactLocation"].clone())
        .collect();
    assert!(uris.iter().any(|uri| uri["uri"] == "my%20file.yaml"), "{uris:?}");
    let outside = uris.iter().find(|uri| uri["uri"].as_str().is_some_and(|u| u.ends_with("outside.yaml")));
    let outside = outside.unwrap_or_else(|| panic!("no notification for ../outside.yaml: {uris:?}"));
    assert!(outside["uri"].as_str().is_some_and(|u| u.starts_with("file:///")), "{outside}");
}
