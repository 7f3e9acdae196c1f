//! Host facts for a Redis on this machine (catalog C13); unknown for remote servers.

use super::rules::HostFacts;

/// Reads overcommit and THP settings from /proc and /sys; missing files leave them unknown.
pub fn read_local_host_facts() -> HostFacts {
    let overcommit_memory = std::fs::read_to_string("/proc/sys/vm/overcommit_memory")
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let transparent_hugepage =
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
            .ok()
            .and_then(|s| selected_choice(&s));
    HostFacts {
        overcommit_memory,
        transparent_hugepage,
    }
}

/// `always [madvise] never` → `madvise`.
fn selected_choice(text: &str) -> Option<String> {
    let start = text.find('[')?;
    let end = text[start..].find(']')? + start;
    Some(text[start + 1..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bracketed_choice_is_the_selected_one() {
        assert_eq!(
            selected_choice("always [madvise] never\n").as_deref(),
            Some("madvise")
        );
        assert_eq!(
            selected_choice("[always] madvise never").as_deref(),
            Some("always")
        );
        assert_eq!(selected_choice("garbage"), None);
    }
}
