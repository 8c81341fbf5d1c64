//! What the user accepts: which rules run, severity remaps, the severity floor, ignores
//! from the config and the baseline. Built once from the config and the command line,
//! applied once to the sorted findings of each file (`ReportBuilder::add`); rules never see it.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{Config, Ignore};
use crate::finding::Severity;
use crate::report::ReportedFinding;
use crate::rules;

/// The compiled selection and acceptance rules of a run.
#[derive(Debug, Default)]
pub struct Policy {
    /// The catalogue's ids of the rules that run, sorted.
    enabled: Vec<&'static str>,
    severities: BTreeMap<String, Severity>,
    min_severity: Option<Severity>,
    ignores: Vec<Ignore>,
    /// Where the ignores come from, for messages.
    config_name: String,
    baseline: Option<BTreeSet<String>>,
    /// `YYYY-MM-DD`, to expire ignores.
    today: String,
}

/// What the policy did to a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    BelowMinimum,
    Ignored,
    Baselined,
}

impl Policy {
    /// `select` and `ignore` are rule ids (`ALL` selects every rule), as given with
    /// `--select`/`--ignore`; they override the config, which overrides rule defaults.
    pub fn new(
        config: &Config,
        select: &[String],
        ignore: &[String],
        min_severity: Option<Severity>,
        baseline: Option<BTreeSet<String>>,
        today: String,
    ) -> Result<Policy, String> {
        for id in select.iter().chain(ignore) {
            if id != "ALL" && rules::find(id).is_none() {
                return Err(format!("unknown rule `{id}` (see --list-rules)"));
            }
        }
        let mut enabled: BTreeSet<&'static str> =
            rules::all().iter().filter(|rule| rule.meta.enabled_by_default).map(|rule| rule.meta.id).collect();
        let mut severities = BTreeMap::new();
        for (id, settings) in &config.rules {
            let Some(rule) = rules::find(id) else { continue };
            match settings.enabled {
                Some(true) => {
                    enabled.insert(rule.meta.id);
                }
                Some(false) => {
                    enabled.remove(rule.meta.id);
                }
                None => {}
            }
            if let Some(severity) = settings.severity {
                severities.insert(id.clone(), severity);
            }
        }
        if !select.is_empty() {
            enabled = if select.iter().any(|id| id == "ALL") {
                rules::all().iter().map(|rule| rule.meta.id).collect()
            } else {
                select.iter().filter_map(|id| rules::find(id)).map(|rule| rule.meta.id).collect()
            };
        }
        for id in ignore {
            if id == "ALL" {
                enabled.clear();
            }
            enabled.remove(id.as_str());
        }
        let config_name = config.path.as_ref().map_or_else(|| "config".to_string(), |p| p.display().to_string());
        let enabled = enabled.into_iter().collect();
        Ok(Policy { enabled, severities, min_severity, ignores: config.ignores.clone(), config_name, baseline, today })
    }

    /// Every default rule, nothing accepted.
    pub fn defaults() -> Policy {
        Policy::new(&Config::default(), &[], &[], None, None, today()).unwrap_or_default()
    }

    /// Whether a rule runs at all.
    pub fn is_enabled(&self, id: &str) -> bool {
        // Asked once per rule and pipeline, nearly always with the catalogue's own id: the
        // addresses are compared first, which spares a string search most of the time.
        self.enabled.iter().any(|enabled| std::ptr::eq(*enabled, id)) || self.enabled.binary_search(&id).is_ok()
    }

    /// Notes about the policy itself (expired ignores), for the report.
    pub fn notes(&self) -> Vec<String> {
        self.ignores
            .iter()
            .filter(|ignore| self.expired(ignore))
            .map(|ignore| {
                format!(
                    "ignore at {}:{} expired on {} and no longer applies ({})",
                    self.config_name,
                    ignore.line,
                    ignore.expires.as_deref().unwrap_or_default(),
                    ignore.reason
                )
            })
            .collect()
    }

    fn expired(&self, ignore: &Ignore) -> bool {
        ignore.expires.as_deref().is_some_and(|date| date < self.today.as_str())
    }

    /// Applies severity remaps, then decides whether the finding is reported.
    pub fn judge(&self, reported: &mut ReportedFinding) -> Verdict {
        let finding = &mut reported.finding;
        if let Some(&severity) = self.severities.get(finding.rule) {
            finding.severity = severity;
        }
        if self.min_severity.is_some_and(|floor| finding.severity < floor) {
            return Verdict::BelowMinimum;
        }
        let matches = |ignore: &Ignore| {
            (ignore.rules.is_empty() || ignore.rules.iter().any(|id| id == finding.rule))
                && ignore.paths.as_ref().is_none_or(|paths| paths.is_match(&*reported.path))
                && ignore.pipeline.as_ref().is_none_or(|glob| glob.is_match(&*finding.pipeline))
                && ignore.task.as_ref().is_none_or(|glob| finding.steps.iter().any(|step| glob.is_match(step)))
                && ignore
                    .container
                    .as_ref()
                    .is_none_or(|glob| finding.container.as_deref().is_some_and(|c| glob.is_match(c)))
        };
        if self.ignores.iter().any(|ignore| !self.expired(ignore) && matches(ignore)) {
            return Verdict::Ignored;
        }
        if self.baseline.as_ref().is_some_and(|baseline| baseline.contains(&finding.fingerprint)) {
            return Verdict::Baselined;
        }
        Verdict::Keep
    }
}

/// Today's date in UTC as `YYYY-MM-DD`.
pub fn today() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    civil_date(seconds / 86_400)
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(19_723), "2024-01-01");
        assert_eq!(civil_date(20_785), "2026-11-28");
    }

    #[test]
    fn selection_follows_ruff() {
        let config = Config::default();
        let policy = Policy::new(&config, &[], &["missing-cpu-limit".into()], None, None, today()).unwrap();
        assert!(!policy.is_enabled("missing-cpu-limit"));
        assert!(policy.is_enabled("run-as-root"));
        let only = Policy::new(&config, &["run-as-root".into()], &[], None, None, today()).unwrap();
        assert!(only.is_enabled("run-as-root") && !only.is_enabled("secret-in-env"));
        assert!(Policy::new(&config, &["nope".into()], &[], None, None, today()).is_err());
    }
}
