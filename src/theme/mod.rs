//! Themes: semantic colour slots loaded from `themes/*.toml`, overlaid by the user's files.

use std::path::Path;

use ratatui::style::Color;
use serde::Deserialize;

/// The syntect themes a KubeStack-AI theme may name as `code_theme` (`none` = no highlighting).
pub const CODE_THEMES: &[&str] = &[
    "none",
    "base16-ocean.dark",
    "base16-eighties.dark",
    "base16-mocha.dark",
    "base16-ocean.light",
    "InspiredGitHub",
    "Solarized (dark)",
    "Solarized (light)",
];

/// Built-in themes, embedded from the repository's `themes/` directory.
pub const BUILTIN_THEMES: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// Colours by meaning; panes never name raw colours.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub background: Color,
    pub foreground: Color,
    pub muted: Color,
    pub border: Color,
    pub border_focused: Color,
    pub title: Color,
    pub selection_bg: Color,
    pub selection_fg: Color,
    pub accent: Color,
    pub critical: Color,
    pub warning: Color,
    pub info: Color,
    pub ok: Color,
    pub down: Color,
    pub unknown: Color,
    pub match_bg: Color,
    pub match_fg: Color,
    pub status_bg: Color,
    pub status_fg: Color,
    pub mode_bg: Color,
    pub mode_fg: Color,
    pub sparkline: Color,
    pub user_message: Color,
    pub notice_error: Color,
    /// Production (read-only) Kubernetes contexts in the inventory and the status bar.
    pub production: Color,
    /// The syntect theme of fenced code in chat answers (`none`: one plain code colour).
    pub code_theme: String,
    /// No colours at all (`NO_COLOR`): the frame is drawn, then its colours are taken out and
    /// what stood out by colour is shown reversed or bold.
    pub monochrome: bool,
}

/// A theme file: every slot optional so that user files can override a few.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    code_theme: Option<String>,
    #[serde(default)]
    colors: ThemeColors,
}

macro_rules! theme_slots {
    ($($slot:ident),* $(,)?) => {
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct ThemeColors {
            $( #[serde(default)] $slot: Option<String>, )*
        }

        impl Theme {
            fn apply(&mut self, file: ThemeFile) -> Result<(), String> {
                if let Some(name) = file.name {
                    self.name = name;
                }
                if let Some(code) = file.code_theme {
                    if !CODE_THEMES.contains(&code.as_str()) {
                        return Err(format!(
                            "code_theme: `{code}` is not a code theme (one of: {})",
                            CODE_THEMES.join(", ")
                        ));
                    }
                    self.code_theme = code;
                }
                $(
                    if let Some(text) = file.colors.$slot {
                        self.$slot = text.parse::<Color>().map_err(|_| {
                            format!("colors.{}: `{}` is not a colour (a name, #rrggbb or 0–255)", stringify!($slot), text)
                        })?;
                    }
                )*
                Ok(())
            }
        }
    };
}

theme_slots!(
    background,
    foreground,
    muted,
    border,
    border_focused,
    title,
    selection_bg,
    selection_fg,
    accent,
    critical,
    warning,
    info,
    ok,
    down,
    unknown,
    match_bg,
    match_fg,
    status_bg,
    status_fg,
    mode_bg,
    mode_fg,
    sparkline,
    user_message,
    notice_error,
    production,
);

impl Default for Theme {
    /// The last-resort palette; the embedded `dark.toml` is applied on top of it.
    fn default() -> Self {
        Theme {
            name: "fallback".into(),
            background: Color::Reset,
            foreground: Color::Reset,
            muted: Color::DarkGray,
            border: Color::DarkGray,
            border_focused: Color::Cyan,
            title: Color::Cyan,
            selection_bg: Color::DarkGray,
            selection_fg: Color::White,
            accent: Color::Cyan,
            critical: Color::Red,
            warning: Color::Yellow,
            info: Color::Blue,
            ok: Color::Green,
            down: Color::Red,
            unknown: Color::DarkGray,
            match_bg: Color::Yellow,
            match_fg: Color::Black,
            status_bg: Color::DarkGray,
            status_fg: Color::White,
            mode_bg: Color::Cyan,
            mode_fg: Color::Black,
            sparkline: Color::Cyan,
            user_message: Color::Cyan,
            notice_error: Color::Red,
            production: Color::LightRed,
            code_theme: "base16-ocean.dark".into(),
            monochrome: false,
        }
    }
}

fn parse_file(text: &str) -> Result<ThemeFile, String> {
    toml::from_str(text).map_err(|e| e.to_string())
}

impl Theme {
    /// A built-in theme by name.
    pub fn builtin(name: &str) -> Option<Theme> {
        let (_, text) = BUILTIN_THEMES.iter().find(|(n, _)| *n == name)?;
        let mut theme = Theme::default();
        // Built-ins are checked by a unit test; a failure would only leave fallback colours.
        if let Ok(file) = parse_file(text) {
            let _ = theme.apply(file);
        }
        Some(theme)
    }

    /// Loads theme `name`: a built-in, overlaid by `themes_dir/NAME.toml` when present (a user
    /// theme with a new name starts from `dark`). A broken file leaves the built-in in force
    /// and returns the error to show on screen.
    pub fn load(name: &str, themes_dir: &Path) -> (Theme, Option<String>) {
        let base = Theme::builtin(name);
        let path = themes_dir.join(format!("{name}.toml"));
        let fallback = || {
            base.clone()
                .unwrap_or_else(|| Theme::builtin("dark").unwrap_or_default())
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return match base {
                    Some(t) => (t, None),
                    None => (
                        fallback(),
                        Some(format!(
                            "theme `{name}` is neither built in ({}) nor at {}; using dark",
                            BUILTIN_THEMES.map(|(n, _)| n).join(", "),
                            path.display()
                        )),
                    ),
                };
            }
            Err(e) => {
                return (
                    fallback(),
                    Some(format!("{}: {e}; default theme in force", path.display())),
                );
            }
        };
        let mut theme = fallback();
        match parse_file(&text).and_then(|file| theme.apply(file)) {
            Ok(()) => {
                if base.is_none() && theme.name == "dark" {
                    theme.name = name.to_string();
                }
                (theme, None)
            }
            Err(e) => (
                fallback(),
                Some(format!("{}: {e}; default theme in force", path.display())),
            ),
        }
    }

    /// The colour of a severity.
    pub fn severity(&self, severity: crate::model::Severity) -> Color {
        match severity {
            crate::model::Severity::Critical => self.critical,
            crate::model::Severity::Warning => self.warning,
            crate::model::Severity::Info => self.info,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_theme_parses_and_sets_every_slot() {
        for (name, text) in BUILTIN_THEMES {
            let file = parse_file(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let c = &file.colors;
            let all_set = [
                &c.background,
                &c.foreground,
                &c.muted,
                &c.border,
                &c.border_focused,
                &c.title,
                &c.selection_bg,
                &c.selection_fg,
                &c.accent,
                &c.critical,
                &c.warning,
                &c.info,
                &c.ok,
                &c.down,
                &c.unknown,
                &c.match_bg,
                &c.match_fg,
                &c.status_bg,
                &c.status_fg,
                &c.mode_bg,
                &c.mode_fg,
                &c.sparkline,
                &c.user_message,
                &c.notice_error,
            ]
            .iter()
            .all(|s| s.is_some());
            assert!(all_set, "{name} sets every slot");
            let mut t = Theme::default();
            t.apply(file).unwrap();
            assert_eq!(t.name, name);
        }
    }

    #[test]
    fn a_user_file_overrides_some_slots() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("dark.toml"),
            "[colors]\ncritical = \"#ff00ff\"\n",
        )
        .unwrap();
        let (t, err) = Theme::load("dark", dir.path());
        assert_eq!(err, None);
        assert_eq!(t.critical, Color::Rgb(255, 0, 255));
        assert_eq!(t.ok, Theme::builtin("dark").unwrap().ok, "other slots stay");
    }

    #[test]
    fn broken_or_unknown_themes_fall_back_with_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("light.toml"),
            "[colors]\ncritical = \"not-a-colour\"\n",
        )
        .unwrap();
        let (t, err) = Theme::load("light", dir.path());
        assert!(err.unwrap().contains("colors.critical"));
        assert_eq!(t, Theme::builtin("light").unwrap());

        std::fs::write(dir.path().join("light.toml"), "[colours]\n").unwrap();
        let (_, err) = Theme::load("light", dir.path());
        assert!(err.unwrap().contains("light.toml"));

        let (t, err) = Theme::load("solarized", dir.path());
        assert!(err.unwrap().contains("`solarized`"));
        assert_eq!(t.name, "dark");
    }
}
