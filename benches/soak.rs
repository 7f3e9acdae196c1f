//! Soak: the cockpit (reducer + a frame per tick at 200×50) runs for `KUBESTACK_SOAK_SECS`
//! (default 5 s, so `cargo test --all-targets` stays quick) against a churning fleet, and
//! prints the process RSS at the start, after warm-up and at the end: it must stay flat.
//!
//! Each tick: a workload of the fleet is deleted (its pods and Service too) and a new one with
//! a name never seen before appears; pods restart; the cursor moves over the inventory (and
//! rests now and then, so instances connect and the `max_attached` cap evicts); connected and
//! configured instances get snapshots with metrics (one series keyed by a rotating consumer
//! group name) and changing findings; pod log lines flow; a chat answer streams tokens (a new
//! question every `KUBESTACK_SOAK_QUESTION_SECS`, default 2 s; 0 for none); the frame is drawn.
//! The effects are carried out as the controller would: a rest timer fires a few ticks later,
//! a detach is followed by its release.
//!
//! A conversation keeps every question and answer (no cap), so with questions RSS grows by
//! what the chat holds; `KUBESTACK_SOAK_QUESTION_SECS=0` leaves only what must stay flat.
//!
//! `harness = false` with a plain `main`: it runs once whether under `cargo bench` or, in test
//! mode, under `cargo test --benches`.

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use fixtures::{rss_kb, sample_config, sample_snapshot};
use kubestack_ai::ai::agent::ChatEvent;
use kubestack_ai::app::{AppEvent, AppState, Effect, build_state};
use kubestack_ai::app::{AskEffect, ClusterRequest};
use kubestack_ai::keymap::Keymap;
use kubestack_ai::kube::logs::{PodLogEvent, PodLogLine};
use kubestack_ai::kube::store::{PodRow, Resource, ServiceRow, WorkloadRow};
use kubestack_ai::kube::{ContextState, KubeContext, StoreUpdate};
use kubestack_ai::plugins::MetricSample;
use kubestack_ai::theme::Theme;
use kubestack_playground::kube_objects::{self as obj, PodHealth};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const CONTEXT: &str = "soak";
const IMAGE: &str = "docker.io/bitnami/redis:7.2";
/// Workloads alive at any time, over this many namespaces.
const FLEET: usize = 60;
const NAMESPACES: usize = 6;
/// Ticks a rest timer takes to fire.
const REST_TICKS: u64 = 4;

/// The store updates adding workload `n` (a one-or-three-pod Redis StatefulSet + Service).
fn add_workload(n: u64) -> Vec<StoreUpdate> {
    let ns = format!("team-{}", n as usize % NAMESPACES);
    let name = format!("cache-{n}");
    let pods = 1 + (n % 3) as usize;
    let mut out = vec![
        StoreUpdate::Workload(WorkloadRow::from_statefulset(&obj::statefulset(
            &ns,
            &name,
            "redis",
            IMAGE,
            6379,
            pods as i32,
        ))),
        StoreUpdate::Service(ServiceRow::from_service(&obj::service(&ns, &name, 6379))),
    ];
    for i in 0..pods {
        out.push(StoreUpdate::Pod(PodRow::from_pod(&obj::statefulset_pod(
            &ns,
            &name,
            "redis",
            IMAGE,
            6379,
            i,
            PodHealth::Ready,
        ))));
    }
    out
}

fn remove_workload(n: u64) -> Vec<StoreUpdate> {
    let ns = format!("team-{}", n as usize % NAMESPACES);
    let name = format!("cache-{n}");
    let mut out = vec![
        StoreUpdate::WorkloadDeleted("StatefulSet", (ns.clone(), name.clone())),
        StoreUpdate::ServiceDeleted((ns.clone(), name.clone())),
    ];
    for i in 0..3 {
        out.push(StoreUpdate::PodDeleted((ns.clone(), format!("{name}-{i}"))));
    }
    out
}

fn key(c: KeyCode) -> AppEvent {
    AppEvent::Input(Event::Key(KeyEvent::new(c, KeyModifiers::NONE)))
}

/// What the controller would do with the reducer's effects, as events due at a later tick.
#[derive(Default)]
struct FakeController {
    due: Vec<(u64, AppEvent)>,
    attached: usize,
    detached: usize,
    asks: usize,
}

impl FakeController {
    fn handle(&mut self, tick: u64, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Cluster(ClusterRequest::AttachAfter {
                    instance,
                    generation,
                    ..
                }) => self.due.push((
                    tick + REST_TICKS,
                    AppEvent::AttachDue {
                        instance,
                        generation,
                    },
                )),
                Effect::Cluster(ClusterRequest::Attach { instance, .. }) => {
                    self.attached += 1;
                    self.due.push((
                        tick + 1,
                        AppEvent::Attached {
                            instance,
                            url: Some(format!("redis://127.0.0.1:{}", 20_000 + instance)),
                            forward: "forward 127.0.0.1 → pod".into(),
                            login: None,
                        },
                    ));
                }
                Effect::Cluster(ClusterRequest::Detach { instance }) => {
                    self.detached += 1;
                    self.due.push((tick + 2, AppEvent::Released { instance }));
                }
                Effect::Ask(AskEffect::Question { .. }) => self.asks += 1,
                _ => {}
            }
        }
    }

    fn take_due(&mut self, tick: u64) -> Vec<AppEvent> {
        let (now, later): (Vec<_>, Vec<_>) = self.due.drain(..).partition(|(t, _)| *t <= tick);
        self.due = later;
        now.into_iter().map(|(_, e)| e).collect()
    }
}

/// A snapshot whose findings come and go and whose last series is keyed by a rotating
/// consumer-group name (dropped by the stale-series rule once it stops being reported).
fn snapshot(tick: u64) -> kubestack_ai::plugins::InstanceSnapshot {
    let mut s = sample_snapshot((tick % 120) as usize);
    if tick % 7 < 3 {
        s.findings.clear();
    }
    let group = format!("lag:group-{}", tick / 10);
    s.metrics.push(MetricSample::new(
        group,
        "lag",
        kubestack_ai::model::Unit::Count,
        (tick % 100) as f64,
    ));
    s
}

fn main() {
    let secs: f64 = std::env::var("KUBESTACK_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let duration = Duration::from_secs_f64(secs.max(0.5));
    let warm_up = duration.mul_f64(0.2).max(Duration::from_millis(300));
    let theme = Theme::builtin("dark").expect("built-in theme");
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("test backend");

    let mut config = sample_config();
    config.ui.log_buffer_lines = 2000;
    let (mut state, _) = build_state(&config, Keymap::builtin(), Vec::new());
    state.kube.contexts = vec![(
        KubeContext {
            name: CONTEXT.into(),
            cluster: CONTEXT.into(),
            namespace: None,
            server: None,
        },
        ContextState::Up {
            version: "v1.31.2".into(),
        },
    )];
    state.kube.current = Some(CONTEXT.into());
    let mut ctl = FakeController::default();
    let mut events: u64 = 0;
    let mut feed = |state: &mut AppState, ctl: &mut FakeController, tick: u64, ev: AppEvent| {
        events += 1;
        let (_, effects) = state.handle_event(ev);
        ctl.handle(tick, effects);
    };

    // The initial list.
    let mut updates: Vec<StoreUpdate> = Resource::ALL
        .iter()
        .map(|r| StoreUpdate::Relist(*r, None))
        .collect();
    for n in 0..FLEET as u64 {
        updates.extend(add_workload(n));
    }
    updates.extend(Resource::ALL.iter().map(|r| StoreUpdate::Synced(*r, None)));
    feed(
        &mut state,
        &mut ctl,
        0,
        AppEvent::Kube {
            context: CONTEXT.into(),
            updates,
        },
    );
    terminal
        .draw(|f| kubestack_ai::ui::draw(f, &state, &theme))
        .expect("draw");

    let start_rss = rss_kb();
    let started = Instant::now();
    let mut warm_rss = None;
    let mut samples: Vec<String> = Vec::new();
    // A question every `KUBESTACK_SOAK_QUESTION_SECS` (default 2 s; 0: none), its answer
    // streamed over 150 ticks: a conversation grows with its questions, by design.
    let question_every = match std::env::var("KUBESTACK_SOAK_QUESTION_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
    {
        Some(s) if s <= 0.0 => None,
        Some(s) => Some(Duration::from_secs_f64(s)),
        None => Some(Duration::from_secs(2)),
    };
    let mut last_question = Instant::now();
    let mut answer_ends = 0u64;
    let mut tick: u64 = 0;
    let mut next_workload = FLEET as u64;
    let mut tokens: u64 = 0;
    while started.elapsed() < duration {
        tick += 1;
        // Churn: the oldest workload goes, a new name comes; a pod restarts.
        let oldest = next_workload - FLEET as u64;
        let mut batch = remove_workload(oldest);
        batch.extend(add_workload(next_workload));
        next_workload += 1;
        let restarted = next_workload - 1 - (tick % FLEET as u64).min(FLEET as u64 - 1);
        let mut pod = PodRow::from_pod(&obj::statefulset_pod(
            &format!("team-{}", restarted as usize % NAMESPACES),
            &format!("cache-{restarted}"),
            "redis",
            IMAGE,
            6379,
            0,
            PodHealth::CrashLoop {
                restarts: (tick % 50) as i32,
                oom: tick.is_multiple_of(2),
            },
        ));
        pod.restarts = (tick % 50) as u32;
        batch.push(StoreUpdate::Pod(pod));
        feed(
            &mut state,
            &mut ctl,
            tick,
            AppEvent::Kube {
                context: CONTEXT.into(),
                updates: batch,
            },
        );
        // The cursor: runs over the inventory, rests every 8th tick for a while.
        if tick % 8 < 3 {
            let k = if (tick / 64).is_multiple_of(2) {
                KeyCode::Char('j')
            } else {
                KeyCode::Char('k')
            };
            for _ in 0..3 {
                feed(&mut state, &mut ctl, tick, key(k));
            }
        }
        for ev in ctl.take_due(tick) {
            feed(&mut state, &mut ctl, tick, ev);
        }
        // Samples and logs for the configured and the connected instances.
        let live: Vec<usize> = (0..state.instances.len())
            .filter(|&i| state.instances[i].kube.as_ref().is_none_or(|b| b.attached))
            .collect();
        for &i in &live {
            feed(
                &mut state,
                &mut ctl,
                tick,
                AppEvent::Snapshot {
                    instance: i,
                    snapshot: Box::new(snapshot(tick)),
                },
            );
            if state.instances[i].kube.is_some() {
                let lines = (0..20)
                    .map(|l| PodLogLine {
                        pod: format!("pod-{}", l % 3),
                        at: chrono::Utc::now(),
                        text: format!("tick {tick} line {l}: GET /cache/key-{} 200", tick * l),
                    })
                    .collect();
                feed(
                    &mut state,
                    &mut ctl,
                    tick,
                    AppEvent::PodLogs {
                        instance: i,
                        event: PodLogEvent::Lines(lines),
                    },
                );
            }
        }
        // The chat: a question now and then on the selected instance, its answer streamed.
        if question_every.is_some_and(|every| last_question.elapsed() >= every)
            && state.chat.generating.is_none()
        {
            last_question = Instant::now();
            answer_ends = tick + 150;
            for ev in [
                key(KeyCode::Char('a')),
                key(KeyCode::Char('w')),
                key(KeyCode::Char('h')),
                key(KeyCode::Char('y')),
                key(KeyCode::Enter),
            ] {
                feed(&mut state, &mut ctl, tick, ev);
            }
            // Back to the inventory while the answer streams (Esc would cancel it).
            state.mode = kubestack_ai::app::Mode::Normal;
            state.focus = kubestack_ai::app::PaneId::Inventory;
        }
        if let Some(i) = state.chat.generating {
            tokens += 1;
            let event = if tick >= answer_ends {
                ChatEvent::Done
            } else {
                ChatEvent::Token(format!("token {tokens} "))
            };
            feed(
                &mut state,
                &mut ctl,
                tick,
                AppEvent::Chat { instance: i, event },
            );
        }
        terminal
            .draw(|f| kubestack_ai::ui::draw(f, &state, &theme))
            .expect("draw");
        if warm_rss.is_none() && started.elapsed() >= warm_up {
            warm_rss = Some(rss_kb());
        }
        // A sample every tenth of the run shows the trend, not only its two ends.
        if started.elapsed() >= duration.mul_f64(f64::from(samples.len() as u32 + 1) / 10.0) {
            let chat: usize = state
                .instances
                .iter()
                .flat_map(|v| v.chat.iter())
                .map(|m| m.text.len())
                .sum();
            samples.push(format!(
                "{:.1} MB (chat {} KB)",
                rss_kb() as f64 / 1024.0,
                chat / 1024
            ));
        }
    }
    let end_rss = rss_kb();
    let warm_rss = warm_rss.unwrap_or(end_rss);
    let elapsed = started.elapsed().as_secs_f64();
    let chat_messages: usize = state.instances.iter().map(|v| v.chat.len()).sum();
    eprintln!(
        "soak: {elapsed:.0} s, {tick} ticks (frames), {events} events, {} workloads churned, \
         {} attaches, {} detaches, {} questions; {} instance slots ({} discovered shown), \
         {} pods in the store, {chat_messages} chat messages",
        next_workload - FLEET as u64,
        ctl.attached,
        ctl.detached,
        ctl.asks,
        state.instances.len(),
        state.visible_instances().len().saturating_sub(3),
        state.kube.store.pods.len(),
    );
    eprintln!(
        "soak: RSS start {:.1} MB, after warm-up {:.1} MB, end {:.1} MB (end − warm-up {:+.1} MB)",
        start_rss as f64 / 1024.0,
        warm_rss as f64 / 1024.0,
        end_rss as f64 / 1024.0,
        (end_rss as f64 - warm_rss as f64) / 1024.0
    );
    eprintln!("soak: RSS every tenth: {}", samples.join(", "));
    assert!(
        state.instances.len() <= FLEET + 3 + 8,
        "instance slots grow with churn: {}",
        state.instances.len()
    );
}
