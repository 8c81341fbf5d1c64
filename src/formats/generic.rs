//! The fallback for YAML no adapter claims: any mapping with a string `image` is a
//! container (with its sibling command/args/env/resources/securityContext), and any
//! mapping with a `containers` list is a pod whose settings those containers inherit.
//! It keeps kfpguard from being blind to formats it does not know yet; it runs only on
//! documents no adapter claimed, so nothing is reported twice.

use std::collections::HashSet;

use crate::model::{
    Container, EnvValue, EnvVar, Format, Pipeline, PodSettings, Role, SecurityContext, Setting, Volume,
};
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
        let mut pod = PodSettings::new(if path.is_empty() { "pod".to_string() } else { path.to_string() }, node);
        if let Some(security) = node.get("securityContext") {
            pod.security = SecurityContext::read(security);
        }
        pod.host_network = Setting::of(node, "hostNetwork");
        pod.host_pid = Setting::of(node, "hostPID");
        pod.host_ipc = Setting::of(node, "hostIPC");
        pod.volumes = node.get("volumes").into_iter().flat_map(|list| list.items()).map(read_volume).collect();
        self.pipeline.pods.push(pod);
        self.pipeline.pods.len() - 1
    }

    fn add_container(&mut self, node: NodeRef<'t>, path: &str, pod: Option<usize>, role: Role) {
        let name_node = node.get("name");
        let image = node.get("image");
        let name = name_node
            .and_then(|n| n.as_str())
            .or_else(|| image.and_then(|i| i.as_str()))
            .unwrap_or("container")
            .to_string();
        let anchor = name_node.or_else(|| node.key("image")).unwrap_or(node);
        let mut container = Container::new(name, role, anchor, path.to_string());
        container.image = image;
        container.command = node.get("command").map(|list| list.items().collect()).unwrap_or_default();
        container.args = node.get("args").map(|list| list.items().collect()).unwrap_or_default();
        container.script = node.get("script").or_else(|| node.get("source")).filter(|s| s.as_str().is_some());
        container.env = read_env(node);
        if let Some(limits) = node.at(&["resources", "limits"]).or_else(|| node.at(&["computeResources", "limits"])) {
            container.cpu_limit = Setting::of(limits, "cpu");
            container.memory_limit = Setting::of(limits, "memory");
        }
        if let Some(security) = node.get("securityContext") {
            container.security = SecurityContext::read(security);
        }
        container.pod = pod;
        self.pipeline.containers.push(container);
    }
}

/// Kubernetes-style `env`: literal `value` or a `valueFrom` reference.
pub fn read_env<'t>(container: NodeRef<'t>) -> Vec<EnvVar<'t>> {
    let Some(list) = container.get("env") else { return Vec::new() };
    list.items()
        .filter_map(|entry| {
            let name = entry.get("name")?;
            let value = match (entry.get("value"), entry.get("valueFrom")) {
                (_, Some(from)) if from.get("secretKeyRef").is_some() => EnvValue::Reference("secretKeyRef"),
                (_, Some(_)) => EnvValue::Reference("valueFrom"),
                (Some(value), None) => EnvValue::Literal(value),
                (None, None) => return None,
            };
            Some(EnvVar { name, value })
        })
        .collect()
}

/// A pod volume, noting whether it mounts a host path.
pub fn read_volume(volume: NodeRef<'_>) -> Volume<'_> {
    Volume { name: volume.get("name"), host_path: Setting::of(volume, "hostPath") }
}
