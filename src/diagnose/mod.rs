//! The rule engine's vocabulary: findings, severities and the per-instance diagnosis report.
//!
//! Rules themselves live with their plugin (`plugins::redis::rules`), because they read
//! plugin-specific samples; this module holds what every plugin's rules produce.

mod finding;
mod oneshot;
mod report;

pub use finding::{
    DiagnosisStatus, Finding, FindingSource, Severity, findings_markdown, sort_findings,
};
pub use oneshot::diagnose_instance;
pub use report::{DiagnosisReport, TargetInfo};
