//! Connections to MySQL/MariaDB: the collector's read-only reader and the executor's writer.
//!
//! Read-only is enforced in layers (catalog §3.4), because `SET SESSION TRANSACTION READ ONLY`
//! alone lets `SET GLOBAL`, `KILL`, `FLUSH`, `GET_LOCK` and `INTO OUTFILE` through:
//!
//! 1. **One statement per round trip.** mysql_async always negotiates `CLIENT_MULTI_STATEMENTS`
//!    (`Opts::get_capabilities` sets it unconditionally and offers no way to clear it, nor to
//!    send `COM_SET_OPTION`), so the reader never uses the text protocol (`COM_QUERY`) for a
//!    statement it was given: it prepares and executes it (`COM_STMT_PREPARE`, the binary
//!    protocol), and the server prepares exactly one statement — `SELECT 1; SET GLOBAL …` is a
//!    syntax error, whatever the client's lexer thought. Only compile-time constant statements
//!    the server cannot prepare fall back to the text protocol ([`MysqlReader::query_fixed`]).
//! 2. Every statement passes [`check_read_only_in`] in the session's own `sql_mode` (read at
//!    connect) before it reaches the wire; SQL the model writes also passes the parser-based
//!    [`check_model_select`](super::select_guard::check_model_select) (tools.rs).
//! 3. The session is read-only with a server-side statement timeout, and no local-infile
//!    handler is installed.
//! 4. The least-privilege account of docs/plugins.md is the server-side backstop; the account's
//!    own `SHOW GRANTS` are read at connect, and MYS-SEC-06 says when it can write.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Row, Value};

use super::grants::writing_privileges;
use super::sql_text::{SqlMode, check_read_only_in};
use super::tls::MysqlTls;
use crate::config::{InstanceConfig, resolve_password, strip_credentials};
use crate::plugins::PluginError;
use crate::repair::ExecutorToken;

/// MySQL or MariaDB: they differ in statements and field names (catalog §3 table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    #[default]
    Mysql,
    Mariadb,
}

impl Flavor {
    /// Display name.
    pub fn as_str(self) -> &'static str {
        match self {
            Flavor::Mysql => "MySQL",
            Flavor::Mariadb => "MariaDB",
        }
    }
}

/// A result set as text: column names and rows of nullable values (`NULL` stays `None`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl Table {
    /// Index of a column, case-insensitive.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }

    /// A cell by row and column name; `None` for NULL or a missing column.
    pub fn get(&self, row: usize, name: &str) -> Option<&str> {
        let c = self.col(name)?;
        self.rows.get(row)?.get(c)?.as_deref()
    }

    /// The first non-NULL value of the first of these columns that exists (field names differ
    /// between flavors and versions: `Slave_IO_Running` / `Replica_IO_Running`).
    pub fn get_any(&self, row: usize, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.get(row, n))
    }

    /// Whether one of these columns exists (to tell NULL from absent).
    pub fn has_any(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.col(n).is_some())
    }

    /// The table as text for the model: a header line and tab-separated rows, at most `max`.
    pub fn to_text(&self, max: usize) -> String {
        let mut out = vec![self.columns.join("\t")];
        for r in self.rows.iter().take(max) {
            out.push(
                r.iter()
                    .map(|v| v.as_deref().unwrap_or("NULL").replace(['\t', '\n'], " "))
                    .collect::<Vec<_>>()
                    .join("\t"),
            );
        }
        if self.rows.len() > max {
            out.push(format!("… {} more rows", self.rows.len() - max));
        }
        if self.rows.is_empty() {
            out.push("(no rows)".into());
        }
        out.join("\n")
    }

    /// A two-column result (`SHOW … VARIABLES/STATUS`) as name → value.
    pub fn pairs(&self) -> std::collections::HashMap<String, String> {
        self.rows
            .iter()
            .filter_map(|r| {
                let k = r.first()?.as_ref()?;
                Some((
                    k.to_ascii_lowercase(),
                    r.get(1).cloned().flatten().unwrap_or_default(),
                ))
            })
            .collect()
    }
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(d) => Some(d.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

fn table_of(rows: Vec<Row>) -> Table {
    let columns = rows
        .first()
        .map(|r| {
            r.columns_ref()
                .iter()
                .map(|c| c.name_str().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let rows = rows
        .iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.as_ref(i).and_then(value_text))
                .collect()
        })
        .collect();
    Table { columns, rows }
}

/// Where and how to connect, with the password resolved (never printed).
#[derive(Clone)]
pub struct MysqlTarget {
    /// `mysql://host:port[/db]` without credentials.
    pub endpoint: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    password: Option<String>,
    db: Option<String>,
    /// `ssl_mode` and its certificates, the same for every connection of the instance.
    pub tls: MysqlTls,
    /// Whether a plain login refused with 1045 succeeded over TLS — asked once per target
    /// (explain_plain_refusal), shared by its clones.
    plain_refusal_over_tls: std::sync::Arc<std::sync::Mutex<Option<bool>>>,
}

impl std::fmt::Debug for MysqlTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlTarget")
            .field("endpoint", &self.endpoint)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl MysqlTarget {
    /// The target of a configured instance; the password comes from `password_env`,
    /// `password_file` or the URL, in that order.
    pub fn from_instance(instance: &InstanceConfig) -> Result<Self, PluginError> {
        let url = crate::plugins::registry::validate_url_for(instance).map_err(|reason| {
            PluginError::Config(format!("instance `{}`: url: {reason}", instance.name))
        })?;
        let password = resolve_password(instance)
            .map_err(|e| PluginError::Config(e.to_string()))?
            .or_else(|| url.password().map(percent_decode));
        let user = instance
            .username
            .clone()
            .or_else(|| (!url.username().is_empty()).then(|| percent_decode(url.username())))
            .unwrap_or_else(|| "root".into());
        let db = url.path().trim_start_matches('/');
        Ok(MysqlTarget {
            endpoint: strip_credentials(&url),
            host: url
                .host_str()
                .unwrap_or("127.0.0.1")
                .trim_matches(['[', ']'])
                .to_string(),
            port: url.port().unwrap_or(3306),
            user,
            password,
            db: (!db.is_empty()).then(|| db.to_string()),
            tls: MysqlTls::from_instance(instance)?,
            plain_refusal_over_tls: Default::default(),
        })
    }

    /// Whether the server runs on this machine (its error-log file may be readable).
    pub fn is_local(&self) -> bool {
        matches!(self.host.as_str(), "127.0.0.1" | "localhost" | "::1")
    }

    fn opts(&self, tls: &MysqlTls) -> OptsBuilder {
        OptsBuilder::default()
            .ssl_opts(tls.ssl_opts())
            .ip_or_hostname(self.host.clone())
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            .pass(self.password.clone())
            .db_name(self.db.clone())
            // Stay on the configured TCP endpoint (a port-forward, a tunnel) instead of
            // switching to the server's Unix socket.
            .prefer_socket(false)
            .stmt_cache_size(0)
    }

    async fn open(&self, connect_timeout: Duration) -> Result<Conn, PluginError> {
        let attempt = |tls: MysqlTls| async move {
            match tokio::time::timeout(connect_timeout, Conn::new(self.opts(&tls))).await {
                Err(_) => Err(None),
                Ok(Err(e)) => Err(Some(e)),
                Ok(Ok(conn)) => Ok(conn),
            }
        };
        let timeout = || PluginError::Timeout {
            endpoint: self.endpoint.clone(),
            millis: connect_timeout.as_millis() as u64,
        };
        match attempt(self.tls.clone()).await {
            Ok(conn) => Ok(conn),
            // `preferred`: a server that offers no TLS is spoken to in plain text.
            Err(Some(mysql_async::Error::Driver(
                mysql_async::DriverError::NoClientSslFlagFromServer,
            ))) if self.tls.falls_back_to_plain() => match attempt(MysqlTls::disabled()).await {
                Ok(conn) => Ok(conn),
                Err(Some(e)) => Err(self.classify(&e)),
                Err(None) => Err(timeout()),
            },
            Err(Some(e)) => Err(self.explain_plain_refusal(self.classify(&e)).await),
            Err(None) => Err(timeout()),
        }
    }

    /// A plain login refused with "Access denied" may be `require_secure_transport=ON`: MariaDB
    /// answers a plain login with that error. The same login is tried over TLS (without
    /// checking the certificate, only to tell the two apart): when it succeeds, the error says
    /// so. Once per target: against a server without TLS the attempt ends after the greeting,
    /// which the server counts as a handshake error towards `max_connect_errors` — a collector
    /// that retried it on every reconnect could get its host blocked.
    async fn explain_plain_refusal(&self, e: PluginError) -> PluginError {
        let PluginError::Auth { endpoint, reason } = e else {
            return e;
        };
        if self.tls.ssl_opts().is_some() || !reason.contains("ERROR 1045") {
            return PluginError::Auth { endpoint, reason };
        }
        let known = *self
            .plain_refusal_over_tls
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let succeeds = match known {
            Some(answer) => answer,
            None => {
                let over_tls = tokio::time::timeout(
                    Duration::from_secs(3),
                    Conn::new(self.opts(&MysqlTls::unverified())),
                )
                .await;
                let answer = match over_tls {
                    Ok(Ok(conn)) => {
                        let _ = conn.disconnect().await;
                        true
                    }
                    _ => false,
                };
                *self
                    .plain_refusal_over_tls
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(answer);
                answer
            }
        };
        PluginError::Auth {
            endpoint,
            reason: if succeeds {
                format!(
                    "{reason} — the same login succeeds over TLS: the server refuses unencrypted connections (require_secure_transport=ON); set ssl_mode (verify-identity, verify-ca or required)"
                )
            } else {
                reason
            },
        }
    }

    /// A read-only collection connection: flavor detected, session read-only, statement timeout.
    pub async fn connect(
        &self,
        connect_timeout: Duration,
        statement_timeout: Duration,
    ) -> Result<MysqlReader, PluginError> {
        let conn = self.open(connect_timeout).await?;
        let mut reader = MysqlReader {
            conn,
            target: self.clone(),
            flavor: Flavor::Mysql,
            version: String::new(),
            connection_id: 0,
            sql_mode: SqlMode::default(),
            account: String::new(),
            writing_privileges: None,
            timeout: statement_timeout + Duration::from_secs(2),
        };
        let t = reader
            .raw(
                "SELECT VERSION(), @@version_comment, CONNECTION_ID(), @@SESSION.sql_mode, CURRENT_USER()",
                None,
            )
            .await?;
        let cell = |c: usize| t.rows.first().and_then(|r| r.get(c).cloned().flatten());
        // The classifier must end literals where this session's lexer ends them.
        reader.sql_mode = SqlMode::parse(&cell(3).unwrap_or_default());
        reader.account = cell(4).unwrap_or_default();
        let version = cell(0).unwrap_or_default();
        let comment = cell(1).unwrap_or_default();
        reader.flavor = if format!("{version} {comment}")
            .to_ascii_lowercase()
            .contains("mariadb")
        {
            Flavor::Mariadb
        } else {
            Flavor::Mysql
        };
        reader.version = version;
        reader.connection_id = cell(2).and_then(|id| id.parse().ok()).unwrap_or(0);
        reader
            .raw(
                "SET SESSION TRANSACTION READ ONLY",
                Some("SET SESSION TRANSACTION READ ONLY"),
            )
            .await?;
        let timeout = match reader.flavor {
            Flavor::Mariadb => format!(
                "SET SESSION max_statement_time = {:.3}",
                statement_timeout.as_secs_f64()
            ),
            Flavor::Mysql => format!(
                "SET SESSION max_execution_time = {}",
                statement_timeout.as_millis()
            ),
        };
        // Best effort: an old server without the variable still collects, only unbounded.
        let _ = reader.raw(&timeout, None).await;
        // Best effort too: an account that may not list its grants is not judged (MYS-SEC-06).
        if let Ok(t) = reader.query_fixed("SHOW GRANTS").await {
            let lines: Vec<String> = t
                .rows
                .into_iter()
                .filter_map(|r| r.into_iter().next().flatten())
                .collect();
            reader.writing_privileges = Some(writing_privileges(&lines));
        }
        Ok(reader)
    }

    /// A connection that can write — for the repair executor only (it needs the token).
    pub async fn connect_for_executor(
        &self,
        connect_timeout: Duration,
        _token: &ExecutorToken,
    ) -> Result<Conn, PluginError> {
        self.open(connect_timeout).await
    }

    /// A driver error as a plugin error; never carries the password.
    pub fn classify(&self, e: &mysql_async::Error) -> PluginError {
        let endpoint = self.endpoint.clone();
        match e {
            mysql_async::Error::Server(s) => {
                let reply = server_reply(s);
                if matches!(s.code, 1044 | 1045 | 1698 | 1227 | 1142 | 1143) {
                    return PluginError::Auth {
                        endpoint,
                        reason: reply,
                    };
                }
                // A server that turned this client away: its words are the diagnosis.
                match super::refusal::refusal_finding(s.code, &reply) {
                    Some(finding) => PluginError::ServerRefused {
                        endpoint,
                        reply,
                        finding: Box::new(finding),
                    },
                    None => PluginError::Protocol {
                        endpoint,
                        reason: reply,
                    },
                }
            }
            // The TLS library's words (an unknown CA, a host name the certificate does not
            // name): the link cannot be made as configured.
            mysql_async::Error::Io(mysql_async::IoError::Tls(tls)) => PluginError::Unreachable {
                endpoint,
                reason: format!("TLS (ssl_mode {}): {tls}", self.tls.mode.as_str()),
            },
            mysql_async::Error::Io(io) => PluginError::Unreachable {
                endpoint,
                reason: io.to_string(),
            },
            mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) => {
                PluginError::Protocol {
                    endpoint,
                    reason: format!(
                        "the server does not offer TLS and ssl_mode is {} (use preferred or disabled to connect without it)",
                        self.tls.mode.as_str()
                    ),
                }
            }
            other => PluginError::Protocol {
                endpoint,
                reason: other.to_string(),
            },
        }
    }
}

/// A server error as the `mysql` client prints it; the SQL state is absent before the
/// handshake completes (the server does not know the client's capabilities yet).
fn server_reply(s: &mysql_async::ServerError) -> String {
    if s.state.is_empty() {
        format!("ERROR {}: {}", s.code, s.message)
    } else {
        format!("ERROR {} ({}): {}", s.code, s.state, s.message)
    }
}

fn percent_decode(s: &str) -> String {
    crate::config::decode_userinfo(s)
}

/// The collector's connection: every statement is checked read-only before it is sent.
pub struct MysqlReader {
    conn: Conn,
    target: MysqlTarget,
    pub flavor: Flavor,
    /// `VERSION()`, e.g. `10.11.6-MariaDB-0+deb12u1`.
    pub version: String,
    /// This session's id (never a kill candidate, and left out of the processlist rules).
    pub connection_id: u64,
    /// This session's `sql_mode`, as far as it changes where literals end.
    pub sql_mode: SqlMode,
    /// `CURRENT_USER()`: the account the server matched, `user@host`.
    pub account: String,
    /// What this account may do beyond reading (`None`: its grants could not be listed).
    pub writing_privileges: Option<Vec<String>>,
    timeout: Duration,
}

impl MysqlReader {
    /// Runs one read-only statement as a prepared statement; anything else is refused before
    /// it reaches the wire.
    pub async fn query(&mut self, sql: &str) -> Result<Table, PluginError> {
        check_read_only_in(sql, self.sql_mode).map_err(|e| PluginError::Refused(e.to_string()))?;
        self.raw(sql, None).await
    }

    /// [`query`](Self::query) for a constant statement: if the server cannot prepare it (MySQL
    /// prepares fewer SHOW statements than MariaDB), it is sent as text. A `&'static str` is
    /// written in this program, so no model or server text can take the text path.
    pub async fn query_fixed(&mut self, sql: &'static str) -> Result<Table, PluginError> {
        check_read_only_in(sql, self.sql_mode).map_err(|e| PluginError::Refused(e.to_string()))?;
        self.raw(sql, Some(sql)).await
    }

    /// Sends a statement of this module (session setup) or a checked one; `fixed` is the same
    /// statement when it may fall back to the text protocol.
    async fn raw(&mut self, sql: &str, fixed: Option<&'static str>) -> Result<Table, PluginError> {
        let result = query_prepared(&mut self.conn, sql, &self.target, self.timeout).await;
        match (result, fixed) {
            (Err(PluginError::Protocol { reason, .. }), Some(fixed))
                if reason.starts_with(&format!("ERROR {ER_UNSUPPORTED_PS} ")) =>
            {
                run_on(&mut self.conn, fixed, &self.target, self.timeout).await
            }
            (result, _) => result,
        }
    }

    /// The major.minor version as numbers (`10.11.6-MariaDB` → (10, 11)).
    pub fn version_tuple(&self) -> (u32, u32) {
        version_tuple(&self.version)
    }
}

/// `8.0.36` → (8, 0); `10.11.6-MariaDB-0+deb12u1` → (10, 11); unknown → (0, 0).
pub fn version_tuple(version: &str) -> (u32, u32) {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty());
    let major = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor)
}

/// `ER_UNSUPPORTED_PS`: "This command is not supported in the prepared statement protocol yet".
const ER_UNSUPPORTED_PS: u16 = 1295;

/// Runs one statement through the binary protocol (prepare, execute, close): the server
/// prepares a single statement, so a string holding two is refused as a syntax error and
/// nothing of it runs, although mysql_async negotiated multi-statements for the text protocol.
/// This is the reading connections' only way to the wire for statements they are given.
pub async fn query_prepared(
    conn: &mut Conn,
    sql: &str,
    target: &MysqlTarget,
    timeout: Duration,
) -> Result<Table, PluginError> {
    match tokio::time::timeout(timeout, conn.exec::<Row, _, _>(sql, ())).await {
        Err(_) => Err(PluginError::Timeout {
            endpoint: target.endpoint.clone(),
            millis: timeout.as_millis() as u64,
        }),
        Ok(Err(e)) => Err(target.classify(&e)),
        Ok(Ok(rows)) => Ok(table_of(rows)),
    }
}

/// Runs a statement on the executor's connection (no read-only check: this is the write path).
pub async fn run_on(
    conn: &mut Conn,
    sql: &str,
    target: &MysqlTarget,
    timeout: Duration,
) -> Result<Table, PluginError> {
    match tokio::time::timeout(timeout, conn.query::<Row, _>(sql)).await {
        Err(_) => Err(PluginError::Timeout {
            endpoint: target.endpoint.clone(),
            millis: timeout.as_millis() as u64,
        }),
        Ok(Err(e)) => Err(target.classify(&e)),
        Ok(Ok(rows)) => Ok(table_of(rows)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::InstanceKind;

    #[test]
    fn targets_take_user_password_and_db_from_the_url_and_never_show_the_password() {
        let i = InstanceConfig::new(
            "m",
            InstanceKind::MYSQL,
            "mysql://app:p%40ss@db.internal:3307/shop",
        );
        let t = MysqlTarget::from_instance(&i).unwrap();
        assert_eq!(t.endpoint, "mysql://db.internal:3307/shop");
        assert_eq!(
            (t.host.as_str(), t.port, t.user.as_str()),
            ("db.internal", 3307, "app")
        );
        assert_eq!(t.password.as_deref(), Some("p@ss"));
        assert!(!format!("{t:?}").contains("p@ss"));
        let i = InstanceConfig::new("m", InstanceKind::MYSQL, "mysql://127.0.0.1");
        let t = MysqlTarget::from_instance(&i).unwrap();
        assert_eq!(
            (t.port, t.user.as_str(), t.db.is_none()),
            (3306, "root", true)
        );
        assert!(t.is_local());
    }

    #[test]
    fn versions_parse_for_both_flavors() {
        assert_eq!(version_tuple("8.0.36"), (8, 0));
        assert_eq!(version_tuple("10.11.6-MariaDB-0+deb12u1"), (10, 11));
        assert_eq!(version_tuple(""), (0, 0));
    }
}
