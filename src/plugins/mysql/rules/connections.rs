//! MYS-CONN-01 … 04 and MYS-LOAD-01: connection headroom, refusals, thread cache, saturation.

use super::{RuleInput, min_sample, pct};
use crate::model::{Finding, Severity};
use crate::plugins::mysql::connection::Flavor;
use crate::plugins::ratio::share_pct;

pub(super) fn check(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let s = input.cur;
    let max_conn = s.var_u64("max_connections").unwrap_or(0);
    let connected = input.status("threads_connected");
    let max_used = input.status("max_used_connections");

    // MYS-CONN-02: saturated now, or refusing connections.
    // MariaDB counts max_connections refusals in Aborted_connects (catalog, validated on 10.11).
    let refusal_counter = match s.flavor {
        Flavor::Mariadb => "aborted_connects",
        Flavor::Mysql => "connection_errors_max_connections",
    };
    let refusals = input.delta(refusal_counter).unwrap_or(0);
    let ratio = if max_conn > 0 {
        connected as f64 / max_conn as f64
    } else {
        0.0
    };
    if max_conn > 0 && (ratio >= input.th.connections_crit_ratio || refusals > 0) {
        out.push(
            Finding::new(
                "MYS-CONN-02",
                Severity::Critical,
                "connections",
                if refusals > 0 {
                    format!("{refusals} connection(s) refused or aborted since the last sample; {connected}/{max_conn} connected")
                } else {
                    format!("{connected} of max_connections {max_conn} connected ({:.0}%)", ratio * 100.0)
                },
                "Clients get ERROR 1040 (08004) Too many connections once every slot is taken (one extra \
                 is kept for SUPER / CONNECTION_ADMIN). On MariaDB the refusals show up in Aborted_connects.",
                "Find who holds the connections (processlist by user/host), kill idle leakers, lower \
                 wait_timeout for pools that leak (MYS-FIX-04), or raise max_connections if memory allows \
                 (MYS-FIX-03).",
            )
            .with("threads_connected", connected)
            .with("max_connections", max_conn)
            .with(refusal_counter, refusals)
            .with("threshold", format!("ratio ≥ {} (heur:) or any refusal", input.th.connections_crit_ratio)),
        );
    }

    // MYS-CONN-01: peak use since start.
    if max_conn > 0 && pct(max_used as f64, max_conn as f64) > 85.0 {
        out.push(
            Finding::new(
                "MYS-CONN-01",
                Severity::Warning,
                "connections",
                format!("peak connections {max_used} of {max_conn} ({:.0}%)", pct(max_used as f64, max_conn as f64)),
                "Since start the server came close to `Too many connections`.",
                "Raise max_connections (MYS-FIX-03) or lower wait_timeout/interactive_timeout and fix \
                 connection leaks in persistent pools (MYS-FIX-04).",
            )
            .with("max_used_connections", max_used)
            .with("max_connections", max_conn)
            .with("threshold", "> 85% (src: MySQLTuner pct_connections_used)"),
        );
    }

    // MYS-CONN-03: aborted connects share, from a minimum sample of connections on.
    let connections = input.status("connections");
    let aborted = input.status("aborted_connects");
    if let Some(share) = share_pct(aborted, connections, min_sample::CONNECTIONS)
        && share > 3.0
    {
        out.push(
            Finding::new(
                "MYS-CONN-03",
                Severity::Warning,
                "connections",
                format!("{share:.1}% of connection attempts aborted ({aborted} of {connections})"),
                "Bad credentials, network problems, connect timeouts — or, on MariaDB, refusals at \
                 max_connections.",
                "Check the error log for `Access denied` and the clients' hosts; FLUSH HOSTS (MYS-FIX-13) \
                 if a host is blocked after max_connect_errors.",
            )
            .with("aborted_connects", aborted)
            .with("connections", connections)
            .with("threshold", format!("> 3% (src: MySQLTuner) of ≥ {} connections", min_sample::CONNECTIONS)),
        );
    }

    // MYS-CONN-04: thread cache.
    let thread_pool = s.var("have_threadpool") == Some("YES")
        || s.var("thread_handling").is_some_and(|v| v.contains("pool"));
    if !thread_pool {
        let created = input.status("threads_created");
        if s.var_u64("thread_cache_size") == Some(0) {
            out.push(
                Finding::new(
                    "MYS-CONN-04",
                    Severity::Warning,
                    "connections",
                    "thread_cache_size = 0: a thread is created for every connection",
                    "Thread creation on every connect costs latency under connection churn.",
                    "Set thread_cache_size (MYS-FIX-07), e.g. 16 + max_connections/100.",
                )
                .with("thread_cache_size", 0)
                .with("threshold", "= 0 (src: MySQLTuner)"),
            );
        } else if let Some(created_share) = share_pct(created, connections, min_sample::CONNECTIONS)
            && 100.0 - created_share <= 50.0
        {
            out.push(
                Finding::new(
                    "MYS-CONN-04",
                    Severity::Info,
                    "connections",
                    format!("thread cache hit rate {:.0}%", 100.0 - created_share),
                    "Most connections still create a new thread.",
                    "Raise thread_cache_size (MYS-FIX-07).",
                )
                .with("threads_created", created)
                .with("connections", connections)
                .with("threshold", "hit rate ≤ 50% (src: MySQLTuner)"),
            );
        }
    }

    // MYS-LOAD-01: Threads_running above the threshold for several consecutive samples.
    let running = input.status("threads_running");
    if input.running_streak >= input.th.threads_running_samples.max(1) {
        out.push(
            Finding::new(
                "MYS-LOAD-01",
                Severity::Warning,
                "load",
                format!("{running} threads running for {} samples in a row", input.running_streak),
                "The server is saturated or piling up (lock convoy, I/O stall) — pt-stalk's trigger to \
                 collect diagnostics.",
                "Look at the processlist for what they run and wait on (metadata locks, row locks, disk).",
            )
            .with("threads_running", running)
            .with("consecutive_samples", input.running_streak as u64)
            .with("threshold", format!("> {} × {} samples (src: pt-stalk defaults)", input.th.threads_running, input.th.threads_running_samples)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fired, has, sample};
    use crate::plugins::mysql::connection::Flavor;

    #[test]
    fn refusals_are_read_from_the_flavor_counter() {
        let vars = [("max_connections", "10")];
        let prev = sample(
            &[
                ("Threads_connected", "3"),
                ("Aborted_connects", "0"),
                ("Connections", "1000"),
            ],
            &vars,
        );
        let mut cur = sample(
            &[
                ("Threads_connected", "3"),
                ("Aborted_connects", "4"),
                ("Connections", "1004"),
            ],
            &vars,
        );
        cur.at += 2.0;
        assert!(has(&fired(&cur, Some(&prev)), "MYS-CONN-02", "CRIT"));
        // MySQL counts them elsewhere: Aborted_connects alone is not a refusal there.
        let mut prev_m = prev.clone();
        prev_m.flavor = Flavor::Mysql;
        let mut cur_m = cur.clone();
        cur_m.flavor = Flavor::Mysql;
        assert!(!has(&fired(&cur_m, Some(&prev_m)), "MYS-CONN-02", "CRIT"));
    }

    #[test]
    fn saturation_peak_and_thread_cache() {
        let cur = sample(
            &[
                ("Threads_connected", "95"),
                ("Max_used_connections", "100"),
                ("Connections", "1000"),
                ("Threads_created", "900"),
            ],
            &[("max_connections", "100"), ("thread_cache_size", "8")],
        );
        let f = fired(&cur, None);
        assert!(has(&f, "MYS-CONN-02", "CRIT"), "{f:?}");
        assert!(has(&f, "MYS-CONN-01", "WARN"));
        assert!(has(&f, "MYS-CONN-04", "INFO"));
        let calm = sample(
            &[("Threads_connected", "5"), ("Max_used_connections", "20")],
            &[("max_connections", "100"), ("thread_cache_size", "8")],
        );
        assert!(fired(&calm, None).is_empty(), "{:?}", fired(&calm, None));
    }
}
