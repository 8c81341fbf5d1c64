//! Position mapping of scalars: for every scalar of any text that parses, `NodeRef::text()`
//! (built by `yaml::scalar::map_scalar`) must decode to exactly the scalar's value and map
//! every byte into the file, on a character boundary. The same holds for the documents found
//! inside string scalars (`formats::Embedded`), whose maps are composed with the outer one.
#![no_main]

use kfpguard::formats::Embedded;
use kfpguard::yaml::{Limits, NodeRef, Tree};
use libfuzzer_sys::fuzz_target;

fn check(file: &str, node: NodeRef<'_>, level: &str) {
    let Some(value) = node.as_str() else { return };
    let text = node.text();
    assert_eq!(text.as_str(), value, "{level} scalar at {:?}: text() differs from the value", node.span());
    for index in (0..=value.len()).filter(|&i| value.is_char_boundary(i)) {
        let offset = text.source_offset(index);
        assert!(offset <= file.len(), "{level} scalar {value:?}: byte {index} maps to {offset}, past the file");
        assert!(file.is_char_boundary(offset), "{level} scalar {value:?}: byte {index} maps inside a char ({offset})");
    }
    let span = node.file_span();
    assert!(span.start <= span.end && span.end <= file.len(), "{level} scalar {value:?}: file span {span:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(file) = std::str::from_utf8(data) else { return };
    let limits = Limits::default();
    let Ok(tree) = Tree::parse(file.to_string(), None, limits) else { return };
    let embedded = Embedded::new(limits, file.len());
    for node in tree.scalars() {
        check(file, node, "outer");
        if let Some(inner) = embedded.parse(node) {
            for inner_node in inner.scalars() {
                check(file, inner_node, "embedded");
            }
        }
    }
});
