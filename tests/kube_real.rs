//! The Kubernetes side of the product against a real kube-apiserver (v1.37, built from
//! k8s.io/kubernetes by scripts/kube/build) with etcd, static-token users, RBAC and an audit
//! log at level Request (tests/common/kube_real.rs). Objects are created through the API and
//! pod status is written through `pods/status`, as a kubelet does; pod logs and port-forwards
//! go through the apiserver to a kubelet stand-in registered as a Node. What is checked, each
//! on the apiserver's own record (its objects, its audit log) or the stand-in's request log:
//! the context probe with tokens and client certificates (and a CA that did not sign the
//! server), the watch inventory and pod health, discovery and the pod and event rules, lists
//! RBAC refuses recovering when a binding appears, metrics.k8s.io absent,
//! SelfSubjectAccessReview for three users and a denied verb, repairs (server-side dry run, then
//! applied, verified, rolled back), a read-only context that sends no mutating verb at all, logs
//! and a port-forward to a real redis-server, and a 10,000-pod fleet listed and watched.

mod common;

use chrono::Timelike;
use kubestack_ai::config::PluginSettings;
use kubestack_ai::plugins::kafka::settings::KafkaSettings;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::RedisServer;
use common::kube_app::{KubeApp, discovered, phase};
use common::kube_real::{self as real, RealKube};
use crossterm::event::KeyCode;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, Client};
use kubestack_ai::ai::plan::ProposedPlan;
use kubestack_ai::app::{ChatMessage, Health, PaneId, StepPhase};
use kubestack_ai::config::{
    InstanceConfig, InstanceKind, KubeCredential, SafetyConfig, SafetyMode, SecretKeyRef,
};
use kubestack_ai::kube::access::{self, Access};
use kubestack_ai::kube::logs::{LogOptions, PodLogEvent, PodLogLine, stream_logs};
use kubestack_ai::kube::portforward::{self, ForwardState, ForwardTarget};
use kubestack_ai::kube::repairs::{FACT_NAMESPACE, FACT_PODS, FACT_WORKLOAD, KubeRepairs};
use kubestack_ai::kube::store::PodRow;
use kubestack_ai::kube::{
    ClusterStore, ContextState, NamespaceScope, StoreUpdate, client_for, discover, load_from,
    probe_context, spawn_watchers,
};
use kubestack_ai::plugins::InstanceFacts;
use kubestack_ai::repair::catalog::{PlanContext, RepairCatalog, plan_for_finding};
use kubestack_ai::repair::{
    AuditChain, AuditEvent, Confirmation, Executor, RepairError, verify_chain,
};
use kubestack_playground::kube_objects::{self as obj, PodHealth};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The product's own client for `user` in `namespace` (its kubeconfig loading and client).
async fn product_client(k: &RealKube, user: &str, namespace: &str) -> Client {
    client_for(
        k.kubeconfig(&[(user, user, namespace)]),
        user,
        Duration::from_secs(5),
        None,
    )
    .await
    .unwrap()
}

/// The audit events of `user` in `namespace` (by the URI), as `verb URI`.
fn audit_in(k: &RealKube, user: &str, namespace: &str) -> Vec<(String, Value)> {
    let marker = format!("/namespaces/{namespace}/");
    k.audit_of(user)
        .into_iter()
        .filter(|(line, _)| line.contains(&marker))
        .collect()
}

const MUTATING: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_context_probe_tokens_and_client_certificates_on_the_real_apiserver() {
    let k = real::cluster();
    let state = probe_context(
        k.kubeconfig(&[("dev", "viewer", "default")]),
        "dev",
        Duration::from_secs(5),
    )
    .await;
    match state {
        ContextState::Up { version } => assert_eq!(version, k.version, "{version}"),
        other => panic!("{other:?}"),
    }
    // A token the apiserver does not know: its 401, said plainly.
    let mut kc = k.kubeconfig(&[("dev", "viewer", "default")]);
    kc.auth_infos[0].auth_info.as_mut().unwrap().token = Some("wrong-token".to_string().into());
    let state = probe_context(kc, "dev", Duration::from_secs(5)).await;
    match state {
        ContextState::Down { error } => {
            assert!(
                error.contains("401") || error.to_lowercase().contains("unauthorized"),
                "{error}"
            )
        }
        other => panic!("a wrong token is not Up: {other:?}"),
    }
    // A CA that did not sign the apiserver's certificate: refused before any request.
    let dir = tempfile::tempdir().unwrap();
    let (key, crt) = (dir.path().join("other.key"), dir.path().join("other.crt"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ])
        .args(["-subj", "/CN=another-ca", "-days", "1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .expect("openssl");
    assert!(made.status.success(), "{made:?}");
    let mut kc = k.kubeconfig(&[("dev", "viewer", "default")]);
    {
        use base64::Engine;
        let cluster = kc.clusters[0].cluster.as_mut().unwrap();
        cluster.certificate_authority_data =
            Some(base64::engine::general_purpose::STANDARD.encode(std::fs::read(&crt).unwrap()));
    }
    let before = k.audit_of("viewer").len();
    let state = probe_context(kc, "dev", Duration::from_secs(5)).await;
    match state {
        ContextState::Down { error } => assert!(
            error.to_lowercase().contains("certificate") || error.contains("UnknownIssuer"),
            "{error}"
        ),
        other => panic!("a server the CA did not sign is not Up: {other:?}"),
    }
    assert_eq!(k.audit_of("viewer").len(), before, "no request got through");

    // A client certificate the cluster's CA signed: the apiserver knows the user by its CN and
    // its group by O, and RBAC answers for it.
    let (ccert, ckey) = k.client_cert();
    let state = probe_context(
        k.kubeconfig_with_cert("dev", &ccert, &ckey),
        "dev",
        Duration::from_secs(5),
    )
    .await;
    assert!(
        matches!(&state, ContextState::Up { version } if *version == k.version),
        "{state:?}"
    );
    let c = client_for(
        k.kubeconfig_with_cert("dev", &ccert, &ckey),
        "dev",
        Duration::from_secs(5),
        None,
    )
    .await
    .unwrap();
    assert!(access::check(&c, &Access::logs("default")).await.is_ok());
    let e = access::check(&c, &Access::port_forward("default"))
        .await
        .unwrap_err();
    assert!(e.starts_with("not allowed: create pods/portforward"), "{e}");
    let ev = k.wait_audit("the certificate user's review", |e| {
        e["user"]["username"] == "cert-viewer"
    });
    assert_eq!(ev["user"]["groups"][0], "kubestack:viewers", "{ev}");
    // One signed by another CA (the self-signed one above): the apiserver does not take it.
    let state = probe_context(
        k.kubeconfig_with_cert("dev", &crt, &key),
        "dev",
        Duration::from_secs(5),
    )
    .await;
    match state {
        ContextState::Down { error } => assert!(
            error.contains("401") || error.to_lowercase().contains("unauthorized"),
            "{error}"
        ),
        other => panic!("a certificate the cluster did not sign is not Up: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_subject_access_reviews_answer_per_user_and_denied_verbs_are_real() {
    let k = real::cluster();
    let admin = k.client("admin").await;
    real::namespace(&admin, "rbac").await;
    real::redis_statefulset(k, &admin, "rbac", "cache", |_| PodHealth::Ready, None).await;
    let checks = [
        Access::port_forward("rbac"),
        Access::logs("rbac"),
        Access::secret("rbac", "cache-auth"),
        Access::on("patch", "apps", "statefulsets", "rbac"),
        Access::on("delete", "", "pods", "rbac"),
    ];
    for (user, allowed) in [
        ("operator", [true, true, true, true, true]),
        // `view`: reads pods and their logs; no secrets, no port-forward, no writes.
        ("viewer", [false, true, false, false, false]),
        ("nobody", [false, false, false, false, false]),
    ] {
        let c = product_client(k, user, "rbac").await;
        for (a, want) in checks.iter().zip(allowed) {
            let r = access::check(&c, a).await;
            assert_eq!(r.is_ok(), want, "{user}: {} → {r:?}", a.describe());
            if let Err(e) = r {
                assert!(
                    e.starts_with(&format!("not allowed: {}", a.describe())),
                    "{e}"
                );
            }
        }
    }
    // Each review was a real create of a SelfSubjectAccessReview, by each user.
    for user in ["operator", "viewer", "nobody"] {
        let n = k
            .audit_of(user)
            .iter()
            .filter(|(l, _)| {
                l.starts_with("create /apis/authorization.k8s.io/v1/selfsubjectaccessreviews")
            })
            .count();
        assert!(n >= checks.len(), "{user}: {n} reviews in the audit log");
    }
    // What the reviews said no to, the apiserver refuses: the viewer's delete is a 403.
    let viewer = product_client(k, "viewer", "rbac").await;
    let pods: Api<Pod> = Api::namespaced(viewer.clone(), "rbac");
    let e = pods
        .delete("cache-0", &DeleteParams::default())
        .await
        .unwrap_err();
    assert!(matches!(&e, kube::Error::Api(s) if s.code == 403), "{e:?}");
    pods.get("cache-0").await.expect("the viewer reads pods");
    let ev = k.wait_audit("the viewer's refused delete", |e| {
        e["user"]["username"] == "viewer" && e["verb"] == "delete"
    });
    assert_eq!(ev["responseStatus"]["code"], 403, "{ev}");
    assert_eq!(
        ev["annotations"]["authorization.k8s.io/decision"], "forbid",
        "{ev}"
    );

    // The product's repair as the viewer: the review says no before anything is tried.
    let (executor, _dir) = executor_for(k, "viewer", "rbac", &[]);
    let instance = instance_in("rbac");
    let facts = facts_in("rbac");
    let ctx = PlanContext::for_instance(&instance, &facts);
    let step = KubeRepairs
        .build("K8S-FIX-02", &params(&[("replicas", "1")]), &ctx)
        .unwrap();
    let mut backend = executor
        .open_backend_for(&step.action, &instance, &Default::default())
        .unwrap();
    let e = executor
        .prepare(backend.as_mut(), &step)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("not allowed: patch statefulsets in rbac"), "{e}");
    assert!(
        !audit_in(k, "viewer", "rbac")
            .iter()
            .any(|(_, e)| e["verb"] == "patch"),
        "nothing tried before the review said no"
    );
}

// ---------------------------------------------------------------------------------------------

struct Watched {
    store: ClusterStore,
    rx: mpsc::Receiver<Vec<StoreUpdate>>,
    errors: Vec<String>,
    cancel: CancellationToken,
}

impl Watched {
    async fn start(k: &RealKube, user: &str, scope: NamespaceScope) -> Watched {
        let client = client_for(
            k.kubeconfig(&[(user, user, "default")]),
            user,
            Duration::from_secs(5),
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

    async fn until(&mut self, what: &str, secs: u64, done: impl Fn(&ClusterStore) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
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

    fn pod(&self, ns: &str, name: &str) -> &PodRow {
        self.store
            .pods
            .get(&(ns.to_string(), name.to_string()))
            .unwrap_or_else(|| panic!("no pod {ns}/{name} in the store"))
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn deployment(ns: &str, name: &str, image: &str, port: u16, labels: &[(&str, &str)]) -> Value {
    let l: BTreeMap<&str, &str> = labels.iter().copied().collect();
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": l},
        "spec": {"replicas": 1, "selector": {"matchLabels": l},
            "template": {"metadata": {"labels": l},
                "spec": {"containers": [{"name": "main", "image": image,
                    "ports": [{"containerPort": port}]}]}}}
    })
}

/// A pod of Deployment `name` as its ReplicaSet makes it (owner `NAME-HASH`, the hash label).
fn deployment_pod(ns: &str, name: &str, image: &str, port: u16, labels: &[(&str, &str)]) -> Pod {
    let mut l: Vec<(&str, &str)> = labels.to_vec();
    l.push(("pod-template-hash", "5d8f7c9b4"));
    let mut p = obj::pod(
        ns,
        &format!("{name}-5d8f7c9b4-x2x7q"),
        image,
        port,
        &l,
        PodHealth::Ready,
    );
    p.metadata.owner_references = Some(vec![
        k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: format!("{name}-5d8f7c9b4"),
            uid: "00000000-0000-0000-0000-000000000001".into(),
            controller: Some(true),
            ..Default::default()
        },
    ]);
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_inventory_sees_status_written_by_the_status_subresource_and_discovers_middleware()
 {
    let k = real::cluster();
    let admin = k.client("admin").await;
    let ns = "inventory";
    real::namespace(&admin, ns).await;
    // Redis: ready, running-not-ready, crash looping.
    let health = |i| match i {
        0 => PodHealth::Ready,
        1 => PodHealth::NotReady,
        _ => PodHealth::CrashLoop {
            restarts: 9,
            oom: false,
        },
    };
    real::redis_statefulset(k, &admin, ns, "cache", health, None).await;
    // A fourth replica the scheduler cannot place, owned by the StatefulSet.
    let set_uid = Api::<StatefulSet>::namespaced(admin.clone(), ns)
        .get("cache")
        .await
        .unwrap()
        .metadata
        .uid
        .unwrap();
    let mut fourth = obj::statefulset_pod(
        ns,
        "cache",
        "redis",
        "docker.io/bitnami/redis:7.2",
        6379,
        3,
        PodHealth::Unschedulable,
    );
    fourth.metadata.owner_references.as_mut().unwrap()[0].uid = set_uid;
    real::create_pod(&admin, &fourth).await;
    // A bare pod OOM-killed and crash looping; one the scheduler cannot place.
    real::create_pod(
        &admin,
        &obj::pod(
            ns,
            "batch",
            "busybox:1.36",
            8080,
            &[("app", "batch")],
            PodHealth::CrashLoop {
                restarts: 4,
                oom: true,
            },
        ),
    )
    .await;
    real::create_pod(
        &admin,
        &obj::pod(
            ns,
            "pending",
            "busybox:1.36",
            8080,
            &[("app", "batch")],
            PodHealth::Unschedulable,
        ),
    )
    .await;
    // Kafka by Strimzi's labels, MariaDB by its image (a Deployment), Elasticsearch by ECK's
    // label on a bare pod, nginx: not middleware.
    let sets: Api<StatefulSet> = Api::namespaced(admin.clone(), ns);
    let kafka = obj::statefulset(
        ns,
        "events-kafka",
        "kafka",
        "quay.io/strimzi/kafka:0.45.0-kafka-3.9.0",
        9092,
        1,
    );
    let mut kafka_v = serde_json::to_value(&kafka).unwrap();
    kafka_v["metadata"]["labels"]["strimzi.io/kind"] = json!("Kafka");
    kafka_v["metadata"]["labels"]["strimzi.io/name"] = json!("events-kafka");
    kafka_v.as_object_mut().unwrap().remove("status");
    kafka_v["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("creationTimestamp");
    sets.create(
        &PostParams::default(),
        &serde_json::from_value(kafka_v).unwrap(),
    )
    .await
    .unwrap();
    let deps: Api<Deployment> = Api::namespaced(admin.clone(), ns);
    for (name, image, port, labels) in [
        (
            "orders-db",
            "docker.io/library/mariadb:11.4",
            3306,
            vec![("tier", "db")],
        ),
        ("web", "nginx:1.27", 80, vec![("app", "web")]),
    ] {
        deps.create(
            &PostParams::default(),
            &serde_json::from_value(deployment(ns, name, image, port, &labels)).unwrap(),
        )
        .await
        .unwrap();
        real::create_pod(&admin, &deployment_pod(ns, name, image, port, &labels)).await;
    }
    real::create_pod(
        &admin,
        &obj::pod(
            ns,
            "search-es-default-0",
            "docker.elastic.co/elasticsearch/elasticsearch:8.15.0",
            9200,
            &[("common.k8s.elastic.co/type", "elasticsearch")],
            PodHealth::Ready,
        ),
    )
    .await;

    // Warning events about its pods, as the kubelet reports them; one about another pod.
    for (pod, reason, message) in [
        (
            "cache-2",
            "BackOff",
            "Back-off restarting failed container main",
        ),
        ("cache-1", "Unhealthy", "Readiness probe failed: NOAUTH"),
        ("batch", "BackOff", "not the instance's"),
    ] {
        real::event(
            &admin,
            &obj::event(ns, "Pod", pod, "Warning", reason, message),
        )
        .await;
    }

    let mut w = Watched::start(k, "operator", NamespaceScope::parse(ns)).await;
    w.until("the initial lists", 20, ClusterStore::is_synced)
        .await;
    assert!(w.errors.is_empty(), "{:?}", w.errors);
    assert_eq!(w.store.pods.len(), 9, "{:?}", w.store.pods.keys());
    let p = w.pod(ns, "cache-0");
    assert_eq!(
        (p.status.as_str(), p.phase.as_str(), p.is_ready()),
        ("Running", "Running", true)
    );
    assert_eq!(p.node.as_deref(), Some("node-1"));
    assert_eq!(p.owner, Some(("StatefulSet".into(), "cache".into())));
    let p = w.pod(ns, "cache-1");
    assert_eq!((p.status.as_str(), p.is_ready()), ("Running", false));
    let p = w.pod(ns, "cache-2");
    assert_eq!(
        (p.status.as_str(), p.restarts, p.last_terminated.as_deref()),
        ("CrashLoopBackOff", 9, Some("Error"))
    );
    let p = w.pod(ns, "batch");
    assert_eq!(
        (p.status.as_str(), p.restarts, p.last_terminated.as_deref()),
        ("CrashLoopBackOff", 4, Some("OOMKilled"))
    );
    let p = w.pod(ns, "pending");
    assert_eq!(p.phase, "Pending");
    assert!(
        p.unschedulable
            .as_deref()
            .is_some_and(|m| m.contains("Insufficient memory")),
        "{p:?}"
    );

    let found = discover(
        &w.store,
        &kubestack_ai::plugins::registry::discovery_hints(),
    );
    let kinds: Vec<(InstanceKind, &str, &str)> = found
        .iter()
        .map(|d| (d.kind, d.name.as_str(), d.workload_kind))
        .collect();
    assert_eq!(
        kinds,
        [
            (InstanceKind::REDIS, "cache", "StatefulSet"),
            (InstanceKind::KAFKA, "events-kafka", "StatefulSet"),
            (InstanceKind::MYSQL, "orders-db", "Deployment"),
            (InstanceKind::ELASTICSEARCH, "search-es-default-0", "Pod"),
        ],
        "{found:?}"
    );
    let cache = &found[0];
    assert_eq!((cache.ready, cache.restarts, cache.pods.len()), (1, 9, 4));
    assert_eq!(cache.service.as_deref(), Some("cache"));
    assert_eq!(found[2].pods, ["orders-db-5d8f7c9b4-x2x7q"]);
    let ids: Vec<String> = kubestack_ai::kube::rules::instance_findings(cache, &w.store)
        .into_iter()
        .map(|f| f.id)
        .collect();
    for id in [
        "K8S-POD-01",
        "K8S-POD-03",
        "K8S-EVT-BackOff",
        "K8S-EVT-Unhealthy",
        "K8S-POD-04",
    ] {
        assert!(ids.contains(&id.to_string()), "{id} not in {ids:?}");
    }
    let backoff = kubestack_ai::kube::rules::instance_findings(cache, &w.store)
        .into_iter()
        .find(|f| f.id == "K8S-EVT-BackOff")
        .unwrap();
    assert_eq!(
        backoff.evidence["objects"],
        json!(["Pod/cache-2"]),
        "not the other pod's event"
    );

    // Live: the kubelet's next status write makes cache-1 ready and OOM-kills cache-0; a
    // deleted pod leaves the store.
    real::set_pod_status(
        &admin,
        ns,
        "cache-1",
        &real::status_for("docker.io/bitnami/redis:7.2", PodHealth::Ready),
    )
    .await;
    real::set_pod_status(
        &admin,
        ns,
        "cache-0",
        &real::status_for(
            "docker.io/bitnami/redis:7.2",
            PodHealth::CrashLoop {
                restarts: 1,
                oom: true,
            },
        ),
    )
    .await;
    // cache-2 runs again, after nine restarts.
    let mut recovered = real::status_for("docker.io/bitnami/redis:7.2", PodHealth::Ready);
    recovered.container_statuses.as_mut().unwrap()[0].restart_count = 9;
    real::set_pod_status(&admin, ns, "cache-2", &recovered).await;
    Api::<Pod>::namespaced(admin.clone(), ns)
        .delete("pending", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    w.until("the status changes", 10, |s| {
        let get = |n: &str| s.pods.get(&(ns.to_string(), n.to_string()));
        get("cache-1").is_some_and(PodRow::is_ready)
            && get("cache-2").is_some_and(|p| p.is_ready() && p.restarts == 9)
            && get("cache-0").is_some_and(|p| p.last_terminated.as_deref() == Some("OOMKilled"))
            && get("pending").is_none()
    })
    .await;
    let found = discover(
        &w.store,
        &kubestack_ai::plugins::registry::discovery_hints(),
    );
    let findings = kubestack_ai::kube::rules::instance_findings(&found[0], &w.store);
    let pods_of = |id: &str| {
        findings
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.evidence["pods"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(pods_of("K8S-POD-01"), json!(["cache-0"]), "{findings:?}");
    assert_eq!(pods_of("K8S-POD-02"), json!(["cache-0"]), "{findings:?}");
    assert_eq!(pods_of("K8S-POD-05"), json!(["cache-2"]), "{findings:?}");
    assert_eq!(pods_of("K8S-POD-03"), Value::Null, "all running pods ready");
    assert_eq!(pods_of("K8S-POD-04"), json!(["cache-3"]), "{findings:?}");
    // The inventory only read: lists and watches, nothing else, by the product's user.
    let verbs: std::collections::BTreeSet<String> = audit_in(k, "operator", ns)
        .iter()
        .map(|(_, e)| e["verb"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        verbs.iter().all(|v| v == "list" || v == "watch"),
        "{verbs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_rbac_refuses_are_reported_then_recover_when_a_binding_appears_and_metrics_are_absent()
 {
    use kubestack_ai::kube::store::MetricsState;
    let k = real::cluster();
    let admin = k.client("admin").await;
    let ns = "denied";
    real::namespace(&admin, ns).await;
    real::redis_statefulset(k, &admin, ns, "cache", |_| PodHealth::Ready, None).await;
    // `nobody` may not list anything: each watcher reports the apiserver's 403.
    let mut w = Watched::start(k, "nobody", NamespaceScope::parse(ns)).await;
    w.until("a 403", 20, |s| {
        s.errors.values().any(|e| e.contains("403"))
    })
    .await;
    assert!(
        w.errors.iter().any(|e| e.contains("forbidden")),
        "{:?}",
        w.errors
    );
    let refused = k.wait_audit("the refused list", |e| {
        e["user"]["username"] == "nobody"
            && e["verb"] == "list"
            && e["objectRef"]["namespace"] == ns
    });
    assert_eq!(refused["responseStatus"]["code"], 403, "{refused}");
    // RBAC grants it now: `view` in this namespace. The watchers' retries list and sync.
    let bindings: Api<k8s_openapi::api::rbac::v1::RoleBinding> = Api::namespaced(admin.clone(), ns);
    bindings
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "nobody-views"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "nobody"}]
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    w.until("the lists after the binding", 60, |s| {
        s.is_synced() && s.pods.len() == 3
    })
    .await;
    assert!(
        w.store.errors.is_empty(),
        "cleared once a list succeeds: {:?}",
        w.store.errors
    );
    // No metrics-server: API discovery does not list metrics.k8s.io, so it is never asked.
    w.until("metrics absent", 20, |s| s.metrics == MetricsState::Absent)
        .await;
    let nobody = k.audit_of("nobody");
    assert!(
        nobody.iter().any(|(l, _)| l == "get /apis"),
        "API discovery"
    );
    assert!(
        !nobody.iter().any(|(l, _)| l.contains("metrics.k8s.io")),
        "the metrics path was asked: {:?}",
        nobody.iter().map(|(l, _)| l).collect::<Vec<_>>()
    );
}

/// Lists of `ns` by `user` so far, as audited.
fn lists_in(k: &RealKube, user: &str, ns: &str) -> Vec<String> {
    audit_in(k, user, ns)
        .into_iter()
        .filter(|(l, _)| l.starts_with("list "))
        .map(|(l, _)| l)
        .collect()
}

/// A namespace with a ready three-pod Redis StatefulSet, and the operator's client going
/// through a relay the test can cut: (the admin's client, the relay, the operator's client).
async fn relayed_redis(k: &'static real::RealKube, ns: &str) -> (Client, real::Relay, Client) {
    let admin = k.client("admin").await;
    real::namespace(&admin, ns).await;
    real::redis_statefulset(k, &admin, ns, "cache", |_| PodHealth::Ready, None).await;
    let relay = real::Relay::start(k.addr()).await;
    let client = client_for(
        k.kubeconfig_at(&relay.url(), &[("operator", "operator", ns)]),
        "operator",
        Duration::from_secs(5),
        None,
    )
    .await
    .unwrap();
    (admin, relay, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_cut_mid_stream_resume_from_their_resource_version_without_listing_again() {
    let k = real::cluster();
    let ns = "resume";
    let (admin, relay, client) = relayed_redis(k, ns).await;
    let (tx, rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    spawn_watchers(client, &NamespaceScope::parse(ns), tx, cancel.clone());
    let mut w = Watched {
        store: ClusterStore::default(),
        rx,
        errors: Vec::new(),
        cancel,
    };
    w.until("the lists", 20, |s| s.is_synced() && s.pods.len() == 3)
        .await;
    let lists = lists_in(k, "operator", ns);
    assert_eq!(
        lists.len(),
        5,
        "pods, statefulsets, deployments, services, events: {lists:?}"
    );
    let before = relay.accepted();
    for round in 0..2 {
        // The network cuts every stream; the cluster changes meanwhile.
        relay.cut();
        let health = if round == 0 {
            PodHealth::NotReady
        } else {
            PodHealth::Ready
        };
        real::set_pod_status(
            &admin,
            ns,
            "cache-1",
            &real::status_for("docker.io/bitnami/redis:7.2", health.clone()),
        )
        .await;
        w.until("the change after the cut", 30, |s| {
            s.pods
                .get(&(ns.to_string(), "cache-1".to_string()))
                .is_some_and(|p| p.is_ready() == (health == PodHealth::Ready))
        })
        .await;
    }
    assert!(relay.accepted() > before, "the watchers connected again");
    // Resumed by watches from the last resourceVersion they had; not one new list.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(lists_in(k, "operator", ns), lists, "no list after the cuts");
    let pod_watches: Vec<String> = audit_in(k, "operator", ns)
        .into_iter()
        .filter(|(l, e)| {
            l.starts_with(&format!("watch /api/v1/namespaces/{ns}/pods?"))
                && e["stage"] == "ResponseStarted"
        })
        .map(|(l, _)| l)
        .collect();
    assert!(pod_watches.len() >= 3, "{pod_watches:?}");
    assert!(
        pod_watches.iter().all(|l| l.contains("resourceVersion=")),
        "{pod_watches:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_log_cut_mid_stream_resumes_without_losing_or_repeating_a_line() {
    let k = real::cluster();
    let ns = "logresume";
    let (_, relay, client) = relayed_redis(k, ns).await;
    // Lines within one second: `sinceTime` (whole seconds) cannot split them.
    let base = chrono::Utc::now().with_nanosecond(0).unwrap() - chrono::Duration::seconds(2);
    for n in 0..3 {
        k.log(
            ns,
            "cache-0",
            "main",
            base + chrono::Duration::microseconds(n),
            &format!("line {n}"),
        );
    }
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    tokio::spawn(stream_logs(
        client,
        ns.into(),
        vec!["cache-0".into()],
        LogOptions::default(),
        tx,
        cancel.clone(),
    ));
    let mut lines: Vec<String> = Vec::new();
    let mut states: Vec<String> = Vec::new();
    let mut cut = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while lines.len() < 5 {
        if !cut && lines.len() == 3 {
            relay.cut();
            // Written while the stream is down, in the same second as the last line shown.
            for n in 3..5 {
                k.log(
                    ns,
                    "cache-0",
                    "main",
                    base + chrono::Duration::microseconds(n),
                    &format!("line {n}"),
                );
            }
            cut = true;
        }
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(PodLogEvent::Lines(l))) => lines.extend(l.into_iter().map(|l| l.text)),
            Ok(Some(PodLogEvent::State { text, .. })) => states.push(text),
            Ok(Some(PodLogEvent::Dropped(_))) => {}
            other => panic!("waiting for the lines: {other:?}; got {lines:?}, states {states:?}"),
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    while let Ok(ev) = rx.try_recv() {
        if let PodLogEvent::Lines(l) = ev {
            lines.extend(l.into_iter().map(|l| l.text));
        }
    }
    cancel.cancel();
    assert_eq!(
        lines,
        ["line 0", "line 1", "line 2", "line 3", "line 4"],
        "states {states:?}"
    );
    assert!(
        states.iter().any(|t| t.starts_with("reconnecting")),
        "{states:?}"
    );
    // The apiserver passed the resume's sinceTime to the kubelet.
    let asked: Vec<String> = k
        .kubelet_requests()
        .into_iter()
        .filter(|r| {
            r.starts_with(&format!("GET /containerLogs/{ns}/cache-0/main?")) && !r.contains(" -> ")
        })
        .collect();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked[1].contains("sinceTime="), "{asked:?}");
}

// ---------------------------------------------------------------------------------------------

fn params(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

fn instance_in(ns: &str) -> InstanceConfig {
    InstanceConfig {
        context: Some("dev".into()),
        ..InstanceConfig::new(
            format!("{ns}/cache"),
            InstanceKind::REDIS,
            "redis://127.0.0.1:1",
        )
    }
}

fn facts_in(ns: &str) -> InstanceFacts {
    InstanceFacts {
        extra: vec![
            (FACT_NAMESPACE.into(), ns.into()),
            (FACT_WORKLOAD.into(), "StatefulSet/cache".into()),
            (FACT_PODS.into(), "cache-0,cache-1,cache-2".into()),
        ],
        ..Default::default()
    }
}

/// The product's executor on context `dev` = `user` in `ns`.
fn executor_for(
    k: &RealKube,
    user: &str,
    ns: &str,
    read_only: &[&str],
) -> (Executor, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    k.write_kubeconfig(&path, &[("dev", user, ns)]);
    let kube = load_from(&[path], None).unwrap();
    let audit = std::sync::Arc::new(AuditChain::open(&dir.path().join("audit.jsonl")).unwrap());
    let safety = SafetyConfig {
        mode: SafetyMode::Confirm,
        read_only_contexts: read_only.iter().map(|s| s.to_string()).collect(),
    };
    let executor =
        Executor::new(kubestack_ai::plugins::registry::backends(), &safety, audit).unwrap();
    executor.set_kubeconfig(kube.kubeconfig.clone());
    executor.set_current_context(Some("dev".into()));
    (executor, dir)
}

async fn replicas(admin: &Client, ns: &str) -> i32 {
    Api::<StatefulSet>::namespaced(admin.clone(), ns)
        .get("cache")
        .await
        .unwrap()
        .spec
        .unwrap()
        .replicas
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repairs_are_dry_run_by_the_server_then_applied_verified_and_rolled_back() {
    let k = real::cluster();
    let admin = k.client("admin").await;
    let ns = "repairs";
    real::namespace(&admin, ns).await;
    let health = |i| {
        if i == 1 {
            PodHealth::CrashLoop {
                restarts: 9,
                oom: false,
            }
        } else {
            PodHealth::Ready
        }
    };
    real::redis_statefulset(k, &admin, ns, "cache", health, None).await;
    let (executor, _dir) = executor_for(k, "operator", ns, &[]);
    let instance = instance_in(ns);
    let facts = facts_in(ns);
    let ctx = PlanContext::for_instance(&instance, &facts);

    // Scale: the preview is the apiserver's dry run; nothing changes until confirmed.
    let step = KubeRepairs
        .build("K8S-FIX-02", &params(&[("replicas", "5")]), &ctx)
        .unwrap();
    let mut backend = executor
        .open_backend_for(&step.action, &instance, &Default::default())
        .unwrap();
    let prepared = executor.prepare(backend.as_mut(), &step).await.unwrap();
    assert!(
        prepared.preview.contains("replicas 3 → 5"),
        "{}",
        prepared.preview
    );
    assert!(
        prepared.preview.contains("server dry run accepted"),
        "{}",
        prepared.preview
    );
    assert_eq!(replicas(&admin, ns).await, 3, "a dry run changes nothing");
    let dry = k.wait_audit("the dry-run patch", |e| {
        e["user"]["username"] == "operator"
            && e["verb"] == "patch"
            && e["objectRef"]["resource"] == "statefulsets"
            && e["requestURI"]
                .as_str()
                .is_some_and(|u| u.contains("dryRun=All"))
    });
    assert_eq!(dry["responseStatus"]["code"], 200, "{dry}");
    let refused = executor
        .execute(backend.as_mut(), &step, &Confirmation::default())
        .await;
    assert!(
        matches!(refused, Err(RepairError::Refused(_))),
        "{refused:?}"
    );
    let typed = Confirmation {
        typed_name: Some(format!("{ns}/cache")),
    };
    executor
        .execute(backend.as_mut(), &step, &typed)
        .await
        .unwrap();
    assert_eq!(replicas(&admin, ns).await, 5);
    let verified = executor
        .verify(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert!(verified.contains("replicas=5"), "{verified}");
    executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(replicas(&admin, ns).await, 3, "rolled back");
    let patches: Vec<String> = audit_in(k, "operator", ns)
        .into_iter()
        .filter(|(_, e)| e["verb"] == "patch" && e["objectRef"]["resource"] == "statefulsets")
        .map(|(l, _)| l)
        .collect();
    assert_eq!(patches.len(), 3, "dry run, write, rollback: {patches:?}");
    assert!(
        patches[0].contains("dryRun=All")
            && !patches[1].contains("dryRun")
            && !patches[2].contains("dryRun"),
        "{patches:?}"
    );

    // Delete the crash-looping pod from its finding: the dry run is a DELETE whose
    // DeleteOptions say dryRun (in the body: the audit log at level Request shows it).
    let mut w = Watched::start(k, "operator", NamespaceScope::parse(ns)).await;
    w.until("the pods", 20, |s| s.is_synced() && s.pods.len() == 3)
        .await;
    let found = discover(
        &w.store,
        &kubestack_ai::plugins::registry::discovery_hints(),
    )
    .into_iter()
    .next()
    .unwrap();
    let findings = kubestack_ai::kube::rules::instance_findings(&found, &w.store);
    let crash = findings
        .iter()
        .find(|f| f.id == "K8S-POD-01")
        .expect("the crash-loop finding");
    let plan = plan_for_finding(&KubeRepairs, crash, &ctx);
    let step = &plan.steps[0];
    assert_eq!(
        step.commands[0].to_string(),
        format!("K8S DELETE Pod {ns} cache-1")
    );
    let prepared = executor.prepare(backend.as_mut(), step).await.unwrap();
    let pods: Api<Pod> = Api::namespaced(admin.clone(), ns);
    assert!(
        pods.get_opt("cache-1").await.unwrap().is_some(),
        "the dry run deleted nothing"
    );
    let dry = k.wait_audit("the dry-run delete", |e| {
        e["user"]["username"] == "operator"
            && e["verb"] == "delete"
            && e["objectRef"]["name"] == "cache-1"
    });
    assert_eq!(dry["requestObject"]["dryRun"], json!(["All"]), "{dry}");
    executor
        .execute(backend.as_mut(), step, &Confirmation::default())
        .await
        .unwrap();
    // A pod bound to a node is deleted gracefully: the apiserver marks it and waits for the
    // kubelet to stop its containers (30 s by default). The inventory shows it Terminating and
    // the verification accepts that the deletion is under way.
    w.until("cache-1 terminating in the inventory", 10, |s| {
        s.pods
            .get(&(ns.to_string(), "cache-1".to_string()))
            .is_some_and(|p| p.deleting && p.status == "Terminating")
    })
    .await;
    let v = executor
        .verify(backend.as_mut(), step, &prepared)
        .await
        .unwrap();
    assert!(v.contains("terminating"), "{v}");
    // The kubelet's part: its containers stopped, it removes the pod for good.
    pods.delete("cache-1", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    w.until("cache-1 gone from the inventory", 10, |s| {
        !s.pods
            .contains_key(&(ns.to_string(), "cache-1".to_string()))
    })
    .await;
    let v = executor
        .verify(backend.as_mut(), step, &prepared)
        .await
        .unwrap();
    assert!(v.contains("gone"), "{v}");
    let deletes: Vec<Value> = audit_in(k, "operator", ns)
        .into_iter()
        .filter(|(_, e)| e["verb"] == "delete" && e["user"]["username"] == "operator")
        .map(|(_, e)| e)
        .collect();
    assert_eq!(deletes.len(), 2, "one dry run, one for real");
    assert!(
        deletes[1]["requestObject"]["dryRun"].is_null(),
        "{}",
        deletes[1]
    );

    // Rollout restart: the pod template's annotation, on the server.
    let restart = KubeRepairs.build("K8S-FIX-01", &Map::new(), &ctx).unwrap();
    let prepared = executor.prepare(backend.as_mut(), &restart).await.unwrap();
    assert!(
        prepared.preview.contains("server dry run accepted"),
        "{}",
        prepared.preview
    );
    executor
        .execute(backend.as_mut(), &restart, &typed)
        .await
        .unwrap();
    let set = Api::<StatefulSet>::namespaced(admin.clone(), ns)
        .get("cache")
        .await
        .unwrap();
    let annotations = set
        .spec
        .unwrap()
        .template
        .metadata
        .unwrap()
        .annotations
        .unwrap_or_default();
    assert!(
        annotations.contains_key("kubectl.kubernetes.io/restartedAt"),
        "{annotations:?}"
    );
    executor
        .verify(backend.as_mut(), &restart, &prepared)
        .await
        .unwrap();

    // In a read-only context the executor refuses before the wire; the server saw nothing.
    let (ro, _dir2) = executor_for(k, "operator", ns, &["dev"]);
    let before = audit_in(k, "operator", ns).len();
    let step = KubeRepairs
        .build("K8S-FIX-03", &params(&[("pod", "cache-0")]), &ctx)
        .unwrap();
    let mut backend = ro
        .open_backend_for(&step.action, &instance, &Default::default())
        .unwrap();
    let r = ro
        .execute(backend.as_mut(), &step, &Confirmation::default())
        .await;
    assert!(
        matches!(&r, Err(RepairError::Refused(m)) if m.contains("read-only")),
        "{r:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after: Vec<String> = audit_in(k, "operator", ns)
        .into_iter()
        .skip(before)
        .map(|(l, _)| l)
        .collect();
    assert!(
        after
            .iter()
            .all(|l| l.starts_with("watch ") || l.starts_with("list ")),
        "{after:?}"
    );
    assert!(pods.get_opt("cache-0").await.unwrap().is_some());
}

// ---------------------------------------------------------------------------------------------

const PW: &str = "k8s-only-Pw-3391";

fn ready(p: &Option<StepPhase>) -> bool {
    matches!(p, Some(StepPhase::Ready | StepPhase::PrepareFailed(_)))
}

/// As tests/kube_readonly_wire.rs: prepares, previews and confirms the step on screen and
/// waits for the executor's refusal.
async fn prepare_and_confirm(app: &mut KubeApp, why: &str) -> String {
    app.until("the step's preview", |s| ready(&phase(s))).await;
    let m = app.state.repair().unwrap();
    let step = m.step().unwrap().clone();
    let p = phase(&app.state);
    assert_eq!(p, Some(StepPhase::Ready), "{}: {p:?}", step.action);
    let preview = m
        .state()
        .unwrap()
        .prepared
        .as_ref()
        .unwrap()
        .preview
        .clone();
    assert!(
        preview.contains(&format!("no server-side dry run was sent: {why}")),
        "{}: {preview}",
        step.action
    );
    if step.risk == kubestack_ai::repair::Risk::Dangerous {
        let name = step.target.instance.clone();
        app.keys(&name);
        app.key(KeyCode::Tab);
        app.key(KeyCode::Enter);
    } else {
        app.keys("y");
    }
    app.until("the executor's answer", |s| {
        !matches!(phase(s), Some(StepPhase::Ready | StepPhase::Running))
    })
    .await;
    let p = phase(&app.state);
    assert!(
        matches!(&p, Some(StepPhase::Refused(_))),
        "{}: {p:?}",
        step.action
    );
    preview
}

/// The whole app on a real cluster: a Redis discovered, its password read from a Secret, a
/// port-forward through the apiserver and the kubelet stand-in to a real redis-server, its
/// pods' logs streamed; then every Kubernetes repair walked in a read-only context. The user
/// is a cluster admin, so any write would have succeeded: the audit log must show none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_discovers_connects_streams_logs_and_a_read_only_context_sends_no_mutating_verb() {
    let k = real::cluster();
    let admin = k.client("admin").await;
    let ns = "readonly";
    real::namespace(&admin, ns).await;
    let redis = RedisServer::start(&["--requirepass", PW]);
    let not_ready = |i| {
        if i == 2 {
            PodHealth::NotReady
        } else {
            PodHealth::Ready
        }
    };
    real::redis_statefulset(
        k,
        &admin,
        ns,
        "cache",
        not_ready,
        Some(([127, 0, 0, 1], redis.port).into()),
    )
    .await;
    real::secret(&admin, ns, "cache-auth", "password", PW).await;
    let t = chrono::Utc::now() - chrono::Duration::seconds(3);
    k.log(ns, "cache-0", "main", t, "Ready to accept connections tcp");
    k.log(
        ns,
        "cache-1",
        "main",
        t,
        "MASTER <-> REPLICA sync: Finished with success",
    );

    let mut config = common::fast_config();
    config.collector.interval_secs = 0.3;
    config.safety = SafetyConfig {
        mode: SafetyMode::Confirm,
        read_only_contexts: vec!["d?v".into()],
    };
    config.kubernetes.credentials = vec![KubeCredential {
        password_secret: Some(SecretKeyRef {
            name: "cache-auth".into(),
            key: "password".into(),
            namespace: None,
        }),
        ..Default::default()
    }];
    // Only this test's namespace: the other tests' clusters have instances named `cache` too.
    config.kubernetes.namespaces = BTreeMap::from([("dev".to_string(), vec![ns.to_string()])]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    k.write_kubeconfig(&path, &[("dev", "sre", ns)]);
    let mut app = KubeApp::start_from(dir, &path, "dev", config).await;
    app.until("the discovered instance", |s| {
        discovered(s, "cache").is_some()
    })
    .await;
    let i = discovered(&app.state, "cache").unwrap();
    app.until("a sample through the forward", |s| {
        s.instances[i].health == Health::Up
    })
    .await;
    let view = &app.state.instances[i];
    assert!(
        view.facts.version.as_deref().is_some_and(|v| !v.is_empty()),
        "{:?}",
        view.facts.version
    );
    let b = view.kube.as_ref().unwrap();
    assert_eq!((b.found.ready, b.found.pods.len()), (2, 3));
    assert!(
        b.forward.as_deref().unwrap().contains("→ cache-0"),
        "{:?}",
        b.forward
    );
    app.until("both pods' log lines", |s| {
        let sources: Vec<String> = s.instances[i]
            .logs
            .iter()
            .map(|l| l.source.to_string())
            .collect();
        sources.iter().any(|x| x.ends_with("/cache-0"))
            && sources.iter().any(|x| x.ends_with("/cache-1"))
    })
    .await;
    // The stand-in kubelet was asked by the apiserver, not by us.
    let kubelet = k.kubelet_requests();
    assert!(
        kubelet
            .iter()
            .any(|r| r.starts_with(&format!("GET /portForward/{ns}/cache-0"))),
        "{kubelet:?}"
    );
    assert!(
        kubelet.iter().any(
            |r| r.starts_with(&format!("GET /containerLogs/{ns}/cache-1/main?"))
                && r.contains("follow=true")
        ),
        "{kubelet:?}"
    );

    let why = "context `dev` is read-only (safety.read_only_contexts)";
    app.state.focus = PaneId::Findings;
    app.state.findings_selected = app.state.instances[i]
        .findings
        .iter()
        .position(|f| f.finding.id == "K8S-POD-03")
        .expect("the not-ready finding");
    app.keys("r");
    let preview = prepare_and_confirm(&mut app, why).await;
    assert!(preview.contains("kind=Pod name=cache-2"), "{preview}");
    app.key(KeyCode::Esc);
    let plan: ProposedPlan = serde_json::from_str(
        r#"{"plan":[{"action":"K8S-FIX-01"},{"action":"K8S-FIX-02","params":{"replicas":5}},{"action":"K8S-FIX-03","params":{"pod":"cache-0"}}]}"#,
    )
    .unwrap();
    app.state.instances[i].chat.push(ChatMessage::plan(plan));
    app.state.focus = PaneId::Chat;
    app.keys("p");
    prepare_and_confirm(&mut app, why).await;
    app.key(KeyCode::Enter);
    let scale = prepare_and_confirm(&mut app, why).await;
    assert!(scale.contains("replicas 3 → 5"), "{scale}");
    app.key(KeyCode::Enter);
    prepare_and_confirm(&mut app, why).await;
    app.key(KeyCode::Esc);
    let refused = verify_chain(&app.audit)
        .unwrap()
        .into_iter()
        .filter(|r| r.event == AuditEvent::Refused)
        .count();
    assert_eq!(refused, 4, "each confirmation refused and audited");

    // The apiserver's record of everything the product's user (`sre`, used by this test only)
    // sent, cluster-wide.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent_here = k.audit_of("sre");
    assert!(!sent_here.is_empty());
    let mutating: Vec<&String> = sent_here
        .iter()
        .filter(|(_, e)| MUTATING.contains(&e["verb"].as_str().unwrap_or("")))
        .map(|(l, _)| l)
        .collect();
    assert!(
        mutating.is_empty(),
        "mutating requests from a read-only context: {mutating:?}"
    );
    for wanted in [
        format!("get /api/v1/namespaces/{ns}/secrets/cache-auth"),
        format!("get /apis/apps/v1/namespaces/{ns}/statefulsets/cache"),
        format!("get /api/v1/namespaces/{ns}/pods/cache-2"),
        format!("get /api/v1/namespaces/{ns}/pods/cache-0"),
    ] {
        assert!(sent_here.iter().any(|(l, _)| *l == wanted), "no {wanted}");
    }
    assert!(
        sent_here
            .iter()
            .any(|(_, e)| e["objectRef"]["subresource"] == "portforward"),
        "the forward is in the audit log"
    );
    assert!(
        sent_here
            .iter()
            .any(|(_, e)| e["objectRef"]["subresource"] == "log"),
        "the logs are in the audit log"
    );
    // Nothing changed on the server.
    assert_eq!(replicas(&admin, ns).await, 3);
    let set = Api::<StatefulSet>::namespaced(admin.clone(), ns)
        .get("cache")
        .await
        .unwrap();
    assert!(
        set.spec
            .unwrap()
            .template
            .metadata
            .unwrap()
            .annotations
            .is_none()
    );
    let pods: Api<Pod> = Api::namespaced(admin.clone(), ns);
    for p in ["cache-0", "cache-2"] {
        assert!(pods.get_opt(p).await.unwrap().is_some());
    }
}

// ---------------------------------------------------------------------------------------------

struct Collected {
    lines: Vec<PodLogLine>,
    states: Vec<(String, String)>,
}

async fn run_logs(
    client: &Client,
    ns: &str,
    pods: &[&str],
    options: LogOptions,
    wait: Duration,
) -> Collected {
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    tokio::spawn(stream_logs(
        client.clone(),
        ns.into(),
        pods.iter().map(|p| p.to_string()).collect(),
        options,
        tx,
        cancel.clone(),
    ));
    let mut c = Collected {
        lines: Vec::new(),
        states: Vec::new(),
    };
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        match ev {
            PodLogEvent::Lines(l) => c.lines.extend(l),
            PodLogEvent::State { pod, text } => c.states.push((pod, text)),
            PodLogEvent::Dropped(_) => {}
        }
    }
    cancel.cancel();
    c
}

fn texts(c: &Collected, pod: &str) -> Vec<String> {
    c.lines
        .iter()
        .filter(|l| l.pod == pod)
        .map(|l| l.text.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_logs_follow_tail_since_and_previous_through_the_real_apiserver() {
    let k = real::cluster();
    let admin = k.client("admin").await;
    let ns = "logs";
    real::namespace(&admin, ns).await;
    real::redis_statefulset(k, &admin, ns, "cache", |_| PodHealth::Ready, None).await;
    let now = chrono::Utc::now();
    k.log(
        ns,
        "cache-0",
        "main",
        now - chrono::Duration::minutes(10),
        "old",
    );
    for n in 0..4 {
        k.log(
            ns,
            "cache-0",
            "main",
            now - chrono::Duration::seconds(4 - n),
            &format!("recent {n}"),
        );
        k.log(
            ns,
            "cache-1",
            "main",
            now - chrono::Duration::seconds(4 - n),
            &format!("one {n}"),
        );
    }
    k.previous_log(
        ns,
        "cache-0",
        "main",
        now - chrono::Duration::minutes(20),
        "FATAL out of memory",
    );
    let client = product_client(k, "operator", ns).await;

    // Follow both pods; a line written later arrives live.
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    tokio::spawn(stream_logs(
        client.clone(),
        ns.into(),
        vec!["cache-0".into(), "cache-1".into()],
        LogOptions::default(),
        tx,
        cancel.clone(),
    ));
    let mut lines: Vec<PodLogLine> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut wrote_live = false;
    while !lines.iter().any(|l| l.text == "live 1") {
        if !wrote_live && lines.len() >= 9 {
            k.log(ns, "cache-0", "main", chrono::Utc::now(), "live 1");
            wrote_live = true;
        }
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(PodLogEvent::Lines(l))) => lines.extend(l),
            Ok(Some(_)) => {}
            other => panic!("waiting for the live line: {other:?}; got {lines:?}"),
        }
    }
    cancel.cancel();
    let zero: Vec<&str> = lines
        .iter()
        .filter(|l| l.pod == "cache-0")
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(
        zero,
        [
            "old", "recent 0", "recent 1", "recent 2", "recent 3", "live 1"
        ]
    );
    let first = lines.iter().find(|l| l.text == "recent 0").unwrap();
    assert!(
        (first.at - (now - chrono::Duration::seconds(4)))
            .num_milliseconds()
            .abs()
            < 2,
        "the kubelet's timestamp: {first:?}"
    );

    let tail = run_logs(
        &client,
        ns,
        &["cache-0"],
        LogOptions {
            tail_lines: Some(2),
            ..Default::default()
        },
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(texts(&tail, "cache-0"), ["recent 3", "live 1"]);
    let since = run_logs(
        &client,
        ns,
        &["cache-0"],
        LogOptions::default().parse_into("since 1m").unwrap(),
        Duration::from_secs(2),
    )
    .await;
    assert!(
        !texts(&since, "cache-0").contains(&"old".to_string()),
        "{:?}",
        texts(&since, "cache-0")
    );
    assert!(texts(&since, "cache-0").contains(&"recent 0".to_string()));
    let prev = run_logs(
        &client,
        ns,
        &["cache-0"],
        LogOptions::default().parse_into("previous").unwrap(),
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(texts(&prev, "cache-0"), ["FATAL out of memory"]);
    assert!(
        prev.states.iter().any(|(_, t)| t == "ended"),
        "{:?}",
        prev.states
    );

    // The apiserver passed each option to the kubelet.
    let kubelet = k.kubelet_requests();
    let asked = |needle: &str| {
        kubelet.iter().any(|r| {
            r.starts_with(&format!("GET /containerLogs/{ns}/cache-0/main?")) && r.contains(needle)
        })
    };
    assert!(
        asked("follow=true") && asked("timestamps=true"),
        "{kubelet:?}"
    );
    assert!(asked("tailLines=2"), "{kubelet:?}");
    assert!(asked("sinceSeconds=60"), "{kubelet:?}");
    assert!(asked("previous=true"), "{kubelet:?}");

    // A pod the node does not have: the kubelet's 404 comes back through the apiserver.
    let pods: Api<Pod> = Api::namespaced(admin.clone(), ns);
    real::create_pod(
        &admin,
        &obj::pod(ns, "elsewhere", "redis:7.2", 6379, &[], PodHealth::Ready),
    )
    .await;
    let e = pods
        .logs("elsewhere", &Default::default())
        .await
        .unwrap_err();
    assert!(matches!(&e, kube::Error::Api(s) if s.code == 404), "{e:?}");
    assert!(
        k.kubelet_requests()
            .iter()
            .any(|r| r == &format!("GET /containerLogs/{ns}/elsewhere/main -> 404")),
        "the kubelet's 404"
    );
    // limitBytes as the kubelet applies it.
    let cut = pods
        .logs(
            "cache-1",
            &kube::api::LogParams {
                limit_bytes: Some(10),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cut, "one 0\none ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_forward_through_the_real_apiserver_reaches_redis_and_refusals_are_said() {
    let k = real::cluster();
    let admin = k.client("admin").await;
    let ns = "forward";
    real::namespace(&admin, ns).await;
    let redis = RedisServer::start(&[]);
    real::redis_statefulset(
        k,
        &admin,
        ns,
        "cache",
        |_| PodHealth::Ready,
        Some(([127, 0, 0, 1], redis.port).into()),
    )
    .await;
    let client = product_client(k, "operator", ns).await;
    let target = ForwardTarget {
        namespace: ns.into(),
        selector: "app.kubernetes.io/instance=cache".into(),
        pods: vec!["cache-0".into(), "cache-1".into(), "cache-2".into()],
        port: 6379,
        review_access: true,
        relay: None,
        service: Some("cache".into()),
    };
    let pf = portforward::start(client.clone(), target.clone())
        .await
        .unwrap();
    // Two connections in turn, each a forward of its own; a real Redis answers on each.
    for n in 0..2 {
        let mut s = tokio::net::TcpStream::connect(pf.local).await.unwrap();
        s.write_all(
            format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n{n}\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let mut buf = vec![0u8; 64];
        let mut got = Vec::new();
        while !got.ends_with(format!("$1\r\n{n}\r\n").as_bytes()) {
            let r = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
                .await
                .expect("redis answers through the forward")
                .unwrap();
            assert!(r > 0, "closed after {:?}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..r]);
        }
        assert_eq!(got, format!("+OK\r\n$1\r\n{n}\r\n").as_bytes());
    }
    assert_eq!(
        *pf.state.borrow(),
        ForwardState::Forwarding {
            pod: "cache-0".into()
        }
    );
    let kubelet = k.kubelet_requests();
    assert!(
        kubelet
            .iter()
            .filter(|r| r.starts_with(&format!("GET /portForward/{ns}/cache-0")))
            .count()
            >= 2,
        "{kubelet:?}"
    );
    drop(pf);

    // The pod's port reaches nothing: the kubelet's error comes back on the error channel.
    let (_reserved, closed) = common::closed_port();
    for p in ["cache-0", "cache-1", "cache-2"] {
        k.forward(ns, p, 6379, ([127, 0, 0, 1], closed).into());
    }
    let pf = portforward::start(client.clone(), target.clone())
        .await
        .unwrap();
    let mut s = tokio::net::TcpStream::connect(pf.local).await.unwrap();
    let mut buf = [0u8; 8];
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await;
    let mut state = pf.state.clone();
    let failing = tokio::time::timeout(
        Duration::from_secs(10),
        state.wait_for(|s| matches!(s, ForwardState::Failing { .. })),
    )
    .await
    .expect("the forward reports the failure")
    .unwrap()
    .clone();
    let ForwardState::Failing { error, .. } = failing else {
        unreachable!()
    };
    assert!(
        error.contains("failed to connect to localhost:6379"),
        "{error}"
    );
    drop(pf);

    // The viewer may not port-forward: the review says so before a listener is offered.
    let viewer = product_client(k, "viewer", ns).await;
    let e = portforward::start(viewer, target)
        .await
        .err()
        .expect("refused");
    assert!(
        e.contains("not allowed: create pods/portforward in forward"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_pods_are_listed_in_pages_and_watched() {
    use futures::StreamExt;
    const PODS: usize = 10_000;
    let k = real::cluster();
    let admin = k.client("admin").await;
    let ns = "fleet";
    real::namespace(&admin, ns).await;
    let pods: Api<Pod> = Api::namespaced(admin.clone(), ns);
    let started = Instant::now();
    let results: Vec<Result<(), String>> = futures::stream::iter(0..PODS)
        .map(|i| {
            let pods = pods.clone();
            async move {
                let p: Pod = serde_json::from_value(json!({
                    "metadata": {"name": format!("web-{i:05}"), "labels": {"app": "web"}},
                    "spec": {"nodeName": "node-1", "containers": [{"name": "main", "image": "nginx:1.27"}]}
                }))
                .unwrap();
                pods.create(&PostParams::default(), &p).await.map(|_| ()).map_err(|e| format!("web-{i:05}: {e}"))
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        errors.is_empty(),
        "{} creates failed, first {:?}",
        errors.len(),
        errors.first()
    );
    let created_in = started.elapsed();

    let started = Instant::now();
    let mut w = Watched::start(k, "operator", NamespaceScope::parse(ns)).await;
    w.until("the first full inventory", 120, |s| {
        s.is_synced() && s.pods.len() == PODS
    })
    .await;
    let listed_in = started.elapsed();
    eprintln!(
        "10,000 pods: created in {:.1} s ({:.0}/s, 32 at a time); the product's first full inventory in {:.1} s",
        created_in.as_secs_f64(),
        PODS as f64 / created_in.as_secs_f64(),
        listed_in.as_secs_f64()
    );
    // Listed in pages of LIST_PAGE with continue tokens, then watched from the list's version.
    let page = kubestack_ai::kube::watch::LIST_PAGE as usize;
    let lists: Vec<String> = audit_in(k, "operator", ns)
        .into_iter()
        .filter(|(l, _)| l.starts_with(&format!("list /api/v1/namespaces/{ns}/pods?")))
        .map(|(l, _)| l)
        .collect();
    assert!(lists.len() >= PODS / page, "{} list pages", lists.len());
    assert!(
        lists.iter().all(|l| l.contains(&format!("limit={page}"))),
        "{lists:?}"
    );
    assert!(lists.iter().filter(|l| l.contains("continue=")).count() >= PODS / page - 1);
    assert!(
        w.store.pods.values().all(|p| p.phase == "Pending"),
        "no status written yet"
    );

    // Watched: statuses written now arrive as events, without another list.
    let lists_before = lists.len();
    for (name, health) in [
        ("web-00042", PodHealth::Ready),
        (
            "web-04242",
            PodHealth::CrashLoop {
                restarts: 3,
                oom: true,
            },
        ),
    ] {
        real::set_pod_status(&admin, ns, name, &real::status_for("nginx:1.27", health)).await;
    }
    pods.delete("web-09999", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    w.until("the watch events", 30, |s| {
        let get = |n: &str| s.pods.get(&(ns.to_string(), n.to_string()));
        get("web-00042").is_some_and(PodRow::is_ready)
            && get("web-04242").is_some_and(|p| {
                p.status == "CrashLoopBackOff" && p.last_terminated.as_deref() == Some("OOMKilled")
            })
            && get("web-09999").is_none()
    })
    .await;
    assert_eq!(w.store.pods.len(), PODS - 1);
    let lists_after = audit_in(k, "operator", ns)
        .into_iter()
        .filter(|(l, _)| l.starts_with(&format!("list /api/v1/namespaces/{ns}/pods?")))
        .count();
    assert_eq!(lists_after, lists_before, "events, not a new list");
    let _ = pods.list(&ListParams::default().limit(1)).await.unwrap();
}

/// Issue 12 item 5 through the real apiserver: three real Kafka brokers advertise in-cluster
/// names that do not resolve here; the product's forward (WebSocket to the apiserver, the
/// kubelet's portforward code behind it) carries the Kafka relay, which dials every broker
/// through its own pod — the stand-in's request log shows a forward to each — and the collector
/// reads every leader's watermarks and the group's lag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kafka_cluster_advertising_in_cluster_names_is_collected_through_the_real_apiserver() {
    use common::kafka_cluster::KafkaCluster;
    use kubestack_ai::config::{InstanceConfig, InstanceKind};
    use kubestack_ai::plugins::plugin_for;
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};

    let k = real::cluster();
    let admin = k.client("admin").await;
    let ns = "streaming";
    real::namespace(&admin, ns).await;
    let cluster = KafkaCluster::start_advertising(3, |id| {
        format!(
            "kafka-{}.kafka-headless.{ns}.svc.cluster.local:9092",
            id - 1
        )
    });
    cluster.create_topic("orders", 3, 3, &[], None).await;
    for p in 0..3 {
        cluster.produce("orders", p, 30);
    }
    let group: BaseConsumer = cluster
        .client()
        .set("group.id", "billing")
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..3 {
        tpl.add_partition_offset("orders", p, rdkafka::Offset::Offset(10))
            .unwrap();
    }
    group.commit(&tpl, CommitMode::Sync).unwrap();
    let external: Vec<std::net::SocketAddr> = cluster
        .brokers
        .iter()
        .map(|b| ([127, 0, 0, 1], b.external.as_ref().unwrap().0).into())
        .collect();
    real::statefulset(
        k,
        &admin,
        (ns, "kafka", "kafka", "docker.io/bitnami/kafka:3.7", 9092),
        |_| PodHealth::Ready,
        |i| Some(external[i]),
    )
    .await;

    let client = product_client(k, "operator", ns).await;
    let pf = portforward::start(
        client,
        ForwardTarget {
            namespace: ns.into(),
            selector: "app.kubernetes.io/instance=kafka".into(),
            pods: (0..3).map(|i| format!("kafka-{i}")).collect(),
            port: 9092,
            review_access: true,
            relay: plugin_for(InstanceKind::KAFKA).forward_relay(),
            service: Some("kafka".into()),
        },
    )
    .await
    .unwrap();
    let instance = InstanceConfig::new(
        "events",
        InstanceKind::KAFKA,
        format!("kafka://{}", pf.local),
    );
    let mut config = kubestack_ai::config::AppConfig::default();
    let mut kafka_settings = KafkaSettings::of(&config);
    kafka_settings.request_timeout_ms = 5000;
    kafka_settings.store_in(&mut config);
    let mut collector = plugin_for(InstanceKind::KAFKA)
        .collector(&instance, &config)
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let s = collector.collect().await.unwrap();
        let metric = |id: &str| s.metrics.iter().find(|m| m.id == id).map(|m| m.value);
        if metric("lag:billing") == Some(60.0) {
            assert_eq!(metric("brokers"), Some(3.0));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no lag through the real apiserver: {:?}, forward {:?}",
            s.metrics,
            pf.state.borrow()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let kubelet = k.kubelet_requests();
    for i in 0..3 {
        assert!(
            kubelet
                .iter()
                .any(|r| r.starts_with(&format!("GET /portForward/{ns}/kafka-{i}"))),
            "no forward to kafka-{i}: {kubelet:?}"
        );
    }
}

/// The command line for clusters on the real apiserver: `diagnose k8s://dev/cli/cache` lists the
/// namespace, discovers the StatefulSet, port-forwards through the apiserver and the kubelet to
/// a real redis-server, and reports the plugin's findings with the pods'; `health --context`
/// judges the namespace. The apiserver's audit log shows the forward and no write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_reaches_a_discovered_instance_through_the_real_apiserver() {
    let k = real::cluster();
    let admin = k.client("admin").await;
    let ns = "cli";
    real::namespace(&admin, ns).await;
    let redis = RedisServer::start(&[]);
    let to: std::net::SocketAddr = format!("127.0.0.1:{}", redis.port).parse().unwrap();
    let health = |i| {
        if i == 2 {
            PodHealth::CrashLoop {
                restarts: 9,
                oom: false,
            }
        } else {
            PodHealth::Ready
        }
    };
    real::redis_statefulset(k, &admin, ns, "cache", health, Some(to)).await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    k.write_kubeconfig(&kubeconfig, &[("dev", "operator", ns)]);
    std::fs::create_dir_all(dir.path().join("cfg/kubestack-ai")).unwrap();
    std::fs::write(
        dir.path().join("cfg/kubestack-ai/config.toml"),
        "[collector]\ndiagnose_sample_secs = 0.2\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubestack-ai"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path().join("cfg"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out, text)
    };
    let (out, text) = run(&["diagnose", "k8s://dev/cli/cache", "-o", "json"]);
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_eq!(report["target"]["name"], "cli/cache");
    assert!(
        report["target"]["version"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "the real redis-server answered through the real forward: {report}"
    );
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"K8S-POD-01") && ids.contains(&"RDS-SEC-01"),
        "{ids:?}"
    );

    let (out, text) = run(&["health", "--context", "dev", "-n", ns, "-o", "json"]);
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {text}"));
    let cache = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "cli/cache")
        .unwrap_or_else(|| panic!("{rows}"));
    assert_eq!(cache["status"], "critical", "{rows}");
    assert_eq!(out.status.code(), Some(2), "{text}");

    // What the apiserver saw from the command line's user: the forward, and no write.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = audit_in(k, "operator", ns);
    assert!(
        sent.iter()
            .any(|(_, e)| e["objectRef"]["subresource"] == "portforward"),
        "the forward went through the apiserver"
    );
    let writes: Vec<&String> = sent
        .iter()
        .filter(|(_, e)| {
            ["create", "update", "patch", "delete"].contains(&e["verb"].as_str().unwrap_or(""))
                && e["objectRef"]["subresource"] != "portforward"
                && e["objectRef"]["resource"] != "selfsubjectaccessreviews"
        })
        .map(|(l, _)| l)
        .collect();
    assert!(writes.is_empty(), "no write: {writes:?}");
}
