//! `audit verify [FILE]` checks the hash chain — every segment, and the head file — and says
//! where it breaks; `audit show [FILE]` prints the records readably.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::repair::AuditError;
use crate::repair::audit::{AuditRecord, default_audit_path, format_record, log_files, verify_log};

fn path_or_default(file: Option<&Path>, data_dir: &Path) -> PathBuf {
    file.map_or_else(|| default_audit_path(data_dir), Path::to_path_buf)
}

/// Exit code 0 when the chain is intact, 1 when it is broken or unreadable.
pub fn verify(file: Option<&Path>, data_dir: &Path) -> i32 {
    let path = path_or_default(file, data_dir);
    match verify_log(&path, |_| {}) {
        Ok(summary) => {
            if let Some(n) = summary.starts_at_segment {
                println!(
                    "{}: segments before {n} are not here (archived?): checked from segment {n} on",
                    path.display()
                );
            }
            println!(
                "{}: {} record(s) in {} file(s), chain intact (last record sha256 {})",
                path.display(),
                summary.records,
                summary.files,
                summary.last_hash
            );
            0
        }
        Err(e @ AuditError::Broken { .. }) => {
            println!("{}: {e}", path.display());
            1
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// Prints every record of every segment; a broken chain is said at the end (exit 1).
pub fn show(file: Option<&Path>, data_dir: &Path) -> i32 {
    let path = path_or_default(file, data_dir);
    let files = match log_files(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    for file in files {
        let reader = match std::fs::File::open(&file) {
            Ok(f) => std::io::BufReader::new(f),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", file.display());
                return 1;
            }
        };
        for (i, line) in reader.split(b'\n').enumerate() {
            let line = match line {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("error: cannot read {}: {e}", file.display());
                    return 1;
                }
            };
            match serde_json::from_slice::<AuditRecord>(&line) {
                Ok(record) => println!("{}", format_record(&record)),
                Err(_) => println!(
                    "{} line {}: (not a record) {}",
                    file.display(),
                    i + 1,
                    String::from_utf8_lossy(&line)
                ),
            }
        }
    }
    match verify_log(&path, |_| {}) {
        Ok(_) => 0,
        Err(e) => {
            println!("warning: {e}");
            1
        }
    }
}
