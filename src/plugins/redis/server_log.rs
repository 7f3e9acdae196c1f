//! Tails the Redis server log file when the server runs on this machine (catalog C14).

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};

use crate::model::LogLevel;

/// How much of an existing log is shown at first, and read per poll at most.
const FIRST_READ_BYTES: u64 = 16 * 1024;
const MAX_READ_BYTES: u64 = 256 * 1024;

/// Reading position in one log file.
#[derive(Debug)]
pub struct ServerLogTail {
    path: PathBuf,
    offset: Option<u64>,
}

impl ServerLogTail {
    /// A tail of `path`, starting near its current end.
    pub fn new(path: PathBuf) -> Self {
        ServerLogTail { path, offset: None }
    }

    /// The file being tailed.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// New complete lines since the last call (level, time, message); an unreadable file
    /// yields nothing.
    pub fn read_new_lines(&mut self) -> Vec<(LogLevel, DateTime<Utc>, String)> {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let Ok(len) = file.metadata().map(|m| m.len()) else {
            return Vec::new();
        };
        let first_read = self.offset.is_none();
        let mut start = match self.offset {
            Some(off) if off <= len => off,
            Some(_) => 0, // truncated or rotated
            None => len.saturating_sub(FIRST_READ_BYTES),
        };
        if len - start > MAX_READ_BYTES {
            start = len - MAX_READ_BYTES;
        }
        if file.seek(SeekFrom::Start(start)).is_err() {
            return Vec::new();
        }
        let mut buf = Vec::new();
        if file.take(len - start).read_to_end(&mut buf).is_err() {
            return Vec::new();
        }
        // Keep an incomplete last line for the next poll.
        let complete = buf.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
        self.offset = Some(start + complete as u64);
        let text = String::from_utf8_lossy(&buf[..complete]);
        let mut lines: Vec<&str> = text.lines().collect();
        if first_read && start > 0 && !lines.is_empty() {
            lines.remove(0); // started mid-line
        }
        lines
            .into_iter()
            .filter(|l| !l.trim().is_empty())
            .map(parse_line)
            .collect()
    }
}

/// Splits `8767:M 25 Nov 2026 04:11:59.773 # message` into level, time and `# message`;
/// lines in another format are kept whole with the current time.
fn parse_line(line: &str) -> (LogLevel, DateTime<Utc>, String) {
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
    use std::io::Write;

    #[test]
    fn tails_only_complete_new_lines_and_survives_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redis.log");
        std::fs::write(&path, "1:M 01 Jan * Ready to accept connections\n").unwrap();
        let mut tail = ServerLogTail::new(path.clone());
        let first = tail.read_new_lines();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].0, LogLevel::Info);
        assert_eq!(
            first[0].2, "1:M 01 Jan * Ready to accept connections",
            "unknown format kept whole"
        );

        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        write!(
            f,
            "1:M 01 Jan # WARNING Memory overcommit must be enabled!\n1:M partial"
        )
        .unwrap();
        let next = tail.read_new_lines();
        assert_eq!(next.len(), 1, "the partial line waits");
        assert_eq!(next[0].0, LogLevel::Warn);

        std::fs::write(&path, "1:M 02 Jan * after rotation\n").unwrap();
        let rotated = tail.read_new_lines();
        assert_eq!(rotated.len(), 1);
        assert!(rotated[0].2.contains("after rotation"));
    }

    #[test]
    fn redis_lines_are_split_into_time_and_message() {
        let (level, at, msg) = parse_line("8767:M 25 Nov 2026 04:11:59.773 # Server initialized");
        assert_eq!(level, LogLevel::Warn);
        assert_eq!(msg, "# Server initialized");
        assert_eq!(
            at.with_timezone(&Local).format("%H:%M:%S").to_string(),
            "04:11:59"
        );
    }

    #[test]
    fn a_missing_file_yields_nothing() {
        let mut tail = ServerLogTail::new("/nonexistent/redis.log".into());
        assert!(tail.read_new_lines().is_empty());
    }
}
