//! The fleet findings view (`F`): every finding of every instance the inventory shows — the
//! Kubernetes findings of each discovered instance (pods, restarts, events) whether or not it
//! is connected, and the plugin's findings of connected ones — worst first, filtered as you
//! type; Enter selects the instance and that finding.

use crossterm::event::KeyEvent;

use super::effect::Effect;
use super::layer::{Layer, Outcome, edit_line, paste_line, selection_delta};
use super::logs_view::step;
use super::state::{AppState, PaneId};
use crate::keymap::{Action, Section};

/// The open fleet findings view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FleetFindings {
    /// Typed live (see [`AppState::fleet_rows`] for what it matches).
    pub filter: String,
    /// Index among the matching findings.
    pub selected: usize,
}

impl Layer for FleetFindings {
    fn section(&self) -> Section {
        Section::Fleet
    }

    fn on_action(&mut self, action: Action, app: &mut AppState) -> Outcome {
        match action {
            Action::Close => return Outcome::close(),
            Action::Submit => return Outcome::Close(self.open_selected(app)),
            _ => {}
        }
        if let Some(delta) = selection_delta(action, app.page()) {
            let n = app.fleet_rows(&self.filter).len();
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

impl FleetFindings {
    /// Enter on a finding: select its instance (connecting a discovered one, as Enter in the
    /// inventory does) with the finding selected in the findings pane.
    fn open_selected(&self, app: &mut AppState) -> Vec<Effect> {
        // The row highlighted: the selection clamped as the overlay draws it (the list may
        // have shrunk since the last key).
        let rows = app.fleet_rows(&self.filter);
        let Some(&(instance, finding)) = rows.get(self.selected.min(rows.len().saturating_sub(1)))
        else {
            return Vec::new();
        };
        app.selected = instance;
        app.findings_selected = finding;
        app.focus = PaneId::Findings;
        app.attach_now()
    }
}

impl AppState {
    /// The fleet findings view's rows as (instance, index of the finding in its view): the
    /// findings of the instances the inventory shows, worst first, then by instance name in
    /// natural order. `filter` (any case) matches the instance's name, the rule id, the title
    /// or the severity tag.
    pub fn fleet_rows(&self, filter: &str) -> Vec<(usize, usize)> {
        let q = filter.trim().to_lowercase();
        let mut rows: Vec<(usize, usize)> = Vec::new();
        for i in self.visible_instances() {
            let view = &self.instances[i];
            let name = view.config.name.to_lowercase();
            for (k, f) in view.findings.iter().enumerate() {
                let f = &f.finding;
                let matches = q.is_empty()
                    || name.contains(&q)
                    || f.id.to_lowercase().contains(&q)
                    || f.title.to_lowercase().contains(&q)
                    || f.severity.tag().to_lowercase().contains(&q);
                if matches {
                    rows.push((i, k));
                }
            }
        }
        let finding = |&(i, k): &(usize, usize)| &self.instances[i].findings[k].finding;
        rows.sort_by(|a, b| {
            finding(b)
                .severity
                .cmp(&finding(a).severity)
                .then_with(|| {
                    alphanumeric_sort::compare_str(
                        &self.instances[a.0].config.name,
                        &self.instances[b.0].config.name,
                    )
                })
                .then(a.1.cmp(&b.1))
        });
        rows
    }
}
