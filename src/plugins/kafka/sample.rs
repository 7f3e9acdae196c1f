//! One sample of a Kafka cluster (catalog §4.1 C1–C6): metadata, watermarks, consumer groups
//! with their committed offsets, broker and topic configs. Requests a broker does not answer
//! (listing groups or describing configs on some brokers) are recorded as unsupported — the
//! rest of the sample stands.

use std::collections::HashMap;
use std::sync::Arc;

use super::connection::{Answer, ClusterMeta, Configs, GroupMeta, KafkaReader};
use crate::plugins::PluginError;

/// Everything one pass read.
#[derive(Debug, Clone, Default)]
pub struct KafkaSample {
    pub at: f64,
    pub meta: ClusterMeta,
    /// `(topic, partition)` → (low, high) watermarks.
    pub watermarks: HashMap<(String, i32), (i64, i64)>,
    /// The broker's group listing, or why there is none.
    pub groups: Option<Answer<Vec<GroupMeta>>>,
    /// group → `(topic, partition)` → committed offset.
    pub committed: HashMap<String, HashMap<(String, i32), i64>>,
    /// `broker:ID` / `topic:NAME` → config entries, or why there are none.
    pub configs: Option<Answer<Configs>>,
    /// Topics skipped because of `max_topics`.
    pub topics_skipped: usize,
    pub unavailable: Vec<(&'static str, String)>,
}

impl KafkaSample {
    /// A broker config value (first broker that has it).
    pub fn broker_config(&self, key: &str) -> Option<&str> {
        match &self.configs {
            Some(Answer::Yes(c)) => c
                .iter()
                .filter(|(k, _)| k.starts_with("broker:"))
                .find_map(|(_, m)| m.get(key).map(String::as_str)),
            _ => None,
        }
    }

    /// A topic config value, falling back to the broker's.
    pub fn topic_config(&self, topic: &str, key: &str) -> Option<&str> {
        match &self.configs {
            Some(Answer::Yes(c)) => c
                .get(&format!("topic:{topic}"))
                .and_then(|m| m.get(key).map(String::as_str))
                .or_else(|| self.broker_config(key)),
            _ => None,
        }
    }

    /// The live members of a group, when the broker lists groups.
    pub fn members(&self, group: &str) -> Option<usize> {
        match &self.groups {
            Some(Answer::Yes(g)) => {
                Some(g.iter().find(|x| x.name == group).map_or(0, |x| x.members))
            }
            _ => None,
        }
    }

    /// A group's state, when listed.
    pub fn group_state(&self, group: &str) -> Option<&str> {
        match &self.groups {
            Some(Answer::Yes(g)) => g.iter().find(|x| x.name == group).map(|x| x.state.as_str()),
            _ => None,
        }
    }
}

/// Internal topics (`__consumer_offsets`, `__transaction_state`, …).
pub fn is_internal(topic: &str) -> bool {
    topic.starts_with("__")
}

/// Takes one sample; metadata is required, the rest is optional. `watch` are the configured
/// groups, read even when the broker cannot list groups.
/// `read_configs: false` skips DescribeConfigs (configs change rarely, and a broker that does
/// not answer it would cost a timeout every sample); the caller keeps the last answer.
pub async fn collect_sample(
    reader: Arc<KafkaReader>,
    watch: Vec<String>,
    max_topics: usize,
    read_configs: bool,
) -> Result<KafkaSample, PluginError> {
    let r = reader.clone();
    let blocking = tokio::task::spawn_blocking(move || -> Result<KafkaSample, PluginError> {
        let meta = r.metadata()?;
        let mut s = KafkaSample {
            at: chrono::Utc::now().timestamp_millis() as f64 / 1000.0,
            ..KafkaSample::default()
        };
        let mut partitions = Vec::new();
        for (i, t) in meta.topics.iter().enumerate() {
            if i >= max_topics {
                s.topics_skipped += 1;
                continue;
            }
            for p in &t.partitions {
                match r.watermarks(&t.name, p.id) {
                    Ok(w) => {
                        s.watermarks.insert((t.name.clone(), p.id), w);
                        if !is_internal(&t.name) {
                            partitions.push((t.name.clone(), p.id));
                        }
                    }
                    Err(e) => s
                        .unavailable
                        .push(("watermarks", format!("{} [{}]: {e}", t.name, p.id))),
                }
            }
        }
        s.meta = meta;
        let groups = match r.groups() {
            Ok(g) => g,
            Err(e) => Answer::Unsupported(format!("group listing failed: {e}")),
        };
        let mut names: Vec<String> = match &groups {
            Answer::Yes(list) => list.iter().map(|g| g.name.clone()).collect(),
            Answer::Unsupported(_) => Vec::new(),
        };
        for g in &watch {
            if !names.contains(g) {
                names.push(g.clone());
            }
        }
        s.groups = Some(groups);
        r.retain_groups(&names);
        for g in names {
            match r.committed(&g, &partitions) {
                Ok(c) if !c.is_empty() => {
                    s.committed.insert(g, c);
                }
                Ok(_) => {}
                Err(e) => s
                    .unavailable
                    .push(("committed offsets", format!("group {g}: {e}"))),
            }
        }
        Ok(s)
    });
    let s = blocking.await.map_err(|e| PluginError::Protocol {
        endpoint: reader.target.endpoint.clone(),
        reason: format!("collector task: {e}"),
    })??;
    if !read_configs {
        return Ok(s);
    }
    let mut s = s;
    let brokers: Vec<i32> = s.meta.brokers.iter().map(|b| b.0).collect();
    let topics: Vec<String> = s
        .meta
        .topics
        .iter()
        .map(|t| t.name.clone())
        .filter(|t| !is_internal(t))
        .take(max_topics)
        .collect();
    s.configs = Some(match reader.configs(&brokers, &topics).await {
        Ok(c) => c,
        Err(e) => Answer::Unsupported(format!("DescribeConfigs failed: {e}")),
    });
    Ok(s)
}
