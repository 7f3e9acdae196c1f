//! The one-shot diagnosis of an instance (`diagnose`, `health`) and its report.
//!
//! Rules live with their plugin (`plugins::redis::rules`), because they read plugin-specific
//! samples; what they produce (findings, severities) is plain data in `model::finding`,
//! re-exported here for the report's readers.

mod oneshot;
mod report;

pub use crate::model::finding::{
    DiagnosisStatus, Finding, FindingSource, Severity, findings_markdown, sort_findings,
};
pub use oneshot::diagnose_instance;
pub use report::{DiagnosisReport, TargetInfo};
