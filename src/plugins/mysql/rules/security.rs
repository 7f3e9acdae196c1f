//! MYS-SEC-01 … 06: password-less, anonymous and any-host accounts, network exposure, file
//! primitives, and a reading account that can write.

use super::RuleInput;
use crate::model::{Finding, Severity};

fn is_loopback(bind: &str) -> bool {
    bind.split(',')
        .map(str::trim)
        .all(|b| matches!(b, "127.0.0.1" | "localhost" | "::1"))
}

pub(super) fn check(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let s = input.cur;
    // Unset (empty) means every interface; a missing variable means unknown, not exposed.
    let bind = s
        .var("bind_address")
        .map(|b| if b.is_empty() { "*" } else { b });
    let networked = s.var_on("skip_networking") != Some(true);
    let exposed = networked && bind.is_some_and(|b| !is_loopback(b));
    let bind = bind.unwrap_or("unknown");

    if let Some(acc) = &s.accounts {
        if !acc.passwordless.is_empty() {
            let root_or_any = acc
                .passwordless
                .iter()
                .any(|a| a.starts_with("'root'@") || a.ends_with("@'%'"));
            out.push(
                Finding::new(
                    "MYS-SEC-01",
                    if root_or_any || exposed { Severity::Critical } else { Severity::Warning },
                    "security",
                    format!("{} account(s) without a password: {}", acc.passwordless.len(), acc.passwordless.join(", ")),
                    "Anyone who can reach the server (or the host, for localhost accounts) logs in as these \
                     accounts with no password.",
                    "Set a password (ALTER USER … IDENTIFIED BY, MYS-FIX-11 — breaks clients using the empty \
                     one) or use unix_socket authentication for local root.",
                )
                .with("accounts", acc.passwordless.clone())
                .with("bind_address", bind)
                .with("threshold", "any (src: MySQLTuner; MariaDB ≥ 10.4 query corrected in the catalog)"),
            );
        }
        if !acc.anonymous.is_empty() {
            out.push(
                Finding::new(
                    "MYS-SEC-02",
                    Severity::Warning,
                    "security",
                    format!("anonymous account(s): {}", acc.anonymous.join(", ")),
                    "Anonymous accounts let any user name in and shadow real accounts by host matching.",
                    "DROP USER each anonymous account (MYS-FIX-12).",
                )
                .with("accounts", acc.anonymous.clone())
                .with("threshold", "any (src: MySQLTuner)"),
            );
        }
        if !acc.any_host.is_empty() {
            let root = acc.any_host.iter().any(|a| a.starts_with("'root'@"));
            out.push(
                Finding::new(
                    "MYS-SEC-03",
                    if root {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    },
                    "security",
                    format!(
                        "account(s) allowed from any host: {}",
                        acc.any_host.join(", ")
                    ),
                    "`%` accepts logins from every address that reaches the port.",
                    "Restrict to the application subnets (RENAME USER u@'%' TO u@'10.0.%').",
                )
                .with("accounts", acc.any_host.clone())
                .with("threshold", "host = '%' (src: MySQLTuner); root@'%' CRIT"),
            );
        }
    }

    if exposed {
        out.push(
            Finding::new(
                "MYS-SEC-04",
                Severity::Info,
                "security",
                format!("listening on {bind} (not loopback only)"),
                "The server accepts connections from the network.",
                "Bind to the interfaces clients need and firewall the port.",
            )
            .with("bind_address", bind)
            .with(
                "threshold",
                "non-loopback bind (src: MySQLTuner is_local_only)",
            ),
        );
    }

    if let Some(writes) = s
        .reader_writing_privileges
        .as_ref()
        .filter(|w| !w.is_empty())
    {
        let shown: Vec<&str> = writes.iter().take(6).map(String::as_str).collect();
        out.push(
            Finding::new(
                "MYS-SEC-06",
                Severity::Warning,
                "security",
                format!(
                    "the account this program reads as ({}) can write: {}{}",
                    if s.reader_account.is_empty() { "?" } else { &s.reader_account },
                    shown.join(", "),
                    if writes.len() > shown.len() { ", …" } else { "" }
                ),
                "Collection and the AI's tools only read, behind client-side guards; an account that \
                 can write turns any gap in those guards (a prompt-injected model, a classifier bug) \
                 into a change on the server.",
                "Read with a read-only account (GRANT PROCESS, REPLICATION CLIENT ON *.*; SELECT on \
                 performance_schema, sys and what mysql_explain should see: docs/plugins.md, \
                 'A read-only MySQL account'). Repairs then fail by design; run them with an \
                 account that may write.",
            )
            .with("account", s.reader_account.clone())
            .with("writing_privileges", writes.clone())
            .with("threshold", "any privilege beyond reading (heur: catalog §3.4 server-side backstop)"),
        );
    }

    let mut primitives = Vec::new();
    if s.var_on("local_infile") == Some(true) {
        primitives.push("local_infile=ON");
    }
    if s.var("secure_file_priv") == Some("") {
        primitives.push("secure_file_priv='' (INTO OUTFILE anywhere)");
    }
    if s.var("old_passwords")
        .is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("OFF"))
    {
        primitives.push("old_passwords enabled");
    }
    if exposed && s.var_on("require_secure_transport") == Some(false) {
        primitives.push("require_secure_transport=OFF on a network bind");
    }
    if !primitives.is_empty() {
        out.push(
            Finding::new(
                "MYS-SEC-05",
                if primitives.len() > 1 { Severity::Warning } else { Severity::Info },
                "security",
                primitives.join("; "),
                "File read/write primitives for an attacker with SQL access, or plaintext authentication.",
                "Turn local_infile off, set secure_file_priv to a dedicated directory, require TLS.",
            )
            .with("settings", primitives.iter().map(|p| p.to_string()).collect::<Vec<_>>())
            .with("threshold", "heur: (old_passwords src: pt-variable-advisor)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fired, has, sample};
    use crate::plugins::mysql::sample::Accounts;

    #[test]
    fn a_fresh_mariadb_install_is_flagged() {
        let mut s = sample(
            &[],
            &[
                ("bind_address", "127.0.0.1"),
                ("slow_query_log", "ON"),
                ("local_infile", "ON"),
            ],
        );
        s.accounts = Some(Accounts {
            passwordless: vec!["'root'@'localhost'".into()],
            anonymous: vec!["''@'localhost'".into()],
            any_host: vec!["'app'@'%'".into()],
        });
        let f = fired(&s, None);
        assert!(
            has(&f, "MYS-SEC-01", "CRIT")
                && has(&f, "MYS-SEC-02", "WARN")
                && has(&f, "MYS-SEC-03", "WARN"),
            "{f:?}"
        );
        assert!(has(&f, "MYS-SEC-05", "INFO"));
        assert!(
            !f.iter().any(|(i, _)| i == "MYS-SEC-04"),
            "loopback bind is not exposed"
        );
        s.vars.insert("bind_address".into(), "0.0.0.0".into());
        assert!(has(&fired(&s, None), "MYS-SEC-04", "INFO"));
    }

    #[test]
    fn a_reading_account_that_can_write_is_a_warning() {
        let mut s = sample(&[], &[("bind_address", "127.0.0.1")]);
        let sec06 = |s: &crate::plugins::mysql::sample::MysqlSample| {
            fired(s, None).into_iter().find(|(i, _)| i == "MYS-SEC-06")
        };
        assert_eq!(sec06(&s), None, "grants not listed: not judged");
        s.reader_writing_privileges = Some(Vec::new());
        assert_eq!(sec06(&s), None, "a read-only account");
        s.reader_account = "root@localhost".into();
        s.reader_writing_privileges = Some(vec!["ALL PRIVILEGES ON *.*".into()]);
        assert_eq!(sec06(&s), Some(("MYS-SEC-06".into(), "WARN")));
    }
}
