//! Logging to a daily rolling file (never to the screen while the UI runs).

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// The file name prefix of log files in the log directory.
pub const LOG_FILE_PREFIX: &str = "kubestack-ai.log";

/// Starts file logging at `level` (overridable with `KUBESTACK_LOG`); keep the guard alive
/// until exit so buffered lines are flushed. Returns an error text if the directory is unusable.
pub fn init_file_logging(log_dir: &Path, level: &str) -> Result<WorkerGuard, String> {
    std::fs::create_dir_all(log_dir)
        .map_err(|e| format!("cannot create log directory {}: {e}", log_dir.display()))?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(LOG_FILE_PREFIX)
        .max_log_files(7)
        .build(log_dir)
        .map_err(|e| format!("cannot open a log file in {}: {e}", log_dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("KUBESTACK_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("kubestack_ai={level},warn")));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .map_err(|e| format!("logging already initialised: {e}"))?;
    Ok(guard)
}
