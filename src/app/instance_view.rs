//! What the UI knows about one instance: health, facts, metric history, findings, logs.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::chat_render::ChatRenderCache;
use crate::config::InstanceConfig;
use crate::diagnose::{Finding, Severity};
use crate::model::FindingSource;
use crate::model::{LogFilter, LogLevel, LogRingBuffer, MetricSeries};
use crate::plugins::{InstanceFacts, InstanceSnapshot};
use crate::services::Health;

/// A finding with the time it was first seen, for "newest first" within a severity.
#[derive(Debug, Clone)]
pub struct FindingView {
    pub finding: Finding,
    pub first_seen: DateTime<Utc>,
}

/// The badge of an instance in the inventory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Badge {
    Connecting,
    Ok,
    Warning,
    Critical,
    Down,
}

impl Badge {
    /// How bad, for sorting worst first: critical, down, warning, connecting, ok.
    pub fn rank(self) -> u8 {
        match self {
            Badge::Ok => 0,
            Badge::Connecting => 1,
            Badge::Warning => 2,
            Badge::Down => 3,
            Badge::Critical => 4,
        }
    }
}

/// Snapshots in a row without a series after which it is dropped.
const STALE_SERIES_SNAPSHOTS: u32 = 3;

/// One instance as the UI holds it.
#[derive(Debug)]
pub struct InstanceView {
    pub config: InstanceConfig,
    pub endpoint: String,
    pub health: Health,
    pub facts: InstanceFacts,
    /// Metric histories in the order the collector reports them.
    pub metrics: Vec<MetricSeries>,
    metric_index: HashMap<String, usize>,
    /// Per series (same order as `metrics`): snapshots in a row that did not report it.
    metric_missed: Vec<u32>,
    /// Current findings, worst first, newest first within a severity.
    pub findings: Vec<FindingView>,
    pub logs: LogRingBuffer,
    /// The conversation about this instance.
    pub chat: Vec<super::chat::ChatMessage>,
    /// The chat pane's rendered rows of `chat` (filled while drawing, which borrows the state
    /// immutably — hence the cell).
    pub chat_render: RefCell<ChatRenderCache>,
    /// `None`: the chat follows its newest row; otherwise the row shown at the top.
    pub chat_scroll: Option<usize>,
    pub last_update: Option<DateTime<Utc>>,
    /// Set for an instance discovered in a Kubernetes cluster.
    pub kube: Option<super::cluster::KubeBinding>,
    kube_findings: Vec<crate::diagnose::Finding>,
    source: Arc<str>,
    history: usize,
}

impl InstanceView {
    /// An instance not yet sampled.
    pub fn new(config: InstanceConfig, endpoint: String, history: usize, log_lines: usize) -> Self {
        InstanceView {
            source: Arc::from(config.name.as_str()),
            config,
            endpoint,
            health: Health::Connecting,
            facts: InstanceFacts::default(),
            metrics: Vec::new(),
            metric_index: HashMap::new(),
            metric_missed: Vec::new(),
            findings: Vec::new(),
            logs: LogRingBuffer::new(log_lines),
            chat: Vec::new(),
            chat_render: RefCell::default(),
            chat_scroll: None,
            last_update: None,
            kube: None,
            kube_findings: Vec::new(),
            history,
        }
    }

    /// Folds a snapshot in: metric history grows, findings are replaced (keeping first-seen
    /// times of those still present), new log lines are appended.
    pub fn apply_snapshot(&mut self, snap: InstanceSnapshot) {
        self.health = Health::Up;
        self.facts = snap.facts;
        for missed in &mut self.metric_missed {
            *missed += 1;
        }
        for m in snap.metrics {
            let idx = match self.metric_index.get(m.id.as_ref()) {
                Some(&i) => i,
                None => {
                    self.metrics
                        .push(MetricSeries::new(m.label, m.unit, self.history));
                    self.metric_missed.push(0);
                    self.metric_index
                        .insert(m.id.into_owned(), self.metrics.len() - 1);
                    self.metrics.len() - 1
                }
            };
            self.metrics[idx].push(m.value);
            self.metric_missed[idx] = 0;
        }
        self.drop_stale_series();
        let now = snap.collected_at;
        self.rebuild_findings(Some(snap.findings), now);
        for line in snap.logs {
            let source: Arc<str> = Arc::from(format!("{}/{}", self.source, line.stream));
            self.logs.push(line.at, source, line.level, line.text);
        }
        self.last_update = Some(now);
    }

    /// Drops the series no longer reported (a consumer group deleted, a pod gone): series
    /// keyed by names from the monitored system must not accumulate for the session.
    fn drop_stale_series(&mut self) {
        if !self
            .metric_missed
            .iter()
            .any(|m| *m >= STALE_SERIES_SNAPSHOTS)
        {
            return;
        }
        let mut id_at: Vec<(String, usize)> = self.metric_index.drain().collect();
        id_at.sort_by_key(|(_, at)| *at);
        let series = std::mem::take(&mut self.metrics);
        let missed = std::mem::take(&mut self.metric_missed);
        for ((id, _), (series, missed)) in id_at.into_iter().zip(series.into_iter().zip(missed)) {
            if missed < STALE_SERIES_SNAPSHOTS {
                self.metric_index.insert(id, self.metrics.len());
                self.metrics.push(series);
                self.metric_missed.push(missed);
            }
        }
    }

    /// Findings = the plugin's (new ones, or those held when `None`) and Kubernetes' (pods and
    /// events of a discovered instance), keeping first-seen times of those still present.
    fn rebuild_findings(
        &mut self,
        plugin: Option<Vec<crate::diagnose::Finding>>,
        now: DateTime<Utc>,
    ) {
        let plugin = plugin.unwrap_or_else(|| {
            self.findings
                .iter()
                .filter(|f| f.finding.source.is_instance())
                .map(|f| f.finding.clone())
                .collect()
        });
        let mut findings: Vec<FindingView> = plugin
            .into_iter()
            .chain(self.kube_findings.iter().cloned())
            .map(|f| {
                let first_seen = self
                    .findings
                    .iter()
                    .find(|old| old.finding.id == f.id)
                    .map_or(now, |old| old.first_seen);
                FindingView {
                    finding: f,
                    first_seen,
                }
            })
            .collect();
        // Worst first, so a critical finding is never below a fresh warning; newest first
        // within a severity.
        findings.sort_by(|a, b| {
            b.finding
                .severity
                .cmp(&a.finding.severity)
                .then(b.first_seen.cmp(&a.first_seen))
                .then(a.finding.id.cmp(&b.finding.id))
        });
        self.findings = findings;
    }

    /// The server turned the collector away: its refusal is the one plugin finding now (the
    /// next snapshot replaces it once the server takes clients again).
    pub fn apply_refusal(&mut self, finding: crate::diagnose::Finding) {
        self.rebuild_findings(Some(vec![finding]), Utc::now());
    }

    /// Replaces the Kubernetes findings (pod rules and Warning events).
    pub fn set_kube_findings(&mut self, findings: Vec<crate::diagnose::Finding>) {
        if findings == self.kube_findings {
            return;
        }
        self.kube_findings = findings;
        self.rebuild_findings(None, Utc::now());
    }

    /// Scrolls the chat by `delta` rows; reaching the end follows new rows again.
    pub fn scroll_chat(&mut self, delta: isize) {
        let (top, total, height) = self.chat_render.borrow().viewport();
        let max_top = total.saturating_sub(height);
        let new = if delta < 0 {
            top.saturating_sub(delta.unsigned_abs())
        } else {
            top.saturating_add(delta as usize)
        }
        .min(max_top);
        self.chat_scroll = (new < max_top).then_some(new);
    }

    /// Records a health change; an error also lands in the logs pane.
    pub fn apply_health(&mut self, health: Health) {
        let message = match &health {
            Health::Down {
                error,
                retry_in_secs,
            } => Some(format!("down: {error} (retry in {retry_in_secs:.0}s)")),
            Health::AuthFailed { error } => Some(format!(
                "{error} — not retrying; fix the credentials and press R"
            )),
            Health::Misconfigured { error } => Some(format!("{error} — not retrying")),
            _ => None,
        };
        if let Some(text) = message
            && self.health != health
        {
            self.logs
                .push(Utc::now(), self.source.clone(), LogLevel::Error, text);
        }
        self.health = health;
    }

    /// The inventory badge.
    pub fn badge(&self) -> Badge {
        match self.health {
            // Not connected (yet): what Kubernetes says of its pods and events, if anything.
            Health::Connecting => match self
                .findings
                .iter()
                .filter(|f| f.finding.source == FindingSource::Kubernetes)
                .map(|f| f.finding.severity)
                .max()
            {
                Some(Severity::Critical) => Badge::Critical,
                Some(Severity::Warning) => Badge::Warning,
                _ => Badge::Connecting,
            },
            Health::Down { .. } | Health::AuthFailed { .. } | Health::Misconfigured { .. } => {
                Badge::Down
            }
            Health::Up => match self.findings.iter().map(|f| f.finding.severity).max() {
                Some(Severity::Critical) => Badge::Critical,
                Some(Severity::Warning) => Badge::Warning,
                _ => Badge::Ok,
            },
        }
    }

    /// Applies the global log filter to this instance's buffer.
    pub fn set_log_filter(&mut self, filter: Option<LogFilter>) {
        self.logs.set_filter(filter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::InstanceKind;
    use crate::model::Unit;
    use crate::plugins::{CollectedLog, MetricSample};

    fn view() -> InstanceView {
        let cfg = InstanceConfig::new("r1", InstanceKind::REDIS, "redis://127.0.0.1:1");
        InstanceView::new(cfg, "redis://127.0.0.1:1".into(), 3, 100)
    }

    fn snap(at: i64, ids: &[(&str, Severity)]) -> InstanceSnapshot {
        InstanceSnapshot {
            collected_at: DateTime::from_timestamp(at, 0).unwrap(),
            facts: InstanceFacts::default(),
            metrics: vec![MetricSample {
                id: "ops".into(),
                label: "ops/s".into(),
                unit: Unit::PerSecond,
                value: at as f64,
            }],
            logs: vec![CollectedLog {
                at: Utc::now(),
                level: LogLevel::Info,
                stream: "slowlog",
                text: format!("line {at}"),
            }],
            findings: ids
                .iter()
                .map(|(id, s)| Finding::new(id, *s, "c", "t", "d", "r"))
                .collect(),
            has_baseline: true,
        }
    }

    #[test]
    fn series_no_longer_reported_are_dropped() {
        let mut v = view();
        let sample = |id: &str, value: f64| MetricSample {
            id: id.to_string().into(),
            label: id.to_string().into(),
            unit: Unit::Count,
            value,
        };
        let mut with = |ids: &[&str]| {
            let mut s = snap(1, &[]);
            s.metrics = ids.iter().map(|id| sample(id, 1.0)).collect();
            v.apply_snapshot(s);
        };
        for _ in 0..2 {
            with(&["total_lag", "lag:a", "lag:b", "lag:c"]);
        }
        for _ in 0..3 {
            with(&["total_lag", "lag:c"]); // groups a and b were deleted
        }
        with(&["total_lag", "lag:c", "lag:d"]);
        let labels: Vec<&str> = v.metrics.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(labels, ["total_lag", "lag:c", "lag:d"]);
        assert_eq!(v.metrics[1].len(), 3, "lag:c kept its history");
        assert_eq!(v.metric_index["lag:d"], 2);
    }

    #[test]
    fn findings_are_worst_first_then_newest_and_keep_their_first_seen_time() {
        let mut v = view();
        v.apply_snapshot(snap(100, &[("A", Severity::Warning)]));
        v.apply_snapshot(snap(
            200,
            &[
                ("A", Severity::Warning),
                ("B", Severity::Info),
                ("C", Severity::Warning),
            ],
        ));
        let ids: Vec<_> = v.findings.iter().map(|f| f.finding.id.as_str()).collect();
        // The older warning stays above the newer info; the newer warning comes first.
        assert_eq!(ids, ["C", "A", "B"]);
        assert_eq!(v.findings[1].first_seen.timestamp(), 100);
        assert_eq!(v.badge(), Badge::Warning);
        v.apply_snapshot(snap(300, &[]));
        assert!(v.findings.is_empty(), "resolved findings disappear");
        assert_eq!(v.badge(), Badge::Ok);
    }

    #[test]
    fn metric_history_is_bounded_and_logs_accumulate() {
        let mut v = view();
        for t in 1..=5 {
            v.apply_snapshot(snap(t, &[]));
        }
        assert_eq!(v.metrics[0].len(), 3);
        assert_eq!(v.metrics[0].latest(), Some(5.0));
        assert_eq!(v.logs.len(), 5);
    }

    #[test]
    fn health_errors_are_logged_once_and_badge_down() {
        let mut v = view();
        let down = Health::Down {
            error: "cannot reach".into(),
            retry_in_secs: 2.0,
        };
        v.apply_health(down.clone());
        v.apply_health(down);
        assert_eq!(v.logs.len(), 1);
        assert_eq!(v.badge(), Badge::Down);
    }
}
