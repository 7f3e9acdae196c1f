//! OpenAI-compatible Chat Completions: request body and stream decoding.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{LlmError, LlmRequest, StreamDecoder, StreamEvent, ToolCall, TurnRole};
use crate::config::ProfileConfig;

pub(super) fn body(profile: &ProfileConfig, request: &LlmRequest) -> Value {
    let mut messages = vec![json!({"role": "system", "content": request.system})];
    for turn in &request.turns {
        messages.push(match turn.role {
            TurnRole::User => json!({"role": "user", "content": turn.content}),
            TurnRole::Assistant if turn.tool_calls.is_empty() => {
                json!({"role": "assistant", "content": turn.content})
            }
            TurnRole::Assistant => json!({
                "role": "assistant",
                "content": if turn.content.is_empty() { Value::Null } else { json!(turn.content) },
                "tool_calls": turn.tool_calls.iter().map(|c| json!({
                    "id": c.id, "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments}
                })).collect::<Vec<_>>(),
            }),
            TurnRole::Tool => json!({
                "role": "tool",
                "tool_call_id": turn.tool_call_id,
                "content": turn.content,
            }),
        });
    }
    let mut body = json!({
        "model": profile.model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
        "max_tokens": profile.max_output_tokens,
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters}})
            })
            .collect();
    }
    body
}

/// Tool calls arrive as deltas keyed by index: id and name first, arguments in pieces.
#[derive(Default)]
pub(super) struct Decoder {
    calls: BTreeMap<u64, ToolCall>,
    done: bool,
}

impl StreamDecoder for Decoder {
    fn decode(&mut self, _event: &str, data: &str) -> Result<Vec<StreamEvent>, LlmError> {
        let data = data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(self.flush());
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return Ok(vec![StreamEvent::Malformed]);
        };
        if let Some(err) = v.get("error") {
            let msg = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unknown error");
            return Err(LlmError::StreamError(msg.to_string()));
        }
        let mut out = Vec::new();
        if let Some(choice) = v.get("choices").and_then(|c| c.get(0)) {
            let delta = &choice["delta"];
            if let Some(text) = delta.get("content").and_then(Value::as_str)
                && !text.is_empty()
            {
                out.push(StreamEvent::Text(text.to_string()));
            }
            if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
                for c in calls {
                    let index = c.get("index").and_then(Value::as_u64).unwrap_or(0);
                    let entry = self.calls.entry(index).or_insert_with(|| ToolCall {
                        id: String::new(),
                        name: String::new(),
                        arguments: String::new(),
                    });
                    if let Some(id) = c.get("id").and_then(Value::as_str) {
                        entry.id = id.to_string();
                    }
                    if let Some(f) = c.get("function") {
                        if let Some(name) = f.get("name").and_then(Value::as_str) {
                            entry.name.push_str(name);
                        }
                        if let Some(args) = f.get("arguments").and_then(Value::as_str) {
                            entry.arguments.push_str(args);
                        }
                    }
                }
            }
            if choice
                .get("finish_reason")
                .and_then(Value::as_str)
                .is_some()
            {
                out.extend(self.flush());
            }
        }
        if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
            out.push(StreamEvent::Usage {
                input: u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0),
                output: u
                    .get("completion_tokens")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            });
        }
        Ok(out)
    }

    fn finished(&self) -> bool {
        self.done
    }

    fn flush(&mut self) -> Vec<StreamEvent> {
        std::mem::take(&mut self.calls)
            .into_values()
            .filter(|c| !c.name.is_empty())
            .map(|mut c| {
                if c.id.is_empty() {
                    c.id = format!("call_{}", c.name);
                }
                StreamEvent::ToolCall(c)
            })
            .collect()
    }
}
