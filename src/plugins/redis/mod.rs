//! The Redis plugin (catalog §2): read-only collection, the RDS-… rules, log streams.

mod collector;
pub mod connection;
mod host;
pub mod parse;
pub mod rules;
pub mod sample;
mod server_log;
pub mod tools;

pub use collector::RedisCollector;
pub use connection::{RedisReader, RedisTarget};

use crate::config::{AppConfig, InstanceConfig, InstanceKind};
use crate::plugins::{Collector, Plugin, PluginError, ToolRunner};

/// The built-in Redis plugin.
pub struct RedisPlugin;

impl Plugin for RedisPlugin {
    fn kind(&self) -> InstanceKind {
        InstanceKind::Redis
    }

    fn name(&self) -> &'static str {
        "redis"
    }

    fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    fn supported_versions(&self) -> &'static str {
        "Redis 6.2–7.x (validated on 7.0.15)"
    }

    fn rule_ids(&self) -> &'static [&'static str] {
        rules::RULE_IDS
    }

    fn collector(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
    ) -> Result<Box<dyn Collector>, PluginError> {
        Ok(Box::new(RedisCollector::new(instance, config)?))
    }

    fn tools(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
    ) -> Result<Box<dyn ToolRunner>, PluginError> {
        Ok(Box::new(tools::RedisTools::new(instance, config)?))
    }
}
