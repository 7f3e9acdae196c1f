//! What the mock cluster cannot answer, against a real Kafka-protocol broker (tansu): consumer
//! groups listed with their state and members, a live group whose offsets do not move judged
//! STALL (not STOP), and an offset reset refused while the group has live members.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::tansu::Tansu;
use common::{executor, fast_config};
use kubestack_ai::config::{InstanceConfig, InstanceKind, SafetyMode};
use kubestack_ai::plugins::kafka::repair::KafkaRepairs;
use kubestack_ai::plugins::plugin_for;
use kubestack_ai::repair::Confirmation;
use kubestack_ai::repair::catalog::{PlanContext, RepairCatalog};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::{Map, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_listed_a_live_stuck_group_stalls_and_its_offsets_are_not_reset_under_it() {
    let broker = Tansu::start();
    broker.create_topic("orders", 1);
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.bootstrap())
        .create()
        .unwrap();
    for i in 0..50 {
        let key = i.to_string();
        producer
            .send(BaseRecord::to("orders").partition(0).key(&key).payload("x"))
            .unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();

    // A live member of group `stuck` that polls but never commits beyond its first commit.
    let bootstrap = broker.bootstrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let member = std::thread::spawn(move || {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", "stuck")
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        c.subscribe(&["orders"]).unwrap();
        let mut committed = false;
        while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
            if let Some(Ok(m)) = c.poll(Duration::from_millis(200))
                && !committed
            {
                let _ = c.commit_message(&m, rdkafka::consumer::CommitMode::Sync);
                committed = true;
            }
        }
    });

    let instance = InstanceConfig::new(
        "events",
        InstanceKind::Kafka,
        format!("kafka://{}", broker.bootstrap()),
    );
    let mut config = fast_config();
    config.kafka.request_timeout_ms = 3000;
    let mut collector = plugin_for(InstanceKind::Kafka)
        .collector(&instance, &config)
        .unwrap();
    let mut snapshots = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(40);
    loop {
        let s = collector.collect().await.unwrap();
        let stalled = s.findings.iter().any(|f| f.id == "KFK-LAG-02");
        snapshots.push(s);
        if stalled || std::time::Instant::now() > deadline {
            break;
        }
        for i in 0..10 {
            let key = i.to_string();
            producer
                .send(BaseRecord::to("orders").partition(0).key(&key).payload("y"))
                .unwrap();
        }
        producer.flush(Duration::from_secs(10)).unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let first = &snapshots[0];
    assert!(
        !first
            .logs
            .iter()
            .any(|l| l.text.contains("consumer groups not listed")),
        "tansu lists groups: {:?}",
        first.logs
    );
    let last = snapshots.last().unwrap();
    let groups = last
        .facts
        .extra
        .iter()
        .find(|(k, _)| k == "groups")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    assert!(
        groups.parse::<usize>().is_ok_and(|n| n >= 1),
        "groups listed: {groups}"
    );
    let stall = last
        .findings
        .iter()
        .find(|f| f.id == "KFK-LAG-02")
        .unwrap_or_else(|| {
            panic!(
                "a live group with unmoving offsets is STALL: {:?}",
                last.findings
                    .iter()
                    .map(|f| (&f.id, &f.title))
                    .collect::<Vec<_>>()
            )
        });
    assert_eq!(stall.evidence["group"], "stuck");
    assert!(
        stall.evidence["members"].as_u64().unwrap_or(0) >= 1,
        "{:?}",
        stall.evidence
    );

    // The reset is refused while the member is alive, on the server's word.
    let ctx = PlanContext::for_instance(&instance, &last.facts);
    let params: Map<String, Value> = [("group", "stuck"), ("topic", "orders"), ("partition", "0")]
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect();
    let step = KafkaRepairs.build("KFK-FIX-06", &params, &ctx).unwrap();
    let (executor, _dir) = executor(SafetyMode::Confirm);
    let mut backend = executor.open_backend(&instance, &config).unwrap();
    executor.prepare(backend.as_mut(), &step).await.unwrap();
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
    assert!(err.to_string().contains("live member"), "{err}");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    member.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsupported_partition_change_fails_cleanly_and_an_empty_group_is_deleted() {
    let broker = Tansu::start();
    broker.create_topic("events", 1);
    let bootstrap = broker.bootstrap();
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("group.id", "old-reports")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    tpl.add_partition_offset("events", 0, rdkafka::Offset::Offset(0))
        .unwrap();
    c.commit(&tpl, rdkafka::consumer::CommitMode::Sync).unwrap();
    drop(c);

    let instance = InstanceConfig::new(
        "events",
        InstanceKind::Kafka,
        format!("kafka://{bootstrap}"),
    );
    let config = fast_config();
    let facts = plugin_for(InstanceKind::Kafka)
        .collector(&instance, &config)
        .unwrap()
        .collect()
        .await
        .unwrap()
        .facts;
    let ctx = PlanContext::for_instance(&instance, &facts);
    let (executor, _dir) = executor(SafetyMode::Confirm);
    let mut backend = executor.open_backend(&instance, &config).unwrap();
    let typed = Confirmation {
        typed_name: Some("events".into()),
    };
    let p = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect::<Map<_, _>>()
    };

    let grow = KafkaRepairs
        .build(
            "KFK-FIX-08",
            &p(&[("topic", "events"), ("count", "3")]),
            &ctx,
        )
        .unwrap();
    let prepared = executor.prepare(backend.as_mut(), &grow).await.unwrap();
    assert!(
        prepared.preview.contains("partitions 1"),
        "{}",
        prepared.preview
    );
    // tansu 0.6 does not implement CreatePartitions: the step fails with the broker's reason,
    // and the verification confirms nothing changed.
    let err = executor
        .execute(backend.as_mut(), &grow, &typed)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not supported by broker"), "{err}");
    let still = executor
        .verify(backend.as_mut(), &grow, &prepared)
        .await
        .unwrap_err();
    assert!(
        still.to_string().contains("partitions is 1, expected 3"),
        "{still}"
    );

    let delete = KafkaRepairs
        .build("KFK-FIX-09", &p(&[("group", "old-reports")]), &ctx)
        .unwrap();
    let prepared = executor.prepare(backend.as_mut(), &delete).await.unwrap();
    assert!(
        prepared.preview.contains("events[0]"),
        "the offsets being deleted are shown: {}",
        prepared.preview
    );
    executor
        .execute(backend.as_mut(), &delete, &typed)
        .await
        .unwrap();
    executor
        .verify(backend.as_mut(), &delete, &prepared)
        .await
        .unwrap();
}
