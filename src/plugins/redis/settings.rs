//! `[redis]`: the thresholds of the Redis rules marked `heur:` in the catalog, owned by the
//! plugin; the configuration keeps the section by name ([`crate::config::PluginSettings`]).

use serde::{Deserialize, Serialize};

use crate::config::{DAY_MS, PluginSettings, RangeChecks, RangeProblem, YEAR_S};

/// Site-tunable thresholds of the Redis rules (defaults are the catalog's `heur:` values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisSettings {
    /// RDS-MEM-02: used/maxmemory ratio for WARN.
    pub memory_warn_ratio: f64,
    /// RDS-MEM-02: used/maxmemory ratio for CRIT.
    pub memory_crit_ratio: f64,
    /// RDS-MEM-03: rss/total_system_memory ratio without a maxmemory.
    pub unbounded_rss_ratio: f64,
    /// RDS-MEM-10: per-client output buffer in bytes.
    pub client_omem_bytes: u64,
    /// RDS-CONN-02: connected/maxclients ratio for WARN.
    pub clients_warn_ratio: f64,
    /// RDS-LAT-01: slowlog entries younger than this many seconds count.
    pub slowlog_window_secs: u64,
    /// RDS-LAT-01: duration (ms) from which a slow command is WARN.
    pub slow_warn_ms: u64,
    /// RDS-LAT-01: duration (ms) from which a slow command is CRIT.
    pub slow_crit_ms: u64,
    /// RDS-REP-02: replica lag in seconds.
    pub replica_lag_secs: u64,
    /// RDS-PER-04: seconds since the last successful save.
    pub snapshot_age_secs: u64,
}

impl Default for RedisSettings {
    fn default() -> Self {
        RedisSettings {
            memory_warn_ratio: 0.90,
            memory_crit_ratio: 0.98,
            unbounded_rss_ratio: 0.75,
            client_omem_bytes: 64 * 1024 * 1024,
            clients_warn_ratio: 0.80,
            slowlog_window_secs: 300,
            slow_warn_ms: 100,
            slow_crit_ms: 1000,
            replica_lag_secs: 10,
            snapshot_age_secs: 3600,
        }
    }
}

impl PluginSettings for RedisSettings {
    const SECTION: &'static str = "redis";

    fn range_problems(&self) -> Vec<RangeProblem> {
        let mut c = RangeChecks::default();
        let r = self;
        c.ratio("redis.memory_warn_ratio", r.memory_warn_ratio);
        c.ratio("redis.memory_crit_ratio", r.memory_crit_ratio);
        c.ratio("redis.unbounded_rss_ratio", r.unbounded_rss_ratio);
        c.ratio("redis.clients_warn_ratio", r.clients_warn_ratio);
        c.count("redis.client_omem_bytes", r.client_omem_bytes, 1, 1 << 50);
        c.count(
            "redis.slowlog_window_secs",
            r.slowlog_window_secs,
            1,
            YEAR_S,
        );
        c.count("redis.slow_warn_ms", r.slow_warn_ms, 1, DAY_MS);
        c.count("redis.slow_crit_ms", r.slow_crit_ms, 1, DAY_MS);
        c.count("redis.replica_lag_secs", r.replica_lag_secs, 1, YEAR_S);
        c.count("redis.snapshot_age_secs", r.snapshot_age_secs, 1, YEAR_S);
        if !(0.0 < r.memory_warn_ratio && r.memory_warn_ratio <= r.memory_crit_ratio) {
            c.push(
                "redis.memory_warn_ratio",
                "must be > 0 and not above redis.memory_crit_ratio".to_string(),
            );
        }
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
        assert_eq!(RedisSettings::of(&parsed), RedisSettings::default());
    }

    #[test]
    fn values_out_of_range_are_named_by_key() {
        assert_eq!(RedisSettings::default().range_problems(), Vec::new());
        let s = RedisSettings {
            memory_warn_ratio: -1.0,
            ..RedisSettings::default()
        };
        let keys: Vec<String> = s.range_problems().into_iter().map(|(k, _)| k).collect();
        assert!(
            keys.contains(&"redis.memory_warn_ratio".to_string()),
            "{keys:?}"
        );
    }
}
