//! Anthropic Messages: request body and the typed stream events
//! (message_start … content_block_* … message_delta … message_stop).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{LlmError, LlmRequest, StreamDecoder, StreamEvent, ToolCall, TurnRole};
use crate::config::ProfileConfig;

pub(super) fn body(profile: &ProfileConfig, request: &LlmRequest) -> Value {
    let mut messages: Vec<Value> = Vec::new();
    for turn in &request.turns {
        let msg = match turn.role {
            TurnRole::User => json!({"role": "user", "content": turn.content}),
            TurnRole::Assistant => {
                let mut content = Vec::new();
                if !turn.content.is_empty() {
                    content.push(json!({"type": "text", "text": turn.content}));
                }
                for c in &turn.tool_calls {
                    let input: Value =
                        serde_json::from_str(&c.arguments).unwrap_or_else(|_| json!({}));
                    content.push(
                        json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}),
                    );
                }
                json!({"role": "assistant", "content": content})
            }
            TurnRole::Tool => json!({"role": "user", "content": [{
                "type": "tool_result",
                "tool_use_id": turn.tool_call_id,
                "content": turn.content,
            }]}),
        };
        // Consecutive tool results must share one user message.
        match (messages.last_mut(), turn.role) {
            (Some(last), TurnRole::Tool)
                if last["role"] == "user" && last["content"].is_array() =>
            {
                if let (Some(arr), Some(new)) =
                    (last["content"].as_array_mut(), msg["content"].as_array())
                {
                    arr.extend(new.iter().cloned());
                }
            }
            _ => messages.push(msg),
        }
    }
    let mut body = json!({
        "model": profile.model,
        "max_tokens": profile.max_output_tokens,
        "system": request.system,
        "messages": messages,
        "stream": true,
    });
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
            .collect();
    }
    body
}

/// Tool-use blocks collect `input_json_delta` pieces until their `content_block_stop`.
#[derive(Default)]
pub(super) struct Decoder {
    blocks: BTreeMap<u64, ToolCall>,
    input_tokens: u64,
    done: bool,
}

impl StreamDecoder for Decoder {
    fn decode(&mut self, event: &str, data: &str) -> Result<Vec<StreamEvent>, LlmError> {
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return Ok(vec![StreamEvent::Malformed]);
        };
        let kind = v.get("type").and_then(Value::as_str).unwrap_or(event);
        let index = v.get("index").and_then(Value::as_u64).unwrap_or(0);
        let mut out = Vec::new();
        match kind {
            "message_start" => {
                self.input_tokens = v["message"]["usage"]["input_tokens"].as_u64().unwrap_or(0);
            }
            "content_block_start" => {
                let block = &v["content_block"];
                if block["type"] == "tool_use" {
                    self.blocks.insert(
                        index,
                        ToolCall {
                            id: block["id"].as_str().unwrap_or_default().to_string(),
                            name: block["name"].as_str().unwrap_or_default().to_string(),
                            arguments: String::new(),
                        },
                    );
                } else if let Some(text) = block["text"].as_str().filter(|t| !t.is_empty()) {
                    out.push(StreamEvent::Text(text.to_string()));
                }
            }
            "content_block_delta" => {
                let delta = &v["delta"];
                match delta["type"].as_str() {
                    Some("text_delta") => {
                        if let Some(t) = delta["text"].as_str() {
                            out.push(StreamEvent::Text(t.to_string()));
                        }
                    }
                    Some("input_json_delta") => {
                        if let (Some(block), Some(part)) =
                            (self.blocks.get_mut(&index), delta["partial_json"].as_str())
                        {
                            block.arguments.push_str(part);
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                if let Some(mut call) = self.blocks.remove(&index) {
                    if call.arguments.trim().is_empty() {
                        call.arguments = "{}".into();
                    }
                    out.push(StreamEvent::ToolCall(call));
                }
            }
            "message_delta" => {
                if let Some(output) = v["usage"]["output_tokens"].as_u64() {
                    out.push(StreamEvent::Usage {
                        input: self.input_tokens,
                        output,
                    });
                }
            }
            "message_stop" => {
                self.done = true;
                out.extend(self.flush());
            }
            "error" => {
                let msg = v["error"]["message"].as_str().unwrap_or("unknown error");
                return Err(LlmError::StreamError(msg.to_string()));
            }
            _ => {} // ping and future event types
        }
        Ok(out)
    }

    fn finished(&self) -> bool {
        self.done
    }

    fn flush(&mut self) -> Vec<StreamEvent> {
        std::mem::take(&mut self.blocks)
            .into_values()
            .map(StreamEvent::ToolCall)
            .collect()
    }
}
