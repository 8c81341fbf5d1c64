fn main() {
    let mut total = 0;
    let mut bytes = 0;
    let mut docs = 0;
    let t = std::time::Instant::now();
    for arg in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&arg).unwrap();
        bytes += text.len();
        match kfpguard::yaml::Tree::parse(text, None, Default::default()) {
            Ok(tree) => {
                docs += tree.document_count();
            }
            Err(e) => {
                let t = std::fs::read_to_string(&arg).unwrap();
                let l = t[..e.offset().min(t.len())].lines().count();
                println!("{arg}:{l}: {e}")
            }
        }
        total += 1;
    }
    eprintln!("{total} files {bytes} bytes {docs} docs in {:?}", t.elapsed());
}
