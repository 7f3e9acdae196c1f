//! A real Kafka-protocol broker for the tests the mock cluster cannot serve (it lists no
//! groups): tansu from crates.io, in memory, on a free loopback port, one per test.
//! `scripts/test` installs it (`cargo install tansu`); a missing binary fails the test.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> String {
    std::env::var("TANSU_BIN").unwrap_or_else(|_| "tansu".into())
}

/// A running tansu broker.
pub struct Tansu {
    pub port: u16,
    child: Child,
}

impl Tansu {
    /// Starts a broker and waits until it accepts connections.
    pub fn start() -> Self {
        let port = super::free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(bin())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start tansu ({e}); scripts/test installs it with cargo install tansu"
                )
            });
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Tansu { port, child }
    }

    /// `127.0.0.1:PORT`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Creates a topic with the broker's own CLI.
    pub fn create_topic(&self, name: &str, partitions: u32) {
        let status = Command::new(bin())
            .args([
                "topic",
                "create",
                name,
                "--broker",
                &format!("tcp://127.0.0.1:{}", self.port),
                "--partitions",
                &partitions.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("tansu topic create");
        assert!(status.success(), "tansu topic create {name}");
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
