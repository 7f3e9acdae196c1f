//! Kafka Metadata and FindCoordinator replies as a port-forward's relay rewrites them: the first
//! two bytes pick the API and version, the rest is the frame.
#![no_main]

use kubestack_ai::plugins::kafka::advertised::rewrite_response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let api = if data[0] & 1 == 0 { 3 } else { 10 };
    let version = i16::from(data[1] % 16);
    let frame = &data[2..];
    let mut map = |host: &str, port: i32| {
        (!host.is_empty()).then(|| ("127.0.0.1".to_string(), port.wrapping_add(1)))
    };
    if let Ok(Some(out)) = rewrite_response(api, version, frame, &mut map) {
        // A rewritten reply parses again, to the same addresses.
        let mut same = |h: &str, p: i32| Some((h.to_string(), p));
        let again = rewrite_response(api, version, &out, &mut same);
        assert!(again.is_ok(), "a rewritten reply no longer parses: {again:?}");
    }
});
