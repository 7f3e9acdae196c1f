//! Read-only diagnostic tools the model may call on a Redis instance. They go through the
//! same allowlisted `RedisReader` as the collector, so nothing here can write.

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::connection::{RedisReader, RedisTarget};
use super::parse::{parse_config, parse_slowlog, summarize_clients, value_text};
use crate::ai::provider::ToolSpec;
use crate::config::{AppConfig, InstanceConfig};
use crate::plugins::connected;
use crate::plugins::{PluginError, ToolRunner};

const INFO_SECTIONS: [&str; 10] = [
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "commandstats",
    "errorstats",
    "keyspace",
];

/// The Redis tools of one instance, with their own connection.
pub struct RedisTools {
    target: RedisTarget,
    reader: Option<RedisReader>,
    connect_timeout: Duration,
    command_timeout: Duration,
}

impl RedisTools {
    /// Tools for a configured instance (connects on first use).
    pub fn new(instance: &InstanceConfig, config: &AppConfig) -> Result<Self, PluginError> {
        Ok(RedisTools {
            target: RedisTarget::from_instance(instance)?,
            reader: None,
            connect_timeout: config.collector.connect_timeout(),
            command_timeout: Duration::from_millis(config.collector.command_timeout_ms),
        })
    }

    async fn query(&mut self, argv: &[&str]) -> Result<Value2, String> {
        let reader = connected(&mut self.reader, || {
            self.target
                .connect(self.connect_timeout, self.command_timeout)
        })
        .await
        .map_err(|e| e.to_string())?;
        reader.query(argv).await.map_err(|e| e.to_string())
    }

    async fn run(&mut self, name: &str, args: &Value) -> Result<String, String> {
        match name {
            "redis_info" => {
                let section = args["section"]
                    .as_str()
                    .unwrap_or("memory")
                    .to_ascii_lowercase();
                if !INFO_SECTIONS.contains(&section.as_str()) {
                    return Err(format!(
                        "unknown section `{section}`; one of {}",
                        INFO_SECTIONS.join(", ")
                    ));
                }
                let v = self.query(&["INFO", &section]).await?;
                Ok(value_text(&v).unwrap_or_default())
            }
            "redis_slowlog" => {
                let count = args["count"]
                    .as_u64()
                    .unwrap_or(10)
                    .clamp(1, 32)
                    .to_string();
                let v = self.query(&["SLOWLOG", "GET", &count]).await?;
                let lines: Vec<String> = parse_slowlog(&v)
                    .iter()
                    .map(|e| {
                        format!(
                            "id={} ts={} duration_ms={:.1} cmd=\"{}\" client={} {}",
                            e.id,
                            e.timestamp,
                            e.duration_us as f64 / 1000.0,
                            e.command_line(120),
                            e.client_addr,
                            e.client_name
                        )
                    })
                    .collect();
                Ok(if lines.is_empty() {
                    "slowlog is empty".into()
                } else {
                    lines.join("\n")
                })
            }
            "redis_client_list" => {
                let v = self.query(&["CLIENT", "LIST"]).await?;
                let s = summarize_clients(&value_text(&v).unwrap_or_default(), 10_000);
                Ok(format!(
                    "clients={} pubsub={} blocked={} replicas={} max_omem={} ({}) max_idle_secs={} idle_over_1h={}{}",
                    s.total,
                    s.pubsub,
                    s.blocked,
                    s.replicas,
                    s.max_omem,
                    s.max_omem_client.unwrap_or_default(),
                    s.max_idle_secs,
                    s.idle_over_hour,
                    if s.truncated { " (list truncated)" } else { "" }
                ))
            }
            "redis_config_get" => {
                let key = args["key"].as_str().unwrap_or_default();
                if key.is_empty() || key.contains('*') || key.contains('?') {
                    return Err("give one exact config key (no wildcards)".into());
                }
                let v = self.query(&["CONFIG", "GET", key]).await?;
                let map = parse_config(&v);
                Ok(if map.is_empty() {
                    format!("no config key `{key}`")
                } else {
                    map.iter()
                        .map(|(k, v)| format!("{k} = {v}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
            }
            "redis_latency_doctor" => {
                let v = self.query(&["LATENCY", "DOCTOR"]).await?;
                Ok(value_text(&v).unwrap_or_default())
            }
            "redis_memory_doctor" => {
                let v = self.query(&["MEMORY", "DOCTOR"]).await?;
                Ok(value_text(&v).unwrap_or_default())
            }
            "redis_bigkeys" => {
                self.bigkeys(args["max_keys"].as_u64().unwrap_or(500).clamp(10, 2000) as usize)
                    .await
            }
            other => Err(format!("unknown tool `{other}`")),
        }
    }

    /// Bounded big-key sampling, like `redis-cli --memkeys`: SCAN at most `max_keys` keys,
    /// report the ten largest by MEMORY USAGE (names only, never values).
    async fn bigkeys(&mut self, max_keys: usize) -> Result<String, String> {
        let mut cursor = "0".to_string();
        let mut sizes: Vec<(u64, String, String)> = Vec::new();
        let mut seen = 0;
        loop {
            let v = self.query(&["SCAN", &cursor, "COUNT", "200"]).await?;
            let Value2::Array(parts) = v else { break };
            cursor = parts
                .first()
                .and_then(value_text)
                .unwrap_or_else(|| "0".into());
            let keys: Vec<String> = match parts.get(1) {
                Some(Value2::Array(keys)) => keys.iter().filter_map(value_text).collect(),
                _ => Vec::new(),
            };
            for key in keys {
                if seen >= max_keys {
                    break;
                }
                seen += 1;
                let bytes = self
                    .query(&["MEMORY", "USAGE", &key, "SAMPLES", "5"])
                    .await
                    .ok()
                    .and_then(|v| value_text(&v))
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(0);
                let kind = self
                    .query(&["TYPE", &key])
                    .await
                    .ok()
                    .and_then(|v| value_text(&v))
                    .unwrap_or_default();
                sizes.push((bytes, key, kind));
            }
            if cursor == "0" || seen >= max_keys {
                break;
            }
        }
        sizes.sort_by_key(|s| std::cmp::Reverse(s.0));
        let top: Vec<String> = sizes
            .iter()
            .take(10)
            .map(|(b, k, t)| format!("{k} ({t}) {b} bytes"))
            .collect();
        Ok(format!("sampled {seen} keys; largest:\n{}", top.join("\n")))
    }
}

type Value2 = redis::Value;

impl ToolRunner for RedisTools {
    fn specs(&self) -> Vec<ToolSpec> {
        let obj = |props: Value| json!({"type": "object", "properties": props});
        vec![
            ToolSpec {
                name: "redis_info".into(),
                description: "One INFO section of the selected Redis (server, clients, memory, persistence, stats, replication, cpu, commandstats, errorstats, keyspace).".into(),
                parameters: obj(json!({"section": {"type": "string", "enum": INFO_SECTIONS}})),
            },
            ToolSpec {
                name: "redis_slowlog".into(),
                description: "The newest SLOWLOG entries (duration, command prefix, client).".into(),
                parameters: obj(json!({"count": {"type": "integer", "minimum": 1, "maximum": 32}})),
            },
            ToolSpec {
                name: "redis_client_list".into(),
                description: "A summary of CLIENT LIST: counts by kind, largest output buffer, idle clients.".into(),
                parameters: obj(json!({})),
            },
            ToolSpec {
                name: "redis_config_get".into(),
                description: "CONFIG GET of one exact key (secrets come back redacted).".into(),
                parameters: json!({"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]}),
            },
            ToolSpec {
                name: "redis_latency_doctor".into(),
                description: "Redis's own LATENCY DOCTOR report.".into(),
                parameters: obj(json!({})),
            },
            ToolSpec {
                name: "redis_memory_doctor".into(),
                description: "Redis's own MEMORY DOCTOR report.".into(),
                parameters: obj(json!({})),
            },
            ToolSpec {
                name: "redis_bigkeys".into(),
                description: "Bounded big-key sampling (SCAN + MEMORY USAGE): the ten largest keys by name, type and size.".into(),
                parameters: obj(json!({"max_keys": {"type": "integer", "minimum": 10, "maximum": 2000}})),
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
