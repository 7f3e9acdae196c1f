//! Configuration: the settings struct, its layered loading, paths and instances.

mod ai;
mod instance;
mod kind;
mod kubernetes;
mod load;
mod paths;
mod ranges;
mod settings;
mod template;

pub use ai::{AiConfig, ProfileConfig, ProviderKind};
pub use instance::{
    CredentialError, InstanceConfig, decode_userinfo, instance_secrets, resolve_password,
    strip_credentials,
};
pub use kind::{InstanceKeys, InstanceKind, KindKeys, KindRules, rules_for};
pub use kubernetes::{KubeCredential, KubernetesConfig, SecretKeyRef, SecretValue};
pub use load::{
    CliOverrides, CollectorOverrides, ConfigError, ConfigProblem, LoadedConfig, SafetyOverrides,
    load_config, parse_config, unreadable_tls_files, validate_config,
};
pub use paths::AppPaths;
pub use ranges::{DAY_MS, DAY_S, RangeChecks, RangeProblem, YEAR_S};
pub use settings::{PluginSettings, SectionValue, SettingsSection};
pub use template::CONFIG_TEMPLATE;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Everything a user can set, after all layers are merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppConfig {
    /// Theme name: a built-in (`dark`, `light`, `high-contrast`) or `themes/NAME.toml` in the config dir.
    pub theme: String,
    /// Log level for the rolling log file (`error`, `warn`, `info`, `debug`, `trace`).
    pub log_level: String,
    pub collector: CollectorConfig,
    pub ui: UiConfig,
    /// Model profiles and what the AI may see and do.
    pub ai: AiConfig,
    /// What repairs may do: the mode and the always-read-only Kubernetes contexts.
    pub safety: SafetyConfig,
    /// Namespaces per context and the credentials of discovered instances.
    pub kubernetes: KubernetesConfig,
    pub instances: Vec<InstanceConfig>,
    /// The plugins' settings sections (`[redis]` …) by name, as the layers gave them: each
    /// plugin reads its own through [`PluginSettings::of`]. Filled by the loader from the
    /// top-level keys the kinds declare; `config show` prints them after the rest.
    #[serde(skip)]
    pub sections: BTreeMap<String, SectionValue>,
}

/// How repairs are applied (enforced by the one executor, not by the UI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SafetyMode {
    /// Every write is refused (audits, production by default for some teams).
    ReadOnly,
    /// Plans are shown and never applied.
    Suggest,
    /// Steps are applied one at a time after confirmation on screen.
    #[default]
    Confirm,
}

impl SafetyMode {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SafetyMode::ReadOnly => "read-only",
            SafetyMode::Suggest => "suggest",
            SafetyMode::Confirm => "confirm",
        }
    }

    /// Parses the config spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "read-only" | "readonly" | "ro" => Some(SafetyMode::ReadOnly),
            "suggest" => Some(SafetyMode::Suggest),
            "confirm" => Some(SafetyMode::Confirm),
            _ => None,
        }
    }
}

/// `[safety]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SafetyConfig {
    /// `confirm` (default), `suggest` or `read-only`; `--read-only` forces read-only.
    pub mode: SafetyMode,
    /// Kubernetes contexts (globs, e.g. `prod-*`) where every write is refused whatever the mode.
    pub read_only_contexts: Vec<String>,
}

impl Default for SafetyConfig {
    fn default() -> Self {
        SafetyConfig {
            mode: SafetyMode::Confirm,
            read_only_contexts: Vec::new(),
        }
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            theme: "dark".into(),
            log_level: "info".into(),
            collector: CollectorConfig::default(),
            ui: UiConfig::default(),
            ai: AiConfig::default(),
            safety: SafetyConfig::default(),
            kubernetes: KubernetesConfig::default(),
            instances: Vec::new(),
            sections: BTreeMap::new(),
        }
    }
}

/// How background collectors poll their instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorConfig {
    /// Seconds between two samples of one instance.
    pub interval_secs: f64,
    /// Connect timeout in milliseconds.
    pub connect_timeout_ms: u64,
    /// Per-command response timeout in milliseconds.
    pub command_timeout_ms: u64,
    /// Ceiling of the exponential reconnect backoff, in seconds.
    pub backoff_max_secs: f64,
    /// Seconds between the two samples `diagnose` takes to compute rates.
    pub diagnose_sample_secs: f64,
    /// At most this many `CLIENT LIST` rows are parsed.
    pub client_list_max: usize,
}

impl CollectorConfig {
    /// How long a plugin waits for a connection (its collector, tools and write backend alike).
    pub fn connect_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.connect_timeout_ms)
    }
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            interval_secs: 2.0,
            connect_timeout_ms: 3000,
            command_timeout_ms: 3000,
            backoff_max_secs: 30.0,
            diagnose_sample_secs: 1.0,
            client_list_max: 5000,
        }
    }
}

/// Screen settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// Samples kept per metric for sparklines.
    pub metrics_history: usize,
    /// Lines kept in the logs ring buffer.
    pub log_buffer_lines: usize,
    /// Upper bound of redraws per second while something changes (none while idle).
    pub max_fps: u32,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            metrics_history: 120,
            log_buffer_lines: 10_000,
            max_fps: 30,
        }
    }
}
