//! The Elasticsearch plugin against the in-process Elasticsearch of `common::es_server` (no
//! real server can be installed here): health, unassigned shards explained by their deciders,
//! disk watermarks, rejections over two samples, anonymous access; repairs that change the
//! model and verify by what it then reports, with rollback; read-only proved by the request
//! log; and the faults a real cluster or a proxy produces — 401, 403, an HTML page, a cut-off
//! body, malformed JSON, a stall.

mod common;

use std::time::Duration;

use common::{executor, fast_config};
use kubestack_ai::config::{AppConfig, InstanceConfig, InstanceKind, SafetyMode};
use kubestack_ai::diagnose::diagnose_instance;
use kubestack_ai::plugins::elasticsearch::http_guard::check_read_only;
use kubestack_ai::plugins::elasticsearch::repair::EsRepairs;
use kubestack_ai::plugins::{InstanceSnapshot, PluginError, plugin_for};
use kubestack_ai::repair::catalog::{PlanContext, RepairCatalog, plan_for_finding};
use kubestack_ai::repair::{Confirmation, Executor, PreparedStep, RepairStep, WriteBackend};
use kubestack_playground::es::{EsServer, Fault, Index};
use serde_json::{Map, Value};

fn es(url: &str) -> InstanceConfig {
    InstanceConfig::new("search", InstanceKind::ELASTICSEARCH, url)
}

async fn two_samples(instance: &InstanceConfig, config: &AppConfig) -> InstanceSnapshot {
    let mut c = plugin_for(InstanceKind::ELASTICSEARCH)
        .collector(instance, config)
        .unwrap();
    let first = c.collect().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut second = c.collect().await.unwrap();
    let mut logs = first.logs;
    logs.append(&mut second.logs);
    second.logs = logs;
    second
}

fn has(s: &InstanceSnapshot, id: &str, tag: &str) -> bool {
    s.findings
        .iter()
        .any(|f| f.id == id && f.severity.tag() == tag)
}

fn ids(s: &InstanceSnapshot) -> Vec<(String, &'static str)> {
    s.findings
        .iter()
        .map(|f| (f.id.clone(), f.severity.tag()))
        .collect()
}

/// Prepares, applies and verifies one step as the confirm screen would, returning what was
/// captured so the test can look at the preview and roll back.
async fn apply(
    executor: &Executor,
    backend: &mut dyn WriteBackend,
    step: &RepairStep,
) -> PreparedStep {
    let prepared = executor.prepare(backend, step).await.unwrap();
    executor
        .execute(backend, step, &Confirmation::default())
        .await
        .unwrap();
    executor.verify(backend, step, &prepared).await.unwrap();
    prepared
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_green_cluster_is_identified_and_open_access_is_flagged() {
    let server = EsServer::start().await;
    server.with(|c| c.indices.push(Index::new("logs", 1, 0)));
    let s = two_samples(&es(&server.url()), &fast_config()).await;
    assert_eq!(s.facts.identity.as_deref(), Some("vH4yZ3bWQ-qQZ9n3wJzWqw"));
    assert_eq!(s.facts.version.as_deref(), Some("elasticsearch 8.15.3"));
    assert!(
        !s.findings.iter().any(|f| f.id == "ES-H-01"),
        "{:?}",
        ids(&s)
    );
    assert!(
        has(&s, "ES-SEC-01", "WARN"),
        "answered without credentials: {:?}",
        ids(&s)
    );
    let metric = |id: &str| s.metrics.iter().find(|m| m.id == id).map(|m| m.value);
    assert_eq!(metric("status"), Some(0.0));
    assert_eq!(metric("disk_max"), Some(40.0));
    assert_eq!(metric("rejected"), Some(0.0));
    assert!(
        s.logs
            .iter()
            .any(|l| l.stream == "health" && l.text.contains("is green")),
        "{:?}",
        s.logs
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yellow_same_shard_is_explained_and_its_plan_turns_the_cluster_green_then_rolls_back() {
    let server = EsServer::start().await;
    server.with(|c| c.indices.push(Index::new("orders", 1, 1)));
    let instance = es(&server.url());
    let config = fast_config();
    let s = two_samples(&instance, &config).await;
    assert!(has(&s, "ES-H-01", "WARN"), "{:?}", ids(&s));
    let h02 = s
        .findings
        .iter()
        .find(|f| f.id == "ES-H-02")
        .expect("the unassigned replica explained");
    assert_eq!(h02.evidence["deciders"], serde_json::json!(["same_shard"]));
    assert!(
        h02.recommendation.contains("ES-FIX-03"),
        "{}",
        h02.recommendation
    );
    assert!(
        s.logs
            .iter()
            .any(|l| l.stream == "allocation" && l.text.contains("orders[0] r unassigned")),
        "{:?}",
        s.logs
    );

    let ctx = PlanContext::for_instance(&instance, &s.facts);
    let plan = plan_for_finding(&EsRepairs, h02, &ctx);
    assert_eq!(plan.steps.len(), 1, "{plan:?}");
    let step = &plan.steps[0];
    assert_eq!(
        step.commands[0].to_string(),
        r#"PUT /orders/_settings {"index.number_of_replicas":0}"#
    );
    let (executor, _dir) = executor(SafetyMode::Confirm);
    let mut backend = executor.open_backend(&instance, &config).unwrap();
    let prepared = apply(&executor, backend.as_mut(), step).await;
    assert!(
        prepared.preview.contains("index.number_of_replicas: 1 → 0"),
        "{}",
        prepared.preview
    );
    assert_eq!(
        prepared.rollback_text,
        r#"PUT /orders/_settings {"index.number_of_replicas":1}"#
    );
    assert_eq!(server.with(|c| c.health()["status"].clone()), "green");
    executor
        .rollback(backend.as_mut(), step, &prepared)
        .await
        .unwrap();
    assert_eq!(
        server.with(|c| c.indices[0].replicas),
        1,
        "rolled back to the captured value"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn red_by_an_allocation_filter_and_disabled_allocation_are_repaired() {
    let server = EsServer::start().await;
    server.with(|c| {
        let mut i = Index::new("red", 1, 0);
        i.require_name = Some("nonexistent_node".into());
        c.indices.push(i);
    });
    let instance = es(&server.url());
    let config = fast_config();
    let s = two_samples(&instance, &config).await;
    assert!(
        has(&s, "ES-H-01", "CRIT") && has(&s, "ES-H-02", "CRIT"),
        "{:?}",
        ids(&s)
    );
    let report = diagnose_instance(&instance, &config).await;
    assert_eq!(
        report.status.exit_code(),
        2,
        "red is critical for scripts too"
    );

    let (executor, _dir) = executor(SafetyMode::Confirm);
    let mut backend = executor.open_backend(&instance, &config).unwrap();
    let h02 = s.findings.iter().find(|f| f.id == "ES-H-02").unwrap();
    let step = plan_for_finding(
        &EsRepairs,
        h02,
        &PlanContext::for_instance(&instance, &s.facts),
    )
    .steps
    .remove(0);
    assert_eq!(step.action, "ES-FIX-07");
    apply(&executor, backend.as_mut(), &step).await;
    assert_eq!(server.with(|c| c.health()["status"].clone()), "green");

    // Allocation disabled: ES-H-03, fixed by ES-FIX-02, rolled back to the captured `none`.
    server.with(|c| {
        c.persistent
            .insert("cluster.routing.allocation.enable".into(), "none".into())
    });
    let s = two_samples(&instance, &config).await;
    let h03 = s
        .findings
        .iter()
        .find(|f| f.id == "ES-H-03")
        .expect("ES-H-03");
    let step = plan_for_finding(
        &EsRepairs,
        h03,
        &PlanContext::for_instance(&instance, &s.facts),
    )
    .steps
    .remove(0);
    let prepared = apply(&executor, backend.as_mut(), &step).await;
    assert!(
        prepared
            .preview
            .contains("cluster.routing.allocation.enable: none → (default)"),
        "{}",
        prepared.preview
    );
    assert!(server.with(|c| {
        !c.persistent
            .contains_key("cluster.routing.allocation.enable")
    }));
    executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(
        server.with(|c| c.persistent["cluster.routing.allocation.enable"].clone()),
        "none"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_flood_stage_blocks_and_rejections_are_critical() {
    let server = EsServer::start().await;
    server.with(|c| {
        let mut i = Index::new("logs", 1, 0);
        i.read_only_allow_delete = true;
        c.indices.push(i);
        c.nodes[0].disk_available = 3 << 30; // 97 % of 100 GB used
    });
    let instance = es(&server.url());
    let config = fast_config();
    let mut collector = plugin_for(InstanceKind::ELASTICSEARCH)
        .collector(&instance, &config)
        .unwrap();
    collector.collect().await.unwrap();
    server.with(|c| {
        c.nodes[0].write_rejected += 40;
        c.nodes[0].write_completed += 60;
        c.nodes[0].parent_tripped += 2;
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let s = collector.collect().await.unwrap();
    let d03: Vec<_> = s.findings.iter().filter(|f| f.id == "ES-D-03").collect();
    assert_eq!(
        d03.len(),
        2,
        "the node past flood stage and the blocked index: {:?}",
        ids(&s)
    );
    assert!(
        d03.iter()
            .any(|f| f.title.contains("≥ flood-stage watermark 95.0%")),
        "{d03:?}"
    );
    assert!(
        has(&s, "ES-T-01", "CRIT") && has(&s, "ES-J-04", "WARN"),
        "{:?}",
        ids(&s)
    );
    assert!(
        s.metrics
            .iter()
            .any(|m| m.id == "rejected" && m.value > 0.0)
    );

    // Remove the block (ES-FIX-04), then raise the watermarks and roll them back (ES-FIX-05).
    let (executor, _dir) = executor(SafetyMode::Confirm);
    let mut backend = executor.open_backend(&instance, &config).unwrap();
    let ctx = PlanContext::for_instance(&instance, &s.facts);
    let blocked = d03
        .iter()
        .find(|f| f.evidence.contains_key("indices"))
        .unwrap();
    let step = plan_for_finding(&EsRepairs, blocked, &ctx).steps.remove(0);
    // Refused while the node is past the high watermark (the cluster would block it again).
    let err = executor
        .execute(backend.as_mut(), &step, &Confirmation::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("precheck: node node-1 disk 97.0% ≥ high watermark 90.0%"),
        "{err}"
    );
    assert!(server.with(|c| c.indices[0].read_only_allow_delete));
    server.with(|c| c.nodes[0].disk_available = 40 << 30);
    apply(&executor, backend.as_mut(), &step).await;
    assert!(server.with(|c| !c.indices[0].read_only_allow_delete));
    let step = EsRepairs.build("ES-FIX-05", &Map::new(), &ctx).unwrap();
    let prepared = apply(&executor, backend.as_mut(), &step).await;
    assert!(
        prepared
            .preview
            .contains("watermark.flood_stage: (unset) → 97%"),
        "{}",
        prepared.preview
    );
    assert_eq!(
        server.with(
            |c| c.persistent["cluster.routing.allocation.disk.watermark.flood_stage"].clone()
        ),
        "97%"
    );
    executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert!(
        server.with(|c| c.persistent.is_empty()),
        "rolled back to unset"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_tools_and_read_only_mode_send_only_allowlisted_reads() {
    let server = EsServer::start().await;
    server.with(|c| {
        let mut i = Index::new("stuck", 1, 0);
        i.failed_attempts = 5;
        c.indices.push(i);
    });
    let instance = es(&server.url());
    let config = fast_config();
    let s = two_samples(&instance, &config).await;
    assert!(has(&s, "ES-H-04", "CRIT"), "{:?}", ids(&s));
    let mut tools = plugin_for(InstanceKind::ELASTICSEARCH)
        .tools(&instance, &config)
        .unwrap();
    for (name, args) in [
        ("es_health", serde_json::json!({})),
        (
            "es_allocation_explain",
            serde_json::json!({"index": "stuck", "shard": 0, "primary": true}),
        ),
        ("es_hot_threads", serde_json::json!({})),
        ("es_cat", serde_json::json!({"view": "thread_pool"})),
    ] {
        let out = tools
            .call(name, &args)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!out.is_empty(), "{name}");
    }
    assert!(
        tools
            .call(
                "es_cat",
                &serde_json::json!({"view": "../_cluster/settings"})
            )
            .await
            .is_err()
    );
    // Read-only: the plan of ES-H-04 is refused; a forged step sending DELETE too.
    let (executor, _dir) = executor(SafetyMode::ReadOnly);
    let mut backend = executor.open_backend(&instance, &config).unwrap();
    let h04 = s.findings.iter().find(|f| f.id == "ES-H-04").unwrap();
    let step = plan_for_finding(
        &EsRepairs,
        h04,
        &PlanContext::for_instance(&instance, &s.facts),
    )
    .steps
    .remove(0);
    let prepared = executor.prepare(backend.as_mut(), &step).await.unwrap();
    assert!(
        prepared.preview.contains("dry run") && prepared.preview.contains("not sent: read-only"),
        "read-only sends no reroute dry run (a POST), and the preview says so: {}",
        prepared.preview
    );
    let err = executor
        .execute(backend.as_mut(), &step, &Confirmation::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    let delete = EsRepairs
        .build(
            "ES-FIX-06",
            &[("index".to_string(), Value::from("stuck"))]
                .into_iter()
                .collect(),
            &PlanContext::for_instance(&instance, &s.facts),
        )
        .unwrap();
    assert!(
        executor
            .execute(
                backend.as_mut(),
                &delete,
                &Confirmation {
                    typed_name: Some("search".into())
                }
            )
            .await
            .is_err()
    );
    // Everything the server received is on the read-only allowlist.
    let requests = server.requests();
    assert!(requests.len() > 20);
    for (method, path, _) in &requests {
        assert!(
            check_read_only(method, path).is_ok(),
            "a write reached the cluster: {method} {path}"
        );
        // Read-only: not even a reroute dry run (a POST) goes out.
        assert!(
            !path.contains("_cluster/reroute"),
            "a reroute in read-only mode: {method} {path}"
        );
    }
    assert_eq!(server.with(|c| c.indices.len()), 1);
    assert_eq!(server.with(|c| c.indices[0].failed_attempts), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_401_403_html_cut_off_malformed_and_stalled_replies_are_named() {
    let server = EsServer::start().await;
    server.with(|c| c.credentials = Some(("elastic".into(), "s3cret-pw".into())));
    let config = fast_config();
    let collect = |instance: InstanceConfig, config: AppConfig| async move {
        plugin_for(InstanceKind::ELASTICSEARCH)
            .collector(&instance, &config)
            .unwrap()
            .collect()
            .await
    };
    let err = collect(es(&server.url()), config.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(err, PluginError::Auth { .. }) && err.to_string().contains("HTTP 401"),
        "{err}"
    );
    // With the right credentials it collects, and anonymous access is refused: no ES-SEC-01.
    let mut instance = es(&server.url());
    instance.username = Some("elastic".into());
    instance.password_env = Some("KUBESTACK_TEST_ES_PW".into());
    // SAFETY: set before any thread reads it; the value is only this test's.
    unsafe { std::env::set_var("KUBESTACK_TEST_ES_PW", "s3cret-pw") };
    let s = collect(instance.clone(), config.clone()).await.unwrap();
    assert!(
        !s.findings.iter().any(|f| f.id == "ES-SEC-01"),
        "{:?}",
        ids(&s)
    );
    for (fault, expect) in [
        (Fault::Forbidden, "HTTP 403"),
        (Fault::Html, "instead of JSON"),
        (Fault::CutOff, "cut off"),
        (Fault::MalformedJson, "malformed JSON"),
    ] {
        server.with(|c| c.fault = fault.clone());
        let err = collect(instance.clone(), config.clone()).await.unwrap_err();
        assert!(err.to_string().contains(expect), "{fault:?}: {err}");
        assert!(!err.to_string().contains("s3cret-pw"));
    }
    server.with(|c| c.fault = Fault::Stall(Duration::from_secs(5)));
    let mut quick = config.clone();
    quick.collector.command_timeout_ms = 300;
    let err = collect(instance.clone(), quick).await.unwrap_err();
    assert!(matches!(err, PluginError::Timeout { .. }), "{err:?}");
    let (_r, port) = common::closed_port();
    let err = collect(es(&format!("elasticsearch://127.0.0.1:{port}")), config)
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::Unreachable { .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_of_another_shape_are_said_on_screen_and_recovery_too() {
    let server = EsServer::start().await;
    server.with(|c| c.indices.push(Index::new("logs", 1, 0)));
    let instance = es(&server.url());
    let config = fast_config();
    let mut c = plugin_for(InstanceKind::ELASTICSEARCH)
        .collector(&instance, &config)
        .unwrap();
    let first = c.collect().await.unwrap();
    assert!(
        !first.logs.iter().any(|l| l.text.contains("not collected")),
        "{:?}",
        first.logs
    );
    server.with(|c| c.fault = Fault::ShapeChanged);
    let odd = c.collect().await.unwrap();
    let notes: Vec<&str> = odd.logs.iter().map(|l| l.text.as_str()).collect();
    assert!(
        notes.iter().any(|l| l.contains(
            "not collected: cluster health — `status` is missing or not a string (got 2)"
        )),
        "{notes:#?}"
    );
    assert!(
        notes
            .iter()
            .any(|l| l.contains("not collected: node statistics")),
        "{notes:#?}"
    );
    assert!(
        odd.metrics
            .iter()
            .any(|m| m.id == "status" && m.value == 3.0),
        "unknown status is a value, not a gap"
    );
    server.with(|c| c.fault = Fault::None);
    let back = c.collect().await.unwrap();
    assert!(
        back.logs
            .iter()
            .any(|l| l.text == "readable again: cluster health"),
        "{:?}",
        back.logs
    );
}
