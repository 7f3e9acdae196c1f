//! The `:sent` overlay: exactly the last payload that went to a model, after redaction.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::{Paragraph, Wrap};

use super::popup;
use crate::app::AppState;
use crate::theme::Theme;

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
        (90, 90),
        " Last payload sent to the model (after redaction; Esc closes) ",
        theme,
    );
    let text = match &state.chat.last_sent {
        Some(body) => serde_json::from_str::<serde_json::Value>(body)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or_else(|_| body.clone()),
        None => "Nothing has been sent to a model in this session.".to_string(),
    };
    let para = Paragraph::new(text)
        .block(block)
        .wrap(Wrap { trim: false })
        .scroll((scroll as u16, 0));
    frame.render_widget(para, rect);
}
