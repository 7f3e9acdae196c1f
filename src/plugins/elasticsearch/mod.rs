//! The Elasticsearch/OpenSearch plugin (catalog §5): allowlisted read-only REST collection,
//! the ES-… rules, the AI's read-only tools and the ES-FIX repair actions.

mod collector;
pub mod connection;
pub mod http_guard;
pub mod repair;
pub mod rules;
pub mod sample;
pub mod tools;
mod writer;

pub use collector::EsCollector;
pub use connection::{EsReader, EsTarget};
pub use writer::EsWriteBackend;

use crate::config::{AppConfig, InstanceConfig, InstanceKind};
use crate::plugins::{Collector, Plugin, PluginError, ToolRunner};
use crate::repair::catalog::RepairCatalog;
use crate::repair::{ExecutorToken, WriteBackend};

/// The built-in Elasticsearch/OpenSearch plugin.
pub struct ElasticsearchPlugin;

impl Plugin for ElasticsearchPlugin {
    fn kind(&self) -> InstanceKind {
        InstanceKind::Elasticsearch
    }

    fn name(&self) -> &'static str {
        "elasticsearch"
    }

    fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    fn supported_versions(&self) -> &'static str {
        "Elasticsearch 7.10–9.x, OpenSearch 1–2 (REST API; tested against an in-process server)"
    }

    fn rule_ids(&self) -> &'static [&'static str] {
        rules::RULE_IDS
    }

    fn collector(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
    ) -> Result<Box<dyn Collector>, PluginError> {
        Ok(Box::new(EsCollector::new(instance, config)?))
    }

    fn tools(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
    ) -> Result<Box<dyn ToolRunner>, PluginError> {
        Ok(Box::new(tools::EsTools::new(instance, config)?))
    }

    fn repairs(&self) -> &'static dyn RepairCatalog {
        &repair::EsRepairs
    }

    fn write_backend(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
        token: &ExecutorToken,
    ) -> Result<Box<dyn WriteBackend>, PluginError> {
        Ok(Box::new(EsWriteBackend::new(instance, config, token)?))
    }
}
