//! The background supervisor against a real redis-server: down → backoff → recovers by itself;
//! wrong password → one clear error, no retry storm (checked on the server side).

mod common;

use std::time::Duration;

use common::{RedisServer, fast_config, redis_instance};
use kubestack_ai::app::{AppEvent, Health};
use kubestack_ai::plugins::plugin_for;
use kubestack_ai::services::collect::{SupervisorCommand, SupervisorTiming, supervise};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

fn timing() -> SupervisorTiming {
    SupervisorTiming {
        interval: Duration::from_millis(100),
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
    }
}

/// Waits for the next event matching `pred`, skipping others.
async fn next_matching(
    rx: &mut mpsc::Receiver<AppEvent>,
    what: &str,
    pred: impl Fn(&AppEvent) -> bool,
) -> AppEvent {
    let wait = async {
        loop {
            match rx.recv().await {
                Some(ev) if pred(&ev) => return ev,
                Some(_) => continue,
                None => panic!("channel closed while waiting for {what}"),
            }
        }
    };
    timeout(Duration::from_secs(15), wait)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// A supervisor over `inst` with the fast test timing; returns its events, its command
/// sender, the token that stops it and its task.
fn start_supervisor(
    inst: &kubestack_ai::config::InstanceConfig,
) -> (
    mpsc::Receiver<AppEvent>,
    mpsc::Sender<SupervisorCommand>,
    CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let collector = plugin_for(inst.kind)
        .collector(inst, &fast_config())
        .unwrap();
    let (tx, rx) = mpsc::channel(64);
    let (cmd_tx, cmd_rx) = mpsc::channel(4);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(supervise(
        0,
        collector,
        tx,
        cmd_rx,
        timing(),
        cancel.clone(),
    ));
    (rx, cmd_tx, cancel, task)
}

fn is_down(ev: &AppEvent) -> bool {
    matches!(
        ev,
        AppEvent::Health {
            health: Health::Down { .. },
            ..
        }
    )
}

fn is_snapshot(ev: &AppEvent) -> bool {
    matches!(ev, AppEvent::Snapshot { .. })
}

#[tokio::test]
async fn collector_recovers_when_redis_comes_back() {
    let mut server = RedisServer::start(&[]);
    let inst = redis_instance("flappy", &server.url());
    let (mut rx, _cmd_tx, cancel, task) = start_supervisor(&inst);

    next_matching(&mut rx, "a first snapshot", is_snapshot).await;
    server.stop();
    let down = next_matching(&mut rx, "a down report", is_down).await;
    if let AppEvent::Health {
        health: Health::Down {
            error,
            retry_in_secs,
        },
        ..
    } = down
    {
        assert!(error.contains(&server.port.to_string()), "{error}");
        assert!(retry_in_secs > 0.0);
    }
    // Backoff grows while it stays down.
    let second_down = next_matching(&mut rx, "a second down report", is_down).await;
    if let AppEvent::Health {
        health: Health::Down { retry_in_secs, .. },
        ..
    } = second_down
    {
        assert!(retry_in_secs >= 0.2, "backoff doubled: {retry_in_secs}");
    }
    server.restart();
    next_matching(&mut rx, "a snapshot after the restart", is_snapshot).await;
    cancel.cancel();
    timeout(Duration::from_secs(5), task)
        .await
        .expect("supervisor stops on cancel")
        .unwrap();
}

#[tokio::test]
async fn wrong_password_stops_without_a_retry_storm_until_asked() {
    let server = RedisServer::start(&["--requirepass", "right-one"]);
    let dir = tempfile::tempdir().unwrap();
    let pw_file = dir.path().join("pw");
    std::fs::write(&pw_file, "wrong-one\n").unwrap();
    let mut inst = redis_instance("locked", &server.url());
    inst.password_file = Some(pw_file.clone());
    let (mut rx, cmd_tx, cancel, task) = start_supervisor(&inst);

    let ev = next_matching(&mut rx, "an auth failure", |ev| {
        matches!(ev, AppEvent::Health { .. })
    })
    .await;
    match ev {
        AppEvent::Health {
            health: Health::AuthFailed { error },
            ..
        } => {
            assert!(error.contains("authentication"), "{error}");
            assert!(!error.contains("wrong-one"), "{error}");
        }
        other => panic!("expected AuthFailed, got {other:?}"),
    }
    let mut admin = server.client_with_password(Some("right-one"));
    let before: u64 = server
        .info_field(&mut admin, "total_connections_received")
        .unwrap()
        .parse()
        .unwrap();
    // Ten retry intervals pass: a retry storm would show up as new connections.
    assert!(
        timeout(Duration::from_secs(1), rx.recv()).await.is_err(),
        "no further events"
    );
    let after: u64 = server
        .info_field(&mut admin, "total_connections_received")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(after, before, "no new connection in a second: no retries");

    // An explicit reconnect tries again once — still refused, still one report.
    cmd_tx.send(SupervisorCommand::Reconnect).await.unwrap();
    next_matching(&mut rx, "connecting after R", |ev| {
        matches!(
            ev,
            AppEvent::Health {
                health: Health::Connecting,
                ..
            }
        )
    })
    .await;
    next_matching(&mut rx, "the second auth failure", |ev| {
        matches!(
            ev,
            AppEvent::Health {
                health: Health::AuthFailed { .. },
                ..
            }
        )
    })
    .await;
    cancel.cancel();
    timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_at_maxclients_shows_its_refusal_as_a_finding_then_recovers() {
    let redis = RedisServer::start(&["--maxclients", "1"]);
    let holder = common::hold_redis_slot(redis.port);
    let inst = redis_instance("cache", &redis.url());
    let (mut rx, _cmd, cancel, task) = start_supervisor(&inst);
    let refused = next_matching(&mut rx, "the refusal", |e| {
        matches!(e, AppEvent::Refused { .. })
    })
    .await;
    let AppEvent::Refused { finding, .. } = refused else {
        unreachable!()
    };
    assert_eq!(finding.id, "RDS-CONN-01");
    assert_eq!(finding.severity, kubestack_ai::diagnose::Severity::Critical);
    let evidence = format!("{:?}", finding.evidence);
    assert!(
        evidence.contains("max number of clients reached"),
        "the server's own words are the evidence: {evidence}"
    );

    // Through the reducer: the findings pane lists it while the instance is down.
    let config = kubestack_ai::config::AppConfig {
        instances: vec![inst.clone()],
        ..Default::default()
    };
    let (mut state, _) = kubestack_ai::app::build_state(
        &config,
        kubestack_ai::keymap::Keymap::builtin(),
        Vec::new(),
    );
    state.handle_event(AppEvent::Refused {
        instance: 0,
        finding,
    });
    assert_eq!(state.instances[0].findings[0].finding.id, "RDS-CONN-01");

    // A slot frees up: the next sample is a normal one.
    drop(holder);
    next_matching(&mut rx, "a snapshot after the slot frees", is_snapshot).await;
    cancel.cancel();
    let _ = task.await;
}
