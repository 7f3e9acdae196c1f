//! RDS-LAT-01 … 07: slow commands, KEYS, latency monitor, forks, THP, busy scripts.

use std::collections::BTreeMap;

use serde_json::json;

use super::RuleInput;
use crate::model::{Finding, Severity};

pub(super) fn check(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    slow_commands(input, out);
    keys_usage(input, out);

    // RDS-LAT-03: latency monitor disabled.
    if input.cur.config("latency-monitor-threshold") == Some("0") {
        out.push(
            Finding::new(
                "RDS-LAT-03",
                Severity::Info,
                "latency",
                "latency monitor disabled",
                "With latency-monitor-threshold 0, LATENCY LATEST and LATENCY DOCTOR are blind.",
                "CONFIG SET latency-monitor-threshold 100 (RDS-FIX-08).",
            )
            .with("latency-monitor-threshold", 0)
            .with("threshold", "= 0 (src: LATENCY DOCTOR)"),
        );
    }

    // RDS-LAT-04: latency spikes recorded by the monitor.
    if !input.cur.latency.is_empty() {
        let events: Vec<_> = input
            .cur
            .latency
            .iter()
            .map(|e| {
                json!({"event": e.event, "latest_ms": e.latest_ms, "max_ms": e.max_ms,
                       "age_secs": (input.cur.server_time as i64 - e.timestamp).max(0),
                       "likely_cause": latency_cause(&e.event)})
            })
            .collect();
        let worst = input.cur.latency.iter().max_by_key(|e| e.max_ms);
        let title = match worst {
            Some(w) => format!(
                "latency spikes: {} event(s), worst {} {} ms",
                input.cur.latency.len(),
                w.event,
                w.max_ms
            ),
            None => "latency spikes".to_string(),
        };
        out.push(
            Finding::new(
                "RDS-LAT-04",
                Severity::Warning,
                "latency",
                title,
                "The latency monitor recorded events above its threshold; each maps to a cause in Redis's \
                 own advice table.",
                "Read LATENCY DOCTOR; fix the cause named per event (slow commands, forks, disk, expiry).",
            )
            .with("events", events),
        );
    }

    // RDS-LAT-05: slow fork (only forks long enough to hurt are judged).
    let fork_usec = input.info_u64("latest_fork_usec");
    if fork_usec >= 10_000 {
        let gbps =
            input.info_u64("used_memory") as f64 / fork_usec as f64 * 1e6 / (1u64 << 30) as f64;
        let severity = if gbps < 10.0 {
            Some(Severity::Warning)
        } else if gbps < 25.0 {
            Some(Severity::Info)
        } else {
            None
        };
        if let Some(severity) = severity {
            out.push(
                Finding::new(
                    "RDS-LAT-05",
                    severity,
                    "latency",
                    format!("slow fork: {:.1} GB/s, last fork blocked {} ms", gbps, fork_usec / 1000),
                    "Each BGSAVE, AOF rewrite or full sync blocks the main thread for the fork time.",
                    "Avoid VMs with slow fork (Xen); reduce the dataset per instance.",
                )
                .with("latest_fork_usec", fork_usec)
                .with("fork_rate_gb_per_s", super::round3(gbps))
                .with("threshold", "< 10 GB/s WARN, < 25 GB/s INFO (src: stat_fork_rate)"),
            );
        }
    }

    // RDS-LAT-06: transparent huge pages on the host.
    if let Some(thp) = input.host.and_then(|h| h.transparent_hugepage.as_deref())
        && thp == "always"
    {
        out.push(
            Finding::new(
                "RDS-LAT-06",
                Severity::Warning,
                "latency",
                "transparent huge pages enabled on the host",
                "After a fork, copy-on-write of huge pages causes big latency and memory spikes.",
                "echo never > /sys/kernel/mm/transparent_hugepage/enabled (and make it persistent).",
            )
            .with("transparent_hugepage", thp),
        );
    }

    // RDS-LAT-07: busy scripts.
    if let Some(busy) = input.error_delta("BUSY").filter(|d| *d > 0) {
        out.push(
            Finding::new(
                "RDS-LAT-07",
                Severity::Critical,
                "latency",
                format!("{busy} BUSY replies: a script blocks the server"),
                "A Lua script or function exceeded busy-reply-threshold; every other client gets BUSY.",
                "SCRIPT KILL / FUNCTION KILL (only works if it has not written) — RDS-FIX-11.",
            )
            .with("busy_errors_since_last_sample", busy),
        );
    }
}

/// RDS-LAT-01: slowlog entries inside the window, graded by the slowest.
fn slow_commands(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let since = input.cur.server_time as i64 - input.th.slowlog_window_secs as i64;
    let recent: Vec<_> = input
        .cur
        .slowlog
        .iter()
        .filter(|e| e.timestamp >= since)
        .collect();
    let Some(slowest) = recent.iter().max_by_key(|e| e.duration_us) else {
        return;
    };
    let max_ms = slowest.duration_us / 1000;
    let severity = if max_ms >= input.th.slow_crit_ms {
        Severity::Critical
    } else if max_ms >= input.th.slow_warn_ms {
        Severity::Warning
    } else {
        Severity::Info
    };
    let mut by_command: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for e in &recent {
        let entry = by_command.entry(e.command()).or_default();
        entry.0 += 1;
        entry.1 = entry.1.max(e.duration_us);
    }
    let mut top: Vec<_> = by_command.into_iter().collect();
    top.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(b.1.1.cmp(&a.1.1)));
    let top: Vec<_> = top
        .into_iter()
        .take(5)
        .map(|(cmd, (count, max))| json!({"command": cmd, "count": count, "max_ms": max / 1000}))
        .collect();
    let window_min = input.th.slowlog_window_secs / 60;
    out.push(
        Finding::new(
            "RDS-LAT-01",
            severity,
            "latency",
            format!(
                "{} slow commands / {}m, slowest {} ms ({})",
                recent.len(),
                window_min.max(1),
                max_ms,
                slowest.command_line(40)
            ),
            "Redis is single-threaded, so one slow command stalls every client.",
            "Find the callers (client addr/name in SLOWLOG); replace O(N) commands (KEYS, HGETALL and \
             friends on big keys) with SCAN-style iteration.",
        )
        .with("count", recent.len())
        .with("max_ms", max_ms)
        .with("top_commands", top)
        .with("window_secs", input.th.slowlog_window_secs)
        .with(
            "slowlog-log-slower-than_us",
            input
                .cur
                .config("slowlog-log-slower-than")
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(10_000),
        )
        .with(
            "threshold",
            format!(
                "≥ {} ms WARN, ≥ {} ms CRIT (heur:)",
                input.th.slow_warn_ms, input.th.slow_crit_ms
            ),
        ),
    );
}

/// RDS-LAT-02: KEYS in production, seen in commandstats or in the slowlog window.
fn keys_usage(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let calls_delta = {
        let prev = input.prev.filter(|p| !input.cur.restarted_since(p));
        prev.map(|p| {
            let now = input.cur.info.sub_u64("cmdstat_keys", "calls").unwrap_or(0);
            let before = p.info.sub_u64("cmdstat_keys", "calls").unwrap_or(0);
            now.saturating_sub(before)
        })
    };
    let since = input.cur.server_time as i64 - input.th.slowlog_window_secs as i64;
    let in_slowlog = input
        .cur
        .slowlog
        .iter()
        .filter(|e| e.timestamp >= since && e.command() == "keys")
        .count();
    if calls_delta.unwrap_or(0) == 0 && in_slowlog == 0 {
        return;
    }
    out.push(
        Finding::new(
            "RDS-LAT-02",
            Severity::Warning,
            "latency",
            "KEYS used in production",
            "KEYS is O(N) over the whole keyspace and a very common source of latency.",
            "Use SCAN; find the client in SLOWLOG (addr/name).",
        )
        .with("keys_calls_since_last_sample", calls_delta.unwrap_or(0))
        .with("keys_in_slowlog_window", in_slowlog),
    );
}

/// Redis's own mapping of latency events to causes (`[R-LAT]`).
pub(crate) fn latency_cause(event: &str) -> &'static str {
    match event {
        "command" => "slow commands or large objects (see SLOWLOG)",
        "fast-command" => "intrinsic latency or scheduler",
        "fork" => "slow fork",
        "expire-cycle" => "mass expiry or hz",
        "eviction-del" | "eviction-cycle" => "large objects or mass eviction",
        e if e.starts_with("aof-") || e == "rdb-unlink-temp-file" => "disk contention",
        _ => "see LATENCY DOCTOR",
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fired, has, sample};
    use super::*;
    use crate::plugins::redis::parse::{LatencyEvent, SlowlogEntry};

    fn slow(ts: i64, ms: u64, cmd: &str) -> SlowlogEntry {
        SlowlogEntry {
            id: ts as u64,
            timestamp: ts,
            duration_us: ms * 1000,
            argv: vec![cmd.into(), "x".into()],
            client_addr: "127.0.0.1:1".into(),
            client_name: String::new(),
        }
    }

    #[test]
    fn slow_commands_are_graded_by_the_slowest_in_the_window() {
        let now = 1_700_000_000;
        let cases = [
            (vec![slow(now - 10, 20, "get")], Some("INFO")),
            (vec![slow(now - 10, 300, "debug")], Some("WARN")),
            (vec![slow(now - 10, 1500, "debug")], Some("CRIT")),
            (vec![slow(now - 1000, 1500, "debug")], None),
        ];
        for (entries, want) in cases {
            let mut cur = sample("", &[]);
            cur.slowlog = entries;
            let f = fired(&cur, None);
            let got = f.iter().find(|(id, _)| id == "RDS-LAT-01").map(|(_, t)| *t);
            assert_eq!(got, want);
        }
    }

    #[test]
    fn keys_is_seen_in_slowlog_or_commandstats() {
        let mut cur = sample("", &[]);
        cur.slowlog = vec![slow(1_700_000_000 - 5, 15, "KEYS")];
        assert!(has(&fired(&cur, None), "RDS-LAT-02", "WARN"));
        let prev = sample("cmdstat_keys:calls=1,usec=5\n", &[]);
        let cur = sample("cmdstat_keys:calls=3,usec=9\n", &[]);
        assert!(has(&fired(&cur, Some(&prev)), "RDS-LAT-02", "WARN"));
    }

    #[test]
    fn latency_monitor_rules() {
        let cur = sample("", &[("latency-monitor-threshold", "0")]);
        assert!(has(&fired(&cur, None), "RDS-LAT-03", "INFO"));
        let mut cur = sample("", &[("latency-monitor-threshold", "100")]);
        cur.latency = vec![LatencyEvent {
            event: "command".into(),
            timestamp: 1_700_000_000,
            latest_ms: 300,
            max_ms: 300,
        }];
        let f = fired(&cur, None);
        assert!(has(&f, "RDS-LAT-04", "WARN") && !has(&f, "RDS-LAT-03", "INFO"));
        assert_eq!(latency_cause("aof-fsync-always"), "disk contention");
    }

    #[test]
    fn busy_scripts_and_slow_forks() {
        let prev = sample("", &[]);
        let cur = sample("errorstat_BUSY:count=4\n", &[]);
        assert!(has(&fired(&cur, Some(&prev)), "RDS-LAT-07", "CRIT"));
        // 1 GiB forked in 200 ms = 5 GB/s: "terrible".
        let cur = sample("used_memory:1073741824\nlatest_fork_usec:200000\n", &[]);
        assert!(has(&fired(&cur, None), "RDS-LAT-05", "WARN"));
    }
}
