//! Middleware discovery: which workloads of a cluster are Redis, MySQL/MariaDB, Kafka or
//! Elasticsearch, grouped as instances (a StatefulSet or Deployment with its pods and Service is
//! one instance; a pod without a controller is one on its own).
//!
//! Evidence, strongest first: well-known labels (`app.kubernetes.io/name`, `app`, operator
//! labels of Strimzi, ECK, the MySQL and Percona operators), the container image, then the
//! port. Exporter side-cars (`redis_exporter`, `mysqld-exporter` …) are not evidence.

use std::collections::{BTreeMap, BTreeSet};

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

/// How a kind is recognised in a cluster: each plugin's descriptor holds one, and discovery
/// is given them all (discovery knows no kind by itself).
#[derive(Debug, Clone, Copy)]
pub struct DiscoveryHints {
    /// The kind these hints find.
    pub kind: InstanceKind,
    /// Words that, within a label value or an image's repository name, mean this kind
    /// (`redis`, `valkey`).
    pub names: &'static [&'static str],
    /// Operator labels that alone identify the kind, with the evidence to show (Strimzi's,
    /// ECK's …); checked before the generic labels.
    pub operator_labels: fn(&BTreeMap<String, String>) -> Option<String>,
    /// Container ports that mean this kind, the client port first (the one connected to).
    pub ports: &'static [u16],
}

impl DiscoveryHints {
    /// Hints without operator labels.
    pub fn no_operator_labels(_: &BTreeMap<String, String>) -> Option<String> {
        None
    }

    fn client_port(&self) -> u16 {
        self.ports.first().copied().unwrap_or(0)
    }
}

/// A name (a label value or an image's repository) as a kind.
fn kind_of_name(name: &str, hints: &[&DiscoveryHints]) -> Option<InstanceKind> {
    let n = name.to_ascii_lowercase();
    if n.contains("exporter") || n.contains("sentinel") || n.contains("operator") {
        return None;
    }
    hints
        .iter()
        .find(|h| h.names.iter().any(|word| n.contains(word)))
        .map(|h| h.kind)
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

/// The kind and the evidence for it, from labels, images and ports, by the kinds' `hints`.
pub fn classify(
    labels: &BTreeMap<String, String>,
    images: &[String],
    ports: &[u16],
    hints: &[&DiscoveryHints],
) -> Option<(InstanceKind, String)> {
    for h in hints {
        if let Some(evidence) = (h.operator_labels)(labels) {
            return Some((h.kind, evidence));
        }
    }
    for l in LABELS {
        if let Some(v) = labels.get(l)
            && let Some(k) = kind_of_name(v, hints)
        {
            return Some((k, format!("label {l}={v}")));
        }
    }
    for image in images {
        if let Some(k) = kind_of_name(image_name(image), hints) {
            return Some((k, format!("image {image}")));
        }
    }
    for h in hints {
        if let Some(port) = h.ports.iter().find(|p| ports.contains(p)) {
            return Some((h.kind, format!("port {port}")));
        }
    }
    None
}

/// The port to connect to: the kind's client port when the workload declares it (or declares
/// none), else its first declared port.
fn port_for(kind: InstanceKind, ports: &[u16], hints: &[&DiscoveryHints]) -> u16 {
    let d = hints
        .iter()
        .find(|h| h.kind == kind)
        .map_or(0, |h| h.client_port());
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
pub fn discover(store: &ClusterStore, hints: &[&DiscoveryHints]) -> Vec<Discovered> {
    discover_where(store, None, hints)
}

/// The middleware instances of one namespace (what a watch event there can change).
pub fn discover_in(
    store: &ClusterStore,
    namespace: &str,
    hints: &[&DiscoveryHints],
) -> Vec<Discovered> {
    discover_where(store, Some(namespace), hints)
}

fn in_ns<'a, V>(
    map: &'a BTreeMap<(String, String), V>,
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

fn discover_where(
    store: &ClusterStore,
    namespace: Option<&str>,
    hints: &[&DiscoveryHints],
) -> Vec<Discovered> {
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
        let Some((kind, evidence)) = classify(&w.labels, &w.images, &w.ports, hints) else {
            continue;
        };
        let (names, ready, restarts) = summarize(&pods);
        out.push(Discovered {
            kind,
            namespace: w.namespace.clone(),
            name: w.name.clone(),
            workload_kind: w.kind,
            service: service_for(store, w),
            port: port_for(kind, &w.ports, hints),
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
        let Some((kind, evidence)) = classify(&p.labels, &p.images, &p.ports, hints) else {
            continue;
        };
        let (names, ready, restarts) = summarize(&[p]);
        out.push(Discovered {
            kind,
            namespace: p.namespace.clone(),
            name: p.name.clone(),
            workload_kind: "Pod",
            service: None,
            port: port_for(kind, &p.ports, hints),
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

    const POSTGRES: InstanceKind = InstanceKind::from_static("postgres");

    fn zalando(labels: &BTreeMap<String, String>) -> Option<String> {
        labels
            .contains_key("cluster-name")
            .then(|| "label cluster-name".into())
    }

    /// Discovery knows kinds only by the hints it is given.
    #[test]
    fn a_kind_is_found_by_its_hints_alone() {
        let hints = DiscoveryHints {
            kind: POSTGRES,
            names: &["postgres", "postgis"],
            operator_labels: zalando,
            ports: &[5432],
        };
        let given = [&hints];
        let no_labels = BTreeMap::new();
        let image = vec!["docker.io/postgis/postgis:16".to_string()];
        assert_eq!(
            classify(&no_labels, &image, &[], &given),
            Some((POSTGRES, "image docker.io/postgis/postgis:16".into()))
        );
        let labels: BTreeMap<String, String> =
            [("cluster-name".to_string(), "x".to_string())].into();
        assert_eq!(
            classify(&labels, &[], &[], &given).unwrap().1,
            "label cluster-name"
        );
        assert_eq!(
            classify(&no_labels, &[], &[5432], &given),
            Some((POSTGRES, "port 5432".into()))
        );
        assert_eq!(classify(&no_labels, &image, &[5432], &[]), None);
        let exporter = vec!["prometheuscommunity/postgres-exporter:v0.15".to_string()];
        assert_eq!(classify(&no_labels, &exporter, &[], &given), None);
        assert_eq!(port_for(POSTGRES, &[], &given), 5432);
        assert_eq!(port_for(POSTGRES, &[8008, 5433], &given), 8008);
    }
}
