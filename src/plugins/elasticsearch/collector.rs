//! The Elasticsearch/OpenSearch collector: one read-only client, the previous sample for
//! counters, and what the logs pane has already been told (status changes, unassigned shards).

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use futures::future::BoxFuture;

use super::connection::{EsReader, EsTarget};
use super::rules::{RuleInput, evaluate};
use super::sample::{EsSample, collect_sample};
use super::settings::EsSettings;
use crate::config::{AppConfig, InstanceConfig, PluginSettings};
use crate::model::{LogLevel, Unit};
use crate::plugins::{
    CollectedLog, Collector, InstanceFacts, InstanceSnapshot, MetricSample, PluginError,
};

/// Collects one cluster.
pub struct EsCollector {
    target: EsTarget,
    reader: Option<EsReader>,
    prev: Option<EsSample>,
    timeout: Duration,
    /// Unassigned shards already reported, `index[shard] p|r`.
    reported: HashSet<String>,
    /// The `[elasticsearch]` thresholds, read once.
    settings: EsSettings,
}

impl EsCollector {
    /// A collector for a configured instance (connects on first use).
    pub fn new(instance: &InstanceConfig, config: &AppConfig) -> Result<Self, PluginError> {
        Ok(EsCollector {
            target: EsTarget::from_instance(instance)?,
            reader: None,
            prev: None,
            timeout: Duration::from_millis(config.collector.command_timeout_ms),
            reported: HashSet::new(),
            settings: EsSettings::of(config),
        })
    }

    async fn collect_once(&mut self) -> Result<InstanceSnapshot, PluginError> {
        if self.reader.is_none() {
            self.reader = Some(self.target.reader(self.timeout)?);
        }
        let Some(reader) = self.reader.as_ref() else {
            return Err(PluginError::Config("no client".into()));
        };
        let sample = collect_sample(reader).await?;
        let findings = evaluate(&RuleInput {
            cur: &sample,
            prev: self.prev.as_ref(),
            th: &self.settings,
        });
        let metrics = metrics_of(&sample, self.prev.as_ref());
        let logs = self.new_lines(&sample);
        let snapshot = InstanceSnapshot {
            collected_at: Utc::now(),
            facts: facts_of(&sample),
            metrics,
            logs,
            findings,
            has_baseline: self.prev.is_some(),
        };
        self.prev = Some(sample);
        Ok(snapshot)
    }

    fn new_lines(&mut self, s: &EsSample) -> Vec<CollectedLog> {
        let now = Utc::now();
        let mut out = Vec::new();
        let before = self.prev.as_ref().map(|p| p.status().to_string());
        if before.as_deref() != Some(s.status()) {
            out.push(CollectedLog {
                at: now,
                level: match s.status() {
                    "red" => LogLevel::Error,
                    "yellow" => LogLevel::Warn,
                    _ => LogLevel::Info,
                },
                stream: "health",
                text: match before {
                    Some(b) => format!("cluster {} {b} → {}", s.cluster_name, s.status()),
                    None => format!(
                        "cluster {} is {} ({} nodes, {} unassigned shards)",
                        s.cluster_name,
                        s.status(),
                        s.health_u64("number_of_nodes"),
                        s.health_u64("unassigned_shards")
                    ),
                },
            });
        }
        let mut now_unassigned = HashSet::new();
        for e in &s.explanations {
            let key = format!(
                "{}[{}] {}",
                e.index,
                e.shard,
                if e.primary { "p" } else { "r" }
            );
            now_unassigned.insert(key.clone());
            if self.reported.insert(key.clone()) {
                let deciders: Vec<String> = e
                    .no_deciders
                    .iter()
                    .map(|(d, x)| format!("{d}: {x}"))
                    .collect();
                out.push(CollectedLog {
                    at: now,
                    level: if e.primary {
                        LogLevel::Error
                    } else {
                        LogLevel::Warn
                    },
                    stream: "allocation",
                    text: format!(
                        "{key} unassigned ({}): {} {}",
                        e.reason,
                        e.can_allocate,
                        deciders.join("; ")
                    ),
                });
            }
        }
        self.reported.retain(|k| now_unassigned.contains(k));
        let before = self.prev.as_ref().map_or(&[][..], |p| &p.unavailable[..]);
        out.extend(crate::plugins::unavailable_changes(
            before,
            &s.unavailable,
            now,
        ));
        out
    }
}

impl Collector for EsCollector {
    fn collect(&mut self) -> BoxFuture<'_, Result<InstanceSnapshot, PluginError>> {
        Box::pin(self.collect_once())
    }

    fn endpoint(&self) -> &str {
        &self.target.endpoint
    }

    fn reset(&mut self) {
        self.reader = None;
    }
}

fn facts_of(s: &EsSample) -> InstanceFacts {
    InstanceFacts {
        version: Some(format!("{} {}", s.distribution, s.version)),
        role: Some(format!(
            "cluster {} ({} nodes)",
            s.cluster_name,
            s.health_u64("number_of_nodes")
        )),
        uptime_secs: s.nodes.iter().map(|n| n.uptime_millis / 1000).max(),
        identity: (!s.cluster_uuid.is_empty()).then(|| s.cluster_uuid.clone()),
        extra: vec![
            ("distribution".into(), s.distribution.clone()),
            ("status".into(), s.status().to_string()),
            ("cluster_uuid".into(), s.cluster_uuid.clone()),
        ],
        // Explicit cluster settings and the disk watermarks in force (the defaults are long).
        settings: {
            let mut v: Vec<(String, String)> = s
                .settings
                .iter()
                .filter(|(k, _)| {
                    s.explicit_settings.contains(k)
                        || k.contains("disk.watermark")
                        || k.ends_with("allocation.enable")
                })
                .filter(|(k, _)| !k.contains("secure") && !k.contains("password"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            v.sort();
            v
        },
    }
}

fn metrics_of(s: &EsSample, prev: Option<&EsSample>) -> Vec<MetricSample> {
    let mut m = Vec::new();
    let mut push = |id, label, unit, value: Option<f64>| {
        if let Some(value) = value {
            m.push(MetricSample::new(id, label, unit, value));
        }
    };
    let status = match s.status() {
        "green" => 0.0,
        "yellow" => 1.0,
        "red" => 2.0,
        _ => 3.0,
    };
    push(
        "status",
        "status (0 green, 1 yellow, 2 red)",
        Unit::Count,
        Some(status),
    );
    push(
        "unassigned",
        "unassigned shards",
        Unit::Count,
        Some(s.health_u64("unassigned_shards") as f64),
    );
    push(
        "active_pct",
        "active shards",
        Unit::Percent,
        s.health
            .get("active_shards_percent_as_number")
            .and_then(|v| v.as_f64()),
    );
    push(
        "pending_tasks",
        "pending tasks",
        Unit::Count,
        Some(s.health_u64("number_of_pending_tasks") as f64),
    );
    push(
        "heap_max",
        "heap (max node)",
        Unit::Percent,
        s.nodes
            .iter()
            .filter_map(|n| n.heap_used_pct)
            .reduce(f64::max),
    );
    push(
        "disk_max",
        "disk (max node)",
        Unit::Percent,
        s.nodes
            .iter()
            .filter(|n| n.disk_total > 0)
            .map(|n| {
                n.disk_total.saturating_sub(n.disk_available) as f64 / n.disk_total as f64 * 100.0
            })
            .reduce(f64::max),
    );
    let rejected = |x: &EsSample| -> u64 {
        x.nodes
            .iter()
            .flat_map(|n| &n.thread_pools)
            .fold(0u64, |sum, (_, r, _, _)| sum.saturating_add(*r))
    };
    let rate = prev
        .filter(|p| s.at > p.at)
        .map(|p| rejected(s).saturating_sub(rejected(p)) as f64 / (s.at - p.at));
    push("rejected", "rejections/s", Unit::PerSecond, rate);
    push(
        "nodes",
        "nodes",
        Unit::Count,
        Some(s.health_u64("number_of_nodes") as f64),
    );
    m
}
