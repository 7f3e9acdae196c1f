//! What a collection pass produces, as plain owned data: metric values, new log lines, the
//! instance's identity facts and findings, and why a pass failed. Defined below the plugins so
//! that the repair executor, Kubernetes and the UI read them without importing the plugins.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::{Finding, LogLevel, Unit};

/// Why a collection failed. Messages never carry credentials.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum PluginError {
    #[error("cannot reach {endpoint}: {reason}")]
    Unreachable { endpoint: String, reason: String },
    #[error("authentication refused by {endpoint}: {reason}")]
    Auth { endpoint: String, reason: String },
    #[error("{endpoint} did not answer in time")]
    Timeout { endpoint: String, millis: u64 },
    #[error("unexpected reply from {endpoint}: {reason}")]
    Protocol { endpoint: String, reason: String },
    #[error("{0}")]
    Config(String),
    #[error("refused: {0}")]
    Refused(String),
    /// The server answered, and its answer turned this client away (connection limit reached,
    /// overloaded): that answer is the diagnosis, so it travels with the finding it amounts to.
    #[error("{endpoint} turned the client away: {reply}")]
    ServerRefused {
        endpoint: String,
        /// The server's own words, verbatim (bounded in length by the plugin).
        reply: String,
        /// The catalogue finding the refusal amounts to, with the reply as evidence.
        finding: Box<Finding>,
    },
}

impl PluginError {
    /// Whether retrying later can help (network trouble) — not for wrong credentials or config.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PluginError::Unreachable { .. }
                | PluginError::Timeout { .. }
                | PluginError::Protocol { .. }
                | PluginError::ServerRefused { .. }
        )
    }

    /// Whether the link itself failed, so the connection is forgotten and the next call
    /// reconnects.
    pub fn is_link_failure(&self) -> bool {
        matches!(
            self,
            PluginError::Unreachable { .. }
                | PluginError::Timeout { .. }
                | PluginError::ServerRefused { .. }
        )
    }

    /// The finding a server's refusal amounts to (`None` for every other error).
    pub fn refusal_finding(&self) -> Option<&Finding> {
        match self {
            PluginError::ServerRefused { finding, .. } => Some(finding),
            _ => None,
        }
    }
}

/// One current value for the metrics pane.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSample {
    /// Stable id, e.g. `ops_per_sec` (or `lag:orders-consumer` for one of many).
    pub id: Cow<'static, str>,
    /// Label shown in the pane.
    pub label: Cow<'static, str>,
    pub unit: Unit,
    pub value: f64,
}

impl MetricSample {
    /// A value; ids and labels are usually static, per-group metrics make their own.
    pub fn new(
        id: impl Into<Cow<'static, str>>,
        label: impl Into<Cow<'static, str>>,
        unit: Unit,
        value: f64,
    ) -> Self {
        MetricSample {
            id: id.into(),
            label: label.into(),
            unit,
            value,
        }
    }
}

/// A log line produced by a collector (slowlog entry, server log line).
#[derive(Debug, Clone, PartialEq)]
pub struct CollectedLog {
    pub at: DateTime<Utc>,
    pub level: LogLevel,
    /// The stream within the instance, e.g. `slowlog` or `server`.
    pub stream: &'static str,
    pub text: String,
}

/// Identity facts of an instance, for the header, repair plans (pinned to `identity`) and the
/// AI context.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceFacts {
    pub version: Option<String>,
    pub role: Option<String>,
    pub uptime_secs: Option<u64>,
    /// What tells this server apart from one that replaced it at the same address (Redis
    /// `run_id`, MySQL `server_uuid` …): repair plans are pinned to it.
    pub identity: Option<String>,
    /// Further short facts, e.g. `maxmemory-policy = noeviction`.
    pub extra: Vec<(String, String)>,
    /// The runtime configuration as the server reports it (secrets already masked by the
    /// plugin), for the AI's `/config`.
    pub settings: Vec<(String, String)>,
}

/// Everything one collection pass produced: owned, sent to the UI as is.
#[derive(Debug, Clone)]
pub struct InstanceSnapshot {
    pub collected_at: DateTime<Utc>,
    pub facts: InstanceFacts,
    pub metrics: Vec<MetricSample>,
    /// Only lines new since the previous snapshot.
    pub logs: Vec<CollectedLog>,
    /// The full current set of findings (not a delta).
    pub findings: Vec<Finding>,
    /// Whether rate-based rules had a previous sample to compare with.
    pub has_baseline: bool,
}
