//! The Redis write backend of the repair executor: a connection that can write (opened only
//! with the executor's token), the pre-state → preview/rollback logic, and the probes' checks.

use std::time::Duration;

use futures::future::BoxFuture;
use redis::Value;
use redis::aio::MultiplexedConnection;

use super::connection::{RedisReader, RedisTarget};
use super::parse::value_text;
use crate::config::{AppConfig, InstanceConfig};
use crate::plugins::PluginError;
use crate::repair::{
    Check, Command, ExecutorToken, PreparedStep, RepairStep, Reply, RollbackSpec, WriteBackend,
};

/// The executor's Redis backend: captures and probes go through the same allowlisted read-only
/// connection the collector uses; writes through a second connection that only the executor's
/// token can open.
pub struct RedisWriteBackend {
    target: RedisTarget,
    reader: Option<RedisReader>,
    writer: Option<MultiplexedConnection>,
    connect_timeout: Duration,
    command_timeout: Duration,
}

impl RedisWriteBackend {
    /// A backend for one instance (connects on first use). Needs the executor's token.
    pub fn new(
        instance: &InstanceConfig,
        config: &AppConfig,
        _token: &ExecutorToken,
    ) -> Result<Self, PluginError> {
        Ok(RedisWriteBackend {
            target: RedisTarget::from_instance(instance)?,
            reader: None,
            writer: None,
            connect_timeout: Duration::from_millis(config.collector.connect_timeout_ms),
            // Writes such as BGSAVE answer at once; allow some slack for a loaded server.
            command_timeout: Duration::from_millis(config.collector.command_timeout_ms.max(5000)),
        })
    }

    async fn read_reply(&mut self, command: &Command) -> Result<Reply, PluginError> {
        if self.reader.is_none() {
            self.reader = Some(
                self.target
                    .connect(self.connect_timeout, self.command_timeout)
                    .await?,
            );
        }
        let Some(reader) = self.reader.as_mut() else {
            unreachable!("connected above");
        };
        let argv: Vec<&str> = command.argv.iter().map(String::as_str).collect();
        let result = reader.query(&argv).await;
        if matches!(result, Err(PluginError::Unreachable { .. })) {
            self.reader = None;
        }
        result.map(|v| to_reply(&v))
    }

    async fn write_reply(
        &mut self,
        command: &Command,
        token: &ExecutorToken,
    ) -> Result<Reply, PluginError> {
        if self.writer.is_none() {
            self.writer = Some(
                self.target
                    .connect_for_executor(self.connect_timeout, self.command_timeout, token)
                    .await?,
            );
        }
        let Some(conn) = self.writer.as_mut() else {
            unreachable!("connected above");
        };
        let Some((name, args)) = command.argv.split_first() else {
            return Err(PluginError::Config("empty command".into()));
        };
        let mut c = redis::cmd(name);
        for a in args {
            c.arg(a);
        }
        match c.query_async::<Value>(conn).await {
            Ok(v) => Ok(to_reply(&v)),
            Err(e) => {
                if e.is_io_error() || e.is_connection_dropped() {
                    self.writer = None;
                }
                Err(self.target.classify(&e))
            }
        }
    }
}

/// A Redis value in the executor's plain shape.
fn to_reply(v: &Value) -> Reply {
    match v {
        Value::Nil => Reply::Nil,
        Value::Int(i) => Reply::Int(*i),
        Value::Array(items) | Value::Set(items) => {
            Reply::List(items.iter().map(to_reply).collect())
        }
        Value::Map(pairs) => Reply::List(
            pairs
                .iter()
                .flat_map(|(k, v)| [to_reply(k), to_reply(v)])
                .collect(),
        ),
        other => value_text(other).map_or(Reply::Nil, Reply::Text),
    }
}

fn text_of(r: &Reply) -> String {
    match r {
        Reply::Text(t) => t.clone(),
        Reply::Int(i) => i.to_string(),
        other => other.flatten(),
    }
}

/// `CONFIG GET key` value from a capture.
fn captured_config<'a>(captured: &'a [(String, Reply)], key: &str) -> Option<&'a Reply> {
    captured.iter().find_map(|(_, r)| r.get(key))
}

/// The `ACL SETUSER` words that restore a user from its `ACL GETUSER` reply.
fn acl_restore(user: &str, reply: &Reply) -> Option<Command> {
    let flags: Vec<String> = match reply.get("flags")? {
        Reply::List(items) => items.iter().map(text_of).collect(),
        other => vec![text_of(other)],
    };
    let mut words = vec![
        "ACL".to_string(),
        "SETUSER".into(),
        user.into(),
        "resetpass".into(),
    ];
    if flags.iter().any(|f| f == "nopass") {
        words.push("nopass".into());
    }
    if let Some(Reply::List(hashes)) = reply.get("passwords") {
        words.extend(hashes.iter().map(|h| format!("#{}", text_of(h))));
    }
    words.push(
        if flags.iter().any(|f| f == "on") {
            "on"
        } else {
            "off"
        }
        .into(),
    );
    if let Some(commands) = reply.get("commands") {
        words.push("nocommands".into());
        words.extend(text_of(commands).split_whitespace().map(str::to_string));
    }
    Some(Command::new(&words))
}

fn judge(check: &Check, reply: &Reply, captured: &[(String, Reply)]) -> Result<String, String> {
    match check {
        Check::ConfigEquals { key, value } => match reply.get(key).map(text_of) {
            Some(v) if v.eq_ignore_ascii_case(value) => Ok(format!("{key} = {v}")),
            Some(v) => Err(format!("{key} is {v}, expected {value}")),
            None => Err(format!("CONFIG GET returned no {key}")),
        },
        Check::InfoEquals { field, value } => match reply.info_field(field) {
            Some(v) if v == *value => Ok(format!("{field}:{v}")),
            Some(v) => Err(format!("{field} is {v}, expected {value}")),
            None => Err(format!("INFO has no {field}")),
        },
        Check::InfoAtMost { field } => {
            let before = captured
                .iter()
                .find_map(|(_, r)| r.info_field(field))
                .and_then(|v| v.parse::<f64>().ok());
            let now = reply.info_field(field).and_then(|v| v.parse::<f64>().ok());
            match (before, now) {
                (Some(b), Some(n)) if n <= b => Ok(format!("{field}: {b} → {n}")),
                (Some(b), Some(n)) => Err(format!("{field} grew: {b} → {n}")),
                _ => Err(format!("INFO has no numeric {field}")),
            }
        }
        Check::Reply(expected) => {
            let got = reply.flatten();
            if got.trim() == expected {
                Ok(format!("replied {got}"))
            } else {
                Err(format!("replied {}, expected {expected}", reply.summary()))
            }
        }
        Check::ReplyLacks(text) => {
            if reply.flatten().contains(text.as_str()) {
                Err(format!("the reply still contains `{text}`"))
            } else {
                Ok(format!("no `{text}` any more"))
            }
        }
        Check::ReplyHas(text) => {
            if reply.flatten().contains(text.as_str()) {
                Ok(reply.summary())
            } else {
                Err(format!("expected `{text}`, got {}", reply.summary()))
            }
        }
        Check::Empty => {
            if reply.flatten().trim().is_empty() {
                Ok("nothing left".into())
            } else {
                Err(format!("still there: {}", reply.summary()))
            }
        }
        Check::All(checks) => {
            let mut ok = Vec::new();
            for c in checks {
                ok.push(judge(c, reply, captured)?);
            }
            Ok(ok.join(", "))
        }
    }
}

impl WriteBackend for RedisWriteBackend {
    fn identity(&mut self) -> BoxFuture<'_, Result<String, PluginError>> {
        Box::pin(async move {
            let reply = self.read_reply(&Command::new(&["INFO", "server"])).await?;
            reply
                .info_field("run_id")
                .ok_or_else(|| PluginError::Protocol {
                    endpoint: self.target.endpoint.clone(),
                    reason: "INFO server has no run_id".into(),
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

    fn prepare(&self, step: &RepairStep, captured: &[(String, Reply)]) -> PreparedStep {
        let (preview, rollback, rollback_text) = match &step.rollback {
            RollbackSpec::RestoreConfig { keys } => {
                let mut lines = Vec::new();
                let mut rollback = Vec::new();
                for (key, command) in keys.iter().zip(&step.commands) {
                    let new = command.argv.get(3).cloned().unwrap_or_default();
                    match captured_config(captured, key).map(text_of) {
                        Some(old) => {
                            lines.push(format!("{key}: {old} → {new}"));
                            rollback.push(Command::new(&["CONFIG", "SET", key, &old]));
                        }
                        None => lines.push(format!("{key}: (unknown) → {new}")),
                    }
                }
                let text = if rollback.len() == keys.len() {
                    rollback
                        .iter()
                        .map(Command::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                } else {
                    rollback.clear();
                    "the old value could not be read: no automatic rollback".to_string()
                };
                (lines.join("\n"), rollback, text)
            }
            RollbackSpec::RestoreAcl { user } => {
                let restore = captured.first().and_then(|(_, r)| acl_restore(user, r));
                let flags = captured
                    .first()
                    .and_then(|(_, r)| r.get("flags"))
                    .map(Reply::summary)
                    .unwrap_or_else(|| "unknown".into());
                let preview = format!("user {user} now: flags {flags}");
                match restore {
                    Some(c) => (preview, vec![c.clone()], c.to_string()),
                    None => (
                        preview,
                        Vec::new(),
                        format!("user {user} could not be read: no automatic rollback"),
                    ),
                }
            }
            RollbackSpec::NotNeeded(why) => (
                step.effect.clone(),
                Vec::new(),
                format!("none needed: {why}"),
            ),
            RollbackSpec::Irreversible(why) => (
                step.effect.clone(),
                Vec::new(),
                format!("irreversible: {why}"),
            ),
            RollbackSpec::Manual(how) => {
                (step.effect.clone(), Vec::new(), format!("manual: {how}"))
            }
        };
        PreparedStep {
            captured: captured
                .iter()
                .map(|(c, r)| (c.clone(), r.clone()))
                .collect(),
            preview,
            rollback,
            rollback_text,
        }
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
        judge(&probe.check, reply, &prepared.captured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Reply {
        Reply::Text(s.into())
    }

    #[test]
    fn acl_rollback_restores_hashes_flags_and_commands() {
        let reply = Reply::List(vec![
            t("flags"),
            Reply::List(vec![t("on"), t("nopass"), t("sanitize-payload")]),
            t("passwords"),
            Reply::List(vec![]),
            t("commands"),
            t("+@all"),
            t("keys"),
            t("~*"),
        ]);
        let c = acl_restore("default", &reply).unwrap();
        assert_eq!(
            c.to_string(),
            "ACL SETUSER default resetpass nopass on nocommands +@all"
        );
        let reply = Reply::List(vec![
            t("flags"),
            Reply::List(vec![t("on")]),
            t("passwords"),
            Reply::List(vec![t("5e88")]),
            t("commands"),
            t("+@all -debug"),
        ]);
        let c = acl_restore("app", &reply).unwrap();
        assert_eq!(
            c.to_string(),
            "ACL SETUSER app resetpass #5e88 on nocommands +@all -debug"
        );
    }

    #[test]
    fn checks_judge_replies() {
        let cfg = Reply::List(vec![t("maxmemory-policy"), t("allkeys-lru")]);
        let ok = Check::ConfigEquals {
            key: "maxmemory-policy".into(),
            value: "allkeys-lru".into(),
        };
        assert!(judge(&ok, &cfg, &[]).is_ok());
        let bad = Check::ConfigEquals {
            key: "maxmemory-policy".into(),
            value: "noeviction".into(),
        };
        assert_eq!(
            judge(&bad, &cfg, &[]).unwrap_err(),
            "maxmemory-policy is allkeys-lru, expected noeviction"
        );
        let info = t("rdb_bgsave_in_progress:0\r\nrdb_last_bgsave_status:ok\r\n");
        let all = Check::All(vec![
            Check::InfoEquals {
                field: "rdb_bgsave_in_progress".into(),
                value: "0".into(),
            },
            Check::InfoEquals {
                field: "rdb_last_bgsave_status".into(),
                value: "ok".into(),
            },
        ]);
        assert!(judge(&all, &info, &[]).is_ok());
        let before = vec![("INFO memory".to_string(), t("allocator_resident:1000\r\n"))];
        let at_most = Check::InfoAtMost {
            field: "allocator_resident".into(),
        };
        assert!(judge(&at_most, &t("allocator_resident:900\r\n"), &before).is_ok());
        assert!(judge(&at_most, &t("allocator_resident:1100\r\n"), &before).is_err());
        assert!(judge(&Check::Empty, &t(""), &[]).is_ok());
        assert!(judge(&Check::Reply("0".into()), &Reply::Int(0), &[]).is_ok());
    }
}
