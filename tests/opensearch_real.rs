//! The Elasticsearch plugin against real OpenSearch 2.19 nodes (Maven Central's integ-test
//! distribution; tests/common/opensearch.rs): a yellow cluster from a replica that has nowhere
//! to go, a red one from an allocation filter and from a lost primary, allocation explain
//! answered by the node, disabled allocation, the shard limit, disk watermarks set through the
//! cluster settings API over the node's real disk numbers, the flood-stage block the node puts
//! on by itself, write rejections from a one-thread write pool under a real concurrent bulk
//! load, a tripped circuit breaker, index write blocks; the repairs applied, verified and
//! rolled back, each checked with the test's own requests; and read-only mode proved by the
//! node's HTTP tracer, which records every request with its X-Opaque-Id.

mod common;

use std::time::{Duration, Instant};

use common::executor;
use common::opensearch::{OpenSearchCluster, TracedRequest};
use kubestack_ai::config::{AppConfig, InstanceConfig, InstanceKind, SafetyMode};
use kubestack_ai::diagnose::Finding;
use kubestack_ai::plugins::elasticsearch::connection::{OPAQUE_ID_READ, OPAQUE_ID_REPAIR};
use kubestack_ai::plugins::elasticsearch::http_guard::check_read_only;
use kubestack_ai::plugins::elasticsearch::repair::EsRepairs;
use kubestack_ai::plugins::{Collector, InstanceSnapshot, PluginError, plugin_for};
use kubestack_ai::repair::catalog::{PlanContext, RepairCatalog, plan_for_finding};
use kubestack_ai::repair::{Confirmation, Executor, PreparedStep, RepairStep, WriteBackend};
use serde_json::{Map, Value, json};

fn instance(cluster: &OpenSearchCluster) -> InstanceConfig {
    InstanceConfig::new("search", InstanceKind::Elasticsearch, cluster.url())
}

fn config() -> AppConfig {
    let mut c = common::fast_config();
    // Allocation explain on a loaded 2-core machine can take a second or two.
    c.collector.command_timeout_ms = 15_000;
    c
}

fn collector(cluster: &OpenSearchCluster) -> Box<dyn Collector> {
    plugin_for(InstanceKind::Elasticsearch)
        .collector(&instance(cluster), &config())
        .unwrap()
}

/// Two samples a little apart (counters are judged on the second); the logs of both.
async fn two_samples(cluster: &OpenSearchCluster) -> InstanceSnapshot {
    let mut c = collector(cluster);
    let first = c.collect().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut second = c.collect().await.unwrap();
    let mut logs = first.logs;
    logs.append(&mut second.logs);
    second.logs = logs;
    second
}

fn ids(s: &InstanceSnapshot) -> Vec<(String, &'static str)> {
    s.findings
        .iter()
        .map(|f| (f.id.clone(), f.severity.tag()))
        .collect()
}

fn has(s: &InstanceSnapshot, id: &str, tag: &str) -> bool {
    s.findings
        .iter()
        .any(|f| f.id == id && f.severity.tag() == tag)
}

fn finding<'a>(s: &'a InstanceSnapshot, id: &str, about: &str) -> &'a Finding {
    s.findings
        .iter()
        .find(|f| f.id == id && (about.is_empty() || f.title.contains(about)))
        .unwrap_or_else(|| {
            panic!(
                "no {id} about `{about}` among {:?}; logs {:?}",
                ids(s),
                s.logs.iter().map(|l| &l.text).collect::<Vec<_>>()
            )
        })
}

/// Prepares, applies and verifies one step as the confirm screen would.
async fn apply(
    executor: &Executor,
    backend: &mut dyn WriteBackend,
    step: &RepairStep,
    typed: Option<&str>,
) -> PreparedStep {
    let prepared = executor
        .prepare(backend, step)
        .await
        .unwrap_or_else(|e| panic!("{}: prepare: {e}", step.action));
    executor
        .execute(
            backend,
            step,
            &Confirmation {
                typed_name: typed.map(String::from),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{}: execute: {e}", step.action));
    executor
        .verify(backend, step, &prepared)
        .await
        .unwrap_or_else(|e| panic!("{}: verify: {e}", step.action));
    prepared
}

/// A flat index setting as the node reports it (`None` when unset).
fn index_setting(cluster: &OpenSearchCluster, index: &str, key: &str) -> Option<String> {
    let v = cluster.ok(
        "GET",
        &format!("/{index}/_settings?flat_settings=true"),
        None,
    );
    v[index]["settings"][key].as_str().map(String::from)
}

/// A cluster setting as the node reports it: `(persistent, transient)`.
fn cluster_setting(cluster: &OpenSearchCluster, key: &str) -> (Option<String>, Option<String>) {
    let v = cluster.ok("GET", "/_cluster/settings?flat_settings=true", None);
    let get = |s: &str| v[s][key].as_str().map(String::from);
    (get("persistent"), get("transient"))
}

fn health(cluster: &OpenSearchCluster, index: &str) -> String {
    let v = cluster.ok(
        "GET",
        &format!("/_cluster/health/{index}?wait_for_events=languid"),
        None,
    );
    v["status"].as_str().unwrap_or("?").to_string()
}

fn params(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

/// The node's record of what the product sent: every read is on the read-only allowlist and
/// carries the collector's X-Opaque-Id; writes carry the executor's.
fn assert_product_reads_only(requests: &[TracedRequest]) {
    for r in requests {
        if r.opaque_id.as_deref() == Some(OPAQUE_ID_READ) {
            assert!(
                check_read_only(&r.method, &r.uri).is_ok(),
                "a write under the read X-Opaque-Id: {r:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_yellow_red_and_allocation_repairs_applied_verified_and_rolled_back() {
    let mut cluster = OpenSearchCluster::start(1, &[]);
    eprintln!("OpenSearch: 1 node started in {:?}", cluster.started_in);
    let inst = instance(&cluster);
    let cfg = config();

    // Green, identified, open to anyone (no security plugin in this distribution).
    let s = two_samples(&cluster).await;
    let uuid = cluster.ok("GET", "/", None)["cluster_uuid"].clone();
    assert_eq!(s.facts.identity.as_deref(), uuid.as_str());
    assert_eq!(s.facts.version.as_deref(), Some("opensearch 2.19.6"));
    assert!(has(&s, "ES-SEC-01", "WARN"), "{:?}", ids(&s));
    assert!(
        !s.findings.iter().any(|f| f.id == "ES-H-01"),
        "{:?}",
        ids(&s)
    );

    // Pointed at the node's transport port instead of HTTP: the node answers a line of plain
    // text, and the error says so rather than "cannot reach".
    let wrong = InstanceConfig::new(
        "search",
        InstanceKind::Elasticsearch,
        format!(
            "elasticsearch://127.0.0.1:{}",
            cluster.nodes[0].transport_port
        ),
    );
    let err = plugin_for(InstanceKind::Elasticsearch)
        .collector(&wrong, &cfg)
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    assert!(
        matches!(err, PluginError::Protocol { .. })
            && err.to_string().contains("not in HTTP")
            && err.to_string().contains("transport port"),
        "{err}"
    );

    // Yellow: a replica has no second node (same_shard, from the node's allocation explain).
    cluster.ok(
        "PUT",
        "/orders",
        Some(json!({"settings": {"number_of_shards": 1, "number_of_replicas": 1}})),
    );
    cluster.wait_for_status("orders", "yellow", Duration::from_secs(30));
    let s = two_samples(&cluster).await;
    assert!(has(&s, "ES-H-01", "WARN"), "{:?}", ids(&s));
    let h02 = finding(&s, "ES-H-02", "orders");
    assert_eq!(h02.evidence["deciders"], json!(["same_shard"]), "{h02:?}");
    assert_eq!(h02.evidence["primary"], json!(false));
    assert!(
        s.logs
            .iter()
            .any(|l| l.stream == "allocation" && l.text.contains("orders[0] r unassigned")),
        "{:?}",
        s.logs
    );
    // The AI's tool asks the node the same question and gets the decider back.
    let mut tools = plugin_for(InstanceKind::Elasticsearch)
        .tools(&inst, &cfg)
        .unwrap();
    let explained = tools
        .call(
            "es_allocation_explain",
            &json!({"index": "orders", "shard": 0, "primary": false}),
        )
        .await
        .unwrap();
    assert!(explained.contains("same_shard"), "{explained}");
    let (executor, _audit) = executor(SafetyMode::Confirm);
    let mut backend = executor.open_backend(&inst, &cfg).unwrap();
    let ctx = PlanContext::for_instance(&inst, &s.facts);
    let step = plan_for_finding(&EsRepairs, h02, &ctx).steps.remove(0);
    assert_eq!(step.action, "ES-FIX-03");
    let prepared = apply(&executor, backend.as_mut(), &step, None).await;
    assert!(
        prepared.preview.contains("index.number_of_replicas: 1 → 0"),
        "{}",
        prepared.preview
    );
    assert_eq!(
        index_setting(&cluster, "orders", "index.number_of_replicas").as_deref(),
        Some("0")
    );
    assert_eq!(health(&cluster, "orders"), "green");
    executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(
        index_setting(&cluster, "orders", "index.number_of_replicas").as_deref(),
        Some("1"),
        "rolled back on the node"
    );
    assert_eq!(health(&cluster, "orders"), "yellow");

    // Red: an allocation filter that matches no node; the primary is explained (filter).
    // (Not waiting for an active shard: there will be none.)
    cluster.ok(
        "PUT",
        "/pinned?wait_for_active_shards=0",
        Some(
            json!({"settings": {"number_of_shards": 1, "number_of_replicas": 0,
            "index.routing.allocation.require._name": "no-such-node"}}),
        ),
    );
    let s = two_samples(&cluster).await;
    assert!(has(&s, "ES-H-01", "CRIT"), "{:?}", ids(&s));
    let h02 = finding(&s, "ES-H-02", "pinned");
    assert_eq!(h02.severity.tag(), "CRIT");
    assert_eq!(h02.evidence["deciders"], json!(["filter"]), "{h02:?}");
    let ctx = PlanContext::for_instance(&inst, &s.facts);
    let step = plan_for_finding(&EsRepairs, h02, &ctx).steps.remove(0);
    assert_eq!(step.action, "ES-FIX-07");
    let prepared = apply(&executor, backend.as_mut(), &step, None).await;
    cluster.wait_for_status("pinned", "green", Duration::from_secs(30));
    assert_eq!(
        index_setting(&cluster, "pinned", "index.routing.allocation.require._name"),
        None
    );
    executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(
        index_setting(&cluster, "pinned", "index.routing.allocation.require._name").as_deref(),
        Some("no-such-node"),
        "the filter is back"
    );
    // ES-FIX-06 deletes it (dangerous: typed confirmation), verified by the node's index list.
    let step = EsRepairs
        .build("ES-FIX-06", &params(&[("index", "pinned")]), &ctx)
        .unwrap();
    let err = executor
        .execute(backend.as_mut(), &step, &Confirmation::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("type"), "{err}");
    apply(&executor, backend.as_mut(), &step, Some("search")).await;
    assert_eq!(cluster.request("GET", "/pinned", None).unwrap().0, 404);

    // Allocation disabled — once persistent, once transient (as old rolling-restart guides
    // say): ES-H-03, fixed by ES-FIX-02, rolled back to what was there.
    for section in ["persistent", "transient"] {
        cluster.ok(
            "PUT",
            "/_cluster/settings",
            Some(json!({section: {"cluster.routing.allocation.enable": "none"}})),
        );
        let s = two_samples(&cluster).await;
        let h03 = finding(&s, "ES-H-03", "");
        let ctx = PlanContext::for_instance(&inst, &s.facts);
        let step = plan_for_finding(&EsRepairs, h03, &ctx).steps.remove(0);
        assert_eq!(step.action, "ES-FIX-02");
        let prepared = apply(&executor, backend.as_mut(), &step, None).await;
        assert_eq!(
            cluster_setting(&cluster, "cluster.routing.allocation.enable"),
            (None, None),
            "{section}"
        );
        executor
            .rollback(backend.as_mut(), &step, &prepared)
            .await
            .unwrap();
        let want = if section == "persistent" {
            (Some("none".to_string()), None)
        } else {
            (None, Some("none".to_string()))
        };
        assert_eq!(
            cluster_setting(&cluster, "cluster.routing.allocation.enable"),
            want,
            "rolled back into the same section ({section})"
        );
        cluster.ok(
            "PUT",
            "/_cluster/settings",
            Some(json!({section: {"cluster.routing.allocation.enable": null}})),
        );
    }

    // The shard limit: ES-S-02 on the node's own shard count, ES-FIX-12 raises it.
    cluster.ok(
        "PUT",
        "/_cluster/settings",
        Some(json!({"persistent": {"cluster.max_shards_per_node": 2}})),
    );
    let s = two_samples(&cluster).await;
    let s02 = finding(&s, "ES-S-02", "");
    assert_eq!(s02.evidence["max_shards_per_node"], json!(2));
    let ctx = PlanContext::for_instance(&inst, &s.facts);
    let step = plan_for_finding(&EsRepairs, s02, &ctx).steps.remove(0);
    assert_eq!(step.action, "ES-FIX-12");
    let prepared = apply(&executor, backend.as_mut(), &step, None).await;
    let (raised, _) = cluster_setting(&cluster, "cluster.max_shards_per_node");
    let raised: u64 = raised.and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!(raised > 2, "raised above 2, not {raised}");
    executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(
        cluster_setting(&cluster, "cluster.max_shards_per_node")
            .0
            .as_deref(),
        Some("2")
    );
    cluster.ok(
        "PUT",
        "/_cluster/settings",
        Some(json!({"persistent": {"cluster.max_shards_per_node": null}})),
    );

    // Retry failed allocations (a real reroute; its dry run is the preview), recovery
    // speed-up (rolled back to the defaults), fielddata cache clearing.
    let step = EsRepairs.build("ES-FIX-01", &Map::new(), &ctx).unwrap();
    let prepared = apply(&executor, backend.as_mut(), &step, None).await;
    assert!(
        prepared.preview.contains("dry run") && prepared.preview.contains("acknowledged"),
        "{}",
        prepared.preview
    );
    let step = EsRepairs.build("ES-FIX-13", &Map::new(), &ctx).unwrap();
    let prepared = apply(&executor, backend.as_mut(), &step, None).await;
    assert_eq!(
        cluster_setting(&cluster, "indices.recovery.max_bytes_per_sec")
            .0
            .as_deref(),
        Some("200mb")
    );
    executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(
        cluster_setting(&cluster, "indices.recovery.max_bytes_per_sec"),
        (None, None)
    );
    let step = EsRepairs.build("ES-FIX-08", &Map::new(), &ctx).unwrap();
    apply(&executor, backend.as_mut(), &step, None).await;

    // A shard whose files are corrupt: the node fails to recover it five times and stops
    // trying (ES-H-04, ES-H-02 `max_retry`). ES-FIX-01 retries — and fails its check while
    // the cause is there; with the file repaired, the same step brings the shard back.
    cluster.ok(
        "PUT",
        "/broken",
        Some(json!({"settings": {"number_of_shards": 1, "number_of_replicas": 0}})),
    );
    cluster.ok("POST", "/broken/_doc?refresh=true", Some(json!({"a": 1})));
    cluster.ok("POST", "/broken/_flush", None);
    let uuid = cluster.ok("GET", "/broken/_settings", None)["broken"]["settings"]["index"]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    cluster.kill(1);
    let cfs = cluster.shard_dir(1, &uuid, 0).join("index/_0.cfs");
    let original = std::fs::read(&cfs).unwrap_or_else(|e| panic!("{}: {e}", cfs.display()));
    let mut corrupt = original.clone();
    corrupt[..7].copy_from_slice(b"garbage");
    std::fs::write(&cfs, &corrupt).unwrap();
    let back = cluster.restart(1);
    eprintln!("OpenSearch: node-1 back in {back:?}");
    wait_until("five failed allocations", Duration::from_secs(60), || {
        let (_, v) = cluster
            .request(
                "POST",
                "/_cluster/allocation/explain",
                Some(&json!({"index": "broken", "shard": 0, "primary": true})),
            )
            .unwrap();
        v["unassigned_info"]["failed_allocation_attempts"].as_u64() >= Some(5)
    });
    let s = two_samples(&cluster).await;
    let h04 = finding(&s, "ES-H-04", "broken");
    assert_eq!(h04.severity.tag(), "CRIT");
    assert_eq!(h04.evidence["failed_allocation_attempts"], json!(5));
    assert_eq!(
        finding(&s, "ES-H-02", "broken").evidence["deciders"],
        json!(["max_retry"])
    );
    let (executor, _audit3) = common::executor(SafetyMode::Confirm);
    let mut backend = executor.open_backend(&inst, &cfg).unwrap();
    let ctx = PlanContext::for_instance(&inst, &s.facts);
    let step = plan_for_finding(&EsRepairs, h04, &ctx).steps.remove(0);
    assert_eq!(step.action, "ES-FIX-01");
    let prepared = executor.prepare(backend.as_mut(), &step).await.unwrap();
    executor
        .execute(backend.as_mut(), &step, &Confirmation::default())
        .await
        .unwrap();
    let err = executor
        .verify(backend.as_mut(), &step, &prepared)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ALLOCATION_FAILED"), "{err}");
    std::fs::write(&cfs, &original).unwrap();
    apply(&executor, backend.as_mut(), &step, None).await;
    cluster.wait_for_status("broken", "green", Duration::from_secs(30));
    assert_eq!(cluster.ok("GET", "/broken/_count", None)["count"], json!(1));

    // The node's record: the collector only read; every write came from the executor.
    let product = cluster.traced_from("kubestack-ai");
    assert_product_reads_only(&product);
    let writes: Vec<String> = product
        .iter()
        .filter(|r| r.opaque_id.as_deref() == Some(OPAQUE_ID_REPAIR))
        .map(|r| format!("{} {}", r.method, r.uri))
        .collect();
    for want in [
        "PUT /orders/_settings",
        "PUT /pinned/_settings",
        "DELETE /pinned",
        "PUT /_cluster/settings",
        "POST /_cluster/reroute?retry_failed=true",
        "POST /_cache/clear?fielddata=true",
    ] {
        assert!(
            writes.iter().any(|w| w.starts_with(want)),
            "{want} not in the node's record of the executor's requests: {writes:#?}"
        );
    }
    assert!(
        product
            .iter()
            .any(|r| r.method == "POST" && r.uri == "/_cluster/allocation/explain"),
        "allocation explain was asked of the node"
    );
}

/// Sends `threads × rounds` bulk requests of `docs` documents each at once; returns how many
/// answered 429 or carried a rejected item.
fn bulk_load(cluster: &OpenSearchCluster, index: &str, threads: usize, rounds: usize) -> usize {
    let port = cluster.nodes[0].http_port;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let index = index.to_string();
            std::thread::spawn(move || {
                let mut rejected = 0;
                for r in 0..rounds {
                    let mut body = String::new();
                    for d in 0..50 {
                        body.push_str(&format!("{{\"index\":{{\"_index\":\"{index}\"}}}}\n"));
                        body.push_str(&format!(
                            "{{\"t\":{t},\"r\":{r},\"d\":{d},\"pad\":\"{}\"}}\n",
                            "x".repeat(200)
                        ));
                    }
                    match common::opensearch::http(port, "POST", "/_bulk", Some(body)) {
                        Ok((429, _)) => rejected += 1,
                        Ok((_, v)) if v.to_string().contains("rejected_execution") => rejected += 1,
                        _ => {}
                    }
                }
                rejected
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
}

/// Polls until `f` holds (the node applies some changes on its own schedule).
fn wait_until(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_watermarks_rejections_breakers_and_blocks_on_real_numbers_and_read_only_mode() {
    // A write pool of one thread and a queue of one: a concurrent bulk load is rejected. And
    // an open-files limit of 4096, below the 65535 OpenSearch asks for (ES-N-02).
    let cluster = OpenSearchCluster::start_with_nofile(
        1,
        &[
            ("thread_pool.write.size", "1"),
            ("thread_pool.write.queue_size", "1"),
        ],
        Some(4096),
    );
    eprintln!("OpenSearch: 1 node started in {:?}", cluster.started_in);
    let inst = instance(&cluster);
    let cfg = config();
    cluster.ok(
        "PUT",
        "/logs",
        Some(
            json!({"settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": {"properties": {"t": {"type": "keyword"}}}}),
        ),
    );
    cluster.wait_for_status("logs", "green", Duration::from_secs(30));

    // Rejections: ES-T-01 on the node's own counters, over two samples.
    let mut c = collector(&cluster);
    let s = c.collect().await.unwrap();
    let n02 = finding(&s, "ES-N-02", "node-1");
    assert_eq!(n02.evidence["max_file_descriptors"], json!(4096), "{n02:?}");
    let rejected = bulk_load(&cluster, "logs", 8, 6);
    assert!(rejected > 0, "a one-thread write pool rejected nothing");
    let s = c.collect().await.unwrap();
    let t01 = s
        .findings
        .iter()
        .find(|f| f.id == "ES-T-01" && f.evidence["pool"] == "write")
        .unwrap_or_else(|| panic!("no ES-T-01 on the write pool: {:?}", ids(&s)));
    assert!(
        t01.evidence["rejected"].as_u64().unwrap_or(0) >= rejected as u64,
        "the node counted at least the {rejected} the clients saw: {t01:?}"
    );
    assert!(
        s.metrics
            .iter()
            .any(|m| m.id == "rejected" && m.value > 0.0)
    );

    // A tripped circuit breaker: the request breaker at 1 byte, an aggregation, ES-J-04.
    cluster.ok("POST", "/logs/_refresh", None);
    cluster.ok(
        "PUT",
        "/_cluster/settings",
        Some(json!({"persistent": {"indices.breaker.request.limit": "1b"}})),
    );
    let (code, v) = cluster
        .request(
            "POST",
            "/logs/_search",
            Some(&json!({"size": 0, "aggs": {"t": {"terms": {"field": "t"}}}})),
        )
        .unwrap();
    assert_eq!(code, 429, "the breaker tripped: {v}");
    let s = c.collect().await.unwrap();
    let j04 = finding(&s, "ES-J-04", "");
    assert_eq!(j04.evidence["breaker"], "request", "{j04:?}");
    let ctx = PlanContext::for_instance(&inst, &s.facts);
    let plan = plan_for_finding(&EsRepairs, j04, &ctx);
    assert_eq!(plan.steps[0].action, "ES-FIX-08");
    cluster.ok(
        "PUT",
        "/_cluster/settings",
        Some(json!({"persistent": {"indices.breaker.request.limit": null}})),
    );

    // Disk: the node's real use against watermarks set through the cluster settings API.
    let used_pct = {
        let v = cluster.ok("GET", "/_cat/allocation?format=json&bytes=b", None);
        let row = &v[0];
        let used: f64 = row["disk.used"]
            .as_str()
            .unwrap_or("0")
            .parse()
            .unwrap_or(0.0);
        let total: f64 = row["disk.total"]
            .as_str()
            .unwrap_or("1")
            .parse()
            .unwrap_or(1.0);
        used / total * 100.0
    };
    assert!(
        (1.0..99.0).contains(&used_pct),
        "the test needs a disk between 1 % and 99 % used, not {used_pct:.1} %"
    );
    let watermarks = |low: &str, high: &str, flood: &str| {
        cluster.ok(
            "PUT",
            "/_cluster/settings",
            Some(json!({"persistent": {
                "cluster.routing.allocation.disk.watermark.low": low,
                "cluster.routing.allocation.disk.watermark.high": high,
                "cluster.routing.allocation.disk.watermark.flood_stage": flood}})),
        );
    };
    watermarks("1%", "99%", "99.5%");
    let s = c.collect().await.unwrap();
    let d01 = finding(&s, "ES-D-01", "node-1");
    let seen = d01.evidence["disk_used_pct"].as_f64().unwrap_or(0.0);
    assert!(
        (seen - used_pct).abs() < 2.0,
        "the rule read the node's {used_pct:.1} %: {d01:?}"
    );
    assert_eq!(d01.evidence["low_pct"], json!(1.0));
    watermarks("1%", "1%", "99.5%");
    let s = c.collect().await.unwrap();
    let d02 = finding(&s, "ES-D-02", "node-1");
    // ES-FIX-05 raises the watermarks to 90/95/97 %, and its rollback puts 1 %/1 %/99.5 % back.
    let (executor, _audit) = executor(SafetyMode::Confirm);
    let mut backend = executor.open_backend(&inst, &cfg).unwrap();
    let ctx = PlanContext::for_instance(&inst, &s.facts);
    let step = plan_for_finding(&EsRepairs, d02, &ctx).steps.remove(0);
    assert_eq!(step.action, "ES-FIX-05");
    let prepared = apply(&executor, backend.as_mut(), &step, None).await;
    assert!(
        prepared.preview.contains("watermark.high: 1% → 95%"),
        "{}",
        prepared.preview
    );
    let s = c.collect().await.unwrap();
    assert!(
        !s.findings.iter().any(|f| f.id.starts_with("ES-D-")) || used_pct >= 90.0,
        "{:?}",
        ids(&s)
    );
    executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(
        cluster_setting(&cluster, "cluster.routing.allocation.disk.watermark.high")
            .0
            .as_deref(),
        Some("1%")
    );
    let s = c.collect().await.unwrap();
    finding(&s, "ES-D-02", "node-1");

    // Flood stage: ES-D-03 for the node at once; the node blocks the index by itself within
    // its disk-info interval (10 s), and a write is refused.
    watermarks("1%", "1%", "1%");
    let s = c.collect().await.unwrap();
    assert_eq!(finding(&s, "ES-D-03", "node-1").severity.tag(), "CRIT");
    wait_until("the flood-stage block", Duration::from_secs(40), || {
        index_setting(&cluster, "logs", "index.blocks.read_only_allow_delete").as_deref()
            == Some("true")
    });
    let (code, v) = cluster
        .request("POST", "/logs/_doc", Some(&json!({"t": "x"})))
        .unwrap();
    assert_eq!(code, 429, "{v}");
    let s = c.collect().await.unwrap();
    let blocked = finding(&s, "ES-D-03", "read-only-allow-delete");
    assert_eq!(blocked.evidence["indices"], json!(["logs"]));
    // ES-FIX-04 is refused while the node is past its high watermark (the catalog's
    // precheck: the node would put the block back), and nothing is written.
    watermarks("1%", "1%", "99.5%");
    let ctx = PlanContext::for_instance(&inst, &s.facts);
    let step = plan_for_finding(&EsRepairs, blocked, &ctx).steps.remove(0);
    assert_eq!(step.action, "ES-FIX-04");
    let lifts = |c: &OpenSearchCluster| {
        c.traced_from(OPAQUE_ID_REPAIR)
            .iter()
            .filter(|r| r.method == "PUT" && r.uri.starts_with("/_all/_settings"))
            .count()
    };
    let prepared = executor.prepare(backend.as_mut(), &step).await.unwrap();
    let err = executor
        .execute(backend.as_mut(), &step, &Confirmation::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("precheck") && err.to_string().contains("high watermark 1.0%"),
        "{err}"
    );
    drop(prepared);
    assert_eq!(lifts(&cluster), 0, "the refused lift was not sent");
    assert_eq!(
        index_setting(&cluster, "logs", "index.blocks.read_only_allow_delete").as_deref(),
        Some("true")
    );
    // Below the high watermark again, ES-FIX-04 lifts the block (the node would too, on its
    // next disk check, up to 10 s later).
    watermarks("1%", "99%", "99.5%");
    apply(&executor, backend.as_mut(), &step, None).await;
    assert_eq!(lifts(&cluster), 1, "the lift is in the node's record");
    assert_eq!(
        index_setting(&cluster, "logs", "index.blocks.read_only_allow_delete"),
        None
    );
    let (code, v) = cluster
        .request("POST", "/logs/_doc", Some(&json!({"t": "y"})))
        .unwrap();
    assert_eq!(code, 201, "writes accepted again: {v}");

    // Disk protection off: ES-D-04, and no watermark finding.
    cluster.ok(
        "PUT",
        "/_cluster/settings",
        Some(json!({"persistent": {"cluster.routing.allocation.disk.threshold_enabled": false}})),
    );
    let s = c.collect().await.unwrap();
    finding(&s, "ES-D-04", "");
    assert!(
        !s.findings
            .iter()
            .any(|f| ["ES-D-01", "ES-D-02"].contains(&f.id.as_str())),
        "{:?}",
        ids(&s)
    );
    cluster.ok(
        "PUT",
        "/_cluster/settings",
        Some(json!({"persistent": {"cluster.routing.allocation.disk.threshold_enabled": null}})),
    );
    cluster.ok(
        "PUT",
        "/_cluster/settings",
        Some(json!({"persistent": {"cluster.routing.allocation.disk.watermark.*": null}})),
    );

    // A write block set by hand: ES-H-07, and the node refuses a write.
    cluster.ok(
        "PUT",
        "/logs/_settings",
        Some(json!({"index.blocks.write": true})),
    );
    let (code, v) = cluster
        .request("POST", "/logs/_doc", Some(&json!({"t": "z"})))
        .unwrap();
    assert_eq!(code, 403, "{v}");
    let s = c.collect().await.unwrap();
    let h07 = finding(&s, "ES-H-07", "logs");
    assert_eq!(h07.evidence["blocks"], json!(["logs (index.blocks.write)"]));

    // Read-only mode: the plan of a finding is refused before anything is sent, and the
    // node's record shows the product sent only allowlisted reads from here on.
    let before = cluster.traced_from("kubestack-ai").len();
    let (ro, _audit2) = common::executor(SafetyMode::ReadOnly);
    let mut ro_backend = ro.open_backend(&inst, &cfg).unwrap();
    let ctx = PlanContext::for_instance(&inst, &s.facts);
    let mut tried = 0;
    for step in [
        EsRepairs.build("ES-FIX-05", &Map::new(), &ctx).unwrap(),
        EsRepairs.build("ES-FIX-01", &Map::new(), &ctx).unwrap(),
        EsRepairs
            .build("ES-FIX-06", &params(&[("index", "logs")]), &ctx)
            .unwrap(),
    ] {
        let prepared = ro.prepare(ro_backend.as_mut(), &step).await.unwrap();
        let err = ro
            .execute(
                ro_backend.as_mut(),
                &step,
                &Confirmation {
                    typed_name: Some("search".into()),
                },
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("read-only"), "{err}");
        if step.action == "ES-FIX-01" {
            assert!(
                prepared.preview.contains("not sent: read-only"),
                "{}",
                prepared.preview
            );
        }
        tried += 1;
    }
    assert_eq!(tried, 3);
    let mut tools = plugin_for(InstanceKind::Elasticsearch)
        .tools(&inst, &cfg)
        .unwrap();
    for (name, args) in [
        ("es_health", json!({})),
        (
            "es_allocation_explain",
            json!({"index": "logs", "shard": 0, "primary": true}),
        ),
        ("es_hot_threads", json!({})),
        ("es_cat", json!({"view": "thread_pool"})),
    ] {
        // Allocation explain of an assigned shard answers 400 on a real node: an error text
        // is fine, a write is not.
        let _ = tools.call(name, &args).await;
    }
    c.collect().await.unwrap();
    let product = cluster.traced_from("kubestack-ai");
    let after = &product[before..];
    assert!(after.len() >= 10, "{after:#?}");
    for r in after {
        assert_eq!(r.opaque_id.as_deref(), Some(OPAQUE_ID_READ), "{r:?}");
        assert!(
            check_read_only(&r.method, &r.uri).is_ok(),
            "read-only mode sent a write: {r:?}"
        );
        assert!(!r.uri.contains("_cluster/reroute"), "{r:?}");
    }
    assert!(
        cluster.request("GET", "/logs", None).unwrap().0 == 200,
        "logs still exists"
    );
    assert_eq!(
        cluster_setting(&cluster, "cluster.routing.allocation.disk.watermark.low"),
        (None, None),
        "ES-FIX-05 was not applied"
    );
    assert_product_reads_only(&product);
}

/// The node (`node-N`) holding `index`'s shard 0 copy that is `primary` or not.
fn shard_node(cluster: &OpenSearchCluster, index: &str, primary: bool) -> Option<String> {
    let v = cluster.ok(
        "GET",
        &format!("/_cat/shards/{index}?format=json&h=prirep,state,node"),
        None,
    );
    v.as_array()?
        .iter()
        .find(|r| (r["prirep"] == "p") == primary && r["state"] == "STARTED")
        .and_then(|r| r["node"].as_str().map(String::from))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_a_lost_primary_a_stale_copy_promoted_and_a_node_drained() {
    let mut cluster = OpenSearchCluster::start(3, &[]);
    eprintln!("OpenSearch: 3 nodes started in {:?}", cluster.started_in);
    let inst = instance(&cluster);
    let cfg = config();
    // `lost`: one copy, on node-3. `stale`: its primary on node-3, its replica on node-2.
    cluster.ok(
        "PUT",
        "/lost",
        Some(
            json!({"settings": {"number_of_shards": 1, "number_of_replicas": 0,
            "index.routing.allocation.require._name": "node-3"}}),
        ),
    );
    cluster.ok(
        "PUT",
        "/stale",
        Some(
            json!({"settings": {"number_of_shards": 1, "number_of_replicas": 0,
            "index.routing.allocation.require._name": "node-3"}}),
        ),
    );
    cluster.wait_for_status("stale", "green", Duration::from_secs(30));
    cluster.ok(
        "PUT",
        "/stale/_settings",
        Some(json!({"index.routing.allocation.require._name": null,
            "index.routing.allocation.include._name": "node-2,node-3",
            "index.number_of_replicas": 1})),
    );
    cluster.wait_for_status("", "green", Duration::from_secs(60));
    assert_eq!(
        shard_node(&cluster, "stale", true).as_deref(),
        Some("node-3")
    );
    assert_eq!(
        shard_node(&cluster, "stale", false).as_deref(),
        Some("node-2")
    );
    cluster.ok(
        "POST",
        "/stale/_doc?refresh=true",
        Some(json!({"before": "the crash"})),
    );

    // Healthy but fragile: one cluster-manager-eligible node of three, an index without replicas.
    let s = two_samples(&cluster).await;
    assert!(has(&s, "ES-N-03", "CRIT"), "{:?}", ids(&s));
    assert_eq!(
        finding(&s, "ES-S-03", "lost").evidence["indices"],
        json!(["lost"])
    );
    assert!(
        !s.findings.iter().any(|f| f.id == "ES-H-01"),
        "{:?}",
        ids(&s)
    );

    // ES-FIX-11 drains node-1 (cluster-level exclude), verified and rolled back on the node.
    let (executor, _audit) = executor(SafetyMode::Confirm);
    let mut backend = executor.open_backend(&inst, &cfg).unwrap();
    let ctx = PlanContext::for_instance(&inst, &s.facts);
    let step = EsRepairs
        .build("ES-FIX-11", &params(&[("node", "node-1")]), &ctx)
        .unwrap();
    let prepared = apply(&executor, backend.as_mut(), &step, None).await;
    assert_eq!(
        cluster_setting(&cluster, "cluster.routing.allocation.exclude._name")
            .0
            .as_deref(),
        Some("node-1")
    );
    executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(
        cluster_setting(&cluster, "cluster.routing.allocation.exclude._name"),
        (None, None)
    );

    // node-2 crashes: `stale` loses its replica (the node waits for it: ES-H-05), and a write
    // accepted by the primary alone makes node-2's copy stale.
    cluster.kill(2);
    cluster.wait_for_nodes(2, Duration::from_secs(60));
    cluster.ok(
        "POST",
        "/stale/_doc?refresh=true",
        Some(json!({"after": "node-2 left"})),
    );
    let s = two_samples(&cluster).await;
    assert!(has(&s, "ES-H-01", "WARN"), "{:?}", ids(&s));
    assert!(has(&s, "ES-H-05", "INFO"), "{:?}", ids(&s));
    assert_eq!(
        finding(&s, "ES-H-05", "").evidence["delayed_unassigned_shards"],
        json!(1)
    );

    // node-3 crashes too: both primaries are lost — red, and the node's allocation explain
    // says no valid copy is left.
    cluster.kill(3);
    cluster.wait_for_nodes(1, Duration::from_secs(60));
    let s = two_samples(&cluster).await;
    assert!(has(&s, "ES-H-01", "CRIT"), "{:?}", ids(&s));
    let lost = finding(&s, "ES-H-02", "lost");
    assert_eq!(lost.severity.tag(), "CRIT");
    assert_eq!(
        lost.evidence["can_allocate"], "no_valid_shard_copy",
        "{lost:?}"
    );
    assert!(
        s.logs
            .iter()
            .any(|l| l.stream == "allocation" && l.text.contains("lost[0] p unassigned")),
        "{:?}",
        s.logs
    );
    let report = kubestack_ai::diagnose::diagnose_instance(&inst, &cfg).await;
    assert_eq!(report.status.exit_code(), 2, "red is critical for scripts");
    let ctx = PlanContext::for_instance(&inst, &s.facts);
    let plan = plan_for_finding(&EsRepairs, lost, &ctx);
    assert!(
        plan.manual.iter().any(|m| m.contains("ES-FIX-10")),
        "no valid copy: only the dangerous ES-FIX-10 by hand: {plan:?}"
    );

    // node-2 comes back with its stale copy of `stale`: still red, no valid copy — until
    // ES-FIX-10 promotes it (dangerous, typed), and the write it missed is gone.
    let back = cluster.restart(2);
    eprintln!("OpenSearch: node-2 back in {back:?}");
    let s = two_samples(&cluster).await;
    let h02 = finding(&s, "ES-H-02", "stale");
    assert_eq!(
        h02.evidence["can_allocate"], "no_valid_shard_copy",
        "{h02:?}"
    );
    assert_eq!(health(&cluster, "stale"), "red");
    let ctx = PlanContext::for_instance(&inst, &s.facts);
    let step = EsRepairs
        .build(
            "ES-FIX-10",
            &params(&[("index", "stale"), ("shard", "0"), ("node", "node-2")]),
            &ctx,
        )
        .unwrap();
    let prepared = apply(&executor, backend.as_mut(), &step, Some("search")).await;
    assert!(
        prepared.preview.contains("dry run") && prepared.preview.contains("acknowledged"),
        "{}",
        prepared.preview
    );
    assert_ne!(health(&cluster, "stale"), "red");
    let count = cluster.ok("GET", "/stale/_count", None);
    assert_eq!(
        count["count"],
        json!(1),
        "the stale copy has the write before the crash only: {count}"
    );
    // `lost` stays red: its only copy was on node-3.
    assert_eq!(health(&cluster, "lost"), "red");

    let product = cluster.traced_from("kubestack-ai");
    assert_product_reads_only(&product);
    assert!(
        product
            .iter()
            .any(|r| r.opaque_id.as_deref() == Some(OPAQUE_ID_REPAIR)
                && r.method == "POST"
                && r.uri == "/_cluster/reroute"),
        "the promotion is in the node's record"
    );
}
