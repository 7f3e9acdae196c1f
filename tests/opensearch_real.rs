//! The Elasticsearch plugin against real OpenSearch 2.19 nodes (Maven Central's integ-test
//! distribution; tests/common/opensearch.rs), allocation and recovery: a yellow cluster from a
//! replica that has nowhere to go, a red one from an allocation filter and from lost primaries,
//! allocation explain answered by the node, disabled allocation (persistent and transient), the
//! shard limit, a corrupt shard whose allocation fails five times, a stale copy promoted; the
//! repairs applied, verified and rolled back, each checked with the test's own requests, and
//! the node's HTTP tracer (every request with its X-Opaque-Id) as the record of what the product
//! sent. Disk, rejections, breakers and read-only mode: tests/opensearch_disk.rs.

mod common;

use std::time::Duration;

use common::es_product::*;
use common::executor;
use common::opensearch::OpenSearchCluster;
use kubestack_ai::config::{InstanceConfig, InstanceKind, SafetyMode};
use kubestack_ai::plugins::elasticsearch::connection::OPAQUE_ID_REPAIR;
use kubestack_ai::plugins::elasticsearch::repair::EsRepairs;
use kubestack_ai::plugins::{PluginError, plugin_for};
use kubestack_ai::repair::Confirmation;
use kubestack_ai::repair::catalog::{PlanContext, RepairCatalog, plan_for_finding};
use serde_json::{Map, json};

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
        InstanceKind::ELASTICSEARCH,
        format!(
            "elasticsearch://127.0.0.1:{}",
            cluster.nodes[0].transport_port
        ),
    );
    let err = plugin_for(InstanceKind::ELASTICSEARCH)
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
    let mut tools = plugin_for(InstanceKind::ELASTICSEARCH)
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
