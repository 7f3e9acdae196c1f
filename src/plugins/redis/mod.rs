//! The Redis plugin (catalog §2): read-only collection, the RDS-… rules, log streams.

mod collector;
pub mod connection;
mod host;
pub mod kind;
pub mod parse;
mod refusal;
pub mod repair;
pub mod rules;
pub mod sample;
pub mod server_log;
pub mod settings;
pub mod tools;
mod writer;

pub use collector::RedisCollector;
pub use connection::{RedisReader, RedisTarget};
pub use writer::RedisWriteBackend;

/// The built-in Redis plugin.
pub struct RedisPlugin;

crate::plugins::builtin_plugin!(
    RedisPlugin,
    descriptor: kind::DESCRIPTOR,
    name: "redis",
    versions: "Redis 6.2–7.x (validated on 7.0.15)",
    rules: rules::RULE_IDS,
    collector: RedisCollector,
    tools: tools::RedisTools,
    repairs: repair::RedisRepairs,
    writer: RedisWriteBackend,
);
