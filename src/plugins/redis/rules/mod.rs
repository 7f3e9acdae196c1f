//! The Redis rules of catalog §2.2, each a pure function of the current sample, the previous
//! one (for deltas) and the site thresholds.

mod availability;
mod latency;
mod memory;
mod security;

use super::sample::RedisSample;
use crate::model::{Finding, sort_findings};
use crate::plugins::redis::settings::RedisSettings;

/// Facts about the host Redis runs on, read only when it runs on this machine (catalog C13).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostFacts {
    /// `/proc/sys/vm/overcommit_memory`.
    pub overcommit_memory: Option<u8>,
    /// The selected value of `/sys/kernel/mm/transparent_hugepage/enabled`.
    pub transparent_hugepage: Option<String>,
}

/// Everything a rule may read.
pub struct RuleInput<'a> {
    pub cur: &'a RedisSample,
    /// The sample before, for deltas; `None` on the first sample.
    pub prev: Option<&'a RedisSample>,
    pub th: &'a RedisSettings,
    /// The instance is tagged `cache` (evictions expected).
    pub is_cache: bool,
    /// Host facts when the server is local; `None` means unknown, never "fine".
    pub host: Option<&'a HostFacts>,
}

impl RuleInput<'_> {
    /// Increase of an INFO counter since the previous sample; `None` if unknown (first sample,
    /// restart, or the field is missing).
    pub fn delta(&self, key: &str) -> Option<u64> {
        let prev = self.prev.filter(|p| !self.cur.restarted_since(p))?;
        Some(self.cur.info.u64(key)?.saturating_sub(prev.info.u64(key)?))
    }

    /// Increase of a `count=` error statistic; absent before means zero (Redis adds the line at
    /// the first error).
    pub fn error_delta(&self, error: &str) -> Option<u64> {
        let prev = self.prev.filter(|p| !self.cur.restarted_since(p))?;
        let key = format!("errorstat_{error}");
        let now = self.cur.info.sub_u64(&key, "count").unwrap_or(0);
        let before = prev.info.sub_u64(&key, "count").unwrap_or(0);
        Some(now.saturating_sub(before))
    }

    /// An INFO field as u64, 0 when absent.
    pub fn info_u64(&self, key: &str) -> u64 {
        self.cur.info.u64(key).unwrap_or(0)
    }
}

/// Every rule id this plugin implements, in catalog order.
pub const RULE_IDS: &[&str] = &[
    "RDS-MEM-01",
    "RDS-MEM-02",
    "RDS-MEM-03",
    "RDS-MEM-04",
    "RDS-MEM-05",
    "RDS-MEM-06",
    "RDS-MEM-07",
    "RDS-MEM-08",
    "RDS-MEM-09",
    "RDS-MEM-10",
    "RDS-MEM-11",
    "RDS-MEM-12",
    "RDS-LAT-01",
    "RDS-LAT-02",
    "RDS-LAT-03",
    "RDS-LAT-04",
    "RDS-LAT-05",
    "RDS-LAT-06",
    "RDS-LAT-07",
    "RDS-CONN-01",
    "RDS-CONN-02",
    "RDS-REP-01",
    "RDS-REP-02",
    "RDS-REP-03",
    "RDS-PER-01",
    "RDS-PER-02",
    "RDS-PER-03",
    "RDS-PER-04",
    "RDS-PER-05",
    "RDS-SEC-01",
    "RDS-SEC-02",
    "RDS-SEC-03",
    "RDS-SEC-04",
    "RDS-SEC-05",
    "RDS-CAP-01",
];

/// Runs every rule; findings come back most severe first.
pub fn evaluate(input: &RuleInput<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    memory::check(input, &mut findings);
    latency::check(input, &mut findings);
    availability::check(input, &mut findings);
    security::check(input, &mut findings);
    sort_findings(&mut findings);
    findings
}

/// Rounds a ratio for evidence (keeps JSON readable).
pub(crate) fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::super::parse::InfoMap;
    use super::*;

    /// A sample built from INFO lines and config pairs.
    pub fn sample(info: &str, config: &[(&str, &str)]) -> RedisSample {
        RedisSample {
            server_time: 1_700_000_000.0,
            info: InfoMap::parse(&format!(
                "redis_version:7.0.15\nuptime_in_seconds:100\n{info}"
            )),
            config: config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..RedisSample::default()
        }
    }

    /// Rule ids that fire, with their severity tags.
    pub fn fired(cur: &RedisSample, prev: Option<&RedisSample>) -> Vec<(String, &'static str)> {
        let th = RedisSettings::default();
        let input = RuleInput {
            cur,
            prev,
            th: &th,
            is_cache: false,
            host: None,
        };
        evaluate(&input)
            .into_iter()
            .map(|f| (f.id, f.severity.tag()))
            .collect()
    }

    /// Whether `id` fired with severity `tag`.
    pub fn has(fired: &[(String, &str)], id: &str, tag: &str) -> bool {
        fired.iter().any(|(i, t)| i == id && *t == tag)
    }
}
