//! Real Apache Kafka brokers (4.x, KRaft) for the tests: the jars come from Maven Central
//! (`scripts/kafka/fetch`, which `scripts/test` runs and exports as `KAFKA_LIBS`), each broker
//! is one `java -cp 'LIBS/*' kafka.Kafka server.properties` process on free loopback ports with
//! its data in a temp dir. Node 1 is broker and the single KRaft controller; nodes 2… are
//! brokers only, so stopping any of them leaves the controller quorum up and the metadata
//! answers what a real cluster says when brokers die (ISR shrink, offline partitions).
//!
//! A process is started through a small shell guard that kills the JVM when the test process's
//! end of its stdin closes — on `Drop`, on `kill`, and when the test process dies without
//! unwinding — so no broker outlives its test. At most three brokers run at once in a test
//! binary: a cluster holds a slot until it is dropped.
//!
//! Each broker logs every request it completes (`kafka.request.logger` at DEBUG, in
//! `requests.log`): the server's own record of what a client sent, by client id.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use super::guarded::{Guarded, log_tail};

/// One cluster at a time per test binary: three JVMs are the machine's budget.
static SLOT: Mutex<()> = Mutex::new(());

/// The directory of the broker's jars: `KAFKA_LIBS`, else the cache `scripts/kafka/fetch`
/// fills for the version its pom names.
pub fn libs() -> PathBuf {
    if let Ok(dir) = std::env::var("KAFKA_LIBS") {
        return PathBuf::from(dir);
    }
    let pom = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kafka/pom.xml");
    let version = fs::read_to_string(&pom)
        .ok()
        .and_then(|p| {
            let start = p.find("<kafka.version>")? + "<kafka.version>".len();
            let end = start + p[start..].find('<')?;
            Some(p[start..end].to_string())
        })
        .unwrap_or_else(|| panic!("no <kafka.version> in {}", pom.display()));
    let cache = std::env::var("KUBESTACK_KAFKA_CACHE").map_or_else(
        |_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/kubestack-ai/kafka")
        },
        PathBuf::from,
    );
    cache.join(version).join("libs")
}

fn java() -> String {
    std::env::var("JAVA").unwrap_or_else(|_| "java".into())
}

fn classpath() -> String {
    let libs = libs();
    assert!(
        libs.join("complete").exists() || libs.is_dir(),
        "no Kafka jars in {} — run scripts/kafka/fetch (scripts/test does) or set KAFKA_LIBS",
        libs.display()
    );
    format!("{}/*", libs.display())
}

/// A KRaft cluster id: 16 bytes, base64url without padding, never starting with `-`.
fn cluster_id(seed: &Path) -> String {
    use base64::Engine;
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(seed.as_os_str().as_encoded_bytes());
    h.update(format!("{:?}{}", Instant::now(), std::process::id()).as_bytes());
    let mut bytes: [u8; 16] = h.finalize()[..16].try_into().expect("16 bytes");
    bytes[0] &= 0x7f;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// One broker process and its files.
pub struct KafkaBroker {
    pub id: i32,
    pub port: u16,
    /// A second listener (`EXTERNAL`) on this loopback port, advertised under another name
    /// (a pod's in-cluster name that does not resolve here): see [`KafkaCluster::start_advertising`].
    pub external: Option<(u16, String)>,
    dir: PathBuf,
    process: Guarded,
}

impl KafkaBroker {
    /// `127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Whether its process is running.
    pub fn is_running(&self) -> bool {
        self.process.is_running()
    }

    /// The last lines of its server log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(
            &self.dir,
            &["server.log", "stdout.log"],
            &format!("broker {}", self.id),
            lines,
        )
    }

    fn spawn(&mut self) {
        let args: Vec<std::ffi::OsString> = [
            "-Xms64m",
            "-Xmx256m",
            "-XX:+UseSerialGC",
            // C1 only: a test broker lives a minute; full JIT would cost more CPU than it saves.
            "-XX:TieredStopAtLevel=1",
            "-XX:-UsePerfData",
            "-Djava.awt.headless=true",
        ]
        .iter()
        .map(Into::into)
        .chain([
            format!(
                "-Dlog4j2.configurationFile={}",
                self.dir.join("log4j2.properties").display()
            )
            .into(),
            "-cp".into(),
            classpath().into(),
            "kafka.Kafka".into(),
            self.dir.join("server.properties").into(),
        ])
        .collect();
        self.process = Guarded::spawn(&java(), &args, &self.dir, None, "Kafka");
    }

    /// Sends `signal` (TERM: a controlled shutdown; KILL: a crash) and waits for the exit.
    fn signal(&mut self, signal: &str) {
        self.process.signal(signal);
    }
}

/// The TLS and SASL listeners of a secure test broker (broker 1 of
/// [`KafkaCluster::start_secure`]), beside its PLAINTEXT listener, which the test's own
/// clients keep using.
#[derive(Debug, Clone)]
pub struct SecureListeners {
    /// SASL_SSL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (users below).
    pub sasl_ssl_port: u16,
    /// SSL with `ssl.client.auth=required`: a client certificate signed by the test CA.
    pub mtls_port: u16,
    /// SASL_PLAINTEXT (the same users, no TLS).
    pub sasl_plaintext_port: u16,
    /// SSL with a certificate for `db.example.invalid`, not for the address dialled.
    pub wrong_host_port: u16,
}

/// The PLAIN user (a JAAS entry of the listener) and the SCRAM users (created by
/// `kafka-storage format --add-scram`) of the secure broker: (user, password).
pub const PLAIN_USER: (&str, &str) = ("plainuser", "plain-Secret-1");
pub const SCRAM256_USER: (&str, &str) = ("scram256user", "scram256-Secret-1");
pub const SCRAM512_USER: (&str, &str) = ("scram512user", "scram512-Secret-1");

/// A running cluster of `n` brokers (ids 1…n; node 1 is also the controller).
pub struct KafkaCluster {
    pub cluster_id: String,
    pub brokers: Vec<KafkaBroker>,
    /// The TLS/SASL listeners, when started with [`KafkaCluster::start_secure`].
    pub secure: Option<SecureListeners>,
    /// Seconds from the first `java` to every broker answering metadata.
    pub started_in: Duration,
    dir: tempfile::TempDir,
    _slot: MutexGuard<'static, ()>,
}

impl KafkaCluster {
    /// Formats and starts `n` brokers (1 ≤ n ≤ 3) and waits until metadata lists all of them.
    pub fn start(n: usize) -> Self {
        Self::start_with(n, |_| None, None)
    }

    /// As [`start`](Self::start), each broker with a second listener, `EXTERNAL`, that
    /// advertises `advertise(id)` (`host:port`) — as a broker in a pod advertises its in-cluster
    /// name. The brokers talk to each other on the first listener.
    pub fn start_advertising(n: usize, advertise: impl Fn(i32) -> String) -> Self {
        Self::start_with(n, |id| Some(advertise(id)), None)
    }

    /// One broker with a SASL_SSL listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), an SSL
    /// listener that requires a client certificate, a SASL_PLAINTEXT listener and an SSL
    /// listener whose certificate names another host, with the certificates in `certs`
    /// (`server.pem` as a PEM keystore, `ca.crt` as the truststore), beside PLAINTEXT.
    pub fn start_secure(certs: &Path) -> Self {
        Self::start_with(1, |_| None, Some(certs))
    }

    fn start_with(
        n: usize,
        advertise: impl Fn(i32) -> Option<String>,
        certs: Option<&Path>,
    ) -> Self {
        assert!((1..=3).contains(&n), "1 to 3 brokers");
        let slot = SLOT.lock().unwrap_or_else(|p| p.into_inner());
        let dir = tempfile::Builder::new()
            .prefix("kubestack-kafka-")
            .tempdir()
            .expect("temp dir");
        let controller_port = super::free_port();
        let cluster_id = cluster_id(dir.path());
        let secure = certs.map(|_| SecureListeners {
            sasl_ssl_port: super::free_port(),
            mtls_port: super::free_port(),
            sasl_plaintext_port: super::free_port(),
            wrong_host_port: super::free_port(),
        });
        let mut brokers = Vec::new();
        for id in 1..=n as i32 {
            let bdir = dir.path().join(format!("broker-{id}"));
            fs::create_dir_all(&bdir).expect("broker dir");
            let port = super::free_port();
            let external = advertise(id).map(|name| (super::free_port(), name));
            let tls = match (certs, &secure) {
                (Some(c), Some(l)) if id == 1 => Some((c, l)),
                _ => None,
            };
            write_config(&bdir, id, n, port, controller_port, external.as_ref(), tls);
            brokers.push(KafkaBroker {
                id,
                port,
                external,
                dir: bdir,
                process: Guarded::default(),
            });
        }
        let begun = Instant::now();
        // Formatting is a JVM each: run them side by side.
        let formats: Vec<_> = brokers
            .iter()
            .map(|b| {
                let out = fs::File::create(b.dir.join("format.log")).expect("format.log");
                let child = Command::new(java())
                    .args(["-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData"])
                    .arg(format!(
                        "-Dlog4j2.configurationFile={}",
                        b.dir.join("log4j2.properties").display()
                    ))
                    .arg("-cp")
                    .arg(classpath())
                    .args(["kafka.tools.StorageTool", "format", "-t", &cluster_id, "-c"])
                    .arg(b.dir.join("server.properties"))
                    // SCRAM credentials go into the metadata log the controller (node 1)
                    // bootstraps from.
                    .args(if secure.is_some() && b.id == 1 {
                        [SCRAM256_USER, SCRAM512_USER]
                            .iter()
                            .zip(["SCRAM-SHA-256", "SCRAM-SHA-512"])
                            .flat_map(|((u, p), m)| {
                                [
                                    "--add-scram".to_string(),
                                    format!("{m}=[name={u},password={p}]"),
                                ]
                            })
                            .collect::<Vec<_>>()
                    } else {
                        Vec::new()
                    })
                    .stdout(out.try_clone().expect("format.log"))
                    .stderr(out)
                    .spawn()
                    .unwrap_or_else(|e| panic!("cannot run java ({e}); a JDK 17+ is needed"));
                (b.dir.clone(), child)
            })
            .collect();
        for (bdir, mut child) in formats {
            let status = child.wait().expect("kafka-storage format");
            assert!(
                status.success(),
                "kafka-storage format failed: {}",
                fs::read_to_string(bdir.join("format.log")).unwrap_or_default()
            );
        }
        for b in &mut brokers {
            b.spawn();
        }
        let mut cluster = KafkaCluster {
            cluster_id,
            brokers,
            secure,
            started_in: Duration::ZERO,
            dir,
            _slot: slot,
        };
        let all: Vec<i32> = (1..=n as i32).collect();
        cluster.wait_for_brokers(&all, Duration::from_secs(90));
        cluster.started_in = begun.elapsed();
        cluster
    }

    /// Every broker's address, comma-separated (the brokers that are down included).
    pub fn bootstrap(&self) -> String {
        self.brokers
            .iter()
            .map(KafkaBroker::address)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The cluster's temp dir (every broker's command line names it).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn broker_mut(&mut self, id: i32) -> &mut KafkaBroker {
        self.brokers
            .iter_mut()
            .find(|b| b.id == id)
            .unwrap_or_else(|| panic!("no broker {id}"))
    }

    /// Crashes broker `id` (SIGKILL): the controller fences it after the session timeout.
    pub fn kill(&mut self, id: i32) {
        assert_ne!(id, 1, "broker 1 is the controller");
        self.broker_mut(id).signal("KILL");
    }

    /// Stops broker `id` cleanly (SIGTERM: a controlled shutdown moves its leaders first).
    pub fn stop(&mut self, id: i32) {
        assert_ne!(id, 1, "broker 1 is the controller");
        self.broker_mut(id).signal("TERM");
    }

    /// Starts a stopped broker again on its own data and waits until metadata lists it;
    /// returns how long that took.
    pub fn restart(&mut self, id: i32) -> Duration {
        let begun = Instant::now();
        let b = self.broker_mut(id);
        assert!(!b.is_running(), "broker {id} is running");
        b.spawn();
        let live: Vec<i32> = self
            .brokers
            .iter()
            .filter(|b| b.is_running())
            .map(|b| b.id)
            .collect();
        self.wait_for_brokers(&live, Duration::from_secs(60));
        begun.elapsed()
    }

    /// Waits until metadata lists exactly the brokers `ids` (fencing a dead broker takes the
    /// controller's session timeout).
    pub fn wait_for_brokers(&self, ids: &[i32], within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let last = match self.live_brokers() {
                Ok(mut live) => {
                    live.sort_unstable();
                    if live == ids {
                        return;
                    }
                    format!("metadata lists brokers {live:?}")
                }
                Err(e) => e,
            };
            if Instant::now() > deadline {
                let logs: String = self.brokers.iter().map(|b| b.log_tail(30)).collect();
                panic!("Kafka brokers {ids:?} not ready within {within:?}: {last}\n{logs}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The broker ids metadata lists now.
    pub fn live_brokers(&self) -> Result<Vec<i32>, String> {
        let running: Vec<String> = self
            .brokers
            .iter()
            .filter(|b| b.is_running())
            .map(KafkaBroker::address)
            .collect();
        if !running
            .iter()
            .any(|a| std::net::TcpStream::connect(a).is_ok())
        {
            return Err("no broker accepts connections yet".into());
        }
        let c: BaseConsumer = self.client().create().map_err(|e| e.to_string())?;
        let md = c
            .fetch_metadata(None, Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        Ok(md.brokers().iter().map(|b| b.id()).collect())
    }

    /// The broker's own record of the requests `client_id` sent, every broker's: each
    /// `Completed request:` line of `kafka.request.logger` (DEBUG), as JSON, oldest first per
    /// broker, without the copies a broker forwards to the controller. A line is written after
    /// its response is sent: a request just answered may not be there yet (`wait_for_requests`).
    pub fn requests(&self, client_id: &str) -> Vec<serde_json::Value> {
        self.brokers
            .iter()
            .flat_map(|b| {
                fs::read_to_string(b.dir.join("requests.log"))
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| l.strip_prefix("Completed request:"))
                    .filter_map(|j| serde_json::from_str::<serde_json::Value>(j).ok())
                    .filter(|r| r["requestHeader"]["clientId"] == client_id)
                    // A request a broker forwards to the controller is logged there again.
                    .filter(|r| r["isForwarded"] != true)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The API names (`METADATA`, `OFFSET_COMMIT`, …) of the requests `client_id` sent.
    pub fn request_names(&self, client_id: &str) -> Vec<String> {
        self.requests(client_id)
            .iter()
            .filter_map(|r| r["requestHeader"]["requestApiKeyName"].as_str())
            .map(String::from)
            .collect()
    }

    /// Waits until `client_id` has sent `count` requests named `api`; returns them.
    pub fn wait_for_requests(
        &self,
        client_id: &str,
        api: &str,
        count: usize,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let found: Vec<_> = self
                .requests(client_id)
                .into_iter()
                .filter(|r| r["requestHeader"]["requestApiKeyName"] == api)
                .collect();
            if found.len() >= count || Instant::now() > deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A client config with this cluster's bootstrap.
    pub fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", self.bootstrap())
            .set("log_level", "0");
        c
    }

    /// Creates a topic with `configs`; `assignment` places each partition's replicas by hand.
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: i32,
        replication: i32,
        configs: &[(&str, &str)],
        assignment: Option<&[&[i32]]>,
    ) {
        let admin: AdminClient<DefaultClientContext> = self.client().create().expect("admin");
        let mut topic = match assignment {
            Some(a) => NewTopic::new(name, a.len() as i32, TopicReplication::Variable(a)),
            None => NewTopic::new(name, partitions, TopicReplication::Fixed(replication)),
        };
        for (k, v) in configs {
            topic = topic.set(k, v);
        }
        let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)));
        let result = admin
            .create_topics(&[topic], &opts)
            .await
            .expect("CreateTopics");
        for r in result {
            r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
        }
    }

    /// Produces `n` messages to `topic[partition]` (acks=all) and waits for them.
    pub fn produce(&self, topic: &str, partition: i32, n: usize) {
        let producer: BaseProducer = self.client().set("acks", "all").create().expect("producer");
        for i in 0..n {
            let key = i.to_string();
            loop {
                match producer.send(
                    BaseRecord::to(topic)
                        .partition(partition)
                        .key(&key)
                        .payload("m"),
                ) {
                    Ok(()) => break,
                    Err((e, _)) => {
                        assert!(
                            matches!(
                                e.rdkafka_error_code(),
                                Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
                            ),
                            "produce: {e}"
                        );
                        producer.poll(Duration::from_millis(50));
                    }
                }
            }
        }
        producer
            .flush(Duration::from_secs(20))
            .expect("produce flushed");
    }
}

fn write_config(
    dir: &Path,
    id: i32,
    n: usize,
    port: u16,
    controller_port: u16,
    external: Option<&(u16, String)>,
    tls: Option<(&Path, &SecureListeners)>,
) {
    let rf = n.min(3);
    let mut advertised = format!("PLAINTEXT://127.0.0.1:{port}");
    let mut protocols = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT".to_string();
    let mut tls_props = String::new();
    if let Some((certs, l)) = tls {
        advertised.push_str(&format!(
            ",SASL_SSL://127.0.0.1:{},MTLS://127.0.0.1:{},SASL_PLAINTEXT://127.0.0.1:{},WRONGHOST://127.0.0.1:{}",
            l.sasl_ssl_port, l.mtls_port, l.sasl_plaintext_port, l.wrong_host_port
        ));
        protocols
            .push_str(",SASL_SSL:SASL_SSL,MTLS:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,WRONGHOST:SSL");
        let (pu, pp) = PLAIN_USER;
        tls_props = format!(
            "ssl.keystore.type=PEM
ssl.keystore.location={keystore}
ssl.truststore.type=PEM
ssl.truststore.location={ca}
listener.name.mtls.ssl.client.auth=required
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_{pu}=\"{pp}\";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_{pu}=\"{pp}\";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.wronghost.ssl.keystore.type=PEM
listener.name.wronghost.ssl.keystore.location={wrong_host}
",
            wrong_host = certs.join("wrong-host.pem").display(),
            keystore = certs.join("server.pem").display(),
            ca = certs.join("ca.crt").display(),
        );
    }
    // The listeners bound here: what is advertised, but EXTERNAL on loopback.
    let mut bound = advertised.clone();
    if let Some((ext, name)) = external {
        bound.push_str(&format!(",EXTERNAL://127.0.0.1:{ext}"));
        advertised.push_str(&format!(",EXTERNAL://{name}"));
        protocols.push_str(",EXTERNAL:PLAINTEXT");
    }
    let (roles, listeners) = if id == 1 {
        (
            "broker,controller",
            format!("{bound},CONTROLLER://127.0.0.1:{controller_port}"),
        )
    } else {
        ("broker", bound)
    };
    let props = format!(
        "process.roles={roles}
node.id={id}
controller.quorum.voters=1@127.0.0.1:{controller_port}
controller.listener.names=CONTROLLER
listeners={listeners}
advertised.listeners={advertised}
listener.security.protocol.map={protocols}
inter.broker.listener.name=PLAINTEXT
{tls_props}
log.dirs={data}
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor={rf}
offsets.topic.num.partitions=3
transaction.state.log.replication.factor={rf}
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor={rf}
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# A crashed broker is fenced (and leaves every ISR) after 4 s instead of 9.
broker.session.timeout.ms=4000
broker.heartbeat.interval.ms=500
replica.lag.time.max.ms=5000
log.segment.bytes=1048576
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
",
        data = dir.join("data").display()
    );
    fs::write(dir.join("server.properties"), props).expect("server.properties");
    let log4j = format!(
        "rootLogger.level=INFO
rootLogger.appenderRef.f.ref=F
appender.f.type=File
appender.f.name=F
appender.f.fileName={}
appender.f.layout.type=PatternLayout
appender.f.layout.pattern=[%d] %p %m (%c)%n
logger.requests.name=kafka.request.logger
logger.requests.level=DEBUG
logger.requests.additivity=false
logger.requests.appenderRef.r.ref=R
appender.r.type=File
appender.r.name=R
appender.r.fileName={}
appender.r.layout.type=PatternLayout
appender.r.layout.pattern=%m%n
",
        dir.join("server.log").display(),
        dir.join("requests.log").display()
    );
    fs::write(dir.join("log4j2.properties"), log4j).expect("log4j2.properties");
}
