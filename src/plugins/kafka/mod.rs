//! The Kafka plugin (catalog §4): read-only collection through librdkafka, the KFK-… rules
//! with Burrow-style lag windows, the AI's read-only tools, and the repairs rdkafka can carry out.

pub mod advertised;
mod client_errors;
mod collector;
pub mod connection;
pub mod keys;
pub mod kind;
pub mod lag;
pub mod repair;
pub mod rules;
pub mod sample;
pub mod security;
pub mod settings;
pub mod tools;
mod writer;

pub use collector::KafkaCollector;
pub use connection::{KafkaReader, KafkaTarget};
pub use writer::KafkaWriteBackend;

/// The built-in Kafka plugin.
pub struct KafkaPlugin;

crate::plugins::builtin_plugin!(
    KafkaPlugin,
    descriptor: kind::DESCRIPTOR,
    name: "kafka",
    versions: "Apache Kafka 2.x–4.x and Kafka-protocol brokers; PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL with PLAIN or SCRAM (librdkafka 2.12)",
    rules: rules::RULE_IDS,
    collector: KafkaCollector,
    tools: tools::KafkaTools,
    repairs: repair::KafkaRepairs,
    writer: KafkaWriteBackend,
    relay: advertised::KafkaRelay,
);
