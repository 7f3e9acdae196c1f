//! What the agent calls when the model asks for a tool: the trait the plugins and Kubernetes
//! implement for the AI (defined here, where it is used).

use futures::future::BoxFuture;

/// Read-only diagnostic tools for one instance (each plugin's, and Kubernetes's for a
/// discovered instance), as the agent calls them.
pub trait ToolRunner: Send {
    /// The tools, with JSON-schema parameters.
    fn specs(&self) -> Vec<super::provider::ToolSpec>;
    /// Runs one tool; an `Err` is a message for the model (bad arguments, refused, down).
    fn call<'a>(
        &'a mut self,
        name: &'a str,
        args: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<String, String>>;
}
