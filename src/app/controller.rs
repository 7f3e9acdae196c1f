//! Carries out the reducer's effects in the real program: reconnects, questions to the AI
//! (one at a time, cancellable), clipboard copies.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use super::event::{AppEvent, Health};
use super::repair_modal::RepairEvent;
use super::runtime::EffectHandler;
use super::session::{SessionStore, default_report_path, incident_report, write_private};
use super::state::{AppState, Effect};
use super::supervisor::SupervisorCommand;
use super::{ChatRole, InstanceView};
use crate::ai::agent::{AskJob, ChatEvent, run_ask};
use crate::ai::context::{ContextExtras, build_context};
use crate::ai::offline::offline_analysis;
use crate::ai::provider::{Turn, TurnRole, api_key};
use crate::ai::redact::{RedactionPolicy, Redactor};
use crate::config::{AppConfig, InstanceConfig};
use crate::plugins::plugin_for;
use crate::repair::{Executor, PreparedStep, RepairError, WriteBackend};

/// The effect handler of the interactive program.
pub struct Controller {
    supervisors: Vec<mpsc::Sender<SupervisorCommand>>,
    config: AppConfig,
    events: mpsc::Sender<AppEvent>,
    redactor: Arc<Mutex<Redactor>>,
    /// Cancels the question being answered (it runs on a thread of its own).
    ask: Option<tokio_util::sync::CancellationToken>,
    /// Audit appends, chat saves and exports: in order, never on the loop's thread.
    io: super::io_worker::IoWorker,
    data_dir: PathBuf,
    sessions: SessionStore,
    executor: Arc<Executor>,
    /// The merged kubeconfig, for context probes (`None`: no kubeconfig).
    kubeconfig: Option<kube::config::Kubeconfig>,
    /// Cancels every task the controller started (watchers, forwards, their supervisors).
    cancel: tokio_util::sync::CancellationToken,
    /// The current context's watchers.
    watch: Option<tokio_util::sync::CancellationToken>,
    /// Pod log streams of discovered instances, by instance index.
    logs: std::collections::HashMap<usize, tokio_util::sync::CancellationToken>,
    /// What stops each connected discovered instance (forward, supervisor).
    attach_tokens: std::collections::HashMap<usize, tokio_util::sync::CancellationToken>,
    /// Supervisors of discovered instances, by instance index.
    attached: std::collections::HashMap<usize, mpsc::Sender<SupervisorCommand>>,
    /// The release guard of each connected discovered instance's attachment (its tasks hold
    /// clones; see `ReleaseGuard`).
    releases: std::collections::HashMap<usize, Arc<super::cluster_tasks::ReleaseGuard>>,
    /// The cursor's rest timer (one at a time: a newer one replaces it).
    attach_timer: Option<tokio::task::JoinHandle<()>>,
}

impl Controller {
    /// A controller; the redactor learns every configured password and API key up front.
    pub fn new(
        supervisors: Vec<mpsc::Sender<SupervisorCommand>>,
        config: AppConfig,
        events: mpsc::Sender<AppEvent>,
        data_dir: PathBuf,
        executor: Arc<Executor>,
    ) -> Self {
        let mut redactor = Redactor::new(RedactionPolicy {
            key_values: config.ai.redact_key_values,
            sql_literals: config.ai.redact_sql_literals,
        });
        for inst in &config.instances {
            redactor.add_instance_secrets(inst);
        }
        for p in config.ai.profiles.values() {
            if let Ok(Some(key)) = api_key(p) {
                redactor.add_known_secret(&key, "api_key");
            }
        }
        Controller {
            supervisors,
            config,
            events,
            redactor: Arc::new(Mutex::new(redactor)),
            ask: None,
            io: super::io_worker::IoWorker::start(),
            sessions: SessionStore::new(&data_dir),
            data_dir,
            executor,
            kubeconfig: None,
            cancel: tokio_util::sync::CancellationToken::new(),
            watch: None,
            logs: std::collections::HashMap::new(),
            attach_tokens: std::collections::HashMap::new(),
            attached: std::collections::HashMap::new(),
            releases: std::collections::HashMap::new(),
            attach_timer: None,
        }
    }

    /// Discovered instances whose port-forward and collector are running (or starting).
    pub fn attached_count(&self) -> usize {
        self.attach_tokens.len()
    }

    /// Tasks the controller starts stop with `cancel` (the program's shutdown token).
    pub fn with_cancel(mut self, cancel: tokio_util::sync::CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// (Re)starts the watchers of `context`'s cluster for `scope`; the previous ones stop.
    pub fn watch_cluster(&mut self, context: &str, scope: crate::kube::NamespaceScope) {
        if let Some(old) = self.watch.take() {
            old.cancel();
        }
        let Some(kubeconfig) = self.kubeconfig.clone() else {
            return;
        };
        let token = self.cancel.child_token();
        self.watch = Some(token.clone());
        let timeout =
            std::time::Duration::from_millis(self.config.collector.connect_timeout_ms.max(1000));
        super::cluster_tasks::spawn_isolated(
            "watch",
            super::cluster_tasks::watch_cluster(
                kubeconfig,
                context.to_string(),
                scope,
                timeout,
                self.events.clone(),
                token,
            ),
        );
    }

    fn attach(
        &mut self,
        instance: usize,
        context: String,
        found: crate::kube::Discovered,
        config: InstanceConfig,
    ) {
        // Created first: however this attachment ends, its release reaches the loop.
        let guard = Arc::new(super::cluster_tasks::ReleaseGuard {
            instance,
            events: self.events.clone(),
        });
        self.releases.insert(instance, guard.clone());
        let Some(kubeconfig) = self.kubeconfig.clone() else {
            return;
        };
        // No access review (a POST) where the context gets no mutating request at all.
        let access_reviews = self
            .executor
            .withholds_mutating_requests(Some(&context))
            .is_none();
        let (tx, commands) = mpsc::channel::<SupervisorCommand>(4);
        self.attached.insert(instance, tx);
        let token = self.cancel.child_token();
        if let Some(old) = self.attach_tokens.insert(instance, token.clone()) {
            old.cancel();
        }
        let c = &self.config.collector;
        let timing = super::supervisor::SupervisorTiming {
            interval: std::time::Duration::from_secs_f64(c.interval_secs),
            backoff_base: std::time::Duration::from_secs(1),
            backoff_max: std::time::Duration::from_secs_f64(c.backoff_max_secs),
        };
        super::cluster_tasks::spawn_isolated_until(
            "attach",
            super::cluster_tasks::attach(super::cluster_tasks::AttachJob {
                instance,
                context,
                found,
                config,
                kubeconfig,
                app: self.config.clone(),
                events: self.events.clone(),
                redactor: self.redactor.clone(),
                commands,
                timing,
                cancel: token,
                access_reviews,
            }),
            Some(guard),
        );
    }

    /// The kubeconfig the context probes use.
    pub fn with_kubeconfig(mut self, kubeconfig: Option<kube::config::Kubeconfig>) -> Self {
        self.kubeconfig = kubeconfig;
        self
    }

    /// Probes a context in the background; the answer comes back as an event.
    pub fn probe_context(&self, name: &str) {
        let Some(kubeconfig) = self.kubeconfig.clone() else {
            return;
        };
        let (events, name) = (self.events.clone(), name.to_string());
        let timeout =
            std::time::Duration::from_millis(self.config.collector.connect_timeout_ms.max(1000));
        tokio::spawn(async move {
            let state = crate::kube::probe_context(kubeconfig, &name, timeout).await;
            let _ = events.send(AppEvent::Context { name, state }).await;
        });
    }

    fn ask(&mut self, state: &AppState, instance: usize, question: String, extras: ContextExtras) {
        self.cancel();
        let Some(view) = state.instances.get(instance) else {
            return;
        };
        let mut job = self.job(state, view, question, &extras);
        let tools = self.tools_builder(view);
        let events = self.events.clone();
        let token = self.cancel.child_token();
        self.ask = Some(token.clone());
        // A thread of its own: building the tools reads password and TLS files, and a
        // Kubernetes tool may run an exec credential plugin synchronously inside kube.
        super::cluster_tasks::spawn_isolated("ask", async move {
            job.tools = tools();
            let (tx, mut rx) = mpsc::channel::<ChatEvent>(256);
            let forward = async {
                while let Some(event) = rx.recv().await {
                    if events
                        .send(AppEvent::Chat { instance, event })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            };
            // Cancelling drops the future, and with it the HTTP request and its stream.
            tokio::select! {
                _ = token.cancelled() => {}
                _ = async { tokio::join!(run_ask(job, tx), forward) } => {}
            }
        });
    }

    fn job(
        &self,
        state: &AppState,
        view: &InstanceView,
        question: String,
        extras: &ContextExtras,
    ) -> AskJob {
        let ai = &self.config.ai;
        let instance: &InstanceConfig = &view.config;
        let context = build_context(view, ai.context_token_budget, ai.context_log_lines, extras);
        // Earlier questions and answers about this instance (without their contexts).
        let mut history = Vec::new();
        let mut turns: Vec<_> = view
            .chat
            .iter()
            .filter(|m| matches!(m.role, ChatRole::User | ChatRole::Assistant))
            .collect();
        turns.pop(); // the question being asked now
        for m in turns {
            let role = if m.role == ChatRole::User {
                TurnRole::User
            } else {
                TurnRole::Assistant
            };
            history.push(Turn::text(role, m.text.clone()));
        }
        let profile = state
            .chat
            .profile
            .as_ref()
            .and_then(|name| ai.profiles.get(name).map(|p| (name.clone(), p.clone())));
        let health_problem = match &view.health {
            Health::Down { error, .. }
            | Health::AuthFailed { error }
            | Health::Misconfigured { error } => Some(error.as_str()),
            _ => None,
        };
        let findings: Vec<_> = view.findings.iter().map(|f| f.finding.clone()).collect();
        AskJob {
            profile,
            history,
            prompt: format!(
                "{}\n(context: ~{} of {} tokens{})\n\n## Question\n{question}",
                context.text,
                context.estimated_tokens,
                context.budget,
                if context.truncated { ", trimmed" } else { "" }
            ),
            tools: None, // built off the loop's thread, see `ask`
            redactor: self.redactor.clone(),
            max_iterations: ai.max_tool_iterations,
            tool_result_max_bytes: ai.tool_result_max_bytes,
            limits: crate::ai::agent::AskLimits::from_config(ai),
            offline: offline_analysis(&instance.name, health_problem, &findings),
            audit: Some(self.executor.clone()),
            actions: {
                let mut a =
                    crate::repair::catalog::catalogue_prompt(plugin_for(instance.kind).repairs());
                if view.kube.is_some() {
                    a.push_str(&crate::repair::catalog::catalogue_prompt(
                        &crate::kube::repairs::KubeRepairs,
                    ));
                }
                a
            },
        }
    }

    /// What builds the AI's tools for an instance, to be run off the loop's thread: its
    /// plugin's, and for one discovered in a cluster also the read-only Kubernetes tools
    /// (describe, events, log tail).
    fn tools_builder(
        &self,
        view: &InstanceView,
    ) -> impl FnOnce() -> Option<Box<dyn crate::plugins::ToolRunner>> + Send + 'static {
        let instance = view.config.clone();
        let app = self.config.clone();
        let kube = match (&view.kube, &self.kubeconfig) {
            (Some(b), Some(kubeconfig)) => {
                Some((kubeconfig.clone(), b.context.clone(), b.found.clone()))
            }
            _ => None,
        };
        move || {
            let plugin = plugin_for(instance.kind).tools(&instance, &app).ok();
            let Some((kubeconfig, context, found)) = kube else {
                return plugin;
            };
            let kube = crate::kube::tools::KubeTools::new(kubeconfig, &context, found);
            let mut set: Vec<Box<dyn crate::plugins::ToolRunner>> = plugin.into_iter().collect();
            set.push(Box::new(kube));
            Some(Box::new(crate::kube::tools::ToolSet(set)))
        }
    }

    /// Saves a conversation (on the file writer); a failure is said in that chat (the
    /// conversation stays in memory).
    fn save_chat(&self, state: &AppState, instance: usize) {
        let Some(view) = state.instances.get(instance) else {
            return;
        };
        let (sessions, name, chat) = (
            self.sessions.clone(),
            view.config.name.clone(),
            view.chat.clone(),
        );
        let events = self.events.clone();
        self.io.run(move || {
            if let Err(e) = sessions.save(&name, &chat) {
                let text = format!(
                    "could not save this conversation to {}: {e}",
                    sessions.path_for(&name).display()
                );
                let _ = events.blocking_send(AppEvent::ChatNotice { instance, text });
            }
        });
    }

    fn export(&self, state: &AppState, instance: usize, path: Option<PathBuf>) {
        let Some(view) = state.instances.get(instance) else {
            return;
        };
        let now = chrono::Utc::now();
        let path =
            path.unwrap_or_else(|| default_report_path(&self.data_dir, &view.config.name, now));
        let report = incident_report(view, now);
        let events = self.events.clone();
        self.io.run(move || {
            let text = match write_private(&path, report.as_bytes()) {
                Ok(()) => format!("incident report written to {}", path.display()),
                Err(e) => format!("could not write the report to {}: {e}", path.display()),
            };
            let _ = events.blocking_send(AppEvent::ChatNotice { instance, text });
        });
    }

    /// Records something about a repair on the file writer; a record that cannot be written
    /// is said on screen.
    fn audit(
        &self,
        instance: usize,
        what: &'static str,
        record: impl FnOnce(&Executor) -> Result<(), RepairError> + Send + 'static,
    ) {
        let (executor, events) = (self.executor.clone(), self.events.clone());
        self.io.run(move || {
            if let Err(e) = record(&executor) {
                let text = format!("repair: the {what} could not be recorded: {e}");
                let _ = events.blocking_send(AppEvent::ChatNotice { instance, text });
            }
        });
    }

    /// Runs one executor job for an instance in a task; the write backend is opened in it.
    fn repair_task<F>(&self, state: &AppState, instance: usize, index: usize, action: &str, job: F)
    where
        F: for<'a> FnOnce(
                &'a Executor,
                &'a mut dyn WriteBackend,
                mpsc::Sender<AppEvent>,
            ) -> futures::future::BoxFuture<'a, ()>
            + Send
            + 'static,
    {
        let Some(view) = state.instances.get(instance) else {
            return;
        };
        let executor = self.executor.clone();
        let events = self.events.clone();
        let config = self.config.clone();
        let instance_config = view.config.clone();
        let kubernetes = crate::plugins::registry::action_side(action).is_kubernetes();
        let action = action.to_string();
        let task = async move {
            match executor.open_backend_for(&action, &instance_config, &config) {
                Ok(mut backend) => job(&executor, backend.as_mut(), events).await,
                Err(e) => {
                    // Surfaces as a failed preparation of the step on screen.
                    let result = Err(e.to_string());
                    send(&events, RepairEvent::Prepared { index, result }).await;
                }
            }
        };
        if kubernetes {
            // kube may run an exec credential plugin synchronously: never on the UI's runtime.
            super::cluster_tasks::spawn_isolated("repair", task);
        } else {
            tokio::spawn(task);
        }
    }

    fn cancel(&mut self) {
        if let Some(token) = self.ask.take() {
            token.cancel();
        }
    }
}

impl EffectHandler for Controller {
    fn handle(&mut self, effect: Effect, state: &AppState) {
        match effect {
            Effect::Reconnect(i) => match self.attached.get(&i) {
                Some(tx) => {
                    let _ = tx.try_send(SupervisorCommand::Reconnect);
                }
                None => self.supervisors.handle(effect, state),
            },
            Effect::Detach { instance } => {
                for token in [
                    self.attach_tokens.remove(&instance),
                    self.logs.remove(&instance),
                ]
                .into_iter()
                .flatten()
                {
                    token.cancel();
                }
                self.attached.remove(&instance);
                self.releases.remove(&instance);
            }
            Effect::AttachAfter {
                instance,
                generation,
                delay,
            } => {
                if let Some(old) = self.attach_timer.take() {
                    old.abort();
                }
                let events = self.events.clone();
                self.attach_timer = Some(tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = events
                        .send(AppEvent::AttachDue {
                            instance,
                            generation,
                        })
                        .await;
                }));
            }
            Effect::WatchCluster { context, scope } => {
                let path = crate::kube::watch::scopes_path(&self.data_dir);
                let (ctx, remembered) = (context.clone(), scope.clone());
                self.io.run(move || {
                    if let Err(e) = crate::kube::watch::save_scope(&path, &ctx, &remembered) {
                        tracing::warn!("cannot remember the namespaces in {}: {e}", path.display());
                    }
                });
                self.watch_cluster(&context, scope)
            }
            Effect::PodLogs {
                instance,
                context,
                namespace,
                pods,
                options,
            } => {
                if let Some(old) = self.logs.remove(&instance) {
                    old.cancel();
                }
                let Some(kubeconfig) = self.kubeconfig.clone() else {
                    return;
                };
                let token = self.cancel.child_token();
                self.logs.insert(instance, token.clone());
                let timeout = std::time::Duration::from_millis(
                    self.config.collector.connect_timeout_ms.max(1000),
                );
                let access_reviews = self
                    .executor
                    .withholds_mutating_requests(Some(&context))
                    .is_none();
                super::cluster_tasks::spawn_isolated_until(
                    "logs",
                    super::cluster_tasks::pod_logs(super::cluster_tasks::LogsJob {
                        instance,
                        kubeconfig,
                        context,
                        namespace,
                        pods,
                        options,
                        connect_timeout: timeout,
                        events: self.events.clone(),
                        cancel: token,
                        access_reviews,
                    }),
                    self.releases.get(&instance).cloned(),
                );
            }
            Effect::Attach {
                instance,
                context,
                found,
                config,
            } => self.attach(instance, context, found, config),
            Effect::Ask {
                instance,
                question,
                extras,
            } => self.ask(state, instance, question, extras),
            Effect::CancelAsk => self.cancel(),
            Effect::Copy(text) => copy_osc52(&text),
            Effect::SaveChat(instance) => self.save_chat(state, instance),
            Effect::Export { instance, path } => self.export(state, instance, path),
            Effect::RepairPropose { plan } => {
                self.audit(state.selected, "proposal", move |e| e.propose(&plan))
            }
            Effect::RepairSkip { step } => {
                self.audit(state.selected, "skip", move |e| e.skip(&step))
            }
            Effect::RepairAbort { step } => {
                self.audit(state.selected, "abort", move |e| e.abort(&step))
            }
            Effect::SwitchContext { name } => {
                // From now on a plan pinned to another context is refused by the executor.
                self.executor.set_current_context(Some(name.clone()));
                self.probe_context(&name);
            }
            Effect::SetMode { mode, reason } => {
                let (executor, events) = (self.executor.clone(), self.events.clone());
                self.io.run(move || {
                    let result = executor
                        .set_mode(mode, &reason)
                        .map(|()| mode)
                        .map_err(|e| e.to_string());
                    let _ =
                        events.blocking_send(AppEvent::Repair(RepairEvent::ModeChanged(result)));
                });
            }
            Effect::RepairPrepare {
                instance,
                index,
                step,
            } => self.repair_task(
                state,
                instance,
                index,
                &step.action.clone(),
                move |executor, backend, events| {
                    Box::pin(async move {
                        let result = executor
                            .prepare(backend, &step)
                            .await
                            .map_err(|e| e.to_string());
                        send(&events, RepairEvent::Prepared { index, result }).await;
                    })
                },
            ),
            Effect::RepairExecute {
                instance,
                index,
                step,
                confirmation,
                prepared,
            } => self.repair_task(
                state,
                instance,
                index,
                &step.action.clone(),
                move |executor, backend, events| {
                    Box::pin(async move {
                        let result = executor.execute(backend, &step, &confirmation).await;
                        let ok = result.is_ok();
                        let result = result.map_err(crate::repair::StepError::from);
                        send(&events, RepairEvent::Executed { index, result }).await;
                        if ok {
                            let prepared = prepared.unwrap_or_else(|| PreparedStep {
                                captured: Vec::new(),
                                preview: String::new(),
                                rollback: Vec::new(),
                                rollback_text: String::new(),
                            });
                            let result = executor
                                .verify(backend, &step, &prepared)
                                .await
                                .map_err(|e| e.to_string());
                            send(&events, RepairEvent::Verified { index, result }).await;
                        }
                    })
                },
            ),
            Effect::RepairRollback {
                instance,
                index,
                step,
                prepared,
            } => self.repair_task(
                state,
                instance,
                index,
                &step.action.clone(),
                move |executor, backend, events| {
                    Box::pin(async move {
                        let result = executor
                            .rollback(backend, &step, &prepared)
                            .await
                            .map_err(|e| e.to_string());
                        send(&events, RepairEvent::RolledBack { index, result }).await;
                    })
                },
            ),
            Effect::Quit => {}
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.cancel();
        if let Some(timer) = self.attach_timer.take() {
            timer.abort();
        }
    }
}

async fn send(events: &mpsc::Sender<AppEvent>, event: RepairEvent) {
    let _ = events.send(AppEvent::Repair(event)).await;
}

/// Puts text on the clipboard of the terminal (also over SSH and in tmux) with OSC 52.
fn copy_osc52(text: &str) {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout();
    let _ = write!(out, "\x1b]52;c;{encoded}\x07");
    let _ = out.flush();
}
