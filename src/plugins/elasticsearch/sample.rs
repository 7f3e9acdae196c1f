//! One sample of an Elasticsearch/OpenSearch cluster (catalog §5.1): identity, health, node
//! statistics, shards with the allocation explanation of the unassigned ones, disk allocation,
//! settings with defaults, index blocks, and whether the cluster answers without credentials.
//! A part that cannot be read is recorded as unavailable with the reason.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::connection::EsReader;
use crate::plugins::PluginError;

/// Unassigned shards explained per sample at most (each is one request).
const MAX_EXPLAINS: usize = 5;

/// Statistics of one node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeStats {
    pub id: String,
    pub name: String,
    pub heap_used_pct: Option<f64>,
    /// Old-generation pool used / max (the memory pressure Elastic documents).
    pub old_pool_pct: Option<f64>,
    /// Young + old collection time, ms (cumulative).
    pub gc_millis: u64,
    pub disk_total: u64,
    pub disk_available: u64,
    pub cpu_pct: Option<f64>,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
    /// `(pool, rejected, completed, queue)` cumulative counters.
    pub thread_pools: Vec<(String, u64, u64, u64)>,
    /// `(breaker, tripped)` cumulative.
    pub breakers: Vec<(String, u64)>,
    /// Since the node started, ms.
    pub uptime_millis: u64,
}

/// A shard from `_cat/shards`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShardRow {
    pub index: String,
    pub shard: u32,
    pub primary: bool,
    pub state: String,
    pub unassigned_reason: Option<String>,
    pub node: Option<String>,
}

/// The allocation explanation of one unassigned shard, boiled down.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Explanation {
    pub index: String,
    pub shard: u32,
    pub primary: bool,
    pub can_allocate: String,
    pub explanation: String,
    pub reason: String,
    pub failed_attempts: u64,
    /// `(decider, explanation)` of the NO decisions, deduplicated.
    pub no_deciders: Vec<(String, String)>,
}

/// Disk use of one node from `_cat/allocation`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeDisk {
    pub node: String,
    pub used: u64,
    pub total: u64,
}

/// An index from `_cat/indices`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexRow {
    pub index: String,
    pub health: String,
    pub primaries: u64,
    pub replicas: u64,
    pub docs: u64,
    pub primary_store: u64,
}

/// Everything one pass read.
#[derive(Debug, Clone, Default)]
pub struct EsSample {
    pub at: f64,
    pub version: String,
    /// `elasticsearch` or `opensearch`.
    pub distribution: String,
    pub cluster_name: String,
    pub cluster_uuid: String,
    pub health: Value,
    pub nodes: Vec<NodeStats>,
    pub shards: Vec<ShardRow>,
    pub explanations: Vec<Explanation>,
    pub disks: Vec<NodeDisk>,
    pub indices: Vec<IndexRow>,
    /// Flat settings: persistent over transient over defaults, plus which were set explicitly.
    pub settings: HashMap<String, String>,
    pub explicit_settings: Vec<String>,
    /// Indices with `index.blocks.read_only_allow_delete: true`.
    pub read_only_indices: Vec<String>,
    /// `(index, block)` for the blocks set by hand that refuse writes: `index.blocks.write`,
    /// `index.blocks.read_only`.
    pub write_blocked_indices: Vec<(String, String)>,
    /// Master-eligible node count (from `_nodes`).
    pub master_eligible: Option<usize>,
    pub data_nodes: Option<usize>,
    /// Whether `GET /` answered without credentials (`None`: not asked).
    pub anonymous_access: Option<bool>,
    pub unavailable: Vec<(&'static str, String)>,
}

impl EsSample {
    /// A health field as a number.
    pub fn health_u64(&self, key: &str) -> u64 {
        self.health.get(key).and_then(Value::as_u64).unwrap_or(0)
    }

    /// The health status (`green`, `yellow`, `red`).
    pub fn status(&self) -> &str {
        self.health
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
    }

    /// A setting (persistent, transient or default).
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }
}

fn u(v: &Value, path: &[&str]) -> Option<u64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_u64().or_else(|| cur.as_str()?.parse().ok())
}

fn f(v: &Value, path: &[&str]) -> Option<f64> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_f64().or_else(|| cur.as_str()?.parse().ok())
}

fn s(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

/// Parses `_nodes/stats` (the same shape for Elasticsearch and OpenSearch).
pub fn parse_node_stats(v: &Value) -> Vec<NodeStats> {
    let Some(nodes) = v.get("nodes").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out: Vec<NodeStats> = nodes
        .iter()
        .map(|(id, n)| {
            let gc = |c: &str| {
                u(
                    n,
                    &["jvm", "gc", "collectors", c, "collection_time_in_millis"],
                )
                .unwrap_or(0)
            };
            let old_used = f(n, &["jvm", "mem", "pools", "old", "used_in_bytes"]);
            let old_max =
                f(n, &["jvm", "mem", "pools", "old", "max_in_bytes"]).filter(|m| *m > 0.0);
            NodeStats {
                id: id.clone(),
                name: s(n, "name"),
                heap_used_pct: f(n, &["jvm", "mem", "heap_used_percent"]),
                old_pool_pct: old_used.zip(old_max).map(|(a, b)| a / b * 100.0),
                gc_millis: gc("young") + gc("old"),
                disk_total: u(n, &["fs", "total", "total_in_bytes"]).unwrap_or(0),
                disk_available: u(n, &["fs", "total", "available_in_bytes"]).unwrap_or(0),
                cpu_pct: f(n, &["os", "cpu", "percent"]),
                open_fds: u(n, &["process", "open_file_descriptors"]),
                max_fds: u(n, &["process", "max_file_descriptors"]),
                thread_pools: n
                    .get("thread_pool")
                    .and_then(Value::as_object)
                    .map(|pools| {
                        pools
                            .iter()
                            .map(|(name, p)| {
                                (
                                    name.clone(),
                                    u(p, &["rejected"]).unwrap_or(0),
                                    u(p, &["completed"]).unwrap_or(0),
                                    u(p, &["queue"]).unwrap_or(0),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                breakers: n
                    .get("breakers")
                    .and_then(Value::as_object)
                    .map(|b| {
                        b.iter()
                            .map(|(name, x)| (name.clone(), u(x, &["tripped"]).unwrap_or(0)))
                            .collect()
                    })
                    .unwrap_or_default(),
                uptime_millis: u(n, &["jvm", "uptime_in_millis"]).unwrap_or(0),
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Parses `_cluster/allocation/explain`.
pub fn parse_explanation(v: &Value) -> Explanation {
    let mut no = Vec::new();
    for node in v
        .get("node_allocation_decisions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for d in node
            .get("deciders")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if d.get("decision").and_then(Value::as_str) == Some("NO") {
                let item = (s(d, "decider"), s(d, "explanation"));
                if !no.iter().any(|(n, _): &(String, String)| *n == item.0) {
                    no.push(item);
                }
            }
        }
    }
    Explanation {
        index: s(v, "index"),
        shard: u(v, &["shard"]).unwrap_or(0) as u32,
        primary: v.get("primary").and_then(Value::as_bool).unwrap_or(false),
        can_allocate: s(v, "can_allocate"),
        explanation: s(v, "allocate_explanation"),
        reason: v
            .get("unassigned_info")
            .map(|i| s(i, "reason"))
            .unwrap_or_default(),
        failed_attempts: v
            .get("unassigned_info")
            .and_then(|i| u(i, &["failed_allocation_attempts"]))
            .unwrap_or(0),
        no_deciders: no,
    }
}

/// A setting that is `true` (settings come back as strings).
fn is_true(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true))) || v.and_then(Value::as_str) == Some("true")
}

fn rows(v: &Value) -> Vec<&Value> {
    v.as_array().map(|a| a.iter().collect()).unwrap_or_default()
}

/// Takes one sample; `/` and `_cluster/health` are required, the rest optional.
pub async fn collect_sample(r: &EsReader) -> Result<EsSample, PluginError> {
    let root = r.get("/").await?;
    let mut out = EsSample {
        at: chrono::Utc::now().timestamp_millis() as f64 / 1000.0,
        version: root
            .pointer("/version/number")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        distribution: root
            .pointer("/version/distribution")
            .and_then(Value::as_str)
            .unwrap_or("elasticsearch")
            .to_string(),
        cluster_name: s(&root, "cluster_name"),
        cluster_uuid: s(&root, "cluster_uuid"),
        ..EsSample::default()
    };
    out.health = r.get("/_cluster/health").await?;
    // A reply of another shape (a newer version, a proxy) is said, not silently taken as empty.
    if !out.health.get("status").is_some_and(Value::is_string) {
        out.unavailable.push((
            "cluster health",
            format!(
                "`status` is missing or not a string (got {})",
                out.health
                    .get("status")
                    .map_or("nothing".to_string(), |v| v.to_string())
            ),
        ));
    }
    // Without credentials of its own, the collector just got in anonymously.
    out.anonymous_access = r.answers_anonymously().await.or(Some(true));

    match r
        .get("/_nodes/stats/jvm,os,fs,process,thread_pool,breaker")
        .await
    {
        Ok(v) if !v.get("nodes").is_some_and(Value::is_object) => out.unavailable.push((
            "node statistics",
            "the reply has no `nodes` object: heap, GC, disk and thread-pool rules are not judged"
                .into(),
        )),
        Ok(v) => out.nodes = parse_node_stats(&v),
        Err(e) => out.unavailable.push(("node statistics", e.to_string())),
    }
    match r
        .get("/_nodes?filter_path=nodes.*.name,nodes.*.roles")
        .await
    {
        Ok(v) => {
            let nodes: Vec<&Value> = v
                .get("nodes")
                .and_then(Value::as_object)
                .map(|m| m.values().collect())
                .unwrap_or_default();
            let has_role = |n: &Value, role: &str| {
                n.get("roles").and_then(Value::as_array).is_some_and(|r| {
                    r.iter().any(|x| {
                        let x = x.as_str().unwrap_or("");
                        x == role
                            || (role == "master" && x == "cluster_manager")
                            || (role == "data" && x.starts_with("data"))
                    })
                })
            };
            out.master_eligible = Some(nodes.iter().filter(|n| has_role(n, "master")).count());
            out.data_nodes = Some(nodes.iter().filter(|n| has_role(n, "data")).count());
        }
        Err(e) => out.unavailable.push(("node roles", e.to_string())),
    }
    match r
        .get("/_cat/shards?format=json&bytes=b&h=index,shard,prirep,state,unassigned.reason,node")
        .await
    {
        Ok(v) => {
            out.shards = rows(&v)
                .into_iter()
                .map(|x| ShardRow {
                    index: s(x, "index"),
                    shard: u(x, &["shard"]).unwrap_or(0) as u32,
                    primary: s(x, "prirep") == "p",
                    state: s(x, "state"),
                    unassigned_reason: x
                        .get("unassigned.reason")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    node: x.get("node").and_then(Value::as_str).map(str::to_string),
                })
                .collect()
        }
        Err(e) => out.unavailable.push(("shards", e.to_string())),
    }
    // Primaries first: they make a cluster red.
    let mut unassigned: Vec<&ShardRow> = out
        .shards
        .iter()
        .filter(|s| s.state == "UNASSIGNED")
        .collect();
    unassigned.sort_by_key(|s| !s.primary);
    let mut explained = Vec::new();
    for shard in unassigned.iter().take(MAX_EXPLAINS) {
        let body = json!({"index": shard.index, "shard": shard.shard, "primary": shard.primary});
        match r
            .read("POST", "/_cluster/allocation/explain", Some(&body))
            .await
        {
            Ok(reply) if reply.status == 200 => explained.push(parse_explanation(&reply.body)),
            Ok(reply) => out
                .unavailable
                .push(("allocation explain", format!("HTTP {}", reply.status))),
            Err(e) => out.unavailable.push(("allocation explain", e.to_string())),
        }
    }
    out.explanations = explained;
    match r.get("/_cat/allocation?format=json&bytes=b").await {
        Ok(v) => {
            out.disks = rows(&v)
                .into_iter()
                .filter(|x| x.get("node").and_then(Value::as_str) != Some("UNASSIGNED"))
                .map(|x| NodeDisk {
                    node: s(x, "node"),
                    used: u(x, &["disk.used"]).unwrap_or(0),
                    total: u(x, &["disk.total"]).unwrap_or(0),
                })
                .collect()
        }
        Err(e) => out.unavailable.push(("disk allocation", e.to_string())),
    }
    match r
        .get("/_cat/indices?format=json&bytes=b&h=health,index,pri,rep,docs.count,pri.store.size")
        .await
    {
        Ok(v) => {
            out.indices = rows(&v)
                .into_iter()
                .map(|x| IndexRow {
                    index: s(x, "index"),
                    health: s(x, "health"),
                    primaries: u(x, &["pri"]).unwrap_or(0),
                    replicas: u(x, &["rep"]).unwrap_or(0),
                    docs: u(x, &["docs.count"]).unwrap_or(0),
                    primary_store: u(x, &["pri.store.size"]).unwrap_or(0),
                })
                .collect()
        }
        Err(e) => out.unavailable.push(("indices", e.to_string())),
    }
    match r
        .get("/_cluster/settings?include_defaults=true&flat_settings=true")
        .await
    {
        Ok(v) => {
            // Later sections win: transient over persistent over defaults, as in Elasticsearch.
            for section in ["defaults", "persistent", "transient"] {
                if let Some(map) = v.get(section).and_then(Value::as_object) {
                    for (k, val) in map {
                        let text = match val {
                            Value::String(t) => t.clone(),
                            other => other.to_string(),
                        };
                        out.settings.insert(k.clone(), text);
                        if section != "defaults" {
                            out.explicit_settings.push(k.clone());
                        }
                    }
                }
            }
        }
        Err(e) => out.unavailable.push(("cluster settings", e.to_string())),
    }
    match r
        .get("/_all/_settings?filter_path=**.blocks&expand_wildcards=all")
        .await
    {
        Ok(v) => {
            if let Some(map) = v.as_object() {
                for (index, x) in map {
                    let blocked = x.pointer("/settings/index/blocks/read_only_allow_delete");
                    if is_true(blocked) {
                        out.read_only_indices.push(index.clone());
                    }
                    for block in ["write", "read_only"] {
                        if is_true(x.pointer(&format!("/settings/index/blocks/{block}"))) {
                            out.write_blocked_indices
                                .push((index.clone(), format!("index.blocks.{block}")));
                        }
                    }
                }
            }
            out.read_only_indices.sort();
            out.write_blocked_indices.sort();
        }
        Err(e) => out.unavailable.push(("index blocks", e.to_string())),
    }
    Ok(out)
}
