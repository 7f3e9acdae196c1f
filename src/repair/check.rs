//! What every write backend shares: judging a verification probe's reply, and turning a
//! step's captured pre-state into its preview and rollback. Only the wire form differs per
//! system (Redis `CONFIG SET k v`, MySQL `SET GLOBAL k = v`), given by a [`ConfigDialect`].

use super::plan::{Check, Command, PreparedStep, RepairStep, RollbackSpec};
use super::reply::Reply;

/// How a system writes "set this setting back" and where a set command carries its new value.
pub trait ConfigDialect {
    /// The command that sets `key` to `value`.
    fn restore(&self, key: &str, value: &str) -> Command;
    /// The new value a set command of a step carries.
    fn new_value(&self, command: &Command) -> String;
}

/// A reply leaf as text.
pub fn text_of(r: &Reply) -> String {
    match r {
        Reply::Text(t) => t.clone(),
        Reply::Int(i) => i.to_string(),
        other => other.flatten(),
    }
}

/// A setting's value from a capture (a key/value reply).
fn captured_config<'a>(captured: &'a [(String, Reply)], key: &str) -> Option<&'a Reply> {
    captured.iter().find_map(|(_, r)| r.get(key))
}

/// The preview and rollback of a step: `RestoreConfig` from the captured values through the
/// dialect, the plain rollbacks in words; `special` handles system-specific rollbacks first.
pub fn prepare_step(
    step: &RepairStep,
    captured: &[(String, Reply)],
    dialect: &dyn ConfigDialect,
    special: impl FnOnce(&RollbackSpec) -> Option<(String, Vec<Command>, String)>,
) -> PreparedStep {
    // Without a value to change, the preview is what the capture saw now, then the effect.
    let now_and_effect = || {
        let seen: Vec<String> = captured
            .iter()
            .map(|(c, r)| format!("now ({c}): {}", r.summary()))
            .collect();
        if seen.is_empty() {
            step.effect.clone()
        } else {
            format!("{}\n{}", seen.join("\n"), step.effect)
        }
    };
    let (preview, rollback, rollback_text) = match special(&step.rollback) {
        Some(done) => done,
        None => match &step.rollback {
            RollbackSpec::RestoreConfig { keys } => {
                let mut lines = Vec::new();
                let mut rollback = Vec::new();
                for (key, command) in keys.iter().zip(&step.commands) {
                    let new = dialect.new_value(command);
                    match captured_config(captured, key).map(text_of) {
                        Some(old) => {
                            lines.push(format!("{key}: {old} → {new}"));
                            rollback.push(dialect.restore(key, &old));
                        }
                        None => lines.push(format!("{key}: (unknown) → {new}")),
                    }
                }
                let text = if rollback.len() == keys.len() {
                    rollback
                        .iter()
                        .map(Command::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                } else {
                    rollback.clear();
                    "the old value could not be read: no automatic rollback".to_string()
                };
                (lines.join("\n"), rollback, text)
            }
            RollbackSpec::NotNeeded(why) => {
                (now_and_effect(), Vec::new(), format!("none needed: {why}"))
            }
            RollbackSpec::Irreversible(why) => {
                (now_and_effect(), Vec::new(), format!("irreversible: {why}"))
            }
            RollbackSpec::Manual(how) => (now_and_effect(), Vec::new(), format!("manual: {how}")),
            RollbackSpec::RestoreAcl { user } => (
                step.effect.clone(),
                Vec::new(),
                format!("user {user}: no automatic rollback on this system"),
            ),
        },
    };
    PreparedStep {
        captured: captured.to_vec(),
        preview,
        rollback,
        rollback_text,
    }
}

/// Judges a probe's reply; `captured` is the pre-state for "not above before" checks.
pub fn judge_check(
    check: &Check,
    reply: &Reply,
    captured: &[(String, Reply)],
) -> Result<String, String> {
    match check {
        Check::ConfigEquals { key, value } => match reply.get(key).map(text_of) {
            Some(v) if v.eq_ignore_ascii_case(value) => Ok(format!("{key} = {v}")),
            Some(v) => Err(format!("{key} is {v}, expected {value}")),
            None => Err(format!("CONFIG GET returned no {key}")),
        },
        Check::InfoEquals { field, value } => match reply.info_field(field) {
            Some(v) if v == *value => Ok(format!("{field}:{v}")),
            Some(v) => Err(format!("{field} is {v}, expected {value}")),
            None => Err(format!("INFO has no {field}")),
        },
        Check::InfoAtMost { field } => {
            let before = captured
                .iter()
                .find_map(|(_, r)| r.info_field(field))
                .and_then(|v| v.parse::<f64>().ok());
            let now = reply.info_field(field).and_then(|v| v.parse::<f64>().ok());
            match (before, now) {
                (Some(b), Some(n)) if n <= b => Ok(format!("{field}: {b} → {n}")),
                (Some(b), Some(n)) => Err(format!("{field} grew: {b} → {n}")),
                _ => Err(format!("INFO has no numeric {field}")),
            }
        }
        Check::Reply(expected) => {
            let got = reply.flatten();
            if got.trim() == expected {
                Ok(format!("replied {got}"))
            } else {
                Err(format!("replied {}, expected {expected}", reply.summary()))
            }
        }
        Check::ReplyLacks(text) => {
            if reply.flatten().contains(text.as_str()) {
                Err(format!("the reply still contains `{text}`"))
            } else {
                Ok(format!("no `{text}` any more"))
            }
        }
        Check::ReplyHas(text) => {
            if reply.flatten().contains(text.as_str()) {
                Ok(reply.summary())
            } else {
                Err(format!("expected `{text}`, got {}", reply.summary()))
            }
        }
        Check::Empty => {
            if reply.flatten().trim().is_empty() {
                Ok("nothing left".into())
            } else {
                Err(format!("still there: {}", reply.summary()))
            }
        }
        Check::FieldsEqual { a, b } => match (reply.get(a).map(text_of), reply.get(b).map(text_of))
        {
            (Some(x), Some(y)) if x == y => Ok(format!("{a} = {b} = {x}")),
            (Some(x), Some(y)) => Err(format!("{a} is {x}, {b} is {y}")),
            _ => Err(format!("the reply lacks {a} or {b}")),
        },
        Check::NotBelowCaptured {
            field,
            captured: key,
        } => {
            let num = |r: Option<&Reply>| r.map(text_of).and_then(|t| t.trim().parse::<f64>().ok());
            let before = captured.iter().find_map(|(_, r)| num(r.get(key)));
            match (num(reply.get(field)), before) {
                (Some(now), Some(b)) if now >= b => Ok(format!("{field} {now} ≥ {key} {b} before")),
                (Some(now), Some(b)) => Err(format!("{field} is {now}, below {key} {b} before")),
                _ => Err(format!(
                    "the reply lacks a numeric {field}, or the capture a {key}"
                )),
            }
        }
        Check::All(checks) => {
            let mut ok = Vec::new();
            for c in checks {
                ok.push(judge_check(c, reply, captured)?);
            }
            Ok(ok.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Reply {
        Reply::Text(s.into())
    }

    #[test]
    fn checks_judge_replies() {
        let cfg = Reply::List(vec![t("maxmemory-policy"), t("allkeys-lru")]);
        let ok = Check::ConfigEquals {
            key: "maxmemory-policy".into(),
            value: "allkeys-lru".into(),
        };
        assert!(judge_check(&ok, &cfg, &[]).is_ok());
        let bad = Check::ConfigEquals {
            key: "maxmemory-policy".into(),
            value: "noeviction".into(),
        };
        assert_eq!(
            judge_check(&bad, &cfg, &[]).unwrap_err(),
            "maxmemory-policy is allkeys-lru, expected noeviction"
        );
        let info = t("rdb_bgsave_in_progress:0\r\nrdb_last_bgsave_status:ok\r\n");
        let all = Check::All(vec![
            Check::InfoEquals {
                field: "rdb_bgsave_in_progress".into(),
                value: "0".into(),
            },
            Check::InfoEquals {
                field: "rdb_last_bgsave_status".into(),
                value: "ok".into(),
            },
        ]);
        assert!(judge_check(&all, &info, &[]).is_ok());
        let before = vec![("INFO memory".to_string(), t("allocator_resident:1000\r\n"))];
        let at_most = Check::InfoAtMost {
            field: "allocator_resident".into(),
        };
        assert!(judge_check(&at_most, &t("allocator_resident:900\r\n"), &before).is_ok());
        assert!(judge_check(&at_most, &t("allocator_resident:1100\r\n"), &before).is_err());
        assert!(judge_check(&Check::Empty, &t(""), &[]).is_ok());
        assert!(judge_check(&Check::Reply("0".into()), &Reply::Int(0), &[]).is_ok());
    }
}
