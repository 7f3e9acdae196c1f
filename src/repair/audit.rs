//! The audit log: append-only JSON lines, each record carrying the SHA-256 of the line before
//! it, so that editing or deleting any record breaks the chain (`audit verify` says where).
//! The hash of the last record is also kept in `FILE.head`, which makes cutting records off
//! the end visible too. Each record is written with one `write` and `fsync`ed before the call
//! returns, under an exclusive file lock (two programs appending cannot interleave).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditEvent {
    Proposed,
    Confirmed,
    Skipped,
    Aborted,
    Refused,
    Executed,
    Failed,
    Verified,
    VerificationFailed,
    RolledBack,
    ModeChanged,
    ModelRequest,
}

/// One record as written (the `prev` hash chains it to the record before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    pub ts: DateTime<Utc>,
    /// The OS user running the program.
    pub user: String,
    /// The effective safety mode.
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    pub event: AuditEvent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The command, secrets redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The result or the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    pub prev: String,
}

/// What a caller fills in; the chain adds seq, time, user and prev.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    pub mode: String,
    pub context: Option<String>,
    pub instance: Option<String>,
    pub action: Option<String>,
    pub command: Option<String>,
    pub result: Option<String>,
}

/// Why a log does not verify.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuditError {
    #[error("cannot use the audit log {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("the chain breaks at line {line}: {reason}")]
    Broken { line: usize, reason: String },
}

/// The open audit log of this process.
pub struct AuditChain {
    path: PathBuf,
    user: String,
    state: Mutex<()>,
}

impl std::fmt::Debug for AuditChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditChain")
            .field("path", &self.path)
            .finish()
    }
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> AuditError {
    AuditError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// SHA-256 of a record line (without its newline), lower-case hex.
pub fn hash_line(line: &str) -> String {
    let digest = Sha256::digest(line.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The default audit log path in the data dir.
pub fn default_audit_path(data_dir: &Path) -> PathBuf {
    data_dir.join("audit.jsonl")
}

fn head_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".head");
    PathBuf::from(p)
}

impl AuditChain {
    /// Opens (creating) the log; nothing is read until the first append.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_err(path, e))?;
        }
        open_append(path)?;
        Ok(AuditChain::at(path))
    }

    /// A chain at `path` without touching the disk now; every append opens the file, so when
    /// it cannot be written each append fails — and with it every write the executor guards.
    pub fn at(path: &Path) -> Self {
        AuditChain {
            path: path.to_path_buf(),
            user: crate::app::session::os_user(),
            state: Mutex::new(()),
        }
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record durably; returns it.
    pub fn append(&self, event: AuditEvent, entry: AuditEntry) -> Result<AuditRecord, AuditError> {
        let _guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = open_append(&self.path)?;
        file.lock().map_err(|e| io_err(&self.path, e))?;
        let (seq, prev, needs_newline) = last_record(&mut file, &self.path)?;
        let record = AuditRecord {
            seq,
            ts: Utc::now(),
            user: self.user.clone(),
            mode: entry.mode,
            context: entry.context,
            instance: entry.instance,
            event,
            action: entry.action,
            command: entry.command,
            result: entry.result,
            prev,
        };
        let line = serde_json::to_string(&record).map_err(|e| io_err(&self.path, e))?;
        let mut bytes = Vec::with_capacity(line.len() + 2);
        if needs_newline {
            bytes.push(b'\n'); // a record cut short by a crash stays visible as a broken line
        }
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        file.write_all(&bytes).map_err(|e| io_err(&self.path, e))?;
        file.sync_all().map_err(|e| io_err(&self.path, e))?;
        let head = format!("{} {}\n", record.seq, hash_line(&line));
        crate::app::session::write_private(&head_path(&self.path), head.as_bytes())
            .map_err(|e| io_err(&self.path, e))?;
        Ok(record)
    }
}

fn open_append(path: &Path) -> Result<File, AuditError> {
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| io_err(path, e))
}

/// The next seq, the hash of the last line, and whether the file lacks a final newline.
fn last_record(file: &mut File, path: &Path) -> Result<(u64, String, bool), AuditError> {
    let len = file.metadata().map_err(|e| io_err(path, e))?.len();
    if len == 0 {
        return Ok((1, GENESIS.to_string(), false));
    }
    // Records are short; the last one is within the last 64 KiB.
    let start = len.saturating_sub(64 * 1024);
    file.seek(SeekFrom::Start(start))
        .map_err(|e| io_err(path, e))?;
    let mut tail = String::new();
    file.read_to_string(&mut tail)
        .map_err(|e| io_err(path, e))?;
    let needs_newline = !tail.ends_with('\n');
    let last = tail
        .trim_end_matches('\n')
        .rsplit('\n')
        .next()
        .unwrap_or_default();
    let seq = match serde_json::from_str::<AuditRecord>(last) {
        Ok(r) => r.seq + 1,
        Err(_) => {
            // The last line is damaged: number on from the line count.
            file.seek(SeekFrom::Start(0)).map_err(|e| io_err(path, e))?;
            BufReader::new(&*file).lines().count() as u64 + 1
        }
    };
    Ok((seq, hash_line(last), needs_newline))
}

/// Reads and checks a whole log: every `prev` is the hash of the line before, seqs count up,
/// and the last hash matches the head file when there is one. Returns the records.
pub fn verify_chain(path: &Path) -> Result<Vec<AuditRecord>, AuditError> {
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut records = Vec::new();
    let mut prev = GENESIS.to_string();
    let mut line_no = 0;
    for line in BufReader::new(file).lines() {
        line_no += 1;
        let line = line.map_err(|e| io_err(path, e))?;
        let record: AuditRecord = serde_json::from_str(&line).map_err(|e| AuditError::Broken {
            line: line_no,
            reason: format!("not a valid record ({e})"),
        })?;
        if record.prev != prev {
            return Err(AuditError::Broken {
                line: line_no,
                reason: "its prev hash does not match the record before (edited, inserted or deleted records)".into(),
            });
        }
        if record.seq != line_no as u64 {
            return Err(AuditError::Broken {
                line: line_no,
                reason: format!("seq {} where {line_no} was expected", record.seq),
            });
        }
        prev = hash_line(&line);
        records.push(record);
    }
    if let Ok(head) = std::fs::read_to_string(head_path(path)) {
        let mut parts = head.split_whitespace();
        let (seq, hash) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if seq != records.len().to_string() || hash != prev {
            return Err(AuditError::Broken {
                line: line_no + 1,
                reason: format!(
                    "the log ends after record {} but its head file names record {seq} (records cut off the end)",
                    records.len()
                ),
            });
        }
    }
    Ok(records)
}

/// One record as a readable line for `audit show`.
pub fn format_record(r: &AuditRecord) -> String {
    let mut line = format!(
        "#{:<4} {} {:<8} {:<10} {:<19}",
        r.seq,
        r.ts.format("%Y-%m-%d %H:%M:%S"),
        r.user,
        r.mode,
        serde_json::to_value(r.event)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    );
    for (label, value) in [
        ("ctx", &r.context),
        ("instance", &r.instance),
        ("action", &r.action),
    ] {
        if let Some(v) = value {
            line.push_str(&format!(" {label}={v}"));
        }
    }
    if let Some(c) = &r.command {
        line.push_str(&format!(" `{c}`"));
    }
    if let Some(res) = &r.result {
        line.push_str(&format!(" → {res}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(instance: &str, command: &str) -> AuditEntry {
        AuditEntry {
            mode: "confirm".into(),
            instance: Some(instance.into()),
            command: Some(command.into()),
            ..AuditEntry::default()
        }
    }

    fn sample_log(dir: &Path) -> PathBuf {
        let path = dir.join("audit.jsonl");
        let chain = AuditChain::open(&path).unwrap();
        chain
            .append(
                AuditEvent::Proposed,
                entry("cache", "CONFIG SET maxmemory-policy allkeys-lru"),
            )
            .unwrap();
        chain
            .append(
                AuditEvent::Confirmed,
                entry("cache", "CONFIG SET maxmemory-policy allkeys-lru"),
            )
            .unwrap();
        let r = chain
            .append(
                AuditEvent::Executed,
                entry("cache", "CONFIG SET maxmemory-policy allkeys-lru"),
            )
            .unwrap();
        assert_eq!(r.seq, 3);
        path
    }

    #[test]
    fn an_intact_chain_verifies_and_reopening_continues_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample_log(dir.path());
        assert_eq!(verify_chain(&path).unwrap().len(), 3);
        let chain = AuditChain::open(&path).unwrap();
        let r = chain
            .append(AuditEvent::Verified, entry("cache", "CONFIG GET"))
            .unwrap();
        assert_eq!(r.seq, 4);
        let records = verify_chain(&path).unwrap();
        assert_eq!(
            records[3].prev,
            hash_line(
                std::fs::read_to_string(&path)
                    .unwrap()
                    .lines()
                    .nth(2)
                    .unwrap()
            )
        );
        assert!(format_record(&records[0]).contains("proposed"));
    }

    #[test]
    fn edits_deletions_and_truncation_break_the_chain_where_they_happen() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample_log(dir.path());
        let original = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = original.lines().collect();

        // An edit of record 2 (allkeys-lru → volatile-lru) breaks at line 3.
        let edited = original.replacen("allkeys-lru", "volatile-lru", 2);
        std::fs::write(&path, &edited).unwrap();
        let err = verify_chain(&path).unwrap_err();
        assert!(matches!(err, AuditError::Broken { line: 2, .. }), "{err}");

        // Deleting record 2 breaks at the line that now follows record 1.
        std::fs::write(&path, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
        let err = verify_chain(&path).unwrap_err();
        assert!(matches!(err, AuditError::Broken { line: 2, .. }), "{err}");

        // Cutting the last record off is caught by the head file.
        std::fs::write(&path, format!("{}\n{}\n", lines[0], lines[1])).unwrap();
        let err = verify_chain(&path).unwrap_err();
        assert!(err.to_string().contains("cut off the end"), "{err}");

        // A record cut short by a crash: the next append starts a new line, verify names it.
        std::fs::write(
            &path,
            format!("{}\n{}\n{}", lines[0], lines[1], &lines[2][..20]),
        )
        .unwrap();
        let chain = AuditChain::open(&path).unwrap();
        chain
            .append(AuditEvent::Aborted, entry("cache", "-"))
            .unwrap();
        let err = verify_chain(&path).unwrap_err();
        assert!(matches!(err, AuditError::Broken { line: 3, .. }), "{err}");
        assert!(std::fs::read_to_string(&path).unwrap().lines().count() == 4);
    }
}
