//! The AI: providers that stream, the one redaction chokepoint, the instance context, agent
//! tools, and the offline analysis used when no model can answer.

pub mod agent;
pub mod context;
pub mod offline;
pub mod plan;
pub mod provider;
pub mod redact;
pub mod sse;
pub mod tools;
