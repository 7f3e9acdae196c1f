//! Tasks that run on a thread and a small runtime of their own: Kubernetes work (kube may run
//! an exec credential plugin synchronously) and the AI's tool building (reads password and TLS
//! files) never hold a worker of the UI's runtime.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::event::AppEvent;

/// Runs a Kubernetes task on a thread of its own with a small runtime, until it returns: kube
/// runs exec credential plugins (`aws eks get-token`, kubelogin …) synchronously when it
/// refreshes a token, and that must never hold a worker of the UI's runtime. Tasks the job
/// spawns (watchers, the forward, the instance's supervisor) live on that runtime and end with it.
pub fn spawn_isolated<F>(name: &str, job: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    spawn_isolated_until(name, job, None);
}

/// `spawn_isolated`, holding `guard` until the job and every task it spawned are gone (its
/// runtime dropped): nothing the job started can send an event after the guard drops.
pub fn spawn_isolated_until<F>(name: &str, job: F, guard: Option<Arc<ReleaseGuard>>)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let label = name.to_string();
    let spawned = std::thread::Builder::new()
        .name(format!("kube-{name}"))
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => {
                    rt.block_on(job);
                    drop(rt);
                }
                Err(e) => tracing::error!("cannot start a runtime for {label}: {e}"),
            }
            drop(guard);
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start a thread for {name}: {e}");
    }
}

/// Shared by the tasks of one attachment of a discovered instance (forward, collector, log
/// streams); when the last holder lets go, `AppEvent::Released` tells the loop that nothing
/// more comes from that attachment, so a vacated slot can be given to another instance.
#[derive(Debug)]
pub struct ReleaseGuard {
    pub instance: usize,
    pub events: mpsc::Sender<AppEvent>,
}

impl Drop for ReleaseGuard {
    fn drop(&mut self) {
        let event = AppEvent::Released {
            instance: self.instance,
        };
        match self.events.try_send(event) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            // Never wait here (this may be the loop's thread): a short-lived thread waits.
            Err(mpsc::error::TrySendError::Full(event)) => {
                let events = self.events.clone();
                let _ = std::thread::Builder::new()
                    .name("kube-release".into())
                    .spawn(move || {
                        let _ = events.blocking_send(event);
                    });
            }
        }
    }
}
