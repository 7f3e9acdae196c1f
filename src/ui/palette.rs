//! The `:` command palette: every named action, filtered as you type, with its key.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::pane_block;
use crate::app::{ARGUMENT_COMMANDS, AppState, palette_entries};
use crate::keymap::SECTIONS;
use crate::theme::Theme;

pub(super) fn render(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    query: &str,
    selected: usize,
) {
    let entries = palette_entries(query);
    let width = area.width.min(72);
    let height = (entries.len() as u16 + 3 + ARGUMENT_COMMANDS.len() as u16)
        .min(area.height.saturating_sub(2))
        .max(4);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + 1,
        width,
        height,
    };
    frame.render_widget(Clear, rect);
    let block = pane_block(
        Line::from(" Command palette (Enter runs, Esc closes) "),
        true,
        theme,
    )
    .style(Style::default().bg(theme.background).fg(theme.foreground));
    let all_sections: Vec<_> = SECTIONS.iter().map(|(s, _)| *s).collect();
    let mut lines = vec![Line::from(vec![
        Span::styled(
            ": ",
            Style::default()
                .fg(theme.accent)
                .add_modifier(Modifier::BOLD),
        ),
        Span::raw(query.to_string()),
        Span::styled("▏", Style::default().fg(theme.accent)),
    ])];
    let visible = height.saturating_sub(3) as usize;
    let offset = selected.saturating_sub(visible.saturating_sub(1));
    for (i, (action, name, desc)) in entries.iter().enumerate().skip(offset).take(visible) {
        let key = state
            .keymap
            .key_for(*action, &all_sections)
            .map(|k| k.to_string())
            .unwrap_or_default();
        let mut line = Line::from(vec![
            Span::styled(
                format!("{name:<14} "),
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::raw(format!("{desc:<44} ")),
            Span::styled(key, Style::default().fg(theme.muted)),
        ]);
        if i == selected {
            line = line.style(
                Style::default()
                    .bg(theme.selection_bg)
                    .fg(theme.selection_fg),
            );
        }
        lines.push(line);
    }
    let word = query.split_whitespace().next().unwrap_or("").to_lowercase();
    let with_argument: Vec<_> = ARGUMENT_COMMANDS
        .iter()
        .filter(|(usage, _)| word.is_empty() || usage.starts_with(&word))
        .collect();
    if entries.is_empty() && with_argument.is_empty() {
        lines.push(Line::from(Span::styled(
            "no matching command",
            Style::default().fg(theme.muted),
        )));
    }
    for (usage, desc) in with_argument {
        lines.push(Line::from(vec![
            Span::styled(format!("{usage} "), Style::default().fg(theme.accent)),
            Span::styled(desc.to_string(), Style::default().fg(theme.muted)),
        ]));
    }
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
