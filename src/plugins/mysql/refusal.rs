//! A MySQL/MariaDB that turns new clients away answers the handshake with an error packet
//! instead of a greeting: `ERROR 1040 (08004): Too many connections` at `max_connections`,
//! 1203 at the account's `max_user_connections`, 1129 for a host blocked after
//! `max_connect_errors`. That answer is the diagnosis: it becomes the catalogue finding it
//! amounts to, with the server's words as evidence — never "unreachable".

use crate::model::{Finding, Severity};

/// The finding a server error code amounts to when it refuses the connection, if any.
pub fn refusal_finding(code: u16, reply: &str) -> Option<Finding> {
    let finding = match code {
        // ER_CON_COUNT_ERROR, ER_TOO_MANY_USER_CONNECTIONS.
        1040 | 1203 => Finding::new(
            "MYS-CONN-02",
            Severity::Critical,
            "connections",
            format!("the server refuses new connections: {reply}"),
            "The server answered the connection with its refusal: every new client gets the same \
             error now (MySQL and MariaDB keep one extra slot for SUPER / CONNECTION_ADMIN). No \
             other rule could be judged, because no statement can be sent.",
            "Find who holds the connections (SHOW PROCESSLIST from an open or SUPER session, by \
             user and host), kill idle leakers, lower wait_timeout for pools that leak (MYS-FIX-04), \
             or raise max_connections if memory allows (MYS-FIX-03).",
        ),
        // ER_HOST_IS_BLOCKED.
        1129 => Finding::new(
            "MYS-CONN-03",
            Severity::Critical,
            "connections",
            format!("the server blocks this host: {reply}"),
            "The host exceeded max_connect_errors aborted connects in a row; every client from it \
             is refused until the host cache is flushed.",
            "Fix what made the connects fail (credentials, network, timeouts), then FLUSH HOSTS \
             (MYS-FIX-13).",
        ),
        _ => return None,
    };
    Some(
        finding
            .with("server_reply", reply.to_string())
            .with("error_code", code)
            .with("threshold", "any refusal (src: server error reply)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_codes_map_to_their_rules_and_others_do_not() {
        let cases: [(u16, Option<&str>); 6] = [
            (1040, Some("MYS-CONN-02")),
            (1203, Some("MYS-CONN-02")),
            (1129, Some("MYS-CONN-03")),
            (1045, None),
            (1064, None),
            (0, None),
        ];
        for (code, want) in cases {
            let f = refusal_finding(code, "ERROR x");
            assert_eq!(f.as_ref().map(|f| f.id.as_str()), want, "{code}");
            if let Some(f) = f {
                assert_eq!(f.severity, Severity::Critical);
                assert_eq!(f.evidence["server_reply"], "ERROR x");
            }
        }
    }
}
