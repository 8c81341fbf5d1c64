//! What counts as a secret: secret-like names, values that are references rather than
//! secrets, and redaction. Shared by every secret rule, so they agree.
//!
//! Names are split into words (`AWS_SECRET_ACCESS_KEY` -> aws, secret, access, key;
//! `apiToken` -> api, token) and judged by their words, so `TOKENIZER_NAME`,
//! `KEY_COLUMN` and `SECRET_MOUNT_PATH` are not secrets while `DB_PASSWORD` is.

/// Words that make a name secret on their own.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "pass",
    "token",
    "credential",
    "credentials",
    "cred",
    "creds",
    "apikey",
    "privatekey",
    "accesskey",
    "secretkey",
    "authkey",
    // Compounds written as one word (`PGPASSWORD`, `authToken` is split anyway).
    "pgpassword",
    "authtoken",
    "accesstoken",
    "refreshtoken",
    "sessiontoken",
    "clientsecret",
    "apisecret",
];

/// Words that make `key` secret when they come right before it (`api_key`, `access_key`).
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "access",
    "secret",
    "private",
    "auth",
    "signing",
    "encryption",
    "account",
    "master",
    "client",
    "service",
    "license",
    "subscription",
    "app",
    "storage",
    "ssh",
    "deploy",
    "webhook",
];

/// Last words that turn a secret-like name into a reference to a secret kept elsewhere,
/// or into metadata about one (`TOKEN_PATH`, `SECRET_NAME`, `PASSWORD_FILE`).
const REFERENCE_WORDS: &[&str] = &[
    "file",
    "files",
    "path",
    "paths",
    "dir",
    "directory",
    "mount",
    "name",
    "names",
    "ref",
    "id",
    "url",
    "uri",
    "endpoint",
    "host",
    "type",
    "kind",
    "length",
    "len",
    "ttl",
    "expiry",
    "expires",
    "header",
    "env",
    "var",
    "column",
    "col",
    "field",
    "count",
    "size",
    "limit",
    "policy",
    "mode",
    "format",
    "location",
    "bucket",
    "arn",
    "version",
    "enabled",
    "required",
    "prefix",
    "suffix",
    // Where a secret is read from at run time (`--password-stdin`, `--token-command`).
    "stdin",
    "prompt",
    "command",
    "cmd",
    "helper",
];

/// How strongly a name suggests a secret value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameClass {
    /// Not a secret name.
    Plain,
    /// Names a Kubernetes Secret object rather than a secret value (`secret`, `secret_param`):
    /// a value that looks like an object name is not a secret.
    SecretObject,
    /// A secret value is expected (`password`, `api_key`, `AWS_SECRET_ACCESS_KEY`).
    Secret,
}

/// Splits an identifier into lowercase words at `_`, `-`, `.`, spaces and camelCase humps.
pub fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut previous: Option<char> = None;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            previous = None;
            continue;
        }
        let hump = c.is_uppercase() && previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit());
        if hump && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
        previous = Some(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Judges a variable or parameter name; `extra_words` are configured secret words.
pub fn classify_name(name: &str, extra_words: &[String]) -> NameClass {
    let words = words(name);
    let Some(last) = words.last() else { return NameClass::Plain };
    if REFERENCE_WORDS.contains(&last.as_str()) {
        return NameClass::Plain;
    }
    let mut class = NameClass::Plain;
    for (index, word) in words.iter().enumerate() {
        let word = word.as_str();
        let qualified_key = word == "key" && index > 0 && KEY_QUALIFIERS.contains(&words[index - 1].as_str());
        if qualified_key || SECRET_WORDS.contains(&word) || extra_words.iter().any(|extra| extra == word) {
            return NameClass::Secret;
        }
        if word == "secret" || word == "secrets" {
            // `client_secret` is a value; a bare `secret` usually names a Secret object.
            let qualified = index > 0 && KEY_QUALIFIERS.contains(&words[index - 1].as_str());
            if qualified {
                return NameClass::Secret;
            }
            class = NameClass::SecretObject;
        }
    }
    class
}

/// True when a value is not a secret whatever its name: empty, a boolean, a placeholder
/// or variable of any pipeline format, or a filesystem path.
pub fn is_reference_value(value: &str) -> bool {
    let value = value.trim();
    if value.is_empty() || value.len() < 3 {
        return true;
    }
    if matches!(
        value.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "none" | "null" | "changeme" | "<redacted>"
    ) {
        return true;
    }
    // KFP `{{$.inputs.parameters['x']}}`, Argo `{{inputs.parameters.x}}`, Tekton `$(params.x)`,
    // shell `$VAR`/`${VAR}`: the value is filled in elsewhere.
    let placeholder = (value.starts_with("{{") && value.ends_with("}}"))
        || (value.starts_with("$(") && value.ends_with(')'))
        || (value.starts_with("${") && value.ends_with('}'))
        || (value.starts_with('$') && value[1..].chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if placeholder {
        return true;
    }
    // A path (a mounted secret file, a credentials JSON).
    value.starts_with('/') || value.starts_with("./") || value.starts_with("~/")
}

/// True for a value shaped like a Kubernetes object name (`test-secret-1`).
pub fn looks_like_object_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value.contains('-')
        && value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

/// A redacted rendering of a secret: at most a short prefix, never the whole value.
pub fn redact(value: &str) -> String {
    let length = value.chars().count();
    let shown = match length {
        0..=7 => 0,
        8..=15 => 2,
        _ => 4,
    };
    let prefix: String = value.chars().take(shown).collect();
    format!("{prefix}***({length} chars)")
}

/// True when `value`, bound to a variable or parameter called `name`, is a secret written
/// into the file rather than a reference to one.
pub fn is_literal_secret(name: &str, value: &str, extra_words: &[String]) -> bool {
    match classify_name(name, extra_words) {
        NameClass::Plain => false,
        NameClass::SecretObject => !is_reference_value(value) && !looks_like_object_name(value),
        NameClass::Secret => !is_reference_value(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_snake_kebab_and_camel_case() {
        assert_eq!(words("AWS_SECRET_ACCESS_KEY"), ["aws", "secret", "access", "key"]);
        assert_eq!(words("apiToken"), ["api", "token"]);
        assert_eq!(words("db-password"), ["db", "password"]);
        assert_eq!(words("HTTPProxy"), ["httpproxy"]);
    }

    #[test]
    fn near_miss_names_are_plain() {
        for name in [
            "KEY_COLUMN",
            "TOKENIZER_NAME",
            "SORT_KEY",
            "SECRET_MOUNT_PATH",
            "PASSWORD_FILE",
            "TOKEN_PATH",
            "KEYBOARD_LAYOUT",
            "MONKEY",
            "PASSAGE",
        ] {
            assert_eq!(classify_name(name, &[]), NameClass::Plain, "{name}");
        }
    }

    #[test]
    fn secret_names_are_secret() {
        for name in [
            "AWS_SECRET_ACCESS_KEY",
            "client_secret",
            "DB_PASSWORD",
            "api_key",
            "GITHUB_TOKEN",
            "apiToken",
            "client_secret_key",
            "HF_TOKEN",
            "WATSON_CRED",
        ] {
            assert_eq!(classify_name(name, &[]), NameClass::Secret, "{name}");
        }
        assert_eq!(classify_name("secret_parm", &[]), NameClass::SecretObject);
    }

    #[test]
    fn references_are_not_secrets() {
        for value in [
            "",
            "{{$.inputs.parameters['x']}}",
            "{{inputs.parameters.pw}}",
            "$(params.token)",
            "$TOKEN",
            "${TOKEN}",
            "/var/run/secrets/db/password",
            "true",
        ] {
            assert!(is_reference_value(value), "{value}");
        }
        assert!(!is_reference_value("minio123"));
    }

    #[test]
    fn secret_object_names_are_not_secret_values() {
        assert!(!is_literal_secret("secret_parm", "test-secret-1", &[]));
        assert!(is_literal_secret("secret_parm", "s3cr3tP4ss", &[]));
        assert!(is_literal_secret("AWS_SECRET_ACCESS_KEY", "minio123", &[]));
        assert!(!is_literal_secret("PASSWORD_FILE", "/var/run/secrets/db/password", &[]));
    }

    #[test]
    fn redaction_never_shows_the_whole_value() {
        assert_eq!(redact("minio123"), "mi***(8 chars)");
        assert_eq!(redact("abc"), "***(3 chars)");
        assert!(!redact("AKIAIOSFODNN7EXAMPLE").contains("IOSFODNN"));
    }
}
