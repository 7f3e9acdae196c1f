//! A bounded history of one metric's values, for sparklines and trends.

use std::collections::VecDeque;

use super::Unit;

/// The last N values of one metric.
#[derive(Debug, Clone)]
pub struct MetricSeries {
    /// Human label, e.g. `used_memory`.
    pub label: String,
    pub unit: Unit,
    values: VecDeque<f64>,
    capacity: usize,
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
        }
    }

    /// Appends a value; non-finite values are ignored so a malformed sample cannot poison the chart.
    pub fn push(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        if self.values.len() == self.capacity {
            self.values.pop_front();
        }
        self.values.push_back(value);
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
