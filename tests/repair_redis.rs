//! The repair executor against real redis-servers: every catalogue action runs and verifies,
//! rollbacks restore the captured pre-state, read-only and suggest modes send no write (proved
//! with the server's own command statistics), dangerous steps need the typed name, plans are
//! pinned to the server's run_id and context, and every step lands in a verifiable audit chain.

mod common;

use std::sync::Arc;

use common::{RedisServer, fast_config, redis_instance};
use kubestack_ai::config::{AppConfig, InstanceConfig, SafetyConfig, SafetyMode};
use kubestack_ai::plugins::InstanceFacts;
use kubestack_ai::plugins::redis::repair::RedisRepairs;
use kubestack_ai::repair::catalog::{PlanContext, RepairCatalog};
use kubestack_ai::repair::{
    AuditChain, AuditEvent, Check, Confirmation, Executor, PlanTarget, RepairError, RepairStep,
    WriteBackend, verify_chain,
};
use serde_json::{Map, Value};

struct Rig {
    redis: RedisServer,
    instance: InstanceConfig,
    config: AppConfig,
    executor: Executor,
    _dir: tempfile::TempDir,
    audit_path: std::path::PathBuf,
}

fn rig(extra: &[&str], mode: SafetyMode, read_only_contexts: &[&str]) -> Rig {
    let redis = RedisServer::start(extra);
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let audit = Arc::new(AuditChain::open(&audit_path).unwrap());
    let safety = SafetyConfig {
        mode,
        read_only_contexts: read_only_contexts.iter().map(|s| s.to_string()).collect(),
    };
    let instance = redis_instance("cache", &redis.url());
    Rig {
        executor: Executor::new(kubestack_ai::plugins::registry::backends(), &safety, audit)
            .unwrap(),
        instance,
        config: fast_config(),
        redis,
        _dir: dir,
        audit_path,
    }
}

impl Rig {
    fn run_id(&self) -> String {
        let mut con = self.redis.client();
        self.redis.info_field(&mut con, "run_id").unwrap()
    }

    fn step(&self, action: &str, params: &[(&str, &str)], context: Option<&str>) -> RepairStep {
        let facts = InstanceFacts::default();
        let ctx = PlanContext {
            target: PlanTarget {
                instance: "cache".into(),
                endpoint: self.redis.url(),
                identity: Some(self.run_id()),
                context: context.map(str::to_string),
            },
            facts: &facts,
            own_user: "default".into(),
        };
        let params: Map<String, Value> = params
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect();
        RedisRepairs.build(action, &params, &ctx).unwrap()
    }

    fn config_get(&self, key: &str) -> String {
        let v: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg(key)
            .query(&mut self.redis.client())
            .unwrap();
        v[1].clone()
    }

    /// Calls of one command as the server counts them (`cmdstat_config|set` …).
    fn calls(&self, stat: &str) -> u64 {
        let mut con = self.redis.client();
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query(&mut con)
            .unwrap();
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("cmdstat_{stat}:")))
            .and_then(|v| v.split(',').next())
            .and_then(|c| c.strip_prefix("calls="))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }

    fn events(&self) -> Vec<AuditEvent> {
        verify_chain(&self.audit_path)
            .unwrap()
            .into_iter()
            .map(|r| r.event)
            .collect()
    }
}

/// Prepare, execute, verify.
async fn run(
    executor: &Executor,
    backend: &mut dyn WriteBackend,
    step: RepairStep,
    confirmation: Confirmation,
) -> Result<String, RepairError> {
    let prepared = executor.prepare(backend, &step).await?;
    executor.execute(backend, &step, &confirmation).await?;
    executor.verify(backend, &step, &prepared).await
}

fn confirm() -> Confirmation {
    Confirmation::default()
}

fn typed(name: &str) -> Confirmation {
    Confirmation {
        typed_name: Some(name.into()),
    }
}

#[tokio::test]
async fn config_actions_run_verify_and_roll_back_to_the_captured_values() {
    let r = rig(&[], SafetyMode::Confirm, &[]);
    let mut backend = r.executor.open_backend(&r.instance, &r.config).unwrap();
    // (action, parameters, the key it sets, the new value)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        ("RDS-FIX-01", &[("bytes", "64mb")], "maxmemory", "67108864"),
        ("RDS-FIX-04", &[], "activedefrag", "yes"),
        ("RDS-FIX-06", &[("n", "5000")], "maxclients", "5000"),
        ("RDS-FIX-07", &[], "stop-writes-on-bgsave-error", "no"),
        ("RDS-FIX-08", &[], "latency-monitor-threshold", "100"),
        ("RDS-FIX-10", &[], "appendfsync", "everysec"),
        ("RDS-FIX-12", &[], "protected-mode", "yes"),
    ];
    for (action, params, key, new) in cases {
        let before = r.config_get(key);
        let step = r.step(action, params, None);
        let prepared = r.executor.prepare(backend.as_mut(), &step).await.unwrap();
        assert!(
            prepared
                .preview
                .contains(&format!("{key}: {before} → {new}")),
            "{action}: preview {:?}",
            prepared.preview
        );
        let confirmation = if step.risk == kubestack_ai::repair::Risk::Dangerous {
            typed("cache")
        } else {
            confirm()
        };
        let result = r
            .executor
            .execute(backend.as_mut(), &step, &confirmation)
            .await;
        if *action == "RDS-FIX-04"
            && let Err(e) = &result
        {
            // Active defrag needs Redis's own jemalloc; a server without it says so.
            assert!(e.to_string().contains("defrag"), "{action}: {e}");
            continue;
        }
        result.unwrap_or_else(|e| panic!("{action}: {e}"));
        assert_eq!(r.config_get(key), *new, "{action} applied");
        let verified = r.executor.verify(backend.as_mut(), &step, &prepared).await;
        assert!(verified.is_ok(), "{action}: {verified:?}");
        r.executor
            .rollback(backend.as_mut(), &step, &prepared)
            .await
            .unwrap();
        assert_eq!(r.config_get(key), before, "{action} rolled back");
    }
    let events = r.events();
    assert!(events.contains(&AuditEvent::Executed) && events.contains(&AuditEvent::RolledBack));
}

#[tokio::test]
async fn the_other_actions_run_against_a_real_server() {
    let r = rig(&[], SafetyMode::Confirm, &[]);
    let mut backend = r.executor.open_backend(&r.instance, &r.config).unwrap();
    // RDS-FIX-03 MEMORY PURGE and RDS-FIX-09 BGSAVE (verified once the fork finished).
    run(
        &r.executor,
        backend.as_mut(),
        r.step("RDS-FIX-03", &[], None),
        confirm(),
    )
    .await
    .unwrap();
    run(
        &r.executor,
        backend.as_mut(),
        r.step("RDS-FIX-09", &[], None),
        confirm(),
    )
    .await
    .unwrap();
    // RDS-FIX-05: a second client is disconnected.
    let mut victim = r.redis.client();
    let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut victim).unwrap();
    run(
        &r.executor,
        backend.as_mut(),
        r.step("RDS-FIX-05", &[("id", &id.to_string())], None),
        confirm(),
    )
    .await
    .unwrap();
    assert!(
        redis::cmd("PING").query::<String>(&mut victim).is_err(),
        "killed"
    );
    // RDS-FIX-15 (dangerous): the key is gone.
    r.redis.cmd(&["RPUSH", "big:list", "a", "b", "c"]).unwrap();
    run(
        &r.executor,
        backend.as_mut(),
        r.step("RDS-FIX-15", &[("key", "big:list")], None),
        typed("cache"),
    )
    .await
    .unwrap();
    assert_eq!(
        r.redis.cmd(&["EXISTS", "big:list"]).unwrap(),
        redis::Value::Int(0)
    );
    // RDS-FIX-14 on an application user, and its rollback restores its commands.
    r.redis
        .cmd(&["ACL", "SETUSER", "app", "on", ">apppw", "~*", "+@all"])
        .unwrap();
    let step = r.step("RDS-FIX-14", &[("user", "app")], None);
    let prepared = r.executor.prepare(backend.as_mut(), &step).await.unwrap();
    r.executor
        .execute(backend.as_mut(), &step, &confirm())
        .await
        .unwrap();
    r.executor
        .verify(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    r.executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    let dry: String = redis::cmd("ACL")
        .arg(&["DRYRUN", "app", "CONFIG", "SET", "x", "y"])
        .query(&mut r.redis.client())
        .unwrap();
    assert_eq!(dry, "OK", "rollback gave CONFIG back");
    // RDS-FIX-11 with no script running: the server's refusal is reported, nothing breaks.
    let err = run(
        &r.executor,
        backend.as_mut(),
        r.step("RDS-FIX-11", &[], None),
        confirm(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("No scripts in execution"), "{err}");
    // RDS-FIX-16 CONFIG REWRITE: this test server has no config file, and says so.
    let err = run(
        &r.executor,
        backend.as_mut(),
        r.step("RDS-FIX-16", &[], None),
        confirm(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("config"), "{err}");
    // RDS-FIX-13 (dangerous, last: it locks out password-less clients) and its rollback.
    let step = r.step("RDS-FIX-13", &[("password", "n3w-S3cret")], None);
    let prepared = r.executor.prepare(backend.as_mut(), &step).await.unwrap();
    r.executor
        .execute(backend.as_mut(), &step, &typed("cache"))
        .await
        .unwrap();
    r.executor
        .verify(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    let mut authed = r.redis.client_with_password(Some("n3w-S3cret"));
    assert_eq!(
        redis::cmd("PING").query::<String>(&mut authed).unwrap(),
        "PONG"
    );
    r.executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(
        redis::cmd("PING")
            .query::<String>(&mut r.redis.client())
            .unwrap(),
        "PONG"
    );
    let log = std::fs::read_to_string(&r.audit_path).unwrap();
    assert!(
        !log.contains("n3w-S3cret"),
        "the password never reaches the audit log"
    );
    assert!(log.contains("ACL SETUSER default on [REDACTED]"));
}

#[tokio::test]
async fn read_only_and_suggest_modes_send_no_write() {
    for mode in [SafetyMode::ReadOnly, SafetyMode::Suggest] {
        let r = rig(&[], mode, &[]);
        let mut backend = r.executor.open_backend(&r.instance, &r.config).unwrap();
        let step = r.step("RDS-FIX-08", &[], None);
        let before = r.calls("config|set");
        let prepared = r.executor.prepare(backend.as_mut(), &step).await.unwrap();
        assert!(
            prepared
                .preview
                .contains("latency-monitor-threshold: 0 → 100")
        );
        let err = r
            .executor
            .execute(backend.as_mut(), &step, &confirm())
            .await
            .unwrap_err();
        let expected = match mode {
            SafetyMode::ReadOnly => "read-only mode",
            _ => "suggest mode",
        };
        assert!(
            matches!(err, RepairError::Refused(ref m) if m.contains(expected)),
            "{err}"
        );
        let err = r
            .executor
            .rollback(backend.as_mut(), &step, &prepared)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        assert_eq!(
            r.calls("config|set"),
            before,
            "no CONFIG SET reached the server"
        );
        assert_eq!(r.config_get("latency-monitor-threshold"), "0");
        assert_eq!(r.events(), [AuditEvent::Refused, AuditEvent::Refused]);
    }
}

#[tokio::test]
async fn read_only_contexts_refuse_whatever_the_mode_and_leaving_read_only_needs_a_reason() {
    let r = rig(&[], SafetyMode::Confirm, &["prod-*"]);
    let mut backend = r.executor.open_backend(&r.instance, &r.config).unwrap();
    let step = r.step("RDS-FIX-08", &[], Some("prod-eu-1"));
    let err = r
        .executor
        .execute(backend.as_mut(), &step, &confirm())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("context `prod-eu-1` is read-only"),
        "{err}"
    );
    assert_eq!(r.calls("config|set"), 0);
    // Another context works; a plan made for another context than the one in use is refused.
    r.executor.set_current_context(Some("staging".into()));
    let step = r.step("RDS-FIX-08", &[], Some("dev"));
    let err = r
        .executor
        .execute(backend.as_mut(), &step, &confirm())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("made in context `dev`"), "{err}");
    let step = r.step("RDS-FIX-08", &[], Some("staging"));
    r.executor
        .execute(backend.as_mut(), &step, &confirm())
        .await
        .unwrap();

    r.executor.set_mode(SafetyMode::ReadOnly, "").unwrap();
    let err = r.executor.set_mode(SafetyMode::Confirm, "  ").unwrap_err();
    assert!(err.to_string().contains("needs a reason"), "{err}");
    r.executor
        .set_mode(SafetyMode::Confirm, "INC-42 approved by on-call lead")
        .unwrap();
    let log = std::fs::read_to_string(&r.audit_path).unwrap();
    assert!(log.contains("read-only → confirm; reason: INC-42 approved by on-call lead"));
}

#[tokio::test]
async fn dangerous_steps_need_the_instance_name_typed() {
    let r = rig(
        &["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"],
        SafetyMode::Confirm,
        &[],
    );
    r.redis
        .cmd(&["DEBUG", "POPULATE", "20000", "key", "100"])
        .unwrap();
    let mut backend = r.executor.open_backend(&r.instance, &r.config).unwrap();
    let step = r.step("RDS-FIX-02", &[], None);
    for wrong in [confirm(), typed("cach"), typed("CACHE")] {
        let err = r
            .executor
            .execute(backend.as_mut(), &step, &wrong)
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("needs the instance name `cache` typed"),
            "{err}"
        );
    }
    assert_eq!(r.config_get("maxmemory-policy"), "noeviction");
    r.executor
        .execute(backend.as_mut(), &step, &typed("cache"))
        .await
        .unwrap();
    assert_eq!(r.config_get("maxmemory-policy"), "allkeys-lru");
    // What makes it dangerous: the next write evicts keys at once.
    r.redis.cmd(&["SET", "probe", "1"]).unwrap();
    let mut con = r.redis.client();
    let evicted: u64 = r
        .redis
        .info_field(&mut con, "evicted_keys")
        .unwrap()
        .parse()
        .unwrap();
    assert!(evicted > 0, "keys were evicted");
}

#[tokio::test]
async fn a_plan_is_pinned_to_the_server_it_was_made_for() {
    let mut r = rig(&[], SafetyMode::Confirm, &[]);
    let step = r.step("RDS-FIX-08", &[], None);
    r.redis.restart(); // same address, a new server (new run_id)
    let mut backend = r.executor.open_backend(&r.instance, &r.config).unwrap();
    let err = r
        .executor
        .execute(backend.as_mut(), &step, &confirm())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not the one the plan was made for"),
        "{err}"
    );
    assert_eq!(r.calls("config|set"), 0);
}

#[tokio::test]
async fn a_failed_verification_offers_the_rollback_that_restores_the_pre_state() {
    let r = rig(&[], SafetyMode::Confirm, &[]);
    let mut backend = r.executor.open_backend(&r.instance, &r.config).unwrap();
    let mut step = r.step("RDS-FIX-08", &[], None);
    // A probe that cannot hold (as when another client changes the value back at once).
    if let Some(p) = step.verify.as_mut() {
        p.check = Check::ConfigEquals {
            key: "latency-monitor-threshold".into(),
            value: "250".into(),
        };
    }
    let prepared = r.executor.prepare(backend.as_mut(), &step).await.unwrap();
    r.executor
        .execute(backend.as_mut(), &step, &confirm())
        .await
        .unwrap();
    let err = r
        .executor
        .verify(backend.as_mut(), &step, &prepared)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is 100, expected 250"), "{err}");
    assert!(!prepared.rollback.is_empty(), "a rollback is on offer");
    r.executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(r.config_get("latency-monitor-threshold"), "0");
    assert_eq!(
        r.config_get("slowlog-log-slower-than"),
        "10000",
        "the test server's default"
    );
    assert_eq!(
        r.events(),
        [
            AuditEvent::Confirmed,
            AuditEvent::Executed,
            AuditEvent::Executed,
            AuditEvent::Executed,
            AuditEvent::VerificationFailed,
            AuditEvent::RolledBack,
            AuditEvent::RolledBack,
            AuditEvent::RolledBack,
        ]
    );
}

#[tokio::test]
async fn script_kill_stops_a_busy_script() {
    let r = rig(&["--lua-time-limit", "100"], SafetyMode::Confirm, &[]);
    let step = r.step("RDS-FIX-11", &[], None);
    let mut busy = r.redis.client();
    let script = std::thread::spawn(move || {
        redis::cmd("EVAL")
            .arg("while true do end")
            .arg(0)
            .query::<redis::Value>(&mut busy)
    });
    // Wait until the server answers BUSY.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match r.redis.cmd(&["PING"]) {
            Err(e) if e.to_string().contains("BUSY") => break,
            _ if std::time::Instant::now() > deadline => {
                panic!("the script never made the server busy")
            }
            _ => std::thread::sleep(std::time::Duration::from_millis(50)),
        }
    }
    let mut backend = r.executor.open_backend(&r.instance, &r.config).unwrap();
    run(&r.executor, backend.as_mut(), step, confirm())
        .await
        .unwrap();
    let killed = script.join().unwrap().unwrap_err();
    assert!(killed.to_string().contains("killed"), "{killed}");
}

#[tokio::test]
async fn the_executor_never_kills_its_own_connections() {
    let rig = rig(&[], SafetyMode::Confirm, &[]);
    let mut backend = rig
        .executor
        .open_backend(&rig.instance, &rig.config)
        .unwrap();
    // The reader's id, through the reader itself.
    let client_id = kubestack_ai::repair::Command::new(&["CLIENT", "ID"]);
    let reader_id = match backend.read(&client_id).await.unwrap() {
        kubestack_ai::repair::Reply::Int(i) => i,
        other => panic!("CLIENT ID: {other:?}"),
    };
    // A harmless step first, so the writer connects; its id is the client that ran it.
    let step = rig.step("RDS-FIX-08", &[], None);
    run(&rig.executor, backend.as_mut(), step, confirm())
        .await
        .unwrap();
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut rig.redis.client())
        .unwrap();
    let writer_id: i64 = list
        .lines()
        .find(|l| l.contains("cmd=config|set"))
        .and_then(|l| l.split(' ').find_map(|w| w.strip_prefix("id=")))
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("the writer in {list}"));
    for id in [reader_id, writer_id] {
        let kill = rig.step("RDS-FIX-05", &[("id", &id.to_string())], None);
        let err = rig
            .executor
            .execute(backend.as_mut(), &kill, &Confirmation::default())
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("this program's own connection"),
            "{err}"
        );
    }
    assert_eq!(
        rig.calls("client|kill"),
        0,
        "no CLIENT KILL reached the server"
    );
    // Another client is killed as asked.
    let mut victim = rig.redis.client();
    let victim_id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut victim).unwrap();
    let kill = rig.step("RDS-FIX-05", &[("id", &victim_id.to_string())], None);
    rig.executor
        .execute(backend.as_mut(), &kill, &Confirmation::default())
        .await
        .unwrap();
    assert_eq!(rig.calls("client|kill"), 1);
}
