//! The normalized pipeline model: what every rule reads.
//!
//! Format adapters (`crate::formats`) turn documents into [`Pipeline`]s; rules see only
//! this model, never raw format quirks. Every field keeps the YAML node it came from
//! ([`NodeRef`]), so a finding can point at the exact key or value in the file, and a
//! symbolic `path` made of names (never line numbers) for fingerprints.

use std::borrow::Cow;
use std::cell::{LazyCell, OnceCell};
use std::sync::Arc;

use crate::analysis::{Code, QuietChecks};
use crate::yaml::NodeRef;

/// The families of files kfpguard understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Kubeflow Pipelines v2 IR (`PipelineSpec`), its PipelineJob wrapper or a compiled component.
    KfpV2,
    /// A KFP v2 Kubernetes platform spec without the pipeline it configures.
    KfpV2Platform,
    /// Argo Workflows written by the KFP v1 compiler.
    KfpV1,
    /// Argo Workflows (Workflow, WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow).
    Argo,
    /// Tekton (Pipeline, PipelineRun, Task, TaskRun) as kfp-tekton or people write it.
    Tekton,
    /// Kubernetes workloads (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob).
    Kubernetes,
    /// Any YAML in which the generic fallback found containers.
    Generic,
}

impl Format {
    /// How users call the format.
    pub fn label(self) -> &'static str {
        match self {
            Format::KfpV2 => "KFP v2",
            Format::KfpV2Platform => "KFP v2 platform spec",
            Format::KfpV1 => "KFP v1",
            Format::Argo => "Argo",
            Format::Tekton => "Tekton",
            Format::Kubernetes => "Kubernetes",
            Format::Generic => "generic",
        }
    }
}

/// One pipeline (or one workload) found in a document.
#[derive(Debug)]
pub struct Pipeline<'t> {
    pub name: String,
    pub format: Format,
    /// Where pipeline-level findings point: the node that names the pipeline.
    pub anchor: NodeRef<'t>,
    pub containers: Vec<Container<'t>>,
    pub parameters: Vec<Parameter<'t>>,
    /// Pod-level settings shared by containers (`Container::pod` indexes this).
    pub pods: Vec<PodSettings<'t>>,
}

impl<'t> Pipeline<'t> {
    /// Records the `(name, value)` parameters of one list or mapping, all declared in
    /// `scope`. `section` builds the list's symbolic location once, and only if the list
    /// yields a parameter: parameters are read by the thousand, and their siblings share it.
    pub fn add_parameters(
        &mut self,
        found: impl IntoIterator<Item = (NodeRef<'t>, NodeRef<'t>)>,
        kind: ParameterKind,
        scope: Cow<'t, str>,
        section: impl FnOnce() -> String,
    ) {
        let section = LazyCell::new(|| Arc::<str>::from(section()));
        for (name, value) in found {
            let section = Arc::clone(&section);
            self.parameters.push(Parameter { name, value, kind, scope: scope.clone(), section });
        }
    }

    pub fn pod_of(&self, container: &Container<'t>) -> Option<&PodSettings<'t>> {
        container.pod.and_then(|index| self.pods.get(index))
    }

    /// The setting that is in force for `container`: its own, else its pod's.
    pub fn effective<'p>(
        &'p self,
        container: &'p Container<'t>,
        pick: impl Fn(&'p SecurityContext<'t>) -> Option<&'p Setting<'t>>,
    ) -> Option<Effective<'p, 't>> {
        if let Some(setting) = pick(&container.security) {
            return Some(Effective { setting, from_pod: None });
        }
        let pod = self.pod_of(container)?;
        pick(&pod.security).map(|setting| Effective { setting, from_pod: Some(pod) })
    }
}

/// A setting together with the pod it was inherited from, if any.
#[derive(Clone, Copy, Debug)]
pub struct Effective<'p, 't> {
    pub setting: &'p Setting<'t>,
    pub from_pod: Option<&'p PodSettings<'t>>,
}

/// What part a container plays in its pod.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Main,
    Init,
    Sidecar,
}

/// Every place a process image runs.
#[derive(Debug)]
pub struct Container<'t> {
    /// The container's name in its format (KFP: the executor label); shared by every finding
    /// about the container.
    pub name: Arc<str>,
    pub role: Role,
    /// User-facing names of what runs it (KFP tasks, Argo templates and steps, ...); shared
    /// by the containers of one task and by every finding about them.
    pub steps: Arc<[String]>,
    /// Where "missing" findings point (the executor key, the container's name).
    pub anchor: NodeRef<'t>,
    /// Symbolic location for fingerprints, e.g. `deploymentSpec.executors.exec-train`.
    pub path: String,
    pub image: Option<NodeRef<'t>>,
    pub command: Vec<NodeRef<'t>>,
    pub args: Vec<NodeRef<'t>>,
    /// Source code run by the container outside command/args (Argo `source`, Tekton `script`).
    pub script: Option<NodeRef<'t>>,
    pub env: Vec<EnvVar<'t>>,
    pub cpu_limit: Option<Setting<'t>>,
    pub memory_limit: Option<Setting<'t>>,
    pub security: SecurityContext<'t>,
    /// Index into `Pipeline::pods`.
    pub pod: Option<usize>,
    /// What the container's commands do, analysed on first use.
    pub code: OnceCell<Code>,
    /// The checks known to find nothing in its code, looked up on first use (by the rules'
    /// [`crate::rules::Emitter::check_code`]).
    pub quiet: OnceCell<Arc<QuietChecks>>,
}

impl<'t> Container<'t> {
    /// A container with nothing set yet, for adapters to fill in.
    pub fn new(name: impl Into<Arc<str>>, role: Role, anchor: NodeRef<'t>, path: String) -> Self {
        Self {
            name: name.into(),
            role,
            steps: Arc::default(),
            anchor,
            path,
            image: None,
            command: Vec::new(),
            args: Vec::new(),
            script: None,
            env: Vec::new(),
            cpu_limit: None,
            memory_limit: None,
            security: SecurityContext::default(),
            pod: None,
            code: OnceCell::new(),
            quiet: OnceCell::new(),
        }
    }

    /// The analysis of command, args and script, computed once.
    pub fn code(&self) -> &Code {
        self.code.get_or_init(|| Code::of(self))
    }
}

/// A `key: value` pair as written.
#[derive(Clone, Copy, Debug)]
pub struct Setting<'t> {
    pub key: NodeRef<'t>,
    pub value: NodeRef<'t>,
}

impl<'t> Setting<'t> {
    /// Reads `key` from a mapping.
    pub fn of(map: NodeRef<'t>, key: &str) -> Option<Self> {
        Some(Self { key: map.key(key)?, value: map.get(key)? })
    }
}

/// Security settings at one level (container or pod).
#[derive(Clone, Debug, Default)]
pub struct SecurityContext<'t> {
    pub privileged: Option<Setting<'t>>,
    pub allow_privilege_escalation: Option<Setting<'t>>,
    pub run_as_user: Option<Setting<'t>>,
    pub run_as_non_root: Option<Setting<'t>>,
    pub capabilities_add: Vec<NodeRef<'t>>,
}

impl<'t> SecurityContext<'t> {
    /// Reads a Kubernetes-style `securityContext` mapping.
    pub fn read(map: NodeRef<'t>) -> Self {
        Self {
            privileged: Setting::of(map, "privileged"),
            allow_privilege_escalation: Setting::of(map, "allowPrivilegeEscalation"),
            run_as_user: Setting::of(map, "runAsUser"),
            run_as_non_root: Setting::of(map, "runAsNonRoot"),
            capabilities_add: map.at(&["capabilities", "add"]).map(|list| list.items().collect()).unwrap_or_default(),
        }
    }
}

/// Settings of a pod that apply to all of its containers.
#[derive(Debug)]
pub struct PodSettings<'t> {
    /// What the pod is called in the file (a template, an executor's platform config, ...).
    pub name: String,
    /// Where the settings are written, for related locations.
    pub anchor: NodeRef<'t>,
    pub security: SecurityContext<'t>,
    pub host_network: Option<Setting<'t>>,
    pub host_pid: Option<Setting<'t>>,
    pub host_ipc: Option<Setting<'t>>,
    pub volumes: Vec<Volume<'t>>,
}

impl<'t> PodSettings<'t> {
    pub fn new(name: String, anchor: NodeRef<'t>) -> Self {
        Self {
            name,
            anchor,
            security: SecurityContext::default(),
            host_network: None,
            host_pid: None,
            host_ipc: None,
            volumes: Vec::new(),
        }
    }
}

/// A volume a pod declares.
#[derive(Clone, Debug)]
pub struct Volume<'t> {
    pub name: Option<NodeRef<'t>>,
    /// The `hostPath` key, when the volume is one.
    pub host_path: Option<Setting<'t>>,
}

/// An environment variable of a container.
#[derive(Clone, Debug)]
pub struct EnvVar<'t> {
    pub name: NodeRef<'t>,
    pub value: EnvValue<'t>,
}

#[derive(Clone, Debug)]
pub enum EnvValue<'t> {
    /// A value written in the file.
    Literal(NodeRef<'t>),
    /// Filled in at run time from somewhere else (a Secret, a ConfigMap, a field).
    Reference(&'static str),
}

/// A parameter that can carry a literal value into the pipeline.
#[derive(Clone, Debug)]
pub struct Parameter<'t> {
    /// The parameter's name as a node (a key or a `name:` value).
    pub name: NodeRef<'t>,
    pub value: NodeRef<'t>,
    pub kind: ParameterKind,
    /// Where it is declared: `pipeline`, a component or task name (mostly borrowed from the
    /// file: parameters are read by the thousand and rarely reported).
    pub scope: Cow<'t, str>,
    /// Symbolic location of the list or mapping that declares it, shared with its siblings;
    /// [`Parameter::path`] adds the parameter's name.
    pub section: Arc<str>,
}

impl Parameter<'_> {
    /// Symbolic location for fingerprints, built only for parameters that are reported.
    pub fn path(&self) -> String {
        format!("{}.{}", self.section, self.name.as_str().unwrap_or_default())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParameterKind {
    /// The default of a declared input.
    Default,
    /// A literal argument a task passes to an input.
    Argument,
}
