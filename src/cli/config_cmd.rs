//! `init`, `config show|path|validate` and `info`.

use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, bail};

use crate::config::{AppPaths, CONFIG_TEMPLATE, ConfigError, LoadedConfig};
use crate::keymap::Keymap;
use crate::logging::LOG_FILE_PREFIX;
use crate::theme::Theme;

/// Writes the commented template; refuses to overwrite without `--force`.
pub fn init(config: Option<&Path>, force: bool) -> Result<i32> {
    let paths = AppPaths::resolve(config);
    let file = &paths.config_file;
    if file.exists() && !force {
        bail!(
            "{} already exists; use `kubestack-ai init --force` to overwrite it",
            file.display()
        );
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)
            .wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(file, CONFIG_TEMPLATE)
        .wrap_err_with(|| format!("cannot write {}", file.display()))?;
    println!("wrote {}", file.display());
    println!("add your instances under [[instances]], then run `kubestack-ai config validate`");
    Ok(0)
}

/// Prints the configuration file path.
pub fn path(config: Option<&Path>) -> Result<i32> {
    let paths = AppPaths::resolve(config);
    println!("{}", paths.config_file.display());
    if !paths.config_file.exists() {
        eprintln!("(does not exist yet; `kubestack-ai init` writes it)");
    }
    Ok(0)
}

/// Prints the merged configuration with URL passwords redacted.
pub fn show(loaded: &LoadedConfig) -> Result<i32> {
    let mut config = loaded.config.clone();
    for inst in &mut config.instances {
        if let Ok(mut url) = url::Url::parse(&inst.url)
            && url.password().is_some()
        {
            let _ = url.set_password(Some("REDACTED"));
            inst.url = url.to_string();
        }
    }
    // The plugins' sections are kept by name beside the typed keys; printed after them.
    let mut table = toml::Table::try_from(&config).wrap_err("cannot print the configuration")?;
    // So are the kinds' own keys of each instance (`groups`, `ssl_mode` …).
    if let Some(toml::Value::Array(entries)) = table.get_mut("instances") {
        for (entry, inst) in entries.iter_mut().zip(&config.instances) {
            let Some(entry) = entry.as_table_mut() else {
                continue;
            };
            for (key, value) in inst.kind_keys.iter() {
                let value = toml::Value::try_from(value)
                    .wrap_err_with(|| format!("cannot print `{key}` of `{}`", inst.name))?;
                entry.insert(key.to_string(), value);
            }
        }
    }
    for (name, value) in &config.sections {
        let value = toml::Value::try_from(value)
            .wrap_err_with(|| format!("cannot print the [{name}] section"))?;
        table.insert(name.clone(), value);
    }
    let text = toml::to_string_pretty(&table).wrap_err("cannot print the configuration")?;
    println!(
        "# merged from: built-in defaults, {}{}, KUBESTACK_* environment, flags",
        loaded.paths.config_file.display(),
        if loaded.file_found {
            ""
        } else {
            " (not found)"
        }
    );
    print!("{text}");
    Ok(0)
}

/// Validates the configuration, theme and keymap; prints every problem.
pub fn validate(loaded: Result<LoadedConfig, ConfigError>) -> i32 {
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    let mut problems = Vec::new();
    let (_, theme_err) = Theme::load(&loaded.config.theme, &loaded.paths.themes_dir);
    let (_, keymap_err) = Keymap::load(&loaded.paths.keymap_file);
    problems.extend(theme_err);
    problems.extend(keymap_err);
    for p in &problems {
        eprintln!("{p}");
    }
    if !problems.is_empty() {
        return 1;
    }
    println!(
        "ok: {} ({} instance{})",
        if loaded.file_found {
            loaded.paths.config_file.display().to_string()
        } else {
            format!(
                "built-in defaults ({} not found)",
                loaded.paths.config_file.display()
            )
        },
        loaded.config.instances.len(),
        if loaded.config.instances.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    0
}

/// Prints every resolved path.
pub fn info(config: Option<&Path>) -> Result<i32> {
    let p = AppPaths::resolve(config);
    println!("kubestack-ai {}", super::args::LONG_VERSION);
    let audit = crate::repair::audit::default_audit_path(&p.data_dir);
    let sessions = p.data_dir.join("sessions");
    let reports = p.data_dir.join("reports");
    for (label, path) in [
        ("config file", &p.config_file),
        ("config dir", &p.config_dir),
        ("themes dir", &p.themes_dir),
        ("keymap file", &p.keymap_file),
        ("data dir", &p.data_dir),
        ("audit log", &audit),
        ("sessions", &sessions),
        ("reports", &reports),
        ("log dir", &p.log_dir),
    ] {
        let note = if path.exists() { "" } else { "  (not present)" };
        println!("{label:<13} {}{note}", path.display());
    }
    println!(
        "log files     {}/{LOG_FILE_PREFIX}.YYYY-MM-DD (daily, 7 kept)",
        p.log_dir.display()
    );
    println!("built-in themes  dark, light, high-contrast");
    Ok(0)
}
