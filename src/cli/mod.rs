//! The command line: subcommands dispatch here; `color_eyre::Report` lives only at this edge.

mod analyze_cmd;
mod args;
mod audit_cmd;
mod cluster_cmd;
mod config_cmd;
mod diagnose_cmd;
mod fix_cmd;
mod interactive;
mod plugin_cmd;
mod report;

pub use args::{AuditAction, Cli, Command, ConfigAction, OutputFormat, PluginAction};

use color_eyre::eyre::{Result, WrapErr};

use crate::config::{
    CliOverrides, CollectorOverrides, LoadedConfig, SafetyMode, SafetyOverrides, load_config,
};

/// Runs the parsed command line; returns the process exit code.
/// `optimize` / `security`: `diagnose` limited to some rule categories.
fn categories_cmd(
    loaded: std::result::Result<LoadedConfig, crate::config::ConfigError>,
    target: &str,
    output: OutputFormat,
    categories: &[&str],
) -> Result<i32> {
    match loaded {
        Ok(loaded) => {
            let _log = start_logging(&loaded);
            runtime()?.block_on(diagnose_cmd::diagnose_categories(
                &loaded, target, output, categories,
            ))
        }
        Err(e) => Ok(report_config_error(&e, 3)),
    }
}

pub fn run(cli: Cli) -> Result<i32> {
    let overrides = CliOverrides {
        theme: cli.theme.clone(),
        log_level: cli.log_level.clone(),
        collector: cli.interval.map(|secs| CollectorOverrides {
            interval_secs: Some(secs),
        }),
        safety: cli.read_only.then_some(SafetyOverrides {
            mode: Some(SafetyMode::ReadOnly),
        }),
    };
    let config_path = cli.config.clone();
    let cli_context = cli.context.clone();
    let kinds = crate::plugins::registry::kind_rules();
    let load = || load_config(config_path.as_deref(), &overrides, &kinds);
    let command = cli.command.unwrap_or(Command::Interactive);

    // One panic hook for every command: a panic anywhere (any thread, any task) ends the
    // process with a non-zero code, after restoring the terminal if the TUI had it.
    if crate::tui::install_hooks().is_err() {
        eprintln!("warning: error reports will not be formatted");
    }
    // Fault injection for the exit-code test (tests/cli.rs); the TUI has its own spot.
    #[cfg(debug_assertions)]
    if let (false, Ok(place)) = (
        matches!(command, Command::Interactive),
        std::env::var("KUBESTACK_TEST_PANIC"),
    ) {
        return debug_panic(&place);
    }
    match command {
        Command::Completions { shell } => {
            // Written whole, so a closed pipe is an error main ends quietly on (clap_complete
            // panics on a failed write).
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "kubestack-ai", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)
                .wrap_err("cannot write the completion script")?;
            Ok(0)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd)
                .render(&mut std::io::stdout())
                .wrap_err("cannot write the manual page")?;
            Ok(0)
        }
        Command::Init { force } => config_cmd::init(config_path.as_deref(), force),
        Command::Info => config_cmd::info(config_path.as_deref()),
        Command::Config {
            action: ConfigAction::Path,
        } => config_cmd::path(config_path.as_deref()),
        Command::Config {
            action: ConfigAction::Show,
        } => config_cmd::show(&load()?),
        Command::Config {
            action: ConfigAction::Validate,
        } => Ok(config_cmd::validate(load())),
        Command::Plugin {
            action: PluginAction::List { output },
        } => {
            let loaded = load()?;
            let _log = start_logging(&loaded);
            runtime()?.block_on(plugin_cmd::list(&loaded, output))
        }
        Command::Diagnose { target, output } => match load() {
            Ok(loaded) => {
                let _log = start_logging(&loaded);
                runtime()?.block_on(diagnose_cmd::diagnose(&loaded, &target, output))
            }
            Err(e) => Ok(report_config_error(&e, 3)),
        },
        Command::Analyze {
            question,
            instance,
            profile,
        } => match load() {
            Ok(loaded) => {
                let _log = start_logging(&loaded);
                runtime()?.block_on(analyze_cmd::analyze(
                    &loaded,
                    &question,
                    &instance,
                    profile.as_deref(),
                ))
            }
            Err(e) => Ok(report_config_error(&e, 3)),
        },
        Command::Fix {
            target,
            dry_run,
            action,
            params,
            plan,
        } => match load() {
            Ok(loaded) => {
                let _log = start_logging(&loaded);
                runtime()?.block_on(fix_cmd::fix(
                    &loaded,
                    fix_cmd::FixRequest {
                        target: &target,
                        dry_run,
                        action: action.as_deref(),
                        params: &params,
                        plan_file: plan.as_deref(),
                    },
                ))
            }
            Err(e) => Ok(report_config_error(&e, 3)),
        },
        Command::Audit { action } => {
            let paths = crate::config::AppPaths::resolve(config_path.as_deref());
            Ok(match action {
                AuditAction::Verify { file } => audit_cmd::verify(file.as_deref(), &paths.data_dir),
                AuditAction::Show { file } => audit_cmd::show(file.as_deref(), &paths.data_dir),
            })
        }
        Command::Optimize { target, output } => categories_cmd(
            load(),
            &target,
            output,
            diagnose_cmd::PERFORMANCE_CATEGORIES,
        ),
        Command::Security { target, output } => {
            categories_cmd(load(), &target, output, diagnose_cmd::SECURITY_CATEGORIES)
        }
        Command::Health { output, namespaces } => match load() {
            Ok(loaded) => {
                let _log = start_logging(&loaded);
                match cli_context.as_deref() {
                    Some(context) => runtime()?.block_on(cluster_cmd::cluster_health(
                        &loaded,
                        context,
                        &namespaces,
                        output,
                    )),
                    None => runtime()?.block_on(diagnose_cmd::health(&loaded, output)),
                }
            }
            Err(e) => Ok(report_config_error(&e, 3)),
        },
        Command::Interactive => match load() {
            Ok(loaded) => interactive::run(loaded, cli_context.as_deref()),
            Err(e) => Ok(report_config_error(&e, 1)),
        },
    }
}

/// Debug builds only: panics where the tests ask (`task`: inside a spawned tokio task whose
/// handle nobody awaits, as the AI's answer task is; `thread`: on a plain thread), to prove that
/// every panic ends the process with a non-zero code.
#[cfg(debug_assertions)]
fn debug_panic(place: &str) -> Result<i32> {
    match place {
        "task" => runtime()?.block_on(async {
            tokio::spawn(async { panic!("debug panic in a task") });
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }),
        _ => {
            let _ = std::thread::spawn(|| panic!("debug panic in a thread")).join();
        }
    }
    Ok(0)
}

/// A configuration error is the user's to fix, not a bug: the message alone, no backtrace.
fn report_config_error(e: &crate::config::ConfigError, code: i32) -> i32 {
    eprintln!("error: {e}");
    code
}

/// A two-worker runtime: the machine has two cores and the work is I/O-bound.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .wrap_err("cannot start the async runtime")
}

/// File logging for a TUI session: errors are returned for the screen, not printed.
fn start_logging_paths(
    log_dir: &std::path::Path,
    level: &str,
) -> Result<tracing_appender::non_blocking::WorkerGuard, String> {
    crate::logging::init_file_logging(log_dir, level)
}

/// File logging for a command; a problem is reported on stderr and the command goes on.
fn start_logging(loaded: &LoadedConfig) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    match crate::logging::init_file_logging(&loaded.paths.log_dir, &loaded.config.log_level) {
        Ok(guard) => Some(guard),
        Err(e) => {
            eprintln!("warning: {e}; continuing without a log file");
            None
        }
    }
}
