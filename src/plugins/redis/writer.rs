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
use crate::plugins::connected;
use crate::repair::check::{ConfigDialect, prepare_step, text_of};
use crate::repair::{
    Command, ExecutorToken, PreparedStep, RepairStep, Reply, RollbackSpec, WriteBackend,
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
            connect_timeout: config.collector.connect_timeout(),
            // Writes such as BGSAVE answer at once; allow some slack for a loaded server.
            command_timeout: Duration::from_millis(config.collector.command_timeout_ms.max(5000)),
        })
    }

    async fn read_reply(&mut self, command: &Command) -> Result<Reply, PluginError> {
        let reader = connected(&mut self.reader, || {
            self.target
                .connect(self.connect_timeout, self.command_timeout)
        })
        .await?;
        let argv: Vec<&str> = command.argv.iter().map(String::as_str).collect();
        let result = reader.query(&argv).await;
        if result.as_ref().is_err_and(PluginError::is_link_failure) {
            self.reader = None;
        }
        result.map(|v| to_reply(&v))
    }

    async fn write_reply(
        &mut self,
        command: &Command,
        token: &ExecutorToken,
    ) -> Result<Reply, PluginError> {
        let conn = connected(&mut self.writer, || {
            self.target
                .connect_for_executor(self.connect_timeout, self.command_timeout, token)
        })
        .await?;
        let Some((name, args)) = command.argv.split_first() else {
            return Err(PluginError::Config("empty command".into()));
        };
        if let Some(id) = client_kill_id(&command.argv) {
            // Never this program's own connections (as the MySQL writer refuses its sessions):
            // killing the writer would drop the step's own result, the reader its probes.
            let mut own = vec![
                redis::cmd("CLIENT")
                    .arg("ID")
                    .query_async::<i64>(conn)
                    .await
                    .ok(),
            ];
            own.push(
                match self.read_reply(&Command::new(&["CLIENT", "ID"])).await {
                    Ok(Reply::Int(i)) => Some(i),
                    _ => None,
                },
            );
            if own.contains(&Some(id)) {
                return Err(PluginError::Refused(format!(
                    "client {id} is this program's own connection"
                )));
            }
        }
        self.send(name, args, token).await
    }

    async fn send(
        &mut self,
        name: &str,
        args: &[String],
        token: &ExecutorToken,
    ) -> Result<Reply, PluginError> {
        let conn = connected(&mut self.writer, || {
            self.target
                .connect_for_executor(self.connect_timeout, self.command_timeout, token)
        })
        .await?;
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

/// The client id a `CLIENT KILL ID <id>` (or `CLIENT KILL … ID <id> …`) names.
fn client_kill_id(argv: &[String]) -> Option<i64> {
    let upper: Vec<String> = argv.iter().map(|a| a.to_ascii_uppercase()).collect();
    if upper.first().map(String::as_str) != Some("CLIENT")
        || upper.get(1).map(String::as_str) != Some("KILL")
    {
        return None;
    }
    let at = upper.iter().position(|w| w == "ID")?;
    argv.get(at + 1)?.parse().ok()
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
    // The hashes restore the passwords exactly; they are as sensitive as the passwords (unsalted
    // SHA-256), so they are secret arguments: on the wire only, never shown or audited.
    let mut secret = Vec::new();
    if let Some(Reply::List(hashes)) = reply.get("passwords") {
        for h in hashes {
            secret.push(words.len());
            words.push(format!("#{}", text_of(h)));
        }
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
    Some(
        secret
            .into_iter()
            .fold(Command::new(&words), Command::with_secret),
    )
}

/// `CONFIG SET key value` is how Redis sets (and restores) a setting.
struct RedisConfig;

impl ConfigDialect for RedisConfig {
    fn restore(&self, key: &str, value: &str) -> Command {
        Command::new(&["CONFIG", "SET", key, value])
    }

    fn new_value(&self, command: &Command) -> String {
        command.argv.get(3).cloned().unwrap_or_default()
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
        prepare_step(step, captured, &RedisConfig, |rollback| {
            let RollbackSpec::RestoreAcl { user } = rollback else {
                return None;
            };
            let restore = captured.first().and_then(|(_, r)| acl_restore(user, r));
            let flags = captured
                .first()
                .and_then(|(_, r)| r.get("flags"))
                .map(Reply::summary)
                .unwrap_or_else(|| "unknown".into());
            let preview = format!("user {user} now: flags {flags}");
            Some(match restore {
                Some(c) => (preview, vec![c.clone()], c.to_string()),
                None => (
                    preview,
                    Vec::new(),
                    format!("user {user} could not be read: no automatic rollback"),
                ),
            })
        })
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
        // The hash goes on the wire (the rollback must restore the password) but is never
        // shown: the modal, `fix` and the audit log print the command's Display.
        assert_eq!(
            c.to_string(),
            "ACL SETUSER app resetpass [REDACTED] on nocommands +@all -debug"
        );
        assert_eq!(c.argv[4], "#5e88");
        assert!(!format!("{c:?}").contains("5e88"));
    }
}
