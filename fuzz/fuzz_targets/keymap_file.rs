//! A user's `keymap.toml` over the built-in keymap, and key chords as written in it.
#![no_main]

use kubestack_ai::keymap::{KeyChord, Keymap};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut keymap = Keymap::builtin();
    let _ = keymap.overlay(text);
    for (_section, bindings) in keymap.sections() {
        let _ = bindings.len();
    }
    for word in text.split_whitespace() {
        if let Ok(chord) = KeyChord::parse(word) {
            let _ = chord.to_string();
        }
    }
});
