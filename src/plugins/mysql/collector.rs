//! The MySQL/MariaDB collector: one read-only connection, the previous sample for rates, the
//! `Threads_running` streak, what the logs pane has already been shown, and the error-log tail.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use futures::future::BoxFuture;

use super::connection::{Flavor, MysqlReader, MysqlTarget};
use super::rules::{RuleInput, evaluate};
use super::sample::{MysqlSample, collect_sample};
use super::settings::MysqlSettings;
use crate::config::{AppConfig, InstanceConfig, PluginSettings};
use crate::model::{LogLevel, Unit};
use crate::plugins::connected;
use crate::plugins::log_tail::LogFileTail;
use crate::plugins::{
    CollectedLog, Collector, InstanceFacts, InstanceSnapshot, MetricSample, PluginError,
};

/// Statements running at least this long are shown in the logs pane (once each).
const LOG_STATEMENT_SECS: u64 = 1;

/// Where the server's error log comes from.
enum ErrorLogSource {
    /// Not decided yet (first sample).
    Unknown,
    /// MySQL 8.0.22+: `performance_schema.error_log`, read after this timestamp.
    Table { after: Option<String> },
    /// The `@@log_error` file of a server on this machine.
    File(LogFileTail),
    /// Neither: the reason was shown once.
    None,
}

/// Collects one MySQL or MariaDB server.
pub struct MysqlCollector {
    target: MysqlTarget,
    reader: Option<MysqlReader>,
    prev: Option<MysqlSample>,
    th: MysqlSettings,
    running_streak: usize,
    /// (session id, masked statement) pairs already logged.
    logged_statements: HashSet<(u64, String)>,
    /// (waiting, blocking) pairs already logged.
    logged_waits: HashSet<(u64, u64)>,
    error_log: ErrorLogSource,
    connect_timeout: Duration,
}

impl MysqlCollector {
    /// A collector for a configured instance; resolves credentials but does not connect.
    pub fn new(instance: &InstanceConfig, config: &AppConfig) -> Result<Self, PluginError> {
        Ok(MysqlCollector {
            target: MysqlTarget::from_instance(instance)?,
            reader: None,
            prev: None,
            th: MysqlSettings::of(config),
            running_streak: 0,
            logged_statements: HashSet::new(),
            logged_waits: HashSet::new(),
            error_log: ErrorLogSource::Unknown,
            connect_timeout: config.collector.connect_timeout(),
        })
    }

    async fn collect_once(&mut self) -> Result<InstanceSnapshot, PluginError> {
        let reader = connected(&mut self.reader, || {
            self.target.connect(
                self.connect_timeout,
                Duration::from_millis(self.th.statement_timeout_ms),
            )
        })
        .await?;
        let sample = match collect_sample(reader, self.th.processlist_max_rows).await {
            Ok(s) => s,
            Err(e) => {
                if !matches!(e, PluginError::Refused(_)) {
                    self.reader = None;
                }
                return Err(e);
            }
        };
        let running = sample.status_u64("threads_running").unwrap_or(0);
        self.running_streak = if running > self.th.threads_running {
            self.running_streak + 1
        } else {
            0
        };
        let findings = evaluate(&RuleInput {
            cur: &sample,
            prev: self.prev.as_ref(),
            th: &self.th,
            running_streak: self.running_streak,
        });
        let metrics = metrics_of(&sample, self.prev.as_ref());
        let mut logs = self.new_activity_lines(&sample);
        logs.extend(self.new_error_log_lines(&sample).await);
        let before = self.prev.as_ref().map_or(&[][..], |p| &p.unavailable[..]);
        logs.extend(crate::plugins::unavailable_changes(
            before,
            &sample.unavailable,
            Utc::now(),
        ));
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

    /// Long statements and lock waits, each shown once.
    fn new_activity_lines(&mut self, s: &MysqlSample) -> Vec<CollectedLog> {
        let mut out = Vec::new();
        let now = Utc::now();
        let mut seen = HashSet::new();
        for p in s.sessions.iter().filter(|p| {
            matches!(p.command.as_str(), "Query" | "Execute") && p.time_secs >= LOG_STATEMENT_SECS
        }) {
            let Some(info) = &p.info else { continue };
            let key = (p.id, info.clone());
            seen.insert(key.clone());
            if self.logged_statements.insert(key) {
                let level = if p.time_secs > self.th.long_query_crit_secs {
                    LogLevel::Error
                } else if p.time_secs > self.th.long_query_warn_secs {
                    LogLevel::Warn
                } else {
                    LogLevel::Info
                };
                out.push(CollectedLog {
                    at: now - chrono::Duration::seconds(p.time_secs as i64),
                    level,
                    stream: "processlist",
                    text: format!(
                        "{}s id={} {}@{} {}{}",
                        p.time_secs,
                        p.id,
                        p.user,
                        p.host,
                        if p.state.is_empty() {
                            String::new()
                        } else {
                            format!("[{}] ", p.state)
                        },
                        info
                    ),
                });
            }
        }
        // Forget finished statements so the set stays as small as the processlist.
        self.logged_statements.retain(|k| seen.contains(k));
        let mut waits_now = HashSet::new();
        for w in s.lock_waits.iter().flatten() {
            let key = (w.waiting_pid, w.blocking_pid);
            waits_now.insert(key);
            if self.logged_waits.insert(key) {
                out.push(CollectedLog {
                    at: now,
                    level: LogLevel::Warn,
                    stream: "locks",
                    text: format!(
                        "row lock wait {}s on {}: id={} ({}) blocked by id={} ({})",
                        w.wait_secs,
                        w.table,
                        w.waiting_pid,
                        w.waiting_query.as_deref().unwrap_or("?"),
                        w.blocking_pid,
                        w.blocking_query.as_deref().unwrap_or("idle in transaction")
                    ),
                });
            }
        }
        self.logged_waits.retain(|k| waits_now.contains(k));
        out
    }

    async fn new_error_log_lines(&mut self, s: &MysqlSample) -> Vec<CollectedLog> {
        if matches!(self.error_log, ErrorLogSource::Unknown) {
            let (source, note) = self.choose_error_log(s).await;
            self.error_log = source;
            if let Some(note) = note {
                return vec![CollectedLog {
                    at: Utc::now(),
                    level: LogLevel::Info,
                    stream: "server",
                    text: note,
                }];
            }
        }
        match &mut self.error_log {
            ErrorLogSource::File(tail) => tail
                .read_new_lines()
                .iter()
                .map(|l| parse_error_log_line(l))
                .collect(),
            ErrorLogSource::Table { after } => {
                let Some(reader) = self.reader.as_mut() else {
                    return Vec::new();
                };
                let since = after
                    .as_deref()
                    .map(|a| format!(" AND LOGGED > '{}'", a.replace('\'', "")))
                    .unwrap_or_default();
                let limit = if after.is_none() { 50 } else { 200 };
                let sql = format!(
                    "SELECT LOGGED, PRIO, ERROR_CODE, SUBSYSTEM, LEFT(DATA, 400) AS DATA FROM performance_schema.error_log \
                     WHERE PRIO IN ('System', 'Error', 'Warning'){since} ORDER BY LOGGED DESC LIMIT {limit}"
                );
                let Ok(t) = reader.query(&sql).await else {
                    return Vec::new();
                };
                let mut lines: Vec<CollectedLog> = (0..t.rows.len())
                    .map(|i| CollectedLog {
                        at: t
                            .get(i, "LOGGED")
                            .and_then(parse_sql_time)
                            .unwrap_or_else(Utc::now),
                        level: level_of(t.get(i, "PRIO").unwrap_or("")),
                        stream: "server",
                        text: format!(
                            "[{}] [{}] {}",
                            t.get(i, "ERROR_CODE").unwrap_or(""),
                            t.get(i, "SUBSYSTEM").unwrap_or(""),
                            t.get(i, "DATA").unwrap_or("")
                        ),
                    })
                    .collect();
                if let Some(newest) = t.get(0, "LOGGED") {
                    *after = Some(newest.to_string());
                }
                lines.reverse();
                lines
            }
            _ => Vec::new(),
        }
    }

    async fn choose_error_log(&mut self, s: &MysqlSample) -> (ErrorLogSource, Option<String>) {
        if s.flavor == Flavor::Mysql
            && let Some(reader) = self.reader.as_mut()
        {
            match reader
                .query("SELECT COUNT(*) FROM performance_schema.error_log")
                .await
            {
                Ok(_) => return (ErrorLogSource::Table { after: None }, None),
                Err(e) if !self.target.is_local() => {
                    return (
                        ErrorLogSource::None,
                        Some(format!(
                            "error log not shown: performance_schema.error_log is not readable ({e})"
                        )),
                    );
                }
                Err(_) => {}
            }
        }
        let Some(path) = s
            .var("log_error")
            .filter(|p| !p.is_empty() && *p != "stderr")
        else {
            return (ErrorLogSource::None, Some("error log not shown: log_error is not set (the server logs to stderr / the journal)".into()));
        };
        if !self.target.is_local() {
            return (
                ErrorLogSource::None,
                Some(format!(
                    "error log not shown: {path} is on the server's host and MariaDB offers no SQL view of it"
                )),
            );
        }
        let mut full = std::path::PathBuf::from(path);
        if full.is_relative() {
            full = std::path::Path::new(s.var("datadir").unwrap_or("")).join(full);
        }
        match std::fs::File::open(&full) {
            Ok(_) => (ErrorLogSource::File(LogFileTail::new(full)), None),
            Err(e) => (
                ErrorLogSource::None,
                Some(format!(
                    "error log not shown: cannot read {} ({e})",
                    full.display()
                )),
            ),
        }
    }
}

impl Collector for MysqlCollector {
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

fn level_of(prio: &str) -> LogLevel {
    match prio.to_ascii_lowercase().as_str() {
        "error" | "err" => LogLevel::Error,
        "warning" | "warn" => LogLevel::Warn,
        "note" | "system" => LogLevel::Info,
        _ => LogLevel::Debug,
    }
}

fn parse_sql_time(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim().trim_end_matches('Z').replace('T', " ");
    NaiveDateTime::parse_from_str(&t, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|n| Utc.from_utc_datetime(&n))
}

/// `2026-12-01 18:45:09 0 [Warning] Access denied …` (MariaDB) or
/// `2026-12-01T18:45:09.123456Z 0 [Warning] [MY-010068] [Server] …` (MySQL 8).
pub fn parse_error_log_line(line: &str) -> CollectedLog {
    let level = ["[ERROR]", "[Error]", "[Warning]", "[Note]", "[System]"]
        .iter()
        .find(|tag| line.contains(*tag))
        .map_or(LogLevel::Info, |tag| level_of(tag.trim_matches(['[', ']'])));
    let at = line
        .get(..19)
        .and_then(|stamp| {
            NaiveDateTime::parse_from_str(&stamp.replace('T', " "), "%Y-%m-%d %H:%M:%S").ok()
        })
        .map(|n| {
            chrono::Local
                .from_local_datetime(&n)
                .single()
                .map_or_else(|| Utc.from_utc_datetime(&n), |l| l.with_timezone(&Utc))
        });
    CollectedLog {
        at: at.unwrap_or_else(Utc::now),
        level,
        stream: "server",
        text: line.to_string(),
    }
}

/// The variables of catalog §3.1 C2 that explain behaviour (no secrets among them).
const CONFIG_VARIABLES: &[&str] = &[
    "max_connections",
    "thread_cache_size",
    "table_open_cache",
    "open_files_limit",
    "innodb_buffer_pool_size",
    "innodb_log_file_size",
    "innodb_redo_log_capacity",
    "innodb_flush_log_at_trx_commit",
    "sync_binlog",
    "log_bin",
    "binlog_format",
    "binlog_expire_logs_seconds",
    "expire_logs_days",
    "innodb_doublewrite",
    "innodb_force_recovery",
    "innodb_lock_wait_timeout",
    "long_query_time",
    "slow_query_log",
    "read_only",
    "super_read_only",
    "bind_address",
    "skip_networking",
    "skip_name_resolve",
    "local_infile",
    "secure_file_priv",
    "require_secure_transport",
    "have_ssl",
    "slave_skip_errors",
    "replica_skip_errors",
    "slave_net_timeout",
    "gtid_mode",
    "tmp_table_size",
    "max_heap_table_size",
    "performance_schema",
    "wait_timeout",
    "interactive_timeout",
    "max_statement_time",
    "max_execution_time",
];

fn facts_of(s: &MysqlSample) -> InstanceFacts {
    let role = if s.is_replica() {
        "replica"
    } else if s.var_on("read_only") == Some(true) {
        "read-only"
    } else {
        "primary"
    };
    let mut extra = vec![("flavor".to_string(), s.flavor.as_str().to_string())];
    for key in [
        "max_connections",
        "innodb_buffer_pool_size",
        "log_bin",
        "binlog_format",
        "gtid_mode",
    ] {
        if let Some(v) = s.var(key) {
            extra.push((key.to_string(), v.to_string()));
        }
    }
    if let Some(id) = s.identity() {
        extra.push(("identity".into(), id));
    }
    // The statement that took the most time (a digest: no literals), for the header and the AI.
    if let Some(d) = s.digests.as_ref().and_then(|d| d.first()) {
        extra.push((
            "top statement".into(),
            format!(
                "{} — {} calls, {:.3} s avg{}",
                d.text.chars().take(80).collect::<String>(),
                d.count,
                d.avg_secs,
                if d.no_index_used > 0 {
                    ", no index"
                } else {
                    ""
                }
            ),
        ));
    }
    InstanceFacts {
        version: Some(s.version.clone()),
        role: Some(role.into()),
        uptime_secs: s.status_u64("uptime"),
        identity: s.identity(),
        extra,
        settings: CONFIG_VARIABLES
            .iter()
            .filter_map(|k| Some((k.to_string(), s.var(k)?.to_string())))
            .collect(),
    }
}

fn metrics_of(s: &MysqlSample, prev: Option<&MysqlSample>) -> Vec<MetricSample> {
    let mut m = Vec::new();
    let mut push = |id, label, unit, value: Option<f64>| {
        if let Some(value) = value {
            m.push(MetricSample::new(id, label, unit, value));
        }
    };
    let base = prev.filter(|p| !s.restarted_since(p) && s.at > p.at);
    let delta = |key: &str| -> Option<u64> {
        let p = base?;
        Some(s.status_u64(key)?.saturating_sub(p.status_u64(key)?))
    };
    let rate = |keys: &[&str]| -> Option<f64> {
        let p = base?;
        let total: u64 = keys.iter().map(|k| delta(k)).sum::<Option<u64>>()?;
        Some(total as f64 / (s.at - p.at))
    };
    let connected = s.status_u64("threads_connected").map(|v| v as f64);
    push("qps", "queries/s", Unit::PerSecond, rate(&["questions"]));
    push("threads_connected", "connections", Unit::Count, connected);
    push(
        "connections_pct",
        "connections % of max",
        Unit::Percent,
        connected
            .zip(s.var_u64("max_connections").filter(|m| *m > 0))
            .map(|(c, m)| c / m as f64 * 100.0),
    );
    push(
        "threads_running",
        "threads running",
        Unit::Count,
        s.status_u64("threads_running").map(|v| v as f64),
    );
    push(
        "aborted_connects",
        "aborted connects/s",
        Unit::PerSecond,
        rate(&["aborted_connects"]),
    );
    push(
        "slow_queries",
        "slow queries/s",
        Unit::PerSecond,
        rate(&["slow_queries"]),
    );
    push(
        "row_ops",
        "InnoDB row ops/s",
        Unit::PerSecond,
        rate(&[
            "innodb_rows_read",
            "innodb_rows_inserted",
            "innodb_rows_updated",
            "innodb_rows_deleted",
        ]),
    );
    let hit = delta("innodb_buffer_pool_read_requests")
        .zip(delta("innodb_buffer_pool_reads"))
        .and_then(|(q, r)| (q + r > 0).then(|| q as f64 / (q + r) as f64 * 100.0));
    push("bp_hit_ratio", "buffer pool hit", Unit::Percent, hit);
    push(
        "history_list",
        "history list",
        Unit::Count,
        s.history_list_length.map(|h| h as f64),
    );
    push(
        "lock_waits",
        "row lock waits",
        Unit::Count,
        s.lock_waits.as_ref().map(|w| w.len() as f64),
    );
    if let Some(lag) = s.replica.iter().flatten().find_map(|c| c.lag_secs) {
        push(
            "replica_lag",
            "replica lag",
            Unit::Seconds,
            Some(lag as f64),
        );
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_log_lines_of_both_flavors() {
        let l = parse_error_log_line(
            "2026-12-01 18:45:09 0 [Warning] Access denied for user 'x'@'localhost'",
        );
        assert_eq!(l.level, LogLevel::Warn);
        let l = parse_error_log_line(
            "2026-12-01T18:45:09.123456Z 0 [ERROR] [MY-010119] [Server] Aborting",
        );
        assert_eq!(l.level, LogLevel::Error);
        let l = parse_error_log_line("garbage without a stamp");
        assert_eq!(
            (l.level, l.text.as_str()),
            (LogLevel::Info, "garbage without a stamp")
        );
    }
}
