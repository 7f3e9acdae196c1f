//! Kubernetes repairs through the one executor, against the in-process API server: scale with a
//! server-side dry run in the preview (nothing changes before confirmation), the write, its
//! verification and rollback; deleting a crash-looping pod from its finding; a rollout restart;
//! refusals in a read-only context, in another context, and where RBAC says no — checked with a
//! SelfSubjectAccessReview before anything is offered for confirmation.

mod common;

use kubestack_ai::config::{InstanceConfig, InstanceKind, SafetyConfig, SafetyMode};
use kubestack_ai::diagnose::Finding;
use kubestack_ai::kube::repairs::{FACT_NAMESPACE, FACT_PODS, FACT_WORKLOAD, KubeRepairs};
use kubestack_ai::kube::{ClusterStore, Discovered, PodRow, load_from};
use kubestack_ai::plugins::InstanceFacts;
use kubestack_ai::repair::catalog::{PlanContext, RepairCatalog, plan_for_finding};
use kubestack_ai::repair::{AuditChain, Confirmation, Executor, RepairError};
use kubestack_playground::kube_api::{Kind, KubeApi};
use kubestack_playground::kube_objects::{self as obj, PodHealth};
use serde_json::{Map, Value};

struct Setup {
    api: KubeApi,
    executor: Executor,
    instance: InstanceConfig,
    facts: InstanceFacts,
    _dir: tempfile::TempDir,
}

async fn setup(read_only: &[&str]) -> Setup {
    let api = KubeApi::start().await;
    let crash_1 = |i| {
        if i == 1 {
            PodHealth::CrashLoop {
                restarts: 9,
                oom: false,
            }
        } else {
            PodHealth::Ready
        }
    };
    obj::redis_statefulset(&api, "payments", "cache", crash_1, None);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    api.write_kubeconfig(&path, "dev", "payments").unwrap();
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
    let instance = InstanceConfig {
        context: Some("dev".into()),
        ..InstanceConfig::new("payments/cache", InstanceKind::REDIS, "redis://127.0.0.1:1")
    };
    let facts = InstanceFacts {
        // The plugin's identity of the server behind the forward: not a Kubernetes pin.
        identity: Some("54f1458269f082e928e30c5bc6d18dbcfc17106d".into()),
        extra: vec![
            (FACT_NAMESPACE.into(), "payments".into()),
            (FACT_WORKLOAD.into(), "StatefulSet/cache".into()),
            (FACT_PODS.into(), "cache-0,cache-1,cache-2".into()),
        ],
        ..Default::default()
    };
    Setup {
        api,
        executor,
        instance,
        facts,
        _dir: dir,
    }
}

/// The Redis StatefulSet as discovery reports it.
fn cache_found() -> Discovered {
    Discovered {
        kind: InstanceKind::REDIS,
        namespace: "payments".into(),
        name: "cache".into(),
        workload_kind: "StatefulSet",
        service: None,
        port: 6379,
        selector: String::new(),
        pods: vec!["cache-0".into(), "cache-1".into(), "cache-2".into()],
        ready: 2,
        restarts: 9,
        evidence: String::new(),
    }
}

impl Setup {
    /// A Kubernetes step for the instance and the executor's backend for it.
    fn step(
        &self,
        action: &str,
        params: &Map<String, Value>,
    ) -> (
        kubestack_ai::repair::RepairStep,
        Box<dyn kubestack_ai::repair::WriteBackend>,
    ) {
        let ctx = PlanContext::for_instance(&self.instance, &self.facts);
        let step = KubeRepairs.build(action, params, &ctx).unwrap();
        let backend = self
            .executor
            .open_backend_for(&step.action, &self.instance, &Default::default())
            .unwrap();
        (step, backend)
    }
}

fn replicas(api: &KubeApi) -> i64 {
    api.object(Kind::StatefulSet, "payments", "cache").unwrap()["spec"]["replicas"]
        .as_i64()
        .unwrap()
}

fn params(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

#[tokio::test]
async fn scale_is_dry_run_in_the_preview_then_applied_verified_and_rolled_back() {
    let s = setup(&[]).await;
    let (step, mut backend) = s.step("K8S-FIX-02", &params(&[("replicas", "5")]));
    let prepared = s.executor.prepare(backend.as_mut(), &step).await.unwrap();
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
    assert_eq!(replicas(&s.api), 3, "a dry run changes nothing");
    assert!(s.api.requests().iter().any(|r| {
        r.starts_with("PATCH /apis/apps/v1/namespaces/payments/statefulsets/cache?")
            && r.contains("dryRun=All")
    }));
    assert!(
        s.api
            .requests()
            .iter()
            .any(|r| r.starts_with("POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews"))
    );

    // Dangerous: the instance name must be typed.
    let refused = s
        .executor
        .execute(backend.as_mut(), &step, &Confirmation::default())
        .await;
    assert!(
        matches!(refused, Err(RepairError::Refused(_))),
        "{refused:?}"
    );
    assert_eq!(replicas(&s.api), 3);
    let typed = Confirmation {
        typed_name: Some("payments/cache".into()),
    };
    s.executor
        .execute(backend.as_mut(), &step, &typed)
        .await
        .unwrap();
    assert_eq!(replicas(&s.api), 5);
    let verified = s
        .executor
        .verify(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert!(verified.contains("replicas=5"), "{verified}");
    assert!(
        prepared
            .rollback_text
            .contains("SCALE StatefulSet payments cache 3"),
        "{}",
        prepared.rollback_text
    );
    s.executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(replicas(&s.api), 3);
}

#[tokio::test]
async fn the_crash_looping_pod_of_a_finding_is_deleted_and_a_restart_is_requested() {
    let s = setup(&[]).await;
    // The finding as the rules make it from the store.
    let mut store = ClusterStore::default();
    for name in ["cache-0", "cache-1", "cache-2"] {
        let pod: k8s_openapi::api::core::v1::Pod =
            serde_json::from_value((*s.api.object(Kind::Pod, "payments", name).unwrap()).clone())
                .unwrap();
        store
            .pods
            .insert(("payments".into(), name.into()), PodRow::from_pod(&pod));
    }
    let found = cache_found();
    let findings = kubestack_ai::kube::rules::instance_findings(&found, &store);
    let crash: &Finding = findings.iter().find(|f| f.id == "K8S-POD-01").unwrap();
    let ctx = PlanContext::for_instance(&s.instance, &s.facts);
    let plan = plan_for_finding(&KubeRepairs, crash, &ctx);
    assert_eq!(plan.steps.len(), 1, "{plan:?}");
    let step = &plan.steps[0];
    assert_eq!(step.action, "K8S-FIX-03");
    assert_eq!(
        step.commands[0].to_string(),
        "K8S DELETE Pod payments cache-1"
    );
    let mut backend = s
        .executor
        .open_backend_for(&step.action, &s.instance, &Default::default())
        .unwrap();
    let prepared = s.executor.prepare(backend.as_mut(), step).await.unwrap();
    assert!(
        s.api.object(Kind::Pod, "payments", "cache-1").is_some(),
        "the dry run deleted nothing"
    );
    s.executor
        .execute(backend.as_mut(), step, &Confirmation::default())
        .await
        .unwrap();
    assert!(s.api.object(Kind::Pod, "payments", "cache-1").is_none());
    let v = s
        .executor
        .verify(backend.as_mut(), step, &prepared)
        .await
        .unwrap();
    assert!(v.contains("gone"), "{v}");
    // One DELETE for the dry run (its DeleteOptions say dryRun: All), one for real.
    assert_eq!(
        s.api
            .requests()
            .iter()
            .filter(|r| r.starts_with("DELETE /api/v1/namespaces/payments/pods/cache-1"))
            .count(),
        2
    );

    let restart = KubeRepairs.build("K8S-FIX-01", &Map::new(), &ctx).unwrap();
    let prepared = s
        .executor
        .prepare(backend.as_mut(), &restart)
        .await
        .unwrap();
    s.executor
        .execute(
            backend.as_mut(),
            &restart,
            &Confirmation {
                typed_name: Some("payments/cache".into()),
            },
        )
        .await
        .unwrap();
    let set = s
        .api
        .object(Kind::StatefulSet, "payments", "cache")
        .unwrap();
    assert!(
        set["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
            .is_string(),
        "{set}"
    );
    s.executor
        .verify(backend.as_mut(), &restart, &prepared)
        .await
        .unwrap();
    assert!(prepared.rollback.is_empty() && prepared.rollback_text.contains("cannot"));
}

#[tokio::test]
async fn refused_in_a_read_only_context_in_another_context_and_where_rbac_says_no() {
    let s = setup(&["dev"]).await;
    let (step, mut backend) = s.step("K8S-FIX-03", &params(&[("pod", "cache-0")]));
    let r = s
        .executor
        .execute(backend.as_mut(), &step, &Confirmation::default())
        .await;
    assert!(
        matches!(&r, Err(RepairError::Refused(m)) if m.contains("read-only")),
        "{r:?}"
    );
    assert!(
        !s.api.requests().iter().any(|r| r.starts_with("DELETE")),
        "no write was sent"
    );

    let s = setup(&[]).await;
    s.executor.set_current_context(Some("prod".into()));
    let (step, mut backend) = s.step("K8S-FIX-03", &params(&[("pod", "cache-0")]));
    let r = s
        .executor
        .execute(backend.as_mut(), &step, &Confirmation::default())
        .await;
    assert!(
        matches!(&r, Err(RepairError::Refused(m)) if m.contains("context `dev`")),
        "{r:?}"
    );

    let s = setup(&[]).await;
    s.api.deny("patch", "statefulsets");
    let ctx = PlanContext::for_instance(&s.instance, &s.facts);
    let (step, mut backend) = s.step("K8S-FIX-02", &params(&[("replicas", "1")]));
    let e = s
        .executor
        .prepare(backend.as_mut(), &step)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("not allowed: patch statefulsets in payments"),
        "{e}"
    );
    assert!(
        !s.api.requests().iter().any(|r| r.starts_with("PATCH")),
        "nothing tried before the review said no"
    );
    assert!(
        KubeRepairs
            .build("K8S-FIX-03", &params(&[("pod", "web-1")]), &ctx)
            .unwrap_err()
            .contains("not a pod of this instance")
    );
}

#[tokio::test]
async fn the_ai_tools_describe_list_events_and_tail_logs_with_gets_only() {
    use kubestack_ai::kube::tools::KubeTools;
    use kubestack_ai::plugins::ToolRunner;
    let s = setup(&[]).await;
    s.api.apply(&obj::event(
        "payments",
        "Pod",
        "cache-1",
        "Warning",
        "BackOff",
        "Back-off restarting failed container",
    ));
    s.api.apply(&obj::event(
        "payments", "Pod", "web-1", "Warning", "BackOff", "not ours",
    ));
    let now = chrono::Utc::now();
    for n in 0..300 {
        s.api.log(
            "payments",
            "cache-1",
            now - chrono::Duration::seconds(300 - n),
            &format!("line {n}"),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    s.api.write_kubeconfig(&path, "dev", "payments").unwrap();
    let kube = load_from(&[path], None).unwrap();
    let found = cache_found();
    let before = s.api.requests().len();
    let mut tools = KubeTools::new(kube.kubeconfig.unwrap(), "dev", found);
    let names: Vec<String> = tools.specs().into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["k8s_describe", "k8s_events", "k8s_log_tail"]);
    let set = tools
        .call("k8s_describe", &serde_json::json!({}))
        .await
        .unwrap();
    assert!(
        set.contains("\"StatefulSet\"") && set.contains("\"replicas\": 3"),
        "{set}"
    );
    let pod = tools
        .call("k8s_describe", &serde_json::json!({"pod": "cache-1"}))
        .await
        .unwrap();
    assert!(
        pod.contains("CrashLoopBackOff") && pod.contains("\"restarts\": 9"),
        "{pod}"
    );
    let events = tools
        .call("k8s_events", &serde_json::json!({}))
        .await
        .unwrap();
    assert!(
        events.contains("Pod/cache-1 BackOff") && !events.contains("not ours"),
        "{events}"
    );
    let tail = tools
        .call(
            "k8s_log_tail",
            &serde_json::json!({"pod": "cache-1", "lines": 5000}),
        )
        .await
        .unwrap();
    assert_eq!(tail.lines().count(), 200, "bounded to 200 lines");
    assert!(tail.ends_with("line 299"));
    let other = tools
        .call("k8s_log_tail", &serde_json::json!({"pod": "web-1"}))
        .await
        .unwrap_err();
    assert!(other.contains("not a pod of this instance"), "{other}");
    let new: Vec<String> = s.api.requests().into_iter().skip(before).collect();
    assert!(
        new.iter().all(|r| r.starts_with("GET ")),
        "read-only: {new:?}"
    );
}
