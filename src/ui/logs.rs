//! The logs pane: the newest lines (or a paused window), filter matches highlighted.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{muted_line, pane_block};
use crate::app::{AppState, FilterTarget, Mode};
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
        if let Some(b) = &v.kube {
            let opts = b.log_options.label();
            if !opts.is_empty() {
                title.push(Span::raw(format!("· {opts} ")));
            }
            // Streams not simply following, e.g. `cache-1: reconnecting in 0.5 s`.
            let odd: Vec<String> = b
                .log_states
                .iter()
                .filter(|(_, t)| t.as_str() != "following")
                .map(|(p, t)| format!("{p}: {t}"))
                .collect();
            if !odd.is_empty() {
                title.push(Span::styled(
                    format!("· {} ", odd.join(" · ")),
                    Style::default().fg(theme.warning),
                ));
            }
            if b.log_dropped > 0 {
                title.push(Span::styled(
                    format!(
                        "· {} dropped (screen slower than the streams) ",
                        b.log_dropped
                    ),
                    Style::default().fg(theme.warning),
                ));
            }
        }
        if v.logs.dropped() > 0 {
            // The buffer's size at work, not a loss: said so, unlike the queue's drops above.
            title.push(Span::styled(
                format!(
                    "· newest {} kept, {} rolled out ",
                    v.logs.capacity(),
                    v.logs.dropped()
                ),
                Style::default().fg(theme.muted),
            ));
        }
    }
    let block = pane_block(Line::from(title), focused, theme);
    let mut inner = block.inner(area);
    frame.render_widget(block, area);
    if let (Mode::Filter(input), true) = (&state.mode, inner.height > 0)
        && input.target == FilterTarget::Logs
    {
        let prompt = Line::from(vec![
            Span::styled(
                "/",
                Style::default()
                    .fg(theme.accent)
                    .add_modifier(Modifier::BOLD),
            ),
            Span::raw(input.draft.clone()),
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
    let display = state.log_display;
    let top = if display.wrap {
        // Lines from the bottom up until the rows are full, counting wrapped rows.
        let width = (inner.width as usize).max(1);
        let mut rows = 0;
        let mut top = bottom + 1;
        while top > 0 && rows < height {
            let l = buf
                .line_at(top - 1)
                .map_or(0, |l| l.text.chars().count() + 18);
            rows += l.div_ceil(width).max(1);
            top -= 1;
        }
        top
    } else {
        (bottom + 1).saturating_sub(height)
    };
    let filter = buf.filter();
    let lines: Vec<Line> = (top..=bottom)
        .filter_map(|i| buf.line_at(i))
        .map(|l| {
            render_line(
                l,
                filter,
                state.logs_view.cursor == Some(l.seq),
                display.timestamps,
                theme,
            )
        })
        .collect();
    let mut p = Paragraph::new(lines);
    if display.wrap {
        p = p.wrap(ratatui::widgets::Wrap { trim: false });
        // Keep the newest rows in view when wrapping overfills the pane.
        let total: usize = (top..=bottom)
            .filter_map(|i| buf.line_at(i))
            .map(|l| {
                (l.text.chars().count() + 18)
                    .div_ceil((inner.width as usize).max(1))
                    .max(1)
            })
            .sum();
        p = p.scroll((total.saturating_sub(height) as u16, 0));
    }
    frame.render_widget(p, inner);
}

/// A colour per source (pod), stable across frames.
fn source_color(stream: &str, theme: &Theme) -> ratatui::style::Color {
    let palette = [
        theme.accent,
        theme.ok,
        theme.sparkline,
        theme.warning,
        theme.unknown,
    ];
    let h = stream
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    palette[h as usize % palette.len()]
}

fn render_line<'a>(
    line: &'a LogLine,
    filter: Option<&LogFilter>,
    is_cursor: bool,
    timestamps: bool,
    theme: &Theme,
) -> Line<'a> {
    let text_style = match line.level {
        LogLevel::Error => Style::default().fg(theme.critical),
        LogLevel::Warn => Style::default().fg(theme.warning),
        LogLevel::Debug => Style::default().fg(theme.muted),
        LogLevel::Info => Style::default(),
    };
    let stream = line.source.rsplit('/').next().unwrap_or("");
    let mut spans = Vec::with_capacity(4);
    if timestamps {
        spans.push(Span::styled(
            line.at.format("%H:%M:%S ").to_string(),
            Style::default().fg(theme.muted),
        ));
    }
    spans.push(Span::styled(
        format!("{stream:<7} "),
        Style::default().fg(source_color(stream, theme)),
    ));
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
