//! Finding the files to lint: walks directories in parallel, honouring `.gitignore`,
//! `.ignore` and hidden folders (the `ignore` crate, as ripgrep does), and keeps files
//! ending in `.yaml`, `.yml` or `.json`. Files named on the command line are always kept.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

/// One file to lint.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Input {
    /// Path shown in reports: relative to the working directory when below it, `/`-separated.
    pub display: String,
    pub path: PathBuf,
    /// Named on the command line.
    pub explicit: bool,
}

/// A path that could not be walked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkError {
    pub path: String,
    pub message: String,
}

/// Extensions kfpguard considers when walking directories.
pub fn is_candidate(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"))
}

/// All files under `roots`, sorted and de-duplicated, plus what could not be walked.
pub fn discover(roots: &[PathBuf], threads: usize) -> (Vec<Input>, Vec<WalkError>) {
    let cwd = std::env::current_dir().ok();
    let inputs = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    for root in roots {
        let metadata = std::fs::metadata(root);
        match metadata {
            Err(error) => {
                push(&errors, WalkError { path: display(root, cwd.as_deref()), message: error.to_string() });
                continue;
            }
            Ok(meta) if !meta.is_dir() => {
                push(&inputs, Input { display: display(root, cwd.as_deref()), path: root.clone(), explicit: true });
                continue;
            }
            Ok(_) => {}
        }
        let walker = WalkBuilder::new(root).threads(threads.max(1)).build_parallel();
        walker.run(|| {
            let inputs = &inputs;
            let errors = &errors;
            let cwd = cwd.as_deref();
            Box::new(move |entry| {
                match entry {
                    Ok(entry) => {
                        // Anything that is not a directory counts: regular files, symlinks to
                        // files or nowhere (reading reports the broken link), and FIFOs or
                        // sockets (reported as skipped, never opened). Links to directories
                        // are not followed.
                        let is_file = entry.file_type().is_some_and(|t| {
                            !t.is_dir()
                                && (!t.is_symlink() || std::fs::metadata(entry.path()).map_or(true, |m| !m.is_dir()))
                        });
                        if is_file && is_candidate(entry.path()) {
                            push(
                                inputs,
                                Input { display: display(entry.path(), cwd), path: entry.into_path(), explicit: false },
                            );
                        }
                    }
                    Err(error) => {
                        let path = error_path(&error).map_or_else(|| display(root, cwd), |p| display(&p, cwd));
                        push(errors, WalkError { path, message: error.to_string() });
                    }
                }
                WalkState::Continue
            })
        });
    }
    let mut inputs = inputs.into_inner().unwrap_or_else(|poison| poison.into_inner());
    inputs.sort();
    // The same file reached twice (`kfpguard . x.yaml`, `dir ./dir`) is linted once.
    let mut seen = std::collections::HashSet::new();
    inputs.retain(|input| seen.insert(std::fs::canonicalize(&input.path).unwrap_or_else(|_| input.path.clone())));
    let mut errors = errors.into_inner().unwrap_or_else(|poison| poison.into_inner());
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    (inputs, errors)
}

fn push<T>(list: &Mutex<Vec<T>>, item: T) {
    list.lock().unwrap_or_else(|poison| poison.into_inner()).push(item);
}

fn error_path(error: &ignore::Error) -> Option<PathBuf> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        _ => None,
    }
}

/// `path` relative to `cwd` when below it, with `/` separators.
pub fn display(path: &Path, cwd: Option<&Path>) -> String {
    let relative =
        cwd.and_then(|cwd| path.strip_prefix(cwd).ok()).filter(|p| !p.as_os_str().is_empty()).unwrap_or(path);
    let text = relative.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").map(str::to_string).unwrap_or(text)
}
