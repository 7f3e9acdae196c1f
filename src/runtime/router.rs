//! The router: hands each of the reducer's effects to the service that carries it out, taking
//! from the state what the service needs. It holds no task and no token of its own — the
//! services do.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::EffectHandler;
use crate::app::{AppState, AskEffect, ClusterRequest, Effect, FileEffect, RepairEffect};
use crate::config::AppConfig;
use crate::services::ask::AskService;
use crate::services::cluster::ClusterService;
use crate::services::collect::SupervisorCommand;
use crate::services::files::FileService;
use crate::services::repair::RepairService;
use crate::services::{AppEvent, Shared};

/// The effect handler of the interactive program: the services, and the collectors of the
/// configured instances.
pub struct Router {
    config: AppConfig,
    /// The collectors of the configured instances, by view index.
    collectors: Vec<mpsc::Sender<SupervisorCommand>>,
    ask: AskService,
    cluster: ClusterService,
    repair: RepairService,
    files: FileService,
}

impl Router {
    /// A router over fresh services; the redactor learns every configured password and API key
    /// up front.
    pub fn new(
        collectors: Vec<mpsc::Sender<SupervisorCommand>>,
        config: AppConfig,
        events: mpsc::Sender<AppEvent>,
        data_dir: PathBuf,
        executor: Arc<crate::repair::Executor>,
    ) -> Self {
        let shared = Shared::new(config.clone(), events.clone(), executor);
        let files = FileService::new(data_dir, events);
        Router {
            ask: AskService::new(shared.clone()),
            cluster: ClusterService::new(shared.clone()),
            repair: RepairService::new(shared, files.queue()),
            files,
            collectors,
            config,
        }
    }

    /// Tasks the services start stop with `cancel` (the program's shutdown token).
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.ask.shared_mut().cancel = cancel.clone();
        self.cluster.shared_mut().cancel = cancel;
        self
    }

    /// The kubeconfig the context probes, watchers, forwards and Kubernetes tools use.
    pub fn with_kubeconfig(mut self, kubeconfig: Option<kube::config::Kubeconfig>) -> Self {
        self.ask.shared_mut().kubeconfig = kubeconfig.clone();
        self.cluster.shared_mut().kubeconfig = kubeconfig;
        self
    }

    /// Discovered instances whose port-forward and collector are running (or starting).
    pub fn attached_count(&self) -> usize {
        self.cluster.attached_count()
    }

    /// Probes a context in the background; the answer comes back as an event.
    pub fn probe_context(&self, name: &str) {
        self.cluster.probe(name);
    }

    /// (Re)starts the watchers of `context`'s cluster for `scope`; the previous ones stop.
    pub fn watch_cluster(&mut self, context: &str, scope: crate::kube::NamespaceScope) {
        self.cluster.watch(context, scope);
    }

    fn reconnect_configured(&self, instance: usize) {
        if let Some(tx) = self.collectors.get(instance) {
            // A full queue already holds a reconnect request.
            let _ = tx.try_send(SupervisorCommand::Reconnect);
        }
    }
}

impl EffectHandler for Router {
    fn handle(&mut self, effect: Effect, state: &AppState) {
        match effect {
            Effect::Quit => {}
            Effect::Copy(text) => crate::tui::copy_osc52(&text),
            Effect::Reconnect(i) => {
                if !self.cluster.reconnect(i) {
                    self.reconnect_configured(i);
                }
            }
            Effect::Ask(AskEffect::Question {
                instance,
                question,
                extras,
            }) => {
                let request =
                    crate::app::ask_request(state, &self.config.ai, instance, &question, &extras);
                if let Some(request) = request {
                    self.ask.ask(request);
                }
            }
            Effect::Ask(AskEffect::Cancel) => self.ask.cancel(),
            Effect::Cluster(request) => {
                if let ClusterRequest::Watch { context, scope } = &request {
                    self.files.remember_scope(context, scope);
                }
                self.cluster.handle(request);
            }
            Effect::Files(effect) => self.files_effect(effect, state),
            Effect::Repair(effect) => self.repair_effect(effect, state),
        }
    }
}

impl Router {
    fn files_effect(&self, effect: FileEffect, state: &AppState) {
        match effect {
            FileEffect::SaveChat(instance) => {
                if let Some(view) = state.instances.get(instance) {
                    let (name, chat) = (view.config.name.clone(), view.chat.clone());
                    self.files.save_chat(instance, name, chat);
                }
            }
            FileEffect::Export { instance, path } => {
                if let Some(view) = state.instances.get(instance) {
                    let now = chrono::Utc::now();
                    let report = crate::app::incident_report(view, now);
                    self.files
                        .export(instance, &view.config.name, path, now, report);
                }
            }
        }
    }

    /// A repair effect; a step's instance config comes from the state (a discovered
    /// instance's carries its forward's URL and login).
    fn repair_effect(&self, effect: RepairEffect, state: &AppState) {
        let target = |i: usize| state.instances.get(i).map(|v| &v.config);
        match effect {
            RepairEffect::Propose { plan } => self.repair.propose(state.selected, plan),
            RepairEffect::Skip { step } => self.repair.skip(state.selected, step),
            RepairEffect::Abort { step } => self.repair.abort(state.selected, step),
            RepairEffect::SetMode { mode, reason } => self.repair.set_mode(mode, reason),
            RepairEffect::Prepare {
                instance,
                index,
                step,
            } => {
                if let Some(target) = target(instance) {
                    self.repair.prepare(target, index, step);
                }
            }
            RepairEffect::Execute {
                instance,
                index,
                step,
                confirmation,
                prepared,
            } => {
                if let Some(target) = target(instance) {
                    self.repair
                        .execute(target, index, step, confirmation, prepared);
                }
            }
            RepairEffect::Rollback {
                instance,
                index,
                step,
                prepared,
            } => {
                if let Some(target) = target(instance) {
                    self.repair.rollback(target, index, step, prepared);
                }
            }
        }
    }
}
