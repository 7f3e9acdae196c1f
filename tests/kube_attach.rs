//! When discovered instances are connected, through the reducer and the real controller against
//! the in-process API server (issue 11 item 8): the cursor passing over instances opens no
//! port-forward, the one it rests on connects after `kubernetes.attach_delay_ms`; no more than
//! `kubernetes.max_attached` forwards are open at once (the least recently selected is
//! disconnected, with a notice that says so); a workload deleted from the cluster loses its
//! instance and its forward, and its slot goes to the next workload.

mod common;

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::time::Duration;

use common::kube_app::{KubeApp, discovered};
use common::{RedisServer, fast_config};
use crossterm::event::KeyCode;
use kubestack_ai::app::AppState;
use kubestack_playground::kube_api::{Kind, KubeApi};
use kubestack_playground::kube_objects::{self as obj, PodHealth};

const IMAGE: &str = "docker.io/bitnami/redis:7.2";

/// A one-pod Redis StatefulSet `payments/NAME` whose forwards reach `redis`.
fn workload(api: &KubeApi, name: &str, redis: &RedisServer) {
    api.apply(&obj::statefulset("payments", name, "redis", IMAGE, 6379, 1));
    api.apply(&obj::statefulset_pod(
        "payments",
        name,
        "redis",
        IMAGE,
        6379,
        0,
        PodHealth::Ready,
    ));
    api.set_forward(
        "payments",
        &format!("{name}-0"),
        ([127, 0, 0, 1], redis.port).into(),
    );
}

/// The workloads (pod name without its `-N`) the API server was asked to port-forward to.
fn forwarded(api: &KubeApi) -> BTreeSet<String> {
    api.requests()
        .iter()
        .filter(|r| r.contains("/portforward"))
        .filter_map(|r| {
            let pod = r.split("/pods/").nth(1)?.split('/').next()?;
            Some(pod.rsplit_once('-')?.0.to_string())
        })
        .collect()
}

/// Discovered instances the reducer has connected.
fn attached(state: &AppState) -> Vec<String> {
    state
        .instances
        .iter()
        .filter_map(|v| v.kube.as_ref().filter(|b| b.attached))
        .map(|b| b.found.name.clone())
        .collect()
}

/// Local forward listeners that still accept connections (one per connected instance).
fn listening(state: &AppState) -> usize {
    state
        .instances
        .iter()
        .filter(|v| v.kube.is_some())
        .filter_map(|v| url::Url::parse(&v.config.url).ok())
        .filter(|u| u.host_str() == Some("127.0.0.1"))
        .filter_map(|u| u.port())
        .filter(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok())
        .count()
}

fn is_attached(state: &AppState, name: &str) -> bool {
    discovered(state, name)
        .and_then(|i| state.instances[i].kube.as_ref())
        .is_some_and(|b| b.attached && !b.removed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cursor_running_over_fifty_instances_opens_one_forward() {
    let redis = RedisServer::start(&[]);
    let api = KubeApi::start().await;
    for n in 0..50 {
        workload(&api, &format!("cache-{n:02}"), &redis);
    }
    let mut app = KubeApp::start(&api, fast_config()).await;
    app.until("50 discovered instances", |s| {
        s.visible_instances().len() == 50
    })
    .await;
    let first = app.state.selected;
    // Down over all of them, key after key: no time passes between them.
    for _ in 0..49 {
        app.key(KeyCode::Char('j'));
    }
    let last = discovered(&app.state, "cache-49").unwrap();
    assert_eq!(app.state.selected, last);
    assert!(
        attached(&app.state).len() <= 1,
        "moving the cursor connected {:?}",
        attached(&app.state)
    );
    app.until("the instance the cursor rests on connects", |s| {
        is_attached(s, "cache-49")
    })
    .await;
    app.until("its forward is opened", |_| {
        forwarded(&api).contains("cache-49")
    })
    .await;
    // Anything else that was going to open has time to.
    app.run_for(Duration::from_millis(1500)).await;
    let opened = forwarded(&api);
    let first_name = app.state.instances[first]
        .kube
        .as_ref()
        .unwrap()
        .found
        .name
        .clone();
    assert!(
        opened.iter().all(|w| *w == "cache-49" || *w == first_name),
        "forwards opened: {opened:?}"
    );
    let now = attached(&app.state);
    assert!(
        now.iter().all(|w| *w == "cache-49" || *w == first_name),
        "connected: {now:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_than_max_attached_forwards_are_open_and_the_cap_is_said() {
    let redis = RedisServer::start(&[]);
    let api = KubeApi::start().await;
    for n in 0..12 {
        workload(&api, &format!("cache-{n:02}"), &redis);
    }
    // The defaults: 8 at once, after 400 ms of rest.
    let mut app = KubeApp::start(&api, fast_config()).await;
    app.until("12 discovered instances", |s| {
        s.visible_instances().len() == 12
    })
    .await;
    app.key(KeyCode::Char('g'));
    for n in 0..12 {
        if n > 0 {
            app.key(KeyCode::Char('j'));
        }
        let name = format!("cache-{n:02}");
        app.until(&format!("{name} connects after resting on it"), |s| {
            is_attached(s, &name)
        })
        .await;
        let now = attached(&app.state);
        assert!(now.len() <= 8, "{} connected: {now:?}", now.len());
        assert!(app.controller.attached_count() <= 8);
        // Forwards stop shortly after their instance is disconnected.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while listening(&app.state) > 8 {
            assert!(
                std::time::Instant::now() < deadline,
                "more than 8 forwards listen"
            );
            app.run_for(Duration::from_millis(50)).await;
        }
    }
    // The least recently selected were disconnected, the notice says so with the count.
    let now: BTreeSet<String> = attached(&app.state).into_iter().collect();
    let expected: BTreeSet<String> = (4..12).map(|n| format!("cache-{n:02}")).collect();
    assert_eq!(now, expected);
    assert!(
        app.state
            .notices
            .iter()
            .any(|n| n.contains("attached 8/8") && n.contains("payments/cache-03")),
        "{:?}",
        app.state.notices
    );
    let screen = app.screen();
    assert!(screen.contains("attached 8/8"), "{screen}");
    // Back to one still connected, then to a disconnected one: the least recently selected
    // (cache-04, since cache-05 was just visited) goes.
    for _ in 0..6 {
        app.key(KeyCode::Char('k'));
    }
    app.run_for(Duration::from_millis(100)).await;
    app.key(KeyCode::Char('g'));
    app.until("cache-00 connects again", |s| is_attached(s, "cache-00"))
        .await;
    let now: BTreeSet<String> = attached(&app.state).into_iter().collect();
    assert!(!now.contains("cache-04") && now.len() == 8, "{now:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_workload_loses_its_instance_and_forward_and_its_slot_is_reused() {
    let redis = RedisServer::start(&[]);
    let api = KubeApi::start().await;
    workload(&api, "cache", &redis);
    let mut app = KubeApp::start(&api, fast_config()).await;
    app.until("a sample through the forward", |s| {
        discovered(s, "cache")
            .is_some_and(|i| s.instances[i].health == kubestack_ai::app::Health::Up)
    })
    .await;
    let i = discovered(&app.state, "cache").unwrap();
    let port = url::Url::parse(&app.state.instances[i].config.url)
        .unwrap()
        .port()
        .unwrap();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());

    assert!(api.delete(Kind::StatefulSet, "payments", "cache"));
    assert!(api.delete(Kind::Pod, "payments", "cache-0"));
    app.until("the instance leaves the inventory", |s| {
        s.visible_instances().iter().all(|&v| {
            s.instances[v]
                .kube
                .as_ref()
                .is_none_or(|b| b.found.name != "cache")
        })
    })
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the forward of a deleted workload still listens"
        );
        app.run_for(Duration::from_millis(100)).await;
    }
    assert!(!app.screen().contains("cache 1/1"), "{}", app.screen());

    // The next workload takes the vacated slot: the list does not grow with churn.
    let slots = app.state.instances.len();
    workload(&api, "queue", &redis);
    app.until("the next workload is discovered", |s| {
        discovered(s, "queue").is_some()
    })
    .await;
    assert_eq!(app.state.instances.len(), slots);
    assert_eq!(discovered(&app.state, "queue"), Some(i));
}
