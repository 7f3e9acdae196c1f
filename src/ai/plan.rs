//! Repair plans proposed by the model. The model cannot execute anything: it may end an answer
//! with a fenced JSON block `{"plan": [{"action": "RDS-FIX-01", "params": {…}, "why": "…"}]}`.
//! The block is read into this structure and handed to the repair machinery, which validates
//! every step against the plugin's action catalogue; anything else stays text.

pub use crate::repair::proposal::{ProposedPlan, ProposedStep};

/// Plans in the fenced code blocks of an answer. A block that mentions `"plan"` but does not
/// read as a plan gives an error naming the problem.
pub fn extract_plans(answer: &str) -> Vec<Result<ProposedPlan, String>> {
    fenced_blocks(answer)
        .into_iter()
        .filter(|block| block.contains("\"plan\""))
        .map(|block| {
            serde_json::from_str::<ProposedPlan>(&block)
                .map_err(|e| format!("the proposed plan is not valid: {e}"))
                .and_then(|p| {
                    if p.steps.is_empty() {
                        Err("the proposed plan has no steps".to_string())
                    } else {
                        Ok(p)
                    }
                })
        })
        .collect()
}

/// The contents of the fenced code blocks of a text, in order.
pub fn fenced_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None => current = Some(String::new()),
            }
        } else if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_block_is_read_and_other_blocks_are_ignored() {
        let answer = "Use this:\n```sh\nredis-cli INFO\n```\nthen\n```json\n{\"plan\": [{\"action\": \
\"RDS-FIX-02\", \"params\": {\"policy\": \"allkeys-lru\"}, \"why\": \"noeviction at 98%\"}]}\n```\n";
        let plans = extract_plans(answer);
        assert_eq!(plans.len(), 1);
        let plan = plans[0].as_ref().unwrap();
        assert_eq!(plan.steps[0].action, "RDS-FIX-02");
        assert_eq!(plan.steps[0].params["policy"], "allkeys-lru");
        let text = plan.describe();
        assert!(text.contains("1. RDS-FIX-02 {\"policy\":\"allkeys-lru\"} — noeviction at 98%"));
    }

    #[test]
    fn a_broken_plan_says_why() {
        let plans = extract_plans("```json\n{\"plan\": [{\"command\": \"FLUSHALL\"}]}\n```");
        let err = plans[0].as_ref().unwrap_err();
        assert!(err.contains("not valid"), "{err}");
        let plans = extract_plans("```json\n{\"plan\": []}\n```");
        assert!(plans[0].as_ref().unwrap_err().contains("no steps"));
    }
}
