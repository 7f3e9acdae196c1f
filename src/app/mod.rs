//! The application: one event loop over one inbound channel, plain state with a reducer,
//! and one supervisor task per instance.

mod attach_policy;
mod chat;
mod chat_render;
mod cluster;
mod cluster_tasks;
pub mod command;
mod contexts;
mod controller;
mod event;
pub mod fixtures;
mod instance_view;
mod io_worker;
mod layer;
mod logs_view;
mod palette;
mod pods_picker;
mod repair_layer;
mod repair_modal;
mod runtime;
mod scroll_view;
pub mod session;
mod state;
mod supervisor;
#[cfg(test)]
pub(crate) mod test_state;
mod text_input;

/// Actions live with the keymap (keys map to them); re-exported for the app's callers.
pub use crate::keymap::{ACTIONS, Action};
pub use attach_policy::AttachPolicy;
pub use chat::{ChatMessage, ChatMeter, ChatRole, ChatState, parse_slash, slash_help};
pub use chat_render::ChatRenderCache;
pub use cluster::KubeBinding;
pub use contexts::{ContextsPicker, KubeView};
pub use controller::Controller;
pub use event::{AppEvent, Health, ResolvedLogin};
pub use instance_view::{Badge, FindingView, InstanceView};
pub use layer::{Layer, Mode, Outcome};
pub use logs_view::LogsViewState;
pub use palette::Palette;
pub use pods_picker::PodsPicker;
pub use repair_modal::{ModalButton, RepairEvent, RepairModal, StepPhase, StepState};
pub use runtime::{EffectHandler, LoopStats, RunOptions, build_state, run_event_loop};
pub use scroll_view::ScrollView;
pub use state::{AppState, Effect, PANE_ORDER, PaneId};
pub use supervisor::{SupervisorCommand, SupervisorTiming, backoff_delay, supervise};
pub use text_input::{ChatInput, FilterInput};
