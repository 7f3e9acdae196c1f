//! A repair plan as it was proposed — by the model in a chat answer, or in a plan file given to
//! `fix` — before the catalogue validates each step: action ids, parameters and reasons only.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A plan as the model proposed it (not yet validated).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedPlan {
    #[serde(rename = "plan")]
    pub steps: Vec<ProposedStep>,
}

/// One proposed step: a catalogue action id with its parameters and the model's reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposedStep {
    pub action: String,
    #[serde(default)]
    pub params: Map<String, Value>,
    #[serde(default)]
    pub why: String,
}

impl ProposedPlan {
    /// The plan as chat text: numbered steps, and the reminder that nothing runs by itself.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "Proposed repair plan ({} step{}) — nothing runs until each step is confirmed:",
            self.steps.len(),
            if self.steps.len() == 1 { "" } else { "s" }
        );
        for (i, s) in self.steps.iter().enumerate() {
            let params = if s.params.is_empty() {
                String::new()
            } else {
                format!(" {}", Value::Object(s.params.clone()))
            };
            text.push_str(&format!("\n{}. {}{params}", i + 1, s.action));
            if !s.why.is_empty() {
                text.push_str(&format!(" — {}", s.why));
            }
        }
        text
    }
}
