//! The configuration file: the fuzz bytes are `config.toml`, loaded through the layering and
//! validation the program runs at start (`load_config`).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use kubestack_ai::config::{CliOverrides, load_config};
use libfuzzer_sys::fuzz_target;

fn scratch() -> &'static (tempfile::TempDir, PathBuf) {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        // SAFETY: set once, before any other thread of this process reads the environment.
        unsafe {
            std::env::set_var("XDG_CONFIG_HOME", dir.path().join("cfg"));
            std::env::set_var("XDG_DATA_HOME", dir.path().join("data"));
        }
        let file = dir.path().join("config.toml");
        (dir, file)
    })
}

fuzz_target!(|data: &[u8]| {
    let (_dir, file) = scratch();
    if std::fs::write(file, data).is_err() {
        return;
    }
    let kinds = kubestack_ai::plugins::registry::kind_rules();
    if let Ok(loaded) = load_config(Some(file), &CliOverrides::default(), &kinds) {
        for instance in &loaded.config.instances {
            let _ = kubestack_ai::plugins::registry::validate_url_for(instance);
        }
    }
});
