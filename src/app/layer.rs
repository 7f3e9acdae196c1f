//! Layers: what sits above the panes (an overlay, a picker, the repair modal) or takes the
//! keyboard (a text input). The current mode is one `Mode` value; the key router asks its
//! layer first (yazi's router and actors, gitui's popups). Each layer owns its state and
//! answers with an `Outcome`, so the reducer switches on the mode in one place.

use crossterm::event::{KeyCode, KeyEvent};

use super::command::Invocation;
use super::contexts::ContextsPicker;
use super::effect::Effect;
use super::fleet_findings::FleetFindings;
use super::palette::Palette;
use super::pods_picker::PodsPicker;
use super::repair_modal::RepairModal;
use super::scroll_view::ScrollView;
use super::state::AppState;
use super::text_input::{ChatInput, FilterInput};
use crate::keymap::{Action, Section};

/// What a layer did with an action or a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The layer stays on top; the runtime carries out these effects.
    Stay(Vec<Effect>),
    /// The layer closes; the runtime carries out these effects.
    Close(Vec<Effect>),
    /// The layer closes and this runs in normal mode (it may open another layer).
    Run(Invocation),
}

impl Outcome {
    /// Stay open, nothing to do (a key the layer ignores is still consumed).
    pub fn stay() -> Self {
        Outcome::Stay(Vec::new())
    }

    /// Close, nothing else to do.
    pub fn close() -> Self {
        Outcome::Close(Vec::new())
    }
}

/// One layer of the key router.
///
/// `app` is the rest of the state; the layer itself has been taken out of it for the call,
/// so a layer reads (and the text inputs edit) the app without aliasing its own state.
pub trait Layer {
    /// The keymap section consulted first while this layer is on top.
    fn section(&self) -> Section;
    /// Whether plain characters and Backspace are typed before the keymap is asked (the
    /// repair modal while it waits for the instance name, whose letters are also shortcuts).
    fn typing_first(&self) -> bool {
        false
    }
    /// A bound action (from a key of `section()` or from `AppState::apply`).
    fn on_action(&mut self, action: Action, app: &mut AppState) -> Outcome;
    /// A key bound to nothing in `section()`: typed text for the layers that take it.
    fn on_key(&mut self, _key: KeyEvent, _app: &mut AppState) -> Outcome {
        Outcome::stay()
    }
    /// Pasted text (bracketed paste).
    fn on_paste(&mut self, _text: &str, _app: &mut AppState) -> Outcome {
        Outcome::stay()
    }
}

/// How far an action moves a list's selection or a view's scroll (`None`: it does not).
pub(super) fn selection_delta(action: Action, page: usize) -> Option<isize> {
    Some(match action {
        Action::SelectNext => 1,
        Action::SelectPrev => -1,
        Action::SelectFirst => isize::MIN,
        Action::SelectLast => isize::MAX,
        Action::PageDown => page as isize,
        Action::PageUp => -(page as isize),
        _ => return None,
    })
}

/// Edits a one-line query with a typed key (a character or Backspace); whether it changed.
pub(super) fn edit_line(line: &mut String, key: &KeyEvent) -> bool {
    match key.code {
        KeyCode::Char(c) => line.push(c),
        KeyCode::Backspace => {
            line.pop();
        }
        _ => return false,
    }
    true
}

/// Pasted text into a one-line query (line breaks become spaces).
pub(super) fn paste_line(line: &mut String, text: &str) {
    line.push_str(&text.replace(['\r', '\n'], " "));
}

/// The current mode: the panes (normal), a text input, or one overlay on top of the panes.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Mode {
    /// Keys go to the focused pane's section, then `[global]`.
    #[default]
    Normal,
    /// Typing the log filter (applied live).
    Filter(FilterInput),
    /// Typing into the chat editor.
    Chat(ChatInput),
    /// The `?` help.
    Help(ScrollView),
    /// The exact last payload sent to a model (`:sent`).
    Sent(ScrollView),
    /// The `:` command palette.
    Palette(Palette),
    /// The current context's pods, filtered as typed.
    Pods(PodsPicker),
    /// Every finding of the instances shown, filtered as typed.
    Fleet(FleetFindings),
    /// The Kubernetes context picker.
    Contexts(ContextsPicker),
    /// The repair modal, walking a plan (it holds the pending step).
    Repair(RepairModal),
}

impl Mode {
    /// The layer on top, `None` in normal mode.
    pub fn layer_mut(&mut self) -> Option<&mut dyn Layer> {
        Some(match self {
            Mode::Normal => return None,
            Mode::Filter(l) => l,
            Mode::Chat(l) => l,
            Mode::Help(l) | Mode::Sent(l) => l,
            Mode::Palette(l) => l,
            Mode::Pods(l) => l,
            Mode::Fleet(l) => l,
            Mode::Contexts(l) => l,
            Mode::Repair(l) => l,
        })
    }

    /// Whether an overlay floats above the panes (a text input does not).
    pub fn is_overlay(&self) -> bool {
        !matches!(self, Mode::Normal | Mode::Filter(_) | Mode::Chat(_))
    }
}

impl AppState {
    /// Runs `f` on the layer on top with the rest of the state, then folds its outcome in:
    /// the layer goes back on top, closes, or closes and its invocation runs in normal mode.
    /// `None` in normal mode.
    pub(super) fn with_layer(
        &mut self,
        f: impl FnOnce(&mut dyn Layer, &mut AppState) -> Outcome,
    ) -> Option<Vec<Effect>> {
        let mut mode = std::mem::take(&mut self.mode);
        let outcome = f(mode.layer_mut()?, self);
        Some(match outcome {
            Outcome::Stay(effects) => {
                // A layer never opens another one itself (it returns `Run`), so the slot is
                // still empty and the layer goes back.
                debug_assert_eq!(self.mode, Mode::Normal, "a layer set the mode itself");
                self.mode = mode;
                effects
            }
            Outcome::Close(effects) => effects,
            Outcome::Run(invocation) => self.run_command(invocation),
        })
    }
}
