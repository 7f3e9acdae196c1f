//! `Retry-After` as a provider sends it: delay-seconds (RFC 9110 §10.2.3) or an HTTP-date,
//! and whatever else a broken or hostile endpoint puts there (`nan`, `-1`, `1e300`, garbage).
//! Anything that is not a sane wait is ignored, and every wait is capped.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The longest wait a provider can impose before a retry.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

/// The wait a `Retry-After` value asks for, capped at [`MAX_WAIT`]; `None` when the value is
/// not a finite, non-negative number of seconds nor an HTTP-date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        if !secs.is_finite() || secs < 0.0 {
            return None;
        }
        return Some(Duration::from_secs_f64(secs.min(MAX_WAIT.as_secs_f64())));
    }
    let date = DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&Utc) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO).min(MAX_WAIT))
}

/// A duration from configured seconds that never panics: non-finite or negative values give
/// `fallback` (config validation already refuses them; this is the second line).
pub fn secs(value: f64, fallback: Duration) -> Duration {
    Duration::try_from_secs_f64(value).unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_never_panic_and_are_bounded() {
        let now = Utc::now();
        for (raw, expected) in [
            ("2", Some(Duration::from_secs(2))),
            (" 0.5 ", Some(Duration::from_millis(500))),
            ("0", Some(Duration::ZERO)),
            ("nan", None),
            ("NaN", None),
            ("inf", None),
            ("-inf", None),
            ("-1", None),
            ("1e300", Some(MAX_WAIT)),
            ("", None),
            ("soon", None),
            ("18446744073709551616", Some(MAX_WAIT)),
            ("Thu, 01 Jan 1970 00:00:00 GMT", Some(Duration::ZERO)),
        ] {
            assert_eq!(parse_retry_after(raw, now), expected, "{raw:?}");
        }
        let in_ten = (now + chrono::Duration::seconds(10)).to_rfc2822();
        let wait = parse_retry_after(&in_ten, now).unwrap();
        assert!(wait <= Duration::from_secs(10) && wait >= Duration::from_secs(9));
        let far = (now + chrono::Duration::days(400)).to_rfc2822();
        assert_eq!(parse_retry_after(&far, now), Some(MAX_WAIT));
    }

    #[test]
    fn configured_seconds_never_panic() {
        let fb = Duration::from_secs(30);
        assert_eq!(secs(f64::NAN, fb), fb);
        assert_eq!(secs(-1.0, fb), fb);
        assert_eq!(secs(1e300, fb), fb);
        assert_eq!(secs(1.5, fb), Duration::from_millis(1500));
    }
}
