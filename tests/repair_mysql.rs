//! The repair executor against real MariaDB servers: the MYS-FIX actions change the server
//! (checked with the test's own root session, never the program's state), verify, and roll back
//! to the captured values; an idle-in-transaction blocker found by the collector is killed from
//! the plan of its finding and the waiter completes; KILL prechecks; pinning; and in read-only
//! mode — executor, AI plan and the `fix` binary — no write reaches the server, as its general
//! log shows.

mod common;

use kubestack_ai::config::PluginSettings;
use kubestack_ai::plugins::mysql::settings::MysqlSettings;
use std::process::{Command as Process, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::fast_config;
use common::mariadb::MariaDb;
use kubestack_ai::ai::plan::ProposedPlan;
use kubestack_ai::config::{AppConfig, InstanceConfig, InstanceKind, SafetyConfig, SafetyMode};
use kubestack_ai::plugins::mysql::repair::MysqlRepairs;
use kubestack_ai::plugins::{InstanceFacts, plugin_for};
use kubestack_ai::repair::catalog::{
    PlanContext, RepairCatalog, plan_for_finding, plan_from_proposal,
};
use kubestack_ai::repair::{
    AuditChain, AuditEvent, Confirmation, Executor, RepairError, RepairStep, verify_chain,
};
use mysql_async::prelude::Queryable;
use serde_json::{Map, Value};

struct Rig {
    db: MariaDb,
    instance: InstanceConfig,
    config: AppConfig,
    executor: Executor,
    facts: InstanceFacts,
    audit_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn rig(extra: &[&str], mode: SafetyMode) -> Rig {
    let db = MariaDb::start(extra);
    let dir = tempfile::tempdir().unwrap();
    let audit_path = dir.path().join("audit.jsonl");
    let safety = SafetyConfig {
        mode,
        read_only_contexts: Vec::new(),
    };
    let instance = InstanceConfig::new("db", InstanceKind::MYSQL, db.url());
    let mut config = fast_config();
    let mut mysql_settings = MysqlSettings::of(&config);
    mysql_settings.idle_in_trx_secs = 1;
    mysql_settings.lock_wait_secs = 1;
    mysql_settings.store_in(&mut config);
    let mut collector = plugin_for(InstanceKind::MYSQL)
        .collector(&instance, &config)
        .unwrap();
    let facts = collector.collect().await.unwrap().facts;
    Rig {
        executor: Executor::new(
            kubestack_ai::plugins::registry::backends(),
            &safety,
            Arc::new(AuditChain::open(&audit_path).unwrap()),
        )
        .unwrap(),
        instance,
        config,
        facts,
        db,
        audit_path,
        _dir: dir,
    }
}

impl Rig {
    fn ctx(&self) -> PlanContext<'_> {
        PlanContext::for_instance(&self.instance, &self.facts)
    }

    fn step(&self, action: &str, params: &[(&str, Value)]) -> RepairStep {
        let params: Map<String, Value> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        MysqlRepairs
            .build(action, &params, &self.ctx())
            .unwrap_or_else(|e| panic!("{action}: {e}"))
    }

    async fn var(&self, name: &str) -> String {
        self.db
            .value(&format!("SELECT @@GLOBAL.{name}"))
            .await
            .unwrap_or_default()
    }

    fn events(&self) -> Vec<AuditEvent> {
        verify_chain(&self.audit_path)
            .unwrap()
            .into_iter()
            .map(|r| r.event)
            .collect()
    }

    /// Turns the server's general log on: every statement any session sends is recorded.
    async fn general_log(&self) -> std::path::PathBuf {
        let path = self.db.dir.path().join("general.log");
        self.db
            .exec(&[
                &format!("SET GLOBAL general_log_file = '{}'", path.display()),
                "SET GLOBAL general_log = ON",
            ])
            .await;
        path
    }
}

/// Statements in a general log that change something (anything but reads and session setup).
fn writes_in(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            l.split_once(" Query\t")
                .or_else(|| l.split_once("\tQuery\t"))
                .map(|(_, q)| q.trim().to_string())
        })
        .filter(|q| !q.starts_with("SET GLOBAL general_log"))
        .filter(|q| {
            let u = q.to_ascii_uppercase();
            ![
                "SELECT",
                "SHOW",
                "SET SESSION TRANSACTION READ ONLY",
                "SET SESSION MAX_STATEMENT_TIME",
                "SET NAMES",
            ]
            .iter()
            .any(|p| u.starts_with(p))
        })
        .collect()
}

fn confirm() -> Confirmation {
    Confirmation::default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_global_actions_apply_verify_and_roll_back_to_the_captured_values() {
    let r = rig(&[], SafetyMode::Confirm).await;
    let mut backend = r.executor.open_backend(&r.instance, &r.config).unwrap();
    // (action, parameters, the variable it sets, the value the server then reports)
    type Case<'a> = (&'a str, &'a [(&'a str, Value)], &'a str, &'a str);
    let cases: &[Case] = &[
        (
            "MYS-FIX-03",
            &[("n", Value::from(300))],
            "max_connections",
            "300",
        ),
        (
            "MYS-FIX-04",
            &[("secs", Value::from(900))],
            "wait_timeout",
            "900",
        ),
        ("MYS-FIX-05", &[], "slow_query_log", "1"),
        (
            "MYS-FIX-07",
            &[
                ("setting", Value::from("thread_cache_size")),
                ("value", Value::from(64)),
            ],
            "thread_cache_size",
            "64",
        ),
        ("MYS-FIX-10", &[], "read_only", "1"),
        ("MYS-FIX-15", &[], "sync_binlog", "1"),
    ];
    for (action, params, var, new) in cases {
        let before = r.var(var).await;
        let step = r.step(action, params);
        let prepared = r.executor.prepare(backend.as_mut(), &step).await.unwrap();
        assert!(
            prepared.preview.contains(&format!("{var}: ")),
            "{action}: {}",
            prepared.preview
        );
        assert!(
            !prepared.rollback.is_empty(),
            "{action}: {}",
            prepared.rollback_text
        );
        r.executor
            .execute(backend.as_mut(), &step, &confirm())
            .await
            .unwrap_or_else(|e| panic!("{action}: {e}"));
        assert_eq!(r.var(var).await, *new, "{action} changed the server");
        let verified = r.executor.verify(backend.as_mut(), &step, &prepared).await;
        assert!(verified.is_ok(), "{action}: {verified:?}");
        r.executor
            .rollback(backend.as_mut(), &step, &prepared)
            .await
            .unwrap_or_else(|e| panic!("{action} rollback: {e}"));
        assert_eq!(
            r.var(var).await,
            before,
            "{action} rolled back to the captured value"
        );
    }
    assert!(r.events().contains(&AuditEvent::RolledBack));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_of_a_lock_wait_kills_the_idle_blocker_and_the_waiter_completes() {
    let r = rig(&[], SafetyMode::Confirm).await;
    r.db.exec(&[
        "CREATE DATABASE faults",
        "CREATE TABLE faults.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB",
        "INSERT INTO faults.t VALUES (1, 0), (2, 0)",
    ])
    .await;
    let mut blocker = r.db.root().await;
    blocker.query_drop("BEGIN").await.unwrap();
    blocker
        .query_drop("UPDATE faults.t SET v = v + 1 WHERE id = 2")
        .await
        .unwrap();
    let blocker_id = blocker.id();
    let mut waiter = r.db.root().await;
    let wait = tokio::spawn(async move {
        waiter
            .query_drop("UPDATE faults.t SET v = v + 10 WHERE id = 2")
            .await
    });
    // The wait is a finding once it is older than lock_wait_secs (1 s): sample until then.
    let mut collector = plugin_for(InstanceKind::MYSQL)
        .collector(&r.instance, &r.config)
        .unwrap();
    let mut finding = None;
    for _ in 0..40 {
        let snapshot = collector.collect().await.unwrap();
        finding = snapshot.findings.into_iter().find(|f| f.id == "MYS-LAT-03");
        if finding.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let finding = finding.expect("the lock wait became a finding");
    let plan = plan_for_finding(&MysqlRepairs, &finding, &r.ctx());
    assert_eq!(plan.steps.len(), 1, "{plan:?}");
    let step = &plan.steps[0];
    assert_eq!(step.action, "MYS-FIX-02");
    assert_eq!(step.commands[0].statement(), format!("KILL {blocker_id}"));

    let mut backend = r.executor.open_backend(&r.instance, &r.config).unwrap();
    let prepared = r.executor.prepare(backend.as_mut(), step).await.unwrap();
    r.executor
        .execute(backend.as_mut(), step, &confirm())
        .await
        .unwrap();
    let verified = r
        .executor
        .verify(backend.as_mut(), step, &prepared)
        .await
        .unwrap();
    assert!(!verified.is_empty());
    // The waiter got the lock and committed: the blocker's +1 was rolled back, its +10 stands.
    assert!(
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap()
            .unwrap()
            .is_ok()
    );
    assert_eq!(
        r.db.value("SELECT v FROM faults.t WHERE id = 2")
            .await
            .as_deref(),
        Some("10")
    );
    assert!(
        blocker.query_drop("SELECT 1").await.is_err(),
        "the blocker's session is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_prechecks_pinning_and_failed_verification() {
    let r = rig(&[], SafetyMode::Confirm).await;
    let mut backend = r.executor.open_backend(&r.instance, &r.config).unwrap();
    // A session that does not exist is refused before KILL is sent.
    let step = r.step("MYS-FIX-01", &[("id", Value::from(999_999))]);
    let err = r
        .executor
        .execute(backend.as_mut(), &step, &confirm())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    // A plan pinned to another server is refused.
    let mut step = r.step("MYS-FIX-03", &[("n", Value::from(400))]);
    step.target.identity = Some("other-host/server_id=9/var/lib/mysql/".into());
    let err = r
        .executor
        .execute(backend.as_mut(), &step, &confirm())
        .await
        .unwrap_err();
    assert!(matches!(err, RepairError::Refused(_)), "{err}");
    assert_eq!(r.var("max_connections").await, "151");
    // MariaDB clamps max_connections to at least 10: verification sees 10, not 1, and fails.
    let step = r.step("MYS-FIX-03", &[("n", Value::from(1))]);
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
    assert!(
        err.to_string()
            .contains("max_connections is 10, expected 1"),
        "{err}"
    );
    r.executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(r.var("max_connections").await, "151");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_get_a_password_and_anonymous_ones_are_dropped() {
    let r = rig(&[], SafetyMode::Confirm).await;
    r.db.exec(&["CREATE USER 'nopw'@'%'", "CREATE USER ''@'localhost'"])
        .await;
    let mut backend = r.executor.open_backend(&r.instance, &r.config).unwrap();
    let step = r.step("MYS-FIX-11", &[("account", Value::from("'nopw'@'%'"))]);
    let prepared = r.executor.prepare(backend.as_mut(), &step).await.unwrap();
    let wrong = r
        .executor
        .execute(backend.as_mut(), &step, &confirm())
        .await
        .unwrap_err();
    assert!(
        wrong.to_string().contains("needs the instance name"),
        "dangerous: {wrong}"
    );
    r.executor
        .execute(
            backend.as_mut(),
            &step,
            &Confirmation {
                typed_name: Some("db".into()),
            },
        )
        .await
        .unwrap();
    r.executor
        .verify(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(
        r.db.value(
            "SELECT COUNT(*) FROM mysql.user WHERE user = 'nopw' AND authentication_string = ''"
        )
        .await
        .as_deref(),
        Some("0")
    );
    let audit = std::fs::read_to_string(&r.audit_path).unwrap();
    let password = step.effect.rsplit(": ").next().unwrap();
    assert!(
        !audit.contains(password),
        "the new password is not in the audit log"
    );
    assert!(audit.contains("IDENTIFIED BY [REDACTED]"));

    let step = r.step("MYS-FIX-12", &[("account", Value::from("''@'localhost'"))]);
    let prepared = r.executor.prepare(backend.as_mut(), &step).await.unwrap();
    r.executor
        .execute(backend.as_mut(), &step, &confirm())
        .await
        .unwrap();
    r.executor
        .verify(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(
        r.db.value("SELECT COUNT(*) FROM mysql.user WHERE user = ''")
            .await
            .as_deref(),
        Some("0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_sends_no_write_by_the_executor_or_an_ai_plan() {
    let r = rig(&[], SafetyMode::ReadOnly).await;
    let log = r.general_log().await;
    let mut backend = r.executor.open_backend(&r.instance, &r.config).unwrap();
    let step = r.step("MYS-FIX-03", &[("n", Value::from(500))]);
    let prepared = r.executor.prepare(backend.as_mut(), &step).await.unwrap();
    assert!(
        prepared.preview.contains("max_connections: 151 → 500"),
        "{}",
        prepared.preview
    );
    let err = r
        .executor
        .execute(backend.as_mut(), &step, &confirm())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    // A plan from the model, including free-form SQL: the free-form part is text only.
    let proposal: ProposedPlan = serde_json::from_str(
        r#"{"plan":[{"action":"MYS-FIX-10","why":"replica is writable"},
                     {"action":"SET GLOBAL read_only = ON; DROP DATABASE mysql","why":"x"}]}"#,
    )
    .unwrap();
    let plan = plan_from_proposal(&MysqlRepairs, &proposal, &r.ctx(), "make it read-only");
    assert_eq!(plan.steps.len(), 1);
    assert!(
        plan.manual[0].contains("never executed"),
        "{:?}",
        plan.manual
    );
    let err = r
        .executor
        .execute(backend.as_mut(), &plan.steps[0], &confirm())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    assert!(r.events().contains(&AuditEvent::Refused));
    r.db.exec(&["SET GLOBAL general_log = OFF"]).await;
    assert_eq!(writes_in(&log), Vec::<String>::new());
    assert_eq!(r.var("max_connections").await, "151");
    assert_eq!(r.var("read_only").await, "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fix_command_walks_a_mysql_plan_and_refuses_in_read_only() {
    let r = rig(&[], SafetyMode::Confirm).await;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = Process::new(env!("CARGO_BIN_EXE_kubestack-ai"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("USER", "oncall")
            .env("XDG_CONFIG_HOME", dir.path().join("cfg"))
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("KUBESTACK_COLLECTOR__DIAGNOSE_SAMPLE_SECS", "0.2")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let url = r.db.url();
    let log = r.general_log().await;
    let (code, out) = run(
        &["--read-only", "fix", &url, "--action", "MYS-FIX-05"],
        "y\n",
    );
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("refused: read-only mode"), "{out}");
    r.db.exec(&["SET GLOBAL general_log = OFF"]).await;
    assert_eq!(
        writes_in(&log),
        Vec::<String>::new(),
        "no write reached MariaDB"
    );

    let (code, out) = run(&["fix", &url, "--action", "MYS-FIX-05"], "y\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("slow_query_log: OFF → ON"), "{out}");
    assert!(
        out.contains("rollback: SET GLOBAL slow_query_log = OFF"),
        "{out}"
    );
    assert_eq!(r.var("slow_query_log").await, "1");
    assert_eq!(r.var("long_query_time").await, "1.000000");
    let (code, out) = run(&["audit", "verify"], "");
    assert_eq!(code, Some(0), "{out}");
}
