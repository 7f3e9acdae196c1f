//! Kubernetes repairs of a discovered instance, through the one executor: rollout restart of its
//! StatefulSet/Deployment (K8S-FIX-01), scale (K8S-FIX-02), delete one pod (K8S-FIX-03). Each
//! step captures the object, asks a SelfSubjectAccessReview whether the write is allowed, and
//! has the API server dry-run the write (`dryRun=All`, nothing persisted) — all before the
//! confirmation, so the preview says what the server would do, or that it is not allowed. The
//! executor then pins the step to the context it was made in and refuses it in read-only
//! contexts, as for every other system.
//!
//! The review and the dry run are mutating verbs on the wire (POST, PATCH, DELETE) although they
//! store nothing, so they are only sent where a step can be applied (confirm mode): in a
//! read-only context, in read-only or suggest mode the executor withholds them
//! ([`WriteBackend::withheld`]) and the preview says so, built from the GETs alone.
//!
//! A command is `["K8S", VERB, …]`: `GET kind ns name`, `CAN verb group resource ns`,
//! `DRYRUN <write…>`, and the writes `RESTART kind ns name stamp`, `SCALE kind ns name n`,
//! `DELETE Pod ns name`.

use std::time::Duration;

use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::config::Kubeconfig;
use kube::{Api, Client};
use serde_json::{Map, Value, json};

mod backend;

pub use backend::KubeBackend;

use crate::model::Finding;
use crate::model::PluginError;
use crate::repair::catalog::{ActionSpec, PlanContext, RepairCatalog};
use crate::repair::{
    Check, Command, ExecutorToken, PreparedStep, Probe, RepairStep, Reply, Risk, RollbackSpec,
    WriteBackend,
};

/// Facts a discovered instance carries for planning (set on its [`PlanContext`]).
pub const FACT_NAMESPACE: &str = "k8s.namespace";
pub const FACT_WORKLOAD: &str = "k8s.workload";
pub const FACT_PODS: &str = "k8s.pods";

static ACTIONS: [ActionSpec; 3] = [
    ActionSpec {
        persists_config: false,
        id: "K8S-FIX-01",
        title: "Rollout restart of the instance's StatefulSet/Deployment",
        risk: Risk::Dangerous,
        fixes: &["K8S-POD-05"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "K8S-FIX-02",
        title: "Scale the instance's StatefulSet/Deployment",
        risk: Risk::Dangerous,
        fixes: &[],
        params: &[("replicas", "the new number of replicas")],
    },
    ActionSpec {
        persists_config: false,
        id: "K8S-FIX-03",
        title: "Delete one pod (its controller creates it again)",
        risk: Risk::Caution,
        fixes: &["K8S-POD-01", "K8S-POD-03"],
        params: &[("pod", "the pod of this instance to delete")],
    },
];

/// The Kubernetes repair catalogue.
pub struct KubeRepairs;

fn fact<'a>(ctx: &'a PlanContext<'_>, key: &str) -> Result<&'a str, String> {
    ctx.facts
        .extra
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| "Kubernetes repairs are for instances discovered in a cluster".to_string())
}

fn k8s(words: &[&str]) -> Command {
    let mut argv = vec!["K8S"];
    argv.extend_from_slice(words);
    Command::new(&argv)
}

fn plural(kind: &str) -> &'static str {
    match kind {
        "StatefulSet" => "statefulsets",
        "Deployment" => "deployments",
        _ => "pods",
    }
}

impl RepairCatalog for KubeRepairs {
    fn actions(&self) -> &'static [ActionSpec] {
        &ACTIONS
    }

    fn manual_only(&self) -> &'static [(&'static str, &'static str)] {
        &[(
            "kubectl edit",
            "resource limits, probes and images are changed in the manifests (GitOps), not here",
        )]
    }

    fn system(&self) -> &'static str {
        "Kubernetes"
    }

    fn build_step(
        &self,
        a: &'static ActionSpec,
        params: &Map<String, Value>,
        ctx: &PlanContext<'_>,
    ) -> Result<RepairStep, String> {
        let ns = fact(ctx, FACT_NAMESPACE)?;
        let (kind, name) = fact(ctx, FACT_WORKLOAD)?
            .split_once('/')
            .ok_or("the instance has no workload")?;
        let get = k8s(&["GET", kind, ns, name]);
        // The target of a Kubernetes step is the object in its context, not the server.
        let target = format!(
            "{kind} {ns}/{name} in context {}",
            ctx.target.context.as_deref().unwrap_or("?")
        );
        let can = |verb: &str, resource: &str| {
            let group = if resource == "pods" { "" } else { "apps" };
            k8s(&["CAN", verb, group, resource, ns])
        };
        let step = match a.id {
            "K8S-FIX-01" => {
                if kind == "Pod" {
                    return Err("a pod without a controller has nothing to restart".into());
                }
                let stamp = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
                let write = ["RESTART", kind, ns, name, stamp.as_str()];
                let mut dry = vec!["DRYRUN"];
                dry.extend_from_slice(&write);
                Ok(a.step(
                    ctx,
                    vec![k8s(&write)],
                    vec![get.clone(), can("patch", plural(kind)), k8s(&dry)],
                    RollbackSpec::Irreversible("restarted pods cannot be un-restarted".into()),
                    Some(Probe {
                        command: get,
                        check: Check::ReplyHas(format!("restartedAt={stamp}")),
                        within: Duration::from_secs(10),
                    }),
                    &format!("Every pod of {kind} {ns}/{name} is replaced, one at a time (the controller's update strategy); connections to each are cut while it restarts."),
                ))
            }
            "K8S-FIX-02" => {
                if kind == "Pod" {
                    return Err("a pod without a controller cannot be scaled".into());
                }
                let n: u32 = a
                    .required(params, "replicas")?
                    .parse()
                    .map_err(|_| "K8S-FIX-02: `replicas` must be a whole number".to_string())?;
                if n > 100 {
                    return Err("K8S-FIX-02: more than 100 replicas is refused here".into());
                }
                let n = n.to_string();
                let write = ["SCALE", kind, ns, name, n.as_str()];
                let mut dry = vec!["DRYRUN"];
                dry.extend_from_slice(&write);
                Ok(a.step(
                    ctx,
                    vec![k8s(&write)],
                    vec![get.clone(), can("patch", plural(kind)), k8s(&dry)],
                    RollbackSpec::RestoreConfig {
                        keys: vec!["replicas".into()],
                    },
                    Some(Probe {
                        command: get,
                        check: Check::ReplyHas(format!("replicas={n} ")),
                        within: Duration::from_secs(10),
                    }),
                    &format!("{kind} {ns}/{name} is set to {n} replicas; scaling a database down removes members (and, for a StatefulSet, keeps their volumes)."),
                ))
            }
            "K8S-FIX-03" => {
                let pod = a.required(params, "pod")?;
                let pods: Vec<&str> = fact(ctx, FACT_PODS)?.split(',').collect();
                if !pods.contains(&pod.as_str()) {
                    return Err(format!(
                        "K8S-FIX-03: `{pod}` is not a pod of this instance ({})",
                        pods.join(", ")
                    ));
                }
                let get_pod = k8s(&["GET", "Pod", ns, &pod]);
                Ok(a.step(
                    ctx,
                    vec![k8s(&["DELETE", "Pod", ns, &pod])],
                    vec![
                        get_pod.clone(),
                        can("delete", "pods"),
                        k8s(&["DRYRUN", "DELETE", "Pod", ns, &pod]),
                    ],
                    RollbackSpec::NotNeeded(format!(
                        "{kind} {name} creates the pod again"
                    )),
                    Some(Probe {
                        command: get_pod,
                        check: Check::ReplyLacks("uid=".into()),
                        within: Duration::from_secs(10),
                    }),
                    &format!("Pod {ns}/{pod} is deleted (graceful termination); its controller creates a new one."),
                ))
            }
            other => Err(format!("`{other}` is not a Kubernetes repair action")),
        };
        step.map(|mut s| {
            s.target.endpoint = target;
            // The server identity (a Redis run_id …) is not what a Kubernetes step acts on: it
            // is pinned to its context (checked by the executor) and names its object.
            s.target.identity = None;
            s
        })
    }

    fn for_finding(
        &self,
        finding: &Finding,
        ctx: &PlanContext<'_>,
    ) -> (Vec<RepairStep>, Vec<String>) {
        let pods: Vec<String> = finding
            .evidence
            .get("pods")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut steps = Vec::new();
        let mut manual = Vec::new();
        let mut add = |id: &str, params: Map<String, Value>| match self.build(id, &params, ctx) {
            Ok(s) => steps.push(s),
            Err(e) => manual.push(e),
        };
        match finding.id.as_str() {
            "K8S-POD-01" | "K8S-POD-03" => {
                for p in pods {
                    add("K8S-FIX-03", [("pod".to_string(), Value::from(p))].into_iter().collect());
                }
                manual.push("A pod that crashes again after it is recreated needs its cause fixed (read its previous log: `:logs previous`).".into());
            }
            "K8S-POD-05" => add("K8S-FIX-01", Map::new()),
            "K8S-POD-02" => manual.push("Raise the container's memory limit in the manifest, or lower the server's own memory limit below it.".into()),
            "K8S-POD-04" => manual.push("Free or add node capacity, or relax the pod's requests, affinity or tolerations (see the FailedScheduling message).".into()),
            _ => manual.push("Read the events and the pod's log; no typed action fixes this by itself.".into()),
        }
        (steps, manual)
    }
}
