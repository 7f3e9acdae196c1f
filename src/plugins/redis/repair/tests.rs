use super::*;
use crate::plugins::InstanceFacts;
use crate::repair::PlanTarget;

fn ctx(facts: &InstanceFacts) -> PlanContext<'_> {
    PlanContext {
        target: PlanTarget {
            instance: "cache".into(),
            endpoint: "redis://127.0.0.1:6379".into(),
            identity: Some("abc".into()),
            context: None,
        },
        facts,
        own_user: "default".into(),
    }
}

#[test]
fn every_action_builds_with_the_catalog_risk() {
    let facts = InstanceFacts::default();
    let c = ctx(&facts);
    let params = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect::<Map<_, _>>()
    };
    let cases: Vec<(&str, Map<String, Value>)> = vec![
        ("RDS-FIX-01", params(&[("bytes", "512mb")])),
        ("RDS-FIX-02", params(&[])),
        ("RDS-FIX-03", params(&[])),
        ("RDS-FIX-04", params(&[])),
        ("RDS-FIX-05", params(&[("id", "7")])),
        ("RDS-FIX-06", params(&[("n", "20000")])),
        ("RDS-FIX-07", params(&[])),
        ("RDS-FIX-08", params(&[])),
        ("RDS-FIX-09", params(&[])),
        ("RDS-FIX-10", params(&[])),
        ("RDS-FIX-11", params(&[])),
        ("RDS-FIX-12", params(&[])),
        ("RDS-FIX-13", params(&[("password", "n3w-Pa55")])),
        ("RDS-FIX-14", params(&[("user", "app")])),
        ("RDS-FIX-15", params(&[("key", "big:list")])),
        ("RDS-FIX-16", params(&[])),
    ];
    for (id, p) in cases {
        let step = RedisRepairs
            .build(id, &p, &c)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(step.risk, RedisRepairs.spec(id).unwrap().risk, "{id}");
        assert!(!step.commands.is_empty());
    }
    let dangerous: Vec<&str> = ACTIONS
        .iter()
        .filter(|a| a.risk == Risk::Dangerous)
        .map(|a| a.id)
        .collect();
    assert_eq!(
        dangerous,
        ["RDS-FIX-02", "RDS-FIX-07", "RDS-FIX-13", "RDS-FIX-15"]
    );
    let s = RedisRepairs
        .build("RDS-FIX-01", &params(&[("bytes", "512mb")]), &c)
        .unwrap();
    assert_eq!(s.commands[0].to_string(), "CONFIG SET maxmemory 536870912");
    let s = RedisRepairs
        .build("RDS-FIX-13", &params(&[("password", "n3w-Pa55")]), &c)
        .unwrap();
    assert_eq!(
        s.commands[0].to_string(),
        "ACL SETUSER default on [REDACTED]"
    );
}

#[test]
fn config_rewrite_is_proposed_only_where_it_can_persist() {
    use crate::model::{Finding, Severity};
    let finding = Finding::new("RDS-LAT-03", Severity::Info, "latency", "t", "d", "r");
    let with_file = |file: Option<&str>| InstanceFacts {
        extra: file
            .map(|f| vec![(FACT_CONFIG_FILE.to_string(), f.to_string())])
            .unwrap_or_default(),
        ..InstanceFacts::default()
    };
    // (config_file fact, Kubernetes context, CONFIG REWRITE proposed, manual line says)
    let cases = [
        (Some("/etc/redis/redis.conf"), None, true, None),
        (None, None, true, None),
        (
            Some(""),
            None,
            false,
            Some("in the redis.conf the server is started with"),
        ),
        (
            Some("/etc/redis/redis.conf"),
            Some("prod"),
            false,
            Some("ConfigMap"),
        ),
        (Some(""), Some("prod"), false, Some("Helm chart's values")),
    ];
    for (file, context, rewrite, manual) in cases {
        let facts = with_file(file);
        let mut c = ctx(&facts);
        c.target.context = context.map(str::to_string);
        let (steps, lines) = RedisRepairs.for_finding(&finding, &c);
        let actions: Vec<&str> = steps.iter().map(|s| s.action.as_str()).collect();
        let built = RedisRepairs.build("RDS-FIX-16", &Map::new(), &c);
        if rewrite {
            assert_eq!(
                actions,
                ["RDS-FIX-08", "RDS-FIX-16"],
                "{file:?} {context:?}"
            );
            assert!(lines.is_empty(), "{lines:?}");
            assert!(built.is_ok());
        } else {
            assert_eq!(actions, ["RDS-FIX-08"], "{file:?} {context:?}");
            let line = lines.join("\n");
            assert!(line.contains(manual.unwrap()), "{line}");
            assert!(line.contains("`latency-monitor-threshold 100`"), "{line}");
            assert!(line.contains("`slowlog-max-len 1024`"), "{line}");
            assert!(
                built.unwrap_err().contains("cannot persist anything here"),
                "an explicit request is refused with the reason too"
            );
        }
    }
}

#[test]
fn bad_parameters_are_named() {
    let facts = InstanceFacts::default();
    let c = ctx(&facts);
    let p = |k: &str, v: &str| {
        [(k.to_string(), Value::from(v))]
            .into_iter()
            .collect::<Map<_, _>>()
    };
    assert!(
        RedisRepairs
            .build("RDS-FIX-01", &p("bytes", "lots"), &c)
            .unwrap_err()
            .contains("not a size")
    );
    assert!(
        RedisRepairs
            .build("RDS-FIX-02", &p("policy", "noeviction"), &c)
            .unwrap_err()
            .contains("not an evicting")
    );
    assert!(
        RedisRepairs
            .build("RDS-FIX-03", &p("force", "yes"), &c)
            .unwrap_err()
            .contains("no parameter `force`")
    );
    assert!(
        RedisRepairs
            .build("RDS-FIX-14", &p("user", "default"), &c)
            .unwrap_err()
            .contains("logs in as")
    );
    assert!(
        RedisRepairs
            .build("RDS-FIX-15", &Map::new(), &c)
            .unwrap_err()
            .contains("needs `key`")
    );
    assert!(RedisRepairs.build("FLUSHALL", &Map::new(), &c).is_err());
}
