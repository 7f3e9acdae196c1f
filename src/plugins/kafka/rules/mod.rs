//! The Kafka rules of catalog §4.2: availability and replication from metadata alone (the
//! definitions of `kafka-topics.sh --describe`), configuration from DescribeConfigs where the
//! broker answers it, and consumer lag over a window of samples (Burrow).

mod cluster;
mod lag;

use std::collections::HashMap;

use super::lag::LagWindow;
use super::sample::KafkaSample;
use crate::model::{Finding, sort_findings};
use crate::plugins::kafka::settings::KafkaSettings;

/// Everything a rule may read.
pub struct RuleInput<'a> {
    pub cur: &'a KafkaSample,
    pub prev: Option<&'a KafkaSample>,
    /// group → (topic, partition) → window.
    pub windows: &'a HashMap<String, HashMap<(String, i32), LagWindow>>,
    /// The most brokers seen since the collector started (KFK-CTL-02).
    pub max_brokers_seen: usize,
    /// group → seconds it has been rebalancing (KFK-LAG-07).
    pub rebalancing_secs: &'a HashMap<String, f64>,
    pub th: &'a KafkaSettings,
}

/// Every rule id this plugin implements, in catalog order.
pub const RULE_IDS: &[&str] = &[
    "KFK-AV-01",
    "KFK-AV-02",
    "KFK-REP-01",
    "KFK-REP-02",
    "KFK-REP-04",
    "KFK-REP-05",
    "KFK-CTL-01",
    "KFK-CTL-02",
    "KFK-CFG-01",
    "KFK-CFG-02",
    "KFK-CFG-03",
    "KFK-CFG-04",
    "KFK-LAG-01",
    "KFK-LAG-02",
    "KFK-LAG-03",
    "KFK-LAG-04",
    "KFK-LAG-05",
    "KFK-LAG-06",
    "KFK-LAG-07",
];

/// Runs every rule; most severe first.
pub fn evaluate(input: &RuleInput<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    cluster::check(input, &mut out);
    lag::check(input, &mut out);
    sort_findings(&mut out);
    out
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::plugins::kafka::connection::{ClusterMeta, PartitionMeta, TopicMeta};

    /// A 3-broker cluster with one healthy topic of `partitions` partitions, RF 3.
    pub fn sample(partitions: i32) -> KafkaSample {
        KafkaSample {
            at: 1_700_000_000.0,
            meta: ClusterMeta {
                brokers: (1..=3).map(|i| (i, format!("b{i}"), 9092)).collect(),
                topics: vec![TopicMeta {
                    name: "orders".into(),
                    partitions: (0..partitions)
                        .map(|p| PartitionMeta {
                            id: p,
                            leader: p % 3 + 1,
                            replicas: vec![p % 3 + 1, (p + 1) % 3 + 1, (p + 2) % 3 + 1],
                            isr: vec![p % 3 + 1, (p + 1) % 3 + 1, (p + 2) % 3 + 1],
                            error: None,
                        })
                        .collect(),
                }],
                cluster_id: Some("abc".into()),
                controller: Some(1),
            },
            ..KafkaSample::default()
        }
    }

    /// Fired ids with tags.
    pub fn fired(s: &KafkaSample) -> Vec<(String, &'static str)> {
        let windows = HashMap::new();
        let reb = HashMap::new();
        let th = KafkaSettings::default();
        evaluate(&RuleInput {
            cur: s,
            prev: None,
            windows: &windows,
            max_brokers_seen: s.meta.brokers.len(),
            rebalancing_secs: &reb,
            th: &th,
        })
        .into_iter()
        .map(|f| (f.id, f.severity.tag()))
        .collect()
    }

    /// Whether `id` fired with `tag`.
    pub fn has(f: &[(String, &str)], id: &str, tag: &str) -> bool {
        f.iter().any(|(i, t)| i == id && *t == tag)
    }
}
