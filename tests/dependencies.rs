//! No side effects (issue 7): kfpguard never fetches or executes what it reads, and no
//! network crate is even linked in. Walks `cargo metadata`'s resolve graph from kfpguard
//! through normal and build dependencies (all platforms; dev-dependencies are test-only).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code may panic on its own fixtures

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;

/// Crates that speak a network protocol or run an async network runtime; names that start
/// with one of these followed by `-` or `_` (e.g. `hyper-util`, `tokio-rustls`) count too.
const NETWORK_CRATES: &[&str] = &[
    "reqwest",
    "hyper",
    "ureq",
    "curl",
    "openssl",
    "rustls",
    "native-tls",
    "tokio",
    "h2",
    "h3",
    "quinn",
    "surf",
    "isahc",
    "attohttpc",
    "async-std",
    "awc",
    "http-client",
];

fn is_network_crate(name: &str) -> bool {
    NETWORK_CRATES.iter().any(|banned| {
        name == *banned || name.strip_prefix(banned).is_some_and(|rest| rest.starts_with('-') || rest.starts_with('_'))
    })
}

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("cannot run cargo metadata");
    assert!(output.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("cargo metadata printed no JSON")
}

/// Names of every package kfpguard's normal and build dependencies pull in, transitively.
fn shipped_dependencies(metadata: &Value) -> BTreeSet<String> {
    let names: HashMap<&str, &str> = metadata["packages"]
        .as_array()
        .expect("no packages")
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let nodes: HashMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .expect("no resolve graph")
        .iter()
        .filter_map(|node| Some((node["id"].as_str()?, node)))
        .collect();
    let root = metadata["resolve"]["root"].as_str().expect("no root package");
    assert_eq!(names.get(root).copied(), Some("kfpguard"));
    let mut seen = BTreeSet::from([root]);
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        for dep in nodes.get(id).and_then(|node| node["deps"].as_array()).into_iter().flatten() {
            let shipped = dep["dep_kinds"].as_array().into_iter().flatten().any(|kind| kind["kind"] != "dev");
            let Some(dep_id) = dep["pkg"].as_str() else { continue };
            if shipped && seen.insert(dep_id) {
                stack.push(dep_id);
            }
        }
    }
    seen.remove(root);
    seen.iter().filter_map(|id| names.get(id).map(|name| name.to_string())).collect()
}

#[test]
fn no_network_crate_in_the_dependency_tree() {
    let shipped = shipped_dependencies(&metadata());
    // The walk works: direct dependencies are found, dev-dependencies are not.
    for expected in ["saphyr-parser", "serde_json", "clap", "ignore"] {
        assert!(shipped.contains(expected), "{expected} missing from {shipped:?}");
    }
    for dev_only in ["insta", "proptest", "criterion"] {
        assert!(!shipped.contains(dev_only), "dev-dependency {dev_only} counted as shipped");
    }
    let network: Vec<&String> = shipped.iter().filter(|name| is_network_crate(name)).collect();
    assert!(network.is_empty(), "network crates in kfpguard's dependency tree: {network:?}");
}

#[test]
fn the_network_crate_filter_matches_families() {
    assert!(is_network_crate("hyper-util") && is_network_crate("tokio_rustls") && is_network_crate("reqwest"));
    assert!(!is_network_crate("hyperloglog") && !is_network_crate("curlew") && !is_network_crate("serde"));
}
