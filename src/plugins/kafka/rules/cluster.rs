//! KFK-AV-01/02, KFK-REP-01/02/04/05, KFK-CTL-01/02, KFK-CFG-01 … 04: from metadata (and
//! configs where the broker describes them).

use super::RuleInput;
use crate::model::{Finding, Severity};
use crate::plugins::kafka::connection::Answer;
use crate::plugins::kafka::sample::is_internal;

fn list(parts: &[String], max: usize) -> String {
    let mut s = parts
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if parts.len() > max {
        s.push_str(&format!(" … and {} more", parts.len() - max));
    }
    s
}

pub(super) fn check(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let s = input.cur;
    let live: Vec<i32> = s.meta.brokers.iter().map(|b| b.0).collect();
    let configs_known = matches!(s.configs, Some(Answer::Yes(_)));
    let mut offline = Vec::new();
    let mut under_min = Vec::new();
    let mut urp = Vec::new();
    let mut at_min = Vec::new();
    let mut absent: Vec<(i32, String)> = Vec::new();
    let mut rf1 = Vec::new();
    let mut not_preferred: std::collections::HashMap<i32, (usize, usize)> = Default::default();
    for t in &s.meta.topics {
        let min_isr: usize = s
            .topic_config(&t.name, "min.insync.replicas")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        for p in &t.partitions {
            let name = format!("{}[{}]", t.name, p.id);
            let rf = p.replicas.len();
            let has_leader = p.leader >= 0 && live.contains(&p.leader);
            if !has_leader {
                offline.push(name.clone());
            }
            // KIP-966: the effective minimum is min(min.insync.replicas, RF).
            let effective_min = min_isr.min(rf.max(1));
            if has_leader && p.isr.len() < effective_min {
                under_min.push(name.clone());
            }
            if p.isr.len() < rf {
                urp.push(name.clone());
            }
            if configs_known && rf > min_isr && p.isr.len() == min_isr && has_leader {
                at_min.push(name.clone());
            }
            for r in &p.replicas {
                if !live.contains(r) {
                    absent.push((*r, name.clone()));
                }
            }
            if rf == 1 && !is_internal(&t.name) {
                rf1.push(t.name.clone());
            }
            if let Some(first) = p.replicas.first() {
                let e = not_preferred.entry(*first).or_default();
                e.1 += 1;
                if p.leader != *first {
                    e.0 += 1;
                }
            }
        }
    }
    rf1.dedup();
    if !offline.is_empty() {
        let offsets = offline.iter().any(|n| n.starts_with("__consumer_offsets"));
        out.push(
            Finding::new("KFK-AV-01", Severity::Critical, "availability",
                format!("{} offline partition(s): {}", offline.len(), list(&offline, 8)),
                if offsets {
                    "No leader: nobody can produce to or consume from these partitions — and __consumer_offsets is among them, so consumer groups on it cannot commit or fetch offsets."
                } else {
                    "No leader: nobody can produce to or consume from these partitions. Usually every replica's broker is down, or the only in-sync replica died and unclean election is off."
                },
                "Bring the replicas' brokers back. An unclean election (KFK-FIX-02, dangerous, manual) loses acknowledged messages.")
                .with("partitions", offline.clone()).with("live_brokers", live.clone())
                .with("threshold", "leader = -1 or not a live broker (src: TopicCommand hasUnavailablePartitions)"),
        );
    }
    if !under_min.is_empty() {
        out.push(
            Finding::new("KFK-AV-02", Severity::Critical, "availability",
                format!("{} partition(s) under min ISR: {}", under_min.len(), list(&under_min, 8)),
                "Producers with acks=all get NotEnoughReplicas: writes are down for them.",
                "Restore the missing replicas; lowering min.insync.replicas (KFK-FIX-05) accepts single-copy writes.")
                .with("partitions", under_min.clone())
                .with("min_insync_replicas_known", configs_known)
                .with("threshold", "|ISR| < min(min.insync.replicas, RF) (src: TopicCommand, KIP-966)"),
        );
    }
    if !urp.is_empty() {
        out.push(
            Finding::new("KFK-REP-01", Severity::Warning, "replication",
                format!("{} under-replicated partition(s): {}", urp.len(), list(&urp, 8)),
                "A follower fell out of sync (broker down, slow disk or network): durability is reduced. Normal for a moment during a rolling restart.",
                "Find the broker missing from the ISR (KFK-REP-04) and why it lags.")
                .with("partitions", urp.clone())
                .with("threshold", "|ISR| < |replicas| (src: TopicCommand isUnderReplicated)"),
        );
    }
    if !at_min.is_empty() {
        out.push(
            Finding::new(
                "KFK-REP-02",
                Severity::Warning,
                "replication",
                format!(
                    "{} partition(s) exactly at min ISR: {}",
                    at_min.len(),
                    list(&at_min, 8)
                ),
                "One more replica failure makes them read-only for acks=all producers.",
                "Restore the out-of-sync replicas before anything else fails.",
            )
            .with("partitions", at_min.clone())
            .with(
                "threshold",
                "|ISR| = min.insync.replicas < RF (src: KIP-427)",
            ),
        );
    }
    if !absent.is_empty() {
        let mut brokers: Vec<i32> = absent.iter().map(|(b, _)| *b).collect();
        brokers.sort_unstable();
        brokers.dedup();
        let severe = !offline.is_empty() || !under_min.is_empty();
        out.push(
            Finding::new("KFK-REP-04", if severe { Severity::Critical } else { Severity::Warning }, "replication",
                format!("{} partition replica(s) on absent broker(s) {brokers:?}", absent.len()),
                "A broker that holds replicas is down or deregistered.",
                "Look at the absent broker; if it is gone for good, reassign its partitions (KFK-FIX-07, manual).")
                .with("absent_brokers", brokers).with("replicas", absent.len() as u64)
                .with("threshold", "replica ∉ live brokers (sem: TopicCommand liveBrokers)"),
        );
    }
    let auto_rebalance_off = s.broker_config("auto.leader.rebalance.enable") == Some("false");
    let skewed: Vec<String> = not_preferred
        .iter()
        .filter(|(_, (bad, total))| *total > 0 && *bad as f64 / *total as f64 > 0.10)
        .map(|(b, (bad, total))| format!("broker {b}: {bad}/{total}"))
        .collect();
    if !skewed.is_empty() && offline.is_empty() {
        out.push(
            Finding::new("KFK-REP-05", if auto_rebalance_off { Severity::Warning } else { Severity::Info }, "replication",
                format!("preferred leaders not leading: {}", skewed.join(", ")),
                "After a restart a broker only follows, so load is skewed.",
                "Run a preferred leader election (KFK-FIX-01: kafka-leader-election.sh --election-type PREFERRED).")
                .with("brokers", skewed.clone()).with("auto_leader_rebalance_enable", !auto_rebalance_off)
                .with("threshold", "> 10% per broker (src: leader.imbalance.per.broker.percentage)"),
        );
    }
    if s.meta.controller == Some(-1) {
        out.push(
            Finding::new(
                "KFK-CTL-01",
                Severity::Critical,
                "controller",
                "no active controller",
                "No leader elections or metadata changes are possible.",
                "Check the controllers (KRaft: kafka-metadata-quorum.sh describe --status).",
            )
            .with("controller", -1)
            .with(
                "threshold",
                "no controller id in metadata (src: ActiveControllerCount ≠ 1)",
            ),
        );
    }
    if live.len() < input.max_brokers_seen {
        out.push(
            Finding::new(
                "KFK-CTL-02",
                Severity::Critical,
                "controller",
                format!(
                    "{} broker(s) now, {} seen before",
                    live.len(),
                    input.max_brokers_seen
                ),
                "A broker left the cluster.",
                "See KFK-REP-04 for the partitions it held.",
            )
            .with("brokers", live.len() as u64)
            .with("max_seen", input.max_brokers_seen as u64)
            .with("threshold", "fewer brokers than seen before (heur:)"),
        );
    }
    if live.len() >= 2 && !rf1.is_empty() {
        out.push(
            Finding::new("KFK-CFG-01", Severity::Warning, "config",
                format!("{} topic(s) with replication factor 1: {}", rf1.len(), list(&rf1, 8)),
                "Losing one broker makes their partitions offline, with data loss if its disk is lost.",
                "Raise the replication factor by reassignment (KFK-FIX-07, manual).")
                .with("topics", rf1.clone()).with("threshold", "RF = 1 with ≥ 2 brokers (src: Kafka ops docs)"),
        );
    }
    if configs_known {
        for t in s.meta.topics.iter().filter(|t| !is_internal(&t.name)) {
            let rf = t.partitions.first().map_or(0, |p| p.replicas.len());
            if let Some(min) = s
                .topic_config(&t.name, "min.insync.replicas")
                .and_then(|v| v.parse::<usize>().ok())
                && rf > 1
                && min >= rf
            {
                out.push(
                    Finding::new(
                        "KFK-CFG-02",
                        Severity::Warning,
                        "config",
                        format!(
                            "topic {}: min.insync.replicas {min} ≥ replication factor {rf}",
                            t.name
                        ),
                        "Any single broker loss blocks acks=all writes.",
                        "Use RF 3 with min.insync.replicas 2.",
                    )
                    .with("topic", t.name.clone())
                    .with("min_insync_replicas", min as u64)
                    .with("replication_factor", rf as u64)
                    .with("threshold", "min.insync.replicas ≥ RF (sem: AV-02)"),
                );
            }
            if s.topic_config(&t.name, "unclean.leader.election.enable") == Some("true") {
                out.push(
                    Finding::new("KFK-CFG-03", Severity::Warning, "config",
                        format!("topic {}: unclean leader election enabled", t.name),
                        "An out-of-sync replica can become leader: acknowledged messages are lost.",
                        "Turn unclean.leader.election.enable off (kafka-configs.sh --alter --delete-config, manual).")
                        .with("topic", t.name.clone()).with("threshold", "true (src: default false)"),
                );
            }
        }
        if s.broker_config("auto.create.topics.enable") == Some("true") {
            out.push(
                Finding::new("KFK-CFG-04", Severity::Info, "config", "topics are created automatically",
                    "A typo in a topic name creates a topic with the default replication factor (often 1).",
                    "Set auto.create.topics.enable=false.")
                    .with("auto.create.topics.enable", true).with("threshold", "true (src: default true)"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fired, has, sample};
    use crate::plugins::kafka::connection::Answer;

    #[test]
    fn metadata_alone_gives_availability_and_replication() {
        let mut s = sample(3);
        assert!(fired(&s).is_empty(), "{:?}", fired(&s));
        s.meta.topics[0].partitions[0].leader = -1;
        s.meta.topics[0].partitions[1].isr = vec![2];
        s.meta.brokers.retain(|b| b.0 != 3);
        s.meta.controller = Some(-1);
        let f = fired(&s);
        for (id, tag) in [
            ("KFK-AV-01", "CRIT"),
            ("KFK-REP-01", "WARN"),
            ("KFK-REP-04", "CRIT"),
            ("KFK-CTL-01", "CRIT"),
        ] {
            assert!(has(&f, id, tag), "{id}: {f:?}");
        }
    }

    #[test]
    fn configs_add_min_isr_rules_when_the_broker_describes_them() {
        let mut s = sample(1);
        s.meta.topics[0].partitions[0].isr = vec![1];
        let cfg = [(
            "topic:orders".to_string(),
            [("min.insync.replicas".to_string(), "2".to_string())]
                .into_iter()
                .collect(),
        )];
        s.configs = Some(Answer::Yes(cfg.into_iter().collect()));
        assert!(has(&fired(&s), "KFK-AV-02", "CRIT"));
        s.meta.topics[0].partitions[0].isr = vec![1, 2];
        assert!(has(&fired(&s), "KFK-REP-02", "WARN"));
        s.configs = Some(Answer::Unsupported("no".into()));
        assert!(
            !fired(&s).iter().any(|(i, _)| i == "KFK-REP-02"),
            "unknown min ISR: not judged"
        );
    }
}
