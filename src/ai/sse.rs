//! An incremental Server-Sent Events parser (the WHATWG event-stream format).
//!
//! Written here rather than taken from a crate because it is small, sits on the hot path of
//! every streamed token, and must be exact about the cases providers produce: chunk boundaries
//! anywhere (also inside a UTF-8 character or between CR and LF), CRLF / LF / CR line ends,
//! multi-line `data:`, comments, `event:` names. `[DONE]` is the OpenAI convention and is left
//! to the provider, which sees it as the event's data.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` name; `message` when none was given.
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// One event (its lines, or one line still incomplete) larger than this is skipped and counted
/// as oversized rather than buffered: a stream without a delimiter must not grow memory.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// Feeds bytes in, gets complete events out. Each byte is looked at once (the incomplete line
/// is kept aside, never rescanned), so a long line arriving in small chunks costs linear time.
#[derive(Debug)]
pub struct SseParser {
    /// The current line, not yet terminated.
    line: Vec<u8>,
    /// The last byte fed was a CR: a LF at the start of the next chunk belongs to it.
    after_cr: bool,
    event: Option<String>,
    data: Vec<String>,
    has_data: bool,
    /// Bytes of the current event's completed lines.
    event_bytes: usize,
    max_event_bytes: usize,
    /// Discarding an oversized event until its terminating blank line.
    skipping: bool,
    /// While skipping: the current line has bytes (so its end is not the blank line).
    skipped_line_has_bytes: bool,
    /// Comment lines seen (keep-alives), for diagnostics.
    pub comments: u64,
    /// Events skipped for being larger than the cap.
    pub oversized: u64,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::with_max_event(MAX_EVENT_BYTES)
    }
}

impl SseParser {
    /// A parser with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser that skips events larger than `max` bytes.
    pub fn with_max_event(max: usize) -> Self {
        SseParser {
            line: Vec::new(),
            after_cr: false,
            event: None,
            data: Vec::new(),
            has_data: false,
            event_bytes: 0,
            max_event_bytes: max.max(1),
            skipping: false,
            skipped_line_has_bytes: false,
            comments: 0,
            oversized: 0,
        }
    }

    /// Bytes held for the event in progress (never more than the cap).
    pub fn buffered(&self) -> usize {
        self.line.len() + self.event_bytes
    }

    /// Consumes a chunk and returns the events it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        let mut i = 0;
        if self.after_cr && !chunk.is_empty() {
            self.after_cr = false;
            if chunk[0] == b'\n' {
                i = 1;
            }
        }
        while i < chunk.len() {
            let rest = &chunk[i..];
            let Some(off) = rest.iter().position(|b| *b == b'\n' || *b == b'\r') else {
                self.append(rest);
                break;
            };
            self.append(&rest[..off]);
            self.end_line(&mut events);
            let end = i + off;
            i = end + 1;
            if chunk[end] == b'\r' {
                match chunk.get(i) {
                    Some(b'\n') => i += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        events
    }

    /// At the end of the stream. An event without its terminating blank line is incomplete
    /// and dropped, as the format says.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        self.line.clear();
        self.after_cr = false;
        Vec::new()
    }

    fn append(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if !self.skipping && self.event_bytes + self.line.len() + bytes.len() > self.max_event_bytes
        {
            self.skipping = true;
            self.skipped_line_has_bytes = false;
            self.oversized += 1;
            self.line = Vec::new();
            self.data = Vec::new();
            self.event = None;
            self.has_data = false;
            self.event_bytes = 0;
        }
        if self.skipping {
            self.skipped_line_has_bytes = true;
        } else {
            self.line.extend_from_slice(bytes);
        }
    }

    fn end_line(&mut self, events: &mut Vec<SseEvent>) {
        if self.skipping {
            // The blank line ends the oversized event; what follows is parsed again.
            if !self.skipped_line_has_bytes {
                self.skipping = false;
            }
            self.skipped_line_has_bytes = false;
            return;
        }
        let mut raw = std::mem::take(&mut self.line);
        self.process_line(&raw, events);
        raw.clear();
        self.line = raw; // keeps its allocation for the next line
    }

    fn process_line(&mut self, raw: &[u8], events: &mut Vec<SseEvent>) {
        if raw.is_empty() {
            if self.has_data {
                events.push(SseEvent {
                    event: self.event.take().unwrap_or_else(|| "message".into()),
                    data: self.data.join("\n"),
                });
            }
            self.event = None;
            self.data.clear();
            self.has_data = false;
            self.event_bytes = 0;
            return;
        }
        let line = String::from_utf8_lossy(raw);
        if line.starts_with(':') {
            self.comments += 1;
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "data" => {
                self.event_bytes += value.len() + 1;
                self.data.push(value.to_string());
                self.has_data = true;
            }
            "event" => {
                self.event_bytes += value.len();
                self.event = Some(value.to_string());
            }
            _ => {} // id, retry and unknown fields do not matter to us
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
        }
    }

    /// Feeds `stream` split at every possible pair of points; the result must never change.
    fn parse_all_splits(stream: &[u8]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut whole = p.feed(stream);
        whole.extend(p.finish());
        for a in 0..=stream.len() {
            for b in a..=stream.len() {
                let mut p = SseParser::new();
                let mut got = p.feed(&stream[..a]);
                got.extend(p.feed(&stream[a..b]));
                got.extend(p.feed(&stream[b..]));
                got.extend(p.finish());
                assert_eq!(got, whole, "split at {a},{b}");
            }
        }
        whole
    }

    #[test]
    fn the_format_cases_table() {
        let cases: Vec<(&[u8], Vec<SseEvent>)> = vec![
            (b"data: hello\n\n", vec![ev("message", "hello")]),
            (b"data:no-space\r\n\r\n", vec![ev("message", "no-space")]),
            (b"data: a\ndata: b\n\n", vec![ev("message", "a\nb")]),
            (b": keep-alive\n\ndata: x\n\n", vec![ev("message", "x")]),
            (
                b"event: message_start\ndata: {}\n\n",
                vec![ev("message_start", "{}")],
            ),
            (
                b"data: one\r\rdata: two\r\r",
                vec![ev("message", "one"), ev("message", "two")],
            ),
            (b"data: [DONE]\n\n", vec![ev("message", "[DONE]")]),
            (b"event: ping\n\n", vec![]),
            (b"data: incomplete", vec![]),
            (
                "data: h\u{e9}llo \u{1f600}\n\n".as_bytes(),
                vec![ev("message", "h\u{e9}llo \u{1f600}")],
            ),
            (b"id: 7\nretry: 10\ndata: z\n\n", vec![ev("message", "z")]),
            (b"data\n\n", vec![ev("message", "")]),
        ];
        for (stream, want) in cases {
            assert_eq!(
                parse_all_splits(stream),
                want,
                "{:?}",
                String::from_utf8_lossy(stream)
            );
        }
    }

    /// Feeds `stream` one byte at a time (every boundary: inside UTF-8, between CR and LF).
    fn parse_bytewise(stream: &[u8], max: usize) -> (Vec<SseEvent>, u64) {
        let mut p = SseParser::with_max_event(max);
        let mut got = Vec::new();
        for b in stream {
            got.extend(p.feed(std::slice::from_ref(b)));
            assert!(p.buffered() <= max, "buffered {} > {max}", p.buffered());
        }
        got.extend(p.finish());
        (got, p.oversized)
    }

    #[test]
    fn byte_by_byte_gives_the_same_events() {
        let stream =
            "event: a\r\ndata: h\u{e9}llo \u{1f600}\r\n\r\n: c\rdata: x\rdata: y\r\rdata: z\n\n"
                .repeat(3);
        let mut p = SseParser::new();
        let mut whole = p.feed(stream.as_bytes());
        whole.extend(p.finish());
        assert_eq!(whole.len(), 9);
        assert_eq!(whole[0], ev("a", "h\u{e9}llo \u{1f600}"));
        assert_eq!(whole[1], ev("message", "x\ny"));
        assert_eq!(
            parse_bytewise(stream.as_bytes(), MAX_EVENT_BYTES),
            (whole, 0)
        );
    }

    #[test]
    fn an_oversized_event_is_skipped_and_counted_at_every_split() {
        let max = 24;
        for stream in [
            &b"data: 0123456789abcdefghijklmnop\n\ndata: ok\n\n"[..],
            b"data: 0123456789\ndata: abcdefghijklmnop\r\n\r\ndata: ok\r\n\r\n",
            b"data: 0123456789abcdefghijklmnop\r\rdata: ok\r\r",
        ] {
            let want = vec![ev("message", "ok")];
            for a in 0..=stream.len() {
                let mut p = SseParser::with_max_event(max);
                let mut got = p.feed(&stream[..a]);
                got.extend(p.feed(&stream[a..]));
                got.extend(p.finish());
                assert_eq!(got, want, "split at {a}");
                assert_eq!(p.oversized, 1);
            }
            assert_eq!(parse_bytewise(stream, max), (want, 1));
        }
    }

    #[test]
    fn fifty_megabytes_without_a_delimiter_stay_under_the_cap() {
        let mut p = SseParser::new();
        let chunk = vec![b'x'; 64 * 1024];
        assert!(p.feed(b"data: ").is_empty());
        let mut fed = 6usize;
        while fed < 50 << 20 {
            assert!(p.feed(&chunk).is_empty());
            fed += chunk.len();
            assert!(p.buffered() <= MAX_EVENT_BYTES, "{}", p.buffered());
        }
        assert_eq!(p.oversized, 1, "counted once, not per chunk");
        assert_eq!(p.buffered(), 0, "the skipped bytes are not kept");
        assert_eq!(p.feed(b"\n\ndata: after\n\n"), vec![ev("message", "after")]);
    }

    #[test]
    fn comments_are_counted() {
        let mut p = SseParser::new();
        p.feed(b": ping\n: ping\n");
        assert_eq!(p.comments, 2);
    }
}
