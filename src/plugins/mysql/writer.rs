//! The MySQL/MariaDB write backend of the repair executor: captures and probes through the
//! guarded read-only reader, writes through a second connection only the executor's token can
//! open, and a precheck that never kills a replication or system thread or this program's own
//! sessions.

use std::time::Duration;

use futures::future::BoxFuture;
use mysql_async::Conn;

use super::connection::{MysqlReader, MysqlTarget, Table, run_on};
use super::repair::set_global;
use super::sample::identity_from;
use crate::config::PluginSettings;
use crate::config::{AppConfig, InstanceConfig};
use crate::plugins::PluginError;
use crate::plugins::connected;
use crate::repair::check::{ConfigDialect, prepare_step};
use crate::repair::{Command, ExecutorToken, PreparedStep, RepairStep, Reply, WriteBackend};

/// The executor's MySQL backend.
pub struct MysqlWriteBackend {
    target: MysqlTarget,
    reader: Option<MysqlReader>,
    writer: Option<Conn>,
    writer_id: Option<u64>,
    connect_timeout: Duration,
    statement_timeout: Duration,
}

impl MysqlWriteBackend {
    /// A backend for one instance (connects on first use). Needs the executor's token.
    pub fn new(
        instance: &InstanceConfig,
        config: &AppConfig,
        _token: &ExecutorToken,
    ) -> Result<Self, PluginError> {
        Ok(MysqlWriteBackend {
            target: MysqlTarget::from_instance(instance)?,
            reader: None,
            writer: None,
            writer_id: None,
            connect_timeout: config.collector.connect_timeout(),
            statement_timeout: Duration::from_millis(
                super::settings::MysqlSettings::of(config)
                    .statement_timeout_ms
                    .max(5000),
            ),
        })
    }

    async fn read_table(&mut self, sql: &str) -> Result<Table, PluginError> {
        let reader = connected(&mut self.reader, || {
            self.target
                .connect(self.connect_timeout, self.statement_timeout)
        })
        .await?;
        let result = reader.query(sql).await;
        if result.as_ref().is_err_and(PluginError::is_link_failure) {
            self.reader = None;
        }
        result
    }

    /// KILL is refused for replication and system threads and for this program's sessions
    /// (catalog MYS-FIX-01 precheck, as pt-kill does).
    async fn precheck(&mut self, statement: &str) -> Result<(), PluginError> {
        let upper = statement.trim().to_ascii_uppercase();
        let Some(rest) = upper.strip_prefix("KILL") else {
            return Ok(());
        };
        let Some(id) = rest
            .split_whitespace()
            .last()
            .and_then(|w| w.parse::<u64>().ok())
        else {
            return Ok(());
        };
        let own = [
            self.reader.as_ref().map(|r| r.connection_id),
            self.writer_id,
        ];
        if own.contains(&Some(id)) {
            return Err(PluginError::Refused(format!(
                "session {id} is this program's own connection"
            )));
        }
        let t = self
            .read_table(&format!(
                "SELECT USER, COMMAND FROM information_schema.PROCESSLIST WHERE ID = {id}"
            ))
            .await?;
        let user = t.get(0, "USER").unwrap_or("");
        let command = t.get(0, "COMMAND").unwrap_or("");
        if t.rows.is_empty() {
            return Err(PluginError::Refused(format!(
                "session {id} does not exist (any more)"
            )));
        }
        if user == "system user"
            || user == "event_scheduler"
            || command.starts_with("Binlog Dump")
            || command == "Daemon"
        {
            return Err(PluginError::Refused(format!(
                "session {id} is a replication or system thread ({user}, {command})"
            )));
        }
        Ok(())
    }

    async fn write_reply(
        &mut self,
        command: &Command,
        token: &ExecutorToken,
    ) -> Result<Reply, PluginError> {
        let statement = command.statement();
        self.precheck(&statement).await?;
        let (target, writer_id) = (&self.target, &mut self.writer_id);
        let (connect_timeout, timeout) = (self.connect_timeout, self.statement_timeout);
        let conn = connected(&mut self.writer, || async move {
            let mut conn = target.connect_for_executor(connect_timeout, token).await?;
            let id = run_on(&mut conn, "SELECT CONNECTION_ID()", target, timeout).await?;
            *writer_id = id
                .rows
                .first()
                .and_then(|r| r.first()?.as_deref()?.parse().ok());
            Ok(conn)
        })
        .await?;
        match run_on(conn, &statement, &self.target, self.statement_timeout).await {
            Ok(t) => Ok(to_reply(&t)),
            Err(e) => {
                if e.is_link_failure() {
                    self.writer = None;
                }
                Err(e)
            }
        }
    }
}

/// A result set in the executor's shape: a single value as text, name/value tables as pairs
/// (so `Reply::get` reads `SHOW VARIABLES`), other tables as rows.
fn to_reply(t: &Table) -> Reply {
    // Rows come from the server: a short row reads as NULLs, never as a panic.
    let cell = |v: Option<&Option<String>>| v.cloned().flatten().map_or(Reply::Nil, Reply::Text);
    if t.rows.len() == 1 && t.columns.len() == 1 {
        return cell(t.rows.first().and_then(|r| r.first()));
    }
    let pairs = t.columns.len() == 2
        && t.columns
            .first()
            .is_some_and(|c| c.eq_ignore_ascii_case("Variable_name"));
    if pairs {
        return Reply::List(
            t.rows
                .iter()
                .flat_map(|r| [cell(r.first()), cell(r.get(1))])
                .collect(),
        );
    }
    // One row (SHOW REPLICA STATUS, a processlist row): column/value pairs.
    if let [row] = t.rows.as_slice() {
        return Reply::List(
            t.columns
                .iter()
                .zip(row)
                .flat_map(|(c, v)| [Reply::Text(c.clone()), cell(Some(v))])
                .collect(),
        );
    }
    Reply::List(
        t.rows
            .iter()
            .map(|r| {
                Reply::List(
                    t.columns
                        .iter()
                        .zip(r)
                        .flat_map(|(c, v)| [Reply::Text(c.clone()), cell(Some(v))])
                        .collect(),
                )
            })
            .collect(),
    )
}

/// `SET GLOBAL key = value` sets and restores a variable.
struct MysqlVariables;

impl ConfigDialect for MysqlVariables {
    fn restore(&self, key: &str, value: &str) -> Command {
        set_global(key, value)
    }

    fn new_value(&self, command: &Command) -> String {
        command
            .statement()
            .split_once('=')
            .map(|(_, v)| v.trim().trim_matches('\'').to_string())
            .unwrap_or_default()
    }
}

impl WriteBackend for MysqlWriteBackend {
    fn identity(&mut self) -> BoxFuture<'_, Result<String, PluginError>> {
        Box::pin(async move {
            let t = self
                .read_table("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('server_uuid', 'hostname', 'server_id', 'datadir')")
                .await?;
            identity_from(&t.pairs()).ok_or_else(|| PluginError::Protocol {
                endpoint: self.target.endpoint.clone(),
                reason: "the server reports neither server_uuid nor hostname".into(),
            })
        })
    }

    fn read<'a>(&'a mut self, command: &'a Command) -> BoxFuture<'a, Result<Reply, PluginError>> {
        Box::pin(async move {
            self.read_table(&command.statement())
                .await
                .map(|t| to_reply(&t))
        })
    }

    fn write<'a>(
        &'a mut self,
        command: &'a Command,
        token: &'a ExecutorToken,
    ) -> BoxFuture<'a, Result<Reply, PluginError>> {
        Box::pin(self.write_reply(command, token))
    }

    fn prepare(&self, step: &RepairStep, captured: &[(String, Reply)]) -> PreparedStep {
        prepare_step(step, captured, &MysqlVariables, |_| None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_become_replies_the_checks_can_read() {
        let t = Table {
            columns: vec!["Variable_name".into(), "Value".into()],
            rows: vec![vec![Some("max_connections".into()), Some("151".into())]],
        };
        assert_eq!(
            to_reply(&t).get("max_connections"),
            Some(&Reply::Text("151".into()))
        );
        let t = Table {
            columns: vec!["COUNT(*)".into()],
            rows: vec![vec![Some("0".into())]],
        };
        assert_eq!(to_reply(&t), Reply::Text("0".into()));
        assert_eq!(
            MysqlVariables.new_value(&set_global("read_only", "ON")),
            "ON"
        );
        assert_eq!(
            MysqlVariables.restore("read_only", "OFF").statement(),
            "SET GLOBAL read_only = OFF"
        );
        let t = Table {
            columns: vec!["Slave_IO_Running".into(), "Slave_SQL_Running".into()],
            rows: vec![vec![Some("Yes".into()), Some("No".into())]],
        };
        assert_eq!(
            to_reply(&t).get("Slave_SQL_Running"),
            Some(&Reply::Text("No".into()))
        );
    }
}
