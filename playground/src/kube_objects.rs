//! k8s-openapi objects for the in-process API server: the tests, the benchmarks and the demo
//! build their clusters from these (typed objects, serialised by serde — no JSON by hand).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetStatus};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, ContainerState, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, Event, ObjectReference, Pod, PodCondition, PodSpec, PodStatus,
    PodTemplateSpec, Secret, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, ObjectMeta, OwnerReference, Time,
};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn now() -> Time {
    // Through chrono: jiff's own clock needs its `std` feature, which only the cockpit's
    // dependencies turn on (this crate must build alone too).
    use k8s_openapi::jiff::Timestamp;
    let millis = chrono::Utc::now().timestamp_millis();
    Time(Timestamp::from_millisecond(millis).unwrap_or(Timestamp::UNIX_EPOCH))
}

fn meta(namespace: &str, name: &str, l: &[(&str, &str)]) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(namespace.into()),
        labels: (!l.is_empty()).then(|| labels(l)),
        creation_timestamp: Some(now()),
        ..Default::default()
    }
}

fn container(image: &str, port: u16) -> Container {
    Container {
        name: "main".into(),
        image: Some(image.into()),
        ports: Some(vec![ContainerPort {
            container_port: i32::from(port),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

/// A StatefulSet of `replicas` pods running `image` on `port`, labelled `app.kubernetes.io/name`.
pub fn statefulset(
    namespace: &str,
    name: &str,
    app: &str,
    image: &str,
    port: u16,
    replicas: i32,
) -> StatefulSet {
    let l = [
        ("app.kubernetes.io/name", app),
        ("app.kubernetes.io/instance", name),
    ];
    StatefulSet {
        metadata: meta(namespace, name, &l),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some(name.into()),
            selector: LabelSelector {
                match_labels: Some(labels(&l)),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(&l)),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![container(image, port)],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: Some(StatefulSetStatus {
            replicas,
            ready_replicas: Some(replicas),
            ..Default::default()
        }),
    }
}

/// How a pod is doing.
#[derive(Debug, Clone, PartialEq)]
pub enum PodHealth {
    Ready,
    /// Running but its readiness probe fails.
    NotReady,
    /// Waiting in CrashLoopBackOff with this many restarts, last killed for `OOMKilled` or not.
    CrashLoop {
        restarts: i32,
        oom: bool,
    },
    /// Pending: the scheduler cannot place it.
    Unschedulable,
}

/// Pod `index` of a StatefulSet made by [`statefulset`] (same labels, owned by it).
pub fn statefulset_pod(
    namespace: &str,
    set: &str,
    app: &str,
    image: &str,
    port: u16,
    index: usize,
    health: PodHealth,
) -> Pod {
    let name = format!("{set}-{index}");
    let mut p = pod(
        namespace,
        &name,
        image,
        port,
        &[
            ("app.kubernetes.io/name", app),
            ("app.kubernetes.io/instance", set),
        ],
        health,
    );
    p.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "apps/v1".into(),
        kind: "StatefulSet".into(),
        name: set.into(),
        uid: format!("uid-{set}"),
        controller: Some(true),
        ..Default::default()
    }]);
    p
}

/// A pod with one container.
pub fn pod(
    namespace: &str,
    name: &str,
    image: &str,
    port: u16,
    l: &[(&str, &str)],
    health: PodHealth,
) -> Pod {
    let ready = health == PodHealth::Ready;
    let (phase, state, last_state, restarts) = match &health {
        PodHealth::Ready | PodHealth::NotReady => (
            "Running",
            ContainerState {
                running: Some(Default::default()),
                ..Default::default()
            },
            None,
            0,
        ),
        PodHealth::CrashLoop { restarts, oom } => (
            "Running",
            ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: Some("CrashLoopBackOff".into()),
                    message: Some("back-off 5m0s restarting failed container".into()),
                }),
                ..Default::default()
            },
            Some(ContainerState {
                terminated: Some(ContainerStateTerminated {
                    reason: Some(if *oom { "OOMKilled" } else { "Error" }.into()),
                    exit_code: if *oom { 137 } else { 1 },
                    ..Default::default()
                }),
                ..Default::default()
            }),
            *restarts,
        ),
        PodHealth::Unschedulable => ("Pending", ContainerState::default(), None, 0),
    };
    let conditions = if health == PodHealth::Unschedulable {
        vec![PodCondition {
            type_: "PodScheduled".into(),
            status: "False".into(),
            reason: Some("Unschedulable".into()),
            message: Some("0/3 nodes are available: 3 Insufficient memory.".into()),
            ..Default::default()
        }]
    } else {
        vec![PodCondition {
            type_: "Ready".into(),
            status: if ready { "True" } else { "False" }.into(),
            ..Default::default()
        }]
    };
    Pod {
        metadata: meta(namespace, name, l),
        spec: Some(PodSpec {
            containers: vec![container(image, port)],
            node_name: (health != PodHealth::Unschedulable).then(|| "node-1".to_string()),
            ..Default::default()
        }),
        status: Some(PodStatus {
            phase: Some(phase.into()),
            pod_ip: Some("10.0.0.10".into()),
            conditions: Some(conditions),
            container_statuses: (health != PodHealth::Unschedulable).then(|| {
                vec![ContainerStatus {
                    name: "main".into(),
                    image: image.into(),
                    image_id: String::new(),
                    ready,
                    restart_count: restarts,
                    state: Some(state),
                    last_state,
                    ..Default::default()
                }]
            }),
            ..Default::default()
        }),
    }
}

/// A ClusterIP Service selecting `app.kubernetes.io/instance=NAME` on `port`.
pub fn service(namespace: &str, name: &str, port: u16) -> Service {
    Service {
        metadata: meta(namespace, name, &[]),
        spec: Some(ServiceSpec {
            selector: Some(labels(&[("app.kubernetes.io/instance", name)])),
            ports: Some(vec![ServicePort {
                port: i32::from(port),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// An Event about `kind/name`.
pub fn event(
    namespace: &str,
    kind: &str,
    name: &str,
    type_: &str,
    reason: &str,
    message: &str,
) -> Event {
    Event {
        metadata: meta(
            namespace,
            &format!("{name}.{}", reason.to_ascii_lowercase()),
            &[],
        ),
        involved_object: ObjectReference {
            kind: Some(kind.into()),
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            ..Default::default()
        },
        type_: Some(type_.into()),
        reason: Some(reason.into()),
        message: Some(message.into()),
        count: Some(1),
        last_timestamp: Some(now()),
        ..Default::default()
    }
}

/// A Secret with one key.
pub fn secret(namespace: &str, name: &str, key: &str, value: &str) -> Secret {
    Secret {
        metadata: meta(namespace, name, &[]),
        data: Some(BTreeMap::from([(
            key.to_string(),
            ByteString(value.as_bytes().to_vec()),
        )])),
        ..Default::default()
    }
}

/// A fleet: in each of `namespaces` namespaces (`team-000` …) a Redis StatefulSet of three
/// pods with its Service, and web pods up to `pods_per_namespace`. Every 50th web pod crash
/// loops, every 70th is pending.
pub fn fleet(
    namespaces: usize,
    pods_per_namespace: usize,
) -> (Vec<StatefulSet>, Vec<Pod>, Vec<Service>) {
    let (mut sets, mut pods, mut services) = (Vec::new(), Vec::new(), Vec::new());
    let image = "docker.io/bitnami/redis:7.2";
    let mut n = 0usize;
    for ns in 0..namespaces {
        let ns = format!("team-{ns:03}");
        sets.push(statefulset(&ns, "cache", "redis", image, 6379, 3));
        services.push(service(&ns, "cache", 6379));
        for i in 0..3.min(pods_per_namespace) {
            pods.push(statefulset_pod(
                &ns,
                "cache",
                "redis",
                image,
                6379,
                i,
                PodHealth::Ready,
            ));
        }
        for i in 3..pods_per_namespace {
            n += 1;
            let health = if n.is_multiple_of(50) {
                PodHealth::CrashLoop {
                    restarts: 12,
                    oom: n.is_multiple_of(100),
                }
            } else if n.is_multiple_of(70) {
                PodHealth::Unschedulable
            } else {
                PodHealth::Ready
            };
            pods.push(pod(
                &ns,
                &format!("web-{i:04}"),
                "nginx:1.27",
                80,
                &[("app", "web")],
                health,
            ));
        }
    }
    (sets, pods, services)
}

/// A Redis StatefulSet `namespace/name` of three pods (health by index) with its Service, put on
/// `api`; with `forward`, port-forwards to each pod reach that address (a real redis-server).
pub fn redis_statefulset(
    api: &crate::kube_api::KubeApi,
    namespace: &str,
    name: &str,
    health: impl Fn(usize) -> PodHealth,
    forward: Option<std::net::SocketAddr>,
) {
    const IMAGE: &str = "docker.io/bitnami/redis:7.2";
    api.apply(&statefulset(namespace, name, "redis", IMAGE, 6379, 3));
    for i in 0..3 {
        api.apply(&statefulset_pod(
            namespace,
            name,
            "redis",
            IMAGE,
            6379,
            i,
            health(i),
        ));
        if let Some(addr) = forward {
            api.set_forward(namespace, &format!("{name}-{i}"), addr);
        }
    }
    api.apply(&service(namespace, name, 6379));
}

#[cfg(test)]
mod tests {
    #[test]
    fn objects_are_created_now() {
        let created = super::now().0.as_millisecond();
        let age = chrono::Utc::now().timestamp_millis() - created;
        assert!((0..5_000).contains(&age), "created {age} ms ago");
    }
}
