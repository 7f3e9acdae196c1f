//! The chat: per-instance conversations, the editor, slash commands, the streaming answer,
//! the token/cost meter and the last payload sent (`:sent`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::command::{self, Extra, Place, Run};
use super::effect::{AskEffect, Effect, FileEffect};
use super::state::AppState;
use crate::ai::agent::ChatEvent;
use crate::ai::context::ContextExtras;
use crate::ai::plan::{ProposedPlan, fenced_blocks};
use crate::config::AiConfig;

/// Who said a chat line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatRole {
    User,
    /// The model's answer (streamed).
    Assistant,
    /// A tool call the model made.
    Tool,
    /// The program itself: retries, trims, cancellations, help.
    Notice,
    /// A failure of the model.
    Error,
    /// The rule engine's offline analysis.
    Offline,
    /// A repair plan the model proposed (structured, in `ChatMessage::plan`).
    Plan,
}

/// One chat message. Its text only ever grows (streaming) after it is pushed, which lets the
/// chat pane render it incrementally; `id` tells the pane's cache when a message was replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    #[serde(skip, default = "next_message_id")]
    pub id: u64,
    pub role: ChatRole,
    pub text: String,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<ProposedPlan>,
}

fn next_message_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl ChatMessage {
    /// A message, stamped now.
    pub fn new(role: ChatRole, text: impl Into<String>) -> Self {
        ChatMessage {
            id: next_message_id(),
            role,
            text: text.into(),
            at: Utc::now(),
            plan: None,
        }
    }

    /// The message of a proposed plan.
    pub fn plan(plan: ProposedPlan) -> Self {
        let mut m = ChatMessage::new(ChatRole::Plan, plan.describe());
        m.plan = Some(plan);
        m
    }
}

/// Tokens and cost of this session.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChatMeter {
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
}

/// Chat state shared by every instance's conversation.
pub struct ChatState {
    pub editor: TextArea<'static>,
    /// The instance whose question is being answered.
    pub generating: Option<usize>,
    /// Questions typed this session, for Up-recall.
    pub inputs: Vec<String>,
    recall: Option<usize>,
    pub meter: ChatMeter,
    /// The exact redacted payload that last went out.
    pub last_sent: Option<String>,
    /// The active model profile; `None` = offline analysis.
    pub profile: Option<String>,
    /// Defined profiles.
    pub profiles: Vec<String>,
    prices: HashMap<String, (f64, f64)>,
    budget_usd: f64,
}

/// The chat keys and palette commands `/help` mentions after the slash commands.
const CHAT_KEYS_HELP: &str = "Keys: Enter send, Alt-Enter newline, Up recall, Esc cancel, \
Ctrl-R regenerate. Palette: `:sent` shows the last payload, `:model NAME` switches profile.";

/// The `/help` text: every slash command of the command table, then the keys.
pub fn slash_help() -> String {
    let commands: Vec<String> = command::help_rows(Place::Slash)
        .map(|(usage, description)| format!("{usage} — {description}"))
        .collect();
    format!("{} · {CHAT_KEYS_HELP}", commands.join(" · "))
}

fn new_editor() -> TextArea<'static> {
    let mut editor = TextArea::default();
    editor.set_placeholder_text("Ask about the selected instance…  (/help)");
    editor
}

impl ChatState {
    /// The chat for an AI configuration.
    pub fn new(ai: &AiConfig) -> Self {
        ChatState {
            editor: new_editor(),
            generating: None,
            inputs: Vec::new(),
            recall: None,
            meter: ChatMeter::default(),
            last_sent: None,
            profile: ai.active().map(|(n, _)| n.to_string()),
            profiles: ai.profiles.keys().cloned().collect(),
            prices: ai
                .profiles
                .iter()
                .map(|(n, p)| {
                    (
                        n.clone(),
                        (
                            p.price_input_per_mtok.unwrap_or(0.0),
                            p.price_output_per_mtok.unwrap_or(0.0),
                        ),
                    )
                })
                .collect(),
            budget_usd: ai.session_budget_usd,
        }
    }

    fn add_usage(&mut self, input: u64, output: u64) {
        // Usage numbers come from the provider's stream: saturate, never overflow.
        self.meter.tokens_in = self.meter.tokens_in.saturating_add(input);
        self.meter.tokens_out = self.meter.tokens_out.saturating_add(output);
        if let Some((pin, pout)) = self.profile.as_ref().and_then(|p| self.prices.get(p)) {
            self.meter.cost_usd += (input as f64 * pin + output as f64 * pout) / 1e6;
        }
    }

    /// Whether the session budget is spent.
    pub fn over_budget(&self) -> bool {
        self.budget_usd > 0.0 && self.meter.cost_usd >= self.budget_usd
    }
}

/// Splits leading slash commands that add context (`/logs 5m`, `/metrics` …, per the command
/// table) off a question.
pub fn parse_slash(text: &str) -> (ContextExtras, String) {
    let mut extras = ContextExtras::default();
    let mut rest = text.trim();
    while let Some(line) = rest.strip_prefix('/') {
        let (word, after) = line.split_once(' ').unwrap_or((line, ""));
        let Some(Run::Extra(extra)) = command::find(Place::Slash, word).map(|c| c.run) else {
            break;
        };
        let after = after.trim_start();
        rest = after;
        match extra {
            Extra::Metrics => extras.all_metrics = true,
            Extra::Config => extras.config = true,
            Extra::Findings => extras.full_findings = true,
            Extra::Logs => {
                let (window, question) = after.split_once(' ').unwrap_or((after, ""));
                let secs = parse_window(window);
                extras.logs_since_secs = secs.or(Some(300));
                if secs.is_some() {
                    rest = question.trim_start();
                }
            }
        }
    }
    (extras, rest.to_string())
}

/// `30s`, `5m`, `2h` → seconds.
fn parse_window(text: &str) -> Option<u64> {
    let (num, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = num.parse().ok()?;
    match unit {
        "s" => Some(n),
        "m" => Some(n * 60),
        "h" => Some(n * 3600),
        _ => None,
    }
}

impl AppState {
    /// Sends what the editor holds (or runs its slash command).
    pub(super) fn send_chat(&mut self) -> Vec<Effect> {
        let text = self.chat.editor.lines().join("\n");
        let text = text.trim().to_string();
        if text.is_empty() {
            return Vec::new();
        }
        self.chat.editor = new_editor();
        self.chat.inputs.push(text.clone());
        self.chat.recall = None;
        let instance = self.selected;
        let Some(view) = self.instances.get_mut(instance) else {
            return Vec::new();
        };
        if let Some(line) = text.strip_prefix('/') {
            let word = line.split(' ').next().unwrap_or_default();
            let known = command::find(Place::Slash, word).map(|c| c.run);
            let looks_like_command = !word.is_empty() && word.chars().all(|c| c.is_alphabetic());
            match known {
                // Context for the question: asked below.
                Some(Run::Extra(_)) => {}
                Some(_) => return self.run_slash(instance, &text),
                None if looks_like_command => {
                    view.chat.push(ChatMessage::new(
                        ChatRole::Notice,
                        format!("/{word}: no such command (/help lists them)"),
                    ));
                    return Vec::new();
                }
                // A path or the like: part of the question.
                None => {}
            }
        }
        if self.chat.generating.is_some() {
            view.chat.push(ChatMessage::new(
                ChatRole::Notice,
                "an answer is still streaming: Esc cancels it",
            ));
            return Vec::new();
        }
        if self.chat.over_budget() {
            view.chat.push(ChatMessage::new(
                ChatRole::Notice,
                format!(
                    "the session budget (${:.2}) is spent; no further requests",
                    self.chat.budget_usd
                ),
            ));
            return Vec::new();
        }
        let (extras, question) = parse_slash(&text);
        let question = if question.is_empty() {
            "Summarise what this data says about the instance.".to_string()
        } else {
            question
        };
        view.chat.push(ChatMessage::new(ChatRole::User, text));
        self.chat.generating = Some(instance);
        vec![Effect::Ask(AskEffect::Question {
            instance,
            question,
            extras,
        })]
    }

    /// A chat command that is not a question (`/clear`, `/copy N`, `/export`, `/help`).
    fn run_slash(&mut self, instance: usize, text: &str) -> Vec<Effect> {
        let Some(view) = self.instances.get_mut(instance) else {
            return Vec::new();
        };
        let invocation = match command::parse(Place::Slash, text.trim_start_matches('/')) {
            Ok(i) => i,
            Err(e) => {
                view.chat.push(ChatMessage::new(ChatRole::Notice, e));
                return Vec::new();
            }
        };
        match invocation.run {
            Run::Clear => {
                view.chat.clear();
                view.chat_scroll = None;
                vec![Effect::Files(FileEffect::SaveChat(instance))]
            }
            Run::Export => vec![Effect::Files(FileEffect::Export {
                instance,
                path: None,
            })],
            Run::SlashHelp => {
                view.chat
                    .push(ChatMessage::new(ChatRole::Notice, slash_help()));
                Vec::new()
            }
            Run::Copy => {
                let blocks: Vec<String> = view
                    .chat
                    .iter()
                    .flat_map(|m| fenced_blocks(&m.text))
                    .collect();
                let n = invocation.args;
                let code = n
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| blocks.get(n.checked_sub(1)?).cloned());
                let (note, effects) = match code {
                    Some(code) => (
                        format!("copied code block {n} to the clipboard (OSC 52)"),
                        vec![Effect::Copy(code)],
                    ),
                    None => (
                        format!("no code block {n}: there are {}", blocks.len()),
                        Vec::new(),
                    ),
                };
                view.chat.push(ChatMessage::new(ChatRole::Notice, note));
                effects
            }
            // The palette's commands are not offered in the chat.
            _ => Vec::new(),
        }
    }

    /// Asks the last question again, dropping its answer.
    pub(super) fn regenerate(&mut self) -> Vec<Effect> {
        if self.chat.generating.is_some() {
            return Vec::new();
        }
        let instance = self.selected;
        let Some(view) = self.instances.get_mut(instance) else {
            return Vec::new();
        };
        let Some(pos) = view.chat.iter().rposition(|m| m.role == ChatRole::User) else {
            return Vec::new();
        };
        let text = view.chat[pos].text.clone();
        view.chat.truncate(pos + 1);
        let (extras, question) = parse_slash(&text);
        self.chat.generating = Some(instance);
        vec![Effect::Ask(AskEffect::Question {
            instance,
            question,
            extras,
        })]
    }

    /// Cancels the answer in progress; the runtime drops its request.
    pub(super) fn cancel_answer(&mut self) -> Vec<Effect> {
        let Some(instance) = self.chat.generating.take() else {
            return Vec::new();
        };
        if let Some(view) = self.instances.get_mut(instance) {
            view.chat
                .push(ChatMessage::new(ChatRole::Notice, "cancelled"));
        }
        vec![
            Effect::Ask(AskEffect::Cancel),
            Effect::Files(FileEffect::SaveChat(instance)),
        ]
    }

    /// Folds a chat event of `instance` in; a finished answer saves the conversation.
    pub(super) fn apply_chat_event(&mut self, instance: usize, event: ChatEvent) -> Vec<Effect> {
        if self.chat.generating != Some(instance) && !matches!(event, ChatEvent::Usage { .. }) {
            return Vec::new(); // a late event of a cancelled answer
        }
        let effects = if event == ChatEvent::Done {
            vec![Effect::Files(FileEffect::SaveChat(instance))]
        } else {
            Vec::new()
        };
        match &event {
            ChatEvent::Usage { input, output } => self.chat.add_usage(*input, *output),
            ChatEvent::Sent(body) => self.chat.last_sent = Some(body.clone()),
            ChatEvent::Done => self.chat.generating = None,
            _ => {}
        }
        let Some(view) = self.instances.get_mut(instance) else {
            return effects;
        };
        match event {
            ChatEvent::Token(t) => match view.chat.last_mut() {
                Some(m) if m.role == ChatRole::Assistant => m.text.push_str(&t),
                _ => view.chat.push(ChatMessage::new(ChatRole::Assistant, t)),
            },
            ChatEvent::ToolCall {
                name,
                arguments,
                result_bytes,
                ok,
            } => view.chat.push(ChatMessage::new(
                ChatRole::Tool,
                format!(
                    "{name} {arguments} → {}{}",
                    crate::model::Unit::Bytes.format(result_bytes as f64),
                    if ok { "" } else { " (failed)" }
                ),
            )),
            ChatEvent::Notice(n) => view.chat.push(ChatMessage::new(ChatRole::Notice, n)),
            ChatEvent::Error(e) => view.chat.push(ChatMessage::new(ChatRole::Error, e)),
            ChatEvent::Offline(text) => view.chat.push(ChatMessage::new(ChatRole::Offline, text)),
            ChatEvent::Plan(plan) => view.chat.push(ChatMessage::plan(plan)),
            ChatEvent::Usage { .. } | ChatEvent::Sent(_) | ChatEvent::Done => {}
        }
        effects
    }

    /// Up on an empty editor recalls earlier questions.
    pub(super) fn recall_input(&mut self, key: &KeyEvent) -> bool {
        let empty =
            self.chat.editor.lines().iter().all(|l| l.is_empty()) || self.chat.recall.is_some();
        if key.code != KeyCode::Up || !empty || self.chat.inputs.is_empty() {
            return false;
        }
        let pos = match self.chat.recall {
            Some(p) => p.saturating_sub(1),
            None => self.chat.inputs.len() - 1,
        };
        self.chat.recall = Some(pos);
        let mut editor = TextArea::from(
            self.chat.inputs[pos]
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>(),
        );
        editor.move_cursor(ratatui_textarea::CursorMove::End);
        self.chat.editor = editor;
        true
    }

    /// `:model NAME` from the palette.
    pub(super) fn switch_model(&mut self, name: &str) {
        let msg = if name == "offline" || name == "none" {
            self.chat.profile = None;
            "model: none — questions get the offline analysis".to_string()
        } else if self.chat.profiles.iter().any(|p| p == name) {
            self.chat.profile = Some(name.to_string());
            format!("model profile: {name}")
        } else {
            format!(
                "no profile `{name}` (defined: {})",
                if self.chat.profiles.is_empty() {
                    "none".into()
                } else {
                    self.chat.profiles.join(", ")
                }
            )
        };
        if let Some(view) = self.instances.get_mut(self.selected) {
            view.chat.push(ChatMessage::new(ChatRole::Notice, msg));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_commands_become_context_extras() {
        let (e, q) = parse_slash("/logs 5m why errors?");
        assert_eq!(e.logs_since_secs, Some(300));
        assert_eq!(q, "why errors?");
        let (e, q) = parse_slash("/metrics /findings what now");
        assert!(e.all_metrics && e.full_findings);
        assert_eq!(q, "what now");
        let (e, q) = parse_slash("/logs what happened");
        assert_eq!(e.logs_since_secs, Some(300), "default window");
        assert_eq!(q, "what happened");
        assert_eq!(parse_slash("plain").1, "plain");
        let (e, q) = parse_slash("/config is maxmemory sane?");
        assert!(e.config && !e.all_metrics);
        assert_eq!(q, "is maxmemory sane?");
        assert_eq!(parse_window("2h"), Some(7200));
    }

    #[test]
    fn code_blocks_are_numbered_in_order() {
        let text = "a\n```sh\nredis-cli INFO\n```\nb\n```\nCONFIG GET maxmemory\n```\n";
        assert_eq!(
            fenced_blocks(text),
            ["redis-cli INFO\n", "CONFIG GET maxmemory\n"]
        );
    }

    fn send(state: &mut AppState, text: &str) -> Vec<Effect> {
        state.chat.editor.insert_str(text);
        state.send_chat()
    }

    fn last_notice(state: &AppState) -> String {
        state.instances[0]
            .chat
            .last()
            .map(|m| m.text.clone())
            .unwrap_or_default()
    }

    #[test]
    fn chat_commands_come_from_the_table() {
        use crate::app::test_state::test_state;
        let mut state = test_state();
        assert!(send(&mut state, "/help").is_empty());
        let help = last_notice(&state);
        for c in command::offered(Place::Slash) {
            assert!(help.contains(&format!("/{}", c.usage())), "{help}");
        }
        assert!(send(&mut state, "/frobnicate now").is_empty());
        assert!(last_notice(&state).contains("/frobnicate: no such command"));
        assert!(send(&mut state, "/copy").is_empty());
        assert!(last_notice(&state).contains("/copy: needs N"));
        assert!(send(&mut state, "/copy 9").is_empty());
        assert!(last_notice(&state).contains("no code block 9"));
        assert_eq!(
            send(&mut state, "/export"),
            [Effect::Files(FileEffect::Export {
                instance: 0,
                path: None
            })]
        );
        // A path is part of the question, and context commands lead into it.
        let effects = send(&mut state, "/var/log is full?");
        assert!(
            matches!(&effects[..], [Effect::Ask(AskEffect::Question { question, .. })] if question == "/var/log is full?"),
            "{effects:?}"
        );
        state.chat.generating = None;
        let effects = send(&mut state, "/metrics /logs 2h why?");
        assert!(
            matches!(&effects[..], [Effect::Ask(AskEffect::Question { question, extras, .. })]
                if question == "why?" && extras.all_metrics
                    && extras.logs_since_secs == Some(7200)),
            "{effects:?}"
        );
        assert_eq!(
            send(&mut state, "/clear"),
            [Effect::Files(FileEffect::SaveChat(0))]
        );
        assert!(state.instances[0].chat.is_empty());
    }
}
