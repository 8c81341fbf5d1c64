//! `run-as-root`: a container's effective user is root.

use super::{Check, Docs, Emitter, Rule, RuleMeta, emit_security_setting};
use crate::finding::Severity;
use crate::model::Pipeline;

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "run-as-root",
        severity: Severity::Medium,
        enabled_by_default: true,
        summary: "Container runs as root",
        help: "run as a non-root user: `runAsNonRoot: true` and a non-zero `runAsUser`",
        tags: &["security", "CWE-250", "kubernetes"],
        docs: Docs {
            what: "Flags containers whose effective `runAsUser` is `0` or whose effective \
`runAsNonRoot` is `false`, from the container, its pod, or the KFP v2 platform spec \
(`securityContext.runAsUser`, which the proto encodes as a string such as `'0'`).",
            why: "A process running as root inside a container is one kernel bug or one \
mis-mounted volume away from root on the node, and it can rewrite anything in the image. \
Pipeline steps run third-party code and untrusted parameters, so they should run as an \
unprivileged user.",
            example: "\
platforms:
  kubernetes:
    deploymentSpec:
      executors:
        exec-train:
          securityContext:
            runAsUser: '0'   # <- flagged",
            fix: "\
- **KFP v2**: `kubernetes.set_security_context(task, run_as_user=1000, run_as_non_root=True)` \
(kfp-kubernetes), or do not set a root user; build images with a `USER` line.
- **KFP v1**: `op.container.set_security_context(V1SecurityContext(run_as_user=1000, run_as_non_root=True))`.
- **Hera / Argo**: `security_context=SecurityContext(run_as_user=1000, run_as_non_root=True)` on the \
workflow or template.
- **Tekton**: `securityContext: {runAsUser: 1000, runAsNonRoot: true}` on the step, `stepTemplate` \
or `podTemplate`.",
        },
    },
    check: Check::Code(check),
};

fn check(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for container in &pipeline.containers {
        let as_root = pipeline
            .effective(container, |s| s.run_as_user.as_ref())
            .filter(|e| e.setting.value.as_str().map(str::trim) == Some("0"));
        let root_allowed = pipeline
            .effective(container, |s| s.run_as_non_root.as_ref())
            .filter(|e| e.setting.value.as_bool() == Some(false) || e.setting.value.as_str() == Some("false"));
        for (effective, field, what) in [
            (as_root, "runAsUser", "runs as user 0 (root)"),
            (root_allowed, "runAsNonRoot", "may run as root (`runAsNonRoot: false`)"),
        ] {
            let Some(effective) = effective else { continue };
            let message = format!("container `{}` {what}", container.name);
            emit_security_setting(out, &RULE.meta, container, effective, field, message);
        }
    }
}
