//! Tails a server's log file on this machine: only complete new lines, a bounded first read,
//! and a fresh start after truncation or rotation. The plugins parse the lines.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

/// How much of an existing log is shown at first, and read per poll at most.
const FIRST_READ_BYTES: u64 = 16 * 1024;
const MAX_READ_BYTES: u64 = 256 * 1024;

/// Reading position in one log file.
#[derive(Debug)]
pub struct LogFileTail {
    path: PathBuf,
    offset: Option<u64>,
}

impl LogFileTail {
    /// A tail of `path`, starting near its current end.
    pub fn new(path: PathBuf) -> Self {
        LogFileTail { path, offset: None }
    }

    /// The file being tailed.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// New complete, non-empty lines since the last call; an unreadable file yields nothing.
    pub fn read_new_lines(&mut self) -> Vec<String> {
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
            .map(str::to_string)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn tails_only_complete_new_lines_and_survives_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.log");
        std::fs::write(&path, "first line\n").unwrap();
        let mut tail = LogFileTail::new(path.clone());
        assert_eq!(tail.read_new_lines(), vec!["first line".to_string()]);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        write!(f, "second\n\npartial").unwrap();
        assert_eq!(
            tail.read_new_lines(),
            vec!["second".to_string()],
            "the partial line waits"
        );
        std::fs::write(&path, "after rotation\n").unwrap();
        assert_eq!(tail.read_new_lines(), vec!["after rotation".to_string()]);
    }

    #[test]
    fn a_missing_file_yields_nothing() {
        let mut tail = LogFileTail::new("/nonexistent/server.log".into());
        assert!(tail.read_new_lines().is_empty());
    }
}
