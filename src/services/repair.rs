//! The repair service: the executor's jobs for the repair modal (capture a step's pre-state,
//! execute and verify it, roll it back), the audit records of proposals, skips and aborts, and
//! safety-mode changes. Writes to the audit log go through the file queue, in order; results
//! come back as `AppEvent::Repair`.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::mpsc;

use super::Shared;
use super::event::AppEvent;
use super::files::IoWorker;
use super::isolated::spawn_isolated;
use crate::config::{InstanceConfig, SafetyMode};
use crate::repair::StepError;
use crate::repair::{
    Confirmation, Executor, PreparedStep, RepairError, RepairPlan, RepairStep, WriteBackend,
};

/// Results of the executor, back into the loop (the repair modal folds them into its steps).
#[derive(Debug, Clone, PartialEq)]
pub enum RepairEvent {
    /// A step's pre-state was captured (or its backend could not be opened).
    Prepared {
        index: usize,
        result: Result<PreparedStep, String>,
    },
    /// A confirmed step ran (or was refused, or failed).
    Executed {
        index: usize,
        result: Result<String, StepError>,
    },
    /// The executed step's probe.
    Verified {
        index: usize,
        result: Result<String, String>,
    },
    /// A rollback ran.
    RolledBack {
        index: usize,
        result: Result<String, String>,
    },
    /// The executor's mode changed (or a change was refused).
    ModeChanged(Result<SafetyMode, String>),
}

/// Runs the executor's work off the loop.
pub struct RepairService {
    shared: Shared,
    /// The file queue audit records are appended on.
    files: Arc<IoWorker>,
}

impl RepairService {
    /// A service over the program's one executor.
    pub fn new(shared: Shared, files: Arc<IoWorker>) -> Self {
        RepairService { shared, files }
    }

    /// Pins the executor to a Kubernetes context: from now on a plan pinned to another
    /// context is refused.
    pub fn pin_context(&self, name: &str) {
        self.shared
            .executor
            .set_current_context(Some(name.to_string()));
    }

    /// Records a plan as proposed.
    pub fn propose(&self, instance: usize, plan: RepairPlan) {
        self.audit(instance, "proposal", move |e| e.propose(&plan));
    }

    /// Records a skipped step.
    pub fn skip(&self, instance: usize, step: RepairStep) {
        self.audit(instance, "skip", move |e| e.skip(&step));
    }

    /// Records an aborted plan.
    pub fn abort(&self, instance: usize, step: RepairStep) {
        self.audit(instance, "abort", move |e| e.abort(&step));
    }

    /// Changes the safety mode (leaving read-only needs a reason; audited).
    pub fn set_mode(&self, mode: SafetyMode, reason: String) {
        let (executor, events) = (self.shared.executor.clone(), self.shared.events.clone());
        self.files.run(move || {
            let result = executor
                .set_mode(mode, &reason)
                .map(|()| mode)
                .map_err(|e| e.to_string());
            let _ = events.blocking_send(AppEvent::Repair(RepairEvent::ModeChanged(result)));
        });
    }

    /// Captures a step's pre-state (reads only).
    pub fn prepare(&self, target: &InstanceConfig, index: usize, step: RepairStep) {
        let action = step.action.clone();
        self.task(target, index, &action, move |executor, backend, events| {
            Box::pin(async move {
                let result = executor
                    .prepare(backend, &step)
                    .await
                    .map_err(|e| e.to_string());
                send(&events, RepairEvent::Prepared { index, result }).await;
            })
        });
    }

    /// Executes a confirmed step, then verifies it.
    pub fn execute(
        &self,
        target: &InstanceConfig,
        index: usize,
        step: RepairStep,
        confirmation: Confirmation,
        prepared: Option<PreparedStep>,
    ) {
        let action = step.action.clone();
        self.task(target, index, &action, move |executor, backend, events| {
            Box::pin(async move {
                let result = executor.execute(backend, &step, &confirmation).await;
                let ok = result.is_ok();
                let result = result.map_err(crate::repair::StepError::from);
                send(&events, RepairEvent::Executed { index, result }).await;
                if ok {
                    let prepared = prepared.unwrap_or_else(|| PreparedStep {
                        captured: Vec::new(),
                        preview: String::new(),
                        rollback: Vec::new(),
                        rollback_text: String::new(),
                    });
                    let result = executor
                        .verify(backend, &step, &prepared)
                        .await
                        .map_err(|e| e.to_string());
                    send(&events, RepairEvent::Verified { index, result }).await;
                }
            })
        });
    }

    /// Rolls a step back with the commands built from its captured pre-state.
    pub fn rollback(
        &self,
        target: &InstanceConfig,
        index: usize,
        step: RepairStep,
        prepared: PreparedStep,
    ) {
        let action = step.action.clone();
        self.task(target, index, &action, move |executor, backend, events| {
            Box::pin(async move {
                let result = executor
                    .rollback(backend, &step, &prepared)
                    .await
                    .map_err(|e| e.to_string());
                send(&events, RepairEvent::RolledBack { index, result }).await;
            })
        });
    }

    /// Records something about a repair on the file queue; a record that cannot be written is
    /// said on screen.
    fn audit(
        &self,
        instance: usize,
        what: &'static str,
        record: impl FnOnce(&Executor) -> Result<(), RepairError> + Send + 'static,
    ) {
        let (executor, events) = (self.shared.executor.clone(), self.shared.events.clone());
        self.files.run(move || {
            if let Err(e) = record(&executor) {
                let text = format!("repair: the {what} could not be recorded: {e}");
                let _ = events.blocking_send(AppEvent::ChatNotice { instance, text });
            }
        });
    }

    /// Runs one executor job for an instance in a task; the write backend is opened in it.
    fn task<F>(&self, target: &InstanceConfig, index: usize, action: &str, job: F)
    where
        F: for<'a> FnOnce(
                &'a Executor,
                &'a mut dyn WriteBackend,
                mpsc::Sender<AppEvent>,
            ) -> BoxFuture<'a, ()>
            + Send
            + 'static,
    {
        let executor = self.shared.executor.clone();
        let events = self.shared.events.clone();
        let config = self.shared.config.clone();
        let target = target.clone();
        let kubernetes = crate::plugins::registry::action_side(action).is_kubernetes();
        let action = action.to_string();
        let task = async move {
            match executor.open_backend_for(&action, &target, &config) {
                Ok(mut backend) => job(&executor, backend.as_mut(), events).await,
                Err(e) => {
                    // Surfaces as a failed preparation of the step on screen.
                    let result = Err(e.to_string());
                    send(&events, RepairEvent::Prepared { index, result }).await;
                }
            }
        };
        if kubernetes {
            // kube may run an exec credential plugin synchronously: never on the UI's runtime.
            spawn_isolated("repair", task);
        } else {
            tokio::spawn(task);
        }
    }
}

async fn send(events: &mpsc::Sender<AppEvent>, event: RepairEvent) {
    let _ = events.send(AppEvent::Repair(event)).await;
}
