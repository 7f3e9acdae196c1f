//! The real binary in a pseudo-terminal: it draws, answers keys, survives a resize, exits on
//! `q` and on SIGTERM, and leaves the terminal as it found it. CI has no terminal; this test
//! makes its own.

mod common;

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::RedisServer;
use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};

struct Session {
    master: Box<dyn MasterPty + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    output: mpsc::Receiver<Vec<u8>>,
    parser: vt100::Parser,
    raw: Vec<u8>,
    _dirs: tempfile::TempDir,
}

impl Session {
    fn start(redis: &RedisServer, rows: u16, cols: u16) -> Session {
        Session::start_with(redis, rows, cols, &[])
    }

    fn start_with(redis: &RedisServer, rows: u16, cols: u16, env: &[(&str, &str)]) -> Session {
        Session::start_in(tempfile::tempdir().unwrap(), redis, rows, cols, env)
    }

    /// Starts with `XDG_CONFIG_HOME` = `dirs/cfg` and `XDG_DATA_HOME` = `dirs/data`.
    fn start_in(
        dirs: tempfile::TempDir,
        redis: &RedisServer,
        rows: u16,
        cols: u16,
        env: &[(&str, &str)],
    ) -> Session {
        let config = dirs.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[collector]\ninterval_secs = 0.5\n\n[[instances]]\nname = \"redis-cache\"\nkind = \"redis\"\nurl = \"{}\"\ngroup = \"payments\"\n",
                redis.url()
            ),
        )
        .unwrap();
        let pty = native_pty_system();
        let pair = pty
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_kubestack-ai"));
        cmd.arg("--config");
        cmd.arg(&config);
        cmd.env("TERM", "xterm-256color");
        cmd.env("XDG_CONFIG_HOME", dirs.path().join("cfg"));
        cmd.env("XDG_DATA_HOME", dirs.path().join("data"));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn the binary");
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let (tx, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Session {
            master: pair.master,
            child,
            writer,
            output,
            parser: vt100::Parser::new(nz(rows), nz(cols), 0),
            raw: Vec::new(),
            _dirs: dirs,
        }
    }

    fn pump(&mut self, wait: Duration) {
        if let Ok(bytes) = self.output.recv_timeout(wait) {
            self.parser.process(&bytes);
            self.raw.extend_from_slice(&bytes);
        }
        while let Ok(bytes) = self.output.try_recv() {
            self.parser.process(&bytes);
            self.raw.extend_from_slice(&bytes);
        }
    }

    fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            self.pump(Duration::from_millis(50));
            if pred(&self.screen()) {
                return;
            }
        }
        panic!("timed out waiting for {what}; screen:\n{}", self.screen());
    }

    fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            self.pump(Duration::from_millis(50));
            if let Some(status) = self.child.try_wait().unwrap() {
                self.pump(Duration::from_millis(200));
                return status;
            }
        }
        let _ = self.child.kill();
        panic!("the program did not exit; screen:\n{}", self.screen());
    }

    fn assert_terminal_restored(&self) {
        assert!(
            !self.parser.screen().alternate_screen(),
            "left the alternate screen"
        );
        assert!(!self.parser.screen().hide_cursor(), "cursor visible again");
        let tail = String::from_utf8_lossy(&self.raw);
        assert!(
            tail.contains("\x1b[?1049l"),
            "sent the leave-alternate-screen sequence"
        );
        let termios = self.master.get_termios().expect("termios of the pty");
        let flags = format!("{:?}", termios.local_flags);
        assert!(
            flags.contains("ICANON") && flags.contains("ECHO"),
            "raw mode left: {flags}"
        );
    }
}

fn nz(n: u16) -> std::num::NonZeroU16 {
    std::num::NonZeroU16::new(n).expect("non-zero size")
}

fn faulty_redis() -> RedisServer {
    let server = RedisServer::start(&["--maxmemory", "5mb", "--maxmemory-policy", "noeviction"]);
    server
        .cmd(&["DEBUG", "POPULATE", "100000", "key", "100"])
        .unwrap();
    server.cmd(&["DEBUG", "SLEEP", "0.2"]).unwrap();
    server
}

#[test]
fn draws_answers_keys_resizes_and_quits_cleanly() {
    let redis = faulty_redis();
    let mut s = Session::start(&redis, 40, 120);
    s.wait_for("the first frame with live findings", |sc| {
        sc.contains("Inventory") && sc.contains("RDS-MEM-01") && sc.contains("redis-cache")
    });
    assert!(
        s.parser.screen().alternate_screen(),
        "runs in the alternate screen"
    );

    s.send("?");
    s.wait_for("the help overlay", |sc| sc.contains("Help — keys"));
    s.send("\x1b");
    s.wait_for("the help to close", |sc| !sc.contains("Help — keys"));

    s.send("\t\t\t");
    s.send("/");
    s.wait_for("filter mode", |sc| sc.contains("FILTER"));
    s.send("DEBUG");
    s.wait_for("the filter in the logs title", |sc| {
        sc.contains("/DEBUG") && sc.contains("matches")
    });
    s.send("\r");
    s.wait_for("normal mode again", |sc| sc.contains("NORMAL"));

    s.master
        .resize(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    s.parser.screen_mut().set_size(nz(24), nz(80));
    s.wait_for("a redraw at 80x24", |sc| {
        sc.lines().next().is_some_and(|l| l.contains("Inventory")) && sc.contains("NORMAL")
    });

    s.send("q");
    let status = s.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    s.assert_terminal_restored();
}

#[test]
fn sigterm_shuts_down_and_restores_the_terminal() {
    let redis = faulty_redis();
    let mut s = Session::start(&redis, 30, 100);
    s.wait_for("the first frame", |sc| sc.contains("Inventory"));
    let pid = s.child.process_id().expect("pid");
    // The shell's built-in kill: no dependency on procps.
    let killed = std::process::Command::new("sh")
        .args(["-c", &format!("kill -TERM {pid}")])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = s.wait_exit();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    s.assert_terminal_restored();
}

#[test]
fn a_panic_in_a_background_task_restores_the_terminal_and_reports() {
    let redis = faulty_redis();
    let mut s = Session::start_with(&redis, 30, 100, &[("KUBESTACK_TEST_PANIC", "task")]);
    let status = s.wait_exit();
    assert_eq!(status.exit_code(), 101, "exits with the panic code");
    s.assert_terminal_restored();
    let out = String::from_utf8_lossy(&s.raw);
    assert!(
        out.contains("injected test panic inside a background task"),
        "the report is printed"
    );
    let leave = out.rfind("\x1b[?1049l").expect("left the alternate screen");
    let report = out.rfind("injected test panic").unwrap();
    assert!(
        leave < report,
        "the terminal is restored before the report is printed"
    );
}

/// A saved conversation is resumed at start; `:export` writes the incident report; a new
/// question (answered offline: no model configured) is saved for the next start.
#[test]
fn conversations_are_resumed_exported_and_saved() {
    let redis = faulty_redis();
    let dirs = tempfile::tempdir().unwrap();
    let data = dirs.path().join("data").join("kubestack-ai");
    std::fs::create_dir_all(data.join("sessions")).unwrap();
    let session = data.join("sessions").join("redis-cache.json");
    std::fs::write(
        &session,
        r#"{"version":1,"instance":"redis-cache","messages":[
          {"role":"user","text":"why was it slow yesterday?","at":"2026-11-24T03:12:00Z"},
          {"role":"assistant","text":"KEYS user:* in the slowlog.","at":"2026-11-24T03:12:04Z"}]}"#,
    )
    .unwrap();
    let mut s = Session::start_in(dirs, &redis, 40, 120, &[]);
    s.wait_for("the resumed conversation", |sc| {
        sc.contains("resumed the conversation") && sc.contains("KEYS user:* in the slowlog")
    });
    s.wait_for("findings", |sc| sc.contains("RDS-MEM-01"));

    s.send(":export");
    s.send("\r");
    s.wait_for("the report notice", |sc| sc.contains("incident report"));
    let reports: Vec<_> = std::fs::read_dir(data.join("reports")).unwrap().collect();
    assert_eq!(reports.len(), 1);
    let report = std::fs::read_to_string(reports[0].as_ref().unwrap().path()).unwrap();
    assert!(
        report.contains("# Incident report — redis-cache"),
        "{report}"
    );
    assert!(report.contains("why was it slow yesterday?"), "{report}");
    assert!(
        report.contains("RDS-MEM-01"),
        "findings at export time\n{report}"
    );

    s.send("a");
    s.send("what now?\r");
    s.wait_for("the offline answer", |sc| sc.contains("Evidence:"));
    s.send("\x1b");
    s.wait_for("normal mode", |sc| sc.contains("NORMAL"));
    s.send("q");
    assert!(s.wait_exit().success());
    let saved = std::fs::read_to_string(&session).unwrap();
    assert!(
        saved.contains("what now?") && saved.contains("\"offline\""),
        "{saved}"
    );
    assert!(
        saved.contains("why was it slow yesterday?"),
        "history kept\n{saved}"
    );
}

#[test]
fn an_audit_log_cut_at_its_end_is_said_on_screen_at_start() {
    let redis = faulty_redis();
    let dirs = tempfile::tempdir().unwrap();
    let data = dirs.path().join("data").join("kubestack-ai");
    let audit = data.join("audit.jsonl");
    {
        let chain = kubestack_ai::repair::AuditChain::open(&audit).unwrap();
        for _ in 0..3 {
            chain
                .append(
                    kubestack_ai::repair::AuditEvent::Refused,
                    kubestack_ai::repair::AuditEntry::default(),
                )
                .unwrap();
        }
    }
    // Someone cuts the last record off (the head file still names record 3).
    let text = std::fs::read_to_string(&audit).unwrap();
    let kept: Vec<&str> = text.lines().take(2).collect();
    std::fs::write(&audit, format!("{}\n", kept.join("\n"))).unwrap();
    let mut s = Session::start_in(dirs, &redis, 40, 160, &[]);
    s.wait_for("the tamper notice", |sc| {
        sc.contains("audit log tampered with or damaged")
    });
    s.send("q");
}
