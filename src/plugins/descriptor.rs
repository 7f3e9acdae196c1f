//! What a plugin declares about its kind as data: names, schemes, ports, the default account,
//! its settings section and how it is found in a cluster.

use crate::config::InstanceKind;
use crate::kube::DiscoveryHints;

/// The facts particular to one kind, in one place (its plugin's `kind.rs`).
#[derive(Debug)]
pub struct KindDescriptor {
    /// The `kind` of its `[[instances]]`.
    pub kind: InstanceKind,
    /// Its URL schemes, the plain one first (`redis`, then `rediss`).
    pub schemes: &'static [&'static str],
    /// The account a server of this kind is used with when none is named (`default`, `root`;
    /// empty when the kind has none).
    pub default_user: &'static str,
    /// The top-level section of the config file holding its settings (`[redis]`), read
    /// through the plugin's `settings.rs`.
    pub settings_section: &'static str,
    /// How its workloads are recognised in a cluster.
    pub discovery: DiscoveryHints,
}

impl KindDescriptor {
    /// The URL of a discovered instance at `host:port` inside its cluster.
    pub fn in_cluster_url(&self, host: &str, port: u16) -> String {
        let scheme = self.schemes.first().copied().unwrap_or_default();
        format!("{scheme}://{host}:{port}")
    }
}

/// The URL check of the kinds that take one URL: one of the kind's schemes and a host; `usage`
/// says how a good URL looks. The message never echoes a password.
pub fn check_url(kind: &KindDescriptor, raw: &str, usage: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(raw).map_err(|e| format!("not a valid URL: {e}"))?;
    if !kind.schemes.contains(&url.scheme()) {
        return Err(format!(
            "scheme `{}` is not supported for kind {} (use {usage})",
            url.scheme(),
            kind.kind
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    Ok(url)
}
