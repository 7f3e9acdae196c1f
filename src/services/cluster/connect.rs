//! Reaching a discovered instance from outside the cluster, shared by the cockpit's attach and
//! the command line's `k8s://CONTEXT/NAMESPACE/NAME` targets and `health --context`: its
//! in-cluster config, its login from a Secret, a port-forward to a ready pod, and a one-time
//! listing of a cluster's namespaces into a store.

use std::time::Duration;

use kube::Client;
use kube::config::Kubeconfig;

use crate::config::{AppConfig, InstanceConfig, SecretValue};
use crate::kube::portforward::{ForwardTarget, PortForward};
use crate::kube::store::ClusterStore;
use crate::kube::{Discovered, NamespaceScope, client_for, spawn_watchers};
use crate::plugins::plugin_for;

/// The URL a discovered instance has inside the cluster (its Service, else its first pod);
/// pointed at the port-forward when connecting.
pub fn in_cluster_url(found: &Discovered) -> String {
    let host = match &found.service {
        Some(s) => format!("{s}.{}.svc", found.namespace),
        None => format!(
            "{}.{}.pod",
            found
                .pods
                .first()
                .map_or(found.name.as_str(), String::as_str),
            found.namespace
        ),
    };
    plugin_for(found.kind)
        .descriptor()
        .in_cluster_url(&host, found.port)
}

/// The config of a discovered instance of `context`: named `namespace/name`, grouped by
/// context and namespace, pinned to the context (repairs follow `safety.read_only_contexts`).
pub fn discovered_config(context: &str, found: &Discovered) -> InstanceConfig {
    InstanceConfig {
        group: Some(format!("{context} › {}", found.namespace)),
        context: Some(context.to_string()),
        ..InstanceConfig::new(
            format!("{}/{}", found.namespace, found.name),
            found.kind,
            in_cluster_url(found),
        )
    }
}

/// Connects a discovered instance: the login of the matching `kubernetes.credentials` rule
/// (its password read from the Secret it names) and a port-forward to a ready pod; `config`
/// gets the login and the forward's loopback URL. The forward lives as long as the value
/// returned. Access reviews (POSTs) are sent only when `access_reviews`.
pub async fn connect_discovered(
    client: &Client,
    context: &str,
    found: &Discovered,
    config: &mut InstanceConfig,
    app: &AppConfig,
    access_reviews: bool,
) -> Result<PortForward, String> {
    if let Some(cred) =
        app.kubernetes
            .credential_for(context, &found.namespace, &found.name, found.kind)
    {
        if let Some(user) = &cred.username {
            config.username = Some(user.clone());
        }
        if let Some(r) = &cred.password_secret {
            let ns = r
                .namespace
                .clone()
                .unwrap_or_else(|| found.namespace.clone());
            let pw = crate::kube::secret::read_secret(client, &ns, &r.name, &r.key, access_reviews)
                .await?;
            config.password_value = Some(SecretValue(pw));
        }
    }
    let target = ForwardTarget {
        namespace: found.namespace.clone(),
        selector: found.selector.clone(),
        pods: found.pods.clone(),
        port: found.port,
        review_access: access_reviews,
        relay: plugin_for(found.kind).forward_relay(),
        service: found.service.clone(),
    };
    let forward = crate::kube::portforward::start(client.clone(), target).await?;
    config.url = super::forwarded_url(found.kind, &config.url, forward.local);
    Ok(forward)
}

/// The namespaces `scope` of `context` listed once (pods, workloads, Services, events), as the
/// cockpit's watchers list them: the store when every list is complete, or what went wrong.
/// A cluster gives up when no object arrives for `timeout` (a server that hangs, or refuses and
/// is retried), never merely for being large — and in any case after twenty times `timeout`.
/// Also the client, for connecting what is found.
pub async fn list_cluster(
    kubeconfig: Kubeconfig,
    context: &str,
    scope: &NamespaceScope,
    timeout: Duration,
) -> Result<(Client, ClusterStore), String> {
    let client = client_for(kubeconfig, context, timeout, None)
        .await
        .map_err(|e| format!("context {context}: {e}"))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let cancel = tokio_util::sync::CancellationToken::new();
    let _stop = cancel.clone().drop_guard();
    spawn_watchers(client.clone(), scope, tx, cancel);
    let mut store = ClusterStore::default();
    let start = tokio::time::Instant::now();
    let cap = start + timeout * 20;
    let mut idle_until = start + timeout;
    while !store.is_synced() {
        match tokio::time::timeout_at(idle_until.min(cap), rx.recv()).await {
            Ok(Some(batch)) => {
                // Progress is an object or a completed list — not a watcher's error or a list
                // (re)starting, which a refusing server gives on every retry, nor the metrics
                // poller's answer (it says "absent" even of a server that refuses).
                if batch.iter().any(|u| {
                    !matches!(
                        u,
                        crate::kube::StoreUpdate::WatchError(..)
                            | crate::kube::StoreUpdate::Relist(..)
                            | crate::kube::StoreUpdate::Metrics(..)
                    )
                }) {
                    idle_until = tokio::time::Instant::now() + timeout;
                }
                batch.into_iter().for_each(|u| store.apply(u));
            }
            Ok(None) | Err(_) => break,
        }
    }
    if store.is_synced() {
        return Ok((client, store));
    }
    let errors: Vec<String> = store
        .errors
        .iter()
        .map(|(r, e)| format!("{}: {e}", r.plural()))
        .collect();
    Err(if errors.is_empty() {
        format!(
            "context {context}: the server sent nothing for {:.0} s before the lists completed",
            timeout.as_secs_f64()
        )
    } else {
        format!("context {context}: {}", errors.join("; "))
    })
}
