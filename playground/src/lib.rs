//! Stand-ins for what cannot be installed on a test machine or should fail on demand, for the
//! KubeStack-AI tests, benchmarks and `scripts/demo` — never part of the shipped cockpit.
//!
//! `kube_api` (an in-process Kubernetes API server), `es` (an Elasticsearch cluster model),
//! `kube_objects` (k8s-openapi builders for both), `kube_demo` (the demo's cluster) and `serve`
//! (the `kubestack-playground` binary's Kafka and Elasticsearch with faults).

pub mod es;
pub mod kube_api;
pub mod kube_demo;
pub mod kube_objects;
pub mod serve;
