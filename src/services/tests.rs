//! Each service on its own, without a server: what it sends back, what it owns, how it stops.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Shared;
use super::ask::{AskRequest, AskService};
use super::cluster::{ClusterRequest, ClusterService};
use super::event::AppEvent;
use super::files::FileService;
use super::repair::RepairService;
use crate::config::{AppConfig, InstanceConfig, InstanceKind, SafetyMode};
use crate::repair::{AuditChain, Executor};

/// The parts of a service over a default config, its audit log in `dir`.
fn shared(dir: &std::path::Path, events: mpsc::Sender<AppEvent>) -> Shared {
    shared_with(AppConfig::default(), dir, events)
}

/// The parts of a service over `config`, its audit log in `dir`.
fn shared_with(config: AppConfig, dir: &std::path::Path, events: mpsc::Sender<AppEvent>) -> Shared {
    let chain = AuditChain::open(&dir.join("audit.jsonl")).expect("audit chain");
    let executor = Arc::new(
        Executor::new(
            crate::plugins::registry::backends(),
            &AppConfig::default().safety,
            Arc::new(chain),
        )
        .expect("executor"),
    );
    Shared::new(config, events, executor)
}

async fn next(rx: &mut mpsc::Receiver<AppEvent>) -> AppEvent {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event in time")
        .expect("the channel open")
}

fn notice_text(event: AppEvent) -> (usize, String) {
    match event {
        AppEvent::ChatNotice { instance, text } => (instance, text),
        other => panic!("not a chat notice: {other:?}"),
    }
}

#[tokio::test]
async fn a_report_that_cannot_be_written_is_said_in_the_instances_chat() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(8);
    let files = FileService::new(dir.path().join("data"), tx);
    // A directory where the report file should go: the write fails.
    let blocked = dir.path().join("blocked");
    std::fs::create_dir_all(blocked.join("x.md")).unwrap();
    files.export(
        3,
        "缓存-主",
        Some(blocked.join("x.md")),
        chrono::Utc::now(),
        "# r".into(),
    );
    let (instance, text) = notice_text(next(&mut rx).await);
    assert_eq!(instance, 3);
    assert!(text.starts_with("could not write the report to"), "{text}");

    files.export(4, "缓存-主", None, chrono::Utc::now(), "# report".into());
    let (instance, text) = notice_text(next(&mut rx).await);
    assert_eq!(instance, 4);
    let path = text
        .strip_prefix("incident report written to ")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(path.contains("/reports/__-_-"), "{path}");
    assert_eq!(std::fs::read_to_string(path).unwrap(), "# report");
}

#[tokio::test]
async fn a_conversation_that_cannot_be_saved_is_said_and_a_saved_one_is_silent() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(8);
    // The data dir is a file: nothing can be created under it.
    let data = dir.path().join("data");
    std::fs::write(&data, "not a directory").unwrap();
    let files = FileService::new(data, tx.clone());
    files.save_chat(1, "redis".into(), vec!["hello".to_string()]);
    let (instance, text) = notice_text(next(&mut rx).await);
    assert_eq!(instance, 1);
    assert!(
        text.starts_with("could not save this conversation to"),
        "{text}"
    );

    let files = FileService::new(dir.path().join("ok"), tx);
    files.save_chat(2, "redis".into(), vec!["hello".to_string()]);
    drop(files); // waits for the queue
    assert!(dir.path().join("ok/sessions/redis.json").exists());
    assert!(rx.try_recv().is_err(), "no notice for a saved conversation");
}

#[tokio::test]
async fn a_mode_change_comes_back_as_an_event_and_a_refused_one_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(8);
    let files = FileService::new(dir.path().join("data"), tx.clone());
    let repair = RepairService::new(shared(dir.path(), tx), files.queue());
    repair.set_mode(SafetyMode::ReadOnly, String::new());
    match next(&mut rx).await {
        AppEvent::Repair(super::repair::RepairEvent::ModeChanged(Ok(mode))) => {
            assert_eq!(mode, SafetyMode::ReadOnly)
        }
        other => panic!("{other:?}"),
    }
    // Leaving read-only without a reason is refused, and the refusal says so.
    repair.set_mode(SafetyMode::Confirm, String::new());
    match next(&mut rx).await {
        AppEvent::Repair(super::repair::RepairEvent::ModeChanged(Err(why))) => {
            assert!(why.contains("reason"), "{why}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_rest_timer_is_replaced_by_a_newer_one_and_fires_once() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(8);
    let mut cluster = ClusterService::new(shared(dir.path(), tx));
    cluster.handle(ClusterRequest::AttachAfter {
        instance: 1,
        generation: 1,
        delay: Duration::from_millis(300),
    });
    cluster.handle(ClusterRequest::AttachAfter {
        instance: 2,
        generation: 2,
        delay: Duration::from_millis(300),
    });
    match next(&mut rx).await {
        AppEvent::AttachDue {
            instance,
            generation,
        } => assert_eq!((instance, generation), (2, 2)),
        other => panic!("{other:?}"),
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(rx.try_recv().is_err(), "the replaced timer never fires");
}

#[tokio::test]
async fn without_a_kubeconfig_an_attachment_is_released_at_once_when_detached() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(8);
    let mut cluster = ClusterService::new(shared(dir.path(), tx));
    let found = crate::kube::Discovered {
        kind: InstanceKind::REDIS,
        namespace: "支付".into(),
        name: "redis-付款".into(),
        workload_kind: "StatefulSet",
        service: None,
        port: 6379,
        selector: "app=redis".into(),
        pods: vec!["redis-付款-0".into()],
        ready: 1,
        restarts: 0,
        evidence: String::new(),
    };
    let inst = InstanceConfig::new("redis-付款", InstanceKind::REDIS, "redis://x:6379");
    cluster.handle(ClusterRequest::Attach {
        instance: 7,
        context: "dev".into(),
        found,
        config: inst,
    });
    assert!(
        !cluster.reconnect(7),
        "nothing connected without a kubeconfig"
    );
    assert_eq!(cluster.attached_count(), 0);
    cluster.handle(ClusterRequest::Detach { instance: 7 });
    match next(&mut rx).await {
        AppEvent::Released { instance } => assert_eq!(instance, 7),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn an_offline_question_is_answered_by_the_rule_engine() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let mut ask = AskService::new(shared(dir.path(), tx));
    let request = AskRequest {
        instance: 0,
        config: InstanceConfig::new("缓存", InstanceKind::REDIS, "redis://127.0.0.1:1"),
        kube: None,
        question: "why?".into(),
        prompt: "why?".into(),
        history: Vec::new(),
        profile: None,
        health_problem: Some("connection refused".into()),
        findings: Vec::new(),
    };
    ask.ask(request);
    let mut offline = None;
    loop {
        match next(&mut rx).await {
            AppEvent::Chat {
                event: crate::ai::agent::ChatEvent::Offline(text),
                ..
            } => offline = Some(text),
            AppEvent::Chat {
                event: crate::ai::agent::ChatEvent::Done,
                ..
            } => break,
            _ => {}
        }
    }
    let offline = offline.expect("an offline answer");
    assert!(offline.contains("connection refused"), "{offline}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_question_drops_its_request_to_a_model_that_hangs() {
    use tokio::io::AsyncReadExt;
    // A model endpoint that reads the request and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = AppConfig::default();
    config.ai.profiles.insert(
        "hangs".into(),
        crate::config::ProfileConfig {
            provider: crate::config::ProviderKind::Openai,
            base_url: format!("http://{}/v1", listener.local_addr().unwrap()),
            model: "m".into(),
            api_key_env: None,
            api_version: None,
            timeout_secs: 120.0,
            idle_timeout_secs: 120.0,
            max_output_tokens: 64,
            price_input_per_mtok: None,
            price_output_per_mtok: None,
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let mut ask = AskService::new(shared_with(config, dir.path(), tx));
    ask.ask(AskRequest {
        instance: 0,
        config: InstanceConfig::new("缓存-主", InstanceKind::REDIS, "redis://127.0.0.1:1"),
        kube: None,
        question: "why?".into(),
        prompt: "为什么慢？".into(),
        history: Vec::new(),
        profile: Some("hangs".into()),
        health_problem: None,
        findings: Vec::new(),
    });
    let (mut conn, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .expect("the model is called")
        .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let n = conn.read(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("POST /v1/chat/completions"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    ask.cancel();
    // The request is dropped: its connection closes long before any model timeout (120 s).
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the connection is still open after the cancel"
    );
    let after: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert!(
        !after.iter().any(|e| matches!(
            e,
            AppEvent::Chat {
                event: crate::ai::agent::ChatEvent::Done,
                ..
            }
        )),
        "a cancelled question is not answered: {after:?}"
    );
}
