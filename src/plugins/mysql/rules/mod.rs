//! The MySQL/MariaDB rules of catalog §3.2, each a pure function of the current sample, the
//! previous one (for deltas) and the site thresholds. Formulas follow MySQLTuner's
//! `calculations()` and percona-toolkit where the catalog cites them.

mod connections;
mod innodb;
mod latency;
mod replication;
mod security;

use super::sample::MysqlSample;
use crate::model::{Finding, sort_findings};
use crate::plugins::mysql::settings::MysqlSettings;

/// Minimum samples of the share rules (`crate::plugins::ratio`): below these counts a share
/// of events says nothing and the rule does not fire. Counters are cumulative since start
/// unless the rule says otherwise.
pub mod min_sample {
    /// Connection attempts (`Connections`) before MYS-CONN-03 (aborted share) and MYS-CONN-04
    /// (thread-cache hit rate) judge: 3 aborted of 13 on a fresh server is normal.
    pub const CONNECTIONS: u64 = 100;
    /// Statements (`Questions`) before MYS-LAT-05 judges the slow-query share.
    pub const QUESTIONS: u64 = 1_000;
    /// Buffer-pool reads (logical + disk) before MYS-MEM-02 judges read efficiency.
    pub const BUFFER_POOL_READS: u64 = 10_000;
    /// Temporary tables before MYS-MEM-04 judges the on-disk share.
    pub const TMP_TABLES: u64 = 100;
    /// Table opens (cache hits + misses) before MYS-MEM-05 judges the hit rate.
    pub const TABLE_OPENS: u64 = 1_000;
}

/// Everything a rule may read.
pub struct RuleInput<'a> {
    pub cur: &'a MysqlSample,
    /// The sample before, for deltas; `None` on the first one.
    pub prev: Option<&'a MysqlSample>,
    pub th: &'a MysqlSettings,
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
        let th = MysqlSettings::default();
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

#[cfg(test)]
mod min_sample_tests {
    use super::min_sample;
    use super::test_support::{fired, sample};

    /// Whether `id` fires at all on a sample of these status counters (first sample: the
    /// cumulative counters are judged).
    fn fires(id: &str, status: &[(&str, String)], vars: &[(&str, &str)]) -> bool {
        let status: Vec<(&str, &str)> = status.iter().map(|(k, v)| (*k, v.as_str())).collect();
        fired(&sample(&status, vars), None)
            .iter()
            .any(|(i, _)| i == id)
    }

    /// A rule, the status counters of one sample, and whether the rule fires on it.
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, bool);

    #[test]
    fn share_rules_fire_only_from_their_minimum_sample_on() {
        let n = |v: u64| v.to_string();
        let max = u64::MAX;
        let cache = [("thread_cache_size", "8"), ("max_connections", "151")];
        // (rule, counters, fires)
        let cases: Vec<Case> = vec![
            // MYS-CONN-03: aborted of connections.
            (
                "MYS-CONN-03",
                vec![("Aborted_connects", n(3)), ("Connections", n(13))],
                false,
            ),
            (
                "MYS-CONN-03",
                vec![
                    ("Aborted_connects", n(99)),
                    ("Connections", n(min_sample::CONNECTIONS - 1)),
                ],
                false,
            ),
            (
                "MYS-CONN-03",
                vec![
                    ("Aborted_connects", n(4)),
                    ("Connections", n(min_sample::CONNECTIONS)),
                ],
                true,
            ),
            (
                "MYS-CONN-03",
                vec![
                    ("Aborted_connects", n(3)),
                    ("Connections", n(min_sample::CONNECTIONS)),
                ],
                false,
            ),
            (
                "MYS-CONN-03",
                vec![
                    ("Aborted_connects", n(5)),
                    ("Connections", n(min_sample::CONNECTIONS + 1)),
                ],
                true,
            ),
            (
                "MYS-CONN-03",
                vec![("Aborted_connects", n(0)), ("Connections", n(0))],
                false,
            ),
            (
                "MYS-CONN-03",
                vec![("Aborted_connects", n(7)), ("Connections", n(0))],
                false,
            ),
            (
                "MYS-CONN-03",
                vec![("Aborted_connects", n(max)), ("Connections", n(max))],
                true,
            ),
            (
                "MYS-CONN-03",
                vec![("Aborted_connects", n(0)), ("Connections", n(max))],
                false,
            ),
            // MYS-CONN-04: threads created of connections (hit rate ≤ 50 %).
            (
                "MYS-CONN-04",
                vec![
                    ("Threads_created", n(99)),
                    ("Connections", n(min_sample::CONNECTIONS - 1)),
                ],
                false,
            ),
            (
                "MYS-CONN-04",
                vec![
                    ("Threads_created", n(50)),
                    ("Connections", n(min_sample::CONNECTIONS)),
                ],
                true,
            ),
            (
                "MYS-CONN-04",
                vec![
                    ("Threads_created", n(49)),
                    ("Connections", n(min_sample::CONNECTIONS)),
                ],
                false,
            ),
            (
                "MYS-CONN-04",
                vec![("Threads_created", n(0)), ("Connections", n(0))],
                false,
            ),
            (
                "MYS-CONN-04",
                vec![("Threads_created", n(max)), ("Connections", n(max))],
                true,
            ),
            // MYS-LAT-05: slow queries of questions (the slow log is on: no INFO fallback).
            (
                "MYS-LAT-05",
                vec![
                    ("Slow_queries", n(999)),
                    ("Questions", n(min_sample::QUESTIONS - 1)),
                ],
                false,
            ),
            (
                "MYS-LAT-05",
                vec![
                    ("Slow_queries", n(51)),
                    ("Questions", n(min_sample::QUESTIONS)),
                ],
                true,
            ),
            (
                "MYS-LAT-05",
                vec![
                    ("Slow_queries", n(50)),
                    ("Questions", n(min_sample::QUESTIONS)),
                ],
                false,
            ),
            (
                "MYS-LAT-05",
                vec![("Slow_queries", n(3)), ("Questions", n(0))],
                false,
            ),
            (
                "MYS-LAT-05",
                vec![("Slow_queries", n(max)), ("Questions", n(max))],
                true,
            ),
            // MYS-MEM-02: read requests of (requests + disk reads) below 90 %.
            (
                "MYS-MEM-02",
                vec![
                    ("Innodb_buffer_pool_read_requests", n(5_000)),
                    ("Innodb_buffer_pool_reads", n(4_999)),
                ],
                false,
            ),
            (
                "MYS-MEM-02",
                vec![
                    ("Innodb_buffer_pool_read_requests", n(5_000)),
                    ("Innodb_buffer_pool_reads", n(5_000)),
                ],
                true,
            ),
            (
                "MYS-MEM-02",
                vec![
                    ("Innodb_buffer_pool_read_requests", n(0)),
                    ("Innodb_buffer_pool_reads", n(0)),
                ],
                false,
            ),
            (
                "MYS-MEM-02",
                vec![
                    ("Innodb_buffer_pool_read_requests", n(max)),
                    ("Innodb_buffer_pool_reads", n(max)),
                ],
                false,
            ),
            (
                "MYS-MEM-02",
                vec![
                    ("Innodb_buffer_pool_read_requests", n(0)),
                    ("Innodb_buffer_pool_reads", n(max)),
                ],
                true,
            ),
            // MYS-MEM-04: temporary tables on disk.
            (
                "MYS-MEM-04",
                vec![
                    ("Created_tmp_disk_tables", n(99)),
                    ("Created_tmp_tables", n(min_sample::TMP_TABLES - 1)),
                ],
                false,
            ),
            (
                "MYS-MEM-04",
                vec![
                    ("Created_tmp_disk_tables", n(26)),
                    ("Created_tmp_tables", n(min_sample::TMP_TABLES)),
                ],
                true,
            ),
            (
                "MYS-MEM-04",
                vec![
                    ("Created_tmp_disk_tables", n(25)),
                    ("Created_tmp_tables", n(min_sample::TMP_TABLES)),
                ],
                false,
            ),
            (
                "MYS-MEM-04",
                vec![
                    ("Created_tmp_disk_tables", n(9)),
                    ("Created_tmp_tables", n(0)),
                ],
                false,
            ),
            (
                "MYS-MEM-04",
                vec![
                    ("Created_tmp_disk_tables", n(max)),
                    ("Created_tmp_tables", n(max)),
                ],
                true,
            ),
            // MYS-MEM-05: table cache hit rate below 20 %.
            (
                "MYS-MEM-05",
                vec![
                    ("Table_open_cache_hits", n(0)),
                    ("Table_open_cache_misses", n(min_sample::TABLE_OPENS - 1)),
                ],
                false,
            ),
            (
                "MYS-MEM-05",
                vec![
                    ("Table_open_cache_hits", n(199)),
                    ("Table_open_cache_misses", n(801)),
                ],
                true,
            ),
            (
                "MYS-MEM-05",
                vec![
                    ("Table_open_cache_hits", n(200)),
                    ("Table_open_cache_misses", n(800)),
                ],
                false,
            ),
            (
                "MYS-MEM-05",
                vec![
                    ("Table_open_cache_hits", n(0)),
                    ("Table_open_cache_misses", n(0)),
                ],
                false,
            ),
            (
                "MYS-MEM-05",
                vec![
                    ("Table_open_cache_hits", n(max)),
                    ("Table_open_cache_misses", n(max)),
                ],
                false,
            ),
            (
                "MYS-MEM-05",
                vec![
                    ("Table_open_cache_hits", n(0)),
                    ("Table_open_cache_misses", n(max)),
                ],
                true,
            ),
        ];
        for (id, status, want) in cases {
            let mut vars = cache.to_vec();
            vars.push(("slow_query_log", "ON"));
            assert_eq!(fires(id, &status, &vars), want, "{id} {status:?}");
        }
    }
}
