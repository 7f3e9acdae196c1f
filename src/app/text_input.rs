//! The text-input layers: the log filter line (applied live) and the chat editor. The
//! `[input]` section applies; every other key is typed.

use crossterm::event::KeyEvent;

use super::layer::{Layer, Outcome, edit_line, paste_line};
use super::state::AppState;
use crate::keymap::{Action, Section};
use crate::model::LogFilter;

/// Typing the log filter: the draft is applied to the selected instance's logs on every key,
/// so matches highlight as you type; leaving keeps the filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterInput {
    /// The filter being typed.
    pub draft: String,
    /// What it filters: `/` filters the focused list.
    pub target: FilterTarget,
}

/// The list a filter line filters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FilterTarget {
    /// The selected instance's logs (highlighting matches).
    #[default]
    Logs,
    /// The inventory's instances, by name, namespace or kind.
    Inventory,
    /// The selected instance's findings, by rule id, title, category or severity.
    Findings,
}

impl FilterInput {
    /// Starts from the filter in force, so `/` edits it rather than retyping it.
    pub fn editing(current: Option<&LogFilter>) -> Self {
        FilterInput {
            draft: current.map(|f| f.query().to_string()).unwrap_or_default(),
            target: FilterTarget::Logs,
        }
    }

    /// Editing the inventory's filter.
    pub fn inventory(current: &str) -> Self {
        FilterInput {
            draft: current.to_string(),
            target: FilterTarget::Inventory,
        }
    }

    /// Editing the findings pane's filter.
    pub fn findings(current: &str) -> Self {
        FilterInput {
            draft: current.to_string(),
            target: FilterTarget::Findings,
        }
    }

    /// Applies the draft to its list.
    fn apply(&self, app: &mut AppState) {
        match self.target {
            FilterTarget::Logs => app.apply_log_filter(&self.draft),
            FilterTarget::Inventory => app.apply_inventory_filter(&self.draft),
            FilterTarget::Findings => app.apply_findings_filter(&self.draft),
        }
    }
}

impl Layer for FilterInput {
    fn section(&self) -> Section {
        Section::Input
    }

    fn on_action(&mut self, action: Action, app: &mut AppState) -> Outcome {
        match action {
            Action::Close => Outcome::close(),
            Action::Submit => {
                self.apply(app);
                Outcome::close()
            }
            Action::ClearFilter => {
                self.draft.clear();
                self.apply(app);
                Outcome::stay()
            }
            Action::Regenerate => Outcome::Stay(app.regenerate()),
            _ => Outcome::stay(),
        }
    }

    fn on_key(&mut self, key: KeyEvent, app: &mut AppState) -> Outcome {
        if edit_line(&mut self.draft, &key) {
            self.apply(app);
        }
        Outcome::stay()
    }

    fn on_paste(&mut self, text: &str, app: &mut AppState) -> Outcome {
        paste_line(&mut self.draft, text);
        self.apply(app);
        Outcome::stay()
    }
}

/// Typing into the chat editor (the editor itself lives in `ChatState`, so a draft survives
/// leaving and coming back).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChatInput;

impl Layer for ChatInput {
    fn section(&self) -> Section {
        Section::Input
    }

    fn on_action(&mut self, action: Action, app: &mut AppState) -> Outcome {
        match action {
            // Esc first cancels an answer in progress, then leaves the editor.
            Action::Close if app.chat.generating.is_some() => Outcome::Stay(app.cancel_answer()),
            Action::Close => Outcome::close(),
            Action::Submit => Outcome::Stay(app.send_chat()),
            Action::Newline => {
                app.chat.editor.insert_newline();
                Outcome::stay()
            }
            Action::Regenerate => Outcome::Stay(app.regenerate()),
            _ => Outcome::stay(),
        }
    }

    fn on_key(&mut self, key: KeyEvent, app: &mut AppState) -> Outcome {
        if !app.recall_input(&key) {
            app.chat.editor.input(key);
        }
        Outcome::stay()
    }

    fn on_paste(&mut self, text: &str, app: &mut AppState) -> Outcome {
        app.chat.editor.insert_str(text);
        Outcome::stay()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::test_state::test_state;
    use crate::app::{AskEffect, Effect, FileEffect, Mode};
    use crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};

    fn press(state: &mut AppState, code: KeyCode) -> Vec<Effect> {
        state.on_key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn filter_query(state: &AppState) -> Option<String> {
        state.instances[0]
            .logs
            .filter()
            .map(|f| f.query().to_string())
    }

    #[test]
    fn the_filter_applies_as_typed_and_stays_after_leaving() {
        // (keys, mode is filter afterwards, filter in force)
        let cases: &[(&[KeyCode], bool, Option<&str>)] = &[
            (&[KeyCode::Char('/')], true, None),
            (&[KeyCode::Char('/'), KeyCode::Char('k')], true, Some("k")),
            (
                &[KeyCode::Char('/'), KeyCode::Char('k'), KeyCode::Backspace],
                true,
                None,
            ),
            (
                &[KeyCode::Char('/'), KeyCode::Char('k'), KeyCode::Enter],
                false,
                Some("k"),
            ),
            (
                &[KeyCode::Char('/'), KeyCode::Char('k'), KeyCode::Esc],
                false,
                Some("k"),
            ),
        ];
        for (keys, filtering, query) in cases {
            let mut state = test_state();
            state.focus = crate::app::PaneId::Logs;
            for k in *keys {
                press(&mut state, *k);
            }
            assert_eq!(
                matches!(state.mode, Mode::Filter(_)),
                *filtering,
                "{keys:?}"
            );
            assert_eq!(filter_query(&state).as_deref(), *query, "{keys:?}");
        }
    }

    #[test]
    fn a_paste_into_the_filter_becomes_one_line() {
        let mut state = test_state();
        state.focus = crate::app::PaneId::Logs;
        press(&mut state, KeyCode::Char('/'));
        state.handle_event(crate::app::AppEvent::Input(crossterm::event::Event::Paste(
            "a\nb".into(),
        )));
        assert_eq!(filter_query(&state).as_deref(), Some("a b"));
    }

    #[test]
    fn the_chat_editor_takes_text_and_esc_leaves_it() {
        let mut state = test_state();
        state.mode = Mode::Chat(ChatInput);
        for c in "hi q".chars() {
            press(&mut state, KeyCode::Char(c));
        }
        assert_eq!(state.chat.editor.lines(), ["hi q"], "q is typed, not quit");
        assert!(!state.quit);
        let release = KeyEvent {
            kind: KeyEventKind::Release,
            ..KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)
        };
        state.on_key(release);
        assert_eq!(
            state.chat.editor.lines(),
            ["hi q"],
            "releases are not typed"
        );
        press(&mut state, KeyCode::Esc);
        assert_eq!(state.mode, Mode::Normal);
        assert_eq!(state.chat.editor.lines(), ["hi q"], "the draft survives");
    }

    #[test]
    fn enter_sends_the_question_and_keeps_the_editor_open() {
        let mut state = test_state();
        state.mode = Mode::Chat(ChatInput);
        for c in "why?".chars() {
            press(&mut state, KeyCode::Char(c));
        }
        let effects = press(&mut state, KeyCode::Enter);
        assert!(
            matches!(&effects[..], [Effect::Ask(AskEffect::Question { question, .. })] if question == "why?"),
            "{effects:?}"
        );
        assert_eq!(state.mode, Mode::Chat(ChatInput));
        let effects = press(&mut state, KeyCode::Esc);
        assert_eq!(
            effects,
            [
                Effect::Ask(AskEffect::Cancel),
                Effect::Files(FileEffect::SaveChat(0))
            ]
        );
        assert_eq!(state.mode, Mode::Chat(ChatInput), "Esc cancelled first");
    }
}
