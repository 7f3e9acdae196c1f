//! One full frame of the dashboard at 200×50 with every pane populated (target: < 2 ms median).

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

use criterion::{Criterion, criterion_group, criterion_main};
use fixtures::sample_state;
use kubestack_ai::app::{Action, PaneId};
use kubestack_ai::model::LogFilter;
use kubestack_ai::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn populated_state() -> kubestack_ai::app::AppState {
    // 120 samples fill the metric history; 2 000 log lines with a filter highlight matches.
    let mut state = sample_state(120);
    let view = &mut state.instances[0];
    for i in 0..2000 {
        view.logs.push(
            chrono::Utc::now(),
            std::sync::Arc::from("redis-cache/slowlog"),
            kubestack_ai::model::LogLevel::Info,
            format!("{}.4ms KEYS user:{i}:* (127.0.0.1:4{i})", i % 400),
        );
    }
    view.set_log_filter(LogFilter::new("keys"));
    state.focus = PaneId::Findings;
    state.apply(Action::SelectNext);
    state
}

fn frame(c: &mut Criterion) {
    let state = populated_state();
    let theme = Theme::builtin("dark").expect("built-in theme");
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
    c.bench_function("dashboard_frame_200x50", |b| {
        b.iter(|| {
            // Every pane renders the whole frame each time; the backend then diffs it.
            terminal
                .draw(|f| kubestack_ai::ui::draw(f, &state, &theme))
                .expect("draw");
        })
    });
}

criterion_group!(benches, frame);
criterion_main!(benches);
