//! Opening a read-only collection connection to Redis and classifying its errors.
//!
//! The collector may only send the commands of [`READ_ONLY_COMMANDS`] (catalog §2.4, rule 1):
//! every query goes through [`RedisReader::query`], which refuses anything else before it
//! reaches the wire. Writes belong to the executor of the repair issue, never to a collector.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Client, ClientTlsConfig, ErrorKind, IntoConnectionInfo, RedisError,
    TlsCertificates, Value,
};

use crate::config::{InstanceConfig, resolve_password, strip_credentials};
use crate::plugins::PluginError;

/// `command|subcommand` pairs the collector may send: read-only and cheap.
pub const READ_ONLY_COMMANDS: [&str; 18] = [
    "PING",
    "INFO",
    "CONFIG|GET",
    "SLOWLOG|GET",
    "SLOWLOG|LEN",
    "CLIENT|LIST",
    "LATENCY|LATEST",
    "LATENCY|DOCTOR",
    "MEMORY|DOCTOR",
    "ACL|GETUSER",
    "ROLE",
    "TIME",
    // Bounded big-key sampling by the AI tool (catalog C10): names and sizes, never values.
    "SCAN",
    "TYPE",
    "MEMORY|USAGE",
    // Verification probes of the repair executor: existence and a permission dry run.
    "EXISTS",
    // The executor asks each of its connections for its id (never kill our own).
    "CLIENT|ID",
    "ACL|DRYRUN",
];

/// Whether `argv` is on the collector's allowlist.
pub fn is_read_only(argv: &[&str]) -> bool {
    let Some(cmd) = argv.first() else {
        return false;
    };
    let cmd = cmd.to_ascii_uppercase();
    let with_sub = argv
        .get(1)
        .map(|s| format!("{cmd}|{}", s.to_ascii_uppercase()));
    READ_ONLY_COMMANDS
        .iter()
        .any(|allowed| *allowed == cmd || with_sub.as_deref() == Some(*allowed))
}

/// Where and how to connect, with the password already resolved (never printed).
#[derive(Clone)]
pub struct RedisTarget {
    /// The endpoint without credentials, e.g. `redis://127.0.0.1:6379/0`.
    pub endpoint: String,
    /// Host part, to decide whether local log files can be read.
    pub host: String,
    info: redis::ConnectionInfo,
    password: Option<String>,
    /// CA and client certificates for `rediss://`, read once from the configured files.
    tls: Option<TlsCertificates>,
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTarget")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl RedisTarget {
    /// Builds the target of a configured instance, resolving `password_env` / `password_file`.
    pub fn from_instance(instance: &InstanceConfig) -> Result<Self, PluginError> {
        let url = crate::plugins::registry::validate_url_for(instance).map_err(|reason| {
            PluginError::Config(format!("instance `{}`: url: {reason}", instance.name))
        })?;
        let password = resolve_password(instance)
            .map_err(|e| PluginError::Config(e.to_string()))?
            .or_else(|| url.password().map(percent_decode));
        let username = instance
            .username
            .clone()
            .or_else(|| (!url.username().is_empty()).then(|| url.username().to_string()));
        let mut info = url
            .as_str()
            .into_connection_info()
            .map_err(|e| PluginError::Config(format!("instance `{}`: url: {e}", instance.name)))?;
        let mut settings = info.redis_settings().clone();
        if let Some(pw) = &password {
            settings = settings.set_password(pw);
        }
        if let Some(user) = username {
            settings = settings.set_username(user);
        }
        info = info.set_redis_settings(settings);
        Ok(RedisTarget {
            endpoint: strip_credentials(&url),
            host: url.host_str().unwrap_or_default().to_string(),
            info,
            password,
            tls: tls_certificates(instance)?,
        })
    }

    /// Whether the server runs on this machine (its log file may then be readable).
    pub fn is_local(&self) -> bool {
        matches!(
            self.host.trim_matches(['[', ']']),
            "127.0.0.1" | "localhost" | "::1"
        )
    }

    /// Whether the endpoint uses TLS (`rediss://`).
    pub fn is_tls(&self) -> bool {
        matches!(self.info.addr(), redis::ConnectionAddr::TcpTls { .. })
    }

    /// Replaces any occurrence of the password in a message (errors can echo input).
    pub fn scrub(&self, message: &str) -> String {
        match &self.password {
            Some(pw) if !pw.is_empty() => message.replace(pw.as_str(), "[REDACTED]"),
            _ => message.to_string(),
        }
    }

    /// Connects with the given timeouts; the connection can only send read-only commands.
    pub async fn connect(
        &self,
        connect_timeout: Duration,
        command_timeout: Duration,
    ) -> Result<RedisReader, PluginError> {
        Ok(RedisReader {
            conn: self.open(connect_timeout, command_timeout).await?,
            target: self.clone(),
        })
    }

    /// A connection that can write — for the repair executor only (it alone holds the token).
    pub async fn connect_for_executor(
        &self,
        connect_timeout: Duration,
        command_timeout: Duration,
        _token: &crate::repair::ExecutorToken,
    ) -> Result<MultiplexedConnection, PluginError> {
        self.open(connect_timeout, command_timeout).await
    }

    async fn open(
        &self,
        connect_timeout: Duration,
        command_timeout: Duration,
    ) -> Result<MultiplexedConnection, PluginError> {
        if self.is_tls() {
            install_crypto_provider();
        }
        let client = match &self.tls {
            Some(certs) => Client::build_with_tls(self.info.clone(), certs.clone()),
            None => Client::open(self.info.clone()),
        }
        .map_err(|e| self.classify(&e))?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(command_timeout));
        // The outer timeout also bounds DNS and TLS handshakes.
        let conn = tokio::time::timeout(
            connect_timeout + Duration::from_millis(500),
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .map_err(|_| PluginError::Timeout {
            endpoint: self.endpoint.clone(),
            millis: connect_timeout.as_millis() as u64,
        })?;
        match conn {
            Ok(conn) => Ok(conn),
            Err(e) => Err(self.explain_connect_failure(self.classify(&e)).await),
        }
    }

    /// A connect that failed on the link may have been a refusal the client library lost (the
    /// server wrote its reason, then closed): ask the server again without sending anything,
    /// and keep its words.
    async fn explain_connect_failure(&self, e: PluginError) -> PluginError {
        let PluginError::Unreachable { endpoint, reason } = e else {
            return e;
        };
        if self.is_tls() {
            return PluginError::Unreachable { endpoint, reason };
        }
        match super::refusal::error_greeting(self.info.addr()).await {
            Some(reply) => self.refusal(endpoint, reply, Some(&reason)),
            None => PluginError::Unreachable { endpoint, reason },
        }
    }

    /// An error reply the server sent instead of serving this client: the maxclients refusal
    /// becomes RDS-CONN-01; any other (`DENIED` of protected mode …) keeps the server's words.
    fn refusal(&self, endpoint: String, reply: String, link: Option<&str>) -> PluginError {
        let reply = self.scrub(&reply);
        if super::refusal::is_max_clients(&reply) {
            return PluginError::ServerRefused {
                endpoint,
                finding: Box::new(super::refusal::max_clients_finding(&reply)),
                reply,
            };
        }
        PluginError::Protocol {
            endpoint,
            reason: match link {
                Some(link) => format!("the server refused the connection: {reply} ({link})"),
                None => format!("the server refused the connection: {reply}"),
            },
        }
    }

    /// Maps a client error to the plugin's error kinds; the message never carries the password.
    pub fn classify(&self, e: &RedisError) -> PluginError {
        let endpoint = self.endpoint.clone();
        let reason = self.scrub(&e.to_string());
        if super::refusal::is_max_clients(&reason) {
            // The reply as the server wrote it (`ERR max number …`), not the library's wrapping.
            let reply = match (e.code(), e.detail()) {
                (Some(code), Some(detail)) => format!("{code} {detail}"),
                _ => reason,
            };
            return self.refusal(endpoint, reply, None);
        }
        let auth_codes = ["WRONGPASS", "NOAUTH", "NOPERM"];
        if e.kind() == ErrorKind::AuthenticationFailed
            || e.code().is_some_and(|c| auth_codes.contains(&c))
        {
            return PluginError::Auth { endpoint, reason };
        }
        if e.is_timeout() {
            return PluginError::Timeout {
                endpoint,
                millis: 0,
            };
        }
        if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() {
            return PluginError::Unreachable { endpoint, reason };
        }
        if e.kind() == ErrorKind::InvalidClientConfig {
            return PluginError::Config(reason);
        }
        PluginError::Protocol { endpoint, reason }
    }
}

pub use crate::crypto::install_provider as install_crypto_provider;

/// Reads the configured TLS files; `None` when none is set (system roots are used).
fn tls_certificates(instance: &InstanceConfig) -> Result<Option<TlsCertificates>, PluginError> {
    let read = |path: &std::path::Path, what: &str| {
        std::fs::read(path).map_err(|e| {
            PluginError::Config(format!(
                "instance `{}`: cannot read {what} {}: {e}",
                instance.name,
                path.display()
            ))
        })
    };
    let root_cert = match &instance.tls_ca_file {
        Some(p) => Some(read(p, "tls_ca_file")?),
        None => None,
    };
    let client_tls = match (&instance.tls_cert_file, &instance.tls_key_file) {
        (Some(cert), Some(key)) => Some(ClientTlsConfig {
            client_cert: read(cert, "tls_cert_file")?,
            client_key: read(key, "tls_key_file")?,
        }),
        _ => None,
    };
    if root_cert.is_none() && client_tls.is_none() {
        return Ok(None);
    }
    Ok(Some(TlsCertificates {
        client_tls,
        root_cert,
    }))
}

fn percent_decode(s: &str) -> String {
    crate::config::decode_userinfo(s)
}

/// A collection connection that can only send allowlisted read-only commands.
pub struct RedisReader {
    conn: MultiplexedConnection,
    target: RedisTarget,
}

impl RedisReader {
    /// Sends one allowlisted command; anything else is refused before it reaches the wire.
    pub async fn query(&mut self, argv: &[&str]) -> Result<Value, PluginError> {
        if !is_read_only(argv) {
            return Err(PluginError::Refused(format!(
                "`{}` is not a read-only collection command",
                argv.join(" ")
            )));
        }
        let mut cmd = redis::cmd(argv[0]);
        for a in &argv[1..] {
            cmd.arg(*a);
        }
        cmd.query_async(&mut self.conn)
            .await
            .map_err(|e| self.target.classify(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowlist_separates_reads_from_writes_by_subcommand() {
        let cases: [(&[&str], bool); 10] = [
            (&["INFO", "everything"], true),
            (&["config", "get", "*"], true),
            (&["CONFIG", "SET", "maxmemory", "1"], false),
            (&["SLOWLOG", "GET", "128"], true),
            (&["SLOWLOG", "RESET"], false),
            (&["CLIENT", "LIST"], true),
            (&["CLIENT", "KILL", "ID", "3"], false),
            (&["MEMORY", "PURGE"], false),
            (&["FLUSHALL"], false),
            (&[], false),
        ];
        for (argv, want) in cases {
            assert_eq!(is_read_only(argv), want, "{argv:?}");
        }
    }

    #[test]
    fn credentials_are_stripped_from_the_endpoint() {
        let url = url::Url::parse("redis://u:secret@127.0.0.1:6380/2").unwrap();
        assert_eq!(strip_credentials(&url), "redis://127.0.0.1:6380/2");
        assert_eq!(percent_decode("p%40ss"), "p@ss");
        // RFC 3986 userinfo: `+` is a plus (not a space), `&` and `=` are plain characters.
        assert_eq!(percent_decode("a+b"), "a+b");
        assert_eq!(percent_decode("a&b=c"), "a&b=c");
        assert_eq!(percent_decode("%E5%AF%86%E7%A0%81"), "密码");
        assert_eq!(percent_decode("bad%zz%"), "bad%zz%");
    }
}
