//! Real redis-server processes for integration tests, one per test, on loopback.
//!
//! `scripts/test` installs redis-server from the OS packages; a missing binary fails the test
//! (it never silently skips).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod es_product;
pub mod fixtures;
pub mod guarded;
pub mod kafka_cluster;
pub mod kube_app;
pub mod kube_real;
pub mod llm_server;
pub mod mariadb;
pub mod opensearch;
pub mod tls_certs;

use std::sync::Arc;

use kubestack_ai::config::{AppConfig, InstanceConfig, InstanceKind, SafetyConfig, SafetyMode};
use kubestack_ai::repair::{AuditChain, Executor};

/// A redis-server child process with its own port and directory.
pub struct RedisServer {
    pub port: u16,
    pub dir: tempfile::TempDir,
    args: Vec<String>,
    /// The config file given as the first argument, when the server was started with one.
    config_file: Option<PathBuf>,
    child: Option<Child>,
}

fn redis_server_bin() -> String {
    std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".into())
}

/// A loopback port that refuses connections and stays reserved while the socket lives:
/// bound but never listening, so no parallel test can take it.
pub fn closed_port() -> (socket2_free::Reserved, u16) {
    socket2_free::reserve()
}

/// A bound, non-listening socket (std has no bind-without-listen; libc does it).
pub mod socket2_free {
    use std::os::fd::{FromRawFd, OwnedFd};

    /// Keeps the port reserved until dropped.
    pub struct Reserved(#[allow(dead_code)] OwnedFd);

    /// Binds 127.0.0.1:0 without listening and returns the port.
    pub fn reserve() -> (Reserved, u16) {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
        let port = socket.local_addr().expect("addr").port();
        let fd = std::os::fd::IntoRawFd::into_raw_fd(socket);
        // SAFETY: the descriptor was just released by the socket and is owned here alone.
        (Reserved(unsafe { OwnedFd::from_raw_fd(fd) }), port)
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl RedisServer {
    /// Starts a server with the test defaults plus `extra` arguments, waiting until it answers.
    pub fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = RedisServer {
            port: free_port(),
            dir,
            args: extra.iter().map(|s| s.to_string()).collect(),
            config_file: None,
            child: None,
        };
        server.spawn();
        server
    }

    /// Starts a server from a small, writable `redis.conf` in its directory (so `CONFIG
    /// REWRITE` can persist), plus the test defaults and `extra` arguments.
    pub fn start_with_config_file(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let config_file = dir.path().join("redis.conf");
        std::fs::write(
            &config_file,
            "# written by the test: a server started from a config file\nloglevel notice\n",
        )
        .expect("write redis.conf");
        let mut server = RedisServer {
            port: free_port(),
            dir,
            args: extra.iter().map(|s| s.to_string()).collect(),
            config_file: Some(config_file),
            child: None,
        };
        server.spawn();
        server
    }

    /// The config file the server was started with, if any.
    pub fn config_file(&self) -> Option<&std::path::Path> {
        self.config_file.as_deref()
    }

    fn spawn(&mut self) {
        let log = self.dir.path().join("redis.log");
        let mut cmd = Command::new(redis_server_bin());
        // A config file must be the first argument.
        if let Some(file) = &self.config_file {
            cmd.arg(file);
        }
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--enable-debug-command", "local"])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start `{}` ({e}); scripts/test installs it with apt-get install redis-server",
                redis_server_bin()
            )
        });
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                if s.write_all(b"PING\r\n").is_ok() {
                    let mut buf = [0u8; 64];
                    if let Ok(n) = s.read(&mut buf) {
                        let reply = String::from_utf8_lossy(&buf[..n]);
                        if reply.starts_with("+PONG")
                            || reply.contains("NOAUTH")
                            || reply.starts_with("-DENIED")
                        {
                            return;
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "redis-server on port {} did not become ready (log: {})",
            self.port,
            self.log_path().display()
        );
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    /// A synchronous client for injecting faults.
    pub fn client(&self) -> redis::Connection {
        self.client_with_password(None)
    }

    /// A synchronous client authenticating with `password`.
    pub fn client_with_password(&self, password: Option<&str>) -> redis::Connection {
        let url = match password {
            Some(pw) => format!("redis://:{pw}@127.0.0.1:{}", self.port),
            None => self.url(),
        };
        redis::Client::open(url)
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(5)))
            .expect("test client connects")
    }

    /// Runs a command and returns its reply (errors as values, for fault injection).
    pub fn cmd(&self, args: &[&str]) -> redis::RedisResult<redis::Value> {
        let mut con = self.client();
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        c.query(&mut con)
    }

    /// An INFO field, read on the server side.
    pub fn info_field(&self, con: &mut redis::Connection, field: &str) -> Option<String> {
        let info: String = redis::cmd("INFO").arg("everything").query(con).ok()?;
        info.lines().find_map(|l| {
            l.strip_prefix(&format!("{field}:"))
                .map(|v| v.trim().to_string())
        })
    }

    /// Kills the server (like a crash).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port with the same arguments.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A Redis instance entry pointing at `url`.
pub fn redis_instance(name: &str, url: &str) -> InstanceConfig {
    InstanceConfig::new(name, InstanceKind::REDIS, url)
}

/// The text of a rendered buffer, one line per row.
pub fn buffer_text(buf: &ratatui::buffer::Buffer) -> String {
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// An executor in `mode` writing its audit chain to a fresh directory (kept alive by the
/// returned guard).
pub fn executor(mode: SafetyMode) -> (Executor, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let audit = Arc::new(AuditChain::open(&dir.path().join("audit.jsonl")).unwrap());
    let safety = SafetyConfig {
        mode,
        read_only_contexts: Vec::new(),
    };
    (
        Executor::new(kubestack_ai::plugins::registry::backends(), &safety, audit).unwrap(),
        dir,
    )
}

/// Defaults with fast sampling for tests.
pub fn fast_config() -> AppConfig {
    let mut c = AppConfig::default();
    c.collector.diagnose_sample_secs = 0.2;
    c.collector.connect_timeout_ms = 1000;
    c.collector.command_timeout_ms = 2000;
    c
}

/// Calls per command as the server counts them (`INFO commandstats`: `config|set` → 3).
pub fn commandstats(redis: &RedisServer) -> std::collections::HashMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut redis.client())
        .unwrap();
    info.lines()
        .filter_map(|l| {
            let (name, rest) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_string(), calls))
        })
        .collect()
}

/// The commands whose call counts grew between two `commandstats` readings, minus `reads`
/// (the commands the test expects, e.g. the collector's allowlist).
pub fn commands_since(
    before: &std::collections::HashMap<String, u64>,
    after: &std::collections::HashMap<String, u64>,
    reads: &[&str],
) -> Vec<String> {
    let mut grew: Vec<String> = after
        .iter()
        .filter(|(k, v)| **v > before.get(*k).copied().unwrap_or(0))
        .map(|(k, _)| k.clone())
        .filter(|k| !reads.contains(&k.as_str()))
        .collect();
    grew.sort();
    grew
}

/// The read-only commands the program's collector, tools and captures may send.
pub const REDIS_READS: &[&str] = &[
    "info",
    "config|get",
    "slowlog|get",
    "slowlog|len",
    "client|list",
    "latency|latest",
    "latency|doctor",
    "memory|doctor",
    "acl|getuser",
    "role",
    "time",
    "scan",
    "type",
    "memory|usage",
    "exists",
    "acl|dryrun",
    "ping",
    "hello",
    "client|setinfo",
    "select",
    "command|docs",
    "monitor",
];

/// A `MONITOR` session on a redis-server: every command the server receives from any client,
/// as the server itself reports it — the server-side proof of what the program sent. Redis
/// leaves administrative commands (CONFIG, ACL …) out of MONITOR: check those with
/// [`commandstats`].
pub struct RedisMonitor {
    seen: std::sync::Arc<std::sync::Mutex<String>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RedisMonitor {
    /// Starts monitoring the server on `port` (returns once the server acknowledged MONITOR).
    pub fn start(port: u16) -> Self {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("monitor connects");
        s.write_all(b"MONITOR\r\n").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut ok = [0u8; 5];
        s.read_exact(&mut ok).unwrap();
        assert_eq!(&ok, b"+OK\r\n", "MONITOR acknowledged");
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while !stop2.load(std::sync::atomic::Ordering::SeqCst) {
                match s.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => seen2
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n])),
                    Err(_) => {}
                }
            }
        });
        RedisMonitor {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops and returns everything the server reported, one command per line.
    pub fn stop(mut self) -> String {
        std::thread::sleep(Duration::from_millis(200)); // let the last lines arrive
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.seen.lock().unwrap().clone()
    }
}

/// A client holding one of the server's connection slots (answered PING, so it is counted).
/// Retried while the readiness probe's connection may still hold the only slot.
pub fn hold_redis_slot(port: u16) -> std::net::TcpStream {
    for _ in 0..100 {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 7];
        if std::io::Write::write_all(&mut s, b"PING\r\n").is_ok()
            && std::io::Read::read_exact(&mut s, &mut buf).is_ok()
            && &buf == b"+PONG\r\n"
        {
            return s;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("no slot could be taken on port {port}");
}
