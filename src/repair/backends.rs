//! Where the executor gets its write backends from: a factory handed to it by the layer that
//! knows the plugins and Kubernetes (`plugins::registry`), so the executor imports neither.

use super::executor::{ExecutorToken, WriteBackend};
use crate::config::{AppConfig, InstanceConfig};
use crate::model::FindingSource;
use crate::model::PluginError;

/// Opens the write-capable backend of each side a step may act on.
pub trait BackendFactory: Send + Sync {
    /// Whose action it is: the instance's plugin's or Kubernetes' (by the catalogues).
    fn side_of(&self, action: &str) -> FindingSource;

    /// A write-capable connection to an instance through its plugin (connects on first use).
    fn instance_backend(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
        token: &ExecutorToken,
    ) -> Result<Box<dyn WriteBackend>, PluginError>;

    /// A backend on the API server of `context`.
    fn kubernetes_backend(
        &self,
        kubeconfig: kube::config::Kubeconfig,
        context: &str,
        token: &ExecutorToken,
    ) -> Box<dyn WriteBackend>;
}
