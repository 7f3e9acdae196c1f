//! Pod log streams: one per pod (all pods of an instance merged in the logs pane, coloured per
//! pod), always with `timestamps=true` so a stream that ends — the pod restarted, the
//! connection dropped — is resumed from the last line's time with `sinceTime` and the lines
//! already shown are skipped (the API rounds `sinceTime` down to the second, so lines of that
//! second come again and are counted off). Lines wait in a bounded queue; when the UI is slower
//! than the producer the oldest are dropped and counted, and the count is shown.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::{AsyncBufRead, AsyncBufReadExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::LogParams;
use kube::{Api, Client};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// What to read of each pod's log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogOptions {
    /// One pod of the instance only (else all of them, merged).
    pub pod: Option<String>,
    pub container: Option<String>,
    /// The previous (terminated) container's log instead of the current one; not followed.
    pub previous: bool,
    /// Only lines of the last N seconds.
    pub since_seconds: Option<i64>,
    /// Only the last N lines of each pod at first.
    pub tail_lines: Option<i64>,
}

impl LogOptions {
    /// `:logs` arguments: `since 5m|1h|30s`, `tail N`, `previous`, `current`, `all` (no since
    /// and no tail), `pod NAME` (one pod) or `pods` (all, merged), `container NAME`. Returns the changed options or what was not understood.
    pub fn parse_into(&self, args: &str) -> Result<LogOptions, String> {
        let mut out = self.clone();
        let mut words = args.split_whitespace();
        while let Some(w) = words.next() {
            match w {
                "previous" => out.previous = true,
                "current" => out.previous = false,
                "all" => {
                    out.since_seconds = None;
                    out.tail_lines = None;
                }
                "since" => {
                    let v = words.next().ok_or("since needs a duration (30s, 5m, 2h)")?;
                    out.since_seconds = Some(parse_duration(v)?);
                }
                "tail" => {
                    let v = words.next().ok_or("tail needs a number of lines")?;
                    out.tail_lines = Some(
                        v.parse()
                            .map_err(|_| format!("tail: `{v}` is not a number"))?,
                    );
                }
                "pod" => {
                    out.pod = Some(words.next().ok_or("pod needs a pod name")?.to_string());
                }
                "pods" => out.pod = None,
                "container" => {
                    out.container = words.next().map(str::to_string);
                }
                other => return Err(format!("logs: `{other}` is not an option")),
            }
        }
        Ok(out)
    }

    /// For the logs pane's title.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.pod {
            parts.push(format!("pod {p}"));
        }
        if self.previous {
            parts.push("previous".to_string());
        }
        if let Some(s) = self.since_seconds {
            parts.push(format!("since {s}s"));
        }
        if let Some(t) = self.tail_lines {
            parts.push(format!("tail {t}"));
        }
        parts.join(" ")
    }
}

fn parse_duration(v: &str) -> Result<i64, String> {
    let (num, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
    let n: i64 = num
        .parse()
        .map_err(|_| format!("since: `{v}` is not a duration (30s, 5m, 2h)"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("since: `{v}` is not a duration (30s, 5m, 2h)")),
    };
    // Past ten years the API server would refuse it anyway; never overflow on the way.
    n.checked_mul(factor)
        .filter(|s| *s <= 10 * 366 * 86_400)
        .ok_or_else(|| format!("since: `{v}` is too long (at most 3660d)"))
}

/// One line of one pod.
#[derive(Debug, Clone, PartialEq)]
pub struct PodLogLine {
    pub pod: String,
    pub at: DateTime<Utc>,
    pub text: String,
}

/// What the log tasks send.
#[derive(Debug, Clone, PartialEq)]
pub enum PodLogEvent {
    Lines(Vec<PodLogLine>),
    /// Lines dropped (oldest first) because the UI was slower than the stream.
    Dropped(u64),
    /// A stream's state: `following`, `ended`, `reconnecting in 2 s: …`, `not allowed: …`.
    State {
        pod: String,
        text: String,
    },
}

/// Splits `2026-12-01T10:00:00.123456789Z text` into the time and the text.
pub fn split_timestamp(line: &str) -> Option<(DateTime<Utc>, &str)> {
    let (ts, rest) = line.split_once(' ').unwrap_or((line, ""));
    let at = DateTime::parse_from_rfc3339(ts).ok()?.with_timezone(&Utc);
    Some((at, rest))
}

/// Skips lines already delivered when a stream is resumed from `sinceTime`.
#[derive(Debug, Default)]
pub struct Resume {
    last: Option<DateTime<Utc>>,
    /// Lines delivered with exactly the time `last`.
    at_last: usize,
    /// Lines with time `last` seen in the current stream.
    seen_at_last: usize,
}

impl Resume {
    /// A new stream starts (from `since()`).
    pub fn restart(&mut self) {
        self.seen_at_last = 0;
    }

    /// The `sinceTime` to resume from.
    pub fn since(&self) -> Option<DateTime<Utc>> {
        self.last
    }

    /// Whether a line is new (and records it when it is).
    pub fn accept(&mut self, at: DateTime<Utc>) -> bool {
        match self.last {
            Some(last) if at < last => false,
            Some(last) if at == last => {
                self.seen_at_last += 1;
                if self.seen_at_last <= self.at_last {
                    false
                } else {
                    self.at_last += 1;
                    true
                }
            }
            _ => {
                self.last = Some(at);
                self.at_last = 1;
                self.seen_at_last = 1;
                true
            }
        }
    }
}

/// Lines queued for the UI at most: twice the logs pane's default ring (10,000 lines), so a
/// burst the ring can hold — the last 200 lines of 50 pods, asked for at once on open — is
/// never dropped here; only a screen that stays behind loses (and counts) the oldest.
pub const QUEUE_LINES: usize = 20_000;
/// The timer that sends what is queued, for streams too slow to fill a batch.
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// A batch this full goes to the UI as soon as the UI has room, without waiting for the timer
/// (at 10,000 lines/s the timer alone would let bursts pile up between two ticks).
const FLUSH_LINES: usize = 512;
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Streams `pods`' logs (each followed unless `previous`) until `cancel`.
pub async fn stream_logs(
    client: Client,
    namespace: String,
    pods: Vec<String>,
    options: LogOptions,
    out: mpsc::Sender<PodLogEvent>,
    cancel: CancellationToken,
) {
    let (tx, mut rx) = mpsc::channel::<PodLogEvent>(1024);
    let api: Api<Pod> = Api::namespaced(client, &namespace);
    for pod in pods {
        tokio::spawn(follow_pod(
            api.clone(),
            pod,
            options.clone(),
            tx.clone(),
            cancel.clone(),
        ));
    }
    drop(tx);
    // The bounded queue between the streams and the UI.
    let mut queue: VecDeque<PodLogLine> = VecDeque::new();
    let mut dropped: u64 = 0;
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    let mut open = true;
    loop {
        tokio::select! {
            ev = rx.recv(), if open => match ev {
                Some(PodLogEvent::Lines(lines)) => {
                    for l in lines {
                        if queue.len() == QUEUE_LINES {
                            queue.pop_front();
                            dropped += 1;
                        }
                        queue.push_back(l);
                    }
                }
                Some(other) => { let _ = out.try_send(other); }
                None => open = false,
            },
            permit = out.reserve(), if queue.len() >= FLUSH_LINES => match permit {
                Ok(permit) => permit.send(PodLogEvent::Lines(queue.drain(..).collect())),
                Err(_) => return,
            },
            _ = tick.tick() => {
                if dropped > 0 && out.try_send(PodLogEvent::Dropped(dropped)).is_ok() {
                    dropped = 0;
                }
                if !queue.is_empty() {
                    let batch: Vec<PodLogLine> = queue.drain(..).collect();
                    match out.try_send(PodLogEvent::Lines(batch)) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(PodLogEvent::Lines(back))) => {
                            queue = back.into();
                        }
                        Err(_) => return,
                    }
                }
                if !open && queue.is_empty() && dropped == 0 {
                    return;
                }
            }
            _ = cancel.cancelled() => return,
        }
    }
}

/// Bytes of one log line kept at most; the rest of a longer line is skipped and counted (a
/// container writing a 50 MB JSON blob on one line must not cost 50 MB here).
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Reads one line into `line` (without its `\n` or `\r\n`), keeping at most `max` bytes;
/// returns the bytes skipped past `max`, or `None` at the end of the stream. The whole line is
/// consumed either way, so the next call starts at the next line.
pub async fn read_line_capped<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<usize>> {
    line.clear();
    let mut skipped = 0usize;
    let mut read_any = false;
    loop {
        let (used, found) = {
            let buf = reader.fill_buf().await?;
            if buf.is_empty() {
                return Ok(read_any.then_some(skipped));
            }
            read_any = true;
            let (part, used, found) = match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (&buf[..i], i + 1, true),
                None => (buf, buf.len(), false),
            };
            let room = max.saturating_sub(line.len());
            let take = part.len().min(room);
            line.extend_from_slice(&part[..take]);
            skipped += part.len() - take;
            (used, found)
        };
        reader.consume_unpin(used);
        if found {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(Some(skipped));
        }
    }
}

async fn follow_pod(
    api: Api<Pod>,
    pod: String,
    options: LogOptions,
    tx: mpsc::Sender<PodLogEvent>,
    cancel: CancellationToken,
) {
    let follow = !options.previous;
    let mut resume = Resume::default();
    let mut failures: u32 = 0;
    let mut cut_lines: u64 = 0;
    let state = |text: String| PodLogEvent::State {
        pod: pod.clone(),
        text,
    };
    loop {
        let since = resume.since();
        let params = LogParams {
            container: options.container.clone(),
            follow,
            previous: options.previous,
            timestamps: true,
            since_seconds: if since.is_none() {
                options.since_seconds
            } else {
                None
            },
            since_time: since
                .and_then(|t| k8s_openapi::jiff::Timestamp::from_second(t.timestamp()).ok()),
            tail_lines: if since.is_none() {
                options.tail_lines
            } else {
                None
            },
            ..Default::default()
        };
        resume.restart();
        let opened = tokio::select! {
            r = api.log_stream(&pod, &params) => r,
            _ = cancel.cancelled() => return,
        };
        let mut ended_cleanly = false;
        match opened {
            Ok(reader) => {
                failures = 0;
                let _ = tx
                    .send(state(if follow {
                        "following".into()
                    } else {
                        "previous container".into()
                    }))
                    .await;
                let mut reader = reader;
                let mut raw = Vec::new();
                loop {
                    let next = tokio::select! {
                        l = read_line_capped(&mut reader, &mut raw, MAX_LINE_BYTES) => l,
                        _ = cancel.cancelled() => return,
                    };
                    match next {
                        Ok(Some(skipped)) => {
                            let line = String::from_utf8_lossy(&raw);
                            let Some((at, text)) = split_timestamp(&line) else {
                                continue;
                            };
                            if resume.accept(at) {
                                let mut text = text.to_string();
                                if skipped > 0 {
                                    cut_lines += 1;
                                    text.push_str(&format!(" [… {skipped} bytes cut]"));
                                }
                                let l = PodLogLine {
                                    pod: pod.clone(),
                                    at,
                                    text,
                                };
                                if tx.send(PodLogEvent::Lines(vec![l])).await.is_err() {
                                    return;
                                }
                                if skipped > 0 {
                                    let _ = tx
                                        .send(state(format!(
                                            "following; {cut_lines} line(s) longer than {} KiB cut",
                                            MAX_LINE_BYTES >> 10
                                        )))
                                        .await;
                                }
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(state(format!("stream broke: {e}"))).await;
                            break;
                        }
                        Ok(None) => {
                            ended_cleanly = true;
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                failures += 1;
                let text = super::contexts::scrub(&super::contexts::describe(&e));
                if matches!(&e, kube::Error::Api(s) if s.code == 403 || s.code == 401) {
                    let _ = tx.send(state(format!("not allowed: {text}"))).await;
                    return;
                }
                let _ = tx.send(state(format!("cannot read the log: {text}"))).await;
            }
        }
        if !follow {
            let _ = tx.send(state("ended".into())).await;
            return;
        }
        if ended_cleanly {
            failures = failures.max(1);
        }
        let delay = Duration::from_millis(250)
            .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(10)))
            .min(BACKOFF_MAX);
        let _ = tx
            .send(state(format!(
                "reconnecting in {:.1} s",
                delay.as_secs_f64()
            )))
            .await;
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = cancel.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    #[test]
    fn long_lines_are_cut_and_the_rest_skipped_at_any_chunking() {
        let long = "x".repeat(100);
        let text = format!("short\r\n{long}\r\nafter\nlast-no-newline");
        for chunk in [1, 3, 7, 64, 1000] {
            let chunks: Vec<std::io::Result<Vec<u8>>> = text
                .as_bytes()
                .chunks(chunk)
                .map(|c| Ok(c.to_vec()))
                .collect();
            let mut reader = futures::stream::iter(chunks).into_async_read();
            let mut line = Vec::new();
            let mut got = Vec::new();
            while let Some(skipped) =
                futures::executor::block_on(read_line_capped(&mut reader, &mut line, 10)).unwrap()
            {
                assert!(line.len() <= 10);
                got.push((String::from_utf8_lossy(&line).to_string(), skipped));
            }
            assert_eq!(
                got,
                vec![
                    ("short".to_string(), 0),
                    ("x".repeat(10), 91), // 90 x and the CR
                    ("after".to_string(), 0),
                    ("last-no-ne".to_string(), 5),
                ],
                "chunks of {chunk}"
            );
        }
    }

    #[test]
    fn resume_skips_what_was_delivered_in_the_same_second() {
        let t = |s: u32, n: u32| DateTime::from_timestamp(1_800_000_000 + i64::from(s), n).unwrap();
        let mut r = Resume::default();
        assert!(r.accept(t(0, 0)));
        assert!(r.accept(t(1, 5)));
        assert!(r.accept(t(1, 5)));
        // Resumed from second 1: the server sends second 1 again, then new lines.
        r.restart();
        assert!(!r.accept(t(1, 5)));
        assert!(!r.accept(t(1, 5)));
        assert!(r.accept(t(1, 5)), "a third line at the same instant is new");
        assert!(r.accept(t(2, 0)));
        r.restart();
        assert!(!r.accept(t(0, 0)));
        assert!(!r.accept(t(2, 0)));
        assert!(r.accept(t(3, 0)));
    }

    #[test]
    fn options() {
        let o = LogOptions::default()
            .parse_into("since 5m tail 100 previous")
            .unwrap();
        assert_eq!(
            (o.since_seconds, o.tail_lines, o.previous),
            (Some(300), Some(100), true)
        );
        assert_eq!(o.label(), "previous since 300s tail 100");
        assert!(LogOptions::default().parse_into("since soon").is_err());
        // Typed by a hand in a hurry: no overflow, a clear refusal.
        for huge in [
            "999999999999999d",
            "9223372036854775807h",
            "99999999999999999999s",
        ] {
            let err = LogOptions::default()
                .parse_into(&format!("since {huge}"))
                .unwrap_err();
            assert!(err.contains(huge), "{err}");
        }
        assert!(
            LogOptions::default()
                .parse_into("bogus")
                .unwrap_err()
                .contains("bogus")
        );
        let all = o.parse_into("all current").unwrap();
        assert_eq!(all, LogOptions::default());
    }
}
