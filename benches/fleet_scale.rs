//! The fleet at scale, end to end: kube-runtime watchers listing every resource in pages of 500
//! from the in-process API server (JSON over HTTP on loopback), the batches applied to the state
//! as the event loop applies them, and a 200×50 frame drawn at most every 33 ms (the loop's
//! 30 fps cap) — as the user sees it. Reports, per fleet size, the time from the start to the
//! first frame that shows discovered instances (the first page), the time until the whole fleet
//! is listed and drawn, the batches and frames on the way, and the process's RSS.
//!
//! `harness = false` with a plain `main`, like `soak`: under `cargo bench` it measures 10,000
//! and 50,000 pods (3 runs each, the best reported too); under `cargo test --benches` one small
//! fleet, so the suite stays quick. `KUBESTACK_FLEET_PODS=10000,50000` and `KUBESTACK_FLEET_RUNS`
//! choose.

// The binary's own allocator (src/main.rs), so the figures are the program's. The in-process
// API server shares it: part of the gain over glibc's malloc is the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

use std::time::{Duration, Instant};

use fixtures::{fleet_state, rss_mb};

use kubestack_ai::app::AppEvent;
use kubestack_ai::kube::{NamespaceScope, client_for, load_from, spawn_watchers};
use kubestack_ai::theme::Theme;
use kubestack_playground::kube_api::KubeApi;
use kubestack_playground::kube_objects::fleet;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// Pods per namespace, as in benches/kube_fleet.rs.
const PER_NAMESPACE: usize = 50;

struct Run {
    first_rows: Duration,
    whole: Duration,
    batches: usize,
    frames: usize,
    /// Time spent applying batches and drawing (the rest is the watchers and the server).
    app: Duration,
}

fn run_once(
    rt: &tokio::runtime::Runtime,
    kubeconfig: &kube::config::Kubeconfig,
    pods: usize,
    theme: &Theme,
) -> Run {
    rt.block_on(async {
        let client = client_for(kubeconfig.clone(), "fleet", Duration::from_secs(30), None)
            .await
            .expect("client");
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let cancel = tokio_util::sync::CancellationToken::new();
        let mut s = fleet_state("fleet");
        let mut t = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
        let start = Instant::now();
        spawn_watchers(client, &NamespaceScope::All, tx, cancel.clone());
        let (mut first_rows, mut batches, mut frames) = (None, 0, 0);
        let mut app = Duration::ZERO;
        let mut last_frame: Option<Instant> = None;
        loop {
            let batch = rx.recv().await.expect("watchers run");
            batches += 1;
            let busy = Instant::now();
            s.handle_event(AppEvent::Kube {
                context: "fleet".into(),
                updates: batch,
            });
            let synced = s.kube.store.is_synced();
            // The loop draws after the events in hand, at most 30 times a second.
            let due = last_frame.is_none_or(|f| f.elapsed() >= Duration::from_millis(33));
            if due || synced {
                t.draw(|f| kubestack_ai::ui::draw(f, &s, theme))
                    .expect("draw");
                frames += 1;
                last_frame = Some(Instant::now());
                if first_rows.is_none() && !s.visible_instances().is_empty() {
                    first_rows = Some(start.elapsed());
                }
            }
            app += busy.elapsed();
            if synced {
                break;
            }
        }
        let whole = start.elapsed();
        cancel.cancel();
        assert_eq!(s.kube.store.pods.len(), pods, "the whole fleet");
        Run {
            first_rows: first_rows.unwrap_or(whole),
            whole,
            batches,
            frames,
            app,
        }
    })
}

fn main() {
    let under_test =
        std::env::args().any(|a| a == "--test") || !std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = std::env::var("KUBESTACK_FLEET_PODS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| {
            if under_test {
                vec![2_000]
            } else {
                vec![10_000, 50_000]
            }
        });
    let runs: usize = std::env::var("KUBESTACK_FLEET_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if under_test { 1 } else { 3 });
    let theme = Theme::builtin("dark").expect("built-in theme");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    for pods in sizes {
        let namespaces = (pods / PER_NAMESPACE).max(1);
        let (api, _dir, kubeconfig) = rt.block_on(async {
            let api = KubeApi::start().await;
            let (sets, all_pods, services) = fleet(namespaces, PER_NAMESPACE);
            sets.iter().for_each(|s| api.apply(s));
            services.iter().for_each(|s| api.apply(s));
            all_pods.iter().for_each(|p| api.apply(p));
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("config");
            api.write_kubeconfig(&path, "fleet", "default")
                .expect("kubeconfig");
            let k = load_from(&[path], None).expect("kubeconfig");
            (api, dir, k.kubeconfig.expect("kubeconfig"))
        });
        let total = namespaces * PER_NAMESPACE;
        let before = rss_mb();
        let results: Vec<Run> = (0..runs)
            .map(|_| run_once(&rt, &kubeconfig, total, &theme))
            .collect();
        for (i, r) in results.iter().enumerate() {
            println!(
                "fleet_scale: {total} pods in {namespaces} namespaces, run {}: first rows {:.0} ms, whole fleet {:.0} ms ({:.0} ms of it applying and drawing), {} batches, {} frames",
                i + 1,
                r.first_rows.as_secs_f64() * 1000.0,
                r.whole.as_secs_f64() * 1000.0,
                r.app.as_secs_f64() * 1000.0,
                r.batches,
                r.frames
            );
        }
        let best = |f: fn(&Run) -> Duration| {
            results
                .iter()
                .map(f)
                .min()
                .unwrap_or_default()
                .as_secs_f64()
                * 1000.0
        };
        println!(
            "fleet_scale: {total} pods: best first rows {:.0} ms, best whole fleet {:.0} ms; RSS {:.0} MB (API server model included; {:.0} MB before the runs)",
            best(|r| r.first_rows),
            best(|r| r.whole),
            rss_mb(),
            before
        );
        drop(api);
    }
}
