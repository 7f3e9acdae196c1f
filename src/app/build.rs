//! The state a configuration starts with.

use std::time::Duration;

use super::instance_view::InstanceView;
use super::state::AppState;
use crate::config::AppConfig;
use crate::keymap::Keymap;

/// The state for a configuration: instances grouped for the inventory (groups sorted by name,
/// config order kept within a group). Returns the state and the config index of each view.
pub fn build_state(
    config: &AppConfig,
    keymap: Keymap,
    notices: Vec<String>,
) -> (AppState, Vec<usize>) {
    let mut order: Vec<usize> = (0..config.instances.len()).collect();
    order.sort_by(|a, b| {
        config.instances[*a]
            .group_name()
            .cmp(config.instances[*b].group_name())
            .then(a.cmp(b))
    });
    let views = order
        .iter()
        .map(|&i| {
            let inst = &config.instances[i];
            let endpoint = inst.endpoint();
            InstanceView::new(
                inst.clone(),
                endpoint,
                config.ui.metrics_history,
                config.ui.log_buffer_lines,
            )
        })
        .collect();
    let mut state = AppState::new(views, keymap, notices);
    state.chat = super::chat::ChatState::new(&config.ai);
    state.kube.history = config.ui.metrics_history;
    state.kube.log_lines = config.ui.log_buffer_lines;
    state.kube.attach.delay = Duration::from_millis(config.kubernetes.attach_delay_ms);
    state.kube.attach.max_attached = config.kubernetes.max_attached;
    (state, order)
}
