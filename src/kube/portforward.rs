//! Port-forward to a discovered instance: a loopback listener whose address stays the same for
//! the instance's life (the plugin's URL points at it), and for each connection a port-forward
//! through the API server (kube's WebSocket port-forward) to a ready pod of the instance,
//! bytes copied both ways. When the pod or its stream dies, the next connection picks a ready
//! pod again — another one after a restart — with backoff between failed attempts. The state is
//! published for the UI.

use std::net::SocketAddr;
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::{Api, Client};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::store::PodRow;

/// What the forward is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum ForwardState {
    /// Listening; no connection yet.
    Idle,
    /// The last connection went to this pod.
    Forwarding { pod: String },
    /// The last attempt failed; the next connection tries again (after `retry_in`).
    Failing { error: String, retry_in: Duration },
    /// The credentials may not port-forward (SelfSubjectAccessReview said no).
    NotAllowed(String),
}

impl ForwardState {
    /// For the inventory and the status line.
    pub fn label(&self, local: SocketAddr) -> String {
        match self {
            ForwardState::Idle => format!("forward {local} (idle)"),
            ForwardState::Forwarding { pod } => format!("forward {local} → {pod}"),
            ForwardState::Failing { error, retry_in } => format!(
                "forward {local} failing: {error} (retry in {:.0} s)",
                retry_in.as_secs_f64()
            ),
            ForwardState::NotAllowed(e) => format!("forward {local}: {e}"),
        }
    }
}

/// Which pods may carry the forward.
#[derive(Debug, Clone)]
pub struct ForwardTarget {
    pub namespace: String,
    /// `key=value,…` selecting the instance's pods (empty: `pods` only).
    pub selector: String,
    /// The instance's pods by name, in preference order.
    pub pods: Vec<String>,
    pub port: u16,
    /// Ask a SelfSubjectAccessReview first; `false` where no POST may be sent (a read-only
    /// context): a refused forward then says so when a connection opens it.
    pub review_access: bool,
}

/// A running forward.
pub struct PortForward {
    pub local: SocketAddr,
    pub state: watch::Receiver<ForwardState>,
    cancel: CancellationToken,
}

impl Drop for PortForward {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
const ATTEMPTS: u32 = 3;

/// Binds `127.0.0.1:0` and forwards every connection to a ready pod of `target`. Checks with a
/// SelfSubjectAccessReview first whether `create pods/portforward` is allowed (when
/// `target.review_access`).
pub async fn start(client: Client, target: ForwardTarget) -> Result<PortForward, String> {
    if target.review_access {
        super::access::check(
            &client,
            &super::access::Access::port_forward(&target.namespace),
        )
        .await?;
    }
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen on loopback: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on loopback: {e}"))?;
    let (tx, rx) = watch::channel(ForwardState::Idle);
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        let mut failures: u32 = 0;
        let mut last_pod: Option<String> = None;
        loop {
            let sock = tokio::select! {
                a = listener.accept() => match a { Ok((s, _)) => s, Err(_) => continue },
                _ = stop.cancelled() => return,
            };
            // One attempt series per connection: pick a ready pod (the last one while it stays
            // ready), open the forward; on failure back off and pick again.
            let mut opened = None;
            for _ in 0..ATTEMPTS {
                match open(&client, &target, last_pod.as_deref()).await {
                    Ok((pod, stream)) => {
                        failures = 0;
                        opened = Some((pod, stream));
                        break;
                    }
                    Err(e) => {
                        failures += 1;
                        last_pod = None;
                        let delay = backoff(failures);
                        let _ = tx.send(ForwardState::Failing {
                            error: e,
                            retry_in: delay,
                        });
                        tokio::select! {
                            _ = tokio::time::sleep(delay) => {}
                            _ = stop.cancelled() => return,
                        }
                    }
                }
            }
            let Some((pod, upstream)) = opened else {
                drop(sock);
                continue;
            };
            last_pod = Some(pod.clone());
            let _ = tx.send(ForwardState::Forwarding { pod: pod.clone() });
            let tx = tx.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::select! {
                    r = carry(sock, upstream) => {
                        if let Err(e) = r {
                            let _ = tx.send(ForwardState::Failing {
                                error: format!("stream to {pod} ended: {e}"),
                                retry_in: Duration::ZERO,
                            });
                        }
                    }
                    _ = stop.cancelled() => {}
                }
            });
        }
    });
    Ok(PortForward {
        local,
        state: rx,
        cancel,
    })
}

fn backoff(failures: u32) -> Duration {
    BACKOFF_BASE
        .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(16)))
        .min(BACKOFF_MAX)
}

/// The error channel of a forward: the kubelet writes why it could not reach the pod's port.
type ErrorChannel = std::pin::Pin<Box<dyn std::future::Future<Output = Option<String>> + Send>>;

type Upstream = (kube::api::Portforwarder, u16, Option<ErrorChannel>);

/// Picks a ready pod (keeping `prefer` while it is ready) and opens a forward to it.
async fn open(
    client: &Client,
    target: &ForwardTarget,
    prefer: Option<&str>,
) -> Result<(String, Upstream), String> {
    let api: Api<Pod> = Api::namespaced(client.clone(), &target.namespace);
    let mut candidates: Vec<PodRow> = if target.selector.is_empty() {
        let mut out = Vec::new();
        for name in &target.pods {
            if let Ok(p) = api.get(name).await {
                out.push(PodRow::from_pod(&p));
            }
        }
        out
    } else {
        api.list(&ListParams::default().labels(&target.selector))
            .await
            .map_err(|e| super::contexts::scrub(&super::contexts::describe(&e)))?
            .items
            .iter()
            .map(PodRow::from_pod)
            .collect()
    };
    candidates.retain(PodRow::is_ready);
    candidates.sort_by(|a, b| a.name.cmp(&b.name));
    let pod = candidates
        .iter()
        .find(|p| Some(p.name.as_str()) == prefer)
        .or_else(|| candidates.first())
        .map(|p| p.name.clone())
        .ok_or_else(|| format!("no ready pod in {}", target.namespace))?;
    let mut pf = api
        .portforward(&pod, &[target.port])
        .await
        .map_err(|e| super::contexts::scrub(&super::contexts::describe(&e)))?;
    // The kubelet reports a port it cannot reach on the error channel — usually at once; a
    // message that comes later (a slow node, a busy API server) is read when the stream ends.
    let mut errors: Option<ErrorChannel> = pf
        .take_error(target.port)
        .map(|f| Box::pin(f) as ErrorChannel);
    if let Some(err) = errors.as_mut() {
        match tokio::time::timeout(Duration::from_millis(100), err).await {
            Ok(Some(msg)) => return Err(super::contexts::scrub(&msg)),
            // Closed without a message: nothing more will come (and it must not be polled again).
            Ok(None) => errors = None,
            Err(_) => {}
        }
    }
    Ok((pod, (pf, target.port, errors)))
}

async fn carry(mut local: TcpStream, (mut pf, port, errors): Upstream) -> Result<(), String> {
    let mut upstream = pf
        .take_stream(port)
        .ok_or_else(|| "the forward has no stream".to_string())?;
    let mut errors = errors;
    let outcome = {
        let copy = tokio::io::copy_bidirectional(&mut local, &mut upstream);
        tokio::pin!(copy);
        loop {
            match errors.as_mut() {
                // The kubelet's message ends the connection: the stream carries nothing more.
                Some(err) => tokio::select! {
                    r = &mut copy => break r.map(|_| ()).map_err(|e| e.to_string()),
                    msg = err => match msg {
                        Some(m) => {
                            errors = None;
                            break Err(super::contexts::scrub(&m));
                        }
                        // Closed without a message; it must not be polled again.
                        None => errors = None,
                    },
                },
                None => break (&mut copy).await.map(|_| ()).map_err(|e| e.to_string()),
            }
        }
    };
    // The stream ended as the message came: the message says more than the end.
    let late = errors.and_then(futures::FutureExt::now_or_never).flatten();
    drop(upstream);
    pf.abort();
    match late {
        Some(m) => Err(super::contexts::scrub(&m)),
        None => outcome,
    }
}
