//! `[mysql]`: the thresholds of the MYS-… rules that the catalog marks `heur:` (site-specific),
//! and the limits of the collector's own queries; owned by the plugin, read through
//! [`crate::config::PluginSettings`].

use serde::{Deserialize, Serialize};

use crate::config::{DAY_MS, PluginSettings, RangeChecks, RangeProblem, YEAR_S};

/// Thresholds and collection limits for MySQL/MariaDB instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MysqlSettings {
    /// MYS-CONN-02: `Threads_connected / max_connections` at or above this is critical.
    pub connections_crit_ratio: f64,
    /// MYS-LOAD-01: `Threads_running` above this (pt-stalk's 25) …
    pub threads_running: u64,
    /// … in this many consecutive samples (pt-stalk's 5).
    pub threads_running_samples: usize,
    /// MYS-LAT-01: a statement running longer is a warning …
    pub long_query_warn_secs: u64,
    /// … and longer than this critical.
    pub long_query_crit_secs: u64,
    /// MYS-LAT-02: an idle session holding a transaction longer than this.
    pub idle_in_trx_secs: u64,
    /// MYS-LAT-03: a row-lock wait older than this.
    pub lock_wait_secs: u64,
    /// MYS-LAT-06: deadlocks per minute above this.
    pub deadlocks_per_min: f64,
    /// MYS-REP-02: replica lag above this is a warning.
    pub replica_lag_warn_secs: u64,
    /// Each collection query is stopped by the server after this long.
    pub statement_timeout_ms: u64,
    /// Rows read from the processlist at most (the rest are counted, not read).
    pub processlist_max_rows: usize,
}

impl Default for MysqlSettings {
    fn default() -> Self {
        MysqlSettings {
            connections_crit_ratio: 0.9,
            threads_running: 25,
            threads_running_samples: 5,
            long_query_warn_secs: 60,
            long_query_crit_secs: 600,
            idle_in_trx_secs: 60,
            lock_wait_secs: 10,
            deadlocks_per_min: 0.0,
            replica_lag_warn_secs: 60,
            statement_timeout_ms: 5000,
            processlist_max_rows: 2000,
        }
    }
}

impl PluginSettings for MysqlSettings {
    const SECTION: &'static str = "mysql";

    fn range_problems(&self) -> Vec<RangeProblem> {
        let mut c = RangeChecks::default();
        let m = self;
        c.ratio("mysql.connections_crit_ratio", m.connections_crit_ratio);
        c.count("mysql.threads_running", m.threads_running, 1, 1_000_000);
        c.count(
            "mysql.threads_running_samples",
            m.threads_running_samples as u64,
            1,
            10_000,
        );
        c.count(
            "mysql.long_query_warn_secs",
            m.long_query_warn_secs,
            1,
            YEAR_S,
        );
        c.count(
            "mysql.long_query_crit_secs",
            m.long_query_crit_secs,
            1,
            YEAR_S,
        );
        c.count("mysql.idle_in_trx_secs", m.idle_in_trx_secs, 1, YEAR_S);
        c.count("mysql.lock_wait_secs", m.lock_wait_secs, 1, YEAR_S);
        c.float(
            "mysql.deadlocks_per_min",
            m.deadlocks_per_min,
            0.0,
            1e9,
            "a rate",
        );
        c.count(
            "mysql.replica_lag_warn_secs",
            m.replica_lag_warn_secs,
            1,
            YEAR_S,
        );
        c.count(
            "mysql.statement_timeout_ms",
            m.statement_timeout_ms,
            1,
            DAY_MS,
        );
        c.count(
            "mysql.processlist_max_rows",
            m.processlist_max_rows as u64,
            1,
            1_000_000,
        );
        c.into_problems()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CONFIG_TEMPLATE, parse_config};
    use crate::plugins::registry::kind_rules;

    #[test]
    fn the_template_reads_as_the_defaults() {
        let parsed = parse_config(CONFIG_TEMPLATE, &kind_rules()).unwrap();
        assert_eq!(MysqlSettings::of(&parsed), MysqlSettings::default());
    }

    #[test]
    fn values_out_of_range_are_named_by_key() {
        assert_eq!(MysqlSettings::default().range_problems(), Vec::new());
        let s = MysqlSettings {
            deadlocks_per_min: f64::NAN,
            threads_running_samples: 0,
            ..MysqlSettings::default()
        };
        let keys: Vec<String> = s.range_problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            ["mysql.threads_running_samples", "mysql.deadlocks_per_min"]
        );
    }
}
