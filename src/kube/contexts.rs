//! Kubeconfig contexts: which exist, which is current, and whether each cluster answers.

use std::path::PathBuf;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

/// One context of the kubeconfig.
#[derive(Debug, Clone, PartialEq)]
pub struct KubeContext {
    pub name: String,
    pub cluster: String,
    pub namespace: Option<String>,
    /// The API server URL of its cluster.
    pub server: Option<String>,
}

/// What is known about a context's cluster.
#[derive(Debug, Clone, PartialEq)]
pub enum ContextState {
    /// Not probed yet.
    Connecting,
    /// The API server answered `/version`.
    Up { version: String },
    /// It did not: the error, without credentials.
    Down { error: String },
}

impl ContextState {
    /// A short label for the inventory.
    pub fn label(&self) -> String {
        match self {
            ContextState::Connecting => "connecting…".into(),
            ContextState::Up { version } => version.clone(),
            ContextState::Down { error } => format!("down: {error}"),
        }
    }
}

/// The contexts of the kubeconfig in effect.
#[derive(Debug, Clone, Default)]
pub struct KubeContexts {
    pub contexts: Vec<KubeContext>,
    /// `--context`, else the kubeconfig's `current-context`.
    pub current: Option<String>,
    /// The files read (`KUBECONFIG`, else `~/.kube/config`).
    pub sources: Vec<PathBuf>,
    /// The merged kubeconfig, for the probes.
    pub kubeconfig: Option<Kubeconfig>,
}

/// Reads the kubeconfig: the files of `KUBECONFIG` (merged, the first to set a value wins —
/// kubectl's rules) or `~/.kube/config`. No kubeconfig at all is not an error (static
/// instances only); a broken one is, naming the file. `context` (from `--context`) must exist.
pub fn load_contexts(context: Option<&str>) -> Result<KubeContexts, String> {
    let from_env: Vec<PathBuf> = std::env::var_os("KUBECONFIG")
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let sources: Vec<PathBuf> = if from_env.is_empty() {
        directories::BaseDirs::new()
            .map(|d| d.home_dir().join(".kube/config"))
            .filter(|p| p.exists())
            .into_iter()
            .collect()
    } else {
        from_env.into_iter().filter(|p| p.exists()).collect()
    };
    load_from(&sources, context)
}

/// [`load_contexts`] from these files (merged in order).
pub fn load_from(sources: &[PathBuf], context: Option<&str>) -> Result<KubeContexts, String> {
    let sources = sources.to_vec();
    if sources.is_empty() {
        return match context {
            Some(c) => Err(format!(
                "--context {c}: no kubeconfig found (KUBECONFIG or ~/.kube/config)"
            )),
            None => Ok(KubeContexts::default()),
        };
    }
    let mut merged = Kubeconfig::default();
    for p in &sources {
        let k = Kubeconfig::read_from(p).map_err(|e| format!("kubeconfig {}: {e}", p.display()))?;
        merged = merged
            .merge(k)
            .map_err(|e| format!("kubeconfig {}: {e}", p.display()))?;
    }
    let contexts: Vec<KubeContext> = merged
        .contexts
        .iter()
        .map(|c| {
            let ctx = c.context.clone().unwrap_or_default();
            let server = merged
                .clusters
                .iter()
                .find(|cl| cl.name == ctx.cluster)
                .and_then(|cl| cl.cluster.as_ref()?.server.clone());
            KubeContext {
                name: c.name.clone(),
                cluster: ctx.cluster,
                namespace: ctx.namespace,
                server,
            }
        })
        .collect();
    let current = match context {
        Some(c) if contexts.iter().any(|x| x.name == c) => Some(c.to_string()),
        Some(c) => {
            let names: Vec<&str> = contexts.iter().map(|x| x.name.as_str()).collect();
            return Err(format!(
                "--context {c}: no such context (the kubeconfig has: {})",
                names.join(", ")
            ));
        }
        None => merged
            .current_context
            .clone()
            .filter(|c| contexts.iter().any(|x| &x.name == c)),
    };
    Ok(KubeContexts {
        contexts,
        current,
        sources,
        kubeconfig: Some(merged),
    })
}

/// Asks a context's API server for `/version` within `timeout`. It runs on a thread of its
/// own: kube runs exec credential plugins (`aws eks get-token`, kubelogin …) synchronously,
/// and a slow one must not hold a worker of the UI's runtime.
pub async fn probe_context(
    kubeconfig: Kubeconfig,
    context: &str,
    timeout: Duration,
) -> ContextState {
    let name = context.to_string();
    let probe = tokio::task::spawn_blocking(move || {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                return ContextState::Down {
                    error: format!("cannot start the probe: {e}"),
                };
            }
        };
        rt.block_on(probe_inline(kubeconfig, &name, timeout))
    });
    match tokio::time::timeout(timeout + Duration::from_secs(2), probe).await {
        Ok(Ok(state)) => state,
        Ok(Err(e)) => ContextState::Down {
            error: format!("probe failed: {e}"),
        },
        Err(_) => ContextState::Down {
            error: format!(
                "no answer within {:.1} s (a credential plugin may be hanging)",
                timeout.as_secs_f64()
            ),
        },
    }
}

/// A kube client for a context of the merged kubeconfig. `read_timeout` `None` keeps kube's
/// default (long enough for watch streams).
pub async fn client_for(
    kubeconfig: Kubeconfig,
    context: &str,
    connect_timeout: Duration,
    read_timeout: Option<Duration>,
) -> Result<kube::Client, String> {
    let options = KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| scrub(&format!("kubeconfig: {e}")))?;
    config.connect_timeout = Some(connect_timeout);
    if read_timeout.is_some() {
        config.read_timeout = read_timeout;
    }
    kube::Client::try_from(config).map_err(|e| scrub(&format!("client: {e}")))
}

/// The client in `slot`, built for `context` on first use (writes and AI tools: 5 s to
/// connect, 15 s to read).
pub async fn lazy_client(
    slot: &mut Option<kube::Client>,
    kubeconfig: &Kubeconfig,
    context: &str,
) -> Result<kube::Client, String> {
    if let Some(c) = slot {
        return Ok(c.clone());
    }
    let c = client_for(
        kubeconfig.clone(),
        context,
        Duration::from_secs(5),
        Some(Duration::from_secs(15)),
    )
    .await?;
    *slot = Some(c.clone());
    Ok(c)
}

async fn probe_inline(kubeconfig: Kubeconfig, context: &str, timeout: Duration) -> ContextState {
    let attempt = async {
        let client = client_for(kubeconfig, context, timeout, Some(timeout)).await?;
        client
            .apiserver_version()
            .await
            .map(|v| v.git_version)
            .map_err(|e| describe(&e))
    };
    match tokio::time::timeout(timeout + Duration::from_secs(1), attempt).await {
        Err(_) => ContextState::Down {
            error: format!("no answer within {:.1} s", timeout.as_secs_f64()),
        },
        Ok(Err(error)) => ContextState::Down {
            error: scrub(&error),
        },
        Ok(Ok(version)) => ContextState::Up { version },
    }
}

/// An error as it may be shown: its first line, at most 200 characters, with anything that
/// looks like a credential (tokens, key=value secrets, DSN passwords) replaced — an exec
/// plugin's failure can carry its environment and output.
pub(crate) fn scrub(error: &str) -> String {
    let first = error.lines().next().unwrap_or("");
    let short: String = first.chars().take(200).collect();
    crate::ai::redact::Redactor::new(crate::ai::redact::RedactionPolicy::default()).redact(&short)
}

/// A kube error in a line: the API status for API errors, the cause chain otherwise.
pub(crate) fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => format!("HTTP {}: {}", status.code, status.message),
        other => {
            let mut text = other.to_string();
            let mut cur = std::error::Error::source(other);
            while let Some(s) = cur {
                text.push_str(&format!(": {s}"));
                cur = s.source();
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_cut_to_a_line_and_scrubbed() {
        let e = "exec plugin failed: token=abcd1234secret AWS_SECRET=x\nsecond line with Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlMTIz";
        let out = scrub(e);
        assert!(
            !out.contains("abcd1234secret") && !out.contains("second line"),
            "{out}"
        );
        assert!(scrub(&"x".repeat(500)).chars().count() <= 200);
    }
}
