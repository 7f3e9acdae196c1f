//! Kubernetes (the first part of the Kubernetes issue): contexts from kubeconfig — several
//! files through `KUBECONFIG`, `--context` — each probed in the background so an unreachable
//! cluster shows `connecting…` then `down` with the error while the rest stays usable.

pub mod contexts;

pub use contexts::{
    ContextState, KubeContext, KubeContexts, load_contexts, load_from, probe_context,
};
