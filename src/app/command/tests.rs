//! The command table: every entry parses from its own signature, help lists every entry,
//! aliases run the same thing, unknown commands are named, Tab completes.

use super::*;

/// An argument line satisfying a signature: its first alternative of each word.
fn example_args(signature: &str) -> String {
    signature
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.trim_start_matches('[').trim_end_matches(']');
            let first = w.split('|').next().unwrap_or(w);
            if first.chars().all(|c| c.is_uppercase() || c == '…') {
                "x".to_string()
            } else {
                first.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_entry_parses_from_its_own_signature() {
    for c in COMMANDS {
        let line = format!("{} {}", c.name, example_args(c.signature));
        let parsed = parse(c.place, &line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(parsed.run, c.run, "{line}");
        if !c.required {
            assert_eq!(
                parse(c.place, c.name).map(|i| i.run),
                Ok(c.run),
                "{}",
                c.name
            );
        }
    }
}

#[test]
fn names_and_aliases_are_unique_per_place() {
    for place in [Place::Palette, Place::Slash] {
        let mut seen = std::collections::HashSet::new();
        for c in offered(place) {
            for word in std::iter::once(&c.name).chain(c.aliases) {
                assert!(seen.insert(*word), "{word} twice in {place:?}");
            }
        }
    }
}

#[test]
fn help_lists_every_entry() {
    let rows: Vec<String> = [Place::Palette, Place::Slash]
        .into_iter()
        .flat_map(help_rows)
        .map(|(usage, _)| usage)
        .collect();
    for c in COMMANDS {
        let usage = format!("{}{}", c.sigil(), c.usage());
        assert!(
            rows.iter().any(|r| r.starts_with(&usage)),
            "{usage} missing"
        );
    }
    assert_eq!(rows.len(), COMMANDS.len());
}

#[test]
fn aliases_run_the_same_command() {
    let cases = [
        ("q", Run::Action(Action::Quit)),
        ("h", Run::Action(Action::ToggleHelp)),
        ("safety confirm", Run::Mode),
        ("profile fast", Run::Model),
        ("context prod", Run::Context),
        ("namespaces all", Run::Namespaces),
    ];
    for (line, run) in cases {
        assert_eq!(
            parse(Place::Palette, line).map(|i| i.run),
            Ok(run),
            "{line}"
        );
    }
    assert_eq!(
        parse(Place::Palette, "context prod").map(|i| i.args),
        Ok("prod".to_string())
    );
}

#[test]
fn unknown_and_malformed_commands_are_named() {
    let cases = [
        (Place::Palette, "format c:", ":format: no such command"),
        (Place::Slash, "frobnicate", "/frobnicate: no such command"),
        (Place::Palette, "model", ":model: needs NAME"),
        (Place::Palette, "quit now", ":quit: takes no argument"),
        (Place::Slash, "copy", "/copy: needs N"),
        // A chat command is not a palette command, and the other way round.
        (Place::Palette, "clear", ":clear: no such command"),
        (Place::Slash, "mode confirm", "/mode: no such command"),
    ];
    for (place, line, error) in cases {
        assert_eq!(parse(place, line), Err(error.to_string()), "{line}");
    }
}

#[test]
fn the_palette_lists_by_name_alias_or_description_then_the_command_being_typed() {
    let names = |q: &str| -> Vec<&str> { palette_entries(q).iter().map(|c| c.name).collect() };
    assert_eq!(names("").len(), offered(Place::Palette).count());
    assert!(names("zoo").contains(&"zoom"));
    assert!(names("safety").contains(&"mode"), "alias");
    assert!(names("incident").contains(&"export"), "description");
    assert_eq!(names("mode re"), ["mode"]);
    assert_eq!(names("safety re"), ["mode"]);
    assert!(names("xyzzy").is_empty());
}

fn values(v: ArgValues) -> Vec<String> {
    let list: &[&str] = match v {
        ArgValues::Modes => &["read-only", "suggest", "confirm"],
        ArgValues::Contexts => &["prod-eu", "prod-us", "staging"],
        ArgValues::Namespaces => &["all", "shop", "shipping"],
        ArgValues::Profiles => &["offline", "fast"],
        _ => &[],
    };
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn tab_completes_names_and_known_argument_values() {
    let cases = [
        // (typed, completed)
        ("zo", Some("zoom")),
        ("mod", Some("mode")), // mode and model share "mode"
        ("mode", None),        // nothing to add: both start with it
        ("exp", Some("export ")),
        ("ct", Some("ctx ")),
        ("mode c", Some("mode confirm ")),
        ("mode read", Some("mode read-only ")),
        ("safety s", Some("safety suggest ")),
        ("ctx prod", Some("ctx prod-")),
        ("ctx prod-e", Some("ctx prod-eu ")),
        ("ctx staging ", None),
        ("ns s", Some("ns sh")),
        ("ns shop shi", Some("ns shop shipping ")),
        ("model f", Some("model fast ")),
        ("export /tm", None),
        ("xyzzy", None),
        ("xyzzy a", None),
    ];
    for (typed, completed) in cases {
        assert_eq!(complete(typed, values).as_deref(), completed, "{typed:?}");
    }
}
