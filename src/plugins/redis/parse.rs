//! Parsers for Redis replies: INFO text, CONFIG GET pairs, SLOWLOG, CLIENT LIST, LATENCY LATEST,
//! ACL GETUSER. They take untrusted server output and never panic on it.

use std::collections::{BTreeMap, HashMap};

use redis::Value;

/// `INFO` as a flat key → value map (keys are unique across sections).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InfoMap(HashMap<String, String>);

impl InfoMap {
    /// Parses the `key:value` lines of an INFO reply; comments and malformed lines are skipped.
    pub fn parse(text: &str) -> Self {
        let map = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        InfoMap(map)
    }

    /// Raw value of a field.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Field as an unsigned integer.
    pub fn u64(&self, key: &str) -> Option<u64> {
        self.get(key)?.parse().ok()
    }

    /// Field as a float.
    pub fn f64(&self, key: &str) -> Option<f64> {
        self.get(key)?.parse().ok().filter(|v: &f64| v.is_finite())
    }

    /// A sub-field of a composite value, e.g. `count` of `errorstat_OOM:count=3`.
    pub fn sub(&self, key: &str, field: &str) -> Option<&str> {
        sub_field(self.get(key)?, field)
    }

    /// A numeric sub-field.
    pub fn sub_u64(&self, key: &str, field: &str) -> Option<u64> {
        self.sub(key, field)?.parse().ok()
    }

    /// Keys starting with a prefix, e.g. all `slaveN` or `dbN` lines.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0
            .iter()
            .filter(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing was parsed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `field` of a `a=1,b=2` value.
pub fn sub_field<'a>(value: &'a str, field: &str) -> Option<&'a str> {
    value
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == field)
        .map(|(_, v)| v)
}

/// Text of a bulk or simple string reply.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Okay => Some("OK".into()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

fn value_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        other => value_text(other)?.parse().ok(),
    }
}

/// Key/value pairs of a flat array (RESP2) or a map (RESP3) reply.
pub fn pairs(v: &Value) -> Vec<(String, &Value)> {
    match v {
        Value::Array(items) => items
            .chunks_exact(2)
            .filter_map(|c| Some((value_text(&c[0])?, &c[1])))
            .collect(),
        Value::Map(items) => items
            .iter()
            .filter_map(|(k, v)| Some((value_text(k)?, v)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Config keys whose values are secrets: they are replaced before leaving the parser.
const SECRET_CONFIG_KEYS: [&str; 4] = [
    "requirepass",
    "masterauth",
    "tls-key-file-pass",
    "tls-client-key-file-pass",
];

/// What a redacted secret looks like; an empty secret stays empty so rules can tell "not set".
pub const REDACTED: &str = "[REDACTED]";

/// `CONFIG GET *` → map, with secrets redacted at the source.
pub fn parse_config(v: &Value) -> BTreeMap<String, String> {
    pairs(v)
        .into_iter()
        .map(|(k, v)| {
            let text = value_text(v).unwrap_or_default();
            let text = if SECRET_CONFIG_KEYS.contains(&k.as_str()) && !text.is_empty() {
                REDACTED.to_string()
            } else {
                text
            };
            (k, text)
        })
        .collect()
}

/// One `SLOWLOG GET` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowlogEntry {
    pub id: u64,
    /// Unix seconds when the command ran.
    pub timestamp: i64,
    pub duration_us: u64,
    /// Command and first arguments, truncated for display.
    pub argv: Vec<String>,
    pub client_addr: String,
    pub client_name: String,
}

impl SlowlogEntry {
    /// The command name in lower case, e.g. `keys`.
    pub fn command(&self) -> String {
        self.argv
            .first()
            .map(|a| a.to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// `argv` joined for display, at most `max_chars` characters.
    pub fn command_line(&self, max_chars: usize) -> String {
        let joined = self.argv.join(" ");
        if joined.chars().count() <= max_chars {
            joined
        } else {
            let cut: String = joined.chars().take(max_chars.saturating_sub(1)).collect();
            format!("{cut}…")
        }
    }
}

const MAX_ARGS_KEPT: usize = 4;
const MAX_ARG_CHARS: usize = 64;

/// `SLOWLOG GET n` → entries; malformed entries are skipped.
pub fn parse_slowlog(v: &Value) -> Vec<SlowlogEntry> {
    let Value::Array(entries) = v else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| {
            let Value::Array(f) = e else { return None };
            let id = u64::try_from(value_int(f.first()?)?).ok()?;
            let timestamp = value_int(f.get(1)?)?;
            let duration_us = u64::try_from(value_int(f.get(2)?)?).ok()?;
            let argv = match f.get(3) {
                Some(Value::Array(args)) => args
                    .iter()
                    .take(MAX_ARGS_KEPT)
                    .filter_map(value_text)
                    .map(|a| truncate_chars(&a, MAX_ARG_CHARS))
                    .collect(),
                _ => Vec::new(),
            };
            Some(SlowlogEntry {
                id,
                timestamp,
                duration_us,
                argv,
                client_addr: f.get(4).and_then(value_text).unwrap_or_default(),
                client_name: f.get(5).and_then(value_text).unwrap_or_default(),
            })
        })
        .collect()
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// What `CLIENT LIST` says, summarised (rows are capped by the caller).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientListSummary {
    pub total: usize,
    pub pubsub: usize,
    pub blocked: usize,
    pub replicas: usize,
    /// Largest output buffer of one client, bytes.
    pub max_omem: u64,
    /// `addr` and `cmd` of the client with the largest output buffer.
    pub max_omem_client: Option<String>,
    /// Longest idle time, seconds.
    pub max_idle_secs: u64,
    /// Clients idle for more than an hour.
    pub idle_over_hour: usize,
    /// Whether the list was cut at the row cap.
    pub truncated: bool,
}

/// Parses up to `max_rows` lines of `CLIENT LIST`.
pub fn summarize_clients(text: &str, max_rows: usize) -> ClientListSummary {
    let mut s = ClientListSummary::default();
    for (n, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        if n >= max_rows {
            s.truncated = true;
            break;
        }
        s.total += 1;
        let field = |name: &str| {
            line.split(' ')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v)
        };
        let flags = field("flags").unwrap_or("");
        if flags.contains('P') {
            s.pubsub += 1;
        }
        if flags.contains('b') {
            s.blocked += 1;
        }
        if flags.contains('S') {
            s.replicas += 1;
        }
        let omem = field("omem").and_then(|v| v.parse().ok()).unwrap_or(0);
        if omem > s.max_omem {
            s.max_omem = omem;
            s.max_omem_client = Some(format!(
                "{} cmd={}",
                field("addr").unwrap_or("?"),
                field("cmd").unwrap_or("?")
            ));
        }
        let idle: u64 = field("idle").and_then(|v| v.parse().ok()).unwrap_or(0);
        s.max_idle_secs = s.max_idle_secs.max(idle);
        if idle > 3600 {
            s.idle_over_hour += 1;
        }
    }
    s
}

/// One `LATENCY LATEST` event.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyEvent {
    pub event: String,
    /// Unix seconds of the latest spike.
    pub timestamp: i64,
    pub latest_ms: u64,
    pub max_ms: u64,
}

/// `LATENCY LATEST` → events.
pub fn parse_latency_latest(v: &Value) -> Vec<LatencyEvent> {
    let Value::Array(events) = v else {
        return Vec::new();
    };
    events
        .iter()
        .filter_map(|e| {
            let Value::Array(f) = e else { return None };
            Some(LatencyEvent {
                event: value_text(f.first()?)?,
                timestamp: value_int(f.get(1)?)?,
                latest_ms: u64::try_from(value_int(f.get(2)?)?).ok()?,
                max_ms: u64::try_from(value_int(f.get(3)?)?).ok()?,
            })
        })
        .collect()
}

/// The `flags` and `commands` of `ACL GETUSER default` (password hashes are never kept).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AclUser {
    pub flags: Vec<String>,
    pub commands: String,
}

impl AclUser {
    /// Whether the user is enabled and needs no password.
    pub fn is_open(&self) -> bool {
        self.flags.iter().any(|f| f == "on") && self.flags.iter().any(|f| f == "nopass")
    }
}

/// `ACL GETUSER` → flags and commands.
pub fn parse_acl_user(v: &Value) -> Option<AclUser> {
    let mut user = AclUser::default();
    let mut seen = false;
    for (k, val) in pairs(v) {
        match k.as_str() {
            "flags" => {
                seen = true;
                if let Value::Array(items) | Value::Set(items) = val {
                    user.flags = items.iter().filter_map(value_text).collect();
                }
            }
            "commands" => user.commands = value_text(val).unwrap_or_default(),
            _ => {}
        }
    }
    seen.then_some(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn info_parses_sections_and_composite_fields() {
        let text = "# Server\r\nredis_version:7.0.15\r\n\r\n# Errorstats\r\nerrorstat_OOM:count=3\r\n\
                    # Replication\r\nslave0:ip=127.0.0.1,port=6392,state=online,offset=14,lag=2\r\ngarbage\r\n";
        let info = InfoMap::parse(text);
        assert_eq!(info.get("redis_version"), Some("7.0.15"));
        assert_eq!(info.sub_u64("errorstat_OOM", "count"), Some(3));
        assert_eq!(info.sub_u64("slave0", "lag"), Some(2));
        assert_eq!(info.sub("slave0", "state"), Some("online"));
        assert_eq!(info.len(), 3, "malformed lines are skipped");
        assert_eq!(info.u64("redis_version"), None);
    }

    #[test]
    fn config_redacts_secrets_but_keeps_empty_ones_empty() {
        let v = Value::Array(vec![
            bulk("requirepass"),
            bulk("hunter2"),
            bulk("masterauth"),
            bulk(""),
            bulk("maxmemory"),
            bulk("5242880"),
        ]);
        let c = parse_config(&v);
        assert_eq!(c["requirepass"], REDACTED);
        assert_eq!(c["masterauth"], "");
        assert_eq!(c["maxmemory"], "5242880");
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn slowlog_entries_parse_and_skip_malformed_ones() {
        let good = Value::Array(vec![
            Value::Int(7),
            Value::Int(1_700_000_000),
            Value::Int(300_189),
            Value::Array(vec![bulk("DEBUG"), bulk("SLEEP"), bulk("0.3")]),
            bulk("127.0.0.1:46036"),
            bulk(""),
        ]);
        let bad = Value::Array(vec![Value::Nil]);
        let entries = parse_slowlog(&Value::Array(vec![good, bad, Value::Int(1)]));
        assert_eq!(entries.len(), 1);
        let e = &entries[0];
        assert_eq!((e.id, e.duration_us), (7, 300_189));
        assert_eq!(e.command(), "debug");
        assert_eq!(e.command_line(100), "DEBUG SLEEP 0.3");
        assert_eq!(e.command_line(6), "DEBUG…");
        assert!(parse_slowlog(&Value::Nil).is_empty());
    }

    #[test]
    fn client_list_summary_counts_flags_and_buffers() {
        let text = "id=3 addr=127.0.0.1:1 flags=N idle=0 omem=0 cmd=client|list\n\
                    id=4 addr=127.0.0.1:2 flags=P idle=7200 omem=2048 cmd=subscribe\n\
                    id=5 addr=127.0.0.1:3 flags=b idle=5 omem=0 cmd=blpop\n";
        let s = summarize_clients(text, 100);
        assert_eq!((s.total, s.pubsub, s.blocked, s.replicas), (3, 1, 1, 0));
        assert_eq!(s.max_omem, 2048);
        assert_eq!(s.max_idle_secs, 7200);
        assert_eq!(s.idle_over_hour, 1);
        assert!(s.max_omem_client.unwrap().contains("subscribe"));
        let capped = summarize_clients(text, 2);
        assert!(capped.truncated && capped.total == 2);
    }

    #[test]
    fn latency_and_acl_replies_parse() {
        let lat = Value::Array(vec![Value::Array(vec![
            bulk("command"),
            Value::Int(1_700_000_000),
            Value::Int(300),
            Value::Int(310),
        ])]);
        let ev = parse_latency_latest(&lat);
        assert_eq!(ev[0].event, "command");
        assert_eq!(ev[0].max_ms, 310);

        let acl = Value::Array(vec![
            bulk("flags"),
            Value::Array(vec![bulk("on"), bulk("nopass")]),
            bulk("passwords"),
            Value::Array(vec![]),
            bulk("commands"),
            bulk("+@all"),
        ]);
        let user = parse_acl_user(&acl).unwrap();
        assert!(user.is_open());
        assert_eq!(user.commands, "+@all");
        assert!(parse_acl_user(&Value::Nil).is_none());
    }
}
