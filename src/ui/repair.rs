//! The repair modal: the plan's steps with their outcome, and the step on screen — what, why,
//! the exact commands, the preview, risk and rollback, its status — with the buttons.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::popup;
use crate::app::{AppState, RepairModal, StepPhase};
use crate::config::SafetyMode;
use crate::repair::Risk;
use crate::theme::Theme;

fn risk_style(risk: Risk, theme: &Theme) -> Style {
    let c = match risk {
        Risk::Safe => theme.ok,
        Risk::Caution => theme.warning,
        Risk::Dangerous => theme.critical,
    };
    Style::default().fg(c).add_modifier(Modifier::BOLD)
}

fn marker(phase: &StepPhase) -> &'static str {
    match phase {
        StepPhase::Verified(_) => "✓",
        StepPhase::Skipped => "⤼",
        StepPhase::RolledBack(_) => "↺",
        StepPhase::VerifyFailed(_)
        | StepPhase::Failed(_)
        | StepPhase::Refused(_)
        | StepPhase::PrepareFailed(_)
        | StepPhase::RollbackFailed(_) => "✗",
        _ => "·",
    }
}

fn status(phase: &StepPhase, theme: &Theme) -> Line<'static> {
    let (text, color) = match phase {
        StepPhase::Preparing => ("reading the current state…".to_string(), theme.muted),
        StepPhase::Ready => (
            "ready — nothing has been changed yet".to_string(),
            theme.muted,
        ),
        StepPhase::PrepareFailed(e) => (
            format!("cannot read the current state: {e}"),
            theme.critical,
        ),
        StepPhase::Running => ("executing…".to_string(), theme.warning),
        StepPhase::Verifying => ("executed; verifying…".to_string(), theme.warning),
        StepPhase::Verified(v) => (format!("verified: {v}"), theme.ok),
        StepPhase::VerifyFailed(e) => (format!("{e} — the rollback is offered"), theme.critical),
        StepPhase::Refused(e) => (e.clone(), theme.critical),
        StepPhase::Failed(e) => (format!("failed: {e}"), theme.critical),
        StepPhase::RollingBack => ("rolling back…".to_string(), theme.warning),
        StepPhase::RolledBack(v) => (format!("rolled back: {v}"), theme.ok),
        StepPhase::RollbackFailed(e) => (format!("rollback failed: {e}"), theme.critical),
        StepPhase::Skipped => ("skipped".to_string(), theme.muted),
    };
    Line::from(vec![
        Span::styled("status    ", Style::default().fg(theme.muted)),
        Span::styled(
            text,
            Style::default().fg(color).add_modifier(Modifier::BOLD),
        ),
    ])
}

fn field(label: &str, value: impl Into<String>, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label:<10}"), Style::default().fg(theme.muted)),
        Span::raw(value.into()),
    ])
}

fn lines(m: &RepairModal, state: &AppState, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    // The mode this plan's context is under (a read-only context wins over the global mode).
    let context = m
        .plan
        .steps
        .first()
        .and_then(|s| s.target.context.as_deref());
    let mode = match state.safety.mode_for(context) {
        SafetyMode::Confirm => "confirm: each step applies only when you confirm it".to_string(),
        SafetyMode::Suggest => "suggest: steps are shown, never applied".to_string(),
        SafetyMode::ReadOnly => "read-only: every write is refused".to_string(),
    };
    out.push(field("mode", mode, theme));
    for (i, s) in m.plan.steps.iter().enumerate() {
        let phase = &m.steps[i].phase;
        let current = i == m.index;
        let style = if current {
            Style::default().add_modifier(Modifier::BOLD)
        } else {
            Style::default().fg(theme.muted)
        };
        out.push(Line::from(vec![
            Span::styled(
                format!("{} {}. ", if current { "▶" } else { marker(phase) }, i + 1),
                style,
            ),
            Span::styled(format!("{} — {} ", s.action, s.title), style),
            Span::styled(format!("[{}]", s.risk.as_str()), risk_style(s.risk, theme)),
        ]));
    }
    for manual in &m.plan.manual {
        out.push(Line::from(Span::styled(
            format!("  manual only: {manual}"),
            Style::default().fg(theme.muted),
        )));
    }
    out.push(Line::raw(""));
    let (Some(step), Some(st)) = (m.step(), m.state()) else {
        out.push(Line::from(Span::styled(
            if m.plan.steps.is_empty() {
                "Nothing can be applied automatically here."
            } else {
                "The plan is done; the audit log has every step."
            },
            Style::default().add_modifier(Modifier::BOLD),
        )));
        return out;
    };
    out.push(field(
        "what",
        format!("{} — {}", step.action, step.title),
        theme,
    ));
    let why = if step.why.is_empty() {
        step.provenance.to_string()
    } else {
        format!("{} ({})", step.why, step.provenance)
    };
    out.push(field("why", why, theme));
    out.push(field(
        "target",
        format!("{} at {}", step.target.instance, step.target.endpoint),
        theme,
    ));
    for c in &step.commands {
        out.push(Line::from(vec![
            Span::styled(
                format!("{:<10}", "command"),
                Style::default().fg(theme.muted),
            ),
            Span::styled(
                c.to_string(),
                Style::default()
                    .fg(theme.accent)
                    .add_modifier(Modifier::BOLD),
            ),
        ]));
    }
    match &st.prepared {
        Some(p) => {
            for (i, l) in p.preview.lines().enumerate() {
                out.push(field(
                    if i == 0 { "preview" } else { "" },
                    l.to_string(),
                    theme,
                ));
            }
            if !step.effect.is_empty() && !p.preview.contains(&step.effect) {
                out.push(field("effect", step.effect.clone(), theme));
            }
            out.push(Line::from(vec![
                Span::styled(format!("{:<10}", "risk"), Style::default().fg(theme.muted)),
                Span::styled(
                    step.risk.as_str().to_uppercase(),
                    risk_style(step.risk, theme),
                ),
            ]));
            let rollback = if m.show_rollback || p.rollback.is_empty() {
                p.rollback_text.clone()
            } else {
                format!(
                    "{} command(s) from the captured state (b shows them)",
                    p.rollback.len()
                )
            };
            out.push(field("rollback", rollback, theme));
        }
        None => out.push(field("risk", step.risk.as_str().to_uppercase(), theme)),
    }
    if let Some(executed) = &st.executed {
        out.push(field("replied", executed.clone(), theme));
    }
    out.push(status(&st.phase, theme));
    if m.wants_name() {
        out.push(Line::raw(""));
        out.push(Line::from(vec![
            Span::styled(
                format!(
                    "DANGEROUS — type `{}` to enable Apply: ",
                    step.target.instance
                ),
                risk_style(Risk::Dangerous, theme),
            ),
            Span::styled(
                format!("{}▏", m.typed),
                Style::default().add_modifier(Modifier::UNDERLINED),
            ),
        ]));
    }
    out
}

fn buttons(m: &RepairModal, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, b) in m.buttons().iter().enumerate() {
        let focused = i == m.button;
        let style = if focused {
            Style::default()
                .bg(theme.selection_bg)
                .fg(theme.selection_fg)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().fg(theme.foreground)
        };
        spans.push(Span::styled(format!(" [ {} ] ", b.label()), style));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled(
        "  Tab move · Enter press · y apply · s skip · b rollback · Esc abort",
        Style::default().fg(Color::Reset).fg(theme.muted),
    ));
    Line::from(spans)
}

pub(super) fn render(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    m: &RepairModal,
    theme: &Theme,
) {
    let instance = state
        .instances
        .get(m.instance)
        .map_or("?", |v| v.config.name.as_str());
    let title = format!(" Repair — {instance} · {} step(s) ", m.plan.steps.len());
    let (rect, block) = popup(frame, area, (84, 84), &title, theme);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    if inner.height < 3 {
        return;
    }
    let body = Rect {
        height: inner.height - 2,
        ..inner
    };
    let footer = Rect {
        y: inner.y + inner.height - 1,
        height: 1,
        ..inner
    };
    frame.render_widget(
        Paragraph::new(lines(m, state, theme)).wrap(Wrap { trim: false }),
        body,
    );
    frame.render_widget(Paragraph::new(buttons(m, theme)), footer);
}
