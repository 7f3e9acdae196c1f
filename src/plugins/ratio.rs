//! Shares of counted events (`aborted / connections`, `rejected / requests` …) for the rules of
//! every plugin. A share of a handful of events says nothing — 3 aborted of 13 connections on a
//! fresh server is 23 % and perfectly normal — so a share is judged only once its denominator
//! reaches the rule's minimum sample. Level ratios against a limit (`connected / maxclients`,
//! `used / maxmemory`) are not shares of events and need no sample: one reading is the fact.

/// `part / whole` in percent, rounded to one decimal, when `whole` reaches `min_sample` (and is
/// not zero); `None` below it. `part` above `whole` (counters read at different instants) is
/// capped at 100 %. Finite for every input: no overflow, no NaN.
pub fn share_pct(part: u64, whole: u64, min_sample: u64) -> Option<f64> {
    if whole == 0 || whole < min_sample {
        return None;
    }
    let share = part.min(whole) as f64 / whole as f64;
    Some((share * 1000.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_judged_from_the_minimum_sample_on() {
        let cases: [(u64, u64, u64, Option<f64>); 12] = [
            (3, 13, 100, None),
            (0, 0, 100, None),
            (0, 0, 0, None),
            (5, 0, 0, None),
            (3, 99, 100, None),
            (3, 100, 100, Some(3.0)),
            (4, 101, 100, Some(4.0)),
            (0, 100, 100, Some(0.0)),
            (150, 100, 100, Some(100.0)),
            (u64::MAX, u64::MAX, 100, Some(100.0)),
            (u64::MAX / 2, u64::MAX, 100, Some(50.0)),
            (1, u64::MAX, 1, Some(0.0)),
        ];
        for (part, whole, min, want) in cases {
            let got = share_pct(part, whole, min);
            assert_eq!(got, want, "{part}/{whole} (min {min})");
            assert!(got.is_none_or(f64::is_finite));
        }
    }
}
