//! The repair modal layer, key in → state and effects out, without a server or an executor.

use super::*;
use crate::app::RepairEffect;
use crate::app::test_state::test_state;
use crate::app::{Mode, StepState};
use crate::repair::{
    Command, PlanTarget, PreparedStep, Provenance, RepairPlan, RepairStep, RollbackSpec,
};
use crossterm::event::{KeyCode, KeyModifiers};

fn step(risk: Risk) -> RepairStep {
    RepairStep {
        action: "RDS-FIX-TEST".into(),
        title: "one write".into(),
        target: PlanTarget {
            instance: "cache".into(),
            endpoint: "redis://127.0.0.1:1".into(),
            identity: None,
            context: None,
        },
        risk,
        commands: vec![Command::new(&["CONFIG", "SET", "k", "1"])],
        capture: Vec::new(),
        rollback: RollbackSpec::NotNeeded("test".into()),
        verify: None,
        effect: String::new(),
        why: String::new(),
        provenance: Provenance::User,
        for_busy_server: false,
    }
}

/// A state with the modal open on a plan of `risks`, its first step in `phase`.
fn open(risks: &[Risk], phase: StepPhase) -> AppState {
    let mut state = test_state();
    let plan = RepairPlan {
        steps: risks.iter().map(|r| step(*r)).collect(),
        manual: Vec::new(),
    };
    let mut modal = RepairModal::new(0, plan);
    modal.steps[0] = StepState {
        phase,
        prepared: Some(PreparedStep {
            captured: Vec::new(),
            preview: String::new(),
            rollback: vec![Command::new(&["CONFIG", "SET", "k", "0"])],
            rollback_text: "CONFIG SET k 0".into(),
        }),
        executed: None,
    };
    state.mode = Mode::Repair(modal);
    state
}

fn press(state: &mut AppState, code: KeyCode) -> Vec<Effect> {
    state.on_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn modal(state: &AppState) -> &RepairModal {
    state.repair().expect("the modal is open")
}

#[test]
fn keys_on_a_ready_step() {
    // (key, modal still open, effect kinds)
    let cases: &[(KeyCode, bool, &[&str])] = &[
        // The focus starts on Skip: Enter skips, and the plan (one step) is walked.
        (KeyCode::Enter, true, &["skip"]),
        (KeyCode::Char('y'), true, &["execute"]),
        (KeyCode::Char('s'), true, &["skip"]),
        (KeyCode::Esc, false, &["abort"]),
        (KeyCode::Char('q'), true, &[]),
        (KeyCode::Char('r'), true, &[]), // rollback is not offered before the step ran
        (KeyCode::Tab, true, &[]),
    ];
    for (code, open_after, kinds) in cases {
        let mut state = open(&[Risk::Safe], StepPhase::Ready);
        let effects = press(&mut state, *code);
        let got: Vec<&str> = effects
            .iter()
            .map(|e| match e {
                Effect::Repair(RepairEffect::Execute { .. }) => "execute",
                Effect::Repair(RepairEffect::Skip { .. }) => "skip",
                Effect::Repair(RepairEffect::Abort { .. }) => "abort",
                Effect::Repair(RepairEffect::Prepare { .. }) => "prepare",
                _ => "other",
            })
            .collect();
        assert_eq!(got, *kinds, "{code:?}");
        assert_eq!(state.repair().is_some(), *open_after, "{code:?}");
        assert!(!state.quit, "{code:?}: the modal takes every key");
    }
}

#[test]
fn tab_moves_the_focus_and_wraps() {
    let mut state = open(&[Risk::Safe], StepPhase::Ready);
    assert_eq!(modal(&state).focused(), Some(ModalButton::Skip));
    press(&mut state, KeyCode::Tab);
    assert_eq!(modal(&state).focused(), Some(ModalButton::Apply));
    press(&mut state, KeyCode::Tab);
    press(&mut state, KeyCode::Tab);
    assert_eq!(modal(&state).focused(), Some(ModalButton::Skip), "wrapped");
    press(&mut state, KeyCode::BackTab);
    assert_eq!(modal(&state).focused(), Some(ModalButton::Abort));
}

#[test]
fn a_dangerous_step_types_the_name_even_over_shortcuts() {
    let mut state = open(&[Risk::Dangerous], StepPhase::Ready);
    for c in "sync".chars() {
        assert!(press(&mut state, KeyCode::Char(c)).is_empty(), "{c} typed");
    }
    press(&mut state, KeyCode::Backspace);
    assert_eq!(modal(&state).typed, "syn");
    press(&mut state, KeyCode::Tab);
    let effects = press(&mut state, KeyCode::Enter);
    assert!(
        matches!(&effects[..], [Effect::Repair(RepairEffect::Execute { confirmation, .. })]
            if confirmation.typed_name.as_deref() == Some("syn")),
        "{effects:?}"
    );
    assert_eq!(
        modal(&state).state().map(|s| &s.phase),
        Some(&StepPhase::Running)
    );
}

#[test]
fn skipping_prepares_the_next_step_and_esc_after_a_result_does_not_abort() {
    let mut state = open(&[Risk::Safe, Risk::Safe], StepPhase::Ready);
    let effects = press(&mut state, KeyCode::Char('s'));
    assert!(matches!(
        &effects[..],
        [
            Effect::Repair(RepairEffect::Skip { .. }),
            Effect::Repair(RepairEffect::Prepare { index: 1, .. })
        ]
    ));
    assert_eq!(modal(&state).index, 1);

    let mut state = open(&[Risk::Safe], StepPhase::Verified("ok".into()));
    assert!(press(&mut state, KeyCode::Esc).is_empty());
    assert_eq!(state.mode, Mode::Normal);
}

#[test]
fn a_failed_verification_offers_the_rollback() {
    let mut state = open(&[Risk::Safe], StepPhase::VerifyFailed("no".into()));
    assert_eq!(modal(&state).focused(), Some(ModalButton::RollBack));
    let effects = press(&mut state, KeyCode::Char('r'));
    assert!(matches!(
        &effects[..],
        [Effect::Repair(RepairEffect::Rollback { .. })]
    ));
    press(&mut state, KeyCode::Char('b'));
    assert!(modal(&state).show_rollback);
}
