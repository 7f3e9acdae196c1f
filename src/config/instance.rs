//! Declared middleware instances (`[[instances]]`) and their credentials by reference.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::InstanceKind;

/// One `[[instances]]` entry. `Debug` is written by hand: a password in the URL prints as `***`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
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
    /// PEM CA certificate to verify a TLS server (`rediss://`, `elasticsearch+https://`, Kafka
    /// over SSL/SASL_SSL, MySQL with `ssl_mode` verify-ca/verify-identity); default: the
    /// system's (or the public web) roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca_file: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (with `tls_key_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM client key for mutual TLS (with `tls_cert_file`), unencrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key_file: Option<PathBuf>,
    /// Inventory group (e.g. a team or service); instances without one go under `static`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Free tags; `cache` tells memory rules that evictions are expected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The Kubernetes context the instance lives in (repairs are pinned to it and refused in
    /// `safety.read_only_contexts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// A password read at run time (from a Kubernetes Secret for a discovered instance); never
    /// in a file, never printed.
    #[serde(skip)]
    pub password_value: Option<super::SecretValue>,
    /// The keys only the instance's kind takes (Kafka's `groups`, MySQL's `ssl_mode` …), kept by
    /// name: the loader fills them from the entry, the kind's plugin reads them
    /// ([`KindKeys::read`](super::KindKeys::read)).
    #[serde(skip)]
    pub kind_keys: super::KindKeys,
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
            context: None,
            password_value: None,
            kind_keys: super::KindKeys::default(),
        }
    }

    /// The endpoint for display: the URL without credentials; a list of hosts (Kafka's
    /// brokers) as written, or a note when the text is no URL. Kind-agnostic on purpose: the
    /// kind's rules checked the URL when the configuration was loaded.
    pub fn endpoint(&self) -> String {
        let raw = self.url.trim();
        let after_scheme = raw.split_once("://").map_or("", |(_, rest)| rest);
        if after_scheme.contains(',') {
            return mask_url_password(raw);
        }
        match url::Url::parse(raw) {
            Ok(u) if u.host_str().is_some_and(|h| !h.is_empty()) => strip_credentials(&u),
            _ => "(invalid url)".into(),
        }
    }

    /// The user this program logs in as: `username` or the URL's user; `default` when neither
    /// is set (the kind's own default account, e.g. Redis `default` or MySQL `root`). Repairs
    /// must not lock it out.
    pub fn login_user_or(&self, default: &str) -> String {
        self.login_user().unwrap_or_else(|| default.to_string())
    }

    /// The user named by `username` or the URL, if any.
    pub fn login_user(&self) -> Option<String> {
        if let Some(u) = &self.username {
            return Some(u.clone());
        }
        url::Url::parse(&self.url)
            .ok()
            .map(|u| u.username().to_string())
            .filter(|u| !u.is_empty())
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

impl fmt::Debug for InstanceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstanceConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &mask_url_password(&self.url))
            .field("username", &self.username)
            .field("password_env", &self.password_env)
            .field("password_file", &self.password_file)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("tls_cert_file", &self.tls_cert_file)
            .field("tls_key_file", &self.tls_key_file)
            .field("group", &self.group)
            .field("tags", &self.tags)
            .field("context", &self.context)
            .field("password_value", &self.password_value)
            .field("kind_keys", &self.kind_keys.names().collect::<Vec<_>>())
            .finish()
    }
}

/// The userinfo password of a URL exactly as written, read from the text itself (so a URL too
/// broken to parse still gives it up): between the first `:` after `://` and the last `@`.
fn url_password_text(raw: &str) -> Option<(usize, usize)> {
    let start = raw.find("://").map_or(0, |i| i + 3);
    let rest = &raw[start..];
    let at = rest.rfind('@')?;
    let colon = rest[..at].find(':')?;
    Some((start + colon + 1, start + at))
}

/// `redis://user:pw@host` → `redis://user:***@host` (for `Debug`; unchanged without a password).
fn mask_url_password(raw: &str) -> String {
    match url_password_text(raw) {
        Some((from, to)) => format!("{}***{}", &raw[..from], &raw[to..]),
        None => raw.to_string(),
    }
}

/// A URL's user or password as the server must see it: `%XX` sequences decoded (RFC 3986 —
/// `+` stays a plus, `&` and `=` are plain characters); invalid UTF-8 is replaced, never an
/// error. Every plugin decodes URL credentials with this one function.
pub fn decode_userinfo(s: &str) -> String {
    percent_decoded(s)
}

fn percent_decoded(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every secret an instance carries, for the redactors: the URL's password (as written, as the
/// URL parser normalises it, and decoded both ways the connections decode it) and the values of
/// `password_value` (a Kubernetes Secret), `password_env` and `password_file` — all of them, not
/// only the one the connection ends up using. Sources that cannot be read are skipped here (the
/// connection reports them). The one function every redactor is filled from.
pub fn instance_secrets(instance: &InstanceConfig) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    if let Some((from, to)) = url_password_text(&instance.url) {
        let raw = &instance.url[from..to];
        found.push(raw.to_string());
        found.push(percent_decoded(raw));
        found.push(percent_decoded(&raw.replace('+', " ")));
    }
    if let Some(pw) = url::Url::parse(instance.url.trim())
        .ok()
        .and_then(|u| u.password().map(str::to_string))
    {
        found.push(percent_decoded(&pw));
        found.push(percent_decoded(&pw.replace('+', " ")));
        found.push(pw);
    }
    if let Some(v) = &instance.password_value {
        found.push(v.0.clone());
    }
    if let Some(var) = &instance.password_env
        && let Ok(v) = std::env::var(var)
    {
        found.push(v.clone());
        found.push(v.trim().to_string());
    }
    if let Some(path) = &instance.password_file
        && let Ok(text) = std::fs::read_to_string(path)
    {
        found.push(text.trim_end_matches(['\r', '\n']).to_string());
        found.push(text.trim().to_string());
    }
    let mut out: Vec<String> = Vec::new();
    for s in found {
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    }
    out
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
            ..InstanceConfig::new(
                "cache",
                InstanceKind::from_static("redis"),
                "redis://127.0.0.1:6379",
            )
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
    fn every_secret_of_an_instance_is_collected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "from-the-file\n").unwrap();
        let var = "KUBESTACK_TEST_INSTANCE_SECRETS_PW";
        // SAFETY: the variable name is unique to this test; nothing else reads or writes it.
        unsafe { std::env::set_var(var, "from-the-env") };
        let mut i = InstanceConfig::new(
            "c",
            InstanceKind::from_static("redis"),
            "redis://app:p%40ss+w@h:6379/0",
        );
        i.password_env = Some(var.into());
        i.password_file = Some(path);
        i.password_value = Some(super::super::SecretValue("from-the-secret".into()));
        let all = instance_secrets(&i);
        for want in [
            "p%40ss+w",
            "p@ss+w",
            "p@ss w",
            "from-the-env",
            "from-the-file",
            "from-the-secret",
        ] {
            assert!(all.iter().any(|s| s == want), "{want} missing from {all:?}");
        }
        let es = InstanceConfig::new(
            "e",
            InstanceKind::from_static("elasticsearch"),
            "elasticsearch+https://u:es;pw@h:9200",
        );
        assert!(instance_secrets(&es).contains(&"es;pw".to_string()));
        let plain = InstanceConfig::new(
            "p",
            InstanceKind::from_static("redis"),
            "redis://user@h:6379",
        );
        assert!(instance_secrets(&plain).is_empty());
    }

    #[test]
    fn debug_never_prints_a_password() {
        let mut i = InstanceConfig::new(
            "c",
            InstanceKind::from_static("mysql"),
            "mysql://app:Sup3r;S3cret@db:3306/x",
        );
        i.password_value = Some(super::super::SecretValue("k8s-value-1".into()));
        let d = format!("{i:?} {i:#?}");
        assert!(
            !d.contains("Sup3r") && !d.contains("S3cret") && !d.contains("k8s-value-1"),
            "{d}"
        );
        assert!(d.contains("mysql://app:***@db:3306/x"), "{d}");
        // A URL too broken to parse still has its password masked.
        let i = InstanceConfig::new(
            "c",
            InstanceKind::from_static("redis"),
            "redis://:pw with space@h:1",
        );
        assert!(!format!("{i:?}").contains("with space"));
    }

    #[test]
    fn no_reference_means_no_password_and_tags_are_case_insensitive() {
        let i = instance();
        assert_eq!(resolve_password(&i), Ok(None));
        assert!(i.is_cache());
        assert_eq!(i.group_name(), "static");
    }
}
