//! The logs pane: the newest lines (or a paused window), filter matches highlighted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{muted_line, pane_block};
use crate::app::{AppState, InputTarget};
use crate::model::{LogFilter, LogLevel, LogLine};
use crate::theme::Theme;

pub(super) fn render(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    focused: bool,
) {
    let view = state.current();
    let mut title = vec![Span::raw(" Logs ")];
    if let Some(v) = view {
        let mode = if state.logs_view.anchor.is_some() {
            "paused"
        } else {
            "follow"
        };
        title.push(Span::raw(format!("— {} · {mode} ", v.config.name)));
        if let Some(f) = v.logs.filter() {
            title.push(Span::styled(
                format!("· /{} {} matches ", f.query(), v.logs.match_count()),
                Style::default().fg(theme.match_bg),
            ));
        }
        if v.logs.dropped() > 0 {
            title.push(Span::styled(
                format!("· {} dropped ", v.logs.dropped()),
                Style::default().fg(theme.muted),
            ));
        }
    }
    let block = pane_block(Line::from(title), focused, theme);
    let mut inner = block.inner(area);
    frame.render_widget(block, area);
    if state.input == InputTarget::Filter && inner.height > 0 {
        let prompt = Line::from(vec![
            Span::styled(
                "/",
                Style::default()
                    .fg(theme.accent)
                    .add_modifier(Modifier::BOLD),
            ),
            Span::raw(state.filter_draft.clone()),
            Span::styled("▏", Style::default().fg(theme.accent)),
        ]);
        let bottom = Rect {
            y: inner.bottom() - 1,
            height: 1,
            ..inner
        };
        frame.render_widget(Paragraph::new(prompt), bottom);
        inner.height -= 1;
    }
    let Some(view) = view else { return };
    let buf = &view.logs;
    if buf.is_empty() {
        frame.render_widget(
            Paragraph::new(muted_line(
                "no log lines yet (slowlog and server log appear here)",
                theme,
            )),
            inner,
        );
        return;
    }
    let height = inner.height as usize;
    let bottom = state
        .logs_view
        .anchor
        .and_then(|seq| buf.index_of(seq))
        .unwrap_or(buf.len() - 1);
    let top = (bottom + 1).saturating_sub(height);
    let filter = buf.filter();
    let lines: Vec<Line> = (top..=bottom)
        .filter_map(|i| buf.line_at(i))
        .map(|l| render_line(l, filter, state.logs_view.cursor == Some(l.seq), theme))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_line<'a>(
    line: &'a LogLine,
    filter: Option<&LogFilter>,
    is_cursor: bool,
    theme: &Theme,
) -> Line<'a> {
    let text_style = match line.level {
        LogLevel::Error => Style::default().fg(theme.critical),
        LogLevel::Warn => Style::default().fg(theme.warning),
        LogLevel::Debug => Style::default().fg(theme.muted),
        LogLevel::Info => Style::default(),
    };
    let stream = line.source.rsplit('/').next().unwrap_or("");
    let mut spans = vec![
        Span::styled(
            line.at.format("%H:%M:%S ").to_string(),
            Style::default().fg(theme.muted),
        ),
        Span::styled(format!("{stream:<7} "), Style::default().fg(theme.accent)),
    ];
    let text = line.text.as_str();
    match filter {
        Some(f) => {
            let hl = Style::default().bg(theme.match_bg).fg(theme.match_fg);
            let mut pos = 0;
            for (start, end) in f.match_ranges(text) {
                if start > pos {
                    spans.push(Span::styled(&text[pos..start], text_style));
                }
                spans.push(Span::styled(&text[start..end], hl));
                pos = end;
            }
            if pos < text.len() {
                spans.push(Span::styled(&text[pos..], text_style));
            }
        }
        None => spans.push(Span::styled(text, text_style)),
    }
    let mut l = Line::from(spans);
    if is_cursor {
        l = l.style(
            Style::default()
                .bg(theme.selection_bg)
                .add_modifier(Modifier::BOLD),
        );
    }
    l
}
