//! An Elasticsearch reply past the size cap is refused with an error naming the cap, and its
//! body is not read when its length is declared (issue 11 item 8).

mod common;

use kubestack_ai::config::{AppConfig, InstanceConfig, InstanceKind};
use kubestack_ai::plugins::elasticsearch::connection::MAX_REPLY_BYTES;
use kubestack_ai::plugins::plugin_for;
use kubestack_playground::es::{EsServer, Fault, Index};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_past_the_cap_is_an_error_naming_the_cap() {
    let server = EsServer::start().await;
    server.with(|c| c.indices.push(Index::new("logs", 1, 0)));
    let instance = InstanceConfig::new("search", InstanceKind::ELASTICSEARCH, server.url());
    let config = AppConfig::default();
    let mut c = plugin_for(InstanceKind::ELASTICSEARCH)
        .collector(&instance, &config)
        .unwrap();
    c.collect().await.expect("a normal reply is read");
    server.with(|c| c.fault = Fault::Huge(MAX_REPLY_BYTES + 1));
    let err = c.collect().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("larger than the 32 MiB cap") && text.contains("bytes declared"),
        "{text}"
    );
    // Just under the cap still parses.
    server.with(|c| c.fault = Fault::Huge(1 << 20));
    let err = c.collect().await.err().map(|e| e.to_string());
    assert!(!err.as_deref().unwrap_or("").contains("cap"), "{err:?}");
}
