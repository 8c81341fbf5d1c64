//! Kubernetes building blocks shared by every adapter whose containers are Kubernetes
//! container specs (Argo, Tekton, Kubernetes workloads, the generic fallback): reading a
//! container, its env, and a pod's security-relevant settings.

use crate::model::{Container, EnvValue, EnvVar, PodSettings, Role, SecurityContext, Setting, Volume};
use crate::yaml::NodeRef;

/// Reads a Kubernetes-style container mapping (`name`, `image`, `command`, `args`, `env`,
/// `resources.limits` or Tekton's `computeResources.limits`, `securityContext`, and the
/// `script`/`source` code fields of Tekton and Argo). `path` is its symbolic location.
pub fn read_container<'t>(node: NodeRef<'t>, role: Role, path: String) -> Container<'t> {
    let name_node = node.get("name");
    let image = node.get("image");
    let name = name_node
        .and_then(|n| n.as_str())
        .or_else(|| image.and_then(|i| i.as_str()))
        .unwrap_or("container")
        .to_string();
    let anchor = name_node.or_else(|| node.key("image")).unwrap_or(node);
    let mut container = Container::new(name, role, anchor, path);
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
    container
}

/// Reads the pod-level settings of a pod spec (or anything shaped like one: an Argo
/// workflow spec or template, a Tekton pod template).
pub fn read_pod_settings<'t>(node: NodeRef<'t>, name: String) -> PodSettings<'t> {
    let mut pod = PodSettings::new(name, node);
    if let Some(security) = node.get("securityContext") {
        pod.security = SecurityContext::read(security);
    }
    pod.host_network = Setting::of(node, "hostNetwork");
    pod.host_pid = Setting::of(node, "hostPID");
    pod.host_ipc = Setting::of(node, "hostIPC");
    pod.volumes = node.get("volumes").into_iter().flat_map(|list| list.items()).map(read_volume).collect();
    pod
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
