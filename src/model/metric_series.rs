//! A bounded history of one metric's values, for sparklines and trends, and a downsampled
//! history of two hours for the zoomed chart.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};

use super::Unit;

/// The width of one bucket of the long history.
pub const BUCKET_SECS: i64 = 30;
/// Buckets kept: two hours.
pub const LONG_BUCKETS: usize = 240;

/// One bucket of the long history: the samples that fell in it, summarised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// The bucket's start (a multiple of [`BUCKET_SECS`] since the epoch).
    pub start: DateTime<Utc>,
    pub min: f64,
    pub max: f64,
    /// Kept as a running mean, not a sum: the sum of large finite values can overflow.
    mean: f64,
    count: u32,
}

impl Bucket {
    /// The mean of the samples in the bucket.
    pub fn mean(&self) -> f64 {
        self.mean
    }
}

/// The last N values of one metric, and two hours of it downsampled into 30 s buckets.
#[derive(Debug, Clone)]
pub struct MetricSeries {
    /// Human label, e.g. `used_memory`.
    pub label: String,
    pub unit: Unit,
    values: VecDeque<f64>,
    capacity: usize,
    long: VecDeque<Bucket>,
}

impl MetricSeries {
    /// An empty series that keeps at most `capacity` values (at least two, for a trend).
    pub fn new(label: impl Into<String>, unit: Unit, capacity: usize) -> Self {
        let capacity = capacity.max(2);
        MetricSeries {
            label: label.into(),
            unit,
            values: VecDeque::with_capacity(capacity),
            capacity,
            long: VecDeque::new(),
        }
    }

    /// Appends a value sampled now; non-finite values are ignored so a malformed sample cannot
    /// poison the chart.
    pub fn push(&mut self, value: f64) {
        self.push_at(Utc::now(), value);
    }

    /// Appends a value sampled at `at`: into the recent values, and into the bucket of `at`
    /// in the long history (a sample older than the newest bucket joins the newest one, so a
    /// clock step back cannot reorder the history).
    pub fn push_at(&mut self, at: DateTime<Utc>, value: f64) {
        if !value.is_finite() {
            return;
        }
        if self.values.len() == self.capacity {
            self.values.pop_front();
        }
        self.values.push_back(value);
        let secs = at.timestamp();
        let start =
            DateTime::<Utc>::from_timestamp(secs - secs.rem_euclid(BUCKET_SECS), 0).unwrap_or(at);
        match self.long.back_mut() {
            Some(b) if b.start >= start => {
                b.min = b.min.min(value);
                b.max = b.max.max(value);
                b.count = b.count.saturating_add(1);
                b.mean += (value - b.mean) / f64::from(b.count);
            }
            _ => {
                self.long.push_back(Bucket {
                    start,
                    min: value,
                    max: value,
                    mean: value,
                    count: 1,
                });
                while self.long.len() > LONG_BUCKETS {
                    self.long.pop_front();
                }
            }
        }
    }

    /// The long history's buckets that start within `window` before `now`, oldest first.
    pub fn history(&self, now: DateTime<Utc>, window: Duration) -> impl Iterator<Item = &Bucket> {
        let from = now - window;
        self.long.iter().filter(move |b| b.start >= from)
    }

    /// The newest value.
    pub fn latest(&self) -> Option<f64> {
        self.values.back().copied()
    }

    /// Number of values held.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no value is held yet.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Newest minus the one before, when there are two.
    pub fn trend(&self) -> Option<f64> {
        let n = self.values.len();
        (n >= 2).then(|| self.values[n - 1] - self.values[n - 2])
    }

    /// The smallest value held.
    pub fn min(&self) -> Option<f64> {
        self.values.iter().copied().reduce(f64::min)
    }

    /// The largest value held.
    pub fn max(&self) -> Option<f64> {
        self.values.iter().copied().reduce(f64::max)
    }

    /// The newest `width` values scaled to integers for a sparkline (relative to the max shown).
    pub fn sparkline_points(&self, width: usize) -> Vec<u64> {
        let skip = self.values.len().saturating_sub(width);
        let shown: Vec<f64> = self.values.iter().skip(skip).copied().collect();
        let max = shown.iter().copied().fold(0.0_f64, f64::max);
        // A percentage is drawn on a fixed 0–100 % axis (a 40 % heap is not a full bar); other
        // units from 0 to the window's largest value.
        let max = match self.unit {
            Unit::Percent => max.max(100.0),
            _ => max,
        };
        if max <= 0.0 {
            return vec![0; shown.len()];
        }
        shown
            .iter()
            .map(|v| ((v.max(0.0) / max) * 1000.0).round() as u64)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_bounded_and_trend_follows_the_last_two() {
        let mut s = MetricSeries::new("ops", Unit::PerSecond, 3);
        for v in [1.0, 2.0, 3.0, 10.0] {
            s.push(v);
        }
        assert_eq!(s.len(), 3);
        assert_eq!(s.latest(), Some(10.0));
        assert_eq!(s.trend(), Some(7.0));
        assert_eq!(s.max(), Some(10.0));
    }

    #[test]
    fn non_finite_values_are_ignored() {
        let mut s = MetricSeries::new("x", Unit::Count, 5);
        s.push(f64::NAN);
        s.push(f64::INFINITY);
        assert!(s.is_empty());
    }

    #[test]
    fn sparkline_scales_to_the_shown_window() {
        let mut s = MetricSeries::new("x", Unit::Count, 10);
        for v in [100.0, 0.0, 5.0, 10.0] {
            s.push(v);
        }
        assert_eq!(s.sparkline_points(2), vec![500, 1000]);
        assert_eq!(s.sparkline_points(0), Vec::<u64>::new());
    }

    #[test]
    fn the_long_history_is_bucketed_bounded_and_ordered() {
        let mut s = MetricSeries::new("x", Unit::Count, 3);
        let t0 = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        // Ten samples in one 30 s bucket: one bucket with their min, mean and max.
        for i in 0..10 {
            s.push_at(t0 + Duration::seconds(i), i as f64);
        }
        let b: Vec<&Bucket> = s
            .history(t0 + Duration::hours(1), Duration::hours(2))
            .collect();
        assert_eq!(b.len(), 1);
        assert_eq!((b[0].min, b[0].max, b[0].mean()), (0.0, 9.0, 4.5));
        assert_eq!(s.len(), 3, "the recent values stay bounded on their own");
        // Three hours of samples: two hours of buckets are kept, oldest first.
        for i in 0..(3 * 3600 / 10) {
            s.push_at(t0 + Duration::seconds(i * 10), 1.0);
        }
        let all: Vec<&Bucket> = s
            .history(t0 + Duration::hours(5), Duration::hours(10))
            .collect();
        assert_eq!(all.len(), LONG_BUCKETS);
        assert!(all.windows(2).all(|w| w[0].start < w[1].start));
        // A clock stepping back joins the newest bucket instead of reordering the history.
        let newest = all.last().unwrap().start;
        s.push_at(t0, 100.0);
        let last = *s
            .history(t0 + Duration::hours(5), Duration::hours(10))
            .last()
            .unwrap();
        assert_eq!((last.start, last.max), (newest, 100.0));
        // Non-finite values are ignored everywhere; extreme times do not panic.
        s.push_at(t0, f64::NAN);
        s.push_at(DateTime::<Utc>::MIN_UTC, 1.0);
        s.push_at(DateTime::<Utc>::MAX_UTC, 1.0);
        assert!(s.history(t0, Duration::minutes(60)).count() <= LONG_BUCKETS);
    }

    #[test]
    fn percentages_are_drawn_on_a_fixed_axis_and_a_constant_series_is_flat_at_its_level() {
        let mut heap = MetricSeries::new("heap", Unit::Percent, 10);
        for _ in 0..4 {
            heap.push(40.0);
        }
        assert_eq!(heap.sparkline_points(4), vec![400; 4], "40 % is 40 % high");
        heap.push(130.0); // memory past maxmemory: the axis grows, nothing overflows
        assert_eq!(heap.sparkline_points(2), vec![308, 1000]);
        let mut zero = MetricSeries::new("z", Unit::Percent, 3);
        zero.push(0.0);
        assert_eq!(zero.sparkline_points(3), vec![0]);
        let mut negative = MetricSeries::new("n", Unit::Percent, 3);
        negative.push(-5.0);
        assert_eq!(negative.sparkline_points(3), vec![0]);
    }
}
