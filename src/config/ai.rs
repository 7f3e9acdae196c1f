//! `[ai]`: model profiles, context budget, tool limits, redaction policy, session budget.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which wire protocol a profile speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI-compatible Chat Completions (OpenAI, DeepSeek, Qwen/DashScope, vLLM, LM Studio,
    /// Ollama's `/v1`): `Authorization: Bearer`.
    Openai,
    /// Azure OpenAI: deployment URL, `api-key` header, `api-version` query.
    Azure,
    /// Anthropic Messages API.
    Anthropic,
}

/// One model profile (`[ai.profiles.NAME]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    pub provider: ProviderKind,
    /// e.g. `https://api.openai.com/v1`, `http://localhost:11434/v1`,
    /// `https://RES.openai.azure.com/openai/deployments/DEPLOYMENT`, `https://api.anthropic.com`.
    pub base_url: String,
    pub model: String,
    /// Environment variable holding the API key (none for local servers such as Ollama).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Azure `api-version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Seconds to wait for the response to start.
    #[serde(default = "default_timeout")]
    pub timeout_secs: f64,
    /// Seconds without a byte before a stream counts as stalled.
    #[serde(default = "default_idle")]
    pub idle_timeout_secs: f64,
    #[serde(default = "default_max_tokens")]
    pub max_output_tokens: u32,
    /// Price per million input tokens, for the cost meter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_input_per_mtok: Option<f64>,
    /// Price per million output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_output_per_mtok: Option<f64>,
}

fn default_timeout() -> f64 {
    30.0
}
fn default_idle() -> f64 {
    30.0
}
fn default_max_tokens() -> u32 {
    1024
}

/// The AI settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AiConfig {
    /// The profile in use; empty = no model (questions get the offline analysis).
    pub profile: String,
    pub profiles: BTreeMap<String, ProfileConfig>,
    /// Estimated tokens the instance context may take.
    pub context_token_budget: usize,
    /// Recent log lines offered in the context.
    pub context_log_lines: usize,
    /// Rounds of tool calls per question.
    pub max_tool_iterations: usize,
    /// Bytes of one tool result handed to the model.
    pub tool_result_max_bytes: usize,
    /// Tool calls run per model round; the model's extra calls are answered "not run" (a model
    /// steered by injected text can ask for hundreds of scans at once).
    pub max_tool_calls_per_round: usize,
    /// Tool calls run per question, over all rounds.
    pub max_tool_calls_per_question: usize,
    /// Bytes of answer text kept per question; the rest is dropped with a notice.
    pub max_answer_bytes: usize,
    /// Stop asking once a session cost this much (0 = no cap).
    pub session_budget_usd: f64,
    /// Redact values of data-writing commands (`SET k v`).
    pub redact_key_values: bool,
    /// Redact quoted literals in SQL.
    pub redact_sql_literals: bool,
}

impl Default for AiConfig {
    fn default() -> Self {
        AiConfig {
            profile: String::new(),
            profiles: BTreeMap::new(),
            context_token_budget: 3000,
            context_log_lines: 20,
            max_tool_iterations: 4,
            tool_result_max_bytes: 4096,
            max_tool_calls_per_round: 8,
            max_tool_calls_per_question: 24,
            max_answer_bytes: 256 * 1024,
            session_budget_usd: 0.0,
            redact_key_values: true,
            redact_sql_literals: true,
        }
    }
}

impl AiConfig {
    /// The active profile, if one is selected and defined.
    pub fn active(&self) -> Option<(&str, &ProfileConfig)> {
        self.profiles
            .get_key_value(&self.profile)
            .map(|(k, v)| (k.as_str(), v))
    }
}
