//! The demo's Kubernetes cluster (`kubestack-playground --kubeconfig FILE`): the in-process
//! API server with 20 namespaces of web pods, a Redis StatefulSet `payments/cache` whose pods
//! port-forward to a real redis-server (`--kube-redis`), one of them not ready, a crash-looping
//! worker, Warning events, pod logs that keep coming and pod metrics. The kubeconfig it writes
//! has two contexts on it: `playground` (current) and `prod-eu` (for `read_only_contexts`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use crate::kube_api::KubeApi;
use crate::kube_objects::{self as obj, PodHealth};

/// Starts the cluster and writes its kubeconfig; returns the server (kept alive by the caller).
pub async fn start(
    kubeconfig: &std::path::Path,
    redis: Option<SocketAddr>,
) -> Result<KubeApi, String> {
    let api = KubeApi::start().await;
    let (_, pods, _) = obj::fleet(20, 25);
    for p in pods.iter().filter(|p| {
        !p.metadata
            .name
            .as_deref()
            .unwrap_or("")
            .starts_with("cache")
    }) {
        api.apply(p);
    }
    let not_ready = |i| {
        if i == 2 {
            PodHealth::NotReady
        } else {
            PodHealth::Ready
        }
    };
    obj::redis_statefulset(&api, "payments", "cache", not_ready, redis);
    api.apply(&obj::event(
        "payments",
        "Pod",
        "cache-2",
        "Warning",
        "Unhealthy",
        "Readiness probe failed: LOADING Redis is loading the dataset in memory",
    ));
    api.apply(&obj::pod(
        "payments",
        "worker-7f9c",
        "ghcr.io/acme/worker:2.3",
        8080,
        &[("app", "worker")],
        PodHealth::CrashLoop {
            restarts: 23,
            oom: true,
        },
    ));
    api.apply(&obj::event(
        "payments",
        "Pod",
        "worker-7f9c",
        "Warning",
        "BackOff",
        "Back-off restarting failed container worker",
    ));
    let now = chrono::Utc::now();
    api.previous_log(
        "payments",
        "cache-2",
        &[
            (
                now - chrono::Duration::minutes(3),
                "# WARNING Memory overcommit must be enabled!",
            ),
            (
                now - chrono::Duration::minutes(3),
                "Fatal error loading the DB, check server logs. Exiting.",
            ),
        ],
    );
    let metrics: HashMap<(String, String), (String, String)> = (0..3)
        .map(|i| {
            (
                ("payments".to_string(), format!("cache-{i}")),
                (format!("{}m", 40 + 30 * i), format!("{}Mi", 180 + 20 * i)),
            )
        })
        .collect();
    api.set_metrics(Some(metrics));
    let server = api.url();
    std::fs::write(
        kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: playground\nclusters:\n- name: playground\n  cluster:\n    server: {server}\ncontexts:\n- name: playground\n  context:\n    cluster: playground\n    user: demo\n    namespace: payments\n- name: prod-eu\n  context:\n    cluster: playground\n    user: demo\n    namespace: payments\nusers:\n- name: demo\n  user: {{}}\n"
        ),
    )
    .map_err(|e| format!("{}: {e}", kubeconfig.display()))?;
    // Logs keep coming, on every cache pod.
    let feed = api.clone();
    tokio::spawn(async move {
        let lines = [
            "Accepted 127.0.0.1:52144",
            "Background saving started by pid 81",
            "DB saved on disk",
            "Connection with replica 10.0.0.12:6379 lost.",
            "MASTER <-> REPLICA sync: Finished with success",
        ];
        for n in 0usize.. {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let pod = format!("cache-{}", n % 3);
            feed.log("payments", &pod, chrono::Utc::now(), lines[n % lines.len()]);
        }
    });
    Ok(api)
}
