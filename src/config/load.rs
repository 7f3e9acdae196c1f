//! Layered loading: built-in defaults < user file < `KUBESTACK_*` env < command-line flags.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Serialize;

use super::{AppConfig, AppPaths, InstanceKind};

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

/// Loads and validates the configuration. `config_override` is `--config` / `KUBESTACK_CONFIG`.
pub fn load_config(
    config_override: Option<&Path>,
    overrides: &CliOverrides,
) -> Result<LoadedConfig, ConfigError> {
    let paths = AppPaths::resolve(config_override);
    let file_found = paths.config_file.is_file();
    if paths.config_file_explicit && !file_found {
        return Err(ConfigError::FileMissing(paths.config_file.clone()));
    }
    let figment = Figment::new()
        .merge(Serialized::defaults(AppConfig::default()))
        .merge(Toml::file(&paths.config_file))
        .merge(
            Env::prefixed("KUBESTACK_")
                .filter(|key| is_config_variable(key.as_str()))
                .split("__")
                .ignore(&["config", "log", "test_panic"]),
        )
        .merge(Serialized::defaults(overrides));
    let config: AppConfig = figment
        .extract()
        .map_err(|e| ConfigError::Invalid(e.into_iter().map(describe_figment_error).collect()))?;
    let origin_of = |key: &str| origin_name(figment.find_metadata(key));
    let mut config = config;
    resolve_relative_files(&mut config, &paths);
    let problems = validate(&config, &origin_of);
    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems));
    }
    Ok(LoadedConfig {
        config,
        paths,
        file_found,
    })
}

/// The config file's top-level keys, as `KUBESTACK_<KEY>` variables name them.
const TOP_LEVEL_KEYS: &[&str] = &[
    "theme",
    "log_level",
    "collector",
    "ui",
    "redis",
    "mysql",
    "kafka",
    "ai",
    "safety",
    "kubernetes",
    "instances",
];

/// Whether a `KUBESTACK_*` variable (`key`: the name after the prefix) is meant for the
/// configuration: a top-level key, or a section's key (`SECTION__KEY`, where a misspelt section
/// is still an error that names the variable). Other single names — `KUBESTACK_KUBE_BIN`,
/// `KUBESTACK_FUZZ_SECS` and the like, which the project's scripts and a CI's environment use —
/// are not the program's and must not stop it from starting.
fn is_config_variable(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("__") || TOP_LEVEL_KEYS.contains(&key.as_str())
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
    let from_env = e.metadata.as_ref().is_some_and(|md| {
        md.source
            .as_ref()
            .and_then(figment::Source::file_path)
            .is_none()
            && md.name.contains("environment")
    });
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
fn display_key(path: &[String]) -> String {
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

fn validate(config: &AppConfig, origin_of: &dyn Fn(&str) -> String) -> Vec<ConfigProblem> {
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
    for (key, problem) in super::ranges::range_problems(config) {
        let root = key.split('.').next().unwrap_or(&key).to_string();
        push(&key, &root, problem);
    }
    let r = &config.redis;
    if !(0.0 < r.memory_warn_ratio && r.memory_warn_ratio <= r.memory_crit_ratio) {
        push(
            "redis.memory_warn_ratio",
            "redis",
            "must be > 0 and not above redis.memory_crit_ratio".to_string(),
        );
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
        if let Err(problem) = validate_url(inst.kind, &inst.url) {
            push(&key("url"), "instances", problem);
        }
        if inst.tls_cert_file.is_some() != inst.tls_key_file.is_some() {
            push(
                &key("tls_cert_file"),
                "instances",
                "mutual TLS needs both tls_cert_file and tls_key_file".into(),
            );
        }
        let has_tls_files = inst.tls_ca_file.is_some()
            || inst.tls_cert_file.is_some()
            || inst.tls_key_file.is_some();
        if !inst.groups.is_empty() && inst.kind != InstanceKind::Kafka {
            push(
                &key("groups"),
                "instances",
                "`groups` is for kind kafka only".into(),
            );
        }
        if inst.kind != InstanceKind::Kafka {
            for (field, set) in [
                ("security_protocol", inst.security_protocol.is_some()),
                ("sasl_mechanism", inst.sasl_mechanism.is_some()),
            ] {
                if set {
                    push(
                        &key(field),
                        "instances",
                        format!("`{field}` is for kind kafka only"),
                    );
                }
            }
        }
        if inst.ssl_mode.is_some() && inst.kind != InstanceKind::Mysql {
            push(
                &key("ssl_mode"),
                "instances",
                "`ssl_mode` is for kind mysql only".into(),
            );
        }
        if matches!(inst.kind, InstanceKind::Kafka | InstanceKind::Mysql) {
            let problems = if inst.kind == InstanceKind::Kafka {
                let mut p = super::kafka_security_problems(inst);
                p.extend(super::kafka_unused_credentials(inst));
                p
            } else {
                super::mysql_tls_problems(inst)
            };
            for (field, problem) in problems {
                push(&key(field), "instances", problem);
            }
            for (field, path) in [
                ("tls_ca_file", &inst.tls_ca_file),
                ("tls_cert_file", &inst.tls_cert_file),
                ("tls_key_file", &inst.tls_key_file),
            ] {
                if let Some(path) = path
                    && let Err(problem) = readable_file(path)
                {
                    push(&key(field), "instances", problem);
                }
            }
        } else if inst.kind == InstanceKind::Elasticsearch {
            if inst.tls_cert_file.is_some() {
                push(
                    &key("tls_cert_file"),
                    "instances",
                    "client certificates are not supported for elasticsearch (use username + password_env)".into(),
                );
            } else if inst.tls_ca_file.is_some() && !inst.url.starts_with("elasticsearch+https://")
            {
                push(
                    &key("tls_ca_file"),
                    "instances",
                    "tls_ca_file is set but the url is not elasticsearch+https://".into(),
                );
            }
        } else if has_tls_files && !inst.url.starts_with("rediss://") {
            push(
                &key("tls_ca_file"),
                "instances",
                "TLS files are set but the url is not rediss://".into(),
            );
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

/// A TLS file named in the config must be a file this process can read (checked at load, so
/// the error names the key instead of surfacing as a handshake failure later).
fn readable_file(path: &Path) -> Result<(), String> {
    match std::fs::File::open(path) {
        Ok(f) if f.metadata().is_ok_and(|m| m.is_file()) => Ok(()),
        Ok(_) => Err(format!("`{}` is not a file", path.display())),
        Err(e) => Err(format!("cannot read `{}`: {e}", path.display())),
    }
}

/// Checks the endpoint of a configured instance.
pub fn validate_url_for(instance: &super::InstanceConfig) -> Result<url::Url, String> {
    validate_url(instance.kind, &instance.url)
}

/// `kafka://host:port[,host:port…]` (or `kafka+ssl://…`): every broker must have a host and a
/// port; the first is returned as a URL.
fn validate_kafka_url(raw: &str) -> Result<url::Url, String> {
    let raw = raw.trim();
    let Some(list) = raw
        .strip_prefix("kafka://")
        .or_else(|| raw.strip_prefix(super::KAFKA_TLS_SCHEME))
    else {
        return Err(
            "a Kafka url is kafka://host:port[,host:port…] (or kafka+ssl://… for TLS)".into(),
        );
    };
    let mut first = None;
    for part in list.trim_end_matches('/').split(',') {
        let url = url::Url::parse(&format!("kafka://{}", part.trim()))
            .map_err(|e| format!("broker `{part}`: {e}"))?;
        if url.host_str().is_none_or(str::is_empty) || url.port().is_none() {
            return Err(format!("broker `{part}` needs host:port"));
        }
        if !url.username().is_empty() {
            return Err(
                "credentials in a Kafka url are not supported: set username, password_env or password_file and sasl_mechanism".into(),
            );
        }
        first.get_or_insert(url);
    }
    first.ok_or_else(|| "no broker in the url".into())
}

/// Checks an endpoint URL for a kind; the message never echoes a password.
pub fn validate_url(kind: InstanceKind, raw: &str) -> Result<url::Url, String> {
    if kind == InstanceKind::Kafka {
        return validate_kafka_url(raw);
    }
    let url = url::Url::parse(raw).map_err(|e| format!("not a valid URL: {e}"))?;
    match kind {
        InstanceKind::Redis => {
            if !matches!(url.scheme(), "redis" | "rediss") {
                return Err(format!(
                    "scheme `{}` is not supported for kind redis (use redis:// or rediss://)",
                    url.scheme()
                ));
            }
        }
        InstanceKind::Kafka => unreachable!("validated above"),
        InstanceKind::Elasticsearch => {
            if !matches!(url.scheme(), "elasticsearch" | "elasticsearch+https") {
                return Err(format!(
                    "scheme `{}` is not supported for kind elasticsearch (use elasticsearch://host:9200 or elasticsearch+https://host:9200)",
                    url.scheme()
                ));
            }
        }
        InstanceKind::Mysql => {
            if url.scheme() != "mysql" {
                return Err(format!(
                    "scheme `{}` is not supported for kind mysql (use mysql://user@host:3306/db)",
                    url.scheme()
                ));
            }
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_displayed_with_indexes() {
        let path = ["instances", "1", "url"].map(String::from);
        assert_eq!(display_key(&path), "instances[1].url");
        assert_eq!(display_key(&[]), "");
    }

    /// The problems a config text gives, as `key: problem` lines (parsed and validated
    /// without figment's environment layer: other tests set `KUBESTACK_*` variables).
    fn problems_of(text: &str) -> Vec<String> {
        let config: AppConfig = match toml::from_str(text) {
            Ok(c) => c,
            Err(e) => return vec![e.to_string()],
        };
        validate(&config, &|_| "test".to_string())
            .into_iter()
            .map(|p| format!("{}: {}", p.key, p.problem))
            .collect()
    }

    #[test]
    fn kafka_tls_and_sasl_are_accepted_and_bad_combinations_named() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "pem").unwrap();
        let ok = format!(
            "[[instances]]\nname = \"k\"\nkind = \"kafka\"\nurl = \"kafka+ssl://b1:9093,b2:9093\"\n\
             sasl_mechanism = \"SCRAM-SHA-512\"\nusername = \"app\"\npassword_env = \"KAFKA_PW\"\n\
             tls_ca_file = \"{}\"\n",
            ca.display()
        );
        assert_eq!(problems_of(&ok), Vec::<String>::new());
        let explicit = "[[instances]]\nname = \"k\"\nkind = \"kafka\"\nurl = \"kafka://b:9093\"\n\
             security_protocol = \"sasl_ssl\"\nsasl_mechanism = \"PLAIN\"\nusername = \"app\"\npassword_file = \"pw\"\n";
        assert_eq!(problems_of(explicit), Vec::<String>::new());

        let no_user = "[[instances]]\nname = \"k\"\nkind = \"kafka\"\nurl = \"kafka+ssl://b:9093\"\n\
             sasl_mechanism = \"PLAIN\"\npassword_env = \"X\"\n";
        let p = problems_of(no_user);
        assert!(
            p.iter()
                .any(|l| l
                    .starts_with("instances[0].username: sasl_mechanism PLAIN needs a username")),
            "{p:?}"
        );
        let missing_ca = "[[instances]]\nname = \"k\"\nkind = \"kafka\"\nurl = \"kafka+ssl://b:9093\"\n\
             tls_ca_file = \"/nonexistent/kafka-ca.pem\"\n";
        let p = problems_of(missing_ca);
        assert!(
            p.iter().any(|l| l
                .starts_with("instances[0].tls_ca_file: cannot read `/nonexistent/kafka-ca.pem`")),
            "{p:?}"
        );
        let gssapi = "[[instances]]\nname = \"k\"\nkind = \"kafka\"\nurl = \"kafka://b:9092\"\nsasl_mechanism = \"GSSAPI\"\n";
        let p = problems_of(gssapi);
        assert!(
            p.iter()
                .any(|l| l.contains("sasl_mechanism") && l.contains("GSSAPI")),
            "{p:?}"
        );
        let no_sasl = "[[instances]]\nname = \"k\"\nkind = \"kafka\"\nurl = \"kafka://b:9092\"\nusername = \"u\"\n";
        let p = problems_of(no_sasl);
        assert!(
            p.iter().any(
                |l| l.starts_with("instances[0].username:") && l.contains("set sasl_mechanism")
            ),
            "{p:?}"
        );
        let on_redis = "[[instances]]\nname = \"r\"\nkind = \"redis\"\nurl = \"redis://h:6379\"\nsasl_mechanism = \"PLAIN\"\nssl_mode = \"required\"\n";
        let p = problems_of(on_redis);
        assert!(
            p.iter()
                .any(|l| l.contains("`sasl_mechanism` is for kind kafka only")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|l| l.contains("`ssl_mode` is for kind mysql only")),
            "{p:?}"
        );
    }

    #[test]
    fn mysql_ssl_modes_are_accepted_and_bad_combinations_named() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "pem").unwrap();
        for mode in [
            "disabled",
            "preferred",
            "required",
            "verify-ca",
            "VERIFY_IDENTITY",
        ] {
            let text = format!(
                "[[instances]]\nname = \"m\"\nkind = \"mysql\"\nurl = \"mysql://app@db:3306\"\nssl_mode = \"{mode}\"\n"
            );
            assert_eq!(problems_of(&text), Vec::<String>::new(), "{mode}");
        }
        let with_ca = format!(
            "[[instances]]\nname = \"m\"\nkind = \"mysql\"\nurl = \"mysql://app@db:3306\"\ntls_ca_file = \"{}\"\n",
            ca.display()
        );
        assert_eq!(problems_of(&with_ca), Vec::<String>::new());
        let disabled_ca = format!("{with_ca}ssl_mode = \"disabled\"\n");
        let p = problems_of(&disabled_ca);
        assert!(
            p.iter().any(|l| l.starts_with(
                "instances[0].tls_ca_file: tls_ca_file is set but ssl_mode is disabled"
            )),
            "{p:?}"
        );
        let required_ca = format!("{with_ca}ssl_mode = \"required\"\n");
        let p = problems_of(&required_ca);
        assert!(
            p.iter().any(|l| l.starts_with("instances[0].ssl_mode:")),
            "{p:?}"
        );
        let bad = "[[instances]]\nname = \"m\"\nkind = \"mysql\"\nurl = \"mysql://app@db:3306\"\nssl_mode = \"verify-full\"\n";
        let p = problems_of(bad);
        assert!(
            p.iter()
                .any(|l| l.contains("ssl_mode") && l.contains("verify-full")),
            "{p:?}"
        );
        let missing_key = "[[instances]]\nname = \"m\"\nkind = \"mysql\"\nurl = \"mysql://app@db:3306\"\nssl_mode = \"required\"\n\
             tls_cert_file = \"/nonexistent/client.crt\"\n";
        let p = problems_of(missing_key);
        assert!(
            p.iter().any(|l| l.contains("mutual TLS needs both")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|l| l.starts_with("instances[0].tls_cert_file: cannot read")),
            "{p:?}"
        );
    }

    #[test]
    fn urls_are_checked_per_kind() {
        assert!(validate_url(InstanceKind::Redis, "redis://127.0.0.1:6379/0").is_ok());
        assert!(validate_url(InstanceKind::Redis, "rediss://h:6380").is_ok());
        let err = validate_url(InstanceKind::Redis, "http://h:1").unwrap_err();
        assert!(err.contains("`http`"), "{err}");
        assert!(validate_url(InstanceKind::Redis, "not a url").is_err());
    }

    #[test]
    fn only_variables_that_name_the_configuration_are_read_as_configuration() {
        // Every top-level key of the configuration is in the list…
        let value = serde_json::to_value(AppConfig::default()).unwrap();
        let mut keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.push("instances");
        for k in keys {
            assert!(TOP_LEVEL_KEYS.contains(&k), "{k} is not in TOP_LEVEL_KEYS");
            assert!(is_config_variable(&k.to_ascii_uppercase()));
        }
        // …sections' keys and misspelt sections are read (the latter to be refused by name)…
        assert!(is_config_variable("COLLECTOR__INTERVAL_SECS"));
        assert!(is_config_variable("COLLECTR__INTERVAL_SECS"));
        // …and the scripts' own variables are not.
        for other in [
            "KUBE_BIN",
            "FUZZ_SECS",
            "KAFKA_CACHE",
            "OPENSEARCH_CACHE",
            "GO_CACHE",
        ] {
            assert!(!is_config_variable(other), "{other}");
        }
    }
}
