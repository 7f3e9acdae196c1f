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
}

impl MariaDb {
    /// Installs a fresh datadir and starts the server with `extra` options, waiting until it
    /// accepts connections.
    pub fn start(extra: &[&str]) -> Self {
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
        let server = MariaDb {
            port,
            dir,
            child: Some(child),
        };
        server.wait_ready();
        server
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
