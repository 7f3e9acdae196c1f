//! One sample of a Kafka cluster (catalog §4.1 C1–C6): metadata, watermarks, consumer groups
//! with their committed offsets, broker and topic configs. Requests a broker does not answer
//! (listing groups or describing configs on some brokers) are recorded as unsupported — the
//! rest of the sample stands.

use std::collections::HashMap;
use std::sync::Arc;

use super::connection::{Answer, ClusterMeta, Configs, GroupMeta, KafkaReader};

#[cfg(test)]
mod window_tests {
    use super::GroupWindow;

    #[test]
    fn every_group_is_read_in_turn() {
        let names: Vec<String> = (0..7).map(|i| format!("g{i}")).collect();
        let mut seen = std::collections::HashSet::new();
        let mut start = 0;
        for _ in 0..3 {
            let picked = GroupWindow { max: 3, start }.pick(&names);
            assert_eq!(picked.len(), 3);
            seen.extend(picked);
            start += 3;
        }
        assert_eq!(seen.len(), 7);
        assert_eq!(GroupWindow { max: 10, start: 5 }.pick(&names), names);
    }
}
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
    /// Every group known this sample (listed or watched), read or not.
    pub group_names: Vec<String>,
    /// Groups whose offsets were not read this sample because of `max_groups` (they are read
    /// in turn by the next samples).
    pub groups_unread: usize,
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

/// Which groups a sample reads: at most `max`, starting at `start` (modulo the count), so
/// that over successive samples every group is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupWindow {
    pub max: usize,
    pub start: usize,
}

impl GroupWindow {
    /// The names read this time (`names` sorted, so the rotation is stable).
    pub fn pick(&self, names: &[String]) -> Vec<String> {
        if names.len() <= self.max {
            return names.to_vec();
        }
        let start = self.start % names.len();
        names
            .iter()
            .cycle()
            .skip(start)
            .take(self.max)
            .cloned()
            .collect()
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
/// `groups` says how many groups' offsets are read at most and from which position of the
/// sorted names a rotation starts.
pub async fn collect_sample(
    reader: Arc<KafkaReader>,
    watch: Vec<String>,
    max_topics: usize,
    groups: GroupWindow,
    read_configs: bool,
) -> Result<KafkaSample, PluginError> {
    let r = reader.clone();
    let groups_window = groups;
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
        names.sort();
        let chosen = groups_window.pick(&names);
        s.groups_unread = names.len() - chosen.len();
        s.group_names = names;
        // Only the groups read now keep an OffsetFetch client: at most `max_groups` of them.
        r.retain_groups(&chosen);
        for g in chosen {
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
