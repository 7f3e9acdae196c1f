//! The findings pane: severity-coloured list (worst first, newest first within a severity) and the selected finding's
//! evidence and recommendation.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{ellipsize, muted_line, pane_block};
use crate::app::{AppState, Health};
use crate::theme::Theme;

pub(super) fn render(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    focused: bool,
) {
    let count = state.current().map_or(0, |v| v.findings.len());
    let block = pane_block(Line::from(format!(" Findings ({count}) ")), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(view) = state.current() else {
        return;
    };
    if view.findings.is_empty() {
        let msg = match view.health {
            Health::Connecting => "waiting for the first sample…",
            Health::Up => "no findings — every rule passes",
            _ => "no data: the instance cannot be collected",
        };
        frame.render_widget(Paragraph::new(muted_line(msg, theme)), inner);
        return;
    }
    let width = inner.width as usize;
    let detail_rows = if inner.height >= 8 {
        inner.height / 2
    } else {
        0
    };
    let list_height = inner.height.saturating_sub(detail_rows).max(1) as usize;
    let selected = state.findings_selected.min(view.findings.len() - 1);
    let offset = selected.saturating_sub(list_height - 1);
    let lines: Vec<Line> = view
        .findings
        .iter()
        .enumerate()
        .skip(offset)
        .take(list_height)
        .map(|(i, fv)| {
            let f = &fv.finding;
            let color = theme.severity(f.severity);
            let title = ellipsize(&f.title, width.saturating_sub(f.id.len() + 7));
            let mut line = Line::from(vec![
                Span::styled(
                    format!("{} ", f.severity.tag()),
                    Style::default().fg(color).add_modifier(Modifier::BOLD),
                ),
                Span::styled(format!("{} ", f.id), Style::default().fg(color)),
                Span::raw(title),
            ]);
            if i == selected && focused {
                line = line.style(
                    Style::default()
                        .bg(theme.selection_bg)
                        .fg(theme.selection_fg),
                );
            }
            line
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines),
        Rect {
            height: list_height as u16,
            ..inner
        },
    );
    if detail_rows == 0 {
        return;
    }
    let f = &view.findings[selected].finding;
    let evidence: Vec<String> = f
        .evidence
        .iter()
        .filter(|(k, _)| *k != "threshold")
        .map(|(k, v)| format!("{k}={}", compact(v)))
        .collect();
    let mut detail = vec![
        Line::from(Span::styled(
            "─".repeat(width),
            Style::default().fg(theme.border),
        )),
        Line::from(vec![
            Span::styled(
                format!("{} ", f.id),
                Style::default()
                    .fg(theme.severity(f.severity))
                    .add_modifier(Modifier::BOLD),
            ),
            Span::raw(f.detail.clone()),
        ]),
        Line::from(vec![
            Span::styled("evidence ", Style::default().fg(theme.muted)),
            Span::raw(evidence.join("  ")),
        ]),
    ];
    if let Some(th) = f.evidence.get("threshold") {
        detail.push(Line::from(vec![
            Span::styled("threshold ", Style::default().fg(theme.muted)),
            Span::raw(compact(th)),
        ]));
    }
    detail.push(Line::from(vec![
        Span::styled("→ ", Style::default().fg(theme.accent)),
        Span::raw(f.recommendation.clone()),
    ]));
    let area = Rect {
        y: inner.y + list_height as u16,
        height: inner.height - list_height as u16,
        ..inner
    };
    frame.render_widget(Paragraph::new(detail).wrap(Wrap { trim: true }), area);
}

/// A JSON value without quotes around plain strings.
fn compact(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
