//! RDS-SEC-01 … 05: authentication, protected mode, exposure, dangerous commands, auth failures.

use super::RuleInput;
use crate::model::{Finding, Severity};
use crate::plugins::redis::parse::REDACTED;

/// Whether one `bind` token is a loopback address (a leading `-` marks it optional).
fn is_loopback(token: &str) -> bool {
    let addr = token.trim_start_matches('-');
    addr == "localhost"
        || addr
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub(super) fn check(input: &RuleInput<'_>, out: &mut Vec<Finding>) {
    let cur = input.cur;
    // No authentication: from ACL when readable, else from requirepass (redacted but non-empty when set).
    let open = match &cur.default_user {
        Some(user) => Some(user.is_open()),
        None => cur.config("requirepass").map(|p| p.is_empty()),
    };
    let protected_off = cur.config("protected-mode") == Some("no");
    let public_bind = cur.config("bind").map(|b| {
        let tokens: Vec<&str> = b.split_whitespace().collect();
        tokens.is_empty() || tokens.iter().any(|t| !is_loopback(t))
    });
    let open = open.unwrap_or(false);
    let sec02 = open && protected_off;
    let sec03 = public_bind.unwrap_or(false);

    if open {
        out.push(
            Finding::new(
                "RDS-SEC-01",
                if sec02 || sec03 { Severity::Critical } else { Severity::Warning },
                "security",
                "no authentication: the default user needs no password",
                "Anyone who can reach the port has full access (+@all).",
                "Set a password (ACL SETUSER default on >…, RDS-FIX-13 — every client without it fails \
                 at once) or create named ACL users.",
            )
            .with(
                "default_user_flags",
                cur.default_user
                    .as_ref()
                    .map(|u| u.flags.join(" "))
                    .unwrap_or_else(|| "unknown (ACL not readable)".into()),
            )
            .with("requirepass_set", cur.config("requirepass") == Some(REDACTED))
            .with("threshold", "on + nopass (src: protected-mode logic)"),
        );
    }
    if sec02 {
        out.push(
            Finding::new(
                "RDS-SEC-02",
                Severity::Critical,
                "security",
                "protected-mode off on a password-less instance",
                "Protected mode is what limits a password-less instance to loopback; turning it off exposes it.",
                "CONFIG SET protected-mode yes (RDS-FIX-12) — remote password-less clients are cut off.",
            )
            .with("protected-mode", "no"),
        );
    }
    if sec03 {
        let bind = cur.config("bind").unwrap_or("");
        out.push(
            Finding::new(
                "RDS-SEC-03",
                if open {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                "security",
                format!(
                    "listening beyond loopback (bind \"{}\")",
                    if bind.is_empty() { "*" } else { bind }
                ),
                "The instance is reachable from the network.",
                "Bind to private interfaces only; require authentication and TLS.",
            )
            .with("bind", bind)
            .with("tls-port", cur.config("tls-port").unwrap_or("0")),
        );
    }
    let dangerous: Vec<&str> = [
        "enable-debug-command",
        "enable-module-command",
        "enable-protected-configs",
    ]
    .into_iter()
    .filter(|k| cur.config(k) == Some("yes"))
    .collect();
    if !dangerous.is_empty() {
        out.push(
            Finding::new(
                "RDS-SEC-04",
                Severity::Warning,
                "security",
                format!("dangerous commands enabled: {}", dangerous.join(", ")),
                "DEBUG, MODULE LOAD and protected CONFIG SET dir are the classic Redis-to-RCE chain.",
                "Set them to `no` (or `local`) in redis.conf; restrict @dangerous for application users.",
            )
            .with("enabled", dangerous),
        );
    }
    let failures =
        input.error_delta("WRONGPASS").unwrap_or(0) + input.error_delta("NOAUTH").unwrap_or(0);
    if failures > 0 {
        out.push(
            Finding::new(
                "RDS-SEC-05",
                Severity::Warning,
                "security",
                format!("{failures} authentication failures since the last sample"),
                "Brute force or a misconfigured client.",
                "Check ACL LOG for the client address.",
            )
            .with("auth_failures_delta", failures),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{fired, has, sample};
    use crate::plugins::redis::parse::AclUser;

    fn open_user() -> Option<AclUser> {
        Some(AclUser {
            flags: vec!["on".into(), "nopass".into()],
            commands: "+@all".into(),
        })
    }

    #[test]
    fn exposure_escalates_the_no_auth_finding() {
        let mut loopback = sample("", &[("bind", "127.0.0.2 -::1"), ("protected-mode", "yes")]);
        loopback.default_user = open_user();
        let f = fired(&loopback, None);
        assert!(has(&f, "RDS-SEC-01", "WARN") && !has(&f, "RDS-SEC-03", "WARN"));

        let mut exposed = sample("", &[("bind", "0.0.0.0"), ("protected-mode", "no")]);
        exposed.default_user = open_user();
        let f = fired(&exposed, None);
        assert!(has(&f, "RDS-SEC-01", "CRIT"), "{f:?}");
        assert!(has(&f, "RDS-SEC-02", "CRIT"));
        assert!(has(&f, "RDS-SEC-03", "CRIT"));
    }

    #[test]
    fn a_password_silences_sec01_and_public_bind_alone_warns() {
        let cur = sample("", &[("requirepass", "[REDACTED]"), ("bind", "")]);
        let f = fired(&cur, None);
        assert!(!f.iter().any(|(id, _)| id == "RDS-SEC-01"));
        assert!(has(&f, "RDS-SEC-03", "WARN"), "empty bind = all interfaces");
    }

    #[test]
    fn dangerous_commands_and_auth_failures() {
        let cur = sample("", &[("enable-debug-command", "yes")]);
        assert!(has(&fired(&cur, None), "RDS-SEC-04", "WARN"));
        let local = sample("", &[("enable-debug-command", "local")]);
        assert!(!has(&fired(&local, None), "RDS-SEC-04", "WARN"));
        let prev = sample("", &[]);
        let cur = sample("errorstat_WRONGPASS:count=3\n", &[]);
        assert!(has(&fired(&cur, Some(&prev)), "RDS-SEC-05", "WARN"));
    }
}
