//! MYS-MEM-02 … 05, MYS-INNO-01/02, MYS-DUR-01 … 04, MYS-CAP-01/02: buffer pool, temp tables,
//! table cache, purge and redo pressure, durability settings, binlog retention, uptime.

use super::{RuleInput, min_sample, pct};
use crate::model::{Finding, Severity};
use crate::plugins::ratio::share_pct;

pub(super) fn check(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let s = input.cur;

    // MYS-MEM-02: buffer-pool read efficiency — over the interval when there is one.
    let (req, reads) = match (
        input.delta("innodb_buffer_pool_read_requests"),
        input.delta("innodb_buffer_pool_reads"),
    ) {
        (Some(q), Some(r)) => (q, r),
        _ => (
            input.status("innodb_buffer_pool_read_requests"),
            input.status("innodb_buffer_pool_reads"),
        ),
    };
    if let Some(eff) = share_pct(
        req,
        req.saturating_add(reads),
        min_sample::BUFFER_POOL_READS,
    ) && eff < 90.0
    {
        out.push(
            Finding::new(
                "MYS-MEM-02",
                Severity::Warning,
                "memory",
                format!("buffer pool read efficiency {eff:.1}%"),
                "Too many reads miss the buffer pool and go to disk: the working set does not fit in \
                 innodb_buffer_pool_size.",
                "Raise innodb_buffer_pool_size if the host has RAM (MYS-FIX-06), or reduce the working set.",
            )
            .with("read_requests", req)
            .with("disk_reads", reads)
            .with("innodb_buffer_pool_size", s.var_u64("innodb_buffer_pool_size").unwrap_or(0))
            .with("threshold", "< 90% (src: MySQLTuner)"),
        );
    }

    // MYS-MEM-03: free-page waits.
    if let Some(d) = input
        .delta("innodb_buffer_pool_wait_free")
        .filter(|d| *d > 0)
    {
        out.push(
            Finding::new(
                "MYS-MEM-03",
                Severity::Warning,
                "memory",
                format!("{d} buffer-pool free-page waits since the last sample"),
                "InnoDB is experiencing I/O pressure: the page cleaner cannot keep up.",
                "Raise innodb_io_capacity(_max) or check the disk.",
            )
            .with("innodb_buffer_pool_wait_free", d)
            .with("threshold", "> 0 (src: MySQLTuner)"),
        );
    }

    // MYS-MEM-04: temp tables on disk.
    let tmp = input.status("created_tmp_tables");
    let tmp_disk = input.status("created_tmp_disk_tables");
    if let Some(on_disk) = share_pct(tmp_disk, tmp, min_sample::TMP_TABLES)
        && on_disk > 25.0
    {
        out.push(
            Finding::new(
                "MYS-MEM-04",
                Severity::Warning,
                "memory",
                format!("{on_disk:.0}% of temporary tables went to disk"),
                "Large sorts, DISTINCT or GROUP BY spill to disk.",
                "Raise tmp_table_size = max_heap_table_size if under 256 MB (MYS-FIX-07), or fix the queries.",
            )
            .with("created_tmp_disk_tables", tmp_disk)
            .with("created_tmp_tables", tmp)
            .with("threshold", "> 25% (src: MySQLTuner)"),
        );
    }

    // MYS-MEM-05: table cache and open files.
    let hits = input.status("table_open_cache_hits");
    let misses = input.status("table_open_cache_misses");
    if let Some(hit_rate) = share_pct(hits, hits.saturating_add(misses), min_sample::TABLE_OPENS)
        && hit_rate < 20.0
    {
        out.push(
            Finding::new(
                "MYS-MEM-05",
                Severity::Info,
                "memory",
                format!("table cache hit rate {hit_rate:.0}%"),
                "Tables are reopened again and again.",
                "Raise table_open_cache (MYS-FIX-07).",
            )
            .with("table_open_cache_hits", hits)
            .with("table_open_cache_misses", misses)
            .with("threshold", "< 20% (src: MySQLTuner)"),
        );
    }
    if let Some(limit) = s.var_u64("open_files_limit").filter(|l| *l > 0) {
        let open = input.status("open_files");
        if pct(open as f64, limit as f64) > 85.0 {
            out.push(
                Finding::new(
                    "MYS-MEM-05",
                    Severity::Warning,
                    "memory",
                    format!("{open} of open_files_limit {limit} files open"),
                    "At the limit the server cannot open tables or accept connections.",
                    "Raise open_files_limit (restart) and LimitNOFILE of the service.",
                )
                .with("open_files", open)
                .with("open_files_limit", limit)
                .with("threshold", "> 85% (src: MySQLTuner)"),
            );
        }
    }

    // MYS-INNO-01: purge lag.
    if let Some(h) = s.history_list_length.filter(|h| *h > 100_000) {
        out.push(
            Finding::new(
                "MYS-INNO-01",
                Severity::Warning,
                "innodb",
                format!("history list length {h}"),
                "Purge is behind: old row versions pile up, scans slow down and the undo space grows.",
                "Look for long transactions first (MYS-LAT-02).",
            )
            .with("history_list_length", h)
            .with("threshold", "> 100000 (src: MySQLTuner)"),
        );
    }

    // MYS-INNO-02: redo log waits.
    if let Some(d) = input.delta("innodb_log_waits").filter(|d| *d > 0) {
        out.push(
            Finding::new(
                "MYS-INNO-02",
                Severity::Warning,
                "innodb",
                format!("{d} redo log waits since the last sample"),
                "Transactions wait for space in the log buffer.",
                "Raise innodb_log_buffer_size.",
            )
            .with("innodb_log_waits", d)
            .with("threshold", "any (src: MySQLTuner)"),
        );
    }

    // MYS-DUR-01 … 04: durability.
    if let Some(v) = s
        .var_u64("innodb_flush_log_at_trx_commit")
        .filter(|v| *v != 1)
    {
        out.push(
            Finding::new(
                "MYS-DUR-01",
                Severity::Warning,
                "durability",
                format!("innodb_flush_log_at_trx_commit = {v}"),
                "Not ACID on a crash: up to about a second of committed transactions can be lost.",
                "Set it to 1 unless losing that is acceptable (MYS-FIX-15).",
            )
            .with("innodb_flush_log_at_trx_commit", v)
            .with("threshold", "≠ 1 (src: pt-variable-advisor)"),
        );
    }
    if s.var_on("log_bin") == Some(true)
        && let Some(v) = s.var_u64("sync_binlog").filter(|v| *v != 1)
    {
        out.push(
            Finding::new(
                "MYS-DUR-02",
                Severity::Warning,
                "durability",
                format!("binary log on with sync_binlog = {v}"),
                "The binlog is not synced per commit: replicas and point-in-time recovery can diverge \
                 after a crash.",
                "Set sync_binlog = 1 (MYS-FIX-15).",
            )
            .with("sync_binlog", v)
            .with("threshold", "log_bin=ON and sync_binlog ≠ 1 (src: pt-variable-advisor)"),
        );
    }
    if let Some(v) = s.var_u64("innodb_force_recovery").filter(|v| *v > 0) {
        out.push(
            Finding::new(
                "MYS-DUR-03",
                Severity::Critical,
                "durability",
                format!("running with innodb_force_recovery = {v}"),
                "Forced-recovery mode is for salvaging data: writes may be refused and data may be \
                 inconsistent.",
                "Dump what you need and restart without innodb_force_recovery.",
            )
            .with("innodb_force_recovery", v)
            .with(
                "threshold",
                "> 0 (src: pt-variable-advisor, raised to CRIT)",
            ),
        );
    }
    for key in ["innodb_doublewrite", "innodb_checksums"] {
        if s.var_on(key) == Some(false) {
            out.push(
                Finding::new(
                    "MYS-DUR-04",
                    Severity::Warning,
                    "durability",
                    format!("{key} = OFF"),
                    "Torn pages and corruption are not protected against.",
                    format!("Turn {key} back on (restart)."),
                )
                .with(key, "OFF")
                .with("threshold", "OFF (src: pt-variable-advisor)"),
            );
        }
    }

    // MYS-CAP-01: binlog retention unbounded.
    if s.var_on("log_bin") == Some(true) {
        let secs = s.var_u64("binlog_expire_logs_seconds").unwrap_or(0);
        let days = s
            .var("expire_logs_days")
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        if secs == 0 && days == 0.0 {
            out.push(
                Finding::new(
                    "MYS-CAP-01",
                    Severity::Warning,
                    "capacity",
                    "binary logs are never expired",
                    "The disk fills with binlogs.",
                    "Set binlog_expire_logs_seconds; purge only what every replica has read (MYS-FIX-14).",
                )
                .with("binlog_expire_logs_seconds", secs)
                .with("expire_logs_days", days)
                .with("threshold", "both 0 (heur:)"),
            );
        }
    }

    // MYS-CAP-02: young server, ratios unreliable.
    if let Some(up) = s.status_u64("uptime").filter(|u| *u < 86_400) {
        out.push(
            Finding::new(
                "MYS-CAP-02",
                Severity::Info,
                "capacity",
                format!("server up for {} h only", up / 3600),
                "Ratio-based rules read counters since start and are unreliable for a young server.",
                "Weight the delta-based findings more.",
            )
            .with("uptime_secs", up)
            .with("threshold", "< 24 h (src: MySQLTuner)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fired, has, sample};

    #[test]
    fn durability_and_capacity_rules_read_variables() {
        let s = sample(
            &[("Uptime", "3600")],
            &[
                ("innodb_flush_log_at_trx_commit", "2"),
                ("log_bin", "ON"),
                ("sync_binlog", "0"),
                ("binlog_expire_logs_seconds", "0"),
                ("expire_logs_days", "0"),
                ("innodb_doublewrite", "OFF"),
                ("slow_query_log", "ON"),
            ],
        );
        let f = fired(&s, None);
        for (id, tag) in [
            ("MYS-DUR-01", "WARN"),
            ("MYS-DUR-02", "WARN"),
            ("MYS-DUR-04", "WARN"),
            ("MYS-CAP-01", "WARN"),
            ("MYS-CAP-02", "INFO"),
        ] {
            assert!(has(&f, id, tag), "{id} {f:?}");
        }
    }

    #[test]
    fn buffer_pool_efficiency_uses_the_interval() {
        let vars = [("slow_query_log", "ON")];
        let prev = sample(
            &[
                ("Innodb_buffer_pool_read_requests", "1000000"),
                ("Innodb_buffer_pool_reads", "10"),
            ],
            &vars,
        );
        let mut cur = sample(
            &[
                ("Innodb_buffer_pool_read_requests", "1020000"),
                ("Innodb_buffer_pool_reads", "5010"),
            ],
            &vars,
        );
        cur.at += 2.0;
        // Lifetime efficiency is 99.5%, but in this interval 20000 of 25000 reads hit: 80%.
        assert!(has(&fired(&cur, Some(&prev)), "MYS-MEM-02", "WARN"));
        assert!(!has(&fired(&cur, None), "MYS-MEM-02", "WARN"));
    }
}
