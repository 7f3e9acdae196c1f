//! The MySQL/MariaDB rules of catalog §3.2, each a pure function of the current sample, the
//! previous one (for deltas) and the site thresholds. Formulas follow MySQLTuner's
//! `calculations()` and percona-toolkit where the catalog cites them.

mod connections;
mod innodb;
mod latency;
mod replication;
mod security;

use super::sample::MysqlSample;
use crate::config::MysqlRulesConfig;
use crate::diagnose::{Finding, sort_findings};

/// Everything a rule may read.
pub struct RuleInput<'a> {
    pub cur: &'a MysqlSample,
    /// The sample before, for deltas; `None` on the first one.
    pub prev: Option<&'a MysqlSample>,
    pub th: &'a MysqlRulesConfig,
    /// Consecutive samples (this one included) with `Threads_running` above the threshold.
    pub running_streak: usize,
}

impl RuleInput<'_> {
    /// Increase of a status counter since the previous sample; `None` when unknown (first
    /// sample, restart, missing counter).
    pub fn delta(&self, key: &str) -> Option<u64> {
        let prev = self.prev.filter(|p| !self.cur.restarted_since(p))?;
        Some(
            self.cur
                .status_u64(key)?
                .saturating_sub(prev.status_u64(key)?),
        )
    }

    /// Seconds between the two samples.
    pub fn dt(&self) -> Option<f64> {
        let prev = self.prev.filter(|p| !self.cur.restarted_since(p))?;
        let dt = self.cur.at - prev.at;
        (dt > 0.0).then_some(dt)
    }

    /// A status counter, 0 when absent.
    pub fn status(&self, key: &str) -> u64 {
        self.cur.status_u64(key).unwrap_or(0)
    }
}

/// Every rule id this plugin implements, in catalog order.
pub const RULE_IDS: &[&str] = &[
    "MYS-CONN-01",
    "MYS-CONN-02",
    "MYS-CONN-03",
    "MYS-CONN-04",
    "MYS-LOAD-01",
    "MYS-LAT-01",
    "MYS-LAT-02",
    "MYS-LAT-03",
    "MYS-LAT-04",
    "MYS-LAT-05",
    "MYS-LAT-06",
    "MYS-MEM-02",
    "MYS-MEM-03",
    "MYS-MEM-04",
    "MYS-MEM-05",
    "MYS-INNO-01",
    "MYS-INNO-02",
    "MYS-DUR-01",
    "MYS-DUR-02",
    "MYS-DUR-03",
    "MYS-DUR-04",
    "MYS-REP-01",
    "MYS-REP-02",
    "MYS-REP-03",
    "MYS-REP-04",
    "MYS-REP-05",
    "MYS-REP-06",
    "MYS-SEC-01",
    "MYS-SEC-02",
    "MYS-SEC-03",
    "MYS-SEC-04",
    "MYS-SEC-05",
    "MYS-CAP-01",
    "MYS-CAP-02",
];

/// Runs every rule; findings come back most severe first.
pub fn evaluate(input: &RuleInput<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    connections::check(input, &mut findings);
    latency::check(input, &mut findings);
    innodb::check(input, &mut findings);
    replication::check(input, &mut findings);
    security::check(input, &mut findings);
    sort_findings(&mut findings);
    findings
}

/// A percentage rounded to one decimal (keeps evidence readable).
pub(crate) fn pct(num: f64, den: f64) -> f64 {
    if den <= 0.0 {
        0.0
    } else {
        (num / den * 1000.0).round() / 10.0
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::plugins::mysql::connection::Flavor;

    /// A MariaDB sample from status and variable pairs.
    pub fn sample(status: &[(&str, &str)], vars: &[(&str, &str)]) -> MysqlSample {
        let map = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
                .collect()
        };
        let mut s = MysqlSample {
            at: 1_700_000_000.0,
            flavor: Flavor::Mariadb,
            version: "10.11.6-MariaDB".into(),
            status: map(status),
            vars: map(vars),
            replica: Some(Vec::new()),
            ..MysqlSample::default()
        };
        s.status
            .entry("uptime".into())
            .or_insert_with(|| "100000".into());
        s
    }

    /// Rule ids that fire with their severity tags.
    pub fn fired(cur: &MysqlSample, prev: Option<&MysqlSample>) -> Vec<(String, &'static str)> {
        let th = MysqlRulesConfig::default();
        evaluate(&RuleInput {
            cur,
            prev,
            th: &th,
            running_streak: 0,
        })
        .into_iter()
        .map(|f| (f.id, f.severity.tag()))
        .collect()
    }

    /// Whether `id` fired with severity `tag`.
    pub fn has(fired: &[(String, &str)], id: &str, tag: &str) -> bool {
        fired.iter().any(|(i, t)| i == id && *t == tag)
    }
}
