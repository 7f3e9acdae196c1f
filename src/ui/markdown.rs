//! Markdown of chat answers, rendered one source line at a time so that a streaming answer is
//! rendered incrementally: headings, lists, quotes, emphasis, inline code, tables as text, and
//! fenced code highlighted with syntect (its parse state carries from line to line).
//! Rendered lines are word-wrapped into screen rows here, once, and cached by the chat pane.

use std::sync::OnceLock;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use syntect::highlighting::{
    HighlightIterator, HighlightState, Highlighter, Theme as SyntectTheme, ThemeSet,
};
use syntect::parsing::{ParseState, ScopeStack, SyntaxSet};
use unicode_width::UnicodeWidthStr;

use crate::theme::Theme;

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

fn code_themes() -> &'static ThemeSet {
    static SET: OnceLock<ThemeSet> = OnceLock::new();
    SET.get_or_init(ThemeSet::load_defaults)
}

/// Loads the grammars on a background thread so the first highlighted answer does not pay for it.
pub fn warm_up() {
    std::thread::spawn(|| {
        let _ = syntaxes();
        let _ = code_themes();
    });
}

/// An open fenced code block: the grammar's parse state and the highlighter's state.
#[derive(Clone)]
struct CodeBlock {
    highlight: Option<Highlight>,
}

/// A grammar's parse state, the highlighter's state and the syntect theme (loaded once, static).
#[derive(Clone)]
struct Highlight {
    parse: ParseState,
    state: HighlightState,
    theme: &'static SyntectTheme,
}

/// Where the renderer is between two source lines of one message.
#[derive(Clone, Default)]
pub struct MarkdownState {
    code: Option<CodeBlock>,
    /// Code blocks seen so far in the conversation (they are numbered for `/copy N`).
    pub blocks: usize,
}

impl MarkdownState {
    /// A state that continues the numbering of code blocks.
    pub fn numbered_from(blocks: usize) -> Self {
        MarkdownState { code: None, blocks }
    }
}

/// Styles taken from the theme.
struct Styles {
    text: Style,
    muted: Style,
    heading: Style,
    code: Style,
}

impl Styles {
    fn new(theme: &Theme) -> Self {
        Styles {
            text: Style::default(),
            muted: Style::default().fg(theme.muted),
            heading: Style::default()
                .fg(theme.title)
                .add_modifier(Modifier::BOLD),
            code: Style::default().fg(theme.sparkline),
        }
    }
}

/// Renders one source line (without its newline) into screen rows of `width` columns.
/// `prefix` (e.g. `ai: `) starts the first row.
pub fn render_line(
    state: &mut MarkdownState,
    line: &str,
    prefix: Option<Span<'static>>,
    theme: &Theme,
    width: usize,
) -> Vec<Line<'static>> {
    let styles = Styles::new(theme);
    let trimmed = line.trim_start();
    let mut spans: Vec<Span<'static>> = prefix.into_iter().collect();
    if let Some(lang) = trimmed.strip_prefix("```") {
        if state.code.take().is_some() {
            spans.push(Span::styled("└", styles.muted));
        } else {
            state.blocks += 1;
            state.code = Some(CodeBlock {
                highlight: highlighter_for(lang.trim(), theme),
            });
            let n = state.blocks;
            let lang = lang.trim();
            let label = if lang.is_empty() {
                format!("┌ code [{n}] (/copy {n})")
            } else {
                format!("┌ {lang} [{n}] (/copy {n})")
            };
            spans.push(Span::styled(label, styles.muted));
        }
        return wrap(spans, width, None);
    }
    if let Some(block) = state.code.as_mut() {
        spans.push(Span::styled("│ ", styles.muted));
        spans.extend(highlight(block, line, styles.code));
        return wrap(spans, width, Some(Span::styled("│ ", styles.muted)));
    }
    let indent = line.len() - trimmed.len();
    if trimmed.starts_with('#') {
        let text = trimmed.trim_start_matches('#').trim();
        spans.extend(inline(text, styles.heading, styles.code));
        return wrap(spans, width, None);
    }
    if is_rule(trimmed) {
        spans.push(Span::styled("─".repeat(width.clamp(1, 40)), styles.muted));
        return wrap(spans, width, None);
    }
    if trimmed.starts_with('|') {
        return wrap(table_row(spans, trimmed, &styles), width, None);
    }
    if let Some(rest) = trimmed.strip_prefix("> ") {
        spans.push(Span::styled("▎ ", styles.muted));
        spans.extend(inline(
            rest,
            styles.muted.add_modifier(Modifier::ITALIC),
            styles.code,
        ));
        return wrap(spans, width, None);
    }
    let pad = " ".repeat(indent);
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = trimmed.strip_prefix(bullet) {
            spans.push(Span::raw(format!("{pad}• ")));
            spans.extend(inline(rest, styles.text, styles.code));
            let hang = Span::raw(" ".repeat(indent + 2));
            return wrap(spans, width, Some(hang));
        }
    }
    if !pad.is_empty() {
        spans.push(Span::raw(pad));
    }
    spans.extend(inline(trimmed, styles.text, styles.code));
    wrap(spans, width, None)
}

fn is_rule(line: &str) -> bool {
    let l = line.trim();
    l.len() >= 3 && (l.chars().all(|c| c == '-') || l.chars().all(|c| c == '*'))
}

/// A table row as text: cells separated by `│`; the `|---|:--:|` row becomes a rule.
fn table_row(mut spans: Vec<Span<'static>>, line: &str, styles: &Styles) -> Vec<Span<'static>> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let cells: Vec<&str> = inner.split('|').map(str::trim).collect();
    let separator = cells
        .iter()
        .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':')));
    if separator {
        let widths: Vec<String> = cells.iter().map(|c| "─".repeat(c.len())).collect();
        spans.push(Span::styled(widths.join("─┼─"), styles.muted));
        return spans;
    }
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" │ ", styles.muted));
        }
        spans.extend(inline(cell, styles.text, styles.code));
    }
    spans
}

/// Inline markdown: `**bold**`, `__bold__`, `*italic*`, `` `code` ``.
fn inline(text: &str, base: Style, code: Style) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let mut current = String::new();
    let (mut bold, mut italic) = (false, false);
    let style = |bold: bool, italic: bool| {
        let mut s = base;
        if bold {
            s = s.add_modifier(Modifier::BOLD);
        }
        if italic {
            s = s.add_modifier(Modifier::ITALIC);
        }
        s
    };
    let flush = |current: &mut String, spans: &mut Vec<Span<'static>>, s: Style| {
        if !current.is_empty() {
            spans.push(Span::styled(std::mem::take(current), s));
        }
    };
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        if c == '`'
            && let Some(end) = after.find('`')
        {
            flush(&mut current, &mut spans, style(bold, italic));
            spans.push(Span::styled(after[..end].to_string(), code));
            rest = &after[end + 1..];
            continue;
        }
        if (rest.starts_with("**") || rest.starts_with("__"))
            && (bold || rest[2..].contains(&rest[..2]))
        {
            flush(&mut current, &mut spans, style(bold, italic));
            bold = !bold;
            rest = &rest[2..];
            continue;
        }
        let opens =
            !italic && after.starts_with(|n: char| !n.is_whitespace()) && after.contains('*');
        if c == '*' && (italic || opens) {
            flush(&mut current, &mut spans, style(bold, italic));
            italic = !italic;
            rest = after;
            continue;
        }
        current.push(c);
        rest = after;
    }
    flush(&mut current, &mut spans, style(bold, italic));
    spans
}

fn highlighter_for(lang: &str, theme: &Theme) -> Option<Highlight> {
    let code_theme = code_themes().themes.get(&theme.code_theme)?;
    let set = syntaxes();
    let token = lang.split_whitespace().next().unwrap_or("");
    let syntax = set
        .find_syntax_by_token(token)
        .unwrap_or_else(|| set.find_syntax_plain_text());
    Some(Highlight {
        parse: ParseState::new(syntax),
        state: HighlightState::new(&Highlighter::new(code_theme), ScopeStack::new()),
        theme: code_theme,
    })
}

/// One code line, highlighted when a grammar is active (else in the code colour).
fn highlight(block: &mut CodeBlock, line: &str, plain: Style) -> Vec<Span<'static>> {
    let Some(hl) = block.highlight.as_mut() else {
        return vec![Span::styled(line.to_string(), plain)];
    };
    let with_newline = format!("{line}\n");
    let Ok(ops) = hl.parse.parse_line(&with_newline, syntaxes()) else {
        block.highlight = None; // a grammar error: the rest of the block stays plain
        return vec![Span::styled(line.to_string(), plain)];
    };
    let highlighter = Highlighter::new(hl.theme);
    HighlightIterator::new(&mut hl.state, &ops, &with_newline, &highlighter)
        .filter_map(|(style, text)| {
            let text = text.trim_end_matches('\n');
            let fg = style.foreground;
            (!text.is_empty()).then(|| {
                Span::styled(
                    text.to_string(),
                    Style::default().fg(Color::Rgb(fg.r, fg.g, fg.b)),
                )
            })
        })
        .collect()
}

/// Wraps spans into rows of `width` columns at word boundaries (words longer than a row are
/// split); continuation rows start with `hang`.
pub fn wrap(
    spans: Vec<Span<'static>>,
    width: usize,
    hang: Option<Span<'static>>,
) -> Vec<Line<'static>> {
    let width = width.max(8);
    let hang_width = hang.as_ref().map_or(0, |h| h.width()).min(width / 2);
    let mut rows: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut used = 0usize;
    let new_row = |rows: &mut Vec<Vec<Span<'static>>>, used: &mut usize| {
        let mut row = Vec::new();
        if let Some(h) = &hang {
            row.push(h.clone());
        }
        rows.push(row);
        *used = hang_width;
    };
    for span in spans {
        let style = span.style;
        for piece in pieces(&span.content) {
            let w = piece.width();
            let blank = piece.starts_with(char::is_whitespace);
            if used + w <= width {
                push(rows.last_mut().expect("a row"), piece, style);
                used += w;
            } else if blank {
                new_row(&mut rows, &mut used);
            } else if w <= width - hang_width && used > hang_width {
                new_row(&mut rows, &mut used);
                push(rows.last_mut().expect("a row"), piece, style);
                used += w;
            } else {
                for ch in piece.chars() {
                    let cw = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
                    if used + cw > width {
                        new_row(&mut rows, &mut used);
                    }
                    push(rows.last_mut().expect("a row"), &ch.to_string(), style);
                    used += cw;
                }
            }
        }
    }
    rows.into_iter().map(Line::from).collect()
}

/// Splits text into runs of whitespace and runs of non-whitespace.
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let blank = first.is_whitespace();
        let end = rest
            .char_indices()
            .find(|(_, c)| c.is_whitespace() != blank)
            .map_or(rest.len(), |(i, _)| i);
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

/// Appends text to a row, extending the last span when the style is the same.
fn push(row: &mut Vec<Span<'static>>, text: &str, style: Style) {
    match row.last_mut() {
        Some(last) if last.style == style => last.content.to_mut().push_str(text),
        _ => row.push(Span::styled(text.to_string(), style)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(rows: &[Line<'_>]) -> Vec<String> {
        rows.iter().map(|l| l.to_string()).collect()
    }

    fn dark() -> Theme {
        Theme::builtin("dark").expect("built-in theme")
    }

    #[test]
    fn emphasis_code_and_lists() {
        let spans = inline(
            "a **bold** and *it* with `CONFIG GET`",
            Style::default(),
            Style::default(),
        );
        let parts: Vec<(&str, bool, bool)> = spans
            .iter()
            .map(|s| {
                (
                    s.content.as_ref(),
                    s.style.add_modifier.contains(Modifier::BOLD),
                    s.style.add_modifier.contains(Modifier::ITALIC),
                )
            })
            .collect();
        assert_eq!(
            parts,
            [
                ("a ", false, false),
                ("bold", true, false),
                (" and ", false, false),
                ("it", false, true),
                (" with ", false, false),
                ("CONFIG GET", false, false),
            ]
        );
        // A lone star (multiplication, a glob) stays text.
        let spans = inline("2 * 3 and KEYS *", Style::default(), Style::default());
        assert_eq!(
            spans.iter().map(|s| s.content.as_ref()).collect::<String>(),
            "2 * 3 and KEYS *"
        );
        let mut st = MarkdownState::default();
        assert_eq!(
            text(&render_line(&mut st, "  - nested item", None, &dark(), 40)),
            ["  • nested item"]
        );
        assert_eq!(
            text(&render_line(&mut st, "## Cause", None, &dark(), 40)),
            ["Cause"]
        );
        assert_eq!(
            text(&render_line(&mut st, "| rule | value |", None, &dark(), 40)),
            ["rule │ value"]
        );
        assert_eq!(
            text(&render_line(&mut st, "|---|---|", None, &dark(), 40)),
            ["────┼────"]
        );
    }

    #[test]
    fn code_blocks_are_numbered_and_highlighted() {
        let theme = dark();
        let mut st = MarkdownState::numbered_from(2);
        let open = render_line(&mut st, "```python", None, &theme, 60);
        assert_eq!(text(&open), ["┌ python [3] (/copy 3)"]);
        let line = render_line(&mut st, "def f(): return 1", None, &theme, 60);
        assert_eq!(text(&line), ["│ def f(): return 1"]);
        let colours: std::collections::HashSet<_> =
            line[0].spans.iter().skip(1).map(|s| s.style.fg).collect();
        assert!(
            colours.len() > 1,
            "keywords and names differ in colour: {colours:?}"
        );
        assert!(colours.iter().all(|c| matches!(c, Some(Color::Rgb(..)))));
        assert_eq!(text(&render_line(&mut st, "```", None, &theme, 60)), ["└"]);
        assert_eq!(st.blocks, 3);
        // High contrast: no syntect colours, the plain code colour.
        let hc = Theme::builtin("high-contrast").unwrap();
        let mut st = MarkdownState::default();
        render_line(&mut st, "```sh", None, &hc, 60);
        let line = render_line(&mut st, "redis-cli INFO", None, &hc, 60);
        assert!(
            line[0]
                .spans
                .iter()
                .all(|s| !matches!(s.style.fg, Some(Color::Rgb(..))))
        );
    }

    #[test]
    fn wrapping_breaks_at_words_and_splits_long_words() {
        let rows = wrap(vec![Span::raw("the quick brown fox jumps")], 10, None);
        assert_eq!(text(&rows), ["the quick ", "brown fox ", "jumps"]);
        let rows = wrap(vec![Span::raw("abcdefghijklmnopqrstuvwxyz")], 10, None);
        assert_eq!(text(&rows), ["abcdefghij", "klmnopqrst", "uvwxyz"]);
        let rows = wrap(
            vec![Span::raw("• "), Span::raw("one two three four")],
            10,
            Some(Span::raw("  ")),
        );
        assert_eq!(text(&rows), ["• one two ", "  three ", "  four"]);
        // Wide characters count two columns.
        let rows = wrap(vec![Span::raw("缓存缓存缓存")], 8, None);
        assert_eq!(text(&rows), ["缓存缓存", "缓存"]);
    }
}
