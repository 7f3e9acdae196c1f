//! The repair modal: walks a plan one step at a time. It holds the pending step and consumes
//! every key while open; confirming emits an effect that the executor carries out, and the
//! results come back as events. The focus starts on the safe choice (skip); a dangerous step
//! needs the instance name typed; after each step the verification result is shown and, when
//! it fails, the rollback is offered first.

use super::effect::{Effect, RepairEffect};
use super::layer::Mode;
use super::state::AppState;
use crate::ai::plan::ProposedPlan;
use crate::diagnose::FindingSource;
use crate::plugins::registry;
use crate::repair::catalog::{PlanContext, plan_for_finding, plan_from_proposal};
use crate::repair::{PreparedStep, RepairPlan, RepairStep, Risk};
use crate::services::repair::RepairEvent;

/// Where one step is.
#[derive(Debug, Clone, PartialEq)]
pub enum StepPhase {
    Preparing,
    /// Pre-state captured; waiting for the user.
    Ready,
    PrepareFailed(String),
    Running,
    Verifying,
    Verified(String),
    VerifyFailed(String),
    /// The executor refused (mode, pin, confirmation).
    Refused(String),
    /// The system refused the command.
    Failed(String),
    RollingBack,
    RolledBack(String),
    RollbackFailed(String),
    Skipped,
}

/// A button of the modal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModalButton {
    Skip,
    Apply,
    Abort,
    RollBack,
    Next,
    Close,
}

impl ModalButton {
    /// Label on screen.
    pub fn label(self) -> &'static str {
        match self {
            ModalButton::Skip => "Skip",
            ModalButton::Apply => "Apply",
            ModalButton::Abort => "Abort plan",
            ModalButton::RollBack => "Roll back",
            ModalButton::Next => "Next step",
            ModalButton::Close => "Close",
        }
    }
}

/// One step as the modal tracks it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepState {
    pub phase: StepPhase,
    pub prepared: Option<PreparedStep>,
    /// What the executed commands replied.
    pub executed: Option<String>,
}

/// The open modal.
#[derive(Debug, Clone, PartialEq)]
pub struct RepairModal {
    pub instance: usize,
    pub plan: RepairPlan,
    pub index: usize,
    pub steps: Vec<StepState>,
    /// Index into `buttons()`.
    pub button: usize,
    /// The instance name being typed for a dangerous step.
    pub typed: String,
    pub show_rollback: bool,
}

impl RepairModal {
    pub(super) fn new(instance: usize, plan: RepairPlan) -> Self {
        let steps = plan
            .steps
            .iter()
            .map(|_| StepState {
                phase: StepPhase::Preparing,
                prepared: None,
                executed: None,
            })
            .collect();
        RepairModal {
            instance,
            plan,
            index: 0,
            steps,
            button: 0,
            typed: String::new(),
            show_rollback: false,
        }
    }

    /// The step on screen.
    pub fn step(&self) -> Option<&RepairStep> {
        self.plan.steps.get(self.index)
    }

    /// Its state.
    pub fn state(&self) -> Option<&StepState> {
        self.steps.get(self.index)
    }

    /// Whether every step has been walked.
    pub fn finished(&self) -> bool {
        self.index >= self.plan.steps.len()
    }

    /// Whether keys type into the name field (a dangerous step waiting for confirmation).
    pub fn wants_name(&self) -> bool {
        self.step().is_some_and(|s| s.risk == Risk::Dangerous)
            && self.state().is_some_and(|s| s.phase == StepPhase::Ready)
    }

    /// The buttons for the current phase, the safe choice first.
    pub fn buttons(&self) -> Vec<ModalButton> {
        let more = self.index + 1 < self.plan.steps.len();
        let after = |rollback: bool| {
            let mut b = Vec::new();
            if rollback {
                b.push(ModalButton::RollBack);
            }
            if more {
                b.push(ModalButton::Next);
            }
            b.push(ModalButton::Close);
            b
        };
        let Some(state) = self.state() else {
            return vec![ModalButton::Close];
        };
        let can_roll_back = state
            .prepared
            .as_ref()
            .is_some_and(|p| !p.rollback.is_empty());
        match &state.phase {
            StepPhase::Preparing | StepPhase::PrepareFailed(_) => {
                vec![ModalButton::Skip, ModalButton::Abort]
            }
            StepPhase::Ready => vec![ModalButton::Skip, ModalButton::Apply, ModalButton::Abort],
            StepPhase::Running | StepPhase::Verifying | StepPhase::RollingBack => Vec::new(),
            StepPhase::VerifyFailed(_) => after(can_roll_back),
            StepPhase::Failed(_) => after(false),
            StepPhase::Verified(_)
            | StepPhase::Refused(_)
            | StepPhase::RolledBack(_)
            | StepPhase::RollbackFailed(_)
            | StepPhase::Skipped => after(false),
        }
    }

    pub(super) fn focused(&self) -> Option<ModalButton> {
        self.buttons().get(self.button).copied()
    }
}

/// The instance's facts, plus where it lives in the cluster for a discovered one (what the
/// Kubernetes catalogue plans with).
fn kube_facts(view: &super::InstanceView) -> crate::plugins::InstanceFacts {
    use crate::kube::repairs::{FACT_NAMESPACE, FACT_PODS, FACT_WORKLOAD};
    let mut facts = view.facts.clone();
    if let Some(b) = &view.kube {
        facts
            .extra
            .push((FACT_NAMESPACE.into(), b.found.namespace.clone()));
        facts.extra.push((
            FACT_WORKLOAD.into(),
            format!("{}/{}", b.found.workload_kind, b.found.name),
        ));
        facts.extra.push((FACT_PODS.into(), b.found.pods.join(",")));
    }
    facts
}

impl AppState {
    /// `r` on a finding: the plan from the catalogue for the selected finding.
    pub(super) fn open_repair_for_finding(&mut self) -> Vec<Effect> {
        let Some(view) = self.current() else {
            return Vec::new();
        };
        // From any pane: the finding the findings pane highlights (its selection, clamped as
        // the pane draws it; the worst one — findings are kept worst first — after the
        // selection moved to another instance).
        let shown = self.selected_finding().unwrap_or(usize::MAX);
        let Some(finding) = view.findings.get(shown) else {
            let name = view.config.name.clone();
            self.notices.retain(|n| !n.starts_with("repair: "));
            self.notices
                .push(format!("repair: {name} has no finding to repair"));
            return Vec::new();
        };
        let facts = kube_facts(view);
        let ctx = PlanContext::for_instance(&view.config, &facts);
        let catalog = registry::catalogue_for(view.config.kind, finding.finding.source);
        let plan = plan_for_finding(catalog, &finding.finding, &ctx);
        self.open_repair(plan)
    }

    /// "Apply plan" in the chat: the newest plan the model proposed, validated.
    pub(super) fn open_repair_from_chat(&mut self) -> Vec<Effect> {
        let Some(view) = self.current() else {
            return Vec::new();
        };
        let Some(pos) = view.chat.iter().rposition(|m| m.plan.is_some()) else {
            if let Some(v) = self.instances.get_mut(self.selected) {
                v.chat.push(super::chat::ChatMessage::new(
                    super::chat::ChatRole::Notice,
                    "no proposed plan in this conversation",
                ));
            }
            return Vec::new();
        };
        let proposal: &ProposedPlan = view.chat[pos].plan.as_ref().expect("found above");
        let excerpt = view.chat[..pos]
            .iter()
            .rev()
            .find(|m| m.role == super::chat::ChatRole::Assistant)
            .map(|m| m.text.chars().take(120).collect::<String>())
            .unwrap_or_default();
        let facts = kube_facts(view);
        let ctx = PlanContext::for_instance(&view.config, &facts);
        // A plan of Kubernetes actions only goes to the Kubernetes catalogue.
        let kube_only = view.kube.is_some()
            && !proposal.steps.is_empty()
            && proposal
                .steps
                .iter()
                .all(|s| registry::action_side(&s.action).is_kubernetes());
        let side = if kube_only {
            FindingSource::Kubernetes
        } else {
            FindingSource::Instance
        };
        let catalog = registry::catalogue_for(view.config.kind, side);
        let plan = plan_from_proposal(catalog, proposal, &ctx, &excerpt);
        self.open_repair(plan)
    }

    fn open_repair(&mut self, plan: RepairPlan) -> Vec<Effect> {
        let instance = self.selected;
        let mut effects = Vec::new();
        if !plan.steps.is_empty() {
            effects.push(Effect::Repair(RepairEffect::Propose { plan: plan.clone() }));
            effects.push(Effect::Repair(RepairEffect::Prepare {
                instance,
                index: 0,
                step: plan.steps[0].clone(),
            }));
        }
        self.mode = Mode::Repair(RepairModal::new(instance, plan));
        effects
    }

    /// Folds an executor result in.
    pub(super) fn apply_repair_event(&mut self, event: RepairEvent) {
        if let RepairEvent::ModeChanged(result) = event {
            match result {
                Ok(mode) => {
                    self.safety.mode = mode;
                    self.notices.retain(|n| !n.starts_with("mode: "));
                }
                Err(e) => self.notices.push(format!("mode: {e}")),
            }
            return;
        }
        let Mode::Repair(m) = &mut self.mode else {
            return; // the modal was closed meanwhile; the audit log has the outcome
        };
        let (index, phase) = match event {
            RepairEvent::Prepared { index, result } => match result {
                Ok(prepared) => {
                    if let Some(s) = m.steps.get_mut(index) {
                        s.prepared = Some(prepared);
                    }
                    (index, StepPhase::Ready)
                }
                Err(e) => (index, StepPhase::PrepareFailed(e)),
            },
            RepairEvent::Executed { index, result } => match result {
                Ok(out) => {
                    if let Some(s) = m.steps.get_mut(index) {
                        s.executed = Some(out);
                    }
                    (index, StepPhase::Verifying)
                }
                Err(crate::repair::StepError::Refused(e)) => (index, StepPhase::Refused(e)),
                Err(crate::repair::StepError::Failed(e)) => (index, StepPhase::Failed(e)),
            },
            RepairEvent::Verified { index, result } => match result {
                Ok(v) => (index, StepPhase::Verified(v)),
                Err(e) => (index, StepPhase::VerifyFailed(e)),
            },
            RepairEvent::RolledBack { index, result } => match result {
                Ok(v) => (index, StepPhase::RolledBack(v)),
                Err(e) => (index, StepPhase::RollbackFailed(e)),
            },
            RepairEvent::ModeChanged(_) => return,
        };
        if let Some(s) = m.steps.get_mut(index) {
            s.phase = phase;
        }
        if index == m.index {
            m.button = 0;
        }
    }
}
