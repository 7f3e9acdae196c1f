//! The AI end to end: `analyze` against a real redis-server and an in-process provider —
//! streamed answer, read-only tool calls, offline fallback — and the proof that secrets planted
//! in Redis config, a log line, MySQL variables and a Kubernetes Secret never reach a request body.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::RedisServer;
use common::llm_server::{
    LlmServer, Reply, openai_text_stream, openai_tool_call_stream, split_every,
};
use futures::future::BoxFuture;
use kubestack_ai::ai::agent::{AskJob, ChatEvent, run_ask};
use kubestack_ai::ai::provider::ToolSpec;
use kubestack_ai::ai::redact::{RedactionPolicy, Redactor};
use kubestack_ai::config::{ProfileConfig, ProviderKind};
use kubestack_ai::plugins::ToolRunner;
use tokio::sync::mpsc;

const REDIS_PW: &str = "Rq-pass-7781";
const LOG_SECRET: &str = "Hunter2-Secret";

fn sse(text: &str) -> Reply {
    Reply::Sse {
        chunks: split_every(text, 17),
        gap: Duration::ZERO,
    }
}

fn sandbox_config(
    dir: &std::path::Path,
    redis: &RedisServer,
    llm: Option<&str>,
) -> std::path::PathBuf {
    let mut text = format!(
        "[collector]\ndiagnose_sample_secs = 0.2\n\n[[instances]]\nname = \"cache\"\nkind = \"redis\"\nurl = \"{}\"\npassword_env = \"CACHE_PW\"\n\n",
        redis.url()
    );
    if let Some(base) = llm {
        text.push_str(&format!(
            "[ai]\nprofile = \"local\"\n\n[ai.profiles.local]\nprovider = \"openai\"\nbase_url = \"{base}\"\nmodel = \"m\"\ntimeout_secs = 5.0\nidle_timeout_secs = 2.0\n"
        ));
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run_analyze(config: &std::path::Path, dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kubestack-ai"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "analyze",
            "why is it slow?",
            "--instance",
            "cache",
        ])
        .env("CACHE_PW", REDIS_PW)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("cfg"))
        .output()
        .unwrap()
}

/// A Redis with a password, every command in the slowlog, and a secret in a logged command.
fn planted_redis() -> RedisServer {
    let server = RedisServer::start(&[
        "--requirepass",
        REDIS_PW,
        "--slowlog-log-slower-than",
        "0",
        "--maxmemory",
        "5mb",
        "--maxmemory-policy",
        "noeviction",
    ]);
    let mut con = server.client_with_password(Some(REDIS_PW));
    let _: () = redis::cmd("SET")
        .arg("session:1")
        .arg(format!("password={LOG_SECRET}"))
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(100000)
        .query(&mut con)
        .unwrap();
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analyze_streams_the_answer_calls_tools_and_never_sends_a_secret() {
    let redis = planted_redis();
    let llm = LlmServer::start(vec![
        sse(&openai_tool_call_stream(
            "c1",
            "redis_config_get",
            &["{\"key\":", "\"requirepass\"}"],
        )),
        sse(&openai_tool_call_stream(
            "c2",
            "redis_slowlog",
            &["{\"count\":", "32}"],
        )),
        sse(&openai_text_stream(
            &["Memory is ", "past maxmemory ", "(RDS-MEM-01)."],
            (900, 12),
        )),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = sandbox_config(dir.path(), &redis, Some(&llm.base_url));
    let out = tokio::task::spawn_blocking({
        let (config, d) = (config.clone(), dir.path().to_path_buf());
        move || run_analyze(&config, &d)
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Memory is past maxmemory (RDS-MEM-01)."),
        "{stdout}"
    );
    assert!(stderr.contains("[tool redis_config_get"), "{stderr}");
    assert!(stderr.contains("[tool redis_slowlog"), "{stderr}");
    assert!(stderr.contains("[tokens: 900 in, 12 out]"), "{stderr}");

    let bodies = llm.bodies();
    assert_eq!(bodies.len(), 3, "two tool rounds and the answer");
    assert!(
        bodies[0].contains("RDS-MEM-01"),
        "the context carries the findings"
    );
    assert!(bodies[0].contains("## Selected instance"));
    assert!(bodies[1].contains("untrusted-tool-output") && bodies[1].contains("requirepass"));
    assert!(
        bodies[2].contains("session:1"),
        "the slowlog tool result arrived"
    );
    for (i, body) in bodies.iter().enumerate() {
        assert!(
            !body.contains(REDIS_PW),
            "body {i} leaks the Redis password"
        );
        assert!(
            !body.contains(LOG_SECRET),
            "body {i} leaks the secret from the log line"
        );
    }
    assert!(
        bodies.iter().any(|b| b.contains("[REDACTED:")),
        "placeholders are visible to the model"
    );
    // The model is told which catalogue actions it may propose.
    assert!(
        bodies[0].contains("RDS-FIX-08 (safe)") && bodies[0].contains("Manual only"),
        "the catalogue is in the system prompt"
    );
    // Every request is in the audit log by the SHA-256 of exactly the body that went out.
    let audit = dir.path().join("data/kubestack-ai/audit.jsonl");
    let records = kubestack_ai::repair::verify_chain(&audit).expect("an intact audit chain");
    let hashes: Vec<String> = records
        .iter()
        .filter(|r| r.event == kubestack_ai::repair::AuditEvent::ModelRequest)
        .filter_map(|r| r.result.clone())
        .collect();
    let expected: Vec<String> = bodies
        .iter()
        .map(|b| format!("sha256:{}", kubestack_ai::repair::audit::hash_line(b)))
        .collect();
    assert_eq!(hashes, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_model_the_rule_engine_answers_labelled_offline() {
    let redis = planted_redis();
    let dir = tempfile::tempdir().unwrap();
    let config = sandbox_config(dir.path(), &redis, None);
    let out = tokio::task::spawn_blocking({
        let d = dir.path().to_path_buf();
        move || run_analyze(&config, &d)
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("Offline analysis (built-in rule engine"),
        "{stdout}"
    );
    assert!(
        stdout.contains("CRIT RDS-MEM-01") && stdout.contains("Do: "),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_model_says_so_then_falls_back() {
    let redis = planted_redis();
    let dir = tempfile::tempdir().unwrap();
    let (_reserved, port) = common::closed_port();
    let config = sandbox_config(
        dir.path(),
        &redis,
        Some(&format!("http://127.0.0.1:{port}/v1")),
    );
    let out = tokio::task::spawn_blocking({
        let d = dir.path().to_path_buf();
        move || run_analyze(&config, &d)
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[model error: cannot reach the provider"),
        "{stderr}"
    );
    assert!(
        stderr.contains("retrying"),
        "network errors are retried: {stderr}"
    );
    assert!(stdout.contains("Offline analysis"), "{stdout}");
}

/// Stands in for plugins whose servers hold such secrets (a MySQL variable, a Kubernetes Secret): returns what their tools
/// will return, secrets included, so the chokepoint is proven on that data today.
struct PlantedTools;

impl ToolRunner for PlantedTools {
    fn specs(&self) -> Vec<ToolSpec> {
        vec![ToolSpec {
            name: "dump".into(),
            description: "d".into(),
            parameters: serde_json::json!({"type":"object"}),
        }]
    }

    fn call<'a>(
        &'a mut self,
        name: &'a str,
        _args: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            Ok(match name {
                "dump" => concat!(
                    "SHOW GLOBAL VARIABLES:\nwsrep_sst_auth = root:GaleraSecret9\nmax_connections = 151\n",
                    "replica dsn: mysql://repl:ReplPa55@10.0.0.9:3306/\n",
                    "kubectl get secret db -o json:\n",
                    "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"db\"},",
                    "\"data\":{\"password\":\"c3VwZXJzZWNyZXQ=\",\"token\":\"dG9rZW4tdmFsdWU=\"}}\n",
                    "log: app connected with password=PlainLogPw1 from 10.1.2.3\n",
                )
                .to_string(),
                _ => "unknown".into(),
            })
        })
    }
}

#[tokio::test]
async fn mysql_variables_and_kubernetes_secrets_from_tools_are_redacted() {
    let llm = LlmServer::start(vec![
        sse(&openai_tool_call_stream("c1", "dump", &["{}"])),
        sse(&openai_text_stream(&["done"], (1, 1))),
    ])
    .await;
    let profile = ProfileConfig {
        provider: ProviderKind::Openai,
        base_url: llm.base_url.clone(),
        model: "m".into(),
        api_key_env: None,
        api_version: None,
        timeout_secs: 5.0,
        idle_timeout_secs: 2.0,
        max_output_tokens: 100,
        price_input_per_mtok: None,
        price_output_per_mtok: None,
    };
    let job = AskJob {
        profile: Some(("t".into(), profile)),
        history: Vec::new(),
        prompt: "what is configured?".into(),
        tools: Some(Box::new(PlantedTools)),
        redactor: Arc::new(Mutex::new(Redactor::new(RedactionPolicy::default()))),
        max_iterations: 3,
        tool_result_max_bytes: 4096,
        offline: "offline".into(),
        audit: None,
        actions: String::new(),
        limits: Default::default(),
    };
    let (tx, mut rx) = mpsc::channel(64);
    let answer = run_ask(job, tx).await;
    assert_eq!(answer, "done");
    let mut sent = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        if let ChatEvent::Sent(body) = ev {
            sent.push(body);
        }
    }
    let bodies = llm.bodies();
    assert_eq!(sent, bodies, "`:sent` shows exactly what went out");
    let last = bodies.last().unwrap();
    assert!(
        last.contains("max_connections = 151"),
        "ordinary data still goes through"
    );
    for secret in [
        "GaleraSecret9",
        "ReplPa55",
        "c3VwZXJzZWNyZXQ=",
        "dG9rZW4tdmFsdWU=",
        "PlainLogPw1",
    ] {
        for body in &bodies {
            assert!(!body.contains(secret), "{secret} leaked");
        }
    }
}
