//! The watch-based inventory: one kube-runtime watcher per resource (and per namespace when the
//! view is limited to some). A watcher lists in pages of 5,000 (`limit` / `continue`), then watches
//! from the list's resourceVersion with bookmarks, resumes from the last one seen when a stream
//! ends, and lists again on `410 Gone` — no periodic re-listing. Errors back off (kube's default
//! backoff) and are reported, never fatal. Updates reach the UI in batches: at most one batch
//! per 50 ms, so a 10 000-pod list is a handful of events for the loop.
//!
//! `metrics.k8s.io` has no watch: it is polled every 15 s when API discovery (`GET /apis`)
//! lists the group; a group not listed (no metrics-server) or a 404 is said once
//! (`Metrics(None)`), and asked again only every 5 minutes.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod, Service};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event as WatchEvent};
use kube::{Api, Client};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::metrics::PodMetricsList;
use super::store::{EventRow, PodRow, Resource, ServiceRow, StoreUpdate, WorkloadRow};

/// Which namespaces are watched (and shown).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum NamespaceScope {
    #[default]
    All,
    Only(BTreeSet<String>),
}

impl NamespaceScope {
    /// Parses `:ns` arguments: `all` / `*` / nothing, or names separated by spaces or commas.
    pub fn parse(arg: &str) -> NamespaceScope {
        let names: BTreeSet<String> = arg
            .split([' ', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if names.is_empty() || names.contains("all") || names.contains("*") {
            NamespaceScope::All
        } else {
            NamespaceScope::Only(names)
        }
    }

    pub fn contains(&self, namespace: &str) -> bool {
        match self {
            NamespaceScope::All => true,
            NamespaceScope::Only(s) => s.contains(namespace),
        }
    }

    /// `all`, or the names joined by commas.
    pub fn label(&self) -> String {
        match self {
            NamespaceScope::All => "all".into(),
            NamespaceScope::Only(s) => s.iter().cloned().collect::<Vec<_>>().join(","),
        }
    }

    fn namespaces(&self) -> Vec<Option<String>> {
        match self {
            NamespaceScope::All => vec![None],
            NamespaceScope::Only(s) => s.iter().cloned().map(Some).collect(),
        }
    }
}

/// The namespaces each context starts in: where kubectl would (the namespace the kubeconfig's
/// context names; all when it names none), then the config's `kubernetes.namespaces`, then what
/// `:ns` chose last time (`remembered`) — each later source winning for its contexts.
pub fn initial_scopes(
    contexts: &[super::KubeContext],
    configured: &std::collections::BTreeMap<String, Vec<String>>,
    remembered: std::collections::BTreeMap<String, NamespaceScope>,
) -> std::collections::BTreeMap<String, NamespaceScope> {
    let mut scopes = std::collections::BTreeMap::new();
    for c in contexts {
        if let Some(ns) = c
            .namespace
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            scopes.insert(
                c.name.clone(),
                NamespaceScope::Only(BTreeSet::from([ns.to_string()])),
            );
        }
    }
    for (context, namespaces) in configured {
        scopes.insert(
            context.clone(),
            NamespaceScope::parse(&namespaces.join(",")),
        );
    }
    scopes.extend(remembered);
    scopes
}

/// The namespaces chosen with `:ns` per context, kept in the data dir between runs.
pub fn load_scopes(path: &std::path::Path) -> std::collections::BTreeMap<String, NamespaceScope> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Default::default();
    };
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&text).unwrap_or_default();
    map.into_iter()
        .map(|(c, l)| (c, NamespaceScope::parse(&l)))
        .collect()
}

/// Records the namespaces of one context (best effort: a failure only loses the memory).
pub fn save_scope(
    path: &std::path::Path,
    context: &str,
    scope: &NamespaceScope,
) -> std::io::Result<()> {
    let mut map: std::collections::BTreeMap<String, String> = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    map.insert(context.to_string(), scope.label());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(&map).unwrap_or_default())
}

/// Where [`save_scope`] keeps them.
pub fn scopes_path(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join("kube-namespaces.json")
}

/// Objects per page of an initial list. 500 (kubectl's chunk size) made 50,000 pods 100
/// requests in a row: 2.0 s to the whole fleet against the in-process API server; 5,000 takes
/// 1.5 s and still shows the first rows with the first page (benches/fleet_scale.rs).
pub const LIST_PAGE: u32 = 5000;

/// How updates are batched for the UI.
pub const BATCH_WINDOW: Duration = Duration::from_millis(50);
const BATCH_MAX: usize = 5000;
const METRICS_EVERY: Duration = Duration::from_secs(15);
const METRICS_ABSENT_EVERY: Duration = Duration::from_secs(300);

fn api<K>(client: &Client, namespace: &Option<String>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as kube::Resource>::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

async fn run_watcher<K>(
    api: Api<K>,
    resource: Resource,
    namespace: Option<String>,
    applied: fn(&K) -> StoreUpdate,
    deleted: fn(&K) -> Option<StoreUpdate>,
    tx: mpsc::Sender<StoreUpdate>,
) where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    let config = watcher::Config::default().page_size(LIST_PAGE);
    let mut stream = std::pin::pin!(watcher::watcher(api, config).default_backoff());
    while let Some(event) = stream.next().await {
        let update = match event {
            Ok(WatchEvent::Init) => Some(StoreUpdate::Relist(resource, namespace.clone())),
            Ok(WatchEvent::InitApply(o) | WatchEvent::Apply(o)) => Some(applied(&o)),
            Ok(WatchEvent::Delete(o)) => deleted(&o),
            Ok(WatchEvent::InitDone) => Some(StoreUpdate::Synced(resource, namespace.clone())),
            Err(e) => Some(StoreUpdate::WatchError(resource, describe(&e))),
        };
        if let Some(u) = update
            && tx.send(u).await.is_err()
        {
            return;
        }
    }
}

/// A watcher error in one line, with the API server's message when there is one.
fn describe(e: &watcher::Error) -> String {
    let text = match e {
        // Not `{e}`: kube's text of an API error carries the whole Status in Debug form, and
        // the line is cut at 200 characters — a real apiserver's 403 lost its code and reason.
        watcher::Error::InitialListFailed(k) => format!("list: {}", super::contexts::describe(k)),
        watcher::Error::WatchStartFailed(k) => {
            format!("watch start: {}", super::contexts::describe(k))
        }
        watcher::Error::WatchFailed(k) => format!("watch: {}", super::contexts::describe(k)),
        watcher::Error::WatchError(s) => format!("watch: {} ({})", s.message, s.code),
        other => other.to_string(),
    };
    super::contexts::scrub(&text)
}

fn key_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// Starts the watchers of one cluster and the batcher; batches go to `out` until `cancel`.
pub fn spawn_watchers(
    client: Client,
    scope: &NamespaceScope,
    out: mpsc::Sender<Vec<StoreUpdate>>,
    cancel: CancellationToken,
) {
    let (tx, mut rx) = mpsc::channel::<StoreUpdate>(8192);
    let mut tasks = tokio::task::JoinSet::new();
    for ns in scope.namespaces() {
        tasks.spawn(run_watcher::<Pod>(
            api(&client, &ns),
            Resource::Pods,
            ns.clone(),
            |p| StoreUpdate::Pod(PodRow::from_pod(p)),
            |p| Some(StoreUpdate::PodDeleted(key_of(&p.metadata))),
            tx.clone(),
        ));
        tasks.spawn(run_watcher::<StatefulSet>(
            api(&client, &ns),
            Resource::StatefulSets,
            ns.clone(),
            |s| StoreUpdate::Workload(WorkloadRow::from_statefulset(s)),
            |s| {
                Some(StoreUpdate::WorkloadDeleted(
                    "StatefulSet",
                    key_of(&s.metadata),
                ))
            },
            tx.clone(),
        ));
        tasks.spawn(run_watcher::<Deployment>(
            api(&client, &ns),
            Resource::Deployments,
            ns.clone(),
            |d| StoreUpdate::Workload(WorkloadRow::from_deployment(d)),
            |d| {
                Some(StoreUpdate::WorkloadDeleted(
                    "Deployment",
                    key_of(&d.metadata),
                ))
            },
            tx.clone(),
        ));
        tasks.spawn(run_watcher::<Service>(
            api(&client, &ns),
            Resource::Services,
            ns.clone(),
            |s| StoreUpdate::Service(ServiceRow::from_service(s)),
            |s| Some(StoreUpdate::ServiceDeleted(key_of(&s.metadata))),
            tx.clone(),
        ));
        tasks.spawn(run_watcher::<Event>(
            api(&client, &ns),
            Resource::Events,
            ns.clone(),
            |e| StoreUpdate::Event(EventRow::from_event(e)),
            |_| None,
            tx.clone(),
        ));
    }
    tasks.spawn(poll_metrics(client, scope.clone(), tx));
    tokio::spawn(async move {
        loop {
            let first = tokio::select! {
                u = rx.recv() => match u { Some(u) => u, None => break },
                _ = cancel.cancelled() => break,
            };
            let mut batch = vec![first];
            let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
            while batch.len() < BATCH_MAX {
                tokio::select! {
                    u = rx.recv() => match u { Some(u) => batch.push(u), None => break },
                    _ = tokio::time::sleep_until(deadline) => break,
                }
            }
            if out.send(batch).await.is_err() {
                break;
            }
        }
        tasks.abort_all();
    });
}

async fn poll_metrics(client: Client, scope: NamespaceScope, tx: mpsc::Sender<StoreUpdate>) {
    let mut absent_said = false;
    loop {
        let mut figures = Vec::new();
        // API discovery first: a cluster without metrics-server does not serve the group.
        let mut absent = match client.list_api_groups().await {
            Ok(list) => !list.groups.iter().any(|g| g.name == "metrics.k8s.io"),
            Err(e) => {
                tracing::debug!("API discovery: {e}");
                false
            }
        };
        let listed = !absent;
        for ns in scope.namespaces().into_iter().filter(|_| listed) {
            let path = match &ns {
                Some(n) => format!("/apis/metrics.k8s.io/v1beta1/namespaces/{n}/pods"),
                None => "/apis/metrics.k8s.io/v1beta1/pods".to_string(),
            };
            let Ok(req) = http::Request::get(path).body(Vec::new()) else {
                return;
            };
            match client.request::<PodMetricsList>(req).await {
                Ok(list) => figures.extend(list.items.iter().map(|m| {
                    let (cpu, mem) = m.totals();
                    (
                        (m.metadata.namespace.clone(), m.metadata.name.clone()),
                        cpu,
                        mem,
                    )
                })),
                Err(kube::Error::Api(s)) if s.code == 404 || s.code == 503 || s.code == 403 => {
                    absent = true;
                }
                Err(e) => {
                    tracing::debug!("metrics.k8s.io: {e}");
                    absent = true;
                }
            }
        }
        let update = if absent {
            (!absent_said).then_some(StoreUpdate::Metrics(None))
        } else {
            Some(StoreUpdate::Metrics(Some(figures)))
        };
        absent_said = absent;
        if let Some(u) = update
            && tx.send(u).await.is_err()
        {
            return;
        }
        tokio::time::sleep(if absent {
            METRICS_ABSENT_EVERY
        } else {
            METRICS_EVERY
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_list_keeps_its_code_and_reason_in_the_line() {
        // What a real kube-apiserver answers a user RBAC gives nothing.
        let status: kube::core::Status = serde_json::from_value(serde_json::json!({
            "status": "Failure",
            "code": 403,
            "reason": "Forbidden",
            "message": "pods is forbidden: User \"nobody\" cannot list resource \"pods\" in API group \"\" in the namespace \"denied\"",
            "details": {"kind": "pods"}
        }))
        .unwrap();
        let e = watcher::Error::InitialListFailed(kube::Error::Api(Box::new(status)));
        let line = describe(&e);
        assert!(
            line.starts_with("list: HTTP 403: pods is forbidden: User \"nobody\" cannot list"),
            "{line}"
        );
        assert!(line.ends_with("in the namespace \"denied\""), "{line}");
        assert!(!line.contains("Status {"), "{line}");
    }

    #[test]
    fn contexts_start_where_kubectl_would_unless_configured_or_remembered() {
        let ctx = |name: &str, ns: Option<&str>| super::super::KubeContext {
            name: name.into(),
            cluster: "c".into(),
            namespace: ns.map(str::to_string),
            server: None,
        };
        let contexts = [
            ctx("prod", Some("payments")),
            ctx("staging", None),
            ctx("dev", Some("  ")),
            ctx("集群", Some("支付")),
            ctx("lab", Some("all")),
            ctx("edge", Some("team-a")),
        ];
        let configured = std::collections::BTreeMap::from([(
            "edge".to_string(),
            vec!["x".to_string(), "y".to_string()],
        )]);
        let remembered =
            std::collections::BTreeMap::from([("prod".to_string(), NamespaceScope::All)]);
        let scopes = initial_scopes(&contexts, &configured, remembered.clone());
        assert_eq!(
            scopes["prod"],
            NamespaceScope::All,
            "`:ns all` remembered wins"
        );
        assert!(!scopes.contains_key("staging"), "no namespace named: all");
        assert!(!scopes.contains_key("dev"), "blank is none");
        assert_eq!(scopes["集群"].label(), "支付");
        assert_eq!(
            scopes["lab"],
            NamespaceScope::Only(BTreeSet::from(["all".to_string()])),
            "a namespace named `all` is that namespace"
        );
        assert_eq!(scopes["edge"].label(), "x,y", "the config wins");
        let fresh = initial_scopes(&contexts, &Default::default(), Default::default());
        assert_eq!(fresh["prod"].label(), "payments", "kubectl's namespace");
    }

    #[test]
    fn scopes_parse_and_are_remembered_per_context() {
        assert_eq!(NamespaceScope::parse(""), NamespaceScope::All);
        assert_eq!(NamespaceScope::parse("all"), NamespaceScope::All);
        let two = NamespaceScope::parse("orders, payments");
        assert_eq!(two.label(), "orders,payments");
        assert!(two.contains("orders") && !two.contains("web"));
        let dir = tempfile::tempdir().unwrap();
        let path = scopes_path(dir.path());
        save_scope(&path, "dev", &two).unwrap();
        save_scope(&path, "prod", &NamespaceScope::All).unwrap();
        let back = load_scopes(&path);
        assert_eq!(back.get("dev"), Some(&two));
        assert_eq!(back.get("prod"), Some(&NamespaceScope::All));
        assert!(load_scopes(&dir.path().join("missing.json")).is_empty());
    }
}
