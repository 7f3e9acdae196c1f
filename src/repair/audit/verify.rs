//! `audit verify`: every segment, oldest first, every record chained to the one before (across
//! segment boundaries too), seqs counting up, no `chain_broken` record, and the end of the chain
//! the record the head file names. Records are streamed, never all held in memory.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::segments::sealed_segments;
use super::{
    AuditError, AuditEvent, AuditRecord, GENESIS, LastRecord, compare_head, hash_bytes, io_err,
    read_head,
};

/// What a successful check covered.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifySummary {
    /// Records checked.
    pub records: u64,
    /// Files read (sealed segments and the active one).
    pub files: usize,
    /// The SHA-256 of the last record (`GENESIS` for an empty log).
    pub last_hash: String,
    /// When the oldest segments were moved away (archived): the number of the first one here.
    /// The chain is then checked from its first record on.
    pub starts_at_segment: Option<u32>,
}

/// The files of the log at `path`, oldest first: the sealed segments, then the active one.
pub fn log_files(path: &Path) -> Result<Vec<PathBuf>, AuditError> {
    let mut files: Vec<PathBuf> = sealed_segments(path)
        .map_err(|e| io_err(path, e))?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    if path.exists() || files.is_empty() {
        files.push(path.to_path_buf());
    }
    Ok(files)
}

/// Checks the whole log, handing each record to `visit` in order.
pub fn verify_log(
    path: &Path,
    mut visit: impl FnMut(&AuditRecord),
) -> Result<VerifySummary, AuditError> {
    let sealed = sealed_segments(path).map_err(|e| io_err(path, e))?;
    let starts_at_segment = sealed.first().map(|(n, _)| *n).filter(|n| *n > 1);
    let files = log_files(path)?;
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1u64;
    let mut first = true;
    let mut records = 0u64;
    let mut last: Option<LastRecord> = None;
    for file_path in &files {
        let name = file_path.display().to_string();
        let file = File::open(file_path).map_err(|e| io_err(file_path, e))?;
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let mut line_no = 0usize;
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| io_err(file_path, e))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            let broken = |reason: String| AuditError::Broken {
                file: name.clone(),
                line: line_no,
                reason,
            };
            let record: AuditRecord = serde_json::from_slice(&line)
                .map_err(|e| broken(format!("not a valid record ({e})")))?;
            if first && starts_at_segment.is_some() {
                // The segments before this one were archived: start from what this one says.
                prev = record.prev.clone();
                expected_seq = record.seq;
            }
            first = false;
            if record.prev != prev {
                return Err(broken(
                    "its prev hash does not match the record before (edited, inserted or deleted records)".into(),
                ));
            }
            if record.seq != expected_seq {
                return Err(broken(format!(
                    "seq {} where {expected_seq} was expected",
                    record.seq
                )));
            }
            if record.event == AuditEvent::ChainBroken {
                return Err(broken(format!(
                    "record {} says the chain was found damaged when it was written: {}",
                    record.seq,
                    record.result.as_deref().unwrap_or("-")
                )));
            }
            prev = hash_bytes(&line);
            expected_seq = expected_seq.saturating_add(1);
            records += 1;
            visit(&record);
            last = Some(LastRecord {
                seq: Some(record.seq),
                prev: Some(record.prev),
                hash: prev.clone(),
            });
        }
    }
    let head = read_head(path)?;
    compare_head(head.as_ref(), last.as_ref()).map_err(|reason| AuditError::Broken {
        file: path.display().to_string(),
        line: 0,
        reason: format!("at its end: {reason}"),
    })?;
    Ok(VerifySummary {
        records,
        files: files.len(),
        last_hash: prev,
        starts_at_segment,
    })
}

/// Reads and checks a whole log and returns its records (tests and small logs; `audit verify`
/// streams with [`verify_log`]).
pub fn verify_chain(path: &Path) -> Result<Vec<AuditRecord>, AuditError> {
    let mut records = Vec::new();
    verify_log(path, |r| records.push(r.clone()))?;
    Ok(records)
}
