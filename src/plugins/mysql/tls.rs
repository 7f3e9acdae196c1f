//! TLS to MySQL/MariaDB with the MySQL client's `--ssl-mode` meanings, for every connection
//! of an instance (the collector's reader, the AI tools' reader, the executor's writer — all
//! open through `MysqlTarget::open`).
//!
//! | `ssl_mode`        | encrypted        | chain checked | host name checked |
//! |-------------------|------------------|---------------|-------------------|
//! | `disabled`        | no               | –             | –                 |
//! | `preferred`       | if offered       | no            | no                |
//! | `required`        | yes, or no link  | no            | no                |
//! | `verify-ca`       | yes              | yes           | no                |
//! | `verify-identity` | yes              | yes           | yes               |
//!
//! With a `tls_ca_file` only that CA is trusted (not the system's roots as well); without one
//! the system's roots are. The handshake is OpenSSL's (native-tls; Cargo.toml says why).

use std::path::Path;

use mysql_async::{ClientIdentity, SslOpts};

use super::keys::MysqlSslMode;
use super::kind::{mysql_ssl_mode, mysql_tls_problems};
use crate::config::InstanceConfig;
use crate::plugins::PluginError;

/// The TLS settings of one MySQL instance, read once (files included).
#[derive(Clone)]
pub struct MysqlTls {
    pub mode: MysqlSslMode,
    opts: Option<SslOpts>,
}

impl std::fmt::Debug for MysqlTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // SslOpts holds the client key (as PKCS#12): never printed.
        f.debug_struct("MysqlTls")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

fn read(instance: &InstanceConfig, key: &str, path: &Path) -> Result<Vec<u8>, PluginError> {
    std::fs::read(path).map_err(|e| {
        PluginError::Config(format!(
            "instance `{}`: {key}: cannot read `{}`: {e}",
            instance.name,
            path.display()
        ))
    })
}

/// The client certificate and key (PEM) as the PKCS#12 archive native-tls takes, in memory,
/// with an empty password.
fn client_identity(
    instance: &InstanceConfig,
    cert: &Path,
    key: &Path,
) -> Result<ClientIdentity, PluginError> {
    let bad = |what: &str, e: openssl::error::ErrorStack| {
        PluginError::Config(format!("instance `{}`: {what}: {e}", instance.name))
    };
    let cert_pem = read(instance, "tls_cert_file", cert)?;
    let key_pem = read(instance, "tls_key_file", key)?;
    let mut chain = openssl::x509::X509::stack_from_pem(&cert_pem)
        .map_err(|e| bad("tls_cert_file is not a PEM certificate", e))?
        .into_iter();
    let leaf = chain.next().ok_or_else(|| {
        PluginError::Config(format!(
            "instance `{}`: tls_cert_file `{}` holds no certificate",
            instance.name,
            cert.display()
        ))
    })?;
    let pkey = openssl::pkey::PKey::private_key_from_pem(&key_pem)
        .map_err(|e| bad("tls_key_file is not an unencrypted PEM private key", e))?;
    let mut rest = openssl::stack::Stack::new().map_err(|e| bad("tls_cert_file", e))?;
    for c in chain {
        rest.push(c).map_err(|e| bad("tls_cert_file", e))?;
    }
    let mut builder = openssl::pkcs12::Pkcs12::builder();
    builder.name("kubestack-ai").pkey(&pkey).cert(&leaf);
    if !rest.is_empty() {
        builder.ca(rest);
    }
    let archive = builder.build2("").and_then(|p| p.to_der()).map_err(|e| {
        bad(
            "tls_cert_file and tls_key_file do not make a client identity",
            e,
        )
    })?;
    Ok(ClientIdentity::new(archive.into()).with_password(""))
}

impl MysqlTls {
    /// The settings of a configured instance: the same checks as config validation, and the
    /// files read now, each named by its key when it cannot be.
    pub fn from_instance(instance: &InstanceConfig) -> Result<Self, PluginError> {
        if let Some((key, problem)) = mysql_tls_problems(instance).into_iter().next() {
            return Err(PluginError::Config(format!(
                "instance `{}`: {key}: {problem}",
                instance.name
            )));
        }
        let mode = mysql_ssl_mode(instance);
        if mode == MysqlSslMode::Disabled {
            return Ok(MysqlTls { mode, opts: None });
        }
        let mut opts = SslOpts::default();
        match (&instance.tls_cert_file, &instance.tls_key_file) {
            (Some(cert), Some(key)) => {
                opts = opts.with_client_identity(Some(client_identity(instance, cert, key)?));
            }
            (None, None) => {}
            _ => {
                return Err(PluginError::Config(format!(
                    "instance `{}`: tls_cert_file: mutual TLS needs both tls_cert_file and tls_key_file",
                    instance.name
                )));
            }
        }
        opts = match mode {
            MysqlSslMode::Disabled => unreachable!("returned above"),
            MysqlSslMode::Preferred | MysqlSslMode::Required => opts
                .with_danger_accept_invalid_certs(true)
                .with_danger_skip_domain_validation(true),
            MysqlSslMode::VerifyCa | MysqlSslMode::VerifyIdentity => {
                if let Some(ca) = &instance.tls_ca_file {
                    let pem = read(instance, "tls_ca_file", ca)?;
                    openssl::x509::X509::stack_from_pem(&pem)
                        .ok()
                        .filter(|certs| !certs.is_empty())
                        .ok_or_else(|| {
                            PluginError::Config(format!(
                                "instance `{}`: tls_ca_file `{}` holds no PEM certificate",
                                instance.name,
                                ca.display()
                            ))
                        })?;
                    opts = opts
                        .with_root_certs(vec![pem.into()])
                        .with_disable_built_in_roots(true);
                }
                opts.with_danger_skip_domain_validation(mode == MysqlSslMode::VerifyCa)
            }
        };
        Ok(MysqlTls {
            mode,
            opts: Some(opts),
        })
    }

    /// No TLS (`disabled`).
    pub fn disabled() -> Self {
        MysqlTls {
            mode: MysqlSslMode::Disabled,
            opts: None,
        }
    }

    /// TLS without any check (`required`), for telling a refused plain login apart.
    pub fn unverified() -> Self {
        MysqlTls {
            mode: MysqlSslMode::Required,
            opts: Some(
                SslOpts::default()
                    .with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true),
            ),
        }
    }

    /// The driver's TLS options; `None` for a plain connection.
    pub fn ssl_opts(&self) -> Option<SslOpts> {
        self.opts.clone()
    }

    /// Whether a refusal to encrypt may fall back to a plain connection (`preferred`).
    pub fn falls_back_to_plain(&self) -> bool {
        self.mode == MysqlSslMode::Preferred
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::InstanceKind;

    fn mysql() -> InstanceConfig {
        InstanceConfig::new("db", InstanceKind::MYSQL, "mysql://app@db:3306")
    }

    #[test]
    fn each_mode_sets_what_the_mysql_client_checks() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        // Any certificate will do for the option test: make one with openssl's Rust API.
        let key =
            openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let mut b = openssl::x509::X509::builder().unwrap();
        let mut name = openssl::x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "test-ca").unwrap();
        let name = name.build();
        b.set_version(2).unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(1).unwrap())
            .unwrap();
        b.set_pubkey(&key).unwrap();
        b.sign(&key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        let cert = b.build();
        std::fs::write(&ca, cert.to_pem().unwrap()).unwrap();
        let key_file = dir.path().join("client.key");
        std::fs::write(&key_file, key.private_key_to_pem_pkcs8().unwrap()).unwrap();

        let t = MysqlTls::from_instance(&mysql()).unwrap();
        assert!(t.ssl_opts().is_none());

        let mut i = mysql();
        i.kind_keys.set("ssl_mode", MysqlSslMode::Required);
        let o = MysqlTls::from_instance(&i).unwrap().ssl_opts().unwrap();
        assert!(o.accept_invalid_certs() && o.skip_domain_validation());

        let mut i = mysql();
        i.tls_ca_file = Some(ca.clone());
        let t = MysqlTls::from_instance(&i).unwrap();
        assert_eq!(t.mode, MysqlSslMode::VerifyCa, "a CA alone means verify-ca");
        let o = t.ssl_opts().unwrap();
        assert!(!o.accept_invalid_certs() && o.skip_domain_validation());
        assert!(o.disable_built_in_roots() && o.root_certs().len() == 1);

        i.kind_keys.set("ssl_mode", MysqlSslMode::VerifyIdentity);
        i.tls_cert_file = Some(ca.clone());
        i.tls_key_file = Some(key_file.clone());
        let t = MysqlTls::from_instance(&i).unwrap();
        let o = t.ssl_opts().unwrap();
        assert!(!o.accept_invalid_certs() && !o.skip_domain_validation());
        assert!(o.client_identity().is_some());
        assert!(!format!("{t:?}").contains("BEGIN"), "{t:?}");

        // A key file that is not a key is named.
        i.tls_key_file = Some(ca.clone());
        let e = MysqlTls::from_instance(&i).unwrap_err().to_string();
        assert!(e.contains("tls_key_file"), "{e}");
        // A CA file that is not PEM is named.
        let mut i = mysql();
        i.tls_ca_file = Some(key_file);
        i.kind_keys.set("ssl_mode", MysqlSslMode::VerifyCa);
        let e = MysqlTls::from_instance(&i).unwrap_err().to_string();
        assert!(
            e.contains("tls_ca_file") && e.contains("no PEM certificate"),
            "{e}"
        );
        let mut i = mysql();
        i.tls_ca_file = Some("/nonexistent/my-ca.pem".into());
        let e = MysqlTls::from_instance(&i).unwrap_err().to_string();
        assert!(
            e.contains("tls_ca_file") && e.contains("/nonexistent/my-ca.pem"),
            "{e}"
        );
    }
}
