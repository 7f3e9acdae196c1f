//! The Elasticsearch/OpenSearch repair actions ES-FIX-01 … 13 (catalog §5.3) as typed steps.
//! A command is `[METHOD, path, JSON body]`. Settings are captured first and restored by the
//! same request with the captured values (`null` for a setting that was unset); reroutes are
//! previewed by the cluster's own dry run.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::model::Finding;
use crate::repair::catalog::{ActionSpec, PlanContext, RepairCatalog, param};
use crate::repair::{Check, Command, Probe, RepairStep, Risk, RollbackSpec};

/// The Elasticsearch catalogue.
pub struct EsRepairs;

/// Every action, with the catalog's risk levels.
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        persists_config: false,
        id: "ES-FIX-01",
        title: "Retry failed shard allocations (reroute retry_failed)",
        risk: Risk::Safe,
        fixes: &["ES-H-04"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "ES-FIX-02",
        title: "Re-enable shard allocation",
        risk: Risk::Safe,
        fixes: &["ES-H-03"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "ES-FIX-03",
        title: "Drop the replicas of an index (number_of_replicas = 0)",
        risk: Risk::Caution,
        fixes: &["ES-H-02"],
        params: &[("index", "the index")],
    },
    ActionSpec {
        persists_config: false,
        id: "ES-FIX-04",
        title: "Remove the read-only-allow-delete block",
        risk: Risk::Caution,
        fixes: &["ES-D-03"],
        params: &[("index", "the index (default: every index)")],
    },
    ActionSpec {
        persists_config: false,
        id: "ES-FIX-05",
        title: "Raise the disk watermarks briefly (90/95/97 %)",
        risk: Risk::Caution,
        fixes: &["ES-D-02", "ES-D-03"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "ES-FIX-06",
        title: "Delete an index",
        risk: Risk::Dangerous,
        fixes: &[],
        params: &[("index", "the index to delete (snapshot it first)")],
    },
    ActionSpec {
        persists_config: false,
        id: "ES-FIX-07",
        title: "Remove an allocation filter of an index",
        risk: Risk::Caution,
        fixes: &["ES-H-02"],
        params: &[
            ("index", "the index"),
            (
                "setting",
                "index.routing.allocation.require._name (default) or another include/exclude key",
            ),
        ],
    },
    ActionSpec {
        persists_config: false,
        id: "ES-FIX-08",
        title: "Clear the fielddata cache",
        risk: Risk::Caution,
        fixes: &["ES-J-01", "ES-J-04"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "ES-FIX-09",
        title: "Cancel a task",
        risk: Risk::Caution,
        fixes: &[],
        params: &[("task", "node_id:task_number from GET _tasks")],
    },
    ActionSpec {
        persists_config: false,
        id: "ES-FIX-10",
        title: "Allocate a stale primary (accepts data loss)",
        risk: Risk::Dangerous,
        fixes: &[],
        params: &[
            ("index", "the index"),
            ("shard", "the shard number"),
            ("node", "the node holding the stale copy"),
        ],
    },
    ActionSpec {
        persists_config: false,
        id: "ES-FIX-11",
        title: "Move shards off a node (allocation exclude)",
        risk: Risk::Caution,
        fixes: &[],
        params: &[("node", "the node name")],
    },
    ActionSpec {
        persists_config: false,
        id: "ES-FIX-12",
        title: "Raise cluster.max_shards_per_node",
        risk: Risk::Caution,
        fixes: &["ES-S-02"],
        params: &[("n", "the new limit")],
    },
    ActionSpec {
        persists_config: false,
        id: "ES-FIX-13",
        title: "Speed up recoveries",
        risk: Risk::Caution,
        fixes: &[],
        params: &[],
    },
];

/// Never executed by the program (catalog §5.3), with the reason.
pub const MANUAL_ONLY: &[(&str, &str)] = &[
    (
        "xpack.security.enabled",
        "enabling security needs a restart and a credentials rollout",
    ),
    (
        "thread_pool",
        "queue sizes are static node settings (restart) and mask the cause",
    ),
    (
        "indices.breaker",
        "raising breaker limits risks OutOfMemoryError",
    ),
    (
        "allocate_empty_primary",
        "the shard becomes empty: every document in it is lost",
    ),
    ("DELETE /*", "deletes every index"),
    ("DELETE /_all", "deletes every index"),
];

/// `[METHOD, path, body]`.
pub fn request(method: &str, path: &str, body: Option<Value>) -> Command {
    let mut words = vec![method.to_string(), path.to_string()];
    if let Some(b) = body {
        words.push(b.to_string());
    }
    Command::new(&words)
}

fn cluster_settings() -> Command {
    request(
        "GET",
        "/_cluster/settings?include_defaults=true&flat_settings=true",
        None,
    )
}

/// A persistent cluster-settings step: captured, restored with the old values, verified.
/// A transient value of the same key would shadow the persistent one (transient wins), so the
/// step clears it; the rollback puts each section back as it was.
fn cluster_settings_step(
    a: &ActionSpec,
    ctx: &PlanContext<'_>,
    sets: &[(&str, Value)],
    expect: (&str, &str),
    effect: &str,
) -> RepairStep {
    let persistent: Map<String, Value> = sets
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let transient: Map<String, Value> = sets
        .iter()
        .map(|(k, _)| (k.to_string(), Value::Null))
        .collect();
    a.step(
        ctx,
        vec![request(
            "PUT",
            "/_cluster/settings",
            Some(json!({"persistent": persistent, "transient": transient})),
        )],
        vec![request(
            "GET",
            "/_cluster/settings?flat_settings=true",
            None,
        )],
        RollbackSpec::RestoreConfig {
            keys: sets.iter().map(|(k, _)| k.to_string()).collect(),
        },
        Some(Probe {
            command: cluster_settings(),
            check: Check::ConfigEquals {
                key: expect.0.into(),
                value: expect.1.into(),
            },
            within: Duration::from_secs(5),
        }),
        effect,
    )
}

/// An index-settings step.
fn index_settings_step(
    a: &ActionSpec,
    ctx: &PlanContext<'_>,
    index: &str,
    key: &str,
    value: Value,
    expect: &str,
    effect: &str,
) -> RepairStep {
    let path = format!("/{index}/_settings?flat_settings=true");
    a.step(
        ctx,
        vec![request(
            "PUT",
            &format!("/{index}/_settings"),
            Some(json!({ key: value })),
        )],
        vec![request("GET", &path, None)],
        RollbackSpec::RestoreConfig {
            keys: vec![key.to_string()],
        },
        Some(Probe {
            command: request(
                "GET",
                &format!("/{index}/_settings?flat_settings=true&include_defaults=true"),
                None,
            ),
            check: Check::ConfigEquals {
                key: key.into(),
                value: expect.into(),
            },
            within: Duration::from_secs(5),
        }),
        effect,
    )
}

/// An index name this program will put into a path.
fn index_name(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && !text.starts_with(['_', '-', '+'])
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
        && !text.contains("..");
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a single index name (lower case, no wildcards)"
        ))
    }
}

impl RepairCatalog for EsRepairs {
    fn actions(&self) -> &'static [ActionSpec] {
        ACTIONS
    }

    fn manual_only(&self) -> &'static [(&'static str, &'static str)] {
        MANUAL_ONLY
    }

    fn system(&self) -> &'static str {
        "Elasticsearch"
    }

    fn build_step(
        &self,
        a: &'static ActionSpec,
        params: &Map<String, Value>,
        ctx: &PlanContext<'_>,
    ) -> Result<RepairStep, String> {
        let action = a.id;
        let required = |name: &str| a.required(params, name);
        let step = match action {
            "ES-FIX-01" => a.step(ctx,
                vec![request("POST", "/_cluster/reroute?retry_failed=true", None)],
                vec![request("POST", "/_cluster/reroute?retry_failed=true&dry_run=true&filter_path=acknowledged", None)],
                RollbackSpec::NotNeeded("it only resets the failure counters and retries".into()),
                Some(Probe {
                    command: request("GET", "/_cat/shards?format=json&h=index,shard,state,unassigned.reason", None),
                    // Right after the reroute the failed shard is INITIALIZING, which has no
                    // reason to show: judged then, a retry that is about to fail again passed
                    // (seen on a real node with a corrupt shard). So nothing may be initializing.
                    check: Check::All(vec![
                        Check::ReplyLacks("ALLOCATION_FAILED".into()),
                        Check::ReplyLacks("INITIALIZING".into()),
                    ]),
                    within: Duration::from_secs(30),
                }),
                "Retries every shard whose allocation failed too often; a persistent cause fails again."),
            "ES-FIX-02" => cluster_settings_step(a, ctx, &[("cluster.routing.allocation.enable", Value::Null)], ("cluster.routing.allocation.enable", "all"),
                "Shards are allocated again (the default, all)."),
            "ES-FIX-03" => {
                let index = index_name(&required("index")?)?;
                index_settings_step(a, ctx, &index, "index.number_of_replicas", json!(0), "0",
                    "Removes the index's redundancy: right for a single node, wrong on a multi-node cluster.")
            }
            "ES-FIX-04" => {
                let index = match param(params, "index").filter(|i| !i.is_empty()) {
                    Some(i) => index_name(&i)?,
                    None => "_all".to_string(),
                };
                let mut step = index_settings_step(a, ctx, &index, "index.blocks.read_only_allow_delete", Value::Null, "", 
                    "Writes are accepted again; while the disk is still above the flood stage Elasticsearch puts the block back.");
                step.commands = vec![request("PUT", &format!("/{index}/_settings?expand_wildcards=all"), Some(json!({"index.blocks.read_only_allow_delete": null})))];
                // Elasticsearch puts the block back by itself while the disk is above the flood stage;
                // restoring captured values across `_all` would block every index.
                step.rollback = RollbackSpec::NotNeeded(
                    "Elasticsearch re-applies the block itself while the disk is above the flood stage".into(),
                );
                step.verify = Some(Probe {
                    command: request("GET", "/_all/_settings?filter_path=**.blocks&expand_wildcards=all", None),
                    check: Check::ReplyLacks("read_only_allow_delete".into()),
                    within: Duration::from_secs(5),
                });
                step
            }
            "ES-FIX-05" => cluster_settings_step(a, ctx, &[
                ("cluster.routing.allocation.disk.watermark.low", json!("90%")),
                ("cluster.routing.allocation.disk.watermark.high", json!("95%")),
                ("cluster.routing.allocation.disk.watermark.flood_stage", json!("97%")),
            ], ("cluster.routing.allocation.disk.watermark.flood_stage", "97%"),
                "Buys time only: if the disk really fills, the node fails. Free disk, then roll this back."),
            "ES-FIX-06" => {
                let index = index_name(&required("index")?)?;
                a.step(ctx, vec![request("DELETE", &format!("/{index}"), None)],
                    vec![request("GET", &format!("/_cat/indices/{index}?format=json&bytes=b"), None)],
                    RollbackSpec::Irreversible("the index and its documents are deleted; only a snapshot restore brings them back".into()),
                    Some(Probe { command: request("GET", "/_cat/indices?format=json&h=index", None), check: Check::ReplyLacks(format!("\"{index}\"")), within: Duration::from_secs(10) }),
                    "Deletes the index and frees its disk.")
            }
            "ES-FIX-07" => {
                let index = index_name(&required("index")?)?;
                let setting = param(params, "setting").unwrap_or_else(|| "index.routing.allocation.require._name".into());
                if !setting.starts_with("index.routing.allocation.") {
                    return Err(format!("`{setting}` is not an index.routing.allocation.* setting"));
                }
                index_settings_step(a, ctx, &index, &setting, Value::Null, "",
                    "The shards of the index may go to any node again (heavy relocation I/O possible).")
            }
            "ES-FIX-08" => a.step(ctx, vec![request("POST", "/_cache/clear?fielddata=true", None)], vec![],
                RollbackSpec::NotNeeded("caches rebuild by themselves".into()), None,
                "Queries that used the fielddata are slower while it is rebuilt."),
            "ES-FIX-09" => {
                let task = required("task")?;
                let ok = task.split_once(':').is_some_and(|(n, t)| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c)) && t.parse::<u64>().is_ok());
                if !ok {
                    return Err(format!("`{task}` is not a task id (node_id:number)"));
                }
                a.step(ctx, vec![request("POST", &format!("/_tasks/{task}/_cancel"), None)], vec![request("GET", &format!("/_tasks/{task}"), None)],
                    RollbackSpec::Irreversible("the caller gets a cancelled or partial result".into()),
                    Some(Probe { command: request("GET", "/_tasks?detailed=true", None), check: Check::ReplyLacks(format!("\"{task}\"")), within: Duration::from_secs(10) }),
                    "Cancels the task (a search, reindex or update-by-query).")
            }
            "ES-FIX-10" => {
                let index = index_name(&required("index")?)?;
                let shard: u64 = required("shard")?.parse().map_err(|_| "shard must be a number".to_string())?;
                let node = required("node")?;
                let body = json!({"commands": [{"allocate_stale_primary": {"index": index, "shard": shard, "node": node, "accept_data_loss": true}}]});
                a.step(ctx, vec![request("POST", "/_cluster/reroute", Some(body.clone()))],
                    vec![request("POST", "/_cluster/reroute?dry_run=true&filter_path=acknowledged,explanations", Some(body))],
                    RollbackSpec::Irreversible("acknowledged writes missing from the stale copy are lost; only a snapshot restore brings them back".into()),
                    // The catalog's check: the index is no longer red. Its replicas may stay
                    // unassigned (the node that held the lost primary is gone).
                    Some(Probe { command: request("GET", &format!("/_cluster/health/{index}?filter_path=status"), None), check: Check::ReplyLacks("\"red\"".into()), within: Duration::from_secs(30) }),
                    "Promotes an out-of-date copy to primary: the index is no longer red, but recent writes are gone.")
            }
            "ES-FIX-11" => {
                let node = required("node")?;
                cluster_settings_step(a, ctx, &[("cluster.routing.allocation.exclude._name", json!(node))], ("cluster.routing.allocation.exclude._name", &node),
                    "Every shard is moved off the node (heavy relocation I/O).")
            }
            "ES-FIX-12" => {
                let n: u64 = required("n")?.parse().map_err(|_| "n must be a number".to_string())?;
                cluster_settings_step(a, ctx, &[("cluster.max_shards_per_node", json!(n))], ("cluster.max_shards_per_node", &n.to_string()),
                    "Index creation works again; it hides oversharding — shrink or delete small indices.")
            }
            "ES-FIX-13" => cluster_settings_step(a, ctx, &[
                ("indices.recovery.max_bytes_per_sec", json!("200mb")),
                ("cluster.routing.allocation.node_concurrent_recoveries", json!(4)),
            ], ("indices.recovery.max_bytes_per_sec", "200mb"), "Recoveries use more disk I/O and network."),
            _ => return Err(format!("`{action}` is not an Elasticsearch repair action")),
        };
        Ok(step)
    }

    fn for_finding(
        &self,
        finding: &Finding,
        ctx: &PlanContext<'_>,
    ) -> (Vec<RepairStep>, Vec<String>) {
        let ev = |k: &str| {
            finding
                .evidence
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let deciders: Vec<String> = finding
            .evidence
            .get("deciders")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut wanted: Vec<(&str, Map<String, Value>)> = Vec::new();
        let mut manual = Vec::new();
        let index_param = |i: String| {
            [("index".to_string(), Value::from(i))]
                .into_iter()
                .collect::<Map<_, _>>()
        };
        match finding.id.as_str() {
            "ES-H-02" => {
                let index = ev("index").unwrap_or_default();
                if ev("can_allocate").as_deref() == Some("no_valid_shard_copy") {
                    manual.push(format!("{}: no valid copy — restore from a snapshot, or accept data loss with ES-FIX-10 (fix --action ES-FIX-10 --param index={index} --param shard=… --param node=…)", finding.id));
                }
                for d in &deciders {
                    match d.as_str() {
                        "same_shard" => wanted.push(("ES-FIX-03", index_param(index.clone()))),
                        "filter" => wanted.push(("ES-FIX-07", index_param(index.clone()))),
                        "enable" => wanted.push(("ES-FIX-02", Map::new())),
                        "max_retry" => wanted.push(("ES-FIX-01", Map::new())),
                        "throttling" => wanted.push(("ES-FIX-13", Map::new())),
                        _ => {}
                    }
                }
            }
            "ES-H-03" => wanted.push(("ES-FIX-02", Map::new())),
            "ES-H-04" => wanted.push(("ES-FIX-01", Map::new())),
            "ES-D-03" => {
                if finding.evidence.contains_key("indices") {
                    wanted.push(("ES-FIX-04", Map::new()));
                } else {
                    manual.push(format!("{}: free disk first (snapshot and delete old indices, ES-FIX-06), then ES-FIX-04 if the block stays", finding.id));
                }
            }
            "ES-D-02" => wanted.push(("ES-FIX-05", Map::new())),
            "ES-J-01" | "ES-J-04" => wanted.push(("ES-FIX-08", Map::new())),
            "ES-S-02" => {
                // The setting is per node: raise it by a fifth, not the cluster-wide total.
                let per_node = finding
                    .evidence
                    .get("max_shards_per_node")
                    .and_then(Value::as_u64)
                    .unwrap_or(1000);
                // …and by at least one: a fifth of a small limit rounds down to nothing.
                let raised = per_node.saturating_add((per_node / 5).max(1));
                wanted.push((
                    "ES-FIX-12",
                    [("n".to_string(), Value::from(raised))]
                        .into_iter()
                        .collect(),
                ));
            }
            _ => {}
        }
        let mut steps: Vec<RepairStep> = Vec::new();
        for (action, params) in wanted {
            match self.build(action, &params, ctx) {
                Ok(s) if !steps.iter().any(|x| x.action == s.action) => steps.push(s),
                Ok(_) => {}
                Err(e) => manual.push(format!("{action}: {e}")),
            }
        }
        (steps, manual)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::InstanceFacts;
    use crate::repair::PlanTarget;

    #[test]
    fn steps_are_exact_requests_and_names_are_checked() {
        let facts = InstanceFacts::default();
        let ctx = PlanContext {
            target: PlanTarget {
                instance: "es".into(),
                endpoint: "elasticsearch://127.0.0.1:9200".into(),
                identity: Some("uuid".into()),
                context: None,
            },
            facts: &facts,
            own_user: "elastic".into(),
        };
        let p = |k: &str, v: &str| {
            [(k.to_string(), Value::from(v))]
                .into_iter()
                .collect::<Map<_, _>>()
        };
        let s = EsRepairs
            .build("ES-FIX-03", &p("index", "logs-2026"), &ctx)
            .unwrap();
        assert_eq!(
            s.commands[0].to_string(),
            r#"PUT /logs-2026/_settings {"index.number_of_replicas":0}"#
        );
        let s = EsRepairs.build("ES-FIX-02", &Map::new(), &ctx).unwrap();
        assert_eq!(
            s.commands[0].to_string(),
            r#"PUT /_cluster/settings {"persistent":{"cluster.routing.allocation.enable":null},"transient":{"cluster.routing.allocation.enable":null}}"#
        );
        for bad in ["*", "_all", "logs/../x", "Logs", "a,b"] {
            assert!(
                EsRepairs
                    .build("ES-FIX-06", &p("index", bad), &ctx)
                    .is_err(),
                "{bad}"
            );
        }
        assert!(
            EsRepairs
                .build("ES-FIX-09", &p("task", "x; rm"), &ctx)
                .is_err()
        );
        assert_eq!(
            EsRepairs
                .build("ES-FIX-06", &p("index", "old"), &ctx)
                .unwrap()
                .risk,
            Risk::Dangerous
        );
    }
}
