//! The cluster service: everything the cockpit runs against Kubernetes — the watchers of the
//! current context, context probes, discovered instances connected through a port-forward
//! (with their collectors and pod log streams), and the cursor's rest timer that connects one.
//! It owns every task it starts and the token that stops it.

pub mod connect;
mod tasks;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use tasks::forwarded_url;

use super::Shared;
use super::collect::{SupervisorCommand, SupervisorTiming};
use super::event::AppEvent;
use super::isolated::{ReleaseGuard, spawn_isolated, spawn_isolated_until};
use crate::config::{CollectorConfig, InstanceConfig};
use crate::kube::logs::LogOptions;
use crate::kube::{Discovered, NamespaceScope};

/// How long a Kubernetes connection may take: the collectors' connect timeout, but never under
/// a second (a TLS handshake with an API server plus a token refresh).
pub fn kube_timeout(collector: &CollectorConfig) -> Duration {
    Duration::from_millis(collector.connect_timeout_ms.max(1000))
}

/// What the cockpit asks of the cluster service.
// One request per user action or discovery batch, moved once into the service: boxing the
// large `Attach` would cost more code than the bytes it saves.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterRequest {
    /// Make a Kubernetes context current (the executor pins to it) and probe it.
    SwitchContext { name: String },
    /// (Re)start the watchers of a context's cluster for these namespaces (the previous
    /// watchers stop).
    Watch {
        context: String,
        scope: NamespaceScope,
    },
    /// (Re)start the log streams of a discovered instance's pods with these options.
    PodLogs {
        instance: usize,
        context: String,
        namespace: String,
        pods: Vec<String>,
        options: LogOptions,
    },
    /// Disconnect a discovered instance (its context is no longer current): its forward,
    /// collector and log streams stop.
    Detach { instance: usize },
    /// Send `AppEvent::AttachDue { instance, generation }` after `delay` (the cursor resting on
    /// a discovered instance); a newer request replaces an older one.
    AttachAfter {
        instance: usize,
        generation: u64,
        delay: Duration,
    },
    /// Connect a discovered instance: a port-forward to one of its ready pods, its credentials
    /// from the Secret the config names, and a collector through the forward.
    Attach {
        instance: usize,
        context: String,
        found: Discovered,
        config: InstanceConfig,
    },
}

/// The Kubernetes side of the running program.
pub struct ClusterService {
    /// The redactor learns the passwords read from Secrets; the executor says whether a
    /// context may get POSTs (access reviews are POSTs); the shutdown token is the parent of
    /// every token below.
    shared: Shared,
    /// The current context's watchers.
    watch: Option<CancellationToken>,
    /// Pod log streams of discovered instances, by instance index.
    logs: HashMap<usize, CancellationToken>,
    /// What stops each connected discovered instance (forward, collector).
    attach_tokens: HashMap<usize, CancellationToken>,
    /// Collectors of discovered instances, by instance index.
    attached: HashMap<usize, mpsc::Sender<SupervisorCommand>>,
    /// The release guard of each attachment (its tasks hold clones; see `ReleaseGuard`).
    releases: HashMap<usize, Arc<ReleaseGuard>>,
    /// The cursor's rest timer (one at a time: a newer one replaces it).
    attach_timer: Option<tokio::task::JoinHandle<()>>,
}

impl ClusterService {
    /// A service with no kubeconfig yet and no task running.
    pub fn new(shared: Shared) -> Self {
        ClusterService {
            shared,
            watch: None,
            logs: HashMap::new(),
            attach_tokens: HashMap::new(),
            attached: HashMap::new(),
            releases: HashMap::new(),
            attach_timer: None,
        }
    }

    /// Carries out one request.
    pub fn handle(&mut self, request: ClusterRequest) {
        match request {
            ClusterRequest::SwitchContext { name } => {
                // From now on a plan pinned to another context is refused by the executor.
                self.shared.executor.set_current_context(Some(name.clone()));
                self.probe(&name);
            }
            ClusterRequest::Watch { context, scope } => self.watch(&context, scope),
            ClusterRequest::PodLogs {
                instance,
                context,
                namespace,
                pods,
                options,
            } => self.pod_logs(instance, context, namespace, pods, options),
            ClusterRequest::Detach { instance } => self.detach(instance),
            ClusterRequest::AttachAfter {
                instance,
                generation,
                delay,
            } => self.attach_after(instance, generation, delay),
            ClusterRequest::Attach {
                instance,
                context,
                found,
                config,
            } => self.attach(instance, context, found, config),
        }
    }

    /// The parts the service was given, to change the kubeconfig or the shutdown token.
    pub fn shared_mut(&mut self) -> &mut Shared {
        &mut self.shared
    }

    /// Discovered instances whose port-forward and collector are running (or starting).
    pub fn attached_count(&self) -> usize {
        self.attach_tokens.len()
    }

    fn timeout(&self) -> Duration {
        kube_timeout(&self.shared.config.collector)
    }

    /// Whether access reviews (POSTs) may be sent to `context`.
    fn access_reviews(&self, context: &str) -> bool {
        self.shared
            .executor
            .withholds_mutating_requests(Some(context))
            .is_none()
    }

    /// (Re)starts the watchers of `context`'s cluster for `scope`; the previous ones stop.
    pub fn watch(&mut self, context: &str, scope: NamespaceScope) {
        if let Some(old) = self.watch.take() {
            old.cancel();
        }
        let Some(kubeconfig) = self.shared.kubeconfig.clone() else {
            return;
        };
        let token = self.shared.cancel.child_token();
        self.watch = Some(token.clone());
        spawn_isolated(
            "watch",
            tasks::watch_cluster(
                kubeconfig,
                context.to_string(),
                scope,
                self.timeout(),
                self.shared.events.clone(),
                token,
            ),
        );
    }

    /// Probes a context in the background; the answer comes back as an event.
    pub fn probe(&self, name: &str) {
        let Some(kubeconfig) = self.shared.kubeconfig.clone() else {
            return;
        };
        let (events, name, timeout) =
            (self.shared.events.clone(), name.to_string(), self.timeout());
        tokio::spawn(async move {
            let state = crate::kube::probe_context(kubeconfig, &name, timeout).await;
            let _ = events.send(AppEvent::Context { name, state }).await;
        });
    }

    /// Asks the collector of a connected discovered instance to reconnect now; `false` when
    /// `instance` is not one (its collector belongs to the configured ones).
    pub fn reconnect(&self, instance: usize) -> bool {
        match self.attached.get(&instance) {
            Some(tx) => {
                // A full queue already holds a reconnect request.
                let _ = tx.try_send(SupervisorCommand::Reconnect);
                true
            }
            None => false,
        }
    }

    /// Connects a discovered instance: credentials, port-forward, collector.
    fn attach(
        &mut self,
        instance: usize,
        context: String,
        found: Discovered,
        config: InstanceConfig,
    ) {
        // Created first: however this attachment ends, its release reaches the loop.
        let guard = Arc::new(ReleaseGuard {
            instance,
            events: self.shared.events.clone(),
        });
        self.releases.insert(instance, guard.clone());
        let Some(kubeconfig) = self.shared.kubeconfig.clone() else {
            return;
        };
        // No access review (a POST) where the context gets no mutating request at all.
        let access_reviews = self.access_reviews(&context);
        let (tx, commands) = mpsc::channel::<SupervisorCommand>(4);
        self.attached.insert(instance, tx);
        let token = self.shared.cancel.child_token();
        if let Some(old) = self.attach_tokens.insert(instance, token.clone()) {
            old.cancel();
        }
        let c = &self.shared.config.collector;
        let timing = SupervisorTiming {
            interval: Duration::from_secs_f64(c.interval_secs),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs_f64(c.backoff_max_secs),
        };
        spawn_isolated_until(
            "attach",
            tasks::attach(tasks::AttachJob {
                instance,
                context,
                found,
                config,
                kubeconfig,
                app: self.shared.config.clone(),
                events: self.shared.events.clone(),
                redactor: self.shared.redactor.clone(),
                commands,
                timing,
                cancel: token,
                access_reviews,
            }),
            Some(guard),
        );
    }

    /// Disconnects a discovered instance: its forward, collector and log streams stop.
    fn detach(&mut self, instance: usize) {
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

    /// Sends `AttachDue { instance, generation }` after `delay`; a newer timer replaces this one.
    fn attach_after(&mut self, instance: usize, generation: u64, delay: Duration) {
        if let Some(old) = self.attach_timer.take() {
            old.abort();
        }
        let events = self.shared.events.clone();
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

    /// (Re)starts the log streams of a discovered instance's pods.
    fn pod_logs(
        &mut self,
        instance: usize,
        context: String,
        namespace: String,
        pods: Vec<String>,
        options: LogOptions,
    ) {
        if let Some(old) = self.logs.remove(&instance) {
            old.cancel();
        }
        let Some(kubeconfig) = self.shared.kubeconfig.clone() else {
            return;
        };
        let token = self.shared.cancel.child_token();
        self.logs.insert(instance, token.clone());
        let access_reviews = self.access_reviews(&context);
        spawn_isolated_until(
            "logs",
            tasks::pod_logs(tasks::LogsJob {
                instance,
                kubeconfig,
                context,
                namespace,
                pods,
                options,
                connect_timeout: self.timeout(),
                events: self.shared.events.clone(),
                cancel: token,
                access_reviews,
            }),
            self.releases.get(&instance).cloned(),
        );
    }
}

impl Drop for ClusterService {
    fn drop(&mut self) {
        if let Some(timer) = self.attach_timer.take() {
            timer.abort();
        }
    }
}
