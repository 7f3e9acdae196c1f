//! The one executor: the only code path in the program that can send a write to a system.
//!
//! Write connections are opened through [`WriteBackend`]s, which a plugin can only build with an
//! [`ExecutorToken`] — and only this module can make one. Before every write the executor checks
//! the mode (read-only refuses, suggest never applies), the typed confirmation of dangerous
//! steps, and the pin (the server identity and Kubernetes context the plan was made for), and it
//! writes an audit record first: nothing is executed without one.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::future::BoxFuture;

use super::audit::{AuditChain, AuditEntry, AuditError, AuditEvent};
use super::backends::BackendFactory;
use super::plan::{Command, PreparedStep, RepairPlan, RepairStep};
use super::policy::SafetyPolicy;
use super::reply::Reply;
use crate::config::{AppConfig, InstanceConfig, SafetyConfig, SafetyMode};
use crate::model::FindingSource;
use crate::model::PluginError;

/// Proof of being the executor: the argument a write needs. Only this module constructs it.
pub struct ExecutorToken(());

/// A connection that can write, opened by a plugin for the executor.
pub trait WriteBackend: Send {
    /// The server's identity now (Redis `run_id`, MySQL `server_uuid` …).
    fn identity(&mut self) -> BoxFuture<'_, Result<String, PluginError>>;
    /// A read-only command: captures and verification probes.
    fn read<'a>(&'a mut self, command: &'a Command) -> BoxFuture<'a, Result<Reply, PluginError>>;
    /// A write; only the executor can call it (it holds the token).
    fn write<'a>(
        &'a mut self,
        command: &'a Command,
        token: &'a ExecutorToken,
    ) -> BoxFuture<'a, Result<Reply, PluginError>>;
    /// What a capture says instead of being sent, when it is a mutating request on the wire
    /// although it changes nothing (a server-side dry run is a PATCH or DELETE, an access review
    /// a POST) and the mode withholds such requests (`why`). `None`: a plain read, always sent.
    fn withheld(&self, _command: &Command, _why: &str) -> Option<Reply> {
        None
    }
    /// The preview and the rollback commands, from the captured pre-state.
    fn prepare(&self, step: &RepairStep, captured: &[(String, Reply)]) -> PreparedStep;
    /// Judges a verification reply against the step's probe (the shared checks unless a
    /// system reads its replies differently); `Err` says what is wrong.
    fn judge(
        &self,
        step: &RepairStep,
        reply: &Reply,
        prepared: &PreparedStep,
    ) -> Result<String, String> {
        let Some(probe) = &step.verify else {
            return Ok("no probe".into());
        };
        super::check::judge_check(&probe.check, reply, &prepared.captured)
    }
}

/// Why the executor did not do something.
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    /// Refused by policy (mode, pin, confirmation); audited.
    #[error("refused: {0}")]
    Refused(String),
    /// The system said no or could not be reached.
    #[error("{0}")]
    Backend(#[from] PluginError),
    /// The audit log could not be written before anything was sent, so nothing was done.
    #[error("{0} — nothing was executed")]
    Audit(#[from] AuditError),
    /// A write went through but its audit record could not be written; the rest of the step
    /// was not sent. Loud on purpose: the system changed and the log does not say so.
    #[error(
        "EXECUTED BUT NOT RECORDED: {executed} — the audit log failed ({error}); {remaining} remaining command(s) of this step not sent"
    )]
    UnrecordedWrite {
        executed: String,
        remaining: usize,
        error: AuditError,
    },
    /// Some commands of a multi-command step ran, then one failed: the step is half applied.
    #[error(
        "PARTIAL: {done} of {total} commands executed ({executed}); `{failed}` failed: {error}"
    )]
    Partial {
        done: usize,
        total: usize,
        executed: String,
        failed: String,
        /// The system's error, and whether the failure could be recorded.
        error: String,
    },
    /// The verification probe's condition did not hold.
    #[error("verification failed: {0}")]
    Verification(String),
}

/// What the user typed to confirm a dangerous step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Confirmation {
    pub typed_name: Option<String>,
}

/// The executor of this process.
pub struct Executor {
    policy: RwLock<SafetyPolicy>,
    audit: Arc<AuditChain>,
    /// The Kubernetes context in use now (`None`: no cluster selected).
    current_context: RwLock<Option<String>>,
    /// The merged kubeconfig, for the backend of Kubernetes steps.
    kubeconfig: RwLock<Option<kube::config::Kubeconfig>>,
    probe_interval: Duration,
    /// Opens the backends of steps (the plugins' and Kubernetes').
    backends: Arc<dyn BackendFactory>,
}

impl Executor {
    /// An executor with the configured mode, opening backends through `backends`; bad context
    /// globs are reported.
    pub fn new(
        backends: Arc<dyn BackendFactory>,
        safety: &SafetyConfig,
        audit: Arc<AuditChain>,
    ) -> Result<Self, String> {
        Ok(Executor {
            backends,
            policy: RwLock::new(SafetyPolicy::new(safety)?),
            audit,
            current_context: RwLock::new(None),
            kubeconfig: RwLock::new(None),
            probe_interval: Duration::from_millis(200),
        })
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditChain {
        &self.audit
    }

    /// The global mode.
    pub fn mode(&self) -> SafetyMode {
        self.policy.read().unwrap_or_else(|p| p.into_inner()).mode
    }

    /// The mode in force for a context: read-only when the context matches
    /// `read_only_contexts`, whatever the global mode.
    pub fn mode_for(&self, context: Option<&str>) -> SafetyMode {
        self.policy
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .mode_for(context)
    }

    /// The policy now (for the UI's badge and modal).
    pub fn policy(&self) -> SafetyPolicy {
        self.policy
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The Kubernetes context now in use.
    pub fn current_context(&self) -> Option<String> {
        self.current_context
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records the Kubernetes context now in use (plans pinned to another one are refused).
    pub fn set_current_context(&self, context: Option<String>) {
        *self
            .current_context
            .write()
            .unwrap_or_else(|p| p.into_inner()) = context;
    }

    /// Changes the global mode. Leaving read-only needs a reason; every change is audited.
    pub fn set_mode(&self, mode: SafetyMode, reason: &str) -> Result<(), RepairError> {
        let from = self.mode();
        if from == SafetyMode::ReadOnly && mode != SafetyMode::ReadOnly && reason.trim().is_empty()
        {
            return Err(RepairError::Refused(
                "leaving read-only mode needs a reason (e.g. `:mode confirm INC-1234 approved by …`)"
                    .into(),
            ));
        }
        self.audit.append(
            AuditEvent::ModeChanged,
            AuditEntry {
                mode: mode.as_str().into(),
                result: Some(format!(
                    "{} → {}; reason: {}",
                    from.as_str(),
                    mode.as_str(),
                    if reason.trim().is_empty() {
                        "-"
                    } else {
                        reason.trim()
                    }
                )),
                ..AuditEntry::default()
            },
        )?;
        self.policy.write().unwrap_or_else(|p| p.into_inner()).mode = mode;
        Ok(())
    }

    /// Opens a write-capable connection to an instance (connects on first use).
    pub fn open_backend(
        &self,
        instance: &InstanceConfig,
        config: &AppConfig,
    ) -> Result<Box<dyn WriteBackend>, RepairError> {
        Ok(self
            .backends
            .instance_backend(instance, config, &ExecutorToken(()))?)
    }

    /// The kubeconfig Kubernetes steps are carried out with.
    pub fn set_kubeconfig(&self, kubeconfig: Option<kube::config::Kubeconfig>) {
        *self.kubeconfig.write().unwrap_or_else(|p| p.into_inner()) = kubeconfig;
    }

    /// The backend for a step: a Kubernetes step goes to the API server of the context it was
    /// planned in, every other to the instance's plugin.
    pub fn open_backend_for(
        &self,
        action: &str,
        instance: &InstanceConfig,
        config: &AppConfig,
    ) -> Result<Box<dyn WriteBackend>, RepairError> {
        if self.backends.side_of(action) == FindingSource::Instance {
            return self.open_backend(instance, config);
        }
        let kubeconfig = self
            .kubeconfig
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| {
                PluginError::Config("no kubeconfig: Kubernetes steps cannot run".into())
            })?;
        let context = instance.context.clone().ok_or_else(|| {
            PluginError::Config(format!("{} has no Kubernetes context", instance.name))
        })?;
        Ok(self
            .backends
            .kubernetes_backend(kubeconfig, &context, &ExecutorToken(())))
    }

    fn record(
        &self,
        event: AuditEvent,
        step: &RepairStep,
        command: Option<String>,
        result: Option<String>,
    ) -> Result<(), AuditError> {
        self.audit
            .append(
                event,
                AuditEntry {
                    mode: self
                        .mode_for(step.target.context.as_deref())
                        .as_str()
                        .into(),
                    context: step.target.context.clone(),
                    instance: Some(step.target.instance.clone()),
                    action: Some(step.action.clone()),
                    command,
                    result,
                },
            )
            .map(|_| ())
    }

    fn commands_text(commands: &[Command]) -> String {
        commands
            .iter()
            .map(Command::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Records the steps of a plan as proposed, and its manual-only parts (text that is never
    /// executed) with them.
    pub fn propose(&self, plan: &RepairPlan) -> Result<(), RepairError> {
        for step in &plan.steps {
            self.record(
                AuditEvent::Proposed,
                step,
                Some(Self::commands_text(&step.commands)),
                Some(step.provenance.to_string()),
            )?;
        }
        let target = plan.steps.first().map(|s| &s.target);
        for text in &plan.manual {
            self.audit.append(
                AuditEvent::Proposed,
                AuditEntry {
                    mode: self
                        .mode_for(target.and_then(|t| t.context.as_deref()))
                        .as_str()
                        .into(),
                    context: target.and_then(|t| t.context.clone()),
                    instance: target.map(|t| t.instance.clone()),
                    action: Some("manual".into()),
                    command: None,
                    result: Some(format!("manual only, not executable: {text}")),
                },
            )?;
        }
        Ok(())
    }

    /// Records a skipped step.
    pub fn skip(&self, step: &RepairStep) -> Result<(), RepairError> {
        Ok(self.record(
            AuditEvent::Skipped,
            step,
            Some(Self::commands_text(&step.commands)),
            None,
        )?)
    }

    /// Records an aborted plan at this step.
    pub fn abort(&self, step: &RepairStep) -> Result<(), RepairError> {
        Ok(self.record(
            AuditEvent::Aborted,
            step,
            Some(Self::commands_text(&step.commands)),
            None,
        )?)
    }

    /// Why requests that are mutating verbs on the wire but change nothing (server-side dry
    /// runs, SelfSubjectAccessReviews, both POST/PATCH/DELETE) are not sent for `context`:
    /// in every mode but confirm. Read-only means no mutating verb on the wire at all, and in
    /// suggest mode nothing can be applied that a dry run would preview. `None`: they may be.
    pub fn withholds_mutating_requests(&self, context: Option<&str>) -> Option<String> {
        match self.mode_for(context) {
            SafetyMode::Confirm => None,
            SafetyMode::Suggest => Some("suggest mode".into()),
            SafetyMode::ReadOnly => Some(match context {
                Some(ctx) if self.mode() != SafetyMode::ReadOnly => {
                    format!("context `{ctx}` is read-only (safety.read_only_contexts)")
                }
                _ => "read-only mode".into(),
            }),
        }
    }

    /// Captures the pre-state (reads only: a capture that is a mutating request on the wire is
    /// withheld outside confirm mode) and builds the preview and the rollback.
    pub async fn prepare(
        &self,
        backend: &mut dyn WriteBackend,
        step: &RepairStep,
    ) -> Result<PreparedStep, RepairError> {
        let withhold = self.withholds_mutating_requests(step.target.context.as_deref());
        let mut captured = Vec::new();
        for c in &step.capture {
            let reply = match withhold.as_deref().and_then(|why| backend.withheld(c, why)) {
                Some(instead) => instead,
                None => backend.read(c).await?,
            };
            captured.push((c.to_string(), reply));
        }
        Ok(backend.prepare(step, &captured))
    }

    /// Refuses unless the mode applies steps here, then checks the pin; audits a refusal.
    async fn admit(
        &self,
        backend: &mut dyn WriteBackend,
        step: &RepairStep,
        commands: &[Command],
    ) -> Result<(), RepairError> {
        let refusal = match self.mode_for(step.target.context.as_deref()) {
            SafetyMode::ReadOnly => Some(match &step.target.context {
                Some(ctx) if self.mode() != SafetyMode::ReadOnly => format!(
                    "context `{ctx}` is read-only (safety.read_only_contexts): no write is sent"
                ),
                _ => "read-only mode: no write is sent".to_string(),
            }),
            SafetyMode::Suggest => Some("suggest mode: plans are shown, never applied".to_string()),
            SafetyMode::Confirm => None,
        };
        let current = self
            .current_context
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let refusal = match (refusal, &step.target.context, current) {
            (Some(r), _, _) => Some(r),
            (None, Some(planned), Some(now)) if *planned != now => Some(format!(
                "the plan was made in context `{planned}` but `{now}` is in use now — make a new plan"
            )),
            _ => None,
        };
        let refusal = match refusal {
            Some(r) => Some(r),
            None => match (&step.target.identity, backend.identity().await) {
                (Some(expected), Ok(now)) if *expected != now => Some(format!(
                    "the instance is not the one the plan was made for (identity {expected} then, {now} now) — make a new plan"
                )),
                (_, Err(e)) if step.for_busy_server && e.to_string().contains("BUSY") => None,
                (_, Err(e)) => Some(format!("cannot check the instance identity: {e}")),
                _ => None,
            },
        };
        match refusal {
            Some(reason) => {
                self.record(
                    AuditEvent::Refused,
                    step,
                    Some(Self::commands_text(commands)),
                    Some(reason.clone()),
                )?;
                Err(RepairError::Refused(reason))
            }
            None => Ok(()),
        }
    }

    /// Executes a confirmed step: mode, confirmation and pin checks, audit, the commands.
    pub async fn execute(
        &self,
        backend: &mut dyn WriteBackend,
        step: &RepairStep,
        confirmation: &Confirmation,
    ) -> Result<String, RepairError> {
        self.admit(backend, step, &step.commands).await?;
        if step.risk == super::plan::Risk::Dangerous
            && confirmation.typed_name.as_deref() != Some(step.target.instance.as_str())
        {
            let reason = format!(
                "a dangerous step needs the instance name `{}` typed to confirm",
                step.target.instance
            );
            self.record(
                AuditEvent::Refused,
                step,
                Some(Self::commands_text(&step.commands)),
                Some(reason.clone()),
            )?;
            return Err(RepairError::Refused(reason));
        }
        self.record(
            AuditEvent::Confirmed,
            step,
            Some(Self::commands_text(&step.commands)),
            None,
        )?;
        self.run(backend, step, &step.commands, AuditEvent::Executed)
            .await
    }

    async fn run(
        &self,
        backend: &mut dyn WriteBackend,
        step: &RepairStep,
        commands: &[Command],
        event: AuditEvent,
    ) -> Result<String, RepairError> {
        let token = ExecutorToken(());
        let mut results = Vec::new();
        let mut executed: Vec<String> = Vec::new();
        for (i, c) in commands.iter().enumerate() {
            match backend.write(c, &token).await {
                Ok(reply) => {
                    let text = reply.summary();
                    executed.push(c.to_string());
                    if let Err(error) =
                        self.record(event, step, Some(c.to_string()), Some(text.clone()))
                    {
                        return Err(RepairError::UnrecordedWrite {
                            executed: executed.join("; "),
                            remaining: commands.len() - i - 1,
                            error,
                        });
                    }
                    results.push(text);
                }
                Err(e) => {
                    let recorded = self.record(
                        AuditEvent::Failed,
                        step,
                        Some(c.to_string()),
                        Some(if i > 0 {
                            format!("{e} (partial: {i} of {} commands executed)", commands.len())
                        } else {
                            e.to_string()
                        }),
                    );
                    if i == 0 {
                        recorded?;
                        return Err(e.into());
                    }
                    return Err(RepairError::Partial {
                        done: i,
                        total: commands.len(),
                        executed: executed.join("; "),
                        failed: c.to_string(),
                        error: match recorded {
                            Ok(()) => e.to_string(),
                            Err(a) => format!("{e} — and the failure was not recorded: {a}"),
                        },
                    });
                }
            }
        }
        Ok(results.join("; "))
    }

    /// Runs the verification probe (repeating it while its window lasts) and audits the result.
    pub async fn verify(
        &self,
        backend: &mut dyn WriteBackend,
        step: &RepairStep,
        prepared: &PreparedStep,
    ) -> Result<String, RepairError> {
        let Some(probe) = &step.verify else {
            return Ok("no verification probe for this step".into());
        };
        let deadline = tokio::time::Instant::now() + probe.within;
        let outcome = loop {
            let judged = match backend.read(&probe.command).await {
                Ok(reply) => backend.judge(step, &reply, prepared),
                Err(e) => Err(e.to_string()),
            };
            if judged.is_ok() || tokio::time::Instant::now() >= deadline {
                break judged;
            }
            tokio::time::sleep(self.probe_interval).await;
        };
        let (event, result) = match &outcome {
            Ok(t) => (AuditEvent::Verified, t.clone()),
            Err(e) => (AuditEvent::VerificationFailed, e.clone()),
        };
        self.record(event, step, Some(probe.command.to_string()), Some(result))?;
        outcome.map_err(RepairError::Verification)
    }

    /// Rolls a step back with the commands built from its captured pre-state.
    pub async fn rollback(
        &self,
        backend: &mut dyn WriteBackend,
        step: &RepairStep,
        prepared: &PreparedStep,
    ) -> Result<String, RepairError> {
        if prepared.rollback.is_empty() {
            return Err(RepairError::Refused(format!(
                "no rollback for this step: {}",
                prepared.rollback_text
            )));
        }
        self.admit(backend, step, &prepared.rollback).await?;
        self.run(backend, step, &prepared.rollback, AuditEvent::RolledBack)
            .await
    }

    /// Records a model request by the hash of its (redacted) body; the request must not be sent
    /// when this fails.
    pub fn record_model_request(
        &self,
        description: &str,
        body_sha256: &str,
    ) -> Result<(), AuditError> {
        self.audit.append(
            AuditEvent::ModelRequest,
            AuditEntry {
                mode: self.mode().as_str().into(),
                command: Some(description.to_string()),
                result: Some(format!("sha256:{body_sha256}")),
                ..AuditEntry::default()
            },
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
