//! The one redaction chokepoint: every request body bound for a model passes here.
//!
//! A body can only be sent as a [`RedactedBody`], and only [`Redactor::redact_body`] makes one,
//! so no code path can send an unredacted payload by mistake. Secrets become stable
//! placeholders (`[REDACTED:password#1]` — the same secret keeps the same number within a
//! session), so the model can still tell two different secrets apart without seeing either.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde_json::Value;

/// What to redact beyond secrets (which are always redacted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedactionPolicy {
    /// Values of data-writing commands (Redis `SET k v` → `SET k [REDACTED:value#1]`).
    pub key_values: bool,
    /// Quoted literals in SQL statements (row data).
    pub sql_literals: bool,
}

impl Default for RedactionPolicy {
    fn default() -> Self {
        RedactionPolicy {
            key_values: true,
            sql_literals: true,
        }
    }
}

/// A serialized request body that went through the redactor.
#[derive(Debug, Clone, PartialEq)]
pub struct RedactedBody(String);

impl RedactedBody {
    /// The exact bytes that will be sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

static PEM_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----")
        .expect("static regex")
});
/// `scheme://user:password@host`: the password runs to the *last* `@` before the host (as URL
/// parsers read it), so a raw `@` inside it does not leave the rest in the clear.
static DSN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*:)([^\s/]+)@").expect("static regex")
});
static BEARER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(bearer|basic)\s+([A-Za-z0-9._~+/=-]{8,})").expect("static regex")
});
static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}")
        .expect("static regex")
});
static AWS_KEY_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b").expect("static regex"));
static API_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:sk-(?:ant-)?[A-Za-z0-9_-]{16,}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abprs]-[A-Za-z0-9-]{10,})")
        .expect("static regex")
});
/// The value of a `key = value` pair, to its natural end: a double- or single-quoted string
/// (backslash escapes and doubled quotes honoured; an unterminated one runs to the end of the
/// text), or an unquoted word up to whitespace. Group 1/2/3 is the double-quoted, single-quoted
/// or unquoted value; which characters the value contains does not matter.
const VALUE: &str =
    r#"(?:"((?:[^"\\]|\\[\s\S]|"")*)(?:"|$)|'((?:[^'\\]|\\[\s\S]|'')*)(?:'|$)|([^\s"'][^\s]*))"#;
/// `password=…`, `"api_key": "…"`, `name<TAB>value` (SHOW VARIABLES) …
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)\b((?:[a-z0-9_.-]*?)(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|credentials?|_auth|sst_auth)[a-z0-9_.-]*)("?[ \t]*[:=][ \t]*|[ \t]*=>[ \t]*|\t+){VALUE}"#,
    ))
    .expect("static regex")
});
/// `requirepass foo`, `masterauth "a b"` (redis.conf, CONFIG GET flattened).
static REDIS_AUTH_CONFIG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)\b(requirepass|masterauth)("?[ \t]+|"?[ \t]*[:=][ \t]*){VALUE}"#
    ))
    .expect("static regex")
});
/// A Redis ACL password hash (unsalted SHA-256: as good as the password against a dictionary),
/// as `ACL LIST` shows it (`#<64 hex>`) or as the `passwords` field of `ACL GETUSER`.
static ACL_HASH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(#|\bpasswords\W{1,8})([0-9a-f]{64})\b").expect("static regex")
});
/// A Kubernetes Secret's `data`/`stringData` map, JSON form.
static K8S_JSON_DATA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""(data|stringData)"\s*:\s*\{([^{}]*)\}"#).expect("static regex")
});
static JSON_PAIR_VALUE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"("[^"]*"\s*:\s*)"([^"]*)""#).expect("static regex"));
/// Data-writing Redis commands as clients send them: all upper case (redis-py, Jedis, the CLI)
/// or all lower case (go-redis). Title case is prose — `Set maxmemory`, `Restore the …` in the
/// catalogue and in findings — and is left alone.
static REDIS_WRITE: LazyLock<Regex> = LazyLock::new(|| {
    const WORDS: &[&str] = &[
        "SET", "SETNX", "SETEX", "PSETEX", "GETSET", "APPEND", "HSET", "HSETNX", "HMSET", "LPUSH",
        "RPUSH", "LPUSHX", "RPUSHX", "LSET", "SADD", "ZADD", "XADD", "PUBLISH", "MSET", "RESTORE",
    ];
    let words: Vec<String> = WORDS
        .iter()
        .flat_map(|w| [w.to_string(), w.to_lowercase()])
        .collect();
    Regex::new(&format!(r"\b({})\s+(\S+)\s+([^\n()]+)", words.join("|"))).expect("static regex")
});
static SQL_LITERAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"'(?:[^'\\]|\\.)*'").expect("static regex"));
static SQL_STATEMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(insert\s+into|update\s+\S+\s+set|select\s.+\sfrom|delete\s+from|values\s*\()",
    )
    .expect("static regex")
});

/// Replaces secrets with stable placeholders.
#[derive(Debug, Default)]
pub struct Redactor {
    policy: RedactionPolicy,
    /// Exact secrets the program knows (instance passwords, API keys), longest first.
    known: Vec<(String, &'static str)>,
    placeholders: HashMap<String, String>,
    counters: HashMap<&'static str, usize>,
}

impl Redactor {
    /// A redactor with a policy and no known secrets.
    pub fn new(policy: RedactionPolicy) -> Self {
        Redactor {
            policy,
            ..Redactor::default()
        }
    }

    /// Registers an exact secret value (too short values are ignored: they would match noise).
    pub fn add_known_secret(&mut self, secret: &str, kind: &'static str) {
        if secret.len() < 4 || self.known.iter().any(|(s, _)| s == secret) {
            return;
        }
        self.known.push((secret.to_string(), kind));
        self.known.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
    }

    /// Registers every secret an instance carries (URL password, password_env, password_file,
    /// Kubernetes Secret value): the one way a redactor learns an instance's secrets.
    pub fn add_instance_secrets(&mut self, instance: &crate::config::InstanceConfig) {
        for secret in crate::config::instance_secrets(instance) {
            self.add_known_secret(&secret, "password");
        }
    }

    /// The placeholder of a secret; the same secret always gets the same one.
    fn placeholder(&mut self, secret: &str, kind: &'static str) -> String {
        if let Some(p) = self.placeholders.get(secret) {
            return p.clone();
        }
        let n = self.counters.entry(kind).or_insert(0);
        *n += 1;
        let p = format!("[REDACTED:{kind}#{n}]");
        self.placeholders.insert(secret.to_string(), p.clone());
        p
    }

    /// Redacts one text.
    pub fn redact(&mut self, text: &str) -> String {
        let mut out = text.to_string();
        for (secret, kind) in self.known.clone() {
            if out.contains(&secret) {
                let p = self.placeholder(&secret, kind);
                out = out.replace(&secret, &p);
            }
        }
        out = self.replace_whole(&PEM_KEY, &out, "private_key");
        out = self.redact_k8s_secret(&out);
        out = self.replace_group(&DSN, &out, &[2], "password");
        out = self.replace_group(&BEARER, &out, &[2], "token");
        out = self.replace_whole(&JWT, &out, "jwt");
        out = self.replace_whole(&AWS_KEY_ID, &out, "aws_key");
        out = self.replace_whole(&API_KEY, &out, "api_key");
        out = self.replace_group(&ACL_HASH, &out, &[2], "password_hash");
        out = self.replace_group(&REDIS_AUTH_CONFIG, &out, &[3, 4, 5], "password");
        out = self.replace_group(&KEY_VALUE, &out, &[3, 4, 5], "password");
        if self.policy.key_values {
            out = self.replace_group(&REDIS_WRITE, &out, &[3], "value");
        }
        if self.policy.sql_literals && SQL_STATEMENT.is_match(&out) {
            out = self.replace_whole(&SQL_LITERAL, &out, "literal");
        }
        out
    }

    /// The chokepoint: redacts every string inside a request body, then serializes it.
    pub fn redact_body(&mut self, body: &Value) -> RedactedBody {
        let mut body = body.clone();
        self.redact_value(&mut body);
        RedactedBody(body.to_string())
    }

    fn redact_value(&mut self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.redact(s),
            Value::Array(items) => items.iter_mut().for_each(|i| self.redact_value(i)),
            Value::Object(map) => {
                for (k, val) in map.iter_mut() {
                    // A structured field named like a secret is redacted whole.
                    if let Value::String(s) = val
                        && is_secret_field(k)
                        && !s.is_empty()
                        && !s.starts_with("[REDACTED")
                    {
                        let p = self.placeholder(&s.clone(), "password");
                        *s = p;
                        continue;
                    }
                    self.redact_value(val);
                }
            }
            _ => {}
        }
    }

    fn replace_whole(&mut self, re: &Regex, text: &str, kind: &'static str) -> String {
        let matches: Vec<String> = re.find_iter(text).map(|m| m.as_str().to_string()).collect();
        let mut out = text.to_string();
        for m in matches {
            if m.contains("[REDACTED") {
                continue;
            }
            let p = self.placeholder(&m, kind);
            out = out.replace(&m, &p);
        }
        out
    }

    /// Replaces the first of `groups` that took part in each match (alternative value forms
    /// are different groups), keeping everything around it.
    fn replace_group(
        &mut self,
        re: &Regex,
        text: &str,
        groups: &[usize],
        kind: &'static str,
    ) -> String {
        let mut found: Vec<String> = Vec::new();
        for c in re.captures_iter(text) {
            if let Some(m) = first_group(&c, groups)
                && !m.as_str().is_empty()
                && !m.as_str().starts_with("[REDACTED")
            {
                found.push(m.as_str().to_string());
            }
        }
        let placeholders: HashMap<String, String> = found
            .into_iter()
            .map(|s| {
                let p = self.placeholder(&s, kind);
                (s, p)
            })
            .collect();
        re.replace_all(text, |c: &Captures| {
            let whole = c.get(0).map_or("", |m| m.as_str());
            match first_group(c, groups) {
                Some(m) => match placeholders.get(m.as_str()) {
                    Some(p) => {
                        let start = m.start() - c.get(0).map_or(0, |w| w.start());
                        format!("{}{}{}", &whole[..start], p, &whole[start + m.len()..])
                    }
                    None => whole.to_string(),
                },
                None => whole.to_string(),
            }
        })
        .into_owned()
    }

    /// `data` / `stringData` of a Kubernetes Secret, in JSON or YAML form.
    fn redact_k8s_secret(&mut self, text: &str) -> String {
        let is_secret = text.contains("\"kind\":\"Secret\"")
            || text.contains("\"kind\": \"Secret\"")
            || text.lines().any(|l| l.trim() == "kind: Secret");
        if !is_secret {
            return text.to_string();
        }
        // JSON: every value inside the data maps.
        let mut values = Vec::new();
        for c in K8S_JSON_DATA.captures_iter(text) {
            if let Some(body) = c.get(2) {
                for v in JSON_PAIR_VALUE.captures_iter(body.as_str()) {
                    if let Some(val) = v.get(2) {
                        values.push(val.as_str().to_string());
                    }
                }
            }
        }
        // YAML: indented `key: value` lines under `data:` / `stringData:`.
        let mut in_data: Option<usize> = None;
        for line in text.lines() {
            let indent = line.len() - line.trim_start().len();
            let trimmed = line.trim();
            if trimmed == "data:" || trimmed == "stringData:" {
                in_data = Some(indent);
                continue;
            }
            if let Some(base) = in_data {
                if indent <= base || trimmed.is_empty() {
                    in_data = None;
                } else if let Some((_, v)) = trimmed.split_once(':') {
                    let v = v.trim().trim_matches('"');
                    if !v.is_empty() {
                        values.push(v.to_string());
                    }
                }
            }
        }
        let mut out = text.to_string();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        for v in values {
            if v.len() >= 2 && !v.starts_with("[REDACTED") {
                let p = self.placeholder(&v, "secret_data");
                out = out.replace(&v, &p);
            }
        }
        out
    }
}

/// The first of `groups` that took part in a match.
fn first_group<'h>(c: &Captures<'h>, groups: &[usize]) -> Option<regex::Match<'h>> {
    groups.iter().find_map(|g| c.get(*g))
}

fn is_secret_field(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "passwd", "secret", "token", "api_key", "apikey", "requirepass", "masterauth"]
        .iter()
        .any(|s| k.contains(s))
        && !k.contains("tokens") // usage counters such as `input_tokens`
        && !k.ends_with("_env") // names of environment variables are not secrets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn red(text: &str) -> String {
        Redactor::new(RedactionPolicy::default()).redact(text)
    }

    #[test]
    fn secrets_are_replaced_table() {
        let cases = [
            ("redis://:hunter2@10.0.0.1:6379/0", "hunter2"),
            ("mysql://app:S3cr3t!x@db:3306/shop", "S3cr3t!x"),
            (
                "Authorization: Bearer abcdefghijklmnop123",
                "abcdefghijklmnop123",
            ),
            (
                "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlMTIz here",
                "eyJhbGciOiJIUzI1NiJ9",
            ),
            ("key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
            (
                "OPENAI sk-proj-abcdefghijklmnopqrstuv",
                "sk-proj-abcdefghijklmnopqrstuv",
            ),
            ("password=hunter2 user=bob", "hunter2"),
            ("\"api_key\": \"zzz-123-qqq\"", "zzz-123-qqq"),
            ("requirepass s3cret-pass", "s3cret-pass"),
            ("masterauth: replica-pw-9", "replica-pw-9"),
            ("wsrep_sst_auth = root:galera-pw", "galera-pw"),
            // SHOW VARIABLES as the MySQL tools return it: name TAB value.
            ("wsrep_sst_auth\troot:galera-tab-pw", "galera-tab-pw"),
            (
                "Variable_name\tValue\nsome_password\tp4ss-in-a-table",
                "p4ss-in-a-table",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----",
                "MIIEabc",
            ),
        ];
        for (text, secret) in cases {
            let out = red(text);
            assert!(!out.contains(secret), "{text:?} → {out:?}");
            assert!(out.contains("[REDACTED:"), "{out}");
        }
    }

    /// Values that end the old pattern early (`; , ' & } ]`), quotes with escapes, CJK: the
    /// whole value goes, up to its natural end, and what follows it stays.
    #[test]
    fn key_values_are_redacted_whole_whatever_they_contain() {
        let cases: &[(&str, &[&str], &str)] = &[
            ("password=a;b user=x", &["a;b", ";b"], "user=x"),
            ("password=a,b,c&more=1 tail", &["a,b,c", "b,c&more"], "tail"),
            ("pwd=x}y]z rest", &["}y]z"], "rest"),
            ("secret=it's-mine next", &["s-mine"], "next"),
            (
                r#"{"password":"x,y","user":"u"}"#,
                &["x,y", ",y"],
                r#""user":"u""#,
            ),
            (
                r#"{"password": "a\"b;c", "n": 1}"#,
                &[r#"a\"b;c"#, "b;c"],
                r#""n": 1"#,
            ),
            ("pwd='it''s' and more", &["it''s", "'s'"], "and more"),
            (
                "PASSWORD = 'back\\'slash;x' after",
                &["slash;x", "back"],
                "after",
            ),
            (
                "api_key=\"with space, and } ]\" end",
                &["with space", "} ]"],
                "end",
            ),
            ("token: 密码;很长,的&值 next", &["密码", "的&值"], "next"),
            (
                "password=\"unterminated; still secret",
                &["unterminated", "still secret"],
                "password=",
            ),
            ("masterauth \"two words\" x", &["two words", "words"], " x"),
            ("requirepass 'a;b,c' y", &["a;b,c", "b,c"], " y"),
            ("redis://:p@ss@host:6379", &["p@ss", "@ss@"], "host:6379"),
            ("db_password\tva;lue", &["va;lue", ";lue"], "db_password"),
        ];
        for (text, secrets, kept) in cases {
            let out = red(text);
            for s in *secrets {
                assert!(!out.contains(s), "{text:?} leaks {s:?}: {out:?}");
            }
            assert!(out.contains("[REDACTED:"), "{text:?} → {out:?}");
            assert!(out.contains(kept), "{text:?} lost {kept:?}: {out:?}");
        }
    }

    #[test]
    fn redis_acl_password_hashes_are_redacted() {
        let hash = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
        for text in [
            format!("user default on #{hash} ~* &* +@all"),
            format!("flags on passwords {hash} commands +@all"),
            format!("{{\"passwords\":[\"{hash}\"]}}"),
        ] {
            let out = red(&text);
            assert!(!out.contains(hash), "{out}");
            assert!(out.contains("[REDACTED:password"), "{out}");
        }
    }

    #[test]
    fn placeholders_are_stable_and_distinct() {
        let mut r = Redactor::new(RedactionPolicy::default());
        let a = r.redact("password=one-secret and password=two-secret");
        let b = r.redact("again password=one-secret");
        assert!(
            a.contains("[REDACTED:password#1]") && a.contains("[REDACTED:password#2]"),
            "{a}"
        );
        assert!(b.contains("[REDACTED:password#1]"), "{b}");
    }

    #[test]
    fn known_secrets_are_replaced_anywhere() {
        let mut r = Redactor::new(RedactionPolicy::default());
        r.add_known_secret("pa55-Word!", "password");
        let out = r.redact("client said pa55-Word! in a log line");
        assert_eq!(out, "client said [REDACTED:password#1] in a log line");
    }

    #[test]
    fn kubernetes_secret_data_is_redacted_in_json_and_yaml() {
        let json = r#"{"kind":"Secret","metadata":{"name":"db"},"data":{"password":"aHVudGVyMg==","user":"YWRtaW4="}}"#;
        let out = red(json);
        assert!(
            !out.contains("aHVudGVyMg==") && !out.contains("YWRtaW4="),
            "{out}"
        );
        assert!(out.contains("\"name\":\"db\""), "metadata stays");
        let yaml = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: aHVudGVyMg==\n  user: YWRtaW4=\ntype: Opaque\n";
        let out = red(yaml);
        assert!(
            !out.contains("aHVudGVyMg==") && !out.contains("YWRtaW4="),
            "{out}"
        );
        assert!(out.contains("type: Opaque"));
    }

    #[test]
    fn key_values_and_sql_literals_follow_the_policy() {
        let text = "slowlog 12ms SET session:42 {\"card\":\"4111\"} (127.0.0.1:5)";
        let out = red(text);
        assert!(out.contains("SET session:42 [REDACTED:value#1]"), "{out}");
        // go-redis sends lower case; both are values.
        let out = red("slowlog 3ms hset user:7 email bob@example.com");
        assert!(!out.contains("bob@example.com"), "{out}");
        // Title case is prose (the catalogue sent with every question): left whole.
        let prose = "- RDS-FIX-01 (caution) Set maxmemory — params {bytes: new maxmemory in bytes (or 512mb, 2gb)}";
        assert_eq!(red(prose), prose);
        let prose = "Restore the old value; Append a note";
        assert_eq!(red(prose), prose);
        let sql = "INSERT INTO users VALUES ('bob', 'bob@example.com')";
        let out = red(sql);
        assert!(!out.contains("bob@example.com"), "{out}");
        let off = Redactor::new(RedactionPolicy {
            key_values: false,
            sql_literals: false,
        })
        .redact(text);
        assert!(off.contains("4111"), "policy off keeps values");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for text in [
            "used_memory 18.8 MiB with noeviction",
            "password-less default user (RDS-SEC-01)",
            "input_tokens 120",
            "GET key:1",
        ] {
            assert_eq!(red(text), text);
        }
    }

    #[test]
    fn bodies_are_redacted_structurally() {
        let mut r = Redactor::new(RedactionPolicy::default());
        r.add_known_secret("quote\"pw", "password");
        let body = serde_json::json!({
            "messages": [{"role": "user", "content": "my pw is quote\"pw"}],
            "metadata": {"password": "plain-field", "api_key_env": "OPENAI_API_KEY"},
            "usage": {"input_tokens": 5}
        });
        let sent = r.redact_body(&body);
        assert!(!sent.as_str().contains("quote\\\"pw"), "{}", sent.as_str());
        assert!(!sent.as_str().contains("plain-field"));
        assert!(
            sent.as_str().contains("OPENAI_API_KEY"),
            "env var names are not secrets"
        );
        assert!(sent.as_str().contains("\"input_tokens\":5"));
    }
}
