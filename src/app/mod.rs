//! The application's state and its reducer: plain data, events in, state changes and effects
//! out. Nothing here performs I/O — the runtime hands the effects to the services, and the UI
//! only borrows this state to draw it.

mod action;
mod ask;
mod attach_policy;
mod build;
mod chat;
mod cluster;
mod contexts;
mod event;
mod instance_view;
mod logs_view;
mod palette;
mod repair_modal;
mod report;
mod resume;
mod state;

pub use action::{ACTIONS, Action};
pub use ask::{ask_request, build_context, health_problem};
pub use attach_policy::AttachPolicy;
pub use build::build_state;
pub use chat::{ChatMessage, ChatMeter, ChatRole, ChatState, SLASH_HELP, parse_slash};
pub use cluster::KubeBinding;
pub use contexts::KubeView;
pub use instance_view::{Badge, FindingView, InstanceView};
pub use logs_view::LogsViewState;
pub use palette::{ARGUMENT_COMMANDS, palette_entries};
pub use repair_modal::{ModalButton, RepairEvent, RepairModal, StepPhase, StepState};
pub use report::incident_report;
pub use resume::resume_sessions;
pub use state::{AppState, Effect, InputTarget, Overlay, PANE_ORDER, PaneId};
// The events the reducer takes come from the services below it.
pub use crate::services::{AppEvent, Health, ResolvedLogin};
