//! Layered loading: built-in defaults < user file < `KUBESTACK_*` env < command-line flags.

use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Tag, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::Serialize;

use super::kind::{KindRules, rules_for};
use super::{AppConfig, AppPaths, SettingsSection};

/// Settings given as command-line flags; `None` leaves the lower layers in force.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CliOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collector: Option<CollectorOverrides>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety: Option<SafetyOverrides>,
}

/// Safety flags (`--read-only`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SafetyOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<crate::config::SafetyMode>,
}

/// Collector flags.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CollectorOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval_secs: Option<f64>,
}

/// A configuration problem, naming where it came from, the key and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {} does not exist (named by --config or KUBESTACK_CONFIG)", .0.display())]
    FileMissing(PathBuf),
    #[error("{}", format_problems(.0))]
    Invalid(Vec<ConfigProblem>),
}

/// One bad setting.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigProblem {
    /// The file or environment variable the value came from.
    pub origin: String,
    /// Dotted key, e.g. `instances[1].url`.
    pub key: String,
    pub problem: String,
}

fn format_problems(problems: &[ConfigProblem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| {
            if p.key.is_empty() {
                format!("{}: {}", p.origin, p.problem)
            } else {
                format!("{}: key `{}`: {}", p.origin, p.key, p.problem)
            }
        })
        .collect();
    format!("invalid configuration\n  {}", lines.join("\n  "))
}

/// The merged configuration with the paths it was resolved against.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: AppConfig,
    pub paths: AppPaths,
    /// Whether the config file exists and was read.
    pub file_found: bool,
}

/// Loads and validates the configuration. `config_override` is `--config` / `KUBESTACK_CONFIG`;
/// `kinds` are the rules of every kind an instance may have (the plugin registry).
pub fn load_config(
    config_override: Option<&Path>,
    overrides: &CliOverrides,
    kinds: &[&dyn KindRules],
) -> Result<LoadedConfig, ConfigError> {
    let paths = AppPaths::resolve(config_override);
    let file_found = paths.config_file.is_file();
    if paths.config_file_explicit && !file_found {
        return Err(ConfigError::FileMissing(paths.config_file.clone()));
    }
    let sections = kind_sections(kinds);
    let names: Vec<&'static str> = sections.iter().map(|s| s.name).collect();
    let figment = with_defaults(&sections)
        .merge(Toml::file(&paths.config_file))
        .merge(
            Env::prefixed("KUBESTACK_")
                .filter(move |key| is_config_variable(key.as_str(), &names))
                .split("__")
                .ignore(&["config", "log", "test_panic"]),
        )
        .merge(Serialized::defaults(overrides));
    let config = extract(&figment, &sections, &kind_instance_keys(kinds))?;
    let origin_of = |key: &str| origin_of_key(&figment, key);
    let mut config = config;
    resolve_relative_files(&mut config, &paths);
    let problems = validate(&config, kinds, &origin_of);
    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems));
    }
    Ok(LoadedConfig {
        config,
        paths,
        file_found,
    })
}

/// Parses a config text alone (no file, environment or flags), as the loader would: the
/// template's test and the validation tests read configurations this way.
pub fn parse_config(text: &str, kinds: &[&dyn KindRules]) -> Result<AppConfig, ConfigError> {
    let sections = kind_sections(kinds);
    extract(
        &with_defaults(&sections).merge(Toml::string(text)),
        &sections,
        &kind_instance_keys(kinds),
    )
}

/// The settings sections the kinds declare.
fn kind_sections(kinds: &[&dyn KindRules]) -> Vec<SettingsSection> {
    kinds.iter().filter_map(|k| k.settings_section()).collect()
}

/// The `[[instances]]` keys some kind declares as its own.
fn kind_instance_keys(kinds: &[&dyn KindRules]) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = kinds
        .iter()
        .flat_map(|k| k.own_instance_keys().iter().copied())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The built-in defaults, the plugins' sections included.
fn with_defaults(sections: &[SettingsSection]) -> Figment {
    let mut figment = Figment::new().merge(Serialized::defaults(AppConfig::default()));
    for s in sections {
        figment = figment.merge(Serialized::default(s.name, s.defaults.clone()));
    }
    figment
}

/// The merged layers as an [`AppConfig`]: the plugins' sections and the kinds' own keys of
/// each `[[instances]]` entry (`instance_keys`) are taken out and kept by name, everything else
/// is read by the struct, which refuses a key no one declares.
fn extract(
    figment: &Figment,
    sections: &[SettingsSection],
    instance_keys: &[&'static str],
) -> Result<AppConfig, ConfigError> {
    let names: Vec<&str> = sections.iter().map(|s| s.name).collect();
    let core = Figment::from(WithoutKindKeys {
        inner: figment,
        sections: &names,
        instance_keys,
    });
    let mut config: AppConfig = core.extract().map_err(|e| {
        let problems = e.into_iter().map(|e| {
            let unknown_instance_key = e.path.first().is_some_and(|p| p == "instances")
                && matches!(e.kind, figment::error::Kind::UnknownField(..));
            let mut problem = describe_figment_error(e);
            if unknown_instance_key && !instance_keys.is_empty() {
                problem.problem.push_str(&format!(
                    ", or one kind's own: `{}`",
                    instance_keys.join("`, `")
                ));
            }
            problem
        });
        ConfigError::Invalid(problems.collect())
    })?;
    for name in names {
        if let Ok(value) = figment.find_value(name) {
            config.set_section(name, value);
        }
    }
    if let Ok(Value::Array(_, entries)) = figment.find_value("instances") {
        for (entry, instance) in entries.iter().zip(&mut config.instances) {
            let Value::Dict(_, keys) = entry else {
                continue;
            };
            for (key, value) in keys {
                if instance_keys.contains(&key.as_str()) {
                    instance.kind_keys.insert(key, value.clone());
                }
            }
        }
    }
    Ok(config)
}

/// A provider showing everything of `inner` but the plugins' sections and the kinds' own keys
/// of each instance (with their origins).
struct WithoutKindKeys<'a> {
    inner: &'a Figment,
    sections: &'a [&'a str],
    instance_keys: &'a [&'static str],
}

impl Provider for WithoutKindKeys<'_> {
    fn metadata(&self) -> Metadata {
        Provider::metadata(self.inner)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut data = self.inner.data()?;
        for dict in data.values_mut() {
            for name in self.sections {
                dict.remove(*name);
            }
            if let Some(Value::Array(_, entries)) = dict.get_mut("instances") {
                for entry in entries {
                    if let Value::Dict(_, keys) = entry {
                        keys.retain(|k, _| !self.instance_keys.contains(&k.as_str()));
                    }
                }
            }
        }
        Ok(data)
    }

    fn profile(&self) -> Option<Profile> {
        Provider::profile(self.inner)
    }

    fn __metadata_map(&self) -> Option<Map<Tag, Metadata>> {
        Provider::__metadata_map(self.inner)
    }
}

/// The config file's top-level keys, as `KUBESTACK_<KEY>` variables name them (the plugins'
/// sections come from the kinds the loader is given).
const TOP_LEVEL_KEYS: &[&str] = &[
    "theme",
    "log_level",
    "collector",
    "ui",
    "ai",
    "safety",
    "kubernetes",
    "instances",
];

/// Whether a `KUBESTACK_*` variable (`key`: the name after the prefix) is meant for the
/// configuration: a top-level key, or a section's key (`SECTION__KEY`, where a misspelt section
/// is still an error that names the variable). Other single names — `KUBESTACK_KUBE_BIN`,
/// `KUBESTACK_FUZZ_SECS` and the like, which the project's scripts and a CI's environment use —
/// are not the program's and must not stop it from starting. `sections` are the plugins'.
fn is_config_variable(key: &str, sections: &[&str]) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("__") || TOP_LEVEL_KEYS.contains(&key.as_str()) || sections.contains(&key.as_str())
}

/// `password_file = "pw"` and the `tls_*_file`s are relative to the config file's directory.
fn resolve_relative_files(config: &mut AppConfig, paths: &AppPaths) {
    let Some(base) = paths.config_file.parent() else {
        return;
    };
    for inst in &mut config.instances {
        for file in [
            &mut inst.password_file,
            &mut inst.tls_ca_file,
            &mut inst.tls_cert_file,
            &mut inst.tls_key_file,
        ] {
            if let Some(path) = file.as_mut()
                && path.is_relative()
            {
                *path = base.join(&*path);
            }
        }
    }
}

/// Where the value of a dotted `key` came from: the exact `KUBESTACK_` variable when the
/// environment gave it (`kafka.max_groups` → `KUBESTACK_KAFKA__MAX_GROUPS`), else the file or
/// layer of the key, or of its top-level key when the key names no single value.
fn origin_of_key(figment: &Figment, key: &str) -> String {
    if let Some(md) = figment.find_metadata(key) {
        return if is_environment(md) {
            format!(
                "environment variable KUBESTACK_{}",
                key.replace('.', "__").to_ascii_uppercase()
            )
        } else {
            origin_name(Some(md))
        };
    }
    let root = key.split(['.', '[']).next().unwrap_or(key);
    origin_name(figment.find_metadata(root))
}

/// Whether a value's metadata is the `KUBESTACK_*` environment's.
fn is_environment(md: &figment::Metadata) -> bool {
    md.source
        .as_ref()
        .and_then(figment::Source::file_path)
        .is_none()
        && md.name.contains("environment")
}

fn origin_name(md: Option<&figment::Metadata>) -> String {
    match md {
        Some(md) => match md.source.as_ref().and_then(figment::Source::file_path) {
            Some(p) => p.display().to_string(),
            None => md.name.to_string(),
        },
        None => "configuration".to_string(),
    }
}

fn describe_figment_error(e: figment::Error) -> ConfigProblem {
    let from_env = e.metadata.as_ref().is_some_and(is_environment);
    let origin = if from_env {
        // The variable as the user typed it: prefix + nested keys joined by "__".
        format!(
            "environment variable KUBESTACK_{}",
            e.path.join("__").to_ascii_uppercase()
        )
    } else {
        origin_name(e.metadata.as_ref())
    };
    ConfigProblem {
        origin,
        key: display_key(&e.path),
        problem: e.kind.to_string(),
    }
}

/// `["instances","1","url"]` → `instances[1].url`.
pub(super) fn display_key(path: &[String]) -> String {
    let mut out = String::new();
    for part in path {
        if part.parse::<usize>().is_ok() {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(part);
        }
    }
    out
}

const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

/// The problems of a parsed configuration, each naming its key; `kinds` are the rules of every
/// kind an instance may have.
pub fn validate_config(config: &AppConfig, kinds: &[&dyn KindRules]) -> Vec<ConfigProblem> {
    validate(config, kinds, &|_| "configuration".to_string())
}

fn validate(
    config: &AppConfig,
    kinds: &[&dyn KindRules],
    origin_of: &dyn Fn(&str) -> String,
) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let mut push = |key: &str, root: &str, problem: String| {
        problems.push(ConfigProblem {
            origin: origin_of(root),
            key: key.to_string(),
            problem,
        });
    };
    if !LOG_LEVELS.contains(&config.log_level.as_str()) {
        push(
            "log_level",
            "log_level",
            format!(
                "`{}` is not a log level (one of {})",
                config.log_level,
                LOG_LEVELS.join(", ")
            ),
        );
    }
    for (key, problem) in config.kubernetes.problems() {
        push(&key, "kubernetes", problem);
    }
    for (i, c) in config.kubernetes.credentials.iter().enumerate() {
        if let Some(kind) = c.kind
            && rules_for(kinds, kind).is_none()
        {
            push(
                &format!("kubernetes.credentials[{i}].kind"),
                "kubernetes",
                format!("unknown kind `{kind}` (one of {})", kind_names(kinds)),
            );
        }
    }
    for (key, problem) in super::ranges::range_problems(config) {
        push(&key, &key, problem);
    }
    for rules in kinds {
        for (key, problem) in rules.settings_problems(config) {
            push(&key, &key, problem);
        }
    }
    if !config.ai.profile.is_empty() && !config.ai.profiles.contains_key(&config.ai.profile) {
        push(
            "ai.profile",
            "ai.profile",
            format!(
                "no [ai.profiles.{}] is defined (defined: {})",
                config.ai.profile,
                config
                    .ai
                    .profiles
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    for (name, p) in &config.ai.profiles {
        if url::Url::parse(&p.base_url).is_err() {
            push(
                &format!("ai.profiles.{name}.base_url"),
                "ai.profiles",
                format!("`{}` is not a URL", p.base_url),
            );
        }
    }
    for (i, g) in config.safety.read_only_contexts.iter().enumerate() {
        if let Err(e) = glob::Pattern::new(g) {
            push(
                &format!("safety.read_only_contexts[{i}]"),
                "safety",
                format!("`{g}` is not a glob: {e}"),
            );
        }
    }
    let mut seen = std::collections::HashSet::new();
    for (i, inst) in config.instances.iter().enumerate() {
        let key = |field: &str| format!("instances[{i}].{field}");
        if inst.name.trim().is_empty() {
            push(&key("name"), "instances", "must not be empty".into());
        } else if !seen.insert(inst.name.as_str()) {
            push(
                &key("name"),
                "instances",
                format!("`{}` is declared twice", inst.name),
            );
        }
        let Some(rules) = rules_for(kinds, inst.kind) else {
            push(
                &key("kind"),
                "instances",
                format!(
                    "unknown kind `{}` (one of {})",
                    inst.kind,
                    kind_names(kinds)
                ),
            );
            continue;
        };
        if let Err(problem) = rules.validate_url(&inst.url) {
            push(&key("url"), "instances", problem);
        }
        if inst.tls_cert_file.is_some() != inst.tls_key_file.is_some() {
            push(
                &key("tls_cert_file"),
                "instances",
                "mutual TLS needs both tls_cert_file and tls_key_file".into(),
            );
        }
        for field in inst.kind_keys.names() {
            if rules.own_instance_keys().contains(&field) {
                continue;
            }
            let owners: Vec<&str> = kinds
                .iter()
                .filter(|r| r.own_instance_keys().contains(&field))
                .map(|r| r.kind().as_str())
                .collect();
            push(
                &key(field),
                "instances",
                format!("`{field}` is for kind {} only", owners.join(" or ")),
            );
        }
        for (field, problem) in rules.instance_problems(inst) {
            push(&key(field), "instances", problem);
        }
        if inst.password_env.is_some() && inst.password_file.is_some() {
            push(
                &key("password_env"),
                "instances",
                "set password_env or password_file, not both".into(),
            );
        }
    }
    problems
}

fn kind_names(kinds: &[&dyn KindRules]) -> String {
    let names: Vec<&str> = kinds.iter().map(|r| r.kind().as_str()).collect();
    names.join(", ")
}

/// The TLS files of an instance that this process cannot read, as (key, problem): a kind that
/// reads them itself checks them at load, so the error names the key instead of surfacing as a
/// handshake failure later.
pub fn unreadable_tls_files(inst: &super::InstanceConfig) -> Vec<(&'static str, String)> {
    [
        ("tls_ca_file", &inst.tls_ca_file),
        ("tls_cert_file", &inst.tls_cert_file),
        ("tls_key_file", &inst.tls_key_file),
    ]
    .into_iter()
    .filter_map(|(field, path)| {
        let problem = readable_file(path.as_deref()?).err()?;
        Some((field, problem))
    })
    .collect()
}

fn readable_file(path: &Path) -> Result<(), String> {
    match std::fs::File::open(path) {
        Ok(f) if f.metadata().is_ok_and(|m| m.is_file()) => Ok(()),
        Ok(_) => Err(format!("`{}` is not a file", path.display())),
        Err(e) => Err(format!("cannot read `{}`: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests;
