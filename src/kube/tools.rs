//! The AI's read-only Kubernetes tools for a discovered instance: describe one of its pods or
//! its workload, its recent events, a bounded log tail. They only ever GET, and only the
//! instance's own namespace, workload and pods (a model cannot name anything else). Results
//! go through the same redaction and size bound as every tool result (`ai::agent`).

use futures::AsyncBufReadExt;
use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{ListParams, LogParams};
use kube::config::Kubeconfig;
use kube::{Api, Client};
use serde_json::{Value, json};

use super::discovery::Discovered;
use crate::ai::provider::ToolSpec;
use crate::ai::tools::ToolRunner;

/// Lines a log tail returns at most.
pub const LOG_TAIL_MAX: i64 = 200;

/// The tools of one discovered instance.
pub struct KubeTools {
    kubeconfig: Kubeconfig,
    context: String,
    found: Discovered,
    client: Option<Client>,
}

impl KubeTools {
    pub fn new(kubeconfig: Kubeconfig, context: &str, found: Discovered) -> Self {
        KubeTools {
            kubeconfig,
            context: context.to_string(),
            found,
            client: None,
        }
    }

    async fn client(&mut self) -> Result<Client, String> {
        super::contexts::lazy_client(&mut self.client, &self.kubeconfig, &self.context).await
    }

    fn pod_arg(&self, args: &Value) -> Result<String, String> {
        let pod = args["pod"]
            .as_str()
            .map(str::to_string)
            .or_else(|| self.found.pods.first().cloned())
            .ok_or("the instance has no pods")?;
        if !self.found.pods.contains(&pod) {
            return Err(format!(
                "`{pod}` is not a pod of this instance (its pods: {})",
                self.found.pods.join(", ")
            ));
        }
        Ok(pod)
    }

    async fn describe(&mut self, args: &Value) -> Result<String, String> {
        let client = self.client().await?;
        let ns = self.found.namespace.clone();
        let err = |e: kube::Error| super::contexts::scrub(&super::contexts::describe(&e));
        if args["pod"].is_string() || self.found.workload_kind == "Pod" {
            let pod = self.pod_arg(args)?;
            let p = Api::<Pod>::namespaced(client, &ns)
                .get(&pod)
                .await
                .map_err(err)?;
            let spec = p.spec.clone().unwrap_or_default();
            let status = p.status.clone().unwrap_or_default();
            let row = super::store::PodRow::from_pod(&p);
            let containers: Vec<Value> = spec
                .containers
                .iter()
                .map(|c| {
                    let res = c.resources.clone().unwrap_or_default();
                    json!({
                        "name": c.name,
                        "image": c.image,
                        "requests": res.requests.map(|r| r.into_iter().map(|(k, v)| (k, v.0)).collect::<std::collections::BTreeMap<_, _>>()),
                        "limits": res.limits.map(|r| r.into_iter().map(|(k, v)| (k, v.0)).collect::<std::collections::BTreeMap<_, _>>()),
                        "readiness_probe": c.readiness_probe.is_some(),
                        "liveness_probe": c.liveness_probe.is_some(),
                    })
                })
                .collect();
            let conditions: Vec<Value> = status
                .conditions
                .iter()
                .flatten()
                .map(|c| json!({"type": c.type_, "status": c.status, "reason": c.reason, "message": c.message}))
                .collect();
            let out = json!({
                "pod": pod, "namespace": ns, "phase": row.phase, "status": row.status,
                "ready": format!("{}/{}", row.ready, row.containers), "restarts": row.restarts,
                "last_termination": row.last_terminated, "node": row.node, "pod_ip": row.pod_ip,
                "containers": containers, "conditions": conditions,
            });
            return Ok(serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        let name = self.found.name.clone();
        let out = match self.found.workload_kind {
            "StatefulSet" => {
                let s = Api::<StatefulSet>::namespaced(client, &ns)
                    .get(&name)
                    .await
                    .map_err(err)?;
                let spec = s.spec.unwrap_or_default();
                let st = s.status.unwrap_or_default();
                json!({"kind": "StatefulSet", "name": name, "namespace": ns, "replicas": spec.replicas,
                    "ready": st.ready_replicas, "current_revision": st.current_revision, "update_revision": st.update_revision,
                    "update_strategy": spec.update_strategy.and_then(|u| u.type_), "service": spec.service_name,
                    "volume_claims": spec.volume_claim_templates.map(|v| v.len()).unwrap_or(0)})
            }
            _ => {
                let d = Api::<Deployment>::namespaced(client, &ns)
                    .get(&name)
                    .await
                    .map_err(err)?;
                let spec = d.spec.unwrap_or_default();
                let st = d.status.unwrap_or_default();
                json!({"kind": "Deployment", "name": name, "namespace": ns, "replicas": spec.replicas,
                    "ready": st.ready_replicas, "updated": st.updated_replicas, "unavailable": st.unavailable_replicas,
                    "strategy": spec.strategy.and_then(|s| s.type_)})
            }
        };
        Ok(serde_json::to_string_pretty(&out).unwrap_or_default())
    }

    async fn events(&mut self) -> Result<String, String> {
        let client = self.client().await?;
        let ns = self.found.namespace.clone();
        let list = Api::<Event>::namespaced(client, &ns)
            .list(&ListParams::default().limit(500))
            .await
            .map_err(|e| super::contexts::scrub(&super::contexts::describe(&e)))?;
        let mine = |kind: &str, name: &str| {
            (kind == self.found.workload_kind && name == self.found.name)
                || (kind == "Pod" && self.found.pods.iter().any(|p| p == name))
        };
        let mut rows: Vec<super::store::EventRow> = list
            .items
            .iter()
            .map(super::store::EventRow::from_event)
            .filter(|e| mine(&e.involved.0, &e.involved.1))
            .collect();
        rows.sort_by_key(|e| e.last);
        let lines: Vec<String> = rows
            .iter()
            .rev()
            .take(30)
            .map(|e| {
                format!(
                    "{} {} {}/{} {} ×{}: {}",
                    e.last.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    e.type_,
                    e.involved.0,
                    e.involved.1,
                    e.reason,
                    e.count,
                    e.message
                )
            })
            .collect();
        Ok(if lines.is_empty() {
            "no events about this instance".into()
        } else {
            lines.join("\n")
        })
    }

    async fn log_tail(&mut self, args: &Value) -> Result<String, String> {
        let pod = self.pod_arg(args)?;
        let lines = args["lines"].as_i64().unwrap_or(50).clamp(1, LOG_TAIL_MAX);
        let client = self.client().await?;
        let params = LogParams {
            tail_lines: Some(lines),
            previous: args["previous"].as_bool().unwrap_or(false),
            timestamps: true,
            ..Default::default()
        };
        let api: Api<Pod> = Api::namespaced(client, &self.found.namespace);
        let reader = api
            .log_stream(&pod, &params)
            .await
            .map_err(|e| super::contexts::scrub(&super::contexts::describe(&e)))?;
        let mut out = Vec::new();
        let mut stream = reader.lines();
        while let Some(Ok(l)) = stream.next().await {
            out.push(l);
            if out.len() as i64 >= lines {
                break;
            }
        }
        Ok(if out.is_empty() {
            format!("{pod}: no log lines")
        } else {
            out.join("\n")
        })
    }
}

impl ToolRunner for KubeTools {
    fn specs(&self) -> Vec<ToolSpec> {
        let pods = json!({"type": "string", "enum": self.found.pods});
        vec![
            ToolSpec {
                name: "k8s_describe".into(),
                description: format!(
                    "Describe the instance's {} `{}` (no `pod`), or one of its pods: status, restarts, last termination, resources, probes, conditions.",
                    self.found.workload_kind, self.found.name
                ),
                parameters: json!({"type": "object", "properties": {"pod": pods}}),
            },
            ToolSpec {
                name: "k8s_events".into(),
                description: "The newest Kubernetes events about the instance's workload and pods (up to 30).".into(),
                parameters: json!({"type": "object", "properties": {}}),
            },
            ToolSpec {
                name: "k8s_log_tail".into(),
                description: format!("The last lines (at most {LOG_TAIL_MAX}) of one pod's log, or of its previous container."),
                parameters: json!({"type": "object", "properties": {"pod": pods, "lines": {"type": "integer", "minimum": 1, "maximum": LOG_TAIL_MAX}, "previous": {"type": "boolean"}}}),
            },
        ]
    }

    fn call<'a>(
        &'a mut self,
        name: &'a str,
        args: &'a Value,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            match name {
                "k8s_describe" => self.describe(args).await,
                "k8s_events" => self.events().await,
                "k8s_log_tail" => self.log_tail(args).await,
                other => Err(format!("unknown tool `{other}`")),
            }
        })
    }
}

/// Several tool runners as one: the plugin's and the Kubernetes ones of a discovered instance.
pub struct ToolSet(pub Vec<Box<dyn ToolRunner>>);

impl ToolRunner for ToolSet {
    fn specs(&self) -> Vec<ToolSpec> {
        self.0.iter().flat_map(|t| t.specs()).collect()
    }

    fn call<'a>(
        &'a mut self,
        name: &'a str,
        args: &'a Value,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            for t in self.0.iter_mut() {
                if t.specs().iter().any(|s| s.name == name) {
                    return t.call(name, args).await;
                }
            }
            Err(format!("unknown tool `{name}`"))
        })
    }
}
