//! A test server's process (the Kafka brokers' and OpenSearch nodes' JVMs) behind a `sh`
//! guard: the guard sends the process each signal written to its stdin, and SIGKILL when its
//! stdin closes — so the server dies with the test's handle (`Drop`), or with the test
//! process itself, never outliving it.
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `"$@"` (under `ulimit -n $NOFILE` when set) and forwards signals read from stdin.
const GUARD: &str = r#"exec 3<&0
[ -n "$NOFILE" ] && ulimit -n "$NOFILE"
"$@" </dev/null &
pid=$!
(while read -r sig <&3; do kill -s "$sig" "$pid" 2>/dev/null; done; kill -s KILL "$pid" 2>/dev/null) &
wait "$pid""#;

/// A guarded process, or none (not started, or stopped).
#[derive(Default)]
pub struct Guarded(Option<(Child, ChildStdin)>);

impl Guarded {
    /// Starts `program args…` in `dir` behind the guard, its output in `dir/stdout.log`;
    /// `what` names the server in the panic when it cannot start.
    pub fn spawn(
        program: &str,
        args: &[std::ffi::OsString],
        dir: &Path,
        nofile: Option<u32>,
        what: &str,
    ) -> Self {
        let stdout = fs::File::create(dir.join("stdout.log")).expect("stdout.log");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(GUARD)
            .env("NOFILE", nofile.map(|n| n.to_string()).unwrap_or_default())
            .arg(format!("{what}-guard"))
            .arg(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(stdout.try_clone().expect("stdout.log"))
            .stderr(stdout)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {program} for {what} ({e}); a JDK 17+ is needed")
            });
        let stdin = child.stdin.take().expect("piped stdin");
        Guarded(Some((child, stdin)))
    }

    pub fn is_running(&self) -> bool {
        self.0.is_some()
    }

    /// The guard's pid (the server is its child).
    pub fn pid(&self) -> Option<u32> {
        self.0.as_ref().map(|(c, _)| c.id())
    }

    /// Sends `signal` (TERM: a clean shutdown; KILL: a crash) and waits for the exit — at most
    /// 30 s, then SIGKILL (closing the guard's stdin).
    pub fn signal(&mut self, signal: &str) {
        if let Some((mut child, mut stdin)) = self.0.take() {
            let _ = writeln!(stdin, "{signal}");
            let deadline = Instant::now() + Duration::from_secs(30);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            drop(stdin);
            let _ = child.wait();
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.signal("KILL");
    }
}

/// The last `lines` lines of each of `files` under `dir`, headed by `label`, for failure
/// messages.
pub fn log_tail(dir: &Path, files: &[&str], label: &str, lines: usize) -> String {
    let mut out = String::new();
    for f in files {
        let text = fs::read_to_string(dir.join(f)).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        out.push_str(&format!("--- {label} {f}\n"));
        out.push_str(&all[all.len().saturating_sub(lines)..].join("\n"));
        out.push('\n');
    }
    out
}
