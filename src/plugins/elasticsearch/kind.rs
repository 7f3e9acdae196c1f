//! What is particular to the Elasticsearch kind: its name, schemes, settings section, how it
//! is found in a cluster, and the checks of its `[[instances]]`.

use std::collections::BTreeMap;

use super::settings::EsSettings;
use crate::config::{
    AppConfig, InstanceConfig, InstanceKind, KindRules, PluginSettings, SettingsSection,
};
use crate::kube::DiscoveryHints;
use crate::plugins::descriptor::{KindDescriptor, check_url};

impl InstanceKind {
    /// Elasticsearch or OpenSearch (the distribution is detected), served by
    /// `plugins::elasticsearch`.
    pub const ELASTICSEARCH: InstanceKind = InstanceKind::from_static("elasticsearch");
}

/// ECK's label.
fn operator_labels(labels: &BTreeMap<String, String>) -> Option<String> {
    (labels.get("common.k8s.elastic.co/type").map(String::as_str) == Some("elasticsearch"))
        .then(|| "label common.k8s.elastic.co/type=elasticsearch".into())
}

/// The Elasticsearch kind's facts.
pub static DESCRIPTOR: KindDescriptor = KindDescriptor {
    kind: InstanceKind::ELASTICSEARCH,
    schemes: &["elasticsearch", "elasticsearch+https"],
    default_user: "",
    settings_section: EsSettings::SECTION,
    discovery: DiscoveryHints {
        kind: InstanceKind::ELASTICSEARCH,
        names: &["elasticsearch", "opensearch"],
        operator_labels,
        ports: &[9200],
    },
};

impl KindRules for super::ElasticsearchPlugin {
    fn kind(&self) -> InstanceKind {
        DESCRIPTOR.kind
    }

    fn settings_section(&self) -> Option<SettingsSection> {
        EsSettings::section()
    }

    fn settings_problems(&self, config: &AppConfig) -> Vec<(String, String)> {
        EsSettings::problems(config)
    }

    fn validate_url(&self, raw: &str) -> Result<url::Url, String> {
        check_url(
            &DESCRIPTOR,
            raw,
            "elasticsearch://host:9200 or elasticsearch+https://host:9200",
        )
    }

    fn instance_problems(&self, inst: &InstanceConfig) -> Vec<(&'static str, String)> {
        if inst.tls_cert_file.is_some() {
            vec![(
                "tls_cert_file",
                "client certificates are not supported for elasticsearch (use username + password_env)".into(),
            )]
        } else if inst.tls_ca_file.is_some() && !inst.url.starts_with("elasticsearch+https://") {
            vec![(
                "tls_ca_file",
                "tls_ca_file is set but the url is not elasticsearch+https://".into(),
            )]
        } else {
            Vec::new()
        }
    }
}
