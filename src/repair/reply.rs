//! A system's reply in a plain shape the executor can capture, show, audit and judge.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// A SHA-256 as Redis shows an ACL password (`#<64 hex>` in `ACL LIST`, bare in the
/// `passwords` of `ACL GETUSER`): unsalted, so as good as the password against a dictionary.
static PASSWORD_HASH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)#?\b[0-9a-f]{64}\b").expect("static regex"));

/// Replaces every SHA-256-shaped word (with or without its `#`) by `#[REDACTED]`: what replies
/// show in the repair modal, `fix` output and the audit log.
pub fn redact_password_hashes(text: &str) -> String {
    PASSWORD_HASH.replace_all(text, "#[REDACTED]").into_owned()
}

/// A reply: nil, an integer, text, or a list (maps become key/value lists).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reply {
    Nil,
    Int(i64),
    Text(String),
    List(Vec<Reply>),
}

/// Like the derived form, with Redis ACL password hashes redacted: a panic report or a debug
/// log of a captured `ACL GETUSER` must not carry them.
impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reply::Nil => f.write_str("Nil"),
            Reply::Int(i) => f.debug_tuple("Int").field(i).finish(),
            Reply::Text(t) => f
                .debug_tuple("Text")
                .field(&redact_password_hashes(t))
                .finish(),
            Reply::List(items) => f.debug_tuple("List").field(items).finish(),
        }
    }
}

impl Reply {
    /// Every leaf, one per line (for "contains" checks and display).
    pub fn flatten(&self) -> String {
        let mut out = Vec::new();
        self.leaves(&mut out);
        out.join("\n")
    }

    fn leaves(&self, out: &mut Vec<String>) {
        match self {
            Reply::Nil => {}
            Reply::Int(i) => out.push(i.to_string()),
            Reply::Text(t) => out.push(t.clone()),
            Reply::List(items) => items.iter().for_each(|i| i.leaves(out)),
        }
    }

    /// A short one-line form for the audit log and the modal (at most 200 characters), with
    /// Redis ACL password hashes redacted.
    pub fn summary(&self) -> String {
        let flat = redact_password_hashes(&self.flatten()).replace('\n', " ");
        let flat = if flat.is_empty() {
            "(empty)".to_string()
        } else {
            flat
        };
        if flat.chars().count() > 200 {
            format!("{}…", flat.chars().take(200).collect::<String>())
        } else {
            flat
        }
    }

    /// A list read as key/value pairs (`CONFIG GET`, `ACL GETUSER`).
    pub fn pairs(&self) -> Vec<(String, &Reply)> {
        match self {
            Reply::List(items) => items
                .chunks(2)
                .filter_map(|kv| match kv {
                    [Reply::Text(k), v] => Some((k.clone(), v)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The value of a key in a pair list (case-insensitive key).
    pub fn get(&self, key: &str) -> Option<&Reply> {
        self.pairs()
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }

    /// A field of an `INFO` text reply.
    pub fn info_field(&self, field: &str) -> Option<String> {
        let Reply::Text(text) = self else {
            return None;
        };
        text.lines().find_map(|l| {
            l.strip_prefix(field)
                .and_then(|rest| rest.strip_prefix(':'))
                .map(|v| v.trim().to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_an_acl_password_hash() {
        let hash = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
        let captured = Reply::List(vec![
            Reply::Text("passwords".into()),
            Reply::List(vec![Reply::Text(hash.into())]),
            Reply::Text(format!("user app on #{hash} ~*")),
        ]);
        let shown = format!("{captured:?} {:?}", vec![("ACL GETUSER app", &captured)]);
        assert!(!shown.contains(hash), "{shown}");
        assert!(shown.contains("passwords"), "{shown}");
    }

    #[test]
    fn pairs_fields_and_summaries() {
        let r = Reply::List(vec![
            Reply::Text("maxmemory-policy".into()),
            Reply::Text("noeviction".into()),
        ]);
        assert_eq!(
            r.get("MAXMEMORY-POLICY"),
            Some(&Reply::Text("noeviction".into()))
        );
        assert_eq!(r.summary(), "maxmemory-policy noeviction");
        let info = Reply::Text("# Memory\r\nused_memory:1024\r\nused_memory_rss:4096\r\n".into());
        assert_eq!(info.info_field("used_memory").as_deref(), Some("1024"));
        assert_eq!(info.info_field("used_memory_peak"), None);
        assert_eq!(Reply::List(vec![]).summary(), "(empty)");
    }

    #[test]
    fn summaries_hide_acl_password_hashes() {
        let hash = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
        let getuser = Reply::List(vec![
            Reply::Text("flags".into()),
            Reply::List(vec![Reply::Text("on".into())]),
            Reply::Text("passwords".into()),
            Reply::List(vec![
                Reply::Text(hash.into()),
                Reply::Text(hash.to_uppercase()),
            ]),
        ]);
        let list = Reply::List(vec![Reply::Text(format!("user app on #{hash} ~* +@all"))]);
        for r in [getuser, list] {
            let s = r.summary();
            assert!(!s.to_lowercase().contains(hash), "{s}");
            assert!(s.contains("#[REDACTED]"), "{s}");
        }
        // A 40-hex run_id is not a password hash.
        let id = "a".repeat(40);
        assert!(Reply::Text(id.clone()).summary().contains(&id));
    }
}
