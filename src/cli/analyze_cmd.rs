//! `analyze "<question>" --instance NAME|URL`: the chat's answer on a plain terminal —
//! same context, redaction, tools and offline fallback, streamed to stdout.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use color_eyre::eyre::Result;
use tokio::sync::mpsc;

use crate::ai::agent::{AskJob, ChatEvent, run_ask};
use crate::ai::context::ContextExtras;
use crate::ai::offline::offline_analysis;
use crate::ai::redact::{RedactionPolicy, Redactor};
use crate::app::build_context;
use crate::app::{Health, InstanceView};
use crate::config::{AppConfig, InstanceConfig, LoadedConfig};
use crate::plugins::plugin_for;
use crate::repair::audit::default_audit_path;
use crate::repair::{AuditChain, Executor};

/// Answers one question about one instance; exit code 0 when answered (by the model or offline).
pub async fn analyze(
    loaded: &LoadedConfig,
    question: &str,
    target: &str,
    profile: Option<&str>,
) -> Result<i32> {
    let config = &loaded.config;
    let resolved = match super::diagnose_cmd::resolve(loaded, target).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(3);
        }
    };
    let instance = resolved.instance.clone();
    let mut view = sampled_view(&instance, config).await;
    if let Some(k) = &resolved.kube {
        view.set_kube_findings(crate::kube::rules::instance_findings(&k.found, &k.store));
    }
    let ai = &config.ai;
    let profile = match profile {
        Some(name) => match ai.profiles.get(name) {
            Some(p) => Some((name.to_string(), p.clone())),
            None => {
                eprintln!("error: no [ai.profiles.{name}] in the configuration");
                return Ok(3);
            }
        },
        None => ai.active().map(|(n, p)| (n.to_string(), p.clone())),
    };
    let context = build_context(
        &view,
        ai.context_token_budget,
        ai.context_log_lines,
        &ContextExtras::default(),
    );
    let mut redactor = Redactor::new(RedactionPolicy {
        key_values: ai.redact_key_values,
        sql_literals: ai.redact_sql_literals,
    });
    redactor.add_instance_secrets(&instance);
    if let Some((_, p)) = &profile
        && let Ok(Some(key)) = crate::ai::provider::api_key(p)
    {
        redactor.add_known_secret(&key, "api_key");
    }
    let health_problem = crate::app::health_problem(&view.health).map(str::to_string);
    let findings: Vec<_> = view.findings.iter().map(|f| f.finding.clone()).collect();
    let job = AskJob {
        profile,
        history: Vec::new(),
        prompt: format!("{}\n\n## Question\n{question}", context.text),
        tools: plugin_for(instance.kind).tools(&instance, config).ok(),
        redactor: Arc::new(Mutex::new(redactor)),
        max_iterations: ai.max_tool_iterations,
        tool_result_max_bytes: ai.tool_result_max_bytes,
        limits: crate::ai::agent::AskLimits::from_config(ai),
        offline: offline_analysis(
            &instance.name,
            question,
            health_problem.as_deref(),
            &findings,
        ),
        // Model requests are recorded (by hash) in the same audit log as repairs; a log that
        // cannot be opened makes each request fail loudly rather than go out unrecorded.
        audit: {
            let path = default_audit_path(&loaded.paths.data_dir);
            let chain = AuditChain::open(&path).unwrap_or_else(|_| AuditChain::at(&path));
            Executor::new(
                crate::plugins::registry::backends(),
                &config.safety,
                Arc::new(chain),
            )
            .ok()
            .map(Arc::new)
        },
        actions: crate::repair::catalog::catalogue_prompt(plugin_for(instance.kind).repairs()),
    };
    eprintln!(
        "[context: ~{} of {} tokens{}]",
        context.estimated_tokens,
        context.budget,
        if context.truncated { ", trimmed" } else { "" }
    );
    let (tx, mut rx) = mpsc::channel(256);
    let runner = tokio::spawn(run_ask(job, tx));
    let mut stdout = std::io::stdout();
    let (mut input, mut output) = (0, 0);
    while let Some(ev) = rx.recv().await {
        match ev {
            ChatEvent::Token(t) => {
                let _ = write!(stdout, "{t}");
                let _ = stdout.flush();
            }
            ChatEvent::ToolCall {
                name,
                arguments,
                result_bytes,
                ok,
            } => {
                eprintln!(
                    "\n[tool {name} {arguments} → {result_bytes} bytes{}]",
                    if ok { "" } else { ", failed" }
                );
            }
            ChatEvent::Notice(n) => eprintln!("\n[{n}]"),
            ChatEvent::Usage {
                input: i,
                output: o,
            } => {
                input += i;
                output += o;
            }
            ChatEvent::Sent(_) => {}
            ChatEvent::Error(e) => eprintln!("\n[model error: {e}]"),
            ChatEvent::Offline(text) => println!("{text}"),
            ChatEvent::Plan(plan) => println!("\n{}", plan.describe()),
            ChatEvent::Done => {}
        }
    }
    let _ = runner.await;
    println!();
    if input + output > 0 {
        eprintln!("[tokens: {input} in, {output} out]");
    }
    Ok(0)
}

/// The instance sampled twice (rates need two samples), as the UI would hold it; a connection
/// problem is recorded in its health.
pub(super) async fn sampled_view(instance: &InstanceConfig, config: &AppConfig) -> InstanceView {
    let plugin = plugin_for(instance.kind);
    let endpoint = instance.endpoint();
    let mut view = InstanceView::new(
        instance.clone(),
        endpoint,
        config.ui.metrics_history,
        config.ui.log_buffer_lines,
    );
    match plugin.collector(instance, config) {
        Ok(mut collector) => {
            for n in 0..2 {
                match collector.collect().await {
                    Ok(snap) => view.apply_snapshot(snap),
                    Err(e) => {
                        view.apply_health(Health::Down {
                            error: e.to_string(),
                            retry_in_secs: 0.0,
                        });
                        break;
                    }
                }
                if n == 0 {
                    tokio::time::sleep(Duration::from_secs_f64(
                        config.collector.diagnose_sample_secs,
                    ))
                    .await;
                }
            }
        }
        Err(e) => view.apply_health(Health::Misconfigured {
            error: e.to_string(),
        }),
    }
    view
}
