//! ES-SEC-01: the cluster answers without credentials.

use super::RuleInput;
use crate::model::{Finding, Severity};

pub(super) fn check(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let s = input.cur;
    if s.anonymous_access == Some(true) {
        out.push(
            Finding::new("ES-SEC-01", Severity::Warning, "security",
                format!("cluster {} answers without credentials", s.cluster_name),
                "Anyone who reaches the HTTP port can read or delete every index (security is off or anonymous access is on).",
                "Enable security (xpack.security.enabled / the OpenSearch security plugin) — a restart and a \
                 credentials rollout, so manual only.")
                .with("anonymous_access", true)
                .with("threshold", "GET / answered without credentials (sem: ES 8 enables security by default)"),
        );
    }
}
