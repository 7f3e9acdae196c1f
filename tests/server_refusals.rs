//! Servers that answer by turning the client away, and proposals that cannot work — against
//! real servers through the real binary: a redis-server at `maxclients`, a MariaDB at
//! `max_connections` and the in-process Elasticsearch answering 429/503 are critical findings
//! with the server's own words as evidence (exit 2), never "unreachable"; CONFIG REWRITE
//! (RDS-FIX-16) is proposed, and really persists, only on a server started from a config file.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::RedisServer;
use common::mariadb::MariaDb;
use kubestack_playground::es::{EsServer, Fault};

/// The real binary in a sandbox of its own (config, data, no kubeconfig).
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let sb = Sandbox {
            dir: tempfile::tempdir().unwrap(),
        };
        let cfg = sb.dir.path().join("cfg/kubestack-ai");
        std::fs::create_dir_all(&cfg).unwrap();
        std::fs::write(
            cfg.join("config.toml"),
            "[collector]\ndiagnose_sample_secs = 0.2\nconnect_timeout_ms = 2000\ncommand_timeout_ms = 3000\n",
        )
        .unwrap();
        sb
    }

    fn audit(&self) -> PathBuf {
        self.dir.path().join("data/kubestack-ai/audit.jsonl")
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kubestack-ai"));
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("USER", "oncall")
            .env("XDG_CONFIG_HOME", self.dir.path().join("cfg"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("KUBECONFIG", self.dir.path().join("no-kubeconfig"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("run the binary");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// `diagnose TARGET --output json`: the exit code and the report.
    fn diagnose_json(&self, target: &str) -> (Option<i32>, serde_json::Value, String) {
        let out = self.run(&["diagnose", target, "--output", "json"], "");
        let shown = text(&out);
        let json = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{shown}"));
        (out.status.code(), json, shown)
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The one finding of a report of a server that refused, checked for what every refusal
/// report must say: critical, exit 2, no transport error, the server's words as evidence.
fn refusal_finding(
    code: Option<i32>,
    json: &serde_json::Value,
    shown: &str,
    id: &str,
    words: &str,
) -> serde_json::Value {
    assert_eq!(code, Some(2), "{shown}");
    assert_eq!(json["status"], "critical", "{shown}");
    assert!(json.get("error").is_none(), "no transport error: {shown}");
    let findings = json["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{shown}");
    let f = findings[0].clone();
    assert_eq!(f["id"], id, "{shown}");
    assert_eq!(f["severity"], "critical", "{shown}");
    let reply = f["evidence"]["server_reply"].as_str().unwrap_or_default();
    assert!(reply.contains(words), "evidence {reply:?} in {shown}");
    assert!(!shown.to_lowercase().contains("broken pipe"), "{shown}");
    assert!(!shown.contains("cannot reach"), "{shown}");
    f
}

#[test]
fn a_redis_at_maxclients_is_rds_conn_01_with_its_refusal_as_evidence() {
    let redis = RedisServer::start(&["--maxclients", "1"]);
    let _holder = common::hold_redis_slot(redis.port);
    let sb = Sandbox::new();
    let (code, json, shown) = sb.diagnose_json(&redis.url());
    let f = refusal_finding(
        code,
        &json,
        &shown,
        "RDS-CONN-01",
        "ERR max number of clients reached",
    );
    assert_eq!(
        f["evidence"]["server_reply"], "ERR max number of clients reached",
        "the reply verbatim"
    );
    assert!(
        json["refused"]
            .as_str()
            .unwrap()
            .contains("turned the client away: ERR max number of clients reached"),
        "{shown}"
    );
    // The table names the server's words too (the evidence is only in JSON and Markdown).
    let out = sb.run(&["diagnose", &redis.url()], "");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("CRIT  RDS-CONN-01")
            && text(&out).contains("ERR max number of clients reached"),
        "{}",
        text(&out)
    );
    // `security` judged nothing on a server that let no command through: unknown, not ok,
    // and it says why in the server's words.
    let out = sb.run(&["security", &redis.url(), "-o", "json"], "");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "unknown");
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .contains("ERR max number of clients reached"),
        "{json}"
    );
    // The server counted the refusals it sent: the program did not invent one.
    drop(_holder);
    std::thread::sleep(Duration::from_millis(200));
    let mut con = redis.client();
    let rejected: u64 = redis
        .info_field(&mut con, "rejected_connections")
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(rejected >= 1, "rejected_connections {rejected}");
    // With a free slot again, the same command diagnoses normally.
    drop(con);
    let (code, json, shown) = sb.diagnose_json(&redis.url());
    assert_ne!(code, Some(3), "{shown}");
    assert!(json["target"]["version"].is_string(), "{shown}");
}

#[test]
fn a_closed_redis_port_is_still_unreachable() {
    // The greeting probe must not turn a real transport failure into a finding.
    let (_reserved, port) = common::closed_port();
    let sb = Sandbox::new();
    let (code, json, shown) = sb.diagnose_json(&format!("redis://127.0.0.1:{port}"));
    assert_eq!(code, Some(3), "{shown}");
    assert_eq!(json["status"], "unknown", "{shown}");
    assert!(json["findings"].as_array().unwrap().is_empty(), "{shown}");
    assert!(
        json["error"].as_str().unwrap().contains("cannot reach"),
        "{shown}"
    );
}

/// A runtime for the test's own async parts (the in-process server, MySQL clients); the
/// binary runs on the test's thread meanwhile.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_mariadb_at_max_connections_is_mys_conn_02_with_error_1040_as_evidence() {
    let rt = runtime();
    // MariaDB's smallest max_connections is 10, and it lets one more SUPER connection in.
    let db = MariaDb::start(&["--max-connections=10"]);
    rt.block_on(db.exec(&[
        "CREATE USER 'app'@'%' IDENTIFIED BY 'app-pw'",
        "GRANT SELECT ON *.* TO 'app'@'%'",
    ]));
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(db.port)
        .user(Some("root"))
        .prefer_socket(false);
    // Take every slot, the SUPER one too, until the server itself says 1040.
    let (held, refusal) = rt.block_on(async {
        let mut held = Vec::new();
        for _ in 0..20 {
            match mysql_async::Conn::new(opts.clone()).await {
                Ok(c) => held.push(c),
                Err(e) => return (held, Some(e.to_string())),
            }
        }
        (held, None)
    });
    let refusal = refusal.expect("the server refused a connection");
    assert!(refusal.contains("Too many connections"), "{refusal}");
    assert!(held.len() >= 10, "{} held", held.len());
    let sb = Sandbox::new();
    for url in [
        format!("mysql://app:app-pw@127.0.0.1:{}", db.port),
        format!("mysql://root@127.0.0.1:{}", db.port),
    ] {
        let (code, json, shown) = sb.diagnose_json(&url);
        let f = refusal_finding(code, &json, &shown, "MYS-CONN-02", "Too many connections");
        assert_eq!(f["evidence"]["error_code"], 1040, "{shown}");
        assert!(
            f["evidence"]["server_reply"]
                .as_str()
                .unwrap()
                .starts_with("ERROR 1040"),
            "{shown}"
        );
        assert!(!shown.contains("app-pw"), "no password in the output");
    }
    // With the slots free again, the same command diagnoses normally.
    rt.block_on(async {
        for c in held {
            let _ = c.disconnect().await;
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let (code, json, shown) = sb.diagnose_json(&format!("mysql://root@127.0.0.1:{}", db.port));
    assert_ne!(code, Some(3), "{shown}");
    assert!(json["target"]["version"].is_string(), "{shown}");
}

#[test]
fn an_elasticsearch_answering_429_or_503_is_a_critical_finding_with_its_reason() {
    let rt = runtime();
    let server = rt.block_on(EsServer::start());
    let url = server.url();
    let sb = Sandbox::new();
    for (fault, id, status, words) in [
        (
            Fault::TooManyRequests,
            "ES-T-01",
            429,
            "es_rejected_execution_exception: rejected execution",
        ),
        (
            Fault::Unavailable,
            "ES-H-01",
            503,
            "cluster_block_exception: blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];",
        ),
    ] {
        server.with(|c| {
            c.fault = fault.clone();
            c.requests.clear();
        });
        let (code, json, shown) = sb.diagnose_json(&url);
        let f = refusal_finding(code, &json, &shown, id, words);
        assert_eq!(f["evidence"]["http_status"], status, "{shown}");
        assert_eq!(
            f["evidence"]["request"], "GET /",
            "refused at the root: {shown}"
        );
        // The server saw the root request only: nothing was sent past the refusal.
        let paths: Vec<String> = server.with(|c| c.requests.iter().map(|r| r.1.clone()).collect());
        assert!(
            !paths.is_empty() && paths.iter().all(|p| p == "/"),
            "{paths:?}"
        );
    }
    server.with(|c| c.fault = Fault::None);
    let (code, json, shown) = sb.diagnose_json(&url);
    assert_ne!(code, Some(3), "{shown}");
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["id"] != "ES-T-01" && f["id"] != "ES-H-01"),
        "{shown}"
    );
    drop(server);
    drop(rt);
}

/// A server with the latency monitor off: RDS-LAT-03 → RDS-FIX-08 (CONFIG SET), then the
/// question of persisting it.
fn fix_plan(sb: &Sandbox, redis: &RedisServer, answers: &str) -> String {
    let out = sb.run(&["fix", &redis.url()], answers);
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    shown
}

#[test]
fn without_a_config_file_config_rewrite_is_not_proposed_but_said_by_hand() {
    let redis = RedisServer::start(&[]);
    let mut con = redis.client();
    assert_eq!(
        redis.info_field(&mut con, "config_file").as_deref(),
        Some(""),
        "started without a config file"
    );
    let sb = Sandbox::new();
    // RDS-FIX-13 (SEC-01) — skip; RDS-FIX-08 — apply; and no third step.
    let shown = fix_plan(&sb, &redis, "s\ny\n");
    assert!(shown.contains("Step 2/2: RDS-FIX-08"), "{shown}");
    assert!(!shown.contains("RDS-FIX-16:"), "{shown}");
    assert!(!shown.contains("Step 3/"), "{shown}");
    assert!(
        shown.contains("RDS-FIX-16 by hand: persist `latency-monitor-threshold 100`"),
        "{shown}"
    );
    assert!(
        shown.contains("in the redis.conf the server is started with"),
        "{shown}"
    );
    assert!(shown.contains("INFO config_file is empty"), "{shown}");
    // The server never received CONFIG REWRITE.
    let stats = common::commandstats(&redis);
    assert!(!stats.contains_key("config|rewrite"), "{stats:?}");
    // Asked for explicitly, it is refused with the reason, before anything is sent.
    let out = sb.run(&["fix", &redis.url(), "--action", "RDS-FIX-16"], "y\n");
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("runs without a config file"), "{shown}");
    assert!(!common::commandstats(&redis).contains_key("config|rewrite"));
    assert!(sb.audit().exists(), "the applied step was audited");
}

#[test]
fn with_a_config_file_config_rewrite_is_proposed_and_really_persists() {
    let redis = RedisServer::start_with_config_file(&[]);
    let file = redis.config_file().unwrap().to_path_buf();
    let mut con = redis.client();
    let reported = redis.info_field(&mut con, "config_file").unwrap();
    assert_eq!(
        std::fs::canonicalize(&reported).unwrap(),
        std::fs::canonicalize(&file).unwrap()
    );
    let before = std::fs::read_to_string(&file).unwrap();
    assert!(!before.contains("latency-monitor-threshold"), "{before}");
    let sb = Sandbox::new();
    // RDS-FIX-13 — skip; RDS-FIX-08 — apply; RDS-FIX-16 — apply.
    let shown = fix_plan(&sb, &redis, "s\ny\ny\n");
    assert!(shown.contains("Step 3/3: RDS-FIX-16"), "{shown}");
    assert!(!shown.contains("by hand"), "{shown}");
    let stats = common::commandstats(&redis);
    assert_eq!(stats.get("config|rewrite"), Some(&1), "{stats:?}\n{shown}");
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(
        after.contains("latency-monitor-threshold 100"),
        "persisted in the file:\n{after}"
    );
    // And it survives a restart from that file.
    drop(con);
    let mut redis = redis;
    redis.restart();
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("latency-monitor-threshold")
        .query(&mut redis.client())
        .unwrap();
    assert_eq!(v[1], "100");
}
