//! The `kubestack-playground` binary as scripts/demo runs it: it starts the stand-ins, writes
//! its info file and the demo cluster's kubeconfig, and keeps serving until it is stopped.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The child process, killed when the test ends (also when it fails).
struct Playground(std::process::Child);

impl Drop for Playground {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.1 GET on a fresh connection; the reply as text, read until `until` shows up.
fn get(addr: &str, path: &str, until: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&reply).contains(until) {
        let n = s.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "closed before {until:?}: {}",
            String::from_utf8_lossy(&reply)
        );
        reply.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn it_writes_its_info_file_and_kubeconfig_and_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let info = dir.path().join("playground.info");
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Playground(
        Command::new(env!("CARGO_BIN_EXE_kubestack-playground"))
            .arg("--info-file")
            .arg(&info)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Another process writes the file: there is no event to await, so poll as scripts/demo does.
    let deadline = Instant::now() + Duration::from_secs(60);
    let text = loop {
        let text = std::fs::read_to_string(&info).unwrap_or_default();
        if text.contains("kubernetes=") {
            break text;
        }
        if let Some(status) = child.0.try_wait().unwrap() {
            panic!(
                "the playground exited with {status} before writing {}",
                info.display()
            );
        }
        assert!(
            Instant::now() < deadline,
            "no info file after 60 s: {text:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("no {key}= in {text:?}"))
            .to_string()
    };

    // librdkafka's mock cluster listens on the bootstrap list it printed.
    let kafka = field("kafka");
    let first = kafka.split(',').next().unwrap();
    TcpStream::connect(first).unwrap_or_else(|e| panic!("kafka {first}: {e}"));

    // The Elasticsearch model answers, yellow: `orders` wants a replica it cannot place.
    let es = field("elasticsearch");
    let health = get(&es, "/_cluster/health", "\"status\"");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.contains("yellow"), "{health}");

    // The Kubernetes API server in the kubeconfig is the one announced, with both contexts.
    let server = field("kubernetes");
    let config = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(config.contains("current-context: playground"), "{config}");
    assert!(config.contains("- name: prod-eu"), "{config}");
    assert!(config.contains(&format!("server: {server}")), "{config}");
    let addr = server.trim_start_matches("http://");
    let pods = get(addr, "/api/v1/namespaces/payments/pods", "worker-7f9c");
    assert!(pods.starts_with("HTTP/1.1 200"), "{pods}");

    assert!(child.0.try_wait().unwrap().is_none(), "it keeps serving");
}
