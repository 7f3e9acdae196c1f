//! Conversations kept per instance in the data dir (`sessions/NAME.json`, owner-only), resumed
//! when the program starts again, and the Markdown incident report of `:export`.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::chat::{ChatMessage, ChatRole};
use super::instance_view::InstanceView;
use super::state::AppState;
use crate::diagnose::findings_markdown;

const FORMAT_VERSION: u32 = 1;

/// A saved conversation on disk.
#[derive(Serialize, Deserialize)]
struct SessionFile {
    version: u32,
    instance: String,
    messages: Vec<ChatMessage>,
}

/// Where conversations are saved.
#[derive(Debug, Clone)]
pub struct SessionStore {
    dir: PathBuf,
}

/// A saved conversation that could not be read; the file was moved aside, never overwritten.
#[derive(Debug, thiserror::Error)]
#[error("the saved conversation {path} could not be read ({reason}); it was kept as {kept}")]
pub struct SessionLoadError {
    pub path: String,
    pub reason: String,
    pub kept: String,
}

impl SessionStore {
    /// The store under a data directory.
    pub fn new(data_dir: &Path) -> Self {
        SessionStore {
            dir: data_dir.join("sessions"),
        }
    }

    /// The file of an instance's conversation (the name made safe for a file name).
    pub fn path_for(&self, instance: &str) -> PathBuf {
        self.dir.join(format!("{}.json", file_safe(instance)))
    }

    /// The saved conversation of an instance (empty when there is none).
    pub fn load(&self, instance: &str) -> Result<Vec<ChatMessage>, SessionLoadError> {
        let path = self.path_for(instance);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.set_aside(&path, e.to_string())),
        };
        match serde_json::from_str::<SessionFile>(&text) {
            Ok(file) if file.version == FORMAT_VERSION => Ok(file.messages),
            Ok(file) => Err(self.set_aside(
                &path,
                format!("format version {} is not {FORMAT_VERSION}", file.version),
            )),
            Err(e) => Err(self.set_aside(&path, e.to_string())),
        }
    }

    fn set_aside(&self, path: &Path, reason: String) -> SessionLoadError {
        let stamp = Utc::now().format("%Y%m%dT%H%M%S");
        let kept = path.with_extension(format!("json.unreadable-{stamp}"));
        let kept = match std::fs::rename(path, &kept) {
            Ok(()) => kept.display().to_string(),
            Err(_) => path.display().to_string(),
        };
        SessionLoadError {
            path: path.display().to_string(),
            reason,
            kept,
        }
    }

    /// Saves a conversation atomically (temporary file + rename), readable by the owner only.
    pub fn save(&self, instance: &str, messages: &[ChatMessage]) -> std::io::Result<PathBuf> {
        let path = self.path_for(instance);
        let file = SessionFile {
            version: FORMAT_VERSION,
            instance: instance.to_string(),
            messages: messages.to_vec(),
        };
        let json = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
        write_private(&path, &json)?;
        Ok(path)
    }
}

/// Loads every instance's saved conversation into the state, saying so in each chat; a file
/// that cannot be read is reported there (and kept aside).
pub fn resume_sessions(state: &mut AppState, store: &SessionStore) {
    for view in &mut state.instances {
        match store.load(&view.config.name) {
            Ok(messages) if messages.is_empty() => {}
            Ok(messages) => {
                let since = messages[0].at.format("%Y-%m-%d %H:%M UTC");
                let n = messages.len();
                view.chat = messages;
                view.chat.push(ChatMessage::new(
                    ChatRole::Notice,
                    format!(
                        "resumed the conversation of {since} ({n} messages) — /clear starts afresh"
                    ),
                ));
            }
            Err(e) => view
                .chat
                .push(ChatMessage::new(ChatRole::Notice, e.to_string())),
        }
    }
}

/// Writes a file atomically with owner-only permissions, creating its directory.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The default path of an exported report: `reports/NAME-YYYYmmddTHHMMSS.md` in the data dir.
pub fn default_report_path(data_dir: &Path, instance: &str, now: DateTime<Utc>) -> PathBuf {
    data_dir.join("reports").join(format!(
        "{}-{}.md",
        file_safe(instance),
        now.format("%Y%m%dT%H%M%S")
    ))
}

/// The incident report of an instance: identity, time window, current findings, the
/// conversation with its tool calls, and the proposed plans.
pub fn incident_report(view: &InstanceView, now: DateTime<Utc>) -> String {
    let cfg = &view.config;
    let mut out = format!("# Incident report — {}\n\n", cfg.name);
    out.push_str(&format!(
        "- instance: {} ({}) at `{}`\n",
        cfg.name, cfg.kind, view.endpoint
    ));
    if let Some(v) = &view.facts.version {
        out.push_str(&format!("- version: {v}\n"));
    }
    if let Some(r) = &view.facts.role {
        out.push_str(&format!("- role: {r}\n"));
    }
    out.push_str(&format!("- health: {}\n", view.health.label()));
    let first = view.chat.first().map(|m| m.at);
    let last = view.chat.last().map(|m| m.at);
    match (first, last) {
        (Some(a), Some(b)) => out.push_str(&format!(
            "- time window: {} – {}\n",
            a.to_rfc3339(),
            b.to_rfc3339()
        )),
        _ => out.push_str("- time window: no conversation yet\n"),
    }
    out.push_str(&format!(
        "- exported: {} by {}\n",
        now.to_rfc3339(),
        os_user()
    ));
    out.push_str("\n## Findings at export time\n\n");
    let findings: Vec<_> = view.findings.iter().map(|f| f.finding.clone()).collect();
    out.push_str(&findings_markdown(&findings));
    out.push_str("\n## Conversation\n");
    for m in &view.chat {
        let who = match m.role {
            ChatRole::User => "SRE",
            ChatRole::Assistant => "AI",
            ChatRole::Tool => "Tool call",
            ChatRole::Notice => "Note",
            ChatRole::Error => "Model error",
            ChatRole::Offline => "Offline analysis (rule engine)",
            ChatRole::Plan => "Proposed plan",
        };
        out.push_str(&format!(
            "\n### {who} · {}\n\n",
            m.at.format("%Y-%m-%d %H:%M:%S UTC")
        ));
        match m.role {
            ChatRole::Tool => out.push_str(&format!("`{}`\n", m.text)),
            _ => {
                out.push_str(&m.text);
                out.push('\n');
            }
        }
    }
    let plans: Vec<_> = view.chat.iter().filter_map(|m| m.plan.as_ref()).collect();
    out.push_str("\n## Plan steps\n\n");
    if plans.is_empty() {
        out.push_str("No repair plan was proposed.\n");
    }
    for (p, plan) in plans.iter().enumerate() {
        for (i, s) in plan.steps.iter().enumerate() {
            out.push_str(&format!(
                "- plan {} step {}: `{}` {} — {} — outcome: not executed\n",
                p + 1,
                i + 1,
                s.action,
                serde_json::Value::Object(s.params.clone()),
                s.why
            ));
        }
    }
    out
}

/// The user running the program (for reports and the audit log).
pub fn os_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(user_of_this_process)
        .unwrap_or_else(|| "unknown".to_string())
}

/// Without a login environment (cron, systemd, `env -i`): the real uid's name from
/// /etc/passwd, or `uid N`, so the audit log still says who ran it.
fn user_of_this_process() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    Some(
        passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() > 2 && f[2] == uid)
            .map_or_else(|| format!("uid {uid}"), |f| f[0].to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_round_trips_and_a_broken_file_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = SessionStore::new(dir.path());
        let messages = vec![
            ChatMessage::new(ChatRole::User, "why slow?"),
            ChatMessage::new(ChatRole::Assistant, "KEYS * in the slowlog"),
        ];
        let path = store.save("cache/eu 1", &messages).unwrap();
        assert!(path.ends_with("sessions/cache_eu_1.json"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let loaded = store.load("cache/eu 1").unwrap();
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[1].text, "KEYS * in the slowlog");
        assert_ne!(loaded[0].id, loaded[1].id, "fresh ids on load");
        assert!(store.load("never-saved").unwrap().is_empty());

        std::fs::write(&path, "{ not json").unwrap();
        let err = store.load("cache/eu 1").unwrap_err();
        assert!(err.to_string().contains("could not be read"), "{err}");
        assert!(Path::new(&err.kept).exists(), "kept aside: {}", err.kept);
        assert_eq!(std::fs::read_to_string(&err.kept).unwrap(), "{ not json");
    }
}
