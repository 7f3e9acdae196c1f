//! One full sample of a Redis instance: everything the rules and panes read.

use std::collections::BTreeMap;

use super::connection::RedisReader;
use super::parse::{
    AclUser, ClientListSummary, InfoMap, LatencyEvent, SlowlogEntry, parse_acl_user, parse_config,
    parse_latency_latest, parse_slowlog, summarize_clients, value_text,
};
use crate::plugins::PluginError;

/// SLOWLOG entries fetched per sample (catalog C3).
pub const SLOWLOG_FETCH: usize = 128;

/// What one collection pass read from a Redis server (secrets already redacted).
#[derive(Debug, Clone, Default)]
pub struct RedisSample {
    /// Server clock, unix seconds (from INFO `server_time_usec`, else the local clock).
    pub server_time: f64,
    pub info: InfoMap,
    /// `CONFIG GET *`; empty when CONFIG is not permitted for this user.
    pub config: BTreeMap<String, String>,
    pub slowlog: Vec<SlowlogEntry>,
    pub slowlog_len: u64,
    pub clients: ClientListSummary,
    pub latency: Vec<LatencyEvent>,
    /// `ACL GETUSER default`, when permitted.
    pub default_user: Option<AclUser>,
    /// Optional commands the server refused (e.g. by ACL), for the record.
    pub refused: Vec<String>,
}

impl RedisSample {
    /// A config value.
    pub fn config(&self, key: &str) -> Option<&str> {
        self.config.get(key).map(String::as_str)
    }

    /// `redis_version` from INFO.
    pub fn version(&self) -> Option<&str> {
        self.info.get("redis_version")
    }

    /// Whether the server restarted since `previous` (counters reset; deltas unknown).
    pub fn restarted_since(&self, previous: &RedisSample) -> bool {
        match (
            self.info.u64("uptime_in_seconds"),
            previous.info.u64("uptime_in_seconds"),
        ) {
            (Some(now), Some(before)) => now < before,
            _ => true,
        }
    }
}

/// Reads one sample. INFO is mandatory; the other commands degrade to "unknown" when refused.
pub async fn collect_sample(
    reader: &mut RedisReader,
    client_list_max: usize,
) -> Result<RedisSample, PluginError> {
    let info_text = reader.query(&["INFO", "everything"]).await?;
    let info = InfoMap::parse(&value_text(&info_text).unwrap_or_default());
    if info.get("redis_version").is_none() {
        return Err(PluginError::Protocol {
            endpoint: String::new(),
            reason: "INFO reply has no redis_version".into(),
        });
    }
    let server_time = info
        .u64("server_time_usec")
        .map(|us| us as f64 / 1e6)
        .unwrap_or_else(|| chrono::Utc::now().timestamp_micros() as f64 / 1e6);
    let mut sample = RedisSample {
        server_time,
        info,
        ..RedisSample::default()
    };
    let slowlog_count = SLOWLOG_FETCH.to_string();
    if let Some(v) = optional(
        reader.query(&["CONFIG", "GET", "*"]).await,
        &mut sample.refused,
        "CONFIG GET",
    )? {
        sample.config = parse_config(&v);
    }
    if let Some(v) = optional(
        reader.query(&["SLOWLOG", "GET", &slowlog_count]).await,
        &mut sample.refused,
        "SLOWLOG GET",
    )? {
        sample.slowlog = parse_slowlog(&v);
    }
    if let Some(v) = optional(
        reader.query(&["SLOWLOG", "LEN"]).await,
        &mut sample.refused,
        "SLOWLOG LEN",
    )? {
        sample.slowlog_len = value_text(&v).and_then(|t| t.parse().ok()).unwrap_or(0);
    }
    if let Some(v) = optional(
        reader.query(&["CLIENT", "LIST"]).await,
        &mut sample.refused,
        "CLIENT LIST",
    )? {
        sample.clients = summarize_clients(&value_text(&v).unwrap_or_default(), client_list_max);
    }
    if let Some(v) = optional(
        reader.query(&["LATENCY", "LATEST"]).await,
        &mut sample.refused,
        "LATENCY LATEST",
    )? {
        sample.latency = parse_latency_latest(&v);
    }
    if let Some(v) = optional(
        reader.query(&["ACL", "GETUSER", "default"]).await,
        &mut sample.refused,
        "ACL GETUSER",
    )? {
        sample.default_user = parse_acl_user(&v);
    }
    Ok(sample)
}

/// A refused or unknown optional command is recorded, not fatal; losing the connection is.
fn optional(
    result: Result<redis::Value, PluginError>,
    refused: &mut Vec<String>,
    what: &str,
) -> Result<Option<redis::Value>, PluginError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(PluginError::Auth { reason, .. }) | Err(PluginError::Protocol { reason, .. }) => {
            refused.push(format!("{what}: {reason}"));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
