//! Findings: what a rule reports, with its location as file byte offsets, and the
//! line-independent fingerprint that baselines and SARIF alerts key on.

use std::ops::Range;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::text::HEX_DIGITS;

/// How bad a finding is. Ordered: `Low < Medium < High`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    /// Risk-score weight of one finding (rules.md).
    pub fn weight(self) -> u32 {
        match self {
            Severity::Low => 1,
            Severity::Medium => 5,
            Severity::High => 10,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A secondary location that explains a finding (e.g. the pod-level setting it inherits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    pub span: Range<usize>,
    pub message: String,
}

/// One problem found in one file, before it is placed into a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// Human-readable; already redacted.
    pub message: String,
    /// The offending bytes in the file.
    pub span: Range<usize>,
    /// Bytes that hold a secret: never shown, in any output.
    pub secret: Option<Range<usize>>,
    pub related: Vec<Related>,
    /// Shared by the findings of the pipeline.
    pub pipeline: Arc<str>,
    /// Shared with the model's container and its other findings.
    pub container: Option<Arc<str>>,
    /// Tasks, templates or steps that run the container (shared with the model).
    pub steps: Arc<[String]>,
    pub fingerprint: String,
}

/// The stable identity of a finding: rule, file, pipeline, container, symbolic field and
/// a hash of the offending value. No line numbers, so it survives recompiles that move
/// things around; the value hash never reveals a secret.
pub fn fingerprint(rule: &str, file: &str, pipeline: &str, container: &str, field: &str, value: &str) -> String {
    FingerprintPrefix::new(rule, file, pipeline).finish(container, field, value)
}

/// A [`fingerprint`] with its first parts (rule, file, pipeline) hashed, to be finished for
/// each finding of the rule in the pipeline: they are most of what is hashed.
pub struct FingerprintPrefix(Sha256);

impl FingerprintPrefix {
    pub fn new(rule: &str, file: &str, pipeline: &str) -> Self {
        let mut hasher = Sha256::new();
        for part in [rule, file, pipeline] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        Self(hasher)
    }

    /// The fingerprint of the finding in `container` with `field` and `value`.
    pub fn finish(&self, container: &str, field: &str, value: &str) -> String {
        let mut hasher = self.0.clone();
        for part in [container, field, value] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        let digest = hasher.finalize();
        // Lower-case hex of the first 16 bytes, laid out in place rather than pushed a
        // character at a time (a capacity check and UTF-8 encoding each).
        let mut hex = [0u8; 32];
        for (pair, &byte) in hex.chunks_exact_mut(2).zip(digest.iter()) {
            pair[0] = HEX_DIGITS[usize::from(byte >> 4)];
            pair[1] = HEX_DIGITS[usize::from(byte & 0x0f)];
        }
        // Hex digits are ASCII: the check cannot fail.
        String::from_utf8(hex.to_vec()).unwrap_or_default()
    }
}
