//! Middleware plugins behind one narrow trait: identity, a collector per instance, rules.
//!
//! Each plugin is one directory holding everything particular to its kind (its `kind.rs`
//! descriptor, collector, rules, tools, repair catalogue and write backend), listed once in
//! [`registry::PLUGINS`]. A plugin turns an `[[instances]]` entry into a [`Collector`]; the
//! collector is driven by a generic supervisor task in the TUI, or twice in a row by `diagnose`.
//! Each collection returns an owned [`InstanceSnapshot`] with metrics, new log lines and the
//! findings of the plugin's rules.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::config::{AppConfig, InstanceConfig, KindRules};
use crate::model::LogLevel;

pub use crate::model::snapshot::{
    CollectedLog, InstanceFacts, InstanceSnapshot, MetricSample, PluginError,
};

/// The open connection in `slot`, opened by `connect` on first use or after a failure forgot
/// it: the one lazy-connect rule of every collector, tool runner and write backend.
pub async fn connected<C, Fut>(
    slot: &mut Option<C>,
    connect: impl FnOnce() -> Fut,
) -> Result<&mut C, PluginError>
where
    Fut: std::future::Future<Output = Result<C, PluginError>>,
{
    let conn = match slot.take() {
        Some(c) => c,
        None => connect().await?,
    };
    Ok(slot.insert(conn))
}

/// What could not be read in a sample (`part`, reason), as log lines: each new one once
/// (`not collected: …`), and `readable again: …` for one that recovered — so a server that
/// starts answering oddly later is said on screen too, not only at the first sample.
pub fn unavailable_changes(
    before: &[(&'static str, String)],
    now: &[(&'static str, String)],
    at: DateTime<Utc>,
) -> Vec<CollectedLog> {
    let mut out: Vec<CollectedLog> = now
        .iter()
        .filter(|(part, why)| !before.iter().any(|(p, w)| p == part && w == why))
        .map(|(part, why)| CollectedLog {
            at,
            level: LogLevel::Warn,
            stream: "collector",
            text: format!("not collected: {part} — {why}"),
        })
        .collect();
    out.extend(
        before
            .iter()
            .filter(|(part, _)| !now.iter().any(|(p, _)| p == part))
            .map(|(part, _)| CollectedLog {
                at,
                level: LogLevel::Info,
                stream: "collector",
                text: format!("readable again: {part}"),
            }),
    );
    out
}

/// A background collector for one instance; owns its connection and previous sample.
pub trait Collector: Send {
    /// Takes one sample and evaluates the rules on it.
    fn collect(&mut self) -> BoxFuture<'_, Result<InstanceSnapshot, PluginError>>;

    /// The endpoint without credentials.
    fn endpoint(&self) -> &str;

    /// Drops the connection so that the next `collect` reconnects.
    fn reset(&mut self);
}

pub use crate::ai::tools::ToolRunner;

/// A middleware plugin: its kind's rules and facts, a collector factory, the AI's read-only
/// tools and its repairs.
pub trait Plugin: KindRules {
    /// The facts of its kind (schemes, default account, settings section, discovery hints).
    fn descriptor(&self) -> &'static descriptor::KindDescriptor;
    /// Display name.
    fn name(&self) -> &'static str;
    /// Plugin version (the program's version for built-ins).
    fn version(&self) -> &'static str;
    /// Server versions the collector and rules are written for.
    fn supported_versions(&self) -> &'static str;
    /// Ids of the rules it evaluates.
    fn rule_ids(&self) -> &'static [&'static str];
    /// A collector for one instance (does not connect yet).
    fn collector(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
    ) -> Result<Box<dyn Collector>, PluginError>;
    /// Read-only tools for the AI on one instance (connects on first use).
    fn tools(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
    ) -> Result<Box<dyn ToolRunner>, PluginError>;
    /// The repair actions it offers, as data.
    fn repairs(&self) -> &'static dyn crate::repair::catalog::RepairCatalog;
    /// A write-capable backend for the repair executor (only the executor holds a token).
    fn write_backend(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
        token: &crate::repair::ExecutorToken,
    ) -> Result<Box<dyn crate::repair::WriteBackend>, PluginError>;
    /// How a port-forward to a discovered instance carries its connections, when a byte copy
    /// is not enough (Kafka's brokers advertise in-cluster addresses).
    fn forward_relay(&self) -> Option<std::sync::Arc<dyn crate::kube::portforward::Relay>> {
        None
    }
}

/// Implements [`Plugin`] for a built-in plugin from its parts: every built-in builds its
/// collector, tools and write backend the same way, so only the parts differ.
macro_rules! builtin_plugin {
    (
        $plugin:ty, descriptor: $descriptor:expr, name: $name:literal, versions: $versions:literal,
        rules: $rules:expr, collector: $collector:ty, tools: $tools:ty, repairs: $repairs:expr,
        writer: $writer:ty $(, relay: $relay:expr)? $(,)?
    ) => {
        impl $crate::plugins::Plugin for $plugin {
            fn descriptor(&self) -> &'static $crate::plugins::descriptor::KindDescriptor {
                &$descriptor
            }

            fn name(&self) -> &'static str {
                $name
            }

            fn version(&self) -> &'static str {
                env!("CARGO_PKG_VERSION")
            }

            fn supported_versions(&self) -> &'static str {
                $versions
            }

            fn rule_ids(&self) -> &'static [&'static str] {
                $rules
            }

            fn collector(
                &self,
                instance: &$crate::config::InstanceConfig,
                config: &$crate::config::AppConfig,
            ) -> Result<Box<dyn $crate::plugins::Collector>, $crate::plugins::PluginError> {
                Ok(Box::new(<$collector>::new(instance, config)?))
            }

            fn tools(
                &self,
                instance: &$crate::config::InstanceConfig,
                config: &$crate::config::AppConfig,
            ) -> Result<Box<dyn $crate::plugins::ToolRunner>, $crate::plugins::PluginError> {
                Ok(Box::new(<$tools>::new(instance, config)?))
            }

            fn repairs(&self) -> &'static dyn $crate::repair::catalog::RepairCatalog {
                &$repairs
            }

            fn write_backend(
                &self,
                instance: &$crate::config::InstanceConfig,
                config: &$crate::config::AppConfig,
                token: &$crate::repair::ExecutorToken,
            ) -> Result<Box<dyn $crate::repair::WriteBackend>, $crate::plugins::PluginError> {
                Ok(Box::new(<$writer>::new(instance, config, token)?))
            }

            $(
            fn forward_relay(
                &self,
            ) -> Option<std::sync::Arc<dyn $crate::kube::portforward::Relay>> {
                Some(std::sync::Arc::new($relay))
            }
            )?
        }
    };
}
pub(crate) use builtin_plugin;

pub mod descriptor;
pub mod elasticsearch;
pub mod kafka;
pub mod log_tail;
pub mod mysql;
pub mod ratio;
pub mod redis;
pub mod registry;
mod unregistered;

pub use registry::{PLUGINS, plugin_for};
