//! Render tests at fixed sizes with ratatui's TestBackend, including tiny and zero areas.

mod common;

use kubestack_ai::app::fixtures::sample_state;
use kubestack_ai::app::{Action, AppState};
use kubestack_ai::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn render(state: &AppState, w: u16, h: u16) -> String {
    let theme = Theme::builtin("dark").unwrap();
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| kubestack_ai::ui::draw(f, state, &theme))
        .unwrap();
    common::buffer_text(terminal.backend().buffer())
}

#[test]
fn the_dashboard_shows_every_pane_at_80x24() {
    let state = sample_state(30);
    let screen = render(&state, 80, 24);
    for needle in [
        "Inventory",
        "Metrics — redis-cache",
        "Findings (3)",
        "Logs",
        "Chat with AI",
        "NORMAL",
    ] {
        assert!(screen.contains(needle), "missing {needle:?} in\n{screen}");
    }
    assert!(screen.contains("CRIT RDS-MEM-01"), "{screen}");
    assert!(screen.contains("redis-gone"), "{screen}");
    assert!(screen.contains("down"), "unreachable badge\n{screen}");
}

#[test]
fn the_large_layout_shows_values_units_and_evidence() {
    let state = sample_state(60);
    let screen = render(&state, 200, 50);
    assert!(
        screen.contains("▾ payments") && screen.contains("▾ streaming"),
        "{screen}"
    );
    assert!(screen.contains("MiB"), "bytes carry units\n{screen}");
    assert!(screen.contains("/s"), "rates carry units\n{screen}");
    assert!(
        screen.contains("evidence"),
        "selected finding detail\n{screen}"
    );
    assert!(screen.contains("No model configured"), "{screen}");
}

#[test]
fn tiny_and_zero_sizes_do_not_panic() {
    let state = sample_state(5);
    for (w, h) in [
        (0, 0),
        (1, 1),
        (10, 3),
        (59, 15),
        (60, 16),
        (79, 23),
        (80, 24),
        (81, 25),
        (300, 5),
        (5, 300),
    ] {
        let screen = render(&state, w, h);
        if w >= 60 && h >= 16 {
            assert!(screen.contains("Inventory"), "{w}x{h}\n{screen}");
        } else if w >= 20 && h >= 1 {
            assert!(screen.contains("too small"), "{w}x{h}\n{screen}");
        }
    }
}

#[test]
fn help_and_palette_are_generated_from_the_keymap() {
    let mut state = sample_state(3);
    state.apply(Action::ToggleHelp);
    let screen = render(&state, 120, 40);
    assert!(screen.contains("Help — keys"), "{screen}");
    assert!(screen.contains("[logs]"), "{screen}");
    assert!(
        screen.contains("Filter (smart case"),
        "descriptions come from keymaps/default.toml\n{screen}"
    );
    state.apply(Action::Close);
    state.apply(Action::OpenPalette);
    let screen = render(&state, 120, 40);
    assert!(screen.contains("Command palette"), "{screen}");
    assert!(screen.contains("toggle_follow"), "{screen}");
}

#[test]
fn zoom_gives_one_pane_the_screen() {
    let mut state = sample_state(10);
    state.apply(Action::FocusNext); // metrics
    state.apply(Action::FocusNext); // findings
    state.apply(Action::ToggleZoom);
    let screen = render(&state, 100, 30);
    assert!(screen.contains("Findings (3)"));
    assert!(
        !screen.contains("Inventory"),
        "other panes hidden\n{screen}"
    );
    assert!(screen.contains("ZOOM"));
}

#[test]
fn every_builtin_theme_renders() {
    let state = sample_state(10);
    for name in ["dark", "light", "high-contrast"] {
        let theme = Theme::builtin(name).unwrap();
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        terminal
            .draw(|f| kubestack_ai::ui::draw(f, &state, &theme))
            .unwrap();
    }
}

#[test]
fn a_broken_user_file_is_shown_in_the_status_bar() {
    let dir = tempfile::tempdir().unwrap();
    let keymap = dir.path().join("keymap.toml");
    std::fs::write(&keymap, "[global]\nq = \"explode\"\n").unwrap();
    let (map, err) = kubestack_ai::keymap::Keymap::load(&keymap);
    let (state, _) = kubestack_ai::app::build_state(
        &kubestack_ai::app::fixtures::sample_config(),
        map,
        err.into_iter().collect(),
    );
    let screen = render(&state, 200, 40);
    assert!(
        screen.contains("⚠") && screen.contains("unknown action `explode`"),
        "{screen}"
    );
    assert!(
        screen.contains("q quit"),
        "the built-in keys stay in force\n{screen}"
    );
}
