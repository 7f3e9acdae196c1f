//! Where configuration, themes, keymaps, logs and data live.

use std::path::{Path, PathBuf};

use directories::{BaseDirs, ProjectDirs};
use serde::Serialize;

/// Every path the program reads or writes, resolved once at start (`kubestack-ai info` prints them).
#[derive(Debug, Clone, Serialize)]
pub struct AppPaths {
    /// Directory of the user's configuration.
    pub config_dir: PathBuf,
    /// The configuration file in force (default `config_dir/config.toml`, or `--config`).
    pub config_file: PathBuf,
    /// Whether `config_file` was named explicitly (then it must exist).
    pub config_file_explicit: bool,
    /// User themes overlaying the built-in ones (`NAME.toml`).
    pub themes_dir: PathBuf,
    /// User keymap overlaying the built-in one.
    pub keymap_file: PathBuf,
    /// Program data (audit log, sessions).
    pub data_dir: PathBuf,
    /// Rolling log files.
    pub log_dir: PathBuf,
}

const APP_DIR: &str = "kubestack-ai";

impl AppPaths {
    /// Resolves the paths from the environment; `config_override` is `--config` / `KUBESTACK_CONFIG`.
    pub fn resolve(config_override: Option<&Path>) -> Self {
        let config_dir = user_config_dir();
        let data_dir = user_data_dir();
        let (config_file, config_file_explicit) = match config_override {
            Some(p) => (p.to_path_buf(), true),
            None => (config_dir.join("config.toml"), false),
        };
        AppPaths {
            themes_dir: config_dir.join("themes"),
            keymap_file: config_dir.join("keymap.toml"),
            log_dir: data_dir.join("logs"),
            config_dir,
            config_file,
            config_file_explicit,
            data_dir,
        }
    }
}

/// `$XDG_CONFIG_HOME/kubestack-ai`, else `~/.config/kubestack-ai` on every Unix (macOS included,
/// where SREs expect dotfiles there rather than in `Library/Application Support`), else the
/// platform's own config directory.
fn user_config_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join(APP_DIR);
    }
    if cfg!(unix)
        && let Some(base) = BaseDirs::new()
    {
        return base.home_dir().join(".config").join(APP_DIR);
    }
    ProjectDirs::from("", "", APP_DIR)
        .map(|p| p.config_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".").join(APP_DIR))
}

/// `$XDG_DATA_HOME/kubestack-ai` or the platform's local data directory.
fn user_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join(APP_DIR);
    }
    ProjectDirs::from("", "", APP_DIR)
        .map(|p| p.data_local_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".").join(APP_DIR).join("data"))
}
