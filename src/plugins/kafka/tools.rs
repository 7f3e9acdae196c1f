//! Read-only diagnostic tools the model may call on a Kafka cluster: group lag per partition,
//! one topic's partitions and configs, the broker list. They use the collector's read-only
//! client (metadata, watermarks, OffsetFetch, DescribeConfigs — never a produce or a join).

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::connection::{Answer, KafkaReader, KafkaTarget};
use crate::ai::provider::ToolSpec;
use crate::config::PluginSettings;
use crate::config::{AppConfig, InstanceConfig};
use crate::plugins::{PluginError, ToolRunner};

/// The Kafka tools of one cluster.
pub struct KafkaTools {
    target: KafkaTarget,
    reader: Option<Arc<KafkaReader>>,
}

impl KafkaTools {
    /// Tools for a configured instance.
    pub fn new(instance: &InstanceConfig, config: &AppConfig) -> Result<Self, PluginError> {
        Ok(KafkaTools {
            target: KafkaTarget::from_instance(
                instance,
                Duration::from_millis(
                    super::settings::KafkaSettings::of(config).request_timeout_ms,
                ),
            )?,
            reader: None,
        })
    }

    async fn run(&mut self, name: &str, args: &Value) -> Result<String, String> {
        if self.reader.is_none() {
            self.reader = Some(Arc::new(self.target.reader().map_err(|e| e.to_string())?));
        }
        let Some(r) = self.reader.clone() else {
            return Err("no client".into());
        };
        let name = name.to_string();
        let args = args.clone();
        if name == "kafka_topic" {
            let topic = args["topic"].as_str().unwrap_or("").to_string();
            let configs = r
                .configs(&[], std::slice::from_ref(&topic))
                .await
                .map_err(|e| e.to_string())?;
            let described = tokio::task::spawn_blocking(move || describe_topic(&r, &topic))
                .await
                .map_err(|e| e.to_string())??;
            let configs = match configs {
                Answer::Yes(c) => json!(c),
                Answer::Unsupported(why) => json!(why),
            };
            return Ok(format!("{described}\nconfigs: {configs}"));
        }
        tokio::task::spawn_blocking(move || match name.as_str() {
            "kafka_brokers" => {
                let md = r.metadata().map_err(|e| e.to_string())?;
                Ok(json!({"cluster_id": md.cluster_id, "controller": md.controller,
                    "brokers": md.brokers.iter().map(|(id, h, p)| json!({"id": id, "host": h, "port": p})).collect::<Vec<_>>()}).to_string())
            }
            "kafka_group_lag" => {
                let group = args["group"].as_str().filter(|g| !g.is_empty()).ok_or("`group` is required")?;
                let md = r.metadata().map_err(|e| e.to_string())?;
                let parts: Vec<(String, i32)> = md.topics.iter().filter(|t| !t.name.starts_with("__"))
                    .flat_map(|t| t.partitions.iter().map(|p| (t.name.clone(), p.id))).collect();
                let committed = r.committed(group, &parts).map_err(|e| e.to_string())?;
                let mut rows = Vec::new();
                let mut keys: Vec<_> = committed.keys().cloned().collect();
                keys.sort();
                for (t, p) in keys {
                    let c = committed[&(t.clone(), p)];
                    let (low, high) = r.watermarks(&t, p).map_err(|e| e.to_string())?;
                    rows.push(format!("{t}[{p}] committed={c} high={high} low={low} lag={}", (high - c).max(0)));
                }
                Ok(if rows.is_empty() { format!("group {group} has no committed offsets") } else { rows.join("\n") })
            }
            other => Err(format!("no tool `{other}`")),
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

fn describe_topic(r: &KafkaReader, topic: &str) -> Result<String, String> {
    let md = r.metadata().map_err(|e| e.to_string())?;
    let t = md
        .topics
        .iter()
        .find(|t| t.name == topic)
        .ok_or_else(|| format!("no topic `{topic}`"))?;
    let mut out = vec![format!(
        "topic {} — {} partition(s)",
        t.name,
        t.partitions.len()
    )];
    for p in &t.partitions {
        let (low, high) = r.watermarks(&t.name, p.id).unwrap_or((-1, -1));
        out.push(format!(
            "[{}] leader={} replicas={:?} isr={:?} low={low} high={high}{}",
            p.id,
            p.leader,
            p.replicas,
            p.isr,
            p.error
                .as_ref()
                .map(|e| format!(" error={e}"))
                .unwrap_or_default()
        ));
    }
    Ok(out.join("\n"))
}

impl ToolRunner for KafkaTools {
    fn specs(&self) -> Vec<ToolSpec> {
        let obj = |props: Value| json!({"type": "object", "properties": props});
        vec![
            ToolSpec { name: "kafka_group_lag".into(), description: "Committed offset, watermarks and lag per partition of one consumer group.".into(),
                parameters: json!({"type": "object", "properties": {"group": {"type": "string"}}, "required": ["group"]}) },
            ToolSpec { name: "kafka_topic".into(), description: "One topic: partitions with leader, replicas, ISR, watermarks; its configs where the broker describes them.".into(),
                parameters: json!({"type": "object", "properties": {"topic": {"type": "string"}}, "required": ["topic"]}) },
            ToolSpec { name: "kafka_brokers".into(), description: "The brokers, the controller and the cluster id.".into(), parameters: obj(json!({})) },
        ]
    }

    fn call<'a>(
        &'a mut self,
        name: &'a str,
        args: &'a Value,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(self.run(name, args))
    }
}
