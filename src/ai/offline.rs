//! The offline analysis: when no model is configured or it cannot answer, the rule engine
//! answers — clearly labelled, with rule ids, explanations and recommended actions.

use crate::model::Finding;

/// The label every offline answer starts with.
pub const OFFLINE_LABEL: &str = "Offline analysis (built-in rule engine — no model was asked)";

/// Answers a question about `instance` from its findings.
pub fn offline_analysis(
    instance: &str,
    health_problem: Option<&str>,
    findings: &[Finding],
) -> String {
    let mut out = format!("{OFFLINE_LABEL}\n\n");
    if let Some(problem) = health_problem {
        out.push_str(&format!(
            "{instance} cannot be collected right now: {problem}\n\n"
        ));
    }
    if findings.is_empty() {
        out.push_str(&format!(
            "No rule fires for {instance}: memory, latency, connections, replication, persistence \
             and security checks all pass on the latest sample.\n"
        ));
        return out;
    }
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(&b.id)));
    out.push_str(&format!(
        "{instance} has {} finding(s), most severe first:\n",
        sorted.len()
    ));
    for (i, f) in sorted.iter().enumerate() {
        let evidence: Vec<String> = f
            .evidence
            .iter()
            .filter(|(k, _)| *k != "threshold")
            .take(5)
            .map(|(k, v)| format!("{k}={}", v.to_string().trim_matches('"')))
            .collect();
        out.push_str(&format!(
            "\n{}. {} {} — {}\n   Why: {}\n   Evidence: {}\n   Do: {}\n",
            i + 1,
            f.severity.tag(),
            f.id,
            f.title,
            f.detail,
            evidence.join(", "),
            f.recommendation
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Severity;

    #[test]
    fn findings_are_listed_most_severe_first_with_ids_and_actions() {
        let findings = vec![
            Finding::new(
                "RDS-LAT-01",
                Severity::Warning,
                "latency",
                "slow",
                "d1",
                "use SCAN",
            )
            .with("count", 3),
            Finding::new(
                "RDS-MEM-01",
                Severity::Critical,
                "memory",
                "oom",
                "d2",
                "free memory",
            ),
        ];
        let text = offline_analysis("redis-cache", None, &findings);
        assert!(text.starts_with(OFFLINE_LABEL));
        let crit = text.find("RDS-MEM-01").unwrap();
        let warn = text.find("RDS-LAT-01").unwrap();
        assert!(crit < warn);
        assert!(text.contains("Do: free memory") && text.contains("count=3"));
        assert!(offline_analysis("x", Some("down"), &[]).contains("cannot be collected"));
    }
}
