//! Read-only means no mutating verb on the wire. A discovered Redis (password in a Secret,
//! port-forward to a real redis-server) is connected and every Kubernetes repair is walked in
//! the repair modal through the real loop — `r` on a finding and the chat's plan of all three
//! actions, each prepared, previewed and confirmed — in a context matched by
//! `safety.read_only_contexts`, in global read-only mode, and in suggest mode. The in-process
//! API server records every request: not one POST, PUT, PATCH or DELETE may be among them — no
//! server-side dry run, no SelfSubjectAccessReview (a POST of a review object), no write.

mod common;

use common::RedisServer;
use common::kube_app::{KubeApp, discovered, phase};
use crossterm::event::KeyCode;
use kubestack_ai::ai::plan::ProposedPlan;
use kubestack_ai::app::{AppState, ChatMessage, Health, PaneId, StepPhase};
use kubestack_ai::config::{KubeCredential, SafetyConfig, SafetyMode, SecretKeyRef};
use kubestack_ai::repair::{AuditEvent, Risk, verify_chain};
use kubestack_playground::kube_api::{Kind, KubeApi};
use kubestack_playground::kube_objects::{self as obj, PodHealth};

const PW: &str = "k8s-only-Pw-3391";

fn ready(p: &Option<StepPhase>) -> bool {
    matches!(p, Some(StepPhase::Ready | StepPhase::PrepareFailed(_)))
}

/// Waits for the step on screen to be prepared, checks its preview, confirms it (typing the
/// name of a dangerous step) and waits for the executor's refusal.
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
    assert!(
        !preview.contains("server dry run accepted"),
        "{}: {preview}",
        step.action
    );
    if step.risk == Risk::Dangerous {
        let name = step.target.instance.clone();
        app.keys(&name);
        app.key(KeyCode::Tab); // Apply
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

fn cache(state: &AppState) -> usize {
    discovered(state, "cache").unwrap()
}

async fn walk_every_kubernetes_repair(safety: SafetyConfig, why: &str) {
    let redis = RedisServer::start(&["--requirepass", PW]);
    let api = KubeApi::start_with(Some("t0ken")).await;
    let not_ready = |i| {
        if i == 2 {
            PodHealth::NotReady
        } else {
            PodHealth::Ready
        }
    };
    let to = ([127, 0, 0, 1], redis.port).into();
    obj::redis_statefulset(&api, "payments", "cache", not_ready, Some(to));
    api.apply(&obj::secret("payments", "cache-auth", "password", PW));
    let mut config = common::fast_config();
    config.collector.interval_secs = 0.3;
    config.safety = safety;
    config.kubernetes.credentials = vec![KubeCredential {
        password_secret: Some(SecretKeyRef {
            name: "cache-auth".into(),
            key: "password".into(),
            namespace: None,
        }),
        ..Default::default()
    }];
    let mut app = KubeApp::start(&api, config).await;
    app.until("the discovered instance", |s| {
        discovered(s, "cache").is_some()
    })
    .await;
    let i = cache(&app.state);
    // Connected: the Secret was read (a GET) and the forward carries the collector.
    app.until("a sample through the forward", |s| {
        s.instances[i].health == Health::Up
    })
    .await;

    // `r` on the not-ready pod's finding: delete that pod (K8S-FIX-03).
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

    // The chat's plan: rollout restart, scale, delete a pod — one step after the other.
    let plan: ProposedPlan = serde_json::from_str(
        r#"{"plan":[{"action":"K8S-FIX-01"},{"action":"K8S-FIX-02","params":{"replicas":5}},{"action":"K8S-FIX-03","params":{"pod":"cache-0"}}]}"#,
    )
    .unwrap();
    app.state.instances[i].chat.push(ChatMessage::plan(plan));
    app.state.focus = PaneId::Chat;
    app.keys("p");
    assert_eq!(app.state.repair().unwrap().plan.steps.len(), 3);
    let restart = prepare_and_confirm(&mut app, why).await;
    assert!(restart.contains("kind=StatefulSet name=cache"), "{restart}");
    app.key(KeyCode::Enter); // Next step
    let scale = prepare_and_confirm(&mut app, why).await;
    assert!(scale.contains("replicas 3 → 5"), "{scale}");
    app.key(KeyCode::Enter);
    let delete = prepare_and_confirm(&mut app, why).await;
    assert!(delete.contains("kind=Pod name=cache-0"), "{delete}");
    assert!(app.screen().contains("no server-side dry run was sent"));
    app.key(KeyCode::Esc);

    let reqs = api.requests();
    let mutating: Vec<&String> = reqs
        .iter()
        .filter(|r| {
            ["POST ", "PUT ", "PATCH ", "DELETE "]
                .iter()
                .any(|m| r.starts_with(m))
        })
        .collect();
    assert!(
        mutating.is_empty(),
        "mutating requests in a read-only context: {mutating:?}"
    );
    // What was read instead: the Secret, the forward, the objects the previews show.
    for wanted in [
        "GET /api/v1/namespaces/payments/secrets/cache-auth",
        "GET /apis/apps/v1/namespaces/payments/statefulsets/cache",
        "GET /api/v1/namespaces/payments/pods/cache-2",
        "GET /api/v1/namespaces/payments/pods/cache-0",
    ] {
        assert!(reqs.iter().any(|r| r == wanted), "no {wanted}: {reqs:?}");
    }
    assert!(reqs.iter().any(|r| r.contains("/portforward?")), "{reqs:?}");
    let set = api.object(Kind::StatefulSet, "payments", "cache").unwrap();
    assert_eq!(set["spec"]["replicas"], 3);
    assert!(set["spec"]["template"]["metadata"]["annotations"].is_null());
    for pod in ["cache-0", "cache-2"] {
        assert!(api.object(Kind::Pod, "payments", pod).is_some());
    }
    let refused = verify_chain(&app.audit)
        .unwrap()
        .into_iter()
        .filter(|r| r.event == AuditEvent::Refused)
        .count();
    assert_eq!(refused, 4, "each confirmation refused and audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_in_read_only_contexts_gets_no_dry_run_no_review_no_write() {
    walk_every_kubernetes_repair(
        SafetyConfig {
            mode: SafetyMode::Confirm,
            read_only_contexts: vec!["d?v".into()],
        },
        "context `dev` is read-only (safety.read_only_contexts)",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_read_only_mode_gets_no_dry_run_no_review_no_write() {
    walk_every_kubernetes_repair(
        SafetyConfig {
            mode: SafetyMode::ReadOnly,
            read_only_contexts: Vec::new(),
        },
        "read-only mode",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suggest_mode_previews_from_reads_only() {
    walk_every_kubernetes_repair(
        SafetyConfig {
            mode: SafetyMode::Suggest,
            read_only_contexts: Vec::new(),
        },
        "suggest mode",
    )
    .await;
}
