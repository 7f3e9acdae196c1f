//! One sample of a MySQL/MariaDB server (catalog §3.1 C1–C9): status counters, variables,
//! sessions, transactions, lock waits, replication, digests and account hygiene. A part the
//! account may not read, or the server does not have, is recorded as unavailable with the
//! reason — the rest of the sample still counts.

use std::collections::HashMap;

use super::connection::{Flavor, MysqlReader, Table};
use super::sql_text::mask_literals;
use crate::plugins::PluginError;

/// One session of the processlist (replication and system threads excluded).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    pub id: u64,
    pub user: String,
    pub host: String,
    pub db: Option<String>,
    pub command: String,
    pub time_secs: u64,
    pub state: String,
    /// The statement with its literals masked (never row data or passwords).
    pub info: Option<String>,
}

/// An open InnoDB transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transaction {
    pub thread_id: u64,
    pub state: String,
    pub age_secs: u64,
    pub rows_locked: u64,
    pub rows_modified: u64,
    /// Masked statement running now (`None`: idle in transaction).
    pub query: Option<String>,
}

/// A row-lock wait from `sys.innodb_lock_waits`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LockWait {
    pub wait_secs: u64,
    pub table: String,
    pub waiting_pid: u64,
    pub waiting_query: Option<String>,
    pub blocking_pid: u64,
    /// `None` when the blocker is idle in a transaction.
    pub blocking_query: Option<String>,
}

/// Replication state of one channel as the replica sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplicaChannel {
    pub source: String,
    pub io_running: String,
    pub sql_running: String,
    /// `None` is NULL: broken or unknown, never 0.
    pub lag_secs: Option<u64>,
    pub last_io_error: String,
    pub last_sql_error: String,
    pub last_sql_errno: u64,
    pub executed_gtid_set: String,
}

/// A top statement digest from performance_schema (already literal-free).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Digest {
    pub schema: String,
    pub text: String,
    pub count: u64,
    pub total_secs: f64,
    pub avg_secs: f64,
    pub no_index_used: u64,
}

/// Account hygiene (names only: hashes are never read).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accounts {
    /// `'user'@'host'` without a password.
    pub passwordless: Vec<String>,
    /// Anonymous accounts.
    pub anonymous: Vec<String>,
    /// Accounts allowed from any host (`%`).
    pub any_host: Vec<String>,
}

/// Everything one pass read.
#[derive(Debug, Clone, Default)]
pub struct MysqlSample {
    /// Seconds (Unix) when the sample was taken, for rates.
    pub at: f64,
    pub flavor: Flavor,
    pub version: String,
    /// `SHOW GLOBAL STATUS`, lower-case names.
    pub status: HashMap<String, String>,
    /// `SHOW GLOBAL VARIABLES`, lower-case names.
    pub vars: HashMap<String, String>,
    pub sessions: Vec<Session>,
    pub transactions: Vec<Transaction>,
    pub lock_waits: Option<Vec<LockWait>>,
    /// `None`: could not be read; empty: not a replica.
    pub replica: Option<Vec<ReplicaChannel>>,
    pub digests: Option<Vec<Digest>>,
    pub accounts: Option<Accounts>,
    /// The account this program reads as (`CURRENT_USER()`).
    pub reader_account: String,
    /// What that account may do beyond reading (`None`: its grants could not be listed).
    pub reader_writing_privileges: Option<Vec<String>>,
    pub history_list_length: Option<u64>,
    /// `(part, reason)` for what could not be read.
    pub unavailable: Vec<(&'static str, String)>,
}

impl MysqlSample {
    /// A status counter.
    pub fn status_u64(&self, key: &str) -> Option<u64> {
        self.status.get(key)?.trim().parse().ok()
    }

    /// A variable.
    pub fn var(&self, key: &str) -> Option<&str> {
        self.vars.get(key).map(String::as_str)
    }

    /// A numeric variable.
    pub fn var_u64(&self, key: &str) -> Option<u64> {
        self.var(key)?.trim().parse().ok()
    }

    /// A boolean variable (`ON`/`1`/`YES`).
    pub fn var_on(&self, key: &str) -> Option<bool> {
        self.var(key)
            .map(|v| matches!(v.to_ascii_uppercase().as_str(), "ON" | "1" | "YES" | "TRUE"))
    }

    /// Whether the server restarted since `prev` (counters went back).
    pub fn restarted_since(&self, prev: &MysqlSample) -> bool {
        match (self.status_u64("uptime"), prev.status_u64("uptime")) {
            (Some(now), Some(before)) => now < before,
            _ => true,
        }
    }

    /// What tells this server apart from another at the same address: `server_uuid` on MySQL;
    /// MariaDB has none, so hostname, `server_id` and datadir.
    pub fn identity(&self) -> Option<String> {
        identity_from(&self.vars)
    }

    /// Whether this server replicates from a source.
    pub fn is_replica(&self) -> bool {
        self.replica.as_ref().is_some_and(|r| !r.is_empty())
    }
}

/// The identity from global variables (lower-case names): `server_uuid`, or on MariaDB (which
/// has none) hostname, `server_id` and datadir.
pub fn identity_from(vars: &HashMap<String, String>) -> Option<String> {
    if let Some(uuid) = vars.get("server_uuid").filter(|u| !u.is_empty()) {
        return Some(uuid.clone());
    }
    let host = vars.get("hostname")?;
    let get = |k: &str| vars.get(k).map_or("?", String::as_str);
    Some(format!(
        "{host}/server_id={}/{}",
        get("server_id"),
        get("datadir")
    ))
}

fn num(t: &Table, row: usize, col: &str) -> u64 {
    t.get(row, col)
        .and_then(|v| v.split('.').next()?.parse().ok())
        .unwrap_or(0)
}

fn masked(v: Option<&str>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty()).map(mask_literals)
}

/// Takes one sample. Only the status and variables are required; every other part is optional.
pub async fn collect_sample(
    r: &mut MysqlReader,
    processlist_max: usize,
) -> Result<MysqlSample, PluginError> {
    let mut s = MysqlSample {
        at: chrono::Utc::now().timestamp_millis() as f64 / 1000.0,
        flavor: r.flavor,
        version: r.version.clone(),
        reader_account: r.account.clone(),
        reader_writing_privileges: r.writing_privileges.clone(),
        ..MysqlSample::default()
    };
    s.status = r.query_fixed("SHOW GLOBAL STATUS").await?.pairs();
    s.vars = r.query_fixed("SHOW GLOBAL VARIABLES").await?.pairs();
    for key in ["uptime", "questions", "threads_connected"] {
        if s.status_u64(key).is_none() {
            s.unavailable.push((
                "global status",
                format!(
                    "`{key}` is missing or not a number: the rules that need it are not judged"
                ),
            ));
        }
    }
    let own = r.connection_id;

    match r
        .query(&format!(
            "SELECT ID, USER, HOST, DB, COMMAND, TIME, STATE, LEFT(INFO, 512) AS INFO \
             FROM information_schema.PROCESSLIST ORDER BY TIME DESC LIMIT {}",
            processlist_max.max(1)
        ))
        .await
    {
        Ok(t) => {
            s.sessions = (0..t.rows.len())
                .map(|i| Session {
                    id: num(&t, i, "ID"),
                    user: t.get(i, "USER").unwrap_or("").to_string(),
                    host: t.get(i, "HOST").unwrap_or("").to_string(),
                    db: t.get(i, "DB").map(str::to_string),
                    command: t.get(i, "COMMAND").unwrap_or("").to_string(),
                    time_secs: num(&t, i, "TIME"),
                    state: t.get(i, "STATE").unwrap_or("").to_string(),
                    info: masked(t.get(i, "INFO")),
                })
                // Replication and system threads, exactly as pt-kill excludes them; and us.
                .filter(|p| {
                    p.id != own
                        && p.command != "Binlog Dump"
                        && p.command != "Binlog Dump GTID"
                        && p.command != "Daemon"
                        && p.user != "system user"
                        && p.user != "event_scheduler"
                })
                .collect();
        }
        Err(e) => s.unavailable.push(("processlist", e.to_string())),
    }

    match r
        .query(
            "SELECT trx_state, TIMESTAMPDIFF(SECOND, trx_started, NOW()) AS age_s, \
             trx_mysql_thread_id, trx_rows_locked, trx_rows_modified, LEFT(trx_query, 512) AS q \
             FROM information_schema.INNODB_TRX ORDER BY trx_started LIMIT 200",
        )
        .await
    {
        Ok(t) => {
            s.transactions = (0..t.rows.len())
                .map(|i| Transaction {
                    thread_id: num(&t, i, "trx_mysql_thread_id"),
                    state: t.get(i, "trx_state").unwrap_or("").to_string(),
                    age_secs: num(&t, i, "age_s"),
                    rows_locked: num(&t, i, "trx_rows_locked"),
                    rows_modified: num(&t, i, "trx_rows_modified"),
                    query: masked(t.get(i, "q")),
                })
                .filter(|t| t.thread_id != own)
                .collect();
        }
        Err(e) => s.unavailable.push(("transactions", e.to_string())),
    }

    match r
        .query(
            "SELECT wait_age_secs, locked_table, waiting_pid, LEFT(waiting_query, 300) AS wq, \
             blocking_pid, LEFT(blocking_query, 300) AS bq FROM sys.innodb_lock_waits LIMIT 200",
        )
        .await
    {
        Ok(t) => {
            s.lock_waits = Some(
                (0..t.rows.len())
                    .map(|i| LockWait {
                        wait_secs: num(&t, i, "wait_age_secs"),
                        table: t.get(i, "locked_table").unwrap_or("").to_string(),
                        waiting_pid: num(&t, i, "waiting_pid"),
                        waiting_query: masked(t.get(i, "wq")),
                        blocking_pid: num(&t, i, "blocking_pid"),
                        blocking_query: masked(t.get(i, "bq")),
                    })
                    .collect(),
            )
        }
        Err(e) => s
            .unavailable
            .push(("lock waits (sys.innodb_lock_waits)", e.to_string())),
    }

    s.replica = match r.query_fixed("SHOW REPLICA STATUS").await {
        Ok(t) => Some(replica_channels(&t)),
        Err(PluginError::Protocol { .. }) => match r.query_fixed("SHOW SLAVE STATUS").await {
            Ok(t) => Some(replica_channels(&t)),
            Err(e) => {
                s.unavailable.push(("replica status", e.to_string()));
                None
            }
        },
        Err(e) => {
            s.unavailable.push(("replica status", e.to_string()));
            None
        }
    };

    s.history_list_length = s.status_u64("innodb_history_list_length");
    if s.history_list_length.is_none() {
        match r
            .query("SELECT `COUNT` FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'")
            .await
        {
            Ok(t) => s.history_list_length = t.get(0, "COUNT").and_then(|v| v.parse().ok()),
            Err(e) => s.unavailable.push(("history list length", e.to_string())),
        }
    }

    // MySQL counts deadlocks in INNODB_METRICS only (MariaDB has the Innodb_deadlocks status).
    if s.status_u64("innodb_deadlocks").is_none()
        && let Ok(t) = r
            .query("SELECT `COUNT` FROM information_schema.INNODB_METRICS WHERE NAME = 'lock_deadlocks'")
            .await
        && let Some(v) = t.get(0, "COUNT")
    {
        s.status.insert("innodb_deadlocks".into(), v.to_string());
    }

    if s.var_on("performance_schema") == Some(true) {
        match r
            .query(
                "SELECT SCHEMA_NAME, LEFT(DIGEST_TEXT, 300) AS text, COUNT_STAR, \
                 SUM_TIMER_WAIT/1e12 AS total_s, AVG_TIMER_WAIT/1e12 AS avg_s, SUM_NO_INDEX_USED \
                 FROM performance_schema.events_statements_summary_by_digest \
                 ORDER BY SUM_TIMER_WAIT DESC LIMIT 20",
            )
            .await
        {
            Ok(t) => {
                s.digests = Some(
                    (0..t.rows.len())
                        .map(|i| Digest {
                            schema: t.get(i, "SCHEMA_NAME").unwrap_or("").to_string(),
                            text: t.get(i, "text").map(mask_literals).unwrap_or_default(),
                            count: num(&t, i, "COUNT_STAR"),
                            total_secs: t
                                .get(i, "total_s")
                                .and_then(|v| v.parse().ok())
                                .unwrap_or(0.0),
                            avg_secs: t
                                .get(i, "avg_s")
                                .and_then(|v| v.parse().ok())
                                .unwrap_or(0.0),
                            no_index_used: num(&t, i, "SUM_NO_INDEX_USED"),
                        })
                        .collect(),
                )
            }
            Err(e) => s.unavailable.push(("statement digests", e.to_string())),
        }
    } else {
        s.unavailable
            .push(("statement digests", "performance_schema is OFF".into()));
    }

    match accounts(r).await {
        Ok(a) => s.accounts = Some(a),
        Err(e) => s.unavailable.push(("accounts (mysql.user)", e.to_string())),
    }
    Ok(s)
}

fn replica_channels(t: &Table) -> Vec<ReplicaChannel> {
    (0..t.rows.len())
        .map(|i| {
            let errno = |names: &[&str]| {
                t.get_any(i, names)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            ReplicaChannel {
                source: format!(
                    "{}:{}",
                    t.get_any(i, &["Source_Host", "Master_Host"]).unwrap_or("?"),
                    t.get_any(i, &["Source_Port", "Master_Port"]).unwrap_or("?")
                ),
                io_running: t
                    .get_any(i, &["Replica_IO_Running", "Slave_IO_Running"])
                    .unwrap_or("")
                    .to_string(),
                sql_running: t
                    .get_any(i, &["Replica_SQL_Running", "Slave_SQL_Running"])
                    .unwrap_or("")
                    .to_string(),
                lag_secs: t
                    .get_any(i, &["Seconds_Behind_Source", "Seconds_Behind_Master"])
                    .and_then(|v| v.parse().ok()),
                last_io_error: t.get(i, "Last_IO_Error").unwrap_or("").to_string(),
                last_sql_error: t.get(i, "Last_SQL_Error").unwrap_or("").to_string(),
                last_sql_errno: errno(&["Last_SQL_Errno"]),
                executed_gtid_set: t.get(i, "Executed_Gtid_Set").unwrap_or("").to_string(),
            }
        })
        .collect()
}

/// Account names from the flavor's own tables (catalog MYS-SEC-01 … 03); hashes are compared
/// on the server and never read.
async fn accounts(r: &mut MysqlReader) -> Result<Accounts, PluginError> {
    let list = |t: Table| -> Vec<String> {
        t.rows
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect()
    };
    let passwordless_sql = if r.flavor == Flavor::Mariadb && r.version_tuple() >= (10, 4) {
        // The catalog's corrected query: a root made by mariadb-install-db has no `plugin` key.
        "SELECT CONCAT(QUOTE(user), '@', QUOTE(host)) AS account FROM mysql.global_priv \
         WHERE user <> '' AND COALESCE(JSON_VALUE(Priv, '$.is_role'), 'false') NOT IN ('true', '1') \
         AND COALESCE(JSON_VALUE(Priv, '$.account_locked'), 'false') NOT IN ('true', '1') \
         AND COALESCE(JSON_VALUE(Priv, '$.authentication_string'), '') = '' \
         AND COALESCE(JSON_VALUE(Priv, '$.plugin'), 'mysql_native_password') \
         IN ('mysql_native_password', 'mysql_old_password')"
            .to_string()
    } else {
        let locked = if r.flavor == Flavor::Mysql && r.version_tuple() >= (8, 0) {
            " AND account_locked = 'N' AND password_expired = 'N'"
        } else {
            ""
        };
        format!(
            "SELECT CONCAT(QUOTE(user), '@', QUOTE(host)) AS account FROM mysql.user \
             WHERE (authentication_string = '' OR authentication_string IS NULL) AND user <> '' \
             AND plugin NOT IN ('auth_socket', 'unix_socket', 'win_socket', 'auth_pam_compat'){locked}"
        )
    };
    let passwordless = list(r.query(&passwordless_sql).await?);
    let anonymous = list(
        r.query("SELECT CONCAT(QUOTE(user), '@', QUOTE(host)) FROM mysql.user WHERE TRIM(user) = '' OR user IS NULL")
            .await?,
    );
    let any_host = list(
        r.query("SELECT CONCAT(QUOTE(user), '@', QUOTE(host)) FROM mysql.user WHERE host = '%' AND user <> ''")
            .await?,
    );
    Ok(Accounts {
        passwordless,
        anonymous,
        any_host,
    })
}
