//! The pods picker (`P`): the current context's pods, filtered as you type; Enter selects the
//! discovered instance a pod belongs to and connects it.

use crossterm::event::KeyEvent;

use super::effect::Effect;
use super::layer::{Layer, Outcome, edit_line, paste_line, selection_delta};
use super::logs_view::step;
use super::state::AppState;
use crate::keymap::{Action, Section};

/// The open pods picker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodsPicker {
    /// Typed live (see `AppState::pod_rows` for what it matches).
    pub filter: String,
    /// Index among the matching pods.
    pub selected: usize,
}

impl Layer for PodsPicker {
    fn section(&self) -> Section {
        Section::Pods
    }

    fn on_action(&mut self, action: Action, app: &mut AppState) -> Outcome {
        match action {
            Action::Close => return Outcome::close(),
            Action::Submit => return Outcome::Close(self.open_selected(app)),
            _ => {}
        }
        if let Some(delta) = selection_delta(action, app.page()) {
            let n = app.pod_rows(&self.filter).len();
            self.selected = step(self.selected, delta, n.saturating_sub(1));
        }
        Outcome::stay()
    }

    fn on_key(&mut self, key: KeyEvent, _app: &mut AppState) -> Outcome {
        if edit_line(&mut self.filter, &key) {
            self.selected = 0;
        }
        Outcome::stay()
    }

    fn on_paste(&mut self, text: &str, _app: &mut AppState) -> Outcome {
        paste_line(&mut self.filter, text);
        self.selected = 0;
        Outcome::stay()
    }
}

impl PodsPicker {
    /// Enter on a pod: select the discovered instance it belongs to (if any) and connect it.
    fn open_selected(&self, app: &mut AppState) -> Vec<Effect> {
        let target = app
            .pod_rows(&self.filter)
            .get(self.selected)
            .map(|p| (p.namespace.clone(), p.name.clone()));
        let Some((ns, name)) = target else {
            return Vec::new();
        };
        let owner = app.instances.iter().position(|v| {
            v.kube.as_ref().is_some_and(|b| {
                !b.removed && b.found.namespace == ns && b.found.pods.contains(&name)
            })
        });
        match owner {
            Some(i) => {
                app.selected = i;
                // Chosen explicitly: connect now, like Enter in the inventory.
                app.attach_now()
            }
            None => {
                app.notices.push(format!(
                    "pods: {ns}/{name} is not part of a discovered instance"
                ));
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Mode;
    use crate::app::test_state::test_state;
    use crate::kube::{PodRow, StoreUpdate};
    use crossterm::event::{KeyCode, KeyModifiers};

    fn with_pods(names: &[&str]) -> AppState {
        let mut state = test_state();
        state.kube.current = Some("dev".into());
        for name in names {
            state.kube.store.apply(StoreUpdate::Pod(PodRow {
                namespace: "shop".into(),
                name: (*name).into(),
                status: "Running".into(),
                ..Default::default()
            }));
        }
        state
    }

    fn picker(state: &AppState) -> &PodsPicker {
        match &state.mode {
            Mode::Pods(p) => p,
            other => panic!("not the pods picker: {other:?}"),
        }
    }

    #[test]
    fn typing_filters_and_the_arrows_stay_among_the_matches() {
        // (keys after `P`, filter, selected)
        let cases: &[(&[KeyCode], &str, usize)] = &[
            (&[], "", 0),
            (&[KeyCode::Down, KeyCode::Down, KeyCode::Down], "", 2),
            (&[KeyCode::Down, KeyCode::Up, KeyCode::Up], "", 0),
            (&[KeyCode::Tab], "", 1),
            (&[KeyCode::Down, KeyCode::Char('w')], "w", 0),
            (&[KeyCode::Char('w'), KeyCode::Down], "w", 1),
            (&[KeyCode::Char('q'), KeyCode::Backspace], "", 0),
        ];
        for (keys, filter, selected) in cases {
            let mut state = with_pods(&["web-0", "web-1", "db-0"]);
            state.apply(Action::Pods);
            for code in *keys {
                state.on_key(KeyEvent::new(*code, KeyModifiers::NONE));
            }
            assert_eq!(picker(&state).filter, *filter, "{keys:?}");
            assert_eq!(picker(&state).selected, *selected, "{keys:?}");
            assert!(!state.quit, "q is typed into the filter");
        }
    }

    #[test]
    fn enter_on_a_pod_outside_the_inventory_says_so_and_closes() {
        let mut state = with_pods(&["web-0"]);
        state.apply(Action::Pods);
        let effects = state.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        assert!(effects.is_empty());
        assert_eq!(state.mode, Mode::Normal);
        assert!(
            state.notices.iter().any(|n| n.contains("shop/web-0")),
            "{:?}",
            state.notices
        );
    }

    #[test]
    fn esc_closes_without_a_notice() {
        let mut state = with_pods(&["web-0"]);
        state.apply(Action::Pods);
        state.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
        assert_eq!(state.mode, Mode::Normal);
        assert!(state.notices.is_empty());
    }
}
