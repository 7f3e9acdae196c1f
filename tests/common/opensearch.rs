//! Real OpenSearch nodes (2.19, the integration-test distribution OpenSearch publishes on Maven
//! Central) for the tests: `scripts/opensearch/fetch` unpacks it once (`scripts/test` exports
//! its home as `OPENSEARCH_HOME`), and each node here is one `java … org.opensearch.bootstrap.
//! OpenSearch` process on free loopback ports with its config, data and logs in a temp dir.
//! Node 1 is the only cluster-manager-eligible node (and holds data); nodes 2… hold data only,
//! so killing them leaves the cluster answering what a real cluster says when a node dies.
//!
//! The JVM is started directly rather than through `bin/opensearch` (which runs three more
//! JVMs first to check the version and compute options); `scripts/opensearch/start-cluster`
//! starts the same command line — keep the two in step. As root, OpenSearch refuses to start
//! when it can tell it is root, which it learns through JNA: `-Djna.noclasspath=true` with
//! `-Djna.nosys=true` leaves JNA without its native library, so the check cannot run (the node
//! logs "native methods will be disabled") and nothing else a test needs depends on JNA.
//!
//! Each node's HTTP tracer (`org.opensearch.http.HttpTracer` at TRACE, `http.tracer.include:
//! "*"`) writes one line per request into `http.log`, with its `X-Opaque-Id`: the node's own
//! record of what each client sent. The product sends `X-Opaque-Id: kubestack-ai` (reads) and
//! `kubestack-ai-repair` (the executor's writes); the tests' own requests send `test`.
//!
//! A process is started through a small shell guard that kills the JVM when the test process's
//! end of its stdin closes — on `Drop`, on `kill`, and when the test process dies without
//! unwinding — so no node outlives its test. One cluster at a time per test binary.
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::guarded::{Guarded, log_tail};

/// One cluster at a time per test binary: three JVMs are the machine's budget.
static SLOT: Mutex<()> = Mutex::new(());

/// The `X-Opaque-Id` the tests' own requests carry.
pub const TEST_OPAQUE_ID: &str = "test";

/// The OpenSearch home: `OPENSEARCH_HOME`, else the cache `scripts/opensearch/fetch` fills.
pub fn home() -> PathBuf {
    if let Ok(dir) = std::env::var("OPENSEARCH_HOME") {
        return PathBuf::from(dir);
    }
    let version = std::env::var("OPENSEARCH_VERSION").unwrap_or_else(|_| "2.19.6".into());
    let cache = std::env::var("KUBESTACK_OPENSEARCH_CACHE").map_or_else(
        |_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/kubestack-ai/opensearch")
        },
        PathBuf::from,
    );
    cache.join(&version).join(format!("opensearch-{version}"))
}

fn java() -> String {
    std::env::var("JAVA").unwrap_or_else(|_| "java".into())
}

/// The JVM options of a test node (the ones `bin/opensearch`'s option parser would add, with
/// a small heap and the serial collector).
fn jvm_args(dir: &Path, home: &Path) -> Vec<String> {
    let mut v: Vec<String> = [
        "-Xms256m",
        "-Xmx256m",
        "-XX:+UseSerialGC",
        // C1 only: a test node lives a minute; full JIT would cost more CPU than it saves.
        "-XX:TieredStopAtLevel=1",
        "-XX:-UsePerfData",
        "-Xss1m",
        "-Djava.awt.headless=true",
        "-Dfile.encoding=UTF-8",
        // No native JNA: the root check cannot run (see the module doc).
        "-Djna.nosys=true",
        "-Djna.noclasspath=true",
        "-XX:-OmitStackTraceInFastThrow",
        "-Dio.netty.noUnsafe=true",
        "-Dio.netty.noKeySetOptimization=true",
        "-Dio.netty.recycler.maxCapacityPerThread=0",
        "-Dio.netty.allocator.numDirectArenas=0",
        "-Dlog4j.shutdownHookEnabled=false",
        "-Dlog4j2.disable.jmx=true",
        "-Djava.locale.providers=SPI,COMPAT",
        "-Djava.util.concurrent.ForkJoinPool.common.threadFactory=org.opensearch.secure_sm.SecuredForkJoinWorkerThreadFactory",
        "-Dopensearch.distribution.type=zip",
        "-Dopensearch.bundled_jdk=false",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("-Djava.io.tmpdir={}", dir.join("tmp").display()));
    v.push(format!("-Dopensearch.path.home={}", home.display()));
    v.push(format!(
        "-Dopensearch.path.conf={}",
        dir.join("config").display()
    ));
    v.push("-cp".into());
    v.push(format!("{}/lib/*", home.display()));
    v.push("org.opensearch.bootstrap.OpenSearch".into());
    v
}

/// One request the node's HTTP tracer recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct TracedRequest {
    /// `node-1` …
    pub node: String,
    pub opaque_id: Option<String>,
    pub method: String,
    pub uri: String,
}

/// One node process and its files.
pub struct OpenSearchNode {
    pub id: usize,
    pub name: String,
    pub http_port: u16,
    pub transport_port: u16,
    dir: PathBuf,
    /// The open-files limit of the process (`ulimit -n`), when not the test's own.
    nofile: Option<u32>,
    process: Guarded,
}

impl OpenSearchNode {
    /// `http://127.0.0.1:PORT`.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Whether its process is running.
    pub fn is_running(&self) -> bool {
        self.process.is_running()
    }

    /// The last lines of its logs, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(
            &self.dir,
            &["logs/server.log", "stdout.log"],
            &self.name,
            lines,
        )
    }

    fn spawn(&mut self) {
        let args: Vec<std::ffi::OsString> = jvm_args(&self.dir, &home())
            .into_iter()
            .map(Into::into)
            .collect();
        self.process = Guarded::spawn(&java(), &args, &self.dir, self.nofile, "OpenSearch");
    }

    /// Sends `signal` and waits for the exit — at most 30 s, then SIGKILL.
    fn signal(&mut self, signal: &str) {
        self.process.signal(signal);
    }

    /// What its HTTP tracer recorded, oldest first.
    pub fn traced(&self) -> Vec<TracedRequest> {
        let text = fs::read_to_string(self.dir.join("logs/http.log")).unwrap_or_default();
        text.lines()
            .filter(|l| l.contains("] received request from ["))
            .filter_map(|l| {
                // [id][opaque-id][METHOD][uri] received request from [channel]
                let head = l.split("] received request from [").next()?;
                let mut parts = head.strip_prefix('[')?.splitn(4, "][");
                let _id = parts.next()?;
                let opaque = parts.next()?;
                let method = parts.next()?;
                let uri = parts.next()?;
                Some(TracedRequest {
                    node: self.name.clone(),
                    opaque_id: (opaque != "null").then(|| opaque.to_string()),
                    method: method.to_string(),
                    uri: uri.to_string(),
                })
            })
            .collect()
    }
}

/// A running cluster of `n` nodes (`node-1` … `node-n`; node 1 is the cluster manager).
pub struct OpenSearchCluster {
    pub nodes: Vec<OpenSearchNode>,
    /// From the first `java` to the health API listing every node.
    pub started_in: Duration,
    dir: tempfile::TempDir,
    _slot: MutexGuard<'static, ()>,
}

impl OpenSearchCluster {
    /// Starts `n` nodes (1 ≤ n ≤ 3) with `extra` node settings (`key: value` lines of
    /// opensearch.yml, for every node) and waits until the health API lists all of them.
    pub fn start(n: usize, extra: &[(&str, &str)]) -> Self {
        Self::start_with_nofile(n, extra, None)
    }

    /// Like `start`, with every node's open-files limit set to `nofile` (`ulimit -n`).
    pub fn start_with_nofile(n: usize, extra: &[(&str, &str)], nofile: Option<u32>) -> Self {
        assert!((1..=3).contains(&n), "1 to 3 nodes");
        let home = home();
        assert!(
            home.join("lib").is_dir(),
            "no OpenSearch in {} — run scripts/opensearch/fetch (scripts/test does) or set OPENSEARCH_HOME",
            home.display()
        );
        let slot = SLOT.lock().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::Builder::new()
            .prefix("kubestack-opensearch-")
            .tempdir()
            .expect("temp dir");
        let ports: Vec<(u16, u16)> = (0..n)
            .map(|_| (super::free_port(), super::free_port()))
            .collect();
        let mut nodes = Vec::new();
        for (i, (http_port, transport_port)) in ports.iter().enumerate() {
            let id = i + 1;
            let ndir = dir.path().join(format!("node-{id}"));
            for sub in ["config", "data", "logs", "tmp"] {
                fs::create_dir_all(ndir.join(sub)).expect("node dir");
            }
            write_config(&ndir, id, n, *http_port, *transport_port, ports[0].1, extra);
            nodes.push(OpenSearchNode {
                id,
                name: format!("node-{id}"),
                http_port: *http_port,
                transport_port: *transport_port,
                dir: ndir,
                nofile,
                process: Guarded::default(),
            });
        }
        let begun = Instant::now();
        for node in &mut nodes {
            node.spawn();
        }
        let mut cluster = OpenSearchCluster {
            nodes,
            started_in: Duration::ZERO,
            dir,
            _slot: slot,
        };
        cluster.wait_for_nodes(n, Duration::from_secs(120));
        cluster.started_in = begun.elapsed();
        cluster
    }

    /// The cluster's temp dir (every node's command line names it).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Node 1's HTTP address: what the product is pointed at.
    pub fn url(&self) -> String {
        format!("elasticsearch://127.0.0.1:{}", self.nodes[0].http_port)
    }

    fn node_mut(&mut self, id: usize) -> &mut OpenSearchNode {
        self.nodes
            .iter_mut()
            .find(|n| n.id == id)
            .unwrap_or_else(|| panic!("no node {id}"))
    }

    /// Crashes node `id` (SIGKILL); node 1, the cluster manager, only in a one-node cluster.
    pub fn kill(&mut self, id: usize) {
        assert!(
            id != 1 || self.nodes.len() == 1,
            "node 1 is the cluster manager"
        );
        self.node_mut(id).signal("KILL");
    }

    /// The directory of shard `shard` of the index with `uuid` on node `id` (its Lucene files
    /// are in `index/`).
    pub fn shard_dir(&self, id: usize, uuid: &str, shard: u32) -> PathBuf {
        self.nodes[id - 1]
            .dir
            .join(format!("data/nodes/0/indices/{uuid}/{shard}"))
    }

    /// Starts a killed node again on its own data and waits until the cluster lists it;
    /// returns how long that took.
    pub fn restart(&mut self, id: usize) -> Duration {
        let begun = Instant::now();
        let node = self.node_mut(id);
        assert!(!node.is_running(), "node {id} is running");
        node.spawn();
        let live = self.nodes.iter().filter(|n| n.is_running()).count();
        self.wait_for_nodes(live, Duration::from_secs(90));
        begun.elapsed()
    }

    /// Waits until the health API (asked on node 1) lists exactly `count` nodes.
    pub fn wait_for_nodes(&self, count: usize, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let last = match self.request("GET", "/_cluster/health", None) {
                Ok((200, v)) if v["number_of_nodes"] == count => return,
                Ok((status, v)) => format!("HTTP {status}: {v}"),
                Err(e) => e,
            };
            if Instant::now() > deadline || self.nodes.iter().any(|n| n.has_exited()) {
                let logs: String = self.nodes.iter().map(|n| n.log_tail(30)).collect();
                panic!("OpenSearch: {count} nodes not up within {within:?}: {last}\n{logs}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the cluster (or index) health is `status` or better; panics after `within`.
    pub fn wait_for_status(&self, what: &str, status: &str, within: Duration) {
        let path = format!(
            "/_cluster/health{}?wait_for_status={status}&timeout={}ms",
            if what.is_empty() {
                String::new()
            } else {
                format!("/{what}")
            },
            within.as_millis()
        );
        let (code, v) = self.request("GET", &path, None).expect("health");
        if code != 200 || v["timed_out"] != false {
            let why = self
                .request("GET", "/_cluster/allocation/explain", None)
                .map(|(_, e)| e.to_string())
                .unwrap_or_default();
            panic!("{what} not {status} within {within:?}: {v}\nallocation explain: {why}");
        }
    }

    /// A request from the test itself (`X-Opaque-Id: test`) to node 1.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), String> {
        http(
            self.nodes[0].http_port,
            method,
            path,
            body.map(|b| b.to_string()),
        )
    }

    /// Like `request`, asserting a 2xx answer.
    pub fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        match self.request(method, path, body.as_ref()) {
            Ok((code, v)) if (200..300).contains(&code) => v,
            other => panic!("{method} {path}: {other:?}"),
        }
    }

    /// Every request the nodes' HTTP tracers recorded, node by node.
    pub fn traced(&self) -> Vec<TracedRequest> {
        self.nodes.iter().flat_map(OpenSearchNode::traced).collect()
    }

    /// The requests sent with `X-Opaque-Id` starting with `prefix`.
    pub fn traced_from(&self, prefix: &str) -> Vec<TracedRequest> {
        self.traced()
            .into_iter()
            .filter(|r| {
                r.opaque_id
                    .as_deref()
                    .is_some_and(|o| o.starts_with(prefix))
            })
            .collect()
    }
}

impl OpenSearchNode {
    /// Whether the process it should be running has ended (its guard is a zombie or gone).
    fn has_exited(&self) -> bool {
        let Some(pid) = self.process.pid() else {
            return false;
        };
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // pid (comm) STATE …
        stat.rsplit_once(") ")
            .is_none_or(|(_, rest)| rest.starts_with('Z'))
    }
}

/// A one-shot HTTP/1.1 request (`Connection: close`) with `X-Opaque-Id: test`; the body of
/// the answer as JSON (a string when it is not JSON).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<(u16, Value), String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let body = body.unwrap_or_default();
    let content_type = if path.contains("_bulk") || path.contains("_msearch") {
        "application/x-ndjson"
    } else {
        "application/json"
    };
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Opaque-Id: {TEST_OPAQUE_ID}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP head in {text:?}"))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let payload = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    let v = serde_json::from_str(&payload).unwrap_or(Value::String(payload));
    Ok((status, v))
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

fn write_config(
    dir: &Path,
    id: usize,
    n: usize,
    http_port: u16,
    transport_port: u16,
    manager_transport_port: u16,
    extra: &[(&str, &str)],
) {
    let roles = if id == 1 {
        "[cluster_manager, data, ingest]"
    } else {
        "[data, ingest]"
    };
    let discovery = if n == 1 {
        "discovery.type: single-node".to_string()
    } else {
        format!(
            "discovery.seed_hosts: [\"127.0.0.1:{manager_transport_port}\"]\ncluster.initial_cluster_manager_nodes: [node-1]"
        )
    };
    let mut yml = format!(
        "cluster.name: kubestack-test
node.name: node-{id}
node.roles: {roles}
path.data: {data}
path.logs: {logs}
network.host: 127.0.0.1
http.port: {http_port}
transport.port: {transport_port}
{discovery}
# The node's own record of every request (logs/http.log).
http.tracer.include: \"*\"
# Disk use is read every 10 s, the least it takes (default 30 s): the watermark tests see real numbers quickly.
cluster.info.update.interval: 10s
# Watermarks as free space to keep, not the default 85/90/95 % of the disk: a build machine's
# disk is often more than 85 % full (these ones: 82-86 %), and replicas would then stay
# unassigned for a reason that has nothing to do with the test. The disk tests set
# percentages through the cluster settings API, over the node's real use.
cluster.routing.allocation.disk.watermark.low: 1gb
cluster.routing.allocation.disk.watermark.high: 512mb
cluster.routing.allocation.disk.watermark.flood_stage: 256mb
",
        data = dir.join("data").display(),
        logs = dir.join("logs").display(),
    );
    for (k, v) in extra {
        yml.push_str(&format!("{k}: {v}\n"));
    }
    fs::write(dir.join("config/opensearch.yml"), yml).expect("opensearch.yml");
    fs::write(dir.join("config/log4j2.properties"), LOG4J).expect("log4j2.properties");
    fs::write(dir.join("config/jvm.options"), "").expect("jvm.options");
}

/// Plain files instead of the distribution's rolling JSON logs, and the HTTP tracer apart.
pub const LOG4J: &str = "status = error
appender.f.type = File
appender.f.name = F
appender.f.fileName = ${sys:opensearch.logs.base_path}${sys:file.separator}server.log
appender.f.layout.type = PatternLayout
appender.f.layout.pattern = [%d{ISO8601}][%-5p][%c{1.}] [%node_name]%marker %m%n
rootLogger.level = info
rootLogger.appenderRef.f.ref = F
appender.t.type = File
appender.t.name = T
appender.t.fileName = ${sys:opensearch.logs.base_path}${sys:file.separator}http.log
appender.t.layout.type = PatternLayout
appender.t.layout.pattern = %m%n
logger.tracer.name = org.opensearch.http.HttpTracer
logger.tracer.level = trace
logger.tracer.additivity = false
logger.tracer.appenderRef.t.ref = T
";
