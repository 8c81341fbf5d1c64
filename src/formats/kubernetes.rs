//! Kubernetes workloads that live next to pipelines (serving, jobs): Pod, Deployment,
//! StatefulSet, DaemonSet, ReplicaSet, Job, CronJob. Each becomes one "pipeline" named
//! after the object, whose containers inherit the pod template's settings.

use std::sync::Arc;

use super::k8s;
use crate::model::{Format, Pipeline, Role};
use crate::yaml::NodeRef;

/// Workload kinds and the path from the document to their pod spec.
const POD_SPEC_PATHS: &[(&str, &[&str])] = &[
    ("Pod", &["spec"]),
    ("Deployment", &["spec", "template", "spec"]),
    ("StatefulSet", &["spec", "template", "spec"]),
    ("DaemonSet", &["spec", "template", "spec"]),
    ("ReplicaSet", &["spec", "template", "spec"]),
    ("ReplicationController", &["spec", "template", "spec"]),
    ("Job", &["spec", "template", "spec"]),
    ("CronJob", &["spec", "jobTemplate", "spec", "template", "spec"]),
    ("PodTemplate", &["template", "spec"]),
];

/// The pod spec of a workload document, with its symbolic path.
pub fn pod_spec<'t>(document: NodeRef<'t>) -> Option<(NodeRef<'t>, String)> {
    let kind = document.get("kind")?.as_str()?;
    let api_version = document.get("apiVersion")?.as_str()?;
    // Other APIs reuse these kind names (Argo, Tekton, custom resources).
    let core = matches!(
        api_version,
        "v1" | "apps/v1" | "batch/v1" | "batch/v1beta1" | "apps/v1beta1" | "apps/v1beta2" | "extensions/v1beta1"
    );
    if !core {
        return None;
    }
    let (_, path) = POD_SPEC_PATHS.iter().find(|(known, _)| *known == kind)?;
    let spec = document.at(path)?;
    spec.is_mapping().then(|| (spec, path.join(".")))
}

/// The pipeline of a workload document, if it is one.
pub fn pipeline<'t>(document: NodeRef<'t>, fallback_name: &str) -> Option<Pipeline<'t>> {
    let (spec, path) = pod_spec(document)?;
    let kind = document.get("kind").and_then(|k| k.as_str()).unwrap_or("Pod");
    let name_node = document.at(&["metadata", "name"]).or_else(|| document.at(&["metadata", "generateName"]));
    let name = name_node.and_then(|n| n.as_str()).unwrap_or(fallback_name).to_string();
    let mut pipeline = Pipeline {
        name: name.clone(),
        format: Format::Kubernetes,
        anchor: name_node.unwrap_or(document),
        containers: Vec::new(),
        parameters: Vec::new(),
        pods: Vec::new(),
    };
    add_pod_spec(&mut pipeline, spec, format!("{kind} {name}"), &path, &Arc::default());
    Some(pipeline)
}

/// Adds a pod spec's settings and its containers (`containers`, `initContainers`,
/// `ephemeralContainers`) to `pipeline`; `steps` name what runs the pod. Returns the index
/// of the pod settings.
pub fn add_pod_spec<'t>(
    pipeline: &mut Pipeline<'t>,
    spec: NodeRef<'t>,
    name: String,
    path: &str,
    steps: &Arc<[String]>,
) -> usize {
    let pod = pipeline.pods.len();
    pipeline.pods.push(k8s::read_pod_settings(spec, name));
    for (key, role) in
        [("initContainers", Role::Init), ("containers", Role::Main), ("ephemeralContainers", Role::Sidecar)]
    {
        for node in spec.get(key).into_iter().flat_map(|list| list.items()) {
            let label = node.get("name").and_then(|n| n.as_str()).unwrap_or("?");
            let mut container = k8s::read_container(node, role, format!("{path}.{key}.{label}"));
            container.steps = Arc::clone(steps);
            container.pod = Some(pod);
            pipeline.containers.push(container);
        }
    }
    pod
}
