//! Read-only diagnostic tools the model may call on a MySQL/MariaDB instance. They go through
//! the same guarded `MysqlReader` as the collector: nothing here can write, and EXPLAIN is
//! offered for SELECT statements only.

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::connection::{Flavor, MysqlReader, MysqlTarget, Table};
use super::select_guard::check_model_select;
use super::sql_text::mask_literals;
use crate::ai::provider::ToolSpec;
use crate::config::PluginSettings;
use crate::config::{AppConfig, InstanceConfig};
use crate::plugins::connected;
use crate::plugins::{PluginError, ToolRunner};

/// Rows a tool returns at most.
const MAX_ROWS: usize = 50;

/// The MySQL tools of one instance, with their own connection.
pub struct MysqlTools {
    target: MysqlTarget,
    reader: Option<MysqlReader>,
    connect_timeout: Duration,
    statement_timeout: Duration,
}

impl MysqlTools {
    /// Tools for a configured instance (connects on first use).
    pub fn new(instance: &InstanceConfig, config: &AppConfig) -> Result<Self, PluginError> {
        Ok(MysqlTools {
            target: MysqlTarget::from_instance(instance)?,
            reader: None,
            connect_timeout: config.collector.connect_timeout(),
            statement_timeout: Duration::from_millis(
                super::settings::MysqlSettings::of(config).statement_timeout_ms,
            ),
        })
    }

    async fn reader(&mut self) -> Result<&mut MysqlReader, String> {
        connected(&mut self.reader, || {
            self.target
                .connect(self.connect_timeout, self.statement_timeout)
        })
        .await
        .map_err(|e| e.to_string())
    }

    async fn table(&mut self, sql: &str) -> Result<Table, String> {
        let result = self.reader().await?.query(sql).await;
        self.forget_broken(result)
    }

    /// [`table`](Self::table) for a constant statement (see `MysqlReader::query_fixed`).
    async fn table_fixed(&mut self, sql: &'static str) -> Result<Table, String> {
        let result = self.reader().await?.query_fixed(sql).await;
        self.forget_broken(result)
    }

    fn forget_broken(&mut self, result: Result<Table, PluginError>) -> Result<Table, String> {
        if result.as_ref().is_err_and(PluginError::is_link_failure) {
            self.reader = None;
        }
        result.map_err(|e| e.to_string())
    }

    async fn run(&mut self, name: &str, args: &Value) -> Result<String, String> {
        match name {
            "mysql_processlist" => {
                let min = args["min_time_secs"].as_u64().unwrap_or(0);
                let mut t = self
                    .table(&format!(
                        "SELECT ID, USER, HOST, DB, COMMAND, TIME, STATE, LEFT(INFO, 300) AS INFO \
                         FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Sleep' AND TIME >= {min} \
                         ORDER BY TIME DESC LIMIT {MAX_ROWS}"
                    ))
                    .await?;
                if let Some(c) = t.col("INFO") {
                    for row in &mut t.rows {
                        row[c] = row[c].as_deref().map(mask_literals);
                    }
                }
                Ok(t.to_text(MAX_ROWS))
            }
            "mysql_explain" => {
                // A trailing `;` is how people end statements; any other `;` is refused below.
                let sql = args["statement"].as_str().unwrap_or("").trim().trim_end_matches(';');
                let first = sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                if first != "SELECT" && first != "WITH" {
                    return Err("EXPLAIN is offered for SELECT statements only".into());
                }
                // Two guards written apart must both accept the model's SQL: the parser here,
                // and the classifier in the session's own sql_mode inside `query`; the binary
                // protocol then lets the server run one statement at most.
                check_model_select(sql).map_err(|e| e.to_string())?;
                Ok(self.table(&format!("EXPLAIN {sql}")).await?.to_text(MAX_ROWS))
            }
            "mysql_status" => {
                let like = like_pattern(args["like"].as_str().unwrap_or("%"))?;
                Ok(self.table(&format!("SHOW GLOBAL STATUS LIKE '{like}'")).await?.to_text(200))
            }
            "mysql_variables" => {
                let like = like_pattern(args["like"].as_str().unwrap_or("%"))?;
                Ok(self.table(&format!("SHOW GLOBAL VARIABLES LIKE '{like}'")).await?.to_text(200))
            }
            "mysql_innodb_status" => {
                let t = self.table_fixed("SHOW ENGINE INNODB STATUS").await?;
                let text = t.get(0, "Status").unwrap_or("").to_string();
                let section = args["section"].as_str().unwrap_or("").to_ascii_uppercase();
                Ok(innodb_excerpt(&text, &section))
            }
            "mysql_replica_status" => {
                let flavor = self.reader().await?.flavor;
                let sql = match flavor {
                    Flavor::Mariadb => "SHOW ALL REPLICAS STATUS",
                    Flavor::Mysql => "SHOW REPLICA STATUS",
                };
                let t = match self.table_fixed(sql).await {
                    Ok(t) => t,
                    Err(_) => self.table_fixed("SHOW SLAVE STATUS").await?,
                };
                if t.rows.is_empty() {
                    return Ok("not a replica (no replication configured)".into());
                }
                // One field per line reads better than a 60-column row.
                let mut out = Vec::new();
                for (i, row) in t.rows.iter().enumerate() {
                    out.push(format!("-- channel {}", i + 1));
                    for (c, v) in t.columns.iter().zip(row) {
                        out.push(format!("{c}: {}", v.as_deref().unwrap_or("NULL")));
                    }
                }
                Ok(out.join("\n"))
            }
            "mysql_top_statements" => {
                let t = self
                    .table(
                        "SELECT SCHEMA_NAME, LEFT(DIGEST_TEXT, 300) AS statement, COUNT_STAR AS calls, \
                         ROUND(SUM_TIMER_WAIT/1e12, 3) AS total_s, ROUND(AVG_TIMER_WAIT/1e12, 4) AS avg_s, \
                         SUM_ROWS_EXAMINED AS rows_examined, SUM_NO_INDEX_USED AS no_index \
                         FROM performance_schema.events_statements_summary_by_digest \
                         ORDER BY SUM_TIMER_WAIT DESC LIMIT 15",
                    )
                    .await
                    .map_err(|e| format!("{e} (statement digests need performance_schema=ON)"))?;
                Ok(t.to_text(15))
            }
            "mysql_lock_waits" => Ok(self
                .table(
                    "SELECT wait_age_secs, locked_table, waiting_pid, blocking_pid, \
                     sql_kill_blocking_query, sql_kill_blocking_connection FROM sys.innodb_lock_waits LIMIT 50",
                )
                .await?
                .to_text(MAX_ROWS)),
            other => Err(format!("no tool `{other}`")),
        }
    }
}

/// A LIKE pattern for SHOW … LIKE: names only (letters, digits, `_`, `%`).
fn like_pattern(p: &str) -> Result<String, String> {
    if p.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '%')
        && !p.is_empty()
    {
        Ok(p.to_string())
    } else {
        Err(format!(
            "`{p}` is not a variable-name pattern (letters, digits, _ and %)"
        ))
    }
}

/// One section of SHOW ENGINE INNODB STATUS (or the summary lines when none is asked for).
fn innodb_excerpt(text: &str, section: &str) -> String {
    if section.is_empty() {
        let keep = [
            "History list length",
            "Log sequence number",
            "Last checkpoint",
            "Buffer pool hit rate",
            "Pending",
            "queries inside InnoDB",
            "read views open",
            "Number of rows",
        ];
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| keep.iter().any(|k| l.contains(k)))
            .collect();
        return if lines.is_empty() {
            "no summary lines found".into()
        } else {
            lines.join("\n")
        };
    }
    let mut out = Vec::new();
    let mut inside = false;
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let is_header = i > 0
            && lines[i - 1].starts_with("---")
            && lines.get(i + 1).is_some_and(|n| n.starts_with("---"));
        if is_header {
            inside = l.to_ascii_uppercase().starts_with(section);
            continue;
        }
        if inside && !l.starts_with("---") {
            out.push(mask_literals(l));
        }
    }
    if out.is_empty() {
        format!(
            "no section `{section}` (SEMAPHORES, TRANSACTIONS, LATEST DETECTED DEADLOCK, FILE I/O, LOG, BUFFER POOL AND MEMORY, ROW OPERATIONS)"
        )
    } else {
        out.join("\n")
    }
}

impl ToolRunner for MysqlTools {
    fn specs(&self) -> Vec<ToolSpec> {
        let obj = |props: Value| json!({"type": "object", "properties": props});
        vec![
            ToolSpec {
                name: "mysql_processlist".into(),
                description: "Running sessions (not Sleep) of the selected MySQL/MariaDB, longest first, statement literals masked.".into(),
                parameters: obj(json!({"min_time_secs": {"type": "integer", "minimum": 0}})),
            },
            ToolSpec {
                name: "mysql_explain".into(),
                description: "EXPLAIN of one SELECT statement (never of a write).".into(),
                parameters: json!({"type": "object", "properties": {"statement": {"type": "string"}}, "required": ["statement"]}),
            },
            ToolSpec {
                name: "mysql_status".into(),
                description: "SHOW GLOBAL STATUS LIKE a pattern, e.g. Innodb_row_lock% or Threads_%.".into(),
                parameters: obj(json!({"like": {"type": "string"}})),
            },
            ToolSpec {
                name: "mysql_variables".into(),
                description: "SHOW GLOBAL VARIABLES LIKE a pattern, e.g. innodb_buffer_pool% or max_connections.".into(),
                parameters: obj(json!({"like": {"type": "string"}})),
            },
            ToolSpec {
                name: "mysql_innodb_status".into(),
                description: "An excerpt of SHOW ENGINE INNODB STATUS: a summary, or one section (TRANSACTIONS, LATEST DETECTED DEADLOCK, SEMAPHORES, BUFFER POOL AND MEMORY, LOG).".into(),
                parameters: obj(json!({"section": {"type": "string"}})),
            },
            ToolSpec {
                name: "mysql_replica_status".into(),
                description: "Replication state of the selected server as a replica (threads, lag, last errors, GTID).".into(),
                parameters: obj(json!({})),
            },
            ToolSpec {
                name: "mysql_top_statements".into(),
                description: "The statements that took the most time (performance_schema digests, literals already removed).".into(),
                parameters: obj(json!({})),
            },
            ToolSpec {
                name: "mysql_lock_waits".into(),
                description: "Row-lock waits from sys.innodb_lock_waits: waiter, blocker and the kill statements the sys schema suggests.".into(),
                parameters: obj(json!({})),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_are_names_only() {
        assert!(like_pattern("Innodb_row_lock%").is_ok());
        assert!(like_pattern("x' OR '1").is_err());
        assert!(like_pattern("").is_err());
    }

    #[test]
    fn innodb_sections_are_cut_out() {
        let text = "=====\n------------\nTRANSACTIONS\n------------\nTrx id counter 1\nHistory list length 7\n--------\nFILE I/O\n--------\nI/O thread 0\n";
        assert_eq!(
            innodb_excerpt(text, "TRANSACTIONS"),
            "Trx id counter ?\nHistory list length ?"
        );
        assert_eq!(innodb_excerpt(text, ""), "History list length 7");
        assert!(innodb_excerpt(text, "NOPE").starts_with("no section"));
    }
}
