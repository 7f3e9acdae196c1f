//! Findings from Kubernetes for a discovered instance: rules on its pods (restart loops,
//! OOM kills, not ready, pending) and its recent Warning events (FailedScheduling, probe
//! failures, back-offs …), shown in the findings pane beside the plugin's own.

use serde_json::json;

use super::discovery::Discovered;
use super::store::ClusterStore;
use crate::model::{Finding, FindingSource, Severity};

/// Restarts at or above this are a WARN even when the pod runs now.
pub const RESTARTS_WARN: u32 = 5;

/// The Kubernetes findings of one instance.
pub fn instance_findings(found: &Discovered, store: &ClusterStore) -> Vec<Finding> {
    findings_of(
        &found.namespace,
        (found.workload_kind, &found.name),
        &found.pods,
        store,
    )
}

/// The findings of pods of `namespace` that belong to no discovered instance (a crash-looping
/// web pod, a pending job): the cluster's own, for `health --context`.
pub fn pod_findings(namespace: &str, pods: &[String], store: &ClusterStore) -> Vec<Finding> {
    findings_of(namespace, ("", ""), pods, store)
}

/// The rules on `pods` of `namespace` and the Warning events about them or about `workload`
/// (kind, name; empty for none).
fn findings_of(
    namespace: &str,
    workload: (&str, &str),
    pod_names: &[String],
    store: &ClusterStore,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let pods: Vec<_> = pod_names
        .iter()
        .filter_map(|p| store.pods.get(&(namespace.to_string(), p.clone())))
        .collect();
    let names = |pred: &dyn Fn(&&super::store::PodRow) -> bool| -> Vec<String> {
        pods.iter()
            .filter(|p| pred(p))
            .map(|p| p.name.clone())
            .collect()
    };
    let crash = names(&|p| p.status == "CrashLoopBackOff");
    if !crash.is_empty() {
        out.push(
            Finding::new(
                "K8S-POD-01",
                Severity::Critical,
                "availability",
                format!("{} pod(s) in CrashLoopBackOff: {}", crash.len(), crash.join(", ")),
                "The container keeps exiting and the kubelet waits longer before each restart; the instance has fewer members than it should.",
                "Read the previous container's log (`:logs previous`) and the pod's events; fix the cause before restarting.",
            )
            .with("pods", json!(crash)),
        );
    }
    let oom = names(&|p| p.last_terminated.as_deref() == Some("OOMKilled"));
    if !oom.is_empty() {
        out.push(
            Finding::new(
                "K8S-POD-02",
                Severity::Critical,
                "memory",
                format!("{} pod(s) OOM-killed: {}", oom.len(), oom.join(", ")),
                "The container was killed for exceeding its memory limit; a database or cache restarted this way loses its in-memory state.",
                "Compare the memory limit with the server's own limit (Redis maxmemory, InnoDB buffer pool, JVM heap) and raise the limit or lower the server's.",
            )
            .with("pods", json!(oom)),
        );
    }
    let unready = names(&|p| p.phase == "Running" && p.status == "Running" && !p.is_ready());
    if !unready.is_empty() {
        out.push(
            Finding::new(
                "K8S-POD-03",
                Severity::Warning,
                "availability",
                format!(
                    "{} pod(s) running but not ready: {}",
                    unready.len(),
                    unready.join(", ")
                ),
                "Their readiness probe fails: Services send them no traffic.",
                "Check the readiness probe's events (Unhealthy) and the server's log.",
            )
            .with("pods", json!(unready)),
        );
    }
    let pending: Vec<_> = pods.iter().filter(|p| p.phase == "Pending").collect();
    if !pending.is_empty() {
        let unsched = pending.iter().find_map(|p| p.unschedulable.clone());
        out.push(
            Finding::new(
                "K8S-POD-04",
                if unsched.is_some() { Severity::Critical } else { Severity::Warning },
                "capacity",
                format!(
                    "{} pod(s) pending{}",
                    pending.len(),
                    if unsched.is_some() { " (unschedulable)" } else { "" }
                ),
                unsched.clone().unwrap_or_else(|| "The pods are not running yet (image pull, volume, scheduling).".into()),
                "Read the FailedScheduling events; free or add capacity, or relax the pod's requests, affinity or tolerations.",
            )
            .with("pods", json!(pending.iter().map(|p| p.name.clone()).collect::<Vec<_>>()))
            .with("scheduler", json!(unsched)),
        );
    }
    let restarting = names(&|p| p.restarts >= RESTARTS_WARN && p.status != "CrashLoopBackOff");
    if !restarting.is_empty() {
        out.push(
            Finding::new(
                "K8S-POD-05",
                Severity::Warning,
                "availability",
                format!(
                    "{} pod(s) restarted {RESTARTS_WARN}+ times: {}",
                    restarting.len(),
                    restarting.join(", ")
                ),
                "Repeated restarts point to crashes, OOM kills or failing liveness probes.",
                "Look at the last termination reason and the previous container's log.",
            )
            .with("pods", json!(restarting))
            .with("threshold", json!(RESTARTS_WARN)),
        );
    }
    // Warning events about the workload or its pods, one finding per reason.
    let mut by_reason: std::collections::BTreeMap<&str, Vec<&super::store::EventRow>> =
        Default::default();
    for e in store.events.iter().filter(|e| {
        e.type_ == "Warning"
            && e.namespace == namespace
            && ((!workload.0.is_empty()
                && e.involved.0 == workload.0
                && e.involved.1 == workload.1)
                || (e.involved.0 == "Pod" && pod_names.contains(&e.involved.1)))
    }) {
        by_reason.entry(e.reason.as_str()).or_default().push(e);
    }
    for (reason, events) in by_reason {
        let last = events.iter().max_by_key(|e| e.last).copied();
        let count: i32 = events
            .iter()
            .fold(0i32, |sum, e| sum.saturating_add(e.count.max(0)));
        let (severity, hint) = match reason {
            "FailedScheduling" => (Severity::Critical, "The scheduler cannot place a pod."),
            "OOMKilling" => (
                Severity::Critical,
                "The kernel killed a process for memory.",
            ),
            "BackOff" | "CrashLoopBackOff" => (
                Severity::Warning,
                "A container is restarting with back-off.",
            ),
            "Unhealthy" => (Severity::Warning, "A liveness or readiness probe fails."),
            _ => (Severity::Warning, "Kubernetes reported a problem."),
        };
        let involved: Vec<String> = events
            .iter()
            .map(|e| format!("{}/{}", e.involved.0, e.involved.1))
            .collect();
        out.push(
            Finding::new(
                &format!("K8S-EVT-{reason}"),
                severity,
                "kubernetes",
                format!(
                    "{reason} ×{count}: {}",
                    last.map(|e| e.message.as_str()).unwrap_or("")
                ),
                format!("{hint} Warning events about {}.", involved.join(", ")),
                "Read the events in full (`kubectl describe`) and the pod's log.",
            )
            .with("count", json!(count))
            .with("objects", json!(involved)),
        );
    }
    for f in &mut out {
        f.source = FindingSource::Kubernetes;
    }
    out
}
