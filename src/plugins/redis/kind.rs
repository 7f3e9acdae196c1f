//! What is particular to the Redis kind: its name, schemes, account, settings section, how it
//! is found in a cluster, and the checks of its `[[instances]]`.

use super::settings::RedisSettings;
use crate::config::{
    AppConfig, InstanceConfig, InstanceKind, KindRules, PluginSettings, SettingsSection,
};
use crate::kube::DiscoveryHints;
use crate::plugins::descriptor::{KindDescriptor, check_url};

impl InstanceKind {
    /// Redis (and Valkey), served by `plugins::redis`.
    pub const REDIS: InstanceKind = InstanceKind::from_static("redis");
}

/// The Redis kind's facts.
pub static DESCRIPTOR: KindDescriptor = KindDescriptor {
    kind: InstanceKind::REDIS,
    schemes: &["redis", "rediss"],
    default_user: "default",
    settings_section: RedisSettings::SECTION,
    discovery: DiscoveryHints {
        kind: InstanceKind::REDIS,
        names: &["redis", "valkey"],
        operator_labels: DiscoveryHints::no_operator_labels,
        ports: &[6379],
    },
};

impl KindRules for super::RedisPlugin {
    fn kind(&self) -> InstanceKind {
        DESCRIPTOR.kind
    }

    fn settings_section(&self) -> Option<SettingsSection> {
        RedisSettings::section()
    }

    fn settings_problems(&self, config: &AppConfig) -> Vec<(String, String)> {
        RedisSettings::problems(config)
    }

    fn validate_url(&self, raw: &str) -> Result<url::Url, String> {
        check_url(&DESCRIPTOR, raw, "redis:// or rediss://")
    }

    fn instance_problems(&self, inst: &InstanceConfig) -> Vec<(&'static str, String)> {
        let has_tls_files = inst.tls_ca_file.is_some()
            || inst.tls_cert_file.is_some()
            || inst.tls_key_file.is_some();
        if has_tls_files && !inst.url.starts_with("rediss://") {
            return vec![(
                "tls_ca_file",
                "TLS files are set but the url is not rediss://".into(),
            )];
        }
        Vec::new()
    }
}
