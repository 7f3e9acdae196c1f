//! The application state and its reducer: events in, state changes and effects out.
//! Rendering only borrows this state (see `ui`).

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::action::Action;
use super::chat::ChatState;
use super::event::AppEvent;
use super::instance_view::InstanceView;
use super::logs_view::{LogDisplay, LogsViewState, step};
use super::palette::palette_entries;
use super::repair_modal::RepairModal;
use crate::ai::context::ContextExtras;
use crate::config::SafetyMode;
use crate::keymap::{KeyChord, Keymap, Section};
use crate::model::LogFilter;
use crate::repair::{Confirmation, PreparedStep, RepairPlan, RepairStep};

/// The panes, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneId {
    Inventory,
    Metrics,
    Findings,
    Logs,
    Chat,
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

/// What floats above the panes.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    None,
    Help {
        scroll: usize,
    },
    Palette {
        query: String,
        selected: usize,
    },
    /// The exact last payload sent to a model (`:sent`).
    Sent {
        scroll: usize,
    },
    /// The repair modal (its state is `AppState::repair`).
    Repair,
    /// The current context's pods, `filter` typed live, `selected` among the matches.
    Pods {
        filter: String,
        selected: usize,
    },
    /// The context picker.
    Contexts {
        selected: usize,
    },
}

/// Where typed characters go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputTarget {
    None,
    Filter,
    Chat,
}

/// Side effects the runtime performs for the reducer.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Ask the supervisor of this instance to reconnect now.
    Reconnect(usize),
    /// Answer a question about an instance (model or offline analysis).
    Ask {
        instance: usize,
        question: String,
        extras: ContextExtras,
    },
    /// Drop the answer in progress (and its HTTP request).
    CancelAsk,
    /// Put text on the clipboard with OSC 52.
    Copy(String),
    /// Save the conversation of this instance to the data dir.
    SaveChat(usize),
    /// Write the incident report of this instance (to the default path when `None`).
    Export {
        instance: usize,
        path: Option<std::path::PathBuf>,
    },
    /// Record a plan as proposed in the audit log.
    RepairPropose {
        plan: RepairPlan,
    },
    /// Capture a step's pre-state (reads only).
    RepairPrepare {
        instance: usize,
        index: usize,
        step: RepairStep,
    },
    /// Execute a confirmed step through the executor, then verify it.
    RepairExecute {
        instance: usize,
        index: usize,
        step: RepairStep,
        confirmation: Confirmation,
        prepared: Option<PreparedStep>,
    },
    /// Roll a step back with the commands built from its captured pre-state.
    RepairRollback {
        instance: usize,
        index: usize,
        step: RepairStep,
        prepared: PreparedStep,
    },
    /// Record a skipped step.
    RepairSkip {
        step: RepairStep,
    },
    /// Record an aborted plan.
    RepairAbort {
        step: RepairStep,
    },
    /// Make a Kubernetes context current (the executor pins to it) and probe it.
    SwitchContext {
        name: String,
    },
    /// (Re)start the watchers of a context's cluster for these namespaces (the previous
    /// watchers stop).
    WatchCluster {
        context: String,
        scope: crate::kube::NamespaceScope,
    },
    /// (Re)start the log streams of a discovered instance's pods with these options.
    PodLogs {
        instance: usize,
        context: String,
        namespace: String,
        pods: Vec<String>,
        options: crate::kube::logs::LogOptions,
    },
    /// Disconnect a discovered instance (its context is no longer current): its forward,
    /// collector and log streams stop.
    Detach {
        instance: usize,
    },
    /// Send `AppEvent::AttachDue { instance, generation }` after `delay` (the cursor resting on
    /// a discovered instance); a newer request replaces an older one.
    AttachAfter {
        instance: usize,
        generation: u64,
        delay: std::time::Duration,
    },
    /// Connect a discovered instance: a port-forward to one of its ready pods, its credentials
    /// from the Secret the config names, and a collector through the forward.
    Attach {
        instance: usize,
        context: String,
        found: crate::kube::Discovered,
        config: crate::config::InstanceConfig,
    },
    /// Change the safety mode (leaving read-only needs a reason; audited).
    SetMode {
        mode: SafetyMode,
        reason: String,
    },
}

/// The whole UI state.
pub struct AppState {
    pub instances: Vec<InstanceView>,
    /// Index into `instances` of the selected one.
    pub selected: usize,
    pub focus: PaneId,
    pub zoomed: bool,
    pub overlay: Overlay,
    pub input: InputTarget,
    /// The log filter being typed (applied live).
    pub filter_draft: String,
    pub findings_selected: usize,
    pub logs_view: LogsViewState,
    pub chat: ChatState,
    /// Problems to show on screen (broken theme or keymap file …).
    pub notices: Vec<String>,
    pub keymap: Keymap,
    /// The repair modal, while open.
    pub repair: Option<RepairModal>,
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
            overlay: Overlay::None,
            input: InputTarget::None,
            filter_draft: String::new(),
            findings_selected: 0,
            logs_view: LogsViewState::default(),
            log_display: LogDisplay::default(),
            chat: ChatState::new(&crate::config::AiConfig::default()),
            notices,
            keymap,
            repair: None,
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
                match self.input {
                    InputTarget::Chat => {
                        self.chat.editor.insert_str(text);
                    }
                    InputTarget::Filter => {
                        self.filter_draft.push_str(&text.replace(['\r', '\n'], " "));
                        self.apply_filter_draft();
                    }
                    InputTarget::None => return (false, Vec::new()),
                }
                (true, Vec::new())
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

    /// Dispatches a key through the keymap of the current mode.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let chord = KeyChord::from_event(&key);
        match &self.overlay {
            Overlay::Help { .. } | Overlay::Sent { .. } => {
                return match self.keymap.lookup(Section::Help, &chord) {
                    Some(action) => self.apply(action),
                    None => Vec::new(),
                };
            }
            Overlay::Palette { .. } => {
                if let Some(action) = self.keymap.lookup(Section::Palette, &chord) {
                    return self.apply(action);
                }
                self.edit_palette_query(key);
                return Vec::new();
            }
            Overlay::Pods { .. } => {
                if let Some(action) = self.keymap.lookup(Section::Palette, &chord) {
                    return self.apply(action);
                }
                self.edit_pods_filter(key);
                return Vec::new();
            }
            Overlay::Contexts { .. } => {
                return match self.keymap.lookup(Section::Palette, &chord) {
                    Some(action) => self.apply(action),
                    None => Vec::new(),
                };
            }
            Overlay::Repair => {
                let typing = self.repair.as_ref().is_some_and(|m| m.wants_name());
                let plain = !key
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
                match key.code {
                    KeyCode::Char(c) if typing && plain => self.repair_type(Some(c)),
                    KeyCode::Backspace if typing => self.repair_type(None),
                    _ => {
                        if let Some(action) = self.keymap.lookup(Section::Repair, &chord) {
                            return self.apply(action);
                        }
                    }
                }
                return Vec::new();
            }
            Overlay::None => {}
        }
        match self.input {
            InputTarget::Filter => {
                if let Some(action) = self.keymap.lookup(Section::Input, &chord) {
                    return self.apply(action);
                }
                match key.code {
                    KeyCode::Char(c) => self.filter_draft.push(c),
                    KeyCode::Backspace => {
                        self.filter_draft.pop();
                    }
                    _ => return Vec::new(),
                }
                self.apply_filter_draft();
                Vec::new()
            }
            InputTarget::Chat => {
                if let Some(action) = self.keymap.lookup(Section::Input, &chord) {
                    return self.apply(action);
                }
                if !self.recall_input(&key) {
                    self.chat.editor.input(key);
                }
                Vec::new()
            }
            InputTarget::None => {
                let action = self
                    .keymap
                    .lookup(self.focus.section(), &chord)
                    .or_else(|| self.keymap.lookup(Section::Global, &chord));
                match action {
                    Some(action) => self.apply(action),
                    None => Vec::new(),
                }
            }
        }
    }

    /// Applies a named action (from a key or the palette).
    pub fn apply(&mut self, action: Action) -> Vec<Effect> {
        if self.overlay == Overlay::Repair {
            return self.apply_in_repair(action);
        }
        match action {
            Action::Quit => {
                self.quit = true;
                return vec![Effect::Quit];
            }
            Action::ToggleHelp => {
                self.overlay = match self.overlay {
                    Overlay::Help { .. } => Overlay::None,
                    _ => Overlay::Help { scroll: 0 },
                };
            }
            Action::OpenPalette => {
                self.overlay = Overlay::Palette {
                    query: String::new(),
                    selected: 0,
                };
            }
            Action::FocusNext => {
                let opening = self.focus == PaneId::Inventory && self.overlay == Overlay::None;
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
                let chat_active = self.input == InputTarget::Chat
                    || (self.focus == PaneId::Chat && self.overlay == Overlay::None);
                if chat_active && self.chat.generating.is_some() {
                    return self.cancel_answer();
                }
                self.close();
            }
            Action::Regenerate => return self.regenerate(),
            Action::ShowSent => self.show_sent(),
            Action::Contexts => self.open_context_picker(),
            Action::Pods => {
                self.overlay = Overlay::Pods {
                    filter: String::new(),
                    selected: 0,
                };
            }
            Action::Submit => return self.submit(),
            Action::Newline => {
                if self.input == InputTarget::Chat {
                    self.chat.editor.insert_newline();
                }
            }
            Action::SelectNext => self.move_selection(1),
            Action::SelectPrev => self.move_selection(-1),
            Action::SelectFirst => self.move_selection(isize::MIN),
            Action::SelectLast => self.move_selection(isize::MAX),
            Action::PageDown => self.move_selection(self.page() as isize),
            Action::PageUp => self.move_selection(-(self.page() as isize)),
            Action::StartFilter => {
                self.focus = PaneId::Logs;
                self.input = InputTarget::Filter;
                self.filter_draft = self
                    .current()
                    .and_then(|v| v.logs.filter())
                    .map(|f| f.query().to_string())
                    .unwrap_or_default();
            }
            Action::ClearFilter => {
                self.filter_draft.clear();
                self.apply_filter_draft();
            }
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
                self.input = InputTarget::Chat;
            }
            Action::Reconnect => return vec![Effect::Reconnect(self.selected)],
            Action::Export => {
                return vec![Effect::Export {
                    instance: self.selected,
                    path: None,
                }];
            }
            Action::Repair => return self.open_repair_for_finding(),
            Action::ApplyPlan => return self.open_repair_from_chat(),
            Action::RepairConfirm
            | Action::RepairSkip
            | Action::RepairRollback
            | Action::ToggleRollback => {}
        }
        Vec::new()
    }

    fn apply_in_repair(&mut self, action: Action) -> Vec<Effect> {
        use super::repair_modal::ModalButton;
        match action {
            Action::Close => self.repair_escape(),
            Action::Submit => self.repair_press(),
            Action::FocusNext | Action::SelectNext => {
                self.repair_focus(1);
                Vec::new()
            }
            Action::FocusPrev | Action::SelectPrev => {
                self.repair_focus(-1);
                Vec::new()
            }
            Action::RepairConfirm => self.repair_button(ModalButton::Apply),
            Action::RepairSkip => self.repair_button(ModalButton::Skip),
            Action::RepairRollback => self.repair_button(ModalButton::RollBack),
            Action::ToggleRollback => {
                self.repair_toggle_rollback();
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn page(&self) -> usize {
        usize::from(self.rows / 4).max(3)
    }

    fn cycle_focus(&mut self, step: usize) {
        let i = PANE_ORDER
            .iter()
            .position(|p| *p == self.focus)
            .unwrap_or(0);
        self.focus = PANE_ORDER[(i + step) % PANE_ORDER.len()];
    }

    fn close(&mut self) {
        if self.overlay != Overlay::None {
            self.overlay = Overlay::None;
        } else if self.input != InputTarget::None {
            self.input = InputTarget::None;
        } else if self.zoomed {
            self.zoomed = false;
        }
    }

    fn submit(&mut self) -> Vec<Effect> {
        if let Some(effects) = self.submit_palette() {
            return effects;
        }
        if let Overlay::Pods { .. } = self.overlay {
            return self.submit_pods();
        }
        if let Overlay::Contexts { selected } = self.overlay {
            self.overlay = Overlay::None;
            let name = self
                .kube
                .contexts
                .get(selected)
                .map(|(c, _)| c.name.clone());
            return match name {
                Some(n) => self.switch_context(&n),
                None => Vec::new(),
            };
        }
        match self.input {
            InputTarget::Filter => {
                self.apply_filter_draft();
                self.input = InputTarget::None;
            }
            InputTarget::Chat => return self.send_chat(),
            InputTarget::None => {}
        }
        Vec::new()
    }

    fn move_selection(&mut self, delta: isize) {
        if let Overlay::Help { scroll } | Overlay::Sent { scroll } = &mut self.overlay {
            *scroll = step(*scroll, delta, usize::MAX / 2);
            return;
        }
        if let Overlay::Palette { query, selected } = &mut self.overlay {
            let n = palette_entries(query).len();
            *selected = step(*selected, delta, n.saturating_sub(1));
            return;
        }
        if let Overlay::Contexts { selected } = &mut self.overlay {
            *selected = step(*selected, delta, self.kube.contexts.len().saturating_sub(1));
            return;
        }
        if let Overlay::Pods { filter, selected } = &self.overlay {
            let n = self.pod_rows(filter).len();
            let new = step(*selected, delta, n.saturating_sub(1));
            if let Overlay::Pods { selected, .. } = &mut self.overlay {
                *selected = new;
            }
            return;
        }
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
                let n = self.current().map_or(0, |v| v.findings.len());
                self.findings_selected = step(self.findings_selected, delta, n.saturating_sub(1));
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
            PaneId::Metrics => {}
        }
    }

    fn jump_to_match(&mut self, forward: bool) {
        let half = self.page() / 2;
        if let Some(view) = self.instances.get(self.selected) {
            self.logs_view.jump_to_match(&view.logs, forward, half);
        }
    }

    fn apply_filter_draft(&mut self) {
        let filter = LogFilter::new(&self.filter_draft);
        self.logs_view.cursor = None;
        if let Some(v) = self.current_mut() {
            v.set_log_filter(filter);
        }
    }

    fn clamp_findings_selection(&mut self) {
        let n = self.current().map_or(0, |v| v.findings.len());
        self.findings_selected = self.findings_selected.min(n.saturating_sub(1));
    }
}
