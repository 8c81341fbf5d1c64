//! Embeds the declarative rules of `rules/` into the binary: writes a list of
//! `(file stem, file contents)` for every `rules/*.yaml` to `$OUT_DIR/builtin_rules.rs`.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".to_string());
    let dir = Path::new(&manifest).join("rules");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|path| path.extension().is_some_and(|e| e == "yaml"));
    files.sort();
    let mut code = String::from("&[\n");
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let _ = writeln!(code, "    ({stem:?}, include_str!({:?})),", path.display().to_string());
    }
    code.push_str("]\n");
    let out = std::env::var("OUT_DIR").unwrap_or_else(|_| ".".to_string());
    if let Err(error) = std::fs::write(Path::new(&out).join("builtin_rules.rs"), code) {
        panic!("cannot write builtin_rules.rs: {error}");
    }
}
