//! `docs/config.schema.json` (the JSON Schema of `.kfpguard.yaml`, for editors) must agree with
//! the config parser in `src/config.rs`: same rule ids, same keys, same required fields.
//!
//! YAML is turned into JSON with kfpguard's own tree (`kfpguard::yaml::Tree`), using the YAML
//! 1.2 core schema for plain scalars, as editors' YAML language servers do.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use kfpguard::yaml::{Limits, NodeRef, Tree};
use serde_json::Value;

fn schema() -> Value {
    let text = std::fs::read_to_string(SCHEMA_PATH).expect("docs/config.schema.json is readable");
    serde_json::from_str(&text).expect("docs/config.schema.json is JSON")
}

fn validator() -> jsonschema::Validator {
    let schema = schema();
    jsonschema::draft202012::meta::validate(&schema).expect("the schema is a valid draft 2020-12 schema");
    jsonschema::draft202012::new(&schema).expect("the schema compiles")
}

/// A YAML node as JSON: plain `null`/`~`/empty is null, plain booleans and numbers are
/// booleans and numbers, every other scalar is a string.
fn to_json(node: NodeRef<'_>) -> Value {
    if node.is_mapping() {
        return Value::Object(
            node.entries().map(|(key, value)| (key.as_str().unwrap_or_default().to_string(), to_json(value))).collect(),
        );
    }
    if node.is_sequence() {
        return Value::Array(node.items().map(to_json).collect());
    }
    if node.is_null() {
        return Value::Null;
    }
    if let Some(flag) = node.as_bool() {
        return Value::Bool(flag);
    }
    let text = node.as_str().unwrap_or_default();
    if node.style() == Some(saphyr_parser::ScalarStyle::Plain) {
        if let Ok(number) = text.parse::<i64>() {
            return Value::from(number);
        }
        if let Some(number) = text.parse::<f64>().ok().filter(|n| n.is_finite()).and_then(serde_json::Number::from_f64)
        {
            return Value::Number(number);
        }
    }
    Value::String(text.to_string())
}

/// The first document of a YAML text as JSON (null for an empty text).
fn yaml_to_json(text: &str) -> Value {
    let tree = Tree::parse(text.to_string(), None, Limits::default()).expect("valid YAML");
    tree.documents().next().map_or(Value::Null, to_json)
}

/// The schema's verdict on a YAML config: `Ok` or the validation errors.
fn check(validator: &jsonschema::Validator, yaml: &str) -> Result<(), Vec<String>> {
    let instance = yaml_to_json(yaml);
    let errors: Vec<String> =
        validator.iter_errors(&instance).map(|error| format!("{} at {}", error, error.instance_path())).collect();
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// A config using every key the parser knows, in each of its spellings.
const FULL_EXAMPLE: &str = r#"
rules:
  run-as-root: false
  runtime-package-install: true
  missing-cpu-limit: {severity: low}
  missing-memory-limit:
    enabled: true
    severity: high
settings:
  secret-name-words: [passphrase, pin]
  allowed-http-hosts: ["mirror.corp.example", "*.internal.example"]
  allowed-registries: registry.corp.example/
ignore:
  - rule: missing-cpu-limit
    paths: ["pipelines/legacy/**"]
    pipeline: "legacy-*"
    task: "*"
    container: "exec-*"
    reason: legacy pipelines run in a namespace with a LimitRange
    expires: 2027-06-30
  - rules: [secret-in-env, secret-in-parameter-default]
    path: pipelines/demo.yaml
    template: demo-*
    executor: exec-demo
    reason: demo credentials, rotated daily
  - rule: []
    step: smoke-test
    reason: every finding of the smoke-test step is accepted
  - reason: the whole sandbox folder
    paths: sandbox/**
"#;

const SCHEMA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/config.schema.json");

/// `text` with the array of `$defs.ruleId.enum` replaced by `ids`, the rest untouched.
fn with_rule_ids(text: &str, ids: &[&str]) -> String {
    let def = text.find("\"ruleId\": {").expect("$defs.ruleId in the schema");
    let open = def + text[def..].find("\"enum\": [").expect("$defs.ruleId.enum") + "\"enum\": [".len();
    let close = open + text[open..].find(']').expect("end of the enum");
    let indent = " ".repeat(text[..def].rsplit('\n').next().unwrap_or_default().len());
    let items: Vec<String> = ids.iter().map(|id| format!("\n{indent}    \"{id}\"")).collect();
    format!("{}{}\n{indent}  {}", &text[..open], items.join(","), &text[close..])
}

#[test]
fn rule_id_enum_is_the_rule_catalogue() {
    let schema = schema();
    let mut in_schema: Vec<&str> = schema["$defs"]["ruleId"]["enum"]
        .as_array()
        .expect("$defs.ruleId.enum is an array")
        .iter()
        .map(|id| id.as_str().expect("rule ids are strings"))
        .collect();
    in_schema.sort_unstable();
    let mut rules: Vec<&str> = kfpguard::rules::all().iter().map(|rule| rule.meta.id).collect();
    rules.sort_unstable();
    if in_schema != rules && std::env::var_os("KFPGUARD_UPDATE_SCHEMA").is_some() {
        let text = std::fs::read_to_string(SCHEMA_PATH).unwrap();
        let updated = with_rule_ids(&text, &rules);
        let parsed: Value = serde_json::from_str(&updated).expect("the updated schema is JSON");
        assert_eq!(parsed["$defs"]["ruleId"]["enum"], serde_json::json!(rules));
        std::fs::write(SCHEMA_PATH, updated).unwrap();
        eprintln!("updated the rule ids of docs/config.schema.json");
        return;
    }
    assert_eq!(
        in_schema, rules,
        "docs/config.schema.json's rule ids are stale: run \
         `KFPGUARD_UPDATE_SCHEMA=1 cargo test --test config_schema` to update them"
    );
}

#[test]
fn rule_id_update_rewrites_only_the_enum() {
    let text = std::fs::read_to_string(SCHEMA_PATH).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let ids: Vec<&str> =
        schema["$defs"]["ruleId"]["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(with_rule_ids(&text, &ids), text, "the update reproduces the file byte for byte");
    let updated: Value = serde_json::from_str(&with_rule_ids(&text, &["a-rule", "b-rule"])).unwrap();
    assert_eq!(updated["$defs"]["ruleId"]["enum"], serde_json::json!(["a-rule", "b-rule"]));
    assert_eq!(updated["$defs"]["severity"], schema["$defs"]["severity"]);
}

#[test]
fn starter_config_validates() {
    let validator = validator();
    assert_eq!(check(&validator, kfpguard::config::STARTER), Ok(()));
    let uncommented = uncommented_starter();
    assert!(uncommented.contains("  - rule: missing-cpu-limit\n"), "{uncommented}");
    kfpguard::config::parse("uncommented starter", &uncommented).expect("the parser accepts the uncommented starter");
    assert_eq!(check(&validator, &uncommented), Ok(()), "{uncommented}");
}

/// The starter config with its example lines (`  # key: value`, as opposed to prose comments,
/// which start with a capital) uncommented; examples for rules that do not exist are left out.
fn uncommented_starter() -> String {
    let mut section = "";
    let mut out = String::new();
    for line in kfpguard::config::STARTER.lines() {
        if !line.starts_with([' ', '#']) {
            section = line.split(':').next().unwrap_or_default();
        }
        let example = line
            .strip_prefix("  # ")
            .filter(|rest| rest.trim_start().starts_with(|c: char| c.is_ascii_lowercase() || c == '-'))
            .map(|rest| rest.split("  #").next().unwrap_or(rest).trim_end());
        match example {
            Some(code) => {
                let key = code.split(':').next().unwrap_or_default().trim();
                if section == "rules" && kfpguard::rules::find(key).is_none() {
                    continue;
                }
                out.push_str("  ");
                out.push_str(code);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[test]
fn full_example_validates_and_parses() {
    let validator = validator();
    kfpguard::config::parse("full example", FULL_EXAMPLE).expect("the parser accepts the full example");
    assert_eq!(check(&validator, FULL_EXAMPLE), Ok(()));
}

#[test]
fn documented_config_example_validates_and_parses() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md is readable");
    let start =
        docs.find("```yaml\n# .kfpguard.yaml").expect("README.md has a `# .kfpguard.yaml` block") + "```yaml\n".len();
    let example = &docs[start..start + docs[start..].find("```").expect("the block is closed")];
    kfpguard::config::parse("README.md", example).expect("the parser accepts the documented example");
    assert_eq!(check(&validator(), example), Ok(()));
}

/// Configs both the parser and the schema accept.
const VALID: &[&str] = &[
    "",
    "# only a comment\n",
    "rules:\nsettings:\nignore:\n",
    "rules: {}\nsettings: {}\nignore: []\n",
    "rules: {secret-in-env: true}\n",
    "rules: {secret-in-env: {}}\n",
    "settings: {allowed-http-hosts: mirror.corp}\n",
    "ignore:\n- reason: everything, for now\n",
    "ignore:\n- {rule: run-as-root, reason: x, expires: 2026-12-31}\n",
];

/// Configs both the parser and the schema reject.
const INVALID: &[&str] = &[
    "[]\n",
    "unknown: 1\n",
    "rules: {no-such-rule: true}\n",
    "rules: {run-as-root: }\n",
    "rules: {run-as-root: yes}\n",
    "rules: {run-as-root: {enabled: \"true\"}}\n",
    "rules: {run-as-root: {severity: critical}}\n",
    "rules: {run-as-root: {level: high}}\n",
    "settings: {no-such-setting: []}\n",
    "settings: {allowed-http-hosts: }\n",
    "settings: {allowed-http-hosts: [a, {b: c}]}\n",
    "ignore: {rule: run-as-root, reason: x}\n",
    "ignore:\n- rule: run-as-root\n",
    "ignore:\n- {rule: run-as-root, reason: '   '}\n",
    "ignore:\n- {rule: no-such-rule, reason: x}\n",
    "ignore:\n- {rules: [run-as-root, no-such-rule], reason: x}\n",
    "ignore:\n- {reason: x, expires: tomorrow}\n",
    "ignore:\n- {reason: x, expires: 2027-13-01}\n",
    "ignore:\n- {reason: x, expires: 2027-1-01}\n",
    "ignore:\n- {reason: x, owner: me}\n",
    "ignore:\n- just a string\n",
];

#[test]
fn schema_and_parser_agree() {
    let validator = validator();
    for config in VALID {
        assert!(kfpguard::config::parse("valid", config).is_ok(), "the parser rejects:\n{config}");
        assert_eq!(check(&validator, config), Ok(()), "the schema rejects:\n{config}");
    }
    for config in INVALID {
        assert!(kfpguard::config::parse("invalid", config).is_err(), "the parser accepts:\n{config}");
        assert!(check(&validator, config).is_err(), "the schema accepts:\n{config}");
    }
}
