//! `ssl_mode` of a MySQL/MariaDB instance (the `[mysql]` thresholds live in `plugins::mysql::settings`).

use serde::{Deserialize, Serialize};

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
