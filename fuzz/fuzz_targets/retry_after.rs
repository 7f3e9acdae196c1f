//! `Retry-After` header values (seconds or an HTTP date) and the configured timeouts.
#![no_main]

use chrono::{TimeZone, Utc};
use kubestack_ai::ai::provider::retry_after::{parse_retry_after, secs};
use libfuzzer_sys::fuzz_target;
use std::time::Duration;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = Utc
        .timestamp_opt(1_800_000_000, 0)
        .single()
        .unwrap_or_default();
    let _ = parse_retry_after(text, now);
    for now in [
        Utc.timestamp_opt(0, 0).single().unwrap_or_default(),
        chrono::DateTime::<Utc>::MAX_UTC,
        chrono::DateTime::<Utc>::MIN_UTC,
    ] {
        let _ = parse_retry_after(text, now);
    }
    if let Ok(v) = text.trim().parse::<f64>() {
        let _ = secs(v, Duration::from_secs(30));
    }
    if data.len() >= 8 {
        let bits = u64::from_le_bytes([
            data[0], data[1], data[2], data[3], data[4], data[5], data[6], data[7],
        ]);
        let _ = secs(f64::from_bits(bits), Duration::from_secs(30));
    }
});
