//! Kafka with more consumer groups than `kafka.max_groups` (issue 11 item 8), on librdkafka's
//! mock cluster: each sample reads at most `max_groups` groups' offsets, holding at most that
//! many OffsetFetch clients; the others are read in turn by the next samples, and the cap is
//! said in the logs.

mod common;

use kubestack_ai::config::PluginSettings;
use kubestack_ai::plugins::kafka::settings::KafkaSettings;
use std::sync::Arc;
use std::time::Duration;

use kubestack_ai::config::{InstanceConfig, InstanceKind};
use kubestack_ai::plugins::kafka::connection::KafkaTarget;
use kubestack_ai::plugins::kafka::sample::{GroupWindow, collect_sample};
use kubestack_ai::plugins::plugin_for;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::{Offset, TopicPartitionList};

const GROUPS: usize = 7;

fn commit(bootstrap: &str, group: &str, offset: i64) {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("orders", 0, Offset::Offset(offset))
        .unwrap();
    c.commit(&tpl, CommitMode::Sync).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_groups_than_the_cap_are_read_in_turn_with_bounded_clients() {
    let mock = MockCluster::new(1).expect("a mock cluster");
    mock.create_topic("orders", 1, 1).unwrap();
    let bootstrap = mock.bootstrap_servers();
    let names: Vec<String> = (0..GROUPS).map(|i| format!("g{i}")).collect();
    for g in &names {
        commit(&bootstrap, g, 0);
    }
    let mut instance = InstanceConfig::new(
        "events",
        InstanceKind::KAFKA,
        format!("kafka://{bootstrap}"),
    );
    instance.kind_keys.set("groups", &names);

    // The sample itself: at most `max` groups read and `max` OffsetFetch clients held.
    let reader = Arc::new(
        KafkaTarget::from_instance(&instance, Duration::from_secs(3))
            .unwrap()
            .reader()
            .unwrap(),
    );
    let mut read = std::collections::HashSet::new();
    for round in 0..3 {
        let s = collect_sample(
            reader.clone(),
            names.clone(),
            500,
            GroupWindow {
                max: 3,
                start: round * 3,
            },
            false,
        )
        .await
        .unwrap();
        assert!(s.committed.len() <= 3, "{:?}", s.committed.keys());
        assert_eq!(s.groups_unread, GROUPS - 3);
        assert_eq!(s.group_names.len(), GROUPS);
        assert!(reader.group_clients() <= 3, "{}", reader.group_clients());
        read.extend(s.committed.keys().cloned());
    }
    assert_eq!(read.len(), GROUPS, "every group was read in turn");

    // Through the collector: lag series of every group appear over the rotation, and the cap
    // is said in the logs.
    let mut config = common::fast_config();
    let mut kafka_settings = KafkaSettings::of(&config);
    kafka_settings.max_groups = 3;
    kafka_settings.request_timeout_ms = 3000;
    kafka_settings.store_in(&mut config);
    let mut collector = plugin_for(InstanceKind::KAFKA)
        .collector(&instance, &config)
        .unwrap();
    let mut logs = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let snap = collector.collect().await.unwrap();
        logs.extend(snap.logs.iter().map(|l| l.text.clone()));
        last = Some(snap);
    }
    let lag_series = last
        .unwrap()
        .metrics
        .iter()
        .filter(|m| m.id.starts_with("lag:"))
        .count();
    assert_eq!(
        lag_series, GROUPS,
        "groups not read this sample keep their series"
    );
    assert!(
        logs.iter()
            .any(|l| l.contains("groups capped: 4 of 7 not read")
                && l.contains("kafka.max_groups = 3")),
        "{logs:?}"
    );
}
