//! An Elasticsearch that answers but refuses the request: HTTP 429 (a full thread-pool queue,
//! a tripped circuit breaker) or 503 (no elected master, state not recovered, a cluster
//! block). That answer is the diagnosis: it becomes the catalogue finding it amounts to, with
//! the server's error type and reason as evidence — never a bare "unexpected reply".

use serde_json::Value;

use crate::model::{Finding, Severity};

/// At most this much of the server's reason goes into a finding's title (all of it is evidence).
const TITLE_REPLY_CHARS: usize = 120;

/// The finding a refusing status amounts to (`None` for every other status).
pub fn refusal_finding(status: u16, method: &str, path: &str, body: &Value) -> Option<Finding> {
    let error = body.get("error");
    let kind = error
        .and_then(|e| e.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let reply = super::connection::error_reason(&body.to_string());
    // The reason of a rejection names the whole executor: the title keeps its start.
    let short: String = if reply.chars().count() > TITLE_REPLY_CHARS {
        reply.chars().take(TITLE_REPLY_CHARS).chain(['…']).collect()
    } else {
        reply.clone()
    };
    let finding = match status {
        429 if kind == "circuit_breaking_exception" => Finding::new(
            "ES-J-04",
            Severity::Critical,
            "jvm",
            format!("the cluster refuses requests: HTTP 429 on {method} {path}: {short}"),
            "Elasticsearch refused even this small request to protect its heap (HTTP 429 \
             circuit_breaking_exception): clients are failing now. No other rule could be judged.",
            "Find the requests that need so much memory (big aggregations, fielddata, huge bulks); \
             do not raise indices.breaker.* (manual only).",
        ),
        429 => Finding::new(
            "ES-T-01",
            Severity::Critical,
            "threads",
            format!("the cluster refuses requests: HTTP 429 on {method} {path}: {short}"),
            "Elasticsearch answered with a rejection (HTTP 429): its queues are full, so clients \
             are being turned away now. No other rule could be judged.",
            "Fix the cause (a hot spot, CPU, JVM pressure), not the queue size (manual only).",
        ),
        503 => Finding::new(
            "ES-H-01",
            Severity::Critical,
            "health",
            format!("the cluster is unavailable: HTTP 503 on {method} {path}: {short}"),
            "Elasticsearch answered that it cannot serve (HTTP 503): no elected master, the \
             cluster state not recovered yet, or a cluster-wide block. Nothing can be searched or \
             written now. No other rule could be judged.",
            "Read the nodes' logs for `master not discovered` and check that enough master-eligible \
             nodes are up and can reach each other (ES-N-03).",
        ),
        _ => return None,
    };
    Some(
        finding
            .with("http_status", status)
            .with("server_reply", reply)
            .with("request", format!("{method} {path}"))
            .with("threshold", "any refusal (src: HTTP status of the reply)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refusing_statuses_map_to_their_rules() {
        let rejected = json!({"error": {"type": "es_rejected_execution_exception", "reason": "rejected execution"}, "status": 429});
        let breaker = json!({"error": {"type": "circuit_breaking_exception", "reason": "[parent] Data too large"}, "status": 429});
        let blocked = json!({"error": {"type": "cluster_block_exception", "reason": "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];"}, "status": 503});
        let cases = [
            (429, &rejected, Some("ES-T-01")),
            (429, &breaker, Some("ES-J-04")),
            (503, &blocked, Some("ES-H-01")),
            (503, &json!("not json at all"), Some("ES-H-01")),
            (500, &rejected, None),
            (404, &json!({}), None),
        ];
        for (status, body, want) in cases {
            let f = refusal_finding(status, "GET", "/", body);
            assert_eq!(f.as_ref().map(|f| f.id.as_str()), want, "{status} {body}");
            if let Some(f) = f {
                assert_eq!(f.severity, Severity::Critical);
                assert_eq!(f.evidence["http_status"], status);
            }
        }
        let f = refusal_finding(503, "GET", "/", &blocked).unwrap();
        assert_eq!(
            f.evidence["server_reply"],
            "cluster_block_exception: blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];"
        );
    }
}
