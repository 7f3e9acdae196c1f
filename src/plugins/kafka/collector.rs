//! The Kafka collector: one read-only client, the lag windows of every (group, partition), the
//! previous sample for rates, the most brokers seen, and when each group started rebalancing.

use std::collections::HashMap;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::future::BoxFuture;

use super::connection::{Answer, Configs, KafkaReader, KafkaTarget};
use super::keys::KafkaKeys;
use super::lag::{LagPoint, LagWindow};
use super::rules::{RuleInput, evaluate};
use super::sample::{GroupWindow, KafkaSample, collect_sample, is_internal};
use super::settings::KafkaSettings;
use crate::config::{AppConfig, InstanceConfig, InstanceKeys, PluginSettings};
use crate::model::{LogLevel, Unit};
use crate::plugins::{
    CollectedLog, Collector, InstanceFacts, InstanceSnapshot, MetricSample, PluginError,
};

/// Collects one cluster.
pub struct KafkaCollector {
    target: KafkaTarget,
    reader: Option<Arc<KafkaReader>>,
    prev: Option<KafkaSample>,
    windows: HashMap<String, HashMap<(String, i32), LagWindow>>,
    max_brokers_seen: usize,
    rebalancing_since: HashMap<String, f64>,
    watch: Vec<String>,
    th: KafkaSettings,
    /// Group statuses last written to the logs pane.
    logged_status: HashMap<String, String>,
    /// The last configs answer and when it was read (configs are re-read every minute, an
    /// unanswered DescribeConfigs every ten).
    configs: Option<(f64, Answer<Configs>)>,
    /// Where the next sample's group rotation starts (when there are more than `max_groups`).
    group_cursor: usize,
    /// Unread groups last written to the logs pane.
    logged_unread: usize,
}

/// Seconds between DescribeConfigs requests.
const CONFIGS_EVERY_SECS: f64 = 60.0;
const UNANSWERED_CONFIGS_EVERY_SECS: f64 = 600.0;

impl KafkaCollector {
    /// A collector for a configured instance (connects on first use).
    pub fn new(instance: &InstanceConfig, config: &AppConfig) -> Result<Self, PluginError> {
        let th = KafkaSettings::of(config);
        Ok(KafkaCollector {
            target: KafkaTarget::from_instance(
                instance,
                Duration::from_millis(th.request_timeout_ms),
            )?,
            reader: None,
            prev: None,
            windows: HashMap::new(),
            max_brokers_seen: 0,
            rebalancing_since: HashMap::new(),
            watch: KafkaKeys::of(instance).groups,
            th,
            logged_status: HashMap::new(),
            configs: None,
            group_cursor: 0,
            logged_unread: 0,
        })
    }

    async fn collect_once(&mut self) -> Result<InstanceSnapshot, PluginError> {
        if self.reader.is_none() {
            self.reader = Some(Arc::new(self.target.reader()?));
        }
        let Some(reader) = self.reader.clone() else {
            return Err(PluginError::Config("no client".into()));
        };
        let now = Utc::now().timestamp_millis() as f64 / 1000.0;
        let due = match &self.configs {
            None => true,
            Some((at, Answer::Yes(_))) => now - at >= CONFIGS_EVERY_SECS,
            Some((at, Answer::Unsupported(_))) => now - at >= UNANSWERED_CONFIGS_EVERY_SECS,
        };
        let window = GroupWindow {
            max: self.th.max_groups,
            start: self.group_cursor,
        };
        let mut sample =
            collect_sample(reader, self.watch.clone(), self.th.max_topics, window, due).await?;
        self.group_cursor = if sample.groups_unread > 0 {
            self.group_cursor.wrapping_add(self.th.max_groups)
        } else {
            0
        };
        match (&sample.configs, &self.configs) {
            (Some(answer), _) => self.configs = Some((now, answer.clone())),
            (None, Some((_, last))) => sample.configs = Some(last.clone()),
            (None, None) => {}
        }
        self.fold_windows(&sample);
        self.max_brokers_seen = self.max_brokers_seen.max(sample.meta.brokers.len());
        let rebalancing: HashMap<String, f64> = self
            .rebalancing_since
            .iter()
            .map(|(g, since)| (g.clone(), sample.at - since))
            .collect();
        let findings = evaluate(&RuleInput {
            cur: &sample,
            prev: self.prev.as_ref(),
            windows: &self.windows,
            max_brokers_seen: self.max_brokers_seen,
            rebalancing_secs: &rebalancing,
            th: &self.th,
        });
        let metrics = self.metrics_of(&sample);
        let logs = self.new_lines(&sample, &findings);
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

    /// Adds this sample's (committed, high watermark) to each group's partition windows.
    fn fold_windows(&mut self, s: &KafkaSample) {
        let capacity = self.th.lag_window_samples;
        for (group, offsets) in &s.committed {
            let windows = self.windows.entry(group.clone()).or_default();
            for (tp, committed) in offsets {
                if let Some((_, high)) = s.watermarks.get(tp) {
                    windows
                        .entry(tp.clone())
                        .or_insert_with(|| LagWindow::new(capacity))
                        .push(LagPoint {
                            at: s.at,
                            committed: *committed,
                            high: *high,
                        });
                }
            }
        }
        // Groups that vanished (deleted) leave the windows; groups merely not read this sample
        // (the `max_groups` rotation) keep theirs.
        self.windows
            .retain(|g, _| s.committed.contains_key(g) || s.group_names.contains(g));
        if let Some(Answer::Yes(groups)) = &s.groups {
            // A group that is gone stops rebalancing too.
            self.rebalancing_since
                .retain(|g, _| groups.iter().any(|x| &x.name == g));
            for g in groups {
                if g.state.contains("Rebalance") {
                    self.rebalancing_since.entry(g.name.clone()).or_insert(s.at);
                } else {
                    self.rebalancing_since.remove(&g.name);
                }
            }
        }
    }

    fn metrics_of(&self, s: &KafkaSample) -> Vec<MetricSample> {
        let mut m = Vec::new();
        let user_hwm = |x: &KafkaSample| -> i64 {
            x.watermarks
                .iter()
                .filter(|((t, _), _)| !is_internal(t))
                .map(|(_, (_, h))| *h)
                .fold(0i64, i64::saturating_add)
        };
        let consumed = |x: &KafkaSample| -> i64 {
            x.committed
                .values()
                .flat_map(|o| o.values())
                .fold(0i64, |sum, v| sum.saturating_add(*v))
        };
        if let Some(p) = self.prev.as_ref().filter(|p| s.at > p.at) {
            let dt = s.at - p.at;
            m.push(MetricSample::new(
                "produce_rate",
                "produced msg/s",
                Unit::PerSecond,
                (user_hwm(s) - user_hwm(p)).max(0) as f64 / dt,
            ));
            m.push(MetricSample::new(
                "consume_rate",
                "committed msg/s",
                Unit::PerSecond,
                (consumed(s) - consumed(p)).max(0) as f64 / dt,
            ));
        }
        m.push(MetricSample::new(
            "brokers",
            "brokers",
            Unit::Count,
            s.meta.brokers.len() as f64,
        ));
        let partitions: Vec<_> = s.meta.topics.iter().flat_map(|t| &t.partitions).collect();
        m.push(MetricSample::new(
            "partitions",
            "partitions",
            Unit::Count,
            partitions.len() as f64,
        ));
        let live: Vec<i32> = s.meta.brokers.iter().map(|b| b.0).collect();
        m.push(MetricSample::new(
            "offline",
            "offline partitions",
            Unit::Count,
            partitions
                .iter()
                .filter(|p| p.leader < 0 || !live.contains(&p.leader))
                .count() as f64,
        ));
        m.push(MetricSample::new(
            "urp",
            "under-replicated",
            Unit::Count,
            partitions
                .iter()
                .filter(|p| p.isr.len() < p.replicas.len())
                .count() as f64,
        ));
        let mut groups: Vec<&String> = self.windows.keys().collect();
        groups.sort();
        let mut total = 0i64;
        for g in groups {
            let lag: i64 = self.windows[g]
                .values()
                .filter_map(|w| w.last())
                .map(LagPoint::lag)
                .fold(0i64, i64::saturating_add);
            total += lag;
            m.push(MetricSample::new(
                format!("lag:{g}"),
                format!("lag {g}"),
                Unit::Count,
                lag as f64,
            ));
        }
        m.push(MetricSample::new(
            "total_lag",
            "total lag",
            Unit::Count,
            total as f64,
        ));
        m
    }

    fn new_lines(
        &mut self,
        s: &KafkaSample,
        findings: &[crate::model::Finding],
    ) -> Vec<CollectedLog> {
        let now = Utc::now();
        let mut out = Vec::new();
        let line = |level, stream, text: String| CollectedLog {
            at: now,
            level,
            stream,
            text,
        };
        if self.prev.is_none() {
            out.push(line(
                LogLevel::Info,
                "cluster",
                format!(
                    "cluster {} — {} broker(s), {} topic(s), controller {}; connected over {}",
                    s.meta.cluster_id.as_deref().unwrap_or("(id unknown)"),
                    s.meta.brokers.len(),
                    s.meta.topics.len(),
                    s.meta
                        .controller
                        .map_or("unknown".to_string(), |c| c.to_string()),
                    self.target.security.describe()
                ),
            ));
            if let Some(Answer::Unsupported(why)) = &s.groups {
                out.push(line(
                    LogLevel::Info,
                    "collector",
                    format!(
                        "consumer groups not listed: {why}; watching the configured groups {:?}",
                        self.watch
                    ),
                ));
            }
            if let Some(Answer::Unsupported(why)) = &s.configs {
                out.push(line(
                    LogLevel::Info,
                    "collector",
                    format!("configs not read: {why}; the min-ISR and config rules are not judged"),
                ));
            }
        } else if let Some(p) = &self.prev
            && p.meta.brokers.len() != s.meta.brokers.len()
        {
            out.push(line(
                LogLevel::Warn,
                "cluster",
                format!(
                    "brokers {} → {}",
                    p.meta.brokers.len(),
                    s.meta.brokers.len()
                ),
            ));
        }
        if s.groups_unread != self.logged_unread {
            if s.groups_unread > 0 {
                out.push(line(
                    LogLevel::Warn,
                    "collector",
                    format!(
                        "groups capped: {} of {} not read this sample (kafka.max_groups = {}); they are read in turn",
                        s.groups_unread,
                        s.group_names.len(),
                        self.th.max_groups
                    ),
                ));
            }
            self.logged_unread = s.groups_unread;
        }
        let before = self.prev.as_ref().map_or(&[][..], |p| &p.unavailable[..]);
        out.extend(crate::plugins::unavailable_changes(
            before,
            &s.unavailable,
            now,
        ));
        // A group back to OK can be logged again when it next goes wrong.
        self.logged_status.retain(|g, _| {
            findings
                .iter()
                .any(|f| f.evidence.get("group").and_then(|x| x.as_str()) == Some(g.as_str()))
        });
        for f in findings.iter().filter(|f| {
            f.id.starts_with("KFK-LAG-0") && f.id != "KFK-LAG-06" && f.id != "KFK-LAG-07"
        }) {
            let group = f
                .evidence
                .get("group")
                .and_then(|g| g.as_str())
                .unwrap_or("")
                .to_string();
            let status = f
                .evidence
                .get("status")
                .and_then(|g| g.as_str())
                .unwrap_or("")
                .to_string();
            if self.logged_status.get(&group) != Some(&status) {
                out.push(line(
                    if f.severity == crate::model::Severity::Critical {
                        LogLevel::Error
                    } else {
                        LogLevel::Warn
                    },
                    "lag",
                    f.title.clone(),
                ));
                self.logged_status.insert(group, status);
            }
        }
        out
    }
}

impl Collector for KafkaCollector {
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

fn facts_of(s: &KafkaSample) -> InstanceFacts {
    InstanceFacts {
        version: None,
        role: Some(format!(
            "{} broker(s), controller {}",
            s.meta.brokers.len(),
            s.meta.controller.map_or("?".into(), |c| c.to_string())
        )),
        uptime_secs: None,
        identity: s.meta.cluster_id.clone(),
        extra: vec![
            (
                "cluster_id".into(),
                s.meta.cluster_id.clone().unwrap_or_default(),
            ),
            ("topics".into(), s.meta.topics.len().to_string()),
            (
                "groups".into(),
                match &s.groups {
                    Some(Answer::Yes(g)) => g.len().to_string(),
                    _ => format!("{} watched (listing not supported)", s.committed.len()),
                },
            ),
        ],
        // Non-sensitive broker configs of the first broker described (sensitive ones are
        // never read: DescribeConfigs returns them without a value).
        settings: match &s.configs {
            Some(Answer::Yes(c)) => {
                let mut v: Vec<(String, String)> = c
                    .iter()
                    .filter(|(k, _)| k.starts_with("broker:"))
                    .min_by_key(|(k, _)| k.as_str())
                    .map(|(_, m)| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                v.sort();
                v
            }
            _ => Vec::new(),
        },
    }
}
