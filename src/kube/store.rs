//! What the program knows of one cluster: compact rows of its Pods, StatefulSets, Deployments,
//! Services and recent Events, kept up to date by the watchers (`watch.rs`). Rows are keyed by
//! `(namespace, name)` in B-trees, so the table order is kept as events arrive: a watch event
//! for one pod changes one row and never re-sorts the table.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Container, Event, Pod, PodTemplateSpec, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

/// k8s-openapi's timestamps (jiff) as the chrono times the rest of the program uses.
pub fn to_chrono(t: &k8s_openapi::jiff::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond().max(0) as u32)
}

/// `(namespace, name)`.
pub type ObjectKey = (String, String);

/// One pod, as the table and the rules need it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodRow {
    pub namespace: String,
    pub name: String,
    /// `status.phase`: Pending, Running, Succeeded, Failed, Unknown.
    pub phase: String,
    /// What `kubectl get pods` shows as STATUS: a waiting or terminated reason of a container
    /// (CrashLoopBackOff, ImagePullBackOff, OOMKilled …), `Terminating`, else the phase.
    pub status: String,
    pub ready: u16,
    pub containers: u16,
    pub restarts: u32,
    pub created: Option<DateTime<Utc>>,
    pub node: Option<String>,
    pub pod_ip: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub images: Vec<String>,
    /// Declared container ports.
    pub ports: Vec<u16>,
    /// `(kind, name)` of the controlling workload: a StatefulSet, or the Deployment behind a
    /// ReplicaSet.
    pub owner: Option<(String, String)>,
    /// A container's last termination reason (`OOMKilled`, `Error` …).
    pub last_terminated: Option<String>,
    /// The scheduler's message when the pod is unschedulable.
    pub unschedulable: Option<String>,
    pub deleting: bool,
    /// CPU millicores and memory bytes from `metrics.k8s.io`.
    pub cpu_millis: Option<u64>,
    pub memory_bytes: Option<u64>,
}

impl PodRow {
    /// The row of a pod object.
    pub fn from_pod(pod: &Pod) -> PodRow {
        // Borrowed, not cloned: this runs for every pod of every list and watch event.
        let meta = &pod.metadata;
        let no_status = k8s_openapi::api::core::v1::PodStatus::default();
        let status = pod.status.as_ref().unwrap_or(&no_status);
        let containers: &[Container] = pod.spec.as_ref().map_or(&[], |s| &s.containers);
        let statuses: &[k8s_openapi::api::core::v1::ContainerStatus] =
            status.container_statuses.as_deref().unwrap_or(&[]);
        let phase = status.phase.clone().unwrap_or_else(|| "Unknown".into());
        let labels = meta.labels.clone().unwrap_or_default();
        let waiting = statuses
            .iter()
            .filter_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
            .find(|r| r != "ContainerCreating" || phase != "Running");
        let terminated_now = statuses
            .iter()
            .filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.reason.clone())
            .next();
        let last_terminated = statuses
            .iter()
            .filter_map(|c| c.last_state.as_ref()?.terminated.as_ref()?.reason.clone())
            .next();
        let unschedulable = status
            .conditions
            .iter()
            .flatten()
            .find(|c| {
                c.type_ == "PodScheduled"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("Unschedulable")
            })
            .map(|c| c.message.clone().unwrap_or_else(|| "Unschedulable".into()));
        let deleting = meta.deletion_timestamp.is_some();
        let shown = if deleting {
            "Terminating".to_string()
        } else {
            waiting.or(terminated_now).unwrap_or_else(|| phase.clone())
        };
        let owner = meta
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
            .map(|o| {
                if o.kind == "ReplicaSet"
                    && let Some(hash) = labels.get("pod-template-hash")
                    && let Some(deploy) = o.name.strip_suffix(&format!("-{hash}"))
                {
                    ("Deployment".to_string(), deploy.to_string())
                } else {
                    (o.kind.clone(), o.name.clone())
                }
            });
        PodRow {
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            status: shown,
            phase,
            ready: statuses.iter().filter(|c| c.ready).count() as u16,
            containers: containers.len().max(statuses.len()) as u16,
            restarts: statuses.iter().fold(0u32, |sum, c| {
                sum.saturating_add(c.restart_count.max(0) as u32)
            }),
            created: meta
                .creation_timestamp
                .as_ref()
                .and_then(|t| to_chrono(&t.0)),
            node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
            pod_ip: status.pod_ip.clone(),
            images: images_of(containers),
            ports: ports_of(containers),
            labels,
            owner,
            last_terminated,
            unschedulable,
            deleting,
            cpu_millis: None,
            memory_bytes: None,
        }
    }

    /// Ready and not being deleted: a port-forward can go to it.
    pub fn is_ready(&self) -> bool {
        self.phase == "Running"
            && !self.deleting
            && self.containers > 0
            && self.ready == self.containers
    }
}

/// A StatefulSet or Deployment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WorkloadRow {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub replicas: i32,
    pub ready: i32,
    pub labels: BTreeMap<String, String>,
    pub selector: BTreeMap<String, String>,
    pub images: Vec<String>,
    pub ports: Vec<u16>,
    /// A StatefulSet's governing Service.
    pub service_name: Option<String>,
    pub generation: i64,
}

impl WorkloadRow {
    pub fn from_statefulset(s: &StatefulSet) -> WorkloadRow {
        let spec = s.spec.as_ref();
        Self::of(
            "StatefulSet",
            &s.metadata,
            spec.and_then(|x| x.replicas),
            s.status.as_ref().and_then(|x| x.ready_replicas),
            spec.map(|x| (&x.template, &x.selector)),
            spec.and_then(|x| x.service_name.clone()),
        )
    }

    pub fn from_deployment(d: &Deployment) -> WorkloadRow {
        let spec = d.spec.as_ref();
        Self::of(
            "Deployment",
            &d.metadata,
            spec.and_then(|x| x.replicas),
            d.status.as_ref().and_then(|x| x.ready_replicas),
            spec.map(|x| (&x.template, &x.selector)),
            None,
        )
    }

    /// The row from the parts both workload kinds have.
    fn of(
        kind: &'static str,
        meta: &ObjectMeta,
        replicas: Option<i32>,
        ready: Option<i32>,
        template: Option<(&PodTemplateSpec, &LabelSelector)>,
        service_name: Option<String>,
    ) -> WorkloadRow {
        let containers: &[Container] = template
            .and_then(|(t, _)| t.spec.as_ref())
            .map_or(&[], |s| &s.containers);
        WorkloadRow {
            kind,
            namespace: meta.namespace.clone().unwrap_or_default(),
            name: meta.name.clone().unwrap_or_default(),
            replicas: replicas.unwrap_or(1),
            ready: ready.unwrap_or(0),
            labels: merged_labels(
                &meta.labels,
                template.and_then(|(t, _)| t.metadata.as_ref()),
            ),
            selector: template
                .and_then(|(_, s)| s.match_labels.clone())
                .unwrap_or_default(),
            images: images_of(containers),
            ports: ports_of(containers),
            service_name,
            generation: meta.generation.unwrap_or(0),
        }
    }
}

fn images_of(containers: &[Container]) -> Vec<String> {
    containers.iter().filter_map(|c| c.image.clone()).collect()
}

fn ports_of(containers: &[Container]) -> Vec<u16> {
    containers
        .iter()
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| u16::try_from(p.container_port).ok())
        .collect()
}

/// The pod template's labels with the workload's own on top.
fn merged_labels(
    own: &Option<BTreeMap<String, String>>,
    template: Option<&ObjectMeta>,
) -> BTreeMap<String, String> {
    let mut out = template.and_then(|m| m.labels.clone()).unwrap_or_default();
    out.extend(own.iter().flatten().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// A Service.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceRow {
    pub namespace: String,
    pub name: String,
    pub selector: BTreeMap<String, String>,
    /// `(port, target port when numeric)`.
    pub ports: Vec<(u16, Option<u16>)>,
}

impl ServiceRow {
    pub fn from_service(s: &Service) -> ServiceRow {
        let spec = s.spec.clone().unwrap_or_default();
        ServiceRow {
            namespace: s.metadata.namespace.clone().unwrap_or_default(),
            name: s.metadata.name.clone().unwrap_or_default(),
            selector: spec.selector.clone().unwrap_or_default(),
            ports: spec
                .ports
                .iter()
                .flatten()
                .filter_map(|p| {
                    let port = u16::try_from(p.port).ok()?;
                    let target = match &p.target_port {
                        Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(t)) => {
                            u16::try_from(*t).ok()
                        }
                        _ => None,
                    };
                    Some((port, target))
                })
                .collect(),
        }
    }
}

/// An Event (the recent ones are kept).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EventRow {
    pub namespace: String,
    pub name: String,
    /// `Normal` or `Warning`.
    pub type_: String,
    pub reason: String,
    pub message: String,
    /// `(kind, name)` of the object the event is about.
    pub involved: (String, String),
    pub count: i32,
    pub last: Option<DateTime<Utc>>,
}

impl EventRow {
    pub fn from_event(e: &Event) -> EventRow {
        let last = e
            .last_timestamp
            .as_ref()
            .and_then(|t| to_chrono(&t.0))
            .or_else(|| e.event_time.as_ref().and_then(|t| to_chrono(&t.0)))
            .or_else(|| {
                e.metadata
                    .creation_timestamp
                    .as_ref()
                    .and_then(|t| to_chrono(&t.0))
            });
        EventRow {
            namespace: e.metadata.namespace.clone().unwrap_or_default(),
            name: e.metadata.name.clone().unwrap_or_default(),
            type_: e.type_.clone().unwrap_or_default(),
            reason: e.reason.clone().unwrap_or_default(),
            message: e.message.clone().unwrap_or_default(),
            involved: (
                e.involved_object.kind.clone().unwrap_or_default(),
                e.involved_object.name.clone().unwrap_or_default(),
            ),
            count: e.count.unwrap_or(1),
            last,
        }
    }
}

/// The resources watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    Pods,
    StatefulSets,
    Deployments,
    Services,
    Events,
}

impl Resource {
    pub const ALL: [Resource; 5] = [
        Resource::Pods,
        Resource::StatefulSets,
        Resource::Deployments,
        Resource::Services,
        Resource::Events,
    ];

    pub fn plural(self) -> &'static str {
        match self {
            Resource::Pods => "pods",
            Resource::StatefulSets => "statefulsets",
            Resource::Deployments => "deployments",
            Resource::Services => "services",
            Resource::Events => "events",
        }
    }
}

/// One change to the store (the watchers send these in batches).
#[derive(Debug, Clone, PartialEq)]
pub enum StoreUpdate {
    /// A (re-)list of this resource (in one namespace, or all) begins: its rows not seen again
    /// before `Synced` are removed.
    Relist(Resource, Option<String>),
    /// The list is complete.
    Synced(Resource, Option<String>),
    Pod(PodRow),
    PodDeleted(ObjectKey),
    Workload(WorkloadRow),
    WorkloadDeleted(&'static str, ObjectKey),
    Service(ServiceRow),
    ServiceDeleted(ObjectKey),
    Event(EventRow),
    /// A watcher's error (a 403, a malformed object, a dropped stream); it retries by itself.
    WatchError(Resource, String),
    /// `metrics.k8s.io`: `None` when the API is absent, else `(namespace, pod) → (mcpu, bytes)`.
    Metrics(Option<Vec<(ObjectKey, u64, u64)>>),
}

/// Whether `metrics.k8s.io` answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricsState {
    #[default]
    Unknown,
    Absent,
    Present,
}

/// Keep at most this many events.
pub const EVENT_LIMIT: usize = 2000;

/// One cluster's objects.
#[derive(Debug, Clone, Default)]
pub struct ClusterStore {
    pub pods: BTreeMap<ObjectKey, PodRow>,
    pub statefulsets: BTreeMap<ObjectKey, WorkloadRow>,
    pub deployments: BTreeMap<ObjectKey, WorkloadRow>,
    pub services: BTreeMap<ObjectKey, ServiceRow>,
    pub events: VecDeque<EventRow>,
    /// Resources whose initial list is complete.
    pub synced: BTreeSet<Resource>,
    /// The last error of each watcher (cleared when it syncs again).
    pub errors: BTreeMap<Resource, String>,
    pub metrics: MetricsState,
    /// Bumped on every change (render and discovery caches key on it).
    pub generation: u64,
    /// Namespaces changed since [`ClusterStore::take_dirty`] (discovery reruns only there);
    /// `None` = everything (a re-list, metrics).
    dirty: Option<BTreeSet<String>>,
    relisting: BTreeMap<(Resource, Option<String>), BTreeSet<ObjectKey>>,
}

impl ClusterStore {
    /// Applies one update.
    pub fn apply(&mut self, update: StoreUpdate) {
        self.generation += 1;
        let ns = match &update {
            StoreUpdate::Pod(r) => Some(r.namespace.as_str()),
            StoreUpdate::PodDeleted(k)
            | StoreUpdate::ServiceDeleted(k)
            | StoreUpdate::WorkloadDeleted(_, k) => Some(k.0.as_str()),
            StoreUpdate::Workload(w) => Some(w.namespace.as_str()),
            StoreUpdate::Service(r) => Some(r.namespace.as_str()),
            StoreUpdate::Event(e) => Some(e.namespace.as_str()),
            StoreUpdate::WatchError(..) => Some(""),
            _ => None,
        };
        match (ns, &mut self.dirty) {
            (Some(""), _) => {}
            (Some(n), Some(set)) => {
                if !set.contains(n) {
                    set.insert(n.to_string());
                }
            }
            (Some(_), None) => {}
            (None, d) => *d = None,
        }
        match update {
            StoreUpdate::Relist(r, ns) => {
                self.relisting.insert((r, ns), BTreeSet::new());
            }
            StoreUpdate::Synced(r, ns) => {
                if let Some(seen) = self.relisting.remove(&(r, ns.clone())) {
                    let keep =
                        |k: &ObjectKey| seen.contains(k) || ns.as_ref().is_some_and(|n| *n != k.0);
                    match r {
                        Resource::Pods => self.pods.retain(|k, _| keep(k)),
                        Resource::StatefulSets => self.statefulsets.retain(|k, _| keep(k)),
                        Resource::Deployments => self.deployments.retain(|k, _| keep(k)),
                        Resource::Services => self.services.retain(|k, _| keep(k)),
                        Resource::Events => self.events.retain(|e| {
                            ns.as_ref().is_some_and(|n| *n != e.namespace)
                                || seen.contains(&(e.namespace.clone(), e.name.clone()))
                        }),
                    }
                }
                self.synced.insert(r);
                self.errors.remove(&r);
            }
            StoreUpdate::Pod(mut row) => {
                let key = (row.namespace.clone(), row.name.clone());
                self.seen(Resource::Pods, &key);
                if let Some(old) = self.pods.get(&key) {
                    row.cpu_millis = old.cpu_millis;
                    row.memory_bytes = old.memory_bytes;
                }
                self.pods.insert(key, row);
            }
            StoreUpdate::PodDeleted(key) => {
                self.pods.remove(&key);
            }
            StoreUpdate::Workload(row) => {
                let key = (row.namespace.clone(), row.name.clone());
                let r = if row.kind == "StatefulSet" {
                    Resource::StatefulSets
                } else {
                    Resource::Deployments
                };
                self.seen(r, &key);
                match r {
                    Resource::StatefulSets => self.statefulsets.insert(key, row),
                    _ => self.deployments.insert(key, row),
                };
            }
            StoreUpdate::WorkloadDeleted(kind, key) => {
                if kind == "StatefulSet" {
                    self.statefulsets.remove(&key);
                } else {
                    self.deployments.remove(&key);
                }
            }
            StoreUpdate::Service(row) => {
                let key = (row.namespace.clone(), row.name.clone());
                self.seen(Resource::Services, &key);
                self.services.insert(key, row);
            }
            StoreUpdate::ServiceDeleted(key) => {
                self.services.remove(&key);
            }
            StoreUpdate::Event(row) => {
                self.seen(Resource::Events, &(row.namespace.clone(), row.name.clone()));
                // One row per event object: a repeated event updates its count.
                if let Some(pos) = self
                    .events
                    .iter()
                    .position(|e| e.namespace == row.namespace && e.name == row.name)
                {
                    self.events.remove(pos);
                }
                self.events.push_back(row);
                while self.events.len() > EVENT_LIMIT {
                    self.events.pop_front();
                }
            }
            StoreUpdate::WatchError(r, e) => {
                self.errors.insert(r, e);
            }
            StoreUpdate::Metrics(None) => {
                self.metrics = MetricsState::Absent;
                for p in self.pods.values_mut() {
                    p.cpu_millis = None;
                    p.memory_bytes = None;
                }
            }
            StoreUpdate::Metrics(Some(figures)) => {
                self.metrics = MetricsState::Present;
                for (key, cpu, mem) in figures {
                    if let Some(p) = self.pods.get_mut(&key) {
                        p.cpu_millis = Some(cpu);
                        p.memory_bytes = Some(mem);
                    }
                }
            }
        }
    }

    fn seen(&mut self, r: Resource, key: &ObjectKey) {
        if self.relisting.is_empty() {
            return;
        }
        for ns in [None, Some(key.0.clone())] {
            if let Some(set) = self.relisting.get_mut(&(r, ns)) {
                set.insert(key.clone());
            }
        }
    }

    /// The namespaces changed since the last call (`None`: assume all), and start afresh.
    pub fn take_dirty(&mut self) -> Option<BTreeSet<String>> {
        self.dirty.replace(BTreeSet::new())
    }

    /// Every namespace that has an object, sorted.
    pub fn namespaces(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut add = |k: &ObjectKey| {
            if !out.contains(&k.0) {
                out.insert(k.0.clone());
            }
        };
        self.pods.keys().for_each(&mut add);
        self.statefulsets.keys().for_each(&mut add);
        self.deployments.keys().for_each(&mut add);
        self.services.keys().for_each(&mut add);
        out
    }

    /// Every resource's initial list is in.
    pub fn is_synced(&self) -> bool {
        Resource::ALL.iter().all(|r| self.synced.contains(r))
    }

    /// The pods of a namespace whose labels include all of `selector`.
    pub fn pods_matching<'a>(
        &'a self,
        namespace: &'a str,
        selector: &'a BTreeMap<String, String>,
    ) -> impl Iterator<Item = &'a PodRow> + 'a {
        self.pods
            .range((namespace.to_string(), String::new())..)
            .take_while(move |((ns, _), _)| ns == namespace)
            .map(|(_, p)| p)
            .filter(move |p| {
                !selector.is_empty() && selector.iter().all(|(k, v)| p.labels.get(k) == Some(v))
            })
    }
}
