//! Pod log streams against the in-process API server's log endpoint (`follow`, `sinceTime`,
//! `tailLines`, `previous`, timestamps): merged pods, live lines, a dropped stream resumed
//! without duplicates — also within the same second, which `sinceTime` cannot split — and a
//! bounded queue that counts what a slow screen made it drop.

use std::time::Duration;

use chrono::{DateTime, Utc};
use kubestack_ai::kube::client_for;
use kubestack_ai::kube::logs::{LogOptions, PodLogEvent, PodLogLine, stream_logs};
use kubestack_playground::kube_api::KubeApi;
use kubestack_playground::kube_objects::{self as obj, PodHealth};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

async fn client(api: &KubeApi) -> kube::Client {
    client_for(
        api.kubeconfig("test", "payments"),
        "test",
        Duration::from_secs(2),
        None,
    )
    .await
    .unwrap()
}

fn pods(api: &KubeApi) {
    for i in 0..2 {
        api.apply(&obj::statefulset_pod(
            "payments",
            "cache",
            "redis",
            "redis:7.2",
            6379,
            i,
            PodHealth::Ready,
        ));
    }
}

/// A time in the current second plus `n` microseconds.
fn at(base: DateTime<Utc>, n: i64) -> DateTime<Utc> {
    base + chrono::Duration::microseconds(n)
}

struct Collected {
    lines: Vec<PodLogLine>,
    states: Vec<(String, String)>,
    dropped: u64,
}

async fn collect_until(
    rx: &mut mpsc::Receiver<PodLogEvent>,
    c: &mut Collected,
    what: &str,
    done: impl Fn(&Collected) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done(c) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(PodLogEvent::Lines(l))) => c.lines.extend(l),
            Ok(Some(PodLogEvent::State { pod, text })) => c.states.push((pod, text)),
            Ok(Some(PodLogEvent::Dropped(n))) => c.dropped += n,
            Ok(None) => panic!("stream ended waiting for {what}"),
            Err(_) => panic!(
                "timed out waiting for {what}: {} lines, states {:?}",
                c.lines.len(),
                c.states
            ),
        }
    }
}

#[tokio::test]
async fn pods_merge_follow_and_resume_without_duplicates() {
    let api = KubeApi::start().await;
    pods(&api);
    let base = Utc::now() - chrono::Duration::seconds(5);
    for n in 0..3 {
        api.log("payments", "cache-0", at(base, n), &format!("zero {n}"));
        api.log("payments", "cache-1", at(base, n), &format!("one {n}"));
    }
    let client = client(&api).await;
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    tokio::spawn(stream_logs(
        client,
        "payments".into(),
        vec!["cache-0".into(), "cache-1".into()],
        LogOptions::default(),
        tx,
        cancel.clone(),
    ));
    let mut c = Collected {
        lines: Vec::new(),
        states: Vec::new(),
        dropped: 0,
    };
    collect_until(&mut rx, &mut c, "both pods' lines", |c| c.lines.len() == 6).await;
    assert_eq!(c.lines.iter().filter(|l| l.pod == "cache-1").count(), 3);
    assert!(
        api.requests()
            .iter()
            .any(|r| r.contains("/pods/cache-0/log?")
                && r.contains("follow=true")
                && r.contains("timestamps=true"))
    );

    // Live lines arrive while following.
    api.log("payments", "cache-0", at(base, 3), "zero 3");
    collect_until(&mut rx, &mut c, "a live line", |c| c.lines.len() == 7).await;

    // The stream drops; lines written meanwhile — in the same second as the last one shown —
    // come once, and nothing is repeated.
    api.drop_streams();
    api.log("payments", "cache-0", at(base, 4), "zero 4");
    api.log("payments", "cache-1", at(base, 3), "one 3");
    collect_until(&mut rx, &mut c, "the lines after the drop", |c| {
        c.lines.len() >= 9
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    while let Ok(ev) = rx.try_recv() {
        if let PodLogEvent::Lines(l) = ev {
            c.lines.extend(l);
        }
    }
    let zero: Vec<&str> = c
        .lines
        .iter()
        .filter(|l| l.pod == "cache-0")
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(zero, ["zero 0", "zero 1", "zero 2", "zero 3", "zero 4"]);
    let one: Vec<&str> = c
        .lines
        .iter()
        .filter(|l| l.pod == "cache-1")
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(one, ["one 0", "one 1", "one 2", "one 3"]);
    assert!(
        c.states.iter().any(|(_, t)| t.starts_with("reconnecting")),
        "{:?}",
        c.states
    );
    let resumed = api
        .requests()
        .into_iter()
        .filter(|r| r.contains("/pods/cache-0/log?"))
        .nth(1)
        .unwrap();
    assert!(
        resumed.contains("sinceTime="),
        "resumed from the last line's time: {resumed}"
    );
    cancel.cancel();
}

#[tokio::test]
async fn tail_since_and_previous() {
    let api = KubeApi::start().await;
    pods(&api);
    let now = Utc::now();
    api.log(
        "payments",
        "cache-0",
        now - chrono::Duration::minutes(10),
        "old",
    );
    for n in 0..4 {
        api.log(
            "payments",
            "cache-0",
            now - chrono::Duration::seconds(4 - n),
            &format!("recent {n}"),
        );
    }
    api.previous_log(
        "payments",
        "cache-0",
        &[(now - chrono::Duration::minutes(20), "FATAL out of memory")],
    );
    let client = client(&api).await;
    let run = |options: LogOptions| {
        let client = client.clone();
        async move {
            let (tx, mut rx) = mpsc::channel(64);
            let cancel = CancellationToken::new();
            tokio::spawn(stream_logs(
                client,
                "payments".into(),
                vec!["cache-0".into()],
                options,
                tx,
                cancel.clone(),
            ));
            let mut c = Collected {
                lines: Vec::new(),
                states: Vec::new(),
                dropped: 0,
            };
            tokio::time::sleep(Duration::from_millis(600)).await;
            while let Ok(ev) = rx.try_recv() {
                match ev {
                    PodLogEvent::Lines(l) => c.lines.extend(l),
                    PodLogEvent::State { pod, text } => c.states.push((pod, text)),
                    PodLogEvent::Dropped(n) => c.dropped += n,
                }
            }
            cancel.cancel();
            c
        }
    };
    let tail = run(LogOptions {
        tail_lines: Some(2),
        ..Default::default()
    })
    .await;
    assert_eq!(
        tail.lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>(),
        ["recent 2", "recent 3"]
    );
    let since = run(LogOptions::default().parse_into("since 1m").unwrap()).await;
    assert_eq!(
        since.lines.len(),
        4,
        "the 10-minute-old line is outside `since 1m`"
    );
    let prev = run(LogOptions::default().parse_into("previous").unwrap()).await;
    assert_eq!(
        prev.lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>(),
        ["FATAL out of memory"]
    );
    assert!(
        prev.states.iter().any(|(_, t)| t == "ended"),
        "a previous container is not followed: {:?}",
        prev.states
    );
}

#[tokio::test]
async fn a_slow_screen_makes_the_queue_drop_and_count() {
    let api = KubeApi::start().await;
    pods(&api);
    let client = client(&api).await;
    // A channel of one batch that nobody reads for a while: the queue fills and drops.
    let (tx, mut rx) = mpsc::channel(1);
    let cancel = CancellationToken::new();
    tokio::spawn(stream_logs(
        client,
        "payments".into(),
        vec!["cache-0".into()],
        LogOptions::default(),
        tx,
        cancel.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let base = Utc::now();
    let total = 3 * kubestack_ai::kube::logs::QUEUE_LINES;
    for n in 0..total {
        api.log(
            "payments",
            "cache-0",
            at(base, n as i64),
            &format!("line {n}"),
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut c = Collected {
        lines: Vec::new(),
        states: Vec::new(),
        dropped: 0,
    };
    collect_until(&mut rx, &mut c, "every line delivered or counted", |c| {
        c.lines.len() as u64 + c.dropped == total as u64
    })
    .await;
    assert!(c.dropped > 0, "lines were dropped and counted");
    // What is shown is the newest, in order.
    assert_eq!(c.lines.last().unwrap().text, format!("line {}", total - 1));
    assert!(c.lines.windows(2).all(|w| w[0].at < w[1].at));
    cancel.cancel();
}

/// Opening the logs of a 50-pod instance asks for each pod's last 200 lines at once — 10,000
/// lines in the first moments, more than the queue once held between two flushes (it dropped
/// half of them). A screen that keeps up loses nothing, and nothing is counted as dropped.
#[tokio::test]
async fn a_burst_of_ten_thousand_lines_at_open_is_delivered_whole() {
    let api = KubeApi::start().await;
    let base = Utc::now() - chrono::Duration::seconds(60);
    let mut batch = Vec::new();
    for i in 0..50 {
        api.apply(&obj::statefulset_pod(
            "payments",
            "cache",
            "redis",
            "redis:7.2",
            6379,
            i,
            PodHealth::Ready,
        ));
        for n in 0..200 {
            batch.push((
                "payments".to_string(),
                format!("cache-{i}"),
                at(base, i as i64 * 1000 + n),
                format!("pod {i} line {n} 缓存"),
            ));
        }
    }
    api.log_batch(&batch);
    let client = client(&api).await;
    let (tx, mut rx) = mpsc::channel(8);
    let cancel = CancellationToken::new();
    tokio::spawn(stream_logs(
        client,
        "payments".into(),
        (0..50).map(|i| format!("cache-{i}")).collect(),
        LogOptions {
            tail_lines: Some(200),
            ..Default::default()
        },
        tx,
        cancel.clone(),
    ));
    let mut c = Collected {
        lines: Vec::new(),
        states: Vec::new(),
        dropped: 0,
    };
    collect_until(&mut rx, &mut c, "10,000 lines", |c| {
        c.lines.len() as u64 + c.dropped >= 10_000
    })
    .await;
    assert_eq!(c.dropped, 0, "nothing dropped");
    assert_eq!(c.lines.len(), 10_000);
    for i in 0..50 {
        let pod = format!("cache-{i}");
        let mine: Vec<&PodLogLine> = c.lines.iter().filter(|l| l.pod == pod).collect();
        assert_eq!(mine.len(), 200, "{pod}");
        assert!(mine.windows(2).all(|w| w[0].at < w[1].at), "{pod} in order");
    }
    cancel.cancel();
}
