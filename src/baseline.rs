//! Baselines: the fingerprints of accepted findings, so a run reports only what is new.
//! Fingerprints do not contain line numbers (see `finding::fingerprint`), so a baseline
//! survives recompiles that move everything around.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::report::ReportedFinding;

/// Version of the baseline file format.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct BaselineFile {
    kfpguard_baseline: u32,
    findings: Vec<Entry>,
}

/// One accepted finding; everything but the fingerprint is there for human readers.
#[derive(Serialize, Deserialize)]
pub struct Entry {
    fingerprint: String,
    rule: String,
    path: String,
    pipeline: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    container: Option<String>,
    message: String,
}

impl Entry {
    pub fn new(reported: &ReportedFinding) -> Self {
        Entry {
            fingerprint: reported.finding.fingerprint.clone(),
            rule: reported.finding.rule.to_string(),
            path: reported.path.to_string(),
            pipeline: reported.finding.pipeline.to_string(),
            container: reported.finding.container.as_deref().map(str::to_string),
            message: reported.finding.message.clone(),
        }
    }
}

/// Writes `findings` as a baseline. Returns how many were written.
pub fn write(path: &Path, findings: Vec<Entry>) -> Result<usize, String> {
    let count = findings.len();
    let file = BaselineFile { kfpguard_baseline: VERSION, findings };
    let mut text = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
    text.push('\n');
    std::fs::write(path, text).map_err(|e| format!("cannot write baseline {}: {e}", path.display()))?;
    Ok(count)
}

/// Reads the fingerprints of a baseline file.
pub fn read(path: &Path) -> Result<BTreeSet<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read baseline {}: {e}", path.display()))?;
    let file: BaselineFile =
        serde_json::from_str(&text).map_err(|e| format!("{} is not a kfpguard baseline: {e}", path.display()))?;
    if file.kfpguard_baseline != VERSION {
        return Err(format!("{}: unsupported baseline version {}", path.display(), file.kfpguard_baseline));
    }
    Ok(file.findings.into_iter().map(|entry| entry.fingerprint).collect())
}
