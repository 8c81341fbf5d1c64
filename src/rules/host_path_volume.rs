//! `host-path-volume`: a pod declares a `hostPath` volume.

use super::{Check, Docs, Emitter, Hit, Rule, RuleMeta};
use crate::finding::Severity;
use crate::model::Pipeline;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "host-path-volume",
        severity: Severity::High,
        enabled_by_default: true,
        summary: "Pod mounts a path of the node",
        help: "use a PersistentVolumeClaim, emptyDir or artifact storage instead of `hostPath`",
        tags: &["security", "CWE-668", "kubernetes"],
        docs: Docs {
            what: "Flags `hostPath` volumes declared by a pod, an Argo workflow or template, a \
`podSpecPatch` or a Tekton task, whatever the path.",
            why: "A `hostPath` volume exposes the node's filesystem to the step: logs and \
credentials of other pods (`/var/lib/kubelet/pods`), the container runtime socket, or `/` \
itself. Writing to it can take over the node; reading from it leaks other tenants' data.",
            example: "\
volumes:
- name: varlog
  hostPath:          # <- flagged
    path: /var/log",
            fix: "\
- **KFP v2**: use `kubernetes.mount_pvc(task, pvc_name=..., mount_path=...)` or artifacts; \
hostPath is not expressible in the IR.
- **KFP v1**: replace `V1Volume(host_path=...)` with a PVC (`dsl.VolumeOp`) or artifacts.
- **Hera / Argo**: use `volume_claim_templates`/PVC volumes or artifacts.
- **Tekton**: use a workspace backed by a PVC or `emptyDir`; ship logs with a DaemonSet, not \
from pipeline tasks.",
        },
    },
    check: Check::Code(check),
};

fn check(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for pod in &pipeline.pods {
        for volume in &pod.volumes {
            let Some(host_path) = volume.host_path else { continue };
            let name = volume.name.and_then(|n| n.as_str()).unwrap_or("volume");
            let path = host_path.value.get("path").and_then(|p| p.as_str()).unwrap_or("?");
            out.emit(
                &RULE.meta,
                Hit {
                    span: host_path.key.file_span(),
                    message: format!("{} mounts host path `{path}` as volume `{name}`", pod.name),
                    field: format!("{}.volumes.{name}.hostPath", pod.name).into(),
                    value: path.to_string(),
                    ..Hit::default()
                },
            );
        }
    }
}
