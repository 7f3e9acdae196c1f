//! Every number in the configuration has a range: seconds are finite and positive, ratios lie
//! in (0, 1], sizes and counts are bounded so that nothing downstream allocates, sleeps or
//! overflows on a value typed by mistake (`-1`, `nan`, `1e300`, `18446744073709551615`).
//! A value out of range is a problem naming its key, like every other config error.

use super::AppConfig;

/// One number out of range: the key and what was wrong.
pub type RangeProblem = (String, String);

/// Collects the values out of range of one part of the configuration (the core's sections
/// here, each plugin's own section in its `settings.rs`).
#[derive(Debug, Default)]
pub struct RangeChecks(Vec<RangeProblem>);

/// A day in seconds, milliseconds, and a year in seconds: the usual upper bounds.
pub const DAY_S: u64 = 86_400;
/// A day in milliseconds.
pub const DAY_MS: u64 = 86_400_000;
/// A (leap) year in seconds.
pub const YEAR_S: u64 = 366 * 86_400;

impl RangeChecks {
    /// The problems found so far.
    pub fn into_problems(self) -> Vec<RangeProblem> {
        self.0
    }

    /// Records a problem that is not a plain range (one key bounded by another).
    pub fn push(&mut self, key: &str, problem: String) {
        self.0.push((key.to_string(), problem));
    }

    /// A finite number between `min` and `max`; `what` names it (`a rate`).
    pub fn float(&mut self, key: &str, v: f64, min: f64, max: f64, what: &str) {
        if !(v.is_finite() && v >= min && v <= max) {
            self.0.push((
                key.to_string(),
                format!("must be {what} between {min} and {max}, got {v}"),
            ));
        }
    }

    /// A finite number of seconds above 0 and at most `max`.
    pub fn seconds(&mut self, key: &str, v: f64, max: f64) {
        if !(v.is_finite() && v > 0.0 && v <= max) {
            self.0.push((
                key.to_string(),
                format!("must be a number of seconds > 0 and at most {max}, got {v}"),
            ));
        }
    }

    /// A ratio above 0 and at most 1.
    pub fn ratio(&mut self, key: &str, v: f64) {
        if !(v.is_finite() && v > 0.0 && v <= 1.0) {
            self.0.push((
                key.to_string(),
                format!("must be a ratio > 0 and at most 1, got {v}"),
            ));
        }
    }

    /// A whole number between `min` and `max`.
    pub fn count(&mut self, key: &str, v: u64, min: u64, max: u64) {
        if !(min..=max).contains(&v) {
            self.0.push((
                key.to_string(),
                format!("must be between {min} and {max}, got {v}"),
            ));
        }
    }
}

/// The numbers of `config` that are out of range.
pub fn range_problems(config: &AppConfig) -> Vec<RangeProblem> {
    let mut c = RangeChecks::default();
    const DAY: f64 = 86_400.0;
    let col = &config.collector;
    c.seconds("collector.interval_secs", col.interval_secs, DAY);
    c.seconds("collector.backoff_max_secs", col.backoff_max_secs, DAY);
    c.seconds(
        "collector.diagnose_sample_secs",
        col.diagnose_sample_secs,
        3600.0,
    );
    c.count(
        "collector.connect_timeout_ms",
        col.connect_timeout_ms,
        1,
        DAY_MS,
    );
    c.count(
        "collector.command_timeout_ms",
        col.command_timeout_ms,
        1,
        DAY_MS,
    );
    c.count(
        "collector.client_list_max",
        col.client_list_max as u64,
        1,
        1_000_000,
    );

    let ui = &config.ui;
    c.count(
        "ui.metrics_history",
        ui.metrics_history as u64,
        2,
        1_000_000,
    );
    c.count(
        "ui.log_buffer_lines",
        ui.log_buffer_lines as u64,
        1,
        10_000_000,
    );
    c.count("ui.max_fps", u64::from(ui.max_fps), 1, 240);

    let kube = &config.kubernetes;
    c.count(
        "kubernetes.attach_delay_ms",
        kube.attach_delay_ms,
        0,
        60_000,
    );
    c.count("kubernetes.max_attached", kube.max_attached as u64, 1, 256);

    let ai = &config.ai;
    c.count(
        "ai.context_token_budget",
        ai.context_token_budget as u64,
        100,
        10_000_000,
    );
    c.count(
        "ai.context_log_lines",
        ai.context_log_lines as u64,
        0,
        100_000,
    );
    c.count(
        "ai.max_tool_iterations",
        ai.max_tool_iterations as u64,
        0,
        100,
    );
    c.count(
        "ai.tool_result_max_bytes",
        ai.tool_result_max_bytes as u64,
        64,
        16 << 20,
    );
    c.count(
        "ai.max_tool_calls_per_round",
        ai.max_tool_calls_per_round as u64,
        1,
        256,
    );
    c.count(
        "ai.max_tool_calls_per_question",
        ai.max_tool_calls_per_question as u64,
        1,
        10_000,
    );
    c.count(
        "ai.max_answer_bytes",
        ai.max_answer_bytes as u64,
        1024,
        64 << 20,
    );
    c.float(
        "ai.session_budget_usd",
        ai.session_budget_usd,
        0.0,
        1e9,
        "an amount",
    );
    for (name, p) in &ai.profiles {
        let key = |field: &str| format!("ai.profiles.{name}.{field}");
        c.seconds(&key("timeout_secs"), p.timeout_secs, DAY);
        c.seconds(&key("idle_timeout_secs"), p.idle_timeout_secs, DAY);
        c.count(
            &key("max_output_tokens"),
            u64::from(p.max_output_tokens),
            1,
            10_000_000,
        );
        for (field, price) in [
            ("price_input_per_mtok", p.price_input_per_mtok),
            ("price_output_per_mtok", p.price_output_per_mtok),
        ] {
            if let Some(v) = price {
                c.float(&key(field), v, 0.0, 1e6, "a price");
            }
        }
    }
    c.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_in_range() {
        assert_eq!(range_problems(&AppConfig::default()), Vec::new());
    }

    #[test]
    fn hostile_numbers_are_named_by_key() {
        let mut config = AppConfig::default();
        config.collector.interval_secs = f64::NAN;
        config.ui.metrics_history = usize::MAX;
        config.ai.profiles.insert(
            "p".into(),
            toml::from_str(
                "provider = 'openai'\nbase_url = 'http://x'\nmodel = 'm'\ntimeout_secs = -1.0\nidle_timeout_secs = 1e300\nprice_input_per_mtok = inf",
            )
            .unwrap(),
        );
        let problems = range_problems(&config);
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        for expected in [
            "collector.interval_secs",
            "ui.metrics_history",
            "ai.profiles.p.timeout_secs",
            "ai.profiles.p.idle_timeout_secs",
            "ai.profiles.p.price_input_per_mtok",
        ] {
            assert!(keys.contains(&expected), "{expected} not in {problems:?}");
        }
        let nan = problems
            .iter()
            .find(|(k, _)| k == "collector.interval_secs")
            .unwrap();
        assert!(nan.1.contains("NaN"), "{nan:?}");
    }

    #[test]
    fn caps_cannot_be_switched_off_or_made_huge() {
        let mut config = AppConfig::default();
        config.ai.max_tool_calls_per_round = 0;
        config.ai.max_tool_calls_per_question = usize::MAX;
        config.ai.max_answer_bytes = 0;
        config.kubernetes.max_attached = 0;
        config.kubernetes.attach_delay_ms = u64::MAX;
        let problems = range_problems(&config);
        let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
        for expected in [
            "ai.max_tool_calls_per_round",
            "ai.max_tool_calls_per_question",
            "ai.max_answer_bytes",
            "kubernetes.max_attached",
            "kubernetes.attach_delay_ms",
        ] {
            assert!(keys.contains(&expected), "{expected} not in {problems:?}");
        }
    }
}
