//! `[mysql]`: the thresholds of the MYS-… rules that the catalog marks `heur:` (site-specific),
//! and the limits of the collector's own queries.

use serde::{Deserialize, Serialize};

/// Thresholds and collection limits for MySQL/MariaDB instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MysqlRulesConfig {
    /// MYS-CONN-02: `Threads_connected / max_connections` at or above this is critical.
    pub connections_crit_ratio: f64,
    /// MYS-LOAD-01: `Threads_running` above this (pt-stalk's 25) …
    pub threads_running: u64,
    /// … in this many consecutive samples (pt-stalk's 5).
    pub threads_running_samples: usize,
    /// MYS-LAT-01: a statement running longer is a warning …
    pub long_query_warn_secs: u64,
    /// … and longer than this critical.
    pub long_query_crit_secs: u64,
    /// MYS-LAT-02: an idle session holding a transaction longer than this.
    pub idle_in_trx_secs: u64,
    /// MYS-LAT-03: a row-lock wait older than this.
    pub lock_wait_secs: u64,
    /// MYS-LAT-06: deadlocks per minute above this.
    pub deadlocks_per_min: f64,
    /// MYS-REP-02: replica lag above this is a warning.
    pub replica_lag_warn_secs: u64,
    /// Each collection query is stopped by the server after this long.
    pub statement_timeout_ms: u64,
    /// Rows read from the processlist at most (the rest are counted, not read).
    pub processlist_max_rows: usize,
}

impl Default for MysqlRulesConfig {
    fn default() -> Self {
        MysqlRulesConfig {
            connections_crit_ratio: 0.9,
            threads_running: 25,
            threads_running_samples: 5,
            long_query_warn_secs: 60,
            long_query_crit_secs: 600,
            idle_in_trx_secs: 60,
            lock_wait_secs: 10,
            deadlocks_per_min: 0.0,
            replica_lag_warn_secs: 60,
            statement_timeout_ms: 5000,
            processlist_max_rows: 2000,
        }
    }
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
