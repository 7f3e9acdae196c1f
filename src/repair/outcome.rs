//! How a step ended, typed for the screen: refused by policy, or failed on the way.

use super::executor::RepairError;

/// Why a step was not carried out as asked; the modal shows the two apart.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StepError {
    /// The executor's policy said no (mode, pin, confirmation): nothing was sent.
    #[error("{0}")]
    Refused(String),
    /// The system said no, could not be reached, or the audit log failed.
    #[error("{0}")]
    Failed(String),
}

impl From<RepairError> for StepError {
    fn from(e: RepairError) -> Self {
        let text = e.to_string();
        match e {
            RepairError::Refused(_) => StepError::Refused(text),
            _ => StepError::Failed(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_stays_a_refusal_and_keeps_its_words() {
        let refused = StepError::from(RepairError::Refused("read-only mode".into()));
        assert_eq!(
            refused,
            StepError::Refused("refused: read-only mode".into())
        );
        let failed = StepError::from(RepairError::Backend(crate::model::PluginError::Config(
            "no kubeconfig".into(),
        )));
        assert_eq!(failed, StepError::Failed("no kubeconfig".into()));
    }
}
