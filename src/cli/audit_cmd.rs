//! `audit verify [FILE]` checks the hash chain and says where it breaks; `audit show [FILE]`
//! prints the records readably.

use std::path::{Path, PathBuf};

use crate::repair::audit::{default_audit_path, format_record, hash_line};
use crate::repair::{AuditError, verify_chain};

fn path_or_default(file: Option<&Path>, data_dir: &Path) -> PathBuf {
    file.map_or_else(|| default_audit_path(data_dir), Path::to_path_buf)
}

/// Exit code 0 when the chain is intact, 1 when it is broken or unreadable.
pub fn verify(file: Option<&Path>, data_dir: &Path) -> i32 {
    let path = path_or_default(file, data_dir);
    match verify_chain(&path) {
        Ok(records) => {
            let last = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.lines().last().map(hash_line))
                .unwrap_or_else(|| "-".into());
            println!(
                "{}: {} record(s), chain intact (last record sha256 {last})",
                path.display(),
                records.len()
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

/// Prints every record; a broken chain is said at the end (exit 1).
pub fn show(file: Option<&Path>, data_dir: &Path) -> i32 {
    let path = path_or_default(file, data_dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return 1;
        }
    };
    for (i, line) in text.lines().enumerate() {
        match serde_json::from_str(line) {
            Ok(record) => println!("{}", format_record(&record)),
            Err(_) => println!("line {}: (not a record) {line}", i + 1),
        }
    }
    match verify_chain(&path) {
        Ok(_) => 0,
        Err(e) => {
            println!("warning: {e}");
            1
        }
    }
}
