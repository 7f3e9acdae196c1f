//! Kafka over TLS and SASL against a real Apache Kafka 4.x broker (tests/common/kafka_cluster.rs)
//! with a SASL_SSL listener (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and an SSL listener that
//! requires a client certificate, certificates made by `openssl` at test time
//! (tests/common/tls_certs.rs). The broker's request log is the witness: every request the
//! product sent came over the secure listener as the configured principal — the executor's
//! OffsetCommit included. And the failures a user meets are each named in the server's or the
//! TLS library's own words, within a bounded time: a wrong password, an unknown CA, a missing
//! client certificate, a plaintext client at a TLS port.

mod common;

use kubestack_ai::config::PluginSettings;
use kubestack_ai::plugins::kafka::settings::KafkaSettings;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::kafka_cluster::{KafkaCluster, PLAIN_USER, SCRAM256_USER, SCRAM512_USER};
use common::tls_certs::TestCerts;
use common::{executor, fast_config};
use kubestack_ai::config::{AppConfig, InstanceConfig, InstanceKind, SafetyMode};
use kubestack_ai::plugins::kafka::keys::{KafkaSecurityProtocol, SaslMechanism};
use kubestack_ai::plugins::kafka::repair::KafkaRepairs;
use kubestack_ai::plugins::{InstanceSnapshot, PluginError, plugin_for};
use kubestack_ai::repair::Confirmation;
use kubestack_ai::repair::catalog::{PlanContext, RepairCatalog};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Map, Value};

const CLIENT_ID: &str = "kubestack-ai";

fn config() -> AppConfig {
    let mut c = fast_config();
    let mut kafka_settings = KafkaSettings::of(&c);
    kafka_settings.request_timeout_ms = 5000;
    kafka_settings.store_in(&mut c);
    c
}

/// A password file for `password`, in `dir`.
fn password_file(dir: &Path, password: &str) -> std::path::PathBuf {
    let p = dir.join(format!("pw-{}", password.len()));
    std::fs::write(&p, format!("{password}\n")).unwrap();
    p
}

/// `kafka+ssl://` to the SASL_SSL listener with this mechanism, user and password (by file).
fn sasl(
    cluster: &KafkaCluster,
    certs: &TestCerts,
    dir: &Path,
    mechanism: SaslMechanism,
    (user, password): (&str, &str),
) -> InstanceConfig {
    let port = cluster.secure.as_ref().unwrap().sasl_ssl_port;
    let mut i = InstanceConfig::new(
        "secure",
        InstanceKind::KAFKA,
        format!("kafka+ssl://127.0.0.1:{port}"),
    );
    i.kind_keys.set("sasl_mechanism", mechanism);
    i.username = Some(user.into());
    i.password_file = Some(password_file(dir, password));
    i.tls_ca_file = Some(certs.path("ca.crt"));
    i
}

/// `kafka+ssl://` to the listener that requires a client certificate.
fn mtls(cluster: &KafkaCluster, certs: &TestCerts) -> InstanceConfig {
    let port = cluster.secure.as_ref().unwrap().mtls_port;
    let mut i = InstanceConfig::new(
        "mtls",
        InstanceKind::KAFKA,
        format!("kafka://127.0.0.1:{port}"),
    );
    i.kind_keys
        .set("security_protocol", KafkaSecurityProtocol::Ssl);
    i.tls_ca_file = Some(certs.path("ca.crt"));
    i.tls_cert_file = Some(certs.path("client.crt"));
    i.tls_key_file = Some(certs.path("client.key"));
    i
}

async fn collect(instance: &InstanceConfig) -> Result<InstanceSnapshot, PluginError> {
    collect_with(instance, &config()).await
}

async fn collect_with(
    instance: &InstanceConfig,
    config: &AppConfig,
) -> Result<InstanceSnapshot, PluginError> {
    let mut c = plugin_for(InstanceKind::KAFKA)
        .collector(instance, config)
        .map_err(|e| PluginError::Config(e.to_string()))?;
    c.collect().await
}

fn metric(s: &InstanceSnapshot, id: &str) -> Option<f64> {
    s.metrics.iter().find(|m| m.id == id).map(|m| m.value)
}

fn commit(cluster: &KafkaCluster, group: &str, topic: &str, partition: i32, offset: i64) {
    let c: BaseConsumer = cluster.client().set("group.id", group).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(offset))
        .unwrap();
    c.commit(&tpl, CommitMode::Sync).unwrap();
}

/// (listener, principal) of every request the product sent, by the broker's request log.
fn listeners_and_principals(cluster: &KafkaCluster) -> Vec<(String, String, String)> {
    cluster
        .requests(CLIENT_ID)
        .iter()
        .map(|r| {
            (
                r["requestHeader"]["requestApiKeyName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                r["listener"].as_str().unwrap_or_default().to_string(),
                r["principal"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn params(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

/// The committed offset of `group` by the test's own PLAINTEXT client.
fn committed(cluster: &KafkaCluster, group: &str, topic: &str, partition: i32) -> Option<i64> {
    let c: BaseConsumer = cluster.client().set("group.id", group).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, partition);
    let got = c.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    match got.find_partition(topic, partition)?.offset() {
        Offset::Offset(o) => Some(o),
        _ => None,
    }
}

/// Runs the real binary with a config file in `dir`.
fn run_cli(dir: &Path, config: &str, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let path = dir.join("config.toml");
    std::fs::write(&path, config).unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_kubestack-ai"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("cfg"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .arg("--config")
        .arg(&path)
        .args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run the binary");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_ssl_with_plain_and_scram_and_mutual_tls_collect_as_the_configured_principal() {
    let certs = TestCerts::make();
    let cluster = KafkaCluster::start_secure(certs.path("ca.crt").parent().unwrap());
    eprintln!("secure Kafka broker ready in {:?}", cluster.started_in);
    let dir = tempfile::tempdir().unwrap();
    cluster.create_topic("orders", 1, 1, &[], None).await;
    cluster.produce("orders", 0, 30);
    commit(&cluster, "reports", "orders", 0, 10);

    for (mechanism, user) in [
        (SaslMechanism::Plain, PLAIN_USER),
        (SaslMechanism::ScramSha256, SCRAM256_USER),
        (SaslMechanism::ScramSha512, SCRAM512_USER),
    ] {
        let s = collect(&sasl(&cluster, &certs, dir.path(), mechanism, user))
            .await
            .unwrap_or_else(|e| panic!("{mechanism:?}: {e}"));
        assert_eq!(
            s.facts.identity.as_deref(),
            Some(cluster.cluster_id.as_str())
        );
        assert_eq!(metric(&s, "brokers"), Some(1.0));
        assert_eq!(metric(&s, "lag:reports"), Some(20.0), "{:?}", s.metrics);
        let said = format!(
            "connected over SASL_SSL ({} as {})",
            mechanism.as_str(),
            user.0
        );
        assert!(
            s.logs.iter().any(|l| l.text.contains(&said)),
            "{said} not in {:?}",
            s.logs.iter().map(|l| &l.text).collect::<Vec<_>>()
        );
        // Every request went over SASL_SSL as this user, the group's OffsetFetch included.
        let sent = listeners_and_principals(&cluster);
        let mine: Vec<_> = sent
            .iter()
            .filter(|(_, _, p)| *p == format!("User:{}", user.0))
            .collect();
        for api in [
            "METADATA",
            "LIST_OFFSETS",
            "OFFSET_FETCH",
            "DESCRIBE_CONFIGS",
        ] {
            assert!(
                mine.iter().any(|(a, l, _)| a == api && l == "SASL_SSL"),
                "{mechanism:?}: no {api} over SASL_SSL in {sent:?}"
            );
        }
    }
    // SASL_PLAINTEXT, SCRAM-SHA-256, by security_protocol alone.
    let mut i = InstanceConfig::new(
        "sasl-plain",
        InstanceKind::KAFKA,
        format!(
            "kafka://127.0.0.1:{}",
            cluster.secure.as_ref().unwrap().sasl_plaintext_port
        ),
    );
    i.kind_keys
        .set("security_protocol", KafkaSecurityProtocol::SaslPlaintext);
    i.kind_keys
        .set("sasl_mechanism", SaslMechanism::ScramSha256);
    i.username = Some(SCRAM256_USER.0.into());
    i.password_file = Some(password_file(dir.path(), SCRAM256_USER.1));
    let s = collect(&i).await.unwrap();
    assert_eq!(metric(&s, "lag:reports"), Some(20.0), "{:?}", s.metrics);
    let sent = listeners_and_principals(&cluster);
    assert!(
        sent.iter().any(|(a, l, p)| a == "OFFSET_FETCH"
            && l == "SASL_PLAINTEXT"
            && p == "User:scram256user"),
        "{sent:?}"
    );

    let s = collect(&mtls(&cluster, &certs)).await.unwrap();
    assert_eq!(metric(&s, "lag:reports"), Some(20.0), "{:?}", s.metrics);
    let sent = listeners_and_principals(&cluster);
    assert!(
        sent.iter()
            .any(|(a, l, p)| a == "OFFSET_FETCH" && l == "MTLS" && p == "User:CN=kubestack-client"),
        "the client certificate is the principal: {sent:?}"
    );

    // The executor's clients (its reader, the group committer) authenticate the same way:
    // an empty group's offset reset over SCRAM-SHA-512, applied, verified and rolled back.
    let instance = sasl(
        &cluster,
        &certs,
        dir.path(),
        SaslMechanism::ScramSha512,
        SCRAM512_USER,
    );
    let s = collect(&instance).await.unwrap();
    let ctx = PlanContext::for_instance(&instance, &s.facts);
    let step = KafkaRepairs
        .build(
            "KFK-FIX-06",
            &params(&[
                ("group", "reports"),
                ("topic", "orders"),
                ("partition", "0"),
            ]),
            &ctx,
        )
        .unwrap();
    let typed = Confirmation {
        typed_name: Some("secure".into()),
    };
    let (executor, audit_dir) = executor(SafetyMode::Confirm);
    let mut backend = executor.open_backend(&instance, &config()).unwrap();
    let prepared = executor.prepare(backend.as_mut(), &step).await.unwrap();
    executor
        .execute(backend.as_mut(), &step, &typed)
        .await
        .unwrap();
    executor
        .verify(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(committed(&cluster, "reports", "orders", 0), Some(30));
    executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(committed(&cluster, "reports", "orders", 0), Some(10));
    let commits: Vec<_> = cluster
        .wait_for_requests(CLIENT_ID, "OFFSET_COMMIT", 2)
        .iter()
        .map(|r| {
            (
                r["listener"].as_str().unwrap_or_default().to_string(),
                r["principal"].as_str().unwrap_or_default().to_string(),
                r["request"]["topics"][0]["partitions"][0]["committedOffset"]
                    .as_i64()
                    .unwrap_or(-1),
            )
        })
        .collect();
    let who = ("SASL_SSL".to_string(), "User:scram512user".to_string());
    assert_eq!(
        commits,
        [(who.0.clone(), who.1.clone(), 30), (who.0, who.1, 10)],
        "the executor's OffsetCommits, by the broker's record"
    );
    // Not one request of the product's came in over the PLAINTEXT listener.
    let sent = listeners_and_principals(&cluster);
    assert!(sent.iter().all(|(_, l, _)| l != "PLAINTEXT"), "{sent:?}");

    // The command line: a config file with the password by reference, `diagnose` over
    // SASL_SSL with SCRAM-SHA-256 — exit code from the findings, never 3 (unknown).
    let port = cluster.secure.as_ref().unwrap().sasl_ssl_port;
    let config_text = format!(
        "[[instances]]\nname = \"secure\"\nkind = \"kafka\"\nurl = \"kafka+ssl://127.0.0.1:{port}\"\n\
         security_protocol = \"SASL_SSL\"\nsasl_mechanism = \"SCRAM-SHA-256\"\nusername = \"{}\"\n\
         password_env = \"KAFKA_PW\"\ntls_ca_file = \"{}\"\n",
        SCRAM256_USER.0,
        certs.path("ca.crt").display()
    );
    let (code, out) = run_cli(
        dir.path(),
        &config_text,
        &["diagnose", "secure", "--output", "json"],
        &[("KAFKA_PW", SCRAM256_USER.1)],
    );
    assert!(matches!(code, Some(0..=2)), "{code:?}: {out}");
    // KFK-CFG-04 is judged on the broker's DescribeConfigs answer: read over SASL_SSL.
    assert!(out.contains("\"KFK-CFG-04\""), "{out}");
    assert!(
        out.contains("\"error\": null") || !out.contains("\"error\""),
        "{out}"
    );
    assert!(!out.contains(SCRAM256_USER.1), "{out}");
    // A wrong password: exit 3 (unknown, as for every instance that cannot be judged) and
    // the broker's reason; the wrong password itself is printed nowhere.
    let (code, out) = run_cli(
        dir.path(),
        &config_text,
        &["diagnose", "secure", "--output", "json"],
        &[("KAFKA_PW", "Wrong-Scram-Pw")],
    );
    assert_eq!(code, Some(3), "{out}");
    assert!(
        out.contains("authentication refused")
            && out.contains("invalid credentials with SASL mechanism SCRAM-SHA-256"),
        "{out}"
    );
    assert!(!out.contains("Wrong-Scram-Pw"), "{out}");

    // No password in any file the product wrote: the executor's audit log, the CLI's log and
    // data files (the password files the test wrote are the only exception).
    let mut files = Vec::new();
    let mut stack = vec![audit_dir.path().to_path_buf(), dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("pw-"))
            {
                files.push(path);
            }
        }
    }
    assert!(
        files.iter().any(|f| f.ends_with("audit.jsonl")),
        "the audit log was written: {files:?}"
    );
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
        for (_, pw) in [PLAIN_USER, SCRAM256_USER, SCRAM512_USER] {
            assert!(!text.contains(pw), "{} holds a password", f.display());
        }
        assert!(!text.contains("Wrong-Scram-Pw"), "{}", f.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_unknown_ca_missing_client_certificate_and_plaintext_fail_clearly() {
    let certs = TestCerts::make();
    let cluster = KafkaCluster::start_secure(certs.path("ca.crt").parent().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let sasl_port = cluster.secure.as_ref().unwrap().sasl_ssl_port;
    // Each failure is reported within the request timeout and some slack, never a hang.
    // A short request timeout: each case waits it out (librdkafka retries until then).
    let mut short = config();
    let mut kafka_settings = KafkaSettings::of(&short);
    kafka_settings.request_timeout_ms = 2000;
    kafka_settings.store_in(&mut short);
    let bound = Duration::from_millis(KafkaSettings::of(&short).request_timeout_ms)
        + Duration::from_secs(5);

    let cases: Vec<(&str, InstanceConfig, &[&str])> = vec![
        (
            "SCRAM, wrong password",
            sasl(
                &cluster,
                &certs,
                dir.path(),
                SaslMechanism::ScramSha256,
                (SCRAM256_USER.0, "not-the-password"),
            ),
            &[
                "authentication refused",
                "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256",
            ],
        ),
        (
            "PLAIN, wrong password",
            sasl(
                &cluster,
                &certs,
                dir.path(),
                SaslMechanism::Plain,
                (PLAIN_USER.0, "not-the-password-2"),
            ),
            &["authentication refused", "Invalid username or password"],
        ),
        (
            "PLAIN, unknown user",
            sasl(
                &cluster,
                &certs,
                dir.path(),
                SaslMechanism::Plain,
                ("nobody", PLAIN_USER.1),
            ),
            &["authentication refused", "Invalid username or password"],
        ),
        (
            "a CA that did not sign the broker's certificate",
            {
                let mut i = sasl(
                    &cluster,
                    &certs,
                    dir.path(),
                    SaslMechanism::Plain,
                    PLAIN_USER,
                );
                i.tls_ca_file = Some(certs.path("other-ca.crt"));
                i
            },
            &["cannot reach", "TLS:", "certificate verify failed"],
        ),
        (
            "no client certificate at a listener that requires one",
            {
                let mut i = mtls(&cluster, &certs);
                i.tls_cert_file = None;
                i.tls_key_file = None;
                i
            },
            &["cannot reach", "bad certificate"],
        ),
        (
            "a broker certificate for another host name",
            {
                let mut i = InstanceConfig::new(
                    "wrong-host",
                    InstanceKind::KAFKA,
                    format!(
                        "kafka+ssl://127.0.0.1:{}",
                        cluster.secure.as_ref().unwrap().wrong_host_port
                    ),
                );
                i.tls_ca_file = Some(certs.path("ca.crt"));
                i
            },
            &[
                "cannot reach",
                "TLS:",
                "certificate verify failed",
                "name the host dialled",
            ],
        ),
        (
            "a plaintext client at the SASL_SSL port",
            InstanceConfig::new(
                "plain",
                InstanceKind::KAFKA,
                format!("kafka://127.0.0.1:{sasl_port}"),
            ),
            &[
                "cannot reach",
                "closed it without answering",
                "kafka+ssl://",
            ],
        ),
    ];
    for (name, instance, words) in cases {
        let begun = Instant::now();
        let e = collect_with(&instance, &short)
            .await
            .err()
            .unwrap_or_else(|| panic!("{name}: a sample"));
        let took = begun.elapsed();
        let text = e.to_string();
        eprintln!("{name}: {text} ({took:?})");
        for w in words {
            assert!(text.contains(w), "{name}: `{w}` not in: {text}");
        }
        assert!(took < bound, "{name}: {took:?}");
        assert!(
            matches!(e, PluginError::Auth { .. }) == words.contains(&"authentication refused"),
            "{name}: {e:?}"
        );
        assert!(!text.contains("not-the-password"), "{text}");
    }
    // None of them got a request through: the broker logged nothing from the product.
    assert_eq!(cluster.requests(CLIENT_ID), Vec::<Value>::new());
}
