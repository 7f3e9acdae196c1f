//! Views: each pane renders from a shared borrow of the state; nothing here mutates it.

mod chat;
mod findings;
mod help;
mod inventory;
mod logs;
pub mod markdown;
mod metrics;
mod palette;
pub mod pods;
mod repair;
mod sent;
mod status_bar;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Wrap};

use crate::app::{AppState, Mode, PaneId};
use crate::theme::Theme;

/// Smallest area the dashboard lays out; below it a notice is shown instead.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;
/// Below this width the chat column gives way (to the inventory, or back when chat is focused).
const THREE_COLUMN_WIDTH: u16 = 80;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, state: &AppState, theme: &Theme) {
    draw_frame(frame, state, theme);
    if theme.monochrome {
        monochrome(frame.buffer_mut(), theme);
    }
}

/// Takes the colours out of a drawn frame (`NO_COLOR`): what stood out by its background
/// (selection, badges, the status bar's mode) is shown reversed, critical text in bold, so the
/// screen keeps its meaning with attributes alone.
fn monochrome(buffer: &mut ratatui::buffer::Buffer, theme: &Theme) {
    for cell in &mut buffer.content {
        let mut modifier = cell.modifier;
        if cell.bg != Color::Reset && cell.bg != theme.background {
            modifier |= Modifier::REVERSED;
        }
        if [theme.critical, theme.down, theme.notice_error].contains(&cell.fg)
            && cell.fg != theme.foreground
        {
            modifier |= Modifier::BOLD;
        }
        cell.set_style(
            Style::reset()
                .fg(Color::Reset)
                .bg(Color::Reset)
                .add_modifier(modifier),
        );
    }
}

fn draw_frame(frame: &mut Frame, state: &AppState, theme: &Theme) {
    let area = frame.area();
    let base = Style::default().bg(theme.background).fg(theme.foreground);
    frame.buffer_mut().set_style(area, base);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "terminal too small ({}×{}); need {MIN_WIDTH}×{MIN_HEIGHT} — q quits",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    }
    let [main, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    if state.zoomed {
        draw_pane(frame, state, theme, state.focus, main);
    } else {
        let inventory_width = if area.width >= 120 { 28 } else { 22 };
        let mut chat_width = (area.width * 28 / 100).max(22);
        let mut inventory_width = inventory_width;
        if area.width < THREE_COLUMN_WIDTH {
            // Narrow terminal: two columns; the chat replaces the inventory while it has focus.
            if state.focus == PaneId::Chat {
                inventory_width = 0;
            } else {
                chat_width = 0;
            }
        }
        let [inventory, center, chat] = Layout::horizontal([
            Constraint::Length(inventory_width),
            Constraint::Min(10),
            Constraint::Length(chat_width),
        ])
        .areas(main);
        let [metrics, findings, logs] = Layout::vertical([
            Constraint::Percentage(38),
            Constraint::Percentage(30),
            Constraint::Min(3),
        ])
        .areas(center);
        if inventory.width > 0 {
            draw_pane(frame, state, theme, PaneId::Inventory, inventory);
        }
        draw_pane(frame, state, theme, PaneId::Metrics, metrics);
        draw_pane(frame, state, theme, PaneId::Findings, findings);
        draw_pane(frame, state, theme, PaneId::Logs, logs);
        if chat.width > 0 {
            draw_pane(frame, state, theme, PaneId::Chat, chat);
        }
    }
    status_bar::render(frame, status, state, theme);
    match &state.mode {
        Mode::Help(view) => help::render(frame, main, state, theme, view.scroll),
        Mode::Palette(palette) => palette::render(frame, main, state, theme, palette),
        Mode::Sent(view) => sent::render(frame, main, state, theme, view.scroll),
        Mode::Repair(modal) => repair::render(frame, main, state, modal, theme),
        Mode::Pods(picker) => pods::render_overlay(frame, main, state, theme, picker),
        Mode::Fleet(view) => findings::render_fleet(frame, main, state, theme, view),
        Mode::Contexts(picker) => pods::render_contexts(frame, main, state, theme, picker),
        Mode::Normal | Mode::Filter(_) | Mode::Chat(_) => {}
    }
}

fn draw_pane(frame: &mut Frame, state: &AppState, theme: &Theme, pane: PaneId, area: Rect) {
    let focused = state.focus == pane;
    match pane {
        PaneId::Inventory => inventory::render(frame, area, state, theme, focused),
        PaneId::Metrics => metrics::render(frame, area, state, theme, focused),
        PaneId::Findings => findings::render(frame, area, state, theme, focused),
        PaneId::Logs => logs::render(frame, area, state, theme, focused),
        PaneId::Chat => chat::render(frame, area, state, theme, focused),
    }
}

/// The frame of a pane: rounded border, highlighted when focused.
pub(crate) fn pane_block<'a>(title: Line<'a>, focused: bool, theme: &Theme) -> Block<'a> {
    let border = if focused {
        theme.border_focused
    } else {
        theme.border
    };
    let mut title_style = Style::default().fg(theme.title);
    if focused {
        title_style = title_style.add_modifier(Modifier::BOLD);
    }
    // Focus shows in the text as well as the colour (monochrome terminals, screen readers): a
    // thick frame and a marker before the title.
    // The marker takes the title's leading space, so the title keeps its width.
    let (border_type, title) = if focused {
        let mut spans = vec![Span::raw("▶")];
        let mut rest = title.spans.into_iter();
        if let Some(first) = rest.next() {
            let trimmed = first.content.strip_prefix(' ').map(str::to_string);
            spans.push(match trimmed {
                Some(t) => Span::styled(t, first.style),
                None => first,
            });
        }
        spans.extend(rest);
        (BorderType::Thick, Line::from(spans))
    } else {
        (BorderType::Rounded, title)
    };
    Block::bordered()
        .border_type(border_type)
        .border_style(Style::default().fg(border))
        .title(title.style(title_style))
}

/// A cleared, framed popup of `percent_x` × `percent_y` of `area`; returns its frame and block.
pub(crate) fn popup<'a>(
    frame: &mut Frame,
    area: Rect,
    (percent_x, percent_y): (u16, u16),
    title: &'a str,
    theme: &Theme,
) -> (Rect, Block<'a>) {
    let rect = centered(area, percent_x, percent_y);
    frame.render_widget(ratatui::widgets::Clear, rect);
    let block = pane_block(Line::from(title), true, theme)
        .style(Style::default().bg(theme.background).fg(theme.foreground));
    (rect, block)
}

/// A muted one-line message.
pub(crate) fn muted_line<'a>(text: impl Into<String>, theme: &Theme) -> Line<'a> {
    Line::from(Span::styled(text.into(), Style::default().fg(theme.muted)))
}

/// A rectangle of `percent_x` × `percent_y` centred in `area`.
pub(crate) fn centered(area: Rect, percent_x: u16, percent_y: u16) -> Rect {
    let w = area.width * percent_x / 100;
    let h = area.height * percent_y / 100;
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Truncates to `max` characters with an ellipsis.
pub(crate) fn ellipsize(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut t: String = text.chars().take(max - 1).collect();
    t.push('…');
    t
}
