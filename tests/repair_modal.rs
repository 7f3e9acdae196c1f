//! The repair modal driven like the event loop drives it — keys into the reducer, effects into
//! the real `Controller`, its executor's results back as events — against a real redis-server,
//! with the screen rendered at each checkpoint.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{
    REDIS_READS, RedisServer, buffer_text, commands_since, commandstats, fast_config,
    redis_instance,
};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use kubestack_ai::ai::plan::ProposedPlan;
use kubestack_ai::app::{AppEvent, AppState, ChatMessage, PaneId, StepPhase, build_state};
use kubestack_ai::config::{AppConfig, SafetyMode};
use kubestack_ai::keymap::Keymap;
use kubestack_ai::plugins::plugin_for;
use kubestack_ai::repair::{AuditChain, AuditEvent, Executor, verify_chain};
use kubestack_ai::runtime::{EffectHandler, Router};
use kubestack_ai::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc;

struct Driver {
    state: AppState,
    controller: Router,
    rx: mpsc::Receiver<AppEvent>,
    terminal: Terminal<TestBackend>,
    theme: Theme,
    audit: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Driver {
    async fn new(redis: &RedisServer, mode: SafetyMode) -> Driver {
        let mut config: AppConfig = fast_config();
        config.safety.mode = mode;
        config.instances = vec![redis_instance("cache", &redis.url())];
        let (mut state, _) = build_state(&config, Keymap::builtin(), Vec::new());
        let mut collector = plugin_for(config.instances[0].kind)
            .collector(&config.instances[0], &config)
            .unwrap();
        collector.collect().await.unwrap();
        let snapshot = collector.collect().await.unwrap();
        state.handle_event(AppEvent::Snapshot {
            instance: 0,
            snapshot: Box::new(snapshot),
        });
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.jsonl");
        let executor = Executor::new(
            kubestack_ai::plugins::registry::backends(),
            &config.safety,
            Arc::new(AuditChain::open(&audit).unwrap()),
        )
        .unwrap();
        state.safety = executor.policy();
        let (tx, rx) = mpsc::channel(64);
        let controller = Router::new(
            Vec::new(),
            config,
            tx,
            dir.path().to_path_buf(),
            Arc::new(executor),
        );
        Driver {
            state,
            controller,
            rx,
            terminal: Terminal::new(TestBackend::new(140, 44)).unwrap(),
            theme: Theme::builtin("dark").unwrap(),
            audit,
            _dir: dir,
        }
    }

    fn key(&mut self, code: KeyCode) {
        let event = AppEvent::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        let (_, effects) = self.state.handle_event(event);
        for e in effects {
            self.controller.handle(e, &self.state);
        }
    }

    fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
    }

    /// Feeds the executor's results back until the step on screen reaches a phase.
    async fn until(&mut self, what: &str, done: impl Fn(&StepPhase) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let phase = self
                .state
                .repair()
                .and_then(|m| m.state().map(|s| s.phase.clone()));
            if phase.as_ref().is_some_and(&done) {
                return;
            }
            let event = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; phase {phase:?}"))
                .expect("controller alive");
            let (_, effects) = self.state.handle_event(event);
            for e in effects {
                self.controller.handle(e, &self.state);
            }
        }
    }

    fn screen(&mut self) -> String {
        let (state, theme) = (&self.state, &self.theme);
        self.terminal
            .draw(|f| kubestack_ai::ui::draw(f, state, theme))
            .unwrap();
        buffer_text(self.terminal.backend().buffer())
    }

    fn select_finding(&mut self, id: &str) {
        self.state.focus = PaneId::Findings;
        let pos = self.state.instances[0]
            .findings
            .iter()
            .position(|f| f.finding.id == id)
            .unwrap_or_else(|| panic!("no {id} finding"));
        self.state.findings_selected = pos;
    }

    fn events(&self) -> Vec<AuditEvent> {
        verify_chain(&self.audit)
            .unwrap()
            .into_iter()
            .map(|r| r.event)
            .collect()
    }

    /// The audit events once `n` are written: proposals, skips and aborts are appended by the
    /// controller's file writer, off the loop's thread, so they land a moment after the key.
    async fn events_when(&self, n: usize) -> Vec<AuditEvent> {
        for _ in 0..200 {
            let events = self.events();
            if events.len() >= n {
                return events;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        self.events()
    }
}

fn config_get(redis: &RedisServer, key: &str) -> String {
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg(key)
        .query(&mut redis.client())
        .unwrap();
    v[1].clone()
}

fn is_ready(p: &StepPhase) -> bool {
    *p == StepPhase::Ready
}

#[tokio::test]
async fn a_finding_is_repaired_step_by_step_and_verified() {
    // Started from a config file: the plan ends with CONFIG REWRITE (RDS-FIX-16).
    let redis = RedisServer::start_with_config_file(&[]);
    let mut d = Driver::new(&redis, SafetyMode::Confirm).await;
    d.select_finding("RDS-LAT-03");
    d.keys("r");
    d.until("the pre-state", is_ready).await;
    let screen = d.screen();
    for needle in [
        "Repair — cache · 2 step(s)",
        "RDS-FIX-08 — Enable the latency monitor",
        "RDS-FIX-16",
        "finding RDS-LAT-03",
        "CONFIG SET latency-monitor-threshold 100",
        "latency-monitor-threshold: 0 → 100",
        "SAFE",
        "ready — nothing has been changed yet",
        "[ Skip ]",
        "REPAIR",
        "CONFIRM",
    ] {
        assert!(screen.contains(needle), "missing {needle:?}\n{screen}");
    }
    // The focus starts on the safe choice: Enter now would skip.
    let m = d.state.repair().unwrap();
    assert_eq!(m.buttons()[m.button], kubestack_ai::app::ModalButton::Skip);

    d.keys("b");
    assert!(
        d.screen()
            .contains("CONFIG SET latency-monitor-threshold 0"),
        "b shows the rollback"
    );
    d.keys("y");
    d.until("verification", |p| matches!(p, StepPhase::Verified(_)))
        .await;
    assert!(
        d.screen()
            .contains("verified: latency-monitor-threshold = 100")
    );
    assert_eq!(config_get(&redis, "latency-monitor-threshold"), "100");

    // Next step: CONFIG REWRITE — abort the rest with Esc.
    d.key(KeyCode::Tab); // Roll back is not offered after success: Next, Close
    let m = d.state.repair().unwrap();
    assert_eq!(m.buttons()[m.button], kubestack_ai::app::ModalButton::Close);
    d.key(KeyCode::BackTab);
    d.key(KeyCode::Enter);
    d.until("the second step", is_ready).await;
    d.key(KeyCode::Esc);
    assert!(d.state.repair().is_none());
    assert_eq!(
        d.events_when(8).await,
        [
            AuditEvent::Proposed,
            AuditEvent::Proposed,
            AuditEvent::Confirmed,
            AuditEvent::Executed,
            AuditEvent::Executed,
            AuditEvent::Executed,
            AuditEvent::Verified,
            AuditEvent::Aborted,
        ]
    );
}

#[tokio::test]
async fn a_dangerous_step_takes_the_typed_name_and_read_only_refuses() {
    let redis = RedisServer::start(&[]);
    let mut d = Driver::new(&redis, SafetyMode::Confirm).await;
    d.select_finding("RDS-SEC-01");
    d.keys("r");
    d.until("the pre-state", is_ready).await;
    let screen = d.screen();
    assert!(
        screen.contains("DANGEROUS — type `cache` to enable Apply"),
        "{screen}"
    );
    assert!(
        screen.contains("ACL SETUSER default on [REDACTED]"),
        "{screen}"
    );
    // Keys type into the name field: `y` is a letter here, not "apply".
    d.keys("cachy");
    assert_eq!(d.state.repair().unwrap().typed, "cachy");
    d.key(KeyCode::Tab); // Apply
    d.key(KeyCode::Enter);
    d.until("the refusal", |p| matches!(p, StepPhase::Refused(_)))
        .await;
    assert!(d.screen().contains("needs the instance name `cache` typed"));
    let flags: Vec<redis::Value> = redis::cmd("ACL")
        .arg(&["GETUSER", "default"])
        .query(&mut redis.client())
        .unwrap();
    assert!(format!("{flags:?}").contains("nopass"), "nothing changed");
    d.key(KeyCode::Esc);

    // Read-only: the same plan, a typed name, and still no write.
    let mut d = Driver::new(&redis, SafetyMode::ReadOnly).await;
    d.select_finding("RDS-LAT-03");
    d.keys("r");
    d.until("the pre-state", is_ready).await;
    assert!(d.screen().contains("READ-ONLY"));
    d.keys("y");
    d.until("the refusal", |p| matches!(p, StepPhase::Refused(_)))
        .await;
    assert!(d.screen().contains("read-only mode: no write is sent"));
    assert_eq!(config_get(&redis, "latency-monitor-threshold"), "0");
}

#[tokio::test]
async fn the_ai_plan_is_validated_against_the_catalogue() {
    let redis = RedisServer::start(&[]);
    let mut d = Driver::new(&redis, SafetyMode::Confirm).await;
    let plan: ProposedPlan = serde_json::from_str(
        r#"{"plan":[
            {"action":"RDS-FIX-08","why":"latency monitor is off"},
            {"action":"FLUSHALL","why":"start clean"},
            {"action":"rm -rf /var/lib/redis","why":"disk"}]}"#,
    )
    .unwrap();
    d.state.instances[0].chat.push(ChatMessage::new(
        kubestack_ai::app::ChatRole::Assistant,
        "Turn the monitor on.",
    ));
    d.state.instances[0].chat.push(ChatMessage::plan(plan));
    d.state.focus = PaneId::Chat;
    d.keys("p");
    d.until("the pre-state", is_ready).await;
    let screen = d.screen();
    for needle in [
        "1 step(s)",
        "latency monitor is off (proposed by the AI in the chat: Turn the monitor on.)",
        "FLUSHALL — manual only",
        "rm -rf /var/lib/redis — not an action of the catalogue",
    ] {
        assert!(screen.contains(needle), "missing {needle:?}\n{screen}");
    }
}

#[tokio::test]
async fn in_read_only_the_chat_plan_and_the_finding_keys_send_no_write_says_the_server() {
    let redis = RedisServer::start(&[]);
    let mut d = Driver::new(&redis, SafetyMode::ReadOnly).await;
    let before = commandstats(&redis);
    // The chat's apply (`p`) on a plan from the model.
    let plan: ProposedPlan = serde_json::from_str(
        r#"{"plan":[{"action":"RDS-FIX-08","why":"latency monitor is off"},{"action":"RDS-FIX-16"}]}"#,
    )
    .unwrap();
    d.state.instances[0].chat.push(ChatMessage::plan(plan));
    d.state.focus = PaneId::Chat;
    d.keys("p");
    d.until("the pre-state", is_ready).await;
    d.keys("y");
    d.until("the refusal", |p| matches!(p, StepPhase::Refused(_)))
        .await;
    d.key(KeyCode::Esc);
    // `r` on the finding, confirmed.
    d.select_finding("RDS-LAT-03");
    d.keys("r");
    d.until("the pre-state", is_ready).await;
    d.keys("y");
    d.until("the refusal", |p| matches!(p, StepPhase::Refused(_)))
        .await;
    // Every command the server executed meanwhile was a read (captures, collection).
    let after = commandstats(&redis);
    assert!(
        after["config|get"] > before.get("config|get").copied().unwrap_or(0),
        "the captures were read"
    );
    assert_eq!(
        commands_since(&before, &after, REDIS_READS),
        Vec::<String>::new(),
        "a write reached the server"
    );
    assert_eq!(config_get(&redis, "latency-monitor-threshold"), "0");
    assert!(
        d.events()
            .iter()
            .filter(|e| **e == AuditEvent::Refused)
            .count()
            >= 2
    );
}

/// Writes the modal as rendered to `target/repair-modal.txt` (for the docs' screenshot).
#[tokio::test]
async fn render_the_modal_for_the_docs() {
    let redis = RedisServer::start(&["--maxmemory", "64mb"]);
    let mut d = Driver::new(&redis, SafetyMode::Confirm).await;
    d.select_finding("RDS-LAT-03");
    d.keys("r");
    d.until("the pre-state", is_ready).await;
    d.keys("b");
    let screen = d.screen();
    let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("repair-modal.txt");
    std::fs::write(&out, &screen).unwrap();
    assert!(screen.contains("Repair — cache"));
}
