//! The audit log as found on disk: the fuzz bytes are the log (and, after a `\n\x00` split, its
//! head file); `verify_log`, the start-up `check_tail` and one `append` must never panic.
#![no_main]

use kubestack_ai::repair::audit::verify_log;
use kubestack_ai::repair::{AuditChain, AuditEntry, AuditEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join("audit.jsonl");
    let (log, head) = match data.windows(2).position(|w| w == b"\n\x00") {
        Some(i) => (&data[..=i], Some(&data[i + 2..])),
        None => (data, None),
    };
    if std::fs::write(&path, log).is_err() {
        return;
    }
    if let Some(head) = head {
        let mut head_path = path.clone().into_os_string();
        head_path.push(".head");
        if std::fs::write(head_path, head).is_err() {
            return;
        }
    }
    let _ = verify_log(&path, |_| {});
    let chain = AuditChain::at(&path).with_segment_bytes(4096);
    let _ = chain.check_tail();
    let appended = chain.append(
        AuditEvent::Proposed,
        AuditEntry {
            mode: "read-write".into(),
            command: Some("CONFIG SET maxmemory 1gb".into()),
            ..AuditEntry::default()
        },
    );
    if appended.is_ok() {
        let _ = verify_log(&path, |_| {});
    }
});
