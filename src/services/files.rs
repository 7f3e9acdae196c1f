//! The file service. Audit appends (each with its fsync), chat saves, incident reports and
//! remembered namespaces run on one queue, one after another in the order the loop asked for
//! them, on a thread of their own: a slow disk, a full one or an audit log held locked by
//! another program never stalls the event loop. Results come back as events.

use std::path::PathBuf;
use std::sync::{Arc, mpsc};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::event::AppEvent;
use super::sessions::{SessionStore, default_report_path};
use crate::kube::NamespaceScope;
use crate::private_file::write_private;

type Job = Box<dyn FnOnce() + Send>;

/// How long the program waits at exit for jobs still queued (an audit record must not be
/// lost because the user quit right after a skip).
const FLUSH_AT_EXIT: std::time::Duration = std::time::Duration::from_secs(10);

/// One thread running file jobs in order.
pub struct IoWorker {
    jobs: Option<mpsc::Sender<Job>>,
    /// Closed by the thread once every job queued before the end has run (in a mutex only so
    /// that the worker can be shared between services across threads).
    done: Option<std::sync::Mutex<mpsc::Receiver<()>>>,
}

impl IoWorker {
    /// Starts the thread; when it cannot be started, jobs run where they are asked for (slower
    /// for the loop, but nothing is lost).
    pub fn start() -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("kubestack-io".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job();
                }
                drop(done_tx);
            });
        match spawned {
            Ok(_) => IoWorker {
                jobs: Some(tx),
                done: Some(std::sync::Mutex::new(done)),
            },
            Err(e) => {
                tracing::error!("cannot start the file writer thread: {e}");
                IoWorker {
                    jobs: None,
                    done: None,
                }
            }
        }
    }

    /// Queues a job behind the ones before it.
    pub fn run(&self, job: impl FnOnce() + Send + 'static) {
        match &self.jobs {
            Some(tx) => {
                if let Err(mpsc::SendError(job)) = tx.send(Box::new(job)) {
                    job();
                }
            }
            None => job(),
        }
    }
}

impl Drop for IoWorker {
    /// Runs what is still queued before the program goes on to exit (bounded: a disk that
    /// hangs for good does not keep the program alive).
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(done) = self.done.take()
            && let Ok(done) = done.into_inner()
            && let Err(mpsc::RecvTimeoutError::Timeout) = done.recv_timeout(FLUSH_AT_EXIT)
        {
            tracing::error!("file writes still pending at exit after {FLUSH_AT_EXIT:?}");
        }
    }
}

/// What the cockpit writes to disk besides the audit log: conversations, incident reports, the
/// namespaces remembered per context — all on the one file queue.
pub struct FileService {
    queue: Arc<IoWorker>,
    sessions: SessionStore,
    data_dir: PathBuf,
    /// Failures are said in the instance's chat (`tokio::sync`: the loop's channel).
    events: tokio::sync::mpsc::Sender<AppEvent>,
}

impl FileService {
    /// A service writing under `data_dir`, with its queue's thread started.
    pub fn new(data_dir: PathBuf, events: tokio::sync::mpsc::Sender<AppEvent>) -> Self {
        FileService {
            queue: Arc::new(IoWorker::start()),
            sessions: SessionStore::new(&data_dir),
            data_dir,
            events,
        }
    }

    /// The queue, for the other services' file writes (the repair service's audit records).
    pub fn queue(&self) -> Arc<IoWorker> {
        self.queue.clone()
    }

    /// Saves a conversation; a failure is said in that chat (the conversation stays in memory).
    pub fn save_chat<M: Serialize + Send + 'static>(
        &self,
        instance: usize,
        name: String,
        chat: Vec<M>,
    ) {
        let (sessions, events) = (self.sessions.clone(), self.events.clone());
        self.queue.run(move || {
            if let Err(e) = sessions.save(&name, &chat) {
                let text = format!(
                    "could not save this conversation to {}: {e}",
                    sessions.path_for(&name).display()
                );
                let _ = events.blocking_send(AppEvent::ChatNotice { instance, text });
            }
        });
    }

    /// Writes an incident report to `path` (default: `reports/NAME-TIME.md` in the data dir)
    /// and says where in the instance's chat.
    pub fn export(
        &self,
        instance: usize,
        name: &str,
        path: Option<PathBuf>,
        now: DateTime<Utc>,
        report: String,
    ) {
        let path = path.unwrap_or_else(|| default_report_path(&self.data_dir, name, now));
        let events = self.events.clone();
        self.queue.run(move || {
            let text = match write_private(&path, report.as_bytes()) {
                Ok(()) => format!("incident report written to {}", path.display()),
                Err(e) => format!("could not write the report to {}: {e}", path.display()),
            };
            let _ = events.blocking_send(AppEvent::ChatNotice { instance, text });
        });
    }

    /// Remembers the namespaces shown for a context (a failure goes to the log only).
    pub fn remember_scope(&self, context: &str, scope: &NamespaceScope) {
        let path = crate::kube::watch::scopes_path(&self.data_dir);
        let (context, scope) = (context.to_string(), scope.clone());
        self.queue.run(move || {
            if let Err(e) = crate::kube::watch::save_scope(&path, &context, &scope) {
                tracing::warn!("cannot remember the namespaces in {}: {e}", path.display());
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_run_in_order_off_the_calling_thread() {
        let worker = IoWorker::start();
        let (tx, rx) = mpsc::channel();
        let caller = std::thread::current().id();
        for i in 0..100 {
            let tx = tx.clone();
            worker.run(move || {
                tx.send((i, std::thread::current().id() != caller)).unwrap();
            });
        }
        let got: Vec<(i32, bool)> = (0..100).map(|_| rx.recv().unwrap()).collect();
        assert!(got.iter().all(|(_, off)| *off));
        assert_eq!(
            got.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            (0..100).collect::<Vec<_>>()
        );
    }

    #[test]
    fn queued_jobs_are_run_before_the_worker_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("written");
        let worker = IoWorker::start();
        let p = path.clone();
        worker.run(|| std::thread::sleep(std::time::Duration::from_millis(200)));
        worker.run(move || std::fs::write(p, "audit").unwrap());
        drop(worker);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "audit");
    }
}
