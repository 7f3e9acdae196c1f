//! Caps on what one question may cost (issue 11 item 8): a model that orders hundreds of tool
//! calls in a round gets only the capped number run, the rest answered "not run", and the user
//! sees a notice; an answer streamed past its byte cap is cut with a notice.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::llm_server::{LlmServer, Reply, openai_text_stream, split_every};
use futures::future::BoxFuture;
use kubestack_ai::ai::agent::{AskJob, AskLimits, CAPPED_CALL_ANSWER, ChatEvent, run_ask};
use kubestack_ai::ai::provider::ToolSpec;
use kubestack_ai::ai::redact::{RedactionPolicy, Redactor};
use kubestack_ai::config::{ProfileConfig, ProviderKind};
use kubestack_ai::plugins::ToolRunner;
use tokio::sync::mpsc;

/// Counts every call that reaches the tools (the stand-in for `redis_bigkeys` on production).
struct CountingTools(Arc<AtomicUsize>);

impl ToolRunner for CountingTools {
    fn specs(&self) -> Vec<ToolSpec> {
        vec![ToolSpec {
            name: "redis_bigkeys".into(),
            description: "scan".into(),
            parameters: serde_json::json!({"type":"object"}),
        }]
    }

    fn call<'a>(
        &'a mut self,
        _name: &'a str,
        _args: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<String, String>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok("biggest key: k (1 MB)".to_string()) })
    }
}

/// An OpenAI-style stream asking for `n` tool calls at once.
fn many_tool_calls(round: usize, n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let c = serde_json::json!({"choices":[{"index":0,"delta":{"tool_calls":[
            {"index":i,"id":format!("r{round}c{i}"),"type":"function",
             "function":{"name":"redis_bigkeys","arguments":"{}"}}]}}]});
        s.push_str(&format!("data: {c}\n\n"));
    }
    s.push_str(
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
    );
    s.push_str("data: [DONE]\n\n");
    s
}

fn sse(text: &str) -> Reply {
    Reply::Sse {
        chunks: split_every(text, 4093),
        gap: Duration::ZERO,
    }
}

fn job(base_url: &str, tools: Arc<AtomicUsize>, limits: AskLimits, rounds: usize) -> AskJob {
    AskJob {
        profile: Some((
            "t".into(),
            ProfileConfig {
                provider: ProviderKind::Openai,
                base_url: base_url.to_string(),
                model: "m".into(),
                api_key_env: None,
                api_version: None,
                timeout_secs: 5.0,
                idle_timeout_secs: 5.0,
                max_output_tokens: 100,
                price_input_per_mtok: None,
                price_output_per_mtok: None,
            },
        )),
        history: Vec::new(),
        prompt: "why is it slow?".into(),
        tools: Some(Box::new(CountingTools(tools))),
        redactor: Arc::new(Mutex::new(Redactor::new(RedactionPolicy::default()))),
        max_iterations: rounds,
        tool_result_max_bytes: 4096,
        offline: "offline".into(),
        audit: None,
        actions: String::new(),
        limits,
    }
}

async fn run(job: AskJob) -> (String, Vec<ChatEvent>) {
    let (tx, mut rx) = mpsc::channel(64);
    let collector = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(ev) = rx.recv().await {
            all.push(ev);
        }
        all
    });
    let answer = run_ask(job, tx).await;
    (answer, collector.await.unwrap())
}

fn notices(events: &[ChatEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::Notice(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_tool_calls_in_one_round_run_only_the_cap() {
    let llm = LlmServer::start(vec![
        sse(&many_tool_calls(0, 300)),
        sse(&openai_text_stream(&["done"], (1, 1))),
    ])
    .await;
    let ran = Arc::new(AtomicUsize::new(0));
    let limits = AskLimits {
        tool_calls_per_round: 8,
        ..AskLimits::default()
    };
    let (answer, events) = run(job(&llm.base_url, ran.clone(), limits, 4)).await;
    assert_eq!(answer, "done");
    assert_eq!(
        ran.load(Ordering::SeqCst),
        8,
        "only the cap reaches the tools"
    );
    let shown = events
        .iter()
        .filter(|e| matches!(e, ChatEvent::ToolCall { .. }))
        .count();
    assert_eq!(shown, 8);
    let n = notices(&events);
    assert!(
        n.iter()
            .any(|t| t.starts_with("tool calls capped: 292 not run")),
        "{n:?}"
    );
    // The model is told, for each refused call it kept in the turn, that it was not run.
    let bodies = llm.bodies();
    assert_eq!(bodies.len(), 2);
    let refusals = bodies[1].matches(CAPPED_CALL_ANSWER).count();
    assert_eq!(
        refusals,
        256 - 8,
        "refused calls kept in the turn are answered"
    );
    assert!(
        !bodies[1].contains("r0c256"),
        "calls past the kept limit do not grow the conversation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_question_cap_holds_across_rounds() {
    let llm = LlmServer::start(vec![
        sse(&many_tool_calls(0, 6)),
        sse(&many_tool_calls(1, 6)),
        sse(&many_tool_calls(2, 6)),
        sse(&openai_text_stream(&["done"], (1, 1))),
    ])
    .await;
    let ran = Arc::new(AtomicUsize::new(0));
    let limits = AskLimits {
        tool_calls_per_round: 8,
        tool_calls_per_question: 10,
        ..AskLimits::default()
    };
    let (answer, events) = run(job(&llm.base_url, ran.clone(), limits, 5)).await;
    assert_eq!(answer, "done");
    assert_eq!(ran.load(Ordering::SeqCst), 10);
    let n = notices(&events);
    assert!(
        n.iter()
            .any(|t| t.starts_with("tool calls capped: 2 not run")),
        "{n:?}"
    );
    assert!(
        n.iter()
            .any(|t| t.starts_with("tool calls capped: 6 not run")),
        "{n:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_answer_is_cut_at_the_cap_with_a_notice() {
    let token = "é".repeat(500); // 1000 bytes, two-byte characters
    let tokens: Vec<&str> = std::iter::repeat_n(token.as_str(), 300).collect();
    let llm = LlmServer::start(vec![sse(&openai_text_stream(&tokens, (1, 1)))]).await;
    let ran = Arc::new(AtomicUsize::new(0));
    let limits = AskLimits {
        answer_bytes: 10_001,
        ..AskLimits::default()
    };
    let (answer, events) = run(job(&llm.base_url, ran, limits, 1)).await;
    assert_eq!(answer.len(), 10_000, "cut on a character boundary");
    let streamed: usize = events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::Token(t) => Some(t.len()),
            _ => None,
        })
        .sum();
    assert_eq!(streamed, 10_000, "the UI never gets more than the cap");
    let n = notices(&events);
    assert!(
        n.iter()
            .any(|t| t == "answer capped at 10001 bytes: 290000 bytes dropped"),
        "{n:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_stream_event_is_skipped_and_counted_as_malformed() {
    let mut stream = format!("data: {}\n\n", "x".repeat(3 << 20));
    stream.push_str(&openai_text_stream(&["still ", "here"], (1, 1)));
    let llm = LlmServer::start(vec![sse(&stream)]).await;
    let ran = Arc::new(AtomicUsize::new(0));
    let (answer, events) = run(job(&llm.base_url, ran, AskLimits::default(), 1)).await;
    assert_eq!(answer, "still here");
    let n = notices(&events);
    assert!(
        n.iter()
            .any(|t| t == "1 malformed stream chunk(s) were skipped"),
        "{n:?}"
    );
}

/// A provider that answers HTTP 400 with a 64 MiB body and records how much of it it could
/// write before the client hung up.
async fn huge_error_server() -> (String, tokio::sync::oneshot::Receiver<usize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = sock.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        const TOTAL: usize = 64 << 20;
        let _ = sock
            .write_all(
                format!("HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {TOTAL}\r\n\r\n")
                    .as_bytes(),
            )
            .await;
        let piece = vec![b'e'; 64 * 1024];
        let mut written = 0;
        while written < TOTAL {
            match tokio::time::timeout(Duration::from_secs(2), sock.write_all(&piece)).await {
                Ok(Ok(())) => written += piece.len(),
                _ => break, // the client hung up (or stopped reading)
            }
        }
        let _ = tx.send(written);
    });
    (format!("http://{addr}"), rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_error_body_is_read_only_up_to_its_cap() {
    use kubestack_ai::ai::provider::{
        ERROR_BODY_MAX_BYTES, LlmError, http_client, stream_completion,
    };
    let (base_url, written) = huge_error_server().await;
    let job = job(
        &base_url,
        Arc::new(AtomicUsize::new(0)),
        AskLimits::default(),
        0,
    );
    let (_, profile) = job.profile.clone().unwrap();
    let body = Redactor::new(RedactionPolicy::default()).redact_body(&serde_json::json!({}));
    let client = http_client(&profile).unwrap();
    let (tx, _rx) = mpsc::channel(16);
    let err = stream_completion(&client, &profile, &body, &tx)
        .await
        .unwrap_err();
    match &err {
        LlmError::Rejected { status: 400, body } => assert_eq!(body.len(), 400),
        other => panic!("{other:?}"),
    }
    drop(client);
    let written = written.await.unwrap();
    assert!(
        written < 32 << 20,
        "the client read {written} bytes of an error body (cap {ERROR_BODY_MAX_BYTES})"
    );
}
