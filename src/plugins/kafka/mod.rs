//! The Kafka plugin (catalog §4): read-only collection through librdkafka, the KFK-… rules
//! with Burrow-style lag windows, the AI's read-only tools, and the repairs rdkafka can carry out.

mod collector;
pub mod connection;
pub mod lag;
pub mod repair;
pub mod rules;
pub mod sample;
pub mod tools;
mod writer;

pub use collector::KafkaCollector;
pub use connection::{KafkaReader, KafkaTarget};
pub use writer::KafkaWriteBackend;

use crate::config::{AppConfig, InstanceConfig, InstanceKind};
use crate::plugins::{Collector, Plugin, PluginError, ToolRunner};
use crate::repair::catalog::RepairCatalog;
use crate::repair::{ExecutorToken, WriteBackend};

/// The built-in Kafka plugin.
pub struct KafkaPlugin;

impl Plugin for KafkaPlugin {
    fn kind(&self) -> InstanceKind {
        InstanceKind::Kafka
    }

    fn name(&self) -> &'static str {
        "kafka"
    }

    fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    fn supported_versions(&self) -> &'static str {
        "Apache Kafka 2.x–4.x and Kafka-protocol brokers, PLAINTEXT (librdkafka 2.12)"
    }

    fn rule_ids(&self) -> &'static [&'static str] {
        rules::RULE_IDS
    }

    fn collector(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
    ) -> Result<Box<dyn Collector>, PluginError> {
        Ok(Box::new(KafkaCollector::new(instance, config)?))
    }

    fn tools(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
    ) -> Result<Box<dyn ToolRunner>, PluginError> {
        Ok(Box::new(tools::KafkaTools::new(instance, config)?))
    }

    fn repairs(&self) -> &'static dyn RepairCatalog {
        &repair::KafkaRepairs
    }

    fn write_backend(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
        token: &ExecutorToken,
    ) -> Result<Box<dyn WriteBackend>, PluginError> {
        Ok(Box::new(KafkaWriteBackend::new(instance, config, token)?))
    }
}
