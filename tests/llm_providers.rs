//! Both provider wire formats against an in-process server that streams like the provider:
//! odd chunk boundaries, split tool-call deltas, usage, errors, retries, stalls, garbage.

mod common;

use std::time::Duration;

use common::llm_server::{
    LlmServer, Reply, anthropic_stream, openai_text_stream, openai_tool_call_stream, split_every,
};
use kubestack_ai::ai::provider::{
    LlmError, LlmRequest, StreamEvent, ToolSpec, Turn, TurnRole, build_body, http_client,
    stream_completion,
};
use kubestack_ai::ai::redact::{RedactionPolicy, Redactor};
use kubestack_ai::config::{ProfileConfig, ProviderKind};
use tokio::sync::mpsc;

fn profile(kind: ProviderKind, base_url: &str, key_env: Option<&str>) -> ProfileConfig {
    ProfileConfig {
        provider: kind,
        base_url: base_url.to_string(),
        model: "test-model".into(),
        api_key_env: key_env.map(str::to_string),
        api_version: Some("2024-10-21".into()),
        timeout_secs: 5.0,
        idle_timeout_secs: 0.5,
        max_output_tokens: 256,
        price_input_per_mtok: None,
        price_output_per_mtok: None,
    }
}

fn request() -> LlmRequest {
    LlmRequest {
        system: "You are an SRE assistant.".into(),
        turns: vec![Turn::text(TurnRole::User, "why is it slow?")],
        tools: vec![ToolSpec {
            name: "redis_info".into(),
            description: "INFO section".into(),
            parameters: serde_json::json!({"type":"object","properties":{"section":{"type":"string"}}}),
        }],
    }
}

/// Runs one completion; returns its events and result.
async fn run(p: &ProfileConfig) -> (Vec<StreamEvent>, Result<(), LlmError>) {
    let client = http_client(p).unwrap();
    let body = Redactor::new(RedactionPolicy::default()).redact_body(&build_body(p, &request()));
    let (tx, mut rx) = mpsc::channel(1024);
    let result = stream_completion(&client, p, &body, &tx).await;
    drop(tx);
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    (events, result)
}

fn text_of(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn openai_text_and_usage_survive_any_chunk_boundary() {
    let stream = openai_text_stream(&["Mem", "ory is at 9", "3% — ", "évictions ✓"], (120, 14));
    for size in [1, 3, 7, 64, 4096] {
        let server = LlmServer::start(vec![Reply::Sse {
            chunks: split_every(&stream, size),
            gap: Duration::ZERO,
        }])
        .await;
        // SAFETY: a variable name no other test uses.
        unsafe { std::env::set_var("KST_TEST_OPENAI_KEY", "sk-test-abcdefghijklmnop") };
        let p = profile(
            ProviderKind::Openai,
            &format!("{}/v1", server.base_url),
            Some("KST_TEST_OPENAI_KEY"),
        );
        let (events, result) = run(&p).await;
        result.unwrap();
        assert_eq!(
            text_of(&events),
            "Memory is at 93% — évictions ✓",
            "chunk size {size}"
        );
        assert!(events.contains(&StreamEvent::Usage {
            input: 120,
            output: 14
        }));
        let req = &server.requests.lock().unwrap()[0];
        assert_eq!(req.path, "/v1/chat/completions");
        assert_eq!(
            req.header("authorization"),
            Some("Bearer sk-test-abcdefghijklmnop")
        );
        let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["tools"][0]["function"]["name"], "redis_info");
    }
}

#[tokio::test]
async fn openai_tool_call_deltas_are_joined() {
    let stream = openai_tool_call_stream(
        "call_1",
        "redis_info",
        &["{\"sec", "tion\":", "\"memory\"}"],
    );
    let server = LlmServer::start(vec![Reply::Sse {
        chunks: split_every(&stream, 5),
        gap: Duration::ZERO,
    }])
    .await;
    let p = profile(ProviderKind::Openai, &server.base_url, None);
    let (events, result) = run(&p).await;
    result.unwrap();
    let calls: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ToolCall(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].id, "call_1");
    assert_eq!(calls[0].name, "redis_info");
    assert_eq!(calls[0].arguments, "{\"section\":\"memory\"}");
}

#[tokio::test]
async fn anthropic_typed_events_with_tool_use() {
    let stream = anthropic_stream(
        &["Looking ", "at memory"],
        Some(("toolu_1", "redis_info", &["{\"section\"", ": \"memory\"}"])),
        (300, 42),
    );
    let server = LlmServer::start(vec![Reply::Sse {
        chunks: split_every(&stream, 11),
        gap: Duration::ZERO,
    }])
    .await;
    // SAFETY: a variable name no other test uses.
    unsafe { std::env::set_var("KST_TEST_ANTHROPIC_KEY", "ant-key-123456") };
    let p = profile(
        ProviderKind::Anthropic,
        &server.base_url,
        Some("KST_TEST_ANTHROPIC_KEY"),
    );
    let (events, result) = run(&p).await;
    result.unwrap();
    assert_eq!(text_of(&events), "Looking at memory");
    assert!(events.iter().any(|e| matches!(e, StreamEvent::ToolCall(c) if c.id == "toolu_1" && c.arguments == "{\"section\": \"memory\"}")));
    assert!(events.contains(&StreamEvent::Usage {
        input: 300,
        output: 42
    }));
    let req = &server.requests.lock().unwrap()[0];
    assert_eq!(req.path, "/v1/messages");
    assert_eq!(req.header("x-api-key"), Some("ant-key-123456"));
    assert_eq!(req.header("anthropic-version"), Some("2023-06-01"));
    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(body["system"], "You are an SRE assistant.");
    assert_eq!(body["tools"][0]["input_schema"]["type"], "object");
}

#[tokio::test]
async fn azure_uses_the_deployment_url_api_key_header_and_version() {
    let server = LlmServer::start(vec![Reply::Sse {
        chunks: split_every(&openai_text_stream(&["ok"], (1, 1)), 9),
        gap: Duration::ZERO,
    }])
    .await;
    // SAFETY: a variable name no other test uses.
    unsafe { std::env::set_var("KST_TEST_AZURE_KEY", "azure-key-xyz") };
    let base = format!("{}/openai/deployments/gpt4o", server.base_url);
    let p = profile(ProviderKind::Azure, &base, Some("KST_TEST_AZURE_KEY"));
    let (events, result) = run(&p).await;
    result.unwrap();
    assert_eq!(text_of(&events), "ok");
    let req = &server.requests.lock().unwrap()[0];
    assert_eq!(
        req.path,
        "/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(req.header("api-key"), Some("azure-key-xyz"));
    assert_eq!(req.header("authorization"), None);
}

#[tokio::test]
async fn auth_failures_name_the_key_variable() {
    let server = LlmServer::start(vec![Reply::Status {
        code: 401,
        headers: vec![],
        body: "{\"error\":\"bad key\"}".into(),
    }])
    .await;
    // SAFETY: a variable name no other test uses.
    unsafe { std::env::set_var("KST_TEST_BAD_KEY", "nope") };
    let p = profile(
        ProviderKind::Openai,
        &server.base_url,
        Some("KST_TEST_BAD_KEY"),
    );
    let (_, result) = run(&p).await;
    let err = result.unwrap_err();
    assert_eq!(
        err,
        LlmError::Auth {
            status: 401,
            key_env: "KST_TEST_BAD_KEY".into()
        }
    );
    assert!(err.to_string().contains("KST_TEST_BAD_KEY"));
    let p = profile(
        ProviderKind::Openai,
        &server.base_url,
        Some("KST_TEST_UNSET_KEY_VAR"),
    );
    assert_eq!(
        run(&p).await.1.unwrap_err(),
        LlmError::MissingKey("KST_TEST_UNSET_KEY_VAR".into())
    );
}

#[tokio::test]
async fn rate_limits_wait_for_retry_after_then_succeed() {
    let ok = Reply::Sse {
        chunks: split_every(&openai_text_stream(&["after the wait"], (1, 1)), 13),
        gap: Duration::ZERO,
    };
    let limited = Reply::Status {
        code: 429,
        headers: vec![("retry-after".into(), "1".into())],
        body: "{}".into(),
    };
    let server = LlmServer::start(vec![limited, ok]).await;
    let p = profile(ProviderKind::Openai, &server.base_url, None);
    let started = std::time::Instant::now();
    let (events, result) = run(&p).await;
    result.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited for Retry-After"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, StreamEvent::Retrying { reason, .. } if reason.contains("429")))
    );
    assert_eq!(text_of(&events), "after the wait");
    assert_eq!(server.requests.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn server_errors_are_retried_three_times() {
    let server = LlmServer::start(vec![Reply::Status {
        code: 503,
        headers: vec![],
        body: "overloaded".into(),
    }])
    .await;
    let p = profile(ProviderKind::Openai, &server.base_url, None);
    let (events, result) = run(&p).await;
    assert!(matches!(
        result.unwrap_err(),
        LlmError::Server {
            status: 503,
            tries: 3,
            ..
        }
    ));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, StreamEvent::Retrying { .. }))
            .count(),
        2
    );
    assert_eq!(server.requests.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_stalled_stream_fails_after_the_idle_timeout_keeping_what_arrived() {
    let stream = openai_text_stream(&["partial ", "answer"], (1, 1));
    let first_event_end = stream.find("\n\n").unwrap() + 2;
    let half: Vec<Vec<u8>> = vec![stream.as_bytes()[..first_event_end].to_vec()];
    let server = LlmServer::start(vec![Reply::Stall {
        chunks: half,
        hold: Duration::from_secs(5),
    }])
    .await;
    let p = profile(ProviderKind::Openai, &server.base_url, None);
    let (events, result) = run(&p).await;
    assert_eq!(result.unwrap_err(), LlmError::Stalled(0.5));
    assert_eq!(text_of(&events), "partial ");
}

#[tokio::test]
async fn garbage_chunks_are_skipped_and_counted() {
    let mut stream = String::from("data: {not json\n\n");
    stream.push_str(&openai_text_stream(&["still ", "fine"], (1, 1)));
    stream.insert_str(stream.len() - 14, "data: \u{0}\u{1}garbage\n\n");
    let server = LlmServer::start(vec![Reply::Sse {
        chunks: split_every(&stream, 6),
        gap: Duration::ZERO,
    }])
    .await;
    let p = profile(ProviderKind::Openai, &server.base_url, None);
    let (events, result) = run(&p).await;
    result.unwrap();
    assert_eq!(text_of(&events), "still fine");
    assert_eq!(
        events
            .iter()
            .filter(|e| **e == StreamEvent::Malformed)
            .count(),
        2
    );
}

#[tokio::test]
async fn context_length_errors_are_recognised() {
    let body = "{\"error\":{\"code\":\"context_length_exceeded\",\"message\":\"This model's maximum context length is 8192 tokens\"}}";
    let server = LlmServer::start(vec![Reply::Status {
        code: 400,
        headers: vec![],
        body: body.into(),
    }])
    .await;
    let p = profile(ProviderKind::Openai, &server.base_url, None);
    assert!(matches!(
        run(&p).await.1.unwrap_err(),
        LlmError::ContextLength(_)
    ));
}

#[tokio::test]
async fn an_unreachable_provider_is_retried_then_reported() {
    let (_reserved, port) = common::closed_port();
    let p = profile(
        ProviderKind::Openai,
        &format!("http://127.0.0.1:{port}"),
        None,
    );
    let (events, result) = run(&p).await;
    assert!(matches!(result.unwrap_err(), LlmError::Unreachable { .. }));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, StreamEvent::Retrying { .. }))
            .count(),
        2
    );
}

#[tokio::test]
async fn hostile_retry_after_values_never_panic_and_never_wait_long() {
    // The outside review's crash: `Retry-After: nan` survived `clamp` and panicked in
    // `Duration::from_secs_f64`. Every hostile value falls back to the default wait.
    // (A huge value waits the 60 s cap: the unit tests of retry_after cover it.)
    for value in ["nan", "-1", "inf", "soon"] {
        let limited = || Reply::Status {
            code: 429,
            headers: vec![("retry-after".into(), value.into())],
            body: "{}".into(),
        };
        let ok = Reply::Sse {
            chunks: split_every(&openai_text_stream(&["fine"], (1, 1)), 7),
            gap: Duration::ZERO,
        };
        let server = LlmServer::start(vec![limited(), ok]).await;
        let p = profile(ProviderKind::Openai, &server.base_url, None);
        let (events, result) = run(&p).await;
        result.unwrap_or_else(|e| panic!("Retry-After {value}: {e}"));
        let waited: Vec<Duration> = events
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Retrying { wait, .. } => Some(*wait),
                _ => None,
            })
            .collect();
        assert!(
            waited.iter().all(|w| *w <= Duration::from_secs(60)),
            "Retry-After {value}: {waited:?}"
        );
        assert_eq!(text_of(&events), "fine");
    }
}
