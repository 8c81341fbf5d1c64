//! `privileged-container`: a container runs with `securityContext.privileged: true`.

use super::{Check, Docs, Emitter, Rule, RuleMeta, emit_security_setting};
use crate::finding::Severity;
use crate::model::Pipeline;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "privileged-container",
        severity: Severity::High,
        enabled_by_default: true,
        summary: "Container runs privileged",
        help: "drop `privileged: true`; grant only the capabilities the step needs",
        tags: &["security", "CWE-250", "kubernetes"],
        docs: Docs {
            what: "Flags containers whose effective `securityContext.privileged` is `true`, set on the \
container itself, on its pod, or through an Argo `podSpecPatch`.",
            why: "A privileged container has every capability and access to all host devices: a \
compromised step (a poisoned dependency, an injected parameter) owns the node and every other \
pipeline running on it. Docker-in-Docker sidecars are the usual reason, and they can almost \
always be replaced by rootless builders.",
            example: "\
containers:
- name: builder
  image: docker:24-dind
  securityContext:
    privileged: true   # <- flagged",
            fix: "\
- **KFP v2**: the IR cannot express `privileged`; remove it from hand-edited or post-processed specs.
- **KFP v1**: drop `op.container.set_security_context(V1SecurityContext(privileged=True))`.
- **Hera / Argo**: remove `security_context=SecurityContext(privileged=True)` (or `privileged: true` \
in the template); build images with kaniko or buildkit rootless instead of `docker:dind`.
- **Tekton**: remove `securityContext.privileged` from the step or sidecar; use a rootless build task.",
        },
    },
    check: Check::Code(check),
};

fn check(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for container in &pipeline.containers {
        let privileged = pipeline.effective(container, |s| s.privileged.as_ref());
        let Some(effective) = privileged.filter(|e| e.setting.value.as_bool() == Some(true)) else { continue };
        let message = format!("container `{}` runs privileged", container.name);
        emit_security_setting(out, &RULE.meta, container, effective, "privileged", message);
    }
}
