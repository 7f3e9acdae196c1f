//! A bounded ring buffer of log lines with an incrementally maintained filter.
//!
//! Memory is bounded by the ring capacity: the oldest line is dropped when a new one arrives
//! at capacity, and the filter's match index drops with it. Matching happens once per line at
//! ingest, so `n`/`N` and the filtered view never rescan the whole buffer.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use regex::{Regex, RegexBuilder};

/// Severity of a log line, for colouring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    /// A level guessed from a free-form line (pod logs): the first `error`/`fatal`/`panic`,
    /// `warn` word decides, else info.
    pub fn guess(text: &str) -> LogLevel {
        let head: String = text
            .chars()
            .take(120)
            .collect::<String>()
            .to_ascii_lowercase();
        if ["error", "fatal", "panic", "[err]", " e "]
            .iter()
            .any(|w| head.contains(w))
        {
            LogLevel::Error
        } else if ["warn", " w "].iter().any(|w| head.contains(w)) {
            LogLevel::Warn
        } else if head.contains("debug") {
            LogLevel::Debug
        } else {
            LogLevel::Info
        }
    }
}

/// One line in the logs pane.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Monotonic sequence number, unique within one buffer.
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// Which instance (and stream) the line came from, shared between lines.
    pub source: Arc<str>,
    pub level: LogLevel,
    pub text: String,
}

/// A compiled `/` filter: a literal, smart-case (case-insensitive unless it has an upper-case letter).
#[derive(Debug, Clone)]
pub struct LogFilter {
    query: String,
    regex: Regex,
}

impl LogFilter {
    /// Compiles a literal query; `None` for an empty query.
    pub fn new(query: &str) -> Option<Self> {
        if query.is_empty() {
            return None;
        }
        let case_insensitive = !query.chars().any(char::is_uppercase);
        // The pattern is an escaped literal, so building it cannot fail on user input.
        let regex = RegexBuilder::new(&regex::escape(query))
            .case_insensitive(case_insensitive)
            .build()
            .ok()?;
        Some(LogFilter {
            query: query.to_string(),
            regex,
        })
    }

    /// The query as typed.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Whether a line matches.
    pub fn is_match(&self, line: &LogLine) -> bool {
        self.regex.is_match(&line.text) || self.regex.is_match(&line.source)
    }

    /// Byte ranges of the matches in `text`, for highlighting.
    pub fn match_ranges<'a>(&'a self, text: &'a str) -> impl Iterator<Item = (usize, usize)> + 'a {
        self.regex.find_iter(text).map(|m| (m.start(), m.end()))
    }
}

/// The bounded log store behind the logs pane.
#[derive(Debug)]
pub struct LogRingBuffer {
    lines: VecDeque<LogLine>,
    capacity: usize,
    next_seq: u64,
    filter: Option<LogFilter>,
    /// Sequence numbers of matching lines, oldest first.
    matches: VecDeque<u64>,
    dropped: u64,
}

impl LogRingBuffer {
    /// A buffer that keeps at most `capacity` lines (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        LogRingBuffer {
            lines: VecDeque::with_capacity(capacity.min(4096)),
            capacity,
            next_seq: 0,
            filter: None,
            matches: VecDeque::new(),
            dropped: 0,
        }
    }

    /// Appends one line, dropping the oldest at capacity; returns its sequence number.
    pub fn push(
        &mut self,
        at: DateTime<Utc>,
        source: Arc<str>,
        level: LogLevel,
        text: String,
    ) -> u64 {
        if self.lines.len() == self.capacity
            && let Some(old) = self.lines.pop_front()
        {
            self.dropped += 1;
            if self.matches.front() == Some(&old.seq) {
                self.matches.pop_front();
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let line = LogLine {
            seq,
            at,
            source,
            level,
            text,
        };
        if self.filter.as_ref().is_some_and(|f| f.is_match(&line)) {
            self.matches.push_back(seq);
        }
        self.lines.push_back(line);
        seq
    }

    /// Sets or clears the filter and rebuilds the match index once.
    pub fn set_filter(&mut self, filter: Option<LogFilter>) {
        self.matches.clear();
        if let Some(f) = &filter {
            self.matches
                .extend(self.lines.iter().filter(|l| f.is_match(l)).map(|l| l.seq));
        }
        self.filter = filter;
    }

    /// The active filter.
    pub fn filter(&self) -> Option<&LogFilter> {
        self.filter.as_ref()
    }

    /// Number of lines held.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether the buffer holds no line.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The configured capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Lines dropped at capacity since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Number of lines matching the filter (0 without a filter).
    pub fn match_count(&self) -> usize {
        self.matches.len()
    }

    /// The line with this sequence number, if still held.
    pub fn get(&self, seq: u64) -> Option<&LogLine> {
        let first = self.lines.front()?.seq;
        let idx = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.lines.get(idx)
    }

    /// Position of a sequence number in the buffer (0 = oldest held).
    pub fn index_of(&self, seq: u64) -> Option<usize> {
        let first = self.lines.front()?.seq;
        let idx = usize::try_from(seq.checked_sub(first)?).ok()?;
        (idx < self.lines.len()).then_some(idx)
    }

    /// Line by position (0 = oldest held).
    pub fn line_at(&self, index: usize) -> Option<&LogLine> {
        self.lines.get(index)
    }

    /// Iterates all held lines, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &LogLine> + ExactSizeIterator {
        self.lines.iter()
    }

    /// The first match after `seq` (wrapping), for `n`.
    pub fn next_match(&self, after: Option<u64>) -> Option<u64> {
        let after = match after {
            Some(s) => s,
            None => return self.matches.front().copied(),
        };
        let pos = self.matches.partition_point(|&m| m <= after);
        self.matches
            .get(pos)
            .or_else(|| self.matches.front())
            .copied()
    }

    /// The last match before `seq` (wrapping), for `N`.
    pub fn prev_match(&self, before: Option<u64>) -> Option<u64> {
        let before = match before {
            Some(s) => s,
            None => return self.matches.back().copied(),
        };
        let pos = self.matches.partition_point(|&m| m < before);
        if pos == 0 {
            self.matches.back().copied()
        } else {
            self.matches.get(pos - 1).copied()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer_with(capacity: usize, texts: &[&str]) -> LogRingBuffer {
        let mut buf = LogRingBuffer::new(capacity);
        let src: Arc<str> = Arc::from("redis-a");
        for t in texts {
            buf.push(Utc::now(), src.clone(), LogLevel::Info, (*t).to_string());
        }
        buf
    }

    #[test]
    fn capacity_bounds_the_buffer_and_counts_drops() {
        let buf = buffer_with(3, &["a", "b", "c", "d", "e"]);
        assert_eq!(buf.len(), 3);
        assert_eq!(buf.dropped(), 2);
        let texts: Vec<_> = buf.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["c", "d", "e"]);
        assert!(buf.get(1).is_none(), "dropped lines are gone");
        assert_eq!(buf.get(4).map(|l| l.text.as_str()), Some("e"));
    }

    #[test]
    fn filter_is_smart_case_and_tracks_new_lines() {
        let mut buf = buffer_with(10, &["GET foo", "keys user:*", "KEYS *"]);
        buf.set_filter(LogFilter::new("keys"));
        assert_eq!(buf.match_count(), 2, "lower-case query ignores case");
        buf.set_filter(LogFilter::new("KEYS"));
        assert_eq!(buf.match_count(), 1, "upper-case query is exact");
        buf.push(Utc::now(), Arc::from("x"), LogLevel::Warn, "KEYS a*".into());
        assert_eq!(buf.match_count(), 2, "new lines are matched at ingest");
    }

    #[test]
    fn matches_leave_the_index_with_their_lines() {
        let mut buf = buffer_with(2, &["hit 1", "miss"]);
        buf.set_filter(LogFilter::new("hit"));
        assert_eq!(buf.match_count(), 1);
        buf.push(Utc::now(), Arc::from("x"), LogLevel::Info, "miss".into());
        assert_eq!(buf.match_count(), 0);
    }

    #[test]
    fn next_and_prev_match_wrap_around() {
        let mut buf = buffer_with(10, &["x", "hit", "x", "hit", "x"]);
        buf.set_filter(LogFilter::new("hit"));
        assert_eq!(buf.next_match(None), Some(1));
        assert_eq!(buf.next_match(Some(1)), Some(3));
        assert_eq!(buf.next_match(Some(3)), Some(1), "wraps to the first");
        assert_eq!(buf.prev_match(Some(3)), Some(1));
        assert_eq!(buf.prev_match(Some(1)), Some(3), "wraps to the last");
        assert_eq!(buf.prev_match(None), Some(3));
    }

    #[test]
    fn match_ranges_cover_every_occurrence() {
        let f = LogFilter::new("ab").unwrap();
        let ranges: Vec<_> = f.match_ranges("xxABxab").collect();
        assert_eq!(ranges, [(2, 4), (5, 7)]);
        assert!(LogFilter::new("").is_none());
        assert!(
            LogFilter::new("a.*(").is_some(),
            "regex syntax is taken literally"
        );
    }

    #[test]
    fn zero_capacity_is_raised_to_one() {
        let buf = buffer_with(0, &["a", "b"]);
        assert_eq!(buf.len(), 1);
    }
}
