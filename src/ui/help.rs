//! The `?` overlay, generated from the keymap registry and the command table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::popup;
use crate::app::AppState;
use crate::app::command::{Place, help_rows};
use crate::theme::Theme;

/// Help lines: per section, keys sharing an action and description are joined.
pub fn help_lines<'a>(state: &AppState, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    for (section, bindings) in state.keymap.sections() {
        if bindings.is_empty() {
            continue;
        }
        lines.push(Line::from(Span::styled(
            format!("[{}]", section.name()),
            Style::default()
                .fg(theme.accent)
                .add_modifier(Modifier::BOLD),
        )));
        let mut rows: Vec<(String, String)> = Vec::new();
        for b in bindings {
            match rows.iter_mut().find(|(_, d)| *d == b.description) {
                Some((keys, _)) => keys.push_str(&format!(", {}", b.key)),
                None => rows.push((b.key.to_string(), b.description.clone())),
            }
        }
        for (keys, desc) in rows {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {keys:<16} "),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Span::raw(desc),
            ]));
        }
    }
    for (place, title) in [
        (Place::Palette, "[commands — type after `:`, Tab completes]"),
        (
            Place::Slash,
            "[chat commands — type at the start of a message]",
        ),
    ] {
        lines.push(Line::from(Span::styled(
            title,
            Style::default()
                .fg(theme.accent)
                .add_modifier(Modifier::BOLD),
        )));
        for (usage, desc) in help_rows(place) {
            lines.push(Line::from(vec![
                Span::styled(
                    format!("  {usage:<40} "),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Span::raw(desc),
            ]));
        }
    }
    lines
}

pub(super) fn render(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    scroll: usize,
) {
    let (rect, block) = popup(
        frame,
        area,
        (80, 85),
        " Help — keys (from the keymap; Esc closes) ",
        theme,
    );
    let lines = help_lines(state, theme);
    let inner_h = rect.height.saturating_sub(2) as usize;
    let scroll = scroll.min(lines.len().saturating_sub(inner_h));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((scroll as u16, 0)),
        rect,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::command::COMMANDS;
    use crate::app::test_state::test_state;

    #[test]
    fn help_lists_every_command_of_the_table() {
        let state = test_state();
        let theme = Theme::builtin("dark").expect("built-in theme");
        let text: Vec<String> = help_lines(&state, &theme)
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect();
        for c in COMMANDS {
            let usage = format!("{}{}", c.sigil(), c.usage());
            assert!(text.iter().any(|l| l.contains(&usage)), "{usage} missing");
        }
    }
}
