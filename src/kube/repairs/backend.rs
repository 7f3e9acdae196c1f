//! The executor's backend for Kubernetes steps: GETs, access reviews and server-side dry runs
//! before the confirmation, then the one write — each through a kube client for the plan's
//! context, every command checked against the catalogue's `K8S` verbs.

use super::*;

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
        crate::kube::contexts::lazy_client(&mut self.client, &self.kubeconfig, &self.context)
            .await
            .map_err(PluginError::Config)
    }

    fn err(&self, e: kube::Error) -> PluginError {
        let text = crate::kube::contexts::scrub(&crate::kube::contexts::describe(&e));
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
                        let row = crate::kube::store::PodRow::from_pod(&p);
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
                    let access = crate::kube::access::Access {
                        verb: static_verb(verb),
                        group: if group.is_empty() { "" } else { "apps" },
                        resource: static_resource(resource),
                        subresource: None,
                        namespace: ns.to_string(),
                        name: None,
                    };
                    crate::kube::access::check(&client, &access)
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
