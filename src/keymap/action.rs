//! Named actions: what keys map to, what the palette lists, what the reducer applies.

/// Everything a key or the command palette can ask the app to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    ToggleHelp,
    OpenPalette,
    FocusNext,
    FocusPrev,
    ToggleZoom,
    SelectNext,
    SelectPrev,
    SelectFirst,
    SelectLast,
    PageDown,
    PageUp,
    StartFilter,
    ClearFilter,
    NextMatch,
    PrevMatch,
    ToggleFollow,
    FocusChat,
    Reconnect,
    /// Close the overlay or leave the input line (Esc).
    Close,
    /// Accept the input line or palette entry (Enter).
    Submit,
    /// Complete the command name or argument typed in the palette (Tab).
    Complete,
    /// Insert a newline in the chat editor.
    Newline,
    /// Ask the last question again.
    Regenerate,
    /// Show the exact last payload sent to a model.
    ShowSent,
    /// The pods of the current Kubernetes context, filtered as you type.
    Pods,
    /// Pick the Kubernetes context.
    Contexts,
    /// Every finding of the instances shown, worst first, filtered as you type.
    Fleet,
    /// Pods overlay: sort by name (natural order); again reverses.
    SortPodsByName,
    /// Pods overlay: sort by status, troubled first; again reverses.
    SortPodsByStatus,
    /// Pods overlay: sort by restarts, most first; again reverses.
    SortPodsByRestarts,
    /// Pods overlay: sort by age, oldest first; again reverses.
    SortPodsByAge,
    /// Pods overlay: sort by CPU, busiest first; again reverses.
    SortPodsByCpu,
    /// Pods overlay: sort by memory, largest first; again reverses.
    SortPodsByMemory,
    /// Write the incident report of the selected instance.
    Export,
    /// Open the repair modal for the selected finding (the worst one when none is selected).
    Repair,
    /// Sort the inventory by name or worst first.
    Sort,
    /// Open the repair modal for the plan the AI proposed last.
    ApplyPlan,
    /// Apply the step on screen (repair modal).
    RepairConfirm,
    /// Skip the step on screen (repair modal).
    RepairSkip,
    /// Roll the step on screen back (repair modal).
    RepairRollback,
    /// Show or hide the rollback commands (repair modal).
    ToggleRollback,
}

/// Every action with its config name and default description, in palette order.
pub const ACTIONS: &[(Action, &str, &str)] = &[
    (Action::Quit, "quit", "Quit KubeStack-AI"),
    (Action::ToggleHelp, "help", "Show or hide the key help"),
    (Action::OpenPalette, "palette", "Open the command palette"),
    (Action::FocusNext, "focus_next", "Focus the next pane"),
    (Action::FocusPrev, "focus_prev", "Focus the previous pane"),
    (
        Action::ToggleZoom,
        "zoom",
        "Zoom the focused pane / restore the layout",
    ),
    (
        Action::Sort,
        "sort",
        "Sort the inventory by name / worst first",
    ),
    (Action::SelectNext, "select_next", "Move the selection down"),
    (Action::SelectPrev, "select_prev", "Move the selection up"),
    (
        Action::SelectFirst,
        "select_first",
        "Jump to the first entry",
    ),
    (Action::SelectLast, "select_last", "Jump to the last entry"),
    (Action::PageDown, "page_down", "Scroll one page down"),
    (Action::PageUp, "page_up", "Scroll one page up"),
    (
        Action::StartFilter,
        "filter",
        "Filter the focused list: the inventory, the findings, else the logs (highlighting matches)",
    ),
    (Action::ClearFilter, "clear_filter", "Clear the log filter"),
    (
        Action::NextMatch,
        "next_match",
        "Jump to the next filter match",
    ),
    (
        Action::PrevMatch,
        "prev_match",
        "Jump to the previous filter match",
    ),
    (
        Action::ToggleFollow,
        "toggle_follow",
        "Follow new log lines / pause",
    ),
    (
        Action::FocusChat,
        "chat",
        "Ask the AI about the selected instance",
    ),
    (
        Action::Reconnect,
        "reconnect",
        "Reconnect the selected instance now",
    ),
    (Action::Close, "close", "Close the overlay or input"),
    (Action::Submit, "submit", "Accept the input"),
    (
        Action::Complete,
        "complete",
        "Complete the command or its argument",
    ),
    (
        Action::Newline,
        "newline",
        "Insert a newline in the chat editor",
    ),
    (
        Action::Regenerate,
        "regenerate",
        "Ask the last question again",
    ),
    (
        Action::Contexts,
        "contexts",
        "Pick the Kubernetes context (repairs are pinned to it)",
    ),
    (
        Action::SortPodsByName,
        "sort_name",
        "Pods: sort by name (again: reverse)",
    ),
    (
        Action::SortPodsByStatus,
        "sort_status",
        "Pods: sort by status, troubled first (again: reverse)",
    ),
    (
        Action::SortPodsByRestarts,
        "sort_restarts",
        "Pods: sort by restarts, most first (again: reverse)",
    ),
    (
        Action::SortPodsByAge,
        "sort_age",
        "Pods: sort by age, oldest first (again: reverse)",
    ),
    (
        Action::SortPodsByCpu,
        "sort_cpu",
        "Pods: sort by CPU, busiest first (again: reverse)",
    ),
    (
        Action::SortPodsByMemory,
        "sort_memory",
        "Pods: sort by memory, largest first (again: reverse)",
    ),
    (
        Action::Fleet,
        "fleet",
        "Every finding of the instances shown, worst first (type to filter)",
    ),
    (
        Action::Pods,
        "pods",
        "Show the pods of the current context (type to filter)",
    ),
    (
        Action::ShowSent,
        "sent",
        "Show exactly what was last sent to the model",
    ),
    (
        Action::Export,
        "export",
        "Write an incident report (Markdown) of the selected instance; `export PATH` chooses the file",
    ),
    (
        Action::Repair,
        "repair",
        "Repair the selected finding step by step",
    ),
    (
        Action::ApplyPlan,
        "apply_plan",
        "Walk the repair plan the AI proposed last, step by step",
    ),
    (Action::RepairConfirm, "confirm", "Apply the step on screen"),
    (Action::RepairSkip, "skip", "Skip the step on screen"),
    (
        Action::RepairRollback,
        "rollback",
        "Roll the step on screen back",
    ),
    (
        Action::ToggleRollback,
        "show_rollback",
        "Show or hide the rollback commands",
    ),
];

impl Action {
    /// Looks an action up by its config name.
    pub fn from_name(name: &str) -> Option<Action> {
        ACTIONS
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(a, _, _)| *a)
    }

    /// The config name.
    pub fn name(self) -> &'static str {
        ACTIONS
            .iter()
            .find(|(a, _, _)| *a == self)
            .map_or("?", |(_, n, _)| n)
    }

    /// The default description.
    pub fn description(self) -> &'static str {
        ACTIONS
            .iter()
            .find(|(a, _, _)| *a == self)
            .map_or("", |(_, _, d)| d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (action, name, _) in ACTIONS {
            assert_eq!(Action::from_name(name), Some(*action));
            assert_eq!(action.name(), *name);
        }
        assert_eq!(Action::from_name("format_disk"), None);
    }
}
