//! Argo Workflows: `argoproj.io` Workflow, WorkflowTemplate, ClusterWorkflowTemplate and
//! CronWorkflow (`spec.workflowSpec`), as people and Hera write them, as the KFP v1 compiler
//! writes them (`Format::KfpV1`), and as the KFP v2 backend generates them; also any document
//! whose `spec` has `entrypoint` and `templates` (kfp-tekton's API server tests wrap Argo
//! specs in a Tekton PipelineRun).
//!
//! Every place a process image runs becomes a container: a template's `container`, `script`
//! (its `source` is the container's script), `containerSet.containers`, `initContainers` and
//! `sidecars`, inline templates of DAG tasks and steps, and the pod spec of a workload in a
//! `resource.manifest` string (an Argo Workflow there is read like this one, a few levels
//! deep). What Argo applies to a container from elsewhere is resolved here, keeping the node
//! where each value is written:
//! * `spec.templateDefaults.container|script`: fields a template's container does not set
//!   (env merged by name, the template winning), its `securityContext` and `podSpecPatch` for
//!   templates without their own;
//! * `podSpecPatch` strings (JSON or YAML; workflow first, then template, as Argo applies
//!   them): `containers[name=main|<name>]` / `initContainers[name]` limits, security context
//!   and env, the pod's security context, host namespaces and volumes;
//! * pod-level `podResources` limits (template, else workflow) for containers without a limit;
//! * the pod security context: a template's own `securityContext` replaces the workflow's.
//!
//! Pods: the workflow spec is one pod (its host namespaces, volumes and workflow-level patch
//! are reported once); a template that sets pod-level settings of its own gets a pod holding
//! those and the security context in force for it; templates whose pod-level settings all
//! come from `templateDefaults` share one pod; other templates share the workflow's.
//!
//! KFP v2 backend output: the user containers are the JSON `implementations-*` workflow
//! parameters (older: `pipelines.kubeflow.org/implementations-*` annotations), named by the
//! matching `components-*` executor label, joined with the `kubernetes-comp-*` platform config
//! the driver task passes with them; pipeline and component defaults come from the
//! `components-*` JSON. The placeholder main container of `system-container-impl`
//! (`should-be-overridden-during-runtime`) is not a container; the driver and launcher are.
//!
//! Parameters: `spec.arguments.parameters[].value` are defaults (scope `workflow`), template
//! `inputs.parameters[].default|value` too (scope: the template), literal DAG task / step
//! `arguments.parameters[].value` are arguments (scope: the task).
//!
//! It must not: read the KFP v1 `pipelines.kubeflow.org/component_spec` annotation (it
//! repeats every command, so everything would be reported twice), follow `templateRef` or
//! `workflowTemplateRef` (the referenced template is linted where it is written), evaluate
//! `{{...}}` expressions, or claim WorkflowEventBindings and other kinds (`None`).

use std::borrow::Cow;
use std::cell::{Cell, OnceCell};
use std::collections::HashMap;
use std::sync::Arc;

use super::{Embedded, k8s, kfp_v2, kubernetes};
use crate::model::{
    Container, EnvValue, EnvVar, Format, ParameterKind, Pipeline, PodSettings, Role, SecurityContext, Setting,
};
use crate::yaml::NodeRef;

/// Kinds whose workflow body is `spec`.
const SPEC_KINDS: &[&str] = &["Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate"];

/// How many workflows-in-manifests deep are followed.
const MAX_NESTING: usize = 3;

/// The image of the KFP v2 backend's placeholder container, replaced at run time.
const PLACEHOLDER_IMAGE: &str = "should-be-overridden-during-runtime";

/// Where the KFP v2 backend's annotations live.
const KFP_ANNOTATION_PREFIX: &str = "pipelines.kubeflow.org/";

/// The pipeline of an Argo document, or `None` if the document is not one.
pub fn pipeline<'t>(document: NodeRef<'t>, embedded: &'t Embedded, fallback_name: &str) -> Option<Pipeline<'t>> {
    let (spec, spec_path) = workflow_spec(document)?;
    let name_node = document.at(&["metadata", "name"]).or_else(|| document.at(&["metadata", "generateName"]));
    let name = name_node.and_then(|n| n.as_str()).unwrap_or(fallback_name).to_string();
    let backend = KfpBackend::find(document, spec);
    let kfp_v1 = backend.is_none() && !is_kfp_v2_backend(spec) && is_kfp_v1(document, spec);
    let format = if kfp_v1 { Format::KfpV1 } else { Format::Argo };
    let mut builder = Builder {
        pipeline: Pipeline {
            name: name.clone(),
            format,
            anchor: name_node.unwrap_or(document),
            containers: Vec::new(),
            parameters: Vec::new(),
            pods: Vec::new(),
        },
        embedded,
    };
    let context = Scope {
        label: format!("workflow {name}"),
        path: spec_path,
        steps: Vec::new(),
        depth: 0,
        kfp_backend: backend.is_some(),
    };
    let workflow = builder.workflow(spec, &context);
    if let Some(backend) = backend {
        builder.kfp_backend(spec, &backend, &workflow);
    }
    Some(builder.pipeline)
}

/// The workflow body of a document and its symbolic path, if the document is Argo.
fn workflow_spec(document: NodeRef<'_>) -> Option<(NodeRef<'_>, String)> {
    let api = document.get("apiVersion").and_then(|a| a.as_str());
    if api.is_some_and(|api| api.starts_with("argoproj.io/")) {
        let kind = document.get("kind")?.as_str()?;
        let (spec, path) = if SPEC_KINDS.contains(&kind) {
            (document.get("spec")?, "spec")
        } else if kind == "CronWorkflow" {
            (document.at(&["spec", "workflowSpec"])?, "spec.workflowSpec")
        } else {
            return None;
        };
        return spec.is_mapping().then(|| (spec, path.to_string()));
    }
    let spec = document.get("spec")?;
    let argo_shaped = spec.get("entrypoint").is_some() && spec.get("templates").is_some_and(|t| t.is_sequence());
    argo_shaped.then(|| (spec, "spec".to_string()))
}

/// Output of the KFP v2 backend without user containers (an importer-only pipeline): its
/// pod metadata or its `system-*` templates.
fn is_kfp_v2_backend(spec: NodeRef<'_>) -> bool {
    let pod_metadata = spec.get("podMetadata").into_iter().flat_map(|m| m.entries()).flat_map(|(_, map)| map.entries());
    let labelled = pod_metadata.filter_map(|(key, _)| key.as_str()).any(|key| key.starts_with(KFP_ANNOTATION_PREFIX));
    labelled
        || spec.get("templates").into_iter().flat_map(|t| t.items()).any(|template| {
            template.get("name").and_then(|n| n.as_str()).is_some_and(|name| {
                matches!(
                    name,
                    "system-container-driver" | "system-container-impl" | "system-dag-driver" | "system-importer"
                )
            })
        })
}

/// KFP v1 compiler output: `pipelines.kubeflow.org/*` annotations or labels on the workflow
/// or its templates, KFP's UI metadata / metrics output artifacts, or KFP's service account.
fn is_kfp_v1(document: NodeRef<'_>, spec: NodeRef<'_>) -> bool {
    let kfp_keys = |metadata: Option<NodeRef<'_>>| {
        metadata.is_some_and(|metadata| {
            ["annotations", "labels"].iter().any(|key| {
                metadata.get(key).is_some_and(|map| {
                    map.entries().any(|(k, _)| k.as_str().is_some_and(|k| k.starts_with(KFP_ANNOTATION_PREFIX)))
                })
            })
        })
    };
    if kfp_keys(document.get("metadata")) {
        return true;
    }
    if spec.get("serviceAccountName").and_then(|s| s.as_str()) == Some("pipeline-runner") {
        return true;
    }
    spec.get("templates").into_iter().flat_map(|t| t.items()).any(|template| {
        let ui_artifacts = template.at(&["outputs", "artifacts"]).into_iter().flat_map(|a| a.items()).any(|artifact| {
            matches!(
                artifact.get("name").and_then(|n| n.as_str()),
                Some("mlpipeline-ui-metadata" | "mlpipeline-metrics")
            )
        });
        ui_artifacts || kfp_keys(template.get("metadata"))
    })
}

/// Where a workflow body sits: its pod's name, symbolic path, the steps of the template
/// that created it (for workflows in manifests) and how deep it is nested.
struct Scope {
    label: String,
    path: String,
    steps: Vec<String>,
    depth: usize,
    /// Generated by the KFP v2 backend: its parameters and templates are its own plumbing.
    kfp_backend: bool,
}

/// What templates of one workflow inherit.
struct WorkflowSettings<'t> {
    /// Index of the workflow's pod settings.
    pod: usize,
    /// The workflow's own security context (before its patch) and where it is written.
    security: SecurityContext<'t>,
    security_anchor: NodeRef<'t>,
    /// The parsed workflow-level `podSpecPatch`.
    patch: Option<NodeRef<'t>>,
    /// `spec.templateDefaults`.
    defaults: Option<NodeRef<'t>>,
    /// The parsed `templateDefaults.podSpecPatch`.
    default_patch: Option<NodeRef<'t>>,
    /// `templateDefaults.container` and `templateDefaults.script`, read once for every
    /// template's container of that kind.
    default_container: Option<Container<'t>>,
    default_script: Option<Container<'t>>,
    /// The pod of templates whose pod-level settings all come from `templateDefaults`.
    defaults_pod: Cell<Option<usize>>,
    /// `spec.podResources.limits`.
    pod_limits: Option<NodeRef<'t>>,
}

/// What a built workflow tells the KFP v2 backend pass.
struct Workflow {
    /// The workflow's pod.
    pod: usize,
    /// The pod of the `system-container-impl` template, which runs the user containers.
    impl_pod: Option<usize>,
}

/// A template's settings, resolved.
struct TemplateContext<'t, 'w> {
    name: &'w str,
    path: &'w str,
    /// The steps of the template that created the workflow (for workflows in manifests).
    outer_steps: &'w [String],
    /// The DAG tasks and steps that run the template.
    callers: &'w [&'w str],
    /// What its containers run in, built by [`TemplateContext::steps`].
    steps: OnceCell<Arc<[String]>>,
    pod: usize,
    /// Patches in the order Argo applies them (workflow, then template).
    patches: Vec<NodeRef<'t>>,
    pod_limits: Option<NodeRef<'t>>,
}

impl TemplateContext<'_, '_> {
    /// The names its containers carry: the outer steps, the template, then its callers.
    /// Built for the first container: many templates (DAGs, steps, resources) run none.
    fn steps(&self) -> &Arc<[String]> {
        self.steps.get_or_init(|| {
            let mut steps = self.outer_steps.to_vec();
            steps.push(self.name.to_string());
            for &caller in self.callers {
                if !steps.iter().any(|step| step == caller) {
                    steps.push(caller.to_string());
                }
            }
            steps.into()
        })
    }
}

struct Builder<'t> {
    pipeline: Pipeline<'t>,
    embedded: &'t Embedded,
}

/// The keys of a template that [`Builder::template`] reads, found in one pass over the
/// mapping (templates are read by the thousand; a lookup per key scans the mapping each
/// time). A repeated key's last value wins, as with `NodeRef::get`.
#[derive(Default)]
struct TemplateFields<'t> {
    inputs: Option<Setting<'t>>,
    pod_spec_patch: Option<Setting<'t>>,
    container: Option<Setting<'t>>,
    script: Option<Setting<'t>>,
    container_set: Option<Setting<'t>>,
    init_containers: Option<Setting<'t>>,
    sidecars: Option<Setting<'t>>,
    security: Option<Setting<'t>>,
    pod_resources: Option<Setting<'t>>,
    resource: Option<Setting<'t>>,
}

impl<'t> TemplateFields<'t> {
    fn of(template: NodeRef<'t>) -> Self {
        let mut fields = Self::default();
        for (key, value) in template.entries() {
            let field = match key.as_str() {
                Some("inputs") => &mut fields.inputs,
                Some("podSpecPatch") => &mut fields.pod_spec_patch,
                Some("container") => &mut fields.container,
                Some("script") => &mut fields.script,
                Some("containerSet") => &mut fields.container_set,
                Some("initContainers") => &mut fields.init_containers,
                Some("sidecars") => &mut fields.sidecars,
                Some("securityContext") => &mut fields.security,
                Some("podResources") => &mut fields.pod_resources,
                Some("resource") => &mut fields.resource,
                _ => continue,
            };
            *field = Some(Setting { key, value });
        }
        fields
    }
}

/// The value of a field found in a mapping.
fn value(field: Option<Setting<'_>>) -> Option<NodeRef<'_>> {
    field.map(|field| field.value)
}

impl<'t> Builder<'t> {
    /// A workflow body: its pod, parameters and every template.
    fn workflow(&mut self, spec: NodeRef<'t>, scope: &Scope) -> Workflow {
        let kfp_backend = scope.kfp_backend;
        let patch = self.patch(spec.get("podSpecPatch"));
        let defaults = spec.get("templateDefaults").filter(|d| d.is_mapping());
        let mut pod = k8s::read_pod_settings(spec, scope.label.clone());
        let security_anchor = spec.key("securityContext").unwrap_or(spec);
        pod.anchor = security_anchor;
        let security = pod.security.clone();
        // Template defaults' volumes are merged into every template: declared once, here.
        if let Some(volumes) = defaults.and_then(|d| d.get("volumes")) {
            pod.volumes.extend(volumes.items().map(k8s::read_volume));
        }
        if let Some(patch) = patch {
            apply_pod_patch(&mut pod, patch, true);
        }
        let pod_index = self.pipeline.pods.len();
        self.pipeline.pods.push(pod);
        let default_container = |key| {
            let default = defaults.and_then(|d| d.get(key)).filter(|d| d.is_mapping())?;
            Some(k8s::read_container(default, Role::Main, String::new()))
        };
        let settings = WorkflowSettings {
            pod: pod_index,
            security,
            security_anchor,
            patch,
            defaults,
            default_patch: self.patch(defaults.and_then(|d| d.get("podSpecPatch"))),
            default_container: default_container("container"),
            default_script: default_container("script"),
            defaults_pod: Cell::new(None),
            pod_limits: spec.at(&["podResources", "limits"]),
        };

        let arguments = named(spec.at(&["arguments", "parameters"]))
            .filter(|(name, _)| !(kfp_backend && is_kfp_backend_parameter(name.as_str().unwrap_or_default())))
            .filter_map(|(name, parameter)| Some((name, literal(parameter.get("value"))?)));
        self.pipeline.add_parameters(arguments, ParameterKind::Default, "workflow".into(), || {
            [&scope.path, "arguments.parameters"].join(".")
        });

        let templates: Vec<(Cow<'t, str>, String, NodeRef<'t>)> = spec
            .get("templates")
            .into_iter()
            .flat_map(|list| list.items())
            .enumerate()
            .filter(|(_, template)| template.is_mapping())
            .map(|(index, template)| {
                let name = label(template, index);
                let path = [&scope.path, "templates", &name].join(".");
                (name, path, template)
            })
            .collect();
        let template_tasks: Vec<Vec<Task<'t>>> = templates.iter().map(|(_, _, template)| tasks(*template)).collect();
        let callers = callers(&template_tasks);
        let mut workflow = Workflow { pod: pod_index, impl_pod: None };
        for ((name, path, template), template_tasks) in templates.iter().zip(template_tasks.iter()) {
            let template_callers = callers.get(name.as_ref()).map_or(&[][..], Vec::as_slice);
            let pod = self.template(*template, name.clone(), path, template_callers, &settings, scope);
            if name == "system-container-impl" {
                workflow.impl_pod = Some(pod);
            }
            // Tasks and steps that carry their template inline, and their literal arguments.
            for task in template_tasks {
                // The KFP v2 backend's task arguments are its own plumbing (JSON, placeholders).
                let arguments = if kfp_backend { None } else { task.node.at(&["arguments", "parameters"]) };
                let arguments =
                    named(arguments).filter_map(|(argument, value)| Some((argument, literal(value.get("value"))?)));
                self.pipeline.add_parameters(arguments, ParameterKind::Argument, task.name.clone(), || {
                    task.path(path) + ".arguments.parameters"
                });
                if let Some(inline) = task.node.get("inline").filter(|i| i.is_mapping()) {
                    let inline_path = task.path(path) + ".inline";
                    self.template(inline, task.name.clone(), &inline_path, &[], &settings, scope);
                }
            }
        }
        workflow
    }

    /// One template: its pod settings, parameters and containers. Returns its pod's index.
    /// `callers` name the DAG tasks and steps that run it.
    fn template(
        &mut self,
        template: NodeRef<'t>,
        name: Cow<'t, str>,
        path: &str,
        callers: &[&str],
        settings: &WorkflowSettings<'t>,
        scope: &Scope,
    ) -> usize {
        let fields = TemplateFields::of(template);
        let inputs = if scope.kfp_backend { None } else { value(fields.inputs).and_then(|i| i.get("parameters")) };
        let inputs = named(inputs).filter_map(|(parameter, definition)| {
            Some((parameter, literal(definition.get("default").or_else(|| definition.get("value")))?))
        });
        self.pipeline
            .add_parameters(inputs, ParameterKind::Default, name.clone(), || [path, "inputs.parameters"].join("."));
        let own_patch = self.patch(value(fields.pod_spec_patch));
        let template_patch = own_patch.or(settings.default_patch);
        let pod = self.template_pod(template, &fields, &name, own_patch, settings);
        let context = TemplateContext {
            name: &name,
            path,
            outer_steps: &scope.steps,
            callers,
            steps: OnceCell::new(),
            pod,
            patches: settings.patch.into_iter().chain(template_patch).collect(),
            pod_limits: value(fields.pod_resources).and_then(|r| r.get("limits")).or(settings.pod_limits),
        };

        let kinds = [
            ("container", fields.container, &settings.default_container),
            ("script", fields.script, &settings.default_script),
        ];
        for (key, field, default) in kinds {
            let Some(Setting { key: key_node, value: node }) = field.filter(|f| f.value.is_mapping()) else { continue };
            let mut container =
                read_container(node, Role::Main, [path, key].join("."), || name.to_string(), Some(key_node));
            if let Some(default) = default {
                fill_from_defaults(&mut container, default);
            }
            if container.image.and_then(|i| i.as_str()).is_some_and(|i| i.contains(PLACEHOLDER_IMAGE)) {
                continue;
            }
            self.finish(container, &context, &["main"]);
        }
        let lists = [
            ("containerSet.containers", value(fields.container_set).and_then(|s| s.get("containers")), Role::Main),
            ("initContainers", value(fields.init_containers), Role::Init),
            ("sidecars", value(fields.sidecars), Role::Sidecar),
        ];
        for (list_key, list, role) in lists {
            let Some(list) = list else { continue };
            let list_path = [path, list_key].join(".");
            for (index, node) in list.items().enumerate() {
                let container_path = [list_path.as_str(), &label(node, index)].join(".");
                let container = read_container(node, role, container_path, || format!("{name}-{index}"), None);
                self.finish(container, &context, &[]);
            }
        }
        if let Some(manifest) = value(fields.resource).and_then(|r| r.get("manifest")) {
            self.manifest(manifest, &context, scope);
        }
        pod
    }

    /// The pod settings in force for a template's containers: the workflow's, unless the
    /// template sets pod-level settings of its own (then a pod of its own) or
    /// `templateDefaults` sets some (then the pod all such templates share).
    fn template_pod(
        &mut self,
        template: NodeRef<'t>,
        fields: &TemplateFields<'t>,
        name: &str,
        own_patch: Option<NodeRef<'t>>,
        settings: &WorkflowSettings<'t>,
    ) -> usize {
        let runs_pod = fields.container.is_some() || fields.script.is_some() || fields.container_set.is_some();
        if !runs_pod {
            return settings.pod;
        }
        // Named once it is known to be the template's own pod: most templates share one.
        let mut pod = k8s::read_pod_settings(template, String::new());
        let own_security = fields.security.filter(|s| s.value.is_mapping());
        let own = own_security.is_some()
            || own_patch.is_some()
            || !pod.volumes.is_empty()
            || pod.host_network.is_some()
            || pod.host_pid.is_some()
            || pod.host_ipc.is_some();
        if !own {
            return self.defaults_pod(settings);
        }
        pod.name = format!("template {name}");
        if let Some(security) = own_security {
            pod.anchor = security.key;
        }
        self.add_pod(pod, own_security.is_some(), own_patch.or(settings.default_patch), settings)
    }

    /// The pod of templates that only `templateDefaults` gives pod-level settings, created
    /// once; the workflow's when `templateDefaults` sets none.
    fn defaults_pod(&mut self, settings: &WorkflowSettings<'t>) -> usize {
        let Some(defaults) = settings.defaults else { return settings.pod };
        if defaults.get("securityContext").filter(|s| s.is_mapping()).is_none() && settings.default_patch.is_none() {
            return settings.pod;
        }
        if let Some(index) = settings.defaults_pod.get() {
            return index;
        }
        let pod = PodSettings::new("template defaults".to_string(), defaults);
        let index = self.add_pod(pod, false, settings.default_patch, settings);
        settings.defaults_pod.set(Some(index));
        index
    }

    /// Completes and adds a template-level pod: the security context in force (its own, else
    /// `templateDefaults`', else the workflow's: a template's replaces the workflow's as a
    /// whole), then the patches, workflow first (the workflow patch's host namespaces and
    /// volumes are already on the workflow's pod).
    fn add_pod(
        &mut self,
        mut pod: PodSettings<'t>,
        own_security: bool,
        patch: Option<NodeRef<'t>>,
        settings: &WorkflowSettings<'t>,
    ) -> usize {
        if !own_security {
            let defaults = settings.defaults;
            if let Some(default) = defaults.and_then(|d| d.get("securityContext")).filter(|s| s.is_mapping()) {
                pod.security = SecurityContext::read(default);
                pod.anchor = defaults.and_then(|d| d.key("securityContext")).unwrap_or(default);
            } else {
                pod.security = settings.security.clone();
                pod.anchor = settings.security_anchor;
            }
        }
        if let Some(workflow_patch) = settings.patch {
            apply_pod_patch(&mut pod, workflow_patch, false);
        }
        if let Some(patch) = patch {
            apply_pod_patch(&mut pod, patch, true);
        }
        self.pipeline.pods.push(pod);
        self.pipeline.pods.len() - 1
    }

    /// Applies the template's patches and pod-level limits to a container and adds it.
    /// `pod_names` are the extra names the container has in the pod (`main`).
    fn finish(&mut self, mut container: Container<'t>, context: &TemplateContext<'t, '_>, pod_names: &[&str]) {
        let list = if container.role == Role::Init { "initContainers" } else { "containers" };
        for patch in &context.patches {
            let entry = patch.get(list).into_iter().flat_map(|l| l.items()).find(|entry| {
                entry
                    .get("name")
                    .and_then(|n| n.as_str())
                    .is_some_and(|n| n == &*container.name || pod_names.contains(&n))
            });
            if let Some(entry) = entry {
                apply_container_patch(&mut container, entry);
            }
        }
        if let Some(limits) = context.pod_limits {
            container.cpu_limit = container.cpu_limit.or_else(|| Setting::of(limits, "cpu"));
            container.memory_limit = container.memory_limit.or_else(|| Setting::of(limits, "memory"));
        }
        container.steps = Arc::clone(context.steps());
        container.pod = Some(context.pod);
        self.pipeline.containers.push(container);
    }

    /// A `resource.manifest`: a workload's pod spec, or an Argo workflow, adds containers.
    fn manifest(&mut self, manifest: NodeRef<'t>, context: &TemplateContext<'t, '_>, scope: &Scope) {
        let Some(tree) =
            manifest.as_str().filter(|text| !is_placeholder(text)).and_then(|_| self.embedded.parse(manifest))
        else {
            return;
        };
        let path = format!("{}.resource.manifest", context.path);
        for document in tree.documents() {
            let kind = document.get("kind").and_then(|k| k.as_str()).unwrap_or("object");
            let object = document.at(&["metadata", "name"]).or_else(|| document.at(&["metadata", "generateName"]));
            let object = object.and_then(|n| n.as_str()).unwrap_or("?");
            if let Some((spec, spec_path)) = kubernetes::pod_spec(document) {
                let name = format!("{kind} {object} in template {}", context.name);
                kubernetes::add_pod_spec(
                    &mut self.pipeline,
                    spec,
                    name,
                    &format!("{path}.{spec_path}"),
                    context.steps(),
                );
            } else if scope.depth < MAX_NESTING {
                let Some((spec, spec_path)) = workflow_spec(document) else { continue };
                let inner = Scope {
                    label: format!("{kind} {object} in template {}", context.name),
                    path: format!("{path}.{spec_path}"),
                    steps: context.steps().to_vec(),
                    depth: scope.depth + 1,
                    kfp_backend: false,
                };
                self.workflow(spec, &inner);
            }
        }
    }

    /// Parses a `podSpecPatch` string (JSON or YAML) into its mapping.
    fn patch(&self, node: Option<NodeRef<'t>>) -> Option<NodeRef<'t>> {
        let node = node?;
        if node.is_mapping() {
            return Some(node);
        }
        let text = node.as_str()?;
        if is_placeholder(text) {
            return None;
        }
        self.embedded.parse(node)?.documents().next().filter(|d| d.is_mapping())
    }

    /// The KFP v2 backend's user containers (from their JSON specs), their platform
    /// configs, and the pipeline's and components' parameter defaults.
    fn kfp_backend(&mut self, spec: NodeRef<'t>, backend: &KfpBackend<'t>, workflow: &Workflow) {
        let parsed: HashMap<&str, NodeRef<'t>> = backend
            .entries
            .iter()
            .filter(|entry| !is_placeholder(entry.value.as_str().unwrap_or_default()))
            .filter_map(|entry| {
                let root = self.embedded.parse(entry.value)?.documents().next()?;
                root.is_mapping().then_some((entry.key.as_str(), root))
            })
            .collect();
        let uses = backend.uses(spec);
        let impl_pod = workflow.impl_pod.unwrap_or(workflow.pod);
        for entry in &backend.entries {
            let Some(suffix) = entry.key.strip_prefix("implementations-") else { continue };
            let Some(&root) = parsed.get(entry.key.as_str()) else { continue };
            if root.get("image").is_none() {
                // An importer's or other non-container executor's spec.
                continue;
            }
            let label = parsed
                .get(format!("components-{suffix}").as_str())
                .and_then(|component| component.get("executorLabel"))
                .and_then(|l| l.as_str())
                .unwrap_or(entry.key.as_str())
                .to_string();
            let groups: Vec<&Use> = uses.iter().filter(|u| u.implementation == entry.key).collect();
            let default_group = Use { implementation: entry.key.clone(), config: None, steps: Vec::new() };
            let groups = if groups.is_empty() { vec![&default_group] } else { groups };
            let split = groups.len() > 1;
            for group in groups {
                let config = group.config.as_deref().and_then(|key| parsed.get(key).map(|root| (key, *root)));
                let mut path = entry.path.clone();
                if let (true, Some((key, _))) = (split, config) {
                    path = format!("{path}.{key}");
                }
                let anchor = root.key("image").unwrap_or(root);
                let mut container = kfp_v2::read_container(label.clone(), Role::Main, anchor, path, root, "image");
                container.steps = group.steps.as_slice().into();
                container.pod = Some(impl_pod);
                if let Some((key, config)) = config {
                    let pod = self.platform_config(&label, key, config, impl_pod, &container.steps, backend);
                    container.pod = Some(pod);
                    container.env.extend(
                        kfp_v2::secret_env_names(config)
                            .into_iter()
                            .map(|name| EnvVar { name, value: EnvValue::Reference("secretAsEnv") }),
                    );
                }
                self.pipeline.containers.push(container);
            }
        }
        for entry in &backend.entries {
            let Some(suffix) = entry.key.strip_prefix("components-") else { continue };
            let Some(&component) = parsed.get(entry.key.as_str()) else { continue };
            let scope = if suffix == "root" {
                Cow::Borrowed("pipeline")
            } else {
                let label = component.get("executorLabel").and_then(|l| l.as_str());
                label.map_or_else(|| Cow::Owned(suffix.to_string()), Cow::Borrowed)
            };
            kfp_v2::read_input_defaults(&mut self.pipeline, component, scope, &entry.path);
            kfp_v2::read_task_arguments(&mut self.pipeline, component, &entry.path);
        }
    }

    /// A `kubernetes-comp-*` platform config: its security context on top of the launcher
    /// pod's, and its init containers. Returns the pod its executor runs in.
    fn platform_config(
        &mut self,
        label: &str,
        key: &str,
        config: NodeRef<'t>,
        impl_pod: usize,
        steps: &Arc<[String]>,
        backend: &KfpBackend<'t>,
    ) -> usize {
        let security = config.get("securityContext").filter(|s| s.is_mapping());
        let init_containers = config.get("initContainers").filter(|l| l.is_sequence());
        if security.is_none() && init_containers.is_none() {
            return impl_pod;
        }
        let base = self.pipeline.pods.get(impl_pod);
        let mut pod = PodSettings::new(format!("platform config of {label}"), base.map_or(config, |base| base.anchor));
        pod.security = base.map(|base| base.security.clone()).unwrap_or_default();
        if let Some(security) = security {
            overlay(&mut pod.security, &SecurityContext::read(security));
            pod.anchor = config.key("securityContext").unwrap_or(config);
        }
        let index = self.pipeline.pods.len();
        self.pipeline.pods.push(pod);
        let config_path =
            backend.entries.iter().find(|e| e.key == key).map_or_else(|| key.to_string(), |e| e.path.clone());
        for (position, spec) in init_containers.into_iter().flat_map(|l| l.items()).enumerate() {
            let name_node = spec.get("name");
            let name = name_node.and_then(|n| n.as_str()).map_or_else(|| format!("init-{position}"), str::to_string);
            let anchor = name_node.or_else(|| spec.key("image")).unwrap_or(spec);
            let path = format!("{config_path}.initContainers.{name}");
            let mut container = kfp_v2::read_container(name, Role::Init, anchor, path, spec, "image");
            container.steps = Arc::clone(steps);
            container.pod = Some(index);
            self.pipeline.containers.push(container);
        }
        index
    }
}

/// One `implementations-*`, `components-*` or `kubernetes-comp-*` entry of a KFP v2
/// backend workflow.
struct BackendEntry<'t> {
    /// The name without the annotation prefix: `implementations-<hash>`.
    key: String,
    value: NodeRef<'t>,
    path: String,
}

/// A driver task's use of an implementation: with which platform config, for which tasks.
struct Use {
    implementation: String,
    config: Option<String>,
    steps: Vec<String>,
}

/// The JSON documents the KFP v2 backend stores in a workflow.
struct KfpBackend<'t> {
    entries: Vec<BackendEntry<'t>>,
    /// How templates refer to them: `{{workflow.parameters.` or `{{workflow.annotations.pipelines.kubeflow.org/`.
    reference: &'static str,
}

impl<'t> KfpBackend<'t> {
    /// The backend's entries, if the workflow was generated by the KFP v2 backend.
    fn find(document: NodeRef<'t>, spec: NodeRef<'t>) -> Option<Self> {
        let parameters: Vec<BackendEntry<'t>> = named(spec.at(&["arguments", "parameters"]))
            .filter_map(|(name, parameter)| {
                let key = name.as_str().filter(|n| is_kfp_backend_parameter(n))?;
                Some(BackendEntry {
                    key: key.to_string(),
                    value: parameter.get("value")?,
                    path: format!("spec.arguments.parameters.{key}"),
                })
            })
            .collect();
        if parameters.iter().any(|e| e.key.starts_with("implementations-")) {
            return Some(Self { entries: parameters, reference: "{{workflow.parameters." });
        }
        let annotations: Vec<BackendEntry<'t>> = document
            .at(&["metadata", "annotations"])
            .into_iter()
            .flat_map(|map| map.entries())
            .filter_map(|(key, value)| {
                let full = key.as_str()?;
                let short = full.strip_prefix(KFP_ANNOTATION_PREFIX).filter(|k| is_kfp_backend_parameter(k))?;
                Some(BackendEntry { key: short.to_string(), value, path: format!("metadata.annotations.{full}") })
            })
            .collect();
        annotations
            .iter()
            .any(|e| e.key.starts_with("implementations-"))
            .then_some(Self { entries: annotations, reference: "{{workflow.annotations.pipelines.kubeflow.org/" })
    }

    /// Which DAG tasks pass which implementation (`container` argument) with which platform
    /// config (`kubernetes-config`), grouped, in file order.
    fn uses(&self, spec: NodeRef<'t>) -> Vec<Use> {
        let mut uses: Vec<Use> = Vec::new();
        for template in spec.get("templates").into_iter().flat_map(|t| t.items()) {
            for task in template.at(&["dag", "tasks"]).into_iter().flat_map(|t| t.items()) {
                // The three arguments read, in one pass over the handful a driver task passes.
                let (mut container, mut kubernetes_config, mut task_name) = (None, None, None);
                for (name, parameter) in named(task.at(&["arguments", "parameters"])) {
                    let argument = match name.as_str() {
                        Some("container") => &mut container,
                        Some("kubernetes-config") => &mut kubernetes_config,
                        Some("task-name") => &mut task_name,
                        _ => continue,
                    };
                    // The last string value of a repeated name, as a map collected from the list keeps.
                    *argument = parameter.get("value").and_then(|v| v.as_str()).or(*argument);
                }
                let Some(implementation) = container.and_then(|v| self.referenced(v)) else {
                    continue;
                };
                let config = kubernetes_config.and_then(|v| self.referenced(v));
                let step = task_name
                    .filter(|name| !name.contains("{{") && !name.is_empty())
                    .map(|name| name.to_string())
                    .or_else(|| {
                        let name = task.get("name")?.as_str()?;
                        Some(name.strip_suffix("-driver").unwrap_or(name).to_string())
                    });
                let group = match uses.iter_mut().find(|u| u.implementation == implementation && u.config == config) {
                    Some(group) => group,
                    None => {
                        uses.push(Use { implementation, config, steps: Vec::new() });
                        let last = uses.len() - 1;
                        &mut uses[last]
                    }
                };
                if let Some(step) = step.filter(|s| !group.steps.contains(s)) {
                    group.steps.push(step);
                }
            }
        }
        uses
    }

    /// The entry key a `{{workflow.parameters.<key>}}` argument refers to.
    fn referenced(&self, value: &str) -> Option<String> {
        let key = value.trim().strip_prefix(self.reference)?.strip_suffix("}}")?;
        self.entries.iter().any(|e| e.key == key).then(|| key.to_string())
    }
}

/// Names the KFP v2 backend gives the JSON documents it stores in a workflow.
fn is_kfp_backend_parameter(name: &str) -> bool {
    name.starts_with("implementations-") || name.starts_with("components-") || name.starts_with("kubernetes-comp-")
}

/// Reads a container mapping; containers without a name are called `fallback_name()` and,
/// without an image either, anchored at `key` (the template's `container:` key).
fn read_container<'t>(
    node: NodeRef<'t>,
    role: Role,
    path: String,
    fallback_name: impl FnOnce() -> String,
    key: Option<NodeRef<'t>>,
) -> Container<'t> {
    let mut container = k8s::read_container(node, role, path);
    let named = node.get("name").and_then(|n| n.as_str()).is_some_and(|n| !n.trim().is_empty());
    if !named {
        container.name = fallback_name().into();
        container.anchor = node.key("image").or(key).unwrap_or(node);
    }
    container
}

/// Applies a pod-level patch: security context fields, and (when `host_and_volumes`) host
/// namespaces and volumes.
fn apply_pod_patch<'t>(pod: &mut PodSettings<'t>, patch: NodeRef<'t>, host_and_volumes: bool) {
    if let Some(security) = patch.get("securityContext").filter(|s| s.is_mapping()) {
        overlay(&mut pod.security, &SecurityContext::read(security));
        pod.anchor = patch.key("securityContext").unwrap_or(security);
    }
    if host_and_volumes {
        pod.host_network = Setting::of(patch, "hostNetwork").or(pod.host_network);
        pod.host_pid = Setting::of(patch, "hostPID").or(pod.host_pid);
        pod.host_ipc = Setting::of(patch, "hostIPC").or(pod.host_ipc);
        pod.volumes.extend(patch.get("volumes").into_iter().flat_map(|l| l.items()).map(k8s::read_volume));
    }
}

/// Applies a patch's entry for one container: limits, security context fields, env by name.
fn apply_container_patch<'t>(container: &mut Container<'t>, entry: NodeRef<'t>) {
    if let Some(limits) = entry.at(&["resources", "limits"]) {
        container.cpu_limit = Setting::of(limits, "cpu").or(container.cpu_limit);
        container.memory_limit = Setting::of(limits, "memory").or(container.memory_limit);
    }
    if let Some(security) = entry.get("securityContext").filter(|s| s.is_mapping()) {
        overlay(&mut container.security, &SecurityContext::read(security));
    }
    for var in k8s::read_env(entry) {
        match container.env.iter_mut().find(|existing| existing.name.as_str() == var.name.as_str()) {
            Some(existing) => *existing = var,
            None => container.env.push(var),
        }
    }
}

/// Fills what a container does not set from `templateDefaults` (env by name).
fn fill_from_defaults<'t>(container: &mut Container<'t>, defaults: &Container<'t>) {
    container.image = container.image.or(defaults.image);
    if container.command.is_empty() {
        container.command = defaults.command.clone();
    }
    if container.args.is_empty() {
        container.args = defaults.args.clone();
    }
    container.script = container.script.or(defaults.script);
    let missing: Vec<EnvVar<'t>> = defaults
        .env
        .iter()
        .filter(|var| !container.env.iter().any(|own| own.name.as_str() == var.name.as_str()))
        .cloned()
        .collect();
    container.env.splice(0..0, missing);
    container.cpu_limit = container.cpu_limit.or(defaults.cpu_limit);
    container.memory_limit = container.memory_limit.or(defaults.memory_limit);
    let mut security = defaults.security.clone();
    overlay(&mut security, &container.security);
    container.security = security;
}

/// Sets every field `top` sets on `base`.
fn overlay<'t>(base: &mut SecurityContext<'t>, top: &SecurityContext<'t>) {
    base.privileged = top.privileged.or(base.privileged);
    base.allow_privilege_escalation = top.allow_privilege_escalation.or(base.allow_privilege_escalation);
    base.run_as_user = top.run_as_user.or(base.run_as_user);
    base.run_as_non_root = top.run_as_non_root.or(base.run_as_non_root);
    if !top.capabilities_add.is_empty() {
        base.capabilities_add = top.capabilities_add.clone();
    }
}

/// Template name -> names of the DAG tasks and steps that call it, in file order.
fn callers<'t, 'a>(template_tasks: &'a [Vec<Task<'t>>]) -> HashMap<&'t str, Vec<&'a str>> {
    let mut map: HashMap<&'t str, Vec<&'a str>> = HashMap::new();
    for task in template_tasks.iter().flatten() {
        let Some(target) = task.node.get("template").and_then(|t| t.as_str()) else { continue };
        let callers = map.entry(target).or_default();
        if !callers.contains(&task.name.as_ref()) {
            callers.push(&task.name);
        }
    }
    map
}

/// A DAG task or step.
struct Task<'t> {
    name: Cow<'t, str>,
    node: NodeRef<'t>,
    /// The index of its parallel group in `steps`; `None` for a DAG task.
    group: Option<usize>,
}

impl Task<'_> {
    /// Its symbolic location in the template at `template_path`, built only where needed
    /// (literal arguments, inline templates): most tasks have neither.
    fn path(&self, template_path: &str) -> String {
        match self.group {
            None => [template_path, "dag.tasks", &self.name].join("."),
            Some(group) => format!("{template_path}.steps.{group}.{}", self.name),
        }
    }
}

/// The DAG tasks and steps of a template.
fn tasks(template: NodeRef<'_>) -> Vec<Task<'_>> {
    let mut found = Vec::new();
    for (index, node) in template.at(&["dag", "tasks"]).into_iter().flat_map(|t| t.items()).enumerate() {
        found.push(Task { name: label(node, index), node, group: None });
    }
    // `steps` is a list of parallel groups; tolerate a flat list of steps too.
    for (group_index, group) in template.get("steps").into_iter().flat_map(|s| s.items()).enumerate() {
        let members: Vec<NodeRef<'_>> = if group.is_mapping() { vec![group] } else { group.items().collect() };
        for (index, node) in members.into_iter().enumerate() {
            found.push(Task { name: label(node, index), node, group: Some(group_index) });
        }
    }
    found
}

/// A parameter's value when it is a literal (a string scalar), the only kind rules read.
fn literal(value: Option<NodeRef<'_>>) -> Option<NodeRef<'_>> {
    value.filter(|value| value.as_str().is_some())
}

/// The `name`d entries of a parameter list.
fn named<'t>(list: Option<NodeRef<'t>>) -> impl Iterator<Item = (NodeRef<'t>, NodeRef<'t>)> {
    list.into_iter()
        .flat_map(|l| l.items())
        .filter_map(|entry| entry.get("name").filter(|n| n.as_str().is_some()).map(|name| (name, entry)))
}

/// A list entry's `name`, else its index.
fn label(node: NodeRef<'_>, index: usize) -> Cow<'_, str> {
    node.get("name")
        .and_then(|n| n.as_str())
        .filter(|n| !n.trim().is_empty())
        .map_or_else(|| Cow::Owned(index.to_string()), Cow::Borrowed)
}

/// A string that is one `{{...}}` expression, filled in at run time.
fn is_placeholder(text: &str) -> bool {
    let text = text.trim();
    text.starts_with("{{") && text.ends_with("}}") && !text[2..].contains("{{")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Parameter;
    use crate::yaml::{Limits, Tree};

    fn with_pipeline(text: &str, check: impl FnOnce(Option<&Pipeline<'_>>)) {
        let tree = Tree::parse(text.to_string(), None, Limits::default()).unwrap();
        let embedded = Embedded::new(Limits::default(), text.len());
        let document = tree.documents().next().unwrap();
        let pipeline = pipeline(document, &embedded, "fallback");
        check(pipeline.as_ref());
    }

    fn value(setting: Option<Setting<'_>>) -> Option<&str> {
        setting.and_then(|s| s.value.as_str())
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn detects_argo_kinds_and_argo_shaped_specs_only() {
        let argo = [
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: {templates: []}\n",
            "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowTemplate\nspec: {templates: []}\n",
            "apiVersion: argoproj.io/v1alpha1\nkind: ClusterWorkflowTemplate\nspec: {templates: []}\n",
            "apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflow\nspec: {workflowSpec: {templates: []}}\n",
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: {workflowTemplateRef: {name: x}}\n",
            "apiVersion: tekton.dev/v1beta1\nkind: PipelineRun\nspec: {entrypoint: a, templates: [{name: a}]}\n",
        ];
        for text in argo {
            with_pipeline(text, |p| assert_eq!(p.map(|p| p.format), Some(Format::Argo), "{text}"));
        }
        let other = [
            "apiVersion: argoproj.io/v1alpha1\nkind: WorkflowEventBinding\nspec: {event: {selector: x}}\n",
            "apiVersion: argoproj.io/v1alpha1\ninvalidKey: something\n",
            "apiVersion: argoproj.io/v1alpha1\nkind: CronWorkflow\nspec: {schedule: x}\n",
            "apiVersion: tekton.dev/v1\nkind: PipelineRun\nspec: {pipelineSpec: {tasks: []}}\n",
            "apiVersion: v1\nkind: Pod\nspec: {containers: [{image: x}]}\n",
            "- a\n",
        ];
        for text in other {
            with_pipeline(text, |p| assert!(p.is_none(), "claimed: {text}"));
        }
    }

    #[test]
    fn kfp_v1_is_told_from_plain_argo() {
        let kfp = [
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {annotations: {pipelines.kubeflow.org/pipeline_spec: '{}'}}\nspec: {templates: []}\n",
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: {serviceAccountName: pipeline-runner, templates: []}\n",
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: {templates: [{name: a, metadata: {labels: {pipelines.kubeflow.org/cache_enabled: 'true'}}}]}\n",
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec: {templates: [{name: a, outputs: {artifacts: [{name: mlpipeline-ui-metadata}]}}]}\n",
        ];
        for text in kfp {
            with_pipeline(text, |p| assert_eq!(p.map(|p| p.format), Some(Format::KfpV1), "{text}"));
        }
    }

    #[test]
    fn names_containers_steps_and_paths() {
        let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: wf-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: first, template: work}
      - {name: second, template: work}
      - name: inline-task
        inline: {container: {image: c}}
  - name: work
    container: {image: a, command: [echo]}
    initContainers: [{name: init, image: i}]
    sidecars: [{name: side, image: s}]
  - name: set
    containerSet:
      containers: [{name: x, image: b}]
  - name: gen
    steps:
    - - {name: call-set, template: set}
  - name: code
    script: {image: python, command: [python], source: 'print(1)'}
";
        with_pipeline(text, |p| {
            let p = p.unwrap();
            assert_eq!(p.name, "wf-");
            let got: Vec<(&str, Role, &str, Vec<String>)> =
                p.containers.iter().map(|c| (&*c.name, c.role, c.path.as_str(), c.steps.to_vec())).collect();
            assert_eq!(
                got,
                vec![
                    (
                        "inline-task",
                        Role::Main,
                        "spec.templates.main.dag.tasks.inline-task.inline.container",
                        strings(&["inline-task"])
                    ),
                    ("work", Role::Main, "spec.templates.work.container", strings(&["work", "first", "second"])),
                    (
                        "init",
                        Role::Init,
                        "spec.templates.work.initContainers.init",
                        strings(&["work", "first", "second"])
                    ),
                    ("side", Role::Sidecar, "spec.templates.work.sidecars.side", strings(&["work", "first", "second"])),
                    ("x", Role::Main, "spec.templates.set.containerSet.containers.x", strings(&["set", "call-set"])),
                    ("code", Role::Main, "spec.templates.code.script", strings(&["code"])),
                ]
            );
            let code = &p.containers[5];
            assert_eq!(code.script.and_then(|s| s.as_str()), Some("print(1)"));
            // Unnamed containers are anchored at their image key.
            assert_eq!(&text[p.containers[1].anchor.file_span()], "image");
        });
    }

    #[test]
    fn template_defaults_fill_what_the_template_does_not_set() {
        let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: d}
spec:
  templateDefaults:
    securityContext: {runAsNonRoot: true}
    container:
      image: base
      command: [sh, -c]
      env: [{name: A, value: default}, {name: B, value: default}]
      resources: {limits: {cpu: '1'}}
      securityContext: {runAsUser: 0, privileged: true}
    script: {image: script-base, command: [python]}
  templates:
  - name: c
    container:
      args: [pwd]
      env: [{name: B, value: own}]
      securityContext: {runAsUser: 1000}
  - name: s
    script: {source: 'print(1)'}
  - name: other
    container: {image: own, command: [ls], resources: {limits: {cpu: '2', memory: 1Gi}}}
";
        with_pipeline(text, |p| {
            let p = p.unwrap();
            let [c, s, other] = &p.containers[..] else { panic!("{:?}", p.containers) };
            assert_eq!(c.image.and_then(|i| i.as_str()), Some("base"));
            assert_eq!(c.command.len(), 2);
            assert_eq!(c.args.len(), 1);
            let env: Vec<(&str, &str)> = c
                .env
                .iter()
                .map(|v| match v.value {
                    EnvValue::Literal(n) => (v.name.as_str().unwrap(), n.as_str().unwrap()),
                    EnvValue::Reference(r) => (v.name.as_str().unwrap(), r),
                })
                .collect();
            assert_eq!(env, vec![("A", "default"), ("B", "own")]);
            assert_eq!(value(c.cpu_limit), Some("1"));
            assert_eq!(value(c.security.run_as_user), Some("1000"));
            assert_eq!(value(c.security.privileged), Some("true"));
            // No image of its own: anchored at the template's `container:` key.
            assert_eq!(&text[c.anchor.file_span()], "container");
            assert_eq!(s.image.and_then(|i| i.as_str()), Some("script-base"));
            assert_eq!(s.command.len(), 1);
            assert_eq!(s.script.and_then(|x| x.as_str()), Some("print(1)"));
            assert_eq!((value(other.cpu_limit), value(other.memory_limit)), (Some("2"), Some("1Gi")));
            assert_eq!(other.image.and_then(|i| i.as_str()), Some("own"));
            // Templates whose pod settings all come from the defaults share one pod.
            let pods: Vec<&str> = p.pods.iter().map(|pod| pod.name.as_str()).collect();
            assert_eq!(pods, vec!["workflow d", "template defaults"]);
            assert_eq!((c.pod, s.pod, other.pod), (Some(1), Some(1), Some(1)));
            assert_eq!(value(p.pods[1].security.run_as_non_root), Some("true"));
        });
    }

    #[test]
    fn pod_spec_patches_json_and_yaml() {
        let text = r#"apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: p}
spec:
  securityContext: {runAsNonRoot: true}
  podSpecPatch: |
    hostPID: true
    containers:
      - name: main
        resources:
          limits:
            memory: "{{workflow.parameters.mem}}"
  templates:
  - name: a
    podSpecPatch: '{"hostNetwork": true, "securityContext": {"runAsUser": 0}, "volumes": [{"name": "h", "hostPath": {"path": "/"}}], "containers": [{"name": "main", "resources": {"limits": {"cpu": "2"}}, "env": [{"name": "TOKEN", "value": "x"}]}, {"name": "side", "securityContext": {"privileged": true}}]}'
    container: {image: x}
    sidecars: [{name: side, image: y}]
  - name: b
    container: {image: x}
  - name: c
    podSpecPatch: '{{inputs.parameters.patch}}'
    container: {image: x}
"#;
        with_pipeline(text, |p| {
            let p = p.unwrap();
            let pods: Vec<&str> = p.pods.iter().map(|pod| pod.name.as_str()).collect();
            assert_eq!(pods, vec!["workflow p", "template a"]);
            let workflow = &p.pods[0];
            assert_eq!(value(workflow.host_pid), Some("true"));
            assert!(workflow.host_network.is_none());
            let template = &p.pods[1];
            assert_eq!(value(template.host_network), Some("true"));
            assert!(template.host_pid.is_none(), "reported once, on the workflow's pod");
            assert_eq!(template.volumes.len(), 1);
            assert_eq!(value(template.security.run_as_user), Some("0"));
            assert_eq!(value(template.security.run_as_non_root), Some("true"));
            // The finding points inside the string, at the key.
            let key = template.host_network.unwrap().key.file_span();
            assert!(text[key.start..].starts_with("\"hostNetwork\": true"), "{}", &text[key.start..]);

            let [a, side, b, c] = &p.containers[..] else { panic!("{:?}", p.containers) };
            assert_eq!((value(a.cpu_limit), value(a.memory_limit)), (Some("2"), Some("{{workflow.parameters.mem}}")));
            assert_eq!(a.env.len(), 1);
            assert_eq!(value(side.security.privileged), Some("true"));
            assert!(side.cpu_limit.is_none());
            assert_eq!((a.pod, side.pod, b.pod, c.pod), (Some(1), Some(1), Some(0), Some(0)));
            assert_eq!(value(b.memory_limit), Some("{{workflow.parameters.mem}}"));
            assert!(b.cpu_limit.is_none());
        });
    }

    #[test]
    fn template_security_context_replaces_the_workflows() {
        let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: s}
spec:
  securityContext: {runAsUser: 0, runAsNonRoot: false}
  volumes: [{name: v, hostPath: {path: /var}}]
  podResources: {limits: {cpu: '1', memory: 1Gi}}
  templates:
  - name: inherits
    container: {image: x}
  - name: own
    securityContext: {runAsUser: 1000}
    podResources: {limits: {cpu: '4'}}
    container: {image: x}
  - name: volumes
    volumes: [{name: w, emptyDir: {}}]
    container: {image: x, resources: {limits: {memory: 2Gi}}}
";
        with_pipeline(text, |p| {
            let p = p.unwrap();
            let [inherits, own, volumes] = &p.containers[..] else { panic!() };
            let user = |c| p.effective(c, |s| s.run_as_user.as_ref()).and_then(|e| e.setting.value.as_str());
            assert_eq!(user(inherits), Some("0"));
            assert_eq!(user(own), Some("1000"));
            assert!(p.effective(own, |s| s.run_as_non_root.as_ref()).is_none());
            assert_eq!(user(volumes), Some("0"));
            // Inherited settings point where they are written.
            let anchor = p.pod_of(volumes).unwrap().anchor.file_span();
            assert!(text[anchor].starts_with("securityContext"));
            assert_eq!(p.pods[0].volumes.len(), 1);
            assert_eq!(p.pods.iter().map(|pod| pod.volumes.len()).sum::<usize>(), 2);
            assert_eq!((value(inherits.cpu_limit), value(inherits.memory_limit)), (Some("1"), Some("1Gi")));
            assert_eq!((value(own.cpu_limit), value(own.memory_limit)), (Some("4"), None));
            assert_eq!((value(volumes.cpu_limit), value(volumes.memory_limit)), (Some("1"), Some("2Gi")));
        });
    }

    #[test]
    fn resource_manifests_with_workloads_and_workflows() {
        let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: m}
spec:
  templates:
  - name: deploy
    resource:
      action: create
      manifest: |
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web}
        spec:
          template:
            spec:
              hostNetwork: true
              containers: [{name: app, image: nginx}]
  - name: nested
    resource:
      manifest: |
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: child-}
        spec:
          templates: [{name: t, container: {image: busybox}}]
  - name: secret
    resource:
      manifest: |
        apiVersion: v1
        kind: Secret
        stringData: {password: x}
";
        with_pipeline(text, |p| {
            let p = p.unwrap();
            let got: Vec<(&str, &str, Vec<String>)> =
                p.containers.iter().map(|c| (&*c.name, c.path.as_str(), c.steps.to_vec())).collect();
            assert_eq!(
                got,
                vec![
                    (
                        "app",
                        "spec.templates.deploy.resource.manifest.spec.template.spec.containers.app",
                        strings(&["deploy"])
                    ),
                    (
                        "t",
                        "spec.templates.nested.resource.manifest.spec.templates.t.container",
                        strings(&["nested", "t"])
                    ),
                ]
            );
            let app_pod = p.pod_of(&p.containers[0]).unwrap();
            assert_eq!(app_pod.name, "Deployment web in template deploy");
            let host = app_pod.host_network.unwrap().key.file_span();
            assert!(text[host].starts_with("hostNetwork"));
            let image = p.containers[0].image.unwrap().file_span();
            assert_eq!(&text[image], "nginx");
        });
    }

    #[test]
    fn parameters_defaults_and_arguments() {
        let text = "\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: w}
spec:
  arguments:
    parameters: [{name: password, value: hunter2}, {name: empty}]
  templates:
  - name: main
    inputs:
      parameters: [{name: token, default: abc}, {name: fixed, value: v}]
    steps:
    - - name: call
        template: main
        arguments: {parameters: [{name: token, value: literal}]}
";
        with_pipeline(text, |p| {
            let parameters = &p.unwrap().parameters;
            let paths: Vec<String> = parameters.iter().map(Parameter::path).collect();
            let got: Vec<(ParameterKind, &str, &str, &str)> = parameters
                .iter()
                .zip(&paths)
                .map(|(q, path)| (q.kind, q.value.as_str().unwrap(), q.scope.as_ref(), path.as_str()))
                .collect();
            assert_eq!(
                got,
                vec![
                    (ParameterKind::Default, "hunter2", "workflow", "spec.arguments.parameters.password"),
                    (ParameterKind::Default, "abc", "main", "spec.templates.main.inputs.parameters.token"),
                    (ParameterKind::Default, "v", "main", "spec.templates.main.inputs.parameters.fixed"),
                    (
                        ParameterKind::Argument,
                        "literal",
                        "call",
                        "spec.templates.main.steps.0.call.arguments.parameters.token"
                    ),
                ]
            );
        });
    }

    #[test]
    fn kfp_v2_backend_implementations() {
        let text = r#"apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: p-}
spec:
  arguments:
    parameters:
    - name: kubernetes-comp-train
      value: '{"secretAsEnv":[{"keyToEnv":[{"envVar":"PASSWORD","secretKey":"p"}],"secretName":"s"}],"securityContext":{"runAsUser":"0"}}'
    - name: components-abc
      value: '{"executorLabel":"exec-train","inputDefinitions":{"parameters":{"api_token":{"defaultValue":"t0k"}}}}'
    - name: implementations-abc
      value: '{"command":["sh","-c","curl http://x"],"image":"python:3.11","resources":{"cpuLimit":2}}'
    - name: components-imp
      value: '{"executorLabel":"exec-importer"}'
    - name: implementations-imp
      value: '{"artifactUri":{"constant":"gs://x"}}'
    - name: components-root
      value: '{"dag":{"tasks":{}},"inputDefinitions":{"parameters":{"db_password":{"defaultValue":"pw"}}}}'
  serviceAccountName: pipeline-runner
  securityContext: {runAsNonRoot: true}
  templates:
  - name: system-container-impl
    container: {image: gcr.io/ml-pipeline/should-be-overridden-during-runtime, command: [should-be-overridden-during-runtime]}
    initContainers: [{name: kfp-launcher, image: launcher, resources: {limits: {cpu: 500m, memory: 256Mi}}}]
    podSpecPatch: '{{inputs.parameters.pod-spec-patch}}'
    securityContext: {seccompProfile: {type: RuntimeDefault}}
  - name: root
    dag:
      tasks:
      - name: train-driver
        template: system-container-driver
        arguments:
          parameters:
          - {name: container, value: '{{workflow.parameters.implementations-abc}}'}
          - {name: task-name, value: train}
          - {name: kubernetes-config, value: '{{workflow.parameters.kubernetes-comp-train}}'}
"#;
        with_pipeline(text, |p| {
            let p = p.unwrap();
            assert_eq!(p.format, Format::Argo);
            let got: Vec<(&str, Role, &str, Vec<String>)> =
                p.containers.iter().map(|c| (&*c.name, c.role, c.path.as_str(), c.steps.to_vec())).collect();
            assert_eq!(
                got,
                vec![
                    (
                        "kfp-launcher",
                        Role::Init,
                        "spec.templates.system-container-impl.initContainers.kfp-launcher",
                        strings(&["system-container-impl"])
                    ),
                    ("exec-train", Role::Main, "spec.arguments.parameters.implementations-abc", strings(&["train"])),
                ]
            );
            let train = &p.containers[1];
            assert_eq!(train.image.and_then(|i| i.as_str()), Some("python:3.11"));
            assert_eq!(train.command.len(), 3);
            assert_eq!(value(train.cpu_limit), Some("2"));
            assert!(matches!(train.env[..], [EnvVar { value: EnvValue::Reference("secretAsEnv"), .. }]));
            let pod = p.pod_of(train).unwrap();
            assert_eq!(pod.name, "platform config of exec-train");
            assert_eq!(value(pod.security.run_as_user), Some("0"));
            // The launcher pod's security context: the template's replaces the workflow's.
            assert!(pod.security.run_as_non_root.is_none());
            let image = train.image.unwrap().file_span();
            assert!(text[image.start..].starts_with("\"python:3.11\""), "{}", &text[image.start..]);
            let parameters: Vec<(&str, &str, &str)> = p
                .parameters
                .iter()
                .map(|q| (q.name.as_str().unwrap(), q.value.as_str().unwrap(), q.scope.as_ref()))
                .collect();
            assert_eq!(parameters, vec![("api_token", "t0k", "exec-train"), ("db_password", "pw", "pipeline")]);
        });
    }

    #[test]
    fn kfp_v2_backend_annotations() {
        let text = r#"apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: hello-
  annotations:
    pipelines.kubeflow.org/components-comp-hello: '{"executorLabel":"exec-hello"}'
    pipelines.kubeflow.org/implementations-comp-hello: '{"command":["echo"],"image":"python:3.7"}'
spec:
  templates:
  - name: root
    dag:
      tasks:
      - name: hello-driver
        arguments:
          parameters:
          - {name: container, value: '{{workflow.annotations.pipelines.kubeflow.org/implementations-comp-hello}}'}
"#;
        with_pipeline(text, |p| {
            let p = p.unwrap();
            assert_eq!(p.format, Format::Argo);
            let [hello] = &p.containers[..] else { panic!("{:?}", p.containers) };
            assert_eq!(&*hello.name, "exec-hello");
            assert_eq!(hello.path, "metadata.annotations.pipelines.kubeflow.org/implementations-comp-hello");
            assert_eq!(hello.steps.to_vec(), strings(&["hello"]));
        });
    }

    #[test]
    fn nesting_is_bounded() {
        // A workflow whose manifest is a workflow whose manifest is ... : followed a few levels.
        let mut manifest = String::from("apiVersion: v1\nkind: Pod\nspec: {containers: [{name: deep, image: x}]}\n");
        for _ in 0..6 {
            let indented: String = manifest.lines().map(|l| format!("        {l}\n")).collect();
            manifest = format!(
                "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nspec:\n  templates:\n  - name: t\n    resource:\n      manifest: |\n{indented}"
            );
        }
        with_pipeline(&manifest, |p| assert!(p.unwrap().containers.is_empty()));
    }
}
