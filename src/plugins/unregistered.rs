//! The stand-in [`registry::plugin_for`](super::registry::plugin_for) answers for a kind no
//! plugin serves: a validated configuration never has one, so reaching it is a bug that must
//! surface as an error naming the problem, not as a panic.

use serde_json::{Map, Value};

use super::descriptor::KindDescriptor;
use super::{Collector, PluginError, ToolRunner};
use crate::config::{AppConfig, InstanceConfig, InstanceKind, KindRules};
use crate::kube::DiscoveryHints;
use crate::repair::catalog::{ActionSpec, PlanContext, RepairCatalog};
use crate::repair::{ExecutorToken, RepairStep, WriteBackend};

/// The plugin of no kind.
pub struct Unregistered;

static DESCRIPTOR: KindDescriptor = KindDescriptor {
    kind: InstanceKind::from_static("unregistered"),
    schemes: &[],
    default_user: "",
    settings_section: "",
    discovery: DiscoveryHints {
        kind: InstanceKind::from_static("unregistered"),
        names: &[],
        operator_labels: DiscoveryHints::no_operator_labels,
        ports: &[],
    },
};

fn refusal(instance: &InstanceConfig) -> PluginError {
    PluginError::Config(format!(
        "instance `{}`: no plugin serves kind `{}`",
        instance.name, instance.kind
    ))
}

/// The empty catalogue of no kind.
struct NoRepairs;

impl RepairCatalog for NoRepairs {
    fn actions(&self) -> &'static [ActionSpec] {
        &[]
    }
    fn manual_only(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    fn system(&self) -> &'static str {
        "unregistered"
    }
    fn build_step(
        &self,
        a: &'static ActionSpec,
        _: &Map<String, Value>,
        _: &PlanContext<'_>,
    ) -> Result<RepairStep, String> {
        Err(format!("`{}` has no plugin", a.id))
    }
    fn for_finding(
        &self,
        _: &crate::model::Finding,
        _: &PlanContext<'_>,
    ) -> (Vec<RepairStep>, Vec<String>) {
        (Vec::new(), Vec::new())
    }
}

impl KindRules for Unregistered {
    fn kind(&self) -> InstanceKind {
        DESCRIPTOR.kind
    }
    fn validate_url(&self, _: &str) -> Result<url::Url, String> {
        Err("no plugin serves this kind".into())
    }
    fn instance_problems(&self, _: &InstanceConfig) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

impl super::Plugin for Unregistered {
    fn descriptor(&self) -> &'static KindDescriptor {
        &DESCRIPTOR
    }
    fn name(&self) -> &'static str {
        "unregistered"
    }
    fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }
    fn supported_versions(&self) -> &'static str {
        "none"
    }
    fn rule_ids(&self) -> &'static [&'static str] {
        &[]
    }
    fn collector(
        &self,
        i: &InstanceConfig,
        _: &AppConfig,
    ) -> Result<Box<dyn Collector>, PluginError> {
        Err(refusal(i))
    }
    fn tools(&self, i: &InstanceConfig, _: &AppConfig) -> Result<Box<dyn ToolRunner>, PluginError> {
        Err(refusal(i))
    }
    fn repairs(&self) -> &'static dyn RepairCatalog {
        &NoRepairs
    }
    fn write_backend(
        &self,
        i: &InstanceConfig,
        _: &AppConfig,
        _: &ExecutorToken,
    ) -> Result<Box<dyn WriteBackend>, PluginError> {
        Err(refusal(i))
    }
}
