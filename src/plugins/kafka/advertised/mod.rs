//! Brokers seen through a port-forward: a Kafka cluster in Kubernetes advertises in-cluster
//! names (`kafka-1.kafka-headless.streaming.svc:9092`) that do not resolve where the program
//! runs. librdkafka connects to the bootstrap (the forward), reads Metadata, and then dials the
//! advertised addresses — which fail. rdkafka 0.38 exposes neither librdkafka's resolve nor its
//! connect callback on the consumer and admin clients, so the equivalent is done on the wire:
//! the forward relays Kafka frames and rewrites the broker addresses in the two responses that
//! carry them (Metadata and FindCoordinator) to loopback listeners, each of which forwards to the
//! pod behind that name. Every client of the plugin (collector, AI tools, executor) goes through
//! the same forward, so all of them reach every broker.
//!
//! Only the framing and the broker fields are parsed; every other byte is passed on unchanged.
//! A connection that starts a TLS handshake is relayed as bytes (its frames cannot be read), and
//! a reply that cannot be parsed is passed on unchanged with the reason published — never a
//! panic, never a hang.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::kube::portforward::{BoxedStream, Relay, Router};

/// Metadata.
const METADATA: i16 = 3;
/// FindCoordinator.
const FIND_COORDINATOR: i16 = 10;
/// The largest frame relayed (the broker's own `socket.request.max.bytes` default); the
/// program never fetches records, so its replies are far smaller.
const MAX_FRAME: usize = 100 * 1024 * 1024;
/// Requests whose replies are still awaited, per connection; librdkafka pipelines a handful.
const MAX_IN_FLIGHT: usize = 4096;

/// Why a reply could not be rewritten.
#[derive(Debug, Clone, PartialEq)]
pub struct WireError(pub String);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A byte reader over one frame that never reads past its end.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or_else(|| {
                WireError(format!(
                    "reply cut short at byte {} (wanted {n} more of {})",
                    self.pos,
                    self.buf.len()
                ))
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn i16(&mut self) -> Result<i16, WireError> {
        let b = self.take(2)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, WireError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn uvarint(&mut self) -> Result<u64, WireError> {
        let mut value: u64 = 0;
        for shift in (0..64).step_by(7).take(10) {
            let b = self.take(1)?[0];
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError("a varint longer than 10 bytes".into()))
    }

    /// A string (compact in flexible versions); `None` when null.
    fn string(&mut self, compact: bool) -> Result<Option<String>, WireError> {
        let len = if compact {
            match self.uvarint()? {
                0 => return Ok(None),
                n => usize::try_from(n - 1).map_err(|_| WireError("string too long".into()))?,
            }
        } else {
            match self.i16()? {
                -1 => return Ok(None),
                n if n < 0 => return Err(WireError(format!("string length {n}"))),
                n => n as usize,
            }
        };
        let b = self.take(len)?;
        String::from_utf8(b.to_vec())
            .map(Some)
            .map_err(|_| WireError("a host name that is not UTF-8".into()))
    }

    /// An array's element count (compact in flexible versions); null counts as 0.
    fn array_len(&mut self, compact: bool, min_element: usize) -> Result<usize, WireError> {
        let n = if compact {
            match self.uvarint()? {
                0 => 0,
                n => n - 1,
            }
        } else {
            match self.i32()? {
                -1 => 0,
                n if n < 0 => return Err(WireError(format!("array length {n}"))),
                n => n as u64,
            }
        };
        let left = (self.buf.len() - self.pos) as u64;
        if n.saturating_mul(min_element as u64) > left {
            return Err(WireError(format!(
                "an array of {n} elements in {left} bytes"
            )));
        }
        Ok(n as usize)
    }

    fn tagged_fields(&mut self) -> Result<(), WireError> {
        let n = self.uvarint()?;
        for _ in 0..n {
            self.uvarint()?;
            let size = self.uvarint()?;
            self.take(usize::try_from(size).map_err(|_| WireError("tag too long".into()))?)?;
        }
        Ok(())
    }
}

fn put_string(out: &mut Vec<u8>, s: &str, compact: bool) {
    if compact {
        put_uvarint(out, s.len() as u64 + 1);
    } else {
        out.extend_from_slice(&(s.len().min(i16::MAX as usize) as i16).to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
}

fn put_uvarint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Where an advertised broker address is reached from here: `None` leaves it as it is.
pub trait AddressMap {
    fn map(&mut self, host: &str, port: i32) -> Option<(String, i32)>;
}

impl<F: FnMut(&str, i32) -> Option<(String, i32)>> AddressMap for F {
    fn map(&mut self, host: &str, port: i32) -> Option<(String, i32)> {
        self(host, port)
    }
}

/// Whether replies to `api_key` at `version` use the flexible encoding (compact strings and
/// tagged fields, response header v1).
fn flexible(api_key: i16, version: i16) -> bool {
    match api_key {
        METADATA => version >= 9,
        FIND_COORDINATOR => version >= 3,
        _ => false,
    }
}

/// Rewrites the broker addresses in one response frame (`frame` = correlation id onwards, the
/// length prefix excluded). `Ok(None)`: nothing to rewrite (another request, or no address
/// mapped); `Ok(Some(bytes))`: the new frame.
pub fn rewrite_response(
    api_key: i16,
    version: i16,
    frame: &[u8],
    map: &mut dyn AddressMap,
) -> Result<Option<Vec<u8>>, WireError> {
    if api_key != METADATA && api_key != FIND_COORDINATOR {
        return Ok(None);
    }
    let compact = flexible(api_key, version);
    let mut c = Cursor { buf: frame, pos: 0 };
    c.i32()?; // correlation id
    if compact {
        c.tagged_fields()?;
    }
    let mut out = Vec::with_capacity(frame.len() + 64);
    let mut changed = false;
    // Copies `c.buf[from..c.pos]` to `out`.
    let mut copied = 0usize;
    let flush = |out: &mut Vec<u8>, c: &Cursor, copied: &mut usize, upto: usize| {
        out.extend_from_slice(&c.buf[*copied..upto]);
        *copied = c.pos;
    };
    // One (host, port) pair: parse it, write the mapped one.
    let mut host_port = |c: &mut Cursor,
                         out: &mut Vec<u8>,
                         copied: &mut usize,
                         changed: &mut bool|
     -> Result<(), WireError> {
        let start = c.pos;
        let host = c.string(compact)?.unwrap_or_default();
        let port = c.i32()?;
        if let Some((h, p)) = map.map(&host, port) {
            flush(out, c, copied, start);
            put_string(out, &h, compact);
            out.extend_from_slice(&p.to_be_bytes());
            *changed = true;
        }
        Ok(())
    };
    if api_key == METADATA {
        if version >= 3 {
            c.i32()?; // throttle_time_ms
        }
        let n = c.array_len(compact, 10)?;
        for _ in 0..n {
            c.i32()?; // node_id
            host_port(&mut c, &mut out, &mut copied, &mut changed)?;
            if version >= 1 {
                c.string(compact)?; // rack
            }
            if compact {
                c.tagged_fields()?;
            }
        }
    } else if version >= 4 {
        c.i32()?; // throttle_time_ms
        let n = c.array_len(true, 14)?;
        for _ in 0..n {
            c.string(true)?; // key
            let node = c.i32()?;
            if node >= 0 {
                host_port(&mut c, &mut out, &mut copied, &mut changed)?;
            } else {
                c.string(true)?;
                c.i32()?;
            }
            c.i16()?; // error_code
            c.string(true)?; // error_message
            c.tagged_fields()?;
        }
    } else {
        if version >= 1 {
            c.i32()?; // throttle_time_ms
        }
        c.i16()?; // error_code
        if version >= 1 {
            c.string(compact)?; // error_message
        }
        let node = c.i32()?;
        if node >= 0 {
            host_port(&mut c, &mut out, &mut copied, &mut changed)?;
        }
    }
    if !changed {
        return Ok(None);
    }
    out.extend_from_slice(&frame[copied..]);
    Ok(Some(out))
}

/// The Kafka relay a port-forward carries its connections with.
#[derive(Debug)]
pub struct KafkaRelay;

impl Relay for KafkaRelay {
    fn carry(
        &self,
        local: TcpStream,
        upstream: BoxedStream,
        router: Arc<dyn Router>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> {
        Box::pin(relay(local, upstream, router))
    }
}

type InFlight = Arc<Mutex<HashMap<i32, (i16, i16)>>>;

/// One frame's payload (the 4-byte length read and dropped); `None` at a clean end.
async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Vec<u8>>, String> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.to_string()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(format!(
            "a Kafka frame of {len} bytes (more than {MAX_FRAME}): not the Kafka protocol"
        ));
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)
        .await
        .map_err(|e| format!("a frame cut off after fewer than {len} bytes: {e}"))?;
    Ok(Some(buf))
}

async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, frame: &[u8]) -> std::io::Result<()> {
    w.write_all(&(frame.len() as u32).to_be_bytes()).await?;
    w.write_all(frame).await
}

async fn relay(
    mut local: TcpStream,
    mut upstream: BoxedStream,
    router: Arc<dyn Router>,
) -> Result<(), String> {
    // The first byte tells a Kafka frame (a length below 16 MiB starts with 0) from a TLS
    // handshake (0x16): TLS is relayed as bytes, its brokers' names stay as advertised.
    let mut first = [0u8; 1];
    match local.peek(&mut first).await {
        Ok(0) | Err(_) => return Ok(()),
        Ok(_) => {}
    }
    if first[0] != 0 {
        router.report(
            "a TLS connection: advertised broker addresses cannot be rewritten (see docs/kubernetes.md)"
                .into(),
        );
        return tokio::io::copy_bidirectional(&mut local, &mut upstream)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
    }
    let (mut lr, mut lw) = local.into_split();
    let (mut ur, mut uw) = tokio::io::split(upstream);
    let in_flight: InFlight = Arc::new(Mutex::new(HashMap::new()));
    let requests = {
        let in_flight = in_flight.clone();
        async move {
            while let Some(frame) = read_frame(&mut lr).await? {
                if frame.len() >= 8 {
                    let key = i16::from_be_bytes([frame[0], frame[1]]);
                    let version = i16::from_be_bytes([frame[2], frame[3]]);
                    let corr = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
                    if let Ok(mut m) = in_flight.lock() {
                        if m.len() >= MAX_IN_FLIGHT {
                            m.clear();
                        }
                        m.insert(corr, (key, version));
                    }
                }
                write_frame(&mut uw, &frame)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        }
    };
    let responses = async move {
        while let Some(mut frame) = read_frame(&mut ur).await? {
            if frame.len() >= 4 {
                let corr = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
                let req = in_flight.lock().ok().and_then(|mut m| m.remove(&corr));
                if let Some((key, version)) = req {
                    let mut missed = false;
                    let mut map = |host: &str, port: i32| {
                        let to = router.route(host, port);
                        missed |= to.is_none();
                        to
                    };
                    match rewrite_response(key, version, &frame, &mut map) {
                        Ok(Some(new)) => {
                            frame = new;
                            if !missed {
                                router.resolved();
                            }
                        }
                        Ok(None) => {}
                        Err(e) => router.report(format!(
                            "could not read the broker list of a reply (api {key} v{version}): {e}"
                        )),
                    }
                }
            }
            write_frame(&mut lw, &frame)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok::<(), String>(())
    };
    // Either side ending ends the connection.
    tokio::select! {
        r = requests => r,
        r = responses => r,
    }
}

#[cfg(test)]
mod tests;
