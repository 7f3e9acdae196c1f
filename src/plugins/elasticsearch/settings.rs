//! `[elasticsearch]`: the thresholds of the Elasticsearch/OpenSearch rules that a site tunes
//! (heap pressure, GC overhead, rejected searches and writes, the master's task backlog); owned
//! by the plugin, read through [`crate::config::PluginSettings`]. The disk watermarks are not
//! here: the rules read the cluster's own `cluster.routing.allocation.disk.*` settings.

use serde::{Deserialize, Serialize};

use crate::config::{DAY_MS, PluginSettings, RangeChecks, RangeProblem};

/// Site-tunable thresholds of the Elasticsearch rules (defaults are the catalog's values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EsSettings {
    /// ES-J-01: JVM memory pressure (old pool, else heap) in %, in two samples running, for WARN.
    pub heap_warn_pct: f64,
    /// ES-J-01: the same for CRIT.
    pub heap_crit_pct: f64,
    /// ES-J-02: share of wall time spent in GC, in %, for WARN (`monitor.jvm.gc.overhead`).
    pub gc_overhead_warn_pct: f64,
    /// ES-J-02: the same for CRIT.
    pub gc_overhead_crit_pct: f64,
    /// ES-T-01: rejected share of write/search/get requests, in %, above which it is CRIT.
    pub rejected_crit_pct: f64,
    /// ES-H-06: the oldest pending cluster task waiting longer than this (ms) is a WARN.
    pub pending_task_wait_ms: u64,
}

impl Default for EsSettings {
    fn default() -> Self {
        EsSettings {
            heap_warn_pct: 85.0,
            heap_crit_pct: 95.0,
            gc_overhead_warn_pct: 25.0,
            gc_overhead_crit_pct: 50.0,
            rejected_crit_pct: 1.0,
            pending_task_wait_ms: 30_000,
        }
    }
}

impl PluginSettings for EsSettings {
    const SECTION: &'static str = "elasticsearch";

    fn range_problems(&self) -> Vec<RangeProblem> {
        let mut c = RangeChecks::default();
        let pct = "a percentage";
        c.float(
            "elasticsearch.heap_warn_pct",
            self.heap_warn_pct,
            1.0,
            100.0,
            pct,
        );
        c.float(
            "elasticsearch.heap_crit_pct",
            self.heap_crit_pct,
            1.0,
            100.0,
            pct,
        );
        c.float(
            "elasticsearch.gc_overhead_warn_pct",
            self.gc_overhead_warn_pct,
            1.0,
            100.0,
            pct,
        );
        c.float(
            "elasticsearch.gc_overhead_crit_pct",
            self.gc_overhead_crit_pct,
            1.0,
            100.0,
            pct,
        );
        c.float(
            "elasticsearch.rejected_crit_pct",
            self.rejected_crit_pct,
            0.0,
            100.0,
            pct,
        );
        c.count(
            "elasticsearch.pending_task_wait_ms",
            self.pending_task_wait_ms,
            1,
            DAY_MS,
        );
        for (warn, crit, key) in [
            (self.heap_warn_pct, self.heap_crit_pct, "heap"),
            (
                self.gc_overhead_warn_pct,
                self.gc_overhead_crit_pct,
                "gc_overhead",
            ),
        ] {
            if warn > crit {
                c.push(
                    &format!("elasticsearch.{key}_warn_pct"),
                    format!("must not be above elasticsearch.{key}_crit_pct"),
                );
            }
        }
        c.into_problems()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CONFIG_TEMPLATE, parse_config};
    use crate::plugins::registry::kind_rules;

    #[test]
    fn the_template_reads_as_the_defaults() {
        let parsed = parse_config(CONFIG_TEMPLATE, &kind_rules()).unwrap();
        assert_eq!(EsSettings::of(&parsed), EsSettings::default());
    }

    #[test]
    fn values_out_of_range_are_named_by_key() {
        assert_eq!(EsSettings::default().range_problems(), Vec::new());
        let s = EsSettings {
            heap_warn_pct: 99.0,
            pending_task_wait_ms: 0,
            ..EsSettings::default()
        };
        let keys: Vec<String> = s.range_problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "elasticsearch.pending_task_wait_ms",
                "elasticsearch.heap_warn_pct"
            ]
        );
    }

    /// TOML has `nan` and `inf`, and an environment variable can say `-1`: none of them may
    /// reach a rule as a threshold.
    #[test]
    fn nan_infinite_and_negative_thresholds_are_refused_by_key() {
        let text = "[elasticsearch]\nheap_warn_pct = nan\nheap_crit_pct = inf\n\
                    gc_overhead_warn_pct = -5.0\nrejected_crit_pct = -inf\n";
        let parsed = parse_config(text, &kind_rules()).expect("well-formed TOML");
        let err = format!(
            "{:?}",
            crate::config::validate_config(&parsed, &kind_rules())
        );
        for key in [
            "elasticsearch.heap_warn_pct",
            "elasticsearch.heap_crit_pct",
            "elasticsearch.gc_overhead_warn_pct",
            "elasticsearch.rejected_crit_pct",
        ] {
            assert!(err.contains(key), "{key} not named in: {err}");
        }
    }
}
