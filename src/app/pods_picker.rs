//! The pods picker (`P`): the current context's pods, filtered as you type and sorted by a
//! column (name in natural order by default; one key per column); Enter selects the discovered
//! instance a pod belongs to and connects it.

use std::cell::{Ref, RefCell};
use std::cmp::Ordering;

use crossterm::event::KeyEvent;

use super::effect::Effect;
use super::layer::{Layer, Outcome, edit_line, paste_line, selection_delta};
use super::logs_view::step;
use super::state::AppState;
use crate::keymap::{Action, Section};
use crate::kube::PodRow;
use crate::kube::store::ObjectKey;

/// A column of the pods table the rows can be sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PodColumn {
    /// Namespace, then name, in natural order (`web-2` before `web-10`).
    #[default]
    Name,
    /// Troubled first (not ready, then by the status text).
    Status,
    Restarts,
    Age,
    Cpu,
    Memory,
}

/// How the pods are sorted: a column and a direction (each column's first direction is the one
/// an on-call engineer wants first: most restarts, oldest, busiest, largest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PodOrder {
    pub column: PodColumn,
    pub reversed: bool,
}

impl PodOrder {
    /// The order after the sort key of `column`: that column, or the same one reversed.
    pub fn pick(self, column: PodColumn) -> Self {
        PodOrder {
            column,
            reversed: self.column == column && !self.reversed,
        }
    }

    fn compare(self, a: &PodRow, b: &PodRow) -> Ordering {
        let by_name = || {
            a.namespace
                .cmp(&b.namespace)
                .then_with(|| alphanumeric_sort::compare_str(&a.name, &b.name))
        };
        let first = match self.column {
            PodColumn::Name => Ordering::Equal,
            PodColumn::Status => a
                .is_ready()
                .cmp(&b.is_ready())
                .then_with(|| a.status.cmp(&b.status)),
            PodColumn::Restarts => b.restarts.cmp(&a.restarts),
            // Oldest first: the earliest creation time; unknown last.
            PodColumn::Age => match (a.created, b.created) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
            PodColumn::Cpu => b.cpu_millis.cmp(&a.cpu_millis),
            PodColumn::Memory => b.memory_bytes.cmp(&a.memory_bytes),
        };
        let ord = first.then_with(by_name);
        if self.reversed { ord.reverse() } else { ord }
    }
}

/// The open pods picker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodsPicker {
    /// Typed live (see `AppState::pod_rows` for what it matches).
    pub filter: String,
    /// Index among the matching pods.
    pub selected: usize,
    /// The order of the rows.
    pub order: PodOrder,
    /// The rows' keys in order, kept until the store, the namespaces, the filter or the order
    /// change: sorting 50,000 pods is not done per frame.
    cache: RefCell<Option<RowsCache>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct RowsCache {
    generation: u64,
    scope: String,
    filter: String,
    order: PodOrder,
    keys: Vec<ObjectKey>,
}

impl Layer for PodsPicker {
    fn section(&self) -> Section {
        Section::Pods
    }

    fn on_action(&mut self, action: Action, app: &mut AppState) -> Outcome {
        let column = match action {
            Action::Close => return Outcome::close(),
            Action::Submit => return Outcome::Close(self.open_selected(app)),
            Action::SortPodsByName => Some(PodColumn::Name),
            Action::SortPodsByStatus => Some(PodColumn::Status),
            Action::SortPodsByRestarts => Some(PodColumn::Restarts),
            Action::SortPodsByAge => Some(PodColumn::Age),
            Action::SortPodsByCpu => Some(PodColumn::Cpu),
            Action::SortPodsByMemory => Some(PodColumn::Memory),
            _ => None,
        };
        if let Some(column) = column {
            self.order = self.order.pick(column);
            self.selected = 0;
            return Outcome::stay();
        }
        if let Some(delta) = selection_delta(action, app.page()) {
            let n = self.keys(app).len();
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
    /// The keys of the pods shown, in order: [`AppState::pod_rows`] sorted by [`Self::order`],
    /// computed again only when the store, the namespaces shown, the filter or the order
    /// changed.
    pub fn keys(&self, app: &AppState) -> Ref<'_, [ObjectKey]> {
        let scope = app.namespace_scope().label();
        let fresh = self.cache.borrow().as_ref().is_some_and(|c| {
            c.generation == app.kube.store.generation
                && c.scope == scope
                && c.filter == self.filter
                && c.order == self.order
        });
        if !fresh {
            let mut rows = app.pod_rows(&self.filter);
            rows.sort_by(|a, b| self.order.compare(a, b));
            let keys = rows
                .into_iter()
                .map(|p| (p.namespace.clone(), p.name.clone()))
                .collect();
            *self.cache.borrow_mut() = Some(RowsCache {
                generation: app.kube.store.generation,
                scope,
                filter: self.filter.clone(),
                order: self.order,
                keys,
            });
        }
        Ref::map(self.cache.borrow(), |c| {
            c.as_ref().map_or(&[][..], |c| c.keys.as_slice())
        })
    }

    /// Enter on a pod: select the discovered instance it belongs to (if any) and connect it.
    fn open_selected(&self, app: &mut AppState) -> Vec<Effect> {
        let target = {
            let keys = self.keys(app);
            keys.get(self.selected.min(keys.len().saturating_sub(1)))
                .cloned()
        };
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

    fn shown(state: &AppState) -> Vec<String> {
        picker(state)
            .keys(state)
            .iter()
            .map(|(_, n)| n.clone())
            .collect()
    }

    #[test]
    fn rows_are_in_natural_order_and_each_column_sorts_with_one_key() {
        let mut state = with_pods(&["web-10", "web-2", "web-1", "db-0"]);
        for (name, restarts) in [("web-10", 9), ("web-2", 0), ("web-1", 3)] {
            state.kube.store.apply(StoreUpdate::Pod(PodRow {
                namespace: "shop".into(),
                name: name.into(),
                status: "Running".into(),
                restarts,
                ..Default::default()
            }));
        }
        // Usage comes from metrics.k8s.io, set beside the watch.
        for (name, cpu) in [("web-10", 5), ("web-2", 900), ("web-1", 50)] {
            let key = ("shop".to_string(), name.to_string());
            state.kube.store.pods.get_mut(&key).unwrap().cpu_millis = Some(cpu);
        }
        state.apply(Action::Pods);
        assert_eq!(shown(&state), ["db-0", "web-1", "web-2", "web-10"]);
        let alt = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT);
        state.on_key(alt('r'));
        assert_eq!(
            shown(&state),
            ["web-10", "web-1", "db-0", "web-2"],
            "most restarts first"
        );
        state.on_key(alt('r'));
        assert_eq!(
            shown(&state),
            ["web-2", "db-0", "web-1", "web-10"],
            "again: reversed"
        );
        state.on_key(alt('c'));
        assert_eq!(
            shown(&state),
            ["web-2", "web-1", "web-10", "db-0"],
            "busiest first"
        );
        assert_eq!(picker(&state).filter, "", "sort keys are not typed");
        // The order holds while typing, and the cached order follows the store.
        state.on_key(KeyEvent::new(KeyCode::Char('w'), KeyModifiers::NONE));
        assert_eq!(shown(&state), ["web-2", "web-1", "web-10"]);
        state
            .kube
            .store
            .apply(StoreUpdate::PodDeleted(("shop".into(), "web-2".into())));
        assert_eq!(
            shown(&state),
            ["web-1", "web-10"],
            "a deleted pod leaves at once"
        );
    }
}
