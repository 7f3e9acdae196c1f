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

/// The executor's backend for `K8S` commands: a kube client for the plan's context.
pub struct KubeBackend {
    kubeconfig: Kubeconfig,
    context: String,
    client: Option<Client>,
}

impl KubeBackend {
    pub fn new(kubeconfig: Kubeconfig, context: &str) -> Self {
        KubeBackend {
            kubeconfig,
            context: context.to_string(),
            client: None,
        }
    }

    async fn client(&mut self) -> Result<Client, PluginError> {
        super::contexts::lazy_client(&mut self.client, &self.kubeconfig, &self.context)
            .await
            .map_err(PluginError::Config)
    }

    fn err(&self, e: kube::Error) -> PluginError {
        let text = super::contexts::scrub(&super::contexts::describe(&e));
        match &e {
            kube::Error::Api(s) if s.code == 403 || s.code == 401 => PluginError::Refused(text),
            kube::Error::Api(_) => PluginError::Protocol {
                endpoint: format!("context {}", self.context),
                reason: text,
            },
            _ => PluginError::Unreachable {
                endpoint: format!("context {}", self.context),
                reason: text,
            },
        }
    }

    /// `GET kind ns name` as `key=value` words.
    async fn get(&mut self, kind: &str, ns: &str, name: &str) -> Result<Reply, PluginError> {
        let client = self.client().await?;
        let r = match kind {
            "StatefulSet" => Api::<StatefulSet>::namespaced(client, ns)
                .get_opt(name)
                .await
                .map(|o| {
                    o.map(|s| {
                        let spec = s.spec.unwrap_or_default();
                        summary(
                            kind,
                            name,
                            s.metadata.uid,
                            spec.replicas,
                            spec.template.metadata.and_then(|m| m.annotations),
                        )
                    })
                }),
            "Deployment" => Api::<Deployment>::namespaced(client, ns)
                .get_opt(name)
                .await
                .map(|o| {
                    o.map(|d| {
                        let spec = d.spec.unwrap_or_default();
                        summary(
                            kind,
                            name,
                            d.metadata.uid,
                            spec.replicas,
                            spec.template.metadata.and_then(|m| m.annotations),
                        )
                    })
                }),
            _ => Api::<Pod>::namespaced(client, ns)
                .get_opt(name)
                .await
                .map(|o| {
                    o.map(|p| {
                        let row = super::store::PodRow::from_pod(&p);
                        format!(
                            "kind=Pod name={name} uid={} status={} ready={}/{} restarts={} ",
                            p.metadata.uid.unwrap_or_default(),
                            row.status,
                            row.ready,
                            row.containers,
                            row.restarts
                        )
                    })
                }),
        };
        match r {
            Ok(Some(text)) => Ok(Reply::Text(text)),
            Ok(None) => Ok(Reply::Text(format!("kind={kind} name={name} not found"))),
            Err(e) => Err(self.err(e)),
        }
    }

    /// The writes, for real or as a server-side dry run.
    async fn apply(&mut self, words: &[String], dry_run: bool) -> Result<Reply, PluginError> {
        let client = self.client().await?;
        let w: Vec<&str> = words.iter().map(String::as_str).collect();
        let pp = PatchParams {
            dry_run,
            ..Default::default()
        };
        let done = |what: String| {
            Ok(Reply::Text(if dry_run {
                format!("server dry run accepted: {what}")
            } else {
                what
            }))
        };
        match w.as_slice() {
            ["RESTART", kind, ns, name, stamp] => {
                let patch = json!({"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt": stamp}}}}});
                patch_workload(client, kind, ns, name, &pp, &patch)
                    .await
                    .map_err(|e| self.err(e))?;
                done(format!("{kind} {ns}/{name} restartedAt={stamp}"))
            }
            ["SCALE", kind, ns, name, n] => {
                let replicas: i32 = n
                    .parse()
                    .map_err(|_| PluginError::Config(format!("replicas `{n}`")))?;
                let patch = json!({"spec":{"replicas": replicas}});
                patch_workload(client, kind, ns, name, &pp, &patch)
                    .await
                    .map_err(|e| self.err(e))?;
                done(format!("{kind} {ns}/{name} replicas={replicas}"))
            }
            ["DELETE", "Pod", ns, name] => {
                let dp = DeleteParams {
                    dry_run,
                    ..Default::default()
                };
                Api::<Pod>::namespaced(client, ns)
                    .delete(name, &dp)
                    .await
                    .map_err(|e| self.err(e))?;
                done(format!("pod {ns}/{name} deleted"))
            }
            other => Err(PluginError::Config(format!(
                "not a Kubernetes write: {}",
                other.join(" ")
            ))),
        }
    }
}

/// A merge patch of a StatefulSet or Deployment.
async fn patch_workload(
    client: Client,
    kind: &str,
    ns: &str,
    name: &str,
    pp: &PatchParams,
    patch: &Value,
) -> Result<(), kube::Error> {
    match kind {
        "StatefulSet" => Api::<StatefulSet>::namespaced(client, ns)
            .patch(name, pp, &Patch::Merge(patch))
            .await
            .map(|_| ()),
        _ => Api::<Deployment>::namespaced(client, ns)
            .patch(name, pp, &Patch::Merge(patch))
            .await
            .map(|_| ()),
    }
}

fn summary(
    kind: &str,
    name: &str,
    uid: Option<String>,
    replicas: Option<i32>,
    annotations: Option<std::collections::BTreeMap<String, String>>,
) -> String {
    let restarted = annotations
        .as_ref()
        .and_then(|a| a.get("kubectl.kubernetes.io/restartedAt").cloned())
        .unwrap_or_else(|| "-".into());
    format!(
        "kind={kind} name={name} uid={} replicas={} restartedAt={restarted} ",
        uid.unwrap_or_default(),
        replicas.unwrap_or(1)
    )
}

fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

impl WriteBackend for KubeBackend {
    fn identity(&mut self) -> BoxFuture<'_, Result<String, PluginError>> {
        let id = format!("context {}", self.context);
        Box::pin(async move { Ok(id) })
    }

    fn read<'a>(&'a mut self, command: &'a Command) -> BoxFuture<'a, Result<Reply, PluginError>> {
        Box::pin(async move {
            let w: Vec<&str> = command.argv.iter().skip(1).map(String::as_str).collect();
            match w.as_slice() {
                ["GET", kind, ns, name] => self.get(kind, ns, name).await,
                ["CAN", verb, group, resource, ns] => {
                    let client = self.client().await?;
                    let access = super::access::Access {
                        verb: static_verb(verb),
                        group: if group.is_empty() { "" } else { "apps" },
                        resource: static_resource(resource),
                        subresource: None,
                        namespace: ns.to_string(),
                        name: None,
                    };
                    super::access::check(&client, &access)
                        .await
                        .map(|()| Reply::Text(format!("allowed: {}", access.describe())))
                        .map_err(PluginError::Refused)
                }
                ["DRYRUN", rest @ ..] => {
                    let words: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
                    self.apply(&words, true).await
                }
                _ => Err(PluginError::Config(format!(
                    "not a Kubernetes read: {command}"
                ))),
            }
        })
    }

    fn write<'a>(
        &'a mut self,
        command: &'a Command,
        _token: &'a ExecutorToken,
    ) -> BoxFuture<'a, Result<Reply, PluginError>> {
        Box::pin(async move {
            let words: Vec<String> = command.argv.iter().skip(1).cloned().collect();
            self.apply(&words, false).await
        })
    }

    fn withheld(&self, command: &Command, why: &str) -> Option<Reply> {
        match command.argv.get(1).map(String::as_str) {
            // A dry run goes out as the PATCH or DELETE it previews, with `dryRun=All`: an
            // audit log, an admission webhook or a proxy sees a write all the same.
            Some("DRYRUN") => Some(Reply::Text(format!(
                "no server-side dry run was sent: {why} (a dry run is a PATCH/DELETE request all the same)"
            ))),
            // A SelfSubjectAccessReview stores nothing, but it is a `create` (POST) of a review
            // object: the API server's audit log records it as one, and "read-only" is promised
            // as no POST/PUT/PATCH/DELETE at all. Nothing can be applied here anyway, so whether
            // the write would be allowed is not worth a request.
            Some("CAN") => Some(Reply::Text(format!(
                "access not reviewed: {why} (a SelfSubjectAccessReview is a POST)"
            ))),
            _ => None,
        }
    }

    fn prepare(&self, step: &RepairStep, captured: &[(String, Reply)]) -> PreparedStep {
        let before = captured
            .first()
            .map(|(_, r)| r.flatten())
            .unwrap_or_default();
        let dry = captured
            .get(2)
            .map(|(_, r)| r.flatten())
            .unwrap_or_default();
        let (preview, rollback, rollback_text) = match step.action.as_str() {
            "K8S-FIX-02" => {
                let old = field(&before, "replicas").unwrap_or("?").to_string();
                let new = step
                    .commands
                    .first()
                    .and_then(|c| c.argv.last())
                    .cloned()
                    .unwrap_or_default();
                let mut back = step.commands.first().cloned().map(|mut c| {
                    if let Some(last) = c.argv.last_mut() {
                        *last = old.clone();
                    }
                    c
                });
                if old == "?" {
                    back = None;
                }
                (
                    format!("replicas {old} → {new} · {dry}"),
                    back.clone().into_iter().collect(),
                    back.map(|c| c.to_string())
                        .unwrap_or_else(|| "the replica count could not be read".into()),
                )
            }
            _ => (
                format!("{} · {dry}", before.trim()),
                Vec::new(),
                match &step.rollback {
                    RollbackSpec::Irreversible(t)
                    | RollbackSpec::NotNeeded(t)
                    | RollbackSpec::Manual(t) => t.clone(),
                    _ => String::new(),
                },
            ),
        };
        PreparedStep {
            captured: captured.to_vec(),
            preview,
            rollback,
            rollback_text,
        }
    }

    fn judge(
        &self,
        step: &RepairStep,
        reply: &Reply,
        prepared: &PreparedStep,
    ) -> Result<String, String> {
        let now = reply.flatten();
        match step.action.as_str() {
            "K8S-FIX-03" => {
                // The pod is gone, or a new one with a new uid has taken its name.
                let old = prepared
                    .captured
                    .first()
                    .and_then(|(_, r)| field(&r.flatten(), "uid").map(str::to_string));
                match (field(&now, "uid"), old) {
                    (None, _) => Ok("the pod is gone; its controller creates a new one".into()),
                    (Some(u), Some(o)) if u != o => {
                        Ok(format!("a new pod took its place (uid {u})"))
                    }
                    // A pod on a node is deleted gracefully: the API server marks it and the
                    // kubelet removes it once its containers have stopped (within the pod's
                    // terminationGracePeriodSeconds, 30 s by default): the deletion is done.
                    _ if field(&now, "status") == Some("Terminating") => Ok(
                        "the pod is terminating (deletion accepted; the kubelet removes it when its containers stop)".into(),
                    ),
                    _ => Err("the pod is still there".into()),
                }
            }
            _ => match &step.verify {
                Some(Probe {
                    check: Check::ReplyHas(t),
                    ..
                }) if now.contains(t.as_str()) => Ok(now.trim().to_string()),
                Some(Probe {
                    check: Check::ReplyHas(t),
                    ..
                }) => Err(format!(
                    "expected {} but the server reports: {}",
                    t.trim(),
                    now.trim()
                )),
                _ => Ok(now),
            },
        }
    }
}

fn static_verb(v: &str) -> &'static str {
    match v {
        "patch" => "patch",
        "delete" => "delete",
        "create" => "create",
        _ => "get",
    }
}

fn static_resource(r: &str) -> &'static str {
    match r {
        "statefulsets" => "statefulsets",
        "deployments" => "deployments",
        _ => "pods",
    }
}
