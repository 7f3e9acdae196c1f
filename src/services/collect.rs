//! One background task per instance: collect on an interval, back off while unreachable,
//! stop on wrong credentials until asked to reconnect. Never blocks the UI.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::event::{AppEvent, Health};
use crate::plugins::{Collector, PluginError};

/// Requests the UI can send to a supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupervisorCommand {
    /// Drop the connection and try again now.
    Reconnect,
}

/// Timing of one supervisor.
#[derive(Debug, Clone, Copy)]
pub struct SupervisorTiming {
    pub interval: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

/// The delay before retry number `failures` (1-based): base × 2^(n−1), capped.
pub fn backoff_delay(timing: &SupervisorTiming, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    timing
        .backoff_base
        .saturating_mul(factor)
        .min(timing.backoff_max)
}

/// Runs until cancelled or the UI's channel closes.
pub async fn supervise(
    instance: usize,
    mut collector: Box<dyn Collector>,
    events: mpsc::Sender<AppEvent>,
    mut commands: mpsc::Receiver<SupervisorCommand>,
    timing: SupervisorTiming,
    cancel: CancellationToken,
) {
    let mut failures: u32 = 0;
    loop {
        let result = tokio::select! {
            r = collector.collect() => r,
            _ = cancel.cancelled() => return,
        };
        let (event, wait) = match result {
            Ok(snapshot) => {
                failures = 0;
                (
                    AppEvent::Snapshot {
                        instance,
                        snapshot: Box::new(snapshot),
                    },
                    Some(timing.interval),
                )
            }
            Err(e) if e.is_retryable() => {
                // A refusal is the diagnosis: its finding goes to the findings pane first.
                if let Some(finding) = e.refusal_finding() {
                    let refused = AppEvent::Refused {
                        instance,
                        finding: Box::new(finding.clone()),
                    };
                    if events.send(refused).await.is_err() {
                        return;
                    }
                }
                failures = failures.saturating_add(1);
                let delay = backoff_delay(&timing, failures);
                tracing::warn!(instance, failures, "collection failed: {e}");
                let health = Health::Down {
                    error: e.to_string(),
                    retry_in_secs: delay.as_secs_f64(),
                };
                (AppEvent::Health { instance, health }, Some(delay))
            }
            Err(e) => {
                tracing::error!(instance, "collection stopped: {e}");
                let health = match &e {
                    PluginError::Auth { .. } => Health::AuthFailed {
                        error: e.to_string(),
                    },
                    _ => Health::Misconfigured {
                        error: e.to_string(),
                    },
                };
                // No retry storm on wrong credentials: wait for an explicit reconnect.
                (AppEvent::Health { instance, health }, None)
            }
        };
        if events.send(event).await.is_err() {
            return;
        }
        let sleep = async {
            match wait {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = sleep => {}
            cmd = commands.recv() => match cmd {
                Some(SupervisorCommand::Reconnect) => {
                    collector.reset();
                    failures = 0;
                    if events.send(AppEvent::Health { instance, health: Health::Connecting }).await.is_err() {
                        return;
                    }
                }
                None => return,
            },
            _ = cancel.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let t = SupervisorTiming {
            interval: Duration::from_secs(2),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
        };
        let secs: Vec<u64> = (1..=7).map(|n| backoff_delay(&t, n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff_delay(&t, 1000).as_secs(), 30);
    }
}
