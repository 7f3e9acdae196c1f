//! The chat pane: the selected instance's conversation (streamed answers, tool calls,
//! notices, offline analysis), the meter, and the editor.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};

use super::markdown::{self, MarkdownState};
use super::pane_block;
use crate::app::{AppState, ChatMessage, ChatRole, InstanceView, Mode};
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

/// The label and style of a message's first row.
fn speaker(role: ChatRole, theme: &Theme) -> (&'static str, Style) {
    let bold = |c| Style::default().fg(c).add_modifier(Modifier::BOLD);
    match role {
        ChatRole::User => ("you", bold(theme.user_message)),
        ChatRole::Assistant => ("ai", bold(theme.accent)),
        ChatRole::Tool => ("tool", Style::default().fg(theme.muted)),
        ChatRole::Notice => ("note", Style::default().fg(theme.warning)),
        ChatRole::Error => ("error", bold(theme.critical)),
        ChatRole::Offline => ("offline", bold(theme.info)),
        ChatRole::Plan => ("plan", bold(theme.warning)),
    }
}

/// The rendered rows of one message: complete source lines are rendered once and kept; only
/// the unfinished last line of the newest message is rendered per frame.
struct Entry {
    id: u64,
    rows: Vec<Line<'static>>,
    /// Bytes of the message's text already rendered into `rows`.
    consumed: usize,
    markdown: MarkdownState,
    /// Whether the first row (with the speaker label) was rendered.
    started: bool,
}

/// The chat pane's rendered rows, per conversation, for one width and theme (kept in the
/// instance's `ChatRenderCache`). Appending a token costs the rendering of at most the current
/// line: no re-parse of the history, and a frame only copies the visible rows.
#[derive(Default)]
struct RowCache {
    width: usize,
    theme: String,
    entries: Vec<Entry>,
}

impl RowCache {
    fn cached_rows(&self) -> usize {
        self.entries.iter().map(|e| e.rows.len()).sum()
    }

    /// Brings the cache up to date with `messages`; returns the rows of the unfinished last
    /// line of the newest message (rendered fresh, not cached).
    fn update(
        &mut self,
        messages: &[ChatMessage],
        theme: &Theme,
        width: usize,
    ) -> Vec<Line<'static>> {
        if self.width != width || self.theme != theme.name {
            self.entries.clear();
            self.width = width;
            self.theme = theme.name.clone();
        }
        // Keep the entries whose messages are unchanged (same id, in the same place).
        let keep = self
            .entries
            .iter()
            .zip(messages)
            .take_while(|(e, m)| e.id == m.id && e.consumed <= m.text.len())
            .count();
        self.entries.truncate(keep);
        let last = messages.len().saturating_sub(1);
        let mut tail = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            if i >= self.entries.len() {
                let blocks = self.entries.last().map_or(0, |e| e.markdown.blocks);
                self.entries.push(Entry {
                    id: m.id,
                    rows: Vec::new(),
                    consumed: 0,
                    markdown: MarkdownState::numbered_from(blocks),
                    started: false,
                });
            }
            let entry = &mut self.entries[i];
            if i < last && entry.consumed == m.text.len() && entry.started {
                continue;
            }
            let (who, style) = speaker(m.role, theme);
            while let Some(nl) = m.text[entry.consumed..].find('\n') {
                let line = &m.text[entry.consumed..entry.consumed + nl];
                let rows = render_source_line(entry, m.role, line, who, style, theme, width);
                entry.rows.extend(rows);
                entry.consumed += nl + 1;
            }
            let rest = &m.text[entry.consumed..];
            if i < last {
                // A finished message: its last line is rendered for good.
                if !rest.is_empty() || !entry.started {
                    let rows = render_source_line(entry, m.role, rest, who, style, theme, width);
                    entry.rows.extend(rows);
                }
                entry.consumed = m.text.len();
            } else if !rest.is_empty() || !entry.started {
                // The newest message may still grow: render its last line on a scratch state.
                let mut scratch = Entry {
                    id: entry.id,
                    rows: Vec::new(),
                    consumed: entry.consumed,
                    markdown: entry.markdown.clone(),
                    started: entry.started,
                };
                tail = render_source_line(&mut scratch, m.role, rest, who, style, theme, width);
            }
        }
        tail
    }
}

fn render_source_line(
    entry: &mut Entry,
    role: ChatRole,
    line: &str,
    who: &str,
    style: Style,
    theme: &Theme,
    width: usize,
) -> Vec<Line<'static>> {
    let prefix = (!entry.started).then(|| Span::styled(format!("{who}: "), style));
    entry.started = true;
    match role {
        ChatRole::Assistant | ChatRole::Offline | ChatRole::Notice => {
            markdown::render_line(&mut entry.markdown, line, prefix, theme, width)
        }
        ChatRole::Tool => {
            let mut spans: Vec<Span<'static>> = prefix.into_iter().collect();
            spans.push(Span::styled(
                format!("⚙ {line}"),
                Style::default().fg(theme.muted),
            ));
            markdown::wrap(spans, width, None)
        }
        ChatRole::User | ChatRole::Error | ChatRole::Plan => {
            let mut spans: Vec<Span<'static>> = prefix.into_iter().collect();
            spans.push(Span::raw(line.to_string()));
            markdown::wrap(spans, width, None)
        }
    }
}

/// The rows of the conversation visible in `height` rows: the newest ones while following,
/// else from `scroll`. Records the viewport for scrolling.
fn visible_rows(
    view: &InstanceView,
    state: &AppState,
    theme: &Theme,
    width: usize,
    height: usize,
) -> Vec<Line<'static>> {
    let mut slot = view.chat_render.borrow_mut();
    let cache = slot.view_state::<RowCache>();
    let mut rows: Vec<Line<'static>> = Vec::new();
    if state.chat.profile.is_none() && view.chat.is_empty() {
        let hint = Span::styled(NOT_CONFIGURED, Style::default().fg(theme.muted));
        rows = markdown::wrap(vec![hint], width, None);
    }
    let tail = cache.update(&view.chat, theme, width);
    let total = rows.len() + cache.cached_rows() + tail.len();
    let max_top = total.saturating_sub(height);
    let top = view.chat_scroll.map_or(max_top, |t| t.min(max_top));
    let cached_rows = cache.cached_rows();
    // Walk whole messages to the first visible row: a frame costs the visible rows, not the
    // length of the conversation.
    let mut skip = top;
    let mut out = Vec::with_capacity(height);
    let parts = std::iter::once(rows.as_slice())
        .chain(cache.entries.iter().map(|e| e.rows.as_slice()))
        .chain(std::iter::once(tail.as_slice()));
    for part in parts {
        if out.len() >= height {
            break;
        }
        if skip >= part.len() {
            skip -= part.len();
            continue;
        }
        let take = (height - out.len()).min(part.len() - skip);
        out.extend_from_slice(&part[skip..skip + take]);
        skip = 0;
    }
    slot.record_frame((top, total, height), cached_rows);
    out
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
    if let Some(view) = state.current() {
        let rows = visible_rows(
            view,
            state,
            theme,
            usize::from(messages.width),
            usize::from(messages.height),
        );
        frame.render_widget(Paragraph::new(rows), messages);
    }

    let typing = matches!(state.mode, Mode::Chat(_));
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
