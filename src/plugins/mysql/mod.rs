//! The MySQL/MariaDB plugin (catalog §3): flavor detection, guarded read-only collection,
//! the MYS-… rules, the AI's read-only tools and the MYS-FIX repair actions.

mod collector;
pub mod connection;
pub mod repair;
pub mod rules;
pub mod sample;
pub mod sql_text;
pub mod tools;
mod writer;

pub use collector::MysqlCollector;
pub use connection::{Flavor, MysqlReader, MysqlTarget};
pub use writer::MysqlWriteBackend;

use crate::config::{AppConfig, InstanceConfig, InstanceKind};
use crate::plugins::{Collector, Plugin, PluginError, ToolRunner};
use crate::repair::catalog::RepairCatalog;
use crate::repair::{ExecutorToken, WriteBackend};

/// The built-in MySQL/MariaDB plugin.
pub struct MysqlPlugin;

impl Plugin for MysqlPlugin {
    fn kind(&self) -> InstanceKind {
        InstanceKind::Mysql
    }

    fn name(&self) -> &'static str {
        "mysql"
    }

    fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    fn supported_versions(&self) -> &'static str {
        "MySQL 8.0/8.4, MariaDB 10.5–11.x (validated on MariaDB 10.11)"
    }

    fn rule_ids(&self) -> &'static [&'static str] {
        rules::RULE_IDS
    }

    fn collector(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
    ) -> Result<Box<dyn Collector>, PluginError> {
        Ok(Box::new(MysqlCollector::new(instance, config)?))
    }

    fn tools(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
    ) -> Result<Box<dyn ToolRunner>, PluginError> {
        Ok(Box::new(tools::MysqlTools::new(instance, config)?))
    }

    fn repairs(&self) -> &'static dyn RepairCatalog {
        &repair::MysqlRepairs
    }

    fn write_backend(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
        token: &ExecutorToken,
    ) -> Result<Box<dyn WriteBackend>, PluginError> {
        Ok(Box::new(MysqlWriteBackend::new(instance, config, token)?))
    }
}
