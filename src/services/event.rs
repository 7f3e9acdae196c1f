//! The one inbound event type of the UI loop; every producer sends these.

use crate::config::SecretValue;
use crate::plugins::InstanceSnapshot;

/// What a discovered instance logs in with, as its `[[kubernetes.credentials]]` entry resolved
/// it when connecting: the user, and the password read from the Secret (a `SecretValue`: never
/// printed by `Debug`, never serialised).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResolvedLogin {
    pub username: Option<String>,
    pub password: Option<SecretValue>,
}

/// Connection state of one instance, as its supervisor reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Health {
    /// Not sampled yet.
    Connecting,
    /// The last collection succeeded.
    Up,
    /// Unreachable or timing out; retried after `retry_in_secs`.
    Down { error: String, retry_in_secs: f64 },
    /// Credentials refused: not retried until the user asks (`R`).
    AuthFailed { error: String },
    /// The instance cannot be collected as configured (missing password env, bad URL).
    Misconfigured { error: String },
}

impl Health {
    /// A short description for reports.
    pub fn label(&self) -> String {
        match self {
            Health::Connecting => "connecting".into(),
            Health::Up => "up".into(),
            Health::Down { error, .. } => format!("down: {error}"),
            Health::AuthFailed { error } => format!("authentication failed: {error}"),
            Health::Misconfigured { error } => format!("misconfigured: {error}"),
        }
    }
}

/// Everything the UI loop reacts to.
#[derive(Debug)]
pub enum AppEvent {
    /// A terminal event (key, resize, paste …).
    Input(crossterm::event::Event),
    /// A fresh owned snapshot of instance `instance`.
    Snapshot {
        instance: usize,
        snapshot: Box<InstanceSnapshot>,
    },
    /// A change of an instance's connection state.
    Health { instance: usize, health: Health },
    /// The server answered and turned the collector away (connection limit, overload): the
    /// finding its words amount to, shown in the findings pane while it lasts.
    Refused {
        instance: usize,
        finding: Box<crate::model::Finding>,
    },
    /// Progress of an answer about instance `instance`.
    Chat {
        instance: usize,
        event: crate::ai::agent::ChatEvent,
    },
    /// Something the program itself has to say in an instance's chat (a saved report, a
    /// conversation that could not be saved).
    ChatNotice { instance: usize, text: String },
    /// A result of the repair executor.
    Repair(super::repair::RepairEvent),
    /// What a probe found out about a Kubernetes context.
    Context {
        name: String,
        state: crate::kube::ContextState,
    },
    /// A batch of changes from the watchers of a context's cluster.
    Kube {
        context: String,
        updates: Vec<crate::kube::StoreUpdate>,
    },
    /// Lines (or a stream's state) of a discovered instance's pod logs.
    PodLogs {
        instance: usize,
        event: crate::kube::logs::PodLogEvent,
    },
    /// A discovered instance's port-forward: its state, and the URL the plugin uses once up
    /// with the login its credential entry resolved to (every later connection to it — AI
    /// tools, repairs — takes both from the instance's config).
    Attached {
        instance: usize,
        url: Option<String>,
        forward: String,
        login: Option<ResolvedLogin>,
    },
    /// The cursor has rested on discovered instance `instance` (the timer of generation
    /// `generation`; an older one is ignored).
    AttachDue { instance: usize, generation: u64 },
    /// Every task of one attachment of discovered instance `instance` has ended: nothing more
    /// comes from it, so its slot may be reused once vacated.
    Released { instance: usize },
    /// A signal or a fatal producer error asks the app to stop.
    Shutdown(String),
}
