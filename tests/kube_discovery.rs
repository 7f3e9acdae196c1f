//! End to end: a Redis StatefulSet in a cluster (the in-process API server — no
//! kube-apiserver is installable here) is discovered by the watchers, shown under its
//! namespace with its pods' health, and — once selected — diagnosed through a port-forward
//! whose WebSocket stream the server carries to a real redis-server. The password comes from a
//! Secret named in the config and is never shown. When the forwarded pod dies, the next
//! connection goes to another ready pod.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{RedisServer, buffer_text, fast_config};
use kubestack_ai::app::{AppEvent, AppState, Health, build_state};
use kubestack_ai::app::{ClusterRequest, RepairEffect};
use kubestack_ai::config::{KubeCredential, SafetyMode, SecretKeyRef};
use kubestack_ai::keymap::Keymap;
use kubestack_ai::kube::{ContextState, load_from};
use kubestack_ai::runtime::{EffectHandler, Router};
use kubestack_ai::theme::Theme;
use kubestack_playground::kube_api::KubeApi;
use kubestack_playground::kube_objects::{self as obj, PodHealth};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const IMAGE: &str = "docker.io/bitnami/redis:7.2";

fn cluster(api: &KubeApi, redis: &RedisServer) {
    let not_ready = |i| {
        if i == 2 {
            PodHealth::NotReady
        } else {
            PodHealth::Ready
        }
    };
    let to = ([127, 0, 0, 1], redis.port).into();
    obj::redis_statefulset(api, "payments", "cache", not_ready, Some(to));
    api.apply(&obj::secret(
        "payments",
        "cache-auth",
        "password",
        "s3cret-from-k8s",
    ));
    api.apply(&obj::event(
        "payments",
        "Pod",
        "cache-2",
        "Warning",
        "Unhealthy",
        "Readiness probe failed: NOAUTH",
    ));
    let t = chrono::Utc::now() - chrono::Duration::seconds(3);
    api.log("payments", "cache-0", t, "Ready to accept connections tcp");
    api.log(
        "payments",
        "cache-1",
        t,
        "MASTER <-> REPLICA sync: Finished with success",
    );
    // Not middleware: never listed as an instance.
    api.apply(&obj::pod(
        "payments",
        "web-1",
        "nginx:1.27",
        80,
        &[("app", "web")],
        PodHealth::Ready,
    ));
}

struct Harness {
    state: AppState,
    controller: Router,
    rx: mpsc::Receiver<AppEvent>,
    _cancel: tokio_util::sync::DropGuard,
    _dirs: Vec<tempfile::TempDir>,
}

impl Harness {
    async fn start(api: &KubeApi) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        api.write_kubeconfig(&path, "dev", "payments").unwrap();
        let kube = load_from(&[path], None).unwrap();
        let mut config = fast_config();
        config.collector.interval_secs = 0.3;
        config.kubernetes.credentials = vec![KubeCredential {
            kind: Some(kubestack_ai::config::InstanceKind::REDIS),
            namespace: Some("pay*".into()),
            password_secret: Some(SecretKeyRef {
                name: "cache-auth".into(),
                key: "password".into(),
                namespace: None,
            }),
            ..Default::default()
        }];
        let (mut state, _) = build_state(&config, Keymap::builtin(), Vec::new());
        state.kube.contexts = kube
            .contexts
            .iter()
            .map(|c| {
                (
                    c.clone(),
                    ContextState::Up {
                        version: "v1.31.2".into(),
                    },
                )
            })
            .collect();
        state.kube.current = kube.current.clone();
        let (executor, audit_dir) = common::executor(SafetyMode::Confirm);
        executor.set_kubeconfig(kube.kubeconfig.clone());
        executor.set_current_context(kube.current.clone());
        let (tx, rx) = mpsc::channel(1024);
        let cancel = CancellationToken::new();
        let data = tempfile::tempdir().unwrap();
        let mut controller = Router::new(
            Vec::new(),
            config,
            tx,
            data.path().to_path_buf(),
            Arc::new(executor),
        )
        .with_kubeconfig(kube.kubeconfig.clone())
        .with_cancel(cancel.clone());
        controller.watch_cluster("dev", state.namespace_scope());
        Harness {
            state,
            controller,
            rx,
            _cancel: cancel.drop_guard(),
            _dirs: vec![dir, audit_dir, data],
        }
    }

    /// Runs the loop (reducer + real controller) until `done` holds.
    async fn until(&mut self, what: &str, done: impl Fn(&AppState) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !done(&self.state) {
            let ev = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
                .expect("channel open");
            let (_, effects) = self.state.handle_event(ev);
            for e in effects {
                self.controller.handle(e, &self.state);
            }
        }
    }

    fn screen(&self) -> String {
        let mut t = Terminal::new(TestBackend::new(160, 40)).unwrap();
        t.draw(|f| kubestack_ai::ui::draw(f, &self.state, &Theme::default()))
            .unwrap();
        buffer_text(t.backend().buffer())
    }
}

fn cache(state: &AppState) -> Option<usize> {
    state
        .instances
        .iter()
        .position(|v| v.kube.as_ref().is_some_and(|b| b.found.name == "cache"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_in_the_cluster_is_discovered_and_diagnosed_through_a_port_forward() {
    let redis = RedisServer::start(&["--requirepass", "s3cret-from-k8s"]);
    let api = KubeApi::start_with(Some("t0ken")).await;
    cluster(&api, &redis);
    let mut h = Harness::start(&api).await;

    // Discovered: one instance, selected (nothing else to select) and so connected.
    h.until("the discovered instance", |s| cache(s).is_some())
        .await;
    assert_eq!(h.state.instances.len(), 1, "only the Redis is an instance");
    let i = cache(&h.state).unwrap();
    h.until("a sample through the forward", |s| {
        s.instances[i].health == Health::Up
    })
    .await;
    let view = &h.state.instances[i];
    assert!(
        view.config.url.starts_with("redis://127.0.0.1:"),
        "{}",
        view.config.url
    );
    assert!(
        view.facts
            .version
            .as_deref()
            .is_some_and(|v| v.starts_with('7') || v.starts_with('6') || v.starts_with('8')),
        "{:?}",
        view.facts.version
    );
    assert_eq!(view.config.context.as_deref(), Some("dev"));
    let b = view.kube.as_ref().unwrap();
    assert_eq!((b.found.ready, b.found.pods.len()), (2, 3));
    assert!(
        b.forward.as_deref().unwrap().contains("→ cache-0"),
        "{:?}",
        b.forward
    );
    // Pod rules and Warning events are findings of the instance.
    let ids: Vec<&str> = view
        .findings
        .iter()
        .map(|f| f.finding.id.as_str())
        .collect();
    assert!(
        ids.contains(&"K8S-POD-03") && ids.contains(&"K8S-EVT-Unhealthy"),
        "{ids:?}"
    );

    // `r` on the not-ready finding: a Kubernetes step (delete that pod), prepared through the
    // real executor — the API server's dry run is in the preview, nothing is deleted yet.
    h.state.focus = kubestack_ai::app::PaneId::Findings;
    h.state.findings_selected = h.state.instances[i]
        .findings
        .iter()
        .position(|f| f.finding.id == "K8S-POD-03")
        .unwrap();
    let effects = h.state.apply(kubestack_ai::app::Action::Repair);
    let prepare = effects.iter().find_map(|e| match e {
        kubestack_ai::app::Effect::Repair(RepairEffect::Prepare { step, .. }) => Some(step.clone()),
        _ => None,
    });
    let step = prepare.expect("a prepared step");
    assert_eq!(
        step.commands[0].to_string(),
        "K8S DELETE Pod payments cache-2"
    );
    assert_eq!(step.target.context.as_deref(), Some("dev"));
    for e in effects {
        h.controller.handle(e, &h.state);
    }
    h.until("the preview", |s| {
        s.repair()
            .and_then(|m| m.steps[0].prepared.as_ref())
            .is_some_and(|p| p.preview.contains("server dry run accepted"))
    })
    .await;
    assert!(
        api.object(
            kubestack_playground::kube_api::Kind::Pod,
            "payments",
            "cache-2"
        )
        .is_some()
    );
    h.state.apply(kubestack_ai::app::Action::Close);

    // The server saw the Secret read, the access reviews and the forward to a ready pod.
    let reqs = api.requests();
    assert!(
        reqs.iter()
            .any(|r| r == "GET /api/v1/namespaces/payments/secrets/cache-auth"),
        "{reqs:?}"
    );
    assert!(
        reqs.iter()
            .any(|r| r.starts_with("POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews"))
    );
    assert!(
        reqs.iter().any(|r| r
            .starts_with("GET /api/v1/namespaces/payments/pods/cache-0/portforward?")
            && r.contains("6379")),
        "{reqs:?}"
    );

    // Its pods' logs stream into its logs pane, one source per pod.
    h.until("both pods' log lines", |s| {
        let sources: Vec<String> = s.instances[i]
            .logs
            .iter()
            .map(|l| l.source.to_string())
            .collect();
        sources.iter().any(|x| x.ends_with("/cache-0"))
            && sources.iter().any(|x| x.ends_with("/cache-1"))
    })
    .await;
    assert!(
        api.requests()
            .iter()
            .any(|r| r.contains("/pods/cache-1/log?") && r.contains("tailLines=200"))
    );

    // On screen: context → namespace → instance with pod health; the password nowhere.
    let screen = h.screen();
    assert!(screen.contains("▾ ns payments"), "{screen}");
    assert!(screen.contains("cache 2/3"), "{screen}");
    assert!(!screen.contains("s3cret"), "{screen}");
    assert!(!format!("{:?}", h.state.instances[i].config).contains("s3cret"));

    // The forwarded pod dies: its stream is cut and it is no longer ready. The collector's next
    // connection goes to another ready pod.
    api.apply(&obj::statefulset_pod(
        "payments",
        "cache",
        "redis",
        IMAGE,
        6379,
        0,
        PodHealth::CrashLoop {
            restarts: 1,
            oom: false,
        },
    ));
    api.drop_streams();
    h.until("the forward on another pod", |s| {
        s.instances[i]
            .kube
            .as_ref()
            .and_then(|b| b.forward.as_deref())
            .is_some_and(|f| f.contains("→ cache-1"))
    })
    .await;
    h.until("samples again", |s| s.instances[i].health == Health::Up)
        .await;
    assert!(
        api.requests()
            .iter()
            .any(|r| r.contains("/pods/cache-1/portforward"))
    );
}

fn palette(state: &mut AppState, command: &str) -> Vec<kubestack_ai::app::Effect> {
    state.apply(kubestack_ai::app::Action::OpenPalette);
    if let kubestack_ai::app::Mode::Palette(palette) = &mut state.mode {
        palette.query = command.to_string();
    }
    state.apply(kubestack_ai::app::Action::Submit)
}

#[tokio::test]
async fn logs_and_namespaces_commands() {
    use kubestack_ai::app::Effect;
    use kubestack_ai::kube::NamespaceScope;
    let redis = RedisServer::start(&[]);
    let api = KubeApi::start().await;
    cluster(&api, &redis);
    api.apply(&obj::statefulset(
        "orders",
        "db",
        "mariadb",
        "mariadb:10.11",
        3306,
        1,
    ));
    let mut h = Harness::start(&api).await;
    h.until("both instances", |s| s.instances.len() == 2).await;
    let i = cache(&h.state).unwrap();
    h.state.selected = i;

    // Options set before the instance is connected are kept for when it is.
    assert!(palette(&mut h.state, "logs since 5m tail 50").is_empty());
    // Enter opens the selected instance: it connects at once (other keys only start the
    // cursor's rest timer, see tests/kube_attach.rs).
    let key = crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Enter,
        crossterm::event::KeyModifiers::NONE,
    );
    let (_, e) = h
        .state
        .handle_event(AppEvent::Input(crossterm::event::Event::Key(key)));
    assert!(
        matches!(
            e.first(),
            Some(Effect::Cluster(ClusterRequest::Attach { .. }))
        ),
        "{e:?}"
    );
    let Some(Effect::Cluster(ClusterRequest::PodLogs {
        pods,
        options,
        namespace,
        ..
    })) = e.get(1)
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (options.since_seconds, options.tail_lines),
        (Some(300), Some(50))
    );
    assert_eq!((namespace.as_str(), pods.len()), ("payments", 3));
    // Once connected, stream options restart the instance's streams.
    let e = palette(&mut h.state, "logs pod cache-1 previous");
    assert!(
        matches!(e.first(), Some(Effect::Cluster(ClusterRequest::PodLogs { pods, options, .. })) if pods == &["cache-1".to_string()] && options.previous)
    );
    assert!(palette(&mut h.state, "logs pod cache-9").is_empty());
    assert!(
        h.state
            .notices
            .iter()
            .any(|n| n.contains("no pod `cache-9`")),
        "{:?}",
        h.state.notices
    );
    assert!(palette(&mut h.state, "logs timestamps").is_empty());
    assert!(!h.state.log_display.timestamps);

    // `:ns orders`: only that namespace is watched and shown; remembered for the context.
    let e = palette(&mut h.state, "ns orders");
    assert_eq!(
        e,
        vec![Effect::Cluster(ClusterRequest::Watch {
            context: "dev".into(),
            scope: NamespaceScope::parse("orders")
        })]
    );
    assert_eq!(h.state.visible_instances().len(), 1);
    assert_eq!(
        h.state.instances[h.state.visible_instances()[0]]
            .config
            .name,
        "orders/db"
    );
    assert_eq!(
        h.state.kube.scopes.get("dev"),
        Some(&NamespaceScope::parse("orders"))
    );
    let screen = h.screen();
    assert!(screen.contains("ns orders · listing…"), "{screen}");
    let e = palette(&mut h.state, "ns all");
    assert_eq!(
        e,
        vec![Effect::Cluster(ClusterRequest::Watch {
            context: "dev".into(),
            scope: NamespaceScope::All
        })]
    );
    assert_eq!(h.state.visible_instances().len(), 2);
}

#[tokio::test]
async fn a_forward_the_credentials_may_not_open_is_said_before_trying() {
    let redis = RedisServer::start(&[]);
    let api = KubeApi::start().await;
    cluster(&api, &redis);
    api.deny("create", "pods/portforward");
    let mut h = Harness::start(&api).await;
    h.until("the discovered instance", |s| cache(s).is_some())
        .await;
    let i = cache(&h.state).unwrap();
    h.until("the refusal", |s| {
        s.instances[i]
            .kube
            .as_ref()
            .and_then(|b| b.forward.as_deref())
            .is_some_and(|f| f.starts_with("not connected"))
    })
    .await;
    let f = h.state.instances[i]
        .kube
        .as_ref()
        .unwrap()
        .forward
        .clone()
        .unwrap();
    assert!(
        f.contains("not allowed: create pods/portforward in payments"),
        "{f}"
    );
    assert!(
        !api.requests().iter().any(|r| r.contains("/portforward")),
        "no forward was attempted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_context_disconnects_the_instances_of_the_old_one() {
    use kubestack_ai::app::Effect;
    let redis = RedisServer::start(&["--requirepass", "s3cret-from-k8s"]);
    let api = KubeApi::start().await;
    cluster(&api, &redis);
    let mut h = Harness::start(&api).await;
    // A second context on the same cluster.
    let mut prod = h.state.kube.contexts[0].clone();
    prod.0.name = "prod-eu".into();
    h.state.kube.contexts.push(prod);
    h.until("a sample through the forward", |s| {
        cache(s).is_some_and(|i| s.instances[i].health == Health::Up)
    })
    .await;
    let i = cache(&h.state).unwrap();
    let url = url::Url::parse(&h.state.instances[i].config.url).unwrap();
    let local = format!("127.0.0.1:{}", url.port().unwrap());
    assert!(
        std::net::TcpStream::connect(&local).is_ok(),
        "the forward listens"
    );

    let effects = palette(&mut h.state, "ctx prod-eu");
    assert!(
        effects.contains(&Effect::Cluster(ClusterRequest::Detach { instance: i })),
        "{effects:?}"
    );
    assert!(!h.state.instances[i].kube.as_ref().unwrap().attached);
    for e in effects {
        h.controller.handle(e, &h.state);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(&local).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the forward still listens after the switch"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
