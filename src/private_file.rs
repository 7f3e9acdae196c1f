//! Files only their owner may read (conversations, incident reports, the audit log's head),
//! written atomically, and the name of the user who wrote them.
//!
//! Below every other module: the audit chain, the session store and the report writer all
//! write through here.

use std::io::Write;
use std::path::Path;

/// Writes a file atomically with owner-only permissions, creating its directory.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// An instance name made safe as a file name (`cache/eu 1` → `cache_eu_1`).
pub fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The user running the program (for reports and the audit log).
pub fn os_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(user_of_this_process)
        .unwrap_or_else(|| "unknown".to_string())
}

/// Without a login environment (cron, systemd, `env -i`): the real uid's name from
/// /etc/passwd, or `uid N`, so the audit log still says who ran it.
fn user_of_this_process() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    Some(
        passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() > 2 && f[2] == uid)
            .map_or_else(|| format!("uid {uid}"), |f| f[0].to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_private_file_is_owner_only_and_replaces_the_old_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/report.md");
        write_private(&path, b"first").unwrap();
        write_private(&path, b"second").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        assert!(!path.with_extension("tmp").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn file_names_keep_only_safe_characters() {
        for (name, safe) in [
            ("cache/eu 1", "cache_eu_1"),
            ("../../etc/passwd", ".._.._etc_passwd"),
            ("缓存-主", "__-_"),
            ("", ""),
        ] {
            assert_eq!(file_safe(name), safe, "{name}");
        }
    }

    #[test]
    fn the_user_is_never_empty() {
        assert!(!os_user().is_empty());
    }
}
