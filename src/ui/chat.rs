//! The chat pane: the selected instance's conversation (streamed answers, tool calls,
//! notices, offline analysis), the meter, and the editor.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};

use super::pane_block;
use crate::app::{AppState, ChatRole, InputTarget};
use crate::theme::Theme;

/// Shown when no model profile is active.
pub const NOT_CONFIGURED: &str = "No model configured: questions are answered by the built-in rule \
engine (offline analysis). Add an [ai.profiles.NAME] to the config to ask a model.";

/// The title: profile and meter.
fn title(state: &AppState) -> String {
    let m = &state.chat.meter;
    let model = state.chat.profile.as_deref().unwrap_or("offline");
    let mut t = format!(" Chat with AI · {model} ");
    if m.tokens_in + m.tokens_out > 0 {
        t.push_str(&format!(
            "· {}↑ {}↓ ",
            short(m.tokens_in),
            short(m.tokens_out)
        ));
        if m.cost_usd > 0.0 {
            t.push_str(&format!("· ${:.4} ", m.cost_usd));
        }
    }
    if state.chat.generating.is_some() {
        t.push_str("· answering… ");
    }
    t
}

fn short(n: u64) -> String {
    crate::model::Unit::Count.format(n as f64)
}

/// Message lines with light markdown: headings, bullets, numbered fenced code blocks.
fn message_lines<'a>(state: &'a AppState, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    let Some(view) = state.current() else {
        return lines;
    };
    if state.chat.profile.is_none() && view.chat.is_empty() {
        lines.push(Line::from(Span::styled(
            NOT_CONFIGURED,
            Style::default().fg(theme.muted),
        )));
    }
    let mut block_no = 0;
    for m in &view.chat {
        let (who, style) = match m.role {
            ChatRole::User => (
                "you",
                Style::default()
                    .fg(theme.user_message)
                    .add_modifier(Modifier::BOLD),
            ),
            ChatRole::Assistant => (
                "ai",
                Style::default()
                    .fg(theme.accent)
                    .add_modifier(Modifier::BOLD),
            ),
            ChatRole::Tool => ("tool", Style::default().fg(theme.muted)),
            ChatRole::Notice => ("note", Style::default().fg(theme.warning)),
            ChatRole::Error => (
                "error",
                Style::default()
                    .fg(theme.critical)
                    .add_modifier(Modifier::BOLD),
            ),
            ChatRole::Offline => (
                "offline",
                Style::default().fg(theme.info).add_modifier(Modifier::BOLD),
            ),
        };
        let mut in_code = false;
        for (i, text) in m.text.lines().enumerate() {
            let mut spans = Vec::new();
            if i == 0 {
                spans.push(Span::styled(format!("{who}: "), style));
            }
            if text.trim_start().starts_with("```") {
                in_code = !in_code;
                if in_code {
                    block_no += 1;
                    spans.push(Span::styled(
                        format!("┌ code [{block_no}] (/copy {block_no})"),
                        Style::default().fg(theme.muted),
                    ));
                } else {
                    spans.push(Span::styled("└", Style::default().fg(theme.muted)));
                }
            } else if in_code {
                spans.push(Span::styled(
                    format!("│ {text}"),
                    Style::default().fg(theme.sparkline),
                ));
            } else if text.starts_with('#') {
                spans.push(Span::styled(
                    text.trim_start_matches('#').trim().to_string(),
                    Style::default().add_modifier(Modifier::BOLD),
                ));
            } else if m.role == ChatRole::Tool {
                spans.push(Span::styled(
                    format!("⚙ {text}"),
                    Style::default().fg(theme.muted),
                ));
            } else {
                spans.push(Span::raw(text.to_string()));
            }
            lines.push(Line::from(spans));
        }
        if m.text.is_empty() {
            lines.push(Line::from(Span::styled(format!("{who}: "), style)));
        }
    }
    lines
}

pub(super) fn render(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    focused: bool,
) {
    let block = pane_block(Line::from(title(state)), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 3 {
        return;
    }
    let editor_height = if inner.height >= 8 { 4 } else { 3 };
    let [messages, editor] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(editor_height)]).areas(inner);
    let lines = message_lines(state, theme);
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
    let hint = match (typing, state.chat.generating.is_some()) {
        (_, true) => " Esc cancel ",
        (true, false) => " Enter send · Alt-Enter newline · ↑ recall · Esc leave ",
        (false, false) => " a: ask · /help ",
    };
    let editor_block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::default().fg(border))
        .title(hint);
    let editor_inner = editor_block.inner(editor);
    frame.render_widget(editor_block, editor);
    frame.render_widget(&state.chat.editor, editor_inner);
}
