//! What the reducer asks the world to do, grouped by the service that does it. The reducer
//! only returns these; the runtime's router hands each group to its service (`services::`),
//! taking from the state what the service needs (an instance's config, its conversation).

use std::path::PathBuf;

use crate::ai::context::ContextExtras;
use crate::config::SafetyMode;
use crate::repair::{Confirmation, PreparedStep, RepairPlan, RepairStep};
pub use crate::services::cluster::ClusterRequest;

/// Side effects the runtime performs for the reducer.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    /// Put text on the clipboard with OSC 52 (the terminal's).
    Copy(String),
    /// Ask the collector of this instance to reconnect now.
    Reconnect(usize),
    /// The ask service: questions to the model.
    Ask(AskEffect),
    /// The cluster service: contexts, watchers, discovered instances.
    Cluster(ClusterRequest),
    /// The repair service: the executor's jobs and audit records.
    Repair(RepairEffect),
    /// The file service: conversations and reports.
    Files(FileEffect),
}

/// Questions to the model.
#[derive(Debug, Clone, PartialEq)]
pub enum AskEffect {
    /// Answer a question about an instance (model or offline analysis).
    Question {
        instance: usize,
        question: String,
        extras: ContextExtras,
    },
    /// Drop the answer in progress (and its HTTP request).
    Cancel,
}

/// The repair modal's requests to the executor.
#[derive(Debug, Clone, PartialEq)]
pub enum RepairEffect {
    /// Record a plan as proposed in the audit log.
    Propose { plan: RepairPlan },
    /// Capture a step's pre-state (reads only).
    Prepare {
        instance: usize,
        index: usize,
        step: RepairStep,
    },
    /// Execute a confirmed step through the executor, then verify it.
    Execute {
        instance: usize,
        index: usize,
        step: RepairStep,
        confirmation: Confirmation,
        prepared: Option<PreparedStep>,
    },
    /// Roll a step back with the commands built from its captured pre-state.
    Rollback {
        instance: usize,
        index: usize,
        step: RepairStep,
        prepared: PreparedStep,
    },
    /// Record a skipped step.
    Skip { step: RepairStep },
    /// Record an aborted plan.
    Abort { step: RepairStep },
    /// Change the safety mode (leaving read-only needs a reason; audited).
    SetMode { mode: SafetyMode, reason: String },
}

/// Files the cockpit writes besides the audit log.
#[derive(Debug, Clone, PartialEq)]
pub enum FileEffect {
    /// Save the conversation of this instance to the data dir.
    SaveChat(usize),
    /// Write the incident report of this instance (to the default path when `None`).
    Export {
        instance: usize,
        path: Option<PathBuf>,
    },
}
