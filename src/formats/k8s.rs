//! Kubernetes building blocks shared by every adapter whose containers are Kubernetes
//! container specs (Argo, Tekton, Kubernetes workloads, the generic fallback): reading a
//! container, its env, and a pod's security-relevant settings.

use crate::model::{Container, EnvValue, EnvVar, PodSettings, Role, SecurityContext, Setting, Volume};
use crate::yaml::NodeRef;

/// Reads a Kubernetes-style container mapping (`name`, `image`, `command`, `args`, `env`,
/// `resources.limits` or Tekton's `computeResources.limits`, `securityContext`, and the
/// `script`/`source` code fields of Tekton and Argo). `path` is its symbolic location.
pub fn read_container<'t>(node: NodeRef<'t>, role: Role, path: String) -> Container<'t> {
    // One pass over the mapping instead of a lookup per field: containers are read by the
    // thousand. A repeated key's last value wins, as with `NodeRef::get`.
    let mut fields = ContainerFields::default();
    for (key, value) in node.entries() {
        let field = match key.as_str() {
            Some("name") => &mut fields.name,
            Some("image") => {
                fields.image_key = Some(key);
                &mut fields.image
            }
            Some("command") => &mut fields.command,
            Some("args") => &mut fields.args,
            Some("script") => &mut fields.script,
            Some("source") => &mut fields.source,
            Some("env") => &mut fields.env,
            Some("resources") => &mut fields.resources,
            Some("computeResources") => &mut fields.compute_resources,
            Some("securityContext") => &mut fields.security,
            _ => continue,
        };
        *field = Some(value);
    }
    let name =
        fields.name.and_then(|n| n.as_str()).or_else(|| fields.image.and_then(|i| i.as_str())).unwrap_or("container");
    let anchor = fields.name.or(fields.image_key).unwrap_or(node);
    let mut container = Container::new(name, role, anchor, path);
    container.image = fields.image;
    container.command = fields.command.map(|list| list.items().collect()).unwrap_or_default();
    container.args = fields.args.map(|list| list.items().collect()).unwrap_or_default();
    container.script = fields.script.or(fields.source).filter(|s| s.as_str().is_some());
    container.env = env_list(fields.env);
    let limits = |resources: Option<NodeRef<'t>>| resources.and_then(|r| r.get("limits"));
    if let Some(limits) = limits(fields.resources).or_else(|| limits(fields.compute_resources)) {
        container.cpu_limit = Setting::of(limits, "cpu");
        container.memory_limit = Setting::of(limits, "memory");
    }
    if let Some(security) = fields.security {
        container.security = SecurityContext::read(security);
    }
    container
}

/// The fields of a container mapping that [`read_container`] reads.
#[derive(Default)]
struct ContainerFields<'t> {
    name: Option<NodeRef<'t>>,
    image: Option<NodeRef<'t>>,
    image_key: Option<NodeRef<'t>>,
    command: Option<NodeRef<'t>>,
    args: Option<NodeRef<'t>>,
    script: Option<NodeRef<'t>>,
    source: Option<NodeRef<'t>>,
    env: Option<NodeRef<'t>>,
    resources: Option<NodeRef<'t>>,
    compute_resources: Option<NodeRef<'t>>,
    security: Option<NodeRef<'t>>,
}

/// Reads the pod-level settings of a pod spec (or anything shaped like one: an Argo
/// workflow spec or template, a Tekton pod template).
pub fn read_pod_settings<'t>(node: NodeRef<'t>, name: String) -> PodSettings<'t> {
    let mut pod = PodSettings::new(name, node);
    // One pass over the mapping, as in `read_container`: every template and task spec is
    // read as a pod. A repeated key's last value wins, as with `NodeRef::get`.
    let (mut security, mut volumes) = (None, None);
    for (key, value) in node.entries() {
        let setting = match key.as_str() {
            Some("securityContext") => {
                security = Some(value);
                continue;
            }
            Some("volumes") => {
                volumes = Some(value);
                continue;
            }
            Some("hostNetwork") => &mut pod.host_network,
            Some("hostPID") => &mut pod.host_pid,
            Some("hostIPC") => &mut pod.host_ipc,
            _ => continue,
        };
        *setting = Some(Setting { key, value });
    }
    if let Some(security) = security {
        pod.security = SecurityContext::read(security);
    }
    pod.volumes = volumes.into_iter().flat_map(|list| list.items()).map(read_volume).collect();
    pod
}

/// Kubernetes-style `env`: literal `value` or a `valueFrom` reference.
pub fn read_env<'t>(container: NodeRef<'t>) -> Vec<EnvVar<'t>> {
    env_list(container.get("env"))
}

/// The variables of an `env` list.
fn env_list(list: Option<NodeRef<'_>>) -> Vec<EnvVar<'_>> {
    let Some(list) = list else { return Vec::new() };
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
