use super::*;
use crate::repair::plan::{PlanTarget, Provenance, Risk, RollbackSpec};

/// A backend whose writes succeed until `fail_at`; `before_write` runs first (to break the
/// audit log at a chosen moment).
struct Scripted {
    fail_at: Option<usize>,
    writes: usize,
    before_write: Box<dyn FnMut(usize) + Send>,
}

impl WriteBackend for Scripted {
    fn identity(&mut self) -> BoxFuture<'_, Result<String, PluginError>> {
        Box::pin(async { Ok("id-1".to_string()) })
    }
    fn read<'a>(&'a mut self, _: &'a Command) -> BoxFuture<'a, Result<Reply, PluginError>> {
        Box::pin(async { Ok(Reply::Text("OK".into())) })
    }
    fn write<'a>(
        &'a mut self,
        command: &'a Command,
        _token: &'a ExecutorToken,
    ) -> BoxFuture<'a, Result<Reply, PluginError>> {
        let n = self.writes;
        self.writes += 1;
        (self.before_write)(n);
        let fail = self.fail_at == Some(n);
        Box::pin(async move {
            if fail {
                Err(PluginError::Refused(format!("ERR refused {command}")))
            } else {
                Ok(Reply::Text("OK".into()))
            }
        })
    }
    fn prepare(&self, _: &RepairStep, _: &[(String, Reply)]) -> PreparedStep {
        PreparedStep {
            captured: Vec::new(),
            preview: String::new(),
            rollback: Vec::new(),
            rollback_text: String::new(),
        }
    }
    fn judge(&self, _: &RepairStep, _: &Reply, _: &PreparedStep) -> Result<String, String> {
        Ok("ok".into())
    }
}

fn step(commands: usize) -> RepairStep {
    RepairStep {
        action: "RDS-FIX-TEST".into(),
        title: "three writes".into(),
        target: PlanTarget {
            instance: "订单缓存".into(),
            endpoint: "redis://127.0.0.1:1".into(),
            identity: Some("id-1".into()),
            context: None,
        },
        risk: Risk::Safe,
        commands: (0..commands)
            .map(|i| Command::new(&["CONFIG", "SET", "k", &i.to_string()]))
            .collect(),
        capture: Vec::new(),
        rollback: RollbackSpec::NotNeeded("test".into()),
        verify: None,
        effect: String::new(),
        why: String::new(),
        provenance: Provenance::User,
        for_busy_server: false,
    }
}

fn executor(dir: &std::path::Path) -> (Executor, std::path::PathBuf) {
    let path = dir.join("audit.jsonl");
    let chain = Arc::new(AuditChain::open(&path).unwrap());
    let safety = SafetyConfig {
        mode: SafetyMode::Confirm,
        read_only_contexts: Vec::new(),
    };
    (
        Executor::new(Arc::new(NoBackends), &safety, chain).unwrap(),
        path,
    )
}

/// The unit tests hand their backends in directly.
struct NoBackends;

impl BackendFactory for NoBackends {
    fn side_of(&self, _: &str) -> FindingSource {
        FindingSource::Instance
    }
    fn instance_backend(
        &self,
        _: &InstanceConfig,
        _: &AppConfig,
        _: &ExecutorToken,
    ) -> Result<Box<dyn WriteBackend>, PluginError> {
        Err(PluginError::Config("no backends in unit tests".into()))
    }
    fn kubernetes_backend(
        &self,
        _: kube::config::Kubeconfig,
        _: &str,
        _: &ExecutorToken,
    ) -> Box<dyn WriteBackend> {
        unreachable!("no Kubernetes step in unit tests")
    }
}

#[tokio::test]
async fn a_step_that_fails_half_way_is_reported_as_partial() {
    let dir = tempfile::tempdir().unwrap();
    let (executor, path) = executor(dir.path());
    let mut backend = Scripted {
        fail_at: Some(1),
        writes: 0,
        before_write: Box::new(|_| {}),
    };
    let err = executor
        .execute(&mut backend, &step(3), &Confirmation::default())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            RepairError::Partial {
                done: 1,
                total: 3,
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("PARTIAL: 1 of 3") && text.contains("k 0"),
        "{text}"
    );
    assert_eq!(backend.writes, 2, "the third command is not sent");
    let records = crate::repair::verify_chain(&path).unwrap();
    let failed = records.last().unwrap();
    assert_eq!(failed.event, AuditEvent::Failed);
    assert!(
        failed
            .result
            .as_deref()
            .unwrap()
            .contains("partial: 1 of 3")
    );
}

#[tokio::test]
async fn a_write_whose_record_cannot_be_written_is_loud_and_stops_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let (executor, path) = executor(dir.path());
    let broken = path.clone();
    // After the first write goes out, the log becomes unwritable (a directory in its place;
    // permissions would not stop root).
    let mut backend = Scripted {
        fail_at: None,
        writes: 0,
        before_write: Box::new(move |n| {
            if n == 0 {
                std::fs::remove_file(&broken).unwrap();
                std::fs::create_dir(&broken).unwrap();
            }
        }),
    };
    let err = executor
        .execute(&mut backend, &step(3), &Confirmation::default())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, RepairError::UnrecordedWrite { remaining: 2, .. }),
        "{text}"
    );
    assert!(text.starts_with("EXECUTED BUT NOT RECORDED"), "{text}");
    assert!(!text.contains("nothing was executed"), "{text}");
    assert_eq!(backend.writes, 1, "nothing more is sent once the log fails");

    // With the log still broken, the next step is refused before anything is sent.
    let err = executor
        .execute(&mut backend, &step(1), &Confirmation::default())
        .await
        .unwrap_err();
    assert!(matches!(err, RepairError::Audit(_)), "{err}");
    assert_eq!(backend.writes, 1);
}
