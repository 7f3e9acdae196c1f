//! The status bar: mode, context, key hints from the keymap, and notices.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{Action, AppState, Mode, PaneId};
use crate::config::SafetyMode;
use crate::keymap::Section;
use crate::theme::Theme;

/// The mode label shown at the left.
pub fn mode_label(state: &AppState) -> &'static str {
    match &state.mode {
        Mode::Help(_) => "HELP",
        Mode::Sent(_) => "SENT",
        Mode::Palette(_) => "COMMAND",
        Mode::Repair(_) => "REPAIR",
        Mode::Pods(_) => "PODS",
        Mode::Fleet(_) => "FLEET",
        Mode::Contexts(_) => "CONTEXT",
        Mode::Filter(_) => "FILTER",
        Mode::Chat(_) => "CHAT",
        Mode::Normal if state.zoomed => "ZOOM",
        Mode::Normal => "NORMAL",
    }
}

/// What the focused pane offers, for the key hints.
fn pane_hints(pane: PaneId) -> &'static [(Action, &'static str)] {
    match pane {
        PaneId::Inventory => &[
            (Action::FocusNext, "open"),
            (Action::Sort, "sort"),
            (Action::Repair, "repair"),
        ],
        PaneId::Metrics => &[(Action::ToggleZoom, "zoom"), (Action::Repair, "repair")],
        PaneId::Findings => &[(Action::Repair, "repair"), (Action::ToggleZoom, "evidence")],
        PaneId::Logs => &[
            (Action::StartFilter, "filter"),
            (Action::ToggleFollow, "follow"),
            (Action::NextMatch, "next match"),
        ],
        PaneId::Chat => &[(Action::FocusChat, "ask"), (Action::ApplyPlan, "walk plan")],
    }
}

pub(super) fn render(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let base = Style::default().bg(theme.status_bg).fg(theme.status_fg);
    let mut spans = vec![Span::styled(
        format!(" {} ", mode_label(state)),
        Style::default()
            .bg(theme.mode_bg)
            .fg(theme.mode_fg)
            .add_modifier(Modifier::BOLD),
    )];
    let context = state.current().and_then(|v| v.config.context.as_deref());
    let (badge, colour) = match state.safety.mode_for(context) {
        SafetyMode::ReadOnly => ("READ-ONLY", theme.critical),
        SafetyMode::Suggest => ("SUGGEST", theme.warning),
        SafetyMode::Confirm => ("CONFIRM", theme.ok),
    };
    spans.push(Span::styled(
        format!(" {badge} "),
        Style::default()
            .fg(colour)
            .add_modifier(Modifier::BOLD | Modifier::REVERSED),
    ));
    if let Some(v) = state.current() {
        let context = v
            .config
            .context
            .as_deref()
            .map(|c| {
                if state.safety.is_read_only_context(Some(c)) {
                    format!(" · ctx {c} (read-only context)")
                } else {
                    format!(" · ctx {c}")
                }
            })
            .unwrap_or_default();
        spans.push(Span::raw(format!(
            " {} · {}{context} ",
            v.config.name, v.config.kind
        )));
    }
    let (crit, warn) = state.fleet_counts();
    for (count, tag, colour) in [
        (crit, "CRIT", theme.critical),
        (warn, "WARN", theme.warning),
    ] {
        if count > 0 {
            spans.push(Span::styled(
                format!(" {count} {tag} "),
                Style::default().fg(colour).add_modifier(Modifier::BOLD),
            ));
        }
    }
    // The focused pane's own keys first, then the ones that work everywhere.
    let pane = [state.focus.section(), Section::Global];
    let hints = pane_hints(state.focus)
        .iter()
        .map(|h| (h, &pane[..]))
        .chain(
            [
                (Action::ToggleHelp, "help"),
                (Action::OpenPalette, "command"),
                (Action::FocusNext, "pane"),
                (Action::Quit, "quit"),
            ]
            .iter()
            .map(|h| (h, &[Section::Global][..])),
        );
    // The context is always shown; a notice (a broken file, a refused mode change) follows it.
    let context = state.kube.current.as_ref().map(|c| {
        let ro = state.safety.is_read_only_context(Some(c));
        (
            format!(
                " ctx {c}{} · {} ",
                if ro { " (read-only)" } else { "" },
                state.kube.current_state().map_or("?".into(), |s| s.label())
            ),
            ro,
        )
    });
    let right = match (state.notices.first(), context) {
        (Some(n), ctx) => Span::styled(
            format!(
                "{}⚠ {n} ",
                ctx.map(|(c, _)| c).unwrap_or_else(|| " ".into())
            ),
            Style::default()
                .fg(theme.notice_error)
                .add_modifier(Modifier::BOLD),
        ),
        (None, Some((c, ro))) => Span::styled(
            c,
            Style::default()
                .fg(if ro {
                    theme.production
                } else {
                    theme.foreground
                })
                .add_modifier(Modifier::BOLD),
        ),
        (None, None) => Span::raw(" ctx: none "),
    };
    // A notice wins over the key hints: hints are shown only while the notice (or the
    // context) still fits whole after them.
    let mut used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let right_len = right.content.chars().count();
    for (&(action, label), sections) in hints {
        let Some(key) = state.keymap.key_for(action, sections) else {
            continue;
        };
        let (k, l) = (format!(" {key}"), format!(" {label} "));
        let len = k.chars().count() + l.chars().count();
        if used + len + right_len > area.width as usize {
            break;
        }
        used += len;
        spans.push(Span::styled(
            k,
            Style::default().add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::raw(l));
    }
    let room = (area.width as usize).saturating_sub(used);
    if room > 3 {
        let text = super::ellipsize(&right.content, room);
        let pad = room.saturating_sub(text.chars().count());
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::styled(text, right.style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(base), area);
}
