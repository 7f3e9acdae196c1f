//! The key of a MySQL/MariaDB `[[instances]]` entry that only MySQL takes: `ssl_mode` (the
//! `[mysql]` thresholds live in `settings.rs`).

use serde::{Deserialize, Serialize};

use crate::config::InstanceKeys;

/// A MySQL instance's own keys, read from `InstanceConfig::kind_keys`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MysqlKeys {
    /// `disabled`, `preferred`, `required`, `verify-ca` or `verify-identity` (default:
    /// `verify-ca` with a `tls_ca_file`, else `disabled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_mode: Option<MysqlSslMode>,
}

impl InstanceKeys for MysqlKeys {
    const NAMES: &'static [&'static str] = &["ssl_mode"];
}

/// `ssl_mode` of a MySQL/MariaDB instance, with the MySQL client's `--ssl-mode` meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MysqlSslMode {
    /// No TLS.
    #[serde(rename = "disabled", alias = "DISABLED")]
    Disabled,
    /// TLS when the server offers it, plain otherwise; the certificate is not checked.
    #[serde(rename = "preferred", alias = "PREFERRED")]
    Preferred,
    /// TLS or no connection; the certificate is not checked.
    #[serde(rename = "required", alias = "REQUIRED")]
    Required,
    /// TLS, and the server's chain must lead to `tls_ca_file` (or a public root); the host
    /// name is not compared.
    #[serde(rename = "verify-ca", alias = "VERIFY_CA", alias = "verify_ca")]
    VerifyCa,
    /// As `verify-ca`, and the certificate must name the host of the url.
    #[serde(
        rename = "verify-identity",
        alias = "VERIFY_IDENTITY",
        alias = "verify_identity"
    )]
    VerifyIdentity,
}

impl MysqlSslMode {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MysqlSslMode::Disabled => "disabled",
            MysqlSslMode::Preferred => "preferred",
            MysqlSslMode::Required => "required",
            MysqlSslMode::VerifyCa => "verify-ca",
            MysqlSslMode::VerifyIdentity => "verify-identity",
        }
    }
}
