//! Port-forward to a discovered instance: a loopback listener whose address stays the same for
//! the instance's life (the plugin's URL points at it), and for each connection a port-forward
//! through the API server (kube's WebSocket port-forward) to a ready pod of the instance,
//! bytes copied both ways. When the pod or its stream dies, the next connection picks a ready
//! pod again — another one after a restart — with backoff between failed attempts. The state is
//! published for the UI.
//!
//! A plugin whose protocol names other servers (Kafka's brokers advertise in-cluster addresses)
//! gives a [`Relay`]: it carries each connection instead of a byte copy and asks the forward's
//! [`Router`] for a loopback address per advertised one; the forward maps the name to a pod of
//! the instance and opens a listener of its own for it, carried by the same relay.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::{Api, Client};
use tokio::io::{AsyncRead, AsyncWrite};
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
    /// Forwarding, but the relay met something it could not do (a broker address that is no
    /// pod of the instance, a reply it could not read).
    Problem(String),
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
            ForwardState::NotAllowed(e) | ForwardState::Problem(e) => {
                format!("forward {local}: {e}")
            }
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
    /// Carries each connection instead of a byte copy (a protocol that names other servers).
    pub relay: Option<Arc<dyn Relay>>,
    /// The instance's Service, for advertised names that point at it.
    pub service: Option<String>,
}

/// A stream to a pod through the API server.
pub trait AsyncStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncStream for T {}
/// A boxed [`AsyncStream`].
pub type BoxedStream = Box<dyn AsyncStream>;

/// Carries one forwarded connection (the local socket and the stream to the pod).
pub trait Relay: Send + Sync + std::fmt::Debug {
    fn carry(
        &self,
        local: TcpStream,
        upstream: BoxedStream,
        router: Arc<dyn Router>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
}

/// What a relay asks the forward.
pub trait Router: Send + Sync {
    /// The loopback address (host, port) that reaches the server advertised as `host:port`,
    /// or `None` to leave it as it is.
    fn route(&self, host: &str, port: i32) -> Option<(String, i32)>;
    /// Something the relay could not do, for the forward's state (it stays there until
    /// [`resolved`](Router::resolved)).
    fn report(&self, problem: String);
    /// Everything the last reply named was routed: a reported problem is over.
    fn resolved(&self);
}

/// Most loopback listeners one forward opens for advertised servers.
const MAX_ROUTES: usize = 256;

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
    let shared = Arc::new_cyclic(|me| Shared {
        me: me.clone(),
        client,
        base: target.clone(),
        tx,
        stop: cancel.clone(),
        routes: Mutex::new(HashMap::new()),
    });
    tokio::spawn(serve(listener, target, shared));
    Ok(PortForward {
        local,
        state: rx,
        cancel,
    })
}

/// What the listeners of one forward share.
struct Shared {
    me: Weak<Shared>,
    client: Client,
    /// The instance's target (the advertised servers' listeners derive theirs from it).
    base: ForwardTarget,
    tx: watch::Sender<ForwardState>,
    stop: CancellationToken,
    /// Advertised `host:port` → its loopback listener.
    routes: Mutex<HashMap<(String, i32), SocketAddr>>,
}

/// Accepts connections on `listener` until the forward is dropped.
async fn serve(listener: TcpListener, target: ForwardTarget, shared: Arc<Shared>) {
    let tx = &shared.tx;
    let stop = &shared.stop;
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
            match open(&shared.client, &target, last_pod.as_deref()).await {
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
        // A problem the relay reported stays on screen until the relay says it is resolved.
        tx.send_if_modified(|s| {
            if matches!(s, ForwardState::Problem(_)) {
                return false;
            }
            *s = ForwardState::Forwarding { pod: pod.clone() };
            true
        });
        let shared = shared.clone();
        let relay = target.relay.clone();
        tokio::spawn(async move {
            let router: Arc<dyn Router> = shared.clone();
            tokio::select! {
                r = carry(sock, upstream, relay, router) => {
                    if let Err(e) = r {
                        let _ = shared.tx.send(ForwardState::Failing {
                            error: format!("stream to {pod} ended: {e}"),
                            retry_in: Duration::ZERO,
                        });
                    }
                }
                _ = shared.stop.cancelled() => {}
            }
        });
    }
}

impl Router for Shared {
    fn route(&self, host: &str, port: i32) -> Option<(String, i32)> {
        let key = (host.to_string(), port);
        if let Some(addr) = self.routes.lock().ok()?.get(&key) {
            return Some((addr.ip().to_string(), i32::from(addr.port())));
        }
        let Some(remote) = u16::try_from(port).ok().filter(|p| *p != 0) else {
            self.report(format!("a server advertises {host}:{port}, not a port"));
            return None;
        };
        let choice = pod_for_host(host, &self.base.pods, self.base.service.as_deref());
        let Some(choice) = choice else {
            self.report(format!(
                "a server advertises {host}:{port}, which is no pod of this instance ({})",
                self.base.pods.join(", ")
            ));
            return None;
        };
        let mut routes = self.routes.lock().ok()?;
        if routes.len() >= MAX_ROUTES {
            self.report(format!(
                "more than {MAX_ROUTES} advertised addresses: {host}:{port} is not forwarded"
            ));
            return None;
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|_| l))
            .and_then(TcpListener::from_std);
        let listener = match listener {
            Ok(l) => l,
            Err(e) => {
                self.report(format!("cannot listen on loopback for {host}:{port}: {e}"));
                return None;
            }
        };
        let addr = listener.local_addr().ok()?;
        let target = match choice {
            PodChoice::Pod(pod) => ForwardTarget {
                selector: String::new(),
                pods: vec![pod],
                port: remote,
                review_access: false,
                ..self.base.clone()
            },
            PodChoice::Any => ForwardTarget {
                port: remote,
                review_access: false,
                ..self.base.clone()
            },
        };
        tokio::spawn(serve(listener, target, self.me.upgrade()?));
        routes.insert(key, addr);
        Some((addr.ip().to_string(), i32::from(addr.port())))
    }

    fn report(&self, problem: String) {
        let _ = self.tx.send(ForwardState::Problem(problem));
    }

    fn resolved(&self) {
        self.tx.send_if_modified(|s| {
            if matches!(s, ForwardState::Problem(_)) {
                *s = ForwardState::Idle;
                return true;
            }
            false
        });
    }
}

/// Which pod an advertised name points at.
#[derive(Debug, Clone, PartialEq)]
pub enum PodChoice {
    Pod(String),
    /// The instance's Service: any ready pod.
    Any,
}

/// Maps an advertised host to a pod of the instance: the pod's own name, or its first DNS label
/// (a StatefulSet pod behind a headless Service: `kafka-1.kafka-headless.ns.svc.cluster.local`);
/// the Service's name → any pod; an instance of one pod takes every name. `None` otherwise.
pub fn pod_for_host(host: &str, pods: &[String], service: Option<&str>) -> Option<PodChoice> {
    let host = host.trim_end_matches('.');
    let label = host.split('.').next().unwrap_or(host);
    if let Some(p) = pods
        .iter()
        .find(|p| p.as_str() == host || p.as_str() == label)
    {
        return Some(PodChoice::Pod(p.clone()));
    }
    if service.is_some_and(|s| s == label) {
        return Some(PodChoice::Any);
    }
    match pods {
        [only] => Some(PodChoice::Pod(only.clone())),
        _ => None,
    }
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

async fn carry(
    local: TcpStream,
    (mut pf, port, errors): Upstream,
    relay: Option<Arc<dyn Relay>>,
    router: Arc<dyn Router>,
) -> Result<(), String> {
    let upstream = pf
        .take_stream(port)
        .ok_or_else(|| "the forward has no stream".to_string())?;
    let mut errors = errors;
    let outcome = {
        // The connection's bytes: a plugin's relay, or a plain copy both ways.
        let copy = async move {
            match relay {
                Some(relay) => relay.carry(local, Box::new(upstream), router).await,
                None => {
                    let (mut local, mut upstream) = (local, upstream);
                    tokio::io::copy_bidirectional(&mut local, &mut upstream)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }
            }
        };
        tokio::pin!(copy);
        loop {
            match errors.as_mut() {
                // The kubelet's message ends the connection: the stream carries nothing more.
                Some(err) => tokio::select! {
                    r = &mut copy => break r,
                    msg = err => match msg {
                        Some(m) => {
                            errors = None;
                            break Err(super::contexts::scrub(&m));
                        }
                        // Closed without a message; it must not be polled again.
                        None => errors = None,
                    },
                },
                None => break (&mut copy).await,
            }
        }
    };
    // The stream ended as the message came: the message says more than the end.
    let late = errors.and_then(futures::FutureExt::now_or_never).flatten();
    pf.abort();
    match late {
        Some(m) => Err(super::contexts::scrub(&m)),
        None => outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pods(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("kafka-{i}")).collect()
    }

    #[test]
    fn advertised_names_map_to_the_pods_behind_them() {
        let p = pods(3);
        for (host, want) in [
            (
                "kafka-1.kafka-headless.streaming.svc.cluster.local",
                Some(PodChoice::Pod("kafka-1".into())),
            ),
            (
                "kafka-2.kafka-headless.streaming.svc.cluster.local.",
                Some(PodChoice::Pod("kafka-2".into())),
            ),
            ("kafka-0", Some(PodChoice::Pod("kafka-0".into()))),
            ("kafka.streaming.svc", Some(PodChoice::Any)),
            ("kafka-10.kafka-headless", None),
            ("10.1.2.3", None),
            ("", None),
        ] {
            assert_eq!(pod_for_host(host, &p, Some("kafka")), want, "{host}");
        }
        // One broker: whatever it advertises is that pod.
        assert_eq!(
            pod_for_host("broker.example.com", &pods(1), None),
            Some(PodChoice::Pod("kafka-0".into()))
        );
    }

    /// The forward's router against hostile advertised addresses: ports out of range, names of
    /// no pod, the same name twice, more names than the cap. Nothing is dialled here.
    #[tokio::test]
    async fn hostile_advertised_addresses_are_refused_and_said() {
        let client =
            Client::try_from(kube::Config::new("http://127.0.0.1:9".parse().unwrap())).unwrap();
        let (tx, rx) = watch::channel(ForwardState::Idle);
        let shared = Arc::new_cyclic(|me| Shared {
            me: me.clone(),
            client,
            base: ForwardTarget {
                namespace: "streaming".into(),
                selector: String::new(),
                pods: pods(3),
                port: 9092,
                review_access: false,
                relay: None,
                service: None,
            },
            tx,
            stop: CancellationToken::new(),
            routes: Mutex::new(HashMap::new()),
        });
        for port in [-1, 0, 0x1_0000, i32::MIN, i32::MAX] {
            assert_eq!(shared.route("kafka-0.h", port), None, "{port}");
            assert!(
                matches!(&*rx.borrow(), ForwardState::Problem(p) if p.contains("not a port")),
                "{port}: {:?}",
                rx.borrow()
            );
        }
        assert_eq!(shared.route("卡夫卡-9.无头", 9092), None);
        assert!(
            matches!(&*rx.borrow(), ForwardState::Problem(p) if p.contains("卡夫卡-9.无头") && p.contains("kafka-0, kafka-1, kafka-2")),
            "{:?}",
            rx.borrow()
        );
        // A name is given one listener, however often it is advertised.
        let a = shared.route("kafka-1.h", 9092).unwrap();
        assert_eq!(a.0, "127.0.0.1");
        assert_eq!(shared.route("kafka-1.h", 9092), Some(a.clone()));
        shared.resolved();
        assert_eq!(*rx.borrow(), ForwardState::Idle);
        // No more than MAX_ROUTES listeners, whatever a reply names.
        let mut opened = 1;
        for port in 1..=(MAX_ROUTES as i32 + 10) {
            if shared.route("kafka-2.h", port).is_some() {
                opened += 1;
            }
        }
        assert_eq!(opened, MAX_ROUTES);
        assert!(matches!(&*rx.borrow(), ForwardState::Problem(p) if p.contains("more than")));
        shared.stop.cancel();
    }
}
