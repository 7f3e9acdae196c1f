//! A pod writing a 5 MB line (a JSON blob on one line) through the in-process API server's
//! log endpoint: the line reaches the UI cut to `MAX_LINE_BYTES`, says how much was cut, the
//! pod's state counts the cut lines, and the next line arrives whole (issue 11 item 8).

use std::time::Duration;

use chrono::Utc;
use kubestack_ai::kube::client_for;
use kubestack_ai::kube::logs::{LogOptions, MAX_LINE_BYTES, PodLogEvent, stream_logs};
use kubestack_playground::kube_api::KubeApi;
use kubestack_playground::kube_objects::{self as obj, PodHealth};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_huge_log_line_is_cut_and_counted() {
    let api = KubeApi::start().await;
    api.apply(&obj::statefulset_pod(
        "payments",
        "cache",
        "redis",
        "redis:7.2",
        6379,
        0,
        PodHealth::Ready,
    ));
    let base = Utc::now() - chrono::Duration::seconds(5);
    let huge = format!("{{\"blob\":\"{}\"}}", "x".repeat(5 << 20));
    api.log("payments", "cache-0", base, &huge);
    api.log(
        "payments",
        "cache-0",
        base + chrono::Duration::milliseconds(1),
        "after",
    );
    let client = client_for(
        api.kubeconfig("test", "payments"),
        "test",
        Duration::from_secs(2),
        None,
    )
    .await
    .unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    tokio::spawn(stream_logs(
        client,
        "payments".into(),
        vec!["cache-0".into()],
        LogOptions::default(),
        tx,
        cancel.clone(),
    ));
    let mut lines = Vec::new();
    let mut states = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while lines.len() < 2 || !states.iter().any(|s: &String| s.contains("cut")) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(PodLogEvent::Lines(l))) => lines.extend(l.into_iter().map(|l| l.text)),
            Ok(Some(PodLogEvent::State { text, .. })) => states.push(text),
            Ok(Some(_)) => {}
            other => panic!("{other:?}: {} lines, states {states:?}", lines.len()),
        }
    }
    cancel.cancel();
    assert!(lines[0].len() < MAX_LINE_BYTES + 64, "{}", lines[0].len());
    assert!(lines[0].starts_with("{\"blob\":\"xxx"));
    assert!(
        lines[0].ends_with(" bytes cut]") && lines[0].contains("[… "),
        "{}",
        &lines[0][lines[0].len() - 40..]
    );
    assert_eq!(lines[1], "after");
    assert!(
        states
            .iter()
            .any(|s| s == "following; 1 line(s) longer than 16 KiB cut"),
        "{states:?}"
    );
}
