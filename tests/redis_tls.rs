//! `rediss://` against a real TLS-enabled redis-server, with certificates made by openssl.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{RedisServer, fast_config, free_port, redis_instance};
use kubestack_ai::plugins::plugin_for;

/// A throwaway CA and a server certificate for 127.0.0.1.
fn make_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl (scripts/test installs it)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=kubestack-test-ca",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    ]);
    (
        dir.join("ca.crt"),
        dir.join("server.crt"),
        dir.join("server.key"),
    )
}

#[tokio::test]
async fn rediss_with_a_configured_ca_collects_and_without_it_fails_clearly() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certificates(certs.path());
    let tls_port = free_port();
    let server = RedisServer::start(&[
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        cert.to_str().unwrap(),
        "--tls-key-file",
        key.to_str().unwrap(),
        "--tls-ca-cert-file",
        ca.to_str().unwrap(),
        "--tls-auth-clients",
        "no",
    ]);
    let url = format!("rediss://127.0.0.1:{tls_port}");
    let mut inst = redis_instance("tls", &url);
    inst.tls_ca_file = Some(ca.clone());
    let mut collector = plugin_for(inst.kind)
        .collector(&inst, &fast_config())
        .unwrap();
    let snap = collector.collect().await.expect("a TLS sample");
    assert_eq!(
        snap.facts.version.as_deref().map(|v| v.starts_with('7')),
        Some(true)
    );
    let mut con = server.client();
    let tls_clients: String = redis::cmd("INFO").arg("stats").query(&mut con).unwrap();
    assert!(
        tls_clients.contains("total_connections_received"),
        "server side sees the client"
    );

    // Without the CA the server's certificate is not trusted: a clear error, no sample.
    let inst = redis_instance("tls-untrusted", &url);
    let mut untrusted = plugin_for(inst.kind)
        .collector(&inst, &fast_config())
        .unwrap();
    let err = untrusted
        .collect()
        .await
        .expect_err("untrusted certificate");
    assert!(err.to_string().contains(&tls_port.to_string()), "{err}");

    // A missing CA file is named.
    let mut inst = redis_instance("tls-missing", &url);
    inst.tls_ca_file = Some(certs.path().join("nope.crt"));
    let err = plugin_for(inst.kind)
        .collector(&inst, &fast_config())
        .err()
        .expect("config error");
    assert!(err.to_string().contains("nope.crt"), "{err}");
}
