//! An in-process Elasticsearch, for what a real node cannot be made to do on demand and for
//! Elasticsearch's own branches (the real-server tests run OpenSearch): this HTTP/1.1 server
//! (keep-alive, Content-Length bodies) answers the REST API in the shapes the Elasticsearch
//! documentation gives — `_cat` values as strings, flat settings, allocation explanations with
//! deciders — from a small cluster model. The tests and `scripts/demo` (through the
//! `kubestack-playground` binary) change the model; writes change it too, so repairs are
//! verified by what the "cluster" then reports. Faults: 401 without credentials, 403, 429 and
//! 503 refusals, an HTML page, a cut-off body, malformed JSON, a stall. Every request is
//! recorded.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One index of the model.
#[derive(Clone, Debug)]
pub struct Index {
    pub name: String,
    pub shards: u32,
    pub replicas: u32,
    /// `index.routing.allocation.require._name`.
    pub require_name: Option<String>,
    pub read_only_allow_delete: bool,
    pub docs: u64,
    pub store: u64,
    /// Failed allocation attempts of its primaries (ALLOCATION_FAILED at ≥ 5).
    pub failed_attempts: u64,
}

impl Index {
    /// An index with `shards` primaries of `replicas` replicas each, assignable by default.
    pub fn new(name: &str, shards: u32, replicas: u32) -> Self {
        Index {
            name: name.into(),
            shards,
            replicas,
            require_name: None,
            read_only_allow_delete: false,
            docs: 1000,
            store: 1 << 20,
            failed_attempts: 0,
        }
    }
}

/// One node.
#[derive(Clone, Debug)]
pub struct Node {
    pub id: String,
    pub name: String,
    pub disk_total: u64,
    pub disk_available: u64,
    pub heap_used_percent: u64,
    pub write_rejected: u64,
    pub write_completed: u64,
    pub parent_tripped: u64,
}

/// A fault the next replies have.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    None,
    Forbidden,
    Html,
    CutOff,
    MalformedJson,
    Stall(Duration),
    /// Replies of another shape: health `status` a number, node stats without `nodes`.
    ShapeChanged,
    /// Every request rejected with HTTP 429 `es_rejected_execution_exception` (full queues).
    TooManyRequests,
    /// Every request answered with HTTP 503 `cluster_block_exception` (state not recovered).
    Unavailable,
    /// Every reply is a JSON object padded to this many bytes.
    Huge(usize),
}

/// `(index, shard, primary, assigned node or None, unassigned reason, NO deciders)`.
type ShardState = (
    String,
    u32,
    bool,
    Option<String>,
    &'static str,
    Vec<(&'static str, String)>,
);

/// The cluster model.
#[derive(Debug)]
pub struct Cluster {
    pub name: String,
    pub uuid: String,
    pub distribution: Option<String>,
    pub nodes: Vec<Node>,
    pub indices: Vec<Index>,
    pub persistent: BTreeMap<String, Value>,
    /// Basic-auth `user:password` required, when set.
    pub credentials: Option<(String, String)>,
    pub fault: Fault,
    /// `(method, path, body)` of every request.
    pub requests: Vec<(String, String, String)>,
}

impl Cluster {
    fn node_names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.name.clone()).collect()
    }

    fn allocation_enabled(&self) -> bool {
        self.persistent
            .get("cluster.routing.allocation.enable")
            .and_then(Value::as_str)
            .is_none_or(|v| v == "all")
    }

    /// Every shard copy as the model places it.
    fn shards(&self) -> Vec<ShardState> {
        let names = self.node_names();
        let mut out = Vec::new();
        for i in &self.indices {
            for s in 0..i.shards {
                let mut deciders = Vec::new();
                if let Some(req) = &i.require_name
                    && !names.contains(req)
                {
                    deciders.push(("filter", format!("node does not match index setting [index.routing.allocation.require] filters [_name:\"{req}\"]")));
                }
                if !self.allocation_enabled() {
                    deciders.push(("enable", "no allocations are allowed due to cluster setting [cluster.routing.allocation.enable=none]".into()));
                }
                if i.failed_attempts >= 5 {
                    deciders.push(("max_retry", format!("shard has exceeded the maximum number of retries [5] on failed allocation attempts - manually call [/_cluster/reroute?retry_failed=true] to retry, [unassigned_info[[reason=ALLOCATION_FAILED], failed_attempts[{}]]]", i.failed_attempts)));
                }
                let reason = if i.failed_attempts >= 5 {
                    "ALLOCATION_FAILED"
                } else {
                    "INDEX_CREATED"
                };
                let primary_node = if deciders.is_empty() {
                    Some(names[0].clone())
                } else {
                    None
                };
                out.push((
                    i.name.clone(),
                    s,
                    true,
                    primary_node.clone(),
                    reason,
                    deciders.clone(),
                ));
                for r in 0..i.replicas {
                    let mut d = deciders.clone();
                    let node = names
                        .iter()
                        .filter(|n| Some(*n) != primary_node.as_ref())
                        .nth(r as usize)
                        .cloned();
                    if primary_node.is_none() {
                        d.push((
                            "replica_after_primary_active",
                            "primary shard for this replica is not yet active".into(),
                        ));
                    } else if node.is_none() {
                        d.push((
                            "same_shard",
                            "a copy of this shard is already allocated to this node".into(),
                        ));
                    }
                    let assigned = if d.is_empty() { node } else { None };
                    out.push((i.name.clone(), s, false, assigned, "INDEX_CREATED", d));
                }
            }
        }
        out
    }

    /// `_cluster/health` as the model stands.
    pub fn health(&self) -> Value {
        let shards = self.shards();
        let unassigned: Vec<_> = shards.iter().filter(|s| s.3.is_none()).collect();
        let status = if unassigned.iter().any(|s| s.2) {
            "red"
        } else if !unassigned.is_empty() {
            "yellow"
        } else {
            "green"
        };
        let active = shards.len() - unassigned.len();
        json!({
            "cluster_name": self.name, "status": status, "timed_out": false,
            "number_of_nodes": self.nodes.len(), "number_of_data_nodes": self.nodes.len(),
            "active_primary_shards": shards.iter().filter(|s| s.2 && s.3.is_some()).count(),
            "active_shards": active, "relocating_shards": 0, "initializing_shards": 0,
            "unassigned_shards": unassigned.len(), "delayed_unassigned_shards": 0,
            "number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0,
            "task_max_waiting_in_queue_millis": 0,
            "active_shards_percent_as_number": if shards.is_empty() { 100.0 } else { active as f64 / shards.len() as f64 * 100.0 },
        })
    }

    fn index_settings(&self, i: &Index, defaults: bool) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("index.number_of_shards".into(), json!(i.shards.to_string()));
        m.insert(
            "index.number_of_replicas".into(),
            json!(i.replicas.to_string()),
        );
        if let Some(r) = &i.require_name {
            m.insert("index.routing.allocation.require._name".into(), json!(r));
        }
        if i.read_only_allow_delete {
            m.insert("index.blocks.read_only_allow_delete".into(), json!("true"));
        }
        let mut v = json!({"settings": m});
        if defaults {
            v["defaults"] = json!({"index.refresh_interval": "1s"});
        }
        v
    }

    /// The reply to one request: status, content type, body.
    fn answer(&mut self, method: &str, path: &str, body: &str) -> (u16, &'static str, String) {
        let (p, query) = path.split_once('?').unwrap_or((path, ""));
        let segs: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
        let body_json: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let ok = |v: Value| (200, "application/json", v.to_string());
        let text = |t: String| (200, "text/plain; charset=UTF-8", t);
        let flag = |k: &str| query.split('&').any(|x| x == k || x == format!("{k}=true"));
        match (method, segs.as_slice()) {
            ("GET" | "HEAD", []) => {
                let mut version = json!({"number": "8.15.3", "build_flavor": "default", "lucene_version": "9.11.1"});
                if let Some(d) = &self.distribution {
                    version = json!({"number": "2.17.1", "distribution": d});
                }
                ok(json!({"name": self.nodes[0].name, "cluster_name": self.name, "cluster_uuid": self.uuid, "version": version, "tagline": "You Know, for Search"}))
            }
            ("GET", ["_cluster", "health"]) if self.fault == Fault::ShapeChanged => {
                let mut h = self.health();
                h["status"] = json!(2);
                ok(h)
            }
            ("GET", ["_nodes", "stats", ..]) if self.fault == Fault::ShapeChanged => {
                ok(json!({"_nodes": {"total": 1}, "cluster_name": self.name, "nodes": []}))
            }
            ("GET", ["_cluster", "health"]) => ok(self.health()),
            ("GET", ["_nodes", "stats", ..]) => {
                let nodes: serde_json::Map<String, Value> = self.nodes.iter().map(|n| (n.id.clone(), json!({
                    "name": n.name,
                    "jvm": {"uptime_in_millis": 3_600_000, "mem": {"heap_used_percent": n.heap_used_percent,
                        "pools": {"old": {"used_in_bytes": n.heap_used_percent * 10_000_000, "max_in_bytes": 1_000_000_000u64}}},
                        "gc": {"collectors": {"young": {"collection_count": 10, "collection_time_in_millis": 100}, "old": {"collection_count": 1, "collection_time_in_millis": 50}}}},
                    "os": {"cpu": {"percent": 12}},
                    "fs": {"total": {"total_in_bytes": n.disk_total, "free_in_bytes": n.disk_available, "available_in_bytes": n.disk_available}},
                    "process": {"open_file_descriptors": 420, "max_file_descriptors": 65535},
                    "thread_pool": {"write": {"threads": 2, "queue": 0, "active": 0, "rejected": n.write_rejected, "largest": 2, "completed": n.write_completed},
                                    "search": {"threads": 4, "queue": 0, "active": 0, "rejected": 0, "largest": 4, "completed": 500}},
                    "breakers": {"parent": {"limit_size_in_bytes": 972_000_000u64, "estimated_size_in_bytes": 1000, "overhead": 1.0, "tripped": n.parent_tripped}},
                }))).collect();
                ok(json!({"_nodes": {"total": self.nodes.len(), "successful": self.nodes.len(), "failed": 0}, "cluster_name": self.name, "nodes": nodes}))
            }
            ("GET", ["_nodes"]) => {
                let nodes: serde_json::Map<String, Value> = self.nodes.iter()
                    .map(|n| (n.id.clone(), json!({"name": n.name, "roles": ["data", "ingest", "master"]}))).collect();
                ok(json!({"nodes": nodes}))
            }
            ("GET", ["_nodes", "hot_threads"]) => text(format!("::: {{{}}}{{{}}}\n   Hot threads at 2026-12-01T00:00:00Z, interval=500ms, busiestThreads=3:\n", self.nodes[0].name, self.nodes[0].id)),
            ("GET", ["_cat", "shards", ..]) => {
                let rows: Vec<Value> = self.shards().into_iter()
                    .filter(|s| segs.len() < 3 || s.0 == segs[2])
                    .map(|(index, shard, primary, node, reason, _)| json!({
                        "index": index, "shard": shard.to_string(), "prirep": if primary { "p" } else { "r" },
                        "state": if node.is_some() { "STARTED" } else { "UNASSIGNED" },
                        "unassigned.reason": if node.is_some() { Value::Null } else { json!(reason) },
                        "node": node,
                    })).collect();
                if query.contains("format=json") { ok(Value::Array(rows)) } else { text(rows.iter().map(|r| format!("{} {} {} {}\n", r["index"].as_str().unwrap_or(""), r["shard"].as_str().unwrap_or(""), r["prirep"].as_str().unwrap_or(""), r["state"].as_str().unwrap_or(""))).collect()) }
            }
            ("POST" | "GET", ["_cluster", "allocation", "explain"]) => {
                let shards = self.shards();
                let wanted = shards.iter().find(|s| s.3.is_none() && (body_json.is_null()
                    || (Some(s.0.as_str()) == body_json["index"].as_str()
                        && Some(s.1 as u64) == body_json["shard"].as_u64()
                        && Some(s.2) == body_json["primary"].as_bool())));
                match wanted {
                    None => (400, "application/json", json!({"error": {"type": "illegal_argument_exception", "reason": "unable to find any unassigned shards to explain [ClusterAllocationExplainRequest[useAnyUnassignedShard=true,includeYesDecisions?=false]"}, "status": 400}).to_string()),
                    Some((index, shard, primary, _, reason, deciders)) => ok(json!({
                        "index": index, "shard": shard, "primary": primary, "current_state": "unassigned",
                        "unassigned_info": {"reason": reason, "at": "2026-12-01T00:00:00.000Z", "failed_allocation_attempts": if *reason == "ALLOCATION_FAILED" { 5 } else { 0 }, "last_allocation_status": "no"},
                        "can_allocate": "no",
                        "allocate_explanation": "Elasticsearch isn't allowed to allocate this shard to any of the nodes in the cluster.",
                        "node_allocation_decisions": self.nodes.iter().map(|n| json!({
                            "node_id": n.id, "node_name": n.name, "node_decision": "no",
                            "deciders": deciders.iter().map(|(d, x)| json!({"decider": d, "decision": "NO", "explanation": x})).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    })),
                }
            }
            ("GET", ["_cat", "allocation"]) => ok(Value::Array(self.nodes.iter().map(|n| json!({
                "shards": "1", "disk.indices": "1000", "disk.used": (n.disk_total - n.disk_available).to_string(),
                "disk.avail": n.disk_available.to_string(), "disk.total": n.disk_total.to_string(),
                "disk.percent": ((n.disk_total - n.disk_available) * 100 / n.disk_total).to_string(),
                "host": "127.0.0.1", "ip": "127.0.0.1", "node": n.name,
            })).collect())),
            ("GET", ["_cat", "indices", ..]) => {
                let health = self.health();
                let _ = health;
                let rows: Vec<Value> = self.indices.iter().map(|i| json!({
                    "health": "green", "status": "open", "index": i.name, "pri": i.shards.to_string(),
                    "rep": i.replicas.to_string(), "docs.count": i.docs.to_string(),
                    "store.size": (i.store * (1 + i.replicas as u64)).to_string(), "pri.store.size": i.store.to_string(),
                })).collect();
                if query.contains("format=json") { ok(Value::Array(rows)) } else { text(rows.iter().map(|r| format!("{}\n", r["index"].as_str().unwrap_or(""))).collect()) }
            }
            ("GET", ["_cat", view]) => text(format!("{view} view\n")),
            ("GET", ["_cluster", "settings"]) => {
                let mut v = json!({"persistent": self.persistent, "transient": {}});
                if flag("include_defaults") {
                    v["defaults"] = json!({
                        "cluster.routing.allocation.enable": "all",
                        "cluster.routing.allocation.disk.threshold_enabled": "true",
                        "cluster.routing.allocation.disk.watermark.low": "85%",
                        "cluster.routing.allocation.disk.watermark.low.max_headroom": "200gb",
                        "cluster.routing.allocation.disk.watermark.high": "90%",
                        "cluster.routing.allocation.disk.watermark.high.max_headroom": "150gb",
                        "cluster.routing.allocation.disk.watermark.flood_stage": "95%",
                        "cluster.routing.allocation.disk.watermark.flood_stage.max_headroom": "100gb",
                        "cluster.max_shards_per_node": "1000",
                        "indices.recovery.max_bytes_per_sec": "40mb",
                    });
                }
                ok(v)
            }
            ("PUT", ["_cluster", "settings"]) => {
                for (k, v) in body_json["persistent"].as_object().cloned().unwrap_or_default() {
                    if v.is_null() {
                        self.persistent.remove(&k);
                    } else {
                        self.persistent.insert(k, match v { Value::String(s) => json!(s), other => json!(other.to_string()) });
                    }
                }
                ok(json!({"acknowledged": true, "persistent": self.persistent, "transient": {}}))
            }
            ("GET", [index, "_settings"]) => {
                let v: serde_json::Map<String, Value> = self.indices.iter()
                    .filter(|i| *index == "_all" || i.name == *index)
                    .filter(|i| !query.contains("filter_path=**.blocks") || i.read_only_allow_delete)
                    .map(|i| {
                        let s = if query.contains("filter_path=**.blocks") {
                            json!({"settings": {"index": {"blocks": {"read_only_allow_delete": "true"}}}})
                        } else {
                            self.index_settings(i, flag("include_defaults"))
                        };
                        (i.name.clone(), s)
                    })
                    .collect();
                if v.is_empty() && *index != "_all" {
                    return (404, "application/json", json!({"error": {"type": "index_not_found_exception", "reason": format!("no such index [{index}]")}, "status": 404}).to_string());
                }
                ok(Value::Object(v))
            }
            ("PUT", [index, "_settings"]) => {
                let flat = body_json.as_object().cloned().unwrap_or_default();
                let mut touched = 0;
                for i in self.indices.iter_mut().filter(|i| *index == "_all" || i.name == *index) {
                    touched += 1;
                    for (k, v) in &flat {
                        match k.as_str() {
                            "index.number_of_replicas" => i.replicas = v.as_u64().or_else(|| v.as_str()?.parse().ok()).unwrap_or(1) as u32,
                            "index.routing.allocation.require._name" => i.require_name = v.as_str().map(str::to_string),
                            "index.blocks.read_only_allow_delete" => i.read_only_allow_delete = v.as_bool().unwrap_or(v.as_str() == Some("true")),
                            _ => {}
                        }
                    }
                }
                if touched == 0 {
                    return (404, "application/json", json!({"error": {"type": "index_not_found_exception", "reason": format!("no such index [{index}]")}, "status": 404}).to_string());
                }
                ok(json!({"acknowledged": true}))
            }
            ("POST", ["_cluster", "reroute"]) => {
                if flag("retry_failed") && !flag("dry_run") {
                    for i in &mut self.indices {
                        i.failed_attempts = 0;
                    }
                }
                ok(json!({"acknowledged": true, "state": {"cluster_uuid": self.uuid}}))
            }
            ("POST", ["_cache", "clear"]) => ok(json!({"_shards": {"total": 2, "successful": 2, "failed": 0}})),
            ("DELETE", [index]) => {
                let before = self.indices.len();
                self.indices.retain(|i| i.name != *index);
                if self.indices.len() == before {
                    (404, "application/json", json!({"error": {"type": "index_not_found_exception"}, "status": 404}).to_string())
                } else {
                    ok(json!({"acknowledged": true}))
                }
            }
            _ => (400, "application/json", json!({"error": {"type": "illegal_argument_exception", "reason": format!("no handler found for uri [{path}] and method [{method}]")}, "status": 400}).to_string()),
        }
    }
}

/// The running server.
pub struct EsServer {
    pub port: u16,
    pub cluster: Arc<Mutex<Cluster>>,
}

impl EsServer {
    /// A one-node, green cluster with no indices.
    pub async fn start() -> EsServer {
        let cluster = Cluster {
            name: "test-cluster".into(),
            uuid: "vH4yZ3bWQ-qQZ9n3wJzWqw".into(),
            distribution: None,
            nodes: vec![Node {
                id: "n1Id".into(),
                name: "node-1".into(),
                disk_total: 100 << 30,
                disk_available: 60 << 30,
                heap_used_percent: 40,
                write_rejected: 0,
                write_completed: 1000,
                parent_tripped: 0,
            }],
            indices: Vec::new(),
            persistent: BTreeMap::new(),
            credentials: None,
            fault: Fault::None,
            requests: Vec::new(),
        };
        let cluster = Arc::new(Mutex::new(cluster));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().unwrap().port();
        let shared = cluster.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, shared.clone()));
            }
        });
        EsServer { port, cluster }
    }

    /// `elasticsearch://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("elasticsearch://127.0.0.1:{}", self.port)
    }

    /// Changes the model.
    pub fn with<R>(&self, f: impl FnOnce(&mut Cluster) -> R) -> R {
        f(&mut self.cluster.lock().unwrap())
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<(String, String, String)> {
        self.with(|c| c.requests.clone())
    }
}

async fn serve(mut sock: TcpStream, cluster: Arc<Mutex<Cluster>>) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // Read one request: head, then Content-Length bytes of body.
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let mut tmp = [0u8; 8192];
            match sock.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.lines();
        let mut first = lines.next().unwrap_or("").split_whitespace();
        let method = first.next().unwrap_or("").to_string();
        let path = first.next().unwrap_or("").to_string();
        let mut length = 0usize;
        let mut authorization = None;
        for l in lines {
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if k.eq_ignore_ascii_case("authorization") {
                    authorization = Some(v.trim().to_string());
                }
            }
        }
        while buf.len() < head_end + length {
            let mut tmp = [0u8; 8192];
            match sock.read(&mut tmp).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
        buf.drain(..head_end + length);

        let (status, ctype, reply, fault) = {
            let mut c = cluster.lock().unwrap();
            c.requests
                .push((method.clone(), path.clone(), body.clone()));
            let authorized = match &c.credentials {
                None => true,
                Some((u, p)) => {
                    let expected = format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
                    );
                    authorization.as_deref() == Some(expected.as_str())
                }
            };
            let fault = c.fault.clone();
            if !authorized {
                (401, "application/json", json!({"error": {"type": "security_exception", "reason": "missing authentication credentials for REST request [/]"}, "status": 401}).to_string(), fault)
            } else if fault == Fault::Forbidden {
                (403, "application/json", json!({"error": {"type": "security_exception", "reason": "action [cluster:monitor/health] is unauthorized for user [viewer]"}, "status": 403}).to_string(), fault)
            } else if fault == Fault::TooManyRequests {
                // The body Elasticsearch 8 sends when the search pool's queue is full.
                let reason = "rejected execution of org.elasticsearch.action.search.SearchTransportService$6@5c3a1b2e on TaskExecutionTimeTrackingEsThreadPoolExecutor[name = es-node-1/search, queue capacity = 1000, task execution EWMA = 1.2ms, total task execution time = 3.4m, org.elasticsearch.common.util.concurrent.TaskExecutionTimeTrackingEsThreadPoolExecutor@4f2b6e1d[Running, pool size = 13, active threads = 13, queued tasks = 1000, completed tasks = 48213]]";
                (429, "application/json", json!({"error": {"root_cause": [{"type": "es_rejected_execution_exception", "reason": reason}], "type": "es_rejected_execution_exception", "reason": reason}, "status": 429}).to_string(), fault)
            } else if fault == Fault::Unavailable {
                let reason =
                    "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];";
                (503, "application/json", json!({"error": {"root_cause": [{"type": "cluster_block_exception", "reason": reason}], "type": "cluster_block_exception", "reason": reason}, "status": 503}).to_string(), fault)
            } else {
                let (s, t, b) = c.answer(&method, &path, &body);
                (s, t, b, fault)
            }
        };
        let (ctype, reply) = match fault {
            Fault::Html => (
                "text/html",
                "<html><body><h1>502 Bad Gateway</h1></body></html>".to_string(),
            ),
            Fault::MalformedJson => (ctype, reply[..reply.len() / 2].to_string() + "}}"),
            Fault::Huge(n) => (
                "application/json",
                format!("{{\"pad\":\"{}\"}}", "x".repeat(n.saturating_sub(10))),
            ),
            _ => (ctype, reply),
        };
        if let Fault::Stall(d) = fault {
            tokio::time::sleep(d).await;
        }
        let declared = if fault == Fault::CutOff {
            reply.len() + 100
        } else {
            reply.len()
        };
        let head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: {ctype}\r\ncontent-length: {declared}\r\nX-elastic-product: Elasticsearch\r\n\r\n",
            if status < 300 { "OK" } else { "Error" }
        );
        let written = if method == "HEAD" {
            sock.write_all(head.as_bytes()).await
        } else {
            sock.write_all(format!("{head}{reply}").as_bytes()).await
        };
        if written.is_err() || fault == Fault::CutOff {
            return; // a cut-off body: close mid-reply
        }
    }
}
