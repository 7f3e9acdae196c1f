//! The demo playground (`kubestack-ai playground`, used by `scripts/demo`): the systems that
//! cannot be installed here, served in-process — librdkafka's mock Kafka cluster with lagging
//! consumer groups and a modelled Elasticsearch cluster with faults.

pub mod es;
pub mod kube_api;
pub mod kube_demo;
pub mod kube_objects;
pub mod serve;
