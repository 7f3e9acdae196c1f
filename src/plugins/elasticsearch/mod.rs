//! The Elasticsearch/OpenSearch plugin (catalog §5): allowlisted read-only REST collection,
//! the ES-… rules, the AI's read-only tools and the ES-FIX repair actions.

mod collector;
pub mod connection;
pub mod http_guard;
pub mod kind;
mod refusal;
pub mod repair;
pub mod rules;
pub mod sample;
pub mod settings;
pub mod tools;
mod writer;

pub use collector::EsCollector;
pub use connection::{EsReader, EsTarget};
pub use writer::EsWriteBackend;

/// The built-in Elasticsearch/OpenSearch plugin.
pub struct ElasticsearchPlugin;

crate::plugins::builtin_plugin!(
    ElasticsearchPlugin,
    descriptor: kind::DESCRIPTOR,
    name: "elasticsearch",
    versions: "Elasticsearch 7.10–9.x, OpenSearch 1–2 (REST API; tested against OpenSearch 2.19 nodes and an in-process Elasticsearch model)",
    rules: rules::RULE_IDS,
    collector: EsCollector,
    tools: tools::EsTools,
    repairs: repair::EsRepairs,
    writer: EsWriteBackend,
);
