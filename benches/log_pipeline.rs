//! Pod logs at fleet rate through the real pipeline: 50 pods × 200 lines/s (10,000 lines/s)
//! written to the in-process Kubernetes API server, followed by the cockpit's own per-pod
//! tasks (`kube::logs::stream_logs`: one HTTP stream per pod, the bounded queue, the batches)
//! on a single-thread runtime of their own as the cluster service runs them, forwarded as
//! `AppEvent::PodLogs` to the UI thread, which applies them to the instance's ring and draws
//! a 200×50 frame at most 30 times a second. Reports the lines written, delivered to the ring
//! and dropped by the queue, the ring's evictions, and the CPU time of the whole process.
//!
//! `harness = false` with a plain `main`, like `soak`: it runs once under `cargo bench` and,
//! shorter, under `cargo test --benches`. `KUBESTACK_LOGS_SECS` sets the streaming time
//! (default 3 s), `KUBESTACK_LOGS_RATE` the lines per second per pod (default 200).

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

use std::time::{Duration, Instant};

use chrono::Utc;
use fixtures::sample_config;
use kubestack_ai::app::{AppEvent, build_state};
use kubestack_ai::keymap::Keymap;
use kubestack_ai::kube::client_for;
use kubestack_ai::kube::logs::{LogOptions, PodLogEvent, stream_logs};
use kubestack_ai::theme::Theme;
use kubestack_playground::kube_api::KubeApi;
use kubestack_playground::kube_objects::{self as obj, PodHealth};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const PODS: usize = 50;
const NAMESPACE: &str = "payments";

/// CPU seconds (user + system) of this process so far, from /proc/self/stat.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the state field.
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let secs: f64 = std::env::var("KUBESTACK_LOGS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let per_pod: usize = std::env::var("KUBESTACK_LOGS_RATE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let duration = Duration::from_secs_f64(secs.max(0.5));

    // The API server and the writer, on a runtime of their own.
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let api = server.block_on(KubeApi::start());
    for i in 0..PODS {
        api.apply(&obj::statefulset_pod(
            NAMESPACE,
            "cache",
            "redis",
            "redis:7.2",
            6379,
            i,
            PodHealth::Ready,
        ));
    }
    let kubeconfig = api.kubeconfig("bench", NAMESPACE);
    let pods: Vec<String> = (0..PODS).map(|i| format!("cache-{i}")).collect();

    // The cockpit's log tasks, on a single-thread runtime as the cluster service runs them.
    let (events_tx, mut events_rx) = mpsc::channel::<AppEvent>(1024);
    let cancel = CancellationToken::new();
    let logs_cancel = cancel.clone();
    let follow_pods = pods.clone();
    let logs_thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("log runtime");
        rt.block_on(async move {
            let client = client_for(kubeconfig, "bench", Duration::from_secs(5), None)
                .await
                .expect("client");
            let (tx, mut rx) = mpsc::channel(8);
            tokio::spawn(stream_logs(
                client,
                NAMESPACE.into(),
                follow_pods,
                LogOptions {
                    tail_lines: Some(0),
                    ..Default::default()
                },
                tx,
                logs_cancel.clone(),
            ));
            loop {
                let event = tokio::select! {
                    e = rx.recv() => match e { Some(e) => e, None => return },
                    _ = logs_cancel.cancelled() => return,
                };
                if events_tx
                    .send(AppEvent::PodLogs { instance: 0, event })
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
    });
    // Let the 50 streams open before writing.
    std::thread::sleep(Duration::from_millis(800));

    // The writer: every 10 ms, `per_pod / 100` lines to each pod.
    let writer_api = api.clone();
    let writer_pods = pods.clone();
    let writer_cancel = CancellationToken::new();
    let stop_writer = writer_cancel.clone();
    let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let written_by_writer = written.clone();
    server.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        let mut carry = 0.0_f64;
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = writer_cancel.cancelled() => return,
            }
            carry += per_pod as f64 / 100.0;
            let k = carry.floor() as usize;
            carry -= k as f64;
            let at = Utc::now();
            let mut batch = Vec::with_capacity(k * writer_pods.len());
            for pod in &writer_pods {
                for j in 0..k {
                    n += 1;
                    batch.push((
                        NAMESPACE.to_string(),
                        pod.clone(),
                        at + chrono::Duration::microseconds(j as i64),
                        format!("INFO request {n} served in 3 ms by {pod}"),
                    ));
                }
            }
            writer_api.log_batch(&batch);
            written_by_writer.fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
    });

    // The UI thread: events into the state, a frame at most every 33 ms.
    let mut config = sample_config();
    config.ui.log_buffer_lines = 10_000;
    let (mut state, _) = build_state(&config, Keymap::builtin(), Vec::new());
    let theme = Theme::builtin("dark").expect("built-in theme");
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
    let (mut delivered, mut dropped, mut frames) = (0_u64, 0_u64, 0_u64);
    let cpu_start = cpu_secs();
    let start = Instant::now();
    let mut last_frame = Instant::now();
    let mut dirty = false;
    let stop_writing = start + duration;
    let mut stopped = false;
    // After the writer stops, up to 2 s for the pipeline to drain.
    while start.elapsed() < duration + Duration::from_secs(2) {
        if !stopped && Instant::now() >= stop_writing {
            stopped = true;
            stop_writer.cancel();
        }
        match events_rx.try_recv() {
            Ok(ev) => {
                if let AppEvent::PodLogs { event, .. } = &ev {
                    match event {
                        PodLogEvent::Lines(l) => delivered += l.len() as u64,
                        PodLogEvent::Dropped(n) => dropped += n,
                        PodLogEvent::State { .. } => {}
                    }
                }
                state.handle_event(ev);
                dirty = true;
                continue;
            }
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) => {}
        }
        if dirty && last_frame.elapsed() >= Duration::from_millis(33) {
            terminal
                .draw(|f| kubestack_ai::ui::draw(f, &state, &theme))
                .expect("draw");
            frames += 1;
            last_frame = Instant::now();
            dirty = false;
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
        if stopped && delivered + dropped >= written.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu_start;
    stop_writer.cancel();
    cancel.cancel();
    let _ = logs_thread.join();
    let written = written.load(std::sync::atomic::Ordering::Relaxed);
    let ring = &state.instances[0].logs;
    println!(
        "log_pipeline: {PODS} pods × {per_pod} lines/s for {:.1} s: written {written}, delivered {delivered} ({:.1} %), dropped by the queue {dropped}, missing {}, ring holds {} (evicted {}), {frames} frames, CPU {:.2} s over {:.1} s wall = {:.0} % of one core (server and writer included)",
        duration.as_secs_f64(),
        100.0 * delivered as f64 / written.max(1) as f64,
        written.saturating_sub(delivered + dropped),
        ring.len(),
        ring.dropped(),
        cpu,
        wall,
        100.0 * cpu / wall,
    );
}
