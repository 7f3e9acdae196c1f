//! The ask service: one question at a time to the model (or the rule engine offline), with the
//! instance's read-only tools, cancellable — cancelling drops the HTTP request and its stream.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::event::AppEvent;
use super::isolated::spawn_isolated;
use crate::ai::agent::{AskJob, AskLimits, ChatEvent, run_ask};
use crate::ai::offline::offline_analysis;
use crate::ai::provider::{Turn, api_key};
use crate::ai::redact::{RedactionPolicy, Redactor};
use crate::config::{AppConfig, InstanceConfig};
use crate::kube::Discovered;
use crate::model::Finding;
use crate::plugins::{ToolRunner, plugin_for};
use crate::repair::catalog::catalogue_prompt;

/// One question about one instance, as the app puts it: the prompt it built from what the
/// cockpit shows, and what answering needs besides.
#[derive(Debug, Clone)]
pub struct AskRequest {
    pub instance: usize,
    /// The instance's config (with a discovered one's forwarded URL and login).
    pub config: InstanceConfig,
    /// For an instance discovered in a cluster: its context and what discovery found (the
    /// read-only Kubernetes tools and repairs are offered too).
    pub kube: Option<(String, Discovered)>,
    /// The question with the instance's context before it.
    pub prompt: String,
    /// The question alone (the offline answer leads with the findings it asks about).
    pub question: String,
    /// Earlier turns of this conversation.
    pub history: Vec<Turn>,
    /// The AI profile chosen (`None`: no model — the offline answer).
    pub profile: Option<String>,
    /// Why the instance cannot be sampled, when it cannot.
    pub health_problem: Option<String>,
    /// The current findings, for the offline answer.
    pub findings: Vec<Finding>,
}

/// The redactor every outgoing text goes through, taught every configured password and API
/// key up front (the cluster service teaches it passwords read from Secrets later).
pub fn redactor_for(config: &AppConfig) -> Arc<Mutex<Redactor>> {
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
    Arc::new(Mutex::new(redactor))
}

/// Answers questions, one at a time.
pub struct AskService {
    /// The executor records each model request; the kubeconfig serves the Kubernetes tools.
    shared: Shared,
    /// Cancels the question being answered.
    current: Option<CancellationToken>,
}

impl AskService {
    /// A service with nothing being answered.
    pub fn new(shared: Shared) -> Self {
        AskService {
            shared,
            current: None,
        }
    }

    /// The parts the service was given, to change the kubeconfig or the shutdown token.
    pub fn shared_mut(&mut self) -> &mut Shared {
        &mut self.shared
    }

    /// Answers `request`, dropping the answer in progress; progress comes back as
    /// `AppEvent::Chat`.
    pub fn ask(&mut self, request: AskRequest) {
        self.cancel();
        let instance = request.instance;
        let tools = self.tools_builder(&request);
        let mut job = self.job(request);
        let events = self.shared.events.clone();
        let token = self.shared.cancel.child_token();
        self.current = Some(token.clone());
        // A thread of its own: building the tools reads password and TLS files, and a
        // Kubernetes tool may run an exec credential plugin synchronously inside kube.
        spawn_isolated("ask", async move {
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

    /// Drops the answer in progress (and its HTTP request).
    pub fn cancel(&mut self) {
        if let Some(token) = self.current.take() {
            token.cancel();
        }
    }

    fn job(&self, request: AskRequest) -> AskJob {
        let ai = &self.shared.config.ai;
        let profile = request
            .profile
            .and_then(|name| ai.profiles.get(&name).map(|p| (name, p.clone())));
        let mut actions = catalogue_prompt(plugin_for(request.config.kind).repairs());
        if request.kube.is_some() {
            actions.push_str(&catalogue_prompt(&crate::kube::repairs::KubeRepairs));
        }
        AskJob {
            profile,
            history: request.history,
            prompt: request.prompt,
            tools: None, // built off the loop's thread, see `ask`
            redactor: self.shared.redactor.clone(),
            max_iterations: ai.max_tool_iterations,
            tool_result_max_bytes: ai.tool_result_max_bytes,
            limits: AskLimits::from_config(ai),
            offline: offline_analysis(
                &request.config.name,
                &request.question,
                request.health_problem.as_deref(),
                &request.findings,
            ),
            audit: Some(self.shared.executor.clone()),
            actions,
        }
    }

    /// What builds the AI's tools for an instance, to be run off the loop's thread: its
    /// plugin's, and for one discovered in a cluster also the read-only Kubernetes tools
    /// (describe, events, log tail).
    fn tools_builder(
        &self,
        request: &AskRequest,
    ) -> impl FnOnce() -> Option<Box<dyn ToolRunner>> + Send + 'static {
        let instance = request.config.clone();
        let app = self.shared.config.clone();
        let kube = match (&request.kube, &self.shared.kubeconfig) {
            (Some((context, found)), Some(kubeconfig)) => {
                Some((kubeconfig.clone(), context.clone(), found.clone()))
            }
            _ => None,
        };
        move || {
            let plugin = plugin_for(instance.kind).tools(&instance, &app).ok();
            let Some((kubeconfig, context, found)) = kube else {
                return plugin;
            };
            let kube = crate::kube::tools::KubeTools::new(kubeconfig, &context, found);
            let mut set: Vec<Box<dyn ToolRunner>> = plugin.into_iter().collect();
            set.push(Box::new(kube));
            Some(Box::new(crate::kube::tools::ToolSet(set)))
        }
    }
}

impl Drop for AskService {
    fn drop(&mut self) {
        self.cancel();
    }
}
