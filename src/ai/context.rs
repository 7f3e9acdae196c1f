//! What a question's context is made of and what it costs: the slash commands' extras, the
//! built text with its estimated tokens (the app builds it from the selected instance's view,
//! see `app::ask`).

/// What a question may add on purpose (slash commands).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContextExtras {
    /// `/logs 5m`: log lines of this many seconds instead of the last N.
    pub logs_since_secs: Option<u64>,
    /// `/metrics`: every metric with min/max.
    pub all_metrics: bool,
    /// `/findings`: evidence in full.
    pub full_findings: bool,
    /// `/config`: the runtime configuration the collector read.
    pub config: bool,
}

/// The context text and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceContext {
    pub text: String,
    pub estimated_tokens: usize,
    pub budget: usize,
    /// Whether something was left out to fit the budget.
    pub truncated: bool,
}

/// Roughly four characters per token: good enough for a budget, and cheap.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}
