//! Scripted sessions: key sequences and snapshots fed through the real event loop.

mod common;

use std::time::Duration;

use common::fixtures::{sample_snapshot, sample_state};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use kubestack_ai::ai::agent::ChatEvent;
use kubestack_ai::app::AskEffect;
use kubestack_ai::app::{AppEvent, AppState, ChatRole, Effect, Mode, PaneId};
use kubestack_ai::runtime::{EffectHandler, LoopStats, RunOptions, run_event_loop};
use kubestack_ai::services::collect::SupervisorCommand;
use kubestack_ai::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

fn key(c: char) -> AppEvent {
    AppEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

fn code(code: KeyCode) -> AppEvent {
    AppEvent::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn screen(terminal: &Terminal<TestBackend>) -> String {
    common::buffer_text(terminal.backend().buffer())
}

/// Runs the loop over pre-queued events (the last must end the session).
async fn run_script(
    state: &mut AppState,
    events: Vec<AppEvent>,
    effects: &mut dyn EffectHandler,
) -> (Terminal<TestBackend>, LoopStats) {
    let (tx, mut rx) = mpsc::channel(4096);
    for ev in events {
        tx.send(ev).await.unwrap();
    }
    // Everything is queued: the loop ends at the last event even if it does not quit.
    drop(tx);
    let theme = Theme::builtin("dark").unwrap();
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let stats = run_event_loop(
        &mut terminal,
        state,
        &theme,
        &mut rx,
        effects,
        RunOptions { max_fps: 30 },
    )
    .await
    .unwrap();
    (terminal, stats)
}

/// Records every effect (the real program's controller would carry them out).
#[derive(Default)]
struct Recorder {
    effects: Vec<Effect>,
}

impl EffectHandler for Recorder {
    fn handle(&mut self, effect: Effect, _state: &AppState) {
        self.effects.push(effect);
    }
}

fn redraw(terminal: &mut Terminal<TestBackend>, state: &AppState) -> String {
    let theme = Theme::builtin("dark").unwrap();
    terminal
        .draw(|f| kubestack_ai::ui::draw(f, state, &theme))
        .unwrap();
    screen(terminal)
}

#[tokio::test]
async fn help_focus_filter_and_quit_through_the_loop() {
    let mut state = sample_state(20);
    let script = vec![
        key('?'),
        code(KeyCode::Esc),
        code(KeyCode::Tab),
        code(KeyCode::Tab),
        code(KeyCode::Tab),
        key('/'),
        key('K'),
        key('E'),
        key('Y'),
        key('S'),
        code(KeyCode::Enter),
        key('n'),
    ];
    let (mut terminal, _) = {
        let mut events = script;
        events.push(key('q'));
        run_script(&mut state, events, &mut Recorder::default()).await
    };
    assert!(state.quit, "q quits");
    assert!(!state.mode.is_overlay(), "Esc closed the help");
    assert_eq!(state.focus, PaneId::Logs, "three Tabs reach the logs");
    assert_eq!(state.mode, Mode::Normal, "Enter left the filter line");
    let logs = &state.instances[0].logs;
    assert_eq!(logs.filter().map(|f| f.query()), Some("KEYS"));
    assert!(logs.match_count() > 0);
    assert!(state.logs_view.cursor.is_some(), "n jumped to a match");
    let shown = redraw(&mut terminal, &state);
    assert!(shown.contains("/KEYS"), "{shown}");
    assert!(
        shown.contains("paused"),
        "jumping pauses the follow mode\n{shown}"
    );
}

fn chat(event: ChatEvent) -> AppEvent {
    AppEvent::Chat { instance: 0, event }
}

#[tokio::test]
async fn ask_stream_regenerate_and_cancel_through_the_loop() {
    let mut state = sample_state(2);
    let mut events = vec![key('a')];
    events.extend("why is p99 up?".chars().map(key));
    events.push(code(KeyCode::Enter));
    events.extend([
        chat(ChatEvent::Sent(
            "{\"messages\":[\"[REDACTED:password#1]\"]}".into(),
        )),
        chat(ChatEvent::Token("Memory ".into())),
        chat(ChatEvent::ToolCall {
            name: "redis_info".into(),
            arguments: "{\"section\":\"memory\"}".into(),
            result_bytes: 2048,
            ok: true,
        }),
        chat(ChatEvent::Token("is at 93% ".into())),
        chat(ChatEvent::Token("of maxmemory.".into())),
        chat(ChatEvent::Usage {
            input: 1200,
            output: 40,
        }),
        chat(ChatEvent::Done),
    ]);
    let mut recorder = Recorder::default();
    let (mut terminal, _) = {
        let mut script = events;
        script.push(code(KeyCode::Esc));
        script.push(key('q'));
        run_script(&mut state, script, &mut recorder).await
    };
    assert!(
        matches!(&recorder.effects[0], Effect::Ask(AskEffect::Question { instance: 0, question, .. }) if question == "why is p99 up?")
    );
    let conversation = &state.instances[0].chat;
    assert_eq!(conversation[0].role, ChatRole::User);
    assert_eq!(conversation[1].text, "Memory ");
    assert_eq!(conversation[2].role, ChatRole::Tool);
    assert_eq!(
        conversation[3].text, "is at 93% of maxmemory.",
        "tokens stream into one message"
    );
    assert_eq!(state.chat.generating, None);
    assert_eq!(
        (state.chat.meter.tokens_in, state.chat.meter.tokens_out),
        (1200, 40)
    );
    let shown = redraw(&mut terminal, &state);
    assert!(shown.contains("you: why is p99 up?"), "{shown}");
    assert!(shown.contains("⚙ redis_info"), "{shown}");
    assert!(
        shown.contains("1.2k↑"),
        "the meter is in the title\n{shown}"
    );

    // Regenerate, then cancel the new answer while it streams.
    state.quit = false;
    let ctrl_r = AppEvent::Input(Event::Key(KeyEvent::new(
        KeyCode::Char('r'),
        KeyModifiers::CONTROL,
    )));
    let script = vec![
        key('a'),
        ctrl_r,
        chat(ChatEvent::Token("Partial".into())),
        code(KeyCode::Esc),
        chat(ChatEvent::Token(" late token".into())),
        code(KeyCode::Esc),
        key('q'),
    ];
    let mut recorder = Recorder::default();
    run_script(&mut state, script, &mut recorder).await;
    assert!(
        matches!(&recorder.effects[0], Effect::Ask(AskEffect::Question { question, .. }) if question == "why is p99 up?")
    );
    assert_eq!(recorder.effects[1], Effect::Ask(AskEffect::Cancel));
    let conversation = &state.instances[0].chat;
    assert_eq!(
        conversation.len(),
        3,
        "old answer dropped, partial kept, cancel noted"
    );
    assert_eq!(conversation[1].text, "Partial");
    assert_eq!(conversation[2].text, "cancelled");
    assert!(state.quit);
}

#[tokio::test]
async fn the_sent_overlay_shows_the_last_payload() {
    let mut state = sample_state(2);
    state.chat.generating = Some(0);
    let mut events = vec![
        chat(ChatEvent::Sent(
            "{\"model\":\"m\",\"note\":\"[REDACTED:password#1]\"}".into(),
        )),
        chat(ChatEvent::Done),
        key(':'),
    ];
    events.extend("sent".chars().map(key));
    events.push(code(KeyCode::Enter));
    let (mut terminal, _) = run_script(&mut state, events, &mut Recorder::default()).await;
    assert_eq!(
        state.mode,
        Mode::Sent(kubestack_ai::app::ScrollView { scroll: 0 })
    );
    let shown = redraw(&mut terminal, &state);
    assert!(
        shown.contains("Last payload sent") && shown.contains("[REDACTED:password#1]"),
        "{shown}"
    );
}

#[tokio::test]
async fn the_palette_runs_a_named_action() {
    let mut state = sample_state(2);
    let mut events = vec![key(':')];
    events.extend("zoom".chars().map(key));
    events.push(code(KeyCode::Enter));
    events.push(key('q'));
    run_script(&mut state, events, &mut Recorder::default()).await;
    assert!(state.zoomed, "palette ran `zoom`");
    assert_eq!(state.mode, Mode::Normal);
}

#[tokio::test]
async fn reconnect_key_reaches_the_selected_supervisor() {
    let mut state = sample_state(2);
    let (tx0, mut rx0) = mpsc::channel(4);
    let (tx1, mut rx1) = mpsc::channel(4);
    run_script(
        &mut state,
        vec![key('j'), key('R'), key('q')],
        &mut vec![tx0, tx1],
    )
    .await;
    assert_eq!(state.selected, 1);
    assert_eq!(rx1.try_recv().ok(), Some(SupervisorCommand::Reconnect));
    assert!(rx0.try_recv().is_err());
}

#[tokio::test]
async fn a_burst_of_snapshots_is_drawn_once() {
    let mut state = sample_state(1);
    let mut events: Vec<AppEvent> = (0..300)
        .map(|n| AppEvent::Snapshot {
            instance: 0,
            snapshot: Box::new(sample_snapshot(n)),
        })
        .collect();
    events.push(key('q'));
    let (_, stats) = run_script(&mut state, events, &mut Recorder::default()).await;
    assert_eq!(stats.events, 301);
    assert_eq!(
        stats.frames, 1,
        "the first frame only; the burst and the quit are coalesced"
    );
    assert_eq!(
        state.instances[0].metrics[0].len(),
        120,
        "history is bounded"
    );
}

#[tokio::test(start_paused = true)]
async fn no_redraw_while_idle() {
    let mut state = sample_state(1);
    let (tx, mut rx) = mpsc::channel(16);
    let theme = Theme::builtin("dark").unwrap();
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    let mut recorder = Recorder::default();
    let driver = async {
        // A minute of virtual time with nothing happening, then one change, then quit.
        tokio::time::sleep(Duration::from_secs(60)).await;
        tx.send(AppEvent::Snapshot {
            instance: 0,
            snapshot: Box::new(sample_snapshot(5)),
        })
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
        tx.send(key('q')).await.unwrap();
    };
    let looped = run_event_loop(
        &mut terminal,
        &mut state,
        &theme,
        &mut rx,
        &mut recorder,
        RunOptions { max_fps: 30 },
    );
    let (stats, ()) = tokio::join!(looped, driver);
    let stats = stats.unwrap();
    assert_eq!(
        stats.frames, 2,
        "one frame at start, one for the snapshot, none while idle"
    );
}

#[tokio::test]
async fn shutdown_event_ends_the_loop() {
    let mut state = sample_state(1);
    let (_, stats) = run_script(
        &mut state,
        vec![AppEvent::Shutdown("SIGTERM".into())],
        &mut Recorder::default(),
    )
    .await;
    assert!(state.quit);
    assert_eq!(stats.events, 1);
}

#[tokio::test]
async fn a_spent_session_budget_stops_further_requests_with_a_notice() {
    let mut state = sample_state(2);
    let ai = kubestack_ai::config::AiConfig {
        session_budget_usd: 0.50,
        ..Default::default()
    };
    state.chat = kubestack_ai::app::ChatState::new(&ai);
    state.chat.meter.cost_usd = 0.51;
    let mut events = vec![key('a')];
    events.extend("one more question".chars().map(key));
    events.extend([code(KeyCode::Enter), code(KeyCode::Esc), key('q')]);
    let mut recorder = Recorder::default();
    let (mut terminal, _) = run_script(&mut state, events, &mut recorder).await;
    assert!(
        !recorder
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Ask(AskEffect::Question { .. }))),
        "no request once the budget is spent: {:?}",
        recorder.effects
    );
    let last = state.instances[0].chat.last().unwrap();
    assert_eq!(last.role, ChatRole::Notice);
    assert!(
        last.text.contains("session budget ($0.50) is spent"),
        "{}",
        last.text
    );
    let shown = redraw(&mut terminal, &state);
    assert!(
        shown.contains("is spent"),
        "the notice is on screen\n{shown}"
    );
}

#[tokio::test]
async fn a_streaming_answer_renders_at_every_width_as_tokens_arrive() {
    let answer = "Memory is at **93%** of maxmemory with `noeviction`, so every write fails with \
                  -OOM. Raise maxmemory or, for a pure cache, switch to allkeys-lru.";
    let words: Vec<&str> = answer.split_inclusive(' ').collect();
    for width in [60u16, 100, 160] {
        let mut state = sample_state(2);
        let mut events = vec![key('a')];
        events.extend("why?".chars().map(key));
        events.push(code(KeyCode::Enter));
        let mut recorder = Recorder::default();
        let (mut terminal, _) = run_script(&mut state, events, &mut recorder).await;
        terminal.backend_mut().resize(width, 30);
        for (i, w) in words.iter().enumerate() {
            state.handle_event(chat(ChatEvent::Token(w.to_string())));
            let shown = redraw(&mut terminal, &state);
            // Each frame shows the newest words: the view follows the stream.
            let last = w.trim().trim_matches(|c: char| !c.is_alphanumeric());
            if i % 5 == 0 && !last.is_empty() && width >= 100 {
                assert!(
                    shown.contains(last),
                    "width {width}, token {i} `{last}`:\n{shown}"
                );
            }
        }
        state.handle_event(chat(ChatEvent::Done));
        let shown = redraw(&mut terminal, &state);
        assert!(
            shown.contains("allkeys-lru"),
            "width {width}: the end of the answer is on screen\n{shown}"
        );
        assert!(
            !shown.contains("**93%**"),
            "markdown is rendered, not shown raw\n{shown}"
        );
    }
}
