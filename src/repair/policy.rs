//! The safety mode in force: the global mode and the contexts that are always read-only. The
//! executor enforces it; the UI reads the same rules for its badge and the modal.

use crate::config::{SafetyConfig, SafetyMode};

/// The global mode and the `read_only_contexts` globs.
#[derive(Debug, Clone, PartialEq)]
pub struct SafetyPolicy {
    pub mode: SafetyMode,
    read_only_contexts: Vec<glob::Pattern>,
}

impl Default for SafetyPolicy {
    fn default() -> Self {
        SafetyPolicy {
            mode: SafetyMode::Confirm,
            read_only_contexts: Vec::new(),
        }
    }
}

impl SafetyPolicy {
    /// The policy of a `[safety]` section; a glob that does not parse is named.
    pub fn new(safety: &SafetyConfig) -> Result<Self, String> {
        let read_only_contexts = safety
            .read_only_contexts
            .iter()
            .map(|g| {
                glob::Pattern::new(g)
                    .map_err(|e| format!("safety.read_only_contexts: `{g}` is not a glob: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(SafetyPolicy {
            mode: safety.mode,
            read_only_contexts,
        })
    }

    /// The mode for a Kubernetes context: read-only when it matches `read_only_contexts`,
    /// whatever the global mode.
    pub fn mode_for(&self, context: Option<&str>) -> SafetyMode {
        match context {
            Some(ctx) if self.read_only_contexts.iter().any(|p| p.matches(ctx)) => {
                SafetyMode::ReadOnly
            }
            _ => self.mode,
        }
    }

    /// Whether the read-only state of `context` comes from `read_only_contexts`.
    pub fn is_read_only_context(&self, context: Option<&str>) -> bool {
        context.is_some_and(|c| self.read_only_contexts.iter().any(|p| p.matches(c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_matching_a_glob_are_read_only_whatever_the_mode() {
        let p = SafetyPolicy::new(&SafetyConfig {
            mode: SafetyMode::Confirm,
            read_only_contexts: vec!["prod-*".into()],
        })
        .unwrap();
        assert_eq!(p.mode_for(Some("prod-eu")), SafetyMode::ReadOnly);
        assert_eq!(p.mode_for(Some("staging")), SafetyMode::Confirm);
        assert_eq!(p.mode_for(None), SafetyMode::Confirm);
        assert!(p.is_read_only_context(Some("prod-us")));
        let err = SafetyPolicy::new(&SafetyConfig {
            mode: SafetyMode::Confirm,
            read_only_contexts: vec!["prod-[".into()],
        })
        .unwrap_err();
        assert!(err.contains("`prod-[` is not a glob"), "{err}");
    }
}
