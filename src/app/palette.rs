//! The `:` command palette: its query editing, the commands that take an argument
//! (`:mode`, `:model`, `:export`) and running the chosen entry.

use crossterm::event::{KeyCode, KeyEvent};

use super::action::{ACTIONS, Action};
use super::state::{AppState, Effect, Overlay};
use crate::config::SafetyMode;

/// Palette commands that take an argument (typed after `:`; Enter runs what is typed).
pub const ARGUMENT_COMMANDS: &[(&str, &str)] = &[
    (
        "mode read-only|suggest|confirm [REASON]",
        "Switch the safety mode; leaving read-only needs a reason (audited)",
    ),
    ("model NAME", "Switch the AI profile ([ai.profiles.NAME])"),
    (
        "ctx [NAME]",
        "Switch the Kubernetes context (no name: the picker); repairs are pinned to it",
    ),
    (
        "ns all|NAME [NAME…]",
        "Show all namespaces or only these (remembered per context)",
    ),
    (
        "logs since 5m|tail N|previous|current|all|pod NAME|pods|timestamps|wrap",
        "Pod log streams of a discovered instance; display toggles",
    ),
    (
        "export [PATH]",
        "Write the incident report of the selected instance",
    ),
];

pub fn palette_entries(query: &str) -> Vec<(Action, &'static str, &'static str)> {
    let q = query.to_lowercase();
    ACTIONS
        .iter()
        .filter(|(a, _, _)| {
            !matches!(
                a,
                Action::Close
                    | Action::Submit
                    | Action::Newline
                    | Action::Regenerate
                    | Action::RepairConfirm
                    | Action::RepairSkip
                    | Action::RepairRollback
                    | Action::ToggleRollback
            )
        })
        .filter(|(_, name, desc)| {
            q.is_empty() || name.contains(&q) || desc.to_lowercase().contains(&q)
        })
        .copied()
        .collect()
}

impl AppState {
    /// Enter on the palette: a command with an argument, or the selected entry; `None` when
    /// the palette is not open.
    pub(super) fn submit_palette(&mut self) -> Option<Vec<Effect>> {
        if let Overlay::Palette { query, selected } = &self.overlay {
            if let Some(name) = query.strip_prefix("model ") {
                let name = name.trim().to_string();
                self.overlay = Overlay::None;
                self.switch_model(&name);
                return Some(Vec::new());
            }
            if let Some(rest) = query.strip_prefix("mode ") {
                let rest = rest.trim().to_string();
                self.overlay = Overlay::None;
                let (name, reason) = rest.split_once(' ').unwrap_or((rest.as_str(), ""));
                return Some(match SafetyMode::parse(name) {
                    Some(mode) => vec![Effect::SetMode {
                        mode,
                        reason: reason.trim().to_string(),
                    }],
                    None => {
                        self.notices.push(format!(
                            "mode: `{name}` is not a mode (read-only, suggest, confirm)"
                        ));
                        Vec::new()
                    }
                });
            }
            if query.trim() == "ctx" {
                self.overlay = Overlay::None;
                self.open_context_picker();
                return Some(Vec::new());
            }
            if let Some(name) = query.strip_prefix("ctx ") {
                let name = name.trim().to_string();
                self.overlay = Overlay::None;
                return Some(self.switch_context(&name));
            }
            if query == "ns" || query.starts_with("ns ") {
                let arg = query.trim_start_matches("ns").trim().to_string();
                self.overlay = Overlay::None;
                return Some(self.switch_namespaces(&arg));
            }
            if let Some(args) = query.strip_prefix("logs ") {
                let args = args.trim().to_string();
                self.overlay = Overlay::None;
                return Some(self.logs_command(&args));
            }
            if let Some(path) = query.strip_prefix("export ") {
                let path = path.trim().to_string();
                self.overlay = Overlay::None;
                return Some(vec![Effect::Export {
                    instance: self.selected,
                    path: (!path.is_empty()).then(|| std::path::PathBuf::from(path)),
                }]);
            }
            let entries = palette_entries(query);
            let chosen = entries.get(*selected).map(|(a, _, _)| *a);
            self.overlay = Overlay::None;
            return Some(match chosen {
                Some(action) => self.apply(action),
                None => Vec::new(),
            });
        }
        None
    }

    pub(super) fn edit_palette_query(&mut self, key: KeyEvent) {
        if let Overlay::Palette { query, selected } = &mut self.overlay {
            match key.code {
                KeyCode::Char(c) => query.push(c),
                KeyCode::Backspace => {
                    query.pop();
                }
                _ => return,
            }
            *selected = 0;
        }
    }
}
