//! A Kafka cluster discovered in Kubernetes is reachable through its port-forward (issue 12
//! item 5). Three real Apache Kafka brokers advertise in-cluster names
//! (`kafka-N.kafka-headless.streaming.svc.cluster.local:9092`) that do not resolve here, as
//! brokers in pods do; the in-process API server carries each pod's port-forward to its broker.
//! Without the Kafka relay only the bootstrap is reachable and every request that must go to a
//! partition leader or a group coordinator fails; with it, the collector reads metadata,
//! watermarks from every leader and committed offsets from the coordinator, and the cockpit's
//! discovered instance comes up with the group's lag.

mod common;

use kubestack_ai::config::PluginSettings;
use kubestack_ai::plugins::kafka::settings::KafkaSettings;
use std::time::{Duration, Instant};

use common::kafka_cluster::KafkaCluster;
use common::kube_app::{KubeApp, discovered};
use kubestack_ai::app::Health;
use kubestack_ai::config::{AppConfig, InstanceConfig, InstanceKind};
use kubestack_ai::kube::portforward::{self, ForwardState, ForwardTarget, PortForward};
use kubestack_ai::kube::{client_for, load_from};
use kubestack_ai::plugins::{Collector, InstanceSnapshot, plugin_for};
use kubestack_playground::kube_api::KubeApi;
use kubestack_playground::kube_objects::{self as obj, PodHealth};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

const NS: &str = "streaming";
const IMAGE: &str = "docker.io/bitnami/kafka:3.7";

fn advertised(id: i32) -> String {
    format!(
        "kafka-{}.kafka-headless.{NS}.svc.cluster.local:9092",
        id - 1
    )
}

/// Three brokers with a topic of three partitions (one leader each) and a group 20 behind on
/// each partition.
async fn cluster() -> KafkaCluster {
    let cluster = KafkaCluster::start_advertising(3, advertised);
    cluster.create_topic("orders", 3, 3, &[], None).await;
    for p in 0..3 {
        cluster.produce("orders", p, 30);
    }
    let c: BaseConsumer = cluster
        .client()
        .set("group.id", "billing")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..3 {
        tpl.add_partition_offset("orders", p, Offset::Offset(10))
            .unwrap();
    }
    c.commit(&tpl, CommitMode::Sync).unwrap();
    cluster
}

/// The StatefulSet `kafka` with its pods, each pod's port-forward reaching its broker's
/// `EXTERNAL` listener (the one that advertises the in-cluster name).
fn workload(api: &KubeApi, cluster: &KafkaCluster) {
    pods_forwarding_to(api, |i| cluster.brokers[i].external.as_ref().unwrap().0);
}

/// The StatefulSet `kafka`, its three ready pods and Service; pod `i`'s port-forward reaches
/// loopback port `port(i)`.
fn pods_forwarding_to(api: &KubeApi, port: impl Fn(usize) -> u16) {
    api.apply(&obj::statefulset(NS, "kafka", "kafka", IMAGE, 9092, 3));
    for i in 0..3 {
        api.apply(&obj::statefulset_pod(
            NS,
            "kafka",
            "kafka",
            IMAGE,
            9092,
            i,
            PodHealth::Ready,
        ));
        api.set_forward(NS, &format!("kafka-{i}"), ([127, 0, 0, 1], port(i)).into());
    }
    api.apply(&obj::service(NS, "kafka", 9092));
}

fn config() -> AppConfig {
    let mut c = common::fast_config();
    let mut kafka_settings = KafkaSettings::of(&c);
    kafka_settings.request_timeout_ms = 3000;
    kafka_settings.store_in(&mut c);
    c
}

async fn forward(api: &KubeApi, relay: bool) -> PortForward {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    api.write_kubeconfig(&path, "dev", NS).unwrap();
    let kube = load_from(&[path], None).unwrap();
    let client = client_for(
        kube.kubeconfig.unwrap(),
        "dev",
        Duration::from_secs(5),
        None,
    )
    .await
    .unwrap();
    portforward::start(
        client,
        ForwardTarget {
            namespace: NS.into(),
            selector: "app.kubernetes.io/instance=kafka".into(),
            pods: (0..3).map(|i| format!("kafka-{i}")).collect(),
            port: 9092,
            review_access: false,
            relay: if relay {
                plugin_for(InstanceKind::KAFKA).forward_relay()
            } else {
                None
            },
            service: Some("kafka".into()),
        },
    )
    .await
    .unwrap()
}

fn collector(fwd: &PortForward) -> Box<dyn Collector> {
    let instance = InstanceConfig::new(
        "events",
        InstanceKind::KAFKA,
        format!("kafka://{}", fwd.local),
    );
    plugin_for(InstanceKind::KAFKA)
        .collector(&instance, &config())
        .unwrap()
}

/// The API server was asked to port-forward to every broker's pod.
fn assert_each_pod_forwarded(api: &KubeApi) {
    let pods: Vec<String> = api
        .requests()
        .iter()
        .filter(|r| r.contains("/portforward"))
        .filter_map(|r| Some(r.split("/pods/").nth(1)?.split('/').next()?.to_string()))
        .collect();
    for i in 0..3 {
        assert!(pods.contains(&format!("kafka-{i}")), "{pods:?}");
    }
}

fn metric(s: &InstanceSnapshot, id: &str) -> Option<f64> {
    s.metrics.iter().find(|m| m.id == id).map(|m| m.value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brokers_advertising_in_cluster_names_are_reached_through_their_pods() {
    let cluster = cluster().await;
    let api = KubeApi::start().await;
    workload(&api, &cluster);

    // The names do not resolve here: a client that dials them fails.
    assert!(
        std::net::ToSocketAddrs::to_socket_addrs(&advertised(1)).is_err(),
        "the test needs names that do not resolve"
    );

    // Today's forward (bytes only): the bootstrap answers Metadata, but the lag — watermarks
    // from each leader, offsets from the coordinator — cannot be read.
    let plain = forward(&api, false).await;
    let mut c = collector(&plain);
    let begun = Instant::now();
    let s = c.collect().await;
    let lag = s.as_ref().ok().and_then(|s| metric(s, "lag:billing"));
    assert_ne!(
        lag,
        Some(60.0),
        "without the relay the brokers' names cannot be reached"
    );
    eprintln!(
        "without the relay: {:?} in {:?}",
        s.as_ref()
            .map(|s| s.logs.iter().map(|l| l.text.clone()).collect::<Vec<_>>()),
        begun.elapsed()
    );
    drop(c);
    drop(plain);

    // With the Kafka relay: every broker, every leader, the coordinator.
    let fwd = forward(&api, true).await;
    let mut c = collector(&fwd);
    let deadline = Instant::now() + Duration::from_secs(40);
    let s = loop {
        let s = c.collect().await.unwrap();
        if metric(&s, "lag:billing") == Some(60.0) {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "no lag through the relay: metrics {:?}, logs {:?}, forward {:?}",
            s.metrics,
            s.logs.iter().map(|l| &l.text).collect::<Vec<_>>(),
            fwd.state.borrow()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(metric(&s, "brokers"), Some(3.0));
    assert_eq!(metric(&s, "offline"), Some(0.0));
    let state = fwd.state.borrow().clone();
    assert!(
        !matches!(
            state,
            ForwardState::Problem(_) | ForwardState::Failing { .. }
        ),
        "{state:?}"
    );
    // Each pod carried connections: the brokers were dialled through their own pods.
    assert_each_pod_forwarded(&api);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cockpit_discovers_the_cluster_and_reads_its_lag_through_the_forward() {
    let cluster = cluster().await;
    let api = KubeApi::start().await;
    workload(&api, &cluster);
    let mut config = config();
    config.collector.interval_secs = 0.5;
    let mut app = KubeApp::start(&api, config).await;
    app.until("the discovered Kafka", |s| discovered(s, "kafka").is_some())
        .await;
    let i = discovered(&app.state, "kafka").unwrap();
    // The cursor rests on it (the only instance): it is attached.
    app.until("the Kafka instance up with its group's lag", |s| {
        s.instances[i].health == Health::Up
            && s.instances[i]
                .metrics
                .iter()
                .find(|m| m.label == "lag billing")
                .and_then(|m| m.latest())
                == Some(60.0)
    })
    .await;
    // Every broker was dialled through its own pod.
    assert_each_pod_forwarded(&api);
}

/// A broker that advertises a name no pod of the instance has: the collector cannot reach it,
/// and the forward's state says which name and which pods there are — not a bare timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_name_that_is_no_pod_of_the_instance_is_named_in_the_forward_state() {
    let cluster = KafkaCluster::start_advertising(1, |_| {
        format!("kafka-7.kafka-headless.{NS}.svc.cluster.local:9092")
    });
    let api = KubeApi::start().await;
    // Every pod reaches the one broker, which advertises a name none of them has.
    let port = cluster.brokers[0].external.as_ref().unwrap().0;
    pods_forwarding_to(&api, |_| port);
    let fwd = forward(&api, true).await;
    let mut c = collector(&fwd);
    let _ = c.collect().await;
    let state = fwd.state.borrow().clone();
    let ForwardState::Problem(problem) = &state else {
        panic!("the forward does not say what went wrong: {state:?}");
    };
    assert!(
        problem.contains("kafka-7.kafka-headless") && problem.contains("kafka-0, kafka-1, kafka-2"),
        "{problem}"
    );
    assert!(state.label(fwd.local).contains("no pod of this instance"));
}
