//! The command table: every `:` palette command and every chat `/` command, once. Help, the
//! palette list, Tab completion and both parsers are derived from `COMMANDS` (helix's
//! `TYPABLE_COMMAND_LIST`). Keys stay actions: the keymap maps keys to `Action`, and a
//! command that only runs an action names it (`Run::Action`), taking its name and description
//! from the action registry so the two cannot drift apart.

use crate::keymap::{ACTIONS, Action};

/// Where a command is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Typed after `:` in the command palette.
    Palette,
    /// Typed at the start of a chat message after `/`.
    Slash,
}

/// The values an argument takes, for Tab completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgValues {
    /// The command takes no argument.
    None,
    /// Free text (a path, a question): nothing to complete.
    Free,
    /// Safety modes.
    Modes,
    /// AI profile names (and `offline`).
    Profiles,
    /// Kubernetes context names.
    Contexts,
    /// Namespaces of the current context (and `all`).
    Namespaces,
    /// The `:logs` options.
    LogOptions,
}

/// What a chat slash command adds to the context sent with the question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extra {
    /// Log lines of a time window (`/logs 5m`).
    Logs,
    /// Every metric with its range.
    Metrics,
    /// Findings with their full evidence.
    Findings,
    /// The runtime configuration the collector read.
    Config,
}

/// What a command does; the reducer matches it in one place (`AppState::run_command`, and
/// the chat's `send_chat` for the slash commands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// Apply an action (no argument).
    Action(Action),
    /// Switch the safety mode.
    Mode,
    /// Switch the AI profile.
    Model,
    /// Switch the Kubernetes context (no argument: the picker).
    Context,
    /// The namespaces shown.
    Namespaces,
    /// Pod log stream options and display toggles.
    Logs,
    /// Write the incident report.
    Export,
    /// Forget this conversation.
    Clear,
    /// Copy code block N to the clipboard.
    Copy,
    /// List the slash commands.
    SlashHelp,
    /// Add context to the question that follows.
    Extra(Extra),
}

/// One command: its name, aliases, argument signature, description, where it is offered and
/// what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    /// What is typed.
    pub name: &'static str,
    /// Other names that run it.
    pub aliases: &'static [&'static str],
    /// The arguments, as help shows them (empty: none).
    pub signature: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// Where it is offered.
    pub place: Place,
    /// What its argument takes (for completion) and whether it needs one.
    pub args: ArgValues,
    /// Whether the argument must be given.
    pub required: bool,
    /// What it does.
    pub run: Run,
}

/// A palette entry that runs an action: name and description come from `ACTIONS` (a missing
/// action fails the build).
const fn action(action: Action) -> Command {
    let mut i = 0;
    while i < ACTIONS.len() {
        if ACTIONS[i].0 as u8 == action as u8 {
            return Command {
                name: ACTIONS[i].1,
                aliases: &[],
                signature: "",
                description: ACTIONS[i].2,
                place: Place::Palette,
                args: ArgValues::None,
                required: false,
                run: Run::Action(action),
            };
        }
        i += 1;
    }
    panic!("an action of the command table is missing from ACTIONS")
}

/// The same with aliases.
const fn action_aka(a: Action, aliases: &'static [&'static str]) -> Command {
    Command {
        aliases,
        ..action(a)
    }
}

/// A command with an argument.
const fn with_arg(
    place: Place,
    name: &'static str,
    signature: &'static str,
    args: ArgValues,
    required: bool,
    run: Run,
    description: &'static str,
) -> Command {
    Command {
        name,
        aliases: &[],
        signature,
        description,
        place,
        args,
        required,
        run,
    }
}

use ArgValues as A;
use Place::{Palette as P, Slash as S};

/// Every command, in palette and help order.
pub const COMMANDS: &[Command] = &[
    action_aka(Action::Quit, &["q"]),
    action_aka(Action::ToggleHelp, &["h"]),
    action(Action::OpenPalette),
    action(Action::FocusNext),
    action(Action::FocusPrev),
    action(Action::ToggleZoom),
    action(Action::SelectNext),
    action(Action::SelectPrev),
    action(Action::SelectFirst),
    action(Action::SelectLast),
    action(Action::PageDown),
    action(Action::PageUp),
    action(Action::StartFilter),
    action(Action::ClearFilter),
    action(Action::NextMatch),
    action(Action::PrevMatch),
    action(Action::ToggleFollow),
    action(Action::FocusChat),
    action(Action::Reconnect),
    action(Action::Contexts),
    action(Action::Pods),
    action(Action::Fleet),
    action(Action::ShowSent),
    with_arg(
        P,
        "export",
        "[PATH]",
        A::Free,
        false,
        Run::Export,
        "Write the incident report (Markdown) of the selected instance",
    ),
    action(Action::Repair),
    action(Action::Sort),
    action(Action::ApplyPlan),
    Command {
        aliases: &["safety"],
        ..with_arg(
            P,
            "mode",
            "read-only|suggest|confirm [REASON]",
            A::Modes,
            true,
            Run::Mode,
            "Switch the safety mode; leaving read-only needs a reason (audited)",
        )
    },
    Command {
        aliases: &["profile"],
        ..with_arg(
            P,
            "model",
            "NAME",
            A::Profiles,
            true,
            Run::Model,
            "Switch the AI profile ([ai.profiles.NAME]; `offline` for none)",
        )
    },
    Command {
        aliases: &["context"],
        ..with_arg(
            P,
            "ctx",
            "[NAME]",
            A::Contexts,
            false,
            Run::Context,
            "Switch the Kubernetes context (no name: the picker); repairs are pinned to it",
        )
    },
    Command {
        aliases: &["namespaces"],
        ..with_arg(
            P,
            "ns",
            "all|NAME [NAME…]",
            A::Namespaces,
            true,
            Run::Namespaces,
            "Show all namespaces or only these (remembered per context)",
        )
    },
    with_arg(
        P,
        "logs",
        "since 5m|tail N|previous|current|all|pod NAME|pods|container NAME|timestamps|wrap",
        A::LogOptions,
        true,
        Run::Logs,
        "Pod log streams of a discovered instance; display toggles",
    ),
    with_arg(
        S,
        "logs",
        "[30s|5m|2h] QUESTION",
        A::Free,
        false,
        Run::Extra(Extra::Logs),
        "Add the log lines of a time window (default 5m)",
    ),
    with_arg(
        S,
        "metrics",
        "QUESTION",
        A::Free,
        false,
        Run::Extra(Extra::Metrics),
        "Add every metric with its range",
    ),
    with_arg(
        S,
        "findings",
        "QUESTION",
        A::Free,
        false,
        Run::Extra(Extra::Findings),
        "Add the findings with their full evidence",
    ),
    with_arg(
        S,
        "config",
        "QUESTION",
        A::Free,
        false,
        Run::Extra(Extra::Config),
        "Add the runtime configuration the collector read",
    ),
    with_arg(
        S,
        "copy",
        "N",
        A::Free,
        true,
        Run::Copy,
        "Copy code block N to the clipboard (OSC 52)",
    ),
    with_arg(
        S,
        "clear",
        "",
        A::None,
        false,
        Run::Clear,
        "Forget this conversation",
    ),
    with_arg(
        S,
        "export",
        "",
        A::None,
        false,
        Run::Export,
        "Write the incident report of this instance",
    ),
    with_arg(
        S,
        "help",
        "",
        A::None,
        false,
        Run::SlashHelp,
        "List the chat commands",
    ),
];

/// A parsed command line: the command and the rest of the line, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// What to do.
    pub run: Run,
    /// The argument text.
    pub args: String,
}

impl Invocation {
    /// Runs an action, no argument.
    pub fn action(action: Action) -> Self {
        Invocation {
            run: Run::Action(action),
            args: String::new(),
        }
    }
}

impl Command {
    /// `name signature`, as help and the palette show it.
    pub fn usage(&self) -> String {
        if self.signature.is_empty() {
            self.name.to_string()
        } else {
            format!("{} {}", self.name, self.signature)
        }
    }

    /// Whether `word` is its name or one of its aliases.
    pub fn answers_to(&self, word: &str) -> bool {
        self.name == word || self.aliases.contains(&word)
    }

    /// Whether the command takes an argument.
    pub fn takes_args(&self) -> bool {
        self.args != ArgValues::None
    }

    /// The prefix typed before the name (`:` or `/`).
    pub fn sigil(&self) -> char {
        match self.place {
            Place::Palette => ':',
            Place::Slash => '/',
        }
    }
}

/// The commands offered in `place`.
pub fn offered(place: Place) -> impl Iterator<Item = &'static Command> {
    COMMANDS.iter().filter(move |c| c.place == place)
}

/// The command of `place` answering to `word` (name or alias).
pub fn find(place: Place, word: &str) -> Option<&'static Command> {
    offered(place).find(|c| c.answers_to(word))
}

/// Parses `NAME [ARGS]` typed in `place`; an error names what was typed.
pub fn parse(place: Place, line: &str) -> Result<Invocation, String> {
    let line = line.trim();
    let (word, args) = line.split_once(' ').unwrap_or((line, ""));
    let Some(command) = find(place, word) else {
        let sigil = match place {
            Place::Palette => ':',
            Place::Slash => '/',
        };
        return Err(format!("{sigil}{word}: no such command"));
    };
    let args = args.trim();
    if command.required && args.is_empty() {
        return Err(format!(
            "{}{}: needs {}",
            command.sigil(),
            command.name,
            command.signature
        ));
    }
    if !command.takes_args() && !args.is_empty() {
        return Err(format!(
            "{}{}: takes no argument",
            command.sigil(),
            command.name
        ));
    }
    Ok(Invocation {
        run: command.run,
        args: args.to_string(),
    })
}

/// The palette list for what is typed: before a space, the commands whose name, alias or
/// description contains it; after one, the command being given its argument.
pub fn palette_entries(query: &str) -> Vec<&'static Command> {
    let q = query.trim_start().to_lowercase();
    if let Some((word, _)) = q.split_once(' ') {
        return offered(Place::Palette)
            .filter(|c| c.answers_to(word))
            .collect();
    }
    offered(Place::Palette)
        .filter(|c| {
            q.is_empty()
                || c.name.contains(&q)
                || c.aliases.iter().any(|a| a.contains(&q))
                || c.description.to_lowercase().contains(&q)
        })
        .collect()
}

/// Tab in the palette: the query with the command name, or the last argument word, completed
/// from `values` (the argument candidates the app knows). `None` when there is nothing to add.
pub fn complete(query: &str, values: impl Fn(ArgValues) -> Vec<String>) -> Option<String> {
    let Some((word, rest)) = query.split_once(' ') else {
        let names: Vec<String> = offered(Place::Palette)
            .flat_map(|c| std::iter::once(c.name).chain(c.aliases.iter().copied()))
            .filter(|n| n.starts_with(query))
            .map(str::to_string)
            .collect();
        return extend(query, "", &names, |name| {
            find(Place::Palette, name).is_some_and(Command::takes_args)
        });
    };
    let command = find(Place::Palette, word)?;
    let head_len = query.len() - rest.len();
    let (done, partial) = match rest.rfind(' ') {
        Some(i) => rest.split_at(i + 1),
        None => ("", rest),
    };
    let candidates: Vec<String> = values(command.args)
        .into_iter()
        .filter(|v| v.starts_with(partial))
        .collect();
    let prefix = format!("{}{done}", &query[..head_len]);
    extend(&format!("{prefix}{partial}"), &prefix, &candidates, |_| {
        true
    })
}

/// Completes `typed` (= `prefix` + a partial word) from `candidates`: the only one (followed by
/// a space when `space_after` says so), else their longest common prefix when it adds text.
fn extend(
    typed: &str,
    prefix: &str,
    candidates: &[String],
    space_after: impl Fn(&str) -> bool,
) -> Option<String> {
    let out = match candidates {
        [] => return None,
        [one] => {
            let space = if space_after(one) { " " } else { "" };
            format!("{prefix}{one}{space}")
        }
        [first, rest @ ..] => {
            let common = rest.iter().fold(first.clone(), |acc, c| {
                acc.chars()
                    .zip(c.chars())
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a)
                    .collect()
            });
            format!("{prefix}{common}")
        }
    };
    (out != typed).then_some(out)
}

/// Every command of `place` as `(usage, description)`, for the help overlay and `/help`.
pub fn help_rows(place: Place) -> impl Iterator<Item = (String, &'static str)> {
    offered(place).map(|c| {
        let aliases = if c.aliases.is_empty() {
            String::new()
        } else {
            format!(" (also {})", c.aliases.join(", "))
        };
        (
            format!("{}{}{aliases}", c.sigil(), c.usage()),
            c.description,
        )
    })
}

#[cfg(test)]
mod tests;
