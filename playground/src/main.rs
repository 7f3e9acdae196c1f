//! `kubestack-playground`: serves the demo's Kafka (librdkafka's mock cluster) and Elasticsearch
//! (an in-process model), or drives real ones, with faults until stopped; used by scripts/demo.

use clap::Parser;
use kubestack_playground::serve;

/// The demo's systems with their faults, until the process is stopped.
#[derive(Debug, Parser)]
#[command(name = "kubestack-playground", version, about)]
struct Args {
    /// Write `kafka=HOST:PORT,…` and `elasticsearch=HOST:PORT` here (default: stdout).
    #[arg(long, value_name = "FILE")]
    info_file: Option<std::path::PathBuf>,
    /// Also serve an in-process Kubernetes cluster and write its kubeconfig here.
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<std::path::PathBuf>,
    /// The redis-server the cluster's Redis pods port-forward to.
    #[arg(long, value_name = "HOST:PORT")]
    kube_redis: Option<std::net::SocketAddr>,
    /// Drive this real Kafka cluster (topics, traffic, groups) instead of serving
    /// librdkafka's mock cluster.
    #[arg(long, value_name = "HOST:PORT,…")]
    kafka: Option<String>,
    /// Give this real OpenSearch / Elasticsearch node the demo's faults instead of
    /// serving the in-process model.
    #[arg(long, value_name = "http://HOST:PORT")]
    elasticsearch: Option<String>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("playground: tokio runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let real = serve::Real {
        kafka: args.kafka,
        elasticsearch: args.elasticsearch,
    };
    match runtime.block_on(serve::run(
        args.info_file,
        args.kubeconfig,
        args.kube_redis,
        real,
    )) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("playground: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
