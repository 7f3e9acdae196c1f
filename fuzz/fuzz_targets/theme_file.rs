//! A user's theme file (`themes/NAME.toml`), overlaid on a built-in and on a new name.
#![no_main]

use std::sync::OnceLock;

use kubestack_ai::theme::Theme;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    static DIR: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    let Some(dir) = DIR.get_or_init(|| tempfile::tempdir().ok()) else {
        return;
    };
    for name in ["dark", "mine"] {
        if std::fs::write(dir.path().join(format!("{name}.toml")), data).is_err() {
            return;
        }
        let _ = Theme::load(name, dir.path());
    }
});
