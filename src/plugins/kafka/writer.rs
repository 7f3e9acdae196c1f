//! The Kafka write backend of the repair executor: captures and probes through the read-only
//! client; offset commits through a consumer that speaks for the group without joining it,
//! partition and group changes through an admin client — both built only with the executor's
//! token. An offset reset is refused while the group has live members.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rdkafka::admin::{AdminOptions, NewPartitions};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::connection::{Answer, KafkaReader, KafkaTarget};
use crate::config::PluginSettings;
use crate::config::{AppConfig, InstanceConfig};
use crate::plugins::PluginError;
use crate::repair::check::{ConfigDialect, prepare_step, text_of};
use crate::repair::{
    Command, ExecutorToken, PreparedStep, RepairStep, Reply, RollbackSpec, WriteBackend,
};

/// The executor's Kafka backend.
pub struct KafkaWriteBackend {
    target: KafkaTarget,
    reader: Option<Arc<KafkaReader>>,
}

fn t(s: impl Into<String>) -> Reply {
    Reply::Text(s.into())
}

impl KafkaWriteBackend {
    /// A backend for one cluster. Needs the executor's token.
    pub fn new(
        instance: &InstanceConfig,
        config: &AppConfig,
        _token: &ExecutorToken,
    ) -> Result<Self, PluginError> {
        Ok(KafkaWriteBackend {
            target: KafkaTarget::from_instance(
                instance,
                Duration::from_millis(
                    super::settings::KafkaSettings::of(config).request_timeout_ms,
                ),
            )?,
            reader: None,
        })
    }

    fn reader(&mut self) -> Result<Arc<KafkaReader>, PluginError> {
        if self.reader.is_none() {
            self.reader = Some(Arc::new(self.target.reader()?));
        }
        self.reader
            .clone()
            .ok_or_else(|| PluginError::Config("no client".into()))
    }

    fn config_error(&self, why: impl Into<String>) -> PluginError {
        PluginError::Config(why.into())
    }

    /// The one result of an admin request on one resource, with a timeout.
    async fn admin_result<E: std::fmt::Display>(
        &self,
        request: &str,
        call: impl std::future::Future<
            Output = rdkafka::error::KafkaResult<Vec<Result<String, (String, E)>>>,
        >,
    ) -> Result<String, PluginError> {
        let protocol = |reason: String| PluginError::Protocol {
            endpoint: self.target.endpoint.clone(),
            reason,
        };
        let results = tokio::time::timeout(self.target.timeout + Duration::from_secs(1), call)
            .await
            .map_err(|_| PluginError::Timeout {
                endpoint: self.target.endpoint.clone(),
                millis: self.target.timeout.as_millis() as u64,
            })?
            .map_err(|e| protocol(format!("{request}: {e}")))?;
        match results.into_iter().next() {
            Some(Ok(name)) => Ok(name),
            Some(Err((name, code))) => Err(protocol(format!("{request} {name}: {code}"))),
            None => Err(protocol(format!("{request} returned nothing"))),
        }
    }

    async fn read_reply(&mut self, command: &Command) -> Result<Reply, PluginError> {
        let r = self.reader()?;
        let argv = command.argv.clone();
        let endpoint = self.target.endpoint.clone();
        tokio::task::spawn_blocking(move || read_blocking(&r, &argv))
            .await
            .map_err(|e| PluginError::Protocol {
                endpoint,
                reason: e.to_string(),
            })?
    }

    async fn write_reply(
        &mut self,
        command: &Command,
        token: &ExecutorToken,
    ) -> Result<Reply, PluginError> {
        let words: Vec<&str> = command.argv.iter().map(String::as_str).collect();
        let opts = AdminOptions::new().request_timeout(Some(self.target.timeout));
        match words.as_slice() {
            ["OFFSETS", "COMMIT", group, topic, partition, to] => {
                let partition: i32 = partition
                    .parse()
                    .map_err(|_| self.config_error("partition is not a number"))?;
                let r = self.reader()?;
                let (group, topic, to) = (group.to_string(), topic.to_string(), to.to_string());
                let (g, tp) = (group.clone(), topic.clone());
                let endpoint = self.target.endpoint.clone();
                // Precheck and offset resolution (blocking calls).
                let offset = tokio::task::spawn_blocking(move || -> Result<i64, PluginError> {
                    // The ops docs' precondition: the group's consumers are stopped. A broker that
                    // cannot list groups cannot confirm it, so the reset is refused there.
                    match r.groups()? {
                        Answer::Yes(groups) => {
                            if let Some(live) =
                                groups.iter().find(|x| x.name == g).filter(|x| x.members > 0)
                            {
                                return Err(PluginError::Refused(format!(
                                    "group {g} has {} live member(s) ({}): stop its consumers before resetting offsets",
                                    live.members, live.state
                                )));
                            }
                        }
                        Answer::Unsupported(why) => {
                            return Err(PluginError::Refused(format!(
                                "cannot confirm that group {g} has no live members ({why}); stop its consumers and reset with kafka-consumer-groups.sh --reset-offsets"
                            )));
                        }
                    }
                    let (low, high) = r.watermarks(&tp, partition)?;
                    match to.as_str() {
                        "latest" => Ok(high),
                        "earliest" => Ok(low),
                        n => n.parse().map_err(|_| PluginError::Config(format!("`{n}` is not an offset"))),
                    }
                })
                .await
                .map_err(|e| PluginError::Protocol { endpoint: endpoint.clone(), reason: e.to_string() })??;
                let consumer = self.target.group_committer(&group, token)?;
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition_offset(&topic, partition, Offset::Offset(offset))
                    .map_err(|e| self.config_error(e.to_string()))?;
                tokio::task::spawn_blocking(move || consumer.commit(&tpl, CommitMode::Sync))
                    .await
                    .map_err(|e| PluginError::Protocol {
                        endpoint: endpoint.clone(),
                        reason: e.to_string(),
                    })?
                    .map_err(|e| PluginError::Protocol {
                        endpoint,
                        reason: format!("OffsetCommit: {e}"),
                    })?;
                Ok(t(format!(
                    "committed {offset} for {group} on {topic}[{partition}]"
                )))
            }
            ["PARTITIONS", "CREATE", topic, count] => {
                let count: usize = count
                    .parse()
                    .map_err(|_| self.config_error("count is not a number"))?;
                let admin = self.target.writer(token)?;
                let name = self
                    .admin_result(
                        "CreatePartitions",
                        admin.create_partitions(&[NewPartitions::new(topic, count)], &opts),
                    )
                    .await?;
                Ok(t(format!("{name} now has {count} partitions")))
            }
            ["GROUP", "DELETE", group] => {
                let admin = self.target.writer(token)?;
                let name = self
                    .admin_result("DeleteGroups", admin.delete_groups(&[group], &opts))
                    .await?;
                Ok(t(format!("group {name} deleted")))
            }
            _ => Err(self.config_error(format!(
                "`{command}` is not a Kafka write this program knows"
            ))),
        }
    }
}

/// The read commands of the Kafka catalogue.
fn read_blocking(r: &KafkaReader, argv: &[String]) -> Result<Reply, PluginError> {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["OFFSETS", "GET", group, "*", "*"] => {
            let md = r.metadata()?;
            let parts: Vec<(String, i32)> = md
                .topics
                .iter()
                .filter(|t| !t.name.starts_with("__"))
                .flat_map(|t| t.partitions.iter().map(|p| (t.name.clone(), p.id)))
                .collect();
            let mut committed: Vec<_> = r.committed(group, &parts)?.into_iter().collect();
            committed.sort();
            Ok(Reply::List(
                committed
                    .into_iter()
                    .flat_map(|((tp, p), o)| [t(format!("{tp}[{p}]")), Reply::Int(o)])
                    .collect(),
            ))
        }
        ["OFFSETS", "GET", group, topic, partition] => {
            let partition: i32 = partition
                .parse()
                .map_err(|_| PluginError::Config("partition is not a number".into()))?;
            let committed = r.committed(group, &[(topic.to_string(), partition)])?;
            let (low, high) = r.watermarks(topic, partition)?;
            Ok(Reply::List(vec![
                t("committed"),
                committed
                    .get(&(topic.to_string(), partition))
                    .map_or(Reply::Nil, |c| t(c.to_string())),
                t("high"),
                t(high.to_string()),
                t("low"),
                t(low.to_string()),
            ]))
        }
        ["METADATA", topic] => {
            let md = r.metadata()?;
            let found = md.topics.iter().find(|x| x.name == *topic).ok_or_else(|| {
                PluginError::Protocol {
                    endpoint: r.target.endpoint.clone(),
                    reason: format!("no topic {topic}"),
                }
            })?;
            Ok(Reply::List(vec![
                t("partitions"),
                t(found.partitions.len().to_string()),
            ]))
        }
        ["CLUSTER", "ID"] => Ok(r.metadata()?.cluster_id.map_or(Reply::Nil, t)),
        _ => Err(PluginError::Refused(format!(
            "`{}` is not a Kafka read this program knows",
            argv.join(" ")
        ))),
    }
}

/// Unused by Kafka (the rollback is built in `prepare`), present for the trait.
struct KafkaOffsets;

impl ConfigDialect for KafkaOffsets {
    fn restore(&self, _key: &str, value: &str) -> Command {
        Command::new(&["OFFSETS", "COMMIT", "?", "?", "?", value])
    }

    fn new_value(&self, command: &Command) -> String {
        command.argv.get(5).cloned().unwrap_or_default()
    }
}

impl WriteBackend for KafkaWriteBackend {
    fn identity(&mut self) -> BoxFuture<'_, Result<String, PluginError>> {
        Box::pin(async move {
            match self.read_reply(&Command::new(&["CLUSTER", "ID"])).await? {
                Reply::Text(id) => Ok(id),
                _ => Err(PluginError::Protocol {
                    endpoint: self.target.endpoint.clone(),
                    reason: "the cluster reports no cluster id".into(),
                }),
            }
        })
    }

    fn read<'a>(&'a mut self, command: &'a Command) -> BoxFuture<'a, Result<Reply, PluginError>> {
        Box::pin(self.read_reply(command))
    }

    fn write<'a>(
        &'a mut self,
        command: &'a Command,
        token: &'a ExecutorToken,
    ) -> BoxFuture<'a, Result<Reply, PluginError>> {
        Box::pin(self.write_reply(command, token))
    }

    fn prepare(&self, step: &RepairStep, captured: &[(String, Reply)]) -> PreparedStep {
        prepare_step(step, captured, &KafkaOffsets, |rollback| {
            let RollbackSpec::RestoreConfig { .. } = rollback else {
                return None;
            };
            let c = step.commands.first()?;
            let (group, topic, partition, to) = (
                c.argv.get(2)?,
                c.argv.get(3)?,
                c.argv.get(4)?,
                c.argv.get(5)?,
            );
            let reply = &captured.first()?.1;
            let field = |k: &str| reply.get(k).map(text_of);
            let target = match to.as_str() {
                "latest" => format!("latest = {}", field("high").unwrap_or_default()),
                "earliest" => format!("earliest = {}", field("low").unwrap_or_default()),
                n => n.to_string(),
            };
            Some(match field("committed") {
                Some(old) => {
                    let restore =
                        Command::new(&["OFFSETS", "COMMIT", group, topic, partition, &old]);
                    (
                        format!("{group} on {topic}[{partition}]: committed {old} → {target}"),
                        vec![restore.clone()],
                        restore.to_string(),
                    )
                }
                None => (
                    format!("{group} on {topic}[{partition}]: no committed offset → {target}"),
                    Vec::new(),
                    "the group had no committed offset here: no automatic rollback".into(),
                ),
            })
        })
    }
}
