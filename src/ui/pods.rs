//! Pod tables: the pods overlay (`P`: every pod of the current context in the namespaces
//! shown, filtered as you type) and the pods of a discovered instance above its metrics. Only
//! the rows on screen are formatted, so a 10 000-pod context costs one pass to filter.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{ellipsize, muted_line, popup};
use crate::app::{AppState, ContextsPicker, PodColumn, PodOrder, PodsPicker};
use crate::kube::PodRow;
use crate::kube::store::MetricsState;
use crate::theme::Theme;

/// `45s`, `12m`, `5h`, `3d`, as kubectl shows ages.
pub fn age(created: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(c) = created else {
        return "?".into();
    };
    let s = (now - c).num_seconds().max(0);
    match s {
        0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", s / 60),
        7200..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// CPU and memory columns: figures when metrics.k8s.io answers, `n/a` when it does not.
fn usage(p: &PodRow, metrics: MetricsState) -> (String, String) {
    match metrics {
        MetricsState::Present => (
            p.cpu_millis.map_or("-".into(), |c| format!("{c}m")),
            p.memory_bytes
                .map_or("-".into(), |m| format!("{}Mi", m / (1 << 20))),
        ),
        _ => ("n/a".into(), "n/a".into()),
    }
}

const HEADER: &str = "NAMESPACE        NAME                            STATUS              READY  RESTARTS  AGE   NODE            CPU     MEM";

/// The header with the sorted column marked (`▼` its first direction, `▲` reversed) — in the
/// column's own width, so the columns stay where the rows put them.
fn header(order: PodOrder) -> String {
    let label = match order.column {
        PodColumn::Name => "NAME",
        PodColumn::Status => "STATUS",
        PodColumn::Restarts => "RESTARTS",
        PodColumn::Age => "AGE",
        PodColumn::Cpu => "CPU",
        PodColumn::Memory => "MEM",
    };
    let mark = if order.reversed { "▲" } else { "▼" };
    // Each label is followed by a space (the last one by the one added here): the mark takes it.
    format!("{HEADER} ").replacen(&format!("{label} "), &format!("{label}{mark}"), 1)
}

/// One row, columns as in [`HEADER`].
pub fn pod_row_text(p: &PodRow, metrics: MetricsState, now: DateTime<Utc>) -> String {
    let (cpu, mem) = usage(p, metrics);
    format!(
        "{:<16} {:<31} {:<19} {:<6} {:<9} {:<5} {:<15} {:<7} {}",
        ellipsize(&p.namespace, 16),
        ellipsize(&p.name, 31),
        ellipsize(&p.status, 19),
        format!("{}/{}", p.ready, p.containers),
        p.restarts,
        age(p.created, now),
        ellipsize(p.node.as_deref().unwrap_or("-"), 15),
        cpu,
        mem
    )
}

fn status_color(p: &PodRow, theme: &Theme) -> ratatui::style::Color {
    if p.is_ready() {
        theme.ok
    } else if p.phase == "Pending" || p.phase == "Running" && p.status == "Running" {
        theme.warning
    } else if p.phase == "Succeeded" {
        theme.muted
    } else {
        theme.critical
    }
}

/// The pods overlay.
pub(super) fn render_overlay(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    picker: &PodsPicker,
) {
    let filter = picker.filter.as_str();
    let (rect, block) = popup(
        frame,
        area,
        (96, 90),
        " Pods (type to filter · Enter opens its instance · Esc closes) ",
        theme,
    );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    if inner.height < 3 {
        return;
    }
    let keys = picker.keys(state);
    // Clamped as Enter reads it: the list may have shrunk since the last key.
    let selected = picker.selected.min(keys.len().saturating_sub(1));
    let store = &state.kube.store;
    let now = Utc::now();
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                "/ ",
                Style::default()
                    .fg(theme.accent)
                    .add_modifier(Modifier::BOLD),
            ),
            Span::raw(filter.to_string()),
            Span::styled("▏", Style::default().fg(theme.accent)),
            Span::styled(
                format!(
                    "   {} of {} pods · ns {}{}",
                    keys.len(),
                    store.pods.len(),
                    state.namespace_scope().label(),
                    if store.is_synced() {
                        ""
                    } else {
                        " · listing…"
                    }
                ),
                Style::default().fg(theme.muted),
            ),
        ]),
        Line::from(Span::styled(
            ellipsize(&header(picker.order), inner.width as usize),
            Style::default()
                .fg(theme.muted)
                .add_modifier(Modifier::BOLD),
        )),
    ];
    let visible = inner.height as usize - 2;
    let offset = selected.saturating_sub(visible.saturating_sub(1));
    if keys.is_empty() {
        lines.push(muted_line(
            if store.pods.is_empty() {
                "no pods (yet)"
            } else {
                "no pod matches"
            },
            theme,
        ));
    }
    let shown = keys
        .iter()
        .enumerate()
        .skip(offset)
        .take(visible)
        .filter_map(|(i, k)| Some((i, store.pods.get(k)?)));
    for (i, p) in shown {
        let text = ellipsize(&pod_row_text(p, store.metrics, now), inner.width as usize);
        let mut line = Line::from(Span::styled(
            text,
            Style::default().fg(status_color(p, theme)),
        ));
        if i == selected {
            line = line.style(
                Style::default()
                    .bg(theme.selection_bg)
                    .fg(theme.selection_fg)
                    .add_modifier(Modifier::BOLD),
            );
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A discovered instance's forward and pods, for the top of its metrics pane; returns the
/// rows used.
pub(super) fn render_instance_pods(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    view: &crate::app::InstanceView,
    theme: &Theme,
) -> u16 {
    let Some(b) = &view.kube else {
        return 0;
    };
    let store = &state.kube.store;
    let now = Utc::now();
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("{} {} ", b.found.workload_kind, b.found.name),
            Style::default().fg(theme.accent),
        ),
        Span::styled(
            format!(
                "· {} · port {} · {}",
                b.found.evidence,
                b.found.port,
                b.forward.as_deref().unwrap_or("select to connect")
            ),
            Style::default().fg(theme.muted),
        ),
    ])];
    // Natural order (`-2` before `-10`), and columns as wide as their longest entry (within
    // bounds), so a long name never shifts the status column.
    let mut pods: Vec<&PodRow> = b
        .found
        .pods
        .iter()
        .filter_map(|name| store.pods.get(&(b.found.namespace.clone(), name.clone())))
        .collect();
    pods.sort_by(|x, y| alphanumeric_sort::compare_str(&x.name, &y.name));
    let column = |len: fn(&PodRow) -> usize, cap: usize| {
        pods.iter().map(|p| len(p)).max().unwrap_or(0).clamp(1, cap)
    };
    let name_width = column(|p| p.name.chars().count(), (area.width as usize / 2).max(8));
    let status_width = column(|p| p.status.chars().count(), 20);
    for p in pods {
        let (cpu, mem) = usage(p, store.metrics);
        lines.push(Line::from(Span::styled(
            ellipsize(
                &format!(
                    "  {:<name_width$} {:<status_width$} {}/{} ↻{} {} {} cpu {cpu} mem {mem}",
                    ellipsize(&p.name, name_width),
                    ellipsize(&p.status, status_width),
                    p.ready,
                    p.containers,
                    p.restarts,
                    age(p.created, now),
                    p.node.as_deref().unwrap_or("-"),
                ),
                area.width as usize,
            ),
            Style::default().fg(status_color(p, theme)),
        )));
    }
    let h = (lines.len() as u16).min(area.height);
    frame.render_widget(Paragraph::new(lines), Rect { height: h, ..area });
    h
}

/// The context picker: each context with its state; Enter switches.
pub(super) fn render_contexts(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    picker: &ContextsPicker,
) {
    let selected = picker.selected;
    let (rect, block) = popup(
        frame,
        area,
        (60, 40),
        " Kubernetes context (Enter switches · Esc closes) ",
        theme,
    );
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let lines: Vec<Line> = state
        .kube
        .contexts
        .iter()
        .enumerate()
        .map(|(i, (c, st))| {
            let current = state.kube.current.as_deref() == Some(c.name.as_str());
            let ro = state.safety.is_read_only_context(Some(&c.name));
            let text = format!(
                "{} {}{} · {} · {}",
                if current { "▸" } else { " " },
                c.name,
                if ro { " (read-only)" } else { "" },
                c.server.as_deref().unwrap_or("?"),
                st.label()
            );
            let mut style = Style::default().fg(if ro {
                theme.production
            } else {
                theme.foreground
            });
            if i == selected {
                style = style.bg(theme.selection_bg).add_modifier(Modifier::BOLD);
            }
            Line::from(Span::styled(ellipsize(&text, inner.width as usize), style))
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
