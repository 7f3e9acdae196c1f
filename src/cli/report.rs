//! Renders diagnosis reports as a table, JSON or Markdown.

use crate::diagnose::{DiagnosisReport, DiagnosisStatus};

use super::OutputFormat;

/// One report in the chosen format.
pub fn render_report(report: &DiagnosisReport, format: OutputFormat) -> String {
    match format {
        OutputFormat::Json => serde_json::to_string_pretty(report)
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")),
        OutputFormat::Table => table(report),
        OutputFormat::Markdown => markdown(report),
    }
}

fn header(r: &DiagnosisReport) -> String {
    format!(
        "{} ({} {}) {} — {}",
        r.target.name,
        r.target.kind,
        r.target.version.as_deref().unwrap_or("?"),
        r.target.endpoint,
        r.status.as_str().to_uppercase()
    )
}

fn table(r: &DiagnosisReport) -> String {
    let mut out = format!(
        "{}\ncollected {}\n",
        header(r),
        r.collected_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    if let Some(e) = &r.error {
        out.push_str(&format!("error: {e}\n"));
        return out;
    }
    if r.findings.is_empty() {
        out.push_str("no findings — every rule passes\n");
        return out;
    }
    out.push_str(&format!(
        "\n{:<5} {:<12} {:<12} {}\n",
        "SEV", "RULE", "CATEGORY", "FINDING"
    ));
    for f in &r.findings {
        out.push_str(&format!(
            "{:<5} {:<12} {:<12} {}\n",
            f.severity.tag(),
            f.id,
            f.category,
            f.title
        ));
        out.push_str(&format!("{:31}→ {}\n", "", f.recommendation));
    }
    out
}

fn markdown(r: &DiagnosisReport) -> String {
    let mut out = format!(
        "## {} — {}\n\n- kind: {}\n- version: {}\n- endpoint: `{}`\n- collected: {}\n\n",
        r.target.name,
        r.status.as_str(),
        r.target.kind,
        r.target.version.as_deref().unwrap_or("unknown"),
        r.target.endpoint,
        r.collected_at.to_rfc3339()
    );
    if let Some(e) = &r.error {
        out.push_str(&format!("**Could not diagnose:** {e}\n"));
        return out;
    }
    out.push_str(&crate::diagnose::findings_markdown(&r.findings));
    out
}

/// `health`: one line per instance.
pub fn render_health(reports: &[DiagnosisReport], format: OutputFormat) -> String {
    match format {
        OutputFormat::Json => {
            let lines: Vec<_> = reports
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "name": r.target.name, "kind": r.target.kind, "endpoint": r.target.endpoint,
                        "version": r.target.version, "status": r.status,
                        "findings": r.findings.len(),
                        "worst": r.findings.first().map(|f| f.id.clone()),
                        "error": r.error,
                    })
                })
                .collect();
            serde_json::to_string_pretty(&lines).unwrap_or_default()
        }
        OutputFormat::Markdown => {
            let mut out = String::from(
                "| Instance | Kind | Status | Findings | Worst |\n|---|---|---|---|---|\n",
            );
            for r in reports {
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} |\n",
                    r.target.name,
                    r.target.kind,
                    r.status.as_str(),
                    r.findings.len(),
                    summary(r)
                ));
            }
            out
        }
        OutputFormat::Table => reports
            .iter()
            .map(|r| {
                format!(
                    "{:<8} {:<20} {:<6} {:>2} findings  {}\n",
                    r.status.as_str().to_uppercase(),
                    r.target.name,
                    r.target.kind,
                    r.findings.len(),
                    summary(r)
                )
            })
            .collect(),
    }
}

fn summary(r: &DiagnosisReport) -> String {
    match (&r.error, r.findings.first()) {
        (Some(e), _) => e.clone(),
        (None, Some(f)) => format!("{} {} {}", f.severity.tag(), f.id, f.title),
        (None, None) => "-".into(),
    }
}

/// The exit code of several reports: the worst status.
pub fn worst_exit_code(reports: &[DiagnosisReport]) -> i32 {
    reports
        .iter()
        .map(|r| r.status)
        .max()
        .unwrap_or(DiagnosisStatus::Ok)
        .exit_code()
}
