//! The metrics pane: identity line, then one sparkline row per metric with value and trend.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Wrap};

use super::{ellipsize, muted_line, pane_block};
use crate::app::{AppState, Health};
use crate::model::{MetricSeries, Unit};
use crate::theme::Theme;

/// The label column's narrowest width; it widens to the longest label up to a third of the pane
/// so that labels are not cut into ambiguity (`unassigned sha…`).
const LABEL_WIDTH: u16 = 16;
const VALUE_WIDTH: u16 = 13;

pub(super) fn render(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    focused: bool,
) {
    let title = match state.current() {
        Some(v) => format!(" Metrics — {} ", v.config.name),
        None => " Metrics ".to_string(),
    };
    let block = pane_block(Line::from(title), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(view) = state.current() else {
        frame.render_widget(
            Paragraph::new(muted_line("no instance selected", theme)),
            inner,
        );
        return;
    };
    if inner.height == 0 {
        return;
    }
    let facts = &view.facts;
    let mut header = vec![Span::styled(
        format!(
            "{} {}",
            view.config.kind,
            facts.version.as_deref().unwrap_or("?")
        ),
        Style::default()
            .fg(theme.accent)
            .add_modifier(Modifier::BOLD),
    )];
    if let Some(role) = &facts.role {
        header.push(Span::raw(format!(" · {role}")));
    }
    if let Some(up) = facts.uptime_secs {
        header.push(Span::raw(format!(
            " · up {}",
            Unit::Seconds.format(up as f64)
        )));
    }
    if let Some((_, policy)) = facts.extra.iter().find(|(k, _)| k == "maxmemory_policy") {
        header.push(Span::raw(format!(" · {policy}")));
    }
    header.push(Span::styled(
        format!(" · {}", view.endpoint),
        Style::default().fg(theme.muted),
    ));
    let header_area = Rect { height: 1, ..inner };
    frame.render_widget(Paragraph::new(Line::from(header)), header_area);

    let body = Rect {
        y: inner.y + 1,
        height: inner.height - 1,
        ..inner
    };
    let pods_h = super::pods::render_instance_pods(frame, body, state, view, theme);
    let body = Rect {
        y: body.y + pods_h,
        height: body.height - pods_h,
        ..body
    };
    let problem = match &view.health {
        Health::Down { error, .. }
        | Health::AuthFailed { error }
        | Health::Misconfigured { error } => Some(error.as_str()),
        _ => None,
    };
    let mut y = body.y;
    if let Some(err) = problem {
        let p = Paragraph::new(Line::from(Span::styled(
            format!("✖ {err}"),
            Style::default().fg(theme.down),
        )))
        .wrap(Wrap { trim: true });
        let h = body.height.min(2);
        frame.render_widget(
            p,
            Rect {
                y,
                height: h,
                ..body
            },
        );
        y += h;
    }
    if view.metrics.is_empty() {
        if problem.is_none() && y < body.bottom() {
            frame.render_widget(
                Paragraph::new(muted_line("waiting for the first sample…", theme)),
                Rect {
                    y,
                    height: 1,
                    ..body
                },
            );
        }
        return;
    }
    let longest = view
        .metrics
        .iter()
        .map(|s| s.label.chars().count())
        .max()
        .unwrap_or(0);
    let label_width = u16::try_from(longest + 1)
        .unwrap_or(u16::MAX)
        .min((body.width / 3).max(LABEL_WIDTH))
        .max(LABEL_WIDTH);
    let selected = state.metrics_selected.min(view.metrics.len() - 1);
    if state.zoomed && focused {
        render_chart(
            frame,
            Rect {
                y,
                height: body.bottom().saturating_sub(y),
                ..body
            },
            &view.metrics[selected],
            theme,
        );
        return;
    }
    let spark_width = body.width.saturating_sub(label_width + VALUE_WIDTH + 2);
    for (i, series) in view.metrics.iter().enumerate() {
        if y >= body.bottom() {
            break;
        }
        let row = Rect {
            y,
            height: 1,
            ..body
        };
        let label_style = if focused && i == selected {
            Style::default()
                .bg(theme.selection_bg)
                .fg(theme.selection_fg)
        } else {
            Style::default().fg(theme.muted)
        };
        let label = Span::styled(
            format!(
                "{:<w$}",
                ellipsize(&series.label, label_width as usize - 1),
                w = label_width as usize
            ),
            label_style,
        );
        frame.render_widget(
            Paragraph::new(Line::from(label)),
            Rect {
                width: label_width.min(row.width),
                ..row
            },
        );
        if spark_width > 0 {
            let points = series.sparkline_points(spark_width as usize);
            let spark = Sparkline::default()
                .data(&points)
                .max(1000)
                .style(Style::default().fg(theme.sparkline));
            frame.render_widget(
                spark,
                Rect {
                    x: row.x + label_width,
                    width: spark_width,
                    ..row
                },
            );
        }
        let value = series
            .latest()
            .map(|v| series.unit.format(v))
            .unwrap_or_else(|| "–".into());
        let trend = match series.trend() {
            Some(t) if t > 0.0 => "▲",
            Some(t) if t < 0.0 => "▼",
            _ => " ",
        };
        let value_x = row.x + row.width.saturating_sub(VALUE_WIDTH);
        let text = format!(
            "{:>w$} {trend}",
            ellipsize(&value, VALUE_WIDTH as usize - 2),
            w = VALUE_WIDTH as usize - 2
        );
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(
                text,
                Style::default().add_modifier(Modifier::BOLD),
            ))),
            Rect {
                x: value_x.max(row.x),
                width: VALUE_WIDTH.min(row.width),
                ..row
            },
        );
        y += 1;
    }
}

/// The zoomed chart of one metric: the last hour of its 30 s buckets (mean, and the maximum
/// dimmed), a time axis from `-60m` to `now`, and a value axis in the metric's unit — from 0,
/// and for a percentage fixed at 0–100 % (wider only if a value passed 100 %).
fn render_chart(frame: &mut Frame, area: Rect, series: &MetricSeries, theme: &Theme) {
    use ratatui::symbols::Marker;
    use ratatui::widgets::{Axis, Chart, Dataset, GraphType};
    if area.height < 3 || area.width < 10 {
        return;
    }
    let now = chrono::Utc::now();
    let window = chrono::Duration::minutes(60);
    let buckets: Vec<&crate::model::Bucket> = series.history(now, window).collect();
    let at = |b: &crate::model::Bucket| (b.start - now).num_seconds() as f64 / 60.0;
    let means: Vec<(f64, f64)> = buckets.iter().map(|b| (at(b), b.mean())).collect();
    let maxes: Vec<(f64, f64)> = buckets.iter().map(|b| (at(b), b.max)).collect();
    let high = buckets.iter().map(|b| b.max).fold(0.0_f64, f64::max);
    let low = buckets.iter().map(|b| b.min).fold(f64::INFINITY, f64::min);
    // Headroom above the largest value, unless that overflows.
    let top = match series.unit {
        Unit::Percent => high.max(100.0),
        _ if high > 0.0 && (high * 1.1).is_finite() => high * 1.1,
        _ if high > 0.0 => high,
        _ => 1.0,
    };
    // A running mean of the buckets' means: a sum of large finite values would overflow.
    let mean = means
        .iter()
        .enumerate()
        .fold(0.0, |m, (i, (_, v))| m + (v - m) / (i + 1) as f64);
    let title = if buckets.is_empty() {
        format!(" {} — no history yet ", series.label)
    } else {
        format!(
            " {} — last 60 min in 30 s buckets (mean; maximum dimmed) · min {} · mean {} · max {} ",
            series.label,
            series.unit.format(low),
            series.unit.format(mean),
            series.unit.format(high)
        )
    };
    let datasets = vec![
        Dataset::default()
            .marker(Marker::HalfBlock)
            .graph_type(GraphType::Line)
            .style(Style::default().fg(theme.muted))
            .data(&maxes),
        Dataset::default()
            .marker(Marker::HalfBlock)
            .graph_type(GraphType::Line)
            .style(Style::default().fg(theme.sparkline))
            .data(&means),
    ];
    // No axis titles and no legend: the labels carry the units, the title says which line is
    // which, and nothing covers the newest data at the right edge. Half blocks, not braille:
    // every terminal font has them.
    let x = Axis::default()
        .style(Style::default().fg(theme.muted))
        .bounds([-60.0, 0.0])
        .labels(["-60m", "-30m", "now"]);
    let y = Axis::default()
        .style(Style::default().fg(theme.muted))
        .bounds([0.0, top])
        .labels([
            series.unit.format(0.0),
            series.unit.format(top / 2.0),
            series.unit.format(top),
        ]);
    let chart = Chart::new(datasets)
        .block(
            ratatui::widgets::Block::default().title(Line::from(Span::styled(
                title,
                Style::default().add_modifier(Modifier::BOLD),
            ))),
        )
        .x_axis(x)
        .y_axis(y)
        .legend_position(None);
    frame.render_widget(chart, area);
}
