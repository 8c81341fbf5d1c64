//! `missing-cpu-limit` and `missing-memory-limit`: a container has no resource limit.
//! One module for both: they differ only in the resource they look at.

use super::{Check, Docs, Emitter, Hit, Rule, RuleMeta};
use crate::finding::Severity;
use crate::model::{Container, Pipeline, Setting};

pub static MISSING_CPU_LIMIT: Rule = Rule {
    meta: RuleMeta {
        id: "missing-cpu-limit",
        severity: Severity::Medium,
        enabled_by_default: true,
        summary: "Container has no CPU limit",
        help: "set a CPU limit, e.g. KFP v2 `task.set_cpu_limit(\"2\")`",
        tags: &["reliability", "CWE-770", "kubernetes"],
        docs: Docs {
            what: "Flags every container without a CPU limit after inheritance: KFP v2 \
`cpuLimit` or `resourceCpuLimit` (a run-time placeholder counts as set), Kubernetes-style \
`resources.limits.cpu` (Tekton `computeResources` too).",
            why: "Without a limit one step (a runaway loop, a crypto-miner in a compromised \
dependency) can starve every other workload on the node. Cluster policies such as \
LimitRanges catch this at run time; kfpguard catches it at review time.",
            example: "\
deploymentSpec:
  executors:
    exec-train:          # <- flagged: no resources.cpuLimit / resourceCpuLimit
      container:
        image: python:3.11",
            fix: "\
- **KFP v2**: `task.set_cpu_limit(\"2\")`.
- **KFP v1**: `op.set_cpu_limit(\"2\")`.
- **Hera / Argo**: `resources=Resources(cpu_limit=\"2\")` / `resources.limits.cpu` in the template, \
or `podSpecPatch`.
- **Tekton**: `computeResources.limits.cpu` on the step or in `stepTemplate`.",
        },
    },
    check: Check::Code(check_cpu),
};

pub static MISSING_MEMORY_LIMIT: Rule = Rule {
    meta: RuleMeta {
        id: "missing-memory-limit",
        severity: Severity::Medium,
        enabled_by_default: true,
        summary: "Container has no memory limit",
        help: "set a memory limit, e.g. KFP v2 `task.set_memory_limit(\"4G\")`",
        tags: &["reliability", "CWE-770", "kubernetes"],
        docs: Docs {
            what: "Flags every container without a memory limit after inheritance: KFP v2 \
`memoryLimit` or `resourceMemoryLimit` (a run-time placeholder counts as set), Kubernetes-style \
`resources.limits.memory` (Tekton `computeResources` too).",
            why: "A step without a memory limit can grow until the node's kernel kills other \
pods, including other teams' pipelines and system daemons.",
            example: "\
deploymentSpec:
  executors:
    exec-train:          # <- flagged: no resources.memoryLimit / resourceMemoryLimit
      container:
        image: python:3.11",
            fix: "\
- **KFP v2**: `task.set_memory_limit(\"4G\")`.
- **KFP v1**: `op.set_memory_limit(\"4G\")`.
- **Hera / Argo**: `resources=Resources(memory_limit=\"4Gi\")` / `resources.limits.memory`, or \
`podSpecPatch`.
- **Tekton**: `computeResources.limits.memory` on the step or in `stepTemplate`.",
        },
    },
    check: Check::Code(check_memory),
};

fn check_cpu(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    check(pipeline, out, &MISSING_CPU_LIMIT.meta, ("CPU", "resources.limits.cpu"), |c| c.cpu_limit.as_ref());
}

fn check_memory(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    check(pipeline, out, &MISSING_MEMORY_LIMIT.meta, ("memory", "resources.limits.memory"), |c| {
        c.memory_limit.as_ref()
    });
}

/// `resource`: its name in messages and its symbolic field (for fingerprints).
fn check<'p>(
    pipeline: &'p Pipeline<'_>,
    out: &mut Emitter<'_>,
    rule: &RuleMeta,
    (resource, field): (&str, &'static str),
    limit: impl Fn(&'p Container<'p>) -> Option<&'p Setting<'p>>,
) {
    for container in &pipeline.containers {
        let set = limit(container).is_some_and(|setting| {
            !setting.value.is_null() && setting.value.as_str().is_none_or(|value| !value.trim().is_empty())
        });
        if set {
            continue;
        }
        out.emit(
            rule,
            Hit {
                span: container.anchor.file_span(),
                message: format!("container `{}` has no {resource} limit", container.name),
                container: Some(container),
                field: field.into(),
                ..Hit::default()
            },
        );
    }
}
