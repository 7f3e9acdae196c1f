//! The kubeconfig's contexts in the app: their probe states, the current one, and switching
//! with `:ctx NAME` — the executor is told, so plans pinned to another context are refused.

use super::effect::{ClusterRequest, Effect};
use super::layer::{Layer, Mode, Outcome, selection_delta};
use super::logs_view::step;
use super::state::AppState;
use crate::keymap::{Action, Section};
use crate::kube::{ContextState, KubeContext};

/// The open context picker (`C`, or `:ctx` without a name).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContextsPicker {
    /// Index into `KubeView::contexts`.
    pub selected: usize,
}

impl Layer for ContextsPicker {
    fn section(&self) -> Section {
        Section::Contexts
    }

    fn on_action(&mut self, action: Action, app: &mut AppState) -> Outcome {
        match action {
            Action::Close => Outcome::close(),
            Action::Submit => {
                let name = app
                    .kube
                    .contexts
                    .get(self.selected)
                    .map(|(c, _)| c.name.clone());
                Outcome::Close(match name {
                    Some(n) => app.switch_context(&n),
                    None => Vec::new(),
                })
            }
            _ => {
                if let Some(delta) = selection_delta(action, app.page()) {
                    let max = app.kube.contexts.len().saturating_sub(1);
                    self.selected = step(self.selected, delta, max);
                }
                Outcome::stay()
            }
        }
    }
}

/// The contexts and what is known of each (the inventory's header and the status bar), and
/// the current context's cluster.
#[derive(Debug, Clone)]
pub struct KubeView {
    pub contexts: Vec<(KubeContext, ContextState)>,
    pub current: Option<String>,
    /// The current context's objects, as its watchers report them.
    pub store: crate::kube::ClusterStore,
    /// The namespaces shown, per context (`:ns`); a context not here shows all.
    pub scopes: std::collections::BTreeMap<String, crate::kube::NamespaceScope>,
    /// The store generation discovery last ran on.
    pub discovered_generation: u64,
    /// Metric history and log buffer sizes for discovered instances.
    pub history: usize,
    pub log_lines: usize,
    /// When discovered instances are connected, and how many at once.
    pub attach: super::attach_policy::AttachPolicy,
}

impl Default for KubeView {
    fn default() -> Self {
        KubeView {
            contexts: Vec::new(),
            current: None,
            store: Default::default(),
            scopes: Default::default(),
            discovered_generation: u64::MAX,
            history: 120,
            log_lines: 10_000,
            attach: Default::default(),
        }
    }
}

impl KubeView {
    /// The state of the current context.
    pub fn current_state(&self) -> Option<&ContextState> {
        let name = self.current.as_deref()?;
        self.contexts
            .iter()
            .find(|(c, _)| c.name == name)
            .map(|(_, s)| s)
    }
}

impl AppState {
    /// A probe's answer for a context.
    pub(super) fn apply_context_state(&mut self, name: &str, state: ContextState) {
        if let Some(entry) = self.kube.contexts.iter_mut().find(|(c, _)| c.name == name) {
            entry.1 = state;
        }
    }

    /// `C` or `:ctx` without a name: the picker, on the current context.
    pub(super) fn open_context_picker(&mut self) {
        if self.kube.contexts.is_empty() {
            self.notices
                .push("ctx: no kubeconfig (KUBECONFIG or ~/.kube/config)".into());
            return;
        }
        let selected = self
            .kube
            .current
            .as_ref()
            .and_then(|c| self.kube.contexts.iter().position(|(x, _)| &x.name == c))
            .unwrap_or(0);
        self.mode = Mode::Contexts(ContextsPicker { selected });
    }

    /// `:ctx NAME`: switch when the context exists (and probe it again), else say which do.
    pub(super) fn switch_context(&mut self, name: &str) -> Vec<Effect> {
        if !self.kube.contexts.iter().any(|(c, _)| c.name == name) {
            let names: Vec<&str> = self
                .kube
                .contexts
                .iter()
                .map(|(c, _)| c.name.as_str())
                .collect();
            self.notices.push(format!(
                "ctx: no context `{name}` ({})",
                if names.is_empty() {
                    "no kubeconfig".to_string()
                } else {
                    names.join(", ")
                }
            ));
            return Vec::new();
        }
        self.notices.retain(|n| !n.starts_with("ctx: "));
        self.kube.current = Some(name.to_string());
        self.apply_context_state(name, ContextState::Connecting);
        let scope = self.namespace_scope();
        let mut effects = vec![Effect::Cluster(ClusterRequest::SwitchContext {
            name: name.to_string(),
        })];
        // Instances of the other contexts are hidden now: stop their forwards and collectors.
        let others: Vec<usize> = (0..self.instances.len())
            .filter(|&i| {
                self.instances[i]
                    .kube
                    .as_ref()
                    .is_some_and(|b| b.context != name)
            })
            .collect();
        effects.extend(others.into_iter().filter_map(|i| self.detach_instance(i)));
        effects.extend(self.restart_watch(name.to_string(), scope));
        effects
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::test_state::test_state;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn with_contexts(names: &[&str], current: &str) -> AppState {
        let mut state = test_state();
        state.kube.contexts = names
            .iter()
            .map(|n| {
                let context = KubeContext {
                    name: (*n).into(),
                    cluster: (*n).into(),
                    namespace: None,
                    server: None,
                };
                (context, ContextState::Connecting)
            })
            .collect();
        state.kube.current = Some(current.into());
        state
    }

    fn press(state: &mut AppState, code: KeyCode) -> Vec<Effect> {
        state.on_key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn the_picker_opens_on_the_current_context_and_moves_within_the_list() {
        // (keys after `C`, selected)
        let cases: &[(&[KeyCode], usize)] = &[
            (&[], 1),
            (&[KeyCode::Down], 2),
            (&[KeyCode::Down, KeyCode::Down], 2),
            (&[KeyCode::Up, KeyCode::Up], 0),
            (&[KeyCode::Tab], 2),
            (&[KeyCode::Char('j')], 1), // not bound in [contexts], and no filter to type
        ];
        for (keys, selected) in cases {
            let mut state = with_contexts(&["a", "b", "c"], "b");
            press(&mut state, KeyCode::Char('C'));
            for code in *keys {
                press(&mut state, *code);
            }
            assert_eq!(
                state.mode,
                Mode::Contexts(ContextsPicker {
                    selected: *selected
                }),
                "{keys:?}"
            );
        }
    }

    #[test]
    fn enter_switches_and_esc_does_not() {
        let mut state = with_contexts(&["a", "b"], "a");
        press(&mut state, KeyCode::Char('C'));
        press(&mut state, KeyCode::Down);
        let effects = press(&mut state, KeyCode::Enter);
        assert_eq!(state.mode, Mode::Normal);
        assert_eq!(state.kube.current.as_deref(), Some("b"));
        assert!(
            effects.contains(&Effect::Cluster(ClusterRequest::SwitchContext {
                name: "b".into()
            }))
        );

        let mut state = with_contexts(&["a", "b"], "a");
        press(&mut state, KeyCode::Char('C'));
        press(&mut state, KeyCode::Down);
        assert!(press(&mut state, KeyCode::Esc).is_empty());
        assert_eq!(state.kube.current.as_deref(), Some("a"));
    }

    #[test]
    fn without_a_kubeconfig_the_picker_says_so() {
        let mut state = test_state();
        state.apply(Action::Contexts);
        assert_eq!(state.mode, Mode::Normal);
        assert!(state.notices.iter().any(|n| n.starts_with("ctx: ")));
    }
}
