//! The `:` command palette: the command table, filtered as you type, with each command's
//! argument signature and key.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::pane_block;
use crate::app::command::Run;
use crate::app::{AppState, Palette};
use crate::keymap::SECTIONS;
use crate::theme::Theme;

pub(super) fn render(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    palette: &Palette,
) {
    let (query, selected) = (palette.query.as_str(), palette.selected);
    let entries = palette.entries();
    let width = area.width.min(72);
    let height = (entries.len() as u16 + 3)
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
    for (i, command) in entries.iter().enumerate().skip(offset).take(visible) {
        let key = match command.run {
            Run::Action(action) => state
                .keymap
                .key_for(action, &all_sections)
                .map(|k| k.to_string())
                .unwrap_or_default(),
            _ => String::new(),
        };
        let name_style = if command.takes_args() {
            Style::default().fg(theme.accent)
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        };
        let mut line = if command.takes_args() {
            // The signature says what to type; the description is the second line's job in
            // help, here it follows when there is room.
            Line::from(vec![
                Span::styled(format!("{} ", command.usage()), name_style),
                Span::styled(command.description, Style::default().fg(theme.muted)),
            ])
        } else {
            Line::from(vec![
                Span::styled(format!("{:<14} ", command.name), name_style),
                Span::raw(format!("{:<44} ", command.description)),
                Span::styled(key, Style::default().fg(theme.muted)),
            ])
        };
        if i == selected {
            line = line.style(
                Style::default()
                    .bg(theme.selection_bg)
                    .fg(theme.selection_fg),
            );
        }
        lines.push(line);
    }
    if entries.is_empty() {
        let word = query.split_whitespace().next().unwrap_or_default();
        lines.push(Line::from(Span::styled(
            format!("no command `{word}` (Enter says so; Esc closes)"),
            Style::default().fg(theme.muted),
        )));
    }
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
