//! Read-only diagnostic tools the model may call on an Elasticsearch/OpenSearch cluster; they
//! go through the collector's allowlisted client, so nothing here can write or read documents.

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::connection::{EsReader, EsTarget};
use crate::ai::provider::ToolSpec;
use crate::config::{AppConfig, InstanceConfig};
use crate::plugins::{PluginError, ToolRunner};

const CAT_VIEWS: [&str; 8] = [
    "shards",
    "indices",
    "allocation",
    "thread_pool",
    "nodes",
    "pending_tasks",
    "recovery",
    "health",
];

/// The Elasticsearch tools of one cluster.
pub struct EsTools {
    target: EsTarget,
    reader: Option<EsReader>,
    timeout: Duration,
}

impl EsTools {
    /// Tools for a configured instance.
    pub fn new(instance: &InstanceConfig, config: &AppConfig) -> Result<Self, PluginError> {
        Ok(EsTools {
            target: EsTarget::from_instance(instance)?,
            reader: None,
            timeout: Duration::from_millis(config.collector.command_timeout_ms.max(5000)),
        })
    }

    async fn run(&mut self, name: &str, args: &Value) -> Result<String, String> {
        if self.reader.is_none() {
            self.reader = Some(
                self.target
                    .reader(self.timeout)
                    .map_err(|e| e.to_string())?,
            );
        }
        let Some(r) = self.reader.as_ref() else {
            return Err("no client".into());
        };
        let text = |v: Value| serde_json::to_string_pretty(&v).unwrap_or_default();
        match name {
            "es_health" => r
                .get("/_cluster/health?level=indices")
                .await
                .map(text)
                .map_err(|e| e.to_string()),
            "es_allocation_explain" => {
                let body = args.get("index").and_then(Value::as_str).map(|index| {
                    json!({
                        "index": index,
                        "shard": args.get("shard").and_then(Value::as_u64).unwrap_or(0),
                        "primary": args.get("primary").and_then(Value::as_bool).unwrap_or(true),
                    })
                });
                let reply = r
                    .read("POST", "/_cluster/allocation/explain", body.as_ref())
                    .await
                    .map_err(|e| e.to_string())?;
                if reply.status == 400 {
                    return Ok("no unassigned shard to explain".into());
                }
                Ok(text(reply.body))
            }
            "es_hot_threads" => {
                let reply = r
                    .read("GET", "/_nodes/hot_threads?threads=3", None)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(reply.body.as_str().unwrap_or_default().to_string())
            }
            "es_cat" => {
                let view = args.get("view").and_then(Value::as_str).unwrap_or("health");
                if !CAT_VIEWS.contains(&view) {
                    return Err(format!(
                        "unknown view `{view}`; one of {}",
                        CAT_VIEWS.join(", ")
                    ));
                }
                let reply = r
                    .read("GET", &format!("/_cat/{view}?v=true"), None)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(reply.body.as_str().unwrap_or_default().to_string())
            }
            other => Err(format!("no tool `{other}`")),
        }
    }
}

impl ToolRunner for EsTools {
    fn specs(&self) -> Vec<ToolSpec> {
        let obj = |props: Value| json!({"type": "object", "properties": props});
        vec![
            ToolSpec {
                name: "es_health".into(),
                description: "Cluster health of the selected Elasticsearch/OpenSearch, per index.".into(),
                parameters: obj(json!({})),
            },
            ToolSpec {
                name: "es_allocation_explain".into(),
                description: "Why a shard is unassigned (_cluster/allocation/explain); without an index, a random unassigned shard.".into(),
                parameters: obj(json!({"index": {"type": "string"}, "shard": {"type": "integer"}, "primary": {"type": "boolean"}})),
            },
            ToolSpec {
                name: "es_hot_threads".into(),
                description: "The busiest threads of every node (_nodes/hot_threads).".into(),
                parameters: obj(json!({})),
            },
            ToolSpec {
                name: "es_cat".into(),
                description: "A _cat view as text: shards, indices, allocation, thread_pool, nodes, pending_tasks, recovery, health.".into(),
                parameters: obj(json!({"view": {"type": "string", "enum": CAT_VIEWS}})),
            },
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
