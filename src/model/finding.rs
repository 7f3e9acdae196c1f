//! Findings: what a rule concluded about one instance, with the evidence behind it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How urgent a finding is (catalog §0: CRIT = failing now, WARN = act within hours, INFO = hygiene).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Hygiene, tuning or context.
    Info,
    /// Degradation or a risk that needs action within hours.
    Warning,
    /// Clients are failing now, or data loss / an outage is imminent.
    Critical,
}

impl Severity {
    /// The four-letter tag shown in the findings pane.
    pub fn tag(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARN",
            Severity::Critical => "CRIT",
        }
    }
}

/// Who judged: the instance's own plugin, or the Kubernetes rules about its workload. It picks
/// the catalogue that repairs the finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingSource {
    /// The rules of the instance's plugin.
    #[default]
    Instance,
    /// The rules on its pods and events (`kube::rules`).
    Kubernetes,
}

impl FindingSource {
    /// Whether the instance's plugin judged (the default, not written in reports).
    pub fn is_instance(&self) -> bool {
        *self == FindingSource::Instance
    }

    /// Whether the Kubernetes rules judged.
    pub fn is_kubernetes(&self) -> bool {
        *self == FindingSource::Kubernetes
    }
}

/// One rule's conclusion about one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The catalog rule id, e.g. `RDS-MEM-01`.
    pub id: String,
    pub severity: Severity,
    /// The rule family: memory, latency, connections, replication, persistence, security, capacity.
    pub category: String,
    /// One line for the findings list.
    pub title: String,
    /// What the SRE should read: why it matters.
    pub detail: String,
    /// The values that triggered the rule, with the threshold and its provenance.
    pub evidence: Map<String, Value>,
    /// What to do about it.
    pub recommendation: String,
    /// Who judged (and so which catalogue repairs it).
    #[serde(default, skip_serializing_if = "FindingSource::is_instance")]
    pub source: FindingSource,
}

impl Finding {
    /// Starts a finding; evidence is added with [`Finding::with`].
    pub fn new(
        id: &str,
        severity: Severity,
        category: &str,
        title: impl Into<String>,
        detail: impl Into<String>,
        recommendation: impl Into<String>,
    ) -> Self {
        Finding {
            id: id.to_string(),
            severity,
            category: category.to_string(),
            title: title.into(),
            detail: detail.into(),
            evidence: Map::new(),
            recommendation: recommendation.into(),
            source: FindingSource::Instance,
        }
    }

    /// Adds one evidence value.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.evidence.insert(key.to_string(), value.into());
        self
    }
}

/// The overall verdict for one instance, ordered from best to worst for `max()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiagnosisStatus {
    Ok,
    Warning,
    Critical,
    /// Unreachable, authentication refused, or nothing could be collected.
    Unknown,
}

impl DiagnosisStatus {
    /// The verdict implied by a set of findings of a reachable instance.
    pub fn from_findings(findings: &[Finding]) -> Self {
        match findings.iter().map(|f| f.severity).max() {
            Some(Severity::Critical) => DiagnosisStatus::Critical,
            Some(Severity::Warning) => DiagnosisStatus::Warning,
            _ => DiagnosisStatus::Ok,
        }
    }

    /// Monitoring-plugin exit code: 0 ok, 1 warning, 2 critical, 3 unknown.
    pub fn exit_code(self) -> i32 {
        match self {
            DiagnosisStatus::Ok => 0,
            DiagnosisStatus::Warning => 1,
            DiagnosisStatus::Critical => 2,
            DiagnosisStatus::Unknown => 3,
        }
    }

    /// Lower-case name as used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosisStatus::Ok => "ok",
            DiagnosisStatus::Warning => "warning",
            DiagnosisStatus::Critical => "critical",
            DiagnosisStatus::Unknown => "unknown",
        }
    }
}

/// Sorts findings most severe first, then by id, so reports are stable.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.id.cmp(&b.id)));
}

/// Findings as Markdown: a summary table, then each finding with evidence and recommendation.
pub fn findings_markdown(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "No findings — every rule passes.\n".to_string();
    }
    let mut out = String::from("| Severity | Rule | Category | Finding |\n|---|---|---|---|\n");
    for f in findings {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            f.severity.tag(),
            f.id,
            f.category,
            f.title.replace('|', "\\|")
        ));
    }
    for f in findings {
        out.push_str(&format!(
            "\n### {} {}\n\n{}\n\n**Evidence:** `{}`\n\n**Recommendation:** {}\n",
            f.id,
            f.title,
            f.detail,
            Value::Object(f.evidence.clone()),
            f.recommendation
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(sev: Severity) -> Finding {
        Finding::new("X-1", sev, "test", "t", "d", "r")
    }

    #[test]
    fn status_follows_the_worst_finding() {
        let cases = [
            (vec![], DiagnosisStatus::Ok, 0),
            (vec![finding(Severity::Info)], DiagnosisStatus::Ok, 0),
            (
                vec![finding(Severity::Info), finding(Severity::Warning)],
                DiagnosisStatus::Warning,
                1,
            ),
            (
                vec![finding(Severity::Critical), finding(Severity::Warning)],
                DiagnosisStatus::Critical,
                2,
            ),
        ];
        for (findings, status, code) in cases {
            assert_eq!(DiagnosisStatus::from_findings(&findings), status);
            assert_eq!(status.exit_code(), code);
        }
        assert_eq!(DiagnosisStatus::Unknown.exit_code(), 3);
    }

    #[test]
    fn severity_serializes_as_the_report_format_says() {
        let json = serde_json::to_string(&finding(Severity::Warning)).unwrap();
        assert!(json.contains(r#""severity":"warning""#), "{json}");
    }
}
