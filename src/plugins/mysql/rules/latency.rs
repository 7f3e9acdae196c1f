//! MYS-LAT-01 … 06: long statements, long and idle transactions, lock waits, metadata-lock
//! convoys, slow-query share, deadlocks.

use super::{RuleInput, min_sample};
use crate::model::{Finding, Severity};
use crate::plugins::ratio::share_pct;

pub(super) fn check(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let s = input.cur;
    let th = input.th;

    // MYS-LAT-01: the longest running statement (pt-kill's default victim is the oldest).
    if let Some(p) = s
        .sessions
        .iter()
        .filter(|p| {
            matches!(p.command.as_str(), "Query" | "Execute")
                && p.time_secs > th.long_query_warn_secs
        })
        .max_by_key(|p| p.time_secs)
    {
        let count = s
            .sessions
            .iter()
            .filter(|p| {
                matches!(p.command.as_str(), "Query" | "Execute")
                    && p.time_secs > th.long_query_warn_secs
            })
            .count();
        let severity = if p.time_secs > th.long_query_crit_secs {
            Severity::Critical
        } else {
            Severity::Warning
        };
        out.push(
            Finding::new(
                "MYS-LAT-01",
                severity,
                "latency",
                format!("statement running {} s (session {}, {}@{}){}", p.time_secs, p.id, p.user, p.host,
                    if count > 1 { format!(" — {count} statements over {} s", th.long_query_warn_secs) } else { String::new() }),
                "A runaway statement holds CPU, I/O and often locks that others queue behind.",
                "Check what it is (EXPLAIN); stop it with KILL QUERY (MYS-FIX-01) — its transaction stays \
                 open, so a blocker needs KILL <id> (MYS-FIX-02).",
            )
            .with("session_id", p.id)
            .with("time_secs", p.time_secs)
            .with("state", p.state.clone())
            .with("statement", p.info.clone().unwrap_or_default())
            .with("long_statements", count as u64)
            .with("threshold", format!("> {} s WARN (src: pt-kill --busy-time 60), > {} s CRIT (heur:)", th.long_query_warn_secs, th.long_query_crit_secs)),
        );
    }

    // MYS-LAT-02: long transactions, and sessions idle inside one.
    let idle: Vec<_> = s
        .transactions
        .iter()
        .filter(|t| t.query.is_none() && t.age_secs > th.idle_in_trx_secs)
        .filter(|t| {
            s.sessions
                .iter()
                .any(|p| p.id == t.thread_id && p.command == "Sleep")
        })
        .collect();
    let longest = s.transactions.iter().max_by_key(|t| t.age_secs);
    if let Some(t) = idle.iter().max_by_key(|t| t.age_secs) {
        out.push(
            Finding::new(
                "MYS-LAT-02",
                Severity::Warning,
                "latency",
                format!("session {} idle in a transaction for {} s ({} rows locked)", t.thread_id, t.age_secs, t.rows_locked),
                "An idle session that holds a transaction keeps its row locks and read view: others wait \
                 on it and purge cannot advance (history list grows, MYS-INNO-01).",
                "Find the client that left it open; KILL <id> (MYS-FIX-02) rolls it back and releases the \
                 locks — KILL QUERY does not (nothing is running).",
            )
            .with("session_id", t.thread_id)
            .with("age_secs", t.age_secs)
            .with("rows_locked", t.rows_locked)
            .with("rows_modified", t.rows_modified)
            .with("idle_sessions_in_transaction", idle.len() as u64)
            .with("threshold", format!("idle in trx > {} s (heur:)", th.idle_in_trx_secs)),
        );
    } else if let Some(t) = longest.filter(|t| t.age_secs > 3600) {
        out.push(
            Finding::new(
                "MYS-LAT-02",
                Severity::Warning,
                "latency",
                format!(
                    "transaction open for {} s (session {})",
                    t.age_secs, t.thread_id
                ),
                "A long transaction holds row locks and a read view, so purge cannot advance.",
                "Find out what the session does; commit or end it (MYS-FIX-02 as a last resort).",
            )
            .with("session_id", t.thread_id)
            .with("age_secs", t.age_secs)
            .with("threshold", "> 3600 s (src: MySQLTuner)"),
        );
    }

    // MYS-LAT-03: row-lock waits.
    if let Some(waits) = &s.lock_waits {
        let old: Vec<_> = waits
            .iter()
            .filter(|w| w.wait_secs > th.lock_wait_secs)
            .collect();
        if let Some(w) = old.iter().max_by_key(|w| w.wait_secs) {
            let same_blocker = waits
                .iter()
                .filter(|x| x.blocking_pid == w.blocking_pid)
                .count();
            let blocker_trx = s
                .transactions
                .iter()
                .find(|t| t.thread_id == w.blocking_pid);
            let idle = w.blocking_query.is_none();
            out.push(
                Finding::new(
                    "MYS-LAT-03",
                    if same_blocker > 5 { Severity::Critical } else { Severity::Warning },
                    "latency",
                    format!(
                        "session {} waits {} s for a row lock on {} held by session {}{}",
                        w.waiting_pid, w.wait_secs, w.table, w.blocking_pid,
                        if idle { " (idle in transaction)" } else { "" }
                    ),
                    "Row-lock waits end in ERROR 1205 after innodb_lock_wait_timeout; the blocker decides.",
                    if idle {
                        "The blocker runs nothing: KILL <blocker> (MYS-FIX-02) releases the lock; KILL QUERY would not."
                    } else {
                        "Let the blocker finish, or stop its statement (MYS-FIX-01) / its session (MYS-FIX-02)."
                    },
                )
                .with("waiting_pid", w.waiting_pid)
                .with("blocking_pid", w.blocking_pid)
                .with("wait_secs", w.wait_secs)
                .with("locked_table", w.table.clone())
                .with("blocker_idle", idle)
                .with("blocker_trx_age_secs", blocker_trx.map_or(0, |t| t.age_secs))
                .with("blocker_rows_modified", blocker_trx.map_or(0, |t| t.rows_modified))
                .with("waiters_on_blocker", same_blocker as u64)
                .with("threshold", format!("wait > {} s (heur:); CRIT with > 5 waiters on one blocker", th.lock_wait_secs)),
            );
        }
    }

    // MYS-LAT-04: metadata-lock convoy.
    let mdl: Vec<_> = s
        .sessions
        .iter()
        .filter(|p| p.state.contains("Waiting for table metadata lock"))
        .collect();
    if !mdl.is_empty() {
        let oldest_trx = s.transactions.iter().max_by_key(|t| t.age_secs);
        out.push(
            Finding::new(
                "MYS-LAT-04",
                Severity::Critical,
                "latency",
                format!("{} session(s) waiting for a table metadata lock", mdl.len()),
                "Typically DDL waits behind a long transaction, and every new query on that table queues \
                 behind the DDL: the table is effectively down.",
                "End the oldest transaction touching the table (MYS-FIX-02), or cancel the DDL.",
            )
            .with("waiting_sessions", mdl.iter().map(|p| p.id).collect::<Vec<_>>())
            .with("oldest_transaction_session", oldest_trx.map_or(0, |t| t.thread_id))
            .with("threshold", "any (heur:)"),
        );
    }

    // MYS-LAT-05: slow-query share, and a slow log that is off.
    let questions = input.status("questions");
    let slow = input.status("slow_queries");
    let slow_share = share_pct(slow, questions, min_sample::QUESTIONS);
    if let Some(share) = slow_share.filter(|share| *share > 5.0) {
        out.push(
            Finding::new(
                "MYS-LAT-05",
                Severity::Warning,
                "latency",
                format!("{share:.1}% of statements are slow queries"),
                "A large share of statements exceed long_query_time.",
                "Read the slow log / statement digests and fix the top statements.",
            )
            .with("slow_queries", slow)
            .with("questions", questions)
            .with(
                "threshold",
                format!(
                    "> 5% (src: MySQLTuner) of ≥ {} statements",
                    min_sample::QUESTIONS
                ),
            ),
        );
    } else if s.var_on("slow_query_log") == Some(false) {
        out.push(
            Finding::new(
                "MYS-LAT-05",
                Severity::Info,
                "latency",
                "the slow query log is off",
                "Without it slow statements leave no trace.",
                "Enable it with long_query_time = 1 (MYS-FIX-05).",
            )
            .with("slow_query_log", "OFF")
            .with("threshold", "slow_query_log=OFF (src: MySQLTuner)"),
        );
    }

    // MYS-LAT-06: deadlocks.
    if let (Some(d), Some(dt)) = (input.delta("innodb_deadlocks"), input.dt())
        && d > 0
    {
        let per_min = d as f64 / dt * 60.0;
        if per_min > th.deadlocks_per_min {
            out.push(
                Finding::new(
                    "MYS-LAT-06",
                    Severity::Warning,
                    "latency",
                    format!("{d} deadlock(s) since the last sample ({per_min:.1}/min)"),
                    "Transactions are rolled back with ERROR 1213.",
                    "Read LATEST DETECTED DEADLOCK in SHOW ENGINE INNODB STATUS; access rows in one order.",
                )
                .with("deadlocks", d)
                .with("threshold", format!("> {}/min (heur:)", th.deadlocks_per_min)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fired, has, sample};
    use crate::plugins::mysql::sample::{LockWait, Session, Transaction};

    #[test]
    fn long_statements_idle_blockers_and_convoys() {
        let mut s = sample(&[], &[("slow_query_log", "ON")]);
        s.sessions = vec![
            Session {
                id: 7,
                command: "Query".into(),
                time_secs: 700,
                info: Some("SELECT SLEEP(?)".into()),
                ..Session::default()
            },
            Session {
                id: 8,
                command: "Sleep".into(),
                time_secs: 90,
                ..Session::default()
            },
            Session {
                id: 9,
                command: "Query".into(),
                state: "Waiting for table metadata lock".into(),
                ..Session::default()
            },
        ];
        s.transactions = vec![Transaction {
            thread_id: 8,
            age_secs: 90,
            rows_locked: 1,
            ..Transaction::default()
        }];
        s.lock_waits = Some(vec![LockWait {
            wait_secs: 12,
            waiting_pid: 10,
            blocking_pid: 8,
            table: "`faults`.`t`".into(),
            ..LockWait::default()
        }]);
        let f = fired(&s, None);
        assert!(has(&f, "MYS-LAT-01", "CRIT"), "{f:?}");
        assert!(has(&f, "MYS-LAT-02", "WARN"));
        assert!(has(&f, "MYS-LAT-03", "WARN"));
        assert!(has(&f, "MYS-LAT-04", "CRIT"));
        s.sessions[0].time_secs = 61;
        assert!(has(&fired(&s, None), "MYS-LAT-01", "WARN"));
    }

    #[test]
    fn deadlocks_fire_on_the_delta_only() {
        let prev = sample(&[("Innodb_deadlocks", "3")], &[("slow_query_log", "ON")]);
        let mut cur = sample(&[("Innodb_deadlocks", "3")], &[("slow_query_log", "ON")]);
        cur.at += 2.0;
        assert!(!has(&fired(&cur, Some(&prev)), "MYS-LAT-06", "WARN"));
        cur.status.insert("innodb_deadlocks".into(), "4".into());
        assert!(has(&fired(&cur, Some(&prev)), "MYS-LAT-06", "WARN"));
        assert!(
            !has(&fired(&cur, None), "MYS-LAT-06", "WARN"),
            "no delta without a previous sample"
        );
    }
}
