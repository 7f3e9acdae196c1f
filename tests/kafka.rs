//! The Kafka plugin against librdkafka's mock cluster (`rdkafka::mocking::MockCluster`: a real
//! Kafka protocol implementation in-process): metadata and availability, consumer lag judged
//! over several samples (Burrow STOP and REWIND), what the mock does not answer (listing groups,
//! describing configs) shown as "not supported" instead of failing, an unreachable cluster, the
//! read-only tools, and the offset reset through the executor — refused in read-only mode.

mod common;

use kubestack_ai::config::PluginSettings;
use kubestack_ai::plugins::kafka::settings::KafkaSettings;
use std::sync::Arc;
use std::time::Duration;

use common::fast_config;
use kubestack_ai::config::{AppConfig, InstanceConfig, InstanceKind, SafetyConfig, SafetyMode};
use kubestack_ai::plugins::kafka::repair::KafkaRepairs;
use kubestack_ai::plugins::{Collector, InstanceSnapshot, PluginError, plugin_for};
use kubestack_ai::repair::catalog::{PlanContext, RepairCatalog};
use kubestack_ai::repair::{AuditChain, Confirmation, Executor};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Map, Value};

struct Rig {
    mock: MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    producer: BaseProducer,
    instance: InstanceConfig,
    config: AppConfig,
}

fn rig(groups: &[&str]) -> Rig {
    let mock = MockCluster::new(3).expect("a mock cluster");
    mock.create_topic("orders", 3, 3).unwrap();
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", mock.bootstrap_servers())
        .create()
        .unwrap();
    let mut instance = InstanceConfig::new(
        "events",
        InstanceKind::KAFKA,
        format!("kafka://{}", mock.bootstrap_servers()),
    );
    instance.kind_keys.set("groups", groups);
    let mut config = fast_config();
    let mut kafka_settings = KafkaSettings::of(&config);
    kafka_settings.request_timeout_ms = 3000;
    kafka_settings.lag_min_samples = 3;
    kafka_settings.store_in(&mut config);
    Rig {
        mock,
        producer,
        instance,
        config,
    }
}

impl Rig {
    /// `n` messages into one partition.
    fn produce(&self, partition: i32, n: usize) {
        for i in 0..n {
            let key = i.to_string();
            self.producer
                .send(
                    BaseRecord::to("orders")
                        .partition(partition)
                        .key(&key)
                        .payload("x"),
                )
                .unwrap();
        }
        self.producer.flush(Duration::from_secs(5)).unwrap();
    }

    /// Commits `offset` for `group` as a consumer of that group would (OffsetCommit).
    fn commit(&self, group: &str, partition: i32, offset: i64) {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.mock.bootstrap_servers())
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("orders", partition, Offset::Offset(offset))
            .unwrap();
        c.commit(&tpl, CommitMode::Sync).unwrap();
    }

    /// The committed offset as the cluster reports it to a fresh consumer of the group.
    fn committed(&self, group: &str, partition: i32) -> Option<i64> {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", self.mock.bootstrap_servers())
            .set("group.id", group)
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition("orders", partition);
        let got = c.committed_offsets(tpl, Duration::from_secs(5)).unwrap();
        match got.elements()[0].offset() {
            Offset::Offset(o) => Some(o),
            _ => None,
        }
    }

    fn collector(&self) -> Box<dyn Collector> {
        plugin_for(InstanceKind::KAFKA)
            .collector(&self.instance, &self.config)
            .unwrap()
    }
}

fn ids(s: &InstanceSnapshot) -> Vec<(String, &'static str)> {
    s.findings
        .iter()
        .map(|f| (f.id.clone(), f.severity.tag()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_identity_and_what_the_mock_cannot_answer() {
    let r = rig(&[]);
    r.produce(0, 20);
    let mut c = r.collector();
    let first = c.collect().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    r.produce(0, 30);
    let s = c.collect().await.unwrap();
    assert!(
        s.facts.identity.as_deref().is_some_and(|id| !id.is_empty()),
        "the cluster id pins plans: {:?}",
        s.facts
    );
    assert!(
        !s.findings
            .iter()
            .any(|f| f.id.starts_with("KFK-AV")
                || f.id.starts_with("KFK-REP-0") && f.id != "KFK-REP-05"),
        "{:?}",
        ids(&s)
    );
    let metric = |id: &str| s.metrics.iter().find(|m| m.id == id).map(|m| m.value);
    assert_eq!(metric("brokers"), Some(3.0));
    assert_eq!(metric("partitions").map(|p| p >= 3.0), Some(true));
    assert!(
        metric("produce_rate").unwrap() > 0.0,
        "watermark deltas: {:?}",
        s.metrics
    );
    let notes: Vec<&str> = first.logs.iter().map(|l| l.text.as_str()).collect();
    assert!(
        notes
            .iter()
            .any(|l| l.contains("consumer groups not listed")),
        "{notes:#?}"
    );
    assert!(
        first
            .logs
            .iter()
            .any(|l| l.stream == "cluster" && l.text.contains("3 broker(s)")),
        "{notes:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_that_stops_committing_is_stop_only_after_enough_samples_and_rewind_is_seen() {
    let r = rig(&["billing", "audit"]);
    r.produce(0, 100);
    r.commit("billing", 0, 10);
    r.commit("audit", 0, 80);
    let mut c = r.collector();
    let mut last = None;
    for i in 0..3 {
        let s = c.collect().await.unwrap();
        if i < 2 {
            assert!(
                !s.findings.iter().any(|f| f.id == "KFK-LAG-01"),
                "sample {i}: too few samples to judge: {:?}",
                ids(&s)
            );
        }
        if i == 1 {
            r.commit("audit", 0, 30); // offsets reset backwards
        }
        r.produce(0, 50);
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = Some(s);
    }
    let s = last.unwrap();
    let stop = s
        .findings
        .iter()
        .find(|f| f.id == "KFK-LAG-01")
        .unwrap_or_else(|| panic!("STOP: {:?}", ids(&s)));
    assert_eq!(stop.evidence["group"], "billing");
    assert_eq!(stop.evidence["max_lag_partition"], "orders[0]");
    assert!(
        stop.evidence["total_lag"].as_i64().unwrap() >= 190,
        "{:?}",
        stop.evidence
    );
    assert!(
        s.findings
            .iter()
            .any(|f| f.id == "KFK-LAG-03" && f.evidence["group"] == "audit"),
        "REWIND: {:?}",
        ids(&s)
    );
    assert!(
        s.metrics
            .iter()
            .any(|m| m.id == "lag:billing" && m.value >= 190.0),
        "{:?}",
        s.metrics
    );
    assert!(
        s.logs
            .iter()
            .any(|l| l.stream == "lag" && l.text.contains("billing")),
        "{:?}",
        s.logs
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaderless_partition_is_offline_and_a_dead_cluster_is_unreachable() {
    let r = rig(&[]);
    r.mock.partition_leader("orders", 1, None).unwrap();
    let s = r.collector().collect().await.unwrap();
    let av = s
        .findings
        .iter()
        .find(|f| f.id == "KFK-AV-01")
        .unwrap_or_else(|| panic!("{:?}", ids(&s)));
    assert!(av.title.contains("orders[1]"), "{}", av.title);
    assert_eq!(
        s.metrics
            .iter()
            .find(|m| m.id == "offline")
            .map(|m| m.value),
        Some(1.0)
    );

    let (_reserved, port) = common::closed_port();
    let mut instance = InstanceConfig::new(
        "gone",
        InstanceKind::KAFKA,
        format!("kafka://127.0.0.1:{port}"),
    );
    instance.kind_keys.set("groups", ["g"]);
    let mut config = fast_config();
    let mut kafka_settings = KafkaSettings::of(&config);
    kafka_settings.request_timeout_ms = 1500;
    kafka_settings.store_in(&mut config);
    let err = plugin_for(InstanceKind::KAFKA)
        .collector(&instance, &config)
        .unwrap()
        .collect()
        .await
        .unwrap_err();
    assert!(
        matches!(err, PluginError::Unreachable { .. }) && err.is_retryable(),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tools_read_lag_topics_and_brokers() {
    let r = rig(&["billing"]);
    r.produce(2, 40);
    r.commit("billing", 2, 15);
    let mut tools = plugin_for(InstanceKind::KAFKA)
        .tools(&r.instance, &r.config)
        .unwrap();
    let lag = tools
        .call("kafka_group_lag", &serde_json::json!({"group": "billing"}))
        .await
        .unwrap();
    assert!(
        lag.contains("orders[2] committed=15 high=40") && lag.contains("lag=25"),
        "{lag}"
    );
    let topic = tools
        .call("kafka_topic", &serde_json::json!({"topic": "orders"}))
        .await
        .unwrap();
    assert!(
        topic.contains("3 partition(s)") && topic.contains("isr="),
        "{topic}"
    );
    let brokers = tools
        .call("kafka_brokers", &serde_json::json!({}))
        .await
        .unwrap();
    assert!(brokers.contains("\"brokers\""), "{brokers}");
    assert!(
        tools
            .call("kafka_group_lag", &serde_json::json!({}))
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offset_reset_is_refused_read_only_and_where_the_group_cannot_be_confirmed_stopped() {
    let r = rig(&["billing"]);
    r.produce(0, 60);
    r.commit("billing", 0, 10);
    let facts = r.collector().collect().await.unwrap().facts;
    let ctx = PlanContext::for_instance(&r.instance, &facts);
    let params: Map<String, Value> = [
        ("group", "billing"),
        ("topic", "orders"),
        ("partition", "0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), Value::from(*v)))
    .collect();
    let step = KafkaRepairs.build("KFK-FIX-06", &params, &ctx).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audit = Arc::new(AuditChain::open(&dir.path().join("audit.jsonl")).unwrap());

    let read_only = Executor::new(
        kubestack_ai::plugins::registry::backends(),
        &SafetyConfig {
            mode: SafetyMode::ReadOnly,
            read_only_contexts: Vec::new(),
        },
        audit.clone(),
    )
    .unwrap();
    let mut backend = read_only.open_backend(&r.instance, &r.config).unwrap();
    let prepared = read_only.prepare(backend.as_mut(), &step).await.unwrap();
    assert!(
        prepared.preview.contains("committed 10 → latest = 60"),
        "{}",
        prepared.preview
    );
    let err = read_only
        .execute(
            backend.as_mut(),
            &step,
            &Confirmation {
                typed_name: Some("events".into()),
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    assert_eq!(r.committed("billing", 0), Some(10), "nothing was committed");

    let executor = Executor::new(
        kubestack_ai::plugins::registry::backends(),
        &SafetyConfig::default(),
        audit,
    )
    .unwrap();
    let mut backend = executor.open_backend(&r.instance, &r.config).unwrap();
    let prepared = executor.prepare(backend.as_mut(), &step).await.unwrap();
    let err = executor
        .execute(backend.as_mut(), &step, &Confirmation::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("needs the instance name"),
        "dangerous: {err}"
    );
    // The mock cluster cannot list groups, so nothing can confirm the group is stopped: the
    // reset is refused (the apply path runs against real brokers that list groups, in
    // tests/kafka_real.rs).
    let err = executor
        .execute(
            backend.as_mut(),
            &step,
            &Confirmation {
                typed_name: Some("events".into()),
            },
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot confirm that group billing has no live members"),
        "{err}"
    );
    assert_eq!(r.committed("billing", 0), Some(10), "nothing was committed");
    let _ = prepared;
}

/// A broker that does not answer CreatePartitions (the mock cluster does not implement it; the
/// request times out): KFK-FIX-08 fails naming the request, within the configured timeout, and
/// its verification confirms that nothing changed. (The applied path runs on real brokers in
/// tests/kafka_real.rs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_partitions_on_a_broker_that_does_not_answer_fails_naming_the_request() {
    let r = rig(&[]);
    let facts = r.collector().collect().await.unwrap().facts;
    let ctx = PlanContext::for_instance(&r.instance, &facts);
    let params: Map<String, Value> = [("topic", "orders"), ("count", "5")]
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    let step = KafkaRepairs.build("KFK-FIX-08", &params, &ctx).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audit = Arc::new(AuditChain::open(&dir.path().join("audit.jsonl")).unwrap());
    let executor = Executor::new(
        kubestack_ai::plugins::registry::backends(),
        &SafetyConfig::default(),
        audit,
    )
    .unwrap();
    let mut backend = executor.open_backend(&r.instance, &r.config).unwrap();
    let prepared = executor.prepare(backend.as_mut(), &step).await.unwrap();
    assert!(
        prepared.preview.contains("partitions 3"),
        "{}",
        prepared.preview
    );
    let typed = Confirmation {
        typed_name: Some("events".into()),
    };
    let err = executor
        .execute(backend.as_mut(), &step, &typed)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CreatePartitions"), "{err}");
    let still = executor
        .verify(backend.as_mut(), &step, &prepared)
        .await
        .unwrap_err();
    assert!(
        still.to_string().contains("partitions is 3, expected 5"),
        "{still}"
    );
}
