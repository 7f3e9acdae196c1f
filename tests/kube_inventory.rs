//! The watch-based inventory against the in-process API server (`kubestack_playground::kube_api` — no
//! kube-apiserver can be installed here): kube-runtime watchers list in pages with `continue`,
//! then watch; a dropped stream resumes from the last resourceVersion without listing again;
//! `410 Gone` after compaction makes them list again; 403 and malformed objects are reported;
//! metrics.k8s.io absent → `n/a`, present → figures; discovery groups a StatefulSet, its pods
//! and its Service as one Redis instance.

use std::collections::HashMap;
use std::time::Duration;

use kubestack_ai::config::InstanceKind;
use kubestack_ai::kube::store::{MetricsState, Resource};
use kubestack_ai::kube::{
    ClusterStore, NamespaceScope, StoreUpdate, client_for, discover, load_from, spawn_watchers,
};
use kubestack_playground::kube_api::{Kind, KubeApi, KubeFault};
use kubestack_playground::kube_objects::{self as obj, PodHealth};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

struct Watched {
    store: ClusterStore,
    rx: mpsc::Receiver<Vec<StoreUpdate>>,
    errors: Vec<String>,
    cancel: CancellationToken,
}

impl Watched {
    async fn start(api: &KubeApi, scope: NamespaceScope) -> Watched {
        let client = client_for(
            api.kubeconfig("test", "default"),
            "test",
            Duration::from_secs(2),
            None,
        )
        .await
        .unwrap();
        let (tx, rx) = mpsc::channel(64);
        let cancel = CancellationToken::new();
        spawn_watchers(client, &scope, tx, cancel.clone());
        Watched {
            store: ClusterStore::default(),
            rx,
            errors: Vec::new(),
            cancel,
        }
    }

    /// Applies batches until `done` holds (or panics after 10 s).
    async fn until(&mut self, what: &str, done: impl Fn(&ClusterStore) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !done(&self.store) {
            let batch = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!("timed out waiting for {what}; errors: {:?}", self.errors)
                })
                .expect("watchers stopped");
            for u in batch {
                if let StoreUpdate::WatchError(_, e) = &u {
                    self.errors.push(e.clone());
                }
                self.store.apply(u);
            }
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn fleet(api: &KubeApi, namespaces: usize, per_namespace: usize) {
    for n in 0..namespaces {
        for i in 0..per_namespace {
            api.apply(&obj::pod(
                &format!("team-{n:02}"),
                &format!("web-{i:04}"),
                "nginx:1.27",
                80,
                &[("app", "web")],
                PodHealth::Ready,
            ));
        }
    }
}

fn redis(api: &KubeApi, ns: &str, name: &str) {
    obj::redis_statefulset(api, ns, name, |_| PodHealth::Ready, None);
}

#[tokio::test]
async fn lists_in_pages_then_watches_and_discovers_the_redis_statefulset() {
    let api = KubeApi::start_with(Some("t0ken")).await;
    let page = kubestack_ai::kube::watch::LIST_PAGE as usize;
    fleet(&api, 3, page * 4 / 5);
    redis(&api, "payments", "cache");
    let mut w = Watched::start(&api, NamespaceScope::All).await;
    w.until("the initial lists", ClusterStore::is_synced).await;
    let total = 3 * (page * 4 / 5) + 3;
    assert_eq!(w.store.pods.len(), total);
    // 2.4 pages of pods: three list requests, the later two with a continue token.
    let pod_lists: Vec<String> = api
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("GET /api/v1/pods?") && !r.contains("watch=true"))
        .collect();
    assert_eq!(pod_lists.len(), 3, "{pod_lists:?}");
    assert!(
        pod_lists
            .iter()
            .all(|r| r.contains(&format!("limit={page}")))
    );
    assert_eq!(
        pod_lists.iter().filter(|r| r.contains("continue=")).count(),
        2
    );

    let found = discover(
        &w.store,
        &kubestack_ai::plugins::registry::discovery_hints(),
    );
    assert_eq!(found.len(), 1, "{found:?}");
    let r = &found[0];
    assert_eq!(
        (r.kind, r.namespace.as_str(), r.name.as_str()),
        (InstanceKind::REDIS, "payments", "cache")
    );
    assert_eq!(r.workload_kind, "StatefulSet");
    assert_eq!(r.service.as_deref(), Some("cache"));
    assert_eq!((r.port, r.ready, r.pods.len()), (6379, 3, 3));
    assert_eq!(r.evidence, "label app.kubernetes.io/name=redis");

    // A live change reaches the store through the watch, without another list.
    let lists = |api: &KubeApi| {
        api.requests()
            .iter()
            .filter(|r| r.starts_with("GET /api/v1/pods?") && !r.contains("watch=true"))
            .count()
    };
    let lists_before = lists(&api);
    api.apply(&obj::statefulset_pod(
        "payments",
        "cache",
        "redis",
        "redis:7.2",
        6379,
        1,
        PodHealth::CrashLoop {
            restarts: 7,
            oom: true,
        },
    ));
    w.until("the crash-looping pod", |s| {
        s.pods
            .get(&("payments".into(), "cache-1".into()))
            .is_some_and(|p| p.status == "CrashLoopBackOff")
    })
    .await;
    let p = &w.store.pods[&("payments".into(), "cache-1".into())];
    assert_eq!(
        (p.restarts, p.last_terminated.as_deref()),
        (7, Some("OOMKilled"))
    );
    assert_eq!(
        discover(
            &w.store,
            &kubestack_ai::plugins::registry::discovery_hints()
        )[0]
        .ready,
        2
    );
    assert!(api.delete(Kind::Pod, "team-00", "web-0000"));
    w.until("the deleted pod", |s| {
        !s.pods.contains_key(&("team-00".into(), "web-0000".into()))
    })
    .await;
    assert_eq!(
        lists(&api),
        lists_before,
        "live changes come by the watch, not a re-list"
    );

    // A dropped stream: the watcher resumes from its resourceVersion — no new list.
    let before = lists(&api);
    api.drop_streams();
    tokio::time::sleep(Duration::from_millis(300)).await;
    api.apply(&obj::pod(
        "team-01",
        "late",
        "nginx",
        80,
        &[],
        PodHealth::Ready,
    ));
    w.until("a pod added after the drop", |s| {
        s.pods.contains_key(&("team-01".into(), "late".into()))
    })
    .await;
    assert_eq!(lists(&api), before, "a resumed watch does not list again");
    let resumed = api
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.starts_with("GET /api/v1/pods?") && r.contains("watch=true"))
        .unwrap();
    assert!(resumed.contains("resourceVersion="), "{resumed}");

    // Compaction, then a drop: the resume gets 410 Gone and the watcher lists again. A pod
    // deleted while nobody watched (no DELETED event reaches anyone) is gone after the re-list.
    assert!(api.delete_unseen(Kind::Pod, "team-02", "web-0001"));
    api.compact();
    api.drop_streams();
    w.until("the re-list after 410 Gone", |s| {
        !s.pods.contains_key(&("team-02".into(), "web-0001".into()))
    })
    .await;
    assert!(
        lists(&api) > before,
        "410 Gone makes the watcher list again"
    );
    // All of them, one deleted live, one added after the drop, one deleted unseen.
    assert_eq!(w.store.pods.len(), total - 1);
}

#[tokio::test]
async fn errors_are_reported_and_metrics_are_read_when_the_api_exists() {
    let api = KubeApi::start().await;
    redis(&api, "payments", "cache");
    api.set_fault(KubeFault::Forbidden);
    let mut w = Watched::start(&api, NamespaceScope::All).await;
    w.until("a 403", |s| s.errors.values().any(|e| e.contains("403")))
        .await;
    assert!(
        w.errors.iter().any(|e| e.contains("forbidden")),
        "{:?}",
        w.errors
    );
    api.set_fault(KubeFault::None);
    w.until("the lists after the fault", ClusterStore::is_synced)
        .await;
    assert!(
        w.store.errors.is_empty(),
        "errors clear once a list succeeds: {:?}",
        w.store.errors
    );
    w.until("metrics absent", |s| s.metrics == MetricsState::Absent)
        .await;
    assert!(w.store.pods.values().all(|p| p.cpu_millis.is_none()));
    // API discovery said the group is not served, so its path was never asked.
    assert!(api.requests().iter().any(|r| r == "GET /apis"));
    assert!(
        !api.requests()
            .iter()
            .any(|r| r.starts_with("GET /apis/metrics.k8s.io"))
    );
    drop(w);

    api.set_metrics(Some(HashMap::from([(
        ("payments".to_string(), "cache-0".to_string()),
        ("250m".to_string(), "64Mi".to_string()),
    )])));
    let mut w = Watched::start(&api, NamespaceScope::parse("payments")).await;
    w.until("metrics", |s| s.metrics == MetricsState::Present)
        .await;
    w.until("pods", |s| s.synced.contains(&Resource::Pods))
        .await;
    w.until("figures", |s| {
        s.pods
            .get(&("payments".into(), "cache-0".into()))
            .is_some_and(|p| p.cpu_millis.is_some())
    })
    .await;
    let p = &w.store.pods[&("payments".into(), "cache-0".into())];
    assert_eq!((p.cpu_millis, p.memory_bytes), (Some(250), Some(64 << 20)));
    assert!(
        api.requests()
            .iter()
            .any(|r| r.starts_with("GET /apis/metrics.k8s.io/v1beta1/namespaces/payments/pods"))
    );
    assert!(
        api.requests()
            .iter()
            .any(|r| r.starts_with("GET /api/v1/namespaces/payments/pods?")),
        "one namespace is watched namespaced"
    );
}

#[tokio::test]
async fn a_malformed_object_is_named_and_the_rest_stays() {
    let api = KubeApi::start().await;
    redis(&api, "payments", "cache");
    api.set_fault(KubeFault::MalformedPod);
    let mut w = Watched::start(&api, NamespaceScope::All).await;
    w.until("an error about the pod list", |s| {
        s.errors.contains_key(&Resource::Pods)
    })
    .await;
    w.until("the other resources", |s| {
        s.synced.contains(&Resource::StatefulSets) && s.synced.contains(&Resource::Services)
    })
    .await;
    let e = &w.store.errors[&Resource::Pods];
    assert!(e.contains("list") || e.contains("Error"), "{e}");
    api.set_fault(KubeFault::None);
    w.until("pods after the fix", |s| s.synced.contains(&Resource::Pods))
        .await;
    assert_eq!(w.store.pods.len(), 3);
}

#[tokio::test]
async fn a_refused_token_and_a_slow_server_are_reported_not_fatal() {
    // A kubeconfig without the token the server wants: every watcher says 401.
    let api = KubeApi::start_with(Some("right-token")).await;
    redis(&api, "payments", "cache");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters:\n- name: t\n  cluster:\n    server: {}\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: t\nusers:\n- name: t\n  user:\n    token: wrong-token\n",
            api.url()
        ),
    )
    .unwrap();
    let k = load_from(&[path], None).unwrap();
    let client = client_for(k.kubeconfig.unwrap(), "t", Duration::from_secs(2), None)
        .await
        .unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    spawn_watchers(client, &NamespaceScope::All, tx, cancel.clone());
    let mut store = ClusterStore::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !store.errors.values().any(|e| e.contains("401")) {
        let batch = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("a 401")
            .unwrap();
        batch.into_iter().for_each(|u| store.apply(u));
    }
    assert!(store.pods.is_empty());
    cancel.cancel();

    // A server slower than the client's read timeout: errors, then the lists once it is fast.
    let api = KubeApi::start().await;
    redis(&api, "payments", "cache");
    api.set_fault(KubeFault::Slow(Duration::from_millis(1500)));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    api.write_kubeconfig(&path, "test", "default").unwrap();
    let k = load_from(&[path], None).unwrap();
    let client = client_for(
        k.kubeconfig.unwrap(),
        "test",
        Duration::from_secs(2),
        Some(Duration::from_millis(500)),
    )
    .await
    .unwrap();
    let (tx, rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    spawn_watchers(client, &NamespaceScope::All, tx, cancel.clone());
    let mut w = Watched {
        store: ClusterStore::default(),
        rx,
        errors: Vec::new(),
        cancel,
    };
    w.until("a timeout", |s| !s.errors.is_empty()).await;
    api.set_fault(KubeFault::None);
    w.until("the lists once the server is fast", ClusterStore::is_synced)
        .await;
    assert_eq!(w.store.pods.len(), 3);
}
