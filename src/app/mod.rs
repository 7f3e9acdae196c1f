//! The application's state and its reducer: plain data, events in, state changes and effects
//! out. Nothing here performs I/O — the runtime hands the effects to the services, and the UI
//! only borrows this state to draw it.

mod ask;
mod attach_policy;
mod build;
mod chat;
mod chat_render;
mod cluster;
pub mod command;
mod contexts;
mod effect;
mod fleet_findings;
mod instance_view;
mod layer;
mod logs_view;
mod palette;
mod pods_picker;
mod repair_layer;
mod repair_modal;
mod report;
mod resume;
mod scroll_view;
mod state;
#[cfg(test)]
pub(crate) mod test_state;
mod text_input;

/// Actions live with the keymap (keys map to them); re-exported for the app's callers.
pub use crate::keymap::{ACTIONS, Action};
pub use ask::{ask_request, build_context, health_problem};
pub use attach_policy::AttachPolicy;
pub use build::build_state;
pub use chat::{ChatMessage, ChatMeter, ChatRole, ChatState, parse_slash, slash_help};
pub use chat_render::ChatRenderCache;
pub use cluster::KubeBinding;
pub use contexts::{ContextsPicker, KubeView};
pub use effect::{AskEffect, ClusterRequest, Effect, FileEffect, RepairEffect};
pub use fleet_findings::FleetFindings;
pub use instance_view::{Badge, FindingView, InstanceView};
pub use layer::{Layer, Mode, Outcome};
pub use logs_view::LogsViewState;
pub use palette::Palette;
pub use pods_picker::{PodColumn, PodOrder, PodsPicker};
pub use repair_modal::{ModalButton, RepairModal, StepPhase, StepState};
pub use report::incident_report;
pub use resume::resume_sessions;
pub use scroll_view::ScrollView;
pub use state::{AppState, InventorySort, PANE_ORDER, PaneId};
pub use text_input::{ChatInput, FilterInput, FilterTarget};
// The events the reducer takes come from the services below it.
pub use crate::services::repair::RepairEvent;
pub use crate::services::{AppEvent, Health, ResolvedLogin};
