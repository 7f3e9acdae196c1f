//! The findings pane: severity-coloured list (worst first, newest first within a severity) and the selected finding's
//! evidence and recommendation.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{ellipsize, muted_line, pane_block};
use crate::app::{AppState, FilterTarget, FleetFindings, Health, Mode};
use crate::theme::Theme;

pub(super) fn render(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    focused: bool,
) {
    let count = state.current().map_or(0, |v| v.findings.len());
    let shown = state.shown_findings();
    // The filter being typed, or the one in force, after the count.
    let typing = match &state.mode {
        Mode::Filter(input) if input.target == FilterTarget::Findings => Some(&input.draft),
        _ => None,
    };
    let title = match typing {
        Some(draft) => format!(" Findings ({}/{count}) /{draft}▏ ", shown.len()),
        None if !state.findings_filter.is_empty() => format!(
            " Findings ({}/{count}) /{} ",
            shown.len(),
            state.findings_filter
        ),
        None => format!(" Findings ({count}) "),
    };
    let title = ellipsize(&title, area.width.saturating_sub(2) as usize);
    let block = pane_block(Line::from(title), focused, theme);
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
    let Some(selected) = state.selected_finding() else {
        frame.render_widget(
            Paragraph::new(muted_line("no finding matches the filter", theme)),
            inner,
        );
        return;
    };
    let at = shown.iter().position(|&i| i == selected).unwrap_or(0);
    let offset = at.saturating_sub(list_height - 1);
    let lines: Vec<Line> = shown
        .iter()
        .skip(offset)
        .take(list_height)
        .map(|&i| {
            let f = &view.findings[i].finding;
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

/// The fleet findings overlay (`F`): one row per finding of the instances shown, worst first —
/// severity, instance, rule id, title — the instance column as wide as the longest name shown
/// (up to a third of the width), so the columns stay aligned.
pub(super) fn render_fleet(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    view: &FleetFindings,
) {
    let (rect, block) = super::popup(
        frame,
        area,
        (90, 80),
        " Fleet findings (type to filter · Enter opens the instance · Esc closes) ",
        theme,
    );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    if inner.height < 3 {
        return;
    }
    let rows = state.fleet_rows(&view.filter);
    let total = if view.filter.trim().is_empty() {
        rows.len()
    } else {
        state.fleet_rows("").len()
    };
    let width = inner.width as usize;
    let mut lines = vec![Line::from(vec![
        Span::styled(
            "/ ",
            Style::default()
                .fg(theme.accent)
                .add_modifier(Modifier::BOLD),
        ),
        Span::raw(view.filter.clone()),
        Span::styled("▏", Style::default().fg(theme.accent)),
        Span::styled(
            format!(
                "   {} of {total} findings · {} instances",
                rows.len(),
                state.visible_instances().len()
            ),
            Style::default().fg(theme.muted),
        ),
    ])];
    if rows.is_empty() {
        lines.push(muted_line(
            if total == 0 {
                "no findings in the instances shown"
            } else {
                "no finding matches"
            },
            theme,
        ));
    }
    let visible = inner.height as usize - 1;
    let selected = view.selected.min(rows.len().saturating_sub(1));
    let offset = selected.saturating_sub(visible.saturating_sub(1));
    let name_width = rows
        .iter()
        .map(|&(i, _)| state.instances[i].config.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(width / 3)
        .max(8);
    for (n, &(i, k)) in rows.iter().enumerate().skip(offset).take(visible) {
        let instance = &state.instances[i];
        let f = &instance.findings[k].finding;
        let name = ellipsize(&instance.config.name, name_width);
        let rest = width.saturating_sub(5 + name_width + 2);
        let mut line = Line::from(vec![
            Span::styled(
                format!("{:<4} ", f.severity.tag()),
                Style::default()
                    .fg(theme.severity(f.severity))
                    .add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!("{name:<name_width$}  ")),
            Span::raw(ellipsize(&format!("{} {}", f.id, f.title), rest)),
        ]);
        if n == selected {
            line = line.style(
                Style::default()
                    .bg(theme.selection_bg)
                    .fg(theme.selection_fg)
                    .add_modifier(Modifier::BOLD),
            );
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
