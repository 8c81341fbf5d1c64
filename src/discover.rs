//! Finding the files to lint: walks directories honouring `.gitignore`, `.ignore` and
//! hidden folders (the `ignore` crate, as ripgrep does), and keeps files ending in
//! `.yaml`, `.yml` or `.json`. Files named on the command line are always kept.
//!
//! Discovery is lazy: [`discover`] returns an iterator that holds one open directory
//! listing per level of each walk, never the list of all files, so a run over a million
//! files needs no more memory for its inputs than a run over ten. Files come in path order
//! (compared `/`-separated component by component, as a sorted directory walk visits
//! them), which is what lets the report be written file by file in a stable order.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashSet};
use std::path::{Component, Path, PathBuf};

use ignore::WalkBuilder;

/// One file to lint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// Path shown in reports: relative to the working directory when below it, `/`-separated.
    pub display: String,
    pub path: PathBuf,
    /// Named on the command line.
    pub explicit: bool,
    /// Discovery saw a regular file here (not a FIFO, socket or device): its directory's
    /// listing said so, or the `stat` of the path named on the command line. It may be
    /// opened before its type is looked at again ([`crate::lint::lint_input`]).
    pub known_regular: bool,
}

/// A path that could not be walked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkError {
    pub path: String,
    pub message: String,
}

/// What discovery yields, in path order: a file to lint or a path it could not walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    File(Input),
    Unwalkable(WalkError),
}

impl Found {
    /// The path as shown in reports.
    pub fn path(&self) -> &str {
        match self {
            Found::File(input) => &input.display,
            Found::Unwalkable(error) => &error.path,
        }
    }

    fn is_explicit(&self) -> bool {
        match self {
            Found::File(input) => input.explicit,
            Found::Unwalkable(_) => true,
        }
    }
}

/// Extensions kfpguard considers when walking directories.
pub fn is_candidate(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"))
}

/// Orders displayed paths component by component: `a/x.yaml` before `a-b/x.yaml`, as a
/// walk that sorts each directory's entries by name reaches them.
pub fn path_order(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

/// Everything under `roots`, in path order, each file once.
///
/// A file reached from two roots (`kfpguard . x.yaml`, `dir ./dir`, `. sub/../sub`) is
/// yielded once, as named on the command line when it was: a root inside another root is
/// displayed from that root (so both spell each file alike, and the copies meet in the
/// merge), and two spellings of one directory are walked once. Only the roots are
/// canonicalized, not every file: a symbolic link and its target inside the tree are two
/// files, as git sees them.
pub fn discover(roots: &[PathBuf]) -> Discovery {
    let cwd = std::env::current_dir().ok();
    let mut dirs: Vec<Root> = Vec::new();
    let mut files: Vec<Root> = Vec::new();
    // Explicit files by canonical path: `a.yaml ./a.yaml /abs/a.yaml` are one file.
    let mut named_files = HashSet::new();
    let mut streams = Vec::new();
    for path in roots {
        let shown = display(path, cwd.as_deref());
        match std::fs::metadata(path) {
            Err(error) => streams
                .push(Stream::One(Some(Found::Unwalkable(WalkError { path: shown, message: error.to_string() })))),
            Ok(meta) => {
                let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
                let root = Root { path: path.clone(), canonical, shown, regular: meta.is_file() };
                if !meta.is_dir() {
                    if named_files.insert(root.canonical.clone()) {
                        files.push(root);
                    }
                } else if !dirs.iter().any(|dir| dir.canonical == root.canonical) {
                    dirs.push(root);
                }
            }
        }
    }
    for file in &files {
        let shown = shown_within(&file.canonical, &dirs).unwrap_or_else(|| file.shown.clone());
        let input = Input { display: shown, path: file.path.clone(), explicit: true, known_regular: file.regular };
        streams.push(Stream::One(Some(Found::File(input))));
    }
    for dir in &dirs {
        let base = shown_within(&dir.canonical, &dirs).unwrap_or_else(|| dir.shown.clone());
        let walk = Box::new(WalkBuilder::new(&dir.path).sort_by_file_name(|a, b| a.cmp(b)).build());
        streams.push(Stream::Walk { walk, root: dir.path.clone(), base, cwd: cwd.clone() });
    }
    let mut discovery = Discovery { streams, heads: BinaryHeap::new(), last: None };
    for index in 0..discovery.streams.len() {
        discovery.refill(index);
    }
    discovery
}

/// A command-line path that exists.
struct Root {
    path: PathBuf,
    canonical: PathBuf,
    /// As [`display`] shows it.
    shown: String,
    /// Its `stat` (links followed) said it is a regular file.
    regular: bool,
}

/// How `canonical` displays when it lies strictly inside one of the directory roots `dirs`:
/// the outermost such root's display and the rest of the path. `None` if it lies in none.
fn shown_within(canonical: &Path, dirs: &[Root]) -> Option<String> {
    dirs.iter()
        .filter(|dir| dir.canonical != canonical)
        .filter_map(|dir| Some((dir, canonical.strip_prefix(&dir.canonical).ok()?)))
        .min_by_key(|(dir, _)| dir.canonical.components().count())
        .map(|(dir, rest)| joined(&dir.shown, rest))
}

/// `base` (a displayed path) and the relative path `rest` below it, displayed.
fn joined(base: &str, rest: &Path) -> String {
    let rest = display(rest, None);
    match (base, rest.as_str()) {
        (".", _) => rest,
        (_, ".") => base.to_string(),
        _ if base.ends_with('/') => format!("{base}{rest}"),
        _ => format!("{base}/{rest}"),
    }
}

/// The lazy merge of the roots' walks; see [`discover`].
pub struct Discovery {
    streams: Vec<Stream>,
    /// The next item of each stream that has one, smallest first.
    heads: BinaryHeap<Reverse<Head>>,
    /// The displayed path last yielded, to drop the same file reached again.
    last: Option<String>,
}

/// One root: a single item (a file or a root that cannot be read) or a directory walk.
enum Stream {
    One(Option<Found>),
    /// `base` is how `root` is displayed; paths below it are displayed from it.
    Walk {
        walk: Box<ignore::Walk>,
        root: PathBuf,
        base: String,
        cwd: Option<PathBuf>,
    },
}

impl Stream {
    fn next_found(&mut self) -> Option<Found> {
        match self {
            Stream::One(found) => found.take(),
            Stream::Walk { walk, root, base, cwd } => walk.find_map(|entry| match entry {
                Ok(entry) => {
                    // Anything that is not a directory counts: regular files, symlinks to
                    // files or nowhere (reading reports the broken link), and FIFOs or
                    // sockets (reported as skipped, never opened). Links to directories are
                    // not followed.
                    let is_file = entry.file_type().is_some_and(|t| {
                        !t.is_dir()
                            && (!t.is_symlink() || std::fs::metadata(entry.path()).map_or(true, |m| !m.is_dir()))
                    });
                    let known_regular = entry.file_type().is_some_and(|t| t.is_file());
                    (is_file && is_candidate(entry.path())).then(|| {
                        Found::File(Input {
                            display: shown_below(entry.path(), root, base, cwd.as_deref()),
                            path: entry.into_path(),
                            explicit: false,
                            known_regular,
                        })
                    })
                }
                Err(error) => {
                    let path = error_path(&error)
                        .map_or_else(|| base.clone(), |p| shown_below(&p, root, base, cwd.as_deref()));
                    Some(Found::Unwalkable(WalkError { path, message: error.to_string() }))
                }
            }),
        }
    }
}

/// A stream's next item, ordered by path; at equal paths the one named on the command line first.
struct Head {
    found: Found,
    stream: usize,
}

impl Head {
    fn key(&self) -> (&str, Reverse<bool>, usize) {
        (self.found.path(), Reverse(self.found.is_explicit()), self.stream)
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        let (path, explicit, stream) = self.key();
        let (other_path, other_explicit, other_stream) = other.key();
        path_order(path, other_path).then(explicit.cmp(&other_explicit)).then(stream.cmp(&other_stream))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

impl Discovery {
    fn refill(&mut self, stream: usize) {
        if let Some(found) = self.streams[stream].next_found() {
            self.heads.push(Reverse(Head { found, stream }));
        }
    }
}

impl Iterator for Discovery {
    type Item = Found;

    fn next(&mut self) -> Option<Found> {
        loop {
            let Reverse(Head { found, stream }) = self.heads.pop()?;
            self.refill(stream);
            // Equal paths meet here, next to each other: keep the first (explicit) one.
            if self.last.as_deref() == Some(found.path()) {
                continue;
            }
            self.last = Some(found.path().to_string());
            return Some(found);
        }
    }
}

/// How `path`, reached by walking `root`, is displayed: from `base`, `root`'s display.
fn shown_below(path: &Path, root: &Path, base: &str, cwd: Option<&Path>) -> String {
    path.strip_prefix(root).map_or_else(|_| display(path, cwd), |rest| joined(base, rest))
}

fn error_path(error: &ignore::Error) -> Option<PathBuf> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        _ => None,
    }
}

/// `path` relative to `cwd` when below it, with `/` separators and without `.` components
/// (`./a/./b.yaml` is `a/b.yaml`), so that one file reached from two roots displays the same.
pub fn display(path: &Path, cwd: Option<&Path>) -> String {
    let relative =
        cwd.and_then(|cwd| path.strip_prefix(cwd).ok()).filter(|p| !p.as_os_str().is_empty()).unwrap_or(path);
    let mut text = String::new();
    for component in relative.components() {
        let part = match component {
            Component::CurDir => continue,
            Component::RootDir => {
                text.push('/');
                continue;
            }
            Component::Prefix(prefix) => prefix.as_os_str().to_string_lossy(),
            Component::ParentDir => "..".into(),
            Component::Normal(name) => name.to_string_lossy(),
        };
        if !text.is_empty() && !text.ends_with('/') {
            text.push('/');
        }
        text.push_str(&part);
    }
    if text.is_empty() { ".".to_string() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("cannot create a temporary directory");
        for file in files {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().expect("a file has a parent")).expect("cannot create a directory");
            std::fs::write(path, "kind: Pod\n").expect("cannot write a file");
        }
        dir
    }

    /// Displayed paths relative to `dir`, for the roots given relative to it.
    fn found(dir: &Path, roots: &[&str]) -> Vec<(String, bool)> {
        let roots: Vec<PathBuf> = roots.iter().map(|root| dir.join(root)).collect();
        let prefix = format!("{}/", display(dir, None));
        discover(&roots)
            .map(|found| {
                let explicit = matches!(&found, Found::File(input) if input.explicit);
                (found.path().strip_prefix(&prefix).unwrap_or(found.path()).to_string(), explicit)
            })
            .collect()
    }

    #[test]
    fn files_come_in_component_order_whatever_the_order_of_the_roots() {
        let dir = tree(&["a/x.yaml", "a-b/x.yaml", "a.yaml", "b/c/d.json", "b/c.yml", "notes.txt"]);
        let paths: Vec<String> = found(dir.path(), &["b", "."]).into_iter().map(|(path, _)| path).collect();
        assert_eq!(paths, ["a/x.yaml", "a-b/x.yaml", "a.yaml", "b/c/d.json", "b/c.yml"]);
    }

    #[test]
    fn a_file_reached_twice_comes_once_as_named_on_the_command_line() {
        let dir = tree(&["sub/one.yaml", "sub/two.yaml"]);
        assert_eq!(
            found(dir.path(), &["sub", "sub/two.yaml", "./sub"]),
            [("sub/one.yaml".to_string(), false), ("sub/two.yaml".to_string(), true)]
        );
    }

    #[test]
    fn one_directory_named_two_ways_is_walked_once() {
        let dir = tree(&["sub/one.yaml"]);
        let relative = PathBuf::from(format!("{}/sub/../sub", display(dir.path(), None)));
        let absolute = std::fs::canonicalize(dir.path().join("sub")).expect("cannot canonicalize");
        let walked: Vec<Found> = discover(&[relative, absolute]).collect();
        assert_eq!(walked.len(), 1, "{walked:?}");
    }

    #[test]
    fn a_root_inside_another_is_displayed_from_it_and_its_files_come_once() {
        let dir = tree(&["sub/one.yaml", "two.yaml"]);
        let inner = std::fs::canonicalize(dir.path().join("sub")).expect("cannot canonicalize");
        let inner_file = inner.join("one.yaml");
        let spelled_apart = PathBuf::from(format!("{}/sub/../sub", display(dir.path(), None)));
        let found: Vec<String> = discover(&[inner, dir.path().to_path_buf(), spelled_apart, inner_file])
            .map(|found| found.path().to_string())
            .collect();
        let prefix = display(dir.path(), None);
        assert_eq!(found, [format!("{prefix}/sub/one.yaml"), format!("{prefix}/two.yaml")]);
    }

    #[test]
    fn a_missing_root_is_reported_in_order_with_the_files() {
        let dir = tree(&["a.yaml", "c.yaml"]);
        let items: Vec<Found> = discover(&[dir.path().to_path_buf(), dir.path().join("b.yaml")]).collect();
        let kinds: Vec<bool> = items.iter().map(|item| matches!(item, Found::File(_))).collect();
        assert_eq!(kinds, [true, false, true], "{items:?}");
    }

    #[test]
    fn displayed_paths_drop_dot_components_and_the_working_directory() {
        assert_eq!(display(Path::new("./a/./b.yaml"), None), "a/b.yaml");
        assert_eq!(display(Path::new("dir//x.yaml"), None), "dir/x.yaml");
        assert_eq!(display(Path::new("../up/x.yaml"), None), "../up/x.yaml");
        assert_eq!(display(Path::new("/work/repo/p/x.yaml"), Some(Path::new("/work/repo"))), "p/x.yaml");
        assert_eq!(display(Path::new("/elsewhere/x.yaml"), Some(Path::new("/work/repo"))), "/elsewhere/x.yaml");
        assert_eq!(display(Path::new("."), None), ".");
    }

    #[test]
    fn path_order_compares_components() {
        assert_eq!(path_order("a/x", "a.yaml"), Ordering::Less);
        assert_eq!(path_order("a-b/x", "a.yaml"), Ordering::Less);
        assert_eq!(path_order("a/b", "a/b"), Ordering::Equal);
        assert_eq!(path_order("a", "a/b"), Ordering::Less);
    }
}
