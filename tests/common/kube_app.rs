//! The terminal UI's loop over a cluster, without a terminal: the reducer (`AppState`), the real
//! `Controller` (watchers, port-forwards, Secret reads, the executor, the AI) against the
//! in-process API server or the real one (tests/common/kube_real.rs), keys in and events back until a condition holds.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use kubestack_ai::app::{AppEvent, AppState, build_state};
use kubestack_ai::config::AppConfig;
use kubestack_ai::keymap::Keymap;
use kubestack_ai::kube::{ContextState, load_from};
use kubestack_ai::repair::{AuditChain, Executor};
use kubestack_ai::runtime::{EffectHandler, Router};
use kubestack_ai::theme::Theme;
use kubestack_playground::kube_api::KubeApi;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The app on context `dev` (namespace `payments`) of `api`.
pub struct KubeApp {
    pub state: AppState,
    pub controller: Router,
    pub rx: mpsc::Receiver<AppEvent>,
    /// The executor's audit log.
    pub audit: std::path::PathBuf,
    _cancel: tokio_util::sync::DropGuard,
    _dirs: Vec<tempfile::TempDir>,
}

impl KubeApp {
    /// Starts the watchers of `dev` with `config` (its `[safety]` and `[kubernetes]` as given).
    pub async fn start(api: &KubeApi, config: AppConfig) -> KubeApp {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        api.write_kubeconfig(&path, "dev", "payments").unwrap();
        KubeApp::start_from(dir, &path, "dev", config).await
    }

    /// Starts the watchers of `context` (the current one of the kubeconfig at `path`, kept in
    /// `dir`) with `config`.
    pub async fn start_from(
        dir: tempfile::TempDir,
        path: &std::path::Path,
        context: &str,
        config: AppConfig,
    ) -> KubeApp {
        let kube = load_from(&[path.to_path_buf()], None).unwrap();
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
        // `[kubernetes] namespaces` as the interactive start applies it.
        for (context, namespaces) in &config.kubernetes.namespaces {
            state.kube.scopes.insert(
                context.clone(),
                kubestack_ai::kube::NamespaceScope::parse(&namespaces.join(",")),
            );
        }
        let audit = dir.path().join("audit.jsonl");
        let executor = Executor::new(
            kubestack_ai::plugins::registry::backends(),
            &config.safety,
            Arc::new(AuditChain::open(&audit).unwrap()),
        )
        .unwrap();
        executor.set_kubeconfig(kube.kubeconfig.clone());
        executor.set_current_context(kube.current.clone());
        state.safety = executor.policy();
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
        controller.watch_cluster(context, state.namespace_scope());
        KubeApp {
            state,
            controller,
            rx,
            audit,
            _cancel: cancel.drop_guard(),
            _dirs: vec![dir, data],
        }
    }

    /// Runs the loop (reducer + real controller) until `done` holds.
    pub async fn until(&mut self, what: &str, done: impl Fn(&AppState) -> bool) {
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

    /// Runs the loop (reducer + real controller) for `time`, whatever arrives.
    pub async fn run_for(&mut self, time: Duration) {
        let deadline = tokio::time::Instant::now() + time;
        while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            let (_, effects) = self.state.handle_event(ev);
            for e in effects {
                self.controller.handle(e, &self.state);
            }
        }
    }

    /// One key through the keymap, its effects to the controller.
    pub fn key(&mut self, code: KeyCode) {
        let event = AppEvent::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        let (_, effects) = self.state.handle_event(event);
        for e in effects {
            self.controller.handle(e, &self.state);
        }
    }

    /// Typed characters, one key each.
    pub fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// The screen at 160×44.
    pub fn screen(&self) -> String {
        let mut t = Terminal::new(TestBackend::new(160, 44)).unwrap();
        t.draw(|f| kubestack_ai::ui::draw(f, &self.state, &Theme::default()))
            .unwrap();
        super::buffer_text(t.backend().buffer())
    }
}

/// The index of the instance discovered from workload `name`.
pub fn discovered(state: &AppState, name: &str) -> Option<usize> {
    state
        .instances
        .iter()
        .position(|v| v.kube.as_ref().is_some_and(|b| b.found.name == name))
}

/// The phase of the repair step on screen.
pub fn phase(state: &AppState) -> Option<kubestack_ai::app::StepPhase> {
    state
        .repair()
        .and_then(|m| m.state().map(|s| s.phase.clone()))
}
