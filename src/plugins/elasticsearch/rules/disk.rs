//! ES-D-01 … 04: node disk against the *effective* watermarks (a percentage capped by
//! `max_headroom` when the watermark is not set explicitly, ES ≥ 8.5; absolute values are the
//! free space to keep), read-only-allow-delete blocks, disk protection off.

use super::RuleInput;
use crate::model::{Finding, Severity};

/// The three watermarks as used-% thresholds for one disk size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Watermarks {
    pub low: f64,
    pub high: f64,
    pub flood: f64,
}

/// `85%`, `0.85`, `500mb`, `200gb` → free bytes to keep on a disk of `total` bytes.
fn required_free(value: &str, total: u64) -> Option<f64> {
    let v = value.trim().to_ascii_lowercase();
    if let Some(p) = v.strip_suffix('%') {
        return p
            .trim()
            .parse::<f64>()
            .ok()
            .map(|p| total as f64 * (1.0 - p / 100.0));
    }
    if let Ok(ratio) = v.parse::<f64>() {
        return Some(total as f64 * (1.0 - ratio));
    }
    parse_size(&v)
}

fn parse_size(v: &str) -> Option<f64> {
    let units = [
        ("tb", 1u64 << 40),
        ("gb", 1 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("b", 1),
    ];
    units.iter().find_map(|(u, m)| {
        v.strip_suffix(u)
            .and_then(|n| n.trim().parse::<f64>().ok())
            .map(|n| n * *m as f64)
    })
}

/// The used-% at which a watermark bites on a disk of `total` bytes.
pub fn effective_used_pct(watermark: &str, headroom: Option<&str>, total: u64) -> Option<f64> {
    if total == 0 {
        return None;
    }
    let mut free = required_free(watermark, total)?;
    if let Some(h) = headroom.and_then(parse_size).filter(|h| *h >= 0.0) {
        free = free.min(h);
    }
    Some((1.0 - free / total as f64) * 100.0)
}

fn watermarks(input: &RuleInput<'_>, total: u64) -> Watermarks {
    let s = input.cur;
    let opensearch = s.distribution == "opensearch";
    let level = |name: &str, default: &str, default_headroom: &str| {
        let key = format!("cluster.routing.allocation.disk.watermark.{name}");
        let value = s.setting(&key).unwrap_or(default).to_string();
        let explicit = s.explicit_settings.contains(&key);
        let headroom_key = format!("{key}.max_headroom");
        let headroom = if opensearch {
            None
        } else if s.explicit_settings.contains(&headroom_key) || !explicit {
            Some(
                s.setting(&headroom_key)
                    .unwrap_or(default_headroom)
                    .to_string(),
            )
        } else {
            None
        };
        effective_used_pct(&value, headroom.as_deref(), total).unwrap_or(100.0)
    };
    Watermarks {
        low: level("low", "85%", "200gb"),
        high: level("high", "90%", "150gb"),
        flood: level("flood_stage", "95%", "100gb"),
    }
}

/// `(node, used bytes, total bytes)`: `_cat/allocation` when read, else the nodes' fs stats.
fn node_disks(s: &super::EsSample) -> Vec<(String, u64, u64)> {
    if s.disks.is_empty() {
        s.nodes
            .iter()
            .map(|n| {
                (
                    n.name.clone(),
                    n.disk_total.saturating_sub(n.disk_available),
                    n.disk_total,
                )
            })
            .collect()
    } else {
        s.disks
            .iter()
            .map(|d| (d.node.clone(), d.used, d.total))
            .collect()
    }
}

/// The nodes at or above their effective high watermark, `(node, used %, high %)` — none when
/// disk protection is off. While one is, the cluster keeps (or puts back) the flood-stage
/// block, so ES-FIX-04 is refused (the catalog's precheck).
pub fn nodes_past_high(sample: &super::EsSample) -> Vec<(String, f64, f64)> {
    if sample.setting("cluster.routing.allocation.disk.threshold_enabled") == Some("false") {
        return Vec::new();
    }
    let input = RuleInput {
        cur: sample,
        prev: None,
        th: &crate::plugins::elasticsearch::settings::EsSettings::default(),
    };
    node_disks(sample)
        .into_iter()
        .filter(|(_, _, total)| *total > 0)
        .filter_map(|(node, used, total)| {
            let pct = used as f64 / total as f64 * 100.0;
            let high = watermarks(&input, total).high;
            (pct >= high).then_some((node, pct, high))
        })
        .collect()
}

pub(super) fn check(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let s = input.cur;
    if s.setting("cluster.routing.allocation.disk.threshold_enabled") == Some("false") {
        out.push(
            Finding::new("ES-D-04", Severity::Warning, "disk", "disk watermarks are disabled",
                "cluster.routing.allocation.disk.threshold_enabled=false: nodes can fill to 100 % and fail.",
                "Turn disk threshold protection back on.")
                .with("threshold_enabled", false)
                .with("threshold", "false (src: default true)"),
        );
    }
    let disks = node_disks(s);
    let disabled = s.setting("cluster.routing.allocation.disk.threshold_enabled") == Some("false");
    for (node, used, total) in disks.into_iter().filter(|(_, _, t)| *t > 0 && !disabled) {
        let pct = used as f64 / total as f64 * 100.0;
        let w = watermarks(input, total);
        let (id, severity, which, meaning) = if pct >= w.flood {
            (
                "ES-D-03",
                Severity::Critical,
                "flood-stage",
                "writes to every index with a shard here fail (read-only-allow-delete block)",
            )
        } else if pct >= w.high {
            (
                "ES-D-02",
                Severity::Warning,
                "high",
                "shards are relocated away; on a single node there is nowhere to go",
            )
        } else if pct >= w.low {
            (
                "ES-D-01",
                Severity::Info,
                "low",
                "no new shards are allocated to this node",
            )
        } else {
            continue;
        };
        out.push(
            Finding::new(id, severity, "disk",
                format!("node {node} disk {pct:.1}% ≥ {which} watermark {:.1}%", match id { "ES-D-03" => w.flood, "ES-D-02" => w.high, _ => w.low }),
                format!("Disk use is past the {which} watermark: {meaning}."),
                "Free disk (delete old indices after a snapshot, ES-FIX-06), add nodes, or raise the watermarks briefly (ES-FIX-05).")
                .with("node", node.clone()).with("disk_used_pct", (pct * 10.0).round() / 10.0)
                .with("disk_total", total)
                .with("low_pct", (w.low * 10.0).round() / 10.0).with("high_pct", (w.high * 10.0).round() / 10.0)
                .with("flood_stage_pct", (w.flood * 10.0).round() / 10.0)
                .with("threshold", "effective watermarks 85/90/95 % capped by max_headroom (src: DiskThresholdSettings)"),
        );
    }
    if !s.read_only_indices.is_empty() {
        out.push(
            Finding::new("ES-D-03", Severity::Critical, "disk",
                format!("{} index(es) blocked read-only-allow-delete: {}", s.read_only_indices.len(), s.read_only_indices.join(", ")),
                "Writes fail with cluster_block_exception [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark].",
                "Free disk below the high watermark; since 7.4 the block is released by itself, otherwise remove it (ES-FIX-04).")
                .with("indices", s.read_only_indices.clone())
                .with("threshold", "index.blocks.read_only_allow_delete=true (src: flood stage)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fired, has, sample};
    use super::*;

    #[test]
    fn effective_watermarks_follow_the_headroom_rule() {
        let tb = 1u64 << 40;
        // 1 TB disk, 90 % with a 150 GB headroom: 100 GB free required... min(102.4 GB, 150 GB).
        assert!((effective_used_pct("90%", Some("150gb"), tb).unwrap() - 90.0).abs() < 0.01);
        // 10 TB: 10 % would be 1 TB free; the headroom caps it at 150 GB → 98.5 %.
        let v = effective_used_pct("90%", Some("150gb"), 10 * tb).unwrap();
        assert!((v - 98.535).abs() < 0.01, "{v}");
        // Absolute values are the free space to keep.
        let v = effective_used_pct("500mb", None, 1 << 30).unwrap();
        assert!((v - 51.17).abs() < 0.1, "{v}");
        assert!((effective_used_pct("0.95", None, 100).unwrap() - 95.0).abs() < 0.01);
    }

    #[test]
    fn disk_levels_and_blocks() {
        let mut s = sample();
        s.nodes[0].disk_total = 100 << 30;
        for (avail_gb, id, tag) in [
            (12, "ES-D-01", "INFO"),
            (8, "ES-D-02", "WARN"),
            (4, "ES-D-03", "CRIT"),
        ] {
            s.nodes[0].disk_available = avail_gb << 30;
            let f = fired(&s, None);
            assert!(has(&f, id, tag), "{avail_gb} GB free: {f:?}");
        }
        s.nodes[0].disk_available = 60 << 30;
        s.read_only_indices = vec!["logs".into()];
        assert!(has(&fired(&s, None), "ES-D-03", "CRIT"));
        s.read_only_indices.clear();
        s.settings.insert(
            "cluster.routing.allocation.disk.watermark.low".into(),
            "30%".into(),
        );
        s.explicit_settings
            .push("cluster.routing.allocation.disk.watermark.low".into());
        assert!(
            has(&fired(&s, None), "ES-D-01", "INFO"),
            "an explicit watermark wins"
        );
        // ES-FIX-04's precheck: 40 % used is past a 30 % high watermark, not past 90 %.
        assert!(nodes_past_high(&s).is_empty());
        s.settings.insert(
            "cluster.routing.allocation.disk.watermark.high".into(),
            "30%".into(),
        );
        s.explicit_settings
            .push("cluster.routing.allocation.disk.watermark.high".into());
        let past = nodes_past_high(&s);
        assert_eq!(past.len(), 1, "{past:?}");
        assert!((past[0].1 - 40.0).abs() < 0.1 && (past[0].2 - 30.0).abs() < 0.1);
        s.settings.insert(
            "cluster.routing.allocation.disk.threshold_enabled".into(),
            "false".into(),
        );
        assert!(
            nodes_past_high(&s).is_empty(),
            "protection off: no precheck"
        );
    }
}
