//! A read-only overlay that scrolls: the `?` help and the `:sent` payload. The view clamps
//! the scroll to the text it draws, so the layer only counts.

use super::layer::{Layer, Outcome, selection_delta};
use super::logs_view::step;
use super::state::AppState;
use crate::keymap::{Action, Section};

/// The scroll offset of a read-only overlay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScrollView {
    /// First line shown.
    pub scroll: usize,
}

impl Layer for ScrollView {
    fn section(&self) -> Section {
        Section::Help
    }

    fn on_action(&mut self, action: Action, app: &mut AppState) -> Outcome {
        if matches!(
            action,
            Action::Close | Action::ToggleHelp | Action::ShowSent
        ) {
            return Outcome::close();
        }
        if let Some(delta) = selection_delta(action, app.page()) {
            self.scroll = step(self.scroll, delta, usize::MAX / 2);
        }
        Outcome::stay()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Mode;
    use crate::app::test_state::test_state;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    #[test]
    fn keys_scroll_and_close_the_help() {
        // (keys after `?`, help still open, scroll)
        let cases: &[(&[KeyCode], bool, usize)] = &[
            (&[], true, 0),
            (&[KeyCode::Char('j'), KeyCode::Char('j')], true, 2),
            (
                &[KeyCode::Char('j'), KeyCode::Char('k'), KeyCode::Up],
                true,
                0,
            ),
            (&[KeyCode::PageDown], true, 6),
            (&[KeyCode::Char('x')], true, 0),
            (&[KeyCode::Esc], false, 0),
            (&[KeyCode::Char('?')], false, 0),
            (&[KeyCode::Char('q')], false, 0),
        ];
        for (keys, open, scroll) in cases {
            let mut state = test_state();
            for code in std::iter::once(&KeyCode::Char('?')).chain(keys.iter()) {
                state.on_key(KeyEvent::new(*code, KeyModifiers::NONE));
            }
            match &state.mode {
                Mode::Help(v) => {
                    assert!(*open, "{keys:?}");
                    assert_eq!(v.scroll, *scroll, "{keys:?}");
                }
                Mode::Normal => assert!(!*open, "{keys:?}"),
                other => panic!("{keys:?}: {other:?}"),
            }
            assert!(!state.quit, "q closes the help, it does not quit");
        }
    }

    #[test]
    fn the_sent_overlay_scrolls_like_the_help() {
        let mut state = test_state();
        state.apply(Action::ShowSent);
        state.apply(Action::SelectLast);
        assert!(matches!(state.mode, Mode::Sent(v) if v.scroll == usize::MAX / 2));
        state.apply(Action::Close);
        assert_eq!(state.mode, Mode::Normal);
    }
}
