//! Typed repair steps and plans: what a repair is before anything runs — the exact command, its
//! risk, what to capture first, how to roll back, how to verify, where it came from, and which
//! instance (by identity) and Kubernetes context it is pinned to.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How much harm a step can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Safe,
    Caution,
    /// Typing the instance name is required to confirm.
    Dangerous,
}

impl Risk {
    /// Lower-case label.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Safe => "safe",
            Risk::Caution => "caution",
            Risk::Dangerous => "dangerous",
        }
    }
}

/// One exact command for a system. Arguments listed in `secret_args` are never displayed or
/// written to the audit log, and `Debug` (panic reports, logs) prints them as `***`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// The system's wire form: for Redis the argv.
    pub argv: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_args: Vec<usize>,
    /// SQL: the words are fragments of one statement, sent and shown joined by spaces
    /// (a fragment can then be a secret, e.g. the password literal of `ALTER USER`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sql: bool,
}

impl Command {
    /// A command from its words.
    pub fn new<S: AsRef<str>>(argv: &[S]) -> Self {
        Command {
            argv: argv.iter().map(|s| s.as_ref().to_string()).collect(),
            secret_args: Vec::new(),
            sql: false,
        }
    }

    /// One SQL statement from its fragments.
    pub fn sql<S: AsRef<str>>(fragments: &[S]) -> Self {
        Command {
            sql: true,
            ..Command::new(fragments)
        }
    }

    /// The statement a SQL command sends (secrets included: for the wire only).
    pub fn statement(&self) -> String {
        self.argv.join(" ")
    }

    /// Marks argument `i` as a secret.
    pub fn with_secret(mut self, i: usize) -> Self {
        self.secret_args.push(i);
        self
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let argv: Vec<&str> = self
            .argv
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if self.secret_args.contains(&i) {
                    "***"
                } else {
                    w.as_str()
                }
            })
            .collect();
        f.debug_struct("Command")
            .field("argv", &argv)
            .field("secret_args", &self.secret_args)
            .field("sql", &self.sql)
            .finish()
    }
}

impl fmt::Display for Command {
    /// The command as an SRE would type it, secrets replaced.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words: Vec<String> = self
            .argv
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if self.secret_args.contains(&i) {
                    "[REDACTED]".to_string()
                } else if self.sql {
                    w.clone()
                } else if w.is_empty() || w.contains(char::is_whitespace) {
                    format!("'{w}'")
                } else {
                    w.clone()
                }
            })
            .collect();
        f.write_str(&words.join(" "))
    }
}

/// How a verification probe's reply is judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// A setting answers `value` (case-insensitive): Redis `CONFIG GET key`, MySQL `SHOW GLOBAL VARIABLES LIKE 'key'`.
    ConfigEquals { key: String, value: String },
    /// An `INFO` field equals `value`.
    InfoEquals { field: String, value: String },
    /// An `INFO` field is not above its value in the captured pre-state.
    InfoAtMost { field: String },
    /// Every one of these holds.
    All(Vec<Check>),
    /// The reply is exactly this (e.g. `PONG`, `0`).
    Reply(String),
    /// The reply (flattened) does not contain this text.
    ReplyLacks(String),
    /// The reply (flattened) contains this text.
    ReplyHas(String),
    /// The reply is empty.
    Empty,
    /// Two fields of a key/value reply are equal (Kafka: `committed` = `high` after a reset
    /// to the latest offset).
    FieldsEqual { a: String, b: String },
    /// A field is not below another field's value in the captured pre-state (Kafka: the
    /// committed offset reached at least the high watermark seen before a reset to latest).
    NotBelowCaptured { field: String, captured: String },
}

/// A read-only probe run after a step (repeated until `within` for slow effects).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    pub command: Command,
    pub check: Check,
    /// Retry until this long has passed (zero: one try).
    #[serde(with = "secs")]
    pub within: Duration,
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        // Serialized plans are read back from files: a hostile `within` must not panic.
        Duration::try_from_secs_f64(secs.clamp(0.0, 86_400.0))
            .map_err(|e| serde::de::Error::custom(format!("`within` {secs}: {e}")))
    }
}

/// How a step is undone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollbackSpec {
    /// `CONFIG SET key <captured value>` for each key captured before.
    RestoreConfig { keys: Vec<String> },
    /// Restore a user's ACL from the captured `ACL GETUSER` (passwords by hash, flags, commands).
    RestoreAcl { user: String },
    /// Nothing changed state; nothing to undo.
    NotNeeded(String),
    /// Cannot be undone — said plainly.
    Irreversible(String),
    /// Only by hand.
    Manual(String),
}

/// Where a plan came from (shown as "why" in the modal and recorded in the audit log).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// A finding of the rule engine.
    Finding { rule: String, title: String },
    /// A plan the model proposed in the chat.
    Chat { excerpt: String },
    /// Asked for by name (`fix --action`).
    User,
    /// Read from a plan file (`fix --plan`).
    File { path: String },
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Provenance::Finding { rule, title } => write!(f, "finding {rule}: {title}"),
            Provenance::Chat { excerpt } => write!(f, "proposed by the AI in the chat: {excerpt}"),
            Provenance::User => f.write_str("asked for by the user"),
            Provenance::File { path } => write!(f, "from the plan file {path}"),
        }
    }
}

/// The instance a step is pinned to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanTarget {
    pub instance: String,
    pub endpoint: String,
    /// The server identity when the plan was made (Redis `run_id`, MySQL `server_uuid` …).
    pub identity: Option<String>,
    /// The Kubernetes context, when there is one.
    pub context: Option<String>,
}

/// One typed repair step, exactly as it will run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepairStep {
    /// Catalogue id, e.g. `RDS-FIX-02`.
    pub action: String,
    pub title: String,
    pub target: PlanTarget,
    pub risk: Risk,
    /// Run in order.
    pub commands: Vec<Command>,
    /// Read before running: the pre-state for the preview and the rollback.
    pub capture: Vec<Command>,
    pub rollback: RollbackSpec,
    pub verify: Option<Probe>,
    /// What the step does to the system, in words (the preview's second half).
    pub effect: String,
    pub why: String,
    pub provenance: Provenance,
    /// Meant for a server busy running a script (which answers nothing but the kill): the
    /// identity cannot be read then, so the pin is checked only if the server answers.
    #[serde(default)]
    pub for_busy_server: bool,
}

/// A sequence of steps for one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepairPlan {
    pub steps: Vec<RepairStep>,
    /// Steps that cannot be executed (unknown to the catalogue, or "manual only"), as text.
    pub manual: Vec<String>,
}

impl RepairPlan {
    /// Whether there is anything to walk through.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.manual.is_empty()
    }
}

/// What capturing the pre-state gave: shown before confirming, needed to roll back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedStep {
    /// Each capture command with its reply.
    pub captured: Vec<(String, super::reply::Reply)>,
    /// "maxmemory-policy: noeviction → allkeys-lru", or the effect when there is no value.
    pub preview: String,
    /// The rollback commands built from the capture (empty when there is none).
    pub rollback: Vec<Command>,
    /// The rollback in words ("CONFIG SET maxmemory-policy noeviction", or why there is none).
    pub rollback_text: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_display_quoted_and_without_secrets() {
        let c = Command::new(&["ACL", "SETUSER", "default", "on", ">s3cret"]).with_secret(4);
        assert_eq!(c.to_string(), "ACL SETUSER default on [REDACTED]");
        let c = Command::new(&["CONFIG", "SET", "save", ""]);
        assert_eq!(c.to_string(), "CONFIG SET save ''");
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), c);
        let c = Command::sql(&["ALTER USER 'root'@'localhost' IDENTIFIED BY", "'n3w pw'"])
            .with_secret(1);
        assert_eq!(
            c.to_string(),
            "ALTER USER 'root'@'localhost' IDENTIFIED BY [REDACTED]"
        );
        assert_eq!(
            c.statement(),
            "ALTER USER 'root'@'localhost' IDENTIFIED BY 'n3w pw'"
        );
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), c);
    }

    #[test]
    fn debug_prints_secret_arguments_as_stars() {
        let c = Command::new(&["ACL", "SETUSER", "default", "on", ">s3cret;pw"]).with_secret(4);
        let sql = Command::sql(&["ALTER USER 'a'@'%' IDENTIFIED BY", "'n3w,pw'"]).with_secret(1);
        for d in [format!("{c:?}"), format!("{c:#?}"), format!("{sql:?}")] {
            assert!(!d.contains("s3cret") && !d.contains("n3w"), "{d}");
            assert!(d.contains("***"), "{d}");
        }
        assert!(
            format!("{c:?}").contains("SETUSER"),
            "the rest stays readable"
        );
    }
}
