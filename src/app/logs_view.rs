//! Where the logs pane looks: following the newest line or anchored at one, and the match
//! `n`/`N` moved to. Anchors are sequence numbers, so new lines and evictions do not move the
//! view.

use crate::model::LogRingBuffer;

/// How the logs pane draws lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogDisplay {
    pub timestamps: bool,
    pub wrap: bool,
}

impl Default for LogDisplay {
    fn default() -> Self {
        LogDisplay {
            timestamps: true,
            wrap: false,
        }
    }
}

/// Scroll state of the logs pane.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogsViewState {
    /// `None` = follow the newest line; otherwise the sequence number shown at the bottom.
    pub anchor: Option<u64>,
    /// The match `n`/`N` moved to.
    pub cursor: Option<u64>,
}

impl LogsViewState {
    /// Moves the bottom line by `delta` lines; scrolling down past the end follows again.
    pub fn scroll(&mut self, logs: &LogRingBuffer, delta: isize) {
        let len = logs.len();
        if len == 0 {
            return;
        }
        let bottom = self
            .anchor
            .and_then(|seq| logs.index_of(seq))
            .unwrap_or(len - 1);
        let new = step(bottom, delta, len - 1);
        self.anchor = if new == len - 1 && delta > 0 {
            None // scrolled back to the end: follow again
        } else {
            logs.line_at(new).map(|l| l.seq)
        };
    }

    /// Moves to the next (or previous) matching line and shows it mid-page.
    pub fn jump_to_match(&mut self, logs: &LogRingBuffer, forward: bool, half_page: usize) {
        let target = if forward {
            logs.next_match(self.cursor)
        } else {
            logs.prev_match(self.cursor)
        };
        let Some(target) = target else {
            return;
        };
        let idx = logs.index_of(target).unwrap_or(0);
        let bottom_idx = (idx + half_page).min(logs.len().saturating_sub(1));
        *self = LogsViewState {
            anchor: logs.line_at(bottom_idx).map(|l| l.seq),
            cursor: Some(target),
        };
    }
}

/// `current + delta` clamped to `0..=max` (saturating for the MIN/MAX jumps).
pub(super) fn step(current: usize, delta: isize, max: usize) -> usize {
    let next = if delta < 0 {
        current.saturating_sub(delta.unsigned_abs())
    } else {
        current.saturating_add(delta as usize)
    };
    next.min(max)
}
