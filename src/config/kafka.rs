//! `[kafka]`: the lag window of the Burrow-style rules and the collector's limits.

use serde::{Deserialize, Serialize};

/// Settings of the Kafka rules and collector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaRulesConfig {
    /// Samples of (committed, high watermark) kept per partition (Burrow's `intervals`).
    pub lag_window_samples: usize,
    /// Samples a partition needs before the windowed lag rules judge it (Burrow's
    /// `minimum-complete`, as a count).
    pub lag_min_samples: usize,
    /// KFK-LAG-07: a group rebalancing longer than this.
    pub rebalance_stuck_secs: u64,
    /// Each broker request gives up after this long.
    pub request_timeout_ms: u64,
    /// Topics whose watermarks are read per sample at most (the rest are counted, not read).
    pub max_topics: usize,
    /// Consumer groups whose committed offsets are read per sample at most; with more, each
    /// sample reads the next `max_groups` in turn (a librdkafka client per group read).
    pub max_groups: usize,
}

impl Default for KafkaRulesConfig {
    fn default() -> Self {
        KafkaRulesConfig {
            lag_window_samples: 10,
            lag_min_samples: 3,
            rebalance_stuck_secs: 60,
            request_timeout_ms: 5000,
            max_topics: 500,
            max_groups: 200,
        }
    }
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

    fn of(tls: bool, sasl: bool) -> Self {
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

/// `kafka+ssl://` asks for TLS; `kafka://` leaves it to `security_protocol`.
pub const KAFKA_TLS_SCHEME: &str = "kafka+ssl://";

/// The protocol an instance connects with: `security_protocol` when set, else TLS from a
/// `kafka+ssl://` url and SASL from a `sasl_mechanism`. A contradiction is an error naming
/// the key.
pub fn kafka_security_protocol(
    instance: &super::InstanceConfig,
) -> Result<KafkaSecurityProtocol, (&'static str, String)> {
    let tls_url = instance.url.trim_start().starts_with(KAFKA_TLS_SCHEME);
    match instance.security_protocol {
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
            instance.sasl_mechanism.is_some(),
        )),
    }
}

/// A `username` or password reference on a Kafka instance without SASL: refused in a config
/// file (the user meant something by it), ignored at connect time (a Kubernetes credential
/// rule without a `kind` may hand them to a discovered Kafka).
pub fn kafka_unused_credentials(
    instance: &super::InstanceConfig,
) -> Option<(&'static str, String)> {
    let sasl = kafka_security_protocol(instance).is_ok_and(|p| p.is_sasl());
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
pub fn kafka_security_problems(instance: &super::InstanceConfig) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let protocol = match kafka_security_protocol(instance) {
        Ok(p) => p,
        Err(problem) => return vec![problem],
    };
    let has_password = instance.password_env.is_some()
        || instance.password_file.is_some()
        || instance.password_value.is_some();
    match (protocol.is_sasl(), instance.sasl_mechanism) {
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
