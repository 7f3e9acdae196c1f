//! A real Kubernetes control plane for the tests: kube-apiserver and etcd built from their Go
//! modules by `scripts/kube/build` (which `scripts/test` runs and exports as
//! `KUBESTACK_KUBE_BIN`), started by `scripts/kube/start-cluster --attached` on free loopback
//! ports — static-token users `admin` (system:masters), `viewer` (RBAC `view` only) and `nobody`,
//! `--authorization-mode=RBAC`, an audit log of every request at level Request (the witness of
//! what a client sent), and a kubelet stand-in registered as Node `node-1` that serves pod logs
//! and port-forwards the apiserver proxies to it.
//!
//! One cluster per test binary, started on first use; each test works in namespaces of its own.
//! The script stays in the foreground until its stdin — held here for the life of the test
//! process — closes, then stops every process it started, so nothing outlives the tests.
//! Missing binaries fail the test (never a silent skip).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret, Service};
use kube::api::{Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client};
use kubestack_playground::kube_objects::{self as obj, PodHealth};
use serde_json::{Value, json};

/// The running cluster.
pub struct RealKube {
    /// The cluster's directory: kubeconfig, audit.log, the processes' logs, kubelet/.
    pub dir: PathBuf,
    pub url: String,
    /// `kube-apiserver --version`, e.g. `v1.37.2`.
    pub version: String,
    /// From the first process started to every user, binding and the node being in place.
    pub started_in: Duration,
    env: Vec<(String, String)>,
    _guard: Mutex<(Child, ChildStdin)>,
    _tmp: tempfile::TempDir,
}

static CLUSTER: OnceLock<RealKube> = OnceLock::new();

/// The bin directory: `KUBESTACK_KUBE_BIN`, else the cache `scripts/kube/build` fills for the
/// release its go.mod names.
pub fn bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("KUBESTACK_KUBE_BIN") {
        return PathBuf::from(dir);
    }
    let gomod = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kube/go.mod");
    let text = fs::read_to_string(&gomod).unwrap_or_default();
    let version = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("k8s.io/kubernetes "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no k8s.io/kubernetes version in {}", gomod.display()))
        .to_string();
    let cache = std::env::var("KUBESTACK_KUBE_CACHE").map_or_else(
        |_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/kubestack-ai/kube")
        },
        PathBuf::from,
    );
    cache.join(version).join("bin")
}

/// The shared cluster, started on first call.
pub fn cluster() -> &'static RealKube {
    CLUSTER.get_or_init(RealKube::start)
}

impl RealKube {
    fn start() -> RealKube {
        let bin = bin_dir();
        for b in ["kube-apiserver", "etcd", "kubelet-standin"] {
            assert!(
                bin.join(b).is_file(),
                "no {b} in {} — run scripts/kube/build (scripts/test does) or set KUBESTACK_KUBE_BIN",
                bin.display()
            );
        }
        let tmp = tempfile::Builder::new()
            .prefix("kubestack-kube-")
            .tempdir()
            .expect("temp dir");
        let dir = tmp.path().to_path_buf();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kube/start-cluster");
        let log = fs::File::create(dir.join("start.log")).expect("start.log");
        let started = Instant::now();
        let mut child = Command::new("bash")
            .arg(&script)
            .arg("--attached")
            .arg(&dir)
            .env("KUBESTACK_KUBE_BIN", &bin)
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("start.log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stdin = child.stdin.take().expect("piped stdin");
        let deadline = Instant::now() + Duration::from_secs(240);
        while !dir.join("ready").exists() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "scripts/kube/start-cluster exited ({status}):\n{}",
                    fs::read_to_string(dir.join("start.log")).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "the real Kubernetes API server was not ready in 240 s:\n{}",
                fs::read_to_string(dir.join("start.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let started_in = started.elapsed();
        let env: Vec<(String, String)> = fs::read_to_string(dir.join("env"))
            .expect("the cluster's env file")
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let get = |k: &str| {
            env.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("no {k} in the cluster's env file"))
        };
        let kube = RealKube {
            url: get("KUBE_API_URL"),
            version: get("KUBE_VERSION"),
            started_in,
            dir,
            env,
            _guard: Mutex::new((child, stdin)),
            _tmp: tmp,
        };
        eprintln!(
            "real Kubernetes API server {} at {} ready in {:.1} s (files in {})",
            kube.version,
            kube.url,
            kube.started_in.as_secs_f64(),
            kube.dir.display()
        );
        kube
    }

    fn env(&self, key: &str) -> String {
        self.env
            .iter()
            .find(|(n, _)| n == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// The static token of `admin`, `viewer` or `nobody`.
    pub fn token(&self, user: &str) -> String {
        self.env(&format!("KUBE_{}_TOKEN", user.to_ascii_uppercase()))
    }

    /// A kubeconfig with one context per `(context, user, namespace)`, the first current.
    pub fn kubeconfig_text(&self, contexts: &[(&str, &str, &str)]) -> String {
        use base64::Engine;
        let ca = fs::read(self.dir.join("ca.crt")).expect("ca.crt");
        let ca = base64::engine::general_purpose::STANDARD.encode(ca);
        let mut users: Vec<&str> = contexts.iter().map(|c| c.1).collect();
        users.sort_unstable();
        users.dedup();
        let mut out = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n  - name: real\n    cluster: {{server: \"{}\", certificate-authority-data: \"{ca}\"}}\nusers:\n",
            self.url
        );
        for u in users {
            out.push_str(&format!(
                "  - {{name: {u}, user: {{token: \"{}\"}}}}\n",
                self.token(u)
            ));
        }
        out.push_str("contexts:\n");
        for (name, user, ns) in contexts {
            out.push_str(&format!(
                "  - {{name: {name}, context: {{cluster: real, user: {user}, namespace: {ns}}}}}\n"
            ));
        }
        out.push_str(&format!("current-context: {}\n", contexts[0].0));
        out
    }

    /// A kubeconfig whose one context `ctx` signs in with a client certificate and key (PEM
    /// files) instead of a token.
    pub fn kubeconfig_with_cert(&self, ctx: &str, cert: &Path, key: &Path) -> Kubeconfig {
        use base64::Engine;
        let b64 = |p: &Path| {
            base64::engine::general_purpose::STANDARD
                .encode(fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        };
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n  - name: real\n    cluster: {{server: \"{}\", certificate-authority-data: \"{}\"}}\nusers:\n  - name: cert\n    user: {{client-certificate-data: \"{}\", client-key-data: \"{}\"}}\ncontexts:\n  - {{name: {ctx}, context: {{cluster: real, user: cert, namespace: default}}}}\ncurrent-context: {ctx}\n",
            self.url,
            b64(&self.dir.join("ca.crt")),
            b64(cert),
            b64(key)
        );
        Kubeconfig::from_yaml(&text).expect("kubeconfig")
    }

    /// The client certificate and key of user `cert-viewer` (group of the viewers).
    pub fn client_cert(&self) -> (PathBuf, PathBuf) {
        (
            PathBuf::from(self.env("KUBE_CLIENT_CERT")),
            PathBuf::from(self.env("KUBE_CLIENT_KEY")),
        )
    }

    /// Writes [`Self::kubeconfig_text`] to `path`.
    pub fn write_kubeconfig(&self, path: &Path, contexts: &[(&str, &str, &str)]) {
        fs::write(path, self.kubeconfig_text(contexts)).expect("write kubeconfig");
    }

    /// The parsed kubeconfig of [`Self::kubeconfig_text`].
    pub fn kubeconfig(&self, contexts: &[(&str, &str, &str)]) -> Kubeconfig {
        Kubeconfig::from_yaml(&self.kubeconfig_text(contexts)).expect("kubeconfig")
    }

    /// A client of the test's own as `user` (not the product's code path).
    pub async fn client(&self, user: &str) -> Client {
        let kc = self.kubeconfig(&[(user, user, "default")]);
        let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .expect("client config");
        Client::try_from(config).expect("client")
    }

    /// Every audit event so far (one JSON object per line of audit.log).
    pub fn audit(&self) -> Vec<Value> {
        fs::read_to_string(self.dir.join("audit.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The audit events of `user`, as `VERB requestURI` lines (verb as the apiserver names it:
    /// get, list, watch, create, update, patch, delete …) with the event.
    pub fn audit_of(&self, user: &str) -> Vec<(String, Value)> {
        self.audit()
            .into_iter()
            .filter(|e| e["user"]["username"] == user)
            .map(|e| {
                (
                    format!(
                        "{} {}",
                        e["verb"].as_str().unwrap_or(""),
                        e["requestURI"].as_str().unwrap_or("")
                    ),
                    e,
                )
            })
            .collect()
    }

    /// Waits (at most 5 s) until an audit event matching `pred` is written: the log backend
    /// writes an event when the response is complete, which can be a moment after the client
    /// has it.
    pub fn wait_audit(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(e) = self.audit().into_iter().find(|e| pred(e)) {
                return e;
            }
            assert!(Instant::now() < deadline, "no audit event for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The kubelet stand-in's request log lines.
    pub fn kubelet_requests(&self) -> Vec<String> {
        fs::read_to_string(self.dir.join("kubelet.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.strip_prefix("kubelet-standin: "))
            .map(str::to_string)
            .collect()
    }

    fn pod_dir(&self, namespace: &str, pod: &str) -> PathBuf {
        let d = self.dir.join("kubelet/pods").join(namespace).join(pod);
        fs::create_dir_all(d.join("forward")).expect("pod dir");
        d
    }

    /// Puts pod `namespace/pod` on the stand-in node (logs and forwards reach it).
    pub fn on_node(&self, namespace: &str, pod: &str) {
        self.pod_dir(namespace, pod);
    }

    /// Appends a line to the log of `container` of the pod, as the runtime writes it.
    pub fn log(&self, namespace: &str, pod: &str, container: &str, at: DateTime<Utc>, line: &str) {
        self.append(namespace, pod, &format!("{container}.log"), at, line);
    }

    /// Appends a line to the previous instance's log of `container`.
    pub fn previous_log(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        at: DateTime<Utc>,
        line: &str,
    ) {
        self.append(
            namespace,
            pod,
            &format!("{container}.previous.log"),
            at,
            line,
        );
    }

    fn append(&self, namespace: &str, pod: &str, file: &str, at: DateTime<Utc>, line: &str) {
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.pod_dir(namespace, pod).join(file))
            .expect("log file");
        writeln!(
            f,
            "{} {line}",
            at.to_rfc3339_opts(SecondsFormat::Nanos, true)
        )
        .expect("write log");
    }

    /// Port `port` of the pod forwards to `to` on loopback.
    pub fn forward(&self, namespace: &str, pod: &str, port: u16, to: std::net::SocketAddr) {
        fs::write(
            self.pod_dir(namespace, pod)
                .join("forward")
                .join(port.to_string()),
            to.to_string(),
        )
        .expect("forward file");
    }
}

/// Creates namespace `name` (as admin).
pub async fn namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    api.create(&PostParams::default(), &ns)
        .await
        .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));
}

/// What the API server accepts on create: no status, no creation timestamp, no resource
/// version (the builders fill those for the in-process server, which stores what it is given).
fn for_create<K: serde::Serialize>(object: &K) -> Value {
    let mut v = serde_json::to_value(object).unwrap();
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
    }
    if let Some(meta) = v["metadata"].as_object_mut() {
        meta.remove("creationTimestamp");
        meta.remove("resourceVersion");
        meta.remove("uid");
    }
    v
}

/// Creates `pod` and writes its status through the status subresource, as a kubelet would.
pub async fn create_pod(client: &Client, pod: &Pod) -> Pod {
    let ns = pod.metadata.namespace.as_deref().unwrap();
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let created = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(for_create(pod)).unwrap(),
        )
        .await
        .unwrap_or_else(|e| panic!("create pod {ns}/{:?}: {e}", pod.metadata.name));
    match &pod.status {
        Some(status) => {
            set_pod_status(
                client,
                ns,
                created.metadata.name.as_deref().unwrap(),
                status,
            )
            .await
        }
        None => created,
    }
}

/// Writes a pod's status through `pods/status` (a merge patch, as the kubelet's status manager
/// patches it).
pub async fn set_pod_status(
    client: &Client,
    namespace: &str,
    name: &str,
    status: &k8s_openapi::api::core::v1::PodStatus,
) -> Pod {
    let mut status = serde_json::to_value(status).unwrap();
    // The API server wants podIPs to agree with podIP.
    if let Some(ip) = status["podIP"].as_str().map(str::to_string) {
        status["podIPs"] = json!([{"ip": ip}]);
    }
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "status": status })),
    )
    .await
    .unwrap_or_else(|e| panic!("status of pod {namespace}/{name}: {e}"))
}

/// The status [`obj::pod`] gives a pod of this health (its container is `main`).
pub fn status_for(image: &str, health: PodHealth) -> k8s_openapi::api::core::v1::PodStatus {
    obj::pod("x", "x", image, 6379, &[], health)
        .status
        .expect("a status")
}

/// A Redis StatefulSet `namespace/name` of three pods (health by index) with its Service, as
/// [`obj::redis_statefulset`] puts it on the in-process server — here created through the real
/// API, the pods owned by the StatefulSet's real uid, their status written through
/// `pods/status` and the StatefulSet's through `statefulsets/status`; each pod is on the
/// stand-in node, and with `forward` its port 6379 reaches that address.
pub async fn redis_statefulset(
    kube: &RealKube,
    client: &Client,
    namespace: &str,
    name: &str,
    health: impl Fn(usize) -> PodHealth,
    forward: Option<std::net::SocketAddr>,
) {
    const IMAGE: &str = "docker.io/bitnami/redis:7.2";
    statefulset(
        kube,
        client,
        (namespace, name, "redis", IMAGE, 6379),
        health,
        |_| forward,
    )
    .await;
}

/// A StatefulSet of three pods `(namespace, name, app, image, port)` with its Service, created
/// through the real API as [`redis_statefulset`] describes; pod `i`'s `port` reaches
/// `forward(i)`.
pub async fn statefulset(
    kube: &RealKube,
    client: &Client,
    (namespace, name, app, image, port): (&str, &str, &str, &str, u16),
    health: impl Fn(usize) -> PodHealth,
    forward: impl Fn(usize) -> Option<std::net::SocketAddr>,
) {
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), namespace);
    let set = obj::statefulset(namespace, name, app, image, port, 3);
    let created = sets
        .create(
            &PostParams::default(),
            &serde_json::from_value(for_create(&set)).unwrap(),
        )
        .await
        .unwrap_or_else(|e| panic!("create statefulset {namespace}/{name}: {e}"));
    let uid = created.metadata.uid.clone().expect("a uid");
    let mut ready = 0;
    for i in 0..3 {
        let h = health(i);
        if h == PodHealth::Ready {
            ready += 1;
        }
        let mut pod = obj::statefulset_pod(namespace, name, app, image, port, i, h);
        if let Some(owners) = pod.metadata.owner_references.as_mut() {
            owners[0].uid = uid.clone();
        }
        let pod_name = format!("{name}-{i}");
        kube.on_node(namespace, &pod_name);
        if let Some(addr) = forward(i) {
            kube.forward(namespace, &pod_name, port, addr);
        }
        create_pod(client, &pod).await;
    }
    sets.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"replicas": 3, "readyReplicas": ready,
            "currentReplicas": 3, "availableReplicas": ready, "observedGeneration": 1}})),
    )
    .await
    .unwrap_or_else(|e| panic!("status of statefulset {namespace}/{name}: {e}"));
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    services
        .create(
            &PostParams::default(),
            &serde_json::from_value(for_create(&obj::service(namespace, name, port))).unwrap(),
        )
        .await
        .unwrap_or_else(|e| panic!("create service {namespace}/{name}: {e}"));
}

/// Creates a Secret with one key.
pub async fn secret(client: &Client, namespace: &str, name: &str, key: &str, value: &str) {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    api.create(
        &PostParams::default(),
        &serde_json::from_value(for_create(&obj::secret(namespace, name, key, value))).unwrap(),
    )
    .await
    .unwrap_or_else(|e| panic!("create secret {namespace}/{name}: {e}"));
}

/// Creates an Event (core/v1), as a kubelet or controller reports one.
pub async fn event(client: &Client, event: &k8s_openapi::api::core::v1::Event) {
    let ns = event.metadata.namespace.as_deref().unwrap();
    let mut v = for_create(event);
    // The builder's time for the in-process server; the API server wants both timestamps.
    v["firstTimestamp"] = v["lastTimestamp"].clone();
    v["source"] = json!({"component": "kubelet", "host": "node-1"});
    let api: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), ns);
    api.create(&PostParams::default(), &serde_json::from_value(v).unwrap())
        .await
        .unwrap_or_else(|e| panic!("create event in {ns}: {e}"));
}

impl RealKube {
    /// The apiserver's `host:port`.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.url
            .trim_start_matches("https://")
            .parse()
            .expect("the apiserver's address")
    }

    /// As [`Self::kubeconfig`], with the server at `url` (a [`Relay`] in front of it).
    pub fn kubeconfig_at(&self, url: &str, contexts: &[(&str, &str, &str)]) -> Kubeconfig {
        let text = self.kubeconfig_text(contexts).replace(&self.url, url);
        Kubeconfig::from_yaml(&text).expect("kubeconfig")
    }
}

/// A TCP relay on loopback in front of the apiserver whose connections the test cuts at a
/// chosen moment — what a load balancer or a network does to a long watch. TLS passes through
/// untouched (the apiserver's certificate names 127.0.0.1).
pub struct Relay {
    pub port: u16,
    cut: tokio::sync::watch::Sender<u64>,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    pub async fn start(to: std::net::SocketAddr) -> Relay {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("relay listener");
        let port = listener.local_addr().expect("relay address").port();
        let (cut, rx) = tokio::sync::watch::channel(0u64);
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let mut rx = rx.clone();
                rx.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut up) = tokio::net::TcpStream::connect(to).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut down, &mut up) => {}
                        _ = rx.changed() => {}
                    }
                });
            }
        });
        Relay {
            port,
            cut,
            accepted,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// Closes every connection open now (new ones are relayed as before).
    pub fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}
