//! UI-free data models: findings, bounded log buffer, metric history, units, and what a
//! collection pass produces.

pub mod finding;
pub mod log_ring;
pub mod metric_series;
pub mod snapshot;
pub mod units;

pub use finding::{
    DiagnosisStatus, Finding, FindingSource, Severity, findings_markdown, sort_findings,
};
pub use log_ring::{LogFilter, LogLevel, LogLine, LogRingBuffer};
pub use metric_series::{Bucket, MetricSeries};
pub use snapshot::{CollectedLog, InstanceFacts, InstanceSnapshot, MetricSample, PluginError};
pub use units::Unit;
