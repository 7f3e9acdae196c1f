//! The MySQL/MariaDB plugin (catalog §3): flavor detection, guarded read-only collection,
//! the MYS-… rules, the AI's read-only tools and the MYS-FIX repair actions.

mod collector;
pub mod connection;
pub mod grants;
pub mod keys;
pub mod kind;
mod refusal;
pub mod repair;
pub mod rules;
pub mod sample;
pub mod select_guard;
pub mod settings;
pub mod sql_functions;
pub mod sql_text;
pub mod tls;
pub mod tools;
mod writer;

pub use collector::MysqlCollector;
pub use connection::{Flavor, MysqlReader, MysqlTarget};
pub use writer::MysqlWriteBackend;

/// The built-in MySQL/MariaDB plugin.
pub struct MysqlPlugin;

crate::plugins::builtin_plugin!(
    MysqlPlugin,
    descriptor: kind::DESCRIPTOR,
    name: "mysql",
    versions: "MySQL 8.0/8.4, MariaDB 10.5–11.x (validated on MariaDB 10.11); TLS with ssl_mode disabled … verify-identity",
    rules: rules::RULE_IDS,
    collector: MysqlCollector,
    tools: tools::MysqlTools,
    repairs: repair::MysqlRepairs,
    writer: MysqlWriteBackend,
);
