//! A discovered instance's credentials reach every connection to it. A real redis-server
//! behind a port-forward of the in-process API server; the program logs in as the ACL user
//! `kubestack`, whose password exists only in a Kubernetes Secret (the `default` user has
//! another one). Through the real loop: the AI's tool call, a plugin repair prepared, executed
//! and verified by the executor, and the own-account guard — which must know that the program
//! logs in as `kubestack`, not `default`. The password appears in no request to the model, no
//! audit record and no `Debug` output.

mod common;

use std::time::Duration;

use common::RedisServer;
use common::kube_app::{KubeApp, discovered, phase};
use common::llm_server::{LlmServer, Reply, openai_text_stream, openai_tool_call_stream};
use kubestack_ai::ai::plan::ProposedPlan;
use kubestack_ai::app::{ChatInput, ChatMessage, Health, Mode, PaneId, StepPhase};
use kubestack_ai::config::{
    InstanceKind, KubeCredential, ProfileConfig, ProviderKind, SecretKeyRef,
};
use kubestack_playground::kube_api::KubeApi;
use kubestack_playground::kube_objects::{self as obj, PodHealth};

/// The login's password: only in the Secret.
const K8S_PW: &str = "only-in-the-Secret-5521";
/// The `default` user's password: nowhere in the program's configuration.
const ADMIN_PW: &str = "admin-elsewhere-8810";
const USER: &str = "kubestack";

struct Cluster {
    redis: RedisServer,
    api: KubeApi,
    app: KubeApp,
    cache: usize,
}

fn sse(text: &str) -> Reply {
    Reply::Sse {
        chunks: common::llm_server::split_every(text, 23),
        gap: Duration::ZERO,
    }
}

/// The Redis with its ACL user, the cluster with its Secret, the app connected to the instance.
async fn connected(llm: Option<&LlmServer>) -> Cluster {
    let redis = RedisServer::start(&["--requirepass", ADMIN_PW]);
    let mut admin = redis.client_with_password(Some(ADMIN_PW));
    let _: () = redis::cmd("ACL")
        .arg(&[
            "SETUSER",
            USER,
            "on",
            &format!(">{K8S_PW}"),
            "~*",
            "&*",
            "+@all",
        ])
        .query(&mut admin)
        .unwrap();
    let api = KubeApi::start_with(Some("t0ken")).await;
    let to = ([127, 0, 0, 1], redis.port).into();
    obj::redis_statefulset(&api, "payments", "cache", |_| PodHealth::Ready, Some(to));
    api.apply(&obj::secret("payments", "cache-auth", "password", K8S_PW));
    let mut config = common::fast_config();
    config.collector.interval_secs = 0.3;
    config.kubernetes.credentials = vec![KubeCredential {
        kind: Some(InstanceKind::REDIS),
        username: Some(USER.into()),
        password_secret: Some(SecretKeyRef {
            name: "cache-auth".into(),
            key: "password".into(),
            namespace: None,
        }),
        ..Default::default()
    }];
    if let Some(llm) = llm {
        config.ai.profile = "local".into();
        config.ai.profiles.insert(
            "local".into(),
            ProfileConfig {
                provider: ProviderKind::Openai,
                base_url: llm.base_url.clone(),
                model: "m".into(),
                api_key_env: None,
                api_version: None,
                timeout_secs: 5.0,
                idle_timeout_secs: 2.0,
                max_output_tokens: 256,
                price_input_per_mtok: None,
                price_output_per_mtok: None,
            },
        );
    }
    let mut app = KubeApp::start(&api, config).await;
    app.until("the discovered instance", |s| {
        discovered(s, "cache").is_some()
    })
    .await;
    let cache = discovered(&app.state, "cache").unwrap();
    app.until("a sample through the forward", |s| {
        s.instances[cache].health == Health::Up
    })
    .await;
    // The collector logged in as the Secret's user; the password is in no Debug output.
    let view = &app.state.instances[cache];
    assert!(!format!("{:?}", view.config).contains(K8S_PW));
    assert!(!format!("{:?}", app.state.instances).contains(K8S_PW));
    Cluster {
        redis,
        api,
        app,
        cache,
    }
}

/// A chat plan, applied with `p` in the chat.
fn apply_chat_plan(c: &mut Cluster, json: &str) {
    let plan: ProposedPlan = serde_json::from_str(json).unwrap();
    c.app.state.instances[c.cache]
        .chat
        .push(ChatMessage::plan(plan));
    c.app.state.focus = PaneId::Chat;
    c.app.keys("p");
}

fn no_secret_in_the_audit_log(c: &Cluster) {
    let text = std::fs::read_to_string(&c.app.audit).unwrap_or_default();
    assert!(!text.contains(K8S_PW), "the audit log holds the password");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ai_tools_of_a_discovered_instance_log_in_with_the_secret() {
    let llm = LlmServer::start(vec![
        sse(&openai_tool_call_stream(
            "c1",
            "redis_info",
            &["{\"section\":", "\"server\"}"],
        )),
        sse(&openai_text_stream(&["All good."], (10, 3))),
    ])
    .await;
    let mut c = connected(Some(&llm)).await;
    c.app.state.focus = PaneId::Chat;
    c.app.state.mode = Mode::Chat(ChatInput);
    c.app.keys("why is it slow");
    c.app.key(crossterm::event::KeyCode::Enter);
    assert_eq!(c.app.state.chat.generating, Some(c.cache), "asked");
    c.app
        .until("the answer", |s| s.chat.generating.is_none())
        .await;
    let bodies = llm.bodies();
    assert_eq!(bodies.len(), 2, "a tool round and the answer");
    // The tool's connection logged in — as `kubestack` with the Secret's password, the only
    // login the server accepts that the program could know: its result is the server's INFO,
    // not an authentication error.
    assert!(bodies[1].contains("redis_version"), "{}", bodies[1]);
    for (i, b) in bodies.iter().enumerate() {
        assert!(
            !b.contains("NOAUTH") && !b.contains("WRONGPASS"),
            "body {i}: {b}"
        );
        assert!(!b.contains(K8S_PW), "body {i} leaks the password");
    }
    no_secret_in_the_audit_log(&c);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_repair_of_a_discovered_instance_is_prepared_and_executed_with_the_secret() {
    let mut c = connected(None).await;
    apply_chat_plan(
        &mut c,
        r#"{"plan":[{"action":"RDS-FIX-08","why":"latency monitor is off"}]}"#,
    );
    c.app
        .until("the pre-state", |s| {
            matches!(
                phase(s),
                Some(StepPhase::Ready | StepPhase::PrepareFailed(_))
            )
        })
        .await;
    assert_eq!(phase(&c.app.state), Some(StepPhase::Ready));
    c.app.keys("y");
    c.app
        .until("the verification", |s| {
            matches!(
                phase(s),
                Some(
                    StepPhase::Verified(_)
                        | StepPhase::VerifyFailed(_)
                        | StepPhase::Failed(_)
                        | StepPhase::Refused(_)
                )
            )
        })
        .await;
    let p = phase(&c.app.state);
    assert!(matches!(p, Some(StepPhase::Verified(_))), "{p:?}");
    let mut admin = c.redis.client_with_password(Some(ADMIN_PW));
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg(&["GET", "latency-monitor-threshold"])
        .query(&mut admin)
        .unwrap();
    assert_eq!(v[1], "100", "the write reached the server");
    no_secret_in_the_audit_log(&c);
    drop(c.api);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_own_account_guard_knows_the_login_user_of_a_discovered_instance() {
    let mut c = connected(None).await;
    assert_eq!(
        kubestack_ai::plugins::registry::login_user(&c.app.state.instances[c.cache].config),
        USER,
        "the instance logs in as the Secret's user"
    );
    // Taking @dangerous from the program's own user would take the rollback away with it.
    apply_chat_plan(
        &mut c,
        &format!(r#"{{"plan":[{{"action":"RDS-FIX-14","params":{{"user":"{USER}"}}}}]}}"#),
    );
    let plan = c.app.state.repair().unwrap().plan.clone();
    assert!(plan.steps.is_empty(), "{plan:?}");
    assert!(
        plan.manual
            .iter()
            .any(|m| m.contains(&format!("`{USER}` is the user this program logs in as"))),
        "{plan:?}"
    );
    c.app.key(crossterm::event::KeyCode::Esc);
    // Any other user is not the program's own: the step is offered.
    apply_chat_plan(
        &mut c,
        r#"{"plan":[{"action":"RDS-FIX-14","params":{"user":"default"}}]}"#,
    );
    let plan = c.app.state.repair().unwrap().plan.clone();
    assert_eq!(plan.steps.len(), 1, "{plan:?}");
    c.app.key(crossterm::event::KeyCode::Esc);
    let mut admin = c.redis.client_with_password(Some(ADMIN_PW));
    let user: Vec<redis::Value> = redis::cmd("ACL")
        .arg(&["GETUSER", USER])
        .query(&mut admin)
        .unwrap();
    assert!(!format!("{user:?}").contains("-@dangerous"), "{user:?}");
}
