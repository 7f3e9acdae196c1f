//! A fully populated synthetic dashboard, for render tests and the benchmarks (which include
//! this file by path: `#[path = "../tests/common/fixtures.rs"]`).
// Each test binary and benchmark uses a different part of it.
#![allow(dead_code)]

use chrono::{Duration, Utc};

use kubestack_ai::app::{AppState, Health, build_state};
use kubestack_ai::config::{AppConfig, InstanceConfig, InstanceKind};
use kubestack_ai::diagnose::{Finding, Severity};
use kubestack_ai::keymap::Keymap;
use kubestack_ai::model::{LogLevel, Unit};
use kubestack_ai::plugins::{CollectedLog, InstanceFacts, InstanceSnapshot, MetricSample};

/// A config with three Redis instances in two groups.
pub fn sample_config() -> AppConfig {
    let inst = |name: &str, port: u16, group: &str| InstanceConfig {
        group: Some(group.into()),
        ..InstanceConfig::new(
            name,
            InstanceKind::REDIS,
            format!("redis://127.0.0.1:{port}"),
        )
    };
    AppConfig {
        instances: vec![
            inst("redis-cache", 6390, "payments"),
            inst("redis-sessions", 6391, "payments"),
            inst("redis-gone", 6392, "streaming"),
        ],
        ..AppConfig::default()
    }
}

/// A snapshot like the demo's faulty Redis produces, at sample number `n`.
pub fn sample_snapshot(n: usize) -> InstanceSnapshot {
    let metric = |id: &'static str, label: &'static str, unit, value| {
        MetricSample::new(id, label, unit, value)
    };
    let wave = |base: f64, amp: f64| base + amp * ((n as f64) / 3.0).sin();
    InstanceSnapshot {
        collected_at: Utc::now() - Duration::seconds(120 - n as i64),
        facts: InstanceFacts {
            version: Some("7.0.15".into()),
            role: Some("master".into()),
            uptime_secs: Some(3600 + n as u64 * 2),
            identity: Some("4f1c7e0d2b9a8c6e5d3f1a0b9c8d7e6f5a4b3c2d".into()),
            extra: vec![("maxmemory_policy".into(), "noeviction".into())],
            settings: vec![("maxmemory".into(), "5242880".into())],
        },
        metrics: vec![
            metric("ops_per_sec", "ops/s", Unit::PerSecond, wave(1200.0, 400.0)),
            metric(
                "memory_pct",
                "memory % of max",
                Unit::Percent,
                wave(93.0, 4.0),
            ),
            metric("used_memory", "used_memory", Unit::Bytes, wave(19.6e6, 1e6)),
            metric("clients", "clients", Unit::Count, wave(40.0, 10.0)),
            metric("hit_ratio", "hit ratio", Unit::Percent, wave(97.0, 2.0)),
            metric("evicted_per_sec", "evicted/s", Unit::PerSecond, 0.0),
            metric(
                "errors_per_sec",
                "errors/s",
                Unit::PerSecond,
                wave(3.0, 3.0),
            ),
            metric(
                "net_in",
                "net in",
                Unit::BytesPerSecond,
                wave(80_000.0, 20_000.0),
            ),
            metric("keys", "keys", Unit::Count, 100_000.0),
        ],
        logs: (0..3)
            .map(|i| CollectedLog {
                at: Utc::now(),
                level: if i == 2 {
                    LogLevel::Warn
                } else {
                    LogLevel::Info
                },
                stream: "slowlog",
                text: format!("{}.2ms KEYS user:* (127.0.0.1:5{n}{i})", 10 + i * 150),
            })
            .collect(),
        findings: vec![
            Finding::new(
                "RDS-MEM-01",
                Severity::Critical,
                "memory",
                "writes rejected: used_memory 18.8 MiB ≥ maxmemory 5.0 MiB with noeviction",
                "The instance is at maxmemory and the policy cannot evict.",
                "Free memory or raise maxmemory.",
            )
            .with("used_memory", 19_700_000)
            .with("maxmemory", 5_242_880)
            .with("threshold", "any OOM error (src:)"),
            Finding::new(
                "RDS-LAT-01",
                Severity::Warning,
                "latency",
                "14 slow commands / 5m, slowest 310 ms (KEYS user:*)",
                "Redis is single-threaded.",
                "Use SCAN.",
            )
            .with("count", 14),
            Finding::new(
                "RDS-SEC-01",
                Severity::Warning,
                "security",
                "no authentication: the default user needs no password",
                "Anyone who can reach the port has full access.",
                "Set a password.",
            ),
        ],
        has_baseline: n > 0,
    }
}

/// The dashboard with `samples` snapshots on the first instance, a healthy second one and
/// an unreachable third.
pub fn sample_state(samples: usize) -> AppState {
    let config = sample_config();
    let (mut state, _) = build_state(&config, Keymap::builtin(), Vec::new());
    for n in 0..samples {
        state.instances[0].apply_snapshot(sample_snapshot(n));
    }
    let mut healthy = sample_snapshot(samples);
    healthy.findings.clear();
    state.instances[1].apply_snapshot(healthy);
    state.instances[2].apply_health(Health::Down {
        error: "cannot reach redis://127.0.0.1:6392: Connection refused (os error 111)".into(),
        retry_in_secs: 8.0,
    });
    state
}

/// This process's resident memory in KiB (`VmRSS` of /proc/self/status; 0 where unreadable),
/// for the benchmarks' memory figures.
pub fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// [`rss_kb`] in MiB.
pub fn rss_mb() -> f64 {
    rss_kb() as f64 / 1024.0
}

/// An empty state whose current Kubernetes context `context` is up: what the fleet benchmarks
/// feed their watch batches to.
pub fn fleet_state(context: &str) -> AppState {
    let (mut state, _) = build_state(&AppConfig::default(), Keymap::builtin(), Vec::new());
    state.kube.contexts = vec![(
        kubestack_ai::kube::KubeContext {
            name: context.into(),
            cluster: context.into(),
            namespace: None,
            server: None,
        },
        kubestack_ai::kube::ContextState::Up {
            version: "v1.31.2".into(),
        },
    )];
    state.kube.current = Some(context.into());
    state
}
