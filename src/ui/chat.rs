//! The chat pane. This version has no LLM provider; it says so instead of inventing answers.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};

use super::pane_block;
use crate::app::{AppState, ChatRole, InputTarget};
use crate::theme::Theme;

/// The notice at the top of the chat pane.
pub const NOT_CONFIGURED: &str = "AI not configured yet — this version has no LLM provider. \
Nothing you type is sent anywhere; the rule engine's findings are in the Findings pane.";

pub(super) fn render(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    focused: bool,
) {
    let block = pane_block(Line::from(" Chat with AI "), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 3 {
        return;
    }
    let editor_height = if inner.height >= 8 { 4 } else { 3 };
    let [messages, editor] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(editor_height)]).areas(inner);
    let mut lines = vec![
        Line::from(Span::styled(
            NOT_CONFIGURED,
            Style::default().fg(theme.muted),
        )),
        Line::raw(""),
    ];
    for m in &state.chat {
        let (who, style) = match m.role {
            ChatRole::User => (
                "you: ",
                Style::default()
                    .fg(theme.user_message)
                    .add_modifier(Modifier::BOLD),
            ),
            ChatRole::System => (
                "kubestack: ",
                Style::default()
                    .fg(theme.warning)
                    .add_modifier(Modifier::BOLD),
            ),
        };
        let mut first = true;
        for text_line in m.text.lines() {
            let mut spans = Vec::new();
            if first {
                spans.push(Span::styled(who, style));
                first = false;
            }
            spans.push(Span::raw(text_line.to_string()));
            lines.push(Line::from(spans));
        }
    }
    // Show the end of the conversation (rows estimated from character counts; wrapping at
    // word boundaries can add a row, which only shifts the view slightly).
    let width = usize::from(messages.width.max(1));
    let total: usize = lines.iter().map(|l| l.width().max(1).div_ceil(width)).sum();
    let total = u16::try_from(total).unwrap_or(u16::MAX);
    let para = Paragraph::new(lines).wrap(Wrap { trim: false });
    let scroll = total.saturating_sub(messages.height);
    frame.render_widget(para.scroll((scroll, 0)), messages);

    let typing = state.input == InputTarget::Chat;
    let border = if typing {
        theme.border_focused
    } else {
        theme.border
    };
    let editor_block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::default().fg(border))
        .title(if typing {
            " Enter send · Alt-Enter newline · Esc leave "
        } else {
            " a: ask "
        });
    let editor_inner = editor_block.inner(editor);
    frame.render_widget(editor_block, editor);
    frame.render_widget(&state.chat_editor, editor_inner);
}
