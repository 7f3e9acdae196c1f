//! Streaming model providers: one request/stream loop, two wire formats.
//!
//! `stream_completion` sends a [`RedactedBody`] (nothing else can be sent), retries what is
//! worth retrying (429 after `Retry-After`, 5xx and connection errors with backoff, 3 tries),
//! and turns the SSE stream into [`StreamEvent`]s: text deltas, complete tool calls, usage.
//! A stream that goes silent longer than the idle timeout fails as `Stalled`; undecodable
//! chunks are skipped and counted.

mod anthropic;
mod openai;
pub mod retry_after;

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;

use super::redact::RedactedBody;
use super::sse::SseParser;
use crate::config::{ProfileConfig, ProviderKind};

/// Who said a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnRole {
    User,
    Assistant,
    /// A tool result, answering `tool_call_id`.
    Tool,
}

/// A complete tool call requested by the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// JSON arguments as the model wrote them.
    pub arguments: String,
}

/// One turn of the conversation sent to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub role: TurnRole,
    pub content: String,
    /// Tool calls made in an assistant turn.
    pub tool_calls: Vec<ToolCall>,
    /// For a tool turn: the call it answers.
    pub tool_call_id: Option<String>,
}

impl Turn {
    /// A plain user or assistant turn.
    pub fn text(role: TurnRole, content: impl Into<String>) -> Self {
        Turn {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// A tool the model may call (JSON-schema parameters).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

/// What to ask.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmRequest {
    pub system: String,
    pub turns: Vec<Turn>,
    pub tools: Vec<ToolSpec>,
}

/// What a stream yields.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    Text(String),
    ToolCall(ToolCall),
    Usage {
        input: u64,
        output: u64,
    },
    /// A chunk that could not be decoded was skipped.
    Malformed,
    /// A transient failure is being retried.
    Retrying {
        reason: String,
        wait: Duration,
    },
}

/// Why a completion failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum LlmError {
    #[error("no API key: environment variable `{0}` is not set")]
    MissingKey(String),
    #[error("the provider refused the API key (HTTP {status}); check `{key_env}`")]
    Auth { status: u16, key_env: String },
    #[error("rate limited (HTTP 429) after {tries} tries")]
    RateLimited { tries: u32 },
    #[error("the provider failed (HTTP {status}) after {tries} tries: {body}")]
    Server {
        status: u16,
        tries: u32,
        body: String,
    },
    #[error("the request is too long for the model's context: {0}")]
    ContextLength(String),
    #[error("the provider rejected the request (HTTP {status}): {body}")]
    Rejected { status: u16, body: String },
    #[error("cannot reach the provider at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the answer stalled: no data for {0:.0} s")]
    Stalled(f64),
    #[error("the stream ended with an error: {0}")]
    StreamError(String),
    /// The request could not be recorded in the audit log, so it was not sent.
    #[error("not sent: {0}")]
    Unaudited(String),
}

const TRIES: u32 = 3;

/// Used where a configured timeout is unusable (validation refuses such configs first).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The provider-specific JSON body (not yet redacted).
pub fn build_body(profile: &ProfileConfig, request: &LlmRequest) -> Value {
    match profile.provider {
        ProviderKind::Openai | ProviderKind::Azure => openai::body(profile, request),
        ProviderKind::Anthropic => anthropic::body(profile, request),
    }
}

fn endpoint(profile: &ProfileConfig) -> String {
    let base = profile.base_url.trim_end_matches('/');
    match profile.provider {
        ProviderKind::Openai => format!("{base}/chat/completions"),
        ProviderKind::Azure => format!(
            "{base}/chat/completions?api-version={}",
            profile.api_version.as_deref().unwrap_or("2024-10-21")
        ),
        ProviderKind::Anthropic => {
            if base.ends_with("/v1") {
                format!("{base}/messages")
            } else {
                format!("{base}/v1/messages")
            }
        }
    }
}

/// The API key of a profile, when it names one.
pub fn api_key(profile: &ProfileConfig) -> Result<Option<String>, LlmError> {
    match &profile.api_key_env {
        Some(var) => std::env::var(var)
            .map(Some)
            .map_err(|_| LlmError::MissingKey(var.clone())),
        None => Ok(None),
    }
}

/// A client for model requests (rustls with the ring provider).
pub fn http_client(profile: &ProfileConfig) -> Result<reqwest::Client, LlmError> {
    crate::crypto::install_provider();
    reqwest::Client::builder()
        .connect_timeout(retry_after::secs(
            profile.timeout_secs.min(30.0),
            DEFAULT_TIMEOUT,
        ))
        .build()
        .map_err(|e| LlmError::Unreachable {
            url: profile.base_url.clone(),
            reason: e.to_string(),
        })
}

fn is_context_error(body: &str) -> bool {
    let b = body.to_ascii_lowercase();
    b.contains("context_length_exceeded")
        || b.contains("maximum context length")
        || b.contains("prompt is too long")
        || b.contains("too many tokens")
}

/// Sends one completion request and streams its events into `sink`.
pub async fn stream_completion(
    client: &reqwest::Client,
    profile: &ProfileConfig,
    body: &RedactedBody,
    sink: &mpsc::Sender<StreamEvent>,
) -> Result<(), LlmError> {
    let url = endpoint(profile);
    let key = api_key(profile)?;
    let key_env = profile
        .api_key_env
        .clone()
        .unwrap_or_else(|| "(none)".into());
    let mut tries = 0;
    let response = loop {
        tries += 1;
        let mut req = client
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "text/event-stream")
            .timeout(retry_after::secs(profile.timeout_secs, DEFAULT_TIMEOUT))
            .body(body.as_str().to_string());
        if let Some(k) = &key {
            req = match profile.provider {
                ProviderKind::Openai => req.bearer_auth(k),
                ProviderKind::Azure => req.header("api-key", k),
                ProviderKind::Anthropic => req.header("x-api-key", k),
            };
        }
        if profile.provider == ProviderKind::Anthropic {
            req = req.header("anthropic-version", "2023-06-01");
        }
        // `timeout` above bounds the whole exchange; the stream gets its own idle timeout, so
        // the total limit applies only until the headers arrive.
        let sent = tokio::time::timeout(
            retry_after::secs(profile.timeout_secs, DEFAULT_TIMEOUT),
            req.send(),
        )
        .await;
        let retry = |reason: String, wait: Duration| StreamEvent::Retrying { reason, wait };
        match sent {
            Err(_) | Ok(Err(_)) if tries < TRIES => {
                let wait = Duration::from_millis(500 << (tries - 1));
                let reason = match &sent {
                    Ok(Err(e)) => format!("connection failed: {e}"),
                    _ => "no response in time".into(),
                };
                let _ = sink.send(retry(reason, wait)).await;
                tokio::time::sleep(wait).await;
                continue;
            }
            Err(_) => {
                return Err(LlmError::Unreachable {
                    url,
                    reason: format!("no response within {:.0} s", profile.timeout_secs),
                });
            }
            Ok(Err(e)) => {
                return Err(LlmError::Unreachable {
                    url,
                    reason: e.to_string(),
                });
            }
            Ok(Ok(resp)) => {
                let status = resp.status().as_u16();
                if resp.status().is_success() {
                    break resp;
                }
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry_after::parse_retry_after(v, chrono::Utc::now()));
                let text = read_capped(resp, ERROR_BODY_MAX_BYTES).await;
                let text: String = text.chars().take(400).collect();
                match status {
                    401 | 403 => return Err(LlmError::Auth { status, key_env }),
                    429 if tries < TRIES => {
                        let wait = retry_after.unwrap_or(Duration::from_secs(2));
                        let _ = sink
                            .send(retry(
                                format!("rate limited (429), waiting {:.0} s", wait.as_secs_f64()),
                                wait,
                            ))
                            .await;
                        tokio::time::sleep(wait).await;
                    }
                    429 => return Err(LlmError::RateLimited { tries }),
                    500..=599 if tries < TRIES => {
                        let wait = Duration::from_millis(500 << (tries - 1));
                        let _ = sink
                            .send(retry(format!("provider error (HTTP {status})"), wait))
                            .await;
                        tokio::time::sleep(wait).await;
                    }
                    500..=599 => {
                        return Err(LlmError::Server {
                            status,
                            tries,
                            body: text,
                        });
                    }
                    _ if is_context_error(&text) => return Err(LlmError::ContextLength(text)),
                    _ => return Err(LlmError::Rejected { status, body: text }),
                }
            }
        }
    };
    read_stream(profile, response, sink).await
}

/// Bytes of an error reply read at most: only its first 400 characters are shown, and a
/// provider (or a proxy in front of it) may answer an error with megabytes.
pub const ERROR_BODY_MAX_BYTES: usize = 16 * 1024;

/// The first `max` bytes of a body (lossy UTF-8); the rest is never read.
async fn read_capped(resp: reqwest::Response, max: usize) -> String {
    let mut stream = resp.bytes_stream();
    let mut buf = Vec::new();
    while buf.len() < max {
        match stream.next().await {
            Some(Ok(chunk)) => {
                let take = chunk.len().min(max - buf.len());
                buf.extend_from_slice(&chunk[..take]);
            }
            _ => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

async fn read_stream(
    profile: &ProfileConfig,
    response: reqwest::Response,
    sink: &mpsc::Sender<StreamEvent>,
) -> Result<(), LlmError> {
    let idle = retry_after::secs(profile.idle_timeout_secs, DEFAULT_TIMEOUT);
    let mut bytes = response.bytes_stream();
    let mut parser = SseParser::new();
    let mut skipped_oversized = 0u64;
    let mut decoder: Box<dyn StreamDecoder> = match profile.provider {
        ProviderKind::Openai | ProviderKind::Azure => Box::new(openai::Decoder::default()),
        ProviderKind::Anthropic => Box::new(anthropic::Decoder::default()),
    };
    loop {
        let chunk = match tokio::time::timeout(idle, bytes.next()).await {
            Err(_) => return Err(LlmError::Stalled(idle.as_secs_f64())),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(LlmError::StreamError(e.to_string())),
            Ok(Some(Ok(chunk))) => chunk,
        };
        let events = parser.feed(&chunk);
        // An event past the parser's size cap was skipped: counted like an undecodable one.
        while skipped_oversized < parser.oversized {
            skipped_oversized += 1;
            if sink.send(StreamEvent::Malformed).await.is_err() {
                return Ok(());
            }
        }
        for event in events {
            for out in decoder.decode(&event.event, &event.data)? {
                if sink.send(out).await.is_err() {
                    return Ok(()); // the listener is gone (cancelled): stop reading
                }
            }
            if decoder.finished() {
                break;
            }
        }
        if decoder.finished() {
            break;
        }
    }
    for event in parser.finish() {
        for out in decoder.decode(&event.event, &event.data)? {
            let _ = sink.send(out).await;
        }
    }
    for out in decoder.flush() {
        let _ = sink.send(out).await;
    }
    Ok(())
}

/// Decodes already-parsed SSE events the way a live stream of `provider` is decoded (up to
/// its terminal event, then what is pending); the fuzz target `sse_stream` drives it.
pub fn decode_events(
    provider: ProviderKind,
    events: &[super::sse::SseEvent],
) -> Result<Vec<StreamEvent>, LlmError> {
    let mut decoder: Box<dyn StreamDecoder> = match provider {
        ProviderKind::Openai | ProviderKind::Azure => Box::new(openai::Decoder::default()),
        ProviderKind::Anthropic => Box::new(anthropic::Decoder::default()),
    };
    let mut out = Vec::new();
    for event in events {
        out.extend(decoder.decode(&event.event, &event.data)?);
        if decoder.finished() {
            break;
        }
    }
    out.extend(decoder.flush());
    Ok(out)
}

/// Turns one provider's SSE events into [`StreamEvent`]s.
trait StreamDecoder: Send {
    /// Decodes one SSE event; a provider error event is an `Err`.
    fn decode(&mut self, event: &str, data: &str) -> Result<Vec<StreamEvent>, LlmError>;
    /// Whether the terminal event was seen.
    fn finished(&self) -> bool;
    /// Whatever is still pending at the end (tool calls not yet emitted).
    fn flush(&mut self) -> Vec<StreamEvent>;
}
