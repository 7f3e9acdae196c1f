//! Talking to Kafka through librdkafka (rdkafka): a read-only client for metadata, watermarks,
//! group listing, committed offsets and configs (catalog §4.4: Metadata, ListOffsets,
//! ListGroups/DescribeGroups, OffsetFetch, DescribeConfigs only). No producer is ever built;
//! consumers never subscribe, poll or commit, and auto-commit is off, so collecting cannot
//! rebalance anyone's group. librdkafka's calls block, so they run on tokio's blocking pool.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::{Offset, TopicPartitionList};

use super::security::KafkaSecurity;
use crate::config::InstanceConfig;
use crate::plugins::PluginError;
use crate::repair::ExecutorToken;

/// Where the cluster is.
#[derive(Debug, Clone)]
pub struct KafkaTarget {
    /// `kafka://host:port[,host:port…]`.
    pub endpoint: String,
    /// `host:port,host:port`.
    pub bootstrap: String,
    pub timeout: Duration,
    /// TLS and SASL, the same for every client built from this target.
    pub security: KafkaSecurity,
}

/// A broker request the broker does not answer (the mock cluster, old brokers): shown as a
/// state, not as a failure of the whole sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<T> {
    Yes(T),
    Unsupported(String),
}

/// Config entries per resource: `broker:ID` / `topic:NAME` → name → value.
pub type Configs = HashMap<String, HashMap<String, String>>;

/// One partition as metadata describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartitionMeta {
    pub id: i32,
    /// −1: no leader.
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub error: Option<String>,
}

/// One topic.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicMeta {
    pub name: String,
    pub partitions: Vec<PartitionMeta>,
}

/// Cluster metadata.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterMeta {
    pub brokers: Vec<(i32, String, u16)>,
    pub topics: Vec<TopicMeta>,
    pub cluster_id: Option<String>,
    /// `None`: unknown; −1: no active controller.
    pub controller: Option<i32>,
}

/// A consumer group from ListGroups/DescribeGroups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupMeta {
    pub name: String,
    pub state: String,
    pub members: usize,
}

fn classify(e: &KafkaError, endpoint: &str) -> PluginError {
    let code = e.rdkafka_error_code();
    match code {
        Some(RDKafkaErrorCode::OperationTimedOut) | Some(RDKafkaErrorCode::RequestTimedOut) => {
            PluginError::Unreachable {
                endpoint: endpoint.to_string(),
                reason: format!("no broker answered in time ({e})"),
            }
        }
        Some(RDKafkaErrorCode::BrokerTransportFailure)
        | Some(RDKafkaErrorCode::AllBrokersDown)
        | Some(RDKafkaErrorCode::Resolve) => PluginError::Unreachable {
            endpoint: endpoint.to_string(),
            reason: e.to_string(),
        },
        Some(RDKafkaErrorCode::SaslAuthenticationFailed)
        | Some(RDKafkaErrorCode::ClusterAuthorizationFailed)
        | Some(RDKafkaErrorCode::TopicAuthorizationFailed)
        | Some(RDKafkaErrorCode::GroupAuthorizationFailed) => PluginError::Auth {
            endpoint: endpoint.to_string(),
            reason: e.to_string(),
        },
        _ => PluginError::Protocol {
            endpoint: endpoint.to_string(),
            reason: e.to_string(),
        },
    }
}

/// Whether an error means "this broker does not implement the request".
fn is_unsupported(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(RDKafkaErrorCode::UnsupportedFeature)
            | Some(RDKafkaErrorCode::UnsupportedVersion)
            | Some(RDKafkaErrorCode::UnsupportedForMessageFormat)
            | Some(RDKafkaErrorCode::InvalidRequest)
    ) || e.to_string().contains("Unsupported")
}

impl KafkaTarget {
    /// The target of a configured instance.
    pub fn from_instance(
        instance: &InstanceConfig,
        timeout: Duration,
    ) -> Result<Self, PluginError> {
        crate::plugins::registry::validate_url_for(instance).map_err(|reason| {
            PluginError::Config(format!("instance `{}`: url: {reason}", instance.name))
        })?;
        let url = instance.url.trim();
        let list = url
            .strip_prefix("kafka://")
            .or_else(|| url.strip_prefix(super::kind::KAFKA_TLS_SCHEME))
            .unwrap_or(url)
            .trim_end_matches('/');
        Ok(KafkaTarget {
            endpoint: instance.endpoint(),
            bootstrap: list.split(',').map(str::trim).collect::<Vec<_>>().join(","),
            timeout,
            security: KafkaSecurity::from_instance(instance)?,
        })
    }

    fn base_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap)
            .set("client.id", "kubestack-ai")
            .set(
                "socket.timeout.ms",
                self.timeout.as_millis().max(1000).to_string(),
            )
            // A metadata request for a named topic must never create it.
            .set("allow.auto.create.topics", "false")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("log_level", "3");
        self.security.apply(&mut c);
        c
    }

    /// The collector's read-only client.
    pub fn reader(&self) -> Result<KafkaReader, PluginError> {
        let consumer: BaseConsumer = self
            .base_config()
            .create()
            .map_err(|e| PluginError::Config(format!("{}: {e}", self.endpoint)))?;
        let admin: AdminClient<DefaultClientContext> = self
            .base_config()
            .create()
            .map_err(|e| PluginError::Config(format!("{}: {e}", self.endpoint)))?;
        Ok(KafkaReader {
            target: self.clone(),
            consumer,
            admin,
            group_consumers: std::sync::Mutex::new(HashMap::new()),
        })
    }

    /// An admin client that can change the cluster — for the repair executor only.
    pub fn writer(
        &self,
        _token: &ExecutorToken,
    ) -> Result<AdminClient<DefaultClientContext>, PluginError> {
        self.base_config()
            .create()
            .map_err(|e| PluginError::Config(format!("{}: {e}", self.endpoint)))
    }

    /// A consumer that speaks for `group` (OffsetCommit) — for the executor only; it never
    /// subscribes, so it joins nothing.
    pub fn group_committer(
        &self,
        group: &str,
        _token: &ExecutorToken,
    ) -> Result<BaseConsumer, PluginError> {
        self.base_config()
            .set("group.id", group)
            .create()
            .map_err(|e| PluginError::Config(format!("{}: {e}", self.endpoint)))
    }
}

/// The read-only client: only the calls of catalog §4.4's read-only list are reachable here.
pub struct KafkaReader {
    pub target: KafkaTarget,
    consumer: BaseConsumer,
    admin: AdminClient<DefaultClientContext>,
    /// One OffsetFetch consumer per group, kept between samples (a librdkafka client is a
    /// few threads and a connection: not something to build per sample). Bounded by
    /// `kafka.max_groups`: only the groups read in the current sample keep theirs.
    group_consumers: std::sync::Mutex<HashMap<String, Arc<BaseConsumer>>>,
}

impl KafkaReader {
    /// The error of a failed request on the read-only consumer, in the words of the TLS
    /// library or the broker when librdkafka queued them (client_errors.rs).
    fn failure(&self, e: &KafkaError) -> PluginError {
        let endpoint = &self.target.endpoint;
        // SAFETY: the consumer owns the handle and outlives this call.
        let events = unsafe {
            super::client_errors::drain_error_events(self.consumer.client().native_ptr())
        };
        let tls = self.target.security.protocol.is_tls();
        match super::client_errors::explain(&events, endpoint, tls, classify(e, endpoint)) {
            PluginError::Auth { endpoint, reason } => PluginError::Auth {
                endpoint,
                reason: self.target.security.scrub(&reason),
            },
            PluginError::Unreachable { endpoint, reason } => PluginError::Unreachable {
                endpoint,
                reason: self.target.security.scrub(&reason),
            },
            other => other,
        }
    }

    /// Brokers, topics with partitions, cluster id and controller.
    pub fn metadata(&self) -> Result<ClusterMeta, PluginError> {
        let t = self.target.timeout;
        let md = self
            .consumer
            .fetch_metadata(None, t)
            .map_err(|e| self.failure(&e))?;
        let topics = md
            .topics()
            .iter()
            .map(|tp| TopicMeta {
                name: tp.name().to_string(),
                partitions: tp
                    .partitions()
                    .iter()
                    .map(|p| PartitionMeta {
                        id: p.id(),
                        leader: p.leader(),
                        replicas: p.replicas().to_vec(),
                        isr: p.isr().to_vec(),
                        error: p
                            .error()
                            .map(|e| format!("{:?}", RDKafkaErrorCode::from(e))),
                    })
                    .collect(),
            })
            .collect();
        let client = self.consumer.client();
        let controller = {
            // SAFETY: the handle is alive for the duration of the call; librdkafka's
            // rd_kafka_controllerid only reads the client's cached metadata (or waits for it).
            let id = unsafe {
                rdkafka::bindings::rd_kafka_controllerid(
                    client.native_ptr(),
                    t.as_millis().min(i32::MAX as u128) as i32,
                )
            };
            Some(id)
        };
        Ok(ClusterMeta {
            brokers: md
                .brokers()
                .iter()
                .map(|b| (b.id(), b.host().to_string(), b.port() as u16))
                .collect(),
            topics,
            cluster_id: client.fetch_cluster_id(t),
            controller,
        })
    }

    /// Low and high watermark of one partition.
    pub fn watermarks(&self, topic: &str, partition: i32) -> Result<(i64, i64), PluginError> {
        self.consumer
            .fetch_watermarks(topic, partition, self.target.timeout)
            .map_err(|e| self.failure(&e))
    }

    /// Consumer groups with state and member count; brokers that cannot list groups say so.
    pub fn groups(&self) -> Result<Answer<Vec<GroupMeta>>, PluginError> {
        match self.consumer.fetch_group_list(None, self.target.timeout) {
            Ok(list) => Ok(Answer::Yes(
                list.groups()
                    .iter()
                    .map(|g| GroupMeta {
                        name: g.name().to_string(),
                        state: g.state().to_string(),
                        members: g.members().len(),
                    })
                    .collect(),
            )),
            Err(e) if is_unsupported(&e) => Ok(Answer::Unsupported(format!(
                "this broker does not list consumer groups ({e})"
            ))),
            Err(e) => Err(self.failure(&e)),
        }
    }

    /// The committed offsets of `group` on these partitions (OffsetFetch through a consumer
    /// that never joins the group); no commit → absent.
    pub fn committed(
        &self,
        group: &str,
        partitions: &[(String, i32)],
    ) -> Result<HashMap<(String, i32), i64>, PluginError> {
        let consumer = {
            let mut cache = self
                .group_consumers
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            match cache.get(group) {
                Some(c) => c.clone(),
                None => {
                    let c: BaseConsumer = self
                        .target
                        .base_config()
                        .set("group.id", group)
                        .create()
                        .map_err(|e| {
                            PluginError::Config(format!("{}: {e}", self.target.endpoint))
                        })?;
                    let c = Arc::new(c);
                    cache.insert(group.to_string(), c.clone());
                    c
                }
            }
        };
        let mut tpl = TopicPartitionList::new();
        for (t, p) in partitions {
            tpl.add_partition(t, *p);
        }
        let got = consumer
            .committed_offsets(tpl, self.target.timeout)
            .map_err(|e| classify(&e, &self.target.endpoint))?;
        Ok(got
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) if o >= 0 => Some(((e.topic().to_string(), e.partition()), o)),
                _ => None,
            })
            .collect())
    }

    /// How many OffsetFetch clients are held (at most `kafka.max_groups`).
    pub fn group_clients(&self) -> usize {
        self.group_consumers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Drops the OffsetFetch consumers of groups not read this sample.
    pub fn retain_groups(&self, groups: &[String]) {
        self.group_consumers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|g, _| groups.contains(g));
    }

    /// Broker and topic configs (DescribeConfigs); `Unsupported` when the broker has no answer.
    pub async fn configs(
        &self,
        brokers: &[i32],
        topics: &[String],
    ) -> Result<Answer<Configs>, PluginError> {
        // librdkafka sends a broker's resource to that broker and refuses two brokers in one
        // request ("Conflicting use", seen on a real three-broker cluster): the topics go with
        // the first broker, every other broker is a request of its own.
        let mut first: Vec<ResourceSpecifier<'_>> = brokers
            .first()
            .map(|b| ResourceSpecifier::Broker(*b))
            .into_iter()
            .collect();
        first.extend(topics.iter().map(|t| ResourceSpecifier::Topic(t.as_str())));
        let mut requests = vec![first];
        requests.extend(
            brokers
                .iter()
                .skip(1)
                .map(|b| vec![ResourceSpecifier::Broker(*b)]),
        );
        let opts = AdminOptions::new().request_timeout(Some(self.target.timeout));
        let answers = futures::future::join_all(requests.iter().map(|specs| {
            tokio::time::timeout(
                self.target.timeout + Duration::from_secs(1),
                self.admin.describe_configs(specs, &opts),
            )
        }))
        .await;
        let mut out = HashMap::new();
        for (i, answer) in answers.into_iter().enumerate() {
            let results = match answer {
                Ok(Ok(r)) => r,
                // Another broker that does not answer leaves out its own configs only.
                _ if i > 0 => continue,
                Err(_) => {
                    return Ok(Answer::Unsupported(
                        "the broker did not answer DescribeConfigs".into(),
                    ));
                }
                Ok(Err(e)) if is_unsupported(&e) => {
                    return Ok(Answer::Unsupported(format!(
                        "this broker does not describe configs ({e})"
                    )));
                }
                // The mock cluster (and some proxies) never answer DescribeConfigs: the
                // request times out while metadata works.
                Ok(Err(e)) if e.to_string().contains("Timed out") => {
                    return Ok(Answer::Unsupported(format!(
                        "the broker did not answer DescribeConfigs ({e})"
                    )));
                }
                Ok(Err(e)) => return Err(classify(&e, &self.target.endpoint)),
            };
            collect_configs(results, &mut out);
        }
        if out.is_empty() {
            return Ok(Answer::Unsupported(
                "DescribeConfigs returned no resource".into(),
            ));
        }
        Ok(Answer::Yes(out))
    }
}

/// Adds one DescribeConfigs answer's non-sensitive entries to `out`.
fn collect_configs(results: Vec<rdkafka::admin::ConfigResourceResult>, out: &mut Configs) {
    for r in results {
        let Ok(res) = r else { continue };
        let key = match &res.specifier {
            rdkafka::admin::OwnedResourceSpecifier::Broker(b) => format!("broker:{b}"),
            rdkafka::admin::OwnedResourceSpecifier::Topic(t) => format!("topic:{t}"),
            rdkafka::admin::OwnedResourceSpecifier::Group(g) => format!("group:{g}"),
        };
        let entries = res
            .entries
            .iter()
            .filter(|e| !e.is_sensitive)
            .filter_map(|e| Some((e.name.clone(), e.value.clone()?)))
            .collect();
        out.insert(key, entries);
    }
}
