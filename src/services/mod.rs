//! Services: what the cockpit does in the world on the reducer's behalf. Each owns its tasks
//! and their cancellation tokens — asking the model (`ask`), watching clusters and connecting
//! discovered instances (`cluster`), running repairs (`repair`), writing files (`files`) and
//! collecting from each instance (`collect`). The runtime's router hands every effect to one of
//! them; results come back to the loop as [`AppEvent`]s. Nothing here touches the terminal or
//! the state: services sit below the app and the UI.

pub mod ask;
pub mod cluster;
pub mod collect;
pub mod event;
pub mod files;
pub mod isolated;
pub mod repair;
pub mod sessions;

pub use event::{AppEvent, Health, ResolvedLogin};

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::ai::redact::Redactor;
use crate::config::AppConfig;
use crate::repair::Executor;

/// What every service is given: the settings, the loop's inbound channel, the redactor every
/// outgoing text passes, the executor (safety policy and audit log), the kubeconfig and the
/// program's shutdown token (parent of every task's token).
#[derive(Clone)]
pub struct Shared {
    pub config: AppConfig,
    pub events: mpsc::Sender<AppEvent>,
    pub redactor: Arc<Mutex<Redactor>>,
    pub executor: Arc<Executor>,
    /// `None`: no kubeconfig — every Kubernetes request is a no-op.
    pub kubeconfig: Option<kube::config::Kubeconfig>,
    pub cancel: CancellationToken,
}

impl Shared {
    /// The parts for a configuration, its redactor taught every configured secret.
    pub fn new(config: AppConfig, events: mpsc::Sender<AppEvent>, executor: Arc<Executor>) -> Self {
        Shared {
            redactor: ask::redactor_for(&config),
            config,
            events,
            executor,
            kubeconfig: None,
            cancel: CancellationToken::new(),
        }
    }
}

#[cfg(test)]
mod tests;
