//! Plugin settings sections (`[redis]`, `[kafka]` …): the configuration keeps them as values by
//! section name, each plugin owns the typed struct, its defaults and its range checks.
//!
//! The configuration is the bottom layer and knows no kind, so the loader is told which
//! top-level keys are sections by the [`KindRules`](super::KindRules) it is given; a key no
//! kind declares is still refused by name.

use figment::value::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::AppConfig;
use super::ranges::RangeProblem;

/// A section's contents as the configuration layers gave them (figment's value keeps every
/// number exact, a `u64` included).
pub type SectionValue = Value;

/// A kind's settings section as the loader needs it: its name and its defaults.
#[derive(Debug, Clone)]
pub struct SettingsSection {
    /// The top-level key (`redis`).
    pub name: &'static str,
    /// The defaults, merged below the user's layers so that `config show` prints them.
    pub defaults: SectionValue,
}

impl AppConfig {
    /// A plugin's settings section as loaded, if the layers have it.
    pub fn section(&self, name: &str) -> Option<&SectionValue> {
        self.sections.get(name)
    }

    /// Replaces a plugin's settings section (tools and tests that tune one setting).
    pub fn set_section(&mut self, name: &str, value: SectionValue) {
        self.sections.insert(name.to_string(), value);
    }
}

/// The typed settings of one plugin, read from its section of the configuration.
pub trait PluginSettings: Serialize + DeserializeOwned + Default {
    /// The top-level key of the section (`redis`).
    const SECTION: &'static str;

    /// The values out of range, as (dotted key, problem).
    fn range_problems(&self) -> Vec<RangeProblem>;

    /// The settings of `config`: the defaults where the section is absent. A validated
    /// configuration always reads; should it not, the defaults are the safe answer.
    fn of(config: &AppConfig) -> Self {
        Self::read(config).unwrap_or_default()
    }

    /// The settings of `config`, or its type problems naming section and key.
    fn read(config: &AppConfig) -> Result<Self, Vec<RangeProblem>> {
        match config.section(Self::SECTION) {
            None => Ok(Self::default()),
            Some(value) => value
                .deserialize()
                .map_err(|e| section_problems(Self::SECTION, e)),
        }
    }

    /// Every problem of the section in `config`: types first, then ranges.
    fn problems(config: &AppConfig) -> Vec<RangeProblem> {
        match Self::read(config) {
            Ok(settings) => settings.range_problems(),
            Err(problems) => problems,
        }
    }

    /// Writes these settings as the section of `config`.
    fn store_in(&self, config: &mut AppConfig) {
        if let Ok(value) = SectionValue::serialize(self) {
            config.set_section(Self::SECTION, value);
        }
    }

    /// The section's name and defaults, for [`KindRules::settings_section`](super::KindRules).
    fn section() -> Option<SettingsSection> {
        let defaults = SectionValue::serialize(Self::default()).ok()?;
        Some(SettingsSection {
            name: Self::SECTION,
            defaults,
        })
    }
}

fn section_problems(section: &str, error: figment::Error) -> Vec<RangeProblem> {
    error
        .into_iter()
        .map(|e| {
            let mut path = vec![section.to_string()];
            path.extend(e.path.iter().cloned());
            (super::load::display_key(&path), e.kind.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Demo {
        limit: u64,
    }

    impl PluginSettings for Demo {
        const SECTION: &'static str = "demo";
        fn range_problems(&self) -> Vec<RangeProblem> {
            if self.limit > 5 {
                vec![("demo.limit".into(), "too big".into())]
            } else {
                Vec::new()
            }
        }
    }

    #[test]
    fn a_section_reads_stores_and_names_its_problems() {
        let mut config = AppConfig::default();
        assert_eq!(Demo::of(&config), Demo::default());
        Demo { limit: 3 }.store_in(&mut config);
        assert_eq!(Demo::of(&config).limit, 3);
        Demo { limit: u64::MAX }.store_in(&mut config);
        assert_eq!(Demo::of(&config).limit, u64::MAX);
        assert_eq!(
            Demo::problems(&config),
            [("demo.limit".to_string(), "too big".to_string())]
        );
        config.set_section(
            "demo",
            SectionValue::serialize(std::collections::BTreeMap::from([("limit", "x")])).unwrap(),
        );
        let typed = Demo::problems(&config);
        assert_eq!(typed.len(), 1, "{typed:?}");
        assert!(typed[0].0.starts_with("demo"), "{typed:?}");
    }
}
