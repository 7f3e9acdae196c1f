//! Command-line arguments (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// The version `--version` prints: the crate's, the commit and the build date (see build.rs).
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("KUBESTACK_GIT_COMMIT"),
    ", built ",
    env!("KUBESTACK_BUILD_DATE"),
    ")"
);

/// KubeStack-AI — a terminal cockpit for SREs on call.
#[derive(Debug, Parser)]
#[command(name = "kubestack-ai", version = LONG_VERSION, about, long_about = None)]
pub struct Cli {
    /// Configuration file (default: ~/.config/kubestack-ai/config.toml).
    #[arg(long, global = true, env = "KUBESTACK_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Theme: dark, light, high-contrast, or a user theme name.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Log level of the log file: error, warn, info, debug, trace.
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Seconds between two samples of an instance.
    #[arg(long, global = true, value_name = "SECS")]
    pub interval: Option<f64>,
    /// The Kubernetes context to start in (default: the kubeconfig's current-context); with
    /// `health`, the cluster to judge.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Refuse every write (repairs are shown, never applied); overrides `safety.mode`.
    #[arg(long, global = true)]
    pub read_only: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands; none opens the terminal UI.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the full-screen terminal UI (the default).
    Interactive,
    /// Write a commented configuration file.
    Init {
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Show, locate or validate the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Print every resolved path (config, themes, keymap, data, logs).
    Info,
    /// Built-in plugins.
    Plugin {
        #[command(subcommand)]
        action: PluginAction,
    },
    /// Diagnose one target: a configured instance name or a URL (redis://[:password@]host:port[/db]).
    /// Exit code: 0 ok, 1 warning, 2 critical, 3 unknown / unreachable.
    Diagnose {
        /// Instance name or URL.
        target: String,
        #[arg(long, short, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// The performance and capacity findings of one instance (memory, latency, connections,
    /// load, disk, JVM, threads, shards, lag …); exit code as `diagnose`.
    Optimize {
        /// Instance name or URL.
        target: String,
        #[arg(long, short, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// The security findings of one instance; exit code as `diagnose`.
    Security {
        /// Instance name or URL.
        target: String,
        #[arg(long, short, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// Ask the AI about one instance; the answer streams to stdout. With no model configured
    /// (or a model that fails) the rule engine answers, labelled as offline analysis.
    Analyze {
        /// The question.
        question: String,
        /// Instance name or URL.
        #[arg(long, short)]
        instance: String,
        /// Model profile (default: `ai.profile`).
        #[arg(long)]
        profile: Option<String>,
    },
    /// Repair one target step by step: each step's command, preview, risk and rollback, then
    /// y(es) / n(o) = skip / a(bort); dangerous steps need the instance name typed. Exit code: 0 done,
    /// 1 a step failed, 2 aborted, 3 unreachable, 4 refused (read-only mode).
    Fix {
        /// Instance name or URL.
        target: String,
        /// Capture and preview every step; execute nothing.
        #[arg(long)]
        dry_run: bool,
        /// Run one catalogue action (e.g. RDS-FIX-08) instead of the plan from the findings.
        #[arg(long, value_name = "ID")]
        action: Option<String>,
        /// A parameter of --action, KEY=VALUE (repeatable), e.g. --param bytes=512mb.
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        /// A plan file ({"plan": [{"action", "params", "why"}]}, the chat's format); its steps
        /// are validated against the catalogue, anything else in it is never executed.
        #[arg(long = "plan", value_name = "FILE")]
        plan: Option<std::path::PathBuf>,
    },
    /// The audit log of repairs, mode changes and model requests.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Diagnose every configured instance, one line each; exit code of the worst. With
    /// `--context`, every instance discovered in that Kubernetes context (each through its own
    /// port-forward, with its Kubernetes findings) and the cluster's own pod findings instead.
    Health {
        #[arg(long, short, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
        /// With `--context`: only these namespaces (repeatable; default all).
        #[arg(
            long = "namespace",
            short = 'n',
            value_name = "NAME",
            requires = "context"
        )]
        namespaces: Vec<String>,
    },
    /// Print the shell completion script for SHELL, e.g.
    /// `kubestack-ai completions bash > /usr/share/bash-completion/completions/kubestack-ai`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `kubestack-ai man | man -l -`.
    Man,
}

/// `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Check the hash chain; says at which line it breaks (exit 1).
    Verify {
        /// The log (default: audit.jsonl in the data dir, see `info`).
        file: Option<PathBuf>,
    },
    /// Print the records readably.
    Show {
        /// The log (default: audit.jsonl in the data dir).
        file: Option<PathBuf>,
    },
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the merged configuration (all layers), passwords redacted.
    Show,
    /// Print the path of the configuration file.
    Path,
    /// Check the configuration, theme and keymap files; exit 1 if anything is wrong.
    Validate,
}

/// `plugin` subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginAction {
    /// List the plugins, their supported versions and the health of their instances.
    List {
        #[arg(long, short, value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Markdown,
}
