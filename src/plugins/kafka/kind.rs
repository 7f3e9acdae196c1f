//! What is particular to the Kafka kind: its name, schemes, settings section, how it is found
//! in a cluster, and the checks of its `[[instances]]` (a broker list, SASL and TLS).

use std::collections::BTreeMap;

use crate::config::{
    InstanceConfig, InstanceKind, KAFKA_TLS_SCHEME, KindRules, kafka_security_problems,
    kafka_unused_credentials, unreadable_tls_files,
};
use crate::kube::DiscoveryHints;
use crate::plugins::descriptor::KindDescriptor;

impl InstanceKind {
    /// An Apache Kafka cluster (any Kafka-protocol broker), served by `plugins::kafka`.
    pub const KAFKA: InstanceKind = InstanceKind::from_static("kafka");
}

/// Strimzi's label of a Kafka cluster's brokers (not of its ZooKeeper or operators).
fn operator_labels(labels: &BTreeMap<String, String>) -> Option<String> {
    (labels.get("strimzi.io/kind").map(String::as_str) == Some("Kafka")
        && labels
            .get("strimzi.io/name")
            .is_some_and(|n| n.ends_with("-kafka")))
    .then(|| "label strimzi.io/kind=Kafka".into())
}

/// The Kafka kind's facts.
pub static DESCRIPTOR: KindDescriptor = KindDescriptor {
    kind: InstanceKind::KAFKA,
    schemes: &["kafka", "kafka+ssl"],
    default_user: "",
    settings_section: Some("kafka"),
    discovery: DiscoveryHints {
        kind: InstanceKind::KAFKA,
        names: &["kafka"],
        operator_labels,
        ports: &[9092],
    },
};

impl KindRules for super::KafkaPlugin {
    fn kind(&self) -> InstanceKind {
        DESCRIPTOR.kind
    }

    /// `kafka://host:port[,host:port…]` (or `kafka+ssl://…`): every broker must have a host
    /// and a port; the first is returned as a URL.
    fn validate_url(&self, raw: &str) -> Result<url::Url, String> {
        let raw = raw.trim();
        let Some(list) = raw
            .strip_prefix("kafka://")
            .or_else(|| raw.strip_prefix(KAFKA_TLS_SCHEME))
        else {
            return Err(
                "a Kafka url is kafka://host:port[,host:port…] (or kafka+ssl://… for TLS)".into(),
            );
        };
        let mut first = None;
        for part in list.trim_end_matches('/').split(',') {
            let url = url::Url::parse(&format!("kafka://{}", part.trim()))
                .map_err(|e| format!("broker `{part}`: {e}"))?;
            if url.host_str().is_none_or(str::is_empty) || url.port().is_none() {
                return Err(format!("broker `{part}` needs host:port"));
            }
            if !url.username().is_empty() {
                return Err(
                    "credentials in a Kafka url are not supported: set username, password_env or password_file and sasl_mechanism".into(),
                );
            }
            first.get_or_insert(url);
        }
        first.ok_or_else(|| "no broker in the url".into())
    }

    fn instance_problems(&self, inst: &InstanceConfig) -> Vec<(&'static str, String)> {
        let mut problems = kafka_security_problems(inst);
        problems.extend(kafka_unused_credentials(inst));
        problems.extend(unreadable_tls_files(inst));
        problems
    }

    fn own_instance_keys(&self) -> &'static [&'static str] {
        &["groups", "security_protocol", "sasl_mechanism"]
    }
}
