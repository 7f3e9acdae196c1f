//! `interactive`: wires producers (terminal input, signals, one supervisor per instance)
//! to the UI loop, and tears everything down on exit.

use std::sync::Arc;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::app::{AppEvent, Health, build_state, resume_sessions};
use crate::config::LoadedConfig;
use crate::keymap::Keymap;
use crate::plugins::plugin_for;
use crate::repair::audit::default_audit_path;
use crate::repair::{AuditChain, Executor};
use crate::runtime::{Router, RunOptions, run_event_loop};
use crate::services::collect::{SupervisorCommand, SupervisorTiming, supervise};
use crate::services::sessions::SessionStore;
use crate::theme::Theme;

/// Capacity of the inbound channel; producers wait when the UI falls behind.
const EVENT_QUEUE: usize = 1024;

/// Runs the terminal UI until the user quits or a signal arrives.
pub fn run(loaded: LoadedConfig, context: Option<&str>) -> Result<i32> {
    let LoadedConfig {
        config,
        paths,
        file_found,
    } = loaded;
    let log_guard = super::start_logging_paths(&paths.log_dir, &config.log_level);
    let (keymap, keymap_err) = Keymap::load(&paths.keymap_file);
    let (mut theme, theme_err) = Theme::load(&config.theme, &paths.themes_dir);
    theme.monochrome = !crate::tui::colour_allowed(true);
    let mut notices: Vec<String> = keymap_err.into_iter().chain(theme_err).collect();
    if let Err(e) = &log_guard {
        notices.push(e.clone());
    }
    if config.instances.is_empty() {
        notices.push(if file_found {
            format!("no [[instances]] in {}", paths.config_file.display())
        } else {
            "no config file: run `kubestack-ai init`".to_string()
        });
    }
    for n in &notices {
        tracing::warn!("{n}");
    }
    let rt = super::runtime()?;
    let context = context.map(str::to_string);
    let code = rt.block_on(async move {
        let (mut state, order) = build_state(&config, keymap, notices);
        let sessions = SessionStore::new(&paths.data_dir);
        resume_sessions(&mut state, &sessions);
        crate::ui::markdown::warm_up();
        let executor = Arc::new(open_executor(&config, &paths.data_dir, &mut state.notices));
        state.safety = executor.policy();
        // Kubernetes contexts: listed at once, each probed in the background.
        let kube = match crate::kube::load_contexts(context.as_deref()) {
            Ok(k) => k,
            Err(e) => {
                state.notices.push(e);
                // A wrong --context keeps the kubeconfig's contexts (and its current one).
                crate::kube::load_contexts(None).unwrap_or_default()
            }
        };
        state.kube.contexts = kube
            .contexts
            .iter()
            .map(|c| (c.clone(), crate::kube::ContextState::Connecting))
            .collect();
        state.kube.current = kube.current.clone();
        if !kube.contexts.is_empty() {
            // Instances will come from discovery in the current context.
            state.notices.retain(|n| !n.starts_with("no [[instances]]"));
        }
        // Each context starts where kubectl would, unless the config or the last `:ns` says
        // otherwise.
        state.kube.scopes = crate::kube::watch::initial_scopes(
            &kube.contexts,
            &config.kubernetes.namespaces,
            crate::kube::watch::load_scopes(&crate::kube::watch::scopes_path(&paths.data_dir)),
        );
        executor.set_current_context(kube.current.clone());
        executor.set_kubeconfig(kube.kubeconfig.clone());
        let (tx, mut rx) = mpsc::channel::<AppEvent>(EVENT_QUEUE);
        let cancel = CancellationToken::new();
        let timing = SupervisorTiming {
            interval: Duration::from_secs_f64(config.collector.interval_secs),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs_f64(config.collector.backoff_max_secs),
        };
        let mut tasks = Vec::new();
        let mut commands = Vec::new();
        for (view, &cfg_index) in order.iter().enumerate() {
            let instance = &config.instances[cfg_index];
            let (cmd_tx, cmd_rx) = mpsc::channel::<SupervisorCommand>(4);
            commands.push(cmd_tx);
            match plugin_for(instance.kind).collector(instance, &config) {
                Ok(collector) => tasks.push(tokio::spawn(supervise(
                    view,
                    collector,
                    tx.clone(),
                    cmd_rx,
                    timing,
                    cancel.clone(),
                ))),
                Err(e) => state.instances[view].apply_health(Health::Misconfigured {
                    error: e.to_string(),
                }),
            }
        }
        tasks.push(tokio::spawn(forward_terminal_input(
            tx.clone(),
            cancel.clone(),
        )));
        tasks.push(tokio::spawn(forward_signals(tx.clone(), cancel.clone())));
        // The services keep a sender for the results they send back into the loop.
        let tx_probe = tx.clone();
        let mut controller = Router::new(
            commands,
            config.clone(),
            tx,
            paths.data_dir.clone(),
            executor,
        )
        .with_kubeconfig(kube.kubeconfig.clone())
        .with_cancel(cancel.clone());
        for c in &kube.contexts {
            controller.probe_context(&c.name);
        }
        // The current context's cluster: watched from the start, in the namespaces configured.
        if let Some(current) = kube.current.clone() {
            let scope = state.namespace_scope();
            controller.watch_cluster(&current, scope);
        }
        // States go stale: every context is asked again twice a minute.
        if let Some(kubeconfig) = kube.kubeconfig.clone() {
            tasks.push(tokio::spawn(reprobe_contexts(
                kubeconfig,
                kube.contexts.iter().map(|c| c.name.clone()).collect(),
                crate::services::cluster::kube_timeout(&config.collector),
                tx_probe.clone(),
                cancel.clone(),
            )));
        }

        let mut terminal = crate::tui::init().wrap_err("cannot set up the terminal")?;
        if let Ok(spot) = std::env::var("KUBESTACK_TEST_PANIC") {
            // Fault injection for the terminal-restore tests (tests/pty_binary.rs).
            spawn_test_panic(&spot);
        }
        let size = terminal.size().map(|s| s.height).unwrap_or(24);
        state.rows = size;
        let options = RunOptions {
            max_fps: config.ui.max_fps,
        };
        let result = run_event_loop(
            &mut terminal,
            &mut state,
            &theme,
            &mut rx,
            &mut controller,
            options,
        )
        .await;
        cancel.cancel();
        drop(controller);
        let restored = crate::tui::restore();
        // Give tasks a moment to observe the cancellation; none of them holds the terminal.
        let _ =
            tokio::time::timeout(Duration::from_secs(2), futures::future::join_all(tasks)).await;
        let stats = result.wrap_err("drawing the screen failed")?;
        restored.wrap_err("cannot restore the terminal")?;
        tracing::info!(frames = stats.frames, events = stats.events, "UI closed");
        Ok::<i32, color_eyre::Report>(0)
    });
    drop(log_guard);
    code
}

/// Panics shortly after start — inside a spawned task (`task`) or on the UI thread (`main`
/// would need the loop; a task is the case tokio would otherwise swallow).
fn spawn_test_panic(spot: &str) {
    if spot == "task" {
        tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            panic!("injected test panic inside a background task");
        });
    }
}

/// Terminal input is one producer among others.
async fn forward_terminal_input(tx: mpsc::Sender<AppEvent>, cancel: CancellationToken) {
    let mut stream = crossterm::event::EventStream::new();
    loop {
        tokio::select! {
            ev = stream.next() => match ev {
                Some(Ok(ev)) => {
                    if tx.send(AppEvent::Input(ev)).await.is_err() {
                        return;
                    }
                }
                Some(Err(e)) => {
                    let _ = tx.send(AppEvent::Shutdown(format!("terminal input failed: {e}"))).await;
                    return;
                }
                None => return,
            },
            _ = cancel.cancelled() => return,
        }
    }
}

/// SIGTERM, SIGHUP and SIGINT (from `kill`; Ctrl-C in raw mode arrives as a key) end the UI
/// cleanly. The handlers are registered here, before anything is drawn — a spawned task might
/// run only after a busy worker frees up, and a signal before its registration would kill the
/// process with the terminal still raw.
fn forward_signals(
    tx: mpsc::Sender<AppEvent>,
    cancel: CancellationToken,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let registered = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        );
        async move {
            let (Ok(mut term), Ok(mut int), Ok(mut hup)) = registered else {
                tracing::warn!("cannot listen for signals");
                return;
            };
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
                _ = hup.recv() => "SIGHUP",
                _ = cancel.cancelled() => return,
            };
            tracing::info!("{name} received, shutting down");
            let _ = tx.send(AppEvent::Shutdown(name.to_string())).await;
        }
    }
    #[cfg(not(unix))]
    {
        async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => { let _ = tx.send(AppEvent::Shutdown("Ctrl-C".into())).await; }
                _ = cancel.cancelled() => {}
            }
        }
    }
}

/// The executor with its audit log; a log that cannot be opened is said on screen (and then
/// every write is refused, since none may run without an audit record).
fn open_executor(
    config: &crate::config::AppConfig,
    data_dir: &std::path::Path,
    notices: &mut Vec<String>,
) -> Executor {
    let path = default_audit_path(data_dir);
    let audit = match AuditChain::open(&path) {
        Ok(a) => a,
        Err(e) => {
            notices.push(format!("{e}: repairs are refused"));
            AuditChain::at(&path)
        }
    };
    if let Err(e) = audit.check_tail() {
        // First: the status bar shows the first notice, and this one matters most.
        notices.insert(0, format!("{e} — `kubestack-ai audit verify` says where"));
    }
    let audit = Arc::new(audit);
    match Executor::new(
        crate::plugins::registry::backends(),
        &config.safety,
        audit.clone(),
    ) {
        Ok(e) => e,
        Err(e) => {
            notices.push(format!("{e}; read-only mode"));
            let safety = crate::config::SafetyConfig {
                mode: crate::config::SafetyMode::ReadOnly,
                read_only_contexts: Vec::new(),
            };
            Executor::new(crate::plugins::registry::backends(), &safety, audit)
                .expect("no globs to parse")
        }
    }
}

/// Probes every context again every 30 seconds until shutdown.
async fn reprobe_contexts(
    kubeconfig: kube::config::Kubeconfig,
    names: Vec<String>,
    timeout: Duration,
    events: mpsc::Sender<AppEvent>,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
        for name in &names {
            let state = crate::kube::probe_context(kubeconfig.clone(), name, timeout).await;
            if events
                .send(AppEvent::Context {
                    name: name.clone(),
                    state,
                })
                .await
                .is_err()
            {
                return;
            }
        }
    }
}
