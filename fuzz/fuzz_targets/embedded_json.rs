//! The JSON reader for embedded strings (`yaml::json`, reached through
//! `Tree::parse_likely_json`; here through `Tree::parse_json_or_yaml`) must build exactly the
//! tree the YAML parser builds for the same text: the same nodes in the same order, with the
//! same spans, styles and values, and both must refuse the same texts. Whatever it is not
//! sure about it hands to the YAML parser, so any difference is a bug in the reader.
#![no_main]

use kfpguard::yaml::{Limits, NodeRef, Tree};
use libfuzzer_sys::fuzz_target;

/// Every node of a document in order: its kind, span, style and value.
fn nodes(node: NodeRef<'_>, out: &mut Vec<String>) {
    if node.is_mapping() {
        out.push(format!("map {:?}", node.span()));
        for (key, value) in node.entries() {
            nodes(key, out);
            nodes(value, out);
        }
    } else if node.is_sequence() {
        out.push(format!("seq {:?}", node.span()));
        node.items().for_each(|item| nodes(item, out));
    } else {
        out.push(format!("scalar {:?} {:?} {:?} {}", node.span(), node.style(), node.as_str(), node.is_null()));
    }
}

fn dump(tree: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    tree.documents().for_each(|document| nodes(document, &mut out));
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let limits = Limits::default();
    let likely_json = Tree::parse_json_or_yaml(text.to_string(), limits);
    let yaml = Tree::parse(text.to_string(), None, limits);
    match (likely_json, yaml) {
        (Ok(likely_json), Ok(yaml)) => assert_eq!(dump(&likely_json), dump(&yaml), "trees differ for {text:?}"),
        (Err(_), Err(_)) => {}
        (likely_json, yaml) => {
            panic!("one reader refused {text:?}: JSON path ok={}, YAML parser ok={}", likely_json.is_ok(), yaml.is_ok())
        }
    }
});
