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

/// Feeds bytes in, gets complete events out.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
    has_data: bool,
    /// Comment lines seen (keep-alives), for diagnostics.
    pub comments: u64,
}

impl SseParser {
    /// A parser with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes a chunk and returns the events it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < self.buffer.len() {
            match self.buffer[i] {
                b'\n' => {
                    let line = self.buffer[start..i].to_vec();
                    self.line(&line, &mut events);
                    i += 1;
                    start = i;
                }
                b'\r' => {
                    if i + 1 == self.buffer.len() {
                        break; // a LF may follow in the next chunk
                    }
                    let line = self.buffer[start..i].to_vec();
                    self.line(&line, &mut events);
                    i += if self.buffer[i + 1] == b'\n' { 2 } else { 1 };
                    start = i;
                }
                _ => i += 1,
            }
        }
        self.buffer.drain(..start);
        events
    }

    /// At the end of the stream: a final CR is a line end after all. An event without its
    /// terminating blank line is incomplete and dropped, as the format says.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        if self.buffer.last() == Some(&b'\r') {
            return self.feed(b"\n");
        }
        Vec::new()
    }

    fn line(&mut self, raw: &[u8], events: &mut Vec<SseEvent>) {
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
                self.data.push(value.to_string());
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_string()),
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

    #[test]
    fn comments_are_counted() {
        let mut p = SseParser::new();
        p.feed(b": ping\n: ping\n");
        assert_eq!(p.comments, 2);
    }
}
