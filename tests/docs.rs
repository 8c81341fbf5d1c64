//! Documentation generated from the rule definitions must not go stale.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

#[test]
fn readme_rules_table_is_generated_from_the_rules() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start =
        readme.find("<!-- rules-table:start -->\n").expect("start marker") + "<!-- rules-table:start -->\n".len();
    let end = readme.find("<!-- rules-table:end -->").expect("end marker");
    let expected = kfpguard::rules::markdown_table();
    assert_eq!(
        &readme[start..end],
        expected,
        "README rules table is stale: regenerate it with `kfpguard --list-rules --format markdown`"
    );
}
