//! Parses the Redis server log (catalog C14); the file is tailed by [`LogFileTail`].

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};

use crate::model::LogLevel;
pub use crate::plugins::log_tail::LogFileTail;

/// Splits `8767:M 25 Nov 2026 04:11:59.773 # message` into level, time and `# message`;
/// lines in another format are kept whole with the current time.
pub fn parse_line(line: &str) -> (LogLevel, DateTime<Utc>, String) {
    let level = level_of(line);
    let parsed = line.split_once(' ').and_then(|(_pid_role, rest)| {
        let stamp = rest.get(..24)?;
        let naive = NaiveDateTime::parse_from_str(stamp, "%d %b %Y %H:%M:%S%.3f").ok()?;
        let at = Local
            .from_local_datetime(&naive)
            .single()?
            .with_timezone(&Utc);
        Some((at, rest.get(25..)?.to_string()))
    });
    match parsed {
        Some((at, message)) => (level, at, message),
        None => (level, Utc::now(), line.to_string()),
    }
}

/// Redis marks levels with `.` debug, `-` verbose, `*` notice, `#` warning after the timestamp.
fn level_of(line: &str) -> LogLevel {
    if line.contains(" # ") {
        LogLevel::Warn
    } else if line.contains(" * ") {
        LogLevel::Info
    } else {
        LogLevel::Debug
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_lines_are_split_into_time_and_message() {
        let (level, at, msg) = parse_line("8767:M 25 Nov 2026 04:11:59.773 # Server initialized");
        assert_eq!(level, LogLevel::Warn);
        assert_eq!(msg, "# Server initialized");
        assert_eq!(
            at.with_timezone(&Local).format("%H:%M:%S").to_string(),
            "04:11:59"
        );
        let (level, _, msg) = parse_line("1:M 01 Jan * Ready to accept connections");
        assert_eq!(level, LogLevel::Info);
        assert_eq!(
            msg, "1:M 01 Jan * Ready to accept connections",
            "unknown format kept whole"
        );
    }
}
