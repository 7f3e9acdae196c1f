//! The application state and its reducer: events in, state changes and effects out.
//! Rendering only borrows this state (see `ui`).

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::chat::ChatState;
use super::command::{Invocation, Run};
use super::effect::{Effect, FileEffect, RepairEffect};
use super::instance_view::InstanceView;
use super::layer::Mode;
use super::logs_view::{LogDisplay, LogsViewState, step};
use super::palette::Palette;
use super::pods_picker::PodsPicker;
use super::repair_modal::RepairModal;
use super::scroll_view::ScrollView;
use super::text_input::{ChatInput, FilterInput};
use crate::config::SafetyMode;
use crate::keymap::{Action, KeyChord, Keymap, Section};
use crate::model::LogFilter;
use crate::services::AppEvent;

/// The panes, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneId {
    Inventory,
    Metrics,
    Findings,
    Logs,
    Chat,
}

/// The order of the inventory's discovered instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InventorySort {
    /// By namespace and name, in natural order (`redis-2` before `redis-10`).
    #[default]
    Name,
    /// Worst first (critical, down, warning, connecting, ok), then by name.
    Severity,
}

impl InventorySort {
    /// The other order (the `sort` action toggles).
    pub fn next(self) -> Self {
        match self {
            InventorySort::Name => InventorySort::Severity,
            InventorySort::Severity => InventorySort::Name,
        }
    }
}

/// Focus order for Tab / Shift-Tab.
pub const PANE_ORDER: [PaneId; 5] = [
    PaneId::Inventory,
    PaneId::Metrics,
    PaneId::Findings,
    PaneId::Logs,
    PaneId::Chat,
];

impl PaneId {
    /// The keymap section of the pane.
    pub fn section(self) -> Section {
        match self {
            PaneId::Inventory => Section::Inventory,
            PaneId::Metrics => Section::Metrics,
            PaneId::Findings => Section::Findings,
            PaneId::Logs => Section::Logs,
            PaneId::Chat => Section::Chat,
        }
    }

    /// Display name.
    pub fn title(self) -> &'static str {
        match self {
            PaneId::Inventory => "Inventory",
            PaneId::Metrics => "Metrics",
            PaneId::Findings => "Findings",
            PaneId::Logs => "Logs",
            PaneId::Chat => "Chat with AI",
        }
    }
}

/// The whole UI state.
pub struct AppState {
    pub instances: Vec<InstanceView>,
    /// Index into `instances` of the selected one.
    pub selected: usize,
    pub focus: PaneId,
    pub zoomed: bool,
    /// The inventory's order: by name, or worst first.
    pub inventory_sort: InventorySort,
    /// The inventory's filter (`/` in the inventory): a substring of the name, namespace or
    /// kind, any case; empty shows all.
    pub inventory_filter: String,
    /// The current mode: normal, a text input, or the overlay on top (with its state).
    pub mode: Mode,
    pub findings_selected: usize,
    /// The findings pane's filter (`/` there): a substring of the rule id, title, category or
    /// severity, any case; empty shows all.
    pub findings_filter: String,
    /// The metric selected in the metrics pane (`z` zooms it into a chart with axes).
    pub metrics_selected: usize,
    pub logs_view: LogsViewState,
    pub chat: ChatState,
    /// Problems to show on screen (broken theme or keymap file …).
    pub notices: Vec<String>,
    pub keymap: Keymap,
    /// The kubeconfig's contexts.
    pub kube: super::contexts::KubeView,
    /// The executor's safety policy (the status bar badge, the modal's mode line).
    pub safety: crate::repair::SafetyPolicy,
    /// Logs pane display toggles (`:logs timestamps`, `:logs wrap`).
    pub log_display: LogDisplay,
    /// Rows of the terminal, for paging.
    pub rows: u16,
    pub quit: bool,
}

impl AppState {
    /// A fresh state over the given instances (already in inventory order).
    pub fn new(instances: Vec<InstanceView>, keymap: Keymap, notices: Vec<String>) -> Self {
        AppState {
            instances,
            selected: 0,
            focus: PaneId::Inventory,
            zoomed: false,
            inventory_sort: InventorySort::Name,
            inventory_filter: String::new(),
            mode: Mode::Normal,
            findings_selected: 0,
            findings_filter: String::new(),
            metrics_selected: 0,
            logs_view: LogsViewState::default(),
            log_display: LogDisplay::default(),
            chat: ChatState::new(&crate::config::AiConfig::default()),
            notices,
            keymap,
            kube: super::contexts::KubeView::default(),
            safety: crate::repair::SafetyPolicy::default(),
            rows: 24,
            quit: false,
        }
    }

    /// The selected instance.
    pub fn current(&self) -> Option<&InstanceView> {
        self.instances.get(self.selected)
    }

    /// The repair modal, while it is open.
    pub fn repair(&self) -> Option<&RepairModal> {
        match &self.mode {
            Mode::Repair(m) => Some(m),
            _ => None,
        }
    }

    fn current_mut(&mut self) -> Option<&mut InstanceView> {
        self.instances.get_mut(self.selected)
    }

    /// Applies one event; returns whether the screen changed and what the runtime must do.
    pub fn handle_event(&mut self, event: AppEvent) -> (bool, Vec<Effect>) {
        match event {
            AppEvent::Input(Event::Key(key)) => {
                let mut effects = self.on_key(key);
                effects.extend(self.schedule_attach());
                (true, effects)
            }
            AppEvent::Input(Event::Resize(_, rows)) => {
                self.rows = rows;
                (true, Vec::new())
            }
            AppEvent::Input(Event::Paste(text)) => {
                match self.with_layer(|layer, app| layer.on_paste(&text, app)) {
                    Some(effects) => (true, effects),
                    None => (false, Vec::new()),
                }
            }
            AppEvent::Input(_) => (false, Vec::new()),
            AppEvent::Snapshot { instance, .. }
            | AppEvent::Health { instance, .. }
            | AppEvent::Refused { instance, .. }
            | AppEvent::PodLogs { instance, .. }
            | AppEvent::Attached { instance, .. }
                if self.is_detached_instance(instance) =>
            {
                (false, Vec::new())
            }
            AppEvent::AttachDue {
                instance,
                generation,
            } => self.attach_due(instance, generation),
            AppEvent::Released { instance } => {
                self.released(instance);
                (false, Vec::new())
            }
            AppEvent::Snapshot { instance, snapshot } => {
                if let Some(view) = self.instances.get_mut(instance) {
                    view.apply_snapshot(*snapshot);
                }
                self.clamp_findings_selection();
                (true, Vec::new())
            }
            AppEvent::Refused { instance, finding } => {
                if let Some(view) = self.instances.get_mut(instance) {
                    view.apply_refusal(*finding);
                }
                self.clamp_findings_selection();
                (true, Vec::new())
            }
            AppEvent::Health { instance, health } => {
                let changed = self
                    .instances
                    .get(instance)
                    .is_some_and(|v| v.health != health);
                if let Some(view) = self.instances.get_mut(instance) {
                    view.apply_health(health);
                }
                (changed, Vec::new())
            }
            AppEvent::Chat { instance, event } => (true, self.apply_chat_event(instance, event)),
            AppEvent::ChatNotice { instance, text } => {
                if let Some(view) = self.instances.get_mut(instance) {
                    view.chat.push(super::chat::ChatMessage::new(
                        super::chat::ChatRole::Notice,
                        text,
                    ));
                }
                (true, Vec::new())
            }
            AppEvent::Repair(event) => {
                self.apply_repair_event(event);
                (true, Vec::new())
            }
            AppEvent::Context { name, state } => {
                self.apply_context_state(&name, state);
                (true, Vec::new())
            }
            AppEvent::Kube { context, updates } => {
                let (dirty, mut effects) = self.apply_kube(&context, updates);
                if self.instances.get(self.selected).is_none()
                    || !self.visible_instances().contains(&self.selected)
                {
                    self.keep_selection_visible();
                }
                effects.extend(self.schedule_attach());
                (dirty, effects)
            }
            AppEvent::PodLogs { instance, event } => {
                self.apply_pod_logs(instance, event);
                (instance == self.selected, Vec::new())
            }
            AppEvent::Attached {
                instance,
                url,
                forward,
                login,
            } => {
                self.apply_attached(instance, url, forward, login);
                (true, Vec::new())
            }
            AppEvent::Shutdown(_) => {
                self.quit = true;
                (false, vec![Effect::Quit])
            }
        }
    }

    /// Dispatches a key: to the layer on top (its keymap section, then its text handler), or
    /// in normal mode to the focused pane's section, then `[global]`.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let chord = KeyChord::from_event(&key);
        let Some(layer) = self.mode.layer_mut() else {
            let action = self
                .keymap
                .lookup(self.focus.section(), &chord)
                .or_else(|| self.keymap.lookup(Section::Global, &chord));
            return match action {
                Some(action) => self.apply_normal(action),
                None => Vec::new(),
            };
        };
        let plain_text = matches!(key.code, KeyCode::Char(_) | KeyCode::Backspace)
            && !key
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        let bound = if layer.typing_first() && plain_text {
            None
        } else {
            self.keymap.lookup(layer.section(), &chord)
        };
        let effects = match bound {
            Some(action) => self.with_layer(|layer, app| layer.on_action(action, app)),
            None => self.with_layer(|layer, app| layer.on_key(key, app)),
        };
        effects.unwrap_or_default()
    }

    /// Applies a named action (from a key, the palette or a test) to the layer on top, or in
    /// normal mode to the panes.
    pub fn apply(&mut self, action: Action) -> Vec<Effect> {
        match self.with_layer(|layer, app| layer.on_action(action, app)) {
            Some(effects) => effects,
            None => self.apply_normal(action),
        }
    }

    /// Runs a command from the command table (the palette's Enter, a picker's choice), in
    /// normal mode: the one place that says what each command does.
    pub fn run_command(&mut self, invocation: Invocation) -> Vec<Effect> {
        let args = invocation.args.as_str();
        match invocation.run {
            Run::Action(action) => self.apply(action),
            Run::Mode => {
                let (name, reason) = args.split_once(' ').unwrap_or((args, ""));
                match SafetyMode::parse(name) {
                    Some(mode) => vec![Effect::Repair(RepairEffect::SetMode {
                        mode,
                        reason: reason.trim().to_string(),
                    })],
                    None => {
                        self.notices.push(format!(
                            "mode: `{name}` is not a mode (read-only, suggest, confirm)"
                        ));
                        Vec::new()
                    }
                }
            }
            Run::Model => {
                self.switch_model(args);
                Vec::new()
            }
            Run::Context if args.is_empty() => {
                self.open_context_picker();
                Vec::new()
            }
            Run::Context => self.switch_context(args),
            Run::Namespaces => self.switch_namespaces(args),
            Run::Logs => self.logs_command(args),
            Run::Export => vec![Effect::Files(FileEffect::Export {
                instance: self.selected,
                path: (!args.is_empty()).then(|| std::path::PathBuf::from(args)),
            })],
            // The chat's own commands run where the message is sent (`send_chat`).
            Run::Clear | Run::Copy | Run::SlashHelp | Run::Extra(_) => Vec::new(),
        }
    }

    /// An action in normal mode: the panes, and opening layers.
    fn apply_normal(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Quit => {
                self.quit = true;
                return vec![Effect::Quit];
            }
            Action::ToggleHelp => self.mode = Mode::Help(ScrollView::default()),
            Action::OpenPalette => self.mode = Mode::Palette(Palette::default()),
            Action::FocusNext => {
                let opening = self.focus == PaneId::Inventory;
                self.cycle_focus(1);
                // Enter (or Tab) opens the selected instance: a discovered one connects now,
                // without waiting for the cursor's rest timer.
                if opening {
                    return self.attach_now();
                }
            }
            Action::FocusPrev => self.cycle_focus(PANE_ORDER.len() - 1),
            Action::ToggleZoom => self.zoomed = !self.zoomed,
            Action::Close => {
                if self.focus == PaneId::Chat && self.chat.generating.is_some() {
                    return self.cancel_answer();
                }
                self.zoomed = false;
            }
            Action::Regenerate => return self.regenerate(),
            Action::ShowSent => self.mode = Mode::Sent(ScrollView::default()),
            Action::Contexts => self.open_context_picker(),
            Action::Pods => self.mode = Mode::Pods(PodsPicker::default()),
            Action::Fleet => self.mode = Mode::Fleet(Default::default()),
            Action::SelectNext => self.move_selection(1),
            Action::SelectPrev => self.move_selection(-1),
            Action::SelectFirst => self.move_selection(isize::MIN),
            Action::SelectLast => self.move_selection(isize::MAX),
            Action::PageDown => self.move_selection(self.page() as isize),
            Action::PageUp => self.move_selection(-(self.page() as isize)),
            Action::StartFilter if self.focus == PaneId::Inventory => {
                self.mode = Mode::Filter(FilterInput::inventory(&self.inventory_filter));
            }
            Action::StartFilter if self.focus == PaneId::Findings => {
                self.mode = Mode::Filter(FilterInput::findings(&self.findings_filter));
            }
            Action::StartFilter => {
                self.focus = PaneId::Logs;
                let current = self.current().and_then(|v| v.logs.filter());
                self.mode = Mode::Filter(FilterInput::editing(current));
            }
            Action::ClearFilter => self.apply_log_filter(""),
            Action::NextMatch => self.jump_to_match(true),
            Action::PrevMatch => self.jump_to_match(false),
            Action::ToggleFollow => {
                self.logs_view = match self.logs_view.anchor {
                    Some(_) => LogsViewState::default(),
                    None => LogsViewState {
                        anchor: self
                            .current()
                            .and_then(|v| v.logs.iter().last())
                            .map(|l| l.seq),
                        cursor: None,
                    },
                };
            }
            Action::FocusChat => {
                self.focus = PaneId::Chat;
                self.mode = Mode::Chat(ChatInput);
            }
            Action::Reconnect => return vec![Effect::Reconnect(self.selected)],
            Action::Export => {
                return vec![Effect::Files(FileEffect::Export {
                    instance: self.selected,
                    path: None,
                })];
            }
            Action::Repair => return self.open_repair_for_finding(),
            Action::Sort => self.inventory_sort = self.inventory_sort.next(),
            Action::ApplyPlan => return self.open_repair_from_chat(),
            // Only layers have something to submit, complete, or confirm.
            Action::Submit
            | Action::Complete
            | Action::Newline
            | Action::RepairConfirm
            | Action::RepairSkip
            | Action::RepairRollback
            | Action::ToggleRollback
            // The pods overlay's own.
            | Action::SortPodsByName
            | Action::SortPodsByStatus
            | Action::SortPodsByRestarts
            | Action::SortPodsByAge
            | Action::SortPodsByCpu
            | Action::SortPodsByMemory => {}
        }
        Vec::new()
    }

    pub(super) fn page(&self) -> usize {
        usize::from(self.rows / 4).max(3)
    }

    fn cycle_focus(&mut self, step: usize) {
        let i = PANE_ORDER
            .iter()
            .position(|p| *p == self.focus)
            .unwrap_or(0);
        self.focus = PANE_ORDER[(i + step) % PANE_ORDER.len()];
    }

    /// Moves the selection of the focused pane.
    fn move_selection(&mut self, delta: isize) {
        match self.focus {
            PaneId::Inventory => {
                let visible = self.visible_instances();
                if visible.is_empty() {
                    return;
                }
                let at = visible
                    .iter()
                    .position(|&i| i == self.selected)
                    .unwrap_or(0);
                let new = visible[step(at, delta, visible.len() - 1)];
                if new != self.selected {
                    let filter = self.current().and_then(|v| v.logs.filter().cloned());
                    self.selected = new;
                    self.findings_selected = 0;
                    self.logs_view = LogsViewState::default();
                    if let Some(v) = self.current_mut() {
                        v.set_log_filter(filter);
                    }
                }
            }
            PaneId::Findings => {
                // Among the findings the filter shows.
                let shown = self.shown_findings();
                if let Some(at) = self
                    .selected_finding()
                    .and_then(|s| shown.iter().position(|&i| i == s))
                {
                    self.findings_selected = shown[step(at, delta, shown.len() - 1)];
                }
            }
            PaneId::Logs => {
                if let Some(view) = self.instances.get(self.selected) {
                    self.logs_view.scroll(&view.logs, delta);
                }
            }
            PaneId::Chat => {
                if let Some(view) = self.instances.get_mut(self.selected) {
                    view.scroll_chat(delta);
                }
            }
            PaneId::Metrics => {
                let n = self.current().map_or(0, |v| v.metrics.len());
                self.metrics_selected = step(self.metrics_selected, delta, n.saturating_sub(1));
            }
        }
    }

    fn jump_to_match(&mut self, forward: bool) {
        let half = self.page() / 2;
        if let Some(view) = self.instances.get(self.selected) {
            self.logs_view.jump_to_match(&view.logs, forward, half);
        }
    }

    /// Applies a log filter to the selected instance (empty: none).
    pub(super) fn apply_log_filter(&mut self, query: &str) {
        let filter = LogFilter::new(query);
        self.logs_view.cursor = None;
        if let Some(v) = self.current_mut() {
            v.set_log_filter(filter);
        }
    }

    /// The selected instance's findings the findings pane shows (indices, worst first): those
    /// matching the findings filter.
    pub fn shown_findings(&self) -> Vec<usize> {
        let Some(view) = self.current() else {
            return Vec::new();
        };
        let q = self.findings_filter.trim().to_lowercase();
        view.findings
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                let f = &f.finding;
                q.is_empty()
                    || f.id.to_lowercase().contains(&q)
                    || f.title.to_lowercase().contains(&q)
                    || f.category.to_lowercase().contains(&q)
                    || f.severity.tag().to_lowercase().contains(&q)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The finding the findings pane highlights (and `r` repairs): the selection when it is
    /// shown, else the first one shown (the worst).
    pub fn selected_finding(&self) -> Option<usize> {
        let shown = self.shown_findings();
        shown
            .iter()
            .copied()
            .find(|&i| i == self.findings_selected)
            .or(shown.first().copied())
    }

    /// `/` in the findings pane: shows the findings matching `query`.
    pub(super) fn apply_findings_filter(&mut self, query: &str) {
        self.findings_filter = query.to_string();
        if let Some(first) = self.selected_finding() {
            self.findings_selected = first;
        }
    }

    fn clamp_findings_selection(&mut self) {
        let n = self.current().map_or(0, |v| v.findings.len());
        self.findings_selected = self.findings_selected.min(n.saturating_sub(1));
    }
}
