//! `diagnose <TARGET>` and `health`.

use color_eyre::eyre::Result;

use super::OutputFormat;
use super::cluster_cmd::{K8S_SCHEME, KubeTarget, resolve_k8s};
use super::report::{render_health, render_report, worst_exit_code};
use crate::config::{AppConfig, InstanceConfig, LoadedConfig};
use crate::diagnose::{DiagnosisReport, diagnose_instance};
use crate::plugins::registry;

/// A target resolved for one command: the instance, and for one discovered in a cluster its
/// cluster side — the port-forward lives as long as this value.
pub struct Resolved {
    pub instance: InstanceConfig,
    pub kube: Option<KubeTarget>,
}

impl Resolved {
    /// The one-shot diagnosis, with a discovered instance's Kubernetes findings beside its
    /// plugin's.
    pub async fn diagnose(&self, config: &AppConfig) -> DiagnosisReport {
        let mut report = diagnose_instance(&self.instance, config).await;
        if let Some(k) = &self.kube {
            k.add_kube_findings(&mut report);
        }
        report
    }
}

/// Resolves a target: a configured instance name, a URL, or a discovered instance
/// (`k8s://CONTEXT/NAMESPACE/NAME`, listed, found and port-forwarded now).
pub async fn resolve(loaded: &LoadedConfig, target: &str) -> Result<Resolved, String> {
    if target.starts_with(K8S_SCHEME) {
        let kube = resolve_k8s(loaded, target).await?;
        return Ok(Resolved {
            instance: kube.instance.clone(),
            kube: Some(kube),
        });
    }
    resolve_target(loaded, target).map(|instance| Resolved {
        instance,
        kube: None,
    })
}

/// Resolves a target: a configured instance name, or a URL for an ad-hoc instance.
pub fn resolve_target(loaded: &LoadedConfig, target: &str) -> Result<InstanceConfig, String> {
    if let Some(inst) = loaded.config.instances.iter().find(|i| i.name == target) {
        return Ok(inst.clone());
    }
    if !target.contains("://") {
        let names: Vec<&str> = loaded
            .config
            .instances
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        return Err(format!(
            "`{target}` is neither a configured instance ({}) nor a URL such as redis://host:6379, mysql://user@host:3306 or k8s://CONTEXT/NAMESPACE/NAME",
            if names.is_empty() {
                "none configured".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    let scheme = target.split("://").next().unwrap_or_default();
    let Some(plugin) = registry::kind_of_scheme(scheme).map(registry::plugin_for) else {
        return Err(format!(
            "unsupported URL scheme `{scheme}` (supported: {}, and k8s://CONTEXT/NAMESPACE/NAME for a discovered instance)",
            registry::all_schemes().join(", ")
        ));
    };
    plugin.validate_url(target)?;
    // Named by its endpoint: the URL without credentials (a broker list as given: its first
    // broker alone is not the cluster).
    let instance = InstanceConfig::new(String::new(), plugin.kind(), target);
    Ok(InstanceConfig {
        name: instance.endpoint(),
        ..instance
    })
}

/// Prints the diagnosis of one target; the exit code follows its status.
pub async fn diagnose(loaded: &LoadedConfig, target: &str, output: OutputFormat) -> Result<i32> {
    let resolved = match resolve(loaded, target).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(3);
        }
    };
    let report = resolved.diagnose(&loaded.config).await;
    println!("{}", render_report(&report, output).trim_end());
    Ok(report.status.exit_code())
}

/// Rule categories `optimize` reports: performance and capacity.
pub const PERFORMANCE_CATEGORIES: &[&str] = &[
    "memory",
    "latency",
    "connections",
    "load",
    "innodb",
    "capacity",
    "persistence",
    "disk",
    "jvm",
    "threads",
    "nodes",
    "shards",
    "lag",
];

/// Rule categories `security` reports.
pub const SECURITY_CATEGORIES: &[&str] = &["security"];

/// `diagnose` limited to some rule categories (`optimize`, `security`): the same sampling,
/// output formats and exit codes, judged on the findings shown.
pub async fn diagnose_categories(
    loaded: &LoadedConfig,
    target: &str,
    output: OutputFormat,
    categories: &[&str],
) -> Result<i32> {
    let resolved = match resolve(loaded, target).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(3);
        }
    };
    let mut report = resolved.diagnose(&loaded.config).await;
    report
        .findings
        .retain(|f| categories.contains(&f.category.as_str()));
    if report.error.is_none() {
        report.status = crate::diagnose::DiagnosisStatus::from_findings(&report.findings);
    }
    // A server that turned the client away judged none of these categories: not "ok".
    if report.findings.is_empty()
        && let Some(refused) = report.refused.clone()
    {
        report.status = crate::diagnose::DiagnosisStatus::Unknown;
        report.error = Some(refused);
    }
    println!("{}", render_report(&report, output).trim_end());
    Ok(report.status.exit_code())
}

/// Diagnoses every configured instance concurrently; prints one line each.
pub async fn health(loaded: &LoadedConfig, output: OutputFormat) -> Result<i32> {
    if loaded.config.instances.is_empty() {
        eprintln!(
            "no instances configured in {} (run `kubestack-ai init`)",
            loaded.paths.config_file.display()
        );
        return Ok(3);
    }
    let reports = futures::future::join_all(
        loaded
            .config
            .instances
            .iter()
            .map(|i| diagnose_instance(i, &loaded.config)),
    )
    .await;
    print!("{}", render_health(&reports, output));
    Ok(worst_exit_code(&reports))
}
