//! `fix` and `audit` end to end with the real binary and real redis-servers: the plan from the
//! findings, y/s/a prompts on stdin, typed names for dangerous steps, `--dry-run`, read-only
//! refusal (exit 4) proved by the server's command statistics, and `audit verify` / `show`.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::{REDIS_READS, RedisMonitor, RedisServer, commands_since, commandstats};

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn audit(&self) -> PathBuf {
        self.dir.path().join("data/kubestack-ai/audit.jsonl")
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kubestack-ai"));
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("USER", "oncall")
            .env("XDG_CONFIG_HOME", self.dir.path().join("cfg"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("KUBESTACK_COLLECTOR__DIAGNOSE_SAMPLE_SECS", "0.2")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("run the binary");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn config_get(redis: &RedisServer, key: &str) -> String {
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg(key)
        .query(&mut redis.client())
        .unwrap();
    v[1].clone()
}

fn config_set_calls(redis: &RedisServer) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut redis.client())
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("cmdstat_config|set:calls="))
        .and_then(|v| v.split(',').next())
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// A server whose latency monitor is off (RDS-LAT-03 → RDS-FIX-08, then RDS-FIX-16, which
/// needs the config file it was started from).
fn quiet_redis() -> RedisServer {
    RedisServer::start_with_config_file(&[])
}

#[test]
fn the_plan_from_findings_is_walked_with_prompts_and_audited() {
    let redis = quiet_redis();
    let sb = Sandbox::new();
    // The findings give: RDS-FIX-13 (SEC-01, dangerous) — skip; RDS-FIX-08 (LAT-03) — apply;
    // RDS-FIX-16 (persist) — skip.
    let out = sb.run(&["fix", &redis.url()], "s\ny\ns\n");
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("Step 1/3: RDS-FIX-13"), "{shown}");
    assert!(shown.contains("Step 2/3: RDS-FIX-08"), "{shown}");
    assert!(shown.contains("Step 3/3: RDS-FIX-16"), "{shown}");
    assert!(
        shown.contains("preview:  latency-monitor-threshold: 0 → 100"),
        "{shown}"
    );
    assert!(
        shown.contains("rollback: CONFIG SET latency-monitor-threshold 0"),
        "{shown}"
    );
    assert!(
        shown.contains("verified: latency-monitor-threshold = 100"),
        "{shown}"
    );
    assert_eq!(config_get(&redis, "latency-monitor-threshold"), "100");
    let verify = sb.run(&["audit", "verify"], "");
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(text(&verify).contains("chain intact"), "{}", text(&verify));
    let show = text(&sb.run(&["audit", "show"], ""));
    for needle in [
        "proposed",
        "confirmed",
        "executed",
        "verified",
        "skipped",
        "oncall",
    ] {
        assert!(show.contains(needle), "{needle} in\n{show}");
    }

    // Editing the log breaks the chain where the edit is.
    let log = std::fs::read_to_string(sb.audit()).unwrap();
    std::fs::write(sb.audit(), log.replacen("\"executed\"", "\"skipped\"", 1)).unwrap();
    let verify = sb.run(&["audit", "verify"], "");
    assert_eq!(verify.status.code(), Some(1));
    assert!(
        text(&verify).contains("the chain breaks at line"),
        "{}",
        text(&verify)
    );
}

#[test]
fn dry_run_previews_and_executes_nothing() {
    let redis = quiet_redis();
    let sb = Sandbox::new();
    let out = sb.run(&["fix", &redis.url(), "--dry-run"], "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("preview:  latency-monitor-threshold: 0 → 100"));
    assert_eq!(config_set_calls(&redis), 0);
}

#[test]
fn read_only_refuses_with_exit_4_and_sends_no_write() {
    let redis = quiet_redis();
    let sb = Sandbox::new();
    let out = sb.run(&["--read-only", "fix", &redis.url()], "y\ny\ny\n");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        text(&out).contains("refused: read-only mode"),
        "{}",
        text(&out)
    );
    assert_eq!(config_set_calls(&redis), 0);
    let show = text(&sb.run(&["audit", "show"], ""));
    assert!(
        show.contains("refused") && show.contains("read-only"),
        "{show}"
    );
}

#[test]
fn a_dangerous_action_needs_the_typed_name() {
    let redis = RedisServer::start(&["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"]);
    let sb = Sandbox::new();
    let target = redis.url();
    let args = [
        "fix",
        target.as_str(),
        "--action",
        "RDS-FIX-02",
        "--param",
        "policy=allkeys-lfu",
    ];
    let out = sb.run(&args, "yes\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("needs the instance name"),
        "{}",
        text(&out)
    );
    assert_eq!(config_get(&redis, "maxmemory-policy"), "noeviction");
    // A URL target is named by its endpoint.
    let out = sb.run(&args, "127.0.0.1\n");
    let name_line = text(&out);
    let name = name_line
        .lines()
        .find_map(|l| l.split("type the instance name `").nth(1))
        .and_then(|r| r.split('`').next())
        .unwrap()
        .to_string();
    let out = sb.run(&args, &format!("{name}\n"));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(config_get(&redis, "maxmemory-policy"), "allkeys-lfu");
    // An unknown action or parameter is named.
    let out = sb.run(&["fix", &target, "--action", "FLUSHALL"], "");
    assert!(
        text(&out).contains("not a Redis repair action"),
        "{}",
        text(&out)
    );
    let out = sb.run(
        &[
            "fix",
            &target,
            "--action",
            "RDS-FIX-01",
            "--param",
            "bytes=lots",
        ],
        "",
    );
    assert!(text(&out).contains("not a size"), "{}", text(&out));
}

#[test]
fn answers_are_asked_again_until_clear_and_n_skips() {
    let redis = quiet_redis();
    let sb = Sandbox::new();
    let out = sb.run(
        &["fix", &redis.url(), "--action", "RDS-FIX-08"],
        "perhaps\nn\n",
    );
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("please answer y (apply), n (skip this step) or a (abort the plan)"),
        "{shown}"
    );
    assert_eq!(
        config_get(&redis, "latency-monitor-threshold"),
        "0",
        "n skipped the step"
    );
    assert_eq!(config_set_calls(&redis), 0);
    assert!(text(&sb.run(&["audit", "show"], "")).contains("skipped"));
}

#[test]
fn a_plan_file_names_catalogue_actions_only_and_forged_commands_never_run() {
    let redis = quiet_redis();
    redis.cmd(&["SET", "precious", "1"]).unwrap();
    let sb = Sandbox::new();
    let file = sb.dir.path().join("plan.json");
    let target = redis.url();
    let fix_with = |plan: &str, extra: &[&str], stdin: &str| {
        std::fs::write(&file, plan).unwrap();
        let mut args = extra.to_vec();
        args.extend(["fix", target.as_str(), "--plan", file.to_str().unwrap()]);
        sb.run(&args, stdin)
    };
    let monitor = RedisMonitor::start(redis.port);
    let before = commandstats(&redis);
    // A step that carries its own command, and a plan in the executor's internal shape.
    let out = fix_with(
        r#"{"plan":[{"action":"RDS-FIX-08","commands":[["FLUSHALL"]]}]}"#,
        &[],
        "y\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("unknown field `commands`"),
        "{}",
        text(&out)
    );
    let out = fix_with(
        r#"{"steps":[{"action":"RDS-FIX-08","commands":[{"argv":["FLUSHALL"]}]}],"manual":[]}"#,
        &[],
        "y\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("unknown field `steps`, expected `plan`"),
        "{}",
        text(&out)
    );
    let out = fix_with(
        r#"{"plan":[{"action":"RDS-FIX-08"}],"commands":[["FLUSHALL"]]}"#,
        &[],
        "y\n",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("unknown field `commands`"),
        "{}",
        text(&out)
    );
    // Read-only: nothing is applied, whatever the file says.
    let valid = r#"{"plan":[{"action":"RDS-FIX-08","why":"see latency spikes"},{"action":"FLUSHALL","why":"start clean"}]}"#;
    let out = fix_with(valid, &["--read-only"], "y\ny\n");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    // The server's own records: MONITOR saw the collection but no FLUSHALL, and its command
    // statistics (which also count the administrative commands MONITOR leaves out) show reads.
    let sent = monitor.stop().to_ascii_lowercase();
    assert!(
        sent.contains("\"info\""),
        "the monitor saw the collection:\n{sent}"
    );
    assert!(
        !sent.contains("\"flushall\""),
        "FLUSHALL reached the server:\n{sent}"
    );
    assert_eq!(
        commands_since(&before, &commandstats(&redis), REDIS_READS),
        Vec::<String>::new()
    );
    // Confirm mode: the catalogue action runs; the free-form one stays text.
    let out = fix_with(valid, &[], "y\n");
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("FLUSHALL — manual only (FLUSHALL: deletes every key); not executable"),
        "{shown}"
    );
    assert!(shown.contains("plan file"), "provenance: {shown}");
    assert_eq!(config_get(&redis, "latency-monitor-threshold"), "100");
    assert_eq!(
        redis.cmd(&["EXISTS", "precious"]).unwrap(),
        redis::Value::Int(1)
    );
    let show = text(&sb.run(&["audit", "show"], ""));
    assert!(show.contains("manual only, not executable"), "{show}");
}

#[test]
fn read_only_refusals_of_cjk_instances_are_all_recorded_past_64_kib() {
    // The outside review's reproduction: three instances named in Chinese, `--read-only fix`
    // in a loop; the log used to freeze at ~75 KB while every run still said "refused".
    let sb = Sandbox::new();
    let names = ["订单缓存-生产环境", "缓存二", "会话存储-华东一区-主库"];
    let cfg = sb.dir.path().join("cfg/kubestack-ai");
    std::fs::create_dir_all(&cfg).unwrap();
    let mut config = String::new();
    for (i, name) in names.iter().enumerate() {
        config.push_str(&format!(
            "[[instances]]\nname = \"{name}\"\nkind = \"redis\"\nurl = \"redis://127.0.0.1:{}\"\n\n",
            1 + i
        ));
    }
    std::fs::write(cfg.join("config.toml"), config).unwrap();
    let mut runs = 0;
    while std::fs::metadata(sb.audit()).map_or(0, |m| m.len()) < 100 * 1024 {
        let name = names[runs % names.len()];
        let out = sb.run(&["--read-only", "fix", name], "");
        assert_eq!(out.status.code(), Some(4), "run {runs}: {}", text(&out));
        runs += 1;
        assert!(runs < 2000, "the log stopped growing");
    }
    let records = kubestack_ai::repair::verify_chain(&sb.audit()).expect("an intact chain");
    assert_eq!(records.len(), runs, "one refusal record per run");
    assert!(
        records
            .iter()
            .all(|r| r.event == kubestack_ai::repair::AuditEvent::Refused)
    );
    let verify = sb.run(&["audit", "verify"], "");
    assert!(verify.status.success(), "{}", text(&verify));
}

#[test]
fn a_refusal_that_cannot_be_recorded_fails_loudly() {
    let sb = Sandbox::new();
    // A directory where the log should be: no record can be written (root ignores modes).
    std::fs::create_dir_all(sb.audit()).unwrap();
    let redis = quiet_redis();
    let out = sb.run(&["--read-only", "fix", &redis.url()], "");
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert_ne!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("audit"), "{}", text(&out));
}
