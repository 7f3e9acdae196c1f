//! What leaves the cockpit about one instance, over the sample dashboard
//! (`common::fixtures`): the context the model is given (`app::ask`) and the incident report of
//! `:export` (`app::report`). Unit tests once; here because the fixtures are test code outside
//! the library.

mod common;

use chrono::Utc;
use common::fixtures::sample_state;
use kubestack_ai::ai::context::ContextExtras;
use kubestack_ai::app::{ChatMessage, ChatRole, build_context, incident_report};

#[test]
fn the_context_leads_with_identity_and_findings_and_respects_the_budget() {
    let state = sample_state(30);
    let view = &state.instances[0];
    let ctx = build_context(view, 3000, 20, &ContextExtras::default());
    assert!(
        ctx.text
            .starts_with("## Selected instance\nname: redis-cache")
    );
    assert!(ctx.text.contains("CRIT RDS-MEM-01"));
    assert!(ctx.text.contains("used_memory"));
    assert!(ctx.text.contains("## Recent log lines"));
    assert!(ctx.estimated_tokens <= 3000);

    let small = build_context(view, 250, 20, &ContextExtras::default());
    assert!(small.truncated);
    assert!(small.text.contains("RDS-MEM-01"), "findings are never cut");
    assert!(small.text.len() < ctx.text.len());
}

#[test]
fn slash_extras_add_detail() {
    let state = sample_state(30);
    let view = &state.instances[0];
    let full = build_context(
        view,
        10_000,
        20,
        &ContextExtras {
            full_findings: true,
            ..Default::default()
        },
    );
    assert!(full.text.contains("recommendation: Free memory"));
    assert!(!full.text.contains("Runtime configuration"));
    let config = build_context(
        view,
        10_000,
        20,
        &ContextExtras {
            config: true,
            ..Default::default()
        },
    );
    assert!(
        config
            .text
            .contains("## Runtime configuration (1 settings)\nmaxmemory = 5242880"),
        "{}",
        config.text
    );
    let logs = build_context(
        view,
        10_000,
        1,
        &ContextExtras {
            logs_since_secs: Some(3600),
            ..Default::default()
        },
    );
    let n = logs
        .text
        .lines()
        .filter(|l| l.contains("KEYS user:*"))
        .count();
    assert!(n > 1, "a time window overrides the line count");
}

#[test]
fn the_report_has_findings_conversation_tools_and_plans() {
    let mut state = sample_state(10);
    let view = &mut state.instances[0];
    view.chat
        .push(ChatMessage::new(ChatRole::User, "why slow?"));
    view.chat
        .push(ChatMessage::new(ChatRole::Tool, "slowlog {} → 1.2 KiB"));
    view.chat.push(ChatMessage::new(
        ChatRole::Assistant,
        "KEYS * runs every second.",
    ));
    let plan: kubestack_ai::ai::plan::ProposedPlan = serde_json::from_str(
        r#"{"plan":[{"action":"RDS-FIX-03","params":{"policy":"allkeys-lru"},"why":"full"}]}"#,
    )
    .unwrap();
    view.chat.push(ChatMessage::plan(plan));
    let report = incident_report(view, Utc::now());
    assert!(report.starts_with(&format!("# Incident report — {}", view.config.name)));
    assert!(report.contains("## Findings at export time"));
    assert!(report.contains("| Severity | Rule |"), "{report}");
    assert!(report.contains("### SRE ·") && report.contains("why slow?"));
    assert!(report.contains("### Tool call ·") && report.contains("`slowlog {} → 1.2 KiB`"));
    assert!(report.contains("plan 1 step 1: `RDS-FIX-03`"));
    assert!(report.contains("- time window: "));
}
