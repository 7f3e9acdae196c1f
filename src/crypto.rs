//! The process-wide rustls crypto provider: ring, chosen once for every TLS client of the
//! program (Redis `rediss://`, the LLM providers, Kubernetes), before the first handshake.

/// Selects ring as rustls's process-wide provider once (a no-op if one is already set).
pub fn install_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
