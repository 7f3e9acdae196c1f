//! Repairs: typed steps and plans, the one executor that may write, the safety modes it
//! enforces, and the hash-chained audit log. Plugins contribute their action catalogues
//! (e.g. `plugins::redis::repair`) and write backends; nothing else in the program writes.

pub mod audit;
pub mod backends;
pub mod catalog;
pub mod check;
pub mod executor;
pub mod outcome;
pub mod plan;
pub mod policy;
pub mod proposal;
pub mod reply;

pub use audit::{AuditChain, AuditEntry, AuditError, AuditEvent, AuditRecord, verify_chain};
pub use backends::BackendFactory;
pub use executor::{Confirmation, Executor, ExecutorToken, RepairError, WriteBackend};
pub use outcome::StepError;
pub use plan::{
    Check, Command, PlanTarget, PreparedStep, Probe, Provenance, RepairPlan, RepairStep, Risk,
    RollbackSpec,
};
pub use policy::SafetyPolicy;
pub use reply::Reply;
