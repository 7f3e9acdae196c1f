//! UI-free data models: bounded log buffer, metric history, units.

pub mod log_ring;
pub mod metric_series;
pub mod units;

pub use log_ring::{LogFilter, LogLevel, LogLine, LogRingBuffer};
pub use metric_series::MetricSeries;
pub use units::Unit;
