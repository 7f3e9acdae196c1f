//! The command line for clusters, through the real binary against the in-process Kubernetes
//! API server (lists, watches and port-forwards over HTTP) whose forwards reach a real
//! redis-server: a discovered instance as a `k8s://CONTEXT/NAMESPACE/NAME` target of
//! `diagnose`, `security` and `analyze`, and `health --context` over the whole cluster with the
//! cluster's own pod findings — the same JSON shape and exit codes as for configured instances.

mod common;

use std::process::{Command, Output};

use common::RedisServer;
use kubestack_playground::kube_api::KubeApi;
use kubestack_playground::kube_objects::{self as obj, PodHealth};

struct Rig {
    _redis: RedisServer,
    _api: KubeApi,
    dir: tempfile::TempDir,
}

impl Rig {
    /// `payments/cache`: a Redis StatefulSet of 3 pods, one crash-looping, forwarded to a real
    /// redis-server without a password; `payments/web-0`: a crash-looping pod of no instance;
    /// `orders/queue`: a Redis whose pods no forward reaches.
    async fn start() -> Rig {
        let redis = RedisServer::start(&[]);
        let api = KubeApi::start().await;
        let addr: std::net::SocketAddr = format!("127.0.0.1:{}", redis.port).parse().unwrap();
        obj::redis_statefulset(
            &api,
            "payments",
            "cache",
            |i| {
                if i == 2 {
                    PodHealth::CrashLoop {
                        restarts: 9,
                        oom: true,
                    }
                } else {
                    PodHealth::Ready
                }
            },
            Some(addr),
        );
        api.apply(&obj::pod(
            "payments",
            "web-0",
            "nginx:1.27",
            8080,
            &[("app", "web")],
            PodHealth::CrashLoop {
                restarts: 30,
                oom: false,
            },
        ));
        obj::redis_statefulset(&api, "orders", "queue", |_| PodHealth::NotReady, None);
        let dir = tempfile::tempdir().unwrap();
        api.write_kubeconfig(&dir.path().join("kubeconfig"), "test", "payments")
            .unwrap();
        std::fs::create_dir_all(dir.path().join("cfg/kubestack-ai")).unwrap();
        std::fs::write(
            dir.path().join("cfg/kubestack-ai/config.toml"),
            "[collector]\ndiagnose_sample_secs = 0.2\n",
        )
        .unwrap();
        Rig {
            _redis: redis,
            _api: api,
            dir,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        run_in(self.dir.path(), args)
    }
}

/// The binary with `dir` as its home, its config in `dir/cfg` and `dir/kubeconfig`.
fn run_in(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kubestack-ai"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("cfg"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

fn ids(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect()
}

// The binary runs while the API server answers on this runtime's workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discovered_instance_is_a_target_and_a_cluster_has_a_health() {
    let rig = Rig::start().await;

    // diagnose: the plugin's findings through the forward, and the pods' beside them.
    let out = rig.run(&["diagnose", "k8s://test/payments/cache", "-o", "json"]);
    let report = json(&out);
    let found = ids(&report);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(report["status"], "critical");
    assert_eq!(report["target"]["name"], "payments/cache");
    assert!(
        report["target"]["version"]
            .as_str()
            .is_some_and(|v| !v.is_empty()),
        "the real server answered through the forward: {report}"
    );
    for id in ["RDS-SEC-01", "K8S-POD-01", "K8S-POD-02"] {
        assert!(
            found.contains(&id.to_string()),
            "{id} missing from {found:?}"
        );
    }
    assert!(found[0].starts_with("K8S-POD-0"), "worst first: {found:?}");

    // security: the same target, only its security findings.
    let out = rig.run(&["security", "k8s://test/payments/cache", "-o", "json"]);
    assert_eq!(ids(&json(&out)), ["RDS-SEC-01"], "{}", text(&out));

    // analyze without a model: the offline answer knows the pods.
    let out = rig.run(&[
        "analyze",
        "why does it keep restarting?",
        "--instance",
        "k8s://test/payments/cache",
    ]);
    let answer = text(&out);
    assert!(out.status.success(), "{answer}");
    let crash = answer.find("K8S-POD-01").expect(&answer);
    let sec = answer.find("RDS-SEC-01").expect(&answer);
    assert!(crash < sec, "the restarts lead: {answer}");

    // health --context: every discovered instance, and the pods of none.
    let out = rig.run(&["health", "--context", "test", "-o", "json"]);
    let rows = json(&out);
    let rows = rows.as_array().expect("an array, as `health` prints");
    let by_name = |n: &str| {
        rows.iter()
            .find(|r| r["name"] == n)
            .unwrap_or_else(|| panic!("{n} missing from {rows:?}"))
    };
    assert_eq!(by_name("payments/cache")["status"], "critical");
    assert_eq!(by_name("payments (other pods)")["worst"], "K8S-POD-01");
    let queue = by_name("orders/queue");
    assert_eq!(
        queue["status"], "unknown",
        "no ready pod to forward to: {queue}"
    );
    assert!(queue["error"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(out.status.code(), Some(3), "unknown is the worst exit code");

    // One namespace only.
    let out = rig.run(&[
        "health",
        "--context",
        "test",
        "-n",
        "payments",
        "-o",
        "json",
    ]);
    let rows = json(&out);
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["name"].as_str().unwrap().starts_with("payments")),
        "{rows}"
    );
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_cluster_targets_say_what_is_wrong() {
    let rig = Rig::start().await;
    for (args, says) in [
        (
            &["diagnose", "k8s://test/payments/nothing"][..],
            "no instance `nothing` discovered in namespace `payments` of context `test` (discovered there: cache)",
        ),
        (
            &["diagnose", "k8s://test/payments"][..],
            "k8s://CONTEXT/NAMESPACE/NAME",
        ),
        (&["diagnose", "k8s://nope/payments/cache"][..], "nope"),
        (&["health", "--context", "nope"][..], "nope"),
        (
            &["diagnose", "k8s://test/空/缓存"][..],
            "no instance `缓存` discovered in namespace `空`",
        ),
    ] {
        let out = rig.run(args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
        assert!(!text(&out).contains("panicked"), "{}", text(&out));
    }
    // --namespace needs --context.
    let out = rig.run(&["health", "-n", "payments"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--context"), "{}", text(&out));
}

/// An API server that refuses every connection, and one that accepts and never answers: both
/// are said — naming the context — within a bounded time, never a hang.
#[test]
fn a_cluster_that_refuses_or_hangs_is_said_in_time() {
    let refused_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // Accepts, reads, never answers; the connections are held until the test ends.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in silent.incoming().flatten() {
            held.push(conn);
        }
    });
    for (port, what) in [(refused_port, "refuses"), (silent_port, "hangs")] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("kubeconfig"),
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: test\n\
                 clusters: [{{name: c, cluster: {{server: \"http://127.0.0.1:{port}\"}}}}]\n\
                 users: [{{name: u, user: {{token: t0ken}}}}]\n\
                 contexts: [{{name: test, context: {{cluster: c, user: u, namespace: payments}}}}]\n"
            ),
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("cfg/kubestack-ai")).unwrap();
        std::fs::write(
            dir.path().join("cfg/kubestack-ai/config.toml"),
            "[collector]\nconnect_timeout_ms = 1000\n",
        )
        .unwrap();
        for args in [
            &["health", "--context", "test"][..],
            &["diagnose", "k8s://test/payments/cache"][..],
        ] {
            let started = std::time::Instant::now();
            let out = run_in(dir.path(), args);
            let took = started.elapsed();
            assert_eq!(
                out.status.code(),
                Some(3),
                "{what} {args:?}: {}",
                text(&out)
            );
            assert!(
                text(&out).contains("context test"),
                "{what} {args:?}: {}",
                text(&out)
            );
            assert!(
                // The connect timeout is 1 s: said after about that, not after retrying on.
                took < std::time::Duration::from_secs(10),
                "{what} {args:?}: took {took:?}"
            );
        }
    }
}
