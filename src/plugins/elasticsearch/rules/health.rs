//! ES-H-01 … 07: cluster status, why shards are unassigned, allocation disabled, exhausted
//! retries, delayed allocation, master backlog, write blocks set by hand.

use super::RuleInput;
use crate::model::{Finding, Severity};

/// What a `NO` decider means and what to do (catalog ES-H-02).
fn decider_advice(decider: &str) -> &'static str {
    match decider {
        "same_shard" => {
            "no other node can hold this replica: add a node, or set number_of_replicas to 0 on a single node (ES-FIX-03)"
        }
        "disk_threshold" => "the candidate nodes are above a disk watermark: free disk (ES-D-*)",
        "filter" => {
            "index.routing.allocation.{require,include,exclude} matches no node: remove the filter (ES-FIX-07)"
        }
        "awareness" => "too few zones for the awareness attributes",
        "enable" => {
            "allocation is disabled: cluster.routing.allocation.enable back to all (ES-FIX-02)"
        }
        "max_retry" => {
            "allocation retries are exhausted: POST _cluster/reroute?retry_failed=true (ES-FIX-01)"
        }
        "throttling" => {
            "recoveries are in progress: wait, or raise the recovery limits (ES-FIX-13)"
        }
        "shards_limit" => "index.routing.allocation.total_shards_per_node is reached",
        "data_tier" => "no node has the preferred data tier",
        "node_version" => "a shard cannot go to a node on an older version",
        _ => "see the decider's explanation",
    }
}

pub(super) fn check(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let s = input.cur;
    let unassigned = s.health_u64("unassigned_shards");
    let primaries_unassigned = s
        .shards
        .iter()
        .filter(|x| x.primary && x.state == "UNASSIGNED")
        .count();
    match s.status() {
        "red" => out.push(
            Finding::new("ES-H-01", Severity::Critical, "health",
                format!("cluster {} is RED: {primaries_unassigned} primary shard(s) unassigned", s.cluster_name),
                "At least one primary shard is unassigned: the data in it can be neither searched nor written.",
                "Read the allocation explanation of the unassigned primaries (ES-H-02) and fix its decider.")
                .with("status", "red").with("unassigned_shards", unassigned)
                .with("unassigned_primaries", primaries_unassigned as u64)
                .with("threshold", "red CRIT (src: health API)"),
        ),
        "yellow" => out.push(
            Finding::new("ES-H-01", Severity::Warning, "health",
                format!("cluster {} is YELLOW: {unassigned} replica shard(s) unassigned", s.cluster_name),
                "Every primary is up but some replicas are not: one more node loss can lose data. A single \
                 node with number_of_replicas ≥ 1 is always yellow.",
                "See ES-H-02 for why the replicas are unassigned.")
                .with("status", "yellow").with("unassigned_shards", unassigned)
                .with("number_of_nodes", s.health_u64("number_of_nodes"))
                .with("threshold", "yellow WARN (src: health API)"),
        ),
        _ => {}
    }

    for e in &s.explanations {
        let deciders: Vec<&str> = e.no_deciders.iter().map(|(d, _)| d.as_str()).collect();
        let (severity, advice) = if e.can_allocate == "no_valid_shard_copy" {
            (Severity::Critical, "no in-sync copy of this shard exists: only data-losing options remain (ES-FIX-10, dangerous) — or restore it from a snapshot".to_string())
        } else {
            (
                if e.primary {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                deciders
                    .iter()
                    .map(|d| format!("{d}: {}", decider_advice(d)))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        };
        out.push(
            Finding::new(
                "ES-H-02",
                severity,
                "health",
                format!(
                    "{} [{}] {} unassigned: {}",
                    e.index,
                    e.shard,
                    if e.primary { "primary" } else { "replica" },
                    if deciders.is_empty() {
                        e.can_allocate.clone()
                    } else {
                        deciders.join(", ")
                    }
                ),
                format!(
                    "{} {}",
                    e.explanation,
                    e.no_deciders.first().map(|(_, x)| x.as_str()).unwrap_or("")
                )
                .trim()
                .to_string(),
                advice,
            )
            .with("index", e.index.clone())
            .with("shard", e.shard)
            .with("primary", e.primary)
            .with("can_allocate", e.can_allocate.clone())
            .with("unassigned_reason", e.reason.clone())
            .with(
                "deciders",
                deciders.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            )
            .with("threshold", "any NO decider (src: allocation explain)"),
        );
        // ES-H-04: retries exhausted.
        let max_retries = 5;
        if e.reason == "ALLOCATION_FAILED" && e.failed_attempts >= max_retries {
            out.push(
                Finding::new("ES-H-04", if e.primary { Severity::Critical } else { Severity::Warning }, "health",
                    format!("{} [{}]: allocation failed {} times, Elasticsearch stopped retrying", e.index, e.shard, e.failed_attempts),
                    "After index.allocation.max_retries failures the shard stays unassigned until someone retries.",
                    "If the cause was transient (disk, a node restart): POST _cluster/reroute?retry_failed=true (ES-FIX-01).")
                    .with("index", e.index.clone()).with("failed_allocation_attempts", e.failed_attempts)
                    .with("threshold", "≥ 5 (src: index.allocation.max_retries default)"),
            );
        }
    }

    // ES-H-03: allocation disabled.
    if let Some(v) = s
        .setting("cluster.routing.allocation.enable")
        .filter(|v| *v != "all")
    {
        out.push(
            Finding::new("ES-H-03", if primaries_unassigned > 0 { Severity::Critical } else { Severity::Warning }, "health",
                format!("cluster.routing.allocation.enable = {v}"),
                "New and recovering shards are not allocated — a common leftover of a rolling restart.",
                "Set it back to all (ES-FIX-02).")
                .with("cluster.routing.allocation.enable", v)
                .with("threshold", "≠ all (src: cluster setting)"),
        );
    }

    // ES-H-05: delayed allocation.
    let delayed = s.health_u64("delayed_unassigned_shards");
    if delayed > 0 {
        out.push(
            Finding::new("ES-H-05", Severity::Info, "health", format!("{delayed} shard(s) wait for a node to come back"),
                "Elasticsearch waits index.unassigned.node_left.delayed_timeout before rebuilding replicas elsewhere.",
                "Normal during a restart; otherwise check the node that left.")
                .with("delayed_unassigned_shards", delayed)
                .with("threshold", "> 0 (src: delayed_timeout default 1m)"),
        );
    }

    // ES-H-07: blocks set by hand that refuse writes (the flood-stage block is ES-D-03).
    if !s.write_blocked_indices.is_empty() {
        let list: Vec<String> = s
            .write_blocked_indices
            .iter()
            .map(|(i, b)| format!("{i} ({b})"))
            .collect();
        out.push(
            Finding::new("ES-H-07", Severity::Warning, "health",
                format!("{} index(es) refuse writes: {}", list.len(), list.join(", ")),
                "Indexing into them fails with cluster_block_exception (FORBIDDEN/8/index write or \
                 FORBIDDEN/5/index read-only). Such a block is set by hand or by a tool — before a \
                 shrink, a clone or a snapshot — and is sometimes left behind.",
                "Find out who set it and why; when its job is done, remove it: PUT <index>/_settings \
                 {\"index.blocks.write\": null} (manual: the block is often intended).")
                .with("indices", s.write_blocked_indices.iter().map(|(i, _)| i.clone()).collect::<Vec<_>>())
                .with("blocks", list)
                .with("threshold", "index.blocks.write or index.blocks.read_only = true (src: index blocks)"),
        );
    }

    // ES-H-06: master backlog.
    let pending = s.health_u64("number_of_pending_tasks");
    let waiting = s.health_u64("task_max_waiting_in_queue_millis");
    let pending_before = input
        .prev
        .map_or(0, |p| p.health_u64("number_of_pending_tasks"));
    if (pending > 0 && pending_before > 0) || waiting > input.th.pending_task_wait_ms {
        out.push(
            Finding::new("ES-H-06", Severity::Warning, "health",
                format!("{pending} pending cluster tasks; oldest waiting {} s", waiting / 1000),
                "The cluster-state update queue is backed up: mapping explosions, too many shards, or an overloaded master.",
                "Look at GET _cluster/pending_tasks and the master's hot threads.")
                .with("number_of_pending_tasks", pending).with("task_max_waiting_in_queue_millis", waiting)
                .with("threshold", format!("> 0 in 2 samples or > {} s waiting (heur:)", input.th.pending_task_wait_ms as f64 / 1000.0)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fired, has, sample};
    use crate::plugins::elasticsearch::sample::{Explanation, ShardRow};
    use serde_json::json;

    #[test]
    fn status_and_explanations() {
        let mut s = sample();
        s.health["status"] = json!("yellow");
        s.health["unassigned_shards"] = json!(1);
        s.explanations = vec![Explanation {
            index: "logs".into(),
            shard: 0,
            primary: false,
            can_allocate: "no".into(),
            no_deciders: vec![(
                "same_shard".into(),
                "a copy of this shard is already allocated to this node".into(),
            )],
            ..Explanation::default()
        }];
        let f = fired(&s, None);
        assert!(
            has(&f, "ES-H-01", "WARN") && has(&f, "ES-H-02", "WARN"),
            "{f:?}"
        );
        s.health["status"] = json!("red");
        s.shards = vec![ShardRow {
            index: "red".into(),
            primary: true,
            state: "UNASSIGNED".into(),
            ..ShardRow::default()
        }];
        s.explanations[0].primary = true;
        s.explanations[0].can_allocate = "no_valid_shard_copy".into();
        s.settings.insert(
            "cluster.routing.allocation.enable".into(),
            "primaries".into(),
        );
        let f = fired(&s, None);
        assert!(
            has(&f, "ES-H-01", "CRIT") && has(&f, "ES-H-02", "CRIT") && has(&f, "ES-H-03", "CRIT"),
            "{f:?}"
        );
        assert!(!has(&f, "ES-H-07", "WARN"));
        s.write_blocked_indices = vec![("logs".into(), "index.blocks.write".into())];
        assert!(has(&fired(&s, None), "ES-H-07", "WARN"));
    }
}
