//! The product's side of the tests against real OpenSearch nodes (`tests/opensearch_real.rs`,
//! `tests/opensearch_disk.rs`): its collector and executor pointed at a cluster, and reads of
//! what the node then holds — the test's own requests, never the product's.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use kubestack_ai::config::{AppConfig, InstanceConfig, InstanceKind};
use kubestack_ai::diagnose::Finding;
use kubestack_ai::plugins::elasticsearch::connection::OPAQUE_ID_READ;
use kubestack_ai::plugins::elasticsearch::http_guard::check_read_only;
use kubestack_ai::plugins::{Collector, InstanceSnapshot, plugin_for};
use kubestack_ai::repair::{Confirmation, Executor, PreparedStep, RepairStep, WriteBackend};
use serde_json::{Map, Value};

use super::opensearch::{OpenSearchCluster, TracedRequest};

pub fn instance(cluster: &OpenSearchCluster) -> InstanceConfig {
    InstanceConfig::new("search", InstanceKind::ELASTICSEARCH, cluster.url())
}

pub fn config() -> AppConfig {
    let mut c = super::fast_config();
    // Allocation explain on a loaded 2-core machine can take a second or two.
    c.collector.command_timeout_ms = 15_000;
    c
}

pub fn collector(cluster: &OpenSearchCluster) -> Box<dyn Collector> {
    plugin_for(InstanceKind::ELASTICSEARCH)
        .collector(&instance(cluster), &config())
        .unwrap()
}

/// Two samples a little apart (counters are judged on the second); the logs of both.
pub async fn two_samples(cluster: &OpenSearchCluster) -> InstanceSnapshot {
    let mut c = collector(cluster);
    let first = c.collect().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut second = c.collect().await.unwrap();
    let mut logs = first.logs;
    logs.append(&mut second.logs);
    second.logs = logs;
    second
}

pub fn ids(s: &InstanceSnapshot) -> Vec<(String, &'static str)> {
    s.findings
        .iter()
        .map(|f| (f.id.clone(), f.severity.tag()))
        .collect()
}

pub fn has(s: &InstanceSnapshot, id: &str, tag: &str) -> bool {
    s.findings
        .iter()
        .any(|f| f.id == id && f.severity.tag() == tag)
}

pub fn finding<'a>(s: &'a InstanceSnapshot, id: &str, about: &str) -> &'a Finding {
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
pub async fn apply(
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
pub fn index_setting(cluster: &OpenSearchCluster, index: &str, key: &str) -> Option<String> {
    let v = cluster.ok(
        "GET",
        &format!("/{index}/_settings?flat_settings=true"),
        None,
    );
    v[index]["settings"][key].as_str().map(String::from)
}

/// A cluster setting as the node reports it: `(persistent, transient)`.
pub fn cluster_setting(cluster: &OpenSearchCluster, key: &str) -> (Option<String>, Option<String>) {
    let v = cluster.ok("GET", "/_cluster/settings?flat_settings=true", None);
    let get = |s: &str| v[s][key].as_str().map(String::from);
    (get("persistent"), get("transient"))
}

pub fn health(cluster: &OpenSearchCluster, index: &str) -> String {
    let v = cluster.ok(
        "GET",
        &format!("/_cluster/health/{index}?wait_for_events=languid"),
        None,
    );
    v["status"].as_str().unwrap_or("?").to_string()
}

pub fn params(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

/// The node's record of what the product sent: every read is on the read-only allowlist and
/// carries the collector's X-Opaque-Id; writes carry the executor's.
pub fn assert_product_reads_only(requests: &[TracedRequest]) {
    for r in requests {
        if r.opaque_id.as_deref() == Some(OPAQUE_ID_READ) {
            assert!(
                check_read_only(&r.method, &r.uri).is_ok(),
                "a write under the read X-Opaque-Id: {r:?}"
            );
        }
    }
}

/// Polls until `f` holds (the node applies some changes on its own schedule).
pub fn wait_until(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}
