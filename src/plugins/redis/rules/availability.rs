//! RDS-CONN, RDS-REP, RDS-PER and RDS-CAP: connections, replication, persistence, expiry.

use super::{RuleInput, round3};
use crate::model::{Finding, Severity};

pub(super) fn check(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    connections(input, out);
    replication(input, out);
    persistence(input, out);
    expiry(input, out);
}

fn connections(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    if let Some(rejected) = input.delta("rejected_connections").filter(|d| *d > 0) {
        out.push(
            Finding::new(
                "RDS-CONN-01",
                Severity::Critical,
                "connections",
                format!("{rejected} connections rejected (maxclients reached)"),
                "New clients get `ERR max number of clients reached`.",
                "Find the leak (CLIENT LIST: many idle clients, timeout 0) or raise maxclients \
                 (RDS-FIX-06) within the fd limit.",
            )
            .with("rejected_connections_delta", rejected)
            .with("connected_clients", input.info_u64("connected_clients"))
            .with("threshold", "any (src: INFO rejected_connections)"),
        );
    }
    let connected = input.info_u64("connected_clients");
    let max = input
        .cur
        .info
        .u64("maxclients")
        .or_else(|| input.cur.config("maxclients")?.parse().ok())
        .unwrap_or(0);
    if max > 0 {
        let ratio = connected as f64 / max as f64;
        if ratio >= input.th.clients_warn_ratio {
            out.push(
                Finding::new(
                    "RDS-CONN-02",
                    Severity::Warning,
                    "connections",
                    format!(
                        "{connected} of {max} client slots used ({:.0}%)",
                        ratio * 100.0
                    ),
                    "Often a connection leak (many clients with large idle and timeout 0).",
                    "Check CLIENT LIST for idle clients; set a client timeout; size the pools.",
                )
                .with("connected_clients", connected)
                .with("maxclients", max)
                .with("ratio", round3(ratio))
                .with("idle_over_hour", input.cur.clients.idle_over_hour)
                .with(
                    "threshold",
                    format!("≥ {} (heur:)", input.th.clients_warn_ratio),
                ),
            );
        }
    }
}

fn replication(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let info = &input.cur.info;
    let role = info.get("role").unwrap_or("");
    if role == "slave" && info.get("master_link_status") == Some("down") {
        out.push(
            Finding::new(
                "RDS-REP-01",
                Severity::Critical,
                "replication",
                format!(
                    "replica link to {}:{} is down",
                    info.get("master_host").unwrap_or("?"),
                    info.get("master_port").unwrap_or("?")
                ),
                "The replica is serving stale data.",
                "Check the master and the network; see the log for `Error condition on socket for SYNC`.",
            )
            .with("master_link_status", "down")
            .with(
                "master_link_down_since_seconds",
                info.u64("master_link_down_since_seconds").unwrap_or(0),
            ),
        );
    }
    if role == "master" {
        let master_offset = info.u64("master_repl_offset").unwrap_or(0);
        let backlog = info.u64("repl_backlog_size").unwrap_or(0);
        let mut lagging: Vec<(String, u64, u64)> = info
            .with_prefix("slave")
            .filter(|(k, _)| k[5..].chars().all(|c| c.is_ascii_digit()) && k.len() > 5)
            .filter_map(|(k, v)| {
                let lag = crate::plugins::redis::parse::sub_field(v, "lag")?
                    .parse()
                    .ok()?;
                let offset: u64 = crate::plugins::redis::parse::sub_field(v, "offset")?
                    .parse()
                    .ok()?;
                let behind = master_offset.saturating_sub(offset);
                let over = lag > input.th.replica_lag_secs || (backlog > 0 && behind > backlog);
                over.then(|| (k.to_string(), lag, behind))
            })
            .collect();
        lagging.sort();
        if let Some((name, lag, behind)) = lagging.first() {
            out.push(
                Finding::new(
                    "RDS-REP-02",
                    Severity::Warning,
                    "replication",
                    format!("{} replica(s) lagging; {name} {lag}s / {behind} bytes behind", lagging.len()),
                    "A replica is falling behind; beyond the backlog the next reconnect needs a full sync.",
                    "Check replica load and network; consider a larger repl-backlog-size.",
                )
                .with("replica", name.as_str())
                .with("lag_secs", *lag)
                .with("bytes_behind", *behind)
                .with("repl_backlog_size", backlog)
                .with("threshold", format!("lag > {} s (src: min-replicas-max-lag)", input.th.replica_lag_secs)),
            );
        }
        let full = input.delta("sync_full").unwrap_or(0);
        let partial_err = input.delta("sync_partial_err").unwrap_or(0);
        if full > 0 || partial_err > 0 {
            out.push(
                Finding::new(
                    "RDS-REP-03",
                    Severity::Warning,
                    "replication",
                    format!("{full} full resync(s), {partial_err} failed partial resync(s)"),
                    "Each full sync costs a fork plus copy-on-write memory; usually the backlog is too small \
                     or replicas flap.",
                    "Raise repl-backlog-size; find why replicas disconnect.",
                )
                .with("sync_full_delta", full)
                .with("sync_partial_err_delta", partial_err),
            );
        }
    }
}

fn persistence(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let info = &input.cur.info;
    if info.get("rdb_last_bgsave_status") == Some("err") {
        out.push(
            Finding::new(
                "RDS-PER-01",
                Severity::Critical,
                "persistence",
                "RDB snapshot failing (rdb_last_bgsave_status:err)",
                "With save points and stop-writes-on-bgsave-error yes, all writes fail with -MISCONF; \
                 SHUTDOWN also refuses to exit.",
                "Fix the disk, permissions or fork failure (see the log), then BGSAVE (RDS-FIX-09).",
            )
            .with("rdb_last_bgsave_status", "err")
            .with(
                "stop-writes-on-bgsave-error",
                input.cur.config("stop-writes-on-bgsave-error").unwrap_or("unknown"),
            ),
        );
    }
    let aof_failing = info.get("aof_last_write_status") == Some("err")
        || info.get("aof_last_bgrewrite_status") == Some("err");
    let delayed = input.delta("aof_delayed_fsync").unwrap_or(0);
    if aof_failing || delayed > 0 {
        out.push(
            Finding::new(
                "RDS-PER-02",
                if aof_failing {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                "persistence",
                if aof_failing {
                    "AOF writes failing".to_string()
                } else {
                    format!("{delayed} delayed AOF fsyncs")
                },
                "The disk is full, failing or too slow for the fsync policy.",
                "Check the disk; consider appendfsync everysec (RDS-FIX-10).",
            )
            .with(
                "aof_last_write_status",
                info.get("aof_last_write_status").unwrap_or(""),
            )
            .with("aof_delayed_fsync_delta", delayed),
        );
    }
    let no_save = input.cur.config("save").is_some_and(str::is_empty);
    let no_aof = input.cur.config("appendonly") == Some("no");
    let replicas = input.info_u64("connected_slaves");
    if no_save && no_aof && replicas > 0 {
        out.push(
            Finding::new(
                "RDS-PER-03",
                Severity::Warning,
                "persistence",
                "master without persistence has replicas",
                "If the master restarts empty, its replicas sync the empty dataset and the data is wiped \
                 everywhere.",
                "Enable persistence on the master or disable its automatic restart.",
            )
            .with("connected_slaves", replicas),
        );
    }
    let save_configured = input
        .cur
        .config("save")
        .is_some_and(|s| !s.trim().is_empty());
    let last_save = info.u64("rdb_last_save_time").unwrap_or(0) as f64;
    let changes = info.u64("rdb_changes_since_last_save").unwrap_or(0);
    let age = input.cur.server_time - last_save;
    if save_configured && last_save > 0.0 && age > input.th.snapshot_age_secs as f64 && changes > 0
    {
        out.push(
            Finding::new(
                "RDS-PER-04",
                Severity::Warning,
                "persistence",
                format!(
                    "last snapshot {:.0} min ago with {changes} unsaved changes",
                    age / 60.0
                ),
                "The recovery point is older than it looks.",
                "Check why save points do not trigger; BGSAVE (RDS-FIX-09).",
            )
            .with("seconds_since_last_save", age as u64)
            .with("rdb_changes_since_last_save", changes)
            .with(
                "threshold",
                format!("> {} s (heur:)", input.th.snapshot_age_secs),
            ),
        );
    }
    if let Some(overcommit) = input.host.and_then(|h| h.overcommit_memory)
        && overcommit != 1
    {
        out.push(
            Finding::new(
                "RDS-PER-05",
                Severity::Warning,
                "persistence",
                format!("vm.overcommit_memory = {overcommit} on the host"),
                "BGSAVE and replication forks can fail under memory pressure.",
                "sysctl vm.overcommit_memory=1 (and persist it in /etc/sysctl.conf).",
            )
            .with("vm.overcommit_memory", overcommit)
            .with("threshold", "≠ 1 (src: checkOvercommit)"),
        );
    }
}

/// Keys with a TTL before RDS-CAP-01 judges `expired_stale_perc`: Redis estimates that share
/// from the keys its expiry cycle sampled, and a few keys give any percentage
/// (`crate::plugins::ratio`).
pub const MIN_EXPIRING_KEYS: u64 = 100;

fn expiry(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let expiring: u64 = input
        .cur
        .info
        .with_prefix("db")
        .filter_map(|(key, _)| input.cur.info.sub_u64(key, "expires"))
        .fold(0, u64::saturating_add);
    let stale = input
        .cur
        .info
        .f64("expired_stale_perc")
        .filter(|_| expiring >= MIN_EXPIRING_KEYS)
        .unwrap_or(0.0);
    let capped = input.delta("expired_time_cap_reached_count").unwrap_or(0);
    if stale > 25.0 || capped > 0 {
        out.push(
            Finding::new(
                "RDS-CAP-01",
                Severity::Info,
                "capacity",
                format!("active-expiry pressure ({stale:.0}% stale)"),
                "Many keys expire in the same second, which can block and leaves memory held by dead keys.",
                "Spread expiry times (add jitter to TTLs).",
            )
            .with("expired_stale_perc", stale)
            .with("keys_with_ttl", expiring)
            .with("expired_time_cap_reached_delta", capped)
            .with("threshold", format!("> 25 % of ≥ {MIN_EXPIRING_KEYS} keys with a TTL (sem:)")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fired, has, sample};

    #[test]
    fn the_stale_share_is_judged_only_on_enough_keys_with_a_ttl() {
        let min = super::MIN_EXPIRING_KEYS;
        // (keyspace lines, expired_stale_perc, fires)
        let cases = [
            (String::new(), "80.00", false),
            (
                format!("db0:keys=10,expires={},avg_ttl=0\n", min - 1),
                "80.00",
                false,
            ),
            (
                format!("db0:keys=10,expires={},avg_ttl=0\n", min),
                "80.00",
                true,
            ),
            (
                format!("db0:keys=10,expires={},avg_ttl=0\n", min),
                "25.00",
                false,
            ),
            (
                format!(
                    "db0:keys=1,expires={},avg_ttl=0\ndb1:keys=1,expires=1,avg_ttl=0\n",
                    min - 1
                ),
                "30.00",
                true,
            ),
            (
                format!(
                    "db0:keys=1,expires={},avg_ttl=0\ndb1:keys=1,expires={},avg_ttl=0\n",
                    u64::MAX,
                    u64::MAX
                ),
                "30.00",
                true,
            ),
            (
                format!("db0:keys=1,expires={min},avg_ttl=0\n"),
                "NaN",
                false,
            ),
            (
                format!("db0:keys=1,expires={min},avg_ttl=0\n"),
                "inf",
                false,
            ),
        ];
        for (keyspace, stale, want) in cases {
            let s = sample(&format!("{keyspace}expired_stale_perc:{stale}\n"), &[]);
            let f = fired(&s, None);
            assert_eq!(
                f.iter().any(|(id, _)| id == "RDS-CAP-01"),
                want,
                "{keyspace:?} {stale}: {f:?}"
            );
        }
    }

    #[test]
    fn rejections_are_judged_on_deltas_only() {
        let prev = sample("rejected_connections:2\n", &[]);
        let cur = sample("rejected_connections:5\n", &[]);
        assert!(has(&fired(&cur, Some(&prev)), "RDS-CONN-01", "CRIT"));
        assert!(!has(&fired(&cur, Some(&cur)), "RDS-CONN-01", "CRIT"));
        assert!(
            !has(&fired(&cur, None), "RDS-CONN-01", "CRIT"),
            "lifetime totals are not judged"
        );
    }

    #[test]
    fn client_headroom() {
        let cur = sample("connected_clients:3\nmaxclients:3\n", &[]);
        assert!(has(&fired(&cur, None), "RDS-CONN-02", "WARN"));
        let cur = sample("connected_clients:1\nmaxclients:10000\n", &[]);
        assert!(!has(&fired(&cur, None), "RDS-CONN-02", "WARN"));
    }

    #[test]
    fn replication_rules() {
        let down = sample(
            "role:slave\nmaster_link_status:down\nmaster_host:127.0.0.1\nmaster_port:6390\n",
            &[],
        );
        assert!(has(&fired(&down, None), "RDS-REP-01", "CRIT"));
        let lag = sample(
            "role:master\nmaster_repl_offset:5000\nrepl_backlog_size:1000\n\
             slave0:ip=127.0.0.1,port=6392,state=online,offset=4990,lag=30\n",
            &[],
        );
        assert!(has(&fired(&lag, None), "RDS-REP-02", "WARN"));
        let behind = sample(
            "role:master\nmaster_repl_offset:5000\nrepl_backlog_size:1000\n\
             slave0:ip=127.0.0.1,port=6392,state=online,offset=10,lag=0\n",
            &[],
        );
        assert!(
            has(&fired(&behind, None), "RDS-REP-02", "WARN"),
            "beyond the backlog"
        );
        let prev = sample("role:master\nsync_full:1\n", &[]);
        let cur = sample("role:master\nsync_full:2\n", &[]);
        assert!(has(&fired(&cur, Some(&prev)), "RDS-REP-03", "WARN"));
    }

    #[test]
    fn persistence_rules() {
        let cur = sample("rdb_last_bgsave_status:err\n", &[]);
        assert!(has(&fired(&cur, None), "RDS-PER-01", "CRIT"));
        let cur = sample("aof_last_write_status:err\n", &[]);
        assert!(has(&fired(&cur, None), "RDS-PER-02", "CRIT"));
        let cur = sample(
            "connected_slaves:1\n",
            &[("save", ""), ("appendonly", "no")],
        );
        assert!(has(&fired(&cur, None), "RDS-PER-03", "WARN"));
        let cur = sample(
            "rdb_last_save_time:1699990000\nrdb_changes_since_last_save:5\n",
            &[("save", "3600 1")],
        );
        assert!(has(&fired(&cur, None), "RDS-PER-04", "WARN"));
    }
}
