//! The registry walked: every kind complete and distinct; and the checks each kind's rules
//! make, as the loader and discovery see them.

use std::collections::{BTreeMap, HashSet};

use super::*;
use crate::config::AppConfig;
use crate::kube::discovery::classify;

#[test]
fn every_kind_is_complete_and_distinct() {
    let mut names = HashSet::new();
    let mut schemes = HashSet::new();
    let mut sections = HashSet::new();
    let defaults = serde_json::to_value(AppConfig::default()).unwrap();
    for p in PLUGINS {
        let d = p.descriptor();
        let kind = p.kind();
        assert_eq!(d.kind, kind, "{kind}: descriptor of another kind");
        assert_eq!(
            d.discovery.kind, kind,
            "{kind}: discovery hints of another kind"
        );
        assert!(names.insert(kind), "{kind} is registered twice");
        assert!(!d.schemes.is_empty(), "{kind} has no URL scheme");
        for s in d.schemes {
            assert!(schemes.insert(*s), "scheme {s} is claimed twice");
            assert_eq!(kind_of_scheme(s), Some(kind));
        }
        assert!(
            !d.discovery.names.is_empty() && !d.discovery.ports.is_empty(),
            "{kind} has no discovery hint"
        );
        let section = d.settings_section;
        let declared = p
            .settings_section()
            .unwrap_or_else(|| panic!("{kind} has no settings section"));
        assert_eq!(declared.name, section, "{kind}: two names for its section");
        assert!(
            defaults.get(section).is_none(),
            "{kind}: [{section}] is also a core key"
        );
        assert!(sections.insert(section), "section [{section}] twice");
        // Its defaults validate, and stored back they read the same.
        let mut config = AppConfig::default();
        config.set_section(section, declared.defaults.clone());
        assert_eq!(p.settings_problems(&config), Vec::new(), "{kind}");
        assert_eq!(p.settings_problems(&AppConfig::default()), Vec::new());
        assert!(
            !p.repairs().actions().is_empty(),
            "{kind} has no repair catalogue"
        );
        assert!(!p.rule_ids().is_empty(), "{kind} has no rules");
        // A discovered instance's in-cluster URL is one its own rules accept.
        let url = d.in_cluster_url("svc.ns.svc", d.discovery.ports[0]);
        p.validate_url(&url)
            .unwrap_or_else(|e| panic!("{kind}: in-cluster url {url} refused: {e}"));
        assert_eq!(find_plugin(kind).map(|f| f.name()), Some(p.name()));
    }
    // The loader is given exactly the registry.
    assert_eq!(kind_rules().len(), PLUGINS.len());
    assert_eq!(discovery_hints().len(), PLUGINS.len());
}

#[test]
fn the_template_parses_to_the_defaults() {
    let mut parsed =
        crate::config::parse_config(crate::config::CONFIG_TEMPLATE, &kind_rules()).unwrap();
    for p in PLUGINS {
        let section = p.descriptor().settings_section;
        assert!(
            parsed.section(section).is_some(),
            "[{section}] not in the template"
        );
        assert_eq!(p.settings_problems(&parsed), Vec::new());
    }
    // Each plugin's typed settings equal its defaults (tested in its `settings.rs`).
    parsed.sections.clear();
    assert_eq!(parsed, AppConfig::default());
}

#[test]
fn an_unknown_section_is_refused_by_name_and_a_plugin_section_is_checked() {
    let unknown = problems_of("[redsi]\nslow_warn_ms = 5\n");
    assert!(
        unknown[0].contains("unknown field") && unknown[0].contains("redsi"),
        "{unknown:?}"
    );
    assert_eq!(
        problems_of("[redis]\nmemory_warn_ratio = 0.99\n"),
        ["redis.memory_warn_ratio: must be > 0 and not above redis.memory_crit_ratio"]
    );
    let typed = problems_of("[kafka]\nmax_groups = \"many\"\n");
    assert!(
        typed[0].starts_with("kafka.max_groups: invalid type"),
        "{typed:?}"
    );
    let foreign = problems_of("[elasticsearch]\nnope = 1\n");
    assert!(
        foreign[0].starts_with("elasticsearch.nope: unknown field"),
        "{foreign:?}"
    );
}

#[test]
fn an_unregistered_kind_fails_by_name_instead_of_panicking() {
    let odd = InstanceKind::named("postgres");
    assert!(find_plugin(odd).is_none());
    let inst = InstanceConfig::new("pg", odd, "postgres://h:5432");
    let err = plugin_for(odd)
        .collector(&inst, &AppConfig::default())
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("instance `pg`: no plugin serves kind `postgres`")
    );
    assert!(kind_of_scheme("postgres").is_none());
}

#[test]
fn the_login_user_falls_back_to_the_kinds_account() {
    let redis = InstanceConfig::new("r", InstanceKind::REDIS, "redis://h:6379");
    assert_eq!(login_user(&redis), "default");
    let mysql = InstanceConfig::new("m", InstanceKind::MYSQL, "mysql://app@h:3306");
    assert_eq!(login_user(&mysql), "app");
    let es = InstanceConfig::new("e", InstanceKind::ELASTICSEARCH, "elasticsearch://h:9200");
    assert_eq!(login_user(&es), "");
}

/// The problems a config text gives, as `key: problem` lines (parsed and validated
/// without figment's environment layer: other tests set `KUBESTACK_*` variables).
fn problems_of(text: &str) -> Vec<String> {
    let config = match crate::config::parse_config(text, &kind_rules()) {
        Ok(c) => c,
        Err(e) => return vec![e.to_string()],
    };
    crate::config::validate_config(&config, &kind_rules())
        .into_iter()
        .map(|p| format!("{}: {}", p.key, p.problem))
        .collect()
}

#[test]
fn kafka_tls_and_sasl_are_accepted_and_bad_combinations_named() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "pem").unwrap();
    let ok = format!(
        "[[instances]]\nname = \"k\"\nkind = \"kafka\"\nurl = \"kafka+ssl://b1:9093,b2:9093\"\n\
         sasl_mechanism = \"SCRAM-SHA-512\"\nusername = \"app\"\npassword_env = \"KAFKA_PW\"\n\
         tls_ca_file = \"{}\"\n",
        ca.display()
    );
    assert_eq!(problems_of(&ok), Vec::<String>::new());
    let explicit = "[[instances]]\nname = \"k\"\nkind = \"kafka\"\nurl = \"kafka://b:9093\"\n\
         security_protocol = \"sasl_ssl\"\nsasl_mechanism = \"PLAIN\"\nusername = \"app\"\npassword_file = \"pw\"\n";
    assert_eq!(problems_of(explicit), Vec::<String>::new());

    let no_user = "[[instances]]\nname = \"k\"\nkind = \"kafka\"\nurl = \"kafka+ssl://b:9093\"\n\
         sasl_mechanism = \"PLAIN\"\npassword_env = \"X\"\n";
    let p = problems_of(no_user);
    assert!(
        p.iter()
            .any(|l| l.starts_with("instances[0].username: sasl_mechanism PLAIN needs a username")),
        "{p:?}"
    );
    let missing_ca = "[[instances]]\nname = \"k\"\nkind = \"kafka\"\nurl = \"kafka+ssl://b:9093\"\n\
         tls_ca_file = \"/nonexistent/kafka-ca.pem\"\n";
    let p = problems_of(missing_ca);
    assert!(
        p.iter()
            .any(|l| l
                .starts_with("instances[0].tls_ca_file: cannot read `/nonexistent/kafka-ca.pem`")),
        "{p:?}"
    );
    let gssapi = "[[instances]]\nname = \"k\"\nkind = \"kafka\"\nurl = \"kafka://b:9092\"\nsasl_mechanism = \"GSSAPI\"\n";
    let p = problems_of(gssapi);
    assert!(
        p.iter()
            .any(|l| l.contains("sasl_mechanism") && l.contains("GSSAPI")),
        "{p:?}"
    );
    let no_sasl = "[[instances]]\nname = \"k\"\nkind = \"kafka\"\nurl = \"kafka://b:9092\"\nusername = \"u\"\n";
    let p = problems_of(no_sasl);
    assert!(
        p.iter()
            .any(|l| l.starts_with("instances[0].username:") && l.contains("set sasl_mechanism")),
        "{p:?}"
    );
    let on_redis = "[[instances]]\nname = \"r\"\nkind = \"redis\"\nurl = \"redis://h:6379\"\nsasl_mechanism = \"PLAIN\"\nssl_mode = \"required\"\n";
    let p = problems_of(on_redis);
    assert!(
        p.iter()
            .any(|l| l.contains("`sasl_mechanism` is for kind kafka only")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|l| l.contains("`ssl_mode` is for kind mysql only")),
        "{p:?}"
    );
}

#[test]
fn mysql_ssl_modes_are_accepted_and_bad_combinations_named() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, "pem").unwrap();
    for mode in [
        "disabled",
        "preferred",
        "required",
        "verify-ca",
        "VERIFY_IDENTITY",
    ] {
        let text = format!(
            "[[instances]]\nname = \"m\"\nkind = \"mysql\"\nurl = \"mysql://app@db:3306\"\nssl_mode = \"{mode}\"\n"
        );
        assert_eq!(problems_of(&text), Vec::<String>::new(), "{mode}");
    }
    let with_ca = format!(
        "[[instances]]\nname = \"m\"\nkind = \"mysql\"\nurl = \"mysql://app@db:3306\"\ntls_ca_file = \"{}\"\n",
        ca.display()
    );
    assert_eq!(problems_of(&with_ca), Vec::<String>::new());
    let disabled_ca = format!("{with_ca}ssl_mode = \"disabled\"\n");
    let p = problems_of(&disabled_ca);
    assert!(
        p.iter().any(|l| l
            .starts_with("instances[0].tls_ca_file: tls_ca_file is set but ssl_mode is disabled")),
        "{p:?}"
    );
    let required_ca = format!("{with_ca}ssl_mode = \"required\"\n");
    let p = problems_of(&required_ca);
    assert!(
        p.iter().any(|l| l.starts_with("instances[0].ssl_mode:")),
        "{p:?}"
    );
    let bad = "[[instances]]\nname = \"m\"\nkind = \"mysql\"\nurl = \"mysql://app@db:3306\"\nssl_mode = \"verify-full\"\n";
    let p = problems_of(bad);
    assert!(
        p.iter()
            .any(|l| l.contains("ssl_mode") && l.contains("verify-full")),
        "{p:?}"
    );
    let missing_key = "[[instances]]\nname = \"m\"\nkind = \"mysql\"\nurl = \"mysql://app@db:3306\"\nssl_mode = \"required\"\n\
         tls_cert_file = \"/nonexistent/client.crt\"\n";
    let p = problems_of(missing_key);
    assert!(
        p.iter().any(|l| l.contains("mutual TLS needs both")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|l| l.starts_with("instances[0].tls_cert_file: cannot read")),
        "{p:?}"
    );
}

#[test]
fn urls_are_checked_per_kind() {
    let redis = plugin_for(InstanceKind::REDIS);
    assert!(redis.validate_url("redis://127.0.0.1:6379/0").is_ok());
    assert!(redis.validate_url("rediss://h:6380").is_ok());
    let err = redis.validate_url("http://h:1").unwrap_err();
    assert!(err.contains("`http`"), "{err}");
    assert!(redis.validate_url("not a url").is_err());
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn evidence_order() {
    let hints = discovery_hints();
    let l = labels(&[("app.kubernetes.io/name", "redis")]);
    assert_eq!(
        classify(&l, &[], &[], &hints).unwrap(),
        (
            InstanceKind::REDIS,
            "label app.kubernetes.io/name=redis".into()
        )
    );
    let img = vec!["docker.io/bitnami/mariadb:10.11@sha256:abc".to_string()];
    assert_eq!(
        classify(&BTreeMap::new(), &img, &[], &hints).unwrap().0,
        InstanceKind::MYSQL
    );
    let exporter = vec!["oliver006/redis_exporter:v1.62".to_string()];
    assert_eq!(classify(&BTreeMap::new(), &exporter, &[], &hints), None);
    assert_eq!(
        classify(&BTreeMap::new(), &["busybox".into()], &[9200], &hints).unwrap(),
        (InstanceKind::ELASTICSEARCH, "port 9200".into())
    );
    let strimzi = labels(&[
        ("strimzi.io/kind", "Kafka"),
        ("strimzi.io/name", "events-kafka"),
    ]);
    assert_eq!(
        classify(&strimzi, &[], &[], &hints).unwrap().0,
        InstanceKind::KAFKA
    );
    assert_eq!(
        classify(
            &labels(&[("app", "nginx")]),
            &["nginx:1.27".into()],
            &[80],
            &hints
        ),
        None
    );
}

#[test]
fn every_action_belongs_to_one_side_and_its_catalogue_is_picked_by_it() {
    for a in KubeRepairs.actions() {
        assert_eq!(action_side(a.id), FindingSource::Kubernetes, "{}", a.id);
    }
    for p in PLUGINS {
        let kind = p.kind();
        for a in p.repairs().actions() {
            assert_eq!(action_side(a.id), FindingSource::Instance, "{}", a.id);
            let picked = catalogue_for(kind, action_side(a.id));
            assert!(
                picked.spec(a.id).is_some(),
                "{kind}: {} not in its catalogue",
                a.id
            );
        }
        assert_eq!(
            catalogue_for(kind, FindingSource::Kubernetes).system(),
            KubeRepairs.system()
        );
    }
    // Persisting the configuration is a property of the action, not of its id.
    let persisting: Vec<&str> = PLUGINS
        .iter()
        .flat_map(|p| p.repairs().actions())
        .filter(|a| a.persists_config)
        .map(|a| a.id)
        .collect();
    assert_eq!(persisting, ["RDS-FIX-16"]);
}
