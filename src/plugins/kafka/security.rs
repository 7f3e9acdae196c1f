//! How every librdkafka client of a Kafka instance connects: `security.protocol`, the SASL
//! mechanism and credentials, the CA and the client certificate. One value, resolved once per
//! instance and applied to each client the plugin builds (the collector's consumer and admin
//! client, the per-group OffsetFetch consumers, the executor's admin client and group
//! committers), so no client can connect differently from the others.

use std::fmt;
use std::path::PathBuf;

use rdkafka::config::ClientConfig;

use super::keys::{KafkaKeys, KafkaSecurityProtocol, SaslMechanism};
use super::kind::{kafka_security_problems, kafka_security_protocol};
use crate::config::{InstanceConfig, InstanceKeys, resolve_password};
use crate::plugins::PluginError;

/// The connection settings of one Kafka instance; the SASL password is resolved from its
/// reference and never printed (`Debug` masks it).
#[derive(Clone, PartialEq)]
pub struct KafkaSecurity {
    pub protocol: KafkaSecurityProtocol,
    pub mechanism: Option<SaslMechanism>,
    pub username: Option<String>,
    password: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
}

impl fmt::Debug for KafkaSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSecurity")
            .field("protocol", &self.protocol)
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("ca_file", &self.ca_file)
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .finish()
    }
}

impl Default for KafkaSecurity {
    fn default() -> Self {
        KafkaSecurity {
            protocol: KafkaSecurityProtocol::Plaintext,
            mechanism: None,
            username: None,
            password: None,
            ca_file: None,
            cert_file: None,
            key_file: None,
        }
    }
}

impl KafkaSecurity {
    /// The settings of a configured instance; the same checks as config validation (an
    /// instance may also come from discovery or the command line), and each TLS file must be
    /// readable, named by its key.
    pub fn from_instance(instance: &InstanceConfig) -> Result<Self, PluginError> {
        let config_error = |key: &str, problem: String| {
            PluginError::Config(format!("instance `{}`: {key}: {problem}", instance.name))
        };
        let keys = KafkaKeys::read(instance).map_err(|problems| {
            let (key, problem) = problems.into_iter().next().unwrap_or_default();
            config_error(key, problem)
        })?;
        let protocol =
            kafka_security_protocol(instance, &keys).map_err(|(k, p)| config_error(k, p))?;
        if let Some((key, problem)) = kafka_security_problems(instance, &keys).into_iter().next() {
            return Err(config_error(key, problem));
        }
        for (key, path) in [
            ("tls_ca_file", &instance.tls_ca_file),
            ("tls_cert_file", &instance.tls_cert_file),
            ("tls_key_file", &instance.tls_key_file),
        ] {
            if let Some(path) = path
                && let Err(e) = std::fs::File::open(path)
            {
                return Err(config_error(
                    key,
                    format!("cannot read `{}`: {e}", path.display()),
                ));
            }
        }
        if instance.tls_cert_file.is_some() != instance.tls_key_file.is_some() {
            return Err(config_error(
                "tls_cert_file",
                "mutual TLS needs both tls_cert_file and tls_key_file".into(),
            ));
        }
        let password = if protocol.is_sasl() {
            resolve_password(instance).map_err(|e| PluginError::Config(e.to_string()))?
        } else {
            None
        };
        Ok(KafkaSecurity {
            protocol,
            mechanism: keys.sasl_mechanism.filter(|_| protocol.is_sasl()),
            username: instance.username.clone().filter(|_| protocol.is_sasl()),
            password,
            ca_file: instance.tls_ca_file.clone(),
            cert_file: instance.tls_cert_file.clone(),
            key_file: instance.tls_key_file.clone(),
        })
    }

    /// Sets this instance's security properties on a librdkafka client config.
    pub fn apply(&self, c: &mut ClientConfig) {
        c.set("security.protocol", self.protocol.as_str());
        if let Some(m) = self.mechanism {
            c.set("sasl.mechanisms", m.as_str());
        }
        if let Some(u) = &self.username {
            c.set("sasl.username", u);
        }
        if let Some(p) = &self.password {
            c.set("sasl.password", p);
        }
        if self.protocol.is_tls() {
            // librdkafka's defaults, stated: the chain is verified, and the broker's certificate
            // must name the host this client dialled (or was told by metadata).
            c.set("enable.ssl.certificate.verification", "true")
                .set("ssl.endpoint.identification.algorithm", "https");
            for (key, path) in [
                ("ssl.ca.location", &self.ca_file),
                ("ssl.certificate.location", &self.cert_file),
                ("ssl.key.location", &self.key_file),
            ] {
                if let Some(path) = path {
                    c.set(key, path.display().to_string());
                }
            }
        }
    }

    /// Replaces the SASL password wherever a message echoes it.
    pub fn scrub(&self, message: &str) -> String {
        match &self.password {
            Some(pw) if !pw.is_empty() => message.replace(pw.as_str(), "[REDACTED]"),
            _ => message.to_string(),
        }
    }

    /// A few words for the logs pane and error messages: `SASL_SSL (SCRAM-SHA-512 as app)`.
    pub fn describe(&self) -> String {
        match (self.mechanism, &self.username) {
            (Some(m), Some(u)) => format!("{} ({} as {u})", self.protocol.as_str(), m.as_str()),
            _ => self.protocol.as_str().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::InstanceKind;

    fn kafka(url: &str) -> InstanceConfig {
        InstanceConfig::new("events", InstanceKind::KAFKA, url)
    }

    fn props(s: &KafkaSecurity) -> std::collections::HashMap<String, String> {
        let mut c = ClientConfig::new();
        s.apply(&mut c);
        c.config_map().clone().into_iter().collect()
    }

    #[test]
    fn a_plain_url_is_plaintext_and_sets_nothing_else() {
        let s = KafkaSecurity::from_instance(&kafka("kafka://h:9092")).unwrap();
        let p = props(&s);
        assert_eq!(p["security.protocol"], "PLAINTEXT");
        assert_eq!(p.len(), 1, "{p:?}");
    }

    #[test]
    fn sasl_ssl_from_the_scheme_and_mechanism_with_the_password_by_reference() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "scram-Secret-1\n").unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "x").unwrap();
        let mut i = kafka("kafka+ssl://h:9093");
        i.kind_keys
            .set("sasl_mechanism", SaslMechanism::ScramSha512);
        i.username = Some("app".into());
        i.password_file = Some(pw);
        i.tls_ca_file = Some(ca.clone());
        let s = KafkaSecurity::from_instance(&i).unwrap();
        let p = props(&s);
        assert_eq!(p["security.protocol"], "SASL_SSL");
        assert_eq!(p["sasl.mechanisms"], "SCRAM-SHA-512");
        assert_eq!(p["sasl.username"], "app");
        assert_eq!(p["sasl.password"], "scram-Secret-1");
        assert_eq!(p["ssl.ca.location"], ca.display().to_string());
        assert_eq!(p["ssl.endpoint.identification.algorithm"], "https");
        let d = format!("{s:?}");
        assert!(!d.contains("scram-Secret-1") && d.contains("***"), "{d}");
        assert_eq!(s.scrub("bad scram-Secret-1 here"), "bad [REDACTED] here");
        assert_eq!(s.describe(), "SASL_SSL (SCRAM-SHA-512 as app)");
    }

    #[test]
    fn bad_combinations_name_the_key() {
        let mut i = kafka("kafka://h:9092");
        i.kind_keys
            .set("security_protocol", KafkaSecurityProtocol::SaslSsl);
        let e = KafkaSecurity::from_instance(&i).unwrap_err().to_string();
        assert!(
            e.contains("sasl_mechanism") && e.contains("SASL_SSL"),
            "{e}"
        );

        i.kind_keys.set("sasl_mechanism", SaslMechanism::Plain);
        let e = KafkaSecurity::from_instance(&i).unwrap_err().to_string();
        assert!(e.contains("username"), "{e}");

        i.username = Some("u".into());
        let e = KafkaSecurity::from_instance(&i).unwrap_err().to_string();
        assert!(e.contains("password_env"), "{e}");

        let mut i = kafka("kafka+ssl://h:9093");
        i.kind_keys
            .set("security_protocol", KafkaSecurityProtocol::Plaintext);
        let e = KafkaSecurity::from_instance(&i).unwrap_err().to_string();
        assert!(
            e.contains("security_protocol") && e.contains("kafka+ssl://"),
            "{e}"
        );

        let mut i = kafka("kafka://h:9092");
        i.tls_ca_file = Some("/nonexistent/ca.pem".into());
        let e = KafkaSecurity::from_instance(&i).unwrap_err().to_string();
        assert!(e.contains("tls_ca_file") && e.contains("PLAINTEXT"), "{e}");

        let mut i = kafka("kafka+ssl://h:9093");
        i.tls_ca_file = Some("/nonexistent/ca.pem".into());
        let e = KafkaSecurity::from_instance(&i).unwrap_err().to_string();
        assert!(
            e.contains("tls_ca_file") && e.contains("/nonexistent/ca.pem"),
            "{e}"
        );

        // Credentials without SASL (a Kubernetes credential rule without a kind) are unused.
        let mut i = kafka("kafka://h:9092");
        i.username = Some("u".into());
        i.password_value = Some(crate::config::SecretValue("k8s-pw".into()));
        let p = props(&KafkaSecurity::from_instance(&i).unwrap());
        assert_eq!(p.len(), 1, "{p:?}");

        let mut i = kafka("kafka+ssl://h:9093");
        i.kind_keys.set("sasl_mechanism", SaslMechanism::Plain);
        i.username = Some("u".into());
        i.password_env = Some("KUBESTACK_TEST_SURELY_UNSET_KAFKA_PW".into());
        let e = KafkaSecurity::from_instance(&i).unwrap_err().to_string();
        assert!(e.contains("KUBESTACK_TEST_SURELY_UNSET_KAFKA_PW"), "{e}");
    }
}
