//! Kubernetes objects to rows: JSON from the API server (one object or an array of them, each
//! tried as every kind the watchers read) through the row builders into a `ClusterStore`, then
//! discovery and the Kubernetes rules; log-line timestamps and metrics quantities too.
#![no_main]

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod, Service};
use kubestack_ai::kube::logs::split_timestamp;
use kubestack_ai::kube::metrics::{bytes, cpu_millis};
use kubestack_ai::kube::rules::instance_findings;
use kubestack_ai::kube::store::{EventRow, Resource, ServiceRow, WorkloadRow};
use kubestack_ai::kube::{ClusterStore, PodRow, StoreUpdate, discover};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn typed<T: serde::de::DeserializeOwned>(v: &Value) -> Option<T> {
    serde_json::from_value(v.clone()).ok()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        let _ = split_timestamp(line);
        let _ = cpu_millis(line);
        let _ = bytes(line);
    }
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let objects = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut store = ClusterStore::default();
    for r in Resource::ALL {
        store.apply(StoreUpdate::Relist(r, None));
    }
    for object in &objects {
        if let Some(pod) = typed::<Pod>(object) {
            let row = PodRow::from_pod(&pod);
            let _ = row.is_ready();
            store.apply(StoreUpdate::Pod(row));
        }
        if let Some(s) = typed::<StatefulSet>(object) {
            store.apply(StoreUpdate::Workload(WorkloadRow::from_statefulset(&s)));
        }
        if let Some(d) = typed::<Deployment>(object) {
            store.apply(StoreUpdate::Workload(WorkloadRow::from_deployment(&d)));
        }
        if let Some(s) = typed::<Service>(object) {
            store.apply(StoreUpdate::Service(ServiceRow::from_service(&s)));
        }
        if let Some(e) = typed::<Event>(object) {
            store.apply(StoreUpdate::Event(EventRow::from_event(&e)));
        }
    }
    for r in Resource::ALL {
        store.apply(StoreUpdate::Synced(r, None));
    }
    let _ = store.take_dirty();
    let hints = kubestack_ai::plugins::registry::discovery_hints();
    for found in discover(&store, &hints) {
        let _ = instance_findings(&found, &store);
    }
    for w in store
        .statefulsets
        .values()
        .chain(store.deployments.values())
    {
        let _ = store.pods_matching(&w.namespace, &w.selector).count();
    }
});
