//! The command line for clusters: a discovered instance as a target
//! (`k8s://CONTEXT/NAMESPACE/NAME`, port-forwarded by the command itself, with its Kubernetes
//! findings beside the plugin's), and `health --context C [--namespace N …]` — every
//! discovered instance of a cluster and the cluster's own findings (pods that belong to no
//! instance, their events) in the same JSON shape and with the same exit codes as `health`.

use std::collections::BTreeSet;

use color_eyre::eyre::Result;
use futures::StreamExt;

use super::OutputFormat;
use super::report::{render_health, worst_exit_code};
use crate::config::{InstanceConfig, LoadedConfig, SafetyMode};
use crate::diagnose::{DiagnosisReport, DiagnosisStatus, TargetInfo, diagnose_instance};
use crate::kube::discovery::{discover, discover_in};
use crate::kube::portforward::PortForward;
use crate::kube::store::ClusterStore;
use crate::kube::{Discovered, NamespaceScope};
use crate::plugins::registry;
use crate::services::cluster::connect::{connect_discovered, discovered_config, list_cluster};

/// The scheme of a discovered instance as a command-line target.
pub const K8S_SCHEME: &str = "k8s://";

/// Instances diagnosed at once by `health --context` (each holds a port-forward).
const CONCURRENT: usize = 4;

/// A discovered instance reached for one command: its config (the forward's URL, the login
/// from its Secret), what discovery found, and the store its Kubernetes findings come from.
/// The port-forward closes when this is dropped.
pub struct KubeTarget {
    pub instance: InstanceConfig,
    pub found: Discovered,
    pub store: ClusterStore,
    _forward: PortForward,
}

impl KubeTarget {
    /// Adds the instance's Kubernetes findings (pods, restarts, Warning events) to a report of
    /// it, worst first, and judges its status on all of them (an unreachable instance stays
    /// `unknown`).
    pub fn add_kube_findings(&self, report: &mut DiagnosisReport) {
        add_findings(
            report,
            crate::kube::rules::instance_findings(&self.found, &self.store),
        );
    }
}

fn add_findings(report: &mut DiagnosisReport, findings: Vec<crate::diagnose::Finding>) {
    report.findings.extend(findings);
    crate::diagnose::sort_findings(&mut report.findings);
    if report.error.is_none() {
        report.status = DiagnosisStatus::from_findings(&report.findings);
    }
}

/// `k8s://CONTEXT/NAMESPACE/NAME` → (context, namespace, name). The context may hold `/` (an
/// EKS context is an ARN), so the last two segments are the namespace and the name.
pub fn parse_k8s_target(target: &str) -> Result<(String, String, String), String> {
    const FORM: &str = "a discovered instance is k8s://CONTEXT/NAMESPACE/NAME (e.g. k8s://prod/payments/redis-cache)";
    let rest = target
        .strip_prefix(K8S_SCHEME)
        .ok_or_else(|| FORM.to_string())?;
    let mut parts = rest.rsplitn(3, '/');
    let (name, namespace, context) = (parts.next(), parts.next(), parts.next());
    match (context, namespace, name) {
        (Some(c), Some(ns), Some(n)) if !c.is_empty() && !ns.is_empty() && !n.is_empty() => {
            Ok((c.to_string(), ns.to_string(), n.to_string()))
        }
        _ => Err(format!("`{target}`: {FORM}")),
    }
}

/// Whether requests that change nothing but are POSTs (access reviews) may go to `context`:
/// not in read-only mode or a read-only context, as in the cockpit.
fn access_reviews(loaded: &LoadedConfig, context: &str) -> bool {
    crate::repair::SafetyPolicy::new(&loaded.config.safety)
        .map(|p| p.mode_for(Some(context)) == SafetyMode::Confirm)
        .unwrap_or(false)
}

/// Lists the target's namespace in its context, finds the instance the way the cockpit's
/// discovery does, and connects it through a port-forward.
pub async fn resolve_k8s(loaded: &LoadedConfig, target: &str) -> Result<KubeTarget, String> {
    let (context, namespace, name) = parse_k8s_target(target)?;
    let contexts = crate::kube::load_contexts(Some(&context))?;
    let kubeconfig = contexts
        .kubeconfig
        .ok_or_else(|| "no kubeconfig (KUBECONFIG or ~/.kube/config)".to_string())?;
    let timeout = crate::services::cluster::kube_timeout(&loaded.config.collector);
    let scope = NamespaceScope::Only(BTreeSet::from([namespace.clone()]));
    let (client, store) = list_cluster(kubeconfig, &context, &scope, timeout).await?;
    let hints = registry::discovery_hints();
    let found_all = discover_in(&store, &namespace, &hints);
    let Some(found) = found_all.iter().find(|d| d.name == name).cloned() else {
        let names: Vec<&str> = found_all.iter().map(|d| d.name.as_str()).collect();
        return Err(format!(
            "no instance `{name}` discovered in namespace `{namespace}` of context `{context}` (discovered there: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
    };
    let mut instance = discovered_config(&context, &found);
    let forward = connect_discovered(
        &client,
        &context,
        &found,
        &mut instance,
        &loaded.config,
        access_reviews(loaded, &context),
    )
    .await
    .map_err(|e| format!("{}: {e}", instance.name))?;
    Ok(KubeTarget {
        instance,
        found,
        store,
        _forward: forward,
    })
}

/// `health --context C [--namespace N …]`: every instance discovered in the namespaces (all
/// when none is given), each diagnosed through its own port-forward with its Kubernetes
/// findings, then one row per namespace for the pods that belong to no instance when the
/// rules find something there; one line each, exit code of the worst.
pub async fn cluster_health(
    loaded: &LoadedConfig,
    context: &str,
    namespaces: &[String],
    output: OutputFormat,
) -> Result<i32> {
    let contexts = match crate::kube::load_contexts(Some(context)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(3);
        }
    };
    let Some(kubeconfig) = contexts.kubeconfig else {
        eprintln!("error: no kubeconfig (KUBECONFIG or ~/.kube/config)");
        return Ok(3);
    };
    let scope = if namespaces.is_empty() {
        NamespaceScope::All
    } else {
        NamespaceScope::Only(namespaces.iter().cloned().collect())
    };
    let timeout = crate::services::cluster::kube_timeout(&loaded.config.collector);
    let (client, store) = match list_cluster(kubeconfig, context, &scope, timeout).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(3);
        }
    };
    let hints = registry::discovery_hints();
    let mut found: Vec<Discovered> = discover(&store, &hints)
        .into_iter()
        .filter(|d| scope.contains(&d.namespace))
        .collect();
    found.sort_by(|a, b| {
        a.namespace
            .cmp(&b.namespace)
            .then_with(|| alphanumeric_sort::compare_str(&a.name, &b.name))
    });
    let reviews = access_reviews(loaded, context);
    let mut reports: Vec<DiagnosisReport> = futures::stream::iter(found.iter().map(|d| {
        let client = client.clone();
        let store = &store;
        async move {
            let mut instance = discovered_config(context, d);
            let mut report = match connect_discovered(
                &client,
                context,
                d,
                &mut instance,
                &loaded.config,
                reviews,
            )
            .await
            {
                Ok(forward) => {
                    let report = diagnose_instance(&instance, &loaded.config).await;
                    drop(forward);
                    report
                }
                Err(e) => unreachable_report(&instance, e),
            };
            add_findings(&mut report, crate::kube::rules::instance_findings(d, store));
            report
        }
    }))
    .buffered(CONCURRENT)
    .collect()
    .await;
    // The cluster's own: pods of no instance, per namespace.
    let in_instances: BTreeSet<(&str, &str)> = found
        .iter()
        .flat_map(|d| d.pods.iter().map(|p| (d.namespace.as_str(), p.as_str())))
        .collect();
    for ns in store.namespaces().into_iter().filter(|n| scope.contains(n)) {
        let loose: Vec<String> = store
            .pods
            .values()
            .filter(|p| {
                p.namespace == ns && !in_instances.contains(&(ns.as_str(), p.name.as_str()))
            })
            .map(|p| p.name.clone())
            .collect();
        let findings = crate::kube::rules::pod_findings(&ns, &loose, &store);
        if findings.is_empty() {
            continue;
        }
        let mut report = DiagnosisReport {
            target: TargetInfo {
                name: format!("{ns} (other pods)"),
                kind: "kubernetes".into(),
                endpoint: format!("{K8S_SCHEME}{context}/{ns}"),
                version: None,
            },
            collected_at: chrono::Utc::now(),
            status: DiagnosisStatus::Ok,
            findings: Vec::new(),
            error: None,
            refused: None,
        };
        add_findings(&mut report, findings);
        reports.push(report);
    }
    if reports.is_empty() {
        eprintln!(
            "no instance discovered and no finding in {} of context `{context}`",
            if namespaces.is_empty() {
                "any namespace".to_string()
            } else {
                format!("namespace(s) {}", namespaces.join(", "))
            }
        );
        return Ok(0);
    }
    print!("{}", render_health(&reports, output));
    Ok(worst_exit_code(&reports))
}

/// The report of an instance that could not be reached (no ready pod, a refused Secret …).
fn unreachable_report(instance: &InstanceConfig, error: String) -> DiagnosisReport {
    DiagnosisReport {
        target: TargetInfo {
            name: instance.name.clone(),
            kind: instance.kind.to_string(),
            endpoint: instance.endpoint(),
            version: None,
        },
        collected_at: chrono::Utc::now(),
        status: DiagnosisStatus::Unknown,
        findings: Vec::new(),
        error: Some(error),
        refused: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_context_namespace_and_instance() {
        assert_eq!(
            parse_k8s_target("k8s://prod/payments/redis-cache").unwrap(),
            ("prod".into(), "payments".into(), "redis-cache".into())
        );
        // An EKS context is an ARN with slashes.
        assert_eq!(
            parse_k8s_target("k8s://arn:aws:eks:eu-west-1:1:cluster/prod/支付/缓存").unwrap(),
            (
                "arn:aws:eks:eu-west-1:1:cluster/prod".into(),
                "支付".into(),
                "缓存".into()
            )
        );
        for bad in [
            "k8s://",
            "k8s://prod",
            "k8s://prod/payments",
            "k8s:///payments/x",
            "k8s://prod//x",
            "k8s://prod/payments/",
            "redis://h:1",
        ] {
            let e = parse_k8s_target(bad).unwrap_err();
            assert!(e.contains("k8s://CONTEXT/NAMESPACE/NAME"), "{bad}: {e}");
        }
    }
}
