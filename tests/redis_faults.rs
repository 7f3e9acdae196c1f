//! Real faults in a real redis-server (catalog §2.5) produce the right rule ids.

mod common;

use common::{RedisServer, fast_config, redis_instance};
use kubestack_ai::diagnose::{DiagnosisStatus, Severity, diagnose_instance};
use kubestack_ai::plugins::{InstanceSnapshot, PluginError, plugin_for};

fn ids(snapshot: &InstanceSnapshot) -> Vec<(String, Severity)> {
    snapshot
        .findings
        .iter()
        .map(|f| (f.id.clone(), f.severity))
        .collect()
}

fn has(found: &[(String, Severity)], id: &str, sev: Severity) -> bool {
    found.iter().any(|(i, s)| i == id && *s == sev)
}

async fn collector_for(server: &RedisServer) -> Box<dyn kubestack_ai::plugins::Collector> {
    let inst = redis_instance("t", &server.url());
    plugin_for(inst.kind)
        .collector(&inst, &fast_config())
        .expect("collector")
}

#[tokio::test]
async fn oom_with_noeviction_is_critical_and_oom_errors_are_counted() {
    let server = RedisServer::start(&["--maxmemory", "5mb", "--maxmemory-policy", "noeviction"]);
    server
        .cmd(&["DEBUG", "POPULATE", "100000", "key", "100"])
        .expect("populate");
    let mut collector = collector_for(&server).await;
    let first = collector.collect().await.expect("first sample");
    assert!(
        has(&ids(&first), "RDS-MEM-01", Severity::Critical),
        "{:?}",
        ids(&first)
    );
    assert!(has(&ids(&first), "RDS-MEM-02", Severity::Critical));

    let err = server
        .cmd(&["SET", "foo", "bar"])
        .expect_err("write refused");
    assert!(err.to_string().contains("OOM"), "{err}");
    let second = collector.collect().await.expect("second sample");
    let mem01 = second
        .findings
        .iter()
        .find(|f| f.id == "RDS-MEM-01")
        .expect("MEM-01");
    assert_eq!(
        mem01.evidence["oom_errors_since_last_sample"], 1,
        "the rejected SET is counted"
    );

    let report = diagnose_instance(&redis_instance("t", &server.url()), &fast_config()).await;
    assert_eq!(report.status, DiagnosisStatus::Critical);
    assert_eq!(
        report.target.version.as_deref().map(|v| v.starts_with('7')),
        Some(true)
    );
}

#[tokio::test]
async fn debug_sleep_shows_up_as_slow_command_and_latency_spike() {
    let server = RedisServer::start(&["--latency-monitor-threshold", "100"]);
    server.cmd(&["DEBUG", "SLEEP", "0.3"]).expect("sleep");
    let mut collector = collector_for(&server).await;
    let snap = collector.collect().await.expect("sample");
    let found = ids(&snap);
    assert!(has(&found, "RDS-LAT-01", Severity::Warning), "{found:?}");
    assert!(has(&found, "RDS-LAT-04", Severity::Warning), "{found:?}");
    assert!(
        !found.iter().any(|(i, _)| i == "RDS-LAT-03"),
        "monitor is on"
    );
    let slow = snap
        .logs
        .iter()
        .find(|l| l.stream == "slowlog")
        .expect("slowlog line");
    assert!(slow.text.contains("DEBUG SLEEP 0.3"), "{}", slow.text);
    // The next sample only carries new slowlog entries.
    let again = collector.collect().await.expect("sample");
    assert!(
        again.logs.iter().all(|l| l.stream != "slowlog"),
        "no duplicate slowlog lines"
    );
    server.cmd(&["DEBUG", "SLEEP", "0.15"]).expect("sleep");
    let third = collector.collect().await.expect("sample");
    assert_eq!(
        third.logs.iter().filter(|l| l.stream == "slowlog").count(),
        1
    );
}

#[tokio::test]
async fn latency_monitor_off_is_reported() {
    let server = RedisServer::start(&[]);
    let mut collector = collector_for(&server).await;
    let snap = collector.collect().await.expect("sample");
    assert!(has(&ids(&snap), "RDS-LAT-03", Severity::Info));
}

#[tokio::test]
async fn maxclients_exhaustion_rejects_connections() {
    let server = RedisServer::start(&[]);
    let mut collector = collector_for(&server).await;
    collector.collect().await.expect("baseline");
    server
        .cmd(&["CONFIG", "SET", "maxclients", "3"])
        .expect("config set");
    // Hold connections open until the server refuses new ones.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..5 {
        match redis::Client::open(server.url()).and_then(|c| c.get_connection()) {
            Ok(mut con) => match redis::cmd("PING").query::<String>(&mut con) {
                Ok(_) => held.push(con),
                Err(_) => refused += 1,
            },
            Err(_) => refused += 1,
        }
    }
    assert!(refused > 0, "the server refused at least one client");
    let snap = collector
        .collect()
        .await
        .expect("sample over the existing connection");
    let found = ids(&snap);
    assert!(has(&found, "RDS-CONN-01", Severity::Critical), "{found:?}");
    assert!(has(&found, "RDS-CONN-02", Severity::Warning), "{found:?}");
    drop(held);
}

#[tokio::test]
async fn no_auth_with_protected_mode_off_is_critical() {
    let server = RedisServer::start(&["--protected-mode", "no"]);
    let mut collector = collector_for(&server).await;
    let found = ids(&collector.collect().await.expect("sample"));
    assert!(has(&found, "RDS-SEC-01", Severity::Critical), "{found:?}");
    assert!(has(&found, "RDS-SEC-02", Severity::Critical), "{found:?}");
    assert!(
        !found.iter().any(|(i, _)| i == "RDS-SEC-03"),
        "bound to loopback only"
    );
}

#[tokio::test]
async fn password_from_env_works_and_never_leaks() {
    let secret = "s3cr3t-Pa55-for-test";
    let server = RedisServer::start(&["--requirepass", secret]);
    let var = format!("KUBESTACK_TEST_PW_{}", server.port);
    // SAFETY: the variable name is unique to this test's port; no other thread reads it.
    unsafe { std::env::set_var(&var, secret) };
    let mut inst = redis_instance("secured", &server.url());
    inst.password_env = Some(var.clone());
    let mut collector = plugin_for(inst.kind)
        .collector(&inst, &fast_config())
        .expect("collector");
    let snap = collector.collect().await.expect("authenticated sample");
    assert!(
        !snap.findings.iter().any(|f| f.id == "RDS-SEC-01"),
        "a password is set"
    );
    let dump = format!("{snap:?}");
    assert!(
        !dump.contains(secret),
        "the password never appears in a snapshot"
    );

    // SAFETY: as above.
    unsafe { std::env::set_var(&var, "wrong-password") };
    let mut bad = plugin_for(inst.kind)
        .collector(&inst, &fast_config())
        .expect("collector");
    let err = bad.collect().await.expect_err("wrong password refused");
    assert!(matches!(err, PluginError::Auth { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert!(!err.to_string().contains("wrong-password"), "{err}");
}

#[tokio::test]
async fn unreachable_is_retryable_and_names_the_endpoint() {
    let (_reserved, port) = common::closed_port();
    let inst = redis_instance("gone", &format!("redis://127.0.0.1:{port}"));
    let mut collector = plugin_for(inst.kind)
        .collector(&inst, &fast_config())
        .expect("collector");
    let err = collector.collect().await.expect_err("nothing listens");
    assert!(err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
    let report = diagnose_instance(&inst, &fast_config()).await;
    assert_eq!(report.status, DiagnosisStatus::Unknown);
    assert!(report.error.is_some());
}

#[tokio::test]
async fn server_log_lines_are_tailed_for_a_local_server() {
    let server = RedisServer::start(&[]);
    let mut collector = collector_for(&server).await;
    let snap = collector.collect().await.expect("sample");
    let server_lines: Vec<_> = snap.logs.iter().filter(|l| l.stream == "server").collect();
    assert!(
        server_lines
            .iter()
            .any(|l| l.text.contains("Ready to accept connections")),
        "{server_lines:?}"
    );
}

#[tokio::test]
async fn the_documented_read_only_acl_user_is_enough_for_collection() {
    let server = RedisServer::start(&[]);
    // The user of docs/plugins.md, verbatim.
    let acl = "ACL SETUSER sre_ro on >ro-pass ~* -@all +info +ping +time +role \
               +config|get +client|list +slowlog|get +slowlog|len +latency|latest +latency|doctor \
               +memory|doctor +acl|getuser";
    let args: Vec<&str> = acl.split_whitespace().collect();
    server.cmd(&args).expect("create the read-only user");
    let var = format!("KUBESTACK_TEST_RO_PW_{}", server.port);
    // SAFETY: the variable name is unique to this test's port; no other thread reads it.
    unsafe { std::env::set_var(&var, "ro-pass") };
    let mut inst = redis_instance("ro", &server.url());
    inst.username = Some("sre_ro".into());
    inst.password_env = Some(var);
    let mut collector = plugin_for(inst.kind)
        .collector(&inst, &fast_config())
        .unwrap();
    let snap = collector
        .collect()
        .await
        .expect("collects with the read-only user");
    assert!(snap.metrics.iter().any(|m| m.id == "used_memory"));
    assert!(
        snap.findings.iter().any(|f| f.id == "RDS-SEC-01"),
        "ACL GETUSER is readable"
    );
    // The server refuses writes for this user.
    let mut ro = redis::Client::open(format!("redis://sre_ro:ro-pass@127.0.0.1:{}", server.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let err = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("1")
        .query::<()>(&mut ro)
        .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("noperm"), "{err}");
}

#[tokio::test]
async fn a_url_password_with_plus_ampersand_and_cjk_logs_in() {
    // RFC 3986 userinfo: `+` is a plus and `&`/`=` are plain characters; form decoding turned
    // `+` into a space and cut the password at `&`.
    let secret = "a+b&c=d-密码";
    let server = RedisServer::start(&["--requirepass", secret]);
    let url = format!(
        "redis://:a+b&c=d-%E5%AF%86%E7%A0%81@127.0.0.1:{}",
        server.port
    );
    let inst = redis_instance("plus", &url);
    let mut collector = plugin_for(inst.kind)
        .collector(&inst, &fast_config())
        .expect("collector");
    let snap = collector
        .collect()
        .await
        .unwrap_or_else(|e| panic!("the URL's password logs in: {e}"));
    assert!(!format!("{snap:?}").contains("a+b&c=d"));
}
