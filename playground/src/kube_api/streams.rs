//! The streaming endpoints of the in-process API server: watch streams (replay from a
//! resourceVersion, live changes, bookmarks, `410 Gone`), pod log streams with follow, and the
//! port-forward WebSocket carried to a real TCP address.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

use super::{Body, Change, Kind, KubeApi, Target, channel_body, status};

impl KubeApi {
    pub(super) fn watch(&self, t: &Target, q: &HashMap<String, String>) -> Response<Body> {
        let from: u64 = q
            .get("resourceVersion")
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        let bookmarks = q.get("allowWatchBookmarks").is_some_and(|b| b == "true");
        let timeout = q
            .get("timeoutSeconds")
            .and_then(|s| s.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(290));
        let (tx, rx) = mpsc::channel::<Bytes>(1024);
        let kind = t.kind;
        let namespace = t.namespace.clone();
        let matches = move |c: &Change| {
            c.kind == kind && namespace.as_ref().is_none_or(|n| *n == c.namespace)
        };
        let (replay, mut live, gone, mut rv) = self.with(|m| {
            let live = self.shared.changes.subscribe();
            if from != 0 && from < m.compacted_below {
                return (Vec::new(), live, true, m.rv);
            }
            let replay: Vec<Change> = m
                .history
                .iter()
                .filter(|c| c.rv > from && matches(c))
                .cloned()
                .collect();
            (replay, live, false, m.rv)
        });
        let mut drops = self.shared.drops.subscribe();
        let every = self.shared.bookmark_every;
        let (api_version, list_kind) = t.kind.list_kind();
        let object_kind = list_kind.trim_end_matches("List").to_string();
        tokio::spawn(async move {
            let line = |v: Value| Bytes::from(format!("{v}\n"));
            if gone {
                let mut s = serde_json::to_value(Status {
                    code: Some(410),
                    message: Some(format!("too old resource version: {from} ({rv})")),
                    reason: Some("Expired".into()),
                    status: Some("Failure".into()),
                    ..Default::default()
                })
                .unwrap_or_default();
                s["kind"] = json!("Status");
                s["apiVersion"] = json!("v1");
                let _ = tx.send(line(json!({"type":"ERROR","object":s}))).await;
                return;
            }
            for c in replay {
                rv = rv.max(c.rv);
                if tx
                    .send(line(json!({"type": c.kind_of_event, "object": *c.object})))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            let deadline = tokio::time::sleep(timeout);
            tokio::pin!(deadline);
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tokio::select! {
                    c = live.recv() => match c {
                        Ok(c) if c.rv > from && matches(&c) => {
                            rv = c.rv;
                            if tx.send(line(json!({"type": c.kind_of_event, "object": *c.object}))).await.is_err() {
                                return;
                            }
                        }
                        Ok(_) => {}
                        // A watcher too slow for the server is cut off, as the API server does.
                        Err(_) => return,
                    },
                    _ = tick.tick(), if bookmarks => {
                        let b = json!({"type":"BOOKMARK","object":{"apiVersion": api_version, "kind": object_kind, "metadata":{"resourceVersion": rv.to_string()}}});
                        if tx.send(line(b)).await.is_err() {
                            return;
                        }
                    }
                    _ = drops.changed() => return,
                    _ = &mut deadline => return,
                }
            }
        });
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(channel_body(rx))
            .expect("static response")
    }

    pub(super) fn pod_log(
        &self,
        namespace: String,
        pod: String,
        q: &HashMap<String, String>,
    ) -> Response<Body> {
        let exists = self.with(|m| {
            m.objects
                .contains_key(&(Kind::Pod, namespace.clone(), pod.clone()))
        });
        if !exists {
            return status(404, "NotFound", &format!("pods \"{pod}\" not found"));
        }
        let follow = q.get("follow").is_some_and(|f| f == "true");
        let previous = q.get("previous").is_some_and(|f| f == "true");
        let timestamps = q.get("timestamps").is_some_and(|f| f == "true");
        let since: Option<chrono::DateTime<chrono::Utc>> = q
            .get("sinceTime")
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
            .or_else(|| {
                q.get("sinceSeconds")
                    .and_then(|s| s.parse::<i64>().ok())
                    .map(|s| chrono::Utc::now() - chrono::Duration::seconds(s))
            });
        let tail: Option<usize> = q.get("tailLines").and_then(|t| t.parse().ok());
        let format = move |(t, l): &(chrono::DateTime<chrono::Utc>, String)| {
            if timestamps {
                Bytes::from(format!(
                    "{} {l}\n",
                    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
                ))
            } else {
                Bytes::from(format!("{l}\n"))
            }
        };
        let keep = move |t: &chrono::DateTime<chrono::Utc>| since.is_none_or(|s| *t >= s);
        let key = (namespace, pod);
        let (initial, mut sent) = self.with(|m| {
            let log = m.logs.get(&key);
            let lines = log
                .map(|l| if previous { &l.previous } else { &l.current })
                .cloned()
                .unwrap_or_default();
            let sent = log.map_or(0, |l| l.current.len());
            let mut lines: Vec<_> = lines.into_iter().filter(|(t, _)| keep(t)).collect();
            if let Some(n) = tail {
                lines = lines.split_off(lines.len().saturating_sub(n));
            }
            (lines, sent)
        });
        let (tx, rx) = mpsc::channel::<Bytes>(1024);
        let mut appended = self.shared.logs.subscribe();
        let mut drops = self.shared.drops.subscribe();
        let shared = self.shared.clone();
        tokio::spawn(async move {
            for l in &initial {
                if tx.send(format(l)).await.is_err() {
                    return;
                }
            }
            if !follow || previous {
                return;
            }
            loop {
                tokio::select! {
                    r = appended.recv() => {
                        // A lagging receiver only missed wake-ups: lines are read by position.
                        match r {
                            Err(broadcast::error::RecvError::Closed) => return,
                            // Another pod's line: nothing to read here.
                            Ok(other) if other != key => continue,
                            _ => {}
                        }
                        let new: Vec<_> = {
                            let m = shared.model.lock().unwrap_or_else(|p| p.into_inner());
                            let cur = m.logs.get(&key).map(|l| &l.current[sent.min(l.current.len())..]).unwrap_or(&[]);
                            cur.to_vec()
                        };
                        sent += new.len();
                        for l in new.iter().filter(|(t, _)| keep(t)) {
                            if tx.send(format(l)).await.is_err() {
                                return;
                            }
                        }
                    }
                    _ = drops.changed() => return,
                }
            }
        });
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "text/plain")
            .body(channel_body(rx))
            .expect("static response")
    }

    pub(super) fn port_forward(
        &self,
        namespace: String,
        pod: String,
        q: &HashMap<String, String>,
        mut req: Request<Incoming>,
    ) -> Response<Body> {
        let Some(key) = req
            .headers()
            .get("sec-websocket-key")
            .map(|k| k.as_bytes().to_vec())
        else {
            return status(400, "BadRequest", "port-forward needs a WebSocket upgrade");
        };
        let Some(port) = q
            .get("ports")
            .and_then(|p| p.split(',').next()?.parse::<u16>().ok())
        else {
            return status(400, "BadRequest", "ports is required");
        };
        let target = self.with(|m| m.forwards.get(&(namespace.clone(), pod.clone())).copied());
        let upgrade = hyper::upgrade::on(&mut req);
        let mut drops = self.shared.drops.subscribe();
        tokio::spawn(async move {
            let Ok(upgraded) = upgrade.await else {
                return;
            };
            let mut ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                Role::Server,
                None,
            )
            .await;
            let [lo, hi] = port.to_le_bytes();
            for ch in [0u8, 1] {
                if ws.send(Message::binary(vec![ch, lo, hi])).await.is_err() {
                    return;
                }
            }
            let tcp = match target {
                Some(addr) => TcpStream::connect(addr).await.ok(),
                None => None,
            };
            let Some(mut tcp) = tcp else {
                let msg = format!(
                    "error forwarding port {port} to pod {pod}: no such port in the test server"
                );
                let mut frame = vec![1u8];
                frame.extend_from_slice(msg.as_bytes());
                let _ = ws.send(Message::binary(frame)).await;
                let _ = ws.close(None).await;
                return;
            };
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                tokio::select! {
                    n = tcp.read(&mut buf) => match n {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            let mut frame = Vec::with_capacity(n + 1);
                            frame.push(0u8);
                            frame.extend_from_slice(&buf[..n]);
                            if ws.send(Message::binary(frame)).await.is_err() {
                                break;
                            }
                        }
                    },
                    m = ws.next() => match m {
                        Some(Ok(Message::Binary(data))) if data.first() == Some(&0) => {
                            if tcp.write_all(&data[1..]).await.is_err() {
                                break;
                            }
                        }
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                        Some(Ok(_)) => {}
                    },
                    _ = drops.changed() => break,
                }
            }
            let _ = ws.close(None).await;
        });
        Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header(
                "sec-websocket-accept",
                tokio_tungstenite::tungstenite::handshake::derive_accept_key(&key),
            )
            .header("sec-websocket-protocol", "v4.channel.k8s.io")
            .body(Full::new(Bytes::new()).boxed())
            .expect("static response")
    }
}
