//! Declared middleware instances (`[[instances]]`) and their credentials by reference.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Which plugin serves an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceKind {
    Redis,
    /// MySQL or MariaDB (the flavor is detected on connect).
    Mysql,
    /// Elasticsearch or OpenSearch (the distribution is detected).
    Elasticsearch,
    /// An Apache Kafka cluster (any Kafka-protocol broker).
    Kafka,
}

impl InstanceKind {
    /// Lower-case name, as in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceKind::Redis => "redis",
            InstanceKind::Mysql => "mysql",
            InstanceKind::Elasticsearch => "elasticsearch",
            InstanceKind::Kafka => "kafka",
        }
    }
}

impl fmt::Display for InstanceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `[[instances]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceConfig {
    /// Unique name, shown in the inventory and used as a `diagnose` target.
    pub name: String,
    pub kind: InstanceKind,
    /// Endpoint, e.g. `redis://10.0.0.5:6379/0` or `rediss://…`; a password here is allowed but not needed.
    pub url: String,
    /// User name: the Redis ACL user (when not `default`) or the MySQL account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Name of an environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Path of a file holding the password (trailing newline ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// PEM CA certificate to verify a `rediss://` server (default: the system's web roots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca_file: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (with `tls_key_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM client key for mutual TLS (with `tls_cert_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key_file: Option<PathBuf>,
    /// Inventory group (e.g. a team or service); instances without one go under `static`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Free tags; `cache` tells memory rules that evictions are expected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Kafka: consumer groups to watch besides those the brokers list (some brokers cannot
    /// list groups).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// The Kubernetes context the instance lives in (repairs are pinned to it and refused in
    /// `safety.read_only_contexts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// A password read at run time (from a Kubernetes Secret for a discovered instance); never
    /// in a file, never printed.
    #[serde(skip)]
    pub password_value: Option<super::SecretValue>,
}

impl InstanceConfig {
    /// An instance with only its identity set: no credentials, TLS files, group or tags.
    pub fn new(name: impl Into<String>, kind: InstanceKind, url: impl Into<String>) -> Self {
        InstanceConfig {
            name: name.into(),
            kind,
            url: url.into(),
            username: None,
            password_env: None,
            password_file: None,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            group: None,
            tags: Vec::new(),
            groups: Vec::new(),
            context: None,
            password_value: None,
        }
    }

    /// The endpoint for display: the URL without credentials, or a note when it is invalid.
    pub fn endpoint(&self) -> String {
        if self.kind == InstanceKind::Kafka {
            // A broker list has no credentials; it is shown as given.
            return match super::validate_url_for(self) {
                Ok(_) => self.url.trim().to_string(),
                Err(_) => "(invalid url)".into(),
            };
        }
        super::validate_url_for(self)
            .map(|u| strip_credentials(&u))
            .unwrap_or_else(|_| "(invalid url)".into())
    }

    /// The user this program logs in as: `username`, the URL's user, or the system's default
    /// (`default` for Redis, `root` for MySQL). Repairs must not lock it out.
    pub fn login_user(&self) -> String {
        if let Some(u) = &self.username {
            return u.clone();
        }
        url::Url::parse(&self.url)
            .ok()
            .map(|u| u.username().to_string())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| {
                match self.kind {
                    InstanceKind::Redis => "default",
                    InstanceKind::Mysql => "root",
                    InstanceKind::Elasticsearch | InstanceKind::Kafka => "",
                }
                .to_string()
            })
    }

    /// The inventory group name.
    pub fn group_name(&self) -> &str {
        self.group.as_deref().unwrap_or("static")
    }

    /// Whether the instance is tagged as a disposable cache.
    pub fn is_cache(&self) -> bool {
        self.tags.iter().any(|t| t.eq_ignore_ascii_case("cache"))
    }
}

/// `redis://user:pw@host:6379/0` → `redis://host:6379/0`.
pub fn strip_credentials(url: &url::Url) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.to_string()
}

/// Why a password reference could not be resolved.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CredentialError {
    #[error("instance `{instance}`: environment variable `{var}` (password_env) is not set")]
    EnvMissing { instance: String, var: String },
    #[error("instance `{instance}`: cannot read password_file `{path}`: {reason}")]
    FileUnreadable {
        instance: String,
        path: PathBuf,
        reason: String,
    },
}

/// Resolves the password of an instance from `password_env` or `password_file` (never from the
/// config text itself); `None` when neither is set.
pub fn resolve_password(instance: &InstanceConfig) -> Result<Option<String>, CredentialError> {
    if let Some(v) = &instance.password_value {
        return Ok(Some(v.0.clone()));
    }
    if let Some(var) = &instance.password_env {
        return match std::env::var(var) {
            Ok(v) => Ok(Some(v)),
            Err(_) => Err(CredentialError::EnvMissing {
                instance: instance.name.clone(),
                var: var.clone(),
            }),
        };
    }
    if let Some(path) = &instance.password_file {
        return match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(text.trim_end_matches(['\r', '\n']).to_string())),
            Err(e) => Err(CredentialError::FileUnreadable {
                instance: instance.name.clone(),
                path: path.clone(),
                reason: e.to_string(),
            }),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance() -> InstanceConfig {
        InstanceConfig {
            tags: vec!["Cache".into()],
            ..InstanceConfig::new("cache", InstanceKind::Redis, "redis://127.0.0.1:6379")
        }
    }

    #[test]
    fn password_file_is_read_without_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").unwrap();
        let mut i = instance();
        i.password_file = Some(path);
        assert_eq!(resolve_password(&i), Ok(Some("s3cret".into())));
    }

    #[test]
    fn missing_references_name_the_instance_and_the_source() {
        let mut i = instance();
        i.password_env = Some("KUBESTACK_TEST_SURELY_UNSET_VAR".into());
        let err = resolve_password(&i).unwrap_err().to_string();
        assert!(err.contains("`cache`") && err.contains("KUBESTACK_TEST_SURELY_UNSET_VAR"));

        let mut i = instance();
        i.password_file = Some("/nonexistent/pw".into());
        let err = resolve_password(&i).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/pw"), "{err}");
    }

    #[test]
    fn no_reference_means_no_password_and_tags_are_case_insensitive() {
        let i = instance();
        assert_eq!(resolve_password(&i), Ok(None));
        assert!(i.is_cache());
        assert_eq!(i.group_name(), "static");
    }
}
