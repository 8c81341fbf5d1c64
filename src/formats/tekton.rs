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
//!   `spec.taskRunSpecs[].podTemplate`, merged field by field, the task's entry winning):
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
//! `templates`/`entrypoint`). A Tekton document in which nothing is found (a PipelineRun
//! that only references its pipeline and sets no parameter or pod template, a
//! PipelineResource) yields `None`, so it is skipped with the generic reason.

use super::{Embedded, k8s};
use crate::model::{
    Container, EnvVar, Format, Parameter, ParameterKind, Pipeline, PodSettings, Role, SecurityContext, Setting,
};
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
    let own = [name.clone()];
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
            builder.defaults(spec.get("params"), &name, "spec.params");
            if let Some(check) = spec.get("check") {
                builder.single_container(check, "spec.check", &own);
            }
        }
        (Kind::StepAction, Some(spec)) => {
            builder.defaults(spec.get("params"), &name, "spec.params");
            builder.single_container(spec, "spec", &own);
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
        for (name, value, parameter_name) in named_values(spec.get("params"), "value") {
            self.pipeline.parameters.push(Parameter {
                name,
                value,
                kind: ParameterKind::Default,
                scope: label.to_string(),
                path: format!("spec.params.{parameter_name}"),
            });
        }
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
    fn pipeline_spec(&mut self, spec: NodeRef<'t>, path: &str, chain: &[String], depth: usize) {
        if depth > MAX_NESTING {
            return;
        }
        let scope = chain.last().map_or("pipeline", String::as_str).to_string();
        self.defaults(spec.get("params"), &scope, &format!("{path}.params"));
        for key in ["tasks", "finally"] {
            for (index, task) in spec.get(key).into_iter().flat_map(|list| list.items()).enumerate() {
                let label = label(task, index);
                self.pipeline_task(task, &format!("{path}.{key}.{label}"), chain, &label, depth);
            }
        }
    }

    /// One entry of a pipeline's `tasks` or `finally`.
    fn pipeline_task(&mut self, task: NodeRef<'t>, path: &str, chain: &[String], name: &str, depth: usize) {
        let mut inner = chain.to_vec();
        inner.push(name.to_string());
        for (parameter, value, parameter_name) in named_values(task.get("params"), "value") {
            self.pipeline.parameters.push(Parameter {
                name: parameter,
                value,
                kind: ParameterKind::Argument,
                scope: name.to_string(),
                path: format!("{path}.params.{parameter_name}"),
            });
            if parameter_name == "runtime-config" {
                self.kfp_runtime_config(value, &format!("{path}.params.runtime-config"));
            }
        }
        if let Some(task_spec) = task.get("taskSpec") {
            let custom = task_spec.get("apiVersion").is_some() || task_spec.get("kind").is_some();
            if custom {
                if let Some(body) = task_spec.get("spec") {
                    self.custom_body(body, &format!("{path}.taskSpec.spec"), &inner, depth + 1);
                }
            } else {
                self.task_spec(task_spec, &format!("{path}.taskSpec"), &inner);
            }
        }
        // Pipelines in pipelines (TEP-0056).
        if let Some(pipeline_spec) = task.get("pipelineSpec") {
            self.pipeline_spec(pipeline_spec, &format!("{path}.pipelineSpec"), &inner, depth + 1);
        }
    }

    /// The body of a custom task: a PipelineLoop's `pipelineSpec`, a KFPTask's `taskSpec`,
    /// and parameter defaults.
    fn custom_body(&mut self, spec: NodeRef<'t>, path: &str, chain: &[String], depth: usize) {
        if depth > MAX_NESTING {
            return;
        }
        let scope = chain.last().map_or("pipeline", String::as_str).to_string();
        self.defaults(spec.get("params"), &scope, &format!("{path}.params"));
        if let Some(pipeline_spec) = spec.get("pipelineSpec") {
            self.pipeline_spec(pipeline_spec, &format!("{path}.pipelineSpec"), chain, depth + 1);
        }
        if let Some(task_spec) = spec.get("taskSpec") {
            self.task_spec(task_spec, &format!("{path}.taskSpec"), chain);
        }
    }

    /// A task spec: its parameter defaults, pod, steps and sidecars.
    fn task_spec(&mut self, spec: NodeRef<'t>, path: &str, chain: &[String]) {
        let scope = chain.last().map_or("task", String::as_str).to_string();
        self.defaults(spec.get("params"), &scope, &format!("{path}.params"));
        // v1alpha1 Tasks declare their parameters under `inputs`.
        self.defaults(spec.at(&["inputs", "params"]), &scope, &format!("{path}.inputs.params"));
        let overrides = self.overrides_for(chain);
        let pod = self.task_pod(spec, chain, overrides);
        let template = spec.get("stepTemplate");
        for (key, role) in [("steps", Role::Main), ("sidecars", Role::Sidecar)] {
            for (index, node) in spec.get(key).into_iter().flat_map(|list| list.items()).enumerate() {
                let step_path = format!("{path}.{key}.{}", label(node, index));
                let step_template = if role == Role::Main { template } else { None };
                let container = self.read_step(node, role, step_path, chain, pod, step_template);
                self.pipeline.containers.push(container);
            }
        }
    }

    /// Reads a step or sidecar: its own fields, then what its step template, the pod
    /// templates and the run-time overrides give it.
    fn read_step(
        &self,
        node: NodeRef<'t>,
        role: Role,
        path: String,
        chain: &[String],
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
        container.steps = chain.to_vec();
        container.pod = pod;
        container
    }

    /// A document that is a single container (Condition `check`, StepAction `spec`).
    fn single_container(&mut self, node: NodeRef<'t>, path: &str, chain: &[String]) {
        let container = self.read_step(node, Role::Main, path.to_string(), chain, self.run.pod, None);
        self.pipeline.containers.push(container);
    }

    /// The pod settings for a task's containers: its own when it declares volumes or has a
    /// per-task pod template, otherwise the run's pod template (if any).
    fn task_pod(&mut self, spec: NodeRef<'t>, chain: &[String], overrides: Option<Overrides<'t>>) -> Option<usize> {
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
    fn overrides_for(&self, chain: &[String]) -> Option<Overrides<'t>> {
        let top = chain.first()?;
        self.run.task_overrides.iter().find(|(task, _)| task == top).map(|(_, overrides)| *overrides)
    }

    /// `params[].default` (or `value`) as parameter defaults of `scope`.
    fn defaults(&mut self, params: Option<NodeRef<'t>>, scope: &str, path: &str) {
        for (name, value, parameter_name) in named_values(params, "default") {
            self.pipeline.parameters.push(Parameter {
                name,
                value,
                kind: ParameterKind::Default,
                scope: scope.to_string(),
                path: format!("{path}.{parameter_name}"),
            });
        }
    }

    /// The KFP v2 Tekton backend's `runtime-config` parameter: the run's parameter values as
    /// JSON (`{"parameters": {"text": {"stringValue": "hi"}}}`).
    fn kfp_runtime_config(&mut self, value: NodeRef<'t>, path: &str) {
        let Some(tree) = self.embedded.parse(value) else { return };
        for root in tree.documents() {
            for (name, typed) in root.get("parameters").into_iter().flat_map(|map| map.entries()) {
                let literal =
                    typed.get("stringValue").or_else(|| typed.get("intValue")).or_else(|| typed.get("doubleValue"));
                let Some(literal) = literal.filter(|l| l.as_str().is_some()) else { continue };
                let parameter_name = name.as_str().unwrap_or_default();
                self.pipeline.parameters.push(Parameter {
                    name,
                    value: literal,
                    kind: ParameterKind::Default,
                    scope: "pipeline".to_string(),
                    path: format!("{path}.parameters.{parameter_name}"),
                });
            }
        }
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
                    .map_or_else(|| index.to_string(), str::to_string);
                let path = format!("metadata.annotations.{RESOURCE_TEMPLATES}.{name}.spec");
                self.custom_body(spec, &path, &[name], 1);
            }
        }
    }
}

/// A list item's `name`, or its index when it has none.
fn label(node: NodeRef<'_>, index: usize) -> String {
    node.get("name").and_then(|n| n.as_str()).map_or_else(|| index.to_string(), str::to_string)
}

/// `(name node, value node, name)` of each `{name, <key>: <scalar>}` entry of a params list.
fn named_values<'t>(params: Option<NodeRef<'t>>, key: &str) -> Vec<(NodeRef<'t>, NodeRef<'t>, String)> {
    params
        .into_iter()
        .flat_map(|list| list.items())
        .filter_map(|entry| {
            let name = entry.get("name")?;
            let value = entry.get(key).filter(|v| v.as_str().is_some())?;
            Some((name, value, name.as_str()?.to_string()))
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
        .find(|entry| entry.get("name").and_then(|n| n.as_str()) == Some(container.name.as_str()));
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
