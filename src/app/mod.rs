//! The application: one event loop over one inbound channel, plain state with a reducer,
//! and one supervisor task per instance.

mod action;
mod attach_policy;
mod chat;
mod cluster;
mod cluster_tasks;
mod contexts;
mod controller;
mod event;
mod instance_view;
mod io_worker;
mod logs_view;
mod palette;
mod repair_modal;
mod runtime;
pub mod session;
mod state;
mod supervisor;

pub use action::{ACTIONS, Action};
pub use attach_policy::AttachPolicy;
pub use chat::{ChatMessage, ChatMeter, ChatRole, ChatState, SLASH_HELP, parse_slash};
pub use cluster::KubeBinding;
pub use contexts::KubeView;
pub use controller::Controller;
pub use event::{AppEvent, Health, ResolvedLogin};
pub use instance_view::{Badge, FindingView, InstanceView};
pub use logs_view::LogsViewState;
pub use palette::{ARGUMENT_COMMANDS, palette_entries};
pub use repair_modal::{ModalButton, RepairEvent, RepairModal, StepPhase, StepState};
pub use runtime::{EffectHandler, LoopStats, RunOptions, build_state, run_event_loop};
pub use state::{AppState, Effect, InputTarget, Overlay, PANE_ORDER, PaneId};
pub use supervisor::{SupervisorCommand, SupervisorTiming, backoff_delay, supervise};
