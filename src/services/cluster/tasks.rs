//! The cluster service's tasks: the watchers of the current context (restarted on `:ctx` and
//! `:ns`), connecting a discovered instance — credentials from a Secret, a port-forward to a
//! ready pod, and a collector whose connections go through the forward — and its pod logs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::config::Kubeconfig;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ai::redact::Redactor;
use crate::config::{AppConfig, InstanceConfig, InstanceKind};
use crate::kube::portforward::PortForward;
use crate::kube::store::Resource;
use crate::kube::{Discovered, NamespaceScope, StoreUpdate, client_for, spawn_watchers};
use crate::plugins::plugin_for;
use crate::services::collect::{SupervisorCommand, SupervisorTiming, supervise};
use crate::services::event::{AppEvent, Health, ResolvedLogin};

/// Runs the watchers of `context` until `cancel`, forwarding their batches to the loop.
pub(super) async fn watch_cluster(
    kubeconfig: Kubeconfig,
    context: String,
    scope: NamespaceScope,
    connect_timeout: Duration,
    events: mpsc::Sender<AppEvent>,
    cancel: CancellationToken,
) {
    let client = match client_for(kubeconfig, &context, connect_timeout, None).await {
        Ok(c) => c,
        Err(e) => {
            let updates = vec![StoreUpdate::WatchError(Resource::Pods, e)];
            let _ = events.send(AppEvent::Kube { context, updates }).await;
            return;
        }
    };
    let (tx, mut rx) = mpsc::channel(16);
    spawn_watchers(client, &scope, tx, cancel.clone());
    loop {
        let batch = tokio::select! {
            b = rx.recv() => match b { Some(b) => b, None => return },
            _ = cancel.cancelled() => return,
        };
        let event = AppEvent::Kube {
            context: context.clone(),
            updates: batch,
        };
        if events.send(event).await.is_err() {
            return;
        }
    }
}

/// Everything connecting one discovered instance needs.
pub(super) struct AttachJob {
    pub instance: usize,
    pub context: String,
    pub found: Discovered,
    pub config: InstanceConfig,
    pub kubeconfig: Kubeconfig,
    pub app: AppConfig,
    pub events: mpsc::Sender<AppEvent>,
    pub redactor: Arc<Mutex<Redactor>>,
    pub commands: mpsc::Receiver<SupervisorCommand>,
    pub timing: SupervisorTiming,
    pub cancel: CancellationToken,
    /// SelfSubjectAccessReviews may be sent (POSTs: not in a read-only context, see
    /// `Executor::withholds_mutating_requests`).
    pub access_reviews: bool,
}

/// `url` with its host and port replaced by the forward's loopback address.
pub fn forwarded_url(kind: InstanceKind, url: &str, local: std::net::SocketAddr) -> String {
    let plugin = plugin_for(kind);
    if plugin.forward_relay().is_some() {
        // A relay carries every connection (Kafka's brokers advertise in-cluster names): the
        // whole address list becomes the forward, and the relay reaches the rest.
        return plugin
            .descriptor()
            .in_cluster_url(&local.ip().to_string(), local.port());
    }
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_host(Some(&local.ip().to_string()));
            let _ = u.set_port(Some(local.port()));
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

/// Connects a discovered instance and keeps its forward's state on screen until `cancel`.
pub(super) async fn attach(job: AttachJob) {
    let AttachJob {
        instance,
        context,
        found,
        mut config,
        kubeconfig,
        app,
        events,
        redactor,
        commands,
        timing,
        cancel,
        access_reviews,
    } = job;
    let fail = |error: String| {
        let events = events.clone();
        async move {
            let _ = events
                .send(AppEvent::Attached {
                    instance,
                    url: None,
                    forward: format!("not connected: {error}"),
                    login: None,
                })
                .await;
            let _ = events
                .send(AppEvent::Health {
                    instance,
                    health: Health::Misconfigured { error },
                })
                .await;
        }
    };
    let timeout = super::kube_timeout(&app.collector);
    let client = match client_for(kubeconfig, &context, timeout, None).await {
        Ok(c) => c,
        Err(e) => return fail(format!("context {context}: {e}")).await,
    };
    let connected = super::connect::connect_discovered(
        &client,
        &context,
        &found,
        &mut config,
        &app,
        access_reviews,
    )
    .await;
    // The one function every redactor is filled from (a Secret's password included).
    if let Ok(mut red) = redactor.lock() {
        red.add_instance_secrets(&config);
    }
    let forward: PortForward = match connected {
        Ok(f) => f,
        Err(e) => return fail(e).await,
    };
    let mut state = forward.state.clone();
    let label = state.borrow().label(forward.local);
    // The login goes into the instance's config in the app, beside the forward's URL: the AI's
    // tools and the executor's write backend connect with what the collector connects with.
    let login = ResolvedLogin {
        username: config.username.clone(),
        password: config.password_value.clone(),
    };
    let _ = events
        .send(AppEvent::Attached {
            instance,
            url: Some(config.url.clone()),
            forward: label,
            login: Some(login),
        })
        .await;
    match plugin_for(found.kind).collector(&config, &app) {
        Ok(collector) => {
            tokio::spawn(supervise(
                instance,
                collector,
                events.clone(),
                commands,
                timing,
                cancel.clone(),
            ));
        }
        Err(e) => return fail(e.to_string()).await,
    }
    loop {
        tokio::select! {
            r = state.changed() => {
                if r.is_err() {
                    return;
                }
                let label = state.borrow().label(forward.local);
                let _ = events.send(AppEvent::Attached { instance, url: None, forward: label, login: None }).await;
            }
            _ = cancel.cancelled() => return,
        }
    }
}

/// What streaming one instance's pod logs needs.
pub(super) struct LogsJob {
    pub instance: usize,
    pub kubeconfig: Kubeconfig,
    pub context: String,
    pub namespace: String,
    pub pods: Vec<String>,
    pub options: crate::kube::logs::LogOptions,
    pub connect_timeout: Duration,
    pub events: mpsc::Sender<AppEvent>,
    pub cancel: CancellationToken,
    /// A SelfSubjectAccessReview (a POST) may be sent first.
    pub access_reviews: bool,
}

/// Streams a discovered instance's pod logs into the loop until `cancel` (checking first that
/// `get pods/log` is allowed, where access reviews may be sent).
pub(super) async fn pod_logs(job: LogsJob) {
    use crate::kube::logs::PodLogEvent;
    let LogsJob {
        instance,
        kubeconfig,
        context,
        namespace,
        pods,
        options,
        connect_timeout,
        events,
        cancel,
        access_reviews,
    } = job;
    let say = |text: String| AppEvent::PodLogs {
        instance,
        event: PodLogEvent::State {
            pod: "*".into(),
            text,
        },
    };
    let client = match client_for(kubeconfig, &context, connect_timeout, None).await {
        Ok(c) => c,
        Err(e) => {
            let _ = events.send(say(format!("context {context}: {e}"))).await;
            return;
        }
    };
    if access_reviews
        && let Err(e) =
            crate::kube::access::check(&client, &crate::kube::access::Access::logs(&namespace))
                .await
    {
        let _ = events.send(say(e)).await;
        return;
    }
    let (tx, mut rx) = mpsc::channel(8);
    tokio::spawn(crate::kube::logs::stream_logs(
        client,
        namespace,
        pods,
        options,
        tx,
        cancel.clone(),
    ));
    loop {
        let event = tokio::select! {
            e = rx.recv() => match e { Some(e) => e, None => return },
            _ = cancel.cancelled() => return,
        };
        if events
            .send(AppEvent::PodLogs { instance, event })
            .await
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind's forwarded URL is one its plugin accepts (a discovered Kafka was given a bare
    /// `host:port`, which the Kafka plugin refuses).
    #[test]
    fn every_forwarded_url_is_valid_for_its_plugin() {
        let local: std::net::SocketAddr = ([127, 0, 0, 1], 41234).into();
        for (kind, url) in [
            (InstanceKind::REDIS, "redis://cache.payments.svc:6379"),
            (InstanceKind::MYSQL, "mysql://db.payments.svc:3306"),
            (InstanceKind::KAFKA, "kafka://kafka.streaming.svc:9092"),
            (
                InstanceKind::ELASTICSEARCH,
                "elasticsearch://search.logging.svc:9200",
            ),
        ] {
            let mut c = crate::config::InstanceConfig::new("x", kind, url);
            c.url = forwarded_url(kind, url, local);
            crate::plugins::registry::validate_url_for(&c)
                .unwrap_or_else(|e| panic!("{kind}: {} refused: {e}", c.url));
            assert!(c.url.contains("127.0.0.1:41234"), "{}", c.url);
        }
    }
}
