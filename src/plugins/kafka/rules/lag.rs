//! KFK-LAG-01 … 07: consumer groups judged over their lag windows (Burrow's rules and its
//! aggregation: a group's status is its worst partition's), committed offsets behind the log
//! start, and rebalances that do not finish.

use super::RuleInput;
use crate::model::{Finding, Severity};
use crate::plugins::kafka::lag::LagStatus;

pub(super) fn check(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let s = input.cur;
    let mut groups: Vec<&String> = input.windows.keys().collect();
    groups.sort();
    for group in groups {
        let windows = &input.windows[group];
        let members = s.members(group);
        let mut worst = LagStatus::Unknown;
        let mut worst_partition = None;
        let mut total_lag = 0i64;
        let mut max_lag = (0i64, None);
        let mut judged = 0;
        for (tp, w) in windows {
            let Some(last) = w.last() else { continue };
            total_lag += last.lag();
            if last.lag() > max_lag.0 {
                max_lag = (last.lag(), Some(tp));
            }
            let st = w.status(input.th.lag_min_samples, members);
            if st != LagStatus::Unknown {
                judged += 1;
            }
            if st > worst {
                worst = st;
                worst_partition = Some(tp);
            }
            // KFK-LAG-06: the committed offset is behind the log start.
            if let Some((low, _)) = s.watermarks.get(tp)
                && last.committed < *low
            {
                out.push(
                    Finding::new("KFK-LAG-06", Severity::Critical, "lag",
                        format!("group {group}: {}[{}] committed {} < log start {low}", tp.0, tp.1, last.committed),
                        "Messages were deleted by retention before this group consumed them; on restart it jumps per auto.offset.reset.",
                        "Find why the consumer fell so far behind; raise retention for the topic if it must catch up.")
                        .with("group", group.clone()).with("topic", tp.0.clone()).with("partition", tp.1)
                        .with("committed", last.committed).with("log_start", *low)
                        .with("threshold", "committed < low watermark (sem: retention deleted unconsumed data)"),
                );
            }
        }
        let where_ = worst_partition
            .map(|tp| format!("{}[{}]", tp.0, tp.1))
            .unwrap_or_default();
        let (id, severity, what, why) = match worst {
            LagStatus::Stop => (
                "KFK-LAG-01",
                Severity::Critical,
                "stopped committing",
                "Lag grows and the committed offsets do not move: the consumers crashed or hung, or the group has no members.",
            ),
            LagStatus::Stall => (
                "KFK-LAG-02",
                Severity::Critical,
                "stalled",
                "The group has live members but its committed offsets do not move while lag stays: a poison message, a stuck loop or an endless retry.",
            ),
            LagStatus::Rewind => (
                "KFK-LAG-03",
                Severity::Critical,
                "rewound",
                "A committed offset went backwards and has not recovered: messages are being processed again.",
            ),
            LagStatus::Warn => (
                "KFK-LAG-04",
                Severity::Warning,
                "falling behind",
                "The group consumes, but slower than producers: lag never reaches zero and does not decrease.",
            ),
            _ => continue,
        };
        let max_at = max_lag
            .1
            .map(|tp| format!("{}[{}]", tp.0, tp.1))
            .unwrap_or_default();
        out.push(
            Finding::new(id, severity, "lag",
                format!("group {group} {what} (Burrow {}): lag {total_lag}, worst {where_}", worst.as_str()),
                why,
                match worst {
                    LagStatus::Warn => "Add consumers (up to the partition count) or speed up processing.",
                    LagStatus::Rewind => "Find who reset the offsets (kafka-consumer-groups.sh --reset-offsets, auto.offset.reset).",
                    _ => "Check the consumers' logs and restarts; to skip a poison message reset the offset (KFK-FIX-06, dangerous) with the group stopped.",
                })
                .with("group", group.clone()).with("status", worst.as_str()).with("total_lag", total_lag)
                .with("max_lag", max_lag.0).with("max_lag_partition", max_at)
                .with("members", members.map_or(serde_json::Value::Null, |m| (m as u64).into()))
                .with("partitions_judged", judged as u64)
                .with("threshold", format!("Burrow rules over {}–{} samples per partition (src: Burrow evaluator)", input.th.lag_min_samples, input.th.lag_window_samples)),
        );
    }
    // KFK-LAG-07: stuck rebalances.
    for (group, secs) in input.rebalancing_secs {
        if *secs > input.th.rebalance_stuck_secs as f64 {
            out.push(
                Finding::new("KFK-LAG-07", Severity::Warning, "lag",
                    format!("group {group} has been rebalancing for {secs:.0} s"),
                    "Members time out (max.poll.interval.ms), a deploy keeps rolling, or a member crash-loops.",
                    "Look at the members' logs and restarts.")
                    .with("group", group.clone()).with("rebalancing_secs", secs.round())
                    .with("threshold", format!("> {} s (heur:)", input.th.rebalance_stuck_secs)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{RuleInput, evaluate};
    use crate::plugins::kafka::lag::{LagPoint, LagWindow};
    use crate::plugins::kafka::rules::test_support::sample;
    use crate::plugins::kafka::settings::KafkaSettings;
    use std::collections::HashMap;

    #[test]
    fn a_group_is_as_bad_as_its_worst_partition() {
        let s = sample(2);
        let mut w0 = LagWindow::new(10);
        let mut w1 = LagWindow::new(10);
        for i in 0..4 {
            let at = i as f64 * 10.0;
            w0.push(LagPoint {
                at,
                committed: 100 * i,
                high: 100 * i,
            }); // caught up: OK
            w1.push(LagPoint {
                at,
                committed: 50,
                high: 100 + 100 * i,
            }); // stopped
        }
        let mut g = HashMap::new();
        g.insert(("orders".to_string(), 0), w0);
        g.insert(("orders".to_string(), 1), w1);
        let windows: HashMap<String, _> = [("billing".to_string(), g)].into_iter().collect();
        let reb: HashMap<String, f64> = [("search".to_string(), 90.0)].into_iter().collect();
        let th = KafkaSettings::default();
        let f = evaluate(&RuleInput {
            cur: &s,
            prev: None,
            windows: &windows,
            max_brokers_seen: 3,
            rebalancing_secs: &reb,
            th: &th,
        });
        let lag01 = f.iter().find(|f| f.id == "KFK-LAG-01").expect("STOP");
        assert_eq!(lag01.evidence["max_lag_partition"], "orders[1]");
        assert_eq!(lag01.evidence["total_lag"], 350);
        assert!(f.iter().any(|f| f.id == "KFK-LAG-07"));
    }
}
