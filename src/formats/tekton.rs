//! Tekton, as kfp-tekton compiles it and as people write it: `tekton.dev/v1`, `v1beta1` and
//! `v1alpha1` PipelineRun, Pipeline, Task, ClusterTask, TaskRun, StepAction, Condition and
//! CustomRun/Run documents, `custom.tekton.dev` custom-task bodies (kfp-tekton's PipelineLoop,
//! the KFP v2 Tekton backend's KFPTask), and the custom-task bodies kfp-tekton's "noninlined"
//! mode stores as JSON in the `tekton.dev/resource_templates` annotation.
//!
//! Every step and sidecar of every task spec becomes a container: inline `taskSpec`s of
//! `tasks` and `finally`, nested pipelines of loops (`taskSpec.spec.pipelineSpec`, any
//! depth), KFPTask `taskSpec.spec.taskSpec`. What Tekton applies to a step from elsewhere is
//! resolved here, keeping the node where each value is written:
//! * `stepTemplate` (steps only, not sidecars): env merged by name (the step wins), limits
//!   and `securityContext` fields a step does not set itself, and image/command/args when a
//!   step has none;
//! * pod templates (`spec.podTemplate`, v1 `spec.taskRunTemplate.podTemplate`, per task
//!   `spec.taskRunSpecs[].podTemplate` or v1beta1 `taskPodTemplate`, merged field by field,
//!   the task's entry winning):
//!   their `env` is added to every step and sidecar and wins over a step's own variable of the
//!   same name (as Tekton documents); their security context, host namespaces and volumes
//!   become pod settings;
//! * `taskRunSpecs[].stepSpecs`/`stepOverrides` (and a TaskRun's own) replace a step's
//!   limits; a task-level `computeResources` limit counts for steps without one.
//!
//! A task's `volumes` (where kfp-tekton writes `hostPath` volumes) and its entry's pod
//! template form one pod per task; tasks without either share the run's pod template. A
//! run-level pod template is its own pod, so its volumes and host namespaces are reported
//! once, not once per task.
//!
//! Parameters: `params[].default` of pipelines and tasks and a run's `spec.params[].value`
//! are defaults; a pipeline task's literal `params[].value` is an argument; the KFP v2
//! Tekton backend's `runtime-config` JSON holds the run's values (defaults too).
//!
//! It must not: follow `taskRef`/`pipelineRef` (a referenced Task or Pipeline is linted
//! where it is written, so nothing is reported twice), parse the KFP v2 backend's
//! `container` task parameter (its steps are already the `user-main` step), or claim an
//! Argo-shaped document that only borrows Tekton's `apiVersion` (a `spec` with
//! `templates`/`entrypoint`). A run that only references its pipeline (`pipelineRef`,
//! `taskRef`) still yields a pipeline, without containers, when it sets parameter values or a
//! pod template, so those are checked; a Tekton document in which nothing is found (such a
//! run without either, a PipelineResource) yields `None` and is skipped with the generic
//! reason ("... runs no container").
//!
//! Custom-task bodies (loops, exit handlers) run as child runs to which the custom-task
//! controllers pass the pod template Tekton gave the custom task, so the run's pod template
//! and the `taskRunSpecs` entry of the enclosing top-level task apply to their steps too.

use std::borrow::Cow;
use std::sync::Arc;

use super::{Embedded, k8s};
use crate::model::{Container, EnvVar, Format, ParameterKind, Pipeline, PodSettings, Role, SecurityContext, Setting};
use crate::yaml::NodeRef;

/// The core Tekton API versions.
const TEKTON_APIS: &[&str] = &["tekton.dev/v1", "tekton.dev/v1beta1", "tekton.dev/v1alpha1"];

/// Custom-task API group (kfp-tekton's PipelineLoop, the KFP v2 backend's KFPTask, ...).
const CUSTOM_API_PREFIX: &str = "custom.tekton.dev/";

/// The annotation kfp-tekton's noninlined mode writes custom-task bodies into, as JSON.
const RESOURCE_TEMPLATES: &str = "tekton.dev/resource_templates";

/// Deepest nesting of pipelines in pipelines (loops in loops) that is followed.
const MAX_NESTING: usize = 32;

/// What a Tekton document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    PipelineRun,
    Pipeline,
    /// Task or ClusterTask.
    Task,
    TaskRun,
    /// A v1alpha1 Condition: its `check` is a container.
    Condition,
    /// A StepAction: its `spec` is one step.
    StepAction,
    /// CustomRun (`customSpec`) or v1alpha1 Run (`spec.spec`): an inline custom-task body.
    CustomRun,
    /// A `custom.tekton.dev` resource (PipelineLoop, KFPTask, ...).
    Custom,
}

/// The kind of a Tekton document, or `None` if the document is not one.
fn kind_of(document: NodeRef<'_>) -> Option<Kind> {
    let api = document.get("apiVersion")?.as_str()?;
    let kind = document.get("kind")?.as_str()?;
    // kfp-tekton's API server tests wrap Argo workflows in a Tekton PipelineRun.
    let spec = document.get("spec");
    if spec.is_some_and(|spec| spec.get("templates").is_some() || spec.get("entrypoint").is_some()) {
        return None;
    }
    if api.starts_with(CUSTOM_API_PREFIX) {
        return Some(Kind::Custom);
    }
    if !TEKTON_APIS.contains(&api) {
        return None;
    }
    match kind {
        "PipelineRun" => Some(Kind::PipelineRun),
        "Pipeline" => Some(Kind::Pipeline),
        "Task" | "ClusterTask" => Some(Kind::Task),
        "TaskRun" => Some(Kind::TaskRun),
        "Condition" => Some(Kind::Condition),
        "StepAction" => Some(Kind::StepAction),
        "CustomRun" | "Run" => Some(Kind::CustomRun),
        _ => None,
    }
}

/// The pipeline of a Tekton document, or `None` if the document is not one or holds
/// nothing to check.
pub fn pipeline<'t>(document: NodeRef<'t>, embedded: &'t Embedded, fallback_name: &str) -> Option<Pipeline<'t>> {
    let kind = kind_of(document)?;
    let kind_label = document.get("kind").and_then(|k| k.as_str()).unwrap_or("Tekton");
    let name_node = document.at(&["metadata", "name"]).or_else(|| document.at(&["metadata", "generateName"]));
    let name = name_node.and_then(|n| n.as_str()).unwrap_or(fallback_name).to_string();
    let mut builder = Builder {
        pipeline: Pipeline {
            name: name.clone(),
            format: Format::Tekton,
            anchor: name_node.unwrap_or(document),
            containers: Vec::new(),
            parameters: Vec::new(),
            pods: Vec::new(),
        },
        embedded,
        run: RunSettings::default(),
    };
    let spec = document.get("spec");
    let own = [Cow::Owned(name.clone())];
    match (kind, spec) {
        (_, None) => {}
        (Kind::PipelineRun, Some(spec)) => {
            builder.read_run(spec, &format!("{kind_label} {name}"));
            if let Some(pipeline_spec) = spec.get("pipelineSpec") {
                builder.pipeline_spec(pipeline_spec, "spec.pipelineSpec", &[], 0);
            }
        }
        (Kind::TaskRun, Some(spec)) => {
            builder.read_run(spec, &format!("{kind_label} {name}"));
            // The TaskRun's own step/sidecar specs and compute resources apply to its task.
            // (Its pod template is the run's, read above.)
            let overrides = Overrides { pod_template: None, ..Overrides::of(spec) };
            builder.run.task_overrides.push((name.clone(), overrides));
            if let Some(task_spec) = spec.get("taskSpec") {
                builder.task_spec(task_spec, "spec.taskSpec", &own);
            }
        }
        (Kind::Pipeline, Some(spec)) => builder.pipeline_spec(spec, "spec", &[], 0),
        (Kind::Task, Some(spec)) => builder.task_spec(spec, "spec", &own),
        (Kind::Condition, Some(spec)) => {
            builder.defaults(spec.get("params"), own[0].clone(), "spec", "params");
            if let Some(check) = spec.get("check") {
                builder.single_container(check, "spec.check", &own, "check");
            }
        }
        (Kind::StepAction, Some(spec)) => {
            builder.defaults(spec.get("params"), own[0].clone(), "spec", "params");
            builder.single_container(spec, "spec", &own, &name);
        }
        (Kind::CustomRun, Some(spec)) => {
            builder.read_run(spec, &format!("{kind_label} {name}"));
            if let Some(custom) = spec.at(&["customSpec", "spec"]) {
                builder.custom_body(custom, "spec.customSpec.spec", &own, 0);
            } else if let Some(custom) = spec.at(&["spec", "spec"]) {
                builder.custom_body(custom, "spec.spec.spec", &own, 0);
            }
        }
        (Kind::Custom, Some(spec)) => builder.custom_body(spec, "spec", &own, 0),
    }
    builder.resource_templates(document);
    let pipeline = builder.pipeline;
    let found = !pipeline.containers.is_empty() || !pipeline.parameters.is_empty() || !pipeline.pods.is_empty();
    found.then_some(pipeline)
}

/// What a TaskRun or PipelineRun applies to the tasks it runs.
#[derive(Default)]
struct RunSettings<'t> {
    /// The run-level pod template.
    pod_template: Option<NodeRef<'t>>,
    /// Index of the run-level pod template's settings in `Pipeline::pods`.
    pod: Option<usize>,
    /// Per pipeline task (`taskRunSpecs[].pipelineTaskName`), or the TaskRun's own.
    task_overrides: Vec<(String, Overrides<'t>)>,
}

/// Run-time settings for one task: a `taskRunSpecs` entry or a TaskRun spec.
#[derive(Clone, Copy, Default)]
struct Overrides<'t> {
    /// `podTemplate` (v1) or `taskPodTemplate` (v1beta1 `taskRunSpecs`).
    pod_template: Option<NodeRef<'t>>,
    /// `stepSpecs` (v1) or `stepOverrides` (v1beta1): `[{name, computeResources|resources}]`.
    steps: Option<NodeRef<'t>>,
    /// `sidecarSpecs` (v1) or `sidecarOverrides` (v1beta1).
    sidecars: Option<NodeRef<'t>>,
    /// Task-level `computeResources`.
    compute: Option<NodeRef<'t>>,
}

impl<'t> Overrides<'t> {
    fn of(entry: NodeRef<'t>) -> Self {
        Self {
            pod_template: entry.get("podTemplate").or_else(|| entry.get("taskPodTemplate")),
            steps: entry.get("stepSpecs").or_else(|| entry.get("stepOverrides")),
            sidecars: entry.get("sidecarSpecs").or_else(|| entry.get("sidecarOverrides")),
            compute: entry.get("computeResources"),
        }
    }
}

struct Builder<'t> {
    pipeline: Pipeline<'t>,
    embedded: &'t Embedded,
    run: RunSettings<'t>,
}

impl<'t> Builder<'t> {
    /// Reads what a PipelineRun, TaskRun or CustomRun sets for the tasks it runs: its
    /// parameter values, pod templates and per-task specs.
    fn read_run(&mut self, spec: NodeRef<'t>, label: &str) {
        let values = named_values(spec.get("params"), "value");
        self.pipeline
            .add_parameters(values, ParameterKind::Default, label.to_string().into(), || "spec.params".to_string());
        let pod_template = spec.get("podTemplate").or_else(|| spec.at(&["taskRunTemplate", "podTemplate"]));
        if let Some(template) = pod_template.filter(|t| t.is_mapping()) {
            self.run.pod_template = Some(template);
            self.run.pod = Some(self.pipeline.pods.len());
            self.pipeline.pods.push(k8s::read_pod_settings(template, format!("pod template of {label}")));
        }
        for entry in spec.get("taskRunSpecs").into_iter().flat_map(|list| list.items()) {
            let Some(task) = entry.get("pipelineTaskName").and_then(|n| n.as_str()) else { continue };
            self.run.task_overrides.push((task.to_string(), Overrides::of(entry)));
        }
    }

    /// A pipeline spec: its parameter defaults, then every task of `tasks` and `finally`.
    /// `chain` names the tasks it is nested in (empty at the top).
    fn pipeline_spec(&mut self, spec: NodeRef<'t>, path: &str, chain: &[Cow<'t, str>], depth: usize) {
        if depth > MAX_NESTING {
            return;
        }
        let scope = chain.last().cloned().unwrap_or(Cow::Borrowed("pipeline"));
        self.defaults(spec.get("params"), scope, path, "params");
        for key in ["tasks", "finally"] {
            for (index, task) in spec.get(key).into_iter().flat_map(|list| list.items()).enumerate() {
                let label = label(task, index);
                self.pipeline_task(task, &[path, key, &label].join("."), chain, label, depth);
            }
        }
    }

    /// One entry of a pipeline's `tasks` or `finally`.
    fn pipeline_task(
        &mut self,
        task: NodeRef<'t>,
        path: &str,
        chain: &[Cow<'t, str>],
        name: Cow<'t, str>,
        depth: usize,
    ) {
        let arguments = named_values(task.get("params"), "value");
        let runtime_config = arguments.iter().filter(|(parameter, _)| parameter.as_str() == Some("runtime-config"));
        let runtime_configs: Vec<NodeRef<'t>> = runtime_config.map(|&(_, value)| value).collect();
        self.pipeline.add_parameters(arguments, ParameterKind::Argument, name.clone(), || [path, "params"].join("."));
        for value in runtime_configs {
            self.kfp_runtime_config(value, &[path, "params.runtime-config"].join("."));
        }
        let mut inner = chain.to_vec();
        inner.push(name);
        if let Some(task_spec) = task.get("taskSpec") {
            let custom = task_spec.get("apiVersion").is_some() || task_spec.get("kind").is_some();
            if custom {
                if let Some(body) = task_spec.get("spec") {
                    self.custom_body(body, &[path, "taskSpec.spec"].join("."), &inner, depth + 1);
                }
            } else {
                self.task_spec(task_spec, &[path, "taskSpec"].join("."), &inner);
            }
        }
        // Pipelines in pipelines (TEP-0056).
        if let Some(pipeline_spec) = task.get("pipelineSpec") {
            self.pipeline_spec(pipeline_spec, &[path, "pipelineSpec"].join("."), &inner, depth + 1);
        }
    }

    /// The body of a custom task: a PipelineLoop's `pipelineSpec`, a KFPTask's `taskSpec`,
    /// and parameter defaults.
    fn custom_body(&mut self, spec: NodeRef<'t>, path: &str, chain: &[Cow<'t, str>], depth: usize) {
        if depth > MAX_NESTING {
            return;
        }
        let scope = chain.last().cloned().unwrap_or(Cow::Borrowed("pipeline"));
        self.defaults(spec.get("params"), scope, path, "params");
        if let Some(pipeline_spec) = spec.get("pipelineSpec") {
            self.pipeline_spec(pipeline_spec, &[path, "pipelineSpec"].join("."), chain, depth + 1);
        }
        if let Some(task_spec) = spec.get("taskSpec") {
            self.task_spec(task_spec, &[path, "taskSpec"].join("."), chain);
        }
    }

    /// A task spec: its parameter defaults, pod, steps and sidecars.
    fn task_spec(&mut self, spec: NodeRef<'t>, path: &str, chain: &[Cow<'t, str>]) {
        let scope = chain.last().cloned().unwrap_or(Cow::Borrowed("task"));
        self.defaults(spec.get("params"), scope.clone(), path, "params");
        // v1alpha1 Tasks declare their parameters under `inputs`.
        self.defaults(spec.at(&["inputs", "params"]), scope, path, "inputs.params");
        let overrides = self.overrides_for(chain);
        let pod = self.task_pod(spec, chain, overrides);
        let template = spec.get("stepTemplate");
        let steps = step_names(chain);
        for (key, role) in [("steps", Role::Main), ("sidecars", Role::Sidecar)] {
            for (index, node) in spec.get(key).into_iter().flat_map(|list| list.items()).enumerate() {
                let step_path = [path, key, &label(node, index)].join(".");
                let step_template = if role == Role::Main { template } else { None };
                let mut container = self.read_step(node, role, step_path, chain, pod, step_template);
                container.steps = Arc::clone(&steps);
                self.pipeline.containers.push(container);
            }
        }
    }

    /// Reads a step or sidecar: its own fields, then what its step template, the pod
    /// templates and the run-time overrides give it (not its `steps`: the caller shares them).
    fn read_step(
        &self,
        node: NodeRef<'t>,
        role: Role,
        path: String,
        chain: &[Cow<'t, str>],
        pod: Option<usize>,
        template: Option<NodeRef<'t>>,
    ) -> Container<'t> {
        let mut container = k8s::read_container(node, role, path);
        if let Some(template) = template {
            inherit(&mut container, template);
        }
        let overrides = self.overrides_for(chain);
        let task_template = overrides.and_then(|o| o.pod_template);
        for template in [self.run.pod_template, task_template].into_iter().flatten() {
            apply_pod_env(&mut container, template);
        }
        if let Some(overrides) = overrides {
            let specs = if role == Role::Sidecar { overrides.sidecars } else { overrides.steps };
            apply_overrides(&mut container, specs, overrides.compute);
        }
        container.pod = pod;
        container
    }

    /// A document that is a single container (Condition `check`, StepAction `spec`).
    /// Unnamed, it is called `name` (`check`, the StepAction's name).
    fn single_container(&mut self, node: NodeRef<'t>, path: &str, chain: &[Cow<'t, str>], name: &str) {
        let mut container = self.read_step(node, Role::Main, path.to_string(), chain, self.run.pod, None);
        container.steps = step_names(chain);
        if node.get("name").is_none() {
            container.name = name.into();
        }
        self.pipeline.containers.push(container);
    }

    /// The pod settings for a task's containers: its own when it declares volumes or has a
    /// per-task pod template, otherwise the run's pod template (if any).
    fn task_pod(
        &mut self,
        spec: NodeRef<'t>,
        chain: &[Cow<'t, str>],
        overrides: Option<Overrides<'t>>,
    ) -> Option<usize> {
        let volumes = spec.get("volumes").filter(|v| v.items().next().is_some());
        let task_template = overrides.and_then(|o| o.pod_template).filter(|t| t.is_mapping());
        if volumes.is_none() && task_template.is_none() {
            return self.run.pod;
        }
        let name = format!("task {}", if chain.is_empty() { "?".to_string() } else { chain.join("/") });
        let anchor = spec.key("volumes").or(task_template).unwrap_or(spec);
        let mut pod = match task_template {
            Some(template) => k8s::read_pod_settings(template, name),
            None => PodSettings::new(name, anchor),
        };
        pod.anchor = anchor;
        // The run's pod template fills in what the task's entry does not set (its volumes
        // and host namespaces stay on the run's own pod, reported once).
        if let Some(run_security) = self.run.pod_template.and_then(|t| t.get("securityContext")) {
            merge_security(&mut pod.security, SecurityContext::read(run_security));
        }
        pod.volumes.splice(0..0, volumes.into_iter().flat_map(|list| list.items()).map(k8s::read_volume));
        self.pipeline.pods.push(pod);
        Some(self.pipeline.pods.len() - 1)
    }

    /// The run-time overrides of the top-level task in `chain`.
    fn overrides_for(&self, chain: &[Cow<'t, str>]) -> Option<Overrides<'t>> {
        let top = chain.first()?;
        self.run.task_overrides.iter().find(|(task, _)| task == top).map(|(_, overrides)| *overrides)
    }

    /// `params[].default` (or `value`) as parameter defaults of `scope`, at `path.section`.
    fn defaults(&mut self, params: Option<NodeRef<'t>>, scope: Cow<'t, str>, path: &str, section: &str) {
        let defaults = named_values(params, "default");
        self.pipeline.add_parameters(defaults, ParameterKind::Default, scope, || [path, section].join("."));
    }

    /// The KFP v2 Tekton backend's `runtime-config` parameter: the run's parameter values as
    /// JSON (`{"parameters": {"text": {"stringValue": "hi"}}}`).
    fn kfp_runtime_config(&mut self, value: NodeRef<'t>, path: &str) {
        let Some(tree) = self.embedded.parse(value) else { return };
        let literals =
            tree.documents().flat_map(|root| root.get("parameters")).flat_map(|map| map.entries()).filter_map(
                |(name, typed)| {
                    let literal =
                        typed.get("stringValue").or_else(|| typed.get("intValue")).or_else(|| typed.get("doubleValue"));
                    Some((name, literal.filter(|l| l.as_str().is_some())?))
                },
            );
        self.pipeline
            .add_parameters(literals, ParameterKind::Default, "pipeline".into(), || [path, "parameters"].join("."));
    }

    /// Custom-task bodies kfp-tekton stores as JSON in the `tekton.dev/resource_templates`
    /// annotation (loops referenced by `taskRef`), with positions inside the string.
    fn resource_templates(&mut self, document: NodeRef<'t>) {
        let Some(annotation) = document.at(&["metadata", "annotations", RESOURCE_TEMPLATES]) else { return };
        let Some(tree) = self.embedded.parse(annotation) else { return };
        for root in tree.documents() {
            let bodies: Vec<NodeRef<'t>> = if root.is_sequence() { root.items().collect() } else { vec![root] };
            for (index, body) in bodies.into_iter().enumerate() {
                let Some(spec) = body.get("spec") else { continue };
                let name = body
                    .at(&["metadata", "name"])
                    .and_then(|n| n.as_str())
                    .map_or_else(|| Cow::Owned(index.to_string()), Cow::Borrowed);
                let path = format!("metadata.annotations.{RESOURCE_TEMPLATES}.{name}.spec");
                self.custom_body(spec, &path, &[name], 1);
            }
        }
    }
}

/// The names of the tasks a container runs in, as its findings carry them.
fn step_names(chain: &[Cow<'_, str>]) -> Arc<[String]> {
    chain.iter().map(|step| step.to_string()).collect()
}

/// A list item's `name`, or its index when it has none.
fn label(node: NodeRef<'_>, index: usize) -> Cow<'_, str> {
    node.get("name").and_then(|n| n.as_str()).map_or_else(|| Cow::Owned(index.to_string()), Cow::Borrowed)
}

/// `(name node, value node)` of each `{name: <string>, <key>: <scalar>}` entry of a params list.
fn named_values<'t>(params: Option<NodeRef<'t>>, key: &str) -> Vec<(NodeRef<'t>, NodeRef<'t>)> {
    params
        .into_iter()
        .flat_map(|list| list.items())
        .filter_map(|entry| {
            let name = entry.get("name").filter(|name| name.as_str().is_some())?;
            Some((name, entry.get(key).filter(|v| v.as_str().is_some())?))
        })
        .collect()
}

/// What a step inherits from its task's `stepTemplate`: everything it does not set itself,
/// env merged by name (the step's own variable wins). Inherited values keep the template's
/// nodes, so findings point where the value is written.
fn inherit<'t>(container: &mut Container<'t>, template: NodeRef<'t>) {
    let base = k8s::read_container(template, Role::Main, String::new());
    container.image = container.image.or(base.image);
    if container.command.is_empty() {
        container.command = base.command;
    }
    if container.args.is_empty() {
        container.args = base.args;
    }
    let own = std::mem::take(&mut container.env);
    let mut env: Vec<EnvVar<'t>> =
        base.env.into_iter().filter(|var| !own.iter().any(|mine| same_name(mine, var))).collect();
    env.extend(own);
    container.env = env;
    container.cpu_limit = container.cpu_limit.or(base.cpu_limit);
    container.memory_limit = container.memory_limit.or(base.memory_limit);
    merge_security(&mut container.security, base.security);
}

/// Fills the fields `target` does not set from `base`.
fn merge_security<'t>(target: &mut SecurityContext<'t>, base: SecurityContext<'t>) {
    target.privileged = target.privileged.or(base.privileged);
    target.allow_privilege_escalation = target.allow_privilege_escalation.or(base.allow_privilege_escalation);
    target.run_as_user = target.run_as_user.or(base.run_as_user);
    target.run_as_non_root = target.run_as_non_root.or(base.run_as_non_root);
    if target.capabilities_add.is_empty() {
        target.capabilities_add = base.capabilities_add;
    }
}

/// A pod template's `env` reaches every step and sidecar and wins over their own.
fn apply_pod_env<'t>(container: &mut Container<'t>, template: NodeRef<'t>) {
    let from_pod = k8s::read_env(template);
    if from_pod.is_empty() {
        return;
    }
    container.env.retain(|mine| !from_pod.iter().any(|var| same_name(mine, var)));
    container.env.extend(from_pod);
}

fn same_name(a: &EnvVar<'_>, b: &EnvVar<'_>) -> bool {
    a.name.as_str().is_some() && a.name.as_str() == b.name.as_str()
}

/// Run-time step/sidecar specs replace a container's limits; a task-level
/// `computeResources` limit counts for containers still without one.
fn apply_overrides<'t>(container: &mut Container<'t>, specs: Option<NodeRef<'t>>, compute: Option<NodeRef<'t>>) {
    let entry = specs
        .into_iter()
        .flat_map(|list| list.items())
        .find(|entry| entry.get("name").and_then(|n| n.as_str()) == Some(&*container.name));
    let limits = entry
        .and_then(|entry| entry.at(&["computeResources", "limits"]).or_else(|| entry.at(&["resources", "limits"])));
    if let Some(limits) = limits {
        container.cpu_limit = Setting::of(limits, "cpu").or(container.cpu_limit);
        container.memory_limit = Setting::of(limits, "memory").or(container.memory_limit);
    }
    if let Some(limits) = compute.and_then(|c| c.get("limits")) {
        container.cpu_limit = container.cpu_limit.or(Setting::of(limits, "cpu"));
        container.memory_limit = container.memory_limit.or(Setting::of(limits, "memory"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EnvValue;
    use crate::model::Parameter;
    use crate::yaml::{Limits, Tree};

    fn parse(text: &str) -> Tree {
        Tree::parse(text.to_string(), None, Limits::default()).unwrap()
    }

    /// Runs the adapter on the first document of `text`.
    fn with_pipeline(text: &str, check: impl FnOnce(Option<&Pipeline<'_>>)) {
        let tree = parse(text);
        let embedded = Embedded::new(Limits::default(), text.len());
        let document = tree.documents().next().unwrap();
        let pipeline = pipeline(document, &embedded, "fallback");
        check(pipeline.as_ref());
    }

    fn env<'p>(container: &'p Container<'_>) -> Vec<(&'p str, String)> {
        container
            .env
            .iter()
            .map(|var| {
                let value = match var.value {
                    EnvValue::Literal(node) => node.as_str().unwrap_or_default().to_string(),
                    EnvValue::Reference(kind) => format!("<{kind}>"),
                };
                (var.name.as_str().unwrap_or_default(), value)
            })
            .collect()
    }

    fn value(setting: Option<Setting<'_>>) -> Option<&str> {
        setting.and_then(|s| s.value.as_str())
    }

    #[test]
    fn detects_tekton_documents_only() {
        let tekton = [
            "apiVersion: tekton.dev/v1\nkind: Task\nmetadata: {name: t}\nspec: {steps: [{name: s, image: a}]}\n",
            "apiVersion: tekton.dev/v1beta1\nkind: ClusterTask\nspec: {steps: [{image: a}]}\n",
            "apiVersion: tekton.dev/v1alpha1\nkind: Condition\nspec: {check: {image: a}}\n",
            "apiVersion: custom.tekton.dev/v1alpha1\nkind: PipelineLoop\nspec:\n  pipelineSpec:\n    tasks:\n    - name: x\n      taskSpec: {steps: [{image: a}]}\n",
        ];
        for text in tekton {
            with_pipeline(text, |p| {
                let p = p.unwrap_or_else(|| panic!("not recognized: {text}"));
                assert_eq!(p.format, Format::Tekton);
                assert_eq!(p.containers.len(), 1, "{text}");
            });
        }
        let other = [
            // Argo-shaped spec under a Tekton apiVersion: the Argo adapter's.
            "apiVersion: tekton.dev/v1beta1\nkind: PipelineRun\nspec:\n  entrypoint: main\n  templates: [{name: main, container: {image: a}}]\n",
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: {templates: []}\n",
            "apiVersion: v1\nkind: Pod\nspec: {containers: [{image: a}]}\n",
            "apiVersion: tekton.dev/v1alpha1\nkind: PipelineResource\nspec: {type: git}\n",
            // Nothing to check: skipped with the generic reason.
            "apiVersion: tekton.dev/v1\nkind: PipelineRun\nspec: {pipelineRef: {name: p}}\n",
            "apiVersion: tekton.dev/v1\n",
        ];
        for text in other {
            with_pipeline(text, |p| assert!(p.is_none(), "claimed: {text}"));
        }
    }

    #[test]
    fn names_pipelines_and_containers_symbolically() {
        let text = "\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {generateName: run-}
spec:
  pipelineSpec:
    tasks:
    - name: train
      taskSpec:
        steps: [{name: fit, image: a}, {image: b}]
        sidecars: [{name: db, image: c}]
    - name: loop
      taskSpec:
        apiVersion: custom.tekton.dev/v1alpha1
        kind: PipelineLoop
        spec:
          pipelineSpec:
            tasks:
            - name: inner
              taskSpec: {steps: [{name: main, image: d}]}
    finally:
    - name: cleanup
      taskSpec: {steps: [{name: rm, image: e}]}
";
        with_pipeline(text, |p| {
            let p = p.unwrap();
            assert_eq!(p.name, "run-");
            let got: Vec<(&str, Role, &str, Vec<String>)> =
                p.containers.iter().map(|c| (&*c.name, c.role, c.path.as_str(), c.steps.to_vec())).collect();
            let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            assert_eq!(
                got,
                vec![
                    ("fit", Role::Main, "spec.pipelineSpec.tasks.train.taskSpec.steps.fit", s(&["train"])),
                    ("b", Role::Main, "spec.pipelineSpec.tasks.train.taskSpec.steps.1", s(&["train"])),
                    ("db", Role::Sidecar, "spec.pipelineSpec.tasks.train.taskSpec.sidecars.db", s(&["train"])),
                    (
                        "main",
                        Role::Main,
                        "spec.pipelineSpec.tasks.loop.taskSpec.spec.pipelineSpec.tasks.inner.taskSpec.steps.main",
                        s(&["loop", "inner"])
                    ),
                    ("rm", Role::Main, "spec.pipelineSpec.finally.cleanup.taskSpec.steps.rm", s(&["cleanup"])),
                ]
            );
        });
    }

    #[test]
    fn steps_inherit_the_step_template_but_sidecars_do_not() {
        let text = "\
apiVersion: tekton.dev/v1
kind: Task
metadata: {name: t}
spec:
  stepTemplate:
    image: base
    env: [{name: A, value: template}, {name: B, value: template}]
    computeResources: {limits: {cpu: '2', memory: 1Gi}}
    securityContext: {runAsUser: 0, privileged: true}
  steps:
  - name: plain
  - name: own
    image: mine
    env: [{name: B, value: step}, {name: C, valueFrom: {secretKeyRef: {name: s, key: k}}}]
    computeResources: {limits: {memory: 2Gi}}
    securityContext: {runAsUser: 1000}
  sidecars:
  - name: side
    image: s
";
        with_pipeline(text, |p| {
            let p = p.unwrap();
            let [plain, own, side] = &p.containers[..] else { panic!("{:?}", p.containers) };
            assert_eq!(plain.image.and_then(|i| i.as_str()), Some("base"));
            assert_eq!(env(plain), vec![("A", "template".into()), ("B", "template".into())]);
            assert_eq!((value(plain.cpu_limit), value(plain.memory_limit)), (Some("2"), Some("1Gi")));
            assert_eq!(value(plain.security.run_as_user), Some("0"));

            assert_eq!(own.image.and_then(|i| i.as_str()), Some("mine"));
            assert_eq!(env(own), vec![("A", "template".into()), ("B", "step".into()), ("C", "<secretKeyRef>".into())]);
            assert_eq!((value(own.cpu_limit), value(own.memory_limit)), (Some("2"), Some("2Gi")));
            assert_eq!(value(own.security.run_as_user), Some("1000"));
            assert_eq!(value(own.security.privileged), Some("true"));
            // The inherited limit is the template's node: findings point where it is written.
            let template_cpu = text.find("cpu: '2'").unwrap() + 5;
            assert_eq!(own.cpu_limit.unwrap().value.file_span().start, template_cpu);

            assert!(side.env.is_empty());
            assert!(side.cpu_limit.is_none() && side.security.run_as_user.is_none());
        });
    }

    #[test]
    fn pod_templates_reach_every_container_and_task_entries_win() {
        let text = "\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: r}
spec:
  pipelineSpec:
    tasks:
    - name: a
      taskSpec:
        steps: [{name: main, image: x, env: [{name: STAGE, value: step}]}]
        sidecars: [{name: side, image: y}]
    - name: b
      taskSpec:
        steps: [{name: main, image: x}]
        volumes: [{name: logs, hostPath: {path: /var/log}}]
    - name: c
      taskSpec:
        steps: [{name: main, image: x}]
  taskRunTemplate:
    podTemplate:
      securityContext: {runAsUser: 0, runAsNonRoot: false}
      hostNetwork: true
      env: [{name: STAGE, value: pod}, {name: TOKEN, value: abc}]
  taskRunSpecs:
  - pipelineTaskName: a
    podTemplate:
      securityContext: {runAsUser: 1000}
      env: [{name: STAGE, value: task}]
    stepSpecs: [{name: main, computeResources: {limits: {cpu: '1'}}}]
";
        with_pipeline(text, |p| {
            let p = p.unwrap();
            let pods: Vec<&str> = p.pods.iter().map(|pod| pod.name.as_str()).collect();
            assert_eq!(pods, vec!["pod template of PipelineRun r", "task a", "task b"]);
            // The run's pod: host network reported once; task pods do not repeat it.
            assert!(p.pods[0].host_network.is_some());
            assert!(p.pods[1].host_network.is_none() && p.pods[2].host_network.is_none());
            // Task a: its entry's runAsUser wins, the run's runAsNonRoot fills in.
            assert_eq!(value(p.pods[1].security.run_as_user), Some("1000"));
            assert_eq!(value(p.pods[1].security.run_as_non_root), Some("false"));
            // Task b: its own volumes, the run's security context.
            assert_eq!(p.pods[2].volumes.len(), 1);
            assert_eq!(value(p.pods[2].security.run_as_user), Some("0"));

            let [a_main, a_side, b_main, c_main] = &p.containers[..] else { panic!("{:?}", p.containers) };
            assert_eq!(env(a_main), vec![("TOKEN", "abc".into()), ("STAGE", "task".into())]);
            assert_eq!(env(a_side), vec![("TOKEN", "abc".into()), ("STAGE", "task".into())]);
            assert_eq!(env(b_main), vec![("STAGE", "pod".into()), ("TOKEN", "abc".into())]);
            assert_eq!(value(a_main.cpu_limit), Some("1"));
            assert!(a_side.cpu_limit.is_none());
            assert_eq!((a_main.pod, b_main.pod, c_main.pod), (Some(1), Some(2), Some(0)));
            assert_eq!(value(p.effective(c_main, |s| s.run_as_user.as_ref()).map(|e| *e.setting)), Some("0"));
        });
    }

    #[test]
    fn parameters_defaults_run_values_and_arguments() {
        let text = "\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {name: r}
spec:
  params: [{name: token, value: run-value}, {name: list, value: [a, b]}]
  pipelineSpec:
    params: [{name: token, default: pipeline-default}]
    tasks:
    - name: t
      params: [{name: token, value: literal-arg}]
      taskSpec:
        params: [{name: token, default: task-default}]
        steps: [{image: x}]
";
        with_pipeline(text, |p| {
            let parameters = &p.unwrap().parameters;
            let paths: Vec<String> = parameters.iter().map(Parameter::path).collect();
            let got: Vec<(ParameterKind, &str, &str, &str)> = parameters
                .iter()
                .zip(&paths)
                .map(|(q, path)| (q.kind, q.value.as_str().unwrap_or_default(), q.scope.as_ref(), path.as_str()))
                .collect();
            assert_eq!(
                got,
                vec![
                    (ParameterKind::Default, "run-value", "PipelineRun r", "spec.params.token"),
                    (ParameterKind::Default, "pipeline-default", "pipeline", "spec.pipelineSpec.params.token"),
                    (ParameterKind::Argument, "literal-arg", "t", "spec.pipelineSpec.tasks.t.params.token"),
                    (ParameterKind::Default, "task-default", "t", "spec.pipelineSpec.tasks.t.taskSpec.params.token"),
                ]
            );
        });
    }

    #[test]
    fn resource_templates_are_read_with_positions_inside_the_string() {
        let text = concat!(
            "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata:\n  name: r\n  annotations:\n",
            "    tekton.dev/resource_templates: '[{\"kind\": \"PipelineLoop\", \"metadata\": {\"name\": \"loop-1\"},\n",
            "      \"spec\": {\"pipelineSpec\": {\"tasks\": [{\"name\": \"op\", \"taskSpec\": {\"steps\": [{\"name\":\n",
            "      \"main\", \"image\": \"alpine\", \"script\": \"echo it''s\\nhttp://x\"}]}}]}}}]'\n",
            "spec:\n  pipelineSpec:\n    tasks:\n    - name: loop-1\n      taskRef: {kind: PipelineLoop, name: loop-1}\n",
        );
        with_pipeline(text, |p| {
            let p = p.unwrap();
            let [main] = &p.containers[..] else { panic!("{:?}", p.containers) };
            assert_eq!(
                main.path,
                "metadata.annotations.tekton.dev/resource_templates.loop-1.spec.pipelineSpec.tasks.op.taskSpec.steps.main"
            );
            assert_eq!(main.steps.to_vec(), vec!["loop-1".to_string(), "op".to_string()]);
            let image = main.image.unwrap();
            assert_eq!(&text[image.file_span()], "\"alpine\"");
            let script = main.script.unwrap().text();
            assert_eq!(script.as_str(), "echo it's\nhttp://x");
            let url = script.as_str().find("http").unwrap();
            assert!(text[script.source_offset(url)..].starts_with("http://x"));
        });
    }

    #[test]
    fn kfp_v2_backend_tasks_and_runtime_config() {
        let text = "\
apiVersion: tekton.dev/v1
kind: PipelineRun
metadata: {generateName: hello-}
spec:
  pipelineSpec:
    tasks:
    - name: hello
      params:
      - {name: container, value: '{\"image\":\"python:3.9\",\"command\":[\"sh\"]}'}
      taskSpec:
        apiVersion: custom.tekton.dev/v1alpha1
        kind: KFPTask
        spec:
          taskSpec:
            steps: [{name: kfp-launcher, image: l}, {name: user-main, image: python:3.9}]
    - name: root-system-dag-driver
      params:
      - {name: runtime-config, value: '{\"parameters\":{\"api_token\":{\"stringValue\":\"abc\"}}}'}
      taskRef: {apiVersion: custom.tekton.dev/v1alpha1, kind: KFPTask}
";
        with_pipeline(text, |p| {
            let p = p.unwrap();
            let names: Vec<&str> = p.containers.iter().map(|c| &*c.name).collect();
            assert_eq!(names, vec!["kfp-launcher", "user-main"]);
            let config = p.parameters.iter().find(|q| q.name.as_str() == Some("api_token")).unwrap();
            assert_eq!(config.kind, ParameterKind::Default);
            assert_eq!(&text[config.value.file_span()], "\"abc\"");
        });
    }

    #[test]
    fn taskrun_overrides_and_single_container_documents() {
        let text = "\
apiVersion: tekton.dev/v1beta1
kind: TaskRun
metadata: {name: tr}
spec:
  podTemplate: {securityContext: {runAsUser: 0}, volumes: [{name: h, hostPath: {path: /}}]}
  stepOverrides: [{name: s, resources: {limits: {cpu: '3'}}}]
  computeResources: {limits: {memory: 1Gi}}
  taskSpec:
    steps: [{name: s, image: x}]
";
        with_pipeline(text, |p| {
            let p = p.unwrap();
            // One pod: the TaskRun's pod template, not repeated as a task pod.
            assert_eq!(p.pods.len(), 1);
            let [s] = &p.containers[..] else { panic!() };
            assert_eq!((value(s.cpu_limit), value(s.memory_limit)), (Some("3"), Some("1Gi")));
            assert_eq!(s.pod, Some(0));
        });
        let step_action =
            "apiVersion: tekton.dev/v1beta1\nkind: StepAction\nmetadata: {name: sa}\nspec: {image: x, script: echo}\n";
        with_pipeline(step_action, |p| {
            let p = p.unwrap();
            assert_eq!(p.containers.len(), 1);
            assert_eq!(p.containers[0].path, "spec");
            assert!(p.containers[0].script.is_some());
        });
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut text = String::from("apiVersion: custom.tekton.dev/v1alpha1\nkind: PipelineLoop\nspec:\n");
        let mut indent = String::from("  ");
        for _ in 0..60 {
            text.push_str(&format!(
                "{indent}pipelineSpec:\n{indent}  tasks:\n{indent}  - name: n\n{indent}    taskSpec:\n{indent}      kind: PipelineLoop\n{indent}      spec:\n"
            ));
            indent.push_str("        ");
        }
        text.push_str(&format!("{indent}taskSpec: {{steps: [{{image: x}}]}}\n"));
        let tree = Tree::parse(text.clone(), None, Limits { max_depth: 10_000, ..Limits::default() }).unwrap();
        let embedded = Embedded::new(Limits::default(), text.len());
        let document = tree.documents().next().unwrap();
        // Too deep to follow, but no panic or stack overflow.
        assert!(pipeline(document, &embedded, "f").is_none());
    }
}
