//! Middleware discovery: which workloads of a cluster are Redis, MySQL/MariaDB, Kafka or
//! Elasticsearch, grouped as instances (a StatefulSet or Deployment with its pods and Service is
//! one instance; a pod without a controller is one on its own).
//!
//! Evidence, strongest first: well-known labels (`app.kubernetes.io/name`, `app`, operator
//! labels of Strimzi, ECK, the MySQL and Percona operators), the container image, then the
//! port. Exporter side-cars (`redis_exporter`, `mysqld-exporter` …) are not evidence.

use std::collections::BTreeSet;

use super::store::{ClusterStore, PodRow, WorkloadRow};
use crate::config::InstanceKind;

/// One discovered instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovered {
    pub kind: InstanceKind,
    pub namespace: String,
    /// The workload's name (or the pod's, for a pod without a controller).
    pub name: String,
    /// `StatefulSet`, `Deployment` or `Pod`.
    pub workload_kind: &'static str,
    /// The Service in front of it, if one selects its pods.
    pub service: Option<String>,
    /// The container port the plugin talks to.
    pub port: u16,
    /// `key=value,…` selecting its pods (empty for a pod on its own).
    pub selector: String,
    /// Its pods, by name (sorted).
    pub pods: Vec<String>,
    pub ready: usize,
    pub restarts: u32,
    /// Why it was recognised, for the inventory's detail line.
    pub evidence: String,
}

impl Discovered {
    /// The same instance: namespace, workload kind and name.
    pub fn same(&self, other: &Discovered) -> bool {
        self.name == other.name
            && self.namespace == other.namespace
            && self.workload_kind == other.workload_kind
    }
}

fn default_port(kind: InstanceKind) -> u16 {
    match kind {
        InstanceKind::Redis => 6379,
        InstanceKind::Mysql => 3306,
        InstanceKind::Kafka => 9092,
        InstanceKind::Elasticsearch => 9200,
    }
}

/// A name (a label value or an image's repository) as a kind.
fn kind_of_name(name: &str) -> Option<InstanceKind> {
    let n = name.to_ascii_lowercase();
    if n.contains("exporter") || n.contains("sentinel") || n.contains("operator") {
        return None;
    }
    if n.contains("redis") || n.contains("valkey") {
        Some(InstanceKind::Redis)
    } else if n.contains("mysql") || n.contains("mariadb") || n.contains("percona") {
        Some(InstanceKind::Mysql)
    } else if n.contains("kafka") {
        Some(InstanceKind::Kafka)
    } else if n.contains("elasticsearch") || n.contains("opensearch") {
        Some(InstanceKind::Elasticsearch)
    } else {
        None
    }
}

/// The repository part of an image reference: `docker.io/bitnami/redis:7.2@sha…` → `redis`.
fn image_name(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last)
}

const LABELS: [&str; 4] = [
    "app.kubernetes.io/name",
    "app",
    "app.kubernetes.io/component",
    "k8s-app",
];

/// The kind and the evidence for it, from labels, images and ports.
pub fn classify(
    labels: &std::collections::BTreeMap<String, String>,
    images: &[String],
    ports: &[u16],
) -> Option<(InstanceKind, String)> {
    if labels.get("strimzi.io/kind").map(String::as_str) == Some("Kafka")
        && labels
            .get("strimzi.io/name")
            .is_some_and(|n| n.ends_with("-kafka"))
    {
        return Some((InstanceKind::Kafka, "label strimzi.io/kind=Kafka".into()));
    }
    if labels.get("common.k8s.elastic.co/type").map(String::as_str) == Some("elasticsearch") {
        return Some((
            InstanceKind::Elasticsearch,
            "label common.k8s.elastic.co/type=elasticsearch".into(),
        ));
    }
    if labels.contains_key("mysql.oracle.com/cluster") {
        return Some((InstanceKind::Mysql, "label mysql.oracle.com/cluster".into()));
    }
    for l in LABELS {
        if let Some(v) = labels.get(l)
            && let Some(k) = kind_of_name(v)
        {
            return Some((k, format!("label {l}={v}")));
        }
    }
    for image in images {
        if let Some(k) = kind_of_name(image_name(image)) {
            return Some((k, format!("image {image}")));
        }
    }
    for (port, kind) in [
        (6379, InstanceKind::Redis),
        (3306, InstanceKind::Mysql),
        (9092, InstanceKind::Kafka),
        (9200, InstanceKind::Elasticsearch),
    ] {
        if ports.contains(&port) {
            return Some((kind, format!("port {port}")));
        }
    }
    None
}

fn port_for(kind: InstanceKind, ports: &[u16]) -> u16 {
    let d = default_port(kind);
    if ports.contains(&d) || ports.is_empty() {
        d
    } else {
        // Kafka often declares 9093/9094 besides the client port; prefer the default if any.
        ports[0]
    }
}

fn summarize(pods: &[&PodRow]) -> (Vec<String>, usize, u32) {
    let mut names: Vec<String> = pods.iter().map(|p| p.name.clone()).collect();
    names.sort();
    let ready = pods.iter().filter(|p| p.is_ready()).count();
    let restarts = pods
        .iter()
        .fold(0u32, |sum, p| sum.saturating_add(p.restarts));
    (names, ready, restarts)
}

/// The Service selecting these pod labels (a StatefulSet's governing Service first).
fn service_for(store: &ClusterStore, w: &WorkloadRow) -> Option<String> {
    if let Some(s) = &w.service_name
        && store
            .services
            .contains_key(&(w.namespace.clone(), s.clone()))
    {
        return Some(s.clone());
    }
    store
        .services
        .range((w.namespace.clone(), String::new())..)
        .take_while(|((ns, _), _)| *ns == w.namespace)
        .find(|(_, s)| {
            !s.selector.is_empty() && s.selector.iter().all(|(k, v)| w.labels.get(k) == Some(v))
        })
        .map(|((_, n), _)| n.clone())
}

/// Every middleware instance of the store, sorted by namespace then name.
pub fn discover(store: &ClusterStore) -> Vec<Discovered> {
    discover_where(store, None)
}

/// The middleware instances of one namespace (what a watch event there can change).
pub fn discover_in(store: &ClusterStore, namespace: &str) -> Vec<Discovered> {
    discover_where(store, Some(namespace))
}

fn in_ns<'a, V>(
    map: &'a std::collections::BTreeMap<(String, String), V>,
    namespace: Option<&'a str>,
) -> Box<dyn Iterator<Item = &'a V> + 'a> {
    match namespace {
        None => Box::new(map.values()),
        Some(ns) => Box::new(
            map.range((ns.to_string(), String::new())..)
                .take_while(move |((n, _), _)| n == ns)
                .map(|(_, v)| v),
        ),
    }
}

fn discover_where(store: &ClusterStore, namespace: Option<&str>) -> Vec<Discovered> {
    let mut out = Vec::new();
    let mut owned: BTreeSet<(String, String)> = BTreeSet::new();
    for w in in_ns(&store.statefulsets, namespace).chain(in_ns(&store.deployments, namespace)) {
        let pods: Vec<&PodRow> = store
            .pods
            .range((w.namespace.clone(), String::new())..)
            .take_while(|((ns, _), _)| *ns == w.namespace)
            .map(|(_, p)| p)
            .filter(|p| {
                p.owner
                    .as_ref()
                    .is_some_and(|(k, n)| k == w.kind && *n == w.name)
            })
            .collect();
        for p in &pods {
            owned.insert((p.namespace.clone(), p.name.clone()));
        }
        let Some((kind, evidence)) = classify(&w.labels, &w.images, &w.ports) else {
            continue;
        };
        let (names, ready, restarts) = summarize(&pods);
        out.push(Discovered {
            kind,
            namespace: w.namespace.clone(),
            name: w.name.clone(),
            workload_kind: w.kind,
            service: service_for(store, w),
            port: port_for(kind, &w.ports),
            selector: w
                .selector
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
            pods: names,
            ready,
            restarts,
            evidence,
        });
    }
    for p in in_ns(&store.pods, namespace) {
        if owned.contains(&(p.namespace.clone(), p.name.clone()))
            || p.owner
                .as_ref()
                .is_some_and(|(k, _)| k == "StatefulSet" || k == "Deployment")
        {
            // Its workload is (or will be) listed; a pod of a Job or a DaemonSet is not.
            continue;
        }
        if p.owner.is_some() {
            continue;
        }
        let Some((kind, evidence)) = classify(&p.labels, &p.images, &p.ports) else {
            continue;
        };
        let (names, ready, restarts) = summarize(&[p]);
        out.push(Discovered {
            kind,
            namespace: p.namespace.clone(),
            name: p.name.clone(),
            workload_kind: "Pod",
            service: None,
            port: port_for(kind, &p.ports),
            selector: String::new(),
            pods: names,
            ready,
            restarts,
            evidence,
        });
    }
    out.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn evidence_order() {
        let l = labels(&[("app.kubernetes.io/name", "redis")]);
        assert_eq!(
            classify(&l, &[], &[]).unwrap(),
            (
                InstanceKind::Redis,
                "label app.kubernetes.io/name=redis".into()
            )
        );
        let img = vec!["docker.io/bitnami/mariadb:10.11@sha256:abc".to_string()];
        assert_eq!(
            classify(&BTreeMap::new(), &img, &[]).unwrap().0,
            InstanceKind::Mysql
        );
        let exporter = vec!["oliver006/redis_exporter:v1.62".to_string()];
        assert_eq!(classify(&BTreeMap::new(), &exporter, &[]), None);
        assert_eq!(
            classify(&BTreeMap::new(), &["busybox".into()], &[9200]).unwrap(),
            (InstanceKind::Elasticsearch, "port 9200".into())
        );
        let strimzi = labels(&[
            ("strimzi.io/kind", "Kafka"),
            ("strimzi.io/name", "events-kafka"),
        ]);
        assert_eq!(classify(&strimzi, &[], &[]).unwrap().0, InstanceKind::Kafka);
        assert_eq!(
            classify(&labels(&[("app", "nginx")]), &["nginx:1.27".into()], &[80]),
            None
        );
    }
}
