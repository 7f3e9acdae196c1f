//! The Markdown incident report of `:export`: identity, time window, current findings, the
//! conversation with its tool calls, and the proposed plans — text made from the state alone
//! (the file service writes it).

use chrono::{DateTime, Utc};

use super::chat::ChatRole;
use super::instance_view::InstanceView;
use crate::diagnose::findings_markdown;
use crate::private_file::os_user;

/// The incident report of an instance: identity, time window, current findings, the
/// conversation with its tool calls, and the proposed plans.
pub fn incident_report(view: &InstanceView, now: DateTime<Utc>) -> String {
    let cfg = &view.config;
    let mut out = format!("# Incident report — {}\n\n", cfg.name);
    out.push_str(&format!(
        "- instance: {} ({}) at `{}`\n",
        cfg.name, cfg.kind, view.endpoint
    ));
    if let Some(v) = &view.facts.version {
        out.push_str(&format!("- version: {v}\n"));
    }
    if let Some(r) = &view.facts.role {
        out.push_str(&format!("- role: {r}\n"));
    }
    out.push_str(&format!("- health: {}\n", view.health.label()));
    let first = view.chat.first().map(|m| m.at);
    let last = view.chat.last().map(|m| m.at);
    match (first, last) {
        (Some(a), Some(b)) => out.push_str(&format!(
            "- time window: {} – {}\n",
            a.to_rfc3339(),
            b.to_rfc3339()
        )),
        _ => out.push_str("- time window: no conversation yet\n"),
    }
    out.push_str(&format!(
        "- exported: {} by {}\n",
        now.to_rfc3339(),
        os_user()
    ));
    out.push_str("\n## Findings at export time\n\n");
    let findings: Vec<_> = view.findings.iter().map(|f| f.finding.clone()).collect();
    out.push_str(&findings_markdown(&findings));
    out.push_str("\n## Conversation\n");
    for m in &view.chat {
        let who = match m.role {
            ChatRole::User => "SRE",
            ChatRole::Assistant => "AI",
            ChatRole::Tool => "Tool call",
            ChatRole::Notice => "Note",
            ChatRole::Error => "Model error",
            ChatRole::Offline => "Offline analysis (rule engine)",
            ChatRole::Plan => "Proposed plan",
        };
        out.push_str(&format!(
            "\n### {who} · {}\n\n",
            m.at.format("%Y-%m-%d %H:%M:%S UTC")
        ));
        match m.role {
            ChatRole::Tool => out.push_str(&format!("`{}`\n", m.text)),
            _ => {
                out.push_str(&m.text);
                out.push('\n');
            }
        }
    }
    let plans: Vec<_> = view.chat.iter().filter_map(|m| m.plan.as_ref()).collect();
    out.push_str("\n## Plan steps\n\n");
    if plans.is_empty() {
        out.push_str("No repair plan was proposed.\n");
    }
    for (p, plan) in plans.iter().enumerate() {
        for (i, s) in plan.steps.iter().enumerate() {
            out.push_str(&format!(
                "- plan {} step {}: `{}` {} — {} — outcome: not executed\n",
                p + 1,
                i + 1,
                s.action,
                serde_json::Value::Object(s.params.clone()),
                s.why
            ));
        }
    }
    out
}
