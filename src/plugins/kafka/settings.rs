//! `[kafka]`: the lag window of the Burrow-style rules and the collector's limits; owned by the
//! plugin, read through [`crate::config::PluginSettings`].

use serde::{Deserialize, Serialize};

use crate::config::{DAY_MS, DAY_S, PluginSettings, RangeChecks, RangeProblem};

/// Settings of the Kafka rules and collector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaSettings {
    /// Samples of (committed, high watermark) kept per partition (Burrow's `intervals`).
    pub lag_window_samples: usize,
    /// Samples a partition needs before the windowed lag rules judge it (Burrow's
    /// `minimum-complete`, as a count).
    pub lag_min_samples: usize,
    /// KFK-LAG-07: a group rebalancing longer than this.
    pub rebalance_stuck_secs: u64,
    /// Each broker request gives up after this long.
    pub request_timeout_ms: u64,
    /// Topics whose watermarks are read per sample at most (the rest are counted, not read).
    pub max_topics: usize,
    /// Consumer groups whose committed offsets are read per sample at most; with more, each
    /// sample reads the next `max_groups` in turn (a librdkafka client per group read).
    pub max_groups: usize,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings {
            lag_window_samples: 10,
            lag_min_samples: 3,
            rebalance_stuck_secs: 60,
            request_timeout_ms: 5000,
            max_topics: 500,
            max_groups: 200,
        }
    }
}

impl PluginSettings for KafkaSettings {
    const SECTION: &'static str = "kafka";

    fn range_problems(&self) -> Vec<RangeProblem> {
        let mut c = RangeChecks::default();
        let k = self;
        c.count(
            "kafka.lag_window_samples",
            k.lag_window_samples as u64,
            2,
            10_000,
        );
        c.count("kafka.lag_min_samples", k.lag_min_samples as u64, 1, 10_000);
        if k.lag_min_samples > k.lag_window_samples {
            c.push(
                "kafka.lag_min_samples",
                format!(
                    "must not exceed kafka.lag_window_samples ({}), got {}",
                    k.lag_window_samples, k.lag_min_samples
                ),
            );
        }
        c.count(
            "kafka.rebalance_stuck_secs",
            k.rebalance_stuck_secs,
            1,
            DAY_S,
        );
        c.count("kafka.request_timeout_ms", k.request_timeout_ms, 1, DAY_MS);
        c.count("kafka.max_topics", k.max_topics as u64, 1, 1_000_000);
        c.count("kafka.max_groups", k.max_groups as u64, 1, 10_000);
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
        assert_eq!(KafkaSettings::of(&parsed), KafkaSettings::default());
    }

    #[test]
    fn values_out_of_range_are_named_by_key() {
        assert_eq!(KafkaSettings::default().range_problems(), Vec::new());
        let s = KafkaSettings {
            lag_window_samples: 0,
            max_groups: 0,
            ..KafkaSettings::default()
        };
        let keys: Vec<String> = s.range_problems().into_iter().map(|(k, _)| k).collect();
        for expected in ["kafka.lag_window_samples", "kafka.max_groups"] {
            assert!(
                keys.contains(&expected.to_string()),
                "{expected} not in {keys:?}"
            );
        }
    }
}
