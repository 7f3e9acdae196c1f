//! Action catalogues: each plugin lists its repair actions as data and builds typed steps from
//! them. Plans come from here only — from a finding (the catalogue's "Fixes" column) or from a
//! plan the model proposed, validated step by step; anything the catalogue does not know stays
//! text and can never be executed.

use serde_json::{Map, Value};

use super::plan::{
    Command, PlanTarget, Probe, Provenance, RepairPlan, RepairStep, Risk, RollbackSpec,
};
use super::proposal::ProposedPlan;
use crate::config::InstanceConfig;
use crate::model::Finding;
use crate::model::InstanceFacts;

/// One action of a catalogue.
#[derive(Debug, Clone, Copy)]
pub struct ActionSpec {
    pub id: &'static str,
    pub title: &'static str,
    pub risk: Risk,
    /// Rule ids it fixes.
    pub fixes: &'static [&'static str],
    /// Parameters: name and meaning.
    pub params: &'static [(&'static str, &'static str)],
    /// It makes the runtime changes of the steps before it survive a restart (Redis
    /// `CONFIG REWRITE`): a plan ends with it.
    pub persists_config: bool,
}

impl ActionSpec {
    /// Refuses a parameter the action does not take, naming the ones it does.
    pub fn check_params(&self, params: &Map<String, Value>) -> Result<(), String> {
        let allowed: Vec<&str> = self.params.iter().map(|(n, _)| *n).collect();
        match params.keys().find(|k| !allowed.contains(&k.as_str())) {
            None => Ok(()),
            Some(unknown) => Err(format!(
                "{} has no parameter `{unknown}` (it takes: {})",
                self.id,
                if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                }
            )),
        }
    }

    /// A parameter that must be given and not empty.
    pub fn required(&self, params: &Map<String, Value>, name: &str) -> Result<String, String> {
        param(params, name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{} needs `{name}`", self.id))
    }

    /// A step of this action, with the catalogue's title and risk; the provenance is `User`
    /// until a plan says where it came from.
    pub fn step(
        &self,
        ctx: &PlanContext<'_>,
        commands: Vec<Command>,
        capture: Vec<Command>,
        rollback: RollbackSpec,
        verify: Option<Probe>,
        effect: &str,
    ) -> RepairStep {
        RepairStep {
            action: self.id.into(),
            title: self.title.into(),
            target: ctx.target.clone(),
            risk: self.risk,
            commands,
            capture,
            rollback,
            verify,
            effect: effect.into(),
            why: String::new(),
            provenance: Provenance::User,
            for_busy_server: false,
        }
    }
}

/// What a plan is made against.
#[derive(Debug, Clone)]
pub struct PlanContext<'a> {
    pub target: PlanTarget,
    pub facts: &'a InstanceFacts,
    /// The user the program's own connection logs in as (steps must not lock it out); empty
    /// when the instance names none, see [`PlanContext::own_user_or`].
    pub own_user: String,
}

impl<'a> PlanContext<'a> {
    /// The context of a configured instance as last sampled.
    pub fn for_instance(instance: &InstanceConfig, facts: &'a InstanceFacts) -> Self {
        PlanContext {
            target: PlanTarget {
                instance: instance.name.clone(),
                endpoint: instance.endpoint(),
                identity: facts.identity.clone(),
                context: instance.context.clone(),
            },
            facts,
            own_user: instance.login_user().unwrap_or_default(),
        }
    }

    /// The user the program logs in as, `default` (the kind's default account) when the
    /// instance names none.
    pub fn own_user_or<'s>(&'s self, default: &'s str) -> &'s str {
        if self.own_user.is_empty() {
            default
        } else {
            &self.own_user
        }
    }
}

/// A parameter as text (strings trimmed, numbers printed).
pub fn param(params: &Map<String, Value>, name: &str) -> Option<String> {
    params.get(name).and_then(|v| match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// A size: `1073741824`, `512mb`, `2gb`, `100kb` → bytes.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_lowercase();
    let (num, mult) = if let Some(n) = t.strip_suffix("gb") {
        (n, 1u64 << 30)
    } else if let Some(n) = t.strip_suffix("mb") {
        (n, 1 << 20)
    } else if let Some(n) = t.strip_suffix("kb") {
        (n, 1 << 10)
    } else {
        (t.as_str(), 1)
    };
    num.trim()
        .parse::<u64>()
        .map(|n| n * mult)
        .map_err(|_| format!("`{text}` is not a size in bytes (e.g. 1073741824, 512mb, 2gb)"))
}

/// A random password for "set a password" steps (shown once, in the step's effect).
pub fn random_password() -> Result<String, String> {
    use base64::Engine as _;
    use std::io::Read;
    let mut bytes = [0u8; 18];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| {
            format!("cannot generate a password (/dev/urandom: {e}); pass one as `password`")
        })?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// "a Redis", "an Elasticsearch".
fn article(system: &str) -> String {
    let vowel = system.starts_with(['A', 'E', 'I', 'O', 'U']);
    format!("{} {system}", if vowel { "an" } else { "a" })
}

/// A plugin's repair actions.
pub trait RepairCatalog: Send + Sync {
    /// Every executable action.
    fn actions(&self) -> &'static [ActionSpec];
    /// One action by id.
    fn spec(&self, id: &str) -> Option<&'static ActionSpec> {
        self.actions().iter().find(|a| a.id == id)
    }
    /// Commands never executed by the program, with the reason (shown as manual text).
    fn manual_only(&self) -> &'static [(&'static str, &'static str)];
    /// The system, for messages ("not a Redis repair action").
    fn system(&self) -> &'static str;
    /// A typed step of an action with parameters; `Err` names the problem. The action is looked
    /// up and its parameters checked here, for every plugin alike.
    fn build(
        &self,
        action: &str,
        params: &Map<String, Value>,
        ctx: &PlanContext<'_>,
    ) -> Result<RepairStep, String> {
        let a = self
            .spec(action)
            .ok_or_else(|| format!("`{action}` is not {} repair action", article(self.system())))?;
        a.check_params(params)?;
        self.build_step(a, params, ctx)
    }
    /// The step of a known action whose parameter names were checked.
    fn build_step(
        &self,
        a: &'static ActionSpec,
        params: &Map<String, Value>,
        ctx: &PlanContext<'_>,
    ) -> Result<RepairStep, String>;
    /// The steps that fix a finding (maybe none), and manual advice.
    fn for_finding(
        &self,
        finding: &Finding,
        ctx: &PlanContext<'_>,
    ) -> (Vec<RepairStep>, Vec<String>);
}

/// The catalogue as the model reads it in its system prompt: each action with its risk and
/// parameters, and what is manual only.
pub fn catalogue_prompt(catalog: &dyn RepairCatalog) -> String {
    let mut out = String::from("Repair actions you may propose (id, risk, title, params):");
    for a in catalog.actions() {
        let params: Vec<String> = a.params.iter().map(|(n, m)| format!("{n}: {m}")).collect();
        out.push_str(&format!(
            "\n- {} ({}) {}{}",
            a.id,
            a.risk.as_str(),
            a.title,
            if params.is_empty() {
                String::new()
            } else {
                format!(" — params {{{}}}", params.join("; "))
            }
        ));
    }
    let manual: Vec<&str> = catalog.manual_only().iter().map(|(c, _)| *c).collect();
    out.push_str(&format!(
        "\nManual only, never proposed as actions: {}",
        manual.join(", ")
    ));
    out
}

/// The plan for one finding.
pub fn plan_for_finding(
    catalog: &dyn RepairCatalog,
    finding: &Finding,
    ctx: &PlanContext<'_>,
) -> RepairPlan {
    let (mut steps, mut manual) = catalog.for_finding(finding, ctx);
    for s in &mut steps {
        s.provenance = Provenance::Finding {
            rule: finding.id.clone(),
            title: finding.title.clone(),
        };
    }
    if steps.is_empty() && manual.is_empty() {
        manual.push(format!(
            "{}: no automatic repair — {}",
            finding.id, finding.recommendation
        ));
    }
    RepairPlan { steps, manual }
}

/// One plan for several findings: their steps in order, each distinct step once.
pub fn plan_for_findings(
    catalog: &dyn RepairCatalog,
    findings: &[Finding],
    ctx: &PlanContext<'_>,
) -> RepairPlan {
    let mut plan = RepairPlan {
        steps: Vec::new(),
        manual: Vec::new(),
    };
    for f in findings {
        let part = plan_for_finding(catalog, f, ctx);
        for s in part.steps {
            // The same action on another object (a second account, another session) is a
            // step of its own; the same action twice is one.
            if !plan
                .steps
                .iter()
                .any(|p| p.action == s.action && p.commands == s.commands)
            {
                plan.steps.push(s);
            }
        }
        plan.manual.extend(part.manual);
    }
    // A plan that changes configuration may end by persisting it (skippable).
    if let Some(pos) = plan
        .steps
        .iter()
        .position(|s| catalog.spec(&s.action).is_some_and(|a| a.persists_config))
    {
        let persist = plan.steps.remove(pos);
        plan.steps.push(persist);
    }
    plan
}

/// Validates a plan the model proposed against the catalogue: known actions with valid
/// parameters become steps; everything else becomes manual text saying why.
pub fn plan_from_proposal(
    catalog: &dyn RepairCatalog,
    proposal: &ProposedPlan,
    ctx: &PlanContext<'_>,
    excerpt: &str,
) -> RepairPlan {
    plan_from_steps(
        catalog,
        proposal,
        ctx,
        Provenance::Chat {
            excerpt: excerpt.to_string(),
        },
    )
}

/// The same validation for a plan file (`fix --plan`).
pub fn plan_from_file(
    catalog: &dyn RepairCatalog,
    proposal: &ProposedPlan,
    ctx: &PlanContext<'_>,
    path: &std::path::Path,
) -> RepairPlan {
    plan_from_steps(
        catalog,
        proposal,
        ctx,
        Provenance::File {
            path: path.display().to_string(),
        },
    )
}

fn plan_from_steps(
    catalog: &dyn RepairCatalog,
    proposal: &ProposedPlan,
    ctx: &PlanContext<'_>,
    provenance: Provenance,
) -> RepairPlan {
    let mut plan = RepairPlan {
        steps: Vec::new(),
        manual: Vec::new(),
    };
    for p in &proposal.steps {
        let known = catalog.actions().iter().any(|a| a.id == p.action);
        if !known {
            let manual = catalog.manual_only().iter().find(|(cmd, _)| {
                p.action
                    .to_ascii_uppercase()
                    .starts_with(&cmd.to_ascii_uppercase())
            });
            plan.manual.push(match manual {
                Some((cmd, why)) => {
                    format!("{} — manual only ({cmd}: {why}); not executable", p.action)
                }
                None => format!(
                    "{} — not an action of the catalogue; shown as text only, never executed",
                    p.action
                ),
            });
            continue;
        }
        match catalog.build(&p.action, &p.params, ctx) {
            Ok(mut step) => {
                step.why = p.why.clone();
                step.provenance = provenance.clone();
                plan.steps.push(step);
            }
            Err(e) => plan.manual.push(format!(
                "{} — cannot be built: {e}; not executable",
                p.action
            )),
        }
    }
    plan
}
