//! `kubestack-playground`: serves (or drives) the demo's Kafka and Elasticsearch until it is
//! stopped.
//!
//! Kafka: topic `orders` produced to continuously; group `billing` consumes slower than
//! producers (lag grows: Burrow WARN), group `audit` stopped committing long ago (STOP), and one
//! partition of `audit-log` has no leader (offline). On a real cluster (`--kafka`) `audit-log`'s
//! second partition is placed on the last broker alone, and the demo stops that broker; without
//! one, librdkafka's mock cluster (three brokers, a real protocol implementation) serves it all.
//! Elasticsearch: a one-node cluster, yellow because `orders` wants a replica it cannot place
//! (`same_shard`), disk past the low watermark, and write rejections that keep growing — the
//! in-process model, or a real node (`--elasticsearch`) given the same faults through its API.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use crate::es::{EsServer, Index};

/// Where the demo's systems come from: real servers when given, else the stand-ins.
#[derive(Debug, Clone, Default)]
pub struct Real {
    /// A real Kafka cluster's bootstrap list.
    pub kafka: Option<String>,
    /// A real OpenSearch / Elasticsearch node (`http://HOST:PORT`).
    pub elasticsearch: Option<String>,
}

/// Creates the demo's topics on a real cluster; returns the broker that alone holds
/// `audit-log`'s second partition (stop it to make that partition offline).
async fn real_topics(bootstrap: &str) -> Result<i32, String> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .map_err(|e| format!("kafka {bootstrap}: {e}"))?;
    let md = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(20))
        .map_err(|e| format!("kafka {bootstrap}: metadata: {e}"))?;
    let mut ids: Vec<i32> = md.brokers().iter().map(|b| b.id()).collect();
    ids.sort_unstable();
    let (Some(&first), Some(&last)) = (ids.first(), ids.last()) else {
        return Err(format!("kafka {bootstrap}: no broker in the metadata"));
    };
    let rf = ids.len().min(3) as i32;
    let audit = [vec![first], vec![last]];
    let audit: Vec<&[i32]> = audit.iter().map(Vec::as_slice).collect();
    let topics = [
        NewTopic::new("orders", 3, TopicReplication::Fixed(rf)),
        NewTopic::new("audit-log", 2, TopicReplication::Variable(&audit)),
    ];
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for r in admin
        .create_topics(&topics, &opts)
        .await
        .map_err(|e| format!("kafka {bootstrap}: CreateTopics: {e}"))?
    {
        match r {
            Ok(_) => {}
            Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => return Err(format!("kafka {bootstrap}: create topic {t}: {e}")),
        }
    }
    Ok(last)
}

/// An HTTP client for a real node. reqwest is built with `rustls-no-provider` (the cockpit's
/// choice: one crypto provider, ring), so the process installs ring before the first client.
fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    static RING: std::sync::Once = std::sync::Once::new();
    RING.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())
}

/// Gives a real node the demo's faults: `orders` wants a replica a one-node cluster cannot
/// place (yellow), the disk watermarks sit below what the disk uses (ES-D rules on real
/// numbers). Write rejections come from the node's tiny write queue under the bulk load below.
async fn real_es_faults(base: &str) -> Result<(), String> {
    let http = http_client(Duration::from_secs(20))?;
    let put = |path: &'static str, body: serde_json::Value| {
        let req = http.put(format!("{base}{path}")).json(&body);
        async move {
            let r = req.send().await.map_err(|e| format!("{path}: {e}"))?;
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            if status.is_success() || text.contains("resource_already_exists") {
                Ok(())
            } else {
                Err(format!("{path}: {status} {text}"))
            }
        }
    };
    put(
        "/orders",
        serde_json::json!({"settings": {"number_of_shards": 1, "number_of_replicas": 1}}),
    )
    .await?;
    put(
        "/logs-2026.12",
        serde_json::json!({"settings": {"number_of_shards": 1, "number_of_replicas": 0}}),
    )
    .await?;
    put(
        "/_cluster/settings",
        serde_json::json!({"persistent": {
            "cluster.routing.allocation.disk.watermark.low": "1%",
            "cluster.routing.allocation.disk.watermark.high": "99%",
            "cluster.routing.allocation.disk.watermark.flood_stage": "100%",
        }}),
    )
    .await
}

/// Bulk loads, several at once, every second: a node started with a write queue of one rejects
/// some (ES-T-01 on real counters).
async fn real_es_load(base: String) {
    let Ok(http) = http_client(Duration::from_secs(10)) else {
        return;
    };
    let body: String = (0..200)
        .map(|i| format!("{{\"index\":{{}}}}\n{{\"line\":{i},\"msg\":\"GET /api/orders 200\"}}\n"))
        .collect();
    loop {
        let sends = (0..6).map(|_| {
            http.post(format!("{base}/logs-2026.12/_bulk"))
                .header("content-type", "application/x-ndjson")
                .body(body.clone())
                .send()
        });
        let _ = futures::future::join_all(sends).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Starts (or prepares) both systems, writes `kafka=…` and `elasticsearch=…` lines to
/// `info_file` (or stdout), and runs until the process is stopped.
pub async fn run(
    info_file: Option<std::path::PathBuf>,
    kubeconfig: Option<std::path::PathBuf>,
    kube_redis: Option<std::net::SocketAddr>,
    real: Real,
) -> Result<(), String> {
    let mut info = String::new();
    // The mock lives as long as the playground when there is no real cluster.
    let mut _mock = None;
    let bootstrap = match &real.kafka {
        Some(b) => {
            let last = real_topics(b).await?;
            info.push_str(&format!("kafka_offline_broker={last}\n"));
            b.clone()
        }
        None => {
            let mock = MockCluster::new(3).map_err(|e| format!("mock cluster: {e}"))?;
            mock.create_topic("orders", 3, 3)
                .map_err(|e| format!("topic: {e}"))?;
            mock.create_topic("audit-log", 2, 1)
                .map_err(|e| format!("topic: {e}"))?;
            mock.partition_leader("audit-log", 1, None)
                .map_err(|e| format!("leader: {e}"))?;
            let b = mock.bootstrap_servers();
            _mock = Some(mock);
            b
        }
    };

    let es = match &real.elasticsearch {
        Some(base) => {
            let base = base.trim_end_matches('/').to_string();
            real_es_faults(&base).await?;
            tokio::spawn(real_es_load(base.clone()));
            let addr = base
                .trim_start_matches("http://")
                .trim_start_matches("https://");
            info.push_str(&format!("elasticsearch={addr}\n"));
            None
        }
        None => {
            let es = EsServer::start().await;
            es.with(|c| {
                c.indices.push(Index::new("orders", 1, 1));
                c.indices.push(Index::new("logs-2026.12", 1, 0));
                c.nodes[0].disk_available = 12 << 30; // 88 % of 100 GB used
            });
            info.push_str(&format!("elasticsearch=127.0.0.1:{}\n", es.port));
            Some(es)
        }
    };
    info.push_str(&format!("kafka={bootstrap}\n"));
    // Kubernetes: the in-process API server with the demo's cluster, when asked for.
    let _kube = match &kubeconfig {
        Some(path) => {
            let api = crate::kube_demo::start(path, kube_redis).await?;
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
        if let Some(es) = &es {
            es.with(|c| {
                c.nodes[0].write_rejected += 3;
                c.nodes[0].write_completed += 100;
            });
        }
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
