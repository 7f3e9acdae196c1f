//! The MySQL/MariaDB repair actions MYS-FIX-01 … 15 (catalog §3.3) as typed steps: the exact
//! statement, risk, pre-state capture, rollback and verification probe. MYS-FIX-08 changes
//! replica rows and stays manual.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::model::Finding;
use crate::repair::catalog::{
    ActionSpec, PlanContext, RepairCatalog, param, parse_bytes, random_password,
};
use crate::repair::{Check, Command, Probe, RepairStep, Risk, RollbackSpec};

/// The MySQL catalogue.
pub struct MysqlRepairs;

/// Every action, with the catalog's risk levels.
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        persists_config: false,
        id: "MYS-FIX-01",
        title: "Stop one statement (KILL QUERY)",
        risk: Risk::Caution,
        fixes: &["MYS-LAT-01"],
        params: &[("id", "session id from the processlist")],
    },
    ActionSpec {
        persists_config: false,
        id: "MYS-FIX-02",
        title: "End one session and roll back its transaction (KILL)",
        risk: Risk::Caution,
        fixes: &["MYS-LAT-02", "MYS-LAT-03", "MYS-LAT-04"],
        params: &[
            ("id", "session id from the processlist"),
            (
                "rows_modified",
                "rows its transaction changed (a large rollback makes the step dangerous)",
            ),
        ],
    },
    ActionSpec {
        persists_config: false,
        id: "MYS-FIX-03",
        title: "Raise max_connections",
        risk: Risk::Caution,
        fixes: &["MYS-CONN-01", "MYS-CONN-02"],
        params: &[("n", "new max_connections")],
    },
    ActionSpec {
        persists_config: false,
        id: "MYS-FIX-04",
        title: "Lower wait_timeout / interactive_timeout",
        risk: Risk::Caution,
        fixes: &["MYS-CONN-01"],
        params: &[("secs", "new timeout in seconds (default 600)")],
    },
    ActionSpec {
        persists_config: false,
        id: "MYS-FIX-05",
        title: "Enable the slow query log (long_query_time = 1)",
        risk: Risk::Safe,
        fixes: &["MYS-LAT-05"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "MYS-FIX-06",
        title: "Resize the InnoDB buffer pool online",
        risk: Risk::Caution,
        fixes: &["MYS-MEM-02"],
        params: &[(
            "bytes",
            "new innodb_buffer_pool_size in bytes (or 512mb, 2gb)",
        )],
    },
    ActionSpec {
        persists_config: false,
        id: "MYS-FIX-07",
        title: "Raise a cache or temp-table size",
        risk: Risk::Caution,
        fixes: &["MYS-MEM-04", "MYS-CONN-04", "MYS-MEM-05"],
        params: &[
            (
                "setting",
                "tmp_table_size (with max_heap_table_size), thread_cache_size or table_open_cache",
            ),
            ("value", "the new value"),
        ],
    },
    ActionSpec {
        persists_config: false,
        id: "MYS-FIX-09",
        title: "Skip one replicated event (sql_slave_skip_counter)",
        risk: Risk::Dangerous,
        fixes: &[],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "MYS-FIX-10",
        title: "Make the replica read-only",
        risk: Risk::Caution,
        fixes: &["MYS-REP-03"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "MYS-FIX-11",
        title: "Set a password for an account",
        risk: Risk::Dangerous,
        fixes: &["MYS-SEC-01"],
        params: &[
            ("account", "'user'@'host'"),
            (
                "password",
                "the new password (default: a random one, shown once)",
            ),
        ],
    },
    ActionSpec {
        persists_config: false,
        id: "MYS-FIX-12",
        title: "Drop an anonymous account",
        risk: Risk::Caution,
        fixes: &["MYS-SEC-02"],
        params: &[("account", "''@'host'")],
    },
    ActionSpec {
        persists_config: false,
        id: "MYS-FIX-13",
        title: "Unblock hosts (FLUSH HOSTS)",
        risk: Risk::Safe,
        fixes: &["MYS-CONN-03"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "MYS-FIX-14",
        title: "Purge binary logs up to a file",
        risk: Risk::Dangerous,
        fixes: &[],
        params: &[("file", "the first binlog file to keep, e.g. binlog.000042")],
    },
    ActionSpec {
        persists_config: false,
        id: "MYS-FIX-15",
        title: "Make commits durable (flush log and binlog per commit)",
        risk: Risk::Caution,
        fixes: &["MYS-DUR-01", "MYS-DUR-02"],
        params: &[],
    },
];

/// Never executed by the program, with the reason (shown as manual text).
pub const MANUAL_ONLY: &[(&str, &str)] = &[
    (
        "MYS-FIX-08",
        "changes replica rows to match the source: inspect Last_SQL_Error, fix the row with sql_log_bin=0, then START REPLICA SQL_THREAD",
    ),
    ("DROP", "drops schema objects"),
    ("TRUNCATE", "deletes every row"),
    ("DELETE", "deletes rows"),
    ("UPDATE", "changes rows"),
    ("RESET", "destroys replication or binlog state"),
    ("SHUTDOWN", "stops the server"),
    ("CHANGE MASTER", "repoints replication"),
    ("CHANGE REPLICATION", "repoints replication"),
];

fn show_var(key: &str) -> Command {
    Command::sql(&[format!("SHOW GLOBAL VARIABLES LIKE '{key}'")])
}

/// A step that sets global variables: captured before, restored on rollback, verified after.
fn set_global_step(
    a: &ActionSpec,
    ctx: &PlanContext<'_>,
    sets: &[(&str, String)],
    effect: &str,
) -> RepairStep {
    let keys: Vec<String> = sets.iter().map(|(k, _)| k.to_string()).collect();
    let (first_key, first_value) = &sets[0];
    RepairStep {
        commands: sets.iter().map(|(k, v)| set_global(k, v)).collect(),
        capture: keys.iter().map(|k| show_var(k)).collect(),
        rollback: RollbackSpec::RestoreConfig { keys },
        verify: Some(Probe {
            command: show_var(first_key),
            check: Check::ConfigEquals {
                key: first_key.to_string(),
                value: first_value.clone(),
            },
            within: Duration::from_secs(5),
        }),
        ..a.step(
            ctx,
            Vec::new(),
            Vec::new(),
            RollbackSpec::NotNeeded(String::new()),
            None,
            effect,
        )
    }
}

/// `SET GLOBAL key = value` with the value quoted unless it is a number or ON/OFF.
pub fn set_global(key: &str, value: &str) -> Command {
    let bare =
        value.parse::<f64>().is_ok() || matches!(value.to_ascii_uppercase().as_str(), "ON" | "OFF");
    let v = if bare {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
    };
    Command::sql(&[format!("SET GLOBAL {key} = {v}")])
}

/// `'user'@'host'` (quotes optional in the input) → the quoted account, validated.
fn account(text: &str) -> Result<String, String> {
    let (user, host) = text
        .rsplit_once('@')
        .ok_or_else(|| format!("`{text}` is not an account ('user'@'host')"))?;
    let clean = |s: &str| s.trim().trim_matches(['\'', '`', '"']).to_string();
    let (user, host) = (clean(user), clean(host));
    let ok = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.%:".contains(c))
    };
    if !ok(&user) || !ok(&host) || host.is_empty() {
        return Err(format!(
            "`{text}` is not an account name this program will quote ('user'@'host', letters, digits, _ - . % :)"
        ));
    }
    Ok(format!("'{user}'@'{host}'"))
}

fn session_id(text: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .map_err(|_| format!("session id `{text}` is not a number"))
}

fn processlist_row(id: u64) -> Command {
    Command::sql(&[format!(
        "SELECT ID, USER, HOST, COMMAND, TIME, STATE FROM information_schema.PROCESSLIST WHERE ID = {id}"
    )])
}

impl RepairCatalog for MysqlRepairs {
    fn actions(&self) -> &'static [ActionSpec] {
        ACTIONS
    }

    fn manual_only(&self) -> &'static [(&'static str, &'static str)] {
        MANUAL_ONLY
    }

    fn system(&self) -> &'static str {
        "MySQL"
    }

    fn build_step(
        &self,
        a: &'static ActionSpec,
        params: &Map<String, Value>,
        ctx: &PlanContext<'_>,
    ) -> Result<RepairStep, String> {
        let action = a.id;
        let required = |name: &str| a.required(params, name);
        let mariadb = ctx
            .facts
            .extra
            .iter()
            .any(|(k, v)| k == "flavor" && v == "MariaDB");
        let step = match action {
            "MYS-FIX-01" => {
                let id = session_id(&required("id")?)?;
                a.step(ctx, vec![Command::sql(&[format!("KILL QUERY {id}")])], vec![processlist_row(id)],
                    RollbackSpec::Irreversible("the client gets ERROR 1317 (query interrupted); its transaction stays open".into()),
                    Some(Probe {
                        command: Command::sql(&[format!("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {id} AND COMMAND IN ('Query', 'Execute') AND TIME > 0")]),
                        check: Check::Reply("0".into()),
                        within: Duration::from_secs(5),
                    }),
                    "Stops the statement the session runs now; the session and its open transaction stay.")
            }
            "MYS-FIX-02" => {
                let id = session_id(&required("id")?)?;
                let rows: u64 = param(params, "rows_modified")
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(0);
                let mut step = a.step(ctx, vec![Command::sql(&[format!("KILL {id}")])], vec![processlist_row(id)],
                    RollbackSpec::Irreversible("the session ends and its transaction is rolled back".into()),
                    Some(Probe {
                        command: Command::sql(&[format!("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = {id} AND trx_state <> 'ROLLING BACK'")]),
                        check: Check::Reply("0".into()),
                        within: Duration::from_secs(10),
                    }),
                    "Disconnects the session; its transaction rolls back and its locks are released (a large rollback takes as long as the work, holding locks meanwhile).");
                if rows > 10_000 {
                    step.risk = Risk::Dangerous;
                    step.effect.push_str(&format!(
                        " Its transaction changed {rows} rows: the rollback will be long."
                    ));
                }
                step
            }
            "MYS-FIX-03" => {
                let n = required("n")?;
                let n: u64 = n
                    .parse()
                    .map_err(|_| format!("max_connections `{n}` is not a number"))?;
                set_global_step(
                    a,
                    ctx,
                    &[("max_connections", n.to_string())],
                    "More clients may connect; every connection can use per-thread buffers, so memory peaks grow (MYS-MEM-01). Not persisted: edit my.cnf too.",
                )
            }
            "MYS-FIX-04" => {
                let secs = param(params, "secs").unwrap_or_else(|| "600".into());
                let secs: u64 = secs
                    .parse()
                    .map_err(|_| format!("timeout `{secs}` is not a number of seconds"))?;
                set_global_step(
                    a,
                    ctx,
                    &[
                        ("wait_timeout", secs.to_string()),
                        ("interactive_timeout", secs.to_string()),
                    ],
                    "Applies to new sessions only; pools that keep idle connections longer get disconnects.",
                )
            }
            "MYS-FIX-05" => set_global_step(
                a,
                ctx,
                &[
                    ("slow_query_log", "ON".into()),
                    ("long_query_time", "1".into()),
                ],
                "Statements slower than 1 s are written to the slow log (disk grows with it).",
            ),
            "MYS-FIX-06" => {
                let bytes = parse_bytes(&required("bytes")?)?;
                set_global_step(
                    a,
                    ctx,
                    &[("innodb_buffer_pool_size", bytes.to_string())],
                    "Resizes online in chunks (rounded to the chunk size); can stall under load; needs that much free RAM on the host.",
                )
            }
            "MYS-FIX-07" => {
                let setting = required("setting")?;
                let value = required("value")?;
                let n: u64 = value
                    .parse()
                    .map_err(|_| format!("`{value}` is not a number"))?;
                match setting.as_str() {
                    "tmp_table_size" | "max_heap_table_size" => set_global_step(
                        a,
                        ctx,
                        &[
                            ("tmp_table_size", n.to_string()),
                            ("max_heap_table_size", n.to_string()),
                        ],
                        "In-memory temporary tables may grow to this size per session before going to disk.",
                    ),
                    "thread_cache_size" | "table_open_cache" => set_global_step(
                        a,
                        ctx,
                        &[(setting.as_str(), n.to_string())],
                        "More threads or table handles are kept for reuse (a little memory each).",
                    ),
                    other => {
                        return Err(format!(
                            "`{other}` is not one of tmp_table_size, thread_cache_size, table_open_cache"
                        ));
                    }
                }
            }
            "MYS-FIX-09" => {
                if !mariadb
                    && ctx
                        .facts
                        .extra
                        .iter()
                        .any(|(k, v)| k == "gtid_mode" && v == "ON")
                {
                    return Err("with GTID on MySQL the skip is an empty transaction with the failing GTID — do it by hand".into());
                }
                let (stop, start) = if mariadb {
                    ("STOP SLAVE", "START SLAVE")
                } else {
                    ("STOP REPLICA", "START REPLICA")
                };
                a.step(ctx,
                    vec![Command::sql(&[stop]), Command::sql(&["SET GLOBAL sql_slave_skip_counter = 1"]), Command::sql(&[start])],
                    vec![Command::sql(&["SHOW REPLICA STATUS"])],
                    RollbackSpec::Irreversible("the skipped source transaction is never applied here; the replica drifts until re-synced (pt-table-checksum)".into()),
                    Some(Probe {
                        command: Command::sql(&["SHOW REPLICA STATUS"]),
                        check: Check::All(if mariadb {
                            vec![
                                Check::ConfigEquals { key: "Slave_IO_Running".into(), value: "Yes".into() },
                                Check::ConfigEquals { key: "Slave_SQL_Running".into(), value: "Yes".into() },
                            ]
                        } else {
                            vec![
                                Check::ConfigEquals { key: "Replica_IO_Running".into(), value: "Yes".into() },
                                Check::ConfigEquals { key: "Replica_SQL_Running".into(), value: "Yes".into() },
                            ]
                        }),
                        within: Duration::from_secs(10),
                    }),
                    "Drops one event of the source silently so the SQL thread can go on.")
            }
            "MYS-FIX-10" => set_global_step(
                a,
                ctx,
                &[("read_only", "ON".into())],
                "Clients without SUPER / READ_ONLY ADMIN can no longer write here (applications wrongly pointed at the replica start failing — intended).",
            ),
            "MYS-FIX-11" => {
                let acct = account(&required("account")?)?;
                let own = ctx.own_user_or(crate::plugins::mysql::kind::DESCRIPTOR.default_user);
                if acct.starts_with(&format!("'{own}'@")) {
                    return Err(format!(
                        "{acct} is the account this program logs in as: changing its password here would lock the collector and this repair's own verification out — set it by hand and update password_env"
                    ));
                }
                let (password, generated) =
                    match param(params, "password").filter(|p| !p.is_empty()) {
                        Some(p) if p.starts_with("[REDACTED") => {
                            return Err("the password arrived redacted; pass it yourself".into());
                        }
                        Some(p) => (p, false),
                        None => (random_password()?, true),
                    };
                let literal = format!("'{}'", password.replace('\\', "\\\\").replace('\'', "''"));
                let mut step = a.step(ctx,
                    vec![Command::sql(&[format!("ALTER USER {acct} IDENTIFIED BY"), literal]).with_secret(1)],
                    vec![Command::sql(&[format!("SHOW CREATE USER {acct}")])],
                    RollbackSpec::Manual(format!("ALTER USER {acct} IDENTIFIED BY '' restores an empty password (the old hash is not read by this program)")),
                    Some(Probe {
                        command: Command::sql(&[format!("SELECT COUNT(*) FROM mysql.user WHERE CONCAT(QUOTE(user), '@', QUOTE(host)) = \"{acct}\" AND (authentication_string = '' OR authentication_string IS NULL)")]),
                        check: Check::Reply("0".into()),
                        within: Duration::ZERO,
                    }),
                    "Every client and script using the empty password fails at once.");
                if generated {
                    step.effect.push_str(&format!(
                        " New password (shown only here, store it now): {password}"
                    ));
                }
                step
            }
            "MYS-FIX-12" => {
                let acct = account(&required("account")?)?;
                if !acct.starts_with("''@") {
                    return Err(format!(
                        "{acct} is not anonymous; MYS-FIX-12 drops anonymous accounts only"
                    ));
                }
                a.step(ctx, vec![Command::sql(&[format!("DROP USER {acct}")])], vec![Command::sql(&[format!("SHOW GRANTS FOR {acct}")])],
                    RollbackSpec::Manual(format!("CREATE USER {acct}, then re-run the captured GRANT statements")),
                    Some(Probe {
                        command: Command::sql(&[format!("SELECT COUNT(*) FROM mysql.user WHERE CONCAT(QUOTE(user), '@', QUOTE(host)) = \"{acct}\"")]),
                        check: Check::Reply("0".into()),
                        within: Duration::ZERO,
                    }),
                    "Logins that matched only the anonymous account are refused.")
            }
            "MYS-FIX-13" => a.step(
                ctx,
                vec![Command::sql(&["FLUSH HOSTS"])],
                vec![],
                RollbackSpec::NotNeeded("it only empties the host cache".into()),
                None,
                "Hosts blocked after max_connect_errors may connect again.",
            ),
            "MYS-FIX-14" => {
                let file = required("file")?;
                if !file
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                {
                    return Err(format!("`{file}` is not a binlog file name"));
                }
                a.step(ctx, vec![Command::sql(&[format!("PURGE BINARY LOGS TO '{file}'")])], vec![Command::sql(&["SHOW BINARY LOGS"])],
                    RollbackSpec::Irreversible("purged binlogs are deleted; replicas or point-in-time recovery that still need them break".into()),
                    Some(Probe { command: Command::sql(&["SHOW BINARY LOGS"]), check: Check::ReplyHas(file.clone()), within: Duration::ZERO }),
                    "Deletes every binary log before this file. Check every replica's position first.")
            }
            "MYS-FIX-15" => set_global_step(
                a,
                ctx,
                &[
                    ("innodb_flush_log_at_trx_commit", "1".into()),
                    ("sync_binlog", "1".into()),
                ],
                "Every commit is flushed to disk (redo log and binlog): write latency rises.",
            ),
            _ => return Err(format!("`{action}` is not a MySQL repair action")),
        };
        Ok(step)
    }

    fn for_finding(
        &self,
        finding: &Finding,
        ctx: &PlanContext<'_>,
    ) -> (Vec<RepairStep>, Vec<String>) {
        let evidence = |k: &str| finding.evidence.get(k).and_then(Value::as_f64);
        let list = |k: &str| -> Vec<String> {
            finding
                .evidence
                .get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut plans: Vec<(&str, Map<String, Value>)> = Vec::new();
        let mut manual = Vec::new();
        let with = |pairs: &[(&str, Value)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<Map<_, _>>()
        };
        match finding.id.as_str() {
            "MYS-LAT-01" => {
                if let Some(id) = evidence("session_id") {
                    plans.push(("MYS-FIX-01", with(&[("id", (id as u64).into())])));
                }
            }
            "MYS-LAT-02" => {
                if let Some(id) = evidence("session_id") {
                    plans.push(("MYS-FIX-02", with(&[("id", (id as u64).into()), ("rows_modified", (evidence("rows_modified").unwrap_or(0.0) as u64).into())])));
                }
            }
            "MYS-LAT-03" => {
                if let Some(id) = evidence("blocking_pid") {
                    let rows = evidence("blocker_rows_modified").unwrap_or(0.0) as u64;
                    plans.push((
                        "MYS-FIX-02",
                        with(&[("id", (id as u64).into()), ("rows_modified", rows.into())]),
                    ));
                }
            }
            "MYS-LAT-04" => {
                if let Some(id) = evidence("oldest_transaction_session").filter(|i| *i > 0.0) {
                    plans.push(("MYS-FIX-02", with(&[("id", (id as u64).into())])));
                }
            }
            "MYS-CONN-01" | "MYS-CONN-02" => {
                let max = evidence("max_connections").unwrap_or(151.0);
                plans.push(("MYS-FIX-03", with(&[("n", ((max * 1.5).ceil() as u64).max(max as u64 + 10).into())])));
            }
            "MYS-CONN-03" => plans.push(("MYS-FIX-13", Map::new())),
            "MYS-CONN-04" => plans.push(("MYS-FIX-07", with(&[("setting", "thread_cache_size".into()), ("value", 64.into())]))),
            "MYS-LAT-05" => plans.push(("MYS-FIX-05", Map::new())),
            "MYS-MEM-04" => plans.push(("MYS-FIX-07", with(&[("setting", "tmp_table_size".into()), ("value", (64u64 << 20).into())]))),
            "MYS-MEM-02" => manual.push("MYS-MEM-02: raise innodb_buffer_pool_size with MYS-FIX-06 once you know the host's free RAM (fix --action MYS-FIX-06 --param bytes=…)".to_string()),
            "MYS-REP-01" => manual.push(format!("MYS-FIX-08 (manual): {} — skipping the event instead (MYS-FIX-09, dangerous) drops a source transaction", finding.recommendation)),
            "MYS-REP-03" => plans.push(("MYS-FIX-10", Map::new())),
            "MYS-DUR-01" | "MYS-DUR-02" => plans.push(("MYS-FIX-15", Map::new())),
            "MYS-SEC-01" => {
                for acct in list("accounts") {
                    plans.push(("MYS-FIX-11", with(&[("account", acct.into())])));
                }
            }
            "MYS-SEC-02" => {
                for acct in list("accounts") {
                    plans.push(("MYS-FIX-12", with(&[("account", acct.into())])));
                }
            }
            _ => {}
        }
        let mut steps = Vec::new();
        for (action, params) in plans {
            match self.build(action, &params, ctx) {
                Ok(s) => steps.push(s),
                Err(e) => manual.push(format!("{action}: {e}")),
            }
        }
        (steps, manual)
    }
}

#[cfg(test)]
mod tests;
