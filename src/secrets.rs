//! What counts as a secret: secret-like names, values that are references rather than
//! secrets, provider credential formats, and redaction. Shared by every secret rule, so
//! they agree.
//!
//! Names are split into words (`AWS_SECRET_ACCESS_KEY` -> aws, secret, access, key;
//! `apiToken` -> api, token) and judged by their words, so `TOKENIZER_NAME`,
//! `KEY_COLUMN`, `SECRET_MOUNT_PATH` and `pad_token` are not secrets while `DB_PASSWORD` is.
//!
//! Credentials with a recognisable format are found by [`find_tokens`] (fixed-prefix
//! formats, anywhere in a text) and [`sink_token`] (formats recognisable only by the name
//! they are bound to). Entropy is only a placeholder filter and a condition for sink
//! formats: it is never used to flag arbitrary text, where digests and commit SHAs abound.
//!
//! Nothing here logs or returns a secret except as a range into the caller's text;
//! messages use [`redact`].

use std::borrow::Cow;

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

/// Words that make `token` a unit of text rather than a credential (`pad_token`,
/// `eos_token`: tokenizer settings all over ML code).
const TEXT_TOKEN_QUALIFIERS: &[&str] = &[
    "pad",
    "eos",
    "bos",
    "unk",
    "mask",
    "sep",
    "cls",
    "special",
    "start",
    "end",
    "stop",
    "begin",
    "sentinel",
    "image",
    "audio",
    "video",
    "additional",
    "extra",
    "unknown",
    "padding",
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
/// Words already in lowercase ASCII (most parameter and flag names) are borrowed.
pub fn words(name: &str) -> Vec<Cow<'_, str>> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    let mut previous: Option<char> = None;
    for (index, c) in name.char_indices() {
        if !c.is_alphanumeric() {
            if let Some(start) = start.take() {
                words.push(lowercase(&name[start..index]));
            }
            previous = None;
            continue;
        }
        let hump = c.is_uppercase() && previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit());
        if hump && let Some(start) = start.take() {
            words.push(lowercase(&name[start..index]));
        }
        start.get_or_insert(index);
        previous = Some(c);
    }
    if let Some(start) = start {
        words.push(lowercase(&name[start..]));
    }
    words
}

/// `word` with each character lower-cased (as `char::to_lowercase`, not `str::to_lowercase`).
fn lowercase(word: &str) -> Cow<'_, str> {
    if !word.is_ascii() {
        Cow::Owned(word.chars().flat_map(char::to_lowercase).collect())
    } else if word.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(word.to_ascii_lowercase())
    } else {
        Cow::Borrowed(word)
    }
}

/// Judges a variable or parameter name; `extra_words` are configured secret words.
pub fn classify_name(name: &str, extra_words: &[String]) -> NameClass {
    let words = words(name);
    let Some(last) = words.last() else { return NameClass::Plain };
    if REFERENCE_WORDS.contains(&last.as_ref()) {
        return NameClass::Plain;
    }
    // `pypi_token_secret`, `db_password_secret`: usually the Secret object holding the
    // value (`pypi-upload`), sometimes the value itself (OAuth's `access_token_secret`).
    let ends_in_secret = matches!(last.as_ref(), "secret" | "secrets") && words.len() > 1;
    if ends_in_secret && !KEY_QUALIFIERS.contains(&words[words.len() - 2].as_ref()) {
        let holds_secret_word = words[..words.len() - 1]
            .iter()
            .any(|word| SECRET_WORDS.contains(&word.as_ref()) || extra_words.iter().any(|extra| extra == word));
        if holds_secret_word {
            return NameClass::SecretObject;
        }
    }
    let mut class = NameClass::Plain;
    for (index, word) in words.iter().enumerate() {
        let word = word.as_ref();
        let qualified_key = word == "key" && index > 0 && KEY_QUALIFIERS.contains(&words[index - 1].as_ref());
        if word == "token" && index > 0 && TEXT_TOKEN_QUALIFIERS.contains(&words[index - 1].as_ref()) {
            continue;
        }
        if qualified_key || SECRET_WORDS.contains(&word) || extra_words.iter().any(|extra| extra == word) {
            return NameClass::Secret;
        }
        if word == "secret" || word == "secrets" {
            // `client_secret` is a value; a bare `secret` usually names a Secret object.
            let qualified = index > 0 && KEY_QUALIFIERS.contains(&words[index - 1].as_ref());
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

/// True for a value that visibly stands for a secret to be filled in: `<token>`, `xxxx`,
/// `****`, `your-api-key-here`, `REPLACE_ME`, `placeholder`.
pub fn is_placeholder_value(value: &str) -> bool {
    let value = value.trim();
    if value.starts_with('<') && value.ends_with('>') {
        return true;
    }
    if !value.is_empty() && value.chars().all(|c| matches!(c, 'x' | 'X' | '*' | '.' | '#' | '?' | '_' | '-')) {
        return true;
    }
    let lower = value.to_ascii_lowercase();
    ["your", "placeholder", "redacted", "replace", "change_me", "change-me", "fill-in", "fill_in", "todo"]
        .iter()
        .any(|word| lower.contains(word))
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
    // Most names hold no secret fragment and are not split into words. Non-ASCII names
    // always are: `classify_name` lower-cases with `char::to_lowercase` (the Kelvin sign
    // `\u{212A}` becomes `k`), which the ASCII fragment search does not see.
    if name.is_ascii() && !may_be_secret_name(name, extra_words) {
        return false;
    }
    match classify_name(name, extra_words) {
        NameClass::Plain => false,
        NameClass::SecretObject => !is_reference_value(value) && !looks_like_object_name(value),
        NameClass::Secret => !is_reference_value(value),
    }
}

/// First words of a command-line flag that make it a switch about a secret rather than a
/// flag carrying one (`--no-password`, `--ask-password`, `--use-token`).
const SWITCH_WORDS: &[&str] =
    &["no", "ask", "prompt", "use", "require", "with", "without", "skip", "allow", "enable", "disable", "read"];

/// True for a flag that switches something about a secret rather than carrying one
/// (`--no-password`, `--ask-password`).
pub fn is_switch_flag(flag: &str) -> bool {
    let name = flag.trim_start_matches('-');
    let name = name.split_once('=').map_or(name, |(name, _)| name);
    words(name).first().is_some_and(|first| SWITCH_WORDS.contains(&first.as_ref()))
}

/// Fragments of every secret word: a name containing none of them (case-insensitively)
/// is [`NameClass::Plain`] without splitting it, a cheap first filter for hot loops.
const SECRET_FRAGMENTS: &[&str] = &["pass", "pwd", "token", "cred", "key", "secret"];

/// For each byte, whether one of [`SECRET_FRAGMENTS`] starts with it (in either ASCII case).
const FRAGMENT_STARTS: [bool; 256] = {
    let mut table = [false; 256];
    let mut index = 0;
    while index < SECRET_FRAGMENTS.len() {
        let first = SECRET_FRAGMENTS[index].as_bytes()[0];
        table[first.to_ascii_lowercase() as usize] = true;
        table[first.to_ascii_uppercase() as usize] = true;
        index += 1;
    }
    table
};

/// False only when `name` cannot be secret-like (see [`SECRET_FRAGMENTS`]); configured
/// `extra_words` count too.
pub fn may_be_secret_name(name: &str, extra_words: &[String]) -> bool {
    // Runs for every flag, variable and parameter name: compared in place, ignoring ASCII
    // case, instead of searching a lower-cased copy once per fragment; only bytes a
    // fragment can start with are compared at all.
    let bytes = name.as_bytes();
    let at = |index: usize, word: &[u8]| {
        bytes.get(index..index + word.len()).is_some_and(|part| part.eq_ignore_ascii_case(word))
    };
    let fragment = bytes.iter().enumerate().any(|(index, &byte)| {
        FRAGMENT_STARTS[usize::from(byte)] && {
            let first = byte.to_ascii_lowercase();
            SECRET_FRAGMENTS.iter().any(|fragment| fragment.as_bytes()[0] == first && at(index, fragment.as_bytes()))
        }
    });
    fragment
        || extra_words.iter().any(|word| word.is_empty() || (0..bytes.len()).any(|index| at(index, word.as_bytes())))
}

/// True when a value is filled in elsewhere even in part: it holds a KFP/Argo `{{…}}`
/// placeholder, a Tekton `$(…)` reference, a shell `$VAR`/`${VAR}`/`$(…)` expansion or an
/// f-string field (`{…}`, see [`crate::analysis::python::FSTRING_FIELD`]).
pub fn contains_reference(value: &str) -> bool {
    if value.contains("{{") || value.contains("$(") || value.contains("${") || value.contains("{…}") {
        return true;
    }
    let bytes = value.as_bytes();
    bytes.windows(2).any(|pair| pair[0] == b'$' && (pair[1].is_ascii_alphabetic() || pair[1] == b'_'))
}

/// Shannon entropy of `text` in bits per character (0 for an empty text).
pub fn shannon_entropy(text: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut total = 0usize;
    for c in text.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    let total = total as f64;
    counts
        .values()
        .map(|&count| {
            let p = count as f64 / total;
            -p * p.log2()
        })
        .sum()
}

/// True when the random part of a token is visibly made up: few distinct characters
/// (`xxxx…`, `0000…`), mostly one character, a counting sequence (`abcdef…`, `123456…`),
/// or filler words (`your_token_here`, `REPLACE_ME`).
pub fn is_placeholder(body: &str) -> bool {
    let chars: Vec<char> = body.chars().collect();
    if chars.is_empty() {
        return true;
    }
    let mut distinct: Vec<char> = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 6 || shannon_entropy(body) < 2.5 {
        return true;
    }
    let filler = chars.iter().filter(|c| matches!(c, 'x' | 'X' | '*' | '0' | '.')).count();
    if filler * 2 >= chars.len() {
        return true;
    }
    let sequential = chars.windows(2).filter(|pair| (pair[0] as u32) + 1 == pair[1] as u32).count();
    if sequential * 2 >= chars.len() {
        return true;
    }
    let lower = body.to_ascii_lowercase();
    ["your", "placeholder", "redacted", "replace", "insert", "xxxx", "dummy"].iter().any(|word| lower.contains(word))
}

/// A provider credential recognised in a text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenMatch {
    /// Byte range of the credential in the scanned text.
    pub range: std::ops::Range<usize>,
    /// What it is, for messages: `AWS access key ID`, `GitHub token`, ...
    pub kind: &'static str,
    /// It spells `EXAMPLE` (`AKIAIOSFODNN7EXAMPLE` is AWS's documentation key): most likely
    /// copied from documentation, still a credential slot filled with a literal.
    pub example: bool,
}

/// One provider format. The regex's `tok` group (default: the whole match) is the
/// credential, its `body` group the random part judged by [`is_placeholder`].
struct TokenPattern {
    kind: &'static str,
    /// Literals every match starts with (or contains, for `AccountKey=`), for the prefilter.
    prefixes: &'static [&'static str],
    regex: &'static str,
}

/// Provider credential formats, from the providers' documentation and the formats public
/// scanners (GitHub secret scanning, gitleaks) agree on. Each has a fixed prefix, so a scan
/// of every scalar stays cheap and precise; boundaries are checked in [`find_tokens`].
const TOKEN_PATTERNS: &[TokenPattern] = &[
    // AKIA (long-term) / ASIA (STS) / ABIA / ACCA + 16 base32 characters.
    TokenPattern {
        kind: "AWS access key ID",
        prefixes: &["AKIA", "ASIA", "ABIA", "ACCA"],
        regex: r"(?:AKIA|ASIA|ABIA|ACCA)(?P<body>[A-Z2-7]{16})",
    },
    // ghp_ (classic PAT), gho_ (OAuth), ghu_ (user-to-server), ghs_ (server-to-server), ghr_ (refresh).
    TokenPattern {
        kind: "GitHub token",
        prefixes: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        regex: r"gh[pousr]_(?P<body>[A-Za-z0-9]{36})",
    },
    TokenPattern {
        kind: "GitHub fine-grained token",
        prefixes: &["github_pat_"],
        regex: r"github_pat_(?P<body>[A-Za-z0-9_]{82})",
    },
    // glpat-: 20 characters, or the routable format `glpat-<payload>.<version>.<crc>`.
    TokenPattern {
        kind: "GitLab personal access token",
        prefixes: &["glpat-"],
        regex: r"glpat-(?P<body>[A-Za-z0-9_-]{20,})(?:\.[0-9a-z]{2}\.[0-9a-z]{9})?",
    },
    // xoxb- bot, xoxp- user, xoxa-/xoxr- app and refresh, xoxo-/xoxs- legacy.
    TokenPattern {
        kind: "Slack token",
        prefixes: &["xox"],
        regex: r"xox[abposr]-(?:[0-9]{1,13}-){0,4}(?P<body>[A-Za-z0-9]{10,64})",
    },
    TokenPattern {
        kind: "Slack app token",
        prefixes: &["xapp-"],
        regex: r"xapp-[0-9]-(?P<body>[A-Z0-9]{8,12}-[0-9]{8,13}-[a-f0-9]{32,64})",
    },
    TokenPattern {
        kind: "Slack webhook URL",
        prefixes: &["hooks.slack.com/"],
        regex: r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/(?P<body>[A-Za-z0-9+/]{43,56})",
    },
    TokenPattern { kind: "Google API key", prefixes: &["AIza"], regex: r"AIza(?P<body>[0-9A-Za-z_-]{35})" },
    TokenPattern {
        kind: "Google OAuth client secret",
        prefixes: &["GOCSPX-"],
        regex: r"GOCSPX-(?P<body>[0-9A-Za-z_-]{28})",
    },
    // hf_ + 34 letters/digits; 30-40 accepted (hand-made fakes are often a little off).
    TokenPattern { kind: "Hugging Face token", prefixes: &["hf_"], regex: r"hf_(?P<body>[A-Za-z0-9]{30,40})" },
    TokenPattern {
        kind: "Anthropic API key",
        prefixes: &["sk-ant-"],
        regex: r"sk-ant-(?:api|admin|oat|sid)[0-9]{2}-(?P<body>[A-Za-z0-9_-]{32,})",
    },
    // sk-proj-/sk-svcacct-/sk-admin- project keys, legacy sk- + 48 (with `T3BlbkFJ` inside).
    TokenPattern {
        kind: "OpenAI API key",
        prefixes: &["sk-"],
        regex: r"sk-(?P<body>(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|[A-Za-z0-9]{32,64})",
    },
    TokenPattern {
        kind: "Stripe live key",
        prefixes: &["sk_live_", "rk_live_"],
        regex: r"(?:sk|rk)_live_(?P<body>[0-9A-Za-z]{24,})",
    },
    // In connection strings: `DefaultEndpointsProtocol=https;AccountName=x;AccountKey=<base64>`.
    TokenPattern {
        kind: "Azure storage account key",
        prefixes: &["AccountKey=", "SharedAccessKey="],
        regex: r"(?:AccountKey|SharedAccessKey)=(?P<tok>(?P<body>[A-Za-z0-9+/]{40,}={0,2}))",
    },
    TokenPattern { kind: "Databricks token", prefixes: &["dapi"], regex: r"dapi(?P<body>[a-f0-9]{32})(?:-[0-9])?" },
    TokenPattern { kind: "npm token", prefixes: &["npm_"], regex: r"npm_(?P<body>[A-Za-z0-9]{36})" },
    // PyPI API tokens are macaroons: `pypi-AgEIcHlwaS5vcmc…` (base64 of a binary header).
    TokenPattern { kind: "PyPI token", prefixes: &["pypi-AgE"], regex: r"pypi-AgE(?P<body>[A-Za-z0-9_-]{50,})" },
    // header.payload.signature, both JSON parts starting `{"` (base64url `eyJ`).
    TokenPattern {
        kind: "JSON Web Token",
        prefixes: &["eyJ"],
        regex: r"eyJ(?P<body>[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,})",
    },
];

/// Each of [`TOKEN_PATTERNS`] compiled, on the first text holding one of its prefixes:
/// few texts hold any, so most runs compile only a few (all of them compile: a unit test
/// says so).
static TOKEN_REGEXES: [std::sync::OnceLock<Option<regex::Regex>>; TOKEN_PATTERNS.len()] =
    [const { std::sync::OnceLock::new() }; TOKEN_PATTERNS.len()];

/// The compiled regex of `TOKEN_PATTERNS[index]`.
fn token_regex(index: usize) -> Option<&'static regex::Regex> {
    let (pattern, regex) = (TOKEN_PATTERNS.get(index)?, TOKEN_REGEXES.get(index)?);
    regex.get_or_init(|| regex::Regex::new(pattern.regex).ok()).as_ref()
}

/// The PEM header that starts a private key block (after any character).
pub const PEM_PREFIX: &str = "-----BEGIN ";

/// Every literal a provider credential [`find_tokens`] finds starts with (or, for
/// `AccountKey=`, contains), right after the start of the text or a character that is no
/// ASCII letter or digit: the character before a credential's match is checked.
pub fn credential_prefixes() -> impl Iterator<Item = &'static str> {
    TOKEN_PATTERNS.iter().flat_map(|pattern| pattern.prefixes.iter().copied())
}

/// Every literal a credential [`find_tokens`] finds starts with (or, for `AccountKey=`,
/// contains): a text that holds none of them holds no such credential.
fn token_prefixes() -> impl Iterator<Item = &'static str> {
    credential_prefixes().chain([PEM_PREFIX])
}

/// Every prefix of [`TOKEN_PATTERNS`] and [`PEM_PREFIX`] in one literal search: most texts
/// hold none and are read once; the others are matched only against the patterns whose
/// prefix they contain.
static TOKEN_PREFIXES: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
    let alternation: Vec<String> = token_prefixes().map(regex::escape).collect();
    regex::Regex::new(&alternation.join("|")).ok()
});

/// `-----BEGIN … PRIVATE KEY-----` and its end marker.
static PEM_BEGIN: std::sync::LazyLock<Option<regex::Regex>> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----").ok());
static PEM_END: std::sync::LazyLock<Option<regex::Regex>> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----").ok());

/// Shortest text worth scanning: the shortest credential above is 20 characters.
const MIN_TOKEN_LEN: usize = 20;

/// Every provider credential and private key block in `text`, in order.
pub fn find_tokens(text: &str) -> Vec<TokenMatch> {
    let mut found = Vec::new();
    if text.len() < MIN_TOKEN_LEN {
        return found;
    }
    let Some(prefixes) = TOKEN_PREFIXES.as_ref() else { return found };
    let mut seen: Vec<&str> = Vec::new();
    for prefix in prefixes.find_iter(text) {
        if !seen.contains(&prefix.as_str()) {
            seen.push(prefix.as_str());
        }
    }
    if seen.is_empty() {
        return found;
    }
    for (index, pattern) in TOKEN_PATTERNS.iter().enumerate() {
        // (`sk-ant-` is found as `sk-`, the leftmost-first alternative.)
        let candidate = pattern.prefixes.iter().any(|prefix| seen.iter().any(|s| prefix.starts_with(s)));
        if !candidate {
            continue;
        }
        let Some(regex) = token_regex(index) else { continue };
        let kind = pattern.kind;
        for captures in regex.captures_iter(text) {
            let (Some(whole), Some(body)) = (captures.get(0), captures.name("body")) else { continue };
            let token = captures.name("tok").unwrap_or(whole);
            let before = text[..whole.start()].chars().next_back();
            let after = text[token.end()..].chars().next();
            if before.is_some_and(|c| c.is_ascii_alphanumeric()) || after.is_some_and(|c| c.is_ascii_alphanumeric()) {
                continue;
            }
            if is_placeholder(body.as_str()) {
                continue;
            }
            let example = token.as_str().to_ascii_lowercase().contains("example");
            found.push(TokenMatch { range: token.range(), kind, example });
        }
    }
    if seen.contains(&PEM_PREFIX) {
        found.extend(private_keys(text));
    }
    found.sort_by_key(|token| (token.range.start, token.range.end));
    // One credential, one match (a JWT inside a URL, an overlapping legacy format).
    found.dedup_by(|later, earlier| later.range.start < earlier.range.end);
    found
}

/// PEM private key blocks with a real body (a marker alone, as in code that parses keys,
/// or `...` in documentation, is not a key).
fn private_keys(text: &str) -> Vec<TokenMatch> {
    let (Some(begin), Some(end)) = (PEM_BEGIN.as_ref(), PEM_END.as_ref()) else { return Vec::new() };
    let mut found = Vec::new();
    for header in begin.find_iter(text) {
        let rest = &text[header.end()..];
        let (body, block_end) = match end.find(rest) {
            Some(footer) => (&rest[..footer.start()], header.end() + footer.end()),
            None => {
                // No footer (truncated): the key runs as far as base64 and line breaks do.
                let length = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '\n' | '\r' | '\\')))
                    .unwrap_or(rest.len());
                (&rest[..length], header.end() + length)
            }
        };
        let base64 = body.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/')).count();
        if base64 < 32 || is_placeholder(body) {
            continue;
        }
        let example = body.to_ascii_lowercase().contains("example");
        found.push(TokenMatch { range: header.start()..block_end, kind: "private key", example });
    }
    found
}

/// A credential recognisable only by where it is written: `value` bound to the variable,
/// parameter or flag `name`. Such formats (a W&B API key is 40 hex digits, like any SHA-1)
/// are judged only in these sinks, with an entropy floor, never in arbitrary text.
pub fn sink_token(name: &str, value: &str) -> Option<TokenMatch> {
    let words = words(name);
    let wandb = words.iter().any(|word| word == "wandb") && classify_name(name, &[]) == NameClass::Secret;
    if !wandb {
        return None;
    }
    let trimmed = value.trim();
    let start = value.len() - value.trim_start().len();
    let hex = trimmed.strip_prefix("local-").unwrap_or(trimmed);
    let is_key = hex.len() == 40 && hex.chars().all(|c| c.is_ascii_digit() || matches!(c, 'a'..='f'));
    if !is_key || shannon_entropy(hex) < 3.0 || is_placeholder(hex) {
        return None;
    }
    Some(TokenMatch { range: start..start + trimmed.len(), kind: "Weights & Biases API key", example: false })
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
        assert_eq!(words("ÄpfelSaft_ǅx"), ["äpfel", "saft", "ǆx"]);
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
            "pad_token",
            "EOS_TOKEN",
            "maskToken",
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
        assert_eq!(classify_name("pypi-token-secret", &[]), NameClass::SecretObject);
        assert!(!is_literal_secret("pypi-token-secret", "pypi-upload", &[]));
        assert!(is_literal_secret("ACCESS_TOKEN_SECRET", "Zq3Lk9Wm2Xr7Tb4Nc8Vd", &[]));
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

    /// Fake credentials in each provider's documented shape, assembled at run time so the
    /// source holds no token-shaped literal for secret scanners to trip on.
    fn fake(prefix: &str, body: &str) -> String {
        format!("{prefix}{body}")
    }

    const BODY36: &str = "Zq3Lk9Wm2Xr7Tb4Nc8Vd1Fg6Hj5Kp0Ms2Qw8";

    #[test]
    fn token_patterns_all_compile() {
        assert!((0..TOKEN_PATTERNS.len()).all(|index| token_regex(index).is_some()));
        assert!(PEM_BEGIN.is_some() && PEM_END.is_some() && TOKEN_PREFIXES.is_some());
    }

    #[test]
    fn provider_tokens_are_found() {
        let cases: Vec<(String, &str)> = vec![
            (fake("AKIA", "IOSFODNN7EXAMPLE"), "AWS access key ID"),
            (fake("ASIA", "Q3EGRBQXJNS2ZL5W"), "AWS access key ID"),
            (fake("ghp_", BODY36), "GitHub token"),
            (fake("ghs_", BODY36), "GitHub token"),
            (
                fake(
                    "github_pat_",
                    &format!("11ABCDEFG0{}_{}", &BODY36[..12], &"aB3dE5gH7jK9mN2pQ4sT6vW8yZ".repeat(3)[..59]),
                ),
                "GitHub fine-grained token",
            ),
            (fake("glpat-", "Zq3Lk9Wm2Xr7Tb4Nc8Vd"), "GitLab personal access token"),
            (fake("xoxb-", "2934501234-4821034567891-Zq3Lk9Wm2Xr7Tb4Nc8Vd1Fg6"), "Slack token"),
            (fake("xoxp-", "2934501234-2934501235-4821034567891-9f8e7d6c5b4a39281706f5e4d3c2b1a0"), "Slack token"),
            (
                fake("https://hooks.slack.com/services/", "T02ABCD1E/B03FGHI2J/Zq3Lk9Wm2Xr7Tb4Nc8Vd1Fg6"),
                "Slack webhook URL",
            ),
            (fake("AIza", "SyD3kL9Wm2Xr7Tb4Nc8Vd1Fg6Hj5Kp0Ms2Q"), "Google API key"),
            (fake("GOCSPX-", "Zq3Lk9Wm2Xr7Tb4Nc8Vd1Fg6Hj5K"), "Google OAuth client secret"),
            (fake("hf_", "ZqLkWmXrTbNcVdFgHjKpMsQwErTyUiOpAs"), "Hugging Face token"),
            (fake("sk-", "Zq3Lk9Wm2Xr7Tb4Nc8VdT3BlbkFJ1Fg6Hj5Kp0Ms2Qw8e7r6t5y"), "OpenAI API key"),
            (fake("sk-proj-", &"Zq3Lk9Wm2Xr7Tb4Nc8Vd-1Fg6Hj5Kp0Ms2Qw_".repeat(3)), "OpenAI API key"),
            (fake("sk-ant-api03-", &"Zq3Lk9Wm2Xr7Tb4Nc8Vd-1Fg6Hj5Kp0Ms2Qw_".repeat(3)), "Anthropic API key"),
            (fake("sk_live_", "51HZq3Lk9Wm2Xr7Tb4Nc8Vd1Fg6"), "Stripe live key"),
            (fake("rk_live_", "51HZq3Lk9Wm2Xr7Tb4Nc8Vd1Fg6"), "Stripe live key"),
            (fake("dapi", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"), "Databricks token"),
            (fake("npm_", BODY36), "npm token"),
            (fake("pypi-AgE", "IcHlwaS5vcmcCJDZhZjg0YTEyLTk5ZWItNDc1Yy1iNzQ4LTI3MzY2ZTgxMmIyOQACKlsz"), "PyPI token"),
            (
                fake("eyJ", "hbGciOiJIUzI1NiJ9.eyJzdWIiOiJrZnBndWFyZCJ9.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                "JSON Web Token",
            ),
        ];
        for (token, kind) in &cases {
            let text = format!("value: \"{token}\" # trailing");
            let found = find_tokens(&text);
            assert_eq!(found.len(), 1, "{token}: {found:?}");
            assert_eq!(found[0].kind, *kind, "{token}");
            assert_eq!(&text[found[0].range.clone()], token.as_str(), "{token}");
        }
        assert!(find_tokens(&fake("AKIA", "IOSFODNN7EXAMPLE"))[0].example);
        assert!(!find_tokens(&fake("ghp_", BODY36))[0].example);
    }

    #[test]
    fn azure_connection_strings_point_at_the_key() {
        let key = "Zq3Lk9Wm2Xr7Tb4Nc8Vd1Fg6Hj5Kp0Ms2Qw8e7r6t5y4u3i2o1pAsDfGhJkLzXcVbNm1Q2w3E4r5T6y7U8i9O0p==";
        let text = format!(
            "DefaultEndpointsProtocol=https;AccountName=acct;{}={key};EndpointSuffix=core.windows.net",
            "AccountKey"
        );
        let found = find_tokens(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(&text[found[0].range.clone()], key);
    }

    #[test]
    fn private_key_blocks_need_a_body() {
        let block = format!(
            "-----BEGIN {0}-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nZq3Lk9Wm2Xr7Tb4Nc8Vd\n-----END {0}-----",
            "RSA PRIVATE KEY"
        );
        let text = format!("key: |\n  {block}\n");
        let found = find_tokens(&text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].kind, "private key");
        assert!(text[found[0].range.clone()].ends_with("PRIVATE KEY-----"));
        // Code that looks for the marker, and documentation with `...`, hold no key.
        assert!(find_tokens("if line.startswith('-----BEGIN RSA PRIVATE KEY-----'): pass").is_empty());
        assert!(find_tokens("-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----").is_empty());
        assert!(find_tokens("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END PUBLIC KEY-----").is_empty());
    }

    #[test]
    fn placeholders_and_near_misses_are_not_tokens() {
        for text in [
            fake("ghp_", &"x".repeat(36)),
            fake("AKIA", "XXXXXXXXXXXXXXXX"),
            fake("hf_", &"x".repeat(34)),
            fake("hf_", "abcdefghijklmnopqrstuvwxyzABCDEFGH"),
            fake("sk-", "your-openai-api-key-here"),
            fake("https://hooks.slack.com/services/", "T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"),
            fake("ghp_", "Zq3Lk9Wm2Xr7Tb4Nc8Vd1Fg6Hj5Kp0Ms2QwEXTRA"),
            fake("xAKIA", "IOSFODNN7EXAMPLE"),
            "hf_tokenizer_configuration_file_name_for_the_model".to_string(),
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".to_string(),
            "sk-default-value".to_string(),
            "hf-task-default-value-with-some-length".to_string(),
            "sklearn-pipeline-for-the-classification-task".to_string(),
        ] {
            assert!(find_tokens(&text).is_empty(), "{text}: {:?}", find_tokens(&text));
        }
    }

    #[test]
    fn sink_tokens_need_their_sink() {
        let key = "3f7a9c1e5b2d8f4a6c0e9b1d7f3a5c8e2b4d6f0a";
        assert!(sink_token("WANDB_API_KEY", key).is_some());
        assert!(sink_token("WANDB_API_KEY", &format!("local-{key}")).is_some());
        assert!(sink_token("GIT_COMMIT", key).is_none());
        assert!(sink_token("WANDB_API_KEY", &"0".repeat(40)).is_none());
        assert!(sink_token("WANDB_API_KEY", "example-wandb-api-key-not-real-0000").is_none());
        assert!(find_tokens(key).is_empty());
    }

    #[test]
    fn secret_fragments_cover_every_secret_word() {
        for word in SECRET_WORDS.iter().chain(&["key", "secret"]) {
            assert!(may_be_secret_name(word, &[]), "{word}");
        }
        assert!(!may_be_secret_name("KEYBOARD", &[]) || classify_name("KEYBOARD", &[]) == NameClass::Plain);
        assert!(!may_be_secret_name("learning_rate", &[]));
        assert!(may_be_secret_name("DB_PassWord", &[]));
        assert!(may_be_secret_name("x-api-Token", &[]));
        assert!(!may_be_secret_name("", &[]));
        let extra = ["SiGnInG".to_string()];
        assert!(may_be_secret_name("signing_material", &extra));
        assert!(!may_be_secret_name("sign", &extra));
        assert!(may_be_secret_name("", &[String::new()]));
    }

    /// Names built from pieces of secret words, separators, camelCase humps and non-ASCII
    /// letters (the Kelvin sign lower-cases to `k`, `ſ` upper-cases to `S`).
    fn generated_names() -> Vec<String> {
        let pieces = [
            "pa", "SS", "pW", "d", "tok", "EN", "cr", "ed", "k", "Ey", "sec", "ret", "_", "-", "é", "\u{212A}", "ſ",
            "Ω",
        ];
        let mut names = vec![String::new()];
        for first in pieces {
            names.push(first.to_string());
            for second in pieces {
                names.push(format!("{first}{second}"));
                for third in pieces {
                    names.push(format!("{first}{second}{third}"));
                }
            }
        }
        names
    }

    #[test]
    fn fragment_table_agrees_with_a_search_of_every_fragment() {
        for name in generated_names() {
            let lower = name.to_ascii_lowercase();
            let expected = SECRET_FRAGMENTS.iter().any(|fragment| lower.contains(fragment));
            assert_eq!(may_be_secret_name(&name, &[]), expected, "{name}");
        }
    }

    #[test]
    fn literal_secret_filter_keeps_every_verdict() {
        let extra = ["sign".to_string(), "Kéy".to_string()];
        for name in generated_names().iter().map(String::as_str).chain(["KEYBOARD", "\u{212A}EY", "sign_in"]) {
            for extra_words in [&[][..], &extra[..]] {
                for value in ["s3cr3tP4ss", "test-secret-1", "$TOKEN"] {
                    let expected = match classify_name(name, extra_words) {
                        NameClass::Plain => false,
                        NameClass::SecretObject => !is_reference_value(value) && !looks_like_object_name(value),
                        NameClass::Secret => !is_reference_value(value),
                    };
                    assert_eq!(is_literal_secret(name, value, extra_words), expected, "{name} = {value}");
                }
            }
        }
    }

    #[test]
    fn placeholder_values() {
        for value in ["<token>", "xxxxxxxx", "********", "your-api-key-here", "REPLACE_ME", "TODO"] {
            assert!(is_placeholder_value(value), "{value}");
        }
        for value in ["minio123", "S3cr3t", "tok-live-5d1c9e"] {
            assert!(!is_placeholder_value(value), "{value}");
        }
    }

    #[test]
    fn flags_and_partial_references() {
        assert!(is_switch_flag("--no-password") && is_switch_flag("--ask-password=true"));
        assert!(!is_switch_flag("--password") && !is_switch_flag("--api-key=x"));
        assert_eq!(classify_name("password-stdin", &[]), NameClass::Plain);
        assert_eq!(classify_name("token-path", &[]), NameClass::Plain);
        assert_eq!(classify_name("PGPASSWORD", &[]), NameClass::Secret);
        assert!(contains_reference("Bearer {{$.inputs.parameters['t']}}"));
        assert!(contains_reference("user:$PASS"));
        assert!(contains_reference("x${…}y"));
        assert!(!contains_reference("p4$$"));
        assert!(!contains_reference("s3cr3t"));
    }
}
