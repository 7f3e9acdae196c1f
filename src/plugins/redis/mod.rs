//! The Redis plugin (catalog §2): read-only collection, the RDS-… rules, log streams.

mod collector;
pub mod connection;
mod host;
pub mod parse;
pub mod repair;
pub mod rules;
pub mod sample;
mod server_log;
pub mod tools;
mod writer;

pub use collector::RedisCollector;
pub use connection::{RedisReader, RedisTarget};
pub use writer::RedisWriteBackend;

use crate::config::{AppConfig, InstanceConfig, InstanceKind};
use crate::plugins::{Collector, Plugin, PluginError, ToolRunner};
use crate::repair::catalog::RepairCatalog;
use crate::repair::{ExecutorToken, WriteBackend};

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

    fn repairs(&self) -> &'static dyn RepairCatalog {
        &repair::RedisRepairs
    }

    fn write_backend(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
        token: &ExecutorToken,
    ) -> Result<Box<dyn WriteBackend>, PluginError> {
        Ok(Box::new(RedisWriteBackend::new(instance, config, token)?))
    }
}
