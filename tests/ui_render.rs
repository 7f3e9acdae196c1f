//! Render tests at fixed sizes with ratatui's TestBackend, including tiny and zero areas.

mod common;

use common::fixtures::sample_state;
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
    assert!(
        screen.contains("mode read-only|suggest|confirm [REASON]"),
        "commands with an argument are listed\n{screen}"
    );
}

#[test]
fn help_lists_the_commands_with_an_argument() {
    let mut state = sample_state(3);
    state.apply(Action::ToggleHelp);
    state.apply(Action::SelectLast);
    let screen = render(&state, 160, 80);
    assert!(
        screen.contains(":mode read-only|suggest|confirm [REASON]"),
        "{screen}"
    );
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
        &common::fixtures::sample_config(),
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

fn chat_event(event: kubestack_ai::ai::agent::ChatEvent) -> kubestack_ai::app::AppEvent {
    kubestack_ai::app::AppEvent::Chat { instance: 0, event }
}

/// A streamed answer drawn frame by frame, as the loop draws it: the unfinished line shows as
/// it grows, finished lines are rendered once into the cache, code is numbered and coloured,
/// and a reader who scrolled up is not pulled down by new tokens.
#[test]
fn a_streaming_answer_renders_incrementally_and_respects_scrolling() {
    use kubestack_ai::ai::agent::ChatEvent;
    use kubestack_ai::app::{ChatMessage, ChatRole, PaneId};
    use ratatui::style::Color;

    let theme = Theme::builtin("dark").unwrap();
    let mut state = sample_state(5);
    state.focus = PaneId::Chat;
    state.zoomed = true;
    state.instances[0]
        .chat
        .push(ChatMessage::new(ChatRole::User, "why is it slow?"));
    state.chat.generating = Some(0);
    let mut terminal = Terminal::new(TestBackend::new(60, 16)).unwrap();
    let mut frame = |state: &AppState| {
        terminal
            .draw(|f| kubestack_ai::ui::draw(f, state, &theme))
            .unwrap();
        (
            common::buffer_text(terminal.backend().buffer()),
            terminal.backend().buffer().clone(),
        )
    };

    let tokens = [
        "## Cau",
        "se\n",
        "`KEYS *` runs **every",
        " second**.\n",
        "```sh\nredis-cli SLOW",
        "LOG GET 10\n",
        "```\n",
        "Rename ",
        "KEYS.",
    ];
    let mut screens = Vec::new();
    for t in tokens {
        state.handle_event(chat_event(ChatEvent::Token(t.into())));
        screens.push(frame(&state).0);
    }
    assert!(
        screens[0].contains("ai: Cau"),
        "partial heading\n{}",
        screens[0]
    );
    assert!(screens[2].contains("KEYS * runs every"), "{}", screens[2]);
    assert!(
        screens[4].contains("redis-cli SLOW"),
        "partial code line\n{}",
        screens[4]
    );
    let (last, buffer) = frame(&state);
    assert!(last.contains("┌ sh [1] (/copy 1)"), "{last}");
    assert!(last.contains("│ redis-cli SLOWLOG GET 10"), "{last}");
    assert!(last.contains("Rename KEYS."), "{last}");
    let code_row = (0..buffer.area.height)
        .find(|&y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                .contains("redis-cli")
        })
        .unwrap();
    let rgb = (0..buffer.area.width)
        .filter(|&x| matches!(buffer[(x, code_row)].fg, Color::Rgb(..)))
        .count();
    assert!(rgb > 5, "the code line is highlighted");
    // Finished lines are cached; the open last line ("Rename KEYS.") is not.
    let cached = state.instances[0].chat_render.borrow().cached_rows();
    assert_eq!(cached, 1 + 2 + 3, "user row, heading+text, three code rows");

    // Fill the pane, scroll up, and keep streaming: the view stays where the reader is.
    for i in 0..30 {
        state.handle_event(chat_event(ChatEvent::Token(format!("\nline {i}"))));
    }
    let (bottom, _) = frame(&state);
    assert!(
        bottom.contains("line 29"),
        "follows while at the bottom\n{bottom}"
    );
    state.apply(kubestack_ai::app::Action::PageUp);
    let (scrolled, _) = frame(&state);
    assert!(!scrolled.contains("line 29"), "{scrolled}");
    state.handle_event(chat_event(ChatEvent::Token("\nline 30".into())));
    let (still, _) = frame(&state);
    assert_eq!(scrolled, still, "new tokens do not move a scrolled view");
    state.apply(kubestack_ai::app::Action::SelectLast);
    let (followed, _) = frame(&state);
    assert!(followed.contains("line 30"), "{followed}");
    state.handle_event(chat_event(ChatEvent::Token("\nline 31".into())));
    assert!(frame(&state).0.contains("line 31"), "following again");
}

#[test]
fn a_read_only_context_shows_read_only_whatever_the_global_mode() {
    let mut state = sample_state(10);
    state.safety = kubestack_ai::repair::SafetyPolicy::new(&kubestack_ai::config::SafetyConfig {
        mode: kubestack_ai::config::SafetyMode::Confirm,
        read_only_contexts: vec!["prod-*".into()],
    })
    .unwrap();
    let screen = render(&state, 200, 50);
    assert!(
        screen.contains("CONFIRM"),
        "no context: the global mode\n{screen}"
    );
    state.instances[state.selected].config.context = Some("prod-eu".into());
    let screen = render(&state, 200, 50);
    assert!(
        screen.contains("READ-ONLY") && screen.contains("ctx prod-eu (read-only context)"),
        "{screen}"
    );
}

/// Focus shows in the text, not only in the colour: a thick frame and `▶` before the title of
/// the focused pane, and only there.
#[test]
fn the_focused_pane_is_marked_in_the_text() {
    let mut state = sample_state(30);
    for (w, h) in [(80, 24), (200, 50)] {
        for _ in 0..5 {
            let screen = render(&state, w, h);
            let title = focused_title(&screen);
            assert_eq!(
                screen.matches('▶').count(),
                1,
                "one marker at {w}×{h}, focus {:?}\n{screen}",
                state.focus
            );
            assert!(screen.contains('┏'), "thick frame\n{screen}");
            assert!(!title.is_empty(), "{screen}");
            state.apply(Action::FocusNext);
        }
    }
}

fn focused_title(screen: &str) -> String {
    screen
        .lines()
        .find_map(|l| l.split_once('▶').map(|(_, t)| t.to_string()))
        .unwrap_or_default()
}

/// `NO_COLOR`: the theme's `monochrome` draws the same screen with no colour in any cell, and
/// what stood out by colour (the selection, the status bar's mode) is reversed instead.
#[test]
fn no_color_draws_attributes_only() {
    use ratatui::style::{Color, Modifier};
    let state = sample_state(30);
    for name in ["dark", "light", "high-contrast"] {
        let mut theme = Theme::builtin(name).unwrap();
        theme.monochrome = true;
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        terminal
            .draw(|f| kubestack_ai::ui::draw(f, &state, &theme))
            .unwrap();
        let buffer = terminal.backend().buffer();
        for cell in &buffer.content {
            assert_eq!(
                (cell.fg, cell.bg),
                (Color::Reset, Color::Reset),
                "{name}: {cell:?}"
            );
        }
        let reversed = buffer
            .content
            .iter()
            .filter(|c| c.modifier.contains(Modifier::REVERSED))
            .count();
        assert!(reversed > 10, "{name}: selection and mode reversed");
        assert!(
            common::buffer_text(buffer).contains("CRIT RDS-MEM-01"),
            "same text"
        );
    }
}

/// A fleet discovered from the watch store alone, nothing selected or connected: `cache-2`,
/// `cache-10`, `redis-payments` (one pod in CrashLoopBackOff) in `payments`, `queue` (not
/// ready) in `jobs`.
fn discovered_fleet() -> AppState {
    use kubestack_ai::kube::StoreUpdate;
    use kubestack_ai::kube::store::{PodRow, Resource, WorkloadRow};
    use kubestack_playground::kube_objects::{self as obj, PodHealth};
    let mut s = AppState::new(
        Vec::new(),
        kubestack_ai::keymap::Keymap::builtin(),
        Vec::new(),
    );
    s.kube.current = Some("prod".into());
    let mut updates: Vec<StoreUpdate> = Resource::ALL
        .iter()
        .map(|r| StoreUpdate::Relist(*r, None))
        .collect();
    let sets = [
        ("payments", "cache-2", PodHealth::Ready),
        ("payments", "cache-10", PodHealth::Ready),
        (
            "payments",
            "redis-payments",
            PodHealth::CrashLoop {
                restarts: 7,
                oom: false,
            },
        ),
        ("jobs", "queue", PodHealth::NotReady),
    ];
    for (ns, name, health) in sets {
        updates.push(StoreUpdate::Workload(WorkloadRow::from_statefulset(
            &obj::statefulset(ns, name, "redis", "redis:7", 6379, 1),
        )));
        updates.push(StoreUpdate::Pod(PodRow::from_pod(&obj::statefulset_pod(
            ns, name, "redis", "redis:7", 6379, 0, health,
        ))));
    }
    updates.extend(Resource::ALL.iter().map(|r| StoreUpdate::Synced(*r, None)));
    s.handle_event(kubestack_ai::app::AppEvent::Kube {
        context: "prod".into(),
        updates,
    });
    s
}

/// The red one is red without a click: every discovered instance shows what Kubernetes says
/// of it before it is selected or connected, the status bar counts the fleet, names sort
/// naturally, and `s` puts the worst first.
#[test]
fn a_crash_looping_instance_is_red_in_the_inventory_before_it_is_selected() {
    let mut state = discovered_fleet();
    for (w, h) in [(80, 24), (120, 40)] {
        let screen = render(&state, w, h);
        let row = |name: &str| {
            screen
                .lines()
                .find(|l| l.contains(&format!("● {name}")) || l.contains(&format!("○ {name}")))
                .unwrap_or_else(|| panic!("{name} missing\n{screen}"))
                .to_string()
        };
        assert!(row("redis-paym").contains("CRIT"), "{screen}");
        assert!(row("queue").contains("WARN"), "{screen}");
        assert!(row("cache-2").contains("pods"), "{screen}");
        let at = |name: &str| screen.find(name).unwrap();
        assert!(at("cache-2 ") < at("cache-10"), "natural order\n{screen}");
        let status = screen.lines().last().unwrap();
        assert!(
            status.contains("1 CRIT") && status.contains("1 WARN"),
            "fleet counts: {status}"
        );
    }
    let by_name = state.visible_instances();
    state.apply(Action::Sort);
    let worst = state.visible_instances();
    assert_eq!(
        state.instances[worst[0]].config.name,
        "payments/redis-payments"
    );
    assert_eq!(state.instances[worst[1]].config.name, "jobs/queue");
    let screen = render(&state, 120, 40);
    assert!(screen.contains("▾ worst first"), "{screen}");
    let first = screen.find("● payments/redis").expect(&screen);
    assert!(
        first < screen.find("● jobs/queue").expect(&screen),
        "{screen}"
    );
    state.apply(Action::Sort);
    assert_eq!(state.visible_instances(), by_name, "and back by name");
}

/// `r` repairs from any pane: the selected finding, or the worst of the selected instance; an
/// instance without findings says so.
#[test]
fn r_repairs_the_worst_finding_from_any_pane() {
    use kubestack_ai::app::{Mode, PaneId};
    let key_r = || {
        kubestack_ai::app::AppEvent::Input(crossterm::event::Event::Key(
            crossterm::event::KeyEvent::new(
                crossterm::event::KeyCode::Char('r'),
                crossterm::event::KeyModifiers::NONE,
            ),
        ))
    };
    for pane in [PaneId::Inventory, PaneId::Metrics, PaneId::Logs] {
        let mut state = discovered_fleet();
        let payments = state
            .instances
            .iter()
            .position(|v| v.config.name == "payments/redis-payments")
            .unwrap();
        state.selected = payments;
        state.focus = pane;
        state.findings_selected = 99;
        state.handle_event(key_r());
        let Mode::Repair(_) = &state.mode else {
            panic!("{pane:?}: no repair modal, notices {:?}", state.notices);
        };
        let screen = render(&state, 120, 40);
        assert!(screen.contains("K8S-"), "{pane:?}\n{screen}");
    }
    let mut state = discovered_fleet();
    state.selected = state
        .instances
        .iter()
        .position(|v| v.config.name == "payments/cache-2")
        .unwrap();
    state.focus = PaneId::Logs;
    state.handle_event(key_r());
    assert!(matches!(state.mode, Mode::Normal), "nothing to repair");
    assert!(
        state
            .notices
            .iter()
            .any(|n| n.contains("payments/cache-2 has no finding to repair")),
        "{:?}",
        state.notices
    );
}

/// `F`: every finding of the fleet, worst first, filtered as you type; Enter opens the
/// instance with that finding selected.
#[test]
fn the_fleet_findings_view_lists_filters_and_jumps() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use kubestack_ai::app::{AppEvent, Mode, PaneId};
    let key = |code| AppEvent::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    let mut state = discovered_fleet();
    state.handle_event(key(KeyCode::Char('F')));
    assert!(matches!(state.mode, Mode::Fleet(_)), "{:?}", state.mode);
    let screen = render(&state, 120, 40);
    let crit = screen.find("CRIT payments/redis-payments").expect(&screen);
    let warn = screen.find("WARN jobs/queue").expect(&screen);
    assert!(crit < warn, "worst first\n{screen}");
    assert!(screen.contains("K8S-POD-01"), "{screen}");
    assert!(screen.contains("FLEET"), "mode label\n{screen}");
    for c in "queue".chars() {
        state.handle_event(key(KeyCode::Char(c)));
    }
    let screen = render(&state, 120, 40);
    assert!(screen.contains("1 of 2 findings"), "{screen}");
    assert!(!screen.contains("CRIT payments"), "{screen}");
    state.handle_event(key(KeyCode::Enter));
    assert!(matches!(state.mode, Mode::Normal));
    assert_eq!(state.current().unwrap().config.name, "jobs/queue");
    assert_eq!(state.focus, PaneId::Findings);
    let selected = &state.current().unwrap().findings[state.findings_selected].finding;
    assert_eq!(selected.id, "K8S-POD-03");

    // Nothing matches; tiny screens and hostile filters do not panic.
    state.handle_event(key(KeyCode::Char('F')));
    for c in "支付\u{202e}zzz".chars() {
        state.handle_event(key(KeyCode::Char(c)));
    }
    assert!(render(&state, 120, 40).contains("no finding matches"));
    for (w, h) in [(20, 5), (40, 8), (1, 1)] {
        render(&state, w, h);
    }
    state.handle_event(key(KeyCode::Enter));
    assert!(
        matches!(state.mode, Mode::Normal),
        "Enter on nothing closes"
    );
}

/// `/` filters the focused list: in the inventory it narrows the instances (name, namespace or
/// kind) as you type; the log filter is untouched.
#[test]
fn slash_in_the_inventory_filters_the_instances() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use kubestack_ai::app::{AppEvent, Mode, PaneId};
    let key = |code| AppEvent::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    let mut state = discovered_fleet();
    state.focus = PaneId::Inventory;
    state.handle_event(key(KeyCode::Char('/')));
    assert!(matches!(state.mode, Mode::Filter(_)));
    for c in "CACHE".chars() {
        state.handle_event(key(KeyCode::Char(c)));
    }
    let names: Vec<&str> = state
        .visible_instances()
        .into_iter()
        .map(|i| state.instances[i].config.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["payments/cache-2", "payments/cache-10"],
        "live, any case"
    );
    let screen = render(&state, 120, 40);
    assert!(screen.contains("Inventory /CACHE▏"), "{screen}");
    assert_eq!(state.focus, PaneId::Inventory, "the focus stays");
    assert!(
        state.current().unwrap().config.name.contains("cache"),
        "the selection follows into the shown instances"
    );
    state.handle_event(key(KeyCode::Enter));
    assert!(matches!(state.mode, Mode::Normal));
    assert!(render(&state, 120, 40).contains("Inventory /CACHE "));
    assert!(
        state.current().unwrap().logs.filter().is_none(),
        "logs untouched"
    );
    // Nothing matches: an empty inventory, no panic; clearing shows all again.
    state.handle_event(key(KeyCode::Char('/')));
    for c in "支付\u{0}".chars() {
        state.handle_event(key(KeyCode::Char(c)));
    }
    assert!(state.visible_instances().is_empty());
    render(&state, 80, 24);
    for _ in 0..20 {
        state.handle_event(key(KeyCode::Backspace));
    }
    state.handle_event(key(KeyCode::Enter));
    assert_eq!(state.visible_instances().len(), 4);
}

/// The pods overlay: rows in natural order, aligned whatever the name length, and the sorted
/// column marked in the header.
#[test]
fn the_pods_overlay_sorts_by_column_and_keeps_columns_aligned() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use kubestack_ai::app::AppEvent;
    let key = |code, m| AppEvent::Input(Event::Key(KeyEvent::new(code, m)));
    let mut state = discovered_fleet();
    state.handle_event(key(KeyCode::Char('P'), KeyModifiers::NONE));
    let screen = render(&state, 160, 40);
    assert!(screen.contains("NAME▼"), "{screen}");
    let at = |s: &str, n: &str| s.find(n).unwrap_or_else(|| panic!("{n}\n{s}"));
    assert!(
        at(&screen, "cache-2-0") < at(&screen, "cache-10-0"),
        "{screen}"
    );
    // The status column starts at the same place on every row.
    let columns: Vec<usize> = screen
        .lines()
        .filter(|l| l.contains("payments ") && l.contains("-0 "))
        .map(|l| l.find("Running").or_else(|| l.find("CrashLoop")).unwrap())
        .collect();
    assert!(
        columns.len() >= 3 && columns.windows(2).all(|w| w[0] == w[1]),
        "{screen}"
    );
    state.handle_event(key(KeyCode::Char('r'), KeyModifiers::ALT));
    let screen = render(&state, 160, 40);
    assert!(screen.contains("RESTARTS▼"), "{screen}");
    assert!(
        at(&screen, "redis-payments-0") < at(&screen, "cache-2-0"),
        "the crash-looping pod's restarts first\n{screen}"
    );
    state.handle_event(key(KeyCode::Char('r'), KeyModifiers::ALT));
    assert!(render(&state, 160, 40).contains("RESTARTS▲"));
}

/// `z` on the metrics pane: the selected metric as a chart with axes, its unit and time labels
/// over the last hour of downsampled history; a percentage on a fixed 0–100 % axis.
#[test]
fn the_zoomed_metric_is_a_chart_with_axes_units_and_an_hour_of_history() {
    use kubestack_ai::app::PaneId;
    use kubestack_ai::model::{MetricSeries, Unit};
    let mut state = sample_state(30);
    let now = chrono::Utc::now();
    let mut heap = MetricSeries::new("heap used", Unit::Percent, 60);
    // 75 minutes of samples every 10 s, around 40 %.
    for i in (0..450).rev() {
        let v = 40.0 + (i % 7) as f64;
        heap.push_at(now - chrono::Duration::seconds(i * 10), v);
    }
    state.instances[0].metrics.insert(0, heap);
    state.focus = PaneId::Metrics;
    state.metrics_selected = 0;
    state.apply(Action::ToggleZoom);
    let screen = render(&state, 120, 40);
    if std::env::var_os("KUBESTACK_SHOW_SCREEN").is_some() {
        println!("{screen}");
    }
    for needle in [
        "heap used — last 60 min in 30 s buckets (mean; maximum dimmed)",
        "min 40.0 %",
        "max 46.0 %",
        "-60m",
        "-30m",
        "now",
        "100.0 %",
        "0.0 %",
    ] {
        assert!(screen.contains(needle), "missing {needle:?}\n{screen}");
    }
    // The mean as a line of half blocks near 40 %, between the 50 % label and the axis.
    let line_rows = screen
        .lines()
        .skip_while(|l| !l.contains("50.0 %"))
        .skip(1)
        .take_while(|l| !l.contains("┃0.0 %"))
        .filter(|l| l.contains('▄') || l.contains('▀') || l.contains('█'))
        .count();
    assert!(line_rows >= 1, "a line below the 50 % mark\n{screen}");
    // j moves to the next metric; tiny sizes do not panic.
    state.apply(Action::SelectNext);
    assert_eq!(state.metrics_selected, 1);
    assert!(!render(&state, 120, 40).contains("heap used —"));
    for (w, h) in [(30, 8), (12, 5), (200, 60)] {
        render(&state, w, h);
    }
}

/// `/` in the findings pane filters its findings (rule id, title, category, severity); the
/// selection and `r` stay among the ones shown.
#[test]
fn slash_in_the_findings_pane_filters_the_findings() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use kubestack_ai::app::{AppEvent, Mode, PaneId};
    let key = |code| AppEvent::Input(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    let mut state = sample_state(30);
    let total = state.current().unwrap().findings.len();
    assert!(total >= 3);
    state.focus = PaneId::Findings;
    state.handle_event(key(KeyCode::Char('/')));
    for c in "mem-01".chars() {
        state.handle_event(key(KeyCode::Char(c)));
    }
    let screen = render(&state, 120, 40);
    assert!(
        screen.contains(&format!("Findings (1/{total}) /mem-01▏")),
        "{screen}"
    );
    assert_eq!(state.shown_findings().len(), 1);
    state.handle_event(key(KeyCode::Enter));
    // j stays on the one shown; r repairs it.
    state.handle_event(key(KeyCode::Char('j')));
    let selected = state.selected_finding().unwrap();
    assert_eq!(
        state.current().unwrap().findings[selected].finding.id,
        "RDS-MEM-01"
    );
    state.handle_event(key(KeyCode::Char('r')));
    assert!(matches!(state.mode, Mode::Repair(_)), "{:?}", state.notices);
    state.apply(Action::Close);
    // Nothing matches: said, and no panic; clearing shows all.
    state.mode = Mode::Normal;
    state.focus = PaneId::Findings;
    state.handle_event(key(KeyCode::Char('/')));
    for c in "\u{0}支付".chars() {
        state.handle_event(key(KeyCode::Char(c)));
    }
    assert!(render(&state, 120, 40).contains("no finding matches the filter"));
    for _ in 0..20 {
        state.handle_event(key(KeyCode::Backspace));
    }
    state.handle_event(key(KeyCode::Enter));
    assert_eq!(state.shown_findings().len(), total);
}

/// The zoomed chart of hostile values: all negative, the largest finite numbers (whose sum and
/// headroom overflow), one sample, none — drawn without a panic, with finite axis labels.
#[test]
fn the_zoomed_chart_survives_hostile_values() {
    use kubestack_ai::app::PaneId;
    use kubestack_ai::model::{MetricSeries, Unit};
    let now = chrono::Utc::now();
    let cases: Vec<(Unit, Vec<f64>)> = vec![
        (Unit::Count, vec![-5.0, -1.0, -1e9]),
        (Unit::Bytes, vec![f64::MAX, f64::MAX, f64::MAX]),
        (Unit::Percent, vec![-f64::MAX, f64::MAX]),
        (Unit::PerSecond, vec![0.0]),
        (Unit::Millis, vec![f64::NAN, f64::INFINITY]),
    ];
    for (unit, values) in cases {
        let mut state = sample_state(5);
        let mut s = MetricSeries::new("hostile 指标", unit, 10);
        for (i, v) in values.iter().enumerate() {
            s.push_at(now - chrono::Duration::seconds(i as i64 * 40), *v);
        }
        state.instances[0].metrics.insert(0, s);
        state.focus = PaneId::Metrics;
        state.metrics_selected = 0;
        state.apply(Action::ToggleZoom);
        for (w, h) in [(120, 40), (30, 8)] {
            let screen = render(&state, w, h);
            assert!(
                !screen.contains("inf") && !screen.contains("NaN"),
                "{unit:?} {values:?}\n{screen}"
            );
        }
    }
}
