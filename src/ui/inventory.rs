//! The inventory pane: instances grouped, each with a health badge.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{ellipsize, muted_line, pane_block};
use crate::app::{AppState, Badge, FilterTarget, InventorySort, Mode};
use crate::kube::ContextState;
use crate::theme::Theme;

/// The kubeconfig's contexts: the current one marked, each with its probe state and whether
/// it is read-only by `safety.read_only_contexts`.
fn context_lines(state: &AppState, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    if state.kube.contexts.is_empty() {
        return vec![muted_line(
            ellipsize("ctx: none · static config", width),
            theme,
        )];
    }
    let mut out = vec![Line::from(Span::styled(
        ellipsize("▾ contexts", width),
        Style::default()
            .fg(theme.accent)
            .add_modifier(Modifier::BOLD),
    ))];
    for (c, st) in &state.kube.contexts {
        let current = state.kube.current.as_deref() == Some(c.name.as_str());
        let (glyph, color) = match st {
            ContextState::Connecting => ("○", theme.unknown),
            ContextState::Up { .. } => ("●", theme.ok),
            ContextState::Down { .. } => ("✖", theme.down),
        };
        let ro = if state.safety.is_read_only_context(Some(&c.name)) {
            " RO"
        } else {
            ""
        };
        let text = ellipsize(
            &format!(
                "{} {}{ro} · {}",
                if current { "▸" } else { " " },
                c.name,
                st.label()
            ),
            width.saturating_sub(2),
        );
        let mut style = Style::default();
        if !ro.is_empty() {
            style = style.fg(theme.production);
        }
        if current {
            style = style.add_modifier(Modifier::BOLD);
        }
        out.push(Line::from(vec![
            Span::styled(glyph, Style::default().fg(color)),
            Span::raw(" "),
            Span::styled(text, style),
        ]));
    }
    out
}

/// The current context's cluster: what its watchers have (or why not), and the namespaces
/// shown.
fn cluster_lines(state: &AppState, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    if state.kube.current.is_none() {
        return Vec::new();
    }
    let store = &state.kube.store;
    let mut out = Vec::new();
    let scope = state.namespace_scope();
    let summary = if store.is_synced() {
        format!(
            "  ns {} · {} pods in {} ns",
            scope.label(),
            store.pods.len(),
            store.namespaces().len(),
        )
    } else {
        format!(
            "  ns {} · listing… {} pods",
            scope.label(),
            store.pods.len()
        )
    };
    out.push(muted_line(ellipsize(&summary, width), theme));
    for (r, e) in &store.errors {
        out.push(Line::from(Span::styled(
            ellipsize(&format!("  ⚠ {}: {e}", r.plural()), width),
            Style::default().fg(theme.warning),
        )));
    }
    out
}

/// Badge glyph, label and colour.
pub(crate) fn badge_style(
    badge: Badge,
    theme: &Theme,
) -> (&'static str, &'static str, ratatui::style::Color) {
    match badge {
        Badge::Connecting => ("○", "…", theme.unknown),
        Badge::Ok => ("●", "ok", theme.ok),
        Badge::Warning => ("●", "WARN", theme.warning),
        Badge::Critical => ("●", "CRIT", theme.critical),
        Badge::Down => ("✖", "down", theme.down),
    }
}

pub(super) fn render(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    focused: bool,
) {
    // The filter being typed, or the one in force.
    let title = match &state.mode {
        Mode::Filter(input) if input.target == FilterTarget::Inventory => {
            format!(" Inventory /{}▏ ", input.draft)
        }
        _ if !state.inventory_filter.is_empty() => {
            format!(" Inventory /{} ", state.inventory_filter)
        }
        _ => " Inventory ".to_string(),
    };
    let block = pane_block(
        Line::from(ellipsize(&title, area.width.saturating_sub(2) as usize)),
        focused,
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let mut lines = context_lines(state, theme, width);
    if state.instances.is_empty() {
        lines.push(muted_line("no instances configured", theme));
        lines.push(muted_line("run `kubestack-ai init`", theme));
    }
    lines.extend(cluster_lines(state, theme, width));
    let mut group: Option<String> = None;
    let mut selected_line = 0;
    for i in state.visible_instances() {
        let view = &state.instances[i];
        // A namespace of the cluster and a configured group of the same name stay apart;
        // worst first, the namespaces mix and each name carries its own.
        let by_severity = state.inventory_sort == InventorySort::Severity;
        let g = match &view.kube {
            Some(_) if by_severity => "worst first".to_string(),
            Some(b) => format!("ns {}", b.found.namespace),
            None => view.config.group_name().to_string(),
        };
        if group.as_deref() != Some(g.as_str()) {
            let header = format!("▾ {g}");
            group = Some(g);
            lines.push(Line::from(Span::styled(
                ellipsize(&header, width),
                Style::default()
                    .fg(theme.accent)
                    .add_modifier(Modifier::BOLD),
            )));
        }
        let badge = view.badge();
        let (glyph, mut label, mut color) = badge_style(badge, theme);
        let mut name = view.config.name.clone();
        if let Some(b) = &view.kube {
            let shown = if by_severity {
                &view.config.name
            } else {
                &b.found.name
            };
            name = format!("{shown} {}/{}", b.found.ready, b.found.pods.len());
            if b.gone {
                (label, color) = ("gone", theme.down);
            } else if !b.attached && badge == Badge::Connecting {
                // Not connected yet and no Kubernetes finding: the pods' readiness.
                let healthy = b.found.ready == b.found.pods.len() && !b.found.pods.is_empty();
                (label, color) = if healthy {
                    ("pods", theme.ok)
                } else {
                    ("pods", theme.warning)
                };
            }
        }
        let name_width = width.saturating_sub(4 + label.len() + 1);
        let name = ellipsize(&name, name_width);
        let pad = name_width.saturating_sub(name.chars().count());
        let mut line = Line::from(vec![
            Span::raw("  "),
            Span::styled(glyph, Style::default().fg(color)),
            Span::raw(" "),
            Span::raw(name),
            Span::raw(" ".repeat(pad + 1)),
            Span::styled(
                label,
                Style::default().fg(color).add_modifier(Modifier::BOLD),
            ),
        ]);
        if i == state.selected {
            selected_line = lines.len();
            let style = Style::default()
                .bg(theme.selection_bg)
                .fg(theme.selection_fg);
            line = line.style(if focused {
                style.add_modifier(Modifier::BOLD)
            } else {
                style
            });
        }
        lines.push(line);
    }
    let height = inner.height as usize;
    let offset = selected_line.saturating_sub(height.saturating_sub(1));
    frame.render_widget(Paragraph::new(lines).scroll((offset as u16, 0)), inner);
}
