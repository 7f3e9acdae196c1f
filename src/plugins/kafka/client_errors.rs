//! The reasons librdkafka gives for a failed connection — a TLS handshake the library refused,
//! the broker's SASL answer, a plaintext client at a TLS port — in its own words.
//!
//! librdkafka does not return them from the call that failed: a metadata request only says
//! "broker transport failure" or times out, while the reason is queued as an error event on
//! the client's main queue. The read-only client never polls that queue (it consumes
//! nothing), so the events wait there; after a failure they are drained and the most telling
//! one becomes the error the user sees. This needs no client context, so it works whichever
//! `ClientContext` the clients are built with.

use std::ffi::CStr;

use rdkafka::bindings as rdsys;
use rdkafka::error::RDKafkaErrorCode;

use crate::plugins::PluginError;

/// Error events drained at most per failure (a long outage queues one per reconnect).
const MAX_EVENTS: usize = 1000;

/// Drains the error events queued on the main queue of the client `rk`, oldest first, as
/// (code, text).
///
/// # Safety
/// `rk` must be a live librdkafka handle (from `Client::native_ptr`) for the whole call.
pub unsafe fn drain_error_events(rk: *mut rdsys::rd_kafka_t) -> Vec<(RDKafkaErrorCode, String)> {
    let mut out = Vec::new();
    // SAFETY: the caller guarantees `rk` is live; the queue handle and every event taken
    // from it are destroyed here, and the error string is copied before its event is.
    unsafe {
        let queue = rdsys::rd_kafka_queue_get_main(rk);
        if queue.is_null() {
            return out;
        }
        for _ in 0..MAX_EVENTS {
            let event = rdsys::rd_kafka_queue_poll(queue, 0);
            if event.is_null() {
                break;
            }
            if rdsys::rd_kafka_event_type(event) == rdsys::RD_KAFKA_EVENT_ERROR {
                let code: RDKafkaErrorCode = rdsys::rd_kafka_event_error(event).into();
                let text = rdsys::rd_kafka_event_error_string(event);
                if !text.is_null() {
                    out.push((code, CStr::from_ptr(text).to_string_lossy().into_owned()));
                }
            }
            rdsys::rd_kafka_event_destroy(event);
        }
        rdsys::rd_kafka_queue_destroy(queue);
    }
    out
}

/// The error a user should see for a failed request, given the events librdkafka queued:
/// a SASL failure is an authentication error in the broker's words, a TLS failure or a
/// disconnect during the handshake an unreachable broker with the TLS library's words.
/// Without such an event `fallback` (the request's own error) stands — with a hint when a
/// plain-TCP client saw the brokers go down without a connect error: the broker accepted the
/// connection and hung up on the first request, which is what a TLS listener does to a
/// plaintext client (librdkafka logs that, it queues no event for it).
pub fn explain(
    events: &[(RDKafkaErrorCode, String)],
    endpoint: &str,
    tls: bool,
    fallback: PluginError,
) -> PluginError {
    let pick = |codes: &[RDKafkaErrorCode]| {
        events
            .iter()
            .rev()
            .find(|(c, _)| codes.contains(c))
            .map(|(_, text)| text.clone())
    };
    if let Some(reason) = pick(&[RDKafkaErrorCode::Authentication]) {
        return PluginError::Auth {
            endpoint: endpoint.to_string(),
            reason,
        };
    }
    if let Some(reason) = pick(&[RDKafkaErrorCode::SSL]) {
        // librdkafka words a certificate for another host exactly like an unknown CA (its
        // hint names ssl.ca.location only): say what else it can mean.
        let note = if reason.contains("certificate verify failed") {
            " — the broker's certificate must chain to tls_ca_file (or a system root) and name the host dialled (the bootstrap host, then each broker's advertised host)"
        } else {
            ""
        };
        return PluginError::Unreachable {
            endpoint: endpoint.to_string(),
            reason: format!("TLS: {reason}{note}"),
        };
    }
    let link_failed = matches!(
        fallback,
        PluginError::Unreachable { .. } | PluginError::Timeout { .. }
    );
    match pick(&[
        RDKafkaErrorCode::BrokerTransportFailure,
        RDKafkaErrorCode::Resolve,
    ]) {
        Some(reason) if link_failed => PluginError::Unreachable {
            endpoint: endpoint.to_string(),
            reason,
        },
        None if link_failed
            && !tls
            && events
                .iter()
                .any(|(c, _)| *c == RDKafkaErrorCode::AllBrokersDown) =>
        {
            PluginError::Unreachable {
                endpoint: endpoint.to_string(),
                reason: format!(
                    "{}; the broker accepted the connection and closed it without answering — if this port is a TLS listener, use a kafka+ssl:// url or security_protocol SSL/SASL_SSL",
                    match &fallback {
                        PluginError::Unreachable { reason, .. } => reason.clone(),
                        other => other.to_string(),
                    }
                ),
            }
        }
        _ => fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unreachable() -> PluginError {
        PluginError::Unreachable {
            endpoint: "e".into(),
            reason: "Local: Broker transport failure".into(),
        }
    }

    #[test]
    fn the_most_telling_event_wins() {
        let events = vec![
            (
                RDKafkaErrorCode::BrokerTransportFailure,
                "Disconnected (after 1ms in state SSL_HANDSHAKE)".to_string(),
            ),
            (
                RDKafkaErrorCode::Authentication,
                "SASL authentication error: Authentication failed".to_string(),
            ),
            (
                RDKafkaErrorCode::AllBrokersDown,
                "1/1 brokers are down".to_string(),
            ),
        ];
        let e = explain(&events, "e", true, unreachable());
        assert!(
            matches!(&e, PluginError::Auth { reason, .. } if reason.contains("SASL authentication error")),
            "{e:?}"
        );
        let tls = [(
            RDKafkaErrorCode::SSL,
            "SSL handshake failed: certificate verify failed".to_string(),
        )];
        let e = explain(&tls, "e", true, unreachable()).to_string();
        assert!(e.contains("TLS: SSL handshake failed"), "{e}");
        assert!(e.contains("name the host dialled"), "{e}");
        let down = [(
            RDKafkaErrorCode::AllBrokersDown,
            "1/1 brokers are down".to_string(),
        )];
        assert_eq!(explain(&down, "e", true, unreachable()), unreachable());
        let hinted = explain(&down, "e", false, unreachable()).to_string();
        assert!(hinted.contains("kafka+ssl://"), "{hinted}");
        assert_eq!(explain(&[], "e", false, unreachable()), unreachable());
    }
}
