//! The Kafka repair actions of catalog §4.3 that rdkafka can carry out safely, as typed steps:
//! KFK-FIX-06 (reset a group's offset — dangerous, the group must be empty), KFK-FIX-08 (add
//! partitions — dangerous, irreversible) and KFK-FIX-09 (delete a group — dangerous). Elections,
//! config changes and reassignments stay manual: rdkafka has no leader-election or incremental
//! config API, and its `alter_configs` resets every other dynamic config of the resource.
//!
//! Commands are words the Kafka write backend interprets:
//! `OFFSETS GET group topic partition`, `OFFSETS COMMIT group topic partition offset|latest|earliest`,
//! `METADATA topic`, `PARTITIONS CREATE topic count`, `GROUP DELETE group`.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::model::Finding;
use crate::repair::catalog::{ActionSpec, PlanContext, RepairCatalog, param};
use crate::repair::{Check, Command, Probe, RepairStep, Risk, RollbackSpec};

/// The Kafka catalogue.
pub struct KafkaRepairs;

/// The actions rdkafka can execute.
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        persists_config: false,
        id: "KFK-FIX-06",
        title: "Reset a consumer group's offset (group must be stopped)",
        risk: Risk::Dangerous,
        fixes: &["KFK-LAG-01", "KFK-LAG-02", "KFK-LAG-06"],
        params: &[
            ("group", "the consumer group"),
            ("topic", "the topic"),
            ("partition", "the partition"),
            ("to", "latest (default), earliest, or an offset"),
        ],
    },
    ActionSpec {
        persists_config: false,
        id: "KFK-FIX-08",
        title: "Add partitions to a topic (irreversible)",
        risk: Risk::Dangerous,
        fixes: &[],
        params: &[
            ("topic", "the topic"),
            ("count", "the new total number of partitions"),
        ],
    },
    ActionSpec {
        persists_config: false,
        id: "KFK-FIX-09",
        title: "Delete a consumer group and its committed offsets",
        risk: Risk::Dangerous,
        fixes: &[],
        params: &[("group", "the consumer group (no live members)")],
    },
];

/// Catalog actions this program does not execute, with the command to run by hand.
pub const MANUAL_ONLY: &[(&str, &str)] = &[
    (
        "KFK-FIX-01",
        "preferred leader election: kafka-leader-election.sh --bootstrap-server B --election-type PREFERRED --all-topic-partitions (rdkafka has no ElectLeaders)",
    ),
    (
        "KFK-FIX-02",
        "unclean leader election loses acknowledged messages: kafka-leader-election.sh --election-type UNCLEAN --topic T --partition P",
    ),
    (
        "KFK-FIX-03",
        "config changes: kafka-configs.sh --alter --add-config k=v (rdkafka's alter_configs would reset every other dynamic config)",
    ),
    (
        "KFK-FIX-04",
        "lowering retention deletes data: kafka-configs.sh --alter --add-config retention.ms=…",
    ),
    (
        "KFK-FIX-05",
        "min.insync.replicas=1 accepts single-copy writes: kafka-configs.sh --alter --add-config min.insync.replicas=1",
    ),
    (
        "KFK-FIX-07",
        "reassignment: kafka-reassign-partitions.sh --execute --throttle 50000000, then --verify",
    ),
];

/// A group, topic or partition name this program puts into a command.
fn name(kind: &str, text: &str) -> Result<String, String> {
    if !text.is_empty()
        && text.len() <= 249
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a {kind} name (letters, digits, . _ -)"
        ))
    }
}

fn offsets_get(group: &str, topic: &str, partition: i32) -> Command {
    Command::new(&["OFFSETS", "GET", group, topic, &partition.to_string()])
}

impl RepairCatalog for KafkaRepairs {
    fn actions(&self) -> &'static [ActionSpec] {
        ACTIONS
    }

    fn manual_only(&self) -> &'static [(&'static str, &'static str)] {
        MANUAL_ONLY
    }

    fn system(&self) -> &'static str {
        "Kafka"
    }

    fn build_step(
        &self,
        a: &'static ActionSpec,
        params: &Map<String, Value>,
        ctx: &PlanContext<'_>,
    ) -> Result<RepairStep, String> {
        let action = a.id;
        let required = |n: &str| a.required(params, n);
        let step = match action {
            "KFK-FIX-06" => {
                let group = name("group", &required("group")?)?;
                let topic = name("topic", &required("topic")?)?;
                let partition: i32 = required("partition")?
                    .parse()
                    .map_err(|_| "partition must be a number".to_string())?;
                let to = param(params, "to").unwrap_or_else(|| "latest".into());
                let check = match to.as_str() {
                    // Producers may go on writing: at least the end seen before the reset.
                    "latest" => Check::NotBelowCaptured {
                        field: "committed".into(),
                        captured: "high".into(),
                    },
                    "earliest" => Check::FieldsEqual {
                        a: "committed".into(),
                        b: "low".into(),
                    },
                    n => {
                        let n: i64 = n
                            .parse()
                            .map_err(|_| format!("`{to}` is not latest, earliest or an offset"))?;
                        if n < 0 {
                            return Err("an offset is not negative".into());
                        }
                        Check::ConfigEquals {
                            key: "committed".into(),
                            value: n.to_string(),
                        }
                    }
                };
                a.step(ctx,
                    vec![Command::new(&["OFFSETS", "COMMIT", &group, &topic, &partition.to_string(), &to])],
                    vec![offsets_get(&group, &topic, partition)],
                    RollbackSpec::RestoreConfig { keys: vec!["committed".into()] },
                    Some(Probe { command: offsets_get(&group, &topic, partition), check, within: Duration::from_secs(5) }),
                    "Moves where the group resumes: skipping forward means those messages are never processed; moving back processes them again. Refused while the group has live members.")
            }
            "KFK-FIX-08" => {
                let topic = name("topic", &required("topic")?)?;
                let count: u32 = required("count")?
                    .parse()
                    .map_err(|_| "count must be a number".to_string())?;
                a.step(ctx,
                    vec![Command::new(&["PARTITIONS", "CREATE", &topic, &count.to_string()])],
                    vec![Command::new(&["METADATA", &topic])],
                    RollbackSpec::Irreversible("partitions can never be removed; keys map to different partitions from now on".into()),
                    Some(Probe { command: Command::new(&["METADATA", &topic]), check: Check::ConfigEquals { key: "partitions".into(), value: count.to_string() }, within: Duration::from_secs(10) }),
                    "Adds partitions: producers with keyed messages send some keys to the new partitions, breaking per-key order across the change.")
            }
            "KFK-FIX-09" => {
                let group = name("group", &required("group")?)?;
                a.step(ctx,
                    vec![Command::new(&["GROUP", "DELETE", &group])],
                    vec![Command::new(&["OFFSETS", "GET", &group, "*", "*"])],
                    RollbackSpec::Manual("recreate the offsets shown in the capture with KFK-FIX-06, one partition at a time".into()),
                    Some(Probe { command: Command::new(&["OFFSETS", "GET", &group, "*", "*"]), check: Check::Empty, within: Duration::from_secs(10) }),
                    "The group's committed offsets are deleted; consumers that start later begin at auto.offset.reset.")
            }
            _ => return Err(format!("`{action}` is not a Kafka repair action")),
        };
        Ok(step)
    }

    fn for_finding(
        &self,
        finding: &Finding,
        _ctx: &PlanContext<'_>,
    ) -> (Vec<RepairStep>, Vec<String>) {
        let manual = match finding.id.as_str() {
            "KFK-LAG-01" | "KFK-LAG-02" | "KFK-LAG-06" => {
                let group = finding
                    .evidence
                    .get("group")
                    .and_then(Value::as_str)
                    .unwrap_or("G");
                let part = finding
                    .evidence
                    .get("max_lag_partition")
                    .and_then(Value::as_str)
                    .unwrap_or("T[P]");
                vec![format!(
                    "{}: first find out why the consumers of {group} stopped; to skip what blocks them, stop the group and reset it (fix --action KFK-FIX-06 --param group={group} --param topic=… --param partition=… — worst partition {part})",
                    finding.id
                )]
            }
            "KFK-REP-05" => vec![format!("{}: {}", finding.id, MANUAL_ONLY[0].1)],
            "KFK-AV-01" => vec![format!(
                "{}: bring the brokers back; {}",
                finding.id, MANUAL_ONLY[1].1
            )],
            "KFK-AV-02" => vec![format!(
                "{}: restore the replicas; {}",
                finding.id, MANUAL_ONLY[4].1
            )],
            "KFK-REP-01" | "KFK-REP-04" | "KFK-CFG-01" => {
                vec![format!("{}: {}", finding.id, MANUAL_ONLY[5].1)]
            }
            "KFK-CFG-03" => vec![format!(
                "{}: kafka-configs.sh --alter --delete-config unclean.leader.election.enable",
                finding.id
            )],
            _ => Vec::new(),
        };
        // Offsets are only ever reset on an explicit request: which partition and where to
        // is the SRE's decision, not the rule's.
        (Vec::new(), manual)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::InstanceFacts;
    use crate::repair::PlanTarget;

    #[test]
    fn steps_and_their_checks() {
        let facts = InstanceFacts::default();
        let ctx = PlanContext {
            target: PlanTarget {
                instance: "k".into(),
                endpoint: "kafka://127.0.0.1:9092".into(),
                identity: Some("id".into()),
                context: None,
            },
            facts: &facts,
            own_user: String::new(),
        };
        let p = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::from(*v)))
                .collect::<Map<_, _>>()
        };
        let s = KafkaRepairs
            .build(
                "KFK-FIX-06",
                &p(&[
                    ("group", "billing"),
                    ("topic", "orders"),
                    ("partition", "1"),
                ]),
                &ctx,
            )
            .unwrap();
        assert_eq!(
            s.commands[0].to_string(),
            "OFFSETS COMMIT billing orders 1 latest"
        );
        assert_eq!(s.risk, Risk::Dangerous);
        assert!(
            KafkaRepairs
                .build(
                    "KFK-FIX-06",
                    &p(&[("group", "a b"), ("topic", "t"), ("partition", "0")]),
                    &ctx
                )
                .is_err()
        );
        assert!(
            KafkaRepairs
                .build(
                    "KFK-FIX-06",
                    &p(&[
                        ("group", "g"),
                        ("topic", "t"),
                        ("partition", "0"),
                        ("to", "-5")
                    ]),
                    &ctx
                )
                .is_err()
        );
        assert!(
            KafkaRepairs.build("KFK-FIX-03", &Map::new(), &ctx).is_err(),
            "config changes are manual"
        );
    }
}
