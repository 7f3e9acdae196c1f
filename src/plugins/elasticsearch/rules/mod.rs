//! The Elasticsearch/OpenSearch rules of catalog §5.2: pure functions of the current sample and
//! the previous one (for counters such as rejections, GC time and breaker trips).

mod disk;
mod health;
mod resources;
mod security;

pub use disk::{Watermarks, effective_used_pct, nodes_past_high};

use super::sample::{EsSample, NodeStats};
use super::settings::EsSettings;
use crate::model::{Finding, sort_findings};

/// Everything a rule may read.
pub struct RuleInput<'a> {
    pub cur: &'a EsSample,
    pub prev: Option<&'a EsSample>,
    /// The `[elasticsearch]` thresholds.
    pub th: &'a EsSettings,
}

impl RuleInput<'_> {
    /// The same node in the previous sample, unless it restarted meanwhile.
    pub fn prev_node(&self, node: &NodeStats) -> Option<&NodeStats> {
        self.prev?
            .nodes
            .iter()
            .find(|p| p.id == node.id && p.uptime_millis <= node.uptime_millis)
    }

    /// Seconds between the samples.
    pub fn dt(&self) -> Option<f64> {
        let dt = self.cur.at - self.prev?.at;
        (dt > 0.0).then_some(dt)
    }
}

/// Every rule id this plugin implements, in catalog order.
pub const RULE_IDS: &[&str] = &[
    "ES-H-01",
    "ES-H-02",
    "ES-H-03",
    "ES-H-04",
    "ES-H-05",
    "ES-H-06",
    "ES-H-07",
    "ES-D-01",
    "ES-D-02",
    "ES-D-03",
    "ES-D-04",
    "ES-J-01",
    "ES-J-02",
    "ES-J-04",
    "ES-T-01",
    "ES-N-01",
    "ES-N-02",
    "ES-N-03",
    "ES-S-01",
    "ES-S-02",
    "ES-S-03",
    "ES-SEC-01",
];

/// Runs every rule; most severe first.
pub fn evaluate(input: &RuleInput<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    health::check(input, &mut out);
    disk::check(input, &mut out);
    resources::check(input, &mut out);
    security::check(input, &mut out);
    sort_findings(&mut out);
    out
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use serde_json::json;

    /// A green single-node cluster sample.
    pub fn sample() -> EsSample {
        EsSample {
            at: 1_700_000_000.0,
            version: "8.15.3".into(),
            distribution: "elasticsearch".into(),
            cluster_name: "c".into(),
            cluster_uuid: "u".into(),
            health: json!({"status": "green", "number_of_nodes": 1, "number_of_data_nodes": 1,
                "unassigned_shards": 0, "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0,
                "task_max_waiting_in_queue_millis": 0}),
            nodes: vec![NodeStats {
                id: "n1".into(),
                name: "node-1".into(),
                heap_used_pct: Some(40.0),
                old_pool_pct: Some(30.0),
                disk_total: 100 << 30,
                disk_available: 60 << 30,
                cpu_pct: Some(10.0),
                open_fds: Some(300),
                max_fds: Some(65535),
                uptime_millis: 1000,
                ..NodeStats::default()
            }],
            master_eligible: Some(1),
            data_nodes: Some(1),
            anonymous_access: Some(false),
            ..EsSample::default()
        }
    }

    /// Fired ids with severity tags.
    pub fn fired(cur: &EsSample, prev: Option<&EsSample>) -> Vec<(String, &'static str)> {
        evaluate(&RuleInput {
            cur,
            prev,
            th: &EsSettings::default(),
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
