//! The audit log: append-only JSON lines, each record carrying the SHA-256 of the line before
//! it, so that editing or deleting any record breaks the chain (`audit verify` says where).
//! The hash of the last record is also kept in `FILE.head`, which makes cutting records off
//! the end visible too; every append and the program's start compare the two. Each record is
//! written with one `write` and `fsync`ed before the call returns, under an exclusive file lock
//! (two programs appending cannot interleave). Past [`SEGMENT_BYTES`] the file is sealed as a
//! numbered segment and a new one begins, its first record chained to the sealed one's last.

mod segments;
mod verify;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use segments::{head_path, sealed_path};
pub use verify::{VerifySummary, log_files, verify_chain, verify_log};

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
    /// The end of the chain was not the record the head file named (records cut or edited).
    ChainBroken,
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
    #[error("the chain breaks at line {line} of {file}: {reason}")]
    Broken {
        file: String,
        line: usize,
        reason: String,
    },
    /// The start-up check: the end of the chain is not the record the head file names.
    #[error("audit log tampered with or damaged: {reason} ({path})")]
    Tampered { path: String, reason: String },
}

/// A segment is sealed once it is past this size (about 200 000 records), so that no file
/// grows for years; `audit verify` checks every segment and the links between them.
pub const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// A field longer than this is cut, keeping its length and SHA-256, so that no record — whatever
/// a model names its action — is huge.
pub const FIELD_LIMIT: usize = 8 * 1024;

/// The open audit log of this process.
pub struct AuditChain {
    path: PathBuf,
    user: String,
    segment_bytes: u64,
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
    hash_bytes(line.as_bytes())
}

/// SHA-256 of raw bytes, lower-case hex (a torn line need not be UTF-8).
pub fn hash_bytes(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The default audit log path in the data dir.
pub fn default_audit_path(data_dir: &Path) -> PathBuf {
    data_dir.join("audit.jsonl")
}

/// What the end of the chain holds: the last line's hash, and its seq and prev when it is a
/// complete record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LastRecord {
    pub seq: Option<u64>,
    pub prev: Option<String>,
    pub hash: String,
}

impl LastRecord {
    fn of(line: &[u8]) -> Self {
        let parsed = serde_json::from_slice::<AuditRecord>(line).ok();
        LastRecord {
            seq: parsed.as_ref().map(|r| r.seq),
            prev: parsed.map(|r| r.prev),
            hash: hash_bytes(line),
        }
    }
}

/// The head file's content: the seq and hash of the last record written.
fn read_head(path: &Path) -> Result<Option<(u64, String)>, AuditError> {
    let text = match std::fs::read(head_path(path)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&head_path(path), e)),
    };
    let text = String::from_utf8_lossy(&text);
    let mut parts = text.split_whitespace();
    let seq = parts.next().and_then(|s| s.parse::<u64>().ok());
    let hash = parts.next().map(str::to_string);
    Ok(Some((seq.unwrap_or(0), hash.unwrap_or_default())))
}

/// Whether the end of the chain is the record the head file names. The head may lag by exactly
/// one record (a crash between writing a record and its head): that is not a cut.
pub(crate) fn compare_head(
    head: Option<&(u64, String)>,
    last: Option<&LastRecord>,
) -> Result<(), String> {
    match (head, last) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err("the head file is missing while the log has records \
             (removed, or the log was replaced)"
            .into()),
        (Some((seq, _)), None) => Err(format!(
            "the head file names record {seq} but the log holds no record \
             (records cut off the end or the log removed)"
        )),
        (Some((seq, hash)), Some(last)) => {
            if last.seq == Some(*seq) && last.hash == *hash {
                return Ok(());
            }
            if last.seq == Some(seq.saturating_add(1)) && last.prev.as_deref() == Some(hash) {
                return Ok(());
            }
            let ends = match last.seq {
                Some(s) => format!("record {s} (sha256 {})", short(&last.hash)),
                None => "a line that is not a complete record".to_string(),
            };
            Err(format!(
                "the head file names record {seq} (sha256 {}) but the log ends with {ends}: \
                 records were cut off the end or edited",
                short(hash)
            ))
        }
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Cuts a field past [`FIELD_LIMIT`] at a character boundary, saying how long it was.
fn cap_field(value: Option<String>) -> Option<String> {
    value.map(|v| {
        if v.len() <= FIELD_LIMIT {
            return v;
        }
        let mut end = FIELD_LIMIT;
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        format!(
            "{}… [cut: {} bytes in all, sha256 {}]",
            &v[..end],
            v.len(),
            hash_line(&v)
        )
    })
}

/// The end of the chain as an append sees it.
struct Tail {
    last: Option<LastRecord>,
    needs_newline: bool,
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
            user: crate::private_file::os_user(),
            segment_bytes: SEGMENT_BYTES,
            state: Mutex::new(()),
        }
    }

    /// The same chain, sealing segments past `bytes` (tests use small segments).
    pub fn with_segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes.max(1);
        self
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The start-up check: the end of the chain is the record the head file names. `Err` says
    /// how it differs (records cut off the end, or the last ones edited).
    pub fn check_tail(&self) -> Result<(), AuditError> {
        let _guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = self.lock_active()?;
        let tail = self.tail(&mut file)?;
        let head = read_head(&self.path)?;
        compare_head(head.as_ref(), tail.last.as_ref()).map_err(|reason| AuditError::Tampered {
            path: self.path.display().to_string(),
            reason,
        })
    }

    /// Appends one record durably; returns it. When the end of the chain is not what the head
    /// file names, a `chain_broken` record saying so goes first, so the evidence outlives the
    /// head file's next rewrite.
    pub fn append(&self, event: AuditEvent, entry: AuditEntry) -> Result<AuditRecord, AuditError> {
        let _guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = self.lock_active()?;
        let mut created = false;
        let len = file.metadata().map_err(|e| io_err(&self.path, e))?.len();
        if len >= self.segment_bytes {
            file = self.seal(file)?;
            created = true;
        }
        // Read after sealing: another program may have appended to the new segment already.
        let tail = self.tail(&mut file)?;
        let head = read_head(&self.path)?;
        let mut records = Vec::new();
        if let Err(reason) = compare_head(head.as_ref(), tail.last.as_ref()) {
            records.push((
                AuditEvent::ChainBroken,
                AuditEntry {
                    mode: entry.mode.clone(),
                    result: Some(reason),
                    ..AuditEntry::default()
                },
            ));
        }
        records.push((event, entry));

        let mut seq = match (&tail.last, &head) {
            (Some(LastRecord { seq: Some(s), .. }), _) => s.saturating_add(1),
            (_, Some((s, _))) => s.saturating_add(1),
            _ => 1,
        };
        let mut prev = tail
            .last
            .as_ref()
            .map_or_else(|| GENESIS.to_string(), |l| l.hash.clone());
        let mut bytes = Vec::new();
        if tail.needs_newline {
            bytes.push(b'\n'); // a record cut short by a crash stays visible as a broken line
        }
        let mut written = None;
        for (event, entry) in records {
            let record = AuditRecord {
                seq,
                ts: Utc::now(),
                user: self.user.clone(),
                mode: entry.mode,
                context: cap_field(entry.context),
                instance: cap_field(entry.instance),
                event,
                action: cap_field(entry.action),
                command: cap_field(entry.command),
                result: cap_field(entry.result),
                prev: prev.clone(),
            };
            let line = serde_json::to_string(&record).map_err(|e| io_err(&self.path, e))?;
            prev = hash_line(&line);
            seq = seq.saturating_add(1);
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
            written = Some(record);
        }
        file.write_all(&bytes).map_err(|e| io_err(&self.path, e))?;
        file.sync_all().map_err(|e| io_err(&self.path, e))?;
        if created {
            segments::sync_dir(&self.path).map_err(|e| io_err(&self.path, e))?;
        }
        let record = written.ok_or_else(|| io_err(&self.path, "no record to write"))?;
        let head = format!("{} {prev}\n", record.seq);
        crate::private_file::write_private(&head_path(&self.path), head.as_bytes())
            .and_then(|()| segments::sync_dir(&self.path))
            .map_err(|e| io_err(&head_path(&self.path), e))?;
        Ok(record)
    }

    /// Opens and locks the active segment; when another process sealed it while this one
    /// waited for the lock, opens the new one.
    fn lock_active(&self) -> Result<File, AuditError> {
        for _ in 0..8 {
            let file = open_append(&self.path)?;
            file.lock().map_err(|e| io_err(&self.path, e))?;
            if same_file(&file, &self.path) {
                return Ok(file);
            }
        }
        Err(io_err(
            &self.path,
            "the active segment keeps being replaced while this program waits for it",
        ))
    }

    /// The last record: of the active segment, or of the newest sealed one when the active
    /// segment is empty.
    fn tail(&self, file: &mut File) -> Result<Tail, AuditError> {
        if let Some((line, needs_newline)) =
            segments::last_line(file).map_err(|e| io_err(&self.path, e))?
        {
            return Ok(Tail {
                last: Some(LastRecord::of(&line)),
                needs_newline,
            });
        }
        let sealed = segments::sealed_segments(&self.path).map_err(|e| io_err(&self.path, e))?;
        let mut last = None;
        if let Some((_, newest)) = sealed.last() {
            let mut f = File::open(newest).map_err(|e| io_err(newest, e))?;
            last = segments::last_line(&mut f)
                .map_err(|e| io_err(newest, e))?
                .map(|(line, _)| LastRecord::of(&line));
        }
        Ok(Tail {
            last,
            needs_newline: false,
        })
    }

    /// Seals the active segment (renamed to the next number) and opens a new, empty one.
    fn seal(&self, file: File) -> Result<File, AuditError> {
        let sealed = segments::sealed_segments(&self.path).map_err(|e| io_err(&self.path, e))?;
        let next = sealed.last().map_or(1, |(n, _)| n.saturating_add(1));
        let target = sealed_path(&self.path, next);
        std::fs::rename(&self.path, &target).map_err(|e| io_err(&target, e))?;
        drop(file); // waiters now hold the sealed file and will find the new one
        let fresh = open_append(&self.path)?;
        fresh.lock().map_err(|e| io_err(&self.path, e))?;
        segments::sync_dir(&self.path).map_err(|e| io_err(&self.path, e))?;
        Ok(fresh)
    }
}

/// Whether the open file is still the one at `path` (it was not sealed away meanwhile).
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        true
    }
}

fn open_append(path: &Path) -> Result<File, AuditError> {
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| io_err(path, e))
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
    // Fields can hold what a model or a server chose: no escape sequence reaches the terminal.
    line.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests;
