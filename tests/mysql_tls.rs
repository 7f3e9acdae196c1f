//! MySQL/MariaDB over TLS against real MariaDB servers started with certificates made by
//! `openssl` (tests/common/tls_certs.rs) and `require_secure_transport=ON`: each `ssl_mode`
//! does what the MySQL client's `--ssl-mode` does — a plain client is refused in the server's
//! words; `required` encrypts without checking; `verify-ca` checks the chain (a wrong CA
//! fails) but not the name; `verify-identity` also the name (a certificate for another host
//! fails while `verify-ca` passes); `preferred` falls back to plain only where the server offers
//! no TLS. The collector, the AI tools and the repair executor all connect the same way.

mod common;

use common::fast_config;
use common::mariadb::MariaDb;
use common::tls_certs::TestCerts;
use kubestack_ai::config::{InstanceConfig, InstanceKind, SafetyConfig, SafetyMode};
use kubestack_ai::plugins::mysql::keys::MysqlSslMode;
use kubestack_ai::plugins::mysql::repair::MysqlRepairs;
use kubestack_ai::plugins::{InstanceSnapshot, PluginError, plugin_for};
use kubestack_ai::repair::catalog::{PlanContext, RepairCatalog};
use kubestack_ai::repair::{AuditChain, Confirmation, Executor};
use serde_json::{Map, Value};

fn instance(
    db: &MariaDb,
    mode: Option<MysqlSslMode>,
    ca: Option<std::path::PathBuf>,
) -> InstanceConfig {
    let mut i = InstanceConfig::new("db", InstanceKind::MYSQL, db.url());
    if let Some(mode) = mode {
        i.kind_keys.set("ssl_mode", mode);
    }
    i.tls_ca_file = ca;
    i
}

async fn collect(instance: &InstanceConfig) -> Result<InstanceSnapshot, PluginError> {
    plugin_for(InstanceKind::MYSQL)
        .collector(instance, &fast_config())?
        .collect()
        .await
}

/// TLS handshakes the server has accepted (its own count).
async fn ssl_accepts(db: &MariaDb) -> u64 {
    db.value("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SSL_ACCEPTS'")
        .await
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_ssl_mode_against_a_server_that_requires_secure_transport() {
    let certs = TestCerts::make();
    let dir = certs.path("ca.crt").parent().unwrap().to_path_buf();
    let db = MariaDb::start_tls(&dir, "server", &[]);
    let ca = Some(certs.path("ca.crt"));
    let other_ca = Some(certs.path("other-ca.crt"));

    // A plain client: the server's own refusal — MariaDB 10.11 words it as a denied login —
    // and what tells it apart from a wrong password: the same login succeeds over TLS.
    let e = collect(&instance(&db, None, None)).await.unwrap_err();
    assert!(
        matches!(&e, PluginError::Auth { reason, .. }
            if reason.contains("ERROR 1045 (28000): Access denied for user 'root'")
                && reason.contains("the same login succeeds over TLS")
                && reason.contains("set ssl_mode")),
        "{e:?}"
    );
    // A wrong password gets no such note (the TLS login fails too).
    let mut wrong = instance(&db, None, None);
    wrong.url = format!("mysql://root:not-it@127.0.0.1:{}", db.port);
    let e = collect(&wrong).await.unwrap_err();
    assert!(
        matches!(&e, PluginError::Auth { reason, .. }
            if reason.contains("ERROR 1045") && !reason.contains("succeeds over TLS")),
        "{e:?}"
    );

    // required, verify-ca and verify-identity (the certificate names 127.0.0.1) connect.
    for (mode, ca) in [
        (MysqlSslMode::Required, None),
        (MysqlSslMode::Preferred, None),
        (MysqlSslMode::VerifyCa, ca.clone()),
        (MysqlSslMode::VerifyIdentity, ca.clone()),
    ] {
        let before = ssl_accepts(&db).await;
        let s = collect(&instance(&db, Some(mode), ca))
            .await
            .unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        assert!(
            s.facts
                .version
                .as_deref()
                .is_some_and(|v| v.contains("MariaDB")),
            "{mode:?}: {:?}",
            s.facts
        );
        assert!(
            ssl_accepts(&db).await > before,
            "{mode:?}: the server counted a TLS handshake"
        );
    }
    // A CA alone means verify-ca.
    collect(&instance(&db, None, ca.clone())).await.unwrap();

    // A CA that did not sign the server's certificate: refused by the TLS library, named.
    for mode in [MysqlSslMode::VerifyCa, MysqlSslMode::VerifyIdentity] {
        let e = collect(&instance(&db, Some(mode), other_ca.clone()))
            .await
            .unwrap_err();
        let text = e.to_string();
        eprintln!("{mode:?}, another CA: {text}");
        assert!(matches!(e, PluginError::Unreachable { .. }), "{e:?}");
        assert!(
            text.contains(&format!("TLS (ssl_mode {})", mode.as_str()))
                && text.contains("certificate verify failed"),
            "{mode:?}: {text}"
        );
    }
    // `required` does not check: the wrong CA is no obstacle (as with the mysql client).
    let mut i = instance(&db, Some(MysqlSslMode::Required), None);
    i.tls_ca_file = None;
    collect(&i).await.unwrap();

    // The AI tools' connection: the session the tool reads through is encrypted (the server's
    // session status says so).
    let i = instance(&db, Some(MysqlSslMode::VerifyIdentity), ca.clone());
    let mut tools = plugin_for(InstanceKind::MYSQL)
        .tools(&i, &fast_config())
        .unwrap();
    let out = tools
        .call("mysql_status", &serde_json::json!({"like": "Ssl_version"}))
        .await
        .unwrap();
    assert!(out.contains("TLSv1."), "{out}");

    // The executor's writer: MYS-FIX-04 applied, verified and rolled back over verify-identity
    // on a server that refuses plain connections.
    let facts = collect(&i).await.unwrap().facts;
    let params: Map<String, Value> = [("secs".to_string(), Value::from(777))]
        .into_iter()
        .collect();
    let step = MysqlRepairs
        .build(
            "MYS-FIX-04",
            &params,
            &PlanContext::for_instance(&i, &facts),
        )
        .unwrap();
    let audit = tempfile::tempdir().unwrap();
    let executor = Executor::new(
        kubestack_ai::plugins::registry::backends(),
        &SafetyConfig {
            mode: SafetyMode::Confirm,
            read_only_contexts: Vec::new(),
        },
        std::sync::Arc::new(AuditChain::open(&audit.path().join("audit.jsonl")).unwrap()),
    )
    .unwrap();
    let before = db.value("SELECT @@GLOBAL.wait_timeout").await;
    let mut backend = executor.open_backend(&i, &fast_config()).unwrap();
    let prepared = executor.prepare(backend.as_mut(), &step).await.unwrap();
    executor
        .execute(backend.as_mut(), &step, &Confirmation::default())
        .await
        .unwrap();
    assert_eq!(
        db.value("SELECT @@GLOBAL.wait_timeout").await.as_deref(),
        Some("777")
    );
    executor
        .verify(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(db.value("SELECT @@GLOBAL.wait_timeout").await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_host_passes_verify_ca_and_fails_verify_identity() {
    let certs = TestCerts::make();
    let dir = certs.path("ca.crt").parent().unwrap().to_path_buf();
    let db = MariaDb::start_tls(&dir, "wrong-host", &[]);
    let ca = Some(certs.path("ca.crt"));
    collect(&instance(&db, Some(MysqlSslMode::VerifyCa), ca.clone()))
        .await
        .unwrap_or_else(|e| panic!("verify-ca checks the chain only: {e}"));
    let e = collect(&instance(&db, Some(MysqlSslMode::VerifyIdentity), ca))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("TLS (ssl_mode verify-identity)") && e.contains("certificate verify failed"),
        "{e}"
    );
    eprintln!("verify-identity, certificate for db.example.invalid: {e}");
    assert!(e.contains("IP address mismatch"), "{e}");

    // Mutual TLS: an account that requires a client certificate from the test CA.
    db.exec(&[
        "CREATE USER 'certuser'@'%' REQUIRE SUBJECT '/CN=kubestack-client'",
        "GRANT PROCESS ON *.* TO 'certuser'@'%'",
    ])
    .await;
    let mut i = instance(
        &db,
        Some(MysqlSslMode::VerifyCa),
        Some(certs.path("ca.crt")),
    );
    i.url = format!("mysql://certuser@127.0.0.1:{}", db.port);
    let e = collect(&i).await.unwrap_err();
    assert!(
        matches!(&e, PluginError::Auth { reason, .. } if reason.contains("Access denied")),
        "without a client certificate: {e:?}"
    );
    i.tls_cert_file = Some(certs.path("client.crt"));
    i.tls_key_file = Some(certs.path("client.key"));
    collect(&i)
        .await
        .unwrap_or_else(|e| panic!("with the client certificate: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferred_falls_back_to_plain_where_the_server_offers_no_tls_and_required_refuses() {
    let db = MariaDb::start(&[]);
    assert_eq!(
        db.value("SELECT @@have_ssl").await.as_deref(),
        Some("DISABLED")
    );
    collect(&instance(&db, Some(MysqlSslMode::Preferred), None))
        .await
        .unwrap_or_else(|e| panic!("preferred: {e}"));
    let e = collect(&instance(&db, Some(MysqlSslMode::Required), None))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("does not offer TLS") && e.contains("required"),
        "{e}"
    );
}
