//! The palette layer, key in → state and outcome out, without a server.

use super::*;
use crate::app::test_state::test_state;
use crate::app::{Effect, Mode};
use crate::app::{FileEffect, RepairEffect};
use crossterm::event::{KeyCode, KeyModifiers};

fn keys(state: &mut AppState, typed: &str, then: &[KeyCode]) -> Vec<Effect> {
    state.apply(Action::OpenPalette);
    let mut effects = Vec::new();
    let codes = typed.chars().map(KeyCode::Char).chain(then.iter().copied());
    for code in codes {
        effects = state.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    }
    effects
}

fn palette(state: &AppState) -> &Palette {
    match &state.mode {
        Mode::Palette(p) => p,
        other => panic!("not the palette: {other:?}"),
    }
}

#[test]
fn enter_runs_the_typed_command_or_the_selected_entry() {
    // (typed, keys, mode afterwards, effects)
    let cases: Vec<(&str, Vec<KeyCode>, Mode, Vec<Effect>)> = vec![
        ("q", vec![KeyCode::Enter], Mode::Normal, vec![Effect::Quit]),
        ("zoo", vec![KeyCode::Enter], Mode::Normal, vec![]),
        (
            "help",
            vec![KeyCode::Enter],
            Mode::Help(crate::app::ScrollView::default()),
            vec![],
        ),
        (
            "mode confirm because",
            vec![KeyCode::Enter],
            Mode::Normal,
            vec![Effect::Repair(RepairEffect::SetMode {
                mode: SafetyMode::Confirm,
                reason: "because".into(),
            })],
        ),
        (
            "export /tmp/r.md",
            vec![KeyCode::Enter],
            Mode::Normal,
            vec![Effect::Files(FileEffect::Export {
                instance: 0,
                path: Some("/tmp/r.md".into()),
            })],
        ),
        ("", vec![KeyCode::Esc], Mode::Normal, vec![]),
        (
            "sent",
            vec![KeyCode::Enter],
            Mode::Sent(crate::app::ScrollView::default()),
            vec![],
        ),
        // Down moves off "quit" (the only match of "qui" is "quit"): nothing below it.
        (
            "qui",
            vec![KeyCode::Down, KeyCode::Enter],
            Mode::Normal,
            vec![Effect::Quit],
        ),
    ];
    for (typed, then, mode, effects) in cases {
        let mut state = test_state();
        assert_eq!(keys(&mut state, typed, &then), effects, "{typed:?}");
        assert_eq!(state.mode, mode, "{typed:?}");
    }
}

#[test]
fn an_unknown_command_closes_with_a_notice_naming_it() {
    let mut state = test_state();
    keys(&mut state, "frobnicate now", &[KeyCode::Enter]);
    assert_eq!(state.mode, Mode::Normal);
    assert!(
        state.notices.iter().any(|n| n.contains(":frobnicate")),
        "{:?}",
        state.notices
    );
    let mut state = test_state();
    keys(&mut state, "mode ", &[KeyCode::Enter]);
    assert!(
        state.notices.iter().any(|n| n.contains(":mode: needs")),
        "{:?}",
        state.notices
    );
}

#[test]
fn typing_edits_the_query_and_resets_the_selection() {
    let mut state = test_state();
    keys(&mut state, "zq", &[KeyCode::Down, KeyCode::Backspace]);
    assert_eq!(palette(&state).query, "z");
    assert_eq!(palette(&state).selected, 0);
    assert!(!state.quit, "q is typed, not quit");
}

#[test]
fn tab_completes_and_else_moves_to_the_next_entry() {
    let mut state = test_state();
    state.chat.profiles = vec!["fast".into(), "deep".into()];
    keys(&mut state, "mode", &[KeyCode::Char('l'), KeyCode::Tab]);
    assert_eq!(palette(&state).query, "model ");
    state.on_key(KeyEvent::new(KeyCode::Char('d'), KeyModifiers::NONE));
    state.on_key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    assert_eq!(palette(&state).query, "model deep ");
    let effects = state.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert!(effects.is_empty());
    assert_eq!(state.chat.profile.as_deref(), Some("deep"));

    let mut state = test_state();
    keys(&mut state, "", &[KeyCode::Tab, KeyCode::Tab]);
    assert_eq!(palette(&state).selected, 2, "an empty query: Tab moves on");
}

#[test]
fn arrows_stay_within_the_entries() {
    let mut state = test_state();
    keys(&mut state, "zoo", &[KeyCode::Down, KeyCode::Down]);
    assert_eq!(palette(&state).selected, 0, "one entry");
    keys(&mut state, "", &[KeyCode::Up]);
    assert_eq!(palette(&state).selected, 0);
}

#[test]
fn tab_offers_the_known_argument_values() {
    let mut state = test_state();
    assert_eq!(
        state.arg_candidates(ArgValues::Modes),
        ["read-only", "suggest", "confirm"]
    );
    assert_eq!(state.arg_candidates(ArgValues::Namespaces), ["all"]);
    state.chat.profiles = vec!["fast".into()];
    assert_eq!(
        state.arg_candidates(ArgValues::Profiles),
        ["offline", "fast"]
    );
    assert!(state.arg_candidates(ArgValues::Free).is_empty());
}

#[test]
fn enter_on_a_command_that_needs_an_argument_asks_for_it() {
    // (typed, keys, query afterwards)
    let cases: &[(&str, &[KeyCode], &str)] = &[
        ("mode", &[KeyCode::Enter], "mode "),
        ("safety", &[KeyCode::Enter], "mode "),
        ("model", &[KeyCode::Enter], "model "),
        ("logs", &[KeyCode::Enter], "logs "),
    ];
    for (typed, then, query) in cases {
        let mut state = test_state();
        assert!(keys(&mut state, typed, then).is_empty(), "{typed}");
        assert_eq!(palette(&state).query, *query, "{typed}");
        assert!(state.notices.is_empty(), "{typed}: {:?}", state.notices);
    }
    // Chosen from the list.
    let mut state = test_state();
    let at = palette_entries("mod")
        .iter()
        .position(|c| c.name == "model")
        .expect("model matches");
    let mut then = vec![KeyCode::Down; at];
    then.push(KeyCode::Enter);
    keys(&mut state, "mod", &then);
    assert_eq!(palette(&state).query, "model ");
    // An optional argument runs without it: `ctx` alone opens the picker (no kubeconfig here).
    let mut state = test_state();
    keys(&mut state, "ctx", &[KeyCode::Enter]);
    assert_eq!(state.mode, Mode::Normal);
    assert!(state.notices.iter().any(|n| n.starts_with("ctx: ")));
}
