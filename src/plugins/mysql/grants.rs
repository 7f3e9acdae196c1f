//! What the reading account may do beyond reading, from its own `SHOW GRANTS` (MYS-SEC-06).
//! The client-side guards are only as good as their authors; an account that cannot write is
//! the backstop, so the product says when it logs in with one that can.

/// Privileges that only read. Anything else — `ALL PRIVILEGES`, `INSERT`, `SUPER`, `FILE`,
/// `CREATE`, `PROXY`, MySQL's dynamic `…_ADMIN` privileges, `WITH GRANT OPTION` — can change the
/// server.
const READ_ONLY_PRIVILEGES: &[&str] = &[
    "USAGE",
    "SELECT",
    "SHOW VIEW",
    "SHOW DATABASES",
    "PROCESS",
    "REPLICATION CLIENT",
    "REPLICATION SLAVE",
    "BINLOG MONITOR",
    "REPLICA MONITOR",
    "SLAVE MONITOR",
    "SHOW_ROUTINE",
];

/// The privileges of `SHOW GRANTS` lines that can write, as `PRIVILEGE ON target`, in order and
/// without repeats. `EXECUTE` on the `sys` schema counts as reading (its views call its
/// functions; docs/plugins.md grants it to the read-only account).
pub fn writing_privileges(grant_lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in grant_lines {
        // Upper-casing ASCII keeps every byte offset, so positions found in `upper` slice `line`.
        let upper = line.to_ascii_uppercase();
        if !upper.starts_with("GRANT ") {
            continue; // MySQL 8's partial `REVOKE …` lines take privileges away
        }
        // A role grant (`GRANT role TO user`) has no ON; the role's own grants are listed too.
        // The search starts after `GRANT` (not after its space): in `GRANT ON …`, a line with
        // no privileges, the ` ON ` begins at that space, and the slice below must not invert.
        let Some(on) = upper["GRANT".len()..]
            .find(" ON ")
            .map(|i| "GRANT".len() + i)
        else {
            continue;
        };
        let after_on = on + " ON ".len();
        let to = upper[after_on..]
            .find(" TO ")
            .map_or(upper.len(), |i| after_on + i);
        let target = line[after_on..to].trim();
        let target_is_sys = matches!(upper[after_on..to].trim(), "SYS.*" | "`SYS`.*");
        let mut found: Vec<String> = strip_column_lists(&upper["GRANT".len()..on])
            .split(',')
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|p| !p.is_empty())
            .filter(|p| !READ_ONLY_PRIVILEGES.contains(&p.as_str()))
            .filter(|p| !(p == "EXECUTE" && target_is_sys))
            .collect();
        if upper[to..].contains(" WITH GRANT OPTION") {
            found.push("GRANT OPTION".into());
        }
        for p in found {
            let entry = format!("{p} ON {target}");
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
    }
    out
}

/// `SELECT (a, b), INSERT (c)` → `SELECT , INSERT ` (column lists contain commas).
fn strip_column_lists(privileges: &str) -> String {
    let mut depth = 0usize;
    privileges
        .chars()
        .filter(|c| {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => return depth == 0,
            }
            false
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(l: &[&str]) -> Vec<String> {
        l.iter().map(|s| s.to_string()).collect()
    }

    /// Found by the `sql_guard` fuzz target: `GRANT ON …` (no privileges) sliced `[6..5]`.
    #[test]
    fn a_grant_line_without_privileges_names_none_and_does_not_panic() {
        let grants = lines(&[
            "GRANT ON `df`.* TO `app`@`%`",
            "GRANT ON *.* TO `app`@`%` WITH GRANT OPTION",
            "grant  on x",
            "GRANT ON",
        ]);
        assert_eq!(
            writing_privileges(&grants),
            vec!["GRANT OPTION ON *.*".to_string()]
        );
    }

    #[test]
    fn a_read_only_account_has_no_writing_privileges() {
        let grants = lines(&[
            "GRANT PROCESS, REPLICATION CLIENT ON *.* TO `sre_ro`@`10.0.4.%` IDENTIFIED BY PASSWORD '*AB'",
            "GRANT SELECT ON `performance_schema`.* TO `sre_ro`@`10.0.4.%`",
            "GRANT SELECT, EXECUTE ON `sys`.* TO `sre_ro`@`10.0.4.%`",
            "GRANT SELECT ON `mysql`.`user` TO `sre_ro`@`10.0.4.%`",
            "GRANT SELECT (`host`, `user`) ON `mysql`.`db` TO `sre_ro`@`10.0.4.%`",
            "GRANT REPLICA MONITOR ON *.* TO `sre_ro`@`10.0.4.%`",
            "GRANT `monitoring` TO `sre_ro`@`10.0.4.%`",
        ]);
        assert_eq!(writing_privileges(&grants), Vec::<String>::new());
    }

    #[test]
    fn root_and_partial_writers_are_named() {
        let root = lines(&[
            "GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION",
            "GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION",
        ]);
        assert_eq!(
            writing_privileges(&root),
            [
                "ALL PRIVILEGES ON *.*",
                "GRANT OPTION ON *.*",
                "PROXY ON ''@'%'",
                "GRANT OPTION ON ''@'%'"
            ]
        );
        let app = lines(&[
            "GRANT USAGE ON *.* TO `app`@`%`",
            "GRANT SELECT, INSERT, UPDATE (`total`) ON `shop`.* TO `app`@`%`",
            "GRANT EXECUTE ON `shop`.* TO `app`@`%`",
            "GRANT SUPER,SYSTEM_VARIABLES_ADMIN ON *.* TO `app`@`%`",
            "REVOKE INSERT ON `mysql`.* FROM `app`@`%`",
        ]);
        assert_eq!(
            writing_privileges(&app),
            [
                "INSERT ON `shop`.*",
                "UPDATE ON `shop`.*",
                "EXECUTE ON `shop`.*",
                "SUPER ON *.*",
                "SYSTEM_VARIABLES_ADMIN ON *.*"
            ]
        );
    }
}
