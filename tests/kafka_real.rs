//! The Kafka plugin against real Apache Kafka 4.x brokers (KRaft, from Maven Central's jars;
//! tests/common/kafka_cluster.rs): metadata, DescribeConfigs and group listing on a real broker;
//! a three-broker cluster whose brokers crash (ISR shrink, under-replicated, at and under min
//! ISR, offline partitions, a lost broker); a live consumer that falls behind and then stops;
//! and an empty group's offset reset applied, verified and rolled back on the broker's own
//! record (OffsetFetch from a client of the test's, not the plugin's).

mod common;

use kubestack_ai::config::PluginSettings;
use kubestack_ai::plugins::kafka::settings::KafkaSettings;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::kafka_cluster::KafkaCluster;
use common::{executor, fast_config};
use kubestack_ai::config::{AppConfig, InstanceConfig, InstanceKind, SafetyMode};
use kubestack_ai::plugins::kafka::repair::KafkaRepairs;
use kubestack_ai::plugins::{Collector, InstanceSnapshot, plugin_for};
use kubestack_ai::repair::Confirmation;
use kubestack_ai::repair::catalog::{PlanContext, RepairCatalog};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::{Map, Value};

fn instance(cluster: &KafkaCluster) -> InstanceConfig {
    InstanceConfig::new(
        "events",
        InstanceKind::KAFKA,
        format!("kafka://{}", cluster.bootstrap()),
    )
}

fn config() -> AppConfig {
    let mut c = fast_config();
    let mut kafka_settings = KafkaSettings::of(&c);
    kafka_settings.request_timeout_ms = 5000;
    kafka_settings.store_in(&mut c);
    c
}

fn collector(cluster: &KafkaCluster) -> Box<dyn Collector> {
    plugin_for(InstanceKind::KAFKA)
        .collector(&instance(cluster), &config())
        .unwrap()
}

fn ids(s: &InstanceSnapshot) -> Vec<(String, &'static str)> {
    s.findings
        .iter()
        .map(|f| (f.id.clone(), f.severity.tag()))
        .collect()
}

fn finding<'a>(s: &'a InstanceSnapshot, id: &str) -> &'a kubestack_ai::diagnose::Finding {
    s.findings.iter().find(|f| f.id == id).unwrap_or_else(|| {
        panic!(
            "{id} not among {:?}; logs {:?}",
            ids(s),
            s.logs.iter().map(|l| &l.text).collect::<Vec<_>>()
        )
    })
}

fn metric(s: &InstanceSnapshot, id: &str) -> Option<f64> {
    s.metrics.iter().find(|m| m.id == id).map(|m| m.value)
}

/// The `partitions` evidence of a finding, sorted.
fn partitions_of(s: &InstanceSnapshot, id: &str) -> Vec<String> {
    let mut v: Vec<String> = finding(s, id).evidence["partitions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Collects until `done` holds (calling `between` before each new sample), or fails with the
/// last findings.
async fn collect_until(
    c: &mut Box<dyn Collector>,
    within: Duration,
    mut between: impl FnMut(),
    done: impl Fn(&InstanceSnapshot) -> bool,
) -> InstanceSnapshot {
    let deadline = Instant::now() + within;
    loop {
        let s = c.collect().await.unwrap();
        if done(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "not reached within {within:?}; findings {:?}, logs {:?}",
            ids(&s),
            s.logs.iter().map(|l| &l.text).collect::<Vec<_>>()
        );
        between();
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Commits `offset` for `group` on `topic[partition]` as a client that never joins the group.
fn commit(cluster: &KafkaCluster, group: &str, topic: &str, partition: i32, offset: i64) {
    let c: BaseConsumer = cluster.client().set("group.id", group).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(offset))
        .unwrap();
    c.commit(&tpl, CommitMode::Sync).unwrap();
}

/// The broker's record of `group`'s committed offset (OffsetFetch by the test's own client).
fn committed(cluster: &KafkaCluster, group: &str, topic: &str, partition: i32) -> Option<i64> {
    let c: BaseConsumer = cluster.client().set("group.id", group).create().unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, partition);
    let got = c.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    match got.find_partition(topic, partition)?.offset() {
        Offset::Offset(o) => Some(o),
        _ => None,
    }
}

/// The client id every client of the product sends (the collector's and the executor's).
const CLIENT_ID: &str = "kubestack-ai";

/// The requests of catalog §4.4's read-only list (plus the handshake and coordinator lookup).
const READ_ONLY_APIS: &[&str] = &[
    "API_VERSIONS",
    "METADATA",
    "LIST_OFFSETS",
    "LIST_GROUPS",
    "DESCRIBE_GROUPS",
    "FIND_COORDINATOR",
    "OFFSET_FETCH",
    "DESCRIBE_CONFIGS",
    "DESCRIBE_CLUSTER",
];

/// Every request the product sent, by the brokers' request logs, only reads.
fn assert_only_reads(cluster: &KafkaCluster) {
    let sent = cluster.request_names(CLIENT_ID);
    assert!(!sent.is_empty(), "the request log is empty");
    let writes: Vec<&String> = sent
        .iter()
        .filter(|s| !READ_ONLY_APIS.contains(&s.as_str()))
        .collect();
    assert!(writes.is_empty(), "the product sent {writes:?}");
}

/// The offsets of the OffsetCommit requests the product sent, in order.
fn offset_commits(cluster: &KafkaCluster, count: usize) -> Vec<i64> {
    cluster
        .wait_for_requests(CLIENT_ID, "OFFSET_COMMIT", count)
        .iter()
        .filter_map(|r| r["request"]["topics"][0]["partitions"][0]["committedOffset"].as_i64())
        .collect()
}

fn params(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_real_broker_answers_metadata_describe_configs_and_lists_groups() {
    let cluster = KafkaCluster::start(1);
    eprintln!("one Kafka broker ready in {:?}", cluster.started_in);
    // CreateTopics on a real broker (the mock cluster never answers it), with a topic config
    // that the rules must read back through DescribeConfigs.
    cluster
        .create_topic(
            "orders",
            3,
            1,
            &[("unclean.leader.election.enable", "true")],
            None,
        )
        .await;
    cluster.produce("orders", 0, 30);
    commit(&cluster, "reports", "orders", 0, 10);

    let mut c = collector(&cluster);
    let s = c.collect().await.unwrap();
    assert_eq!(
        s.facts.identity.as_deref(),
        Some(cluster.cluster_id.as_str()),
        "the cluster id is the one the storage was formatted with"
    );
    assert_eq!(metric(&s, "brokers"), Some(1.0));
    // 3 partitions of orders + 3 of __consumer_offsets (offsets.topic.num.partitions=3).
    assert_eq!(metric(&s, "partitions"), Some(6.0), "{:?}", s.metrics);
    let notes: Vec<&str> = s.logs.iter().map(|l| l.text.as_str()).collect();
    assert!(
        notes.iter().any(|l| l.contains("1 broker(s)")),
        "{notes:#?}"
    );
    // What the mock cluster answers with "not supported" is answered here.
    assert!(
        !notes
            .iter()
            .any(|l| l.contains("not listed") || l.contains("configs not read")),
        "{notes:#?}"
    );
    let groups = s
        .facts
        .extra
        .iter()
        .find(|(k, _)| k == "groups")
        .map(|(_, v)| v.clone());
    assert_eq!(groups.as_deref(), Some("1"), "{:?}", s.facts.extra);
    // DescribeConfigs of the broker: values from this broker's own server.properties.
    let setting = |k: &str| {
        s.facts
            .settings
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(setting("broker.session.timeout.ms"), Some("4000"));
    assert_eq!(setting("offsets.topic.num.partitions"), Some("3"));
    assert_eq!(setting("auto.create.topics.enable"), Some("true"));
    // The config rules judged on real configs: the topic override and the broker default.
    let cfg03 = finding(&s, "KFK-CFG-03");
    assert_eq!(cfg03.evidence["topic"], "orders");
    assert_eq!(finding(&s, "KFK-CFG-04").severity.tag(), "INFO");
    assert!(
        !s.findings.iter().any(|f| f.id.starts_with("KFK-AV")
            || f.id.starts_with("KFK-REP")
            || f.id.starts_with("KFK-CTL")),
        "a healthy broker: {:?}",
        ids(&s)
    );
    // The group's committed offset (OffsetFetch) against the high watermark (ListOffsets).
    assert_eq!(metric(&s, "lag:reports"), Some(20.0), "{:?}", s.metrics);

    // The broker's own record: what the collector sent, and that all of it only reads.
    cluster.wait_for_requests(CLIENT_ID, "DESCRIBE_CONFIGS", 1);
    let sent = cluster.request_names(CLIENT_ID);
    for api in [
        "METADATA",
        "LIST_OFFSETS",
        "LIST_GROUPS",
        "DESCRIBE_GROUPS",
        "OFFSET_FETCH",
        "DESCRIBE_CONFIGS",
    ] {
        assert!(sent.iter().any(|s| s == api), "{api} not in {sent:?}");
    }
    assert_only_reads(&cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_brokers_shrink_the_isr_then_leave_partitions_under_min_isr_and_offline() {
    let mut cluster = KafkaCluster::start(3);
    eprintln!("three Kafka brokers ready in {:?}", cluster.started_in);
    cluster
        .create_topic("orders", 3, 3, &[("min.insync.replicas", "2")], None)
        .await;
    // One copy, on broker 3 only.
    cluster
        .create_topic("single", 1, 1, &[], Some(&[&[3]]))
        .await;
    // Two copies and min.insync.replicas 2: any one broker lost blocks acks=all.
    cluster
        .create_topic(
            "strict",
            1,
            2,
            &[("min.insync.replicas", "2")],
            Some(&[&[1, 2]]),
        )
        .await;
    for p in 0..3 {
        cluster.produce("orders", p, 10);
    }

    let mut c = collector(&cluster);
    let healthy = c.collect().await.unwrap();
    assert_eq!(metric(&healthy, "brokers"), Some(3.0));
    assert_eq!(
        finding(&healthy, "KFK-CFG-01").evidence["topics"],
        serde_json::json!(["single"])
    );
    assert_eq!(finding(&healthy, "KFK-CFG-02").evidence["topic"], "strict");
    assert!(
        !healthy
            .findings
            .iter()
            .any(|f| f.id.starts_with("KFK-AV") || f.id.starts_with("KFK-REP-0")),
        "{:?}",
        ids(&healthy)
    );

    // Broker 3 crashes: the controller fences it and takes it out of every ISR.
    cluster.kill(3);
    let s = collect_until(
        &mut c,
        Duration::from_secs(40),
        || {},
        |s| {
            metric(s, "brokers") == Some(2.0)
                && s.findings.iter().any(|f| f.id == "KFK-REP-01")
                && partitions_of(s, "KFK-REP-01")
                    .iter()
                    .filter(|p| p.starts_with("orders"))
                    .count()
                    == 3
        },
    )
    .await;
    let orders = ["orders[0]", "orders[1]", "orders[2]"];
    let urp = partitions_of(&s, "KFK-REP-01");
    for p in orders {
        assert!(urp.iter().any(|x| x == p), "{p} under-replicated: {urp:?}");
    }
    let at_min = partitions_of(&s, "KFK-REP-02");
    assert_eq!(at_min, orders, "ISR 2 = min.insync.replicas 2 < RF 3");
    assert_eq!(partitions_of(&s, "KFK-AV-01"), ["single[0]"]);
    let absent = finding(&s, "KFK-REP-04");
    assert_eq!(absent.evidence["absent_brokers"], serde_json::json!([3]));
    assert_eq!(
        absent.severity.tag(),
        "CRIT",
        "an offline partition makes it critical"
    );
    assert_eq!(finding(&s, "KFK-CTL-02").evidence["max_seen"], 3);
    assert!(
        !s.findings.iter().any(|f| f.id == "KFK-AV-02"),
        "two in-sync copies meet min.insync.replicas 2: {:?}",
        ids(&s)
    );

    // Broker 2 is stopped too (a controlled shutdown): one copy left of orders and strict,
    // under min.insync.replicas.
    cluster.stop(2);
    let s = collect_until(
        &mut c,
        Duration::from_secs(40),
        || {},
        |s| metric(s, "brokers") == Some(1.0) && s.findings.iter().any(|f| f.id == "KFK-AV-02"),
    )
    .await;
    let under_min = partitions_of(&s, "KFK-AV-02");
    assert_eq!(
        under_min,
        ["orders[0]", "orders[1]", "orders[2]", "strict[0]"],
        "{:?}",
        ids(&s)
    );
    assert_eq!(
        finding(&s, "KFK-REP-04").evidence["absent_brokers"],
        serde_json::json!([2, 3])
    );
    assert_eq!(partitions_of(&s, "KFK-AV-01"), ["single[0]"]);

    // Both come back on their own data: the ISR expands again and the offline partition has
    // its leader back; the partitions broker 1 took over are not led by their preferred leader.
    let t2 = cluster.restart(2);
    let t3 = cluster.restart(3);
    eprintln!("broker 2 back in {t2:?}, broker 3 in {t3:?}");
    let s = collect_until(
        &mut c,
        Duration::from_secs(60),
        || {},
        |s| {
            metric(s, "brokers") == Some(3.0)
                && !s.findings.iter().any(|f| {
                    f.id.starts_with("KFK-AV")
                        || f.id.starts_with("KFK-REP-0") && f.id != "KFK-REP-05"
                })
        },
    )
    .await;
    assert_eq!(metric(&s, "urp"), Some(0.0));
    assert_eq!(metric(&s, "offline"), Some(0.0));
    let rep05 = finding(&s, "KFK-REP-05");
    assert_eq!(
        rep05.severity.tag(),
        "INFO",
        "auto.leader.rebalance.enable is on"
    );
    assert_only_reads(&cluster);
}

/// The groups judged STOP (KFK-LAG-01), sorted.
fn stopped_groups(s: &InstanceSnapshot) -> Vec<String> {
    let mut g: Vec<String> = s
        .findings
        .iter()
        .filter(|f| f.id == "KFK-LAG-01")
        .filter_map(|f| f.evidence["group"].as_str().map(String::from))
        .collect();
    g.sort();
    g
}

/// A live, subscribed member of a consumer group on `events`, in a thread of its own.
struct Member {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Member {
    /// Joins `group` and waits for its first commit; `commit_all`: commit every message it
    /// processes (150 ms each), else only the first.
    fn join(cluster: &KafkaCluster, group: &str, commit_all: bool) -> Member {
        let (member, first) = Member::spawn(cluster, group, commit_all);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !first.load(Ordering::SeqCst) {
            assert!(
                Instant::now() < deadline,
                "{group}: the member never consumed"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        member
    }

    /// Starts the member's thread; the flag turns true at its first commit.
    fn spawn(cluster: &KafkaCluster, group: &str, commit_all: bool) -> (Member, Arc<AtomicBool>) {
        let stop = Arc::new(AtomicBool::new(false));
        let first = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, first) = (stop.clone(), first.clone());
            let mut config = cluster.client();
            config
                .set("group.id", group)
                .set("enable.auto.commit", "false")
                .set("auto.offset.reset", "earliest")
                .set("session.timeout.ms", "6000");
            std::thread::spawn(move || {
                let c: BaseConsumer = config.create().unwrap();
                c.subscribe(&["events"]).unwrap();
                while !stop.load(Ordering::SeqCst) {
                    if let Some(Ok(m)) = c.poll(Duration::from_millis(100))
                        && (commit_all || !first.load(Ordering::SeqCst))
                    {
                        c.commit_message(&m, CommitMode::Sync).unwrap();
                        first.store(true, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(150));
                    }
                }
                // Closing leaves the group (LeaveGroup): with no member left it is Empty.
                c.unsubscribe();
            })
        };
        (
            Member {
                stop,
                thread: Some(thread),
            },
            first,
        )
    }

    fn leave(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_members_fall_behind_or_stall_and_their_groups_stop_when_they_leave() {
    let cluster = KafkaCluster::start(1);
    cluster.create_topic("events", 1, 1, &[], None).await;
    cluster.produce("events", 0, 20);

    // Group `slow`: a live member that commits every message it processes, slowly.
    // Group `stuck`: a live member that polls on but never commits after its first message.
    let slow = Member::join(&cluster, "slow", true);
    let stuck = Member::join(&cluster, "stuck", false);

    let mut c = collector(&cluster);
    let s = collect_until(
        &mut c,
        Duration::from_secs(60),
        || cluster.produce("events", 0, 40),
        |s| {
            s.findings.iter().any(|f| f.id == "KFK-LAG-04")
                && s.findings.iter().any(|f| f.id == "KFK-LAG-02")
        },
    )
    .await;
    let stall = finding(&s, "KFK-LAG-02");
    assert_eq!(
        stall.evidence["group"], "stuck",
        "a live group whose offset does not move is STALL, not STOP"
    );
    assert!(
        stall.evidence["members"].as_u64().unwrap_or(0) >= 1,
        "{:?}",
        stall.evidence
    );
    let behind = finding(&s, "KFK-LAG-04");
    assert_eq!(behind.evidence["group"], "slow");
    assert_eq!(behind.severity.tag(), "WARN");
    assert!(
        behind.evidence["members"].as_u64().unwrap_or(0) >= 1,
        "{:?}",
        behind.evidence
    );
    assert!(metric(&s, "lag:slow").unwrap_or(0.0) > 0.0);

    // While the member is alive, the offset reset is refused on the broker's word.
    let instance = instance(&cluster);
    let ctx = PlanContext::for_instance(&instance, &s.facts);
    let step = KafkaRepairs
        .build(
            "KFK-FIX-06",
            &params(&[("group", "slow"), ("topic", "events"), ("partition", "0")]),
            &ctx,
        )
        .unwrap();
    let (executor, _dir) = executor(SafetyMode::Confirm);
    let mut backend = executor.open_backend(&instance, &config()).unwrap();
    executor.prepare(backend.as_mut(), &step).await.unwrap();
    let before = committed(&cluster, "slow", "events", 0);
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

    assert!(
        !cluster
            .request_names(CLIENT_ID)
            .iter()
            .any(|r| r == "OFFSET_COMMIT"),
        "the refused reset sent no OffsetCommit"
    );

    // The member leaves; the producer goes on: the group has stopped.
    slow.leave();
    stuck.leave();
    let after_leave = committed(&cluster, "slow", "events", 0);
    assert!(
        after_leave >= before,
        "only the member moved the offset, never the refused reset"
    );
    let s = collect_until(
        &mut c,
        Duration::from_secs(60),
        || cluster.produce("events", 0, 40),
        |s| stopped_groups(s) == ["slow", "stuck"],
    )
    .await;
    assert!(
        s.findings
            .iter()
            .filter(|f| f.id == "KFK-LAG-01")
            .all(|f| f.severity.tag() == "CRIT" && f.evidence["members"] == 0),
        "{:?}",
        ids(&s)
    );
    assert_eq!(
        committed(&cluster, "slow", "events", 0),
        after_leave,
        "a stopped group's offset does not move"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_groups_reset_is_applied_verified_rolled_back_then_the_group_deleted_and_the_topic_grown()
 {
    let cluster = KafkaCluster::start(1);
    cluster.create_topic("events", 1, 1, &[], None).await;
    cluster.produce("events", 0, 50);
    // The group consumed 12 messages and its consumers are gone: Empty, lag 38.
    commit(&cluster, "billing", "events", 0, 12);

    let instance = instance(&cluster);
    let mut c = collector(&cluster);
    let s = c.collect().await.unwrap();
    assert_eq!(metric(&s, "lag:billing"), Some(38.0), "{:?}", s.metrics);
    let ctx = PlanContext::for_instance(&instance, &s.facts);
    let step = KafkaRepairs
        .build(
            "KFK-FIX-06",
            &params(&[
                ("group", "billing"),
                ("topic", "events"),
                ("partition", "0"),
            ]),
            &ctx,
        )
        .unwrap();
    let typed = Confirmation {
        typed_name: Some("events".into()),
    };

    // Read-only mode sends nothing: the broker still has 12.
    let (ro, _ro_dir) = executor(SafetyMode::ReadOnly);
    let mut ro_backend = ro.open_backend(&instance, &config()).unwrap();
    let prepared = ro.prepare(ro_backend.as_mut(), &step).await.unwrap();
    let refused = ro
        .execute(ro_backend.as_mut(), &step, &typed)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("read-only"), "{refused}");
    assert_eq!(committed(&cluster, "billing", "events", 0), Some(12));
    assert_only_reads(&cluster);
    assert!(
        prepared.preview.contains("committed 12 → latest = 50"),
        "{}",
        prepared.preview
    );

    // Confirm mode: applied, verified, and the broker's own record says 50.
    let (executor, _dir) = executor(SafetyMode::Confirm);
    let mut backend = executor.open_backend(&instance, &config()).unwrap();
    let prepared = executor.prepare(backend.as_mut(), &step).await.unwrap();
    let done = executor
        .execute(backend.as_mut(), &step, &typed)
        .await
        .unwrap();
    assert!(done.contains("committed 50"), "{done}");
    executor
        .verify(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(committed(&cluster, "billing", "events", 0), Some(50));
    assert_eq!(offset_commits(&cluster, 1), [50], "one OffsetCommit, of 50");
    let s = c.collect().await.unwrap();
    assert_eq!(metric(&s, "lag:billing"), Some(0.0), "{:?}", s.metrics);

    // Rolled back: the broker has 12 again.
    executor
        .rollback(backend.as_mut(), &step, &prepared)
        .await
        .unwrap();
    assert_eq!(committed(&cluster, "billing", "events", 0), Some(12));
    assert_eq!(offset_commits(&cluster, 2), [50, 12]);
    // The collector saw 12, 50, 12: the offset went back and stayed there.
    let s = c.collect().await.unwrap();
    assert_eq!(metric(&s, "lag:billing"), Some(38.0), "{:?}", s.metrics);
    let rewind = finding(&s, "KFK-LAG-03");
    assert_eq!(rewind.evidence["group"], "billing");

    // The log start passes the committed offset (DeleteRecords, as retention would):
    // messages 12…19 were lost before the group consumed them.
    let admin: AdminClient<DefaultClientContext> = cluster.client().create().unwrap();
    let mut before = TopicPartitionList::new();
    before
        .add_partition_offset("events", 0, Offset::Offset(20))
        .unwrap();
    admin
        .delete_records(&before, &AdminOptions::new())
        .await
        .unwrap();
    let s = c.collect().await.unwrap();
    let lost = finding(&s, "KFK-LAG-06");
    assert_eq!(lost.evidence["committed"], 12);
    assert_eq!(lost.evidence["log_start"], 20);

    // KFK-FIX-09: the empty group is deleted; the broker lists it no more.
    let ctx = PlanContext::for_instance(&instance, &s.facts);
    let delete = KafkaRepairs
        .build("KFK-FIX-09", &params(&[("group", "billing")]), &ctx)
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
    assert_eq!(committed(&cluster, "billing", "events", 0), None);
    assert_eq!(
        cluster
            .wait_for_requests(CLIENT_ID, "DELETE_GROUPS", 1)
            .len(),
        1
    );
    let s = c.collect().await.unwrap();
    assert!(
        !s.findings
            .iter()
            .any(|f| f.evidence.get("group").and_then(|g| g.as_str()) == Some("billing")),
        "{:?}",
        ids(&s)
    );

    // KFK-FIX-08: events grows from 1 to 3 partitions — applied and verified (irreversible).
    let grow = KafkaRepairs
        .build(
            "KFK-FIX-08",
            &params(&[("topic", "events"), ("count", "3")]),
            &ctx,
        )
        .unwrap();
    let prepared = executor.prepare(backend.as_mut(), &grow).await.unwrap();
    assert!(
        prepared.preview.contains("partitions 1"),
        "{}",
        prepared.preview
    );
    executor
        .execute(backend.as_mut(), &grow, &typed)
        .await
        .unwrap();
    executor
        .verify(backend.as_mut(), &grow, &prepared)
        .await
        .unwrap();
    assert_eq!(
        cluster
            .wait_for_requests(CLIENT_ID, "CREATE_PARTITIONS", 1)
            .len(),
        1
    );
    let s = c.collect().await.unwrap();
    // 3 of events + 3 of __consumer_offsets.
    assert_eq!(metric(&s, "partitions"), Some(6.0), "{:?}", s.metrics);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebalance_held_open_by_a_member_that_stopped_polling_is_stuck() {
    let cluster = KafkaCluster::start(1);
    cluster.create_topic("events", 1, 1, &[], None).await;
    cluster.produce("events", 0, 5);
    // Member A consumes, then stops polling (a stuck processing loop). librdkafka's heartbeats
    // keep it in the group, but it can only rejoin a rebalance from poll: the coordinator
    // waits for it until its max.poll.interval.ms (30 s).
    let a: BaseConsumer = cluster
        .client()
        .set("group.id", "rebal")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("max.poll.interval.ms", "30000")
        .create()
        .unwrap();
    a.subscribe(&["events"]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(a.poll(Duration::from_millis(100)), Some(Ok(_))) {
        assert!(Instant::now() < deadline, "member A never consumed");
    }
    // Member B joins: the group rebalances and cannot finish.
    let (b, _) = Member::spawn(&cluster, "rebal", true);

    let mut config = config();
    let mut kafka_settings = KafkaSettings::of(&config);
    kafka_settings.rebalance_stuck_secs = 3;
    kafka_settings.store_in(&mut config);
    let mut c = plugin_for(InstanceKind::KAFKA)
        .collector(&instance(&cluster), &config)
        .unwrap();
    let s = collect_until(
        &mut c,
        Duration::from_secs(25),
        || {},
        |s| s.findings.iter().any(|f| f.id == "KFK-LAG-07"),
    )
    .await;
    let stuck = finding(&s, "KFK-LAG-07");
    assert_eq!(stuck.evidence["group"], "rebal");
    assert_eq!(stuck.severity.tag(), "WARN");
    assert!(
        stuck.evidence["rebalancing_secs"].as_f64().unwrap_or(0.0) >= 3.0,
        "{:?}",
        stuck.evidence
    );

    // A closes (LeaveGroup): the rebalance completes with B alone, and the finding goes.
    drop(a);
    collect_until(
        &mut c,
        Duration::from_secs(30),
        || {},
        |s| !s.findings.iter().any(|f| f.id == "KFK-LAG-07"),
    )
    .await;
    b.leave();
    assert_only_reads(&cluster);
}
