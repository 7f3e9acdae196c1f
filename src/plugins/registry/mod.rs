//! The one list of plugins, and what is asked of it: which plugin serves a kind, which kind a
//! URL scheme means, how each kind is found in a cluster. Config validation, discovery, the
//! CLI and the repair executor all go through here, so adding a kind is one directory under
//! `plugins/` and one line in [`PLUGINS`].

use std::sync::Arc;

use crate::config::{AppConfig, InstanceConfig, InstanceKind, KindRules};
use crate::kube::DiscoveryHints;
use crate::kube::repairs::{KubeBackend, KubeRepairs};
use crate::model::FindingSource;
use crate::repair::catalog::RepairCatalog;
use crate::repair::{BackendFactory, ExecutorToken, WriteBackend};

use super::{Plugin, PluginError, elasticsearch, kafka, mysql, redis};

/// Every built-in plugin, in the order discovery tries their hints.
pub static PLUGINS: &[&dyn Plugin] = &[
    &redis::RedisPlugin,
    &mysql::MysqlPlugin,
    &kafka::KafkaPlugin,
    &elasticsearch::ElasticsearchPlugin,
];

/// The plugin serving a kind, if one does.
pub fn find_plugin(kind: InstanceKind) -> Option<&'static dyn Plugin> {
    PLUGINS.iter().copied().find(|p| p.kind() == kind)
}

/// The plugin serving a kind. Kinds come from a validated configuration (which refuses one no
/// plugin serves) or from discovery (which only finds registered kinds), so a miss is a bug;
/// it gets a stand-in whose every operation fails naming the kind, never a panic.
pub fn plugin_for(kind: InstanceKind) -> &'static dyn Plugin {
    find_plugin(kind).unwrap_or(&super::unregistered::Unregistered)
}

/// The rules of every kind, for the configuration loader.
pub fn kind_rules() -> Vec<&'static dyn KindRules> {
    PLUGINS.iter().map(|p| *p as &dyn KindRules).collect()
}

/// How every kind is recognised in a cluster, for discovery.
pub fn discovery_hints() -> Vec<&'static DiscoveryHints> {
    PLUGINS.iter().map(|p| &p.descriptor().discovery).collect()
}

/// The kind a URL's scheme means (`rediss://…` → redis).
pub fn kind_of_scheme(scheme: &str) -> Option<InstanceKind> {
    PLUGINS
        .iter()
        .find(|p| p.descriptor().schemes.contains(&scheme))
        .map(|p| p.kind())
}

/// Every URL scheme, for messages (`redis, rediss, mysql …`).
pub fn all_schemes() -> Vec<&'static str> {
    PLUGINS
        .iter()
        .flat_map(|p| p.descriptor().schemes.iter().copied())
        .collect()
}

/// Checks an instance's URL by its kind's rules.
pub fn validate_url_for(instance: &InstanceConfig) -> Result<url::Url, String> {
    plugin_for(instance.kind).validate_url(&instance.url)
}

/// The user this program logs in as on an instance: `username`, the URL's user, or the kind's
/// default account. Repairs must not lock it out.
pub fn login_user(instance: &InstanceConfig) -> String {
    instance.login_user_or(plugin_for(instance.kind).descriptor().default_user)
}

/// Whose action it is: Kubernetes' when its catalogue has it, else the instance's plugin's.
pub fn action_side(action: &str) -> FindingSource {
    if KubeRepairs.spec(action).is_some() {
        FindingSource::Kubernetes
    } else {
        FindingSource::Instance
    }
}

/// The one choice of a repair catalogue: the instance's plugin's, or Kubernetes' for what the
/// Kubernetes rules found and its actions.
pub fn catalogue_for(kind: InstanceKind, side: FindingSource) -> &'static dyn RepairCatalog {
    match side {
        FindingSource::Instance => plugin_for(kind).repairs(),
        FindingSource::Kubernetes => &KubeRepairs,
    }
}

/// The executor's backends: each plugin's write backend, and Kubernetes'.
struct RegistryBackends;

impl BackendFactory for RegistryBackends {
    fn side_of(&self, action: &str) -> FindingSource {
        action_side(action)
    }

    fn instance_backend(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
        token: &ExecutorToken,
    ) -> Result<Box<dyn WriteBackend>, PluginError> {
        plugin_for(instance.kind).write_backend(instance, config, token)
    }

    fn kubernetes_backend(
        &self,
        kubeconfig: kube::config::Kubeconfig,
        context: &str,
        _: &ExecutorToken,
    ) -> Box<dyn WriteBackend> {
        Box::new(KubeBackend::new(kubeconfig, context))
    }
}

/// The backends to hand to `repair::Executor::new`.
pub fn backends() -> Arc<dyn BackendFactory> {
    Arc::new(RegistryBackends)
}

#[cfg(test)]
mod tests;
