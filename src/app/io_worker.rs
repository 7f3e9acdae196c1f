//! The controller's file writer. Audit appends (each with its fsync), chat saves, incident
//! reports and remembered namespaces run here, one after another in the order the loop asked
//! for them, on a thread of their own: a slow disk, a full one or an audit log held locked by
//! another program never stalls the event loop. Results come back as events.

use std::sync::mpsc;

type Job = Box<dyn FnOnce() + Send>;

/// How long the program waits at exit for jobs still queued (an audit record must not be
/// lost because the user quit right after a skip).
const FLUSH_AT_EXIT: std::time::Duration = std::time::Duration::from_secs(10);

/// One thread running file jobs in order.
pub struct IoWorker {
    jobs: Option<mpsc::Sender<Job>>,
    /// Closed by the thread once every job queued before the end has run.
    done: Option<mpsc::Receiver<()>>,
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
                done: Some(done),
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
            && let Err(mpsc::RecvTimeoutError::Timeout) = done.recv_timeout(FLUSH_AT_EXIT)
        {
            tracing::error!("file writes still pending at exit after {FLUSH_AT_EXIT:?}");
        }
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
