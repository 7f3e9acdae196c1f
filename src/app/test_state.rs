//! A small state for the app's unit tests: one configured instance, the built-in keymap, no
//! server and no fixtures (those belong to the integration tests).

use super::instance_view::InstanceView;
use super::state::AppState;
use crate::config::{InstanceConfig, InstanceKind};
use crate::keymap::Keymap;

/// One Redis instance (not connected), the built-in keys, no notices.
pub(crate) fn test_state() -> AppState {
    let config = InstanceConfig::new("cache", InstanceKind::REDIS, "redis://127.0.0.1:6379");
    let view = InstanceView::new(config, "127.0.0.1:6379".into(), 60, 1_000);
    AppState::new(vec![view], Keymap::builtin(), Vec::new())
}
