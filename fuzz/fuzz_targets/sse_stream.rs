//! The LLM stream: bytes from a provider through the SSE parser and each provider's decoder.
//! Invariant: the events do not depend on where the network cut the bytes into chunks.
#![no_main]

use kubestack_ai::ai::provider::decode_events;
use kubestack_ai::ai::sse::{SseEvent, SseParser};
use kubestack_ai::config::ProviderKind;
use libfuzzer_sys::fuzz_target;

fn parse(chunks: impl Iterator<Item = Vec<u8>>) -> Vec<SseEvent> {
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    for chunk in chunks {
        events.extend(parser.feed(&chunk));
    }
    events.extend(parser.finish());
    events
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, body)) = data.split_first() else {
        return;
    };
    let whole = parse(std::iter::once(body.to_vec()));
    let step = usize::from(step % 7) + 1;
    let pieces = parse(body.chunks(step).map(<[u8]>::to_vec));
    assert_eq!(whole, pieces, "chunking by {step} changed the events");
    for provider in [ProviderKind::Openai, ProviderKind::Anthropic] {
        let _ = decode_events(provider, &whole);
    }
});
