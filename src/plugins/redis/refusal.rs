//! A Redis that turns new clients away: at `maxclients` the server accepts the connection,
//! writes `-ERR max number of clients reached\r\n` and closes it. The client library, which
//! sends HELLO / AUTH / CLIENT SETINFO at once, usually sees only the close (broken pipe,
//! connection reset: the reset discards the unread reply), so after a failed connect the
//! server's greeting is read on a raw connection that sends nothing — and the refusal is
//! reported as RDS-CONN-01 with the server's words, not as "unreachable".
//!
//! Over TLS Redis writes its refusal before the handshake, which no TLS client can read; a
//! `rediss://` endpoint is not probed.

use std::time::Duration;

use tokio::io::AsyncReadExt;

use crate::model::{Finding, Severity};

/// What Redis writes to a client it refuses at `maxclients` (`src/networking.c`).
pub const MAX_CLIENTS_REPLY: &str = "max number of clients reached";

/// At most this much of a greeting is read (a refusal is one short line).
const GREETING_CAP: usize = 512;

/// How long the probe waits for the server to speak first.
const GREETING_WAIT: Duration = Duration::from_millis(500);

/// Whether a reply is the `maxclients` refusal.
pub fn is_max_clients(reply: &str) -> bool {
    reply.contains(MAX_CLIENTS_REPLY)
}

/// RDS-CONN-01 from the server's refusal of this very client.
pub fn max_clients_finding(reply: &str) -> Finding {
    Finding::new(
        "RDS-CONN-01",
        Severity::Critical,
        "connections",
        format!("the server refuses new clients: {reply}"),
        "Redis answered the connection with its maxclients refusal: every new client gets the same \
         error now. No other rule could be judged, because no command can be sent.",
        "Find who holds the connections (CLIENT LIST from an open session: many idle clients, \
         timeout 0) and close the leak, or raise maxclients (RDS-FIX-06) within the fd limit.",
    )
    .with("server_reply", reply.to_string())
    .with("threshold", "any refusal (src: INFO rejected_connections)")
}

/// The first line a server sends unasked on a new connection, if it is an error line
/// (`-ERR …`, `-DENIED …`), without the leading `-`. Bounded in time and size; `None` when the
/// server says nothing, says something else, or cannot be reached.
pub async fn error_greeting(addr: &redis::ConnectionAddr) -> Option<String> {
    let read = async {
        let mut buf = vec![0u8; GREETING_CAP];
        let n = match addr {
            redis::ConnectionAddr::Tcp(host, port) => {
                let mut s = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .ok()?;
                read_some(&mut s, &mut buf).await
            }
            redis::ConnectionAddr::Unix(path) => {
                let mut s = tokio::net::UnixStream::connect(path).await.ok()?;
                read_some(&mut s, &mut buf).await
            }
            _ => return None,
        };
        Some(error_line(&buf[..n]))
    };
    tokio::time::timeout(GREETING_WAIT, read)
        .await
        .ok()
        .flatten()
        .flatten()
}

/// Reads until a line ends, the peer closes, the cap is reached or an error (a reset after
/// the refusal) — whatever arrived before counts.
async fn read_some<S: AsyncReadExt + Unpin>(s: &mut S, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match s.read(&mut buf[n..]).await {
            Ok(0) | Err(_) => break,
            Ok(k) => {
                n += k;
                if buf[..n].contains(&b'\n') {
                    break;
                }
            }
        }
    }
    n
}

/// The text of a RESP error line (`-ERR max …\r\n` → `ERR max …`), printable characters only.
fn error_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().next()?.strip_prefix('-')?;
    let clean: String = line
        .chars()
        .filter(|c| !c.is_control())
        .take(GREETING_CAP)
        .collect();
    (!clean.trim().is_empty()).then(|| clean.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_are_read_and_everything_else_is_not() {
        let cases: [(&[u8], Option<&str>); 8] = [
            (
                b"-ERR max number of clients reached\r\n",
                Some("ERR max number of clients reached"),
            ),
            (
                b"-DENIED Redis is running in protected mode\r\n",
                Some("DENIED Redis is running in protected mode"),
            ),
            (b"-ERR cut off", Some("ERR cut off")),
            (b"+OK\r\n", None),
            (b"", None),
            (b"-\r\n", None),
            (b"-ERR \x1b[31mred\x07\r\n", Some("ERR [31mred")),
            (b"\xff\xfe-ERR", None),
        ];
        for (bytes, want) in cases {
            assert_eq!(error_line(bytes).as_deref(), want, "{bytes:?}");
        }
        assert!(is_max_clients("ERR max number of clients reached"));
        assert!(!is_max_clients("DENIED Redis is running in protected mode"));
        let f = max_clients_finding("ERR max number of clients reached");
        assert_eq!(
            (f.id.as_str(), f.severity),
            ("RDS-CONN-01", Severity::Critical)
        );
        assert_eq!(
            f.evidence["server_reply"],
            "ERR max number of clients reached"
        );
    }

    #[tokio::test]
    async fn a_greeting_is_read_within_its_bounds() {
        // A server that refuses like Redis does: writes its line, then closes.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let (mut s, _) = listener.accept().await.unwrap();
            let _ = s.write_all(b"-ERR max number of clients reached\r\n").await;
            let (mut silent, _) = listener.accept().await.unwrap();
            // The second one says nothing: the probe gives up after its wait.
            tokio::time::sleep(Duration::from_secs(3)).await;
            let _ = silent.write_all(b"-ERR too late\r\n").await;
        });
        let addr = redis::ConnectionAddr::Tcp("127.0.0.1".into(), port);
        assert_eq!(
            error_greeting(&addr).await.as_deref(),
            Some("ERR max number of clients reached")
        );
        let started = std::time::Instant::now();
        assert_eq!(error_greeting(&addr).await, None);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
