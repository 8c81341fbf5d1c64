//! `secret-in-parameter-default`: a parameter with a secret-like name has a literal value.

use super::{Check, Docs, Emitter, Hit, Rule, RuleMeta};
use crate::finding::Severity;
use crate::model::{ParameterKind, Pipeline};
use crate::secrets::{is_literal_secret, redact};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "secret-in-parameter-default",
        severity: Severity::Medium,
        enabled_by_default: true,
        summary: "Literal secret as a parameter default",
        help: "give secret parameters no default; pass a Secret name and mount the Secret instead",
        tags: &["security", "secrets", "CWE-798"],
        docs: Docs {
            what: "Flags pipeline, component and template parameters with a secret-like name \
(`db_password`, `api_token`, `hf_token`) and a non-empty literal default: KFP v2 \
`inputDefinitions.parameters.*.defaultValue`, literal task arguments (`runtimeValue.constant`), \
PipelineJob `runtimeConfig`. A parameter that names a Kubernetes Secret object (`secret_name`, or \
`secret` holding `my-secret`) is a reference, not a secret.",
            why: "Defaults are compiled into the pipeline file, shown in the pipeline UI's run \
form and stored with every run: a default password is a published password.",
            example: "\
root:
  inputDefinitions:
    parameters:
      api_token:
        defaultValue: hf_live_0123456789   # <- flagged
        parameterType: STRING",
            fix: "\
- **KFP v2**: declare `api_token: str` without a default and pass it at run time, or better, \
pass the *name* of a Secret and use `kubernetes.use_secret_as_env`.
- **KFP v1**: same; `use_k8s_secret` / `use_aws_secret` for the value.
- **Hera / Argo**: no `value` on the workflow argument; read it with `valueFrom.secretKeyRef`.
- **Tekton**: no `default` on the param; use a `secretKeyRef` env or a workspace bound to a Secret.",
        },
    },
    check: Check::Code(check),
};

fn check(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for parameter in &pipeline.parameters {
        let (Some(name), Some(text)) = (parameter.name.as_str(), parameter.value.as_str()) else { continue };
        if !is_literal_secret(name, text, &out.settings().secret_name_words) {
            continue;
        }
        let span = parameter.value.text().source_span();
        if out.covered("hardcoded-credential", &span) {
            continue;
        }
        let message = match parameter.kind {
            ParameterKind::Default => {
                format!("parameter `{name}` of {} has a literal secret default ({})", parameter.scope, redact(text))
            }
            ParameterKind::Argument => {
                format!("task `{}` passes a literal secret to parameter `{name}` ({})", parameter.scope, redact(text))
            }
        };
        out.emit(
            &RULE.meta,
            Hit {
                span: span.clone(),
                message,
                field: parameter.path().into(),
                value: text.to_string(),
                secret: Some(span),
                ..Hit::default()
            },
        );
    }
}
