//! The controller's file writer. Audit appends (each with its fsync), chat saves, incident
//! reports and remembered namespaces run here, one after another in the order the loop asked
//! for them, on a thread of their own: a slow disk, a full one or an audit log held locked by
//! another program never stalls the event loop. Results come back as events.

use std::sync::mpsc;

type Job = Box<dyn FnOnce() + Send>;

/// One thread running file jobs in order.
pub struct IoWorker {
    jobs: Option<mpsc::Sender<Job>>,
}

impl IoWorker {
    /// Starts the thread; when it cannot be started, jobs run where they are asked for (slower
    /// for the loop, but nothing is lost).
    pub fn start() -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("kubestack-io".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job();
                }
            });
        match spawned {
            Ok(_) => IoWorker { jobs: Some(tx) },
            Err(e) => {
                tracing::error!("cannot start the file writer thread: {e}");
                IoWorker { jobs: None }
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
}
