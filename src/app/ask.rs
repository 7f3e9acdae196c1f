//! A question about the selected instance, as the app hands it to the ask service: the
//! compact, selection-aware context (catalog §1.5) — identity, the rule engine's findings with
//! evidence first, then metric summaries with trends, then recent log lines, cut to a token
//! budget which is estimated and shown — and the conversation so far.

use chrono::Utc;

use super::chat::ChatRole;
use super::instance_view::InstanceView;
use super::state::AppState;
use crate::ai::context::{ContextExtras, InstanceContext, estimate_tokens};
use crate::ai::provider::{Turn, TurnRole};
use crate::config::AiConfig;
use crate::services::ask::AskRequest;
use crate::services::event::Health;

/// The request for a question about instance `instance` (`None`: no such instance).
pub fn ask_request(
    state: &AppState,
    ai: &AiConfig,
    instance: usize,
    question: &str,
    extras: &ContextExtras,
) -> Option<AskRequest> {
    let view = state.instances.get(instance)?;
    let context = build_context(view, ai.context_token_budget, ai.context_log_lines, extras);
    // Earlier questions and answers about this instance (without their contexts).
    let mut turns: Vec<_> = view
        .chat
        .iter()
        .filter(|m| matches!(m.role, ChatRole::User | ChatRole::Assistant))
        .collect();
    turns.pop(); // the question being asked now
    let history = turns
        .into_iter()
        .map(|m| {
            let role = if m.role == ChatRole::User {
                TurnRole::User
            } else {
                TurnRole::Assistant
            };
            Turn::text(role, m.text.clone())
        })
        .collect();
    Some(AskRequest {
        instance,
        config: view.config.clone(),
        kube: view
            .kube
            .as_ref()
            .map(|b| (b.context.clone(), b.found.clone())),
        prompt: format!(
            "{}\n(context: ~{} of {} tokens{})\n\n## Question\n{question}",
            context.text,
            context.estimated_tokens,
            context.budget,
            if context.truncated { ", trimmed" } else { "" }
        ),
        question: question.to_string(),
        history,
        profile: state.chat.profile.clone(),
        health_problem: health_problem(&view.health).map(str::to_string),
        findings: view.findings.iter().map(|f| f.finding.clone()).collect(),
    })
}

/// Why an instance cannot be sampled, when it cannot.
pub fn health_problem(health: &Health) -> Option<&str> {
    match health {
        Health::Down { error, .. }
        | Health::AuthFailed { error }
        | Health::Misconfigured { error } => Some(error),
        Health::Up | Health::Connecting => None,
    }
}

/// Builds the context for one instance within `budget` estimated tokens.
pub fn build_context(
    view: &InstanceView,
    budget: usize,
    log_lines: usize,
    extras: &ContextExtras,
) -> InstanceContext {
    let mut text = String::new();
    let f = &view.facts;
    text.push_str(&format!(
        "## Selected instance\nname: {} · kind: {} · endpoint: {}\nversion: {} · role: {} · uptime: {}\n",
        view.config.name,
        view.config.kind,
        view.endpoint,
        f.version.as_deref().unwrap_or("unknown"),
        f.role.as_deref().unwrap_or("unknown"),
        f.uptime_secs.map_or("unknown".into(), |s| crate::model::Unit::Seconds.format(s as f64)),
    ));
    for (k, v) in f.extra.iter().filter(|(k, _)| k != "run_id") {
        text.push_str(&format!("{k}: {v}\n"));
    }
    match &view.health {
        Health::Up => {}
        Health::Connecting => text.push_str("health: not sampled yet\n"),
        Health::Down { error, .. }
        | Health::AuthFailed { error }
        | Health::Misconfigured { error } => {
            text.push_str(&format!("health: DOWN — {error}\n"));
        }
    }
    text.push_str(&format!(
        "\n## Findings of the rule engine ({})\n",
        view.findings.len()
    ));
    if view.findings.is_empty() {
        text.push_str("none — every rule passes\n");
    }
    for fv in &view.findings {
        let fi = &fv.finding;
        let mut evidence: Vec<String> = fi
            .evidence
            .iter()
            .map(|(k, v)| format!("{k}={}", v.to_string().trim_matches('"')))
            .collect();
        if !extras.full_findings {
            evidence.truncate(6);
        }
        text.push_str(&format!(
            "- {} {} [{}] {}\n  evidence: {}\n",
            fi.severity.tag(),
            fi.id,
            fi.category,
            fi.title,
            evidence.join(", ")
        ));
        if extras.full_findings {
            text.push_str(&format!(
                "  why: {}\n  recommendation: {}\n",
                fi.detail, fi.recommendation
            ));
        }
    }
    let mut truncated = false;
    let mut metrics = String::from("\n## Metrics (latest, trend, min–max over the kept history)\n");
    let shown = if extras.all_metrics {
        view.metrics.len()
    } else {
        10
    };
    for s in view.metrics.iter().take(shown) {
        let Some(latest) = s.latest() else { continue };
        let trend = match s.trend() {
            Some(t) if t > 0.0 => "rising",
            Some(t) if t < 0.0 => "falling",
            _ => "flat",
        };
        let min = s.min().map_or("?".into(), |v| s.unit.format(v));
        let max = s.max().map_or("?".into(), |v| s.unit.format(v));
        metrics.push_str(&format!(
            "- {}: {} ({trend}; {min}–{max} over {} samples)\n",
            s.label,
            s.unit.format(latest),
            s.len()
        ));
    }
    if estimate_tokens(&text) + estimate_tokens(&metrics) <= budget {
        text.push_str(&metrics);
    } else {
        truncated = true;
    }
    if extras.config {
        let mut section = format!(
            "\n## Runtime configuration ({} settings)\n",
            f.settings.len()
        );
        if f.settings.is_empty() {
            section.push_str("not read (the collector has none for this instance yet)\n");
        }
        let mut used = estimate_tokens(&text) + estimate_tokens(&section);
        for (k, v) in &f.settings {
            let line = format!("{k} = {v}\n");
            used += estimate_tokens(&line);
            if used > budget {
                truncated = true;
                section.push_str("… (cut to the token budget)\n");
                break;
            }
            section.push_str(&line);
        }
        text.push_str(&section);
    }
    // Log lines, newest first, as long as they fit.
    let since = extras
        .logs_since_secs
        .map(|s| Utc::now() - chrono::Duration::seconds(s as i64));
    let wanted = if since.is_some() {
        usize::MAX
    } else {
        log_lines
    };
    let mut lines: Vec<String> = Vec::new();
    let mut used = estimate_tokens(&text) + 10;
    for l in view.logs.iter().rev() {
        if lines.len() >= wanted || since.is_some_and(|t| l.at < t) {
            break;
        }
        let line = format!("{} {} {}\n", l.at.format("%H:%M:%S"), l.source, l.text);
        let cost = estimate_tokens(&line);
        if used + cost > budget {
            truncated = true;
            break;
        }
        used += cost;
        lines.push(line);
    }
    if !lines.is_empty() {
        text.push_str(&format!(
            "\n## Recent log lines ({}, oldest first)\n",
            lines.len()
        ));
        for l in lines.iter().rev() {
            text.push_str(l);
        }
    }
    InstanceContext {
        estimated_tokens: estimate_tokens(&text),
        budget,
        truncated,
        text,
    }
}
