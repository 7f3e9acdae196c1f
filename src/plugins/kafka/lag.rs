//! Consumer lag judged over a window of samples, the way Burrow does (catalog KFK-LAG-01 … 05):
//! per partition a window of (time, committed offset, high watermark, lag); a partition is OK,
//! WARN (falling behind), STOP (no new commits), STALL (commits that do not move, group alive),
//! or REWIND (offsets went backwards); a group's status is its worst partition's.
//!
//! OffsetFetch gives no commit timestamps, so a commit's time is the sample in which the new
//! offset was first seen; STOP and STALL are told apart by whether the group has live members.

use std::collections::VecDeque;

/// One observation of a partition of a group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LagPoint {
    pub at: f64,
    pub committed: i64,
    pub high: i64,
}

impl LagPoint {
    /// Messages not yet consumed.
    pub fn lag(&self) -> i64 {
        (self.high - self.committed).max(0)
    }
}

/// Burrow's partition and group status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LagStatus {
    /// Not enough samples yet.
    Unknown,
    Ok,
    /// Falling behind: lag never zero and not decreasing while offsets advance.
    Warn,
    /// The committed offset moved backwards.
    Rewind,
    /// Lag, and the group stopped committing (no live members, or members unknown).
    Stop,
    /// Lag, and a live group keeps committing the same offset.
    Stall,
}

impl LagStatus {
    /// Upper-case label as Burrow prints it.
    pub fn as_str(self) -> &'static str {
        match self {
            LagStatus::Unknown => "UNKNOWN",
            LagStatus::Ok => "OK",
            LagStatus::Warn => "WARN",
            LagStatus::Rewind => "REWIND",
            LagStatus::Stop => "STOP",
            LagStatus::Stall => "STALL",
        }
    }

    /// Whether Burrow collapses it to ERR.
    pub fn is_error(self) -> bool {
        matches!(self, LagStatus::Rewind | LagStatus::Stop | LagStatus::Stall)
    }
}

/// The window of one partition.
#[derive(Debug, Clone, Default)]
pub struct LagWindow {
    points: VecDeque<LagPoint>,
    capacity: usize,
}

impl LagWindow {
    /// An empty window of at most `capacity` points.
    pub fn new(capacity: usize) -> Self {
        LagWindow {
            points: VecDeque::with_capacity(capacity),
            capacity: capacity.max(2),
        }
    }

    /// Adds an observation (the oldest falls out).
    pub fn push(&mut self, p: LagPoint) {
        if self.points.len() == self.capacity {
            self.points.pop_front();
        }
        self.points.push_back(p);
    }

    /// The newest observation.
    pub fn last(&self) -> Option<&LagPoint> {
        self.points.back()
    }

    /// Observations held.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether nothing was observed yet.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The status of the partition; `members` is the group's live member count when known.
    pub fn status(&self, min_samples: usize, members: Option<usize>) -> LagStatus {
        if self.points.len() < min_samples.max(2) {
            return LagStatus::Unknown;
        }
        let pts: Vec<&LagPoint> = self.points.iter().collect();
        let rewound = pts.windows(2).any(|w| w[1].committed < w[0].committed);
        let last = pts[pts.len() - 1];
        if rewound
            && pts
                .iter()
                .rev()
                .skip(1)
                .any(|p| p.committed > last.committed)
        {
            return LagStatus::Rewind;
        }
        // Burrow's rule 1: only partitions that never reached zero lag in the window are judged.
        let lag_never_zero = pts.iter().all(|p| p.lag() > 0);
        if !lag_never_zero {
            return LagStatus::Ok;
        }
        let all_same = pts.iter().all(|p| p.committed == pts[0].committed);
        if all_same {
            return match members {
                Some(n) if n > 0 => LagStatus::Stall,
                _ => LagStatus::Stop,
            };
        }
        // STOP by Burrow's time rule: the last commit is older than the span of the commits.
        let first_commit = pts[0].at;
        let last_commit = pts
            .iter()
            .rev()
            .zip(pts.iter().rev().skip(1))
            .find(|(newer, older)| newer.committed != older.committed)
            .map_or(first_commit, |(newer, _)| newer.at);
        if last.at - last_commit > last_commit - first_commit && members.is_none_or(|n| n == 0) {
            return LagStatus::Stop;
        }
        // WARN: lag not decreasing across the window while the offsets advance.
        let not_decreasing = pts.windows(2).all(|w| w[1].lag() >= w[0].lag());
        if not_decreasing && last.committed > pts[0].committed {
            return LagStatus::Warn;
        }
        LagStatus::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(points: &[(i64, i64)]) -> LagWindow {
        let mut w = LagWindow::new(10);
        for (i, (c, h)) in points.iter().enumerate() {
            w.push(LagPoint {
                at: i as f64 * 10.0,
                committed: *c,
                high: *h,
            });
        }
        w
    }

    #[test]
    fn burrow_statuses() {
        // (committed, high watermark) per sample → status, with unknown members.
        let cases: &[(&[(i64, i64)], LagStatus)] = &[
            (&[(100, 100), (200, 200)], LagStatus::Ok),
            (&[(100, 150)], LagStatus::Unknown),
            (&[(100, 150), (100, 300), (100, 500)], LagStatus::Stop),
            (
                &[(100, 150), (200, 300), (300, 500), (400, 700)],
                LagStatus::Warn,
            ),
            (
                &[(100, 150), (200, 300), (250, 300), (300, 320)],
                LagStatus::Ok,
            ),
            (&[(500, 600), (100, 600), (100, 700)], LagStatus::Rewind),
            (&[(100, 150), (100, 100), (200, 300)], LagStatus::Ok),
            (
                &[(100, 900), (110, 900), (110, 900), (110, 900), (110, 900)],
                LagStatus::Stop,
            ),
        ];
        for (points, want) in cases {
            assert_eq!(window(points).status(2, None), *want, "{points:?}");
        }
        // Same offsets with live members: a stuck consumer, not a dead one.
        assert_eq!(
            window(&[(100, 150), (100, 300), (100, 500)]).status(2, Some(3)),
            LagStatus::Stall
        );
        assert_eq!(
            window(&[(100, 150), (100, 300)]).status(3, None),
            LagStatus::Unknown
        );
    }

    #[test]
    fn the_window_keeps_its_capacity() {
        let mut w = LagWindow::new(3);
        for i in 0..10 {
            w.push(LagPoint {
                at: i as f64,
                committed: i,
                high: i + 1,
            });
        }
        assert_eq!(w.len(), 3);
        assert_eq!(w.last().unwrap().committed, 9);
        assert!(LagStatus::Stall > LagStatus::Warn && LagStatus::Stop.is_error());
    }
}
