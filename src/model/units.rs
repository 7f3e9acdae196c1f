//! Units of metric values and how to print them.

use serde::Serialize;

/// What a metric's number means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Bytes,
    /// 0–100.
    Percent,
    PerSecond,
    BytesPerSecond,
    Count,
    Millis,
    Seconds,
    Ratio,
}

impl Unit {
    /// Formats a value compactly with its unit, e.g. `18.7 MiB`, `93.1 %`, `1.2k/s`.
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::Bytes => format_bytes(value),
            Unit::BytesPerSecond => format!("{}/s", format_bytes(value)),
            Unit::Percent => format!("{value:.1} %"),
            Unit::PerSecond => format!("{}/s", format_count(value)),
            Unit::Count => format_count(value),
            Unit::Millis => format!("{value:.0} ms"),
            Unit::Seconds => format_seconds(value),
            Unit::Ratio => format!("{value:.2}"),
        }
    }
}

fn format_bytes(v: f64) -> String {
    const STEPS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = v;
    let mut i = 0;
    while v.abs() >= 1024.0 && i < STEPS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", STEPS[i])
    }
}

fn format_count(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.1}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn format_seconds(v: f64) -> String {
    let s = v.max(0.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{}s", s / 60, s % 60),
        3600..86400 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{}h", s / 86400, (s % 86400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_compact_and_carry_units() {
        let cases = [
            (Unit::Bytes, 512.0, "512 B"),
            (Unit::Bytes, 19_639_000.0, "18.7 MiB"),
            (Unit::Percent, 93.14, "93.1 %"),
            (Unit::PerSecond, 1234.0, "1.2k/s"),
            (Unit::Count, 42.0, "42"),
            (Unit::Millis, 300.2, "300 ms"),
            (Unit::Seconds, 3725.0, "1h2m"),
            (Unit::Ratio, 1.456, "1.46"),
            (Unit::BytesPerSecond, 2048.0, "2.0 KiB/s"),
        ];
        for (unit, value, want) in cases {
            assert_eq!(unit.format(value), want, "{unit:?} {value}");
        }
    }
}
