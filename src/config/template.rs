//! The commented configuration that `kubestack-ai init` writes.

/// The text of a fresh, commented `config.toml`; it parses to the built-in defaults.
pub const CONFIG_TEMPLATE: &str = include_str!("default_config.toml");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AppConfig;

    #[test]
    fn the_template_parses_to_the_defaults() {
        let parsed: AppConfig = toml::from_str(CONFIG_TEMPLATE).unwrap();
        assert_eq!(parsed, AppConfig::default());
    }
}
