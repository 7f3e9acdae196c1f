//! The guards on SQL the model writes, attacked through the real AI tool entry point
//! (`mysql_explain` of the MySQL plugin's `ToolRunner`) against real MariaDB servers started with
//! a general log, in the default `sql_mode`, `NO_BACKSLASH_ESCAPES` and `ANSI_QUOTES`. The
//! server's own log is the witness: it holds the tool's setup and `EXPLAIN` of harmless single
//! SELECTs, nothing else. Each guard layer is also attacked alone (the binary protocol here, the
//! classifier and the parser in their unit tests).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::fast_config;
use common::mariadb::{MariaDb, general_log};
use kubestack_ai::config::{InstanceConfig, InstanceKind};
use kubestack_ai::plugins::mysql::MysqlTarget;
use kubestack_ai::plugins::mysql::connection::query_prepared;
use kubestack_ai::plugins::plugin_for;
use mysql_async::prelude::Queryable;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    /// A harmless single SELECT: its EXPLAIN must reach the server and succeed.
    Harmless,
    /// Must be refused with nothing of it reaching the server.
    Refused,
}
use Verdict::{Harmless, Refused};

/// The adversarial table. `{out}` is replaced by a file path inside the server's directory.
fn statements() -> Vec<(String, Verdict)> {
    let table: &[(&str, Verdict)] = &[
        // Harmless, some of them looking dangerous.
        ("SELECT * FROM app.t WHERE id = 1", Harmless),
        ("SELECT COUNT(*), MAX(v) FROM app.t", Harmless),
        (
            "SELECT 'a;b' AS semicolon_in_a_literal FROM app.t",
            Harmless,
        ),
        (
            "WITH c AS (SELECT id FROM app.t) SELECT id FROM c",
            Harmless,
        ),
        (
            "SELECT v FROM app.t WHERE v = N'x' OR v = X'41' OR v = _binary'abc'",
            Harmless,
        ),
        ("SELECT id FROM app.t WHERE id > 0;", Harmless),
        (
            "SELECT id FROM app.t /* a comment; SET GLOBAL max_connections = 9 */ WHERE id > 1",
            Harmless,
        ),
        (
            "SELECT 'it''s' FROM app.t ORDER BY id DESC LIMIT 5",
            Harmless,
        ),
        (
            "SELECT UPPER(v), DATE_FORMAT(NOW(), '%Y') FROM app.t",
            Harmless,
        ),
        (
            "SELECT id FROM app.t WHERE v = 'ʼ; SET GLOBAL max_connections = 9; -- '",
            Harmless,
        ),
        // The reported injection and its relatives: one literal to a lexer that takes `\` as an
        // escape, three statements to a server in NO_BACKSLASH_ESCAPES.
        ("SELECT '\\' ; SET GLOBAL max_connections=9; -- '", Refused),
        (
            "SELECT _binary'\\' ; SET GLOBAL max_connections=9; -- '",
            Refused,
        ),
        ("SELECT N'\\' ; SET GLOBAL max_connections=9; -- '", Refused),
        ("SELECT X'\\' ; SET GLOBAL max_connections=9; -- '", Refused),
        // The same through ANSI_QUOTES: an identifier to the server, a string to the old lexer.
        (
            "SELECT \"\\\" ; SET GLOBAL max_connections=9; -- \"",
            Refused,
        ),
        ("SELECT \"a\" FROM app.t", Refused),
        // Multi-statements.
        ("SELECT 1; SET GLOBAL max_connections = 9", Refused),
        ("SELECT 'x' ; SELECT 'y'", Refused),
        ("SELECT 1 -- \n; SET GLOBAL max_connections = 9", Refused),
        ("SELECT 1 #\n; SET GLOBAL max_connections = 9", Refused),
        ("SELECT 1 --; SET GLOBAL max_connections = 9", Refused),
        ("SELECT 1 \u{0}; SET GLOBAL max_connections = 9", Refused),
        ("SELECT 1\u{ff1b} SET GLOBAL max_connections = 9", Refused),
        ("SELECT 1 FROM app.t WHERE v = \u{ff07}x\u{ff07}", Refused),
        ("SELECT 1 \\G", Refused),
        // Writes, files and variables.
        ("SELECT 1 INTO OUTFILE '{out}'", Refused),
        ("SELECT 1 INTO DUMPFILE '{out}'", Refused),
        ("SELECT id INTO @v FROM app.t LIMIT 1", Refused),
        ("SELECT @a := 1", Refused),
        ("WITH c AS (SELECT 1) UPDATE app.t SET v = 'x'", Refused),
        // Locking reads.
        ("SELECT * FROM app.t FOR UPDATE", Refused),
        ("SELECT * FROM app.t LOCK IN SHARE MODE", Refused),
        ("SELECT * FROM app.t FOR SHARE", Refused),
        // Side-effect, stored and qualified functions.
        ("SELECT SLEEP(3)", Refused),
        ("SELECT * FROM app.t WHERE id = (SELECT SLEEP(3))", Refused),
        ("SELECT BENCHMARK(100000000, MD5('x'))", Refused),
        ("SELECT GET_LOCK('kt', 0)", Refused),
        ("SELECT RELEASE_LOCK('kt')", Refused),
        ("SELECT LOAD_FILE('/etc/passwd')", Refused),
        ("SELECT LAST_INSERT_ID(9)", Refused),
        ("SELECT app.bump()", Refused),
        ("SELECT bump()", Refused),
        ("SELECT `app`.`bump`()", Refused),
        ("SELECT `sleep`(3)", Refused),
        // Executable comments of both flavours and optimizer hints.
        ("SELECT 1 /*! , SLEEP(3) */", Refused),
        ("SELECT 1 /*!50000 , SLEEP(3) */", Refused),
        ("SELECT 1 /*M! , SLEEP(3) */", Refused),
        ("SELECT 1 /*M!100000 , SLEEP(3) */", Refused),
        ("SELECT /*+ MAX_EXECUTION_TIME(1) */ 1", Refused),
        // Not a SELECT at all.
        ("/*! SET GLOBAL max_connections = 9 */ SELECT 1", Refused),
        ("SET GLOBAL max_connections = 9", Refused),
        ("SET @a = 1", Refused),
        ("KILL 1", Refused),
        ("DELIMITER //", Refused),
        ("HANDLER app.t OPEN", Refused),
        ("DO SLEEP(1)", Refused),
        ("CALL app.p()", Refused),
        ("TABLE app.t", Refused),
        ("VALUES (1)", Refused),
        ("SELECT * FROM app.t PROCEDURE ANALYSE()", Refused),
        ("EXPLAIN SELECT 1", Refused),
        ("SHOW GRANTS", Refused),
    ];
    table.iter().map(|(s, v)| (s.to_string(), *v)).collect()
}

/// A server in `sql_mode` (`None`: the server's default) with its general log at `log`.
fn server(sql_mode: Option<&str>, log: &Path) -> MariaDb {
    let mut extra = vec![
        "--general-log=1".to_string(),
        format!("--general-log-file={}", log.display()),
    ];
    if let Some(mode) = sql_mode {
        extra.push(format!("--sql-mode={mode}"));
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    MariaDb::start(&extra)
}

/// Runs the table through `mysql_explain` as an account that may do anything, then checks the
/// server's state and its general log.
async fn attack_through_the_explain_tool(sql_mode: Option<&str>) {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("general.log");
    let db = server(sql_mode, &log);
    db.exec(&[
        "CREATE DATABASE app",
        "CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        "INSERT INTO app.t VALUES (1, 'a'), (2, 'b')",
        "CREATE FUNCTION app.bump() RETURNS INT NOT DETERMINISTIC MODIFIES SQL DATA \
         BEGIN INSERT INTO app.t VALUES (99, 'bumped'); RETURN 1; END",
        "CREATE PROCEDURE app.p() INSERT INTO app.t VALUES (98, 'called')",
        // The worst case: the tool's account may do anything, so only the guards stand between
        // the model and the server.
        "CREATE USER 'tool'@'%'",
        "GRANT ALL PRIVILEGES ON *.* TO 'tool'@'%' WITH GRANT OPTION",
    ])
    .await;
    let mode_seen = db
        .value("SELECT @@GLOBAL.sql_mode")
        .await
        .unwrap_or_default();
    if let Some(mode) = sql_mode {
        assert!(mode_seen.contains(mode), "{mode_seen}");
    }
    let out = db.dir.path().join("out.txt");
    let instance = InstanceConfig::new(
        "db",
        InstanceKind::MYSQL,
        format!("mysql://tool@127.0.0.1:{}", db.port),
    );
    let mut tools = plugin_for(InstanceKind::MYSQL)
        .tools(&instance, &fast_config())
        .unwrap();
    let table = statements();
    assert!(table.len() >= 40, "{} statements", table.len());
    let mut harmless = BTreeSet::new();
    for (sql, verdict) in &table {
        let sql = sql.replace("{out}", &out.display().to_string());
        let result = tools
            .call("mysql_explain", &serde_json::json!({ "statement": sql }))
            .await;
        match verdict {
            Harmless => {
                let text = result.unwrap_or_else(|e| panic!("{sql:?} ({mode_seen}): {e}"));
                assert!(text.contains("select_type"), "{sql:?}: {text}");
                harmless.insert(format!("EXPLAIN {}", sql.trim().trim_end_matches(';')));
            }
            Refused => assert!(
                result.is_err(),
                "{sql:?} was run in sql_mode {mode_seen}: {result:?}"
            ),
        }
    }
    drop(tools);

    // Nothing changed on the server.
    assert_eq!(
        db.value("SELECT @@GLOBAL.max_connections").await.as_deref(),
        Some("151")
    );
    assert_eq!(
        db.value("SELECT @@GLOBAL.sql_mode")
            .await
            .unwrap_or_default(),
        mode_seen
    );
    assert_eq!(db.value("SELECT IS_USED_LOCK('kt')").await, None);
    assert_eq!(
        db.value("SELECT GROUP_CONCAT(id ORDER BY id) FROM app.t")
            .await
            .as_deref(),
        Some("1,2")
    );
    assert!(
        !out.exists(),
        "INTO OUTFILE/DUMPFILE wrote {}",
        out.display()
    );

    // The general log: the tool's sessions sent their setup, and EXPLAIN of the harmless
    // statements — each of them, and nothing else.
    let entries = general_log(&log);
    let tool_threads: BTreeSet<u64> = entries
        .iter()
        .filter(|e| e.command == "Connect" && e.argument.starts_with("tool@"))
        .map(|e| e.thread)
        .collect();
    assert!(!tool_threads.is_empty(), "the tool connected: {entries:?}");
    let setup = [
        // mysql_async's own, right after the handshake.
        "SELECT @@max_allowed_packet,@@wait_timeout",
        "SELECT VERSION(), @@version_comment, CONNECTION_ID(), @@SESSION.sql_mode, CURRENT_USER()",
        "SET SESSION TRANSACTION READ ONLY",
        "SHOW GRANTS",
    ];
    let mut explained = BTreeSet::new();
    for e in entries.iter().filter(|e| tool_threads.contains(&e.thread)) {
        match e.command.as_str() {
            "Connect" | "Quit" | "Close stmt" | "Reset stmt" => {}
            "Query" | "Prepare" | "Execute" => {
                let sql = e.argument.trim();
                if setup.contains(&sql) || sql.starts_with("SET SESSION max_statement_time = ") {
                    continue;
                }
                assert!(
                    harmless.contains(sql),
                    "a statement that is not a harmless SELECT reached the server ({mode_seen}): {sql:?}"
                );
                explained.insert(sql.to_string());
            }
            other => panic!("unexpected command {other} from the tool: {e:?}"),
        }
    }
    assert_eq!(
        explained, harmless,
        "every harmless statement was explained"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adversarial_sql_through_mysql_explain_in_the_default_sql_mode() {
    attack_through_the_explain_tool(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adversarial_sql_through_mysql_explain_with_no_backslash_escapes() {
    attack_through_the_explain_tool(Some("NO_BACKSLASH_ESCAPES")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adversarial_sql_through_mysql_explain_with_ansi_quotes() {
    attack_through_the_explain_tool(Some("ANSI_QUOTES")).await;
}

/// Layer 1 alone: the reading connections' way to the wire runs one statement at most, although
/// mysql_async negotiated multi-statements — the same string over the text protocol does run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_statements_through_the_reading_wire_path_run_nothing() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("general.log");
    let db = server(None, &log);
    let target =
        MysqlTarget::from_instance(&InstanceConfig::new("db", InstanceKind::MYSQL, db.url()))
            .unwrap();
    let two = "SELECT 1; SET GLOBAL max_connections = 9";
    let mut conn = db.root().await;
    let err = query_prepared(&mut conn, two, &target, Duration::from_secs(5))
        .await
        .expect_err("two statements are not prepared");
    assert!(err.to_string().contains("1064"), "a syntax error: {err}");
    assert_eq!(
        db.value("SELECT @@GLOBAL.max_connections").await.as_deref(),
        Some("151")
    );
    let ran = |entries: &[common::mariadb::GeneralLogEntry]| {
        entries
            .iter()
            .filter(|e| matches!(e.command.as_str(), "Query" | "Execute"))
            .any(|e| e.argument.contains("max_connections = 9"))
    };
    assert!(!ran(&general_log(&log)), "nothing of it was executed");

    // The contrast: the text protocol of the same client runs both statements.
    conn.query_drop(two).await.unwrap();
    assert_eq!(
        db.value("SELECT @@GLOBAL.max_connections").await.as_deref(),
        Some("10"),
        "the server clamps 9 to its minimum of 10"
    );
    assert!(ran(&general_log(&log)));
}

/// MYS-SEC-06: the reading account's own grants are read at connect; an account that can write
/// is a warning, a read-only one is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reading_account_that_can_write_is_warned_about() {
    let db = MariaDb::start(&[]);
    db.exec(&[
        "CREATE USER 'sre_ro'@'%' IDENTIFIED BY 'ro-pw'",
        "GRANT PROCESS, REPLICATION CLIENT ON *.* TO 'sre_ro'@'%'",
        "GRANT SELECT ON performance_schema.* TO 'sre_ro'@'%'",
        "GRANT SELECT, EXECUTE ON sys.* TO 'sre_ro'@'%'",
        "GRANT SELECT ON mysql.user TO 'sre_ro'@'%'",
        "GRANT SELECT ON mysql.global_priv TO 'sre_ro'@'%'",
    ])
    .await;
    let config = fast_config();
    let collect = |url: String| {
        let config = config.clone();
        async move {
            let instance = InstanceConfig::new("db", InstanceKind::MYSQL, &url);
            let mut c = plugin_for(InstanceKind::MYSQL)
                .collector(&instance, &config)
                .unwrap();
            c.collect().await.unwrap()
        }
    };
    let root = collect(db.url()).await;
    let sec06 = root
        .findings
        .iter()
        .find(|f| f.id == "MYS-SEC-06")
        .expect("root can write");
    assert_eq!(sec06.severity.tag(), "WARN");
    assert!(
        sec06.title.contains("root@") && sec06.title.contains("ALL PRIVILEGES"),
        "{}",
        sec06.title
    );
    assert!(sec06.recommendation.contains("read-only account"));
    let ro = collect(format!("mysql://sre_ro:ro-pw@127.0.0.1:{}", db.port)).await;
    assert!(
        !ro.findings.iter().any(|f| f.id == "MYS-SEC-06"),
        "{:?}",
        ro.findings.iter().map(|f| &f.id).collect::<Vec<_>>()
    );
}
