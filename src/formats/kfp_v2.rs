//! Kubeflow Pipelines v2: the IR (`PipelineSpec`) the `kfp` 2.x compilers write, its
//! Kubernetes platform-spec document, the older PipelineJob JSON wrapper and compiled
//! component files.
//!
//! Containers are resolved through the IR's references (task -> `componentRef` ->
//! `executorLabel` -> executor), never by rebuilding names, and the platform spec is
//! joined onto the executor it configures.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::model::{
    Container, EnvValue, EnvVar, Format, ParameterKind, Pipeline, PodSettings, Role, SecurityContext, Setting,
};
use crate::yaml::NodeRef;

/// The IR inside a document, if the document is one (or wraps one).
pub fn pipeline_spec<'t>(root: NodeRef<'t>) -> Option<NodeRef<'t>> {
    if root.get("deploymentSpec").is_some() && (root.get("root").is_some() || root.get("components").is_some()) {
        return Some(root);
    }
    let wrapped = root.get("pipelineSpec")?;
    wrapped.get("deploymentSpec").is_some().then_some(wrapped)
}

/// The `platforms.kubernetes` section of a platform-spec document.
pub fn platform_spec<'t>(root: NodeRef<'t>) -> Option<NodeRef<'t>> {
    root.at(&["platforms", "kubernetes"])
}

/// Builds the pipeline of one IR document, joined with the file's platform spec, if any.
pub fn pipeline<'t>(document: NodeRef<'t>, platform: Option<NodeRef<'t>>, fallback_name: &str) -> Pipeline<'t> {
    let spec = pipeline_spec(document).unwrap_or(document);
    let name_node = spec.at(&["pipelineInfo", "name"]);
    let name = name_node.and_then(|node| node.as_str()).unwrap_or(fallback_name).to_string();
    let mut pipeline = Pipeline {
        name,
        format: Format::KfpV2,
        anchor: name_node.unwrap_or(spec),
        containers: Vec::new(),
        parameters: Vec::new(),
        pods: Vec::new(),
    };
    let tasks_by_executor = tasks_by_executor(spec);
    let platform_configs =
        platform.and_then(|platform| platform.at(&["deploymentSpec", "executors"])).map(by_key).unwrap_or_default();
    if let Some(executors) = spec.at(&["deploymentSpec", "executors"]) {
        for (label_node, executor) in executors.entries() {
            let Some(label) = label_node.as_str() else { continue };
            let steps: Arc<[String]> = match tasks_by_executor.get(label) {
                Some(tasks) => tasks.iter().map(|step| step.to_string()).collect(),
                None => Arc::default(),
            };
            let config = platform_configs.get(label).copied();
            let pod = config.map(|config| add_platform_config(&mut pipeline, label, config, &steps));
            let secret_env = config.map(secret_env_names).unwrap_or_default();
            let first = pipeline.containers.len();
            add_executor_containers(&mut pipeline.containers, label_node, label, executor);
            for container in &mut pipeline.containers[first..] {
                container.steps = Arc::clone(&steps);
                container.pod = pod;
                // Variables the platform spec fills from Secrets are references, never literals.
                container
                    .env
                    .extend(secret_env.iter().map(|&name| EnvVar { name, value: EnvValue::Reference("secretAsEnv") }));
            }
        }
    }
    read_parameters(&mut pipeline, spec);
    if let Some(runtime_config) = document.get("runtimeConfig") {
        read_runtime_config(&mut pipeline, runtime_config);
    }
    pipeline
}

/// A pipeline for a platform-spec document whose IR is not in the same file: only its
/// init containers and pod settings can be checked.
pub fn platform_only<'t>(document: NodeRef<'t>, platform: NodeRef<'t>, fallback_name: &str) -> Pipeline<'t> {
    let mut pipeline = Pipeline {
        name: fallback_name.to_string(),
        format: Format::KfpV2Platform,
        anchor: document,
        containers: Vec::new(),
        parameters: Vec::new(),
        pods: Vec::new(),
    };
    if let Some(configs) = platform.at(&["deploymentSpec", "executors"]) {
        for (label_node, config) in configs.entries() {
            let Some(label) = label_node.as_str() else { continue };
            add_platform_config(&mut pipeline, label, config, &Arc::default());
        }
    }
    pipeline
}

/// Executor label -> keys of the tasks (in any DAG) that run it, in file order.
fn tasks_by_executor(spec: NodeRef<'_>) -> BTreeMap<&str, Vec<&str>> {
    let components = spec.get("components");
    let components_by_name = components.map(by_key).unwrap_or_default();
    let executor_of = |component: &str| components_by_name.get(component)?.get("executorLabel")?.as_str();
    let mut dags: Vec<NodeRef<'_>> = spec.at(&["root", "dag", "tasks"]).into_iter().collect();
    if let Some(components) = components {
        dags.extend(components.entries().filter_map(|(_, component)| component.at(&["dag", "tasks"])));
    }
    let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for tasks in dags {
        for (task_key, task) in tasks.entries() {
            let (Some(task_name), Some(component)) =
                (task_key.as_str(), task.at(&["componentRef", "name"]).and_then(|n| n.as_str()))
            else {
                continue;
            };
            if let Some(executor) = executor_of(component) {
                map.entry(executor).or_default().push(task_name);
            }
        }
    }
    // A compiled component: the root itself names the executor.
    if let Some(executor) = spec.at(&["root", "executorLabel"]).and_then(|n| n.as_str()) {
        map.entry(executor).or_default().push("root");
    }
    map
}

/// The values of a mapping by their (string) keys, the last one if a key repeats, as
/// [`NodeRef::get`] finds them. Built once per mapping where every task or executor looks a
/// key up: `get` scans the mapping, and these mappings grow with the pipeline.
fn by_key(map: NodeRef<'_>) -> HashMap<&str, NodeRef<'_>> {
    map.entries().filter_map(|(key, value)| Some((key.as_str()?, value))).collect()
}

/// Adds the containers of one executor to `containers`: `container`, or the worker pools of
/// an old Vertex `customJob`.
fn add_executor_containers<'t>(
    containers: &mut Vec<Container<'t>>,
    label_node: NodeRef<'t>,
    label: &str,
    executor: NodeRef<'t>,
) {
    let path = ["deploymentSpec.executors", label].join(".");
    if let Some(spec) = executor.get("container") {
        containers.push(read_container(label, Role::Main, label_node, path, spec, "image"));
        return;
    }
    let Some(pools) = executor.at(&["customJob", "customJob", "jobSpec", "workerPoolSpecs"]) else { return };
    containers.extend(pools.items().enumerate().filter_map(|(index, pool)| {
        let spec = pool.get("containerSpec")?;
        let path = format!("{path}.customJob.workerPoolSpecs[{index}]");
        Some(read_container(label, Role::Main, label_node, path, spec, "imageUri"))
    }));
}

/// Reads a container mapping of the IR or the platform spec (same field names).
pub(crate) fn read_container<'t>(
    name: impl Into<Arc<str>>,
    role: Role,
    anchor: NodeRef<'t>,
    path: String,
    spec: NodeRef<'t>,
    image_key: &str,
) -> Container<'t> {
    let mut container = Container::new(name, role, anchor, path);
    container.image = spec.get(image_key);
    container.command = spec.get("command").map(|list| list.items().collect()).unwrap_or_default();
    container.args = spec.get("args").map(|list| list.items().collect()).unwrap_or_default();
    container.env = spec
        .get("env")
        .map(|list| {
            list.items()
                .filter_map(|entry| {
                    Some(EnvVar { name: entry.get("name")?, value: EnvValue::Literal(entry.get("value")?) })
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(resources) = spec.get("resources") {
        // IR fields of every SDK generation, then Kubernetes-style limits (platform init containers).
        container.cpu_limit = first_setting(resources, &["resourceCpuLimit", "cpuLimit"])
            .or_else(|| resources.get("limits").and_then(|limits| Setting::of(limits, "cpu")));
        container.memory_limit = first_setting(resources, &["resourceMemoryLimit", "memoryLimit"])
            .or_else(|| resources.get("limits").and_then(|limits| Setting::of(limits, "memory")));
    }
    container
}

/// The first of `keys` set to something other than null or an empty string.
fn first_setting<'t>(map: NodeRef<'t>, keys: &[&str]) -> Option<Setting<'t>> {
    keys.iter()
        .filter_map(|key| Setting::of(map, key))
        .find(|setting| !setting.value.is_null() && setting.value.as_str() != Some(""))
}

/// Joins one executor's platform config: pod settings, secret references, init containers.
/// Returns the index of the pod settings it added.
fn add_platform_config<'t>(
    pipeline: &mut Pipeline<'t>,
    label: &str,
    config: NodeRef<'t>,
    steps: &Arc<[String]>,
) -> usize {
    let mut pod = PodSettings::new(format!("platform config of {label}"), config);
    if let Some(security) = config.get("securityContext") {
        pod.security = SecurityContext::read(security);
    }
    let pod_index = pipeline.pods.len();
    pipeline.pods.push(pod);
    if let Some(init_containers) = config.get("initContainers") {
        for (index, spec) in init_containers.items().enumerate() {
            let name_node = spec.get("name");
            let name = name_node.and_then(|n| n.as_str()).map_or_else(|| format!("init-{index}"), str::to_string);
            let anchor = name_node.or_else(|| spec.key("image")).unwrap_or(spec);
            let path = format!("platforms.kubernetes.deploymentSpec.executors.{label}.initContainers.{name}");
            let mut container = read_container(name, Role::Init, anchor, path, spec, "image");
            container.steps = Arc::clone(steps);
            container.pod = Some(pod_index);
            pipeline.containers.push(container);
        }
    }
    pod_index
}

/// Names of the env vars an executor's platform config fills from Secrets.
pub(crate) fn secret_env_names(config: NodeRef<'_>) -> Vec<NodeRef<'_>> {
    config
        .get("secretAsEnv")
        .into_iter()
        .flat_map(|list| list.items())
        .flat_map(|entry| entry.get("keyToEnv").into_iter().flat_map(|pairs| pairs.items()))
        .filter_map(|pair| pair.get("envVar"))
        .collect()
}

/// Defaults of pipeline and component inputs, and literal task arguments.
fn read_parameters<'t>(pipeline: &mut Pipeline<'t>, spec: NodeRef<'t>) {
    if let Some(root) = spec.get("root") {
        read_input_defaults(pipeline, root, "pipeline".into(), "root");
        read_task_arguments(pipeline, root, "root");
    }
    if let Some(components) = spec.get("components") {
        for (key, component) in components.entries() {
            let Some(component_name) = key.as_str() else { continue };
            let path = ["components", component_name].join(".");
            read_input_defaults(pipeline, component, component_name.into(), &path);
            read_task_arguments(pipeline, component, &path);
        }
    }
}

pub(crate) fn read_input_defaults<'t>(
    pipeline: &mut Pipeline<'t>,
    component: NodeRef<'t>,
    scope: Cow<'t, str>,
    path: &str,
) {
    let Some(parameters) = component.at(&["inputDefinitions", "parameters"]) else { return };
    let defaults = parameters.entries().filter_map(|(name, definition)| Some((name, definition.get("defaultValue")?)));
    pipeline
        .add_parameters(defaults, ParameterKind::Default, scope, || [path, "inputDefinitions.parameters"].join("."));
}

pub(crate) fn read_task_arguments<'t>(pipeline: &mut Pipeline<'t>, component: NodeRef<'t>, path: &str) {
    let Some(tasks) = component.at(&["dag", "tasks"]) else { return };
    for (task_key, task) in tasks.entries() {
        let Some(task_name) = task_key.as_str() else { continue };
        let Some(inputs) = task.at(&["inputs", "parameters"]) else { continue };
        let constants = inputs.entries().filter_map(|(name, input)| {
            let value = input
                .at(&["runtimeValue", "constant"])
                .or_else(|| input.at(&["runtimeValue", "constantValue", "stringValue"]));
            Some((name, value?))
        });
        pipeline.add_parameters(constants, ParameterKind::Argument, task_name.into(), || {
            [path, "dag.tasks", task_name, "inputs.parameters"].join(".")
        });
    }
}

/// PipelineJob `runtimeConfig`: `parameters.<n>.{stringValue|...}` or `parameterValues.<n>`.
fn read_runtime_config<'t>(pipeline: &mut Pipeline<'t>, runtime_config: NodeRef<'t>) {
    let typed =
        runtime_config.get("parameters").into_iter().flat_map(|map| map.entries()).filter_map(|(name, value)| {
            let literal =
                value.get("stringValue").or_else(|| value.get("intValue")).or_else(|| value.get("doubleValue"));
            Some((name, literal?))
        });
    let plain = runtime_config.get("parameterValues").into_iter().flat_map(|map| map.entries());
    pipeline
        .add_parameters(typed.chain(plain), ParameterKind::Default, "pipeline".into(), || "runtimeConfig".to_string());
}
