//! What is particular to the Kafka kind: its name, schemes, settings section, how it is found
//! in a cluster, and the checks of its `[[instances]]` (a broker list, SASL and TLS).

use std::collections::BTreeMap;

use super::keys::{KafkaKeys, KafkaSecurityProtocol};
use super::settings::KafkaSettings;
use crate::config::{
    AppConfig, InstanceConfig, InstanceKeys, InstanceKind, KindRules, PluginSettings,
    SettingsSection, unreadable_tls_files,
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
    settings_section: KafkaSettings::SECTION,
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

    fn settings_section(&self) -> Option<SettingsSection> {
        KafkaSettings::section()
    }

    fn settings_problems(&self, config: &AppConfig) -> Vec<(String, String)> {
        KafkaSettings::problems(config)
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
        // A key of the wrong type is named, and the other checks still run (without it).
        let (keys, mut problems) = match KafkaKeys::read(inst) {
            Ok(keys) => (keys, Vec::new()),
            Err(problems) => (KafkaKeys::default(), problems),
        };
        problems.extend(kafka_security_problems(inst, &keys));
        problems.extend(kafka_unused_credentials(inst, &keys));
        problems.extend(unreadable_tls_files(inst));
        problems
    }

    fn own_instance_keys(&self) -> &'static [&'static str] {
        KafkaKeys::NAMES
    }
}

/// `kafka+ssl://` asks for TLS; `kafka://` leaves it to `security_protocol`.
pub const KAFKA_TLS_SCHEME: &str = "kafka+ssl://";

/// The protocol an instance connects with: `security_protocol` when set, else TLS from a
/// `kafka+ssl://` url and SASL from a `sasl_mechanism`. A contradiction is an error naming
/// the key.
pub fn kafka_security_protocol(
    instance: &InstanceConfig,
    keys: &KafkaKeys,
) -> Result<KafkaSecurityProtocol, (&'static str, String)> {
    let tls_url = instance.url.trim_start().starts_with(KAFKA_TLS_SCHEME);
    match keys.security_protocol {
        Some(p) if tls_url && !p.is_tls() => Err((
            "security_protocol",
            format!(
                "`{}` is a plain-TCP protocol but the url is {KAFKA_TLS_SCHEME} (use SSL or SASL_SSL, or a kafka:// url)",
                p.as_str()
            ),
        )),
        Some(p) => Ok(p),
        None => Ok(KafkaSecurityProtocol::of(
            tls_url,
            keys.sasl_mechanism.is_some(),
        )),
    }
}

/// A `username` or password reference on a Kafka instance without SASL: refused in a config
/// file (the user meant something by it), ignored at connect time (a Kubernetes credential
/// rule without a `kind` may hand them to a discovered Kafka).
pub fn kafka_unused_credentials(
    instance: &InstanceConfig,
    keys: &KafkaKeys,
) -> Option<(&'static str, String)> {
    let sasl = kafka_security_protocol(instance, keys).is_ok_and(|p| p.is_sasl());
    let has = instance.username.is_some()
        || instance.password_env.is_some()
        || instance.password_file.is_some();
    (has && !sasl).then(|| {
        (
            "username",
            "username and password_env/password_file are SASL credentials for Kafka: set sasl_mechanism (and security_protocol SASL_SSL)".to_string(),
        )
    })
}

/// What is wrong with the connection settings of a Kafka instance, as (field, problem).
pub fn kafka_security_problems(
    instance: &InstanceConfig,
    keys: &KafkaKeys,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let protocol = match kafka_security_protocol(instance, keys) {
        Ok(p) => p,
        Err(problem) => return vec![problem],
    };
    let has_password = instance.password_env.is_some()
        || instance.password_file.is_some()
        || instance.password_value.is_some();
    match (protocol.is_sasl(), keys.sasl_mechanism) {
        (true, None) => out.push((
            "sasl_mechanism",
            format!(
                "security_protocol {} needs sasl_mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)",
                protocol.as_str()
            ),
        )),
        (false, Some(m)) => out.push((
            "sasl_mechanism",
            format!(
                "sasl_mechanism {} is set but security_protocol is {} (use SASL_SSL or SASL_PLAINTEXT)",
                m.as_str(),
                protocol.as_str()
            ),
        )),
        (true, Some(m)) => {
            if instance.username.as_deref().is_none_or(str::is_empty) {
                out.push((
                    "username",
                    format!("sasl_mechanism {} needs a username", m.as_str()),
                ));
            }
            if !has_password {
                out.push((
                    "password_env",
                    format!(
                        "sasl_mechanism {} needs a password: password_env or password_file",
                        m.as_str()
                    ),
                ));
            }
        }
        (false, None) => {}
    }
    if !protocol.is_tls() {
        for (field, set) in [
            ("tls_ca_file", instance.tls_ca_file.is_some()),
            ("tls_cert_file", instance.tls_cert_file.is_some()),
            ("tls_key_file", instance.tls_key_file.is_some()),
        ] {
            if set {
                out.push((
                    field,
                    format!(
                        "{field} is set but the connection is {} (use a {KAFKA_TLS_SCHEME} url or security_protocol SSL/SASL_SSL)",
                        protocol.as_str()
                    ),
                ));
            }
        }
    }
    out
}
