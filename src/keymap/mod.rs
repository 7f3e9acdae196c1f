//! The keymap registry: section → key → named action with a description.
//!
//! `keymaps/default.toml` is embedded; a user's `keymap.toml` overlays it (rebinding keys, or
//! unbinding them with `"none"`). Help and the command palette are generated from here, so
//! what the screen says is what the keys do.

mod action;
mod key;

pub use action::{ACTIONS, Action};
pub use key::KeyChord;

use std::path::Path;

/// The built-in keymap file.
pub const DEFAULT_KEYMAP: &str = include_str!("../../keymaps/default.toml");

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// Every pane in normal mode (pane sections take precedence).
    Global,
    Inventory,
    Metrics,
    Findings,
    Logs,
    Chat,
    /// The help overlay.
    Help,
    /// The command palette.
    Palette,
    /// The pods picker (`P`); unbound keys type its filter.
    Pods,
    /// The Kubernetes context picker (`C`).
    Contexts,
    /// The fleet findings view (`F`); unbound keys type its filter.
    Fleet,
    /// A text input line (log filter, chat editor).
    Input,
    /// The repair modal.
    Repair,
}

/// Sections in file and help order.
pub const SECTIONS: [(Section, &str); 13] = [
    (Section::Global, "global"),
    (Section::Inventory, "inventory"),
    (Section::Metrics, "metrics"),
    (Section::Findings, "findings"),
    (Section::Logs, "logs"),
    (Section::Chat, "chat"),
    (Section::Help, "help"),
    (Section::Palette, "palette"),
    (Section::Pods, "pods"),
    (Section::Contexts, "contexts"),
    (Section::Fleet, "fleet"),
    (Section::Input, "input"),
    (Section::Repair, "repair"),
];

impl Section {
    /// The section's name in keymap files.
    pub fn name(self) -> &'static str {
        SECTIONS
            .iter()
            .find(|(s, _)| *s == self)
            .map_or("?", |(_, n)| n)
    }
}

/// One key binding.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub key: KeyChord,
    pub action: Action,
    pub description: String,
}

/// All bindings, per section, in file order.
#[derive(Debug, Clone)]
pub struct Keymap {
    sections: Vec<(Section, Vec<Binding>)>,
}

impl Keymap {
    /// The built-in keymap. The embedded file is checked by a unit test, so it parses.
    pub fn builtin() -> Self {
        let mut map = Keymap {
            sections: SECTIONS.iter().map(|(s, _)| (*s, Vec::new())).collect(),
        };
        if let Err(e) = map.overlay(DEFAULT_KEYMAP) {
            tracing::error!("built-in keymap is broken: {e}");
        }
        map
    }

    /// The built-in keymap overlaid with a user file when present. A broken user file leaves
    /// the built-in keymap in force and returns the error to show on screen.
    pub fn load(user_file: &Path) -> (Self, Option<String>) {
        let map = Keymap::builtin();
        let text = match std::fs::read_to_string(user_file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (map, None),
            Err(e) => {
                return (
                    map,
                    Some(format!(
                        "{}: {e}; built-in keys in force",
                        user_file.display()
                    )),
                );
            }
        };
        let mut candidate = map.clone();
        match candidate.overlay(&text) {
            Ok(()) => (candidate, None),
            Err(e) => {
                let msg = format!("{}: {e}; built-in keys in force", user_file.display());
                (map, Some(msg))
            }
        }
    }

    /// Applies a keymap file on top of this one; on error nothing is guaranteed about `self`
    /// (callers overlay a clone).
    pub fn overlay(&mut self, text: &str) -> Result<(), String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        for (section_name, entries) in table {
            let section = SECTIONS
                .iter()
                .find(|(_, n)| *n == section_name)
                .map(|(s, _)| *s)
                .ok_or_else(|| {
                    format!(
                        "unknown section [{section_name}] (known: {})",
                        SECTIONS.map(|(_, n)| n).join(", ")
                    )
                })?;
            let toml::Value::Table(entries) = entries else {
                return Err(format!("[{section_name}] must be a table of key = action"));
            };
            for (key_text, value) in entries {
                let key =
                    KeyChord::parse(&key_text).map_err(|e| format!("[{section_name}] {e}"))?;
                let (action_name, description) = match &value {
                    toml::Value::String(s) => (s.clone(), None),
                    toml::Value::Table(t) => {
                        let action =
                            t.get("action")
                                .and_then(toml::Value::as_str)
                                .ok_or_else(|| {
                                    format!("[{section_name}] \"{key_text}\": missing `action`")
                                })?;
                        let desc = t
                            .get("description")
                            .and_then(toml::Value::as_str)
                            .map(str::to_string);
                        (action.to_string(), desc)
                    }
                    _ => {
                        return Err(format!(
                            "[{section_name}] \"{key_text}\": expected an action name or {{ action = …, description = … }}"
                        ));
                    }
                };
                let bindings = self.section_mut(section);
                bindings.retain(|b| b.key != key);
                if action_name == "none" {
                    continue; // unbound
                }
                let action = Action::from_name(&action_name).ok_or_else(|| {
                    format!("[{section_name}] \"{key_text}\": unknown action `{action_name}`")
                })?;
                bindings.push(Binding {
                    key,
                    action,
                    description: description.unwrap_or_else(|| action.description().to_string()),
                });
            }
        }
        Ok(())
    }

    fn section_mut(&mut self, section: Section) -> &mut Vec<Binding> {
        if let Some(i) = self.sections.iter().position(|(s, _)| *s == section) {
            &mut self.sections[i].1
        } else {
            self.sections.push((section, Vec::new()));
            let last = self.sections.len() - 1;
            &mut self.sections[last].1
        }
    }

    /// Bindings of one section.
    pub fn bindings(&self, section: Section) -> &[Binding] {
        self.sections
            .iter()
            .find(|(s, _)| *s == section)
            .map_or(&[], |(_, b)| b.as_slice())
    }

    /// The action bound to `key` in `section`.
    pub fn lookup(&self, section: Section, key: &KeyChord) -> Option<Action> {
        self.bindings(section)
            .iter()
            .find(|b| b.key == *key)
            .map(|b| b.action)
    }

    /// The first key bound to `action` in any of `sections`, for hints.
    pub fn key_for(&self, action: Action, sections: &[Section]) -> Option<KeyChord> {
        sections
            .iter()
            .flat_map(|s| self.bindings(*s))
            .find(|b| b.action == action)
            .map(|b| b.key)
    }

    /// Sections with their bindings, in display order.
    pub fn sections(&self) -> impl Iterator<Item = (Section, &[Binding])> {
        self.sections.iter().map(|(s, b)| (*s, b.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chord(s: &str) -> KeyChord {
        KeyChord::parse(s).unwrap()
    }

    #[test]
    fn the_builtin_keymap_parses_and_binds_the_basics() {
        let mut map = Keymap {
            sections: Vec::new(),
        };
        map.overlay(DEFAULT_KEYMAP).expect("embedded keymap parses");
        let cases = [
            (Section::Global, "q", Action::Quit),
            (Section::Global, "?", Action::ToggleHelp),
            (Section::Global, ":", Action::OpenPalette),
            (Section::Global, "tab", Action::FocusNext),
            (Section::Global, "shift-tab", Action::FocusPrev),
            (Section::Logs, "/", Action::StartFilter),
            (Section::Logs, "n", Action::NextMatch),
            (Section::Logs, "N", Action::PrevMatch),
        ];
        for (section, key, action) in cases {
            assert_eq!(map.lookup(section, &chord(key)), Some(action), "{key}");
        }
    }

    #[test]
    fn no_destructive_action_sits_on_ctrl_d_k_a() {
        let map = Keymap::builtin();
        for (_, bindings) in map.sections() {
            for b in bindings {
                for k in ["ctrl-d", "ctrl-k", "ctrl-a"] {
                    assert!(b.key != chord(k) || b.action != Action::Quit, "{k}");
                }
            }
        }
    }

    #[test]
    fn a_user_overlay_rebinds_and_unbinds() {
        let mut map = Keymap::builtin();
        map.overlay("[global]\nq = \"none\"\nx = { action = \"quit\", description = \"Leave\" }\n")
            .unwrap();
        assert_eq!(map.lookup(Section::Global, &chord("q")), None);
        assert_eq!(map.lookup(Section::Global, &chord("x")), Some(Action::Quit));
        let b = map
            .bindings(Section::Global)
            .iter()
            .find(|b| b.key == chord("x"))
            .unwrap();
        assert_eq!(b.description, "Leave");
    }

    #[test]
    fn a_broken_user_file_keeps_the_defaults_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keymap.toml");
        for (text, needle) in [
            (
                "[global]\nq = \"format_disk\"\n",
                "unknown action `format_disk`",
            ),
            ("[global\n", "keymap.toml"),
            ("[nowhere]\nq = \"quit\"\n", "unknown section [nowhere]"),
            ("[global]\n\"hyper-q\" = \"quit\"\n", "unknown key"),
        ] {
            std::fs::write(&path, text).unwrap();
            let (map, err) = Keymap::load(&path);
            let err = err.expect("error reported");
            assert!(err.contains(needle), "{err}");
            assert!(err.contains("built-in keys in force"));
            assert_eq!(map.lookup(Section::Global, &chord("q")), Some(Action::Quit));
        }
    }

    #[test]
    fn the_pickers_have_their_own_sections_with_the_palette_keys() {
        let map = Keymap::builtin();
        for key in ["esc", "enter", "down", "up", "tab"] {
            for section in [Section::Pods, Section::Contexts, Section::Fleet] {
                let expected = match map.lookup(Section::Palette, &chord(key)) {
                    Some(Action::Complete) => Some(Action::SelectNext),
                    other => other,
                };
                assert_eq!(map.lookup(section, &chord(key)), expected, "{key}");
            }
        }
        // A keymap file of before the picker sections still loads, and a new one can use them.
        let mut map = Keymap::builtin();
        map.overlay("[palette]\n\"ctrl-n\" = \"select_next\"\n")
            .unwrap();
        map.overlay("[pods]\n\"ctrl-n\" = \"select_next\"\n[contexts]\nq = \"close\"\n")
            .unwrap();
        assert_eq!(
            map.lookup(Section::Contexts, &chord("q")),
            Some(Action::Close)
        );
    }
}
