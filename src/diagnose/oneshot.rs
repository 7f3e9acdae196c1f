//! A one-shot diagnosis of one instance: two samples Δt apart (rates need two), then the
//! findings of the second. Used by `diagnose`, `health` and `plugin list`.

use std::time::Duration;

use chrono::Utc;

use super::{DiagnosisReport, DiagnosisStatus, TargetInfo};
use crate::config::{AppConfig, InstanceConfig};
use crate::plugins::{PluginError, plugin_for};

/// Diagnoses one instance; connection problems become an `unknown` report, never an error —
/// except a server that answered by turning the client away (connection limit, overload): its
/// answer is the diagnosis, reported as the finding it amounts to.
pub async fn diagnose_instance(instance: &InstanceConfig, config: &AppConfig) -> DiagnosisReport {
    let endpoint = instance.endpoint();
    let mut target = TargetInfo {
        name: instance.name.clone(),
        kind: instance.kind.to_string(),
        endpoint,
        version: None,
    };
    let failed = |target: TargetInfo, e: PluginError| match e.refusal_finding() {
        Some(finding) => DiagnosisReport {
            target,
            collected_at: Utc::now(),
            status: DiagnosisStatus::from_findings(std::slice::from_ref(finding)),
            findings: vec![finding.clone()],
            error: None,
            refused: Some(e.to_string()),
        },
        None => DiagnosisReport {
            target,
            collected_at: Utc::now(),
            status: DiagnosisStatus::Unknown,
            findings: Vec::new(),
            error: Some(e.to_string()),
            refused: None,
        },
    };
    let mut collector = match plugin_for(instance.kind).collector(instance, config) {
        Ok(c) => c,
        Err(e) => return failed(target, e),
    };
    target.endpoint = collector.endpoint().to_string();
    if let Err(e) = collector.collect().await {
        return failed(target, e);
    }
    tokio::time::sleep(Duration::from_secs_f64(
        config.collector.diagnose_sample_secs,
    ))
    .await;
    match collector.collect().await {
        Ok(snapshot) => {
            target.version = snapshot.facts.version.clone();
            let mut findings = snapshot.findings;
            super::sort_findings(&mut findings);
            DiagnosisReport {
                target,
                collected_at: snapshot.collected_at,
                status: DiagnosisStatus::from_findings(&findings),
                findings,
                error: None,
                refused: None,
            }
        }
        Err(e) => failed(target, e),
    }
}
