//! `privilege-escalation`: `allowPrivilegeEscalation: true` set explicitly.

use super::{Check, Docs, Emitter, Rule, RuleMeta, emit_security_setting};
use crate::finding::Severity;
use crate::model::Pipeline;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "privilege-escalation",
        severity: Severity::Medium,
        enabled_by_default: true,
        summary: "Container allows privilege escalation",
        help: "set `allowPrivilegeEscalation: false` (or drop the line: do not opt in)",
        tags: &["security", "CWE-269", "kubernetes"],
        docs: Docs {
            what: "Flags containers whose effective `securityContext.allowPrivilegeEscalation` is \
explicitly `true` (on the container or inherited from its pod or step template).",
            why: "With privilege escalation allowed, a process can gain more privileges than its \
parent through setuid binaries or file capabilities: a foothold in a pipeline step becomes \
root in the container, the first step to escaping it.",
            example: "\
securityContext:
  allowPrivilegeEscalation: true   # <- flagged",
            fix: "\
- **KFP v2**: the IR cannot express it; remove it from post-processed specs.
- **KFP v1**: `op.container.set_security_context(V1SecurityContext(allow_privilege_escalation=False))`.
- **Hera / Argo**: `security_context=SecurityContext(allow_privilege_escalation=False)`.
- **Tekton**: `securityContext: {allowPrivilegeEscalation: false}` on the step or `stepTemplate`.",
        },
    },
    check: Check::Code(check),
};

fn check(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for container in &pipeline.containers {
        let escalation = pipeline.effective(container, |s| s.allow_privilege_escalation.as_ref());
        let Some(effective) = escalation.filter(|e| e.setting.value.as_bool() == Some(true)) else { continue };
        let message = format!("container `{}` allows privilege escalation", container.name);
        emit_security_setting(out, &RULE.meta, container, effective, "allowPrivilegeEscalation", message);
    }
}
