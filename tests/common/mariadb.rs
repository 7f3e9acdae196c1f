//! Real MariaDB servers for integration tests: `mariadb-install-db` into a temporary datadir
//! and `mariadbd` on a free loopback port, one per test. `scripts/test` installs the Debian
//! `mariadb-server` package; a missing binary fails the test, it never skips.
//!
//! The install leaves root without a password — a real MYS-SEC-01 fault the tests rely on.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;

fn bin(env: &str, default: &str) -> String {
    std::env::var(env).unwrap_or_else(|_| default.into())
}

/// A mariadbd child process with its own datadir and port.
pub struct MariaDb {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    /// TLS for the test's own root sessions (a server that requires secure transport).
    root_tls: Option<mysql_async::SslOpts>,
}

impl MariaDb {
    /// A server with TLS from `certs` (`ca.crt`, `{cert}.crt`, `{cert}.key`) and
    /// `require_secure_transport=ON`: a plain TCP client is refused. The test's own root
    /// sessions use TLS without checking the certificate.
    pub fn start_tls(certs: &std::path::Path, cert: &str, extra: &[&str]) -> Self {
        let mut args = vec![
            format!("--ssl-ca={}", certs.join("ca.crt").display()),
            format!("--ssl-cert={}", certs.join(format!("{cert}.crt")).display()),
            format!("--ssl-key={}", certs.join(format!("{cert}.key")).display()),
            "--require-secure-transport=ON".to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = Self::start_with(&refs, true);
        server.wait_ready();
        server
    }

    /// Installs a fresh datadir and starts the server with `extra` options, waiting until it
    /// accepts connections.
    pub fn start(extra: &[&str]) -> Self {
        let server = Self::start_with(extra, false);
        server.wait_ready();
        server
    }

    fn start_with(extra: &[&str], tls: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        // Its own tmpdir: concurrent bootstraps in a shared /tmp collide on temporary-table
        // names ("Unknown table 'mysql.tmp_user_sys'").
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp).expect("tmpdir");
        let install = Command::new(bin("MARIADB_INSTALL_DB_BIN", "mariadb-install-db"))
            .args([
                "--no-defaults",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .arg("--innodb-log-file-size=4M")
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run mariadb-install-db ({e}); scripts/test installs mariadb-server")
            });
        assert!(
            install.status.success(),
            "mariadb-install-db failed in {}:\n{}{}",
            data.display(),
            String::from_utf8_lossy(&install.stdout),
            String::from_utf8_lossy(&install.stderr)
        );
        let port = super::free_port();
        let child = Command::new(bin("MARIADBD_BIN", "/usr/sbin/mariadbd"))
            .args([
                "--no-defaults",
                "--user=root",
                "--bind-address=127.0.0.1",
                "--innodb-buffer-pool-size=16M",
            ])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", dir.path().join("sock").display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()))
            .arg(format!(
                "--log-error={}",
                dir.path().join("error.log").display()
            ))
            .arg(format!("--port={port}"))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start mariadbd ({e}); scripts/test installs mariadb-server")
            });
        MariaDb {
            port,
            dir,
            child: Some(child),
            root_tls: tls.then(|| {
                mysql_async::SslOpts::default()
                    .with_danger_accept_invalid_certs(true)
                    .with_danger_skip_domain_validation(true)
            }),
        }
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "mariadbd on port {} did not start (log: {})",
            self.port,
            self.error_log().display()
        );
    }

    /// `mysql://root@127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}", self.port)
    }

    /// The server's error log.
    pub fn error_log(&self) -> PathBuf {
        self.dir.path().join("error.log")
    }

    /// A root connection of the test itself (for faults and server-side checks).
    pub async fn root(&self) -> mysql_async::Conn {
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .user(Some("root"))
            .ssl_opts(self.root_tls.clone())
            .prefer_socket(false);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match mysql_async::Conn::new(opts.clone()).await {
                Ok(c) => return c,
                Err(e) if Instant::now() > deadline => panic!("root cannot connect: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Runs statements as root.
    pub async fn exec(&self, statements: &[&str]) {
        let mut c = self.root().await;
        for s in statements {
            c.query_drop(*s)
                .await
                .unwrap_or_else(|e| panic!("{s}: {e}"));
        }
    }

    /// One value read as root.
    pub async fn value(&self, sql: &str) -> Option<String> {
        let mut c = self.root().await;
        c.query_first::<Option<String>, _>(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .flatten()
    }

    /// Kills the server.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One command of a server's general log: the session (thread) id, the command (`Connect`,
/// `Query`, `Prepare`, `Execute`, `Close stmt`, `Quit`, …) and its argument, a statement's
/// continuation lines included.
#[derive(Debug, Clone)]
pub struct GeneralLogEntry {
    pub thread: u64,
    pub command: String,
    pub argument: String,
}

/// Reads a general log file (`--general-log-file`). A line is `[yymmdd hh:mm:ss]\t  ID Command\targ`;
/// a line of any other shape continues the previous statement.
pub fn general_log(path: &std::path::Path) -> Vec<GeneralLogEntry> {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|e| panic!("general log {}: {e}", path.display()));
    let mut out: Vec<GeneralLogEntry> = Vec::new();
    for line in text.lines() {
        // The timestamp, when present, ends at the first tab.
        let rest = match line.split_once('\t') {
            Some((stamp, rest)) if stamp.is_empty() || stamp.contains(':') => rest,
            _ => line,
        };
        let rest = rest.trim_start_matches('\t').trim_start();
        let parsed = rest.split_once(' ').and_then(|(id, tail)| {
            let thread: u64 = id.parse().ok()?;
            let (command, argument) = tail.split_once('\t').unwrap_or((tail, ""));
            let known = command
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '_');
            known.then(|| GeneralLogEntry {
                thread,
                command: command.trim().to_string(),
                argument: argument.to_string(),
            })
        });
        match (parsed, out.last_mut()) {
            (Some(entry), _) => out.push(entry),
            (None, Some(last))
                if !line.starts_with("/usr/")
                    && !line.starts_with("Tcp port")
                    && !line.starts_with("Time ") =>
            {
                last.argument.push('\n');
                last.argument.push_str(line);
            }
            (None, _) => {}
        }
    }
    out
}
