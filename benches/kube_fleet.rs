//! A fleet of 10 000 pods in 200 namespaces (a Redis StatefulSet of 3 pods + Service in each,
//! the rest web pods). Targets: the inventory's first rows within 1 s of the initial list
//! arriving, a filter keystroke in the pods overlay re-rendered in < 20 ms, one pod's watch
//! event applied and drawn within a frame, memory < 300 MB. Memory is printed (RSS of this
//! process) before the timings, since criterion measures time only.
//!
//! `list_and_watch_10k_pods` goes through everything real: kube-runtime watchers listing in
//! pages of 500 from the in-process API server (JSON over HTTP on loopback), the store, and
//! discovery, until the first frame is drawn.

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

use std::time::{Duration, Instant};

use fixtures::{fleet_state, rss_mb};

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use kubestack_ai::app::{Action, AppEvent, AppState};
use kubestack_ai::kube::store::{PodRow, ServiceRow, WorkloadRow};
use kubestack_ai::kube::{NamespaceScope, StoreUpdate, client_for, load_from, spawn_watchers};
use kubestack_ai::theme::Theme;
use kubestack_playground::kube_api::KubeApi;
use kubestack_playground::kube_objects::fleet;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NAMESPACES: usize = 200;
const PER_NAMESPACE: usize = 50;

/// The updates the watchers would send for the whole fleet, as one list.
fn fleet_updates() -> Vec<StoreUpdate> {
    let (sets, pods, services) = fleet(NAMESPACES, PER_NAMESPACE);
    let mut out = Vec::new();
    for r in kubestack_ai::kube::store::Resource::ALL {
        out.push(StoreUpdate::Relist(r, None));
    }
    out.extend(
        sets.iter()
            .map(|s| StoreUpdate::Workload(WorkloadRow::from_statefulset(s))),
    );
    out.extend(
        services
            .iter()
            .map(|s| StoreUpdate::Service(ServiceRow::from_service(s))),
    );
    out.extend(pods.iter().map(|p| StoreUpdate::Pod(PodRow::from_pod(p))));
    for r in kubestack_ai::kube::store::Resource::ALL {
        out.push(StoreUpdate::Synced(r, None));
    }
    out
}

fn draw(terminal: &mut Terminal<TestBackend>, state: &AppState, theme: &Theme) {
    terminal
        .draw(|f| kubestack_ai::ui::draw(f, state, theme))
        .expect("draw");
}

fn key(c: KeyCode) -> AppEvent {
    AppEvent::Input(Event::Key(KeyEvent::new(c, KeyModifiers::NONE)))
}

fn fleet_benches(c: &mut Criterion) {
    let theme = Theme::builtin("dark").expect("built-in theme");
    let before = rss_mb();
    let updates = fleet_updates();
    let mut state = fleet_state("fleet");
    state.handle_event(AppEvent::Kube {
        context: "fleet".into(),
        updates: updates.clone(),
    });
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
    draw(&mut terminal, &state, &theme);
    eprintln!(
        "kube_fleet: {} pods, {} discovered instances; RSS {:.0} MB before the fleet, {:.0} MB with it in the store and the inventory (+{:.0} MB)",
        state.kube.store.pods.len(),
        state.instances.len(),
        before,
        rss_mb(),
        rss_mb() - before
    );

    let mut group = c.benchmark_group("kube_fleet_10k");
    // From the list's objects being in hand to the first frame: store, discovery, draw.
    group.sample_size(10);
    group.bench_function("first_frame_after_initial_list", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut s = fleet_state("fleet");
                let batch = updates.clone();
                let mut t = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
                let start = Instant::now();
                s.handle_event(AppEvent::Kube {
                    context: "fleet".into(),
                    updates: batch,
                });
                draw(&mut t, &s, &theme);
                total += start.elapsed();
            }
            total
        })
    });

    // A keystroke in the pods overlay (all 10 000 pods filtered again) and the frame after it.
    state.apply(Action::Pods);
    for ch in "team-1".chars() {
        state.handle_event(key(KeyCode::Char(ch)));
    }
    group.sample_size(50);
    group.bench_function("pods_filter_keystroke_and_frame", |b| {
        let mut flip = false;
        b.iter(|| {
            flip = !flip;
            let k = if flip {
                KeyCode::Char('2')
            } else {
                KeyCode::Backspace
            };
            state.handle_event(key(k));
            draw(&mut terminal, &state, &theme);
        })
    });
    state.apply(Action::Close);

    // One pod changes (a watch MODIFIED): the store row, discovery, findings, the frame.
    let (_, pods, _) = fleet(1, 5);
    let mut row = PodRow::from_pod(&pods[1]);
    row.namespace = "team-007".into();
    group.bench_function("one_pod_watch_event_and_frame", |b| {
        let mut n = 0u32;
        b.iter(|| {
            n += 1;
            row.restarts = n;
            state.handle_event(AppEvent::Kube {
                context: "fleet".into(),
                updates: vec![StoreUpdate::Pod(row.clone())],
            });
            draw(&mut terminal, &state, &theme);
        })
    });

    // Everything real: watchers against the in-process API server, until the first frame.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (api, _dir, kubeconfig) = rt.block_on(async {
        let api = KubeApi::start().await;
        let (sets, pods, services) = fleet(NAMESPACES, PER_NAMESPACE);
        sets.iter().for_each(|s| api.apply(s));
        services.iter().for_each(|s| api.apply(s));
        pods.iter().for_each(|p| api.apply(p));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config");
        api.write_kubeconfig(&path, "fleet", "default")
            .expect("kubeconfig");
        let k = load_from(&[path], None).expect("kubeconfig");
        (api, dir, k.kubeconfig.expect("kubeconfig"))
    });
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("list_and_watch_10k_pods_to_first_frame", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    let client =
                        client_for(kubeconfig.clone(), "fleet", Duration::from_secs(5), None)
                            .await
                            .expect("client");
                    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
                    let cancel = tokio_util::sync::CancellationToken::new();
                    let mut s = fleet_state("fleet");
                    let mut t = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
                    let start = Instant::now();
                    spawn_watchers(client, &NamespaceScope::All, tx, cancel.clone());
                    while !s.kube.store.is_synced() {
                        let batch = rx.recv().await.expect("watchers run");
                        s.handle_event(AppEvent::Kube {
                            context: "fleet".into(),
                            updates: batch,
                        });
                    }
                    draw(&mut t, &s, &theme);
                    let took = start.elapsed();
                    cancel.cancel();
                    assert_eq!(s.kube.store.pods.len(), NAMESPACES * PER_NAMESPACE);
                    took
                });
            }
            total
        })
    });
    group.finish();
    eprintln!(
        "kube_fleet: RSS after the real list/watch runs {:.0} MB (API server model included)",
        rss_mb()
    );
    drop(api);
}

criterion_group!(benches, fleet_benches);
criterion_main!(benches);
