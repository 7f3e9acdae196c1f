//! `[kafka]`: the lag window of the Burrow-style rules and the collector's limits.

use serde::{Deserialize, Serialize};

/// Settings of the Kafka rules and collector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaRulesConfig {
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

impl Default for KafkaRulesConfig {
    fn default() -> Self {
        KafkaRulesConfig {
            lag_window_samples: 10,
            lag_min_samples: 3,
            rebalance_stuck_secs: 60,
            request_timeout_ms: 5000,
            max_topics: 500,
            max_groups: 200,
        }
    }
}
