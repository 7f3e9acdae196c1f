//! The MySQL/MariaDB plugin against real MariaDB servers (the Debian package): faults made
//! with real statements and sessions, the rules that must fire, what the logs pane shows, and —
//! from the server's own general log — that collection never sends a statement that writes.

mod common;

use kubestack_ai::config::PluginSettings;
use kubestack_ai::plugins::mysql::settings::MysqlSettings;
use std::time::Duration;

use common::mariadb::MariaDb;
use common::{closed_port, fast_config};
use kubestack_ai::config::{AppConfig, InstanceConfig, InstanceKind};
use kubestack_ai::diagnose::diagnose_instance;
use kubestack_ai::plugins::{InstanceSnapshot, PluginError, plugin_for};
use mysql_async::prelude::Queryable;

fn mysql(name: &str, url: &str) -> InstanceConfig {
    InstanceConfig::new(name, InstanceKind::MYSQL, url)
}

fn quick_rules() -> AppConfig {
    let mut c = fast_config();
    let mut mysql_settings = MysqlSettings::of(&c);
    mysql_settings.long_query_warn_secs = 1;
    mysql_settings.idle_in_trx_secs = 1;
    mysql_settings.lock_wait_secs = 1;
    mysql_settings.store_in(&mut c);
    c
}

/// The second of two samples, with the log lines of both (each line is shown once).
async fn two_samples(instance: &InstanceConfig, config: &AppConfig) -> InstanceSnapshot {
    let mut collector = plugin_for(InstanceKind::MYSQL)
        .collector(instance, config)
        .unwrap();
    let first = collector.collect().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut second = collector.collect().await.unwrap();
    let mut logs = first.logs;
    logs.append(&mut second.logs);
    second.logs = logs;
    second
}

fn ids(s: &InstanceSnapshot) -> Vec<(String, &'static str)> {
    s.findings
        .iter()
        .map(|f| (f.id.clone(), f.severity.tag()))
        .collect()
}

fn has(s: &InstanceSnapshot, id: &str, tag: &str) -> bool {
    s.findings
        .iter()
        .any(|f| f.id == id && f.severity.tag() == tag)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_install_is_identified_and_its_accounts_flagged() {
    let db = MariaDb::start(&[]);
    db.exec(&[
        "CREATE USER ''@'localhost'",
        "CREATE USER 'app'@'%' IDENTIFIED BY 'app-pw'",
    ])
    .await;
    let s = two_samples(&mysql("db", &db.url()), &fast_config()).await;
    assert!(
        s.facts.version.as_deref().unwrap().contains("MariaDB"),
        "{:?}",
        s.facts
    );
    assert!(s.facts.extra.contains(&("flavor".into(), "MariaDB".into())));
    assert_eq!(s.facts.role.as_deref(), Some("primary"));
    let identity = s
        .facts
        .identity
        .clone()
        .expect("an identity to pin plans to");
    assert!(identity.contains("server_id="), "{identity}");
    assert!(
        has(&s, "MYS-SEC-01", "CRIT"),
        "password-less root: {:?}",
        ids(&s)
    );
    let sec01 = s.findings.iter().find(|f| f.id == "MYS-SEC-01").unwrap();
    assert!(
        sec01.title.contains("'root'@'localhost'"),
        "{}",
        sec01.title
    );
    assert!(!sec01.title.contains("'app'@'%'"), "app has a password");
    assert!(has(&s, "MYS-SEC-02", "WARN"), "{:?}", ids(&s));
    assert!(has(&s, "MYS-SEC-03", "WARN"), "{:?}", ids(&s));
    assert!(has(&s, "MYS-CAP-02", "INFO"), "a server up for seconds");
    let metric = |id: &str| s.metrics.iter().find(|m| m.id == id).map(|m| m.value);
    assert!(metric("qps").is_some() && metric("threads_connected").unwrap() >= 1.0);
    assert!(metric("connections_pct").is_some() && metric("history_list").is_some());
    // The error log of a local server is tailed; what could not be collected is said once.
    assert!(
        s.logs
            .iter()
            .any(|l| l.stream == "server" && l.text.contains("ready for connections")),
        "{:?}",
        s.logs
    );
    assert!(
        s.logs
            .iter()
            .any(|l| l.stream == "collector" && l.text.contains("performance_schema is OFF"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_statements_idle_blockers_and_lock_waits_fire_with_masked_statements() {
    let db = MariaDb::start(&[]);
    db.exec(&[
        "CREATE DATABASE faults",
        "CREATE TABLE faults.t (id INT PRIMARY KEY, v VARCHAR(64)) ENGINE=InnoDB",
        "INSERT INTO faults.t VALUES (1, 'a'), (2, 'b')",
    ])
    .await;
    // A long statement with a secret-looking literal.
    let mut sleeper = db.root().await;
    let sleep = tokio::spawn(async move {
        let _ = sleeper
            .query_drop("SELECT SLEEP(20), 'card-4111111111111111'")
            .await;
    });
    // An idle session holding a row lock, and a session waiting on it.
    let mut blocker = db.root().await;
    blocker.query_drop("BEGIN").await.unwrap();
    blocker
        .query_drop("UPDATE faults.t SET v = 'row-secret' WHERE id = 2")
        .await
        .unwrap();
    let mut waiter = db.root().await;
    let wait = tokio::spawn(async move {
        waiter
            .query_drop("UPDATE faults.t SET v = 'x' WHERE id = 2")
            .await
    });
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let s = two_samples(&mysql("db", &db.url()), &quick_rules()).await;
    assert!(has(&s, "MYS-LAT-01", "WARN"), "{:?}", ids(&s));
    assert!(
        has(&s, "MYS-LAT-02", "WARN"),
        "idle in transaction: {:?}",
        ids(&s)
    );
    let lat03 = s
        .findings
        .iter()
        .find(|f| f.id == "MYS-LAT-03")
        .expect("a lock wait");
    assert_eq!(lat03.evidence["blocker_idle"], true);
    let blocker_id = lat03.evidence["blocking_pid"].as_u64().unwrap();
    assert!(
        lat03
            .title
            .contains(&format!("held by session {blocker_id}")),
        "{}",
        lat03.title
    );
    // The logs pane shows the statements, literals masked.
    let lines: Vec<&str> = s.logs.iter().map(|l| l.text.as_str()).collect();
    assert!(
        lines.iter().any(|l| l.contains("SELECT SLEEP(?), ?")),
        "{lines:#?}"
    );
    assert!(
        s.logs
            .iter()
            .any(|l| l.stream == "locks" && l.text.contains("idle in transaction")),
        "{lines:#?}"
    );
    let everything = format!("{:?} {:?}", s.logs, s.findings);
    for secret in ["card-4111", "row-secret"] {
        assert!(!everything.contains(secret), "{secret} left the collector");
    }
    blocker.query_drop("ROLLBACK").await.unwrap();
    assert!(wait.await.unwrap().is_ok());
    sleep.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_counted_where_mariadb_counts_them() {
    let db = MariaDb::start(&["--max-connections=10"]);
    db.exec(&["CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'app-pw'"])
        .await;
    let instance = mysql("db", &db.url());
    let config = fast_config();
    let mut collector = plugin_for(InstanceKind::MYSQL)
        .collector(&instance, &config)
        .unwrap();
    collector.collect().await.unwrap();
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(db.port)
        .user(Some("app"))
        .pass(Some("app-pw"))
        .prefer_socket(false);
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..14 {
        match mysql_async::Conn::new(opts.clone()).await {
            Ok(c) => held.push(c),
            Err(e) => {
                assert!(
                    e.to_string().contains("1040") || e.to_string().contains("Too many"),
                    "{e}"
                );
                refused += 1;
            }
        }
    }
    assert!(
        refused > 0,
        "the server refused some of 14 connections at max_connections=10"
    );
    let s = collector.collect().await.unwrap();
    let conn02 = s
        .findings
        .iter()
        .find(|f| f.id == "MYS-CONN-02")
        .expect("MYS-CONN-02");
    assert_eq!(conn02.severity.tag(), "CRIT");
    // The server counts a refusal a moment after it sent the error, so this sample may not
    // see the last ones yet; the server's own counter reaches them all.
    assert!(
        conn02.evidence["aborted_connects"].as_u64().unwrap() >= 1,
        "{:?}",
        conn02.evidence
    );
    let mut counted = 0;
    for _ in 0..50 {
        counted = db
            .value("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'ABORTED_CONNECTS'")
            .await
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if counted >= refused {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        counted >= refused,
        "MariaDB counts refusals in Aborted_connects: {counted} < {refused}"
    );
    assert!(has(&s, "MYS-CONN-01", "WARN"), "{:?}", ids(&s));
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_and_tools_send_only_read_only_statements_says_the_general_log() {
    let db = MariaDb::start(&["--performance-schema=ON"]);
    let general = db.dir.path().join("general.log");
    db.exec(&[
        &format!("SET GLOBAL general_log_file = '{}'", general.display()),
        "SET GLOBAL general_log = ON",
    ])
    .await;
    let instance = mysql("db", &db.url());
    let config = quick_rules();
    let s = two_samples(&instance, &config).await;
    assert!(
        s.facts
            .extra
            .iter()
            .any(|(k, v)| k == "top statement" && v.contains("calls")),
        "the top digest is a fact: {:?}",
        s.facts.extra
    );
    let mut tools = plugin_for(InstanceKind::MYSQL)
        .tools(&instance, &config)
        .unwrap();
    for (name, args) in [
        ("mysql_processlist", serde_json::json!({})),
        ("mysql_status", serde_json::json!({"like": "Threads_%"})),
        (
            "mysql_variables",
            serde_json::json!({"like": "max_connections"}),
        ),
        (
            "mysql_innodb_status",
            serde_json::json!({"section": "TRANSACTIONS"}),
        ),
        ("mysql_replica_status", serde_json::json!({})),
        ("mysql_lock_waits", serde_json::json!({})),
        ("mysql_top_statements", serde_json::json!({})),
        (
            "mysql_explain",
            serde_json::json!({"statement": "SELECT * FROM mysql.user WHERE user = 'root'"}),
        ),
    ] {
        let out = tools
            .call(name, &args)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!out.is_empty(), "{name}");
    }
    // What the model asks for that would write is refused before the wire.
    for (name, args) in [
        (
            "mysql_explain",
            serde_json::json!({"statement": "UPDATE mysql.user SET host = '%'"}),
        ),
        (
            "mysql_explain",
            serde_json::json!({"statement": "SELECT 1; SET GLOBAL max_connections = 1"}),
        ),
        (
            "mysql_explain",
            serde_json::json!({"statement": "SELECT GET_LOCK('x', 0)"}),
        ),
        (
            "mysql_status",
            serde_json::json!({"like": "x'; SET GLOBAL read_only = ON; --"}),
        ),
    ] {
        assert!(tools.call(name, &args).await.is_err(), "{name} {args}");
    }
    let mut reader = kubestack_ai::plugins::mysql::MysqlTarget::from_instance(&instance)
        .unwrap()
        .connect(Duration::from_secs(2), Duration::from_secs(2))
        .await
        .unwrap();
    for sql in [
        "SET GLOBAL max_connections = 11",
        "KILL 1",
        "FLUSH STATUS",
        "SELECT 1; DROP DATABASE mysql",
        "SELECT * FROM mysql.user FOR UPDATE",
    ] {
        assert!(
            matches!(reader.query(sql).await, Err(PluginError::Refused(_))),
            "{sql}"
        );
    }
    drop(reader);
    db.exec(&["SET GLOBAL general_log = OFF"]).await;
    assert_eq!(
        db.value("SELECT @@max_connections").await.as_deref(),
        Some("151")
    );

    // Every statement of every session but the test's own root sessions, as the server logged it.
    let log = std::fs::read_to_string(&general).unwrap();
    let mut checked = 0;
    for line in log.lines() {
        // The reading connections send their statements through the binary protocol
        // (`Prepare`, `Execute`); the text protocol (`Query`) only for fixed setup.
        let Some((_, rest)) = line
            .split_once("\tQuery\t")
            .or_else(|| line.split_once(" Query\t"))
            .or_else(|| line.split_once(" Prepare\t"))
            .or_else(|| line.split_once(" Execute\t"))
        else {
            continue;
        };
        let sql = rest.trim();
        if sql.starts_with("SET GLOBAL general_log") {
            continue; // the test's own switch
        }
        let upper = sql.to_ascii_uppercase();
        let allowed = [
            "SELECT",
            "SHOW",
            "EXPLAIN",
            "SET SESSION TRANSACTION READ ONLY",
            "SET SESSION MAX_STATEMENT_TIME",
        ];
        assert!(
            allowed.iter().any(|a| upper.starts_with(a)),
            "a statement that is not read-only reached the server: {sql}"
        );
        checked += 1;
    }
    assert!(
        checked > 20,
        "the general log recorded the collection ({checked} statements)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unreachable_are_told_apart() {
    let db = MariaDb::start(&[]);
    db.exec(&["CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY 'right-pw'"])
        .await;
    let config = fast_config();
    let mut c = plugin_for(InstanceKind::MYSQL)
        .collector(
            &mysql("db", &format!("mysql://app:wrong-pw@127.0.0.1:{}", db.port)),
            &config,
        )
        .unwrap();
    let err = c.collect().await.unwrap_err();
    assert!(
        matches!(err, PluginError::Auth { .. }) && !err.is_retryable(),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("1045") && !err.to_string().contains("wrong-pw"),
        "{err}"
    );
    let (_reserved, port) = closed_port();
    let mut c = plugin_for(InstanceKind::MYSQL)
        .collector(
            &mysql("db", &format!("mysql://root@127.0.0.1:{port}")),
            &config,
        )
        .unwrap();
    let err = c.collect().await.unwrap_err();
    assert!(
        matches!(err, PluginError::Unreachable { .. }) && err.is_retryable(),
        "{err:?}"
    );
    // diagnose says unknown for it, with the reason.
    let report = diagnose_instance(
        &mysql("db", &format!("mysql://root@127.0.0.1:{port}")),
        &config,
    )
    .await;
    assert_eq!(report.status.exit_code(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_replica_is_critical_and_its_lag_is_unknown_not_zero() {
    let source = MariaDb::start(&["--server-id=1", "--log-bin=binlog", "--binlog-format=ROW"]);
    let replica = MariaDb::start(&["--server-id=2"]);
    source
        .exec(&[
            "CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'repl-pw'",
            "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'",
        ])
        .await;
    replica
        .exec(&[
            &format!(
                "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='repl', MASTER_PASSWORD='repl-pw', MASTER_USE_GTID=current_pos",
                source.port
            ),
            "START SLAVE",
        ])
        .await;
    source
        .exec(&[
            "CREATE DATABASE app",
            "CREATE TABLE app.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB",
        ])
        .await;
    // Wait until the table arrived, then write on the replica locally and on the source.
    for _ in 0..100 {
        if replica
            .value("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app'")
            .await
            .as_deref()
            == Some("1")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    replica.exec(&["INSERT INTO app.t VALUES (100, 0)"]).await;
    source.exec(&["INSERT INTO app.t VALUES (100, 1)"]).await;
    let mut stopped = false;
    for _ in 0..100 {
        let mut c = replica.root().await;
        let row: Option<mysql_async::Row> = c.query_first("SHOW SLAVE STATUS").await.unwrap();
        if row
            .and_then(|r| r.get::<String, _>("Slave_SQL_Running"))
            .as_deref()
            == Some("No")
        {
            stopped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stopped, "the duplicate key stopped the SQL thread");
    let s = two_samples(&mysql("replica", &replica.url()), &fast_config()).await;
    assert_eq!(s.facts.role.as_deref(), Some("replica"));
    let rep01 = s
        .findings
        .iter()
        .find(|f| f.id == "MYS-REP-01")
        .expect("MYS-REP-01");
    assert_eq!(rep01.severity.tag(), "CRIT");
    assert_eq!(rep01.evidence["last_sql_errno"], 1062);
    assert!(rep01.recommendation.contains("MYS-FIX-08"));
    let rep02 = s
        .findings
        .iter()
        .find(|f| f.id == "MYS-REP-02")
        .expect("MYS-REP-02");
    assert!(rep02.evidence["seconds_behind"].is_null() && rep02.severity.tag() == "CRIT");
    assert!(
        has(&s, "MYS-REP-03", "WARN"),
        "writable replica: {:?}",
        ids(&s)
    );
    assert!(
        !s.metrics.iter().any(|m| m.id == "replica_lag"),
        "NULL lag is no metric value"
    );
}
