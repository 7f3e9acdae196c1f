//! The rewriting of broker addresses and the relay, against hostile replies.

use super::*;

/// Encodes a Metadata response body as a broker of `version` would.
fn metadata(version: i16, brokers: &[(i32, &str, i32, Option<&str>)]) -> Vec<u8> {
    let compact = version >= 9;
    let mut b = 77i32.to_be_bytes().to_vec(); // correlation id
    if compact {
        b.push(0); // header tagged fields
    }
    if version >= 3 {
        b.extend_from_slice(&0i32.to_be_bytes());
    }
    if compact {
        put_uvarint(&mut b, brokers.len() as u64 + 1);
    } else {
        b.extend_from_slice(&(brokers.len() as i32).to_be_bytes());
    }
    for (id, host, port, rack) in brokers {
        b.extend_from_slice(&id.to_be_bytes());
        put_string(&mut b, host, compact);
        b.extend_from_slice(&port.to_be_bytes());
        if version >= 1 {
            match (rack, compact) {
                (Some(r), _) => put_string(&mut b, r, compact),
                (None, true) => b.push(0),
                (None, false) => b.extend_from_slice(&(-1i16).to_be_bytes()),
            }
        }
        if compact {
            b.push(0);
        }
    }
    // The rest (cluster id, controller, topics…) must come through untouched.
    b.extend_from_slice(b"REST-OF-THE-REPLY\x00\x01\x02");
    b
}

/// Parses the brokers back out (the same layout), for assertions.
fn brokers_of(version: i16, frame: &[u8]) -> (Vec<(i32, String, i32)>, Vec<u8>) {
    let compact = version >= 9;
    let mut c = Cursor { buf: frame, pos: 0 };
    c.i32().unwrap();
    if compact {
        c.tagged_fields().unwrap();
    }
    if version >= 3 {
        c.i32().unwrap();
    }
    let n = c.array_len(compact, 10).unwrap();
    let mut out = Vec::new();
    for _ in 0..n {
        let id = c.i32().unwrap();
        let host = c.string(compact).unwrap().unwrap();
        let port = c.i32().unwrap();
        if version >= 1 {
            c.string(compact).unwrap();
        }
        if compact {
            c.tagged_fields().unwrap();
        }
        out.push((id, host, port));
    }
    (out, frame[c.pos..].to_vec())
}

fn to_local(host: &str, port: i32) -> Option<(String, i32)> {
    let n: i32 = host
        .strip_prefix("kafka-")?
        .split('.')
        .next()?
        .parse()
        .ok()?;
    Some(("127.0.0.1".into(), 40000 + n * 10 + port % 10))
}

#[test]
fn metadata_brokers_are_rewritten_in_every_version() {
    let brokers = [
        (
            1,
            "kafka-0.kafka-headless.streaming.svc.cluster.local",
            9092,
            Some("zone-a"),
        ),
        (2, "kafka-1.kafka-headless.streaming.svc", 9092, None),
        (3, "elsewhere.example", 9093, None),
    ];
    for version in 0..=13 {
        let frame = metadata(version, &brokers);
        let new = rewrite_response(METADATA, version, &frame, &mut to_local)
            .unwrap()
            .expect("rewritten");
        let (got, rest) = brokers_of(version, &new);
        assert_eq!(
            got,
            vec![
                (1, "127.0.0.1".to_string(), 40002),
                (2, "127.0.0.1".to_string(), 40012),
                (3, "elsewhere.example".to_string(), 9093),
            ],
            "v{version}"
        );
        assert_eq!(rest, b"REST-OF-THE-REPLY\x00\x01\x02", "v{version}");
    }
}

#[test]
fn find_coordinator_is_rewritten_in_every_version() {
    for version in 0..=6i16 {
        let compact = version >= 3;
        let mut b = 9i32.to_be_bytes().to_vec();
        if compact {
            b.push(0);
        }
        if version >= 1 {
            b.extend_from_slice(&0i32.to_be_bytes());
        }
        if version >= 4 {
            b.push(3); // two coordinators
            for (key, node, host) in [("g1", 2i32, "kafka-1.h"), ("g2", -1, "")] {
                put_string(&mut b, key, true);
                b.extend_from_slice(&node.to_be_bytes());
                put_string(&mut b, host, true);
                b.extend_from_slice(&(if node < 0 { -1i32 } else { 9092 }).to_be_bytes());
                b.extend_from_slice(&0i16.to_be_bytes());
                b.push(0); // null error message
                b.push(0);
            }
            b.push(0);
        } else {
            b.extend_from_slice(&0i16.to_be_bytes());
            if version >= 1 {
                if compact {
                    b.push(0);
                } else {
                    b.extend_from_slice(&(-1i16).to_be_bytes());
                }
            }
            b.extend_from_slice(&2i32.to_be_bytes());
            put_string(&mut b, "kafka-1.h", compact);
            b.extend_from_slice(&9092i32.to_be_bytes());
            if compact {
                b.push(0);
            }
        }
        let new = rewrite_response(FIND_COORDINATOR, version, &b, &mut to_local)
            .unwrap()
            .expect("rewritten");
        let text = String::from_utf8_lossy(&new);
        assert!(text.contains("127.0.0.1"), "v{version}: {text:?}");
        assert!(!text.contains("kafka-1.h"), "v{version}: {text:?}");
        assert!(
            new.windows(4).any(|w| w == 40012i32.to_be_bytes()),
            "v{version}"
        );
        // Only the pair changed: same length minus the name plus the loopback address.
        assert_eq!(new.len(), b.len() - "kafka-1.h".len() + "127.0.0.1".len());
    }
}

#[test]
fn other_replies_and_unmapped_brokers_pass_unchanged() {
    let frame = metadata(12, &[(1, "outside", 9092, None)]);
    assert_eq!(
        rewrite_response(METADATA, 12, &frame, &mut to_local).unwrap(),
        None
    );
    assert_eq!(
        rewrite_response(18, 3, b"\0\0\0\x01anything", &mut to_local).unwrap(),
        None
    );
}

#[test]
fn hostile_replies_are_errors_not_panics() {
    let good = metadata(12, &[(1, "kafka-0.h", 9092, Some("r"))]);
    // Every truncation.
    for cut in 0..good.len() - "REST-OF-THE-REPLY\x00\x01\x02".len() {
        for v in [0, 1, 3, 9, 12] {
            let _ = rewrite_response(METADATA, v, &good[..cut], &mut to_local);
        }
    }
    // A billion brokers announced in a few bytes.
    let mut huge = 1i32.to_be_bytes().to_vec();
    huge.extend_from_slice(&0x3fff_ffffi32.to_be_bytes());
    let e = rewrite_response(METADATA, 0, &huge, &mut to_local).unwrap_err();
    assert!(e.0.contains("array of"), "{e}");
    // A varint that never ends.
    let mut endless = 1i32.to_be_bytes().to_vec();
    endless.extend_from_slice(&[0xff; 16]);
    assert!(rewrite_response(METADATA, 12, &endless, &mut to_local).is_err());
    // A host name that is not UTF-8.
    let mut bad = 1i32.to_be_bytes().to_vec();
    bad.extend_from_slice(&1i32.to_be_bytes());
    bad.extend_from_slice(&1i32.to_be_bytes());
    bad.extend_from_slice(&2i16.to_be_bytes());
    bad.extend_from_slice(&[0xff, 0xfe]);
    bad.extend_from_slice(&9092i32.to_be_bytes());
    assert!(
        rewrite_response(METADATA, 0, &bad, &mut to_local)
            .unwrap_err()
            .0
            .contains("UTF-8")
    );
    // Random bytes in every version: no panic.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..20_000 {
        let len = (i % 97) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let _ = rewrite_response(METADATA, (i % 14) as i16, &bytes, &mut to_local);
        let _ = rewrite_response(FIND_COORDINATOR, (i % 7) as i16, &bytes, &mut to_local);
    }
}

#[test]
fn a_cjk_broker_name_is_mapped_like_any_other() {
    let frame = metadata(12, &[(1, "卡夫卡-0.无头.命名空间", 9092, None)]);
    let mut map = |h: &str, p: i32| {
        h.starts_with("卡夫卡-0")
            .then(|| ("127.0.0.1".to_string(), p + 1))
    };
    let new = rewrite_response(METADATA, 12, &frame, &mut map)
        .unwrap()
        .unwrap();
    assert_eq!(brokers_of(12, &new).0, vec![(1, "127.0.0.1".into(), 9093)]);
}

struct NoRoutes;
impl Router for NoRoutes {
    fn route(&self, _: &str, _: i32) -> Option<(String, i32)> {
        None
    }
    fn report(&self, _: String) {}
    fn resolved(&self) {}
}

/// A local client and the relay between it and `upstream` (a broker the test plays).
async fn relayed(
    upstream: tokio::io::DuplexStream,
) -> (TcpStream, tokio::task::JoinHandle<Result<(), String>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (local, _) = listener.accept().await.unwrap();
    let task = tokio::spawn(KafkaRelay.carry(local, Box::new(upstream), Arc::new(NoRoutes)));
    (client, task)
}

/// A broker that dies half way through a reply: the relay ends with a reason that says so,
/// and the client's connection closes instead of hanging.
#[tokio::test]
async fn a_reply_cut_off_mid_frame_ends_the_connection_with_the_reason() {
    let (broker, upstream) = tokio::io::duplex(1 << 16);
    let (mut client, task) = relayed(upstream).await;
    let (mut br, mut bw) = tokio::io::split(broker);
    // A Metadata v12 request…
    let mut req = vec![0, 3, 0, 12, 0, 0, 0, 42, 0xff, 0xff, 0];
    let mut framed = (req.len() as u32).to_be_bytes().to_vec();
    framed.append(&mut req);
    client.write_all(&framed).await.unwrap();
    let mut got = vec![0u8; framed.len()];
    br.read_exact(&mut got).await.unwrap();
    assert_eq!(got, framed, "the request passes unchanged");
    // …answered with 100 bytes announced and 10 sent, then the broker is gone.
    bw.write_all(&100u32.to_be_bytes()).await.unwrap();
    bw.write_all(&[0u8; 10]).await.unwrap();
    drop(bw);
    drop(br);
    let r = tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .expect("the relay ends")
        .unwrap();
    assert!(r.unwrap_err().contains("cut off"));
    let mut rest = Vec::new();
    let n = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        client.read_to_end(&mut rest),
    )
    .await
    .expect("the client is not left hanging")
    .unwrap_or(0);
    assert_eq!(n, 0, "no half reply reaches the client");
}

/// A peer that announces a 4 GiB frame is refused before anything is allocated for it.
#[tokio::test]
async fn an_absurd_frame_length_is_refused() {
    let (broker, upstream) = tokio::io::duplex(1 << 16);
    let (mut client, task) = relayed(upstream).await;
    let (_br, mut bw) = tokio::io::split(broker);
    client
        .write_all(&[0, 0, 0, 8, 0, 3, 0, 1, 0, 0, 0, 1])
        .await
        .unwrap();
    bw.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    let r = tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .expect("the relay ends")
        .unwrap();
    assert!(r.unwrap_err().contains("not the Kafka protocol"));
}
