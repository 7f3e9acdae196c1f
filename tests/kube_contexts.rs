//! Kubernetes contexts (the first part of the Kubernetes issue): kubeconfig files merged as
//! kubectl merges them, `--context`, each context probed against an API server without blocking,
//! and `:ctx` switching the executor's context so a plan made in another one is refused.
//!
//! No kube-apiserver can be installed here: the API server is an in-process HTTP server that
//! serves `/version` as the k8s-openapi `Info` object (the only call a probe makes).

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::fixtures::sample_state;
use k8s_openapi::apimachinery::pkg::version::Info;
use kubestack_ai::app::ClusterRequest;
use kubestack_ai::app::{Action, AppState, Effect, KubeView};
use kubestack_ai::kube::{ContextState, load_from, probe_context};
use kubestack_ai::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An API server that answers `GET /version` (and 404 for anything else).
async fn api_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let info = Info {
        major: "1".into(),
        minor: "31".into(),
        git_version: "v1.31.2".into(),
        git_commit: "5864a4677267e6adeae276ad85882a8714d69d9d".into(),
        git_tree_state: "clean".into(),
        build_date: "2024-10-22T20:28:14Z".into(),
        go_version: "go1.22.8".into(),
        compiler: "gc".into(),
        platform: "linux/amd64".into(),
        ..Default::default()
    };
    let body = serde_json::to_string(&info).unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let Ok(n) = sock.read(&mut buf).await else {
                    return;
                };
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let reply = if head.starts_with("GET /version") {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        .to_string()
                };
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    port
}

fn kubeconfig(
    dir: &std::path::Path,
    file: &str,
    current: &str,
    contexts: &[(&str, &str)],
) -> PathBuf {
    let mut y = format!("apiVersion: v1\nkind: Config\ncurrent-context: {current}\nclusters:\n");
    for (name, server) in contexts {
        y.push_str(&format!(
            "- name: {name}-cluster\n  cluster:\n    server: {server}\n"
        ));
    }
    y.push_str("contexts:\n");
    for (name, _) in contexts {
        y.push_str(&format!("- name: {name}\n  context:\n    cluster: {name}-cluster\n    user: {name}-user\n    namespace: payments\n"));
    }
    y.push_str("users:\n");
    for (name, _) in contexts {
        y.push_str(&format!(
            "- name: {name}-user\n  user:\n    token: not-a-real-token\n"
        ));
    }
    let path = dir.join(file);
    std::fs::write(&path, y).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_files_merge_contexts_are_probed_without_blocking_and_switching_pins_the_executor()
 {
    let port = api_server().await;
    let (_reserved, dead) = common::closed_port();
    let dir = tempfile::tempdir().unwrap();
    let first = kubeconfig(
        dir.path(),
        "a.yaml",
        "dev",
        &[("dev", &format!("http://127.0.0.1:{port}"))],
    );
    let second = kubeconfig(
        dir.path(),
        "b.yaml",
        "prod-eu",
        &[("prod-eu", &format!("http://127.0.0.1:{dead}"))],
    );

    // Merged in order; the first file's current-context wins (kubectl's rule).
    let k = load_from(&[first.clone(), second.clone()], None).unwrap();
    let names: Vec<&str> = k.contexts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["dev", "prod-eu"]);
    assert_eq!(k.current.as_deref(), Some("dev"));
    assert_eq!(k.contexts[0].namespace.as_deref(), Some("payments"));
    assert_eq!(
        load_from(&[first.clone(), second.clone()], Some("prod-eu"))
            .unwrap()
            .current
            .as_deref(),
        Some("prod-eu")
    );
    let err = load_from(std::slice::from_ref(&first), Some("staging")).unwrap_err();
    assert!(
        err.contains("no such context") && err.contains("dev"),
        "{err}"
    );
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "contexts: [::").unwrap();
    let err = load_from(std::slice::from_ref(&broken), None).unwrap_err();
    assert!(err.contains("broken.yaml"), "{err}");
    assert!(
        load_from(&[], None).unwrap().contexts.is_empty(),
        "no kubeconfig is not an error"
    );

    // Probes: the live one reports its version, the dead one is down with the reason — both
    // within the timeout, concurrently.
    let kc = k.kubeconfig.clone().unwrap();
    let started = std::time::Instant::now();
    let (up, down) = tokio::join!(
        probe_context(kc.clone(), "dev", Duration::from_secs(2)),
        probe_context(kc.clone(), "prod-eu", Duration::from_secs(2)),
    );
    assert_eq!(
        up,
        ContextState::Up {
            version: "v1.31.2".into()
        }
    );
    assert!(
        matches!(&down, ContextState::Down { error } if !error.is_empty()),
        "{down:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));

    // The app: contexts in the inventory, `:ctx` switching, the executor told.
    let mut state: AppState = sample_state(5);
    state.kube = KubeView {
        contexts: k
            .contexts
            .iter()
            .map(|c| (c.clone(), ContextState::Connecting))
            .collect(),
        current: k.current.clone(),
        ..KubeView::default()
    };
    state.safety = kubestack_ai::repair::SafetyPolicy::new(&kubestack_ai::config::SafetyConfig {
        mode: kubestack_ai::config::SafetyMode::Confirm,
        read_only_contexts: vec!["prod-*".into()],
    })
    .unwrap();
    state.handle_event(kubestack_ai::app::AppEvent::Context {
        name: "dev".into(),
        state: up,
    });
    state.handle_event(kubestack_ai::app::AppEvent::Context {
        name: "prod-eu".into(),
        state: down,
    });
    let screen = render(&state);
    assert!(screen.contains("▸ dev · v1.31.2"), "{screen}");
    assert!(screen.contains("prod-eu RO · down:"), "{screen}");
    assert!(screen.contains("ctx dev · v1.31.2"), "status bar\n{screen}");

    let effects = palette(&mut state, "ctx prod-eu");
    assert_eq!(
        effects,
        vec![
            Effect::Cluster(ClusterRequest::SwitchContext {
                name: "prod-eu".into()
            }),
            // The new context's cluster is watched, in the namespaces remembered for it.
            Effect::Cluster(ClusterRequest::Watch {
                context: "prod-eu".into(),
                scope: kubestack_ai::kube::NamespaceScope::All,
            })
        ]
    );
    assert_eq!(state.kube.current.as_deref(), Some("prod-eu"));
    assert!(
        render(&state).contains("ctx prod-eu (read-only)"),
        "{}",
        render(&state)
    );
    assert!(palette(&mut state, "ctx staging").is_empty());
    assert!(
        state
            .notices
            .iter()
            .any(|n| n.contains("no context `staging`")),
        "{:?}",
        state.notices
    );

    // The controller tells the executor: a plan made in `dev` is refused in `prod-eu` now.
    let audit_dir = tempfile::tempdir().unwrap();
    let executor = Arc::new(
        kubestack_ai::repair::Executor::new(
            kubestack_ai::plugins::registry::backends(),
            &Default::default(),
            Arc::new(
                kubestack_ai::repair::AuditChain::open(&audit_dir.path().join("a.jsonl")).unwrap(),
            ),
        )
        .unwrap(),
    );
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let mut controller = kubestack_ai::runtime::Router::new(
        Vec::new(),
        common::fast_config(),
        tx,
        audit_dir.path().to_path_buf(),
        executor.clone(),
    )
    .with_kubeconfig(Some(kc));
    use kubestack_ai::runtime::EffectHandler;
    controller.handle(
        Effect::Cluster(ClusterRequest::SwitchContext {
            name: "prod-eu".into(),
        }),
        &state,
    );
    assert_eq!(executor.current_context().as_deref(), Some("prod-eu"));
    let probed = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(probed, kubestack_ai::app::AppEvent::Context { ref name, state: ContextState::Down { .. } } if name == "prod-eu"),
        "{probed:?}"
    );
}

fn palette(state: &mut AppState, command: &str) -> Vec<Effect> {
    state.apply(Action::OpenPalette);
    if let kubestack_ai::app::Mode::Palette(palette) = &mut state.mode {
        palette.query = command.to_string();
    }
    state.apply(Action::Submit)
}

fn render(state: &AppState) -> String {
    let theme = Theme::builtin("dark").unwrap();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    terminal
        .draw(|f| kubestack_ai::ui::draw(f, state, &theme))
        .unwrap();
    common::buffer_text(terminal.backend().buffer())
}
