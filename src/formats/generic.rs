//! The fallback for YAML no adapter claims: any mapping with a string `image` is a
//! container (with its sibling command/args/env/resources/securityContext), and any
//! mapping with a `containers` list is a pod whose settings those containers inherit.
//! It keeps kfpguard from being blind to formats it does not know yet; it runs only on
//! documents no adapter claimed, so nothing is reported twice.

use std::collections::HashSet;

use super::k8s;
use crate::model::{Format, Pipeline, Role};
use crate::yaml::NodeRef;

/// The containers of a document, or `None` if it has none.
pub fn pipeline<'t>(document: NodeRef<'t>, fallback_name: &str) -> Option<Pipeline<'t>> {
    let name_node = document.at(&["metadata", "name"]).or_else(|| document.get("name"));
    let name = name_node.and_then(|node| node.as_str()).unwrap_or(fallback_name).to_string();
    let mut pipeline = Pipeline {
        name,
        format: Format::Generic,
        anchor: name_node.unwrap_or(document),
        containers: Vec::new(),
        parameters: Vec::new(),
        pods: Vec::new(),
    };
    let mut walker = Walker { pipeline: &mut pipeline, visited: HashSet::new() };
    walker.visit(document, String::new(), None, Role::Main);
    (!pipeline.containers.is_empty()).then_some(pipeline)
}

struct Walker<'p, 't> {
    pipeline: &'p mut Pipeline<'t>,
    /// Nodes already walked: an alias leads to the same node again, and is walked once.
    visited: HashSet<u32>,
}

impl<'t> Walker<'_, 't> {
    fn visit(&mut self, node: NodeRef<'t>, path: String, pod: Option<usize>, role: Role) {
        if (node.is_sequence() || node.is_mapping()) && !self.visited.insert(node.id()) {
            return;
        }
        if node.is_sequence() {
            for (index, item) in node.items().enumerate() {
                let label = item.get("name").and_then(|n| n.as_str()).map_or_else(|| index.to_string(), str::to_string);
                self.visit(item, format!("{path}[{label}]"), pod, role);
            }
            return;
        }
        if !node.is_mapping() {
            return;
        }
        if node.get("image").and_then(|image| image.as_str()).is_some() {
            self.add_container(node, &path, pod, role);
        }
        let pod =
            if node.get("containers").is_some_and(|c| c.is_sequence()) { Some(self.add_pod(node, &path)) } else { pod };
        for (key, value) in node.entries() {
            let Some(key_text) = key.as_str() else { continue };
            let child_role = match key_text {
                "initContainers" => Role::Init,
                "sidecars" => Role::Sidecar,
                "containers" => Role::Main,
                _ => role,
            };
            let child_path = if path.is_empty() { key_text.to_string() } else { format!("{path}.{key_text}") };
            self.visit(value, child_path, pod, child_role);
        }
    }

    fn add_pod(&mut self, node: NodeRef<'t>, path: &str) -> usize {
        let name = if path.is_empty() { "pod".to_string() } else { path.to_string() };
        self.pipeline.pods.push(k8s::read_pod_settings(node, name));
        self.pipeline.pods.len() - 1
    }

    fn add_container(&mut self, node: NodeRef<'t>, path: &str, pod: Option<usize>, role: Role) {
        let mut container = k8s::read_container(node, role, path.to_string());
        container.pod = pod;
        self.pipeline.containers.push(container);
    }
}
