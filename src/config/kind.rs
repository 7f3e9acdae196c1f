//! What the configuration knows about kinds: a kind is a name, and the rules particular to it
//! (URL schemes, credential and TLS checks) are given to the loader by the layer above.
//!
//! The configuration is the bottom layer, so it cannot ask the plugins; instead it defines
//! [`KindRules`] and every plugin implements it. The program's entry points hand the plugin
//! registry to [`super::load_config`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

use figment::value::{Dict, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{AppConfig, InstanceConfig, SectionValue, SettingsSection, strip_credentials};

/// Which plugin serves an instance: the `kind` of an `[[instances]]` entry, by name. Each
/// plugin declares its own constant (e.g. `InstanceKind::REDIS` in `plugins::redis`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceKind(&'static str);

/// Names read from config files, kept for the life of the program so that a kind stays a
/// `Copy` word; bounded by the distinct spellings the user wrote (a handful), and capped so
/// that input naming ever new kinds cannot grow it without end.
static READ_NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());

/// How many distinct kind names are kept; past it a new name reads as [`TOO_MANY_KINDS`].
const MAX_READ_NAMES: usize = 256;

/// The kind every further new name reads as once [`MAX_READ_NAMES`] are kept (no plugin
/// serves it, so the loader refuses it by this name).
const TOO_MANY_KINDS: &str = "(one of too many distinct kind names)";

/// `name` as kept in `names` (kept now if it is new and there is room).
fn intern(names: &mut Vec<&'static str>, name: &str) -> &'static str {
    if let Some(known) = names.iter().find(|n| **n == name) {
        return known;
    }
    if names.len() >= MAX_READ_NAMES {
        return TOO_MANY_KINDS;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(leaked);
    leaked
}

impl InstanceKind {
    /// A kind by its built-in name (the plugins' constants).
    pub const fn from_static(name: &'static str) -> Self {
        InstanceKind(name)
    }

    /// A kind by a name read at run time (a config file, a URL scheme's plugin).
    pub fn named(name: &str) -> Self {
        let mut names = READ_NAMES.lock().unwrap_or_else(|p| p.into_inner());
        InstanceKind(intern(&mut names, name))
    }

    /// Lower-case name, as in the config file.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for InstanceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for InstanceKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for InstanceKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Ok(InstanceKind::named(&name))
    }
}

/// Everything the loader must know about one kind to check an `[[instances]]` entry of it;
/// implemented by each plugin, defined here so that the configuration imports nothing above it.
pub trait KindRules: Send + Sync {
    /// The kind these rules are for.
    fn kind(&self) -> InstanceKind;

    /// Checks an endpoint URL of this kind; the message never echoes a password.
    fn validate_url(&self, raw: &str) -> Result<url::Url, String>;

    /// The kind's problems with an instance's other keys (TLS files, credentials, its own keys'
    /// types and values), as (key under `instances[i]`, problem).
    fn instance_problems(&self, instance: &InstanceConfig) -> Vec<(&'static str, String)>;

    /// The keys of `[[instances]]` only this kind takes (`groups`, `ssl_mode` …), kept by the
    /// loader in [`InstanceConfig::kind_keys`] for the kind to read and check in
    /// [`KindRules::instance_problems`]; set on an instance of another kind they are refused by
    /// name.
    fn own_instance_keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// The top-level section of the config file holding this kind's settings, with its
    /// defaults (see [`PluginSettings::section`](super::PluginSettings::section)).
    fn settings_section(&self) -> Option<SettingsSection> {
        None
    }

    /// The problems of this kind's settings section in `config` (types, then ranges), as
    /// (dotted key, problem).
    fn settings_problems(&self, _config: &AppConfig) -> Vec<(String, String)> {
        Vec::new()
    }

    /// The endpoint for display: the URL without credentials, or a note when it is invalid.
    fn endpoint(&self, instance: &InstanceConfig) -> String {
        self.validate_url(&instance.url)
            .map(|u| strip_credentials(&u))
            .unwrap_or_else(|_| "(invalid url)".into())
    }
}

/// The rules of `kind` among `kinds`.
pub fn rules_for<'a>(kinds: &[&'a dyn KindRules], kind: InstanceKind) -> Option<&'a dyn KindRules> {
    kinds.iter().copied().find(|r| r.kind() == kind)
}

/// The keys of an `[[instances]]` entry that only its kind takes (Kafka's `groups`, MySQL's
/// `ssl_mode` …), by name as the layers gave them. The configuration knows none of them: the
/// loader keeps every key some kind declares ([`KindRules::own_instance_keys`]), refuses one set
/// on an instance of another kind, and the kind's plugin reads its own into a typed struct with
/// [`KindKeys::read`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KindKeys(BTreeMap<String, SectionValue>);

impl KindKeys {
    /// The names of the keys set.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The keys with their values, in name order (`config show` prints them).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &SectionValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Sets one key (discovery, tools and tests); a value that cannot be written as a
    /// configuration value leaves the key as it was.
    pub fn set(&mut self, key: &str, value: impl Serialize) {
        if let Ok(value) = SectionValue::serialize(value) {
            self.0.insert(key.to_string(), value);
        }
    }

    /// Keeps a key as the layers gave it (the loader).
    pub(super) fn insert(&mut self, key: &str, value: SectionValue) {
        self.0.insert(key.to_string(), value);
    }

    /// The keys among `names` (a kind's own) as the kind's typed struct `T`, or every type
    /// problem as (key, problem). Keys outside `names` are left for the loader to refuse.
    pub fn read<T: DeserializeOwned>(
        &self,
        names: &'static [&'static str],
    ) -> Result<T, Vec<(&'static str, String)>> {
        let own: Dict = self
            .0
            .iter()
            .filter(|(k, _)| names.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Value::from(own).deserialize().map_err(|e| {
            e.into_iter()
                .map(|e| {
                    let key = e
                        .path
                        .first()
                        .and_then(|p| names.iter().find(|n| **n == p.as_str()))
                        .or(names.first())
                        .copied()
                        .unwrap_or("kind");
                    (key, e.kind.to_string())
                })
                .collect()
        })
    }
}

/// A kind's own `[[instances]]` keys as a typed struct, read from
/// [`InstanceConfig::kind_keys`] (the counterpart of [`PluginSettings`](super::PluginSettings)
/// for one instance).
pub trait InstanceKeys: DeserializeOwned + Default {
    /// The names of the keys, as [`KindRules::own_instance_keys`] declares them.
    const NAMES: &'static [&'static str];

    /// The keys of `instance`, or their type problems as (key, problem).
    fn read(instance: &InstanceConfig) -> Result<Self, Vec<(&'static str, String)>> {
        instance.kind_keys.read(Self::NAMES)
    }

    /// The keys of `instance`; none where they do not read (a validated configuration always
    /// reads, and a connection re-checks with [`InstanceKeys::read`] where it matters).
    fn of(instance: &InstanceConfig) -> Self {
        Self::read(instance).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, Deserialize)]
    #[serde(default)]
    struct DemoKeys {
        groups: Vec<String>,
        mode: Option<String>,
    }

    const DEMO: &[&str] = &["groups", "mode"];

    #[test]
    fn a_kinds_keys_read_as_its_struct_and_problems_name_the_key() {
        let mut keys = KindKeys::default();
        assert_eq!(keys.read::<DemoKeys>(DEMO), Ok(DemoKeys::default()));
        keys.set("groups", ["支付", ""]);
        keys.set("mode", "x".repeat(100_000));
        keys.set("ssl_mode", 3); // another kind's: left for the loader to refuse
        let read: DemoKeys = keys.read(DEMO).unwrap();
        assert_eq!(read.groups, ["支付", ""]);
        assert_eq!(read.mode.map(|m| m.len()), Some(100_000));
        assert_eq!(
            keys.names().collect::<Vec<_>>(),
            ["groups", "mode", "ssl_mode"]
        );

        keys.set("groups", "one");
        keys.set("mode", 7);
        let problems = keys.read::<DemoKeys>(DEMO).unwrap_err();
        assert_eq!(
            problems.len(),
            1,
            "figment stops at the first: {problems:?}"
        );
        assert!(
            problems[0].0 == "groups" && problems[0].1.contains("invalid type"),
            "{problems:?}"
        );
        let mut keys = KindKeys::default();
        keys.set("mode", 7);
        let problems = keys.read::<DemoKeys>(DEMO).unwrap_err();
        assert_eq!(problems[0].0, "mode", "{problems:?}");
    }

    #[test]
    fn kind_names_from_input_are_kept_once_and_capped() {
        // A table of its own: the program's is shared by every test of this binary.
        let mut names = Vec::new();
        let a = intern(&mut names, "缓存");
        assert!(std::ptr::eq(a, intern(&mut names, "缓存")), "kept once");
        assert_eq!(a, "缓存");
        for i in 0..(MAX_READ_NAMES * 2) {
            let _ = intern(&mut names, &format!("kind-{i}"));
        }
        assert_eq!(names.len(), MAX_READ_NAMES);
        assert_eq!(intern(&mut names, "one-more"), TOO_MANY_KINDS);
        assert_eq!(
            intern(&mut names, "缓存"),
            "缓存",
            "a kept name still reads as itself"
        );
        assert_eq!(InstanceKind::named("redis").as_str(), "redis");
    }
}
