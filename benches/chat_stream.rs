//! The chat while an answer streams: appending one token and drawing the frame, with 1 000
//! and with 20 000 tokens of history (target: the 20k cost within 2× of the 1k cost — O(1)
//! amortised per token), and a full frame over a long conversation (target: < 2 ms).
//! Also the SSE parser fed one long event in 64-byte chunks, at 64 KiB and at 512 KiB (target:
//! time per byte the same at both sizes — linear, no rescanning of what is buffered).

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fixtures::sample_state;
use kubestack_ai::ai::agent::ChatEvent;
use kubestack_ai::app::{AppEvent, AppState, ChatMessage, ChatRole, PaneId};
use kubestack_ai::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// An answer in the shape models write: a heading, prose with emphasis, a list, a code block.
const ANSWER: &str = "## Why it is slow\n\nThe slowlog shows `KEYS user:*` taking **38 ms** every \
second while *used_memory* sits at 93% of maxmemory. Each call blocks the event loop.\n\n- \
replace KEYS with SCAN in the session sweeper\n- set `maxmemory-policy` to allkeys-lru\n\n```sh\n\
redis-cli --scan --pattern 'user:*' | head\nredis-cli CONFIG GET maxmemory-policy\n```\n";

/// A conversation of about `tokens` tokens (≈ 4 bytes per token).
fn conversation(tokens: usize) -> AppState {
    let mut state = sample_state(60);
    state.focus = PaneId::Chat;
    let view = &mut state.instances[0];
    while view.chat.iter().map(|m| m.text.len()).sum::<usize>() < tokens * 4 {
        view.chat.push(ChatMessage::new(
            ChatRole::User,
            "why is it slow? look at the slowlog",
        ));
        view.chat
            .push(ChatMessage::new(ChatRole::Assistant, ANSWER));
    }
    view.chat.push(ChatMessage::new(ChatRole::User, "and now?"));
    state.chat.generating = Some(0);
    state
}

/// Tokens as a model streams them, a newline now and then.
const TOKENS: &[&str] = &[
    "The ",
    "p99 ",
    "is ",
    "back ",
    "under ",
    "**2 ms** ",
    "after ",
    "`SCAN`",
    ".\n",
];

fn token_append(c: &mut Criterion) {
    let theme = Theme::builtin("dark").expect("built-in theme");
    let mut group = c.benchmark_group("chat_token_append_and_frame");
    for history in [1_000usize, 20_000] {
        let mut state = conversation(history);
        let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
        terminal
            .draw(|f| kubestack_ai::ui::draw(f, &state, &theme))
            .expect("draw");
        let mut i = 0usize;
        group.bench_function(BenchmarkId::from_parameter(history), |b| {
            b.iter(|| {
                let token = TOKENS[i % TOKENS.len()].to_string();
                i += 1;
                state.handle_event(AppEvent::Chat {
                    instance: 0,
                    event: ChatEvent::Token(token),
                });
                terminal
                    .draw(|f| kubestack_ai::ui::draw(f, &state, &theme))
                    .expect("draw");
            })
        });
    }
    group.finish();
}

fn long_conversation_frame(c: &mut Criterion) {
    let theme = Theme::builtin("dark").expect("built-in theme");
    let state = conversation(20_000);
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).expect("test backend");
    c.bench_function("chat_frame_20k_tokens_200x50", |b| {
        b.iter(|| {
            terminal
                .draw(|f| kubestack_ai::ui::draw(f, &state, &theme))
                .expect("draw");
        })
    });
}

fn sse_long_event(c: &mut Criterion) {
    use kubestack_ai::ai::sse::SseParser;
    let mut group = c.benchmark_group("sse_one_event_in_64_byte_chunks");
    for size in [64usize << 10, 512 << 10] {
        let mut stream = b"data: ".to_vec();
        stream.extend(std::iter::repeat_n(b'x', size));
        stream.extend_from_slice(b"\n\n");
        group.throughput(criterion::Throughput::Bytes(stream.len() as u64));
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| {
                let mut parser = SseParser::new();
                let mut events = 0;
                for chunk in stream.chunks(64) {
                    events += parser.feed(chunk).len();
                }
                assert_eq!(events, 1);
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    token_append,
    long_conversation_frame,
    sse_long_event
);
criterion_main!(benches);
