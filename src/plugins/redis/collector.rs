//! The Redis collector: one connection, the previous sample for deltas, the slowlog cursor and
//! the server-log tail of one instance.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures::future::BoxFuture;

use super::connection::{RedisReader, RedisTarget};
use super::host::read_local_host_facts;
use super::rules::{RuleInput, evaluate};
use super::sample::{RedisSample, collect_sample};
use super::server_log::{LogFileTail, parse_line};
use super::settings::RedisSettings;
use crate::config::{AppConfig, InstanceConfig, PluginSettings};
use crate::model::{LogLevel, Unit};
use crate::plugins::connected;
use crate::plugins::{
    CollectedLog, Collector, InstanceFacts, InstanceSnapshot, MetricSample, PluginError,
};

/// Collects one Redis instance.
pub struct RedisCollector {
    target: RedisTarget,
    reader: Option<RedisReader>,
    prev: Option<RedisSample>,
    last_slowlog_id: Option<u64>,
    server_log: Option<LogFileTail>,
    thresholds: RedisSettings,
    is_cache: bool,
    connect_timeout: Duration,
    command_timeout: Duration,
    client_list_max: usize,
}

impl RedisCollector {
    /// A collector for a configured instance; resolves credentials but does not connect.
    pub fn new(instance: &InstanceConfig, config: &AppConfig) -> Result<Self, PluginError> {
        Ok(RedisCollector {
            target: RedisTarget::from_instance(instance)?,
            reader: None,
            prev: None,
            last_slowlog_id: None,
            server_log: None,
            thresholds: RedisSettings::of(config),
            is_cache: instance.is_cache(),
            connect_timeout: config.collector.connect_timeout(),
            command_timeout: Duration::from_millis(config.collector.command_timeout_ms),
            client_list_max: config.collector.client_list_max,
        })
    }

    async fn collect_once(&mut self) -> Result<InstanceSnapshot, PluginError> {
        let reader = connected(&mut self.reader, || {
            self.target
                .connect(self.connect_timeout, self.command_timeout)
        })
        .await?;
        let sample = match collect_sample(reader, self.client_list_max).await {
            Ok(s) => s,
            Err(e) => {
                // Any failure mid-sample may leave the multiplexer unusable: reconnect next time.
                self.reader = None;
                return Err(with_endpoint(e, &self.target.endpoint));
            }
        };
        let host = self.target.is_local().then(read_local_host_facts);
        let input = RuleInput {
            cur: &sample,
            prev: self.prev.as_ref(),
            th: &self.thresholds,
            is_cache: self.is_cache,
            host: host.as_ref(),
        };
        let findings = evaluate(&input);
        let metrics = metrics_of(&sample, self.prev.as_ref());
        let mut logs = self.new_slowlog_lines(&sample);
        logs.extend(self.new_server_log_lines(&sample));
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

    fn new_slowlog_lines(&mut self, sample: &RedisSample) -> Vec<CollectedLog> {
        let last = self.last_slowlog_id;
        let mut fresh: Vec<_> = sample
            .slowlog
            .iter()
            .filter(|e| last.is_none_or(|l| e.id > l))
            .collect();
        // A restart or SLOWLOG RESET restarts ids: start over from what the server has.
        if let (Some(l), Some(max)) = (last, sample.slowlog.iter().map(|e| e.id).max())
            && max < l
        {
            fresh = sample.slowlog.iter().collect();
        }
        if let Some(max) = sample.slowlog.iter().map(|e| e.id).max() {
            self.last_slowlog_id = Some(max);
        }
        fresh.sort_by_key(|e| e.id);
        fresh
            .into_iter()
            .map(|e| {
                let ms = e.duration_us as f64 / 1000.0;
                let level = if ms >= self.thresholds.slow_crit_ms as f64 {
                    LogLevel::Error
                } else if ms >= self.thresholds.slow_warn_ms as f64 {
                    LogLevel::Warn
                } else {
                    LogLevel::Info
                };
                let client = if e.client_name.is_empty() {
                    e.client_addr.clone()
                } else {
                    format!("{} {}", e.client_addr, e.client_name)
                };
                CollectedLog {
                    at: unix_to_utc(e.timestamp),
                    level,
                    stream: "slowlog",
                    text: format!("{ms:.1}ms {} ({client})", e.command_line(80)),
                }
            })
            .collect()
    }

    fn new_server_log_lines(&mut self, sample: &RedisSample) -> Vec<CollectedLog> {
        if !self.target.is_local() {
            return Vec::new();
        }
        let Some(path) = sample.config("logfile").filter(|p| !p.is_empty()) else {
            return Vec::new();
        };
        let path = std::path::PathBuf::from(path);
        let path = if path.is_relative() {
            match sample.config("dir") {
                Some(dir) => std::path::Path::new(dir).join(path),
                None => path,
            }
        } else {
            path
        };
        let tail = match &mut self.server_log {
            Some(t) if t.path() == path => t,
            _ => self.server_log.insert(LogFileTail::new(path)),
        };
        tail.read_new_lines()
            .iter()
            .map(|line| parse_line(line))
            .map(|(level, at, text)| CollectedLog {
                at,
                level,
                stream: "server",
                text,
            })
            .collect()
    }
}

impl Collector for RedisCollector {
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

fn with_endpoint(e: PluginError, endpoint: &str) -> PluginError {
    match e {
        PluginError::Protocol {
            endpoint: ep,
            reason,
        } if ep.is_empty() => PluginError::Protocol {
            endpoint: endpoint.to_string(),
            reason,
        },
        other => other,
    }
}

fn unix_to_utc(ts: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(ts, 0).single().unwrap_or_else(Utc::now)
}

fn facts_of(s: &RedisSample) -> InstanceFacts {
    let mut extra = Vec::new();
    for key in ["maxmemory_policy", "redis_mode", "os"] {
        if let Some(v) = s.info.get(key) {
            extra.push((key.to_string(), v.to_string()));
        }
    }
    if let Some(v) = s.info.get("run_id") {
        extra.push(("run_id".into(), v.to_string()));
    }
    // Empty when the server runs without a config file: CONFIG REWRITE cannot work then.
    if let Some(v) = s.info.get(super::repair::FACT_CONFIG_FILE) {
        extra.push((super::repair::FACT_CONFIG_FILE.into(), v.trim().to_string()));
    }
    InstanceFacts {
        version: s.version().map(str::to_string),
        role: s.info.get("role").map(str::to_string),
        uptime_secs: s.info.u64("uptime_in_seconds"),
        identity: s.info.get("run_id").map(str::to_string),
        extra,
        // CONFIG GET * with requirepass/masterauth/TLS passphrases masked by the parser.
        settings: s
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// Metric values of one sample; rates from the previous sample where INFO gives only totals.
fn metrics_of(s: &RedisSample, prev: Option<&RedisSample>) -> Vec<MetricSample> {
    let info = &s.info;
    let mut m = Vec::new();
    let mut push = |id, label, unit, value: Option<f64>| {
        if let Some(value) = value {
            m.push(MetricSample::new(id, label, unit, value));
        }
    };
    let rate = |key: &str| -> Option<f64> {
        let p = prev.filter(|p| !s.restarted_since(p))?;
        let dt = s.server_time - p.server_time;
        (dt > 0.0).then(|| {
            info.u64(key)
                .unwrap_or(0)
                .saturating_sub(p.info.u64(key).unwrap_or(0)) as f64
                / dt
        })
    };
    let used = info.f64("used_memory");
    let max = info.f64("maxmemory").filter(|m| *m > 0.0);
    push(
        "ops_per_sec",
        "ops/s",
        Unit::PerSecond,
        info.f64("instantaneous_ops_per_sec"),
    );
    push(
        "memory_pct",
        "memory % of max",
        Unit::Percent,
        used.zip(max).map(|(u, m)| u / m * 100.0),
    );
    push("used_memory", "used_memory", Unit::Bytes, used);
    push(
        "clients",
        "clients",
        Unit::Count,
        info.f64("connected_clients"),
    );
    let hit_ratio = prev.filter(|p| !s.restarted_since(p)).and_then(|p| {
        let hits = info
            .u64("keyspace_hits")?
            .saturating_sub(p.info.u64("keyspace_hits")?);
        let misses = info
            .u64("keyspace_misses")?
            .saturating_sub(p.info.u64("keyspace_misses")?);
        let total = hits.saturating_add(misses);
        (total > 0).then(|| hits as f64 / total as f64 * 100.0)
    });
    push("hit_ratio", "hit ratio", Unit::Percent, hit_ratio);
    push(
        "evicted_per_sec",
        "evicted/s",
        Unit::PerSecond,
        rate("evicted_keys"),
    );
    push(
        "expired_per_sec",
        "expired/s",
        Unit::PerSecond,
        rate("expired_keys"),
    );
    push(
        "errors_per_sec",
        "errors/s",
        Unit::PerSecond,
        rate("total_error_replies"),
    );
    push(
        "net_in",
        "net in",
        Unit::BytesPerSecond,
        info.f64("instantaneous_input_kbps").map(|k| k * 1024.0),
    );
    push(
        "net_out",
        "net out",
        Unit::BytesPerSecond,
        info.f64("instantaneous_output_kbps").map(|k| k * 1024.0),
    );
    let keys: u64 = info
        .with_prefix("db")
        .filter(|(k, _)| k[2..].chars().all(|c| c.is_ascii_digit()) && k.len() > 2)
        .filter_map(|(_, v)| super::parse::sub_field(v, "keys")?.parse::<u64>().ok())
        .fold(0u64, u64::saturating_add);
    push("keys", "keys", Unit::Count, Some(keys as f64));
    push(
        "fragmentation",
        "fragmentation",
        Unit::Ratio,
        info.f64("mem_fragmentation_ratio"),
    );
    push(
        "slowlog_len",
        "slowlog length",
        Unit::Count,
        Some(s.slowlog_len as f64),
    );
    m
}
