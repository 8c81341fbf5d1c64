//! `host-namespace`: a pod shares the node's network, PID or IPC namespace.

use super::{Check, Docs, Emitter, Hit, Rule, RuleMeta};
use crate::finding::Severity;
use crate::model::Pipeline;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "host-namespace",
        severity: Severity::High,
        enabled_by_default: true,
        summary: "Pod shares a host namespace",
        help: "remove `hostNetwork`/`hostPID`/`hostIPC: true`; use a Service or a volume instead",
        tags: &["security", "CWE-668", "kubernetes"],
        docs: Docs {
            what: "Flags pods (Kubernetes pod specs, Argo workflows and templates, \
`podSpecPatch`, Tekton pod templates) with `hostNetwork`, `hostPID` or `hostIPC` set to `true`.",
            why: "Sharing the node's network namespace lets a step bind node ports and reach \
services that trust the node (the kubelet, cloud metadata); sharing PID lets it see and signal \
every process on the node; sharing IPC lets it read other workloads' shared memory.",
            example: "\
spec:
  hostNetwork: true   # <- flagged
  containers:
  - name: train",
            fix: "\
- **KFP v2**: not expressible in the IR; remove it from post-processed specs.
- **KFP v1**: remove `hostNetwork` from `op.add_pod_annotation`/pod patches.
- **Hera / Argo**: remove `host_network=True` / `hostNetwork: true` (also in `podSpecPatch`).
- **Tekton**: remove `hostNetwork: true` from the pod template.",
        },
    },
    check: Check::Code(check),
};

fn check(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for pod in &pipeline.pods {
        for (setting, namespace) in [(&pod.host_network, "network"), (&pod.host_pid, "PID"), (&pod.host_ipc, "IPC")] {
            let Some(setting) = setting else { continue };
            if setting.value.as_bool() != Some(true) {
                continue;
            }
            out.emit(
                &RULE.meta,
                Hit {
                    span: setting.key.file_span(),
                    message: format!("{} shares the node's {namespace} namespace", pod.name),
                    field: format!("{}.host{namespace}", pod.name).into(),
                    value: "true".to_string(),
                    ..Hit::default()
                },
            );
        }
    }
}
