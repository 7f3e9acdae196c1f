//! `kubestack-ai playground`: serves the demo's Kafka and Elasticsearch until it is stopped.
//!
//! Kafka: librdkafka's mock cluster (three brokers, a real protocol implementation) with topic
//! `orders` produced to continuously; group `billing` consumes slower than producers (lag grows:
//! Burrow WARN), group `audit` stopped committing long ago (STOP), and one partition of
//! `audit-log` has no leader (offline). Elasticsearch: a one-node cluster, yellow because
//! `orders` wants a replica it cannot place (`same_shard`), disk past the low watermark, and
//! write rejections that keep growing.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use super::es::{EsServer, Index};

/// Starts both systems, writes `kafka=…` and `elasticsearch=…` lines to `info_file` (or
/// stdout), and runs until the process is stopped.
pub async fn run(
    info_file: Option<std::path::PathBuf>,
    kubeconfig: Option<std::path::PathBuf>,
    kube_redis: Option<std::net::SocketAddr>,
) -> Result<(), String> {
    let mock = MockCluster::new(3).map_err(|e| format!("mock cluster: {e}"))?;
    mock.create_topic("orders", 3, 3)
        .map_err(|e| format!("topic: {e}"))?;
    mock.create_topic("audit-log", 2, 1)
        .map_err(|e| format!("topic: {e}"))?;
    mock.partition_leader("audit-log", 1, None)
        .map_err(|e| format!("leader: {e}"))?;
    let bootstrap = mock.bootstrap_servers();

    let es = EsServer::start().await;
    es.with(|c| {
        c.indices.push(Index::new("orders", 1, 1));
        c.indices.push(Index::new("logs-2026.12", 1, 0));
        c.nodes[0].disk_available = 12 << 30; // 88 % of 100 GB used
    });

    let mut info = format!("kafka={bootstrap}\nelasticsearch=127.0.0.1:{}\n", es.port);
    // Kubernetes: the in-process API server with the demo's cluster, when asked for.
    let _kube = match &kubeconfig {
        Some(path) => {
            let api = super::kube_demo::start(path, kube_redis).await?;
            info.push_str(&format!("kubernetes={}\n", api.url()));
            Some(api)
        }
        None => None,
    };
    match &info_file {
        Some(p) => std::fs::write(p, &info).map_err(|e| format!("{}: {e}", p.display()))?,
        None => print!("{info}"),
    }

    // Kafka traffic on a thread of its own (librdkafka calls block).
    let kafka = std::thread::spawn(move || -> Result<(), String> {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .create()
            .map_err(|e| e.to_string())?;
        let committer = |group: &str| -> Result<BaseConsumer, String> {
            ClientConfig::new()
                .set("bootstrap.servers", &bootstrap)
                .set("group.id", group)
                .set("enable.auto.commit", "false")
                .create()
                .map_err(|e| e.to_string())
        };
        let billing = committer("billing")?;
        let audit = committer("audit")?;
        commit(&audit, 0, 5)?;
        let mut consumed = 0i64;
        for tick in 0u64.. {
            for i in 0..20 {
                let key = format!("{tick}-{i}");
                let _ = producer.send(
                    BaseRecord::to("orders")
                        .partition(0)
                        .key(&key)
                        .payload("order"),
                );
            }
            producer.poll(Duration::ZERO);
            let _ = producer.flush(Duration::from_secs(2));
            consumed += 8; // slower than the 20 produced per second
            commit(&billing, 0, consumed)?;
            std::thread::sleep(Duration::from_secs(1));
        }
        Ok(())
    });

    // Elasticsearch: rejections keep coming.
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        es.with(|c| {
            c.nodes[0].write_rejected += 3;
            c.nodes[0].write_completed += 100;
        });
        if kafka.is_finished() {
            return match kafka.join() {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(format!("kafka traffic: {e}")),
                Err(_) => Err("kafka traffic thread panicked".into()),
            };
        }
    }
}

fn commit(c: &BaseConsumer, partition: i32, offset: i64) -> Result<(), String> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("orders", partition, Offset::Offset(offset))
        .map_err(|e| e.to_string())?;
    c.commit(&tpl, CommitMode::Sync).map_err(|e| e.to_string())
}
