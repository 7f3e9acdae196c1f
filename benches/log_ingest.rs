//! Log ring-buffer ingest with a filter active (target: ≥ 1 000 000 lines/s, memory bounded
//! by the ring size).

use std::sync::Arc;

use chrono::Utc;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use kubestack_ai::model::{LogFilter, LogLevel, LogRingBuffer};

const LINES: usize = 100_000;
const RING: usize = 10_000;

fn ingest(c: &mut Criterion) {
    let lines: Vec<String> = (0..LINES)
        .map(|i| {
            if i % 10 == 0 {
                format!("{}.2ms KEYS user:{i}:* (127.0.0.1:51{i})", i % 900)
            } else {
                format!("{}.1ms GET session:{i} (127.0.0.1:52{i})", i % 90)
            }
        })
        .collect();
    let source: Arc<str> = Arc::from("redis-cache/slowlog");
    let now = Utc::now();
    let mut group = c.benchmark_group("log_ingest");
    group.throughput(Throughput::Elements(LINES as u64));
    group.bench_function("filtered_100k_lines_into_10k_ring", |b| {
        b.iter_batched(
            || {
                let mut ring = LogRingBuffer::new(RING);
                ring.set_filter(LogFilter::new("keys"));
                (ring, lines.clone())
            },
            |(mut ring, lines)| {
                for text in lines {
                    ring.push(now, source.clone(), LogLevel::Info, text);
                }
                assert_eq!(ring.len(), RING, "memory stays bounded by the ring");
                ring
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
