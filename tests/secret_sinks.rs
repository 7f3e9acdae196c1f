//! Secrets planted at every source — the instance URL, `password_env`, `password_file`, the
//! Kubernetes Secret value carried on the `InstanceConfig`, a server reply (CONFIG GET / ACL
//! LIST / key=value text) and a log line — must never show up at any sink reachable in-process:
//! the redacted model request body (and what the provider receives), the `:sent` text and its
//! rendered screen, the audit log and executor output of a repair with secret arguments, the
//! repair modal on screen, the `diagnose --output json` text, and the `Debug` a panic report
//! prints.
//!
//! The secrets are random (printable ASCII, CJK, and the punctuation that used to end a
//! pattern early: `; , ' & } ] " \`), 8–64 characters, from a seeded generator: a failure
//! prints the seed and the secret, and the same seed replays it. A seeded loop rather than
//! proptest: no new crate to build on the shared 2-core machines, and shrinking buys little
//! when the failing secret is printed whole.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::fixtures::sample_state;
use common::llm_server::{LlmServer, Reply as LlmReply, openai_text_stream, split_every};
use common::{RedisServer, buffer_text, fast_config, redis_instance};
use kubestack_ai::ai::agent::{AskJob, ChatEvent, run_ask};
use kubestack_ai::ai::provider::{LlmRequest, Turn, TurnRole, build_body};
use kubestack_ai::ai::redact::{RedactionPolicy, Redactor};
use kubestack_ai::app::{Action, AppEvent, AppState, Mode, RepairModal, StepPhase, StepState};
use kubestack_ai::config::{
    AppConfig, InstanceConfig, InstanceKind, ProfileConfig, ProviderKind, SafetyConfig, SafetyMode,
    SecretValue,
};
use kubestack_ai::repair::{
    AuditChain, Check, Command, Confirmation, Executor, PlanTarget, Probe, Provenance, RepairPlan,
    RepairStep, Risk, RollbackSpec,
};
use kubestack_ai::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

/// xorshift64*: deterministic, no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// 8–64 characters: printable ASCII (space included), CJK, hostile punctuation.
    fn secret(&mut self) -> String {
        const HOSTILE: &[char] = &[
            ';', ',', '\'', '&', '}', ']', '"', '\\', '=', ':', '@', '/', '#', '%', '+', ' ',
        ];
        const CJK: &[char] = &['密', '码', '测', '试', '值', '安', '全', '钥', '匙', '令'];
        let len = 8 + self.below(57);
        (0..len)
            .map(|_| match self.below(3) {
                0 => char::from(0x20 + self.below(95) as u8),
                1 => HOSTILE[self.below(HOSTILE.len())],
                _ => CJK[self.below(CJK.len())],
            })
            .collect()
    }

    fn hex64(&mut self) -> String {
        (0..4).map(|_| format!("{:016x}", self.next())).collect()
    }
}

/// Every byte not alphanumeric as `%XX` (a URL the connections decode back exactly).
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The forms a secret can take in a JSON text: as is, and JSON-escaped.
fn forms(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).unwrap();
    let escaped = json[1..json.len() - 1].to_string();
    let mut v = vec![secret.to_string()];
    if escaped != secret {
        v.push(escaped);
    }
    v
}

fn assert_absent(sink: &str, text: &str, seed: u64, secrets: &[(&str, String)]) {
    for (source, secret) in secrets {
        for form in forms(secret) {
            assert!(
                !text.contains(&form),
                "seed {seed}: the {source} secret {secret:?} reached the {sink}:\n{text}"
            );
        }
    }
}

/// One instance carrying a secret at each of its four sources.
struct Planted {
    instance: InstanceConfig,
    url_pw: String,
    env_pw: String,
    file_pw: String,
    k8s_pw: String,
    _dir: tempfile::TempDir,
}

fn planted(rng: &mut Rng, seed: u64, kind: InstanceKind) -> Planted {
    let (url_pw, env_pw, file_pw, k8s_pw) =
        (rng.secret(), rng.secret(), rng.secret(), rng.secret());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, format!("{file_pw}\n")).unwrap();
    let var = format!("KST_SINKS_PW_{seed}_{:?}", kind).to_uppercase();
    // SAFETY: each variable name is unique to one seed of one test.
    unsafe { std::env::set_var(&var, &env_pw) };
    let url = match kind {
        InstanceKind::MYSQL => format!("mysql://app:{}@127.0.0.1:3306/shop", url_encode(&url_pw)),
        InstanceKind::ELASTICSEARCH => format!(
            "elasticsearch+https://elastic:{}@127.0.0.1:9200",
            url_encode(&url_pw)
        ),
        _ => format!("redis://:{}@127.0.0.1:6379/0", url_encode(&url_pw)),
    };
    let mut instance = InstanceConfig::new("planted", kind, url);
    instance.password_env = Some(var);
    instance.password_file = Some(file);
    instance.password_value = Some(SecretValue(k8s_pw.clone()));
    Planted {
        instance,
        url_pw,
        env_pw,
        file_pw,
        k8s_pw,
        _dir: dir,
    }
}

/// Texts the way they reach the model: a log line, replies (CONFIG GET, ACL LIST, key=value in
/// every quoting), a Kubernetes Secret echoed, the URL itself. `reply_pw` is not configured
/// anywhere: only the patterns can catch it.
fn planted_texts(p: &Planted, reply_pw: &str, hash: &str) -> String {
    let sql = reply_pw.replace('\\', "\\\\").replace('\'', "''");
    let conf = reply_pw.replace('\\', "\\\\").replace('"', "\\\"");
    let json = serde_json::json!({ "password": reply_pw }).to_string();
    let mut t = format!(
        "log: 2024-05-01 AUTH failed for {env} from 10.0.0.1\n\
         log: client sent {file} as its password\n\
         url: {url}\n\
         decoded url password: {url_pw}\n\
         secret data: {k8s}\n\
         CONFIG GET requirepass:\nrequirepass \"{conf}\"\n\
         masterauth '{sql}'\n\
         SHOW VARIABLES: db_password = '{sql}'\n\
         tool json: {json}\n\
         ACL LIST:\nuser app on #{hash} ~* +@all\n\
         ACL GETUSER app: flags on passwords {hash} commands +@all\n",
        env = p.env_pw,
        file = p.file_pw,
        url = p.instance.url,
        url_pw = p.url_pw,
        k8s = p.k8s_pw,
    );
    if !reply_pw.contains(char::is_whitespace) && !reply_pw.starts_with(['"', '\'']) {
        t.push_str(&format!("CONFIG: password={reply_pw}\n"));
    }
    t
}

fn profile(base_url: &str) -> ProfileConfig {
    ProfileConfig {
        provider: ProviderKind::Openai,
        base_url: base_url.into(),
        model: "m".into(),
        api_key_env: None,
        api_version: None,
        timeout_secs: 5.0,
        idle_timeout_secs: 2.0,
        max_output_tokens: 100,
        price_input_per_mtok: None,
        price_output_per_mtok: None,
    }
}

fn redactor_for(instance: &InstanceConfig) -> Redactor {
    let mut r = Redactor::new(RedactionPolicy::default());
    r.add_instance_secrets(instance);
    r
}

/// The request body the agent builds (`build_body` → `redact_body`), for 300 seeds and every
/// kind whose URL can carry a password; and the panic report's `Debug` of the configuration.
#[test]
fn planted_secrets_never_reach_the_request_body_or_a_debug_print() {
    for seed in 1..=300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let kind = [
            InstanceKind::REDIS,
            InstanceKind::MYSQL,
            InstanceKind::ELASTICSEARCH,
        ][seed as usize % 3];
        let p = planted(&mut rng, seed, kind);
        let reply_pw = rng.secret();
        let hash = rng.hex64();
        let mut redactor = redactor_for(&p.instance);
        let request = LlmRequest {
            system: "system".into(),
            turns: vec![
                Turn::text(TurnRole::User, planted_texts(&p, &reply_pw, &hash)),
                Turn::text(
                    TurnRole::Assistant,
                    format!("I saw {} in the log", p.env_pw),
                ),
            ],
            tools: Vec::new(),
        };
        let body = redactor.redact_body(&build_body(&profile("http://127.0.0.1:1"), &request));
        let secrets = [
            ("URL", p.url_pw.clone()),
            ("URL (encoded)", url_encode(&p.url_pw)),
            ("password_env", p.env_pw.clone()),
            ("password_file", p.file_pw.clone()),
            ("Kubernetes Secret", p.k8s_pw.clone()),
            ("server reply", reply_pw.clone()),
            ("server reply (SQL-quoted)", reply_pw.replace('\'', "''")),
            ("ACL hash", hash.clone()),
        ];
        assert_absent("model request body", body.as_str(), seed, &secrets);
        assert!(body.as_str().contains("[REDACTED:"), "seed {seed}");

        let mut config = AppConfig::default();
        config.instances.push(p.instance.clone());
        let panic_report = format!("{:?}\n{:#?}\n{config:?}", p.instance, p.instance);
        assert_absent(
            "Debug of the configuration",
            &panic_report,
            seed,
            &secrets[..2],
        );
        assert_absent(
            "Debug of the configuration",
            &panic_report,
            seed,
            &secrets[4..5],
        );
        let command =
            Command::new(&["ACL", "SETUSER", "app", "on", &format!(">{reply_pw}")]).with_secret(4);
        let shown = format!("{command} {command:?} {command:#?}");
        assert_absent("Debug/Display of a command", &shown, seed, &secrets[5..6]);
    }
}

/// The real agent against an in-process provider: what the provider receives, the `:sent`
/// text (`ChatEvent::Sent`) and the `:sent` overlay rendered on screen.
#[tokio::test]
async fn planted_secrets_never_reach_the_provider_or_the_sent_overlay() {
    let llm = LlmServer::start(vec![LlmReply::Sse {
        chunks: split_every(&openai_text_stream(&["fine"], (3, 1)), 11),
        gap: Duration::ZERO,
    }])
    .await;
    let theme = Theme::builtin("dark").unwrap();
    for seed in 1000..1010u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let p = planted(&mut rng, seed, InstanceKind::REDIS);
        let reply_pw = rng.secret();
        let hash = rng.hex64();
        let job = AskJob {
            profile: Some(("t".into(), profile(&llm.base_url))),
            history: vec![Turn::text(TurnRole::User, format!("earlier: {}", p.k8s_pw))],
            prompt: planted_texts(&p, &reply_pw, &hash),
            tools: None,
            redactor: Arc::new(Mutex::new(redactor_for(&p.instance))),
            max_iterations: 1,
            tool_result_max_bytes: 4096,
            offline: "offline".into(),
            audit: None,
            actions: String::new(),
            limits: Default::default(),
        };
        let (tx, mut rx) = mpsc::channel(64);
        run_ask(job, tx).await;
        let mut state: AppState = sample_state(5);
        let mut sent = String::new();
        while let Ok(ev) = rx.try_recv() {
            if let ChatEvent::Sent(body) = &ev {
                sent.push_str(body);
            }
            state.handle_event(AppEvent::Chat {
                instance: 0,
                event: ev,
            });
        }
        assert!(sent.contains("[REDACTED:"), "seed {seed}: nothing sent?");
        state.apply(Action::ShowSent);
        assert!(matches!(state.mode, Mode::Sent(_)));
        let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
        terminal
            .draw(|f| kubestack_ai::ui::draw(f, &state, &theme))
            .unwrap();
        let screen = buffer_text(terminal.backend().buffer());
        let received = llm.bodies().join("\n");
        let secrets = [
            ("URL", p.url_pw.clone()),
            ("URL (encoded)", url_encode(&p.url_pw)),
            ("password_env", p.env_pw.clone()),
            ("password_file", p.file_pw.clone()),
            ("Kubernetes Secret", p.k8s_pw.clone()),
            ("server reply", reply_pw.clone()),
            ("ACL hash", hash.clone()),
        ];
        assert_absent("provider", &received, seed, &secrets);
        assert_absent(":sent text", &sent, seed, &secrets);
        assert_absent(":sent overlay", &screen, seed, &secrets);
    }
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A real repair with secret arguments against redis-server: `ACL SETUSER app on >NEW` with
/// the ACL GETUSER capture, the verification and the rollback (which carries the old password
/// hash on the wire). Neither password nor either hash may reach the audit log, the executor's
/// results (what `fix` prints) or the repair modal on screen.
#[tokio::test]
async fn repair_secrets_and_acl_hashes_never_reach_the_audit_log_or_the_modal() {
    let redis = RedisServer::start(&[]);
    let config = fast_config();
    let instance = redis_instance("cache", &redis.url());
    let theme = Theme::builtin("dark").unwrap();
    for seed in 2000..2006u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let (old, new) = (rng.secret(), rng.secret());
        redis
            .cmd(&[
                "ACL",
                "SETUSER",
                "app",
                "reset",
                "on",
                &format!(">{old}"),
                "+@all",
                "~*",
            ])
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("audit.jsonl");
        let safety = SafetyConfig {
            mode: SafetyMode::Confirm,
            read_only_contexts: Vec::new(),
        };
        let executor = Executor::new(
            kubestack_ai::plugins::registry::backends(),
            &safety,
            Arc::new(AuditChain::open(&audit).unwrap()),
        )
        .unwrap();
        let mut backend = executor.open_backend(&instance, &config).unwrap();
        let getuser = Command::new(&["ACL", "GETUSER", "app"]);
        let step = RepairStep {
            action: "RDS-FIX-TEST".into(),
            title: "new password".into(),
            target: PlanTarget {
                instance: "cache".into(),
                endpoint: redis.url(),
                identity: None,
                context: None,
            },
            risk: Risk::Caution,
            commands: vec![
                Command::new(&["ACL", "SETUSER", "app", "resetpass", &format!(">{new}")])
                    .with_secret(4),
            ],
            capture: vec![getuser.clone()],
            rollback: RollbackSpec::RestoreAcl { user: "app".into() },
            verify: Some(Probe {
                command: getuser,
                check: Check::ReplyHas("on".into()),
                within: Duration::ZERO,
            }),
            effect: "app gets a new password".into(),
            why: "test".into(),
            provenance: Provenance::User,
            for_busy_server: false,
        };
        let plan = RepairPlan {
            steps: vec![step.clone()],
            manual: Vec::new(),
        };
        executor.propose(&plan).unwrap();
        let prepared = executor.prepare(backend.as_mut(), &step).await.unwrap();
        assert_eq!(
            prepared.rollback.len(),
            1,
            "seed {seed}: {}",
            prepared.rollback_text
        );
        let confirm = Confirmation { typed_name: None };
        let executed = executor
            .execute(backend.as_mut(), &step, &confirm)
            .await
            .unwrap();
        let verified = executor
            .verify(backend.as_mut(), &step, &prepared)
            .await
            .unwrap();
        let rolled = executor
            .rollback(backend.as_mut(), &step, &prepared)
            .await
            .unwrap();
        // The rollback really restored the old password (the hash went over the wire).
        let mut con = redis.client();
        let auth: redis::RedisResult<String> =
            redis::cmd("AUTH").arg("app").arg(&old).query(&mut con);
        assert!(
            auth.is_ok(),
            "seed {seed}: rollback did not restore: {auth:?}"
        );

        let mut state: AppState = sample_state(5);
        state.mode = Mode::Repair(RepairModal {
            instance: 0,
            plan: plan.clone(),
            index: 0,
            steps: vec![StepState {
                phase: StepPhase::Verified(verified.clone()),
                prepared: Some(prepared.clone()),
                executed: Some(format!("{executed}\n{verified}\n{rolled}")),
            }],
            button: 0,
            typed: String::new(),
            show_rollback: true,
        });
        let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
        terminal
            .draw(|f| kubestack_ai::ui::draw(f, &state, &theme))
            .unwrap();
        let screen = buffer_text(terminal.backend().buffer());
        assert!(
            screen.contains("ACL SETUSER"),
            "seed {seed}: modal not drawn\n{screen}"
        );

        let secrets = [
            ("old password", old.clone()),
            ("new password", new.clone()),
            ("old password's ACL hash", sha256_hex(&old)),
            ("new password's ACL hash", sha256_hex(&new)),
        ];
        let log = std::fs::read_to_string(&audit).unwrap();
        assert!(
            log.contains("ACL SETUSER app resetpass [REDACTED]"),
            "{log}"
        );
        assert_absent("audit log", &log, seed, &secrets);
        let output = format!(
            "{}\n{}\n{executed}\n{verified}\n{rolled}\n{:?}",
            prepared.preview, prepared.rollback_text, prepared.rollback
        );
        assert_absent("executor output (`fix`)", &output, seed, &secrets);
        assert_absent("repair modal", &screen, seed, &secrets);
    }
}

/// `diagnose --output json` (the report serialized as the CLI prints it) for a server whose
/// password is in the URL and who has an ACL user with a password: the password, its hash and
/// its URL-encoded form stay out — when it connects and when the password is refused.
#[tokio::test]
async fn diagnose_json_never_carries_the_url_password_or_acl_hashes() {
    let redis = RedisServer::start(&[]);
    let config = fast_config();
    let base = redis.url();
    for seed in 3000..3004u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let (pw, other, wrong) = (rng.secret(), rng.secret(), rng.secret());
        redis
            .cmd(&[
                "ACL",
                "SETUSER",
                "diag",
                "reset",
                "on",
                &format!(">{pw}"),
                "+@all",
                "~*",
            ])
            .unwrap();
        redis
            .cmd(&[
                "ACL",
                "SETUSER",
                "other",
                "reset",
                "on",
                &format!(">{other}"),
            ])
            .unwrap();
        let with =
            |p: &str| base.replacen("redis://", &format!("redis://diag:{}@", url_encode(p)), 1);
        let secrets = [
            ("URL", pw.clone()),
            ("URL (encoded)", url_encode(&pw)),
            ("ACL hash", sha256_hex(&pw)),
            ("another user's ACL hash", sha256_hex(&other)),
            ("wrong URL password", wrong.clone()),
            ("wrong URL password (encoded)", url_encode(&wrong)),
        ];
        for (url, connects) in [(with(&pw), true), (with(&wrong), false)] {
            let instance = redis_instance("cache", &url);
            let report = kubestack_ai::diagnose::diagnose_instance(&instance, &config).await;
            assert_eq!(
                report.error.is_none(),
                connects,
                "seed {seed}: {:?}",
                report.error
            );
            let json = serde_json::to_string_pretty(&report).unwrap();
            assert_absent("diagnose JSON", &json, seed, &secrets);
            assert_absent("report Debug", &format!("{report:?}"), seed, &secrets);
        }
    }
}
