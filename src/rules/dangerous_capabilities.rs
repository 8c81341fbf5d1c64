//! `dangerous-capabilities`: `capabilities.add` grants a capability that breaks isolation.

use super::{Check, Docs, Emitter, Hit, Rule, RuleMeta};
use crate::finding::Severity;
use crate::model::Pipeline;

/// Capabilities that let a process escape or take over its node (or sniff and spoof the
/// network), in their Kubernetes spelling without the `CAP_` prefix.
const DANGEROUS: &[&str] = &[
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "DAC_READ_SEARCH",
    "DAC_OVERRIDE",
    "BPF",
    "PERFMON",
    "NET_RAW",
    "SYS_RAWIO",
    "SYS_BOOT",
    "SYS_TIME",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "SETFCAP",
    "SYSLOG",
    "SYS_CHROOT",
    "MKNOD",
    "NET_BIND_SERVICE_ALL",
];

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "dangerous-capabilities",
        severity: Severity::High,
        enabled_by_default: true,
        summary: "Container adds a dangerous Linux capability",
        help: "drop `capabilities.add`; start from `drop: [ALL]` and add only what is proven necessary",
        tags: &["security", "CWE-250", "kubernetes"],
        docs: Docs {
            what: "Flags `securityContext.capabilities.add` entries that break container \
isolation: `ALL`, `SYS_ADMIN`, `NET_ADMIN`, `SYS_PTRACE`, `SYS_MODULE`, `DAC_READ_SEARCH`, \
`DAC_OVERRIDE`, `BPF`, `PERFMON`, `NET_RAW`, `SYS_RAWIO`, `SYS_BOOT`, `SYS_TIME`, `MAC_ADMIN`, \
`MAC_OVERRIDE`, `SETFCAP`, `SYSLOG`, `SYS_CHROOT`, `MKNOD` (with or without the `CAP_` prefix, \
any case).",
            why: "`SYS_ADMIN` alone is close to privileged mode; `SYS_PTRACE` reads other \
processes' memory; `NET_ADMIN`/`NET_RAW` let a step sniff and spoof cluster traffic; \
`SYS_MODULE` loads kernel modules. A pipeline step that holds one turns any compromise of its \
code or dependencies into a node compromise.",
            example: "\
securityContext:
  capabilities:
    add: [SYS_ADMIN]   # <- flagged",
            fix: "\
- **KFP v2**: the IR cannot add capabilities (the backend drops them all); remove them from \
post-processed specs.
- **KFP v1**: remove `capabilities=V1Capabilities(add=[...])` from `set_security_context`.
- **Hera / Argo**: remove `capabilities.add` from the template's `securityContext`.
- **Tekton**: remove `capabilities.add` from the step, sidecar or `stepTemplate`.",
        },
    },
    check: Check::Code(check),
};

fn check(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for container in &pipeline.containers {
        for capability in &container.security.capabilities_add {
            let Some(text) = capability.as_str() else { continue };
            let upper = text.trim().to_ascii_uppercase();
            let name = upper.strip_prefix("CAP_").unwrap_or(&upper);
            if !DANGEROUS.contains(&name) {
                continue;
            }
            out.emit(
                &RULE.meta,
                Hit {
                    span: capability.text().source_span(),
                    message: format!("container `{}` adds capability {name}", container.name),
                    container: Some(container),
                    field: "securityContext.capabilities.add".into(),
                    value: name.to_string(),
                    ..Hit::default()
                },
            );
        }
    }
}
