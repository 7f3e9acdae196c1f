//! An in-process HTTP/1.1 server that answers like an LLM provider: SSE over chunked transfer
//! encoding with chunk boundaries where the test puts them, plus faults (status codes,
//! Retry-After, stalls, garbage). No provider endpoint is reachable from these machines, so
//! this is the only way to exercise the wire format; it records every request body.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// 200 with these chunks, in order, `gap` apart.
    Sse { chunks: Vec<Vec<u8>>, gap: Duration },
    /// A status with headers and a body.
    Status {
        code: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// 200, these chunks, then silence for `hold`.
    Stall {
        chunks: Vec<Vec<u8>>,
        hold: Duration,
    },
}

/// A request as received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    /// A header value by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The server; replies are used in order, the last one repeats.
pub struct LlmServer {
    pub base_url: String,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    replies: Arc<Mutex<VecDeque<Reply>>>,
}

impl LlmServer {
    /// Starts serving on a free loopback port.
    pub async fn start(replies: Vec<Reply>) -> LlmServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let replies = Arc::new(Mutex::new(VecDeque::from(replies)));
        let (reqs, reps) = (requests.clone(), replies.clone());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (reqs, reps) = (reqs.clone(), reps.clone());
                tokio::spawn(async move {
                    let Some(rec) = read_request(&mut sock).await else {
                        return;
                    };
                    reqs.lock().unwrap().push(rec);
                    let reply = {
                        let mut q = reps.lock().unwrap();
                        if q.len() > 1 {
                            q.pop_front()
                        } else {
                            q.front().cloned()
                        }
                    };
                    if let Some(reply) = reply {
                        let _ = write_reply(&mut sock, reply).await;
                    }
                });
            }
        });
        LlmServer {
            base_url: format!("http://{addr}"),
            requests,
            replies,
        }
    }

    /// Bodies received so far.
    pub fn bodies(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.body.clone())
            .collect()
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let path = lines.next()?.split_whitespace().nth(1)?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
    Some(Recorded {
        path,
        headers,
        body,
    })
}

async fn write_chunk(sock: &mut tokio::net::TcpStream, data: &[u8]) -> std::io::Result<()> {
    sock.write_all(format!("{:x}\r\n", data.len()).as_bytes())
        .await?;
    sock.write_all(data).await?;
    sock.write_all(b"\r\n").await?;
    sock.flush().await
}

async fn write_reply(sock: &mut tokio::net::TcpStream, reply: Reply) -> std::io::Result<()> {
    let sse_head =
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
    match reply {
        Reply::Sse { chunks, gap } => {
            sock.write_all(sse_head.as_bytes()).await?;
            for c in chunks {
                write_chunk(sock, &c).await?;
                tokio::time::sleep(gap).await;
            }
            sock.write_all(b"0\r\n\r\n").await?;
        }
        Reply::Stall { chunks, hold } => {
            sock.write_all(sse_head.as_bytes()).await?;
            for c in chunks {
                write_chunk(sock, &c).await?;
            }
            tokio::time::sleep(hold).await;
        }
        Reply::Status {
            code,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {code} X\r\ncontent-length: {}\r\ncontent-type: application/json\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            sock.write_all(head.as_bytes()).await?;
            sock.write_all(body.as_bytes()).await?;
        }
    }
    sock.flush().await
}

/// Splits a byte stream into chunks of `size` bytes (odd sizes cut events, lines and UTF-8).
pub fn split_every(text: &str, size: usize) -> Vec<Vec<u8>> {
    text.as_bytes().chunks(size).map(<[u8]>::to_vec).collect()
}

/// An OpenAI-style stream: text deltas, then a usage chunk, then `[DONE]`.
pub fn openai_text_stream(tokens: &[&str], usage: (u64, u64)) -> String {
    let mut s = String::new();
    for t in tokens {
        let chunk =
            serde_json::json!({"choices":[{"index":0,"delta":{"content":t},"finish_reason":null}]});
        s.push_str(&format!("data: {chunk}\n\n"));
    }
    s.push_str("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n");
    s.push_str(&format!(
        "data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":{},\"completion_tokens\":{}}}}}\n\n",
        usage.0, usage.1
    ));
    s.push_str("data: [DONE]\n\n");
    s
}

/// An OpenAI-style stream that asks for one tool call, its arguments split in pieces.
pub fn openai_tool_call_stream(id: &str, name: &str, args_pieces: &[&str]) -> String {
    let mut s = String::new();
    let first = serde_json::json!({"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[
        {"index":0,"id":id,"type":"function","function":{"name":name,"arguments":""}}]}}]});
    s.push_str(&format!("data: {first}\n\n"));
    for p in args_pieces {
        let c = serde_json::json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":p}}]}}]});
        s.push_str(&format!("data: {c}\n\n"));
    }
    s.push_str(
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n",
    );
    s.push_str("data: [DONE]\n\n");
    s
}

/// An Anthropic stream with text deltas (and optionally one tool_use block).
pub fn anthropic_stream(
    tokens: &[&str],
    tool: Option<(&str, &str, &[&str])>,
    usage: (u64, u64),
) -> String {
    let mut s = String::new();
    let ev = |s: &mut String, name: &str, data: serde_json::Value| {
        s.push_str(&format!("event: {name}\r\ndata: {data}\r\n\r\n"));
    };
    ev(
        &mut s,
        "message_start",
        serde_json::json!({"type":"message_start","message":{"id":"m1","usage":{"input_tokens":usage.0,"output_tokens":1}}}),
    );
    s.push_str(": keep-alive comment\r\n\r\n");
    ev(
        &mut s,
        "content_block_start",
        serde_json::json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
    );
    ev(&mut s, "ping", serde_json::json!({"type":"ping"}));
    for t in tokens {
        ev(
            &mut s,
            "content_block_delta",
            serde_json::json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":t}}),
        );
    }
    ev(
        &mut s,
        "content_block_stop",
        serde_json::json!({"type":"content_block_stop","index":0}),
    );
    if let Some((id, name, pieces)) = tool {
        ev(
            &mut s,
            "content_block_start",
            serde_json::json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":id,"name":name,"input":{}}}),
        );
        for p in pieces {
            ev(
                &mut s,
                "content_block_delta",
                serde_json::json!({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":p}}),
            );
        }
        ev(
            &mut s,
            "content_block_stop",
            serde_json::json!({"type":"content_block_stop","index":1}),
        );
    }
    ev(
        &mut s,
        "message_delta",
        serde_json::json!({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":usage.1}}),
    );
    ev(
        &mut s,
        "message_stop",
        serde_json::json!({"type":"message_stop"}),
    );
    s
}
