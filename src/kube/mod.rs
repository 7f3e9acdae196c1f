//! Kubernetes: contexts from kubeconfig (several files through `KUBECONFIG`, `--context`), each
//! probed in the background; the watch-based inventory of the current context; middleware
//! discovery; pod metrics, logs and port-forwards.

pub mod access;
pub mod contexts;
pub mod discovery;
pub mod logs;
pub mod metrics;
pub mod portforward;
pub mod repairs;
pub mod rules;
pub mod secret;
pub mod store;
pub mod tools;
pub mod watch;

pub use contexts::{
    ContextState, KubeContext, KubeContexts, client_for, load_contexts, load_from, probe_context,
};
pub use discovery::{Discovered, DiscoveryHints, discover};
pub use store::{ClusterStore, PodRow, StoreUpdate};
pub use watch::{NamespaceScope, spawn_watchers};
