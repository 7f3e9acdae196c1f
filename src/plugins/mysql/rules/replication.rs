//! MYS-REP-01 … 06: replica threads, lag (NULL is broken, never 0), writable replicas,
//! skipped errors, GTID gaps, slow dead-source detection.

use super::RuleInput;
use crate::model::{Finding, Severity};

pub(super) fn check(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let s = input.cur;
    for ch in s.replica.iter().flatten() {
        let io_ok = ch.io_running.eq_ignore_ascii_case("yes");
        let sql_ok = ch.sql_running.eq_ignore_ascii_case("yes");
        if !io_ok || !sql_ok {
            let error = if !ch.last_sql_error.is_empty() {
                &ch.last_sql_error
            } else {
                &ch.last_io_error
            };
            out.push(
                Finding::new(
                    "MYS-REP-01",
                    Severity::Critical,
                    "replication",
                    format!("replication from {} stopped: IO {} / SQL {}", ch.source, ch.io_running, ch.sql_running),
                    "The replica no longer applies the source's changes: reads from it go stale and a \
                     failover to it loses data.",
                    if ch.last_sql_errno == 1062 || ch.last_sql_errno == 1032 {
                        "A row differs from the source (often a local write on the replica): fix the row \
                         without binlogging and restart the SQL thread (MYS-FIX-08, manual); skipping the \
                         event (MYS-FIX-09) drops a transaction."
                    } else {
                        "Read Last_IO_Error / Last_SQL_Error, fix the cause, then START REPLICA."
                    },
                )
                .with("source", ch.source.clone())
                .with("io_running", ch.io_running.clone())
                .with("sql_running", ch.sql_running.clone())
                .with("last_sql_errno", ch.last_sql_errno)
                .with("last_error", error.clone())
                .with("threshold", "IO or SQL thread ≠ Yes (src: MySQLTuner)"),
            );
        }
        match ch.lag_secs {
            None => out.push(
                Finding::new(
                    "MYS-REP-02",
                    Severity::Critical,
                    "replication",
                    format!("replica lag from {} is NULL (unknown — replication broken)", ch.source),
                    "Seconds_Behind_Source is NULL when a replication thread is not running: the lag is \
                     unknown, not zero.",
                    "See MYS-REP-01.",
                )
                .with("seconds_behind", serde_json::Value::Null)
                .with("threshold", "NULL → CRIT (src: MySQLTuner)"),
            ),
            Some(lag) if lag > input.th.replica_lag_warn_secs => out.push(
                Finding::new(
                    "MYS-REP-02",
                    Severity::Warning,
                    "replication",
                    format!("replica {lag} s behind {}", ch.source),
                    "Reads from the replica are stale by that much.",
                    if io_ok && sql_ok {
                        "Both threads run: the applier is the bottleneck (parallel replication, big transactions)."
                    } else {
                        "See MYS-REP-01."
                    },
                )
                .with("seconds_behind", lag)
                .with("threshold", format!("> {} s (src: MySQLTuner bands)", input.th.replica_lag_warn_secs)),
            ),
            Some(lag) if lag > 0 => out.push(
                Finding::new("MYS-REP-02", Severity::Info, "replication", format!("replica {lag} s behind {}", ch.source),
                    "A small lag.", "Watch the trend.")
                    .with("seconds_behind", lag)
                    .with("threshold", "> 0 s INFO (src: MySQLTuner)"),
            ),
            _ => {}
        }
        if gtid_has_gaps(&ch.executed_gtid_set) {
            out.push(
                Finding::new(
                    "MYS-REP-05",
                    Severity::Warning,
                    "replication",
                    "gaps in Executed_Gtid_Set",
                    "Transactions of the source are missing on this replica: a consistency risk.",
                    "Check with pt-table-checksum before trusting this replica.",
                )
                .with("executed_gtid_set", ch.executed_gtid_set.clone())
                .with("threshold", "any gap (src: MySQLTuner)"),
            );
        }
    }
    if s.is_replica() {
        if s.var_on("read_only") == Some(false) {
            out.push(
                Finding::new(
                    "MYS-REP-03",
                    Severity::Warning,
                    "replication",
                    "replica is writable (read_only = OFF)",
                    "Local writes on a replica break replication exactly like a 1062 duplicate-key stop.",
                    "SET GLOBAL read_only = ON (MYS-FIX-10).",
                )
                .with("read_only", "OFF")
                .with("threshold", "replica with read_only=OFF (src: MySQLTuner)"),
            );
        }
        if let Some(t) = s.var_u64("slave_net_timeout").filter(|t| *t > 60) {
            out.push(
                Finding::new(
                    "MYS-REP-06",
                    Severity::Info,
                    "replication",
                    format!("slave_net_timeout = {t} s"),
                    "A dead source is detected slowly.",
                    "Lower slave_net_timeout to 60 or less.",
                )
                .with("slave_net_timeout", t)
                .with("threshold", "> 60 (src: pt-variable-advisor)"),
            );
        }
    }
    for key in ["slave_skip_errors", "replica_skip_errors"] {
        if let Some(v) = s
            .var(key)
            .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("OFF"))
        {
            out.push(
                Finding::new(
                    "MYS-REP-04",
                    Severity::Critical,
                    "replication",
                    format!("{key} = {v}"),
                    "Replication errors are skipped silently, so the replica's data differs from the source.",
                    "Remove the setting (restart) and re-sync the replica.",
                )
                .with(key, v)
                .with("threshold", "≠ OFF (src: pt-variable-advisor, crit)"),
            );
            break;
        }
    }
}

/// `uuid:1-5:7-9` has a gap (6); several uuids are separated by commas.
fn gtid_has_gaps(set: &str) -> bool {
    set.split(',').any(|part| {
        let ranges: Vec<(u64, u64)> = part
            .trim()
            .split(':')
            .skip(1)
            .filter_map(|r| {
                let mut it = r.split('-');
                let a = it.next()?.trim().parse().ok()?;
                let b = it.next().map_or(Some(a), |b| b.trim().parse().ok())?;
                Some((a, b))
            })
            .collect();
        ranges.windows(2).any(|w| w[1].0 > w[0].1.saturating_add(1))
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fired, has, sample};
    use super::gtid_has_gaps;
    use crate::plugins::mysql::sample::ReplicaChannel;

    #[test]
    fn a_stopped_sql_thread_is_critical_and_null_lag_is_never_zero() {
        let mut s = sample(&[], &[("read_only", "OFF"), ("slow_query_log", "ON")]);
        s.replica = Some(vec![ReplicaChannel {
            source: "127.0.0.1:3399".into(),
            io_running: "Yes".into(),
            sql_running: "No".into(),
            lag_secs: None,
            last_sql_errno: 1062,
            last_sql_error: "Duplicate entry '100' for key 'PRIMARY'".into(),
            ..ReplicaChannel::default()
        }]);
        let f = fired(&s, None);
        assert!(
            has(&f, "MYS-REP-01", "CRIT")
                && has(&f, "MYS-REP-02", "CRIT")
                && has(&f, "MYS-REP-03", "WARN"),
            "{f:?}"
        );
        let ch = &mut s.replica.as_mut().unwrap()[0];
        ch.sql_running = "Yes".into();
        ch.lag_secs = Some(0);
        let f = fired(&s, None);
        assert!(
            !f.iter()
                .any(|(i, _)| i == "MYS-REP-01" || i == "MYS-REP-02"),
            "{f:?}"
        );
    }

    #[test]
    fn gtid_gaps() {
        assert!(gtid_has_gaps(
            "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7-9"
        ));
        assert!(!gtid_has_gaps(
            "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-9, 4a:1-3"
        ));
        assert!(!gtid_has_gaps(""));
    }
}
