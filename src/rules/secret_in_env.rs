//! `secret-in-env`: an environment variable with a secret-like name holds a literal value.

use super::{Check, Docs, Emitter, Hit, Rule, RuleMeta};
use crate::finding::Severity;
use crate::model::{EnvValue, Pipeline};
use crate::secrets::{is_literal_secret, redact};

pub static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "secret-in-env",
        severity: Severity::Medium,
        enabled_by_default: true,
        summary: "Literal secret in a container environment variable",
        help: "inject the value from a Kubernetes Secret instead of writing it into the pipeline",
        tags: &["security", "secrets", "CWE-798"],
        docs: Docs {
            what: "Flags environment variables whose name is secret-like (split into words: \
`password`, `token`, `api_key`, `secret_access_key`, ...) and whose value is a literal. Values \
that are references are fine: KFP/Argo/Tekton placeholders, `$VAR`, `valueFrom.secretKeyRef`, \
KFP platform `secretAsEnv`, file paths (`PASSWORD_FILE=/var/run/secrets/...`), empty strings and \
booleans. Names that only look secret (`TOKENIZER_NAME`, `KEY_COLUMN`, `SECRET_MOUNT_PATH`) are not \
flagged.",
            why: "A compiled pipeline is committed, uploaded to the pipeline server and shown in \
its UI, and copied into every run's metadata: a secret written into it is readable by everyone \
who can see any of those, and cannot be rotated without recompiling.",
            example: "\
env:
- name: AWS_SECRET_ACCESS_KEY
  value: minio123        # <- flagged",
            fix: "\
- **KFP v2**: `kubernetes.use_secret_as_env(task, secret_name='s3-creds', \
secret_key_to_env={'secretkey': 'AWS_SECRET_ACCESS_KEY'})` (kfp-kubernetes) instead of \
`task.set_env_variable(...)`.
- **KFP v1**: `op.container.add_env_variable(V1EnvVar(name=..., value_from=V1EnvVarSource(\
secret_key_ref=V1SecretKeySelector(name='s3-creds', key='secretkey'))))`, or `use_aws_secret`.
- **Hera / Argo**: `env=[SecretEnv(name='AWS_SECRET_ACCESS_KEY', secret_name='s3-creds', \
secret_key='secretkey')]` / `valueFrom.secretKeyRef`.
- **Tekton**: `env[].valueFrom.secretKeyRef` on the step.",
        },
    },
    check: Check::Code(check),
};

fn check(pipeline: &Pipeline<'_>, out: &mut Emitter<'_>) {
    for container in &pipeline.containers {
        for var in &container.env {
            let EnvValue::Literal(value) = var.value else { continue };
            let (Some(name), Some(text)) = (var.name.as_str(), value.as_str()) else { continue };
            if !is_literal_secret(name, text, &out.settings().secret_name_words) {
                continue;
            }
            let span = value.text().source_span();
            if out.covered("hardcoded-credential", &span) {
                continue;
            }
            out.emit(
                &RULE.meta,
                Hit {
                    span: span.clone(),
                    message: format!(
                        "env var `{name}` of container `{}` holds a literal secret ({})",
                        container.name,
                        redact(text)
                    ),
                    container: Some(container),
                    field: format!("env.{name}").into(),
                    value: text.to_string(),
                    secret: Some(span),
                    ..Hit::default()
                },
            );
        }
    }
}
