//! The Elasticsearch write backend of the repair executor: captures and probes through the
//! allowlisted reader, writes through a client only the executor's token can build, and the
//! rollback of a settings step as the same request with the captured values.

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Map, Value};

use super::connection::{EsHttp, EsReader, EsReply, EsTarget, error_reason};
use crate::config::{AppConfig, InstanceConfig};
use crate::plugins::PluginError;
use crate::repair::check::{ConfigDialect, judge_check, prepare_step, text_of};
use crate::repair::{
    Command, ExecutorToken, PreparedStep, RepairStep, Reply, RollbackSpec, WriteBackend,
};

/// The executor's Elasticsearch backend.
pub struct EsWriteBackend {
    target: EsTarget,
    reader: Option<EsReader>,
    writer: Option<EsHttp>,
    timeout: Duration,
}

impl EsWriteBackend {
    /// A backend for one cluster. Needs the executor's token.
    pub fn new(
        instance: &InstanceConfig,
        config: &AppConfig,
        _token: &ExecutorToken,
    ) -> Result<Self, PluginError> {
        Ok(EsWriteBackend {
            target: EsTarget::from_instance(instance)?,
            reader: None,
            writer: None,
            timeout: Duration::from_millis(config.collector.command_timeout_ms.max(10_000)),
        })
    }

    fn parts(command: &Command) -> Result<(&str, &str, Option<Value>), PluginError> {
        let method = command.argv.first().map(String::as_str).unwrap_or("");
        let path = command.argv.get(1).map(String::as_str).unwrap_or("");
        let body = match command.argv.get(2) {
            Some(b) => Some(serde_json::from_str(b).map_err(|e| {
                PluginError::Config(format!("the body of `{command}` is not JSON: {e}"))
            })?),
            None => None,
        };
        Ok((method, path, body))
    }

    fn checked(&self, method: &str, path: &str, reply: EsReply) -> Result<Reply, PluginError> {
        if reply.status >= 400 {
            return Err(PluginError::Protocol {
                endpoint: self.target.endpoint.clone(),
                reason: format!(
                    "{method} {path}: HTTP {}: {}",
                    reply.status,
                    error_reason(&reply.body.to_string())
                ),
            });
        }
        Ok(to_reply(&reply.body))
    }

    async fn read_reply(&mut self, command: &Command) -> Result<Reply, PluginError> {
        let (method, path, body) = Self::parts(command)?;
        if self.reader.is_none() {
            self.reader = Some(self.target.reader(self.timeout)?);
        }
        let Some(r) = self.reader.as_ref() else {
            unreachable!("built above")
        };
        let reply = r.read(method, path, body.as_ref()).await?;
        self.checked(method, path, reply)
    }

    /// ES-FIX-04's precheck (catalog §5.3): lifting the flood-stage block is refused while a
    /// node is at or above its high watermark — the cluster would put the block back at once
    /// (Elasticsearch ≥ 7.4 and OpenSearch lift it themselves once below).
    async fn precheck(&mut self, method: &str, body: Option<&Value>) -> Result<(), PluginError> {
        let lifts_block = method.eq_ignore_ascii_case("PUT")
            && body
                .and_then(|b| b.get("index.blocks.read_only_allow_delete"))
                .is_some_and(Value::is_null);
        if !lifts_block {
            return Ok(());
        }
        if self.reader.is_none() {
            self.reader = Some(self.target.reader(self.timeout)?);
        }
        let Some(r) = self.reader.as_ref() else {
            unreachable!("built above")
        };
        let sample = super::sample::collect_sample(r).await?;
        if sample.disks.is_empty() && sample.nodes.is_empty() {
            return Err(PluginError::Refused(
                "ES-FIX-04 precheck: the nodes' disk use could not be read".into(),
            ));
        }
        let past = super::rules::nodes_past_high(&sample);
        if past.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = past
            .iter()
            .map(|(node, used, high)| {
                format!("node {node} disk {used:.1}% ≥ high watermark {high:.1}%")
            })
            .collect();
        Err(PluginError::Refused(format!(
            "ES-FIX-04 precheck: {} — the cluster would put the block back; free disk first \
             (ES-FIX-06) or raise the watermarks for a while (ES-FIX-05)",
            list.join("; ")
        )))
    }

    async fn write_reply(
        &mut self,
        command: &Command,
        token: &ExecutorToken,
    ) -> Result<Reply, PluginError> {
        let (method, path, body) = Self::parts(command)?;
        self.precheck(method, body.as_ref()).await?;
        if self.writer.is_none() {
            self.writer = Some(self.target.writer(self.timeout, token)?);
        }
        let Some(w) = self.writer.as_ref() else {
            unreachable!("built above")
        };
        let reply = w.send(method, path, body.as_ref()).await?;
        self.checked(method, path, reply)
    }
}

/// A JSON reply as key/value pairs of every flat setting found in it (persistent and transient
/// over defaults), then `_body` with the whole JSON — so `ConfigEquals` reads settings and
/// `ReplyHas`/`ReplyLacks` read the body.
fn to_reply(body: &Value) -> Reply {
    let mut settings = Map::new();
    collect_settings(body, false, &mut settings);
    let mut items = Vec::new();
    for (k, v) in settings {
        items.push(Reply::Text(k));
        items.push(match v {
            Value::Null => Reply::Nil,
            Value::String(s) => Reply::Text(s),
            other => Reply::Text(other.to_string()),
        });
    }
    items.push(Reply::Text("_body".into()));
    items.push(Reply::Text(match body {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }));
    Reply::List(items)
}

/// Flat `a.b.c` settings under `settings`/`persistent`/`transient`/`defaults` objects; explicit
/// ones win over defaults.
fn collect_settings(v: &Value, in_settings: bool, out: &mut Map<String, Value>) {
    let Value::Object(map) = v else { return };
    for (k, val) in map {
        let section = matches!(
            k.as_str(),
            "settings" | "persistent" | "transient" | "defaults"
        );
        if in_settings && !val.is_object() {
            // BTreeMap order visits persistent before transient: transient wins, as in ES.
            out.insert(k.clone(), val.clone());
            continue;
        }
        if k == "defaults" {
            let mut defaults = Map::new();
            collect_settings(val, true, &mut defaults);
            for (dk, dv) in defaults {
                out.entry(dk).or_insert(dv);
            }
        } else {
            collect_settings(val, in_settings || section, out);
        }
    }
}

/// Settings come back as a string (or null when unset): the restore puts the same JSON type
/// back where it can tell.
fn restore_value(captured: Option<&Reply>) -> Value {
    match captured {
        None | Some(Reply::Nil) => Value::Null,
        Some(r) => {
            let t = text_of(r);
            serde_json::from_str::<Value>(&t)
                .ok()
                .filter(|v| v.is_number() || v.is_boolean())
                .unwrap_or(Value::String(t))
        }
    }
}

/// Unused by Elasticsearch (its rollbacks are built in `prepare`), present for the trait.
struct EsSettings;

impl ConfigDialect for EsSettings {
    fn restore(&self, key: &str, value: &str) -> Command {
        super::repair::request(
            "PUT",
            "/_cluster/settings",
            Some(serde_json::json!({"persistent": {key: value}})),
        )
    }

    fn new_value(&self, command: &Command) -> String {
        command.argv.get(2).cloned().unwrap_or_default()
    }
}

/// The rollback of a settings step: the same request with each key set to its captured value.
/// A cluster-settings step names both sections (`persistent`, and `transient` to clear a
/// shadowing value): each is put back to what it held, `null` where the key was unset.
fn restore_settings(
    step: &RepairStep,
    keys: &[String],
    captured: &[(String, Reply)],
) -> Option<(String, Vec<Command>, String)> {
    let command = step.commands.first()?;
    let (method, path) = (command.argv.first()?, command.argv.get(1)?);
    let mut body: Value = serde_json::from_str(command.argv.get(2)?).ok()?;
    let old = |k: &str| captured.iter().find_map(|(_, r)| r.get(k).cloned());
    // The captured reply's own sections (flat settings), for a cluster-settings step.
    let captured_body: Option<Value> = captured
        .iter()
        .find_map(|(_, r)| r.get("_body").map(text_of))
        .and_then(|t| serde_json::from_str(&t).ok());
    let was_in = |section: &str, k: &str| -> Value {
        captured_body
            .as_ref()
            .and_then(|b| b.get(section)?.get(k).cloned())
            .unwrap_or(Value::Null)
    };
    let mut lines = Vec::new();
    let cluster_step = body.get("persistent").is_some();
    for k in keys {
        let before = old(k);
        let new = body
            .get("persistent")
            .unwrap_or(&body)
            .get(k)
            .cloned()
            .unwrap_or(Value::Null);
        lines.push(format!(
            "{k}: {} → {}",
            before
                .as_ref()
                .map_or("(unset)".to_string(), |b| if *b == Reply::Nil {
                    "(unset)".into()
                } else {
                    text_of(b)
                }),
            if new.is_null() {
                "(default)".to_string()
            } else {
                new.to_string().trim_matches('"').to_string()
            }
        ));
        if cluster_step {
            for section in ["persistent", "transient"] {
                let old_value = was_in(section, k);
                if let Some(obj) = body.get_mut(section).and_then(Value::as_object_mut) {
                    obj.insert(k.clone(), old_value);
                }
            }
        } else {
            body.as_object_mut()?
                .insert(k.clone(), restore_value(before.as_ref()));
        }
    }
    let restore =
        super::repair::request(method, path.split('?').next().unwrap_or(path), Some(body));
    Some((lines.join("\n"), vec![restore.clone()], restore.to_string()))
}

impl WriteBackend for EsWriteBackend {
    fn identity(&mut self) -> BoxFuture<'_, Result<String, PluginError>> {
        Box::pin(async move {
            let root = self
                .read_reply(&super::repair::request("GET", "/", None))
                .await?;
            let body: Value = root
                .get("_body")
                .map(text_of)
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default();
            body.get("cluster_uuid")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| PluginError::Protocol {
                    endpoint: self.target.endpoint.clone(),
                    reason: "GET / has no cluster_uuid".into(),
                })
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

    /// A reroute dry run is a POST on the wire: outside confirm mode it is not sent, and the
    /// preview says why (read-only means no mutating verb at all, dry runs included).
    fn withheld(&self, command: &Command, why: &str) -> Option<Reply> {
        let method = command.argv.first()?;
        if matches!(method.as_str(), "GET" | "HEAD") {
            return None;
        }
        Some(Reply::List(vec![
            Reply::Text("_body".into()),
            Reply::Text(format!(
                "not sent: {why} (a dry run is a {method} request all the same)"
            )),
        ]))
    }

    fn prepare(&self, step: &RepairStep, captured: &[(String, Reply)]) -> PreparedStep {
        let mut prepared = prepare_step(step, captured, &EsSettings, |rollback| match rollback {
            RollbackSpec::RestoreConfig { keys } => {
                Some(restore_settings(step, keys, captured).unwrap_or_else(|| {
                    (
                        step.effect.clone(),
                        Vec::new(),
                        "the old values could not be read: no automatic rollback".into(),
                    )
                }))
            }
            _ => None,
        });
        // A dry run (reroute) is the best preview there is: show what the cluster answered.
        if let Some((c, r)) = captured.iter().find(|(c, _)| c.contains("dry_run=true")) {
            let answer = r.get("_body").map(text_of).unwrap_or_default();
            prepared.preview = format!(
                "{}\ndry run ({c}): {}",
                step.effect,
                answer.chars().take(300).collect::<String>()
            );
        }
        prepared
    }

    fn judge(
        &self,
        step: &RepairStep,
        reply: &Reply,
        prepared: &PreparedStep,
    ) -> Result<String, String> {
        let Some(probe) = &step.verify else {
            return Ok("no probe".into());
        };
        // An expected empty value means "unset": the key is absent or null.
        if let crate::repair::Check::ConfigEquals { key, value } = &probe.check
            && value.is_empty()
        {
            return match reply.get(key) {
                None | Some(Reply::Nil) => Ok(format!("{key} is unset")),
                Some(v) => Err(format!("{key} is still {}", text_of(v))),
            };
        }
        judge_check(&probe.check, reply, &prepared.captured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_replies_become_pairs_with_explicit_over_defaults() {
        let body = json!({"persistent": {"cluster.routing.allocation.enable": "none"}, "transient": {},
            "defaults": {"cluster.routing.allocation.enable": "all", "cluster.max_shards_per_node": "1000"}});
        let r = to_reply(&body);
        assert_eq!(
            r.get("cluster.routing.allocation.enable"),
            Some(&Reply::Text("none".into()))
        );
        assert_eq!(
            r.get("cluster.max_shards_per_node"),
            Some(&Reply::Text("1000".into()))
        );
        let idx = json!({"logs": {"settings": {"index.number_of_replicas": "1"}}});
        assert_eq!(
            to_reply(&idx).get("index.number_of_replicas"),
            Some(&Reply::Text("1".into()))
        );
        assert!(to_reply(&idx).flatten().contains("\"logs\""));
    }

    #[test]
    fn restore_values_keep_their_json_type() {
        assert_eq!(restore_value(Some(&Reply::Text("1".into()))), json!(1));
        assert_eq!(
            restore_value(Some(&Reply::Text("none".into()))),
            json!("none")
        );
        assert_eq!(restore_value(None), Value::Null);
    }
}
