//! The structured diagnosis of one target, as `diagnose --output json` prints it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{DiagnosisStatus, Finding};

/// Who was diagnosed. `endpoint` never carries credentials.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetInfo {
    pub name: String,
    pub kind: String,
    pub endpoint: String,
    /// Server version, when the server could be reached.
    pub version: Option<String>,
}

/// The full report for one target.
#[derive(Debug, Clone, Serialize)]
pub struct DiagnosisReport {
    pub target: TargetInfo,
    pub collected_at: DateTime<Utc>,
    pub status: DiagnosisStatus,
    pub findings: Vec<Finding>,
    /// Why the status is `unknown` (unreachable, authentication refused …); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The server's answer when it turned the client away (connection limit, overload): the
    /// findings are then that refusal alone, and no other rule could be judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}
