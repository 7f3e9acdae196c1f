//! `fix <TARGET>`: the repair modal's walk on a plain terminal — one step at a time with its
//! command, preview, risk and rollback; y(es) / n(o) = skip / a(bort) prompts; the instance name
//! typed for dangerous steps; verification after each step and the rollback offered when it
//! fails. The plan comes from the findings, from one `--action`, or from a `--plan` file in the
//! model's plan format (validated against the catalogue like the chat's plans). `--dry-run`
//! captures and previews without executing. Every write goes through the executor.

use std::io::{BufRead, Write};
use std::sync::Arc;

use color_eyre::eyre::Result;
use serde_json::{Map, Value};

use crate::ai::plan::ProposedPlan;
use crate::config::{LoadedConfig, SafetyMode};
use crate::plugins::plugin_for;
use crate::repair::audit::default_audit_path;
use crate::repair::catalog::{PlanContext, plan_for_findings, plan_from_file};
use crate::repair::{
    AuditChain, AuditEntry, AuditEvent, Confirmation, Executor, RepairError, RepairPlan, Risk,
    WriteBackend,
};

/// Exit code when the mode forbids writes.
pub const EXIT_READ_ONLY: i32 = 4;

/// What `fix` was asked.
pub struct FixRequest<'a> {
    pub target: &'a str,
    pub dry_run: bool,
    /// A catalogue action instead of the plan from the findings.
    pub action: Option<&'a str>,
    /// `key=value` parameters of `action`.
    pub params: &'a [String],
    /// A plan file: `{"plan": [{"action", "params", "why"}]}`.
    pub plan_file: Option<&'a std::path::Path>,
}

/// Runs `fix`; exit code 0 when every step was applied and verified (or skipped), 1 when a step
/// failed, 2 when aborted, 3 when the target is unreachable, 4 in read-only mode.
pub async fn fix(loaded: &LoadedConfig, req: FixRequest<'_>) -> Result<i32> {
    let config = &loaded.config;
    // A discovered instance's forward stays open while the plan runs.
    let resolved = match super::diagnose_cmd::resolve(loaded, req.target).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(3);
        }
    };
    let instance = resolved.instance.clone();
    let audit_path = default_audit_path(&loaded.paths.data_dir);
    let audit = match AuditChain::open(&audit_path) {
        Ok(a) => Arc::new(a),
        Err(e) => {
            eprintln!("error: {e} — no repair runs without an audit log");
            return Ok(1);
        }
    };
    if let Err(e) = audit.check_tail() {
        eprintln!("warning: {e} (`kubestack-ai audit verify` says where)");
    }
    let executor = match Executor::new(crate::plugins::registry::backends(), &config.safety, audit)
    {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(1);
        }
    };
    let mode = executor.mode_for(instance.context.as_deref());
    if mode == SafetyMode::ReadOnly && !req.dry_run {
        let reason = "read-only mode: `fix` applies nothing (use --dry-run to see the plan)";
        let recorded = executor.audit().append(
            AuditEvent::Refused,
            AuditEntry {
                mode: mode.as_str().into(),
                context: instance.context.clone(),
                instance: Some(instance.name.clone()),
                result: Some(reason.into()),
                ..AuditEntry::default()
            },
        );
        eprintln!("refused: {reason}");
        if let Err(e) = recorded {
            eprintln!("error: this refusal could not be recorded: {e}");
            return Ok(1);
        }
        return Ok(EXIT_READ_ONLY);
    }
    let dry_run = req.dry_run || mode == SafetyMode::Suggest;
    if mode == SafetyMode::Suggest && !req.dry_run {
        println!("suggest mode: the plan is shown, never applied");
    }

    let view = super::analyze_cmd::sampled_view(&instance, config).await;
    if !matches!(view.health, crate::app::Health::Up) {
        eprintln!("error: {}: {}", instance.name, view.health.label());
        return Ok(3);
    }
    let catalog = plugin_for(instance.kind).repairs();
    let ctx = PlanContext::for_instance(&instance, &view.facts);
    let plan = match (req.action, req.plan_file) {
        (Some(_), Some(_)) => {
            eprintln!("error: give --action or --plan, not both");
            return Ok(1);
        }
        (None, Some(path)) => match read_plan_file(path) {
            Ok(proposal) => plan_from_file(catalog, &proposal, &ctx, path),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(1);
            }
        },
        (Some(action), None) => {
            let params = match parse_params(req.params) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(1);
                }
            };
            match catalog.build(action, &params, &ctx) {
                Ok(step) => RepairPlan {
                    steps: vec![step],
                    manual: Vec::new(),
                },
                Err(e) => {
                    let known: Vec<&str> = catalog.actions().iter().map(|a| a.id).collect();
                    eprintln!("error: {e} (actions: {})", known.join(", "));
                    return Ok(1);
                }
            }
        }
        (None, None) => {
            let findings: Vec<_> = view.findings.iter().map(|f| f.finding.clone()).collect();
            plan_for_findings(catalog, &findings, &ctx)
        }
    };
    print_plan_header(&instance.name, &view.endpoint, mode, &plan);
    if let Err(e) = executor.propose(&plan) {
        eprintln!("error: {e}");
        return Ok(1);
    }
    if plan.steps.is_empty() {
        return Ok(0);
    }
    let mut backend = match executor.open_backend(&instance, config) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(3);
        }
    };
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    walk(&executor, backend.as_mut(), &plan, dry_run, &mut input).await
}

/// A plan file in the model's plan format. Only catalogue action ids and parameters are read:
/// anything else in the file (commands, steps with their own probes) is refused, so a forged
/// file can never carry a command of its own.
fn read_plan_file(path: &std::path::Path) -> Result<ProposedPlan, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the plan file {}: {e}", path.display()))?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct PlanFile {
        plan: Vec<crate::ai::plan::ProposedStep>,
    }
    serde_json::from_str::<PlanFile>(&text).map(|f| ProposedPlan { steps: f.plan }).map_err(|e| {
        format!(
            "the plan file {} is not a plan ({e}); expected {{\"plan\": [{{\"action\": \"<catalogue id>\", \"params\": {{…}}, \"why\": \"…\"}}]}}",
            path.display()
        )
    })
}

fn parse_params(params: &[String]) -> Result<Map<String, Value>, String> {
    params
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), Value::String(v.trim().to_string())))
                .ok_or_else(|| format!("--param `{p}`: expected KEY=VALUE"))
        })
        .collect()
}

fn print_plan_header(name: &str, endpoint: &str, mode: SafetyMode, plan: &RepairPlan) {
    println!(
        "Plan for {name} ({endpoint}) — mode {} — {} step(s)",
        mode.as_str(),
        plan.steps.len()
    );
    for m in &plan.manual {
        println!("  manual: {m}");
    }
    if plan.steps.is_empty() {
        println!("Nothing to apply.");
    }
}

/// Reads one answer; `None` at the end of input (treated as abort).
fn ask(input: &mut dyn BufRead, prompt: &str) -> Option<String> {
    print!("{prompt}");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    match input.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_string()),
    }
}

/// An answer to "apply?".
enum Choice {
    Apply,
    Skip,
    Abort,
}

/// Asks until the answer is y(es), n(o) / s(kip), or a(bort); the end of input aborts.
fn ask_choice(input: &mut dyn BufRead) -> Choice {
    let mut prompt = "  apply? [y]es / [n]o = skip / [a]bort: ";
    loop {
        match ask(input, prompt)
            .map(|a| a.to_ascii_lowercase())
            .as_deref()
        {
            Some("y" | "yes") => return Choice::Apply,
            Some("n" | "no" | "s" | "skip") => return Choice::Skip,
            None | Some("a" | "abort" | "q" | "quit") => return Choice::Abort,
            Some(_) => {
                prompt = "  please answer y (apply), n (skip this step) or a (abort the plan): "
            }
        }
    }
}

/// Walks the plan step by step.
async fn walk(
    executor: &Executor,
    backend: &mut dyn WriteBackend,
    plan: &RepairPlan,
    dry_run: bool,
    input: &mut dyn BufRead,
) -> Result<i32> {
    let mut code = 0;
    let total = plan.steps.len();
    for (i, step) in plan.steps.iter().enumerate() {
        println!(
            "\nStep {}/{total}: {} — {} [{}]",
            i + 1,
            step.action,
            step.title,
            step.risk.as_str().to_uppercase()
        );
        println!("  why:      {}", step.provenance);
        for c in &step.commands {
            println!("  command:  {c}");
        }
        let prepared = match executor.prepare(backend, step).await {
            Ok(p) => p,
            Err(e) => {
                println!("  cannot read the current state: {e}");
                code = 1;
                continue;
            }
        };
        for line in prepared.preview.lines() {
            println!("  preview:  {line}");
        }
        if !step.effect.is_empty() && !prepared.preview.contains(&step.effect) {
            println!("  effect:   {}", step.effect);
        }
        println!("  rollback: {}", prepared.rollback_text);
        if dry_run {
            continue;
        }
        let confirmation = if step.risk == Risk::Dangerous {
            let prompt = format!(
                "  DANGEROUS — type the instance name `{}` to apply, n to skip, a to abort: ",
                step.target.instance
            );
            match ask(input, &prompt).as_deref() {
                None | Some("a" | "abort") => return abort(executor, step),
                Some("n" | "no" | "s" | "skip") => {
                    executor.skip(step)?;
                    continue;
                }
                Some(typed) => Confirmation {
                    typed_name: Some(typed.to_string()),
                },
            }
        } else {
            match ask_choice(input) {
                Choice::Apply => Confirmation::default(),
                Choice::Skip => {
                    executor.skip(step)?;
                    continue;
                }
                Choice::Abort => return abort(executor, step),
            }
        };
        match executor.execute(backend, step, &confirmation).await {
            Ok(result) => println!("  executed: {result}"),
            Err(RepairError::Refused(why)) => {
                println!("  refused:  {why}");
                code = 1;
                continue;
            }
            Err(e) => {
                println!("  failed:   {e}");
                code = 1;
                continue;
            }
        }
        match executor.verify(backend, step, &prepared).await {
            Ok(result) => println!("  verified: {result}"),
            Err(e) => {
                println!("  {e}");
                code = 1;
                if !prepared.rollback.is_empty()
                    && ask(
                        input,
                        &format!("  roll back with `{}`? [y/n]: ", prepared.rollback_text),
                    )
                    .as_deref()
                        == Some("y")
                {
                    match executor.rollback(backend, step, &prepared).await {
                        Ok(r) => println!("  rolled back: {r}"),
                        Err(e) => println!("  rollback failed: {e}"),
                    }
                }
            }
        }
    }
    Ok(code)
}

fn abort(executor: &Executor, step: &crate::repair::RepairStep) -> Result<i32> {
    executor.abort(step)?;
    println!("  aborted: this step and the rest of the plan were not applied");
    Ok(2)
}
