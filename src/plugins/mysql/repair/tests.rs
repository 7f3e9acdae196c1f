//! The MySQL catalogue's steps, parameter checks and plans.
use super::*;
use crate::plugins::InstanceFacts;
use crate::repair::PlanTarget;

fn ctx(facts: &InstanceFacts) -> PlanContext<'_> {
    PlanContext {
        target: PlanTarget {
            instance: "db".into(),
            endpoint: "mysql://127.0.0.1:3306".into(),
            identity: Some("h/server_id=1/d".into()),
            context: None,
        },
        facts,
        own_user: "root".into(),
    }
}

#[test]
fn statements_are_exact_and_values_quoted() {
    assert_eq!(
        set_global("max_connections", "200").to_string(),
        "SET GLOBAL max_connections = 200"
    );
    assert_eq!(
        set_global("read_only", "ON").to_string(),
        "SET GLOBAL read_only = ON"
    );
    assert_eq!(
        set_global("log_output", "FILE'x").to_string(),
        "SET GLOBAL log_output = 'FILE''x'"
    );
    let facts = InstanceFacts::default();
    let p = |pairs: &[(&str, Value)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<Map<_, _>>()
    };
    let s = MysqlRepairs
        .build("MYS-FIX-03", &p(&[("n", 300.into())]), &ctx(&facts))
        .unwrap();
    assert_eq!(
        s.commands[0].statement(),
        "SET GLOBAL max_connections = 300"
    );
    assert_eq!(
        s.capture[0].statement(),
        "SHOW GLOBAL VARIABLES LIKE 'max_connections'"
    );
    let s = MysqlRepairs
        .build(
            "MYS-FIX-11",
            &p(&[
                ("account", "app@localhost".into()),
                ("password", "it's".into()),
            ]),
            &ctx(&facts),
        )
        .unwrap();
    assert_eq!(
        s.commands[0].to_string(),
        "ALTER USER 'app'@'localhost' IDENTIFIED BY [REDACTED]"
    );
    assert_eq!(
        s.commands[0].statement(),
        "ALTER USER 'app'@'localhost' IDENTIFIED BY 'it''s'"
    );
    assert_eq!(s.risk, Risk::Dangerous);
}

#[test]
fn the_own_account_is_never_given_a_new_password() {
    let facts = InstanceFacts::default();
    let p: Map<String, Value> = [("account".to_string(), Value::from("'root'@'localhost'"))]
        .into_iter()
        .collect();
    let err = MysqlRepairs
        .build("MYS-FIX-11", &p, &ctx(&facts))
        .unwrap_err();
    assert!(err.contains("this program logs in as"), "{err}");
}

#[test]
fn bad_parameters_are_refused_with_the_reason() {
    let facts = InstanceFacts::default();
    let p = |k: &str, v: &str| {
        [(k.to_string(), Value::from(v))]
            .into_iter()
            .collect::<Map<_, _>>()
    };
    for (action, params, why) in [
        ("MYS-FIX-01", p("id", "5; DROP TABLE t"), "not a number"),
        ("MYS-FIX-12", p("account", "'app'@'%'"), "not anonymous"),
        (
            "MYS-FIX-11",
            p("account", "x' OR 1 @h"),
            "not an account name",
        ),
        ("MYS-FIX-14", p("file", "x'; DROP"), "not a binlog file"),
        ("MYS-FIX-03", p("bytes", "1"), "no parameter `bytes`"),
        ("MYS-FIX-99", Map::new(), "not a MySQL repair action"),
    ] {
        let err = MysqlRepairs
            .build(action, &params, &ctx(&facts))
            .unwrap_err();
        assert!(err.contains(why), "{action}: {err}");
    }
}

#[test]
fn a_large_rollback_makes_the_kill_dangerous() {
    let facts = InstanceFacts::default();
    let f = Finding::new(
        "MYS-LAT-02",
        crate::model::Severity::Warning,
        "latency",
        "t",
        "d",
        "r",
    )
    .with("session_id", 42)
    .with("rows_modified", 50_000);
    let (steps, _) = MysqlRepairs.for_finding(&f, &ctx(&facts));
    assert_eq!(steps[0].commands[0].statement(), "KILL 42");
    assert_eq!(steps[0].risk, Risk::Dangerous);
}
