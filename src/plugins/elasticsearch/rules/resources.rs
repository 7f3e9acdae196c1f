//! ES-J-01/02/04, ES-T-01, ES-N-01 … 03, ES-S-01 … 03: heap pressure, GC overhead, breaker
//! trips, thread-pool rejections, CPU, file descriptors, master-eligible nodes, shard sizes and
//! counts, indices without replicas.

use super::RuleInput;
use crate::model::{Finding, Severity};

const GB: u64 = 1 << 30;

/// Requests (rejected + completed) in the interval before ES-T-01 escalates to CRIT on the
/// rejected share: 1 rejected of 1 is 100 % and says nothing (`crate::plugins::ratio`).
pub const MIN_REQUESTS_FOR_REJECTED_SHARE: u64 = 100;

/// Wall time between two samples before ES-J-02 judges the GC share of it: over a few
/// milliseconds one young collection is "50 %" (Elasticsearch's own monitor looks at ≥ 1 s).
pub const MIN_GC_WINDOW_SECS: f64 = 1.0;

pub(super) fn check(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let s = input.cur;
    for n in &s.nodes {
        let prev = input.prev_node(n);
        // ES-J-01: memory pressure, sustained (this sample and the one before).
        let pressure = n.old_pool_pct.or(n.heap_used_pct);
        let before = prev.and_then(|p| p.old_pool_pct.or(p.heap_used_pct));
        if let (Some(now), Some(before)) = (pressure, before) {
            let low = now.min(before);
            if low > input.th.heap_warn_pct {
                out.push(
                    Finding::new("ES-J-01", if low >= input.th.heap_crit_pct { Severity::Critical } else { Severity::Warning }, "jvm",
                        format!("node {} JVM memory pressure {now:.0}% (was {before:.0}%)", n.name),
                        "GC gets more frequent and longer, then requests trip the parent circuit breaker (HTTP 429).",
                        "Find the heavy aggregations or fielddata on text fields; clear the fielddata cache briefly (ES-FIX-08).")
                        .with("node", n.name.clone()).with("pressure_pct", now.round())
                        .with("threshold", format!("> {}% sustained WARN, ≥ {}% CRIT (src: Elastic JVM memory pressure docs)", input.th.heap_warn_pct, input.th.heap_crit_pct)),
                );
            }
        }
        let (Some(p), Some(dt)) = (prev, input.dt()) else {
            continue;
        };
        // ES-J-02: GC overhead, over a long enough window.
        let overhead = n.gc_millis.saturating_sub(p.gc_millis) as f64 / (dt * 1000.0) * 100.0;
        if dt >= MIN_GC_WINDOW_SECS
            && overhead.is_finite()
            && overhead > input.th.gc_overhead_warn_pct
        {
            out.push(
                Finding::new("ES-J-02", if overhead > input.th.gc_overhead_crit_pct { Severity::Critical } else { Severity::Warning }, "jvm",
                    format!("node {} spends {overhead:.0}% of its time in GC", n.name),
                    "Elasticsearch logs the same as `[gc] overhead, spent [..] collecting in the last [..]`.",
                    "Reduce heap pressure (ES-J-01).")
                    .with("node", n.name.clone()).with("gc_overhead_pct", overhead.round())
                    .with("threshold", format!("> {}% WARN, > {}% CRIT (src: monitor.jvm.gc.overhead)", input.th.gc_overhead_warn_pct, input.th.gc_overhead_crit_pct)),
            );
        }
        // ES-J-04: breaker trips.
        for (name, tripped) in &n.breakers {
            let was = p
                .breakers
                .iter()
                .find(|(b, _)| b == name)
                .map_or(0, |(_, t)| *t);
            if *tripped > was {
                out.push(
                    Finding::new("ES-J-04", Severity::Warning, "jvm",
                        format!("node {}: the {name} circuit breaker tripped {} time(s)", n.name, tripped - was),
                        "Requests were refused with circuit_breaking_exception (HTTP 429) to protect the heap.",
                        "Find the requests that need so much memory; do not raise indices.breaker.* (manual only).")
                        .with("node", n.name.clone()).with("breaker", name.clone()).with("tripped", tripped - was)
                        .with("threshold", "any (src: breaker tripped counters)"),
                );
            }
        }
        // ES-T-01: rejections.
        for (pool, rejected, completed, _) in &n.thread_pools {
            let Some((_, r0, c0, _)) = p.thread_pools.iter().find(|(x, ..)| x == pool) else {
                continue;
            };
            let dr = rejected.saturating_sub(*r0);
            if dr == 0 {
                continue;
            }
            let dc = completed.saturating_sub(*c0);
            let important = matches!(pool.as_str(), "write" | "search" | "get");
            let share = crate::plugins::ratio::share_pct(
                dr,
                dr.saturating_add(dc),
                MIN_REQUESTS_FOR_REJECTED_SHARE,
            );
            let severity = if !important {
                Severity::Info
            } else if share.is_some_and(|pct| pct > input.th.rejected_crit_pct) {
                Severity::Critical
            } else {
                Severity::Warning
            };
            out.push(
                Finding::new("ES-T-01", severity, "threads",
                    format!("node {}: {dr} {pool} request(s) rejected since the last sample", n.name),
                    "Clients got HTTP 429 es_rejected_execution_exception: the queue was full.",
                    "Fix the cause (a hot spot, CPU, JVM pressure), not the queue size (manual only).")
                    .with("node", n.name.clone()).with("pool", pool.clone()).with("rejected", dr).with("completed", dc)
                    .with("threshold", format!("any on write/search/get; CRIT above {}% of ≥ {MIN_REQUESTS_FOR_REJECTED_SHARE} requests (heur:)", input.th.rejected_crit_pct)),
            );
        }
        // ES-N-01: CPU, sustained.
        if let (Some(c), Some(c0)) = (n.cpu_pct, p.cpu_pct)
            && c >= 90.0
            && c0 >= 90.0
        {
            out.push(
                Finding::new(
                    "ES-N-01",
                    Severity::Warning,
                    "nodes",
                    format!("node {} CPU {c:.0}%", n.name),
                    "The node is CPU-bound.",
                    "Look at GET _nodes/hot_threads and GET _tasks.",
                )
                .with("node", n.name.clone())
                .with("cpu_pct", c)
                .with("threshold", "≥ 90% sustained (heur:)"),
            );
        }
    }
    // ES-N-02: file descriptors.
    for n in &s.nodes {
        if let (Some(open), Some(max)) = (n.open_fds, n.max_fds)
            && (max < 65_535 || open as f64 / max as f64 > 0.9)
        {
            out.push(
                Finding::new(
                    "ES-N-02",
                    Severity::Warning,
                    "nodes",
                    format!("node {}: {open} of {max} file descriptors", n.name),
                    "Lucene keeps many files open; running out crashes shards.",
                    "Raise the limit to at least 65535 (LimitNOFILE / ulimit -n).",
                )
                .with("node", n.name.clone())
                .with("open_file_descriptors", open)
                .with("max_file_descriptors", max)
                .with(
                    "threshold",
                    "max < 65535 (src: bootstrap check) or > 90% used (heur:)",
                ),
            );
        }
    }
    // ES-N-03: master-eligible nodes.
    let nodes = s.health_u64("number_of_nodes");
    if let Some(m) = s.master_eligible
        && nodes > 1
        && m < 3
    {
        out.push(
            Finding::new("ES-N-03", if m <= 1 { Severity::Critical } else { Severity::Warning }, "nodes",
                format!("{m} master-eligible node(s) in a {nodes}-node cluster"),
                "With one master-eligible node, losing it stops the cluster; with two, losing either may.",
                "Run at least three master-eligible nodes.")
                .with("master_eligible", m as u64).with("number_of_nodes", nodes)
                .with("threshold", "< 3 (src: Elastic resilience guidance)"),
        );
    }
    // ES-S-01 … 03: shards.
    for i in &s.indices {
        if i.primaries == 0 {
            continue;
        }
        let per_shard = i.primary_store / i.primaries;
        let docs_per_shard = i.docs / i.primaries;
        if per_shard > 50 * GB || docs_per_shard > 200_000_000 {
            out.push(
                Finding::new(
                    "ES-S-01",
                    Severity::Warning,
                    "shards",
                    format!(
                        "index {}: {:.0} GB / {} docs per primary shard",
                        i.index,
                        per_shard as f64 / GB as f64,
                        docs_per_shard
                    ),
                    "Oversized shards recover and relocate slowly.",
                    "Use rollover/ILM or split the index.",
                )
                .with("index", i.index.clone())
                .with("bytes_per_shard", per_shard)
                .with("docs_per_shard", docs_per_shard)
                .with(
                    "threshold",
                    "> 50 GB or > 200M docs (src: Elastic shard sizing)",
                ),
            );
        }
    }
    let data_nodes = s
        .data_nodes
        .unwrap_or(s.health_u64("number_of_data_nodes") as usize);
    let unprotected: Vec<&str> = s
        .indices
        .iter()
        .filter(|i| i.replicas == 0 && !i.index.starts_with('.'))
        .map(|i| i.index.as_str())
        .collect();
    if data_nodes >= 2 && !unprotected.is_empty() {
        out.push(
            Finding::new(
                "ES-S-03",
                Severity::Warning,
                "shards",
                format!(
                    "{} index(es) without replicas: {}",
                    unprotected.len(),
                    unprotected.join(", ")
                ),
                "Losing one node makes these indices red.",
                "Set number_of_replicas to 1.",
            )
            .with(
                "indices",
                unprotected
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>(),
            )
            .with("threshold", "rep = 0 with ≥ 2 data nodes (heur:)"),
        );
    }
    let max_per_node: u64 = s
        .setting("cluster.max_shards_per_node")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let open_shards = s.health_u64("active_shards") + s.health_u64("unassigned_shards");
    let limit = max_per_node * data_nodes.max(1) as u64;
    if limit > 0 && open_shards as f64 / limit as f64 >= 0.9 {
        out.push(
            Finding::new("ES-S-02", Severity::Warning, "shards",
                format!("{open_shards} shards of a {limit} limit ({max_per_node} per data node)"),
                "Index creation fails at the limit (\"this action would add [N] shards, but this cluster currently has …\").",
                "Shrink or delete small indices; raise cluster.max_shards_per_node only briefly (ES-FIX-12).")
                .with("shards", open_shards).with("limit", limit).with("max_shards_per_node", max_per_node)
                .with("threshold", "≥ 90% of max_shards_per_node × data nodes (heur:)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fired, has, sample};

    #[test]
    fn counters_fire_on_deltas_and_pressure_when_sustained() {
        let mut prev = sample();
        prev.nodes[0].thread_pools = vec![("write".into(), 10, 1000, 0)];
        prev.nodes[0].breakers = vec![("parent".into(), 2)];
        prev.nodes[0].heap_used_pct = Some(90.0);
        prev.nodes[0].old_pool_pct = None;
        let mut cur = prev.clone();
        cur.at += 10.0;
        cur.nodes[0].uptime_millis += 10_000;
        assert!(
            fired(&cur, Some(&prev))
                .iter()
                .all(|(id, _)| id == "ES-J-01"),
            "{:?}",
            fired(&cur, Some(&prev))
        );
        cur.nodes[0].thread_pools = vec![("write".into(), 60, 1100, 200)];
        cur.nodes[0].breakers = vec![("parent".into(), 3)];
        cur.nodes[0].gc_millis = prev.nodes[0].gc_millis + 6000;
        let f = fired(&cur, Some(&prev));
        assert!(
            has(&f, "ES-T-01", "CRIT")
                && has(&f, "ES-J-04", "WARN")
                && has(&f, "ES-J-02", "CRIT")
                && has(&f, "ES-J-01", "WARN"),
            "{f:?}"
        );
        // A restarted node (uptime went down) is no baseline.
        cur.nodes[0].uptime_millis = 10;
        assert!(!has(&fired(&cur, Some(&prev)), "ES-T-01", "CRIT"));
    }

    #[test]
    fn shares_are_judged_only_on_a_minimum_sample() {
        use super::{MIN_GC_WINDOW_SECS, MIN_REQUESTS_FOR_REJECTED_SHARE as MIN};
        let max = u64::MAX;
        // (Δrejected, Δcompleted, ES-T-01 tag): any rejection warns; CRIT above 1 % of ≥ MIN.
        let cases = [
            (1, 0, Some("WARN")),
            (2, MIN - 3, Some("WARN")),
            (2, MIN - 2, Some("CRIT")),
            (1, MIN - 1, Some("WARN")),
            (2, MIN - 1, Some("CRIT")),
            (0, 0, None),
            (0, MIN * 10, None),
            (max - 10, max - 10, Some("CRIT")),
            (1, max - 10, Some("WARN")),
        ];
        for (dr, dc, want) in cases {
            let mut prev = sample();
            prev.nodes[0].thread_pools = vec![("write".into(), 10, 10, 0)];
            let mut cur = prev.clone();
            cur.at += 10.0;
            cur.nodes[0].uptime_millis += 10_000;
            cur.nodes[0].thread_pools = vec![(
                "write".into(),
                10u64.saturating_add(dr),
                10u64.saturating_add(dc),
                0,
            )];
            let f = fired(&cur, Some(&prev));
            let got = f.iter().find(|(id, _)| id == "ES-T-01").map(|(_, t)| *t);
            assert_eq!(got, want, "Δrejected {dr}, Δcompleted {dc}: {f:?}");
        }
        // (seconds between samples, GC ms in them, ES-J-02 tag).
        let cases = [
            (0.05, 40, None),
            (MIN_GC_WINDOW_SECS - 0.01, 900, None),
            (MIN_GC_WINDOW_SECS, 600, Some("CRIT")),
            (MIN_GC_WINDOW_SECS, 300, Some("WARN")),
            (MIN_GC_WINDOW_SECS, 250, None),
            (10.0, 0, None),
            (10.0, max, Some("CRIT")),
        ];
        for (dt, gc, want) in cases {
            let prev = sample();
            let mut cur = prev.clone();
            cur.at += dt;
            cur.nodes[0].uptime_millis += 10_000;
            cur.nodes[0].gc_millis = gc;
            let f = fired(&cur, Some(&prev));
            let got = f.iter().find(|(id, _)| id == "ES-J-02").map(|(_, t)| *t);
            assert_eq!(got, want, "{gc} ms of GC in {dt} s: {f:?}");
        }
    }
}
