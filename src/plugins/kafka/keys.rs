//! The keys of a Kafka `[[instances]]` entry that only Kafka takes: `security_protocol`,
//! `sasl_mechanism` and `groups` (the `[kafka]` settings live in `settings.rs`).

use serde::{Deserialize, Serialize};

use crate::config::InstanceKeys;

/// A Kafka instance's own keys, read from `InstanceConfig::kind_keys`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KafkaKeys {
    /// `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL` (default: from the url's scheme and
    /// `sasl_mechanism`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_protocol: Option<KafkaSecurityProtocol>,
    /// `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`, with `username` and
    /// `password_env`/`password_file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sasl_mechanism: Option<SaslMechanism>,
    /// Consumer groups to watch besides those the brokers list (some brokers cannot list
    /// groups).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

impl InstanceKeys for KafkaKeys {
    const NAMES: &'static [&'static str] = &["groups", "security_protocol", "sasl_mechanism"];
}

/// `security_protocol` of a Kafka instance: librdkafka's `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KafkaSecurityProtocol {
    #[serde(rename = "PLAINTEXT", alias = "plaintext")]
    Plaintext,
    /// TLS, no SASL (a client certificate may authenticate).
    #[serde(rename = "SSL", alias = "ssl")]
    Ssl,
    /// SASL over a plain TCP connection (the password of PLAIN crosses the network in clear).
    #[serde(rename = "SASL_PLAINTEXT", alias = "sasl_plaintext")]
    SaslPlaintext,
    /// SASL inside TLS: what managed clusters (MSK, Confluent Cloud, Aiven) expect.
    #[serde(rename = "SASL_SSL", alias = "sasl_ssl")]
    SaslSsl,
}

impl KafkaSecurityProtocol {
    /// The spelling of the config file and of librdkafka.
    pub fn as_str(self) -> &'static str {
        match self {
            KafkaSecurityProtocol::Plaintext => "PLAINTEXT",
            KafkaSecurityProtocol::Ssl => "SSL",
            KafkaSecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            KafkaSecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether the connection is wrapped in TLS.
    pub fn is_tls(self) -> bool {
        matches!(
            self,
            KafkaSecurityProtocol::Ssl | KafkaSecurityProtocol::SaslSsl
        )
    }

    /// Whether the client authenticates with SASL.
    pub fn is_sasl(self) -> bool {
        matches!(
            self,
            KafkaSecurityProtocol::SaslPlaintext | KafkaSecurityProtocol::SaslSsl
        )
    }

    /// The protocol of a connection with or without TLS and SASL.
    pub fn of(tls: bool, sasl: bool) -> Self {
        match (tls, sasl) {
            (false, false) => KafkaSecurityProtocol::Plaintext,
            (true, false) => KafkaSecurityProtocol::Ssl,
            (false, true) => KafkaSecurityProtocol::SaslPlaintext,
            (true, true) => KafkaSecurityProtocol::SaslSsl,
        }
    }
}

/// `sasl_mechanism` of a Kafka instance. GSSAPI (Kerberos) and OAUTHBEARER are not offered:
/// the first needs Cyrus SASL and a keytab, the second a token provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SaslMechanism {
    #[serde(rename = "PLAIN", alias = "plain")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256", alias = "scram-sha-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512", alias = "scram-sha-512")]
    ScramSha512,
}

impl SaslMechanism {
    /// The spelling of the config file and of librdkafka's `sasl.mechanisms`.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}
