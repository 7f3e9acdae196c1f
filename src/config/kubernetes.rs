//! `[kubernetes]`: which namespaces each context shows at start, and the credentials of
//! discovered instances — by reference to a Secret, read only when connecting.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::InstanceKind;

/// `[kubernetes]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KubernetesConfig {
    /// Namespaces shown at start, per context name (`dev = ["payments", "orders"]`); a context
    /// not listed shows all. `:ns` changes it for the session and remembers it per context.
    pub namespaces: BTreeMap<String, Vec<String>>,
    /// Credentials for discovered instances; the first matching entry is used.
    pub credentials: Vec<KubeCredential>,
    /// A discovered instance is connected (port-forward + collector) once the cursor has rested
    /// on it this long, or at once on Enter: scrolling past opens nothing.
    pub attach_delay_ms: u64,
    /// Discovered instances connected at once at most; connecting one more disconnects the
    /// least recently selected.
    pub max_attached: usize,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        KubernetesConfig {
            namespaces: BTreeMap::new(),
            credentials: Vec::new(),
            attach_delay_ms: 400,
            max_attached: 8,
        }
    }
}

/// `[[kubernetes.credentials]]`: which discovered instances (all fields are optional filters,
/// `*`/`?` globs for names) and how they log in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct KubeCredential {
    pub context: Option<String>,
    pub namespace: Option<String>,
    /// The workload's name.
    pub name: Option<String>,
    pub kind: Option<InstanceKind>,
    pub username: Option<String>,
    /// `{ name = "cache-auth", key = "password" }`: a key of a Secret in the instance's
    /// namespace (or `namespace`).
    pub password_secret: Option<SecretKeyRef>,
}

/// A key of a Secret, as `secretKeyRef` names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretKeyRef {
    pub name: String,
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

fn glob_matches(pattern: &Option<String>, value: &str) -> bool {
    pattern
        .as_ref()
        .is_none_or(|p| glob::Pattern::new(p).is_ok_and(|g| g.matches(value)))
}

impl KubernetesConfig {
    /// The first credential entry for an instance.
    pub fn credential_for(
        &self,
        context: &str,
        namespace: &str,
        name: &str,
        kind: InstanceKind,
    ) -> Option<&KubeCredential> {
        self.credentials.iter().find(|c| {
            glob_matches(&c.context, context)
                && glob_matches(&c.namespace, namespace)
                && glob_matches(&c.name, name)
                && c.kind.is_none_or(|k| k == kind)
        })
    }

    /// Problems with the globs, as `(key, problem)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, c) in self.credentials.iter().enumerate() {
            for (field, v) in [
                ("context", &c.context),
                ("namespace", &c.namespace),
                ("name", &c.name),
            ] {
                if let Some(p) = v
                    && let Err(e) = glob::Pattern::new(p)
                {
                    out.push((
                        format!("kubernetes.credentials[{i}].{field}"),
                        format!("`{p}` is not a glob: {e}"),
                    ));
                }
            }
        }
        out
    }
}

/// A password held in memory only: never printed by `Debug`, never serialised.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretValue(pub String);

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_credential_wins_and_secrets_do_not_print() {
        let k: KubernetesConfig = toml::from_str(
            r#"
            [[credentials]]
            namespace = "pay*"
            kind = "redis"
            password_secret = { name = "cache-auth", key = "password" }
            [[credentials]]
            username = "monitor"
            "#,
        )
        .unwrap();
        let c = k
            .credential_for(
                "dev",
                "payments",
                "cache",
                InstanceKind::from_static("redis"),
            )
            .unwrap();
        assert_eq!(c.password_secret.as_ref().unwrap().name, "cache-auth");
        let other = k
            .credential_for("dev", "orders", "db", InstanceKind::from_static("mysql"))
            .unwrap();
        assert_eq!(other.username.as_deref(), Some("monitor"));
        assert_eq!(
            format!("{:?}", SecretValue("hunter2".into())),
            "SecretValue(***)"
        );
    }
}
