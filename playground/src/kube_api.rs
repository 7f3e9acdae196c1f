//! An in-process Kubernetes API server, for what a real kube-apiserver cannot be made to do on
//! demand and for the demo (no Go build): this hyper HTTP/1.1 server speaks the parts of the real
//! wire format the program uses — `/version`, paginated lists with `continue`, chunked watch
//! streams (ADDED / MODIFIED / DELETED / BOOKMARK, and `410 Gone` for a resourceVersion older
//! than its history), single objects, pod log streams with `follow`, `sinceTime`, `tailLines`,
//! `previous` and timestamps, the port-forward WebSocket upgrade (`v4.channel.k8s.io`: an
//! initial port frame on the data and the error channel, then `[channel, bytes…]` frames)
//! carried to a real TCP address, Secrets, SelfSubjectAccessReview and `metrics.k8s.io`. Objects
//! are k8s-openapi types serialised by serde. Faults: 401 without the bearer token, 403, slow
//! replies, streams dropped mid-way, malformed objects. Every request is recorded (without
//! bodies).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, watch};

mod streams;

/// The kinds the server keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Pod,
    StatefulSet,
    Deployment,
    Service,
    Event,
    Secret,
}

impl Kind {
    fn from_plural(group: &str, plural: &str) -> Option<Kind> {
        Some(match (group, plural) {
            ("", "pods") => Kind::Pod,
            ("", "services") => Kind::Service,
            ("", "events") => Kind::Event,
            ("", "secrets") => Kind::Secret,
            ("apps", "statefulsets") => Kind::StatefulSet,
            ("apps", "deployments") => Kind::Deployment,
            _ => return None,
        })
    }

    fn list_kind(self) -> (&'static str, &'static str) {
        match self {
            Kind::Pod => ("v1", "PodList"),
            Kind::Service => ("v1", "ServiceList"),
            Kind::Event => ("v1", "EventList"),
            Kind::Secret => ("v1", "SecretList"),
            Kind::StatefulSet => ("apps/v1", "StatefulSetList"),
            Kind::Deployment => ("apps/v1", "DeploymentList"),
        }
    }

    fn of(value: &Value) -> Option<Kind> {
        Some(match value.get("kind")?.as_str()? {
            "Pod" => Kind::Pod,
            "Service" => Kind::Service,
            "Event" => Kind::Event,
            "Secret" => Kind::Secret,
            "StatefulSet" => Kind::StatefulSet,
            "Deployment" => Kind::Deployment,
            _ => return None,
        })
    }
}

/// A fault the next replies have.
#[derive(Debug, Clone, PartialEq)]
pub enum KubeFault {
    None,
    /// 403 Forbidden for every list and watch.
    Forbidden,
    /// Each reply waits this long first.
    Slow(Duration),
    /// Lists carry one extra pod item whose `spec` is a string.
    MalformedPod,
}

/// A change, as a watch stream sends it.
#[derive(Debug, Clone)]
struct Change {
    rv: u64,
    kind: Kind,
    namespace: String,
    kind_of_event: &'static str,
    object: Arc<Value>,
}

type Key = (Kind, String, String);

#[derive(Debug, Default)]
struct PodLog {
    current: Vec<(chrono::DateTime<chrono::Utc>, String)>,
    previous: Vec<(chrono::DateTime<chrono::Utc>, String)>,
}

struct Model {
    rv: u64,
    objects: BTreeMap<Key, Arc<Value>>,
    history: VecDeque<Change>,
    /// Watches from a resourceVersion below this get `410 Gone`.
    compacted_below: u64,
    history_limit: usize,
    logs: HashMap<(String, String), PodLog>,
    forwards: HashMap<(String, String), SocketAddr>,
    metrics: Option<HashMap<(String, String), (String, String)>>,
    /// `(verb, resource[/subresource])` the credentials may not do.
    denied: HashSet<(String, String)>,
    fault: KubeFault,
    requests: Vec<String>,
}

struct Shared {
    model: Mutex<Model>,
    changes: broadcast::Sender<Change>,
    logs: broadcast::Sender<(String, String)>,
    /// Bumped to drop every open watch and log stream.
    drops: watch::Sender<u64>,
    token: Option<String>,
    bookmark_every: Duration,
}

/// The running server.
#[derive(Clone)]
pub struct KubeApi {
    shared: Arc<Shared>,
    pub port: u16,
}

type Body = BoxBody<Bytes, Infallible>;

fn full(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body.into()).boxed())
        .expect("static response")
}

fn status(code: u16, reason: &str, message: &str) -> Response<Body> {
    let s = Status {
        code: Some(i32::from(code)),
        message: Some(message.to_string()),
        reason: Some(reason.to_string()),
        status: Some("Failure".into()),
        ..Default::default()
    };
    let mut v = serde_json::to_value(&s).unwrap_or_default();
    v["kind"] = json!("Status");
    v["apiVersion"] = json!("v1");
    full(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        v.to_string(),
    )
}

fn query(req: &Request<Incoming>) -> HashMap<String, String> {
    req.uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default()
}

fn meta<'a>(v: &'a Value, field: &str) -> &'a str {
    v.pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// A streaming body fed by a channel.
fn channel_body(rx: mpsc::Receiver<Bytes>) -> Body {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    BodyExt::boxed(StreamBody::new(stream))
}

fn plural_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Pod => "pods",
        Kind::Service => "services",
        Kind::Event => "events",
        Kind::Secret => "secrets",
        Kind::StatefulSet => "statefulsets",
        Kind::Deployment => "deployments",
    }
}

/// RFC 7386: objects merge key by key, `null` removes, anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (_, Some(p)) => {
            *target = Value::Object(Default::default());
            merge_patch(target, &Value::Object(p.clone()));
        }
        _ => *target = patch.clone(),
    }
}

/// What a request path names.
#[derive(Debug)]
struct Target {
    kind: Kind,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn parse_path(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", g, "v1", rest @ ..] => (*g, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest),
        _ => (None, rest),
    };
    let (plural, name, sub) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(name.to_string()), None),
        [plural, name, sub] => (*plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return None,
    };
    Some(Target {
        kind: Kind::from_plural(group, plural)?,
        namespace,
        name,
        subresource: sub,
    })
}

impl KubeApi {
    /// Starts a server that accepts any request (no bearer token required).
    pub async fn start() -> KubeApi {
        Self::start_with(None).await
    }

    /// Starts a server that answers 401 unless requests carry `Authorization: Bearer TOKEN`.
    pub async fn start_with(token: Option<&str>) -> KubeApi {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let port = listener.local_addr().expect("local addr").port();
        let (changes, _) = broadcast::channel(65_536);
        let (logs, _) = broadcast::channel(4096);
        let (drops, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            model: Mutex::new(Model {
                rv: 1000,
                objects: BTreeMap::new(),
                history: VecDeque::new(),
                compacted_below: 0,
                history_limit: 50_000,
                logs: HashMap::new(),
                forwards: HashMap::new(),
                metrics: None,
                denied: HashSet::new(),
                fault: KubeFault::None,
                requests: Vec::new(),
            }),
            changes,
            logs,
            drops,
            token: token.map(str::to_string),
            bookmark_every: Duration::from_secs(2),
        });
        let server = KubeApi { shared, port };
        let accept = server.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let api = accept.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let api = api.clone();
                        async move { Ok::<_, Infallible>(api.handle(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(sock), svc)
                        .with_upgrades()
                        .await;
                });
            }
        });
        server
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A kubeconfig file with one context `name` pointing at this server (with the bearer
    /// token when the server wants one), `namespace` as its default namespace.
    pub fn write_kubeconfig(
        &self,
        path: &std::path::Path,
        name: &str,
        namespace: &str,
    ) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig_yaml(name, namespace))
    }

    /// The same kubeconfig in memory (for a client without a file).
    pub fn kubeconfig(&self, name: &str, namespace: &str) -> kube::config::Kubeconfig {
        kube::config::Kubeconfig::from_yaml(&self.kubeconfig_yaml(name, namespace))
            .expect("the kubeconfig this server writes parses")
    }

    fn kubeconfig_yaml(&self, name: &str, namespace: &str) -> String {
        let token = self
            .shared
            .token
            .as_deref()
            .map(|t| format!("\n    token: {t}"))
            .unwrap_or_default();
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {name}\nclusters:\n- name: {name}\n  cluster:\n    server: {}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}\n    namespace: {namespace}\nusers:\n- name: {name}\n  user:{}\n",
            self.url(),
            if token.is_empty() { " {}" } else { &token }
        )
    }

    fn with<R>(&self, f: impl FnOnce(&mut Model) -> R) -> R {
        f(&mut self.shared.model.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Adds or replaces an object (ADDED or MODIFIED on the watches).
    pub fn apply<K: serde::Serialize>(&self, object: &K) {
        let value = serde_json::to_value(object).expect("serialisable object");
        self.apply_value(value);
    }

    /// Adds or replaces an object given as JSON (its `kind` decides where it goes).
    pub fn apply_value(&self, mut value: Value) {
        let Some(kind) = Kind::of(&value) else {
            return;
        };
        let ns = meta(&value, "namespace").to_string();
        let name = meta(&value, "name").to_string();
        self.with(|m| {
            m.rv += 1;
            value["metadata"]["resourceVersion"] = json!(m.rv.to_string());
            if value.pointer("/metadata/uid").is_none() {
                value["metadata"]["uid"] = json!(format!("uid-{}", m.rv));
            }
            let object = Arc::new(value);
            let key = (kind, ns.clone(), name);
            let event = if m.objects.insert(key, object.clone()).is_some() {
                "MODIFIED"
            } else {
                "ADDED"
            };
            self.record(m, kind, ns, event, object);
        });
    }

    /// Deletes an object (DELETED on the watches).
    pub fn delete(&self, kind: Kind, namespace: &str, name: &str) -> bool {
        self.with(|m| {
            let Some(old) = m
                .objects
                .remove(&(kind, namespace.to_string(), name.to_string()))
            else {
                return false;
            };
            m.rv += 1;
            let mut v = (*old).clone();
            v["metadata"]["resourceVersion"] = json!(m.rv.to_string());
            self.record(m, kind, namespace.to_string(), "DELETED", Arc::new(v));
            true
        })
    }

    /// Removes an object without any watch event, as if its DELETED fell in a gap while the
    /// client was away; only a re-list shows it is gone.
    pub fn delete_unseen(&self, kind: Kind, namespace: &str, name: &str) -> bool {
        self.with(|m| {
            m.rv += 1;
            m.objects
                .remove(&(kind, namespace.to_string(), name.to_string()))
                .is_some()
        })
    }

    fn record(
        &self,
        m: &mut Model,
        kind: Kind,
        namespace: String,
        event: &'static str,
        object: Arc<Value>,
    ) {
        let change = Change {
            rv: m.rv,
            kind,
            namespace,
            kind_of_event: event,
            object,
        };
        m.history.push_back(change.clone());
        while m.history.len() > m.history_limit {
            if let Some(old) = m.history.pop_front() {
                m.compacted_below = old.rv + 1;
            }
        }
        let _ = self.shared.changes.send(change);
    }

    /// Forgets the change history (as etcd compaction does): a watch resumed from an older
    /// resourceVersion now gets `410 Gone`, and the client must list again.
    pub fn compact(&self) {
        self.with(|m| {
            m.history.clear();
            m.compacted_below = m.rv + 1;
        });
    }

    /// Drops every open watch, log stream and port-forward mid-way (the connection ends).
    pub fn drop_streams(&self) {
        self.shared.drops.send_modify(|g| *g += 1);
    }

    pub fn set_fault(&self, fault: KubeFault) {
        self.with(|m| m.fault = fault);
    }

    /// Serves `metrics.k8s.io` with these `(namespace, pod) → (cpu, memory)` figures, or not at
    /// all (404 on the group, as on a cluster without metrics-server).
    pub fn set_metrics(&self, metrics: Option<HashMap<(String, String), (String, String)>>) {
        self.with(|m| m.metrics = metrics);
    }

    /// Makes SelfSubjectAccessReview deny `verb` on `resource` (`pods/portforward` …).
    pub fn deny(&self, verb: &str, resource: &str) {
        self.with(|m| m.denied.insert((verb.into(), resource.into())));
    }

    /// Where a port-forward to this pod is carried (a real server's address).
    pub fn set_forward(&self, namespace: &str, pod: &str, to: SocketAddr) {
        self.with(|m| m.forwards.insert((namespace.into(), pod.into()), to));
    }

    /// Appends a line to a pod's log (followers get it at once).
    pub fn log(&self, namespace: &str, pod: &str, at: chrono::DateTime<chrono::Utc>, line: &str) {
        self.with(|m| {
            m.logs
                .entry((namespace.into(), pod.into()))
                .or_default()
                .current
                .push((at, line.to_string()))
        });
        let _ = self.shared.logs.send((namespace.into(), pod.into()));
    }

    /// Appends many lines at once, each `(namespace, pod, at, line)`: one lock, and one wake-up
    /// per pod, so a driver can write thousands of lines a second without the server's own
    /// bookkeeping being what limits the rate (benches/log_pipeline.rs).
    pub fn log_batch(&self, lines: &[(String, String, chrono::DateTime<chrono::Utc>, String)]) {
        let mut pods: Vec<(String, String)> = Vec::new();
        self.with(|m| {
            for (namespace, pod, at, line) in lines {
                m.logs
                    .entry((namespace.clone(), pod.clone()))
                    .or_default()
                    .current
                    .push((*at, line.clone()));
                let key = (namespace.clone(), pod.clone());
                if !pods.contains(&key) {
                    pods.push(key);
                }
            }
        });
        for key in pods {
            let _ = self.shared.logs.send(key);
        }
    }

    /// Sets the log of the pod's previous container.
    pub fn previous_log(
        &self,
        namespace: &str,
        pod: &str,
        lines: &[(chrono::DateTime<chrono::Utc>, &str)],
    ) {
        self.with(|m| {
            m.logs
                .entry((namespace.into(), pod.into()))
                .or_default()
                .previous = lines.iter().map(|(t, l)| (*t, l.to_string())).collect()
        });
    }

    /// Every request so far as `METHOD path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.with(|m| m.requests.clone())
    }

    /// An object as stored now.
    pub fn object(&self, kind: Kind, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.with(|m| {
            m.objects
                .get(&(kind, namespace.to_string(), name.to_string()))
                .cloned()
        })
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.with(|m| m.rv)
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        let line = format!(
            "{} {}",
            req.method(),
            req.uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/")
        );
        let fault = self.with(|m| {
            m.requests.push(line);
            m.fault.clone()
        });
        if let KubeFault::Slow(d) = fault {
            tokio::time::sleep(d).await;
        }
        if let Some(token) = &self.shared.token {
            let ok = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v == format!("Bearer {token}"));
            if !ok {
                return status(401, "Unauthorized", "Unauthorized");
            }
        }
        let path = req.uri().path().to_string();
        match (req.method().clone(), path.as_str()) {
            (Method::GET, "/version") => full(
                StatusCode::OK,
                json!({"major":"1","minor":"31","gitVersion":"v1.31.2","gitCommit":"","gitTreeState":"clean","buildDate":"2024-10-22T20:28:14Z","goVersion":"go1.22.8","compiler":"gc","platform":"linux/amd64"}).to_string(),
            ),
            (Method::GET, "/api") => full(StatusCode::OK, self.core_versions()),
            (Method::GET, "/apis") => full(StatusCode::OK, self.api_groups()),
            (Method::POST, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") => {
                self.access_review(req).await
            }
            (Method::GET, p) if p.starts_with("/apis/metrics.k8s.io/v1beta1") => self.metrics(p),
            (method, p) => match parse_path(p) {
                Some(t) => self.resource(method, t, req, fault).await,
                None => status(404, "NotFound", &format!("the server could not find {p}")),
            },
        }
    }

    /// `GET /api`: the core group's versions (discovery).
    fn core_versions(&self) -> String {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIVersions;
        let v = APIVersions {
            versions: vec!["v1".into()],
            server_address_by_client_cidrs: Vec::new(),
        };
        let mut j = serde_json::to_value(&v).unwrap_or_default();
        j["kind"] = json!("APIVersions");
        j.to_string()
    }

    /// `GET /apis`: the groups served (discovery); `metrics.k8s.io` only while metrics are on,
    /// as on a cluster with or without metrics-server.
    fn api_groups(&self) -> String {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
            APIGroup, APIGroupList, GroupVersionForDiscovery,
        };
        let group = |name: &str, version: &str| {
            let gv = GroupVersionForDiscovery {
                group_version: format!("{name}/{version}"),
                version: version.into(),
            };
            APIGroup {
                name: name.into(),
                preferred_version: Some(gv.clone()),
                versions: vec![gv],
                server_address_by_client_cidrs: None,
            }
        };
        let mut groups = vec![group("apps", "v1"), group("authorization.k8s.io", "v1")];
        if self.with(|m| m.metrics.is_some()) {
            groups.push(group("metrics.k8s.io", "v1beta1"));
        }
        let mut j = serde_json::to_value(&APIGroupList { groups }).unwrap_or_default();
        j["kind"] = json!("APIGroupList");
        j["apiVersion"] = json!("v1");
        j.to_string()
    }

    async fn access_review(&self, req: Request<Incoming>) -> Response<Body> {
        let Ok(body) = req.into_body().collect().await else {
            return status(400, "BadRequest", "unreadable body");
        };
        let Ok(mut review) = serde_json::from_slice::<Value>(&body.to_bytes()) else {
            return status(400, "BadRequest", "not a SelfSubjectAccessReview");
        };
        let attrs = review
            .pointer("/spec/resourceAttributes")
            .cloned()
            .unwrap_or_default();
        let verb = attrs["verb"].as_str().unwrap_or("").to_string();
        let mut resource = attrs["resource"].as_str().unwrap_or("").to_string();
        if let Some(sub) = attrs["subresource"].as_str().filter(|s| !s.is_empty()) {
            resource = format!("{resource}/{sub}");
        }
        let denied = self.with(|m| m.denied.contains(&(verb, resource)));
        review["status"] =
            json!({"allowed": !denied, "reason": if denied {"denied by the test RBAC"} else {""}});
        full(StatusCode::CREATED, review.to_string())
    }

    fn metrics(&self, path: &str) -> Response<Body> {
        let Some(metrics) = self.with(|m| m.metrics.clone()) else {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        };
        let ns = path
            .strip_prefix("/apis/metrics.k8s.io/v1beta1/namespaces/")
            .and_then(|r| r.split('/').next());
        // Written as metrics-server writes it, not with the client's own types: a client that
        // misread the wire format must fail here rather than agree with itself.
        let items: Vec<Value> = metrics
            .iter()
            .filter(|((n, _), _)| ns.is_none_or(|x| x == n))
            .map(|((n, p), (cpu, mem))| {
                json!({
                    "metadata": {"name": p, "namespace": n},
                    "window": "30s",
                    "containers": [{"name": "main", "usage": {"cpu": cpu, "memory": mem}}],
                })
            })
            .collect();
        let list = json!({
            "kind": "PodMetricsList",
            "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {},
            "items": items,
        });
        full(StatusCode::OK, list.to_string())
    }

    async fn resource(
        &self,
        method: Method,
        t: Target,
        req: Request<Incoming>,
        fault: KubeFault,
    ) -> Response<Body> {
        if fault == KubeFault::Forbidden {
            return status(
                403,
                "Forbidden",
                "pods is forbidden: User \"test\" cannot list resource",
            );
        }
        let q = query(&req);
        match (method, &t.name, t.subresource.as_deref()) {
            (Method::GET, None, None)
                if q.get("watch").is_some_and(|w| w == "true" || w == "1") =>
            {
                self.watch(&t, &q)
            }
            (Method::GET, None, None) => self.list(&t, &q, fault),
            (Method::GET, Some(name), None) => {
                let key = (
                    t.kind,
                    t.namespace.clone().unwrap_or_default(),
                    name.clone(),
                );
                match self.with(|m| m.objects.get(&key).cloned()) {
                    Some(v) => full(StatusCode::OK, v.to_string()),
                    None => status(404, "NotFound", &format!("{name} not found")),
                }
            }
            (Method::GET, Some(name), Some("log")) if t.kind == Kind::Pod => {
                self.pod_log(t.namespace.unwrap_or_default(), name.clone(), &q)
            }
            (Method::PATCH, Some(name), None) => {
                let name = name.clone();
                self.patch(t, name, q, req).await
            }
            (Method::DELETE, Some(name), None) => {
                let (ns, name) = (t.namespace.clone().unwrap_or_default(), name.clone());
                // DeleteOptions come in the body (`{"dryRun":["All"]}`), or as a query.
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let options: Value = serde_json::from_slice(&body).unwrap_or_default();
                let dry = q.get("dryRun").is_some_and(|d| d == "All")
                    || options["dryRun"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|v| v == "All"));
                if self.with(|m| {
                    m.denied
                        .contains(&("delete".to_string(), plural_of(t.kind).to_string()))
                }) {
                    return status(
                        403,
                        "Forbidden",
                        &format!(
                            "{} \"{name}\" is forbidden: cannot delete",
                            plural_of(t.kind)
                        ),
                    );
                }
                let Some(obj) =
                    self.with(|m| m.objects.get(&(t.kind, ns.clone(), name.clone())).cloned())
                else {
                    return status(404, "NotFound", &format!("{name} not found"));
                };
                if !dry {
                    self.delete(t.kind, &ns, &name);
                }
                full(StatusCode::OK, obj.to_string())
            }
            (_, Some(name), Some("portforward")) if t.kind == Kind::Pod => {
                self.port_forward(t.namespace.unwrap_or_default(), name.clone(), &q, req)
            }
            _ => status(405, "MethodNotAllowed", "not served by the test API server"),
        }
    }

    /// A JSON merge patch (RFC 7386), stored unless `dryRun=All`.
    async fn patch(
        &self,
        t: Target,
        name: String,
        q: HashMap<String, String>,
        req: Request<Incoming>,
    ) -> Response<Body> {
        let ns = t.namespace.clone().unwrap_or_default();
        if self.with(|m| {
            m.denied
                .contains(&("patch".to_string(), plural_of(t.kind).to_string()))
        }) {
            return status(
                403,
                "Forbidden",
                &format!(
                    "{} \"{name}\" is forbidden: cannot patch",
                    plural_of(t.kind)
                ),
            );
        }
        let Ok(body) = req.into_body().collect().await else {
            return status(400, "BadRequest", "unreadable body");
        };
        let Ok(patch) = serde_json::from_slice::<Value>(&body.to_bytes()) else {
            return status(400, "BadRequest", "the patch is not JSON");
        };
        let Some(current) =
            self.with(|m| m.objects.get(&(t.kind, ns.clone(), name.clone())).cloned())
        else {
            return status(404, "NotFound", &format!("{name} not found"));
        };
        let mut merged = (*current).clone();
        merge_patch(&mut merged, &patch);
        if q.get("dryRun").is_some_and(|d| d == "All") {
            return full(StatusCode::OK, merged.to_string());
        }
        self.apply_value(merged);
        let stored = self.with(|m| m.objects.get(&(t.kind, ns, name)).cloned());
        full(
            StatusCode::OK,
            stored.map(|v| v.to_string()).unwrap_or_default(),
        )
    }

    fn list(&self, t: &Target, q: &HashMap<String, String>, fault: KubeFault) -> Response<Body> {
        let limit: usize = q
            .get("limit")
            .and_then(|l| l.parse().ok())
            .filter(|l| *l > 0)
            .unwrap_or(usize::MAX);
        let start: usize = q
            .get("continue")
            .and_then(|c| c.split_once(':'))
            .and_then(|(_, o)| o.parse().ok())
            .unwrap_or(0);
        let (items, rv, more) = self.with(|m| {
            let all: Vec<&Arc<Value>> = m
                .objects
                .iter()
                .filter(|((k, ns, _), _)| {
                    *k == t.kind && t.namespace.as_ref().is_none_or(|n| n == ns)
                })
                .map(|(_, v)| v)
                .filter(|v| selects(q.get("labelSelector").map(String::as_str), v))
                .collect();
            let page: Vec<Value> = all
                .iter()
                .skip(start)
                .take(limit)
                .map(|v| (***v).clone())
                .collect();
            let more = start.saturating_add(limit) < all.len();
            (page, m.rv, more)
        });
        let mut items = items;
        if fault == KubeFault::MalformedPod && t.kind == Kind::Pod && start == 0 {
            items.push(json!({"apiVersion":"v1","kind":"Pod","metadata":{"name":"broken","namespace":"default"},"spec":"not an object"}));
        }
        let (api_version, kind) = t.kind.list_kind();
        let mut metadata = json!({ "resourceVersion": rv.to_string() });
        if more {
            metadata["continue"] = json!(format!("{rv}:{}", start + limit));
        }
        full(
            StatusCode::OK,
            json!({"apiVersion": api_version, "kind": kind, "metadata": metadata, "items": items})
                .to_string(),
        )
    }
}

/// Whether `object`'s labels satisfy an equality-based label selector (`k=v`, `k==v`, `k!=v`,
/// `k`, `!k`, comma-separated): a port-forward picks a pod of its own workload among many.
fn selects(selector: Option<&str>, object: &Value) -> bool {
    let Some(selector) = selector.filter(|s| !s.is_empty()) else {
        return true;
    };
    let labels = object.pointer("/metadata/labels");
    let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    selector.split(',').map(str::trim).all(|term| {
        if let Some((k, v)) = term.split_once("!=") {
            label(k.trim()) != Some(v.trim())
        } else if let Some((k, v)) = term.split_once('=') {
            label(k.trim()) == Some(v.trim_start_matches('=').trim())
        } else if let Some(k) = term.strip_prefix('!') {
            label(k.trim()).is_none()
        } else {
            label(term).is_some()
        }
    })
}
