//! RDS-MEM-01 … 12: memory limits, evictions, fragmentation, buffers.

use super::{RuleInput, round3};
use crate::model::{Finding, Severity};

const MB: u64 = 1024 * 1024;
/// MEMORY DOCTOR calls an instance under 5 MB "empty" and skips its ratio checks (`src:` `[R-OBJ]`).
const DOCTOR_EMPTY_BYTES: u64 = 5 * MB;

pub(super) fn check(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let info = &input.cur.info;
    let used = input.info_u64("used_memory");
    let maxmemory = input.info_u64("maxmemory");
    let policy = info.get("maxmemory_policy").unwrap_or("unknown");

    // RDS-MEM-01: writes rejected for memory.
    let oom_delta = input.error_delta("OOM").unwrap_or(0);
    let at_limit = policy == "noeviction" && maxmemory > 0 && used >= maxmemory;
    if oom_delta > 0 || at_limit {
        out.push(
            Finding::new(
                "RDS-MEM-01",
                Severity::Critical,
                "memory",
                format!(
                    "writes rejected: used_memory {} ≥ maxmemory {} with {policy}",
                    human(used),
                    human(maxmemory)
                ),
                "The instance is at maxmemory and the policy cannot evict, so every command flagged \
                 denyoom (SET, LPUSH, …) fails with -OOM. Reads still work.",
                "Free memory (delete or expire keys), raise maxmemory if the host has room, or — for a \
                 pure cache only — switch to an eviction policy (allkeys-lru evicts at once).",
            )
            .with("used_memory", used)
            .with("maxmemory", maxmemory)
            .with("maxmemory_policy", policy)
            .with("oom_errors_since_last_sample", oom_delta)
            .with("threshold", "any OOM error, or noeviction at the limit (src: server reply -OOM)"),
        );
    }

    // RDS-MEM-02: headroom.
    if maxmemory > 0 {
        let ratio = used as f64 / maxmemory as f64;
        let severity = if ratio >= input.th.memory_crit_ratio {
            Some(Severity::Critical)
        } else if ratio >= input.th.memory_warn_ratio {
            Some(Severity::Warning)
        } else {
            None
        };
        if let Some(severity) = severity {
            out.push(
                Finding::new(
                    "RDS-MEM-02",
                    severity,
                    "memory",
                    format!("memory {:.0}% of maxmemory", ratio * 100.0),
                    "Approaching the limit. With noeviction this is about to become RDS-MEM-01; with an \
                     eviction policy expect evictions and latency from eviction cycles.",
                    "Find what grew (big keys, missing TTLs), add memory or shard. Raise maxmemory only \
                     if the host has free RAM for it plus fork copy-on-write headroom.",
                )
                .with("used_memory", used)
                .with("maxmemory", maxmemory)
                .with("ratio", round3(ratio))
                .with(
                    "threshold",
                    format!(
                        "warn ≥ {}, crit ≥ {} (heur:)",
                        input.th.memory_warn_ratio, input.th.memory_crit_ratio
                    ),
                ),
            );
        }
    }

    // RDS-MEM-03: no limit on a host filling up.
    let rss = input.info_u64("used_memory_rss");
    let total = input.info_u64("total_system_memory");
    if maxmemory == 0 && total > 0 {
        let ratio = rss as f64 / total as f64;
        if ratio >= input.th.unbounded_rss_ratio {
            out.push(
                Finding::new(
                    "RDS-MEM-03",
                    Severity::Warning,
                    "memory",
                    format!("no maxmemory and RSS at {:.0}% of host memory", ratio * 100.0),
                    "Without a limit Redis grows until the kernel OOM killer or swap steps in.",
                    "Set maxmemory below the host's free memory (leave room for replica output buffers \
                     and fork copy-on-write).",
                )
                .with("used_memory_rss", rss)
                .with("total_system_memory", total)
                .with("ratio", round3(ratio))
                .with("threshold", format!("≥ {} (heur:)", input.th.unbounded_rss_ratio)),
            );
        }
    }

    // RDS-MEM-04: evictions.
    if let Some(evicted) = input.delta("evicted_keys").filter(|d| *d > 0) {
        let expected = input.is_cache && policy.starts_with("allkeys");
        out.push(
            Finding::new(
                "RDS-MEM-04",
                if expected { Severity::Info } else { Severity::Warning },
                "memory",
                format!("{evicted} keys evicted since the last sample ({policy})"),
                "Keys are being dropped to stay under maxmemory: expected for a cache, data loss for \
                 anything else.",
                "If this is not a disposable cache, stop evictions: add memory or reduce the dataset.",
            )
            .with("evicted_keys_delta", evicted)
            .with("maxmemory_policy", policy)
            .with("tagged_cache", input.is_cache),
        );
    }

    // RDS-MEM-05 … 08 follow MEMORY DOCTOR, which ignores near-empty instances.
    if used >= DOCTOR_EMPTY_BYTES {
        doctor_ratio_rules(input, out);
    }

    // RDS-MEM-09: swapping suspected.
    if used > 100 * MB && rss > 0 && (rss as f64 / used as f64) < 0.9 {
        out.push(
            Finding::new(
                "RDS-MEM-09",
                Severity::Critical,
                "memory",
                "RSS below used memory: part of Redis is swapped out",
                "When used >> rss, part of Redis memory has been swapped off; every access to a swapped \
                 page stalls the event loop.",
                "Reduce memory pressure on the host; disable swap for Redis hosts.",
            )
            .with("used_memory", used)
            .with("used_memory_rss", rss)
            .with("threshold", "rss/used < 0.9 with used > 100 MB (sem:)"),
        );
    }

    // RDS-MEM-10: client output buffers.
    let normal_clients = input
        .info_u64("connected_clients")
        .saturating_sub(input.info_u64("connected_slaves"));
    let avg = input.info_u64("mem_clients_normal") / normal_clients.max(1);
    let worst = input.cur.clients.max_omem;
    if avg > 200 * 1024 || worst > input.th.client_omem_bytes {
        out.push(
            Finding::new(
                "RDS-MEM-10",
                Severity::Warning,
                "memory",
                format!("large client output buffers (avg {} per client)", human(avg)),
                "Slow pub/sub consumers, huge replies or deep pipelines hold memory in output buffers.",
                "Find the client in CLIENT LIST (omem, cmd); fix the consumer or kill it (RDS-FIX-05).",
            )
            .with("avg_client_memory", avg)
            .with("max_omem", worst)
            .with(
                "max_omem_client",
                input.cur.clients.max_omem_client.clone().unwrap_or_default(),
            )
            .with("threshold", "avg > 200 KB (src: big_client_buf) or one client > limit (heur:)"),
        );
    }

    // RDS-MEM-11: replica buffers.
    let slaves_mem = input.info_u64("mem_clients_slaves");
    if input.info_u64("connected_slaves") > 0 && slaves_mem > 10 * MB {
        out.push(
            Finding::new(
                "RDS-MEM-11",
                Severity::Warning,
                "memory",
                format!("replica output buffers hold {}", human(slaves_mem)),
                "A replica is not draining data; it piles up on the master.",
                "Check the replica's network and load.",
            )
            .with("mem_clients_slaves", slaves_mem)
            .with("threshold", "> 10 MB (src: big_slave_buf)"),
        );
    }

    // RDS-MEM-12: script cache bloat.
    let scripts = input.info_u64("number_of_cached_scripts");
    if scripts > 1000 {
        out.push(
            Finding::new(
                "RDS-MEM-12",
                Severity::Warning,
                "memory",
                format!("{scripts} cached Lua scripts"),
                "Scripts are being generated and EVALed instead of parameterised and EVALSHAed.",
                "Parameterise scripts; use EVALSHA or functions.",
            )
            .with("number_of_cached_scripts", scripts)
            .with("threshold", "> 1000 (src: many_scripts)"),
        );
    }
}

fn doctor_ratio_rules(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let info = &input.cur.info;
    let ratio_rule = |ratio_key: &str, bytes_key: &str, min_ratio: f64| -> Option<(f64, u64)> {
        let ratio = info.f64(ratio_key)?;
        let bytes = info.u64(bytes_key).unwrap_or(0);
        (ratio > min_ratio && bytes > 10 * MB).then_some((ratio, bytes))
    };
    if let Some((ratio, bytes)) =
        ratio_rule("mem_fragmentation_ratio", "mem_fragmentation_bytes", 1.4)
    {
        out.push(
            Finding::new(
                "RDS-MEM-05",
                Severity::Warning,
                "memory",
                format!("fragmentation ratio {ratio:.2} ({} wasted)", human(bytes)),
                "RSS is much larger than logical use. Harmless if it comes from an old peak (RDS-MEM-07).",
                "Check allocator fragmentation; consider activedefrag (RDS-FIX-04).",
            )
            .with("mem_fragmentation_ratio", ratio)
            .with("mem_fragmentation_bytes", bytes)
            .with("threshold", "> 1.4 and > 10 MB (src: high_frag)"),
        );
    }
    if let Some((ratio, bytes)) = ratio_rule("allocator_frag_ratio", "allocator_frag_bytes", 1.1) {
        out.push(
            Finding::new(
                "RDS-MEM-06",
                Severity::Info,
                "memory",
                format!("allocator fragmentation {ratio:.2}"),
                "True external fragmentation inside the allocator.",
                "CONFIG SET activedefrag yes (jemalloc builds only).",
            )
            .with("allocator_frag_ratio", ratio)
            .with("allocator_frag_bytes", bytes)
            .with("threshold", "> 1.1 and > 10 MB (src: high_alloc_frag)"),
        );
    }
    let used = input.info_u64("used_memory");
    let peak = input.info_u64("used_memory_peak");
    if used > 0 && peak as f64 / used as f64 > 1.5 {
        out.push(
            Finding::new(
                "RDS-MEM-07",
                Severity::Info,
                "memory",
                format!(
                    "peak memory {} is {:.1}× current",
                    human(peak),
                    peak as f64 / used as f64
                ),
                "The allocator rarely returns memory after a peak, so RSS stays high.",
                "MEMORY PURGE may reclaim some (RDS-FIX-03); otherwise harmless.",
            )
            .with("used_memory_peak", peak)
            .with("used_memory", used)
            .with("threshold", "> 1.5 (src: big_peak)"),
        );
    }
    let rss_rule = ratio_rule("allocator_rss_ratio", "allocator_rss_bytes", 1.1)
        .map(|v| ("allocator_rss", v))
        .or_else(|| {
            ratio_rule("rss_overhead_ratio", "rss_overhead_bytes", 1.1).map(|v| ("rss_overhead", v))
        });
    if let Some((which, (ratio, bytes))) = rss_rule {
        out.push(
            Finding::new(
                "RDS-MEM-08",
                Severity::Info,
                "memory",
                format!("{which} ratio {ratio:.2} ({} overhead)", human(bytes)),
                "Allocator-held pages or non-allocator RSS (Lua, modules).",
                "Try MEMORY PURGE (RDS-FIX-03).",
            )
            .with(&format!("{which}_ratio"), ratio)
            .with(&format!("{which}_bytes"), bytes)
            .with(
                "threshold",
                "> 1.1 and > 10 MB (src: high_alloc_rss/high_proc_rss)",
            ),
        );
    }
}

/// Bytes for titles.
pub(super) fn human(bytes: u64) -> String {
    crate::model::Unit::Bytes.format(bytes as f64)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fired, has, sample};

    #[test]
    fn oom_at_the_limit_with_noeviction_is_critical() {
        let cur = sample(
            "used_memory:19639000\nmaxmemory:5242880\nmaxmemory_policy:noeviction\n",
            &[],
        );
        let f = fired(&cur, None);
        assert!(has(&f, "RDS-MEM-01", "CRIT"), "{f:?}");
        assert!(has(&f, "RDS-MEM-02", "CRIT"), "{f:?}");
    }

    #[test]
    fn oom_errors_between_samples_fire_even_below_the_limit() {
        let info = "used_memory:100\nmaxmemory:1000\nmaxmemory_policy:allkeys-lru\n";
        let prev = sample(info, &[]);
        let cur = sample(&format!("{info}errorstat_OOM:count=2\n"), &[]);
        assert!(has(&fired(&cur, Some(&prev)), "RDS-MEM-01", "CRIT"));
        assert!(
            !has(&fired(&cur, None), "RDS-MEM-01", "CRIT"),
            "no delta, no finding"
        );
    }

    #[test]
    fn headroom_thresholds_are_inclusive_table() {
        let cases = [
            (899, None),
            (900, Some("WARN")),
            (979, Some("WARN")),
            (980, Some("CRIT")),
        ];
        for (used, want) in cases {
            let cur = sample(
                &format!("used_memory:{used}\nmaxmemory:1000\nmaxmemory_policy:allkeys-lru\n"),
                &[],
            );
            let f = fired(&cur, None);
            let got = f.iter().find(|(id, _)| id == "RDS-MEM-02").map(|(_, t)| *t);
            assert_eq!(got, want, "used={used}");
        }
    }

    #[test]
    fn evictions_warn_unless_a_tagged_cache() {
        let prev = sample("evicted_keys:10\nmaxmemory_policy:allkeys-lru\n", &[]);
        let cur = sample("evicted_keys:8922\nmaxmemory_policy:allkeys-lru\n", &[]);
        assert!(has(&fired(&cur, Some(&prev)), "RDS-MEM-04", "WARN"));
        // A later line wins, so this uptime (1 s) is below the previous sample's (100 s).
        let restarted = sample("uptime_in_seconds:1\nevicted_keys:8922\n", &[]);
        assert!(
            !has(&fired(&restarted, Some(&prev)), "RDS-MEM-04", "WARN"),
            "restart → unknown delta"
        );
    }

    #[test]
    fn fragmentation_needs_both_ratio_and_bytes() {
        let big =
            "used_memory:52428800\nmem_fragmentation_ratio:1.6\nmem_fragmentation_bytes:31457280\n";
        assert!(has(&fired(&sample(big, &[]), None), "RDS-MEM-05", "WARN"));
        let small =
            "used_memory:52428800\nmem_fragmentation_ratio:3.0\nmem_fragmentation_bytes:1000\n";
        assert!(!has(
            &fired(&sample(small, &[]), None),
            "RDS-MEM-05",
            "WARN"
        ));
        let empty =
            "used_memory:1000000\nmem_fragmentation_ratio:9\nmem_fragmentation_bytes:99999999\n";
        assert!(
            !has(&fired(&sample(empty, &[]), None), "RDS-MEM-05", "WARN"),
            "near-empty skipped"
        );
    }

    #[test]
    fn unbounded_memory_and_swap() {
        let nolimit = "maxmemory:0\nused_memory_rss:800\ntotal_system_memory:1000\n";
        assert!(has(
            &fired(&sample(nolimit, &[]), None),
            "RDS-MEM-03",
            "WARN"
        ));
        let swap = "used_memory:209715200\nused_memory_rss:104857600\n";
        assert!(has(&fired(&sample(swap, &[]), None), "RDS-MEM-09", "CRIT"));
    }
}
