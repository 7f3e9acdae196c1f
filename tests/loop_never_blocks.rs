//! The event loop's thread never waits on a disk or a credential plugin: the controller's
//! effects return at once while the audit log is held locked by another program, and Kubernetes
//! repair steps whose kubeconfig runs a slow exec credential plugin leave the UI's runtime free.
//! Each test fails on code that does the work where the effect is handled.

use std::sync::Arc;
use std::time::Duration;

use kubestack_ai::app::{AppEvent, Effect, build_state};
use kubestack_ai::app::{FileEffect, RepairEffect};
use kubestack_ai::config::{AppConfig, InstanceConfig, InstanceKind, SafetyMode};
use kubestack_ai::keymap::Keymap;
use kubestack_ai::kube::load_from;
use kubestack_ai::kube::repairs::{FACT_NAMESPACE, FACT_PODS, FACT_WORKLOAD, KubeRepairs};
use kubestack_ai::plugins::InstanceFacts;
use kubestack_ai::repair::catalog::{PlanContext, RepairCatalog};
use kubestack_ai::repair::{AuditChain, AuditEvent, Executor, RepairPlan, verify_chain};
use kubestack_ai::runtime::{EffectHandler, Router};
use kubestack_playground::kube_api::KubeApi;
use kubestack_playground::kube_objects::{self as obj, PodHealth};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

fn instance() -> InstanceConfig {
    InstanceConfig {
        context: Some("dev".into()),
        ..InstanceConfig::new("payments/缓存", InstanceKind::REDIS, "redis://127.0.0.1:1")
    }
}

fn k8s_step(action: &str, params: &[(&str, &str)]) -> kubestack_ai::repair::RepairStep {
    let facts = InstanceFacts {
        extra: vec![
            (FACT_NAMESPACE.into(), "payments".into()),
            (FACT_WORKLOAD.into(), "StatefulSet/cache".into()),
            (FACT_PODS.into(), "cache-0,cache-1".into()),
        ],
        ..Default::default()
    };
    let params: Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    let inst = instance();
    KubeRepairs
        .build(action, &params, &PlanContext::for_instance(&inst, &facts))
        .unwrap()
}

struct App {
    controller: Router,
    state: kubestack_ai::app::AppState,
    rx: mpsc::Receiver<AppEvent>,
    audit: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn app(kubeconfig: Option<kube::config::Kubeconfig>) -> App {
    let dir = tempfile::tempdir().unwrap();
    let config = AppConfig {
        instances: vec![instance()],
        ..AppConfig::default()
    };
    let (state, _) = build_state(&config, Keymap::builtin(), Vec::new());
    let audit = dir.path().join("audit.jsonl");
    let executor = Executor::new(
        kubestack_ai::plugins::registry::backends(),
        &config.safety,
        Arc::new(AuditChain::open(&audit).unwrap()),
    )
    .unwrap();
    executor.set_kubeconfig(kubeconfig.clone());
    executor.set_current_context(Some("dev".into()));
    let (tx, rx) = mpsc::channel(64);
    let controller = Router::new(
        Vec::new(),
        config,
        tx,
        dir.path().join("data"),
        Arc::new(executor),
    )
    .with_kubeconfig(kubeconfig);
    App {
        controller,
        state,
        rx,
        audit,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_audit_log_never_stalls_the_loop() {
    let App {
        mut controller,
        state,
        mut rx,
        audit,
        _dir,
    } = app(None);
    // Another program holds the audit log's lock (as `fix` does while it appends).
    let holder = std::fs::File::open(&audit).unwrap();
    holder.lock().unwrap();

    let step = k8s_step("K8S-FIX-02", &[("replicas", "3")]);
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let handler = std::thread::spawn(move || {
        // What the loop does when the modal opens, a step is skipped, the mode changes, the
        // chat is saved and a report exported.
        for effect in [
            Effect::Repair(RepairEffect::Propose {
                plan: RepairPlan {
                    steps: vec![step.clone()],
                    manual: Vec::new(),
                },
            }),
            Effect::Repair(RepairEffect::Skip { step: step.clone() }),
            Effect::Repair(RepairEffect::SetMode {
                mode: SafetyMode::ReadOnly,
                reason: "audit".into(),
            }),
            Effect::Files(FileEffect::SaveChat(0)),
            Effect::Files(FileEffect::Export {
                instance: 0,
                path: None,
            }),
        ] {
            controller.handle(effect, &state);
        }
        done_tx.send(()).unwrap();
        (controller, state)
    });
    let returned = done_rx.recv_timeout(Duration::from_secs(10));
    assert!(
        returned.is_ok(),
        "the loop's thread waited for the audit log's lock"
    );
    assert_eq!(std::fs::metadata(&audit).unwrap().len(), 0);

    // Once the lock is released, everything is recorded, in the order it was asked for.
    holder.unlock().unwrap();
    let mode = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Some(AppEvent::Repair(kubestack_ai::app::RepairEvent::ModeChanged(r))) =
                rx.recv().await
            {
                return r;
            }
        }
    })
    .await
    .expect("the mode change comes back as an event");
    assert_eq!(mode, Ok(SafetyMode::ReadOnly));
    let events: Vec<AuditEvent> = verify_chain(&audit)
        .unwrap()
        .into_iter()
        .map(|r| r.event)
        .collect();
    assert_eq!(
        events,
        vec![
            AuditEvent::Proposed,
            AuditEvent::Skipped,
            AuditEvent::ModeChanged
        ]
    );
    drop(handler.join().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_exec_credential_plugin_never_holds_the_uis_runtime() {
    let api = KubeApi::start().await;
    obj::redis_statefulset(&api, "payments", "cache", |_| PodHealth::Ready, None);
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("plugin-ran");
    // An exec credential plugin that takes its time (an SSO login, a slow cloud CLI).
    let credential = r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"t"}}"#;
    let script = format!(
        "touch '{}'; sleep 12; echo '{credential}'",
        marker.display()
    );
    let yaml = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: dev\nclusters:\n- name: dev\n  cluster:\n    server: {}\ncontexts:\n- name: dev\n  context:\n    cluster: dev\n    user: dev\n    namespace: payments\nusers:\n- name: dev\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: /bin/sh\n      args: [\"-c\", {}]\n      interactiveMode: Never\n",
        api.url(),
        serde_json::to_string(&script).unwrap()
    );
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, yaml).unwrap();
    let kube = load_from(&[path], None).unwrap();
    let App {
        mut controller,
        state,
        _dir,
        ..
    } = app(kube.kubeconfig.clone());

    // Two Kubernetes steps prepared at once: on the UI's two workers, both would block.
    for index in 0..2 {
        controller.handle(
            Effect::Repair(RepairEffect::Prepare {
                instance: 0,
                index,
                step: k8s_step("K8S-FIX-02", &[("replicas", "3")]),
            }),
            &state,
        );
    }
    // Wait until a plugin is really running, then ask the runtime for a trivial task.
    // (This thread is the test's own, not one of the runtime's workers.)
    let started = std::time::Instant::now();
    while !marker.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the exec credential plugin was never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Measured on this thread's clock: the runtime's own timers stop with its workers.
    let (tx, rx) = std::sync::mpsc::channel();
    tokio::spawn(async move { tx.send(42) });
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)),
        Ok(42),
        "the UI's runtime was held by the exec credential plugin"
    );
}
