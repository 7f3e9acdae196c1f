//! The commented configuration that `kubestack-ai init` writes.

/// The text of a fresh, commented `config.toml`; it parses to the built-in defaults.
pub const CONFIG_TEMPLATE: &str = include_str!("default_config.toml");

// Its test (`the_template_parses_to_the_defaults`) is in `plugins::registry`: the plugins'
// sections are only known there.
