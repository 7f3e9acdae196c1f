//! The `:` command palette layer: the query typed, the entry selected, Tab completion, and
//! Enter turning the line into an `Invocation` from the command table.

use crossterm::event::KeyEvent;

use super::command::{self, ArgValues, Command, Invocation, Place, palette_entries};
use super::layer::{Layer, Outcome, edit_line, paste_line, selection_delta};
use super::logs_view::step;
use super::state::AppState;
use crate::config::SafetyMode;
use crate::keymap::{Action, Section};

/// The `:log` options offered by Tab.
const LOG_OPTIONS: &[&str] = &[
    "since",
    "tail",
    "previous",
    "current",
    "all",
    "pod",
    "pods",
    "container",
    "timestamps",
    "wrap",
];

/// The open palette.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Palette {
    /// What is typed after `:`.
    pub query: String,
    /// Index into `entries()`.
    pub selected: usize,
}

impl Palette {
    /// The commands listed for the query.
    pub fn entries(&self) -> Vec<&'static Command> {
        palette_entries(&self.query)
    }

    /// Enter on a command that needs an argument and has none yet (chosen from the list, or
    /// its name typed alone): the palette fills in its name for the argument to be typed.
    fn needs_argument(&self) -> Option<&'static Command> {
        let typed = self.query.trim_start();
        if typed.contains(' ') {
            return None;
        }
        let command = match command::find(Place::Palette, typed) {
            Some(c) if self.selected == 0 => c,
            _ => *self.entries().get(self.selected)?,
        };
        command.required.then_some(command)
    }

    /// Enter: the typed line when its first word is a command and it has an argument or the
    /// selection was not moved; else the selected entry; else a notice naming what was typed.
    fn submit(&self) -> Result<Invocation, String> {
        let line = self.query.trim();
        let word = line.split(' ').next().unwrap_or_default();
        let exact = command::find(Place::Palette, word).is_some();
        if exact && (line.contains(' ') || self.selected == 0) {
            return command::parse(Place::Palette, line);
        }
        match self.entries().get(self.selected) {
            Some(c) => command::parse(Place::Palette, c.name),
            None if line.is_empty() => Err(String::new()),
            None => command::parse(Place::Palette, line),
        }
    }
}

impl Layer for Palette {
    fn section(&self) -> Section {
        Section::Palette
    }

    fn on_action(&mut self, action: Action, app: &mut AppState) -> Outcome {
        let delta = match action {
            Action::Close => return Outcome::close(),
            Action::Submit => {
                if let Some(command) = self.needs_argument() {
                    self.query = format!("{} ", command.name);
                    self.selected = 0;
                    return Outcome::stay();
                }
                return match self.submit() {
                    Ok(invocation) => Outcome::Run(invocation),
                    Err(e) => {
                        if !e.is_empty() {
                            app.notices.push(e);
                        }
                        Outcome::close()
                    }
                };
            }
            Action::Complete => {
                match command::complete(&self.query, |values| app.arg_candidates(values)) {
                    Some(q) => {
                        self.query = q;
                        self.selected = 0;
                        return Outcome::stay();
                    }
                    None => 1, // nothing to complete: Tab moves on, as it always did
                }
            }
            _ => match selection_delta(action, app.page()) {
                Some(delta) => delta,
                None => return Outcome::stay(),
            },
        };
        let n = self.entries().len();
        self.selected = step(self.selected, delta, n.saturating_sub(1));
        Outcome::stay()
    }

    fn on_key(&mut self, key: KeyEvent, _app: &mut AppState) -> Outcome {
        if edit_line(&mut self.query, &key) {
            self.selected = 0;
        }
        Outcome::stay()
    }

    fn on_paste(&mut self, text: &str, _app: &mut AppState) -> Outcome {
        paste_line(&mut self.query, text);
        self.selected = 0;
        Outcome::stay()
    }
}

impl AppState {
    /// The values an argument can take, for Tab in the palette.
    pub(super) fn arg_candidates(&self, values: ArgValues) -> Vec<String> {
        match values {
            ArgValues::None | ArgValues::Free => Vec::new(),
            ArgValues::Modes => [
                SafetyMode::ReadOnly,
                SafetyMode::Suggest,
                SafetyMode::Confirm,
            ]
            .iter()
            .map(|m| m.as_str().into())
            .collect(),
            ArgValues::Profiles => std::iter::once("offline".to_string())
                .chain(self.chat.profiles.iter().cloned())
                .collect(),
            ArgValues::Contexts => self
                .kube
                .contexts
                .iter()
                .map(|(c, _)| c.name.clone())
                .collect(),
            ArgValues::Namespaces => std::iter::once("all".to_string())
                .chain(self.kube.store.namespaces())
                .collect(),
            ArgValues::LogOptions => LOG_OPTIONS.iter().map(|o| o.to_string()).collect(),
        }
    }
}

#[cfg(test)]
mod tests;
