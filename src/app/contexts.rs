//! The kubeconfig's contexts in the app: their probe states, the current one, and switching
//! with `:ctx NAME` — the executor is told, so plans pinned to another context are refused.

use super::state::{AppState, Effect};
use crate::kube::{ContextState, KubeContext};

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
        self.overlay = super::state::Overlay::Contexts { selected };
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
        let mut effects = vec![Effect::SwitchContext {
            name: name.to_string(),
        }];
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
