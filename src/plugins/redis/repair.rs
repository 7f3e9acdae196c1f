//! The Redis repair actions RDS-FIX-01 … 16 (catalog §2.3) as typed steps: exact commands,
//! risk, pre-state capture, rollback, verification probe. Commands the catalogue says to avoid
//! are listed as manual-only and never built.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::model::Finding;
use crate::repair::catalog::{
    ActionSpec, PlanContext, RepairCatalog, param, parse_bytes, random_password,
};
use crate::repair::{Check, Command, Probe, Provenance, RepairStep, Risk, RollbackSpec};

/// The Redis catalogue.
pub struct RedisRepairs;

const POLICIES: [&str; 7] = [
    "allkeys-lru",
    "allkeys-lfu",
    "volatile-lru",
    "volatile-lfu",
    "allkeys-random",
    "volatile-random",
    "volatile-ttl",
];

/// Every action, with the catalog's risk levels.
pub const ACTIONS: &[ActionSpec] = &[
    ActionSpec {
        persists_config: false,
        id: "RDS-FIX-01",
        title: "Set maxmemory",
        risk: Risk::Caution,
        fixes: &["RDS-MEM-01", "RDS-MEM-02"],
        params: &[("bytes", "new maxmemory in bytes (or 512mb, 2gb)")],
    },
    ActionSpec {
        persists_config: false,
        id: "RDS-FIX-02",
        title: "Switch the eviction policy (evicts keys at once)",
        risk: Risk::Dangerous,
        fixes: &["RDS-MEM-01"],
        params: &[(
            "policy",
            "allkeys-lru (default), allkeys-lfu, volatile-lru, …",
        )],
    },
    ActionSpec {
        persists_config: false,
        id: "RDS-FIX-03",
        title: "Release allocator memory (MEMORY PURGE)",
        risk: Risk::Safe,
        fixes: &["RDS-MEM-07", "RDS-MEM-08"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "RDS-FIX-04",
        title: "Enable active defragmentation",
        risk: Risk::Caution,
        fixes: &["RDS-MEM-05", "RDS-MEM-06"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "RDS-FIX-05",
        title: "Disconnect one client",
        risk: Risk::Caution,
        fixes: &["RDS-MEM-10", "RDS-CONN-02"],
        params: &[("id", "client id from CLIENT LIST")],
    },
    ActionSpec {
        persists_config: false,
        id: "RDS-FIX-06",
        title: "Raise maxclients",
        risk: Risk::Caution,
        fixes: &["RDS-CONN-01", "RDS-CONN-02"],
        params: &[("n", "new maxclients")],
    },
    ActionSpec {
        persists_config: false,
        id: "RDS-FIX-07",
        title: "Accept writes despite failing snapshots",
        risk: Risk::Dangerous,
        fixes: &["RDS-PER-01"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "RDS-FIX-08",
        title: "Enable the latency monitor and a useful slowlog",
        risk: Risk::Safe,
        fixes: &["RDS-LAT-03"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "RDS-FIX-09",
        title: "Take a snapshot now (BGSAVE)",
        risk: Risk::Caution,
        fixes: &["RDS-PER-01", "RDS-PER-04"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "RDS-FIX-10",
        title: "fsync the AOF every second",
        risk: Risk::Caution,
        fixes: &["RDS-PER-02", "RDS-LAT-04"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "RDS-FIX-11",
        title: "Stop the running script (SCRIPT KILL)",
        risk: Risk::Caution,
        fixes: &["RDS-LAT-07"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "RDS-FIX-12",
        title: "Turn protected mode on",
        risk: Risk::Caution,
        fixes: &["RDS-SEC-02"],
        params: &[],
    },
    ActionSpec {
        persists_config: false,
        id: "RDS-FIX-13",
        title: "Require a password for the default user",
        risk: Risk::Dangerous,
        fixes: &["RDS-SEC-01"],
        params: &[(
            "password",
            "the new password (default: a random one, shown once)",
        )],
    },
    ActionSpec {
        persists_config: false,
        id: "RDS-FIX-14",
        title: "Take dangerous commands from an application user",
        risk: Risk::Caution,
        fixes: &["RDS-SEC-04"],
        params: &[("user", "the ACL user (not the one this program logs in as)")],
    },
    ActionSpec {
        persists_config: false,
        id: "RDS-FIX-15",
        title: "Delete one big key (UNLINK)",
        risk: Risk::Dangerous,
        fixes: &["RDS-CAP-02"],
        params: &[("key", "the key name")],
    },
    ActionSpec {
        persists_config: true,
        id: "RDS-FIX-16",
        title: "Persist the runtime configuration (CONFIG REWRITE)",
        risk: Risk::Caution,
        fixes: &[],
        params: &[],
    },
];

/// Commands the catalogue says never to propose automatically.
pub const MANUAL_ONLY: &[(&str, &str)] = &[
    ("REPLICAOF", "promoting a replica by hand risks split brain"),
    ("SLAVEOF", "promoting a replica by hand risks split brain"),
    ("FLUSHALL", "deletes every key"),
    ("FLUSHDB", "deletes every key of the database"),
    ("SHUTDOWN", "stops the server"),
    ("CLIENT PAUSE", "stalls every client"),
    (
        "DEBUG",
        "admin-only internals; can crash or block the server",
    ),
    ("SLOWLOG RESET", "destroys the evidence (capture it first)"),
    ("LATENCY RESET", "destroys the evidence (capture it first)"),
    (
        "CONFIG RESETSTAT",
        "destroys the evidence (capture it first)",
    ),
];

fn cmd(words: &[&str]) -> Command {
    Command::new(words)
}

fn config_get(key: &str) -> Command {
    cmd(&["CONFIG", "GET", key])
}

fn config_equals(key: &str, value: &str) -> Option<Probe> {
    Some(Probe {
        command: config_get(key),
        check: Check::ConfigEquals {
            key: key.into(),
            value: value.into(),
        },
        within: Duration::ZERO,
    })
}

/// A step that sets configuration keys: captured before, restored on rollback.
fn config_step(
    a: &ActionSpec,
    ctx: &PlanContext<'_>,
    sets: &[(&str, String)],
    effect: String,
) -> RepairStep {
    let keys: Vec<String> = sets.iter().map(|(k, _)| k.to_string()).collect();
    let (first_key, first_value) = &sets[0];
    RepairStep {
        action: a.id.into(),
        title: a.title.into(),
        target: ctx.target.clone(),
        risk: a.risk,
        commands: sets
            .iter()
            .map(|(k, v)| cmd(&["CONFIG", "SET", k, v]))
            .collect(),
        capture: keys.iter().map(|k| config_get(k)).collect(),
        rollback: RollbackSpec::RestoreConfig { keys },
        verify: config_equals(first_key, first_value),
        effect,
        why: String::new(),
        provenance: Provenance::User,
        for_busy_server: false,
    }
}

/// The `INFO` field (and fact) naming the server's config file; empty when it has none.
pub const FACT_CONFIG_FILE: &str = "config_file";

/// Why CONFIG REWRITE cannot persist the runtime configuration of this instance, if it cannot:
/// a server started without a config file refuses it, and in Kubernetes the file it would
/// rewrite lives in the pod (built from a ConfigMap or the chart) and is gone with the pod.
/// Unknown facts (no sample yet) do not block it: the server then says why if it fails.
fn rewrite_blocker(ctx: &PlanContext<'_>) -> Option<String> {
    if let Some(context) = &ctx.target.context {
        return Some(format!(
            "{} runs in Kubernetes (context {context}): the file CONFIG REWRITE would write is the \
             pod's copy, rebuilt from the ConfigMap or the Helm chart's values when the pod is replaced",
            ctx.target.instance
        ));
    }
    let config_file = ctx
        .facts
        .extra
        .iter()
        .find(|(k, _)| k == FACT_CONFIG_FILE)
        .map(|(_, v)| v.as_str())?;
    config_file
        .is_empty()
        .then(|| "the server runs without a config file (INFO config_file is empty)".to_string())
}

/// The manual line that replaces CONFIG REWRITE when it cannot work: which settings to persist,
/// and where.
fn persist_by_hand(step: &RepairStep, ctx: &PlanContext<'_>) -> Option<String> {
    let why = rewrite_blocker(ctx)?;
    let settings: Vec<String> = step
        .commands
        .iter()
        .filter_map(|c| match c.argv.as_slice() {
            [config, set, key, value] if config == "CONFIG" && set == "SET" => {
                Some(format!("`{key} {value}`"))
            }
            _ => None,
        })
        .collect();
    let place = if ctx.target.context.is_some() {
        "in the ConfigMap that carries its redis.conf — or in the Helm chart's values if a chart \
         installed it — then roll the pods"
    } else {
        "in the redis.conf the server is started with (`redis-server /path/to/redis.conf`)"
    };
    Some(format!(
        "RDS-FIX-16 by hand: persist {} {place}, or it is lost at the next restart ({why}).",
        settings.join(", ")
    ))
}

impl RepairCatalog for RedisRepairs {
    fn actions(&self) -> &'static [ActionSpec] {
        ACTIONS
    }

    fn manual_only(&self) -> &'static [(&'static str, &'static str)] {
        MANUAL_ONLY
    }

    fn system(&self) -> &'static str {
        "Redis"
    }

    fn build_step(
        &self,
        a: &'static ActionSpec,
        params: &Map<String, Value>,
        ctx: &PlanContext<'_>,
    ) -> Result<RepairStep, String> {
        let action = a.id;
        let required = |name: &str| a.required(params, name);
        let step = match action {
            "RDS-FIX-01" => {
                let bytes = parse_bytes(&required("bytes")?)?;
                config_step(a, ctx, &[("maxmemory", bytes.to_string())],
                    "Changes the memory limit at runtime. Lowering it below used_memory starts mass eviction or OOM errors; raising it needs that much free RAM on the host (plus fork copy-on-write headroom).".into())
            }
            "RDS-FIX-02" => {
                let policy = param(params, "policy").unwrap_or_else(|| "allkeys-lru".into());
                if !POLICIES.contains(&policy.as_str()) {
                    return Err(format!("`{policy}` is not an evicting policy ({})", POLICIES.join(", ")));
                }
                config_step(a, ctx, &[("maxmemory-policy", policy)],
                    "Keys start being evicted with the next write that needs memory — evicted keys are gone forever. Only for a cache whose data can be rebuilt.".into())
            }
            "RDS-FIX-03" => a.step(ctx, vec![cmd(&["MEMORY", "PURGE"])], vec![cmd(&["INFO", "memory"])],
                RollbackSpec::NotNeeded("MEMORY PURGE changes no data or setting".into()),
                Some(Probe { command: cmd(&["INFO", "memory"]), check: Check::InfoAtMost { field: "allocator_resident".into() }, within: Duration::ZERO }),
                "Asks jemalloc to return dirty pages to the OS; brief CPU, no data change."),
            "RDS-FIX-04" => config_step(a, ctx, &[("activedefrag", "yes".into())],
                "Defragments in the background, using CPU within active-defrag-cycle-min/max.".into()),
            "RDS-FIX-05" => {
                let id = required("id")?;
                if id.parse::<u64>().is_err() {
                    return Err(format!("client id `{id}` is not a number"));
                }
                a.step(ctx, vec![cmd(&["CLIENT", "KILL", "ID", &id])], vec![cmd(&["CLIENT", "LIST", "ID", &id])],
                    RollbackSpec::Irreversible("the client must reconnect by itself".into()),
                    Some(Probe { command: cmd(&["CLIENT", "LIST", "ID", &id]), check: Check::Empty, within: Duration::from_secs(2) }),
                    "The client sees a dropped connection; pools reconnect.")
            }
            "RDS-FIX-06" => {
                let n = required("n")?;
                let n: u64 = n.parse().map_err(|_| format!("maxclients `{n}` is not a number"))?;
                config_step(a, ctx, &[("maxclients", n.to_string())],
                    "More clients may connect; Redis refuses a value above its file-descriptor limit.".into())
            }
            "RDS-FIX-07" => config_step(a, ctx, &[("stop-writes-on-bgsave-error", "no".into())],
                "Writes resume although snapshots fail: a restart now loses everything since the last good save. Fix the disk or `dir`, then BGSAVE.".into()),
            "RDS-FIX-08" => config_step(a, ctx, &[
                ("latency-monitor-threshold", "100".into()),
                ("slowlog-log-slower-than", "10000".into()),
                ("slowlog-max-len", "1024".into()),
            ], "Records latency spikes over 100 ms and commands slower than 10 ms (1 024 kept).".into()),
            "RDS-FIX-09" => a.step(ctx, vec![cmd(&["BGSAVE"])], vec![cmd(&["INFO", "persistence"])],
                RollbackSpec::NotNeeded("a snapshot changes no data".into()),
                Some(Probe { command: cmd(&["INFO", "persistence"]), check: Check::All(vec![
                    Check::InfoEquals { field: "rdb_bgsave_in_progress".into(), value: "0".into() },
                    Check::InfoEquals { field: "rdb_last_bgsave_status".into(), value: "ok".into() },
                ]), within: Duration::from_secs(60) }),
                "Forks to write a snapshot: a latency spike at the fork and up to 2× memory (copy-on-write) in the worst case."),
            "RDS-FIX-10" => config_step(a, ctx, &[
                ("appendfsync", "everysec".into()),
                ("no-appendfsync-on-rewrite", "yes".into()),
            ], "A crash can lose up to ~1–2 s of writes (longer during a rewrite).".into()),
            "RDS-FIX-11" => {
                let mut step = a.step(ctx, vec![cmd(&["SCRIPT", "KILL"])], vec![],
                    RollbackSpec::Irreversible("the script is aborted".into()),
                    Some(Probe { command: cmd(&["PING"]), check: Check::Reply("PONG".into()), within: Duration::from_secs(5) }),
                    "Aborts the running Lua script (only possible if it has not written; otherwise only SHUTDOWN NOSAVE helps — manual).");
                step.for_busy_server = true;
                step
            }
            "RDS-FIX-12" => config_step(a, ctx, &[("protected-mode", "yes".into())],
                "Remote clients without a password are cut off immediately.".into()),
            "RDS-FIX-13" => {
                let (password, generated) = match param(params, "password").filter(|p| !p.is_empty()) {
                    Some(p) if p.starts_with("[REDACTED") => return Err("the password arrived redacted; pass it yourself".into()),
                    Some(p) => (p, false),
                    None => (random_password()?, true),
                };
                let mut step = a.step(ctx,
                    vec![Command::new(&["ACL", "SETUSER", "default", "on", &format!(">{password}")]).with_secret(4)],
                    vec![cmd(&["ACL", "GETUSER", "default"])],
                    RollbackSpec::RestoreAcl { user: "default".into() },
                    Some(Probe { command: cmd(&["ACL", "GETUSER", "default"]), check: Check::ReplyLacks("nopass".into()), within: Duration::ZERO }),
                    "Every client without the password fails at once — this program's collector too until its password is configured.");
                if generated {
                    step.effect.push_str(&format!(" New password (shown only here, store it now): {password}"));
                }
                step
            }
            "RDS-FIX-14" => {
                let user = required("user")?;
                if user == ctx.own_user_or(super::kind::DESCRIPTOR.default_user) {
                    return Err(format!("`{user}` is the user this program logs in as: taking @dangerous from it would also take away the rollback (ACL SETUSER)"));
                }
                a.step(ctx, vec![cmd(&["ACL", "SETUSER", &user, "-@dangerous"])], vec![cmd(&["ACL", "GETUSER", &user])],
                    RollbackSpec::RestoreAcl { user: user.clone() },
                    Some(Probe { command: cmd(&["ACL", "DRYRUN", &user, "CONFIG", "SET", "x", "y"]), check: Check::ReplyHas("no permissions".into()), within: Duration::ZERO }),
                    "Admin tooling that logs in as this user loses CONFIG, DEBUG, FLUSHALL and the other @dangerous commands.")
            }
            "RDS-FIX-15" => {
                let key = required("key")?;
                a.step(ctx, vec![cmd(&["UNLINK", &key])], vec![cmd(&["TYPE", &key])],
                    RollbackSpec::Irreversible("the key's data is deleted".into()),
                    Some(Probe { command: cmd(&["EXISTS", &key]), check: Check::Reply("0".into()), within: Duration::ZERO }),
                    "Deletes the key; memory is freed in the background.")
            }
            "RDS-FIX-16" => {
                if let Some(why) = rewrite_blocker(ctx) {
                    return Err(format!("CONFIG REWRITE cannot persist anything here: {why}"));
                }
                a.step(ctx, vec![cmd(&["CONFIG", "REWRITE"])], vec![],
                    RollbackSpec::Manual("re-apply the old values (the rollbacks of the earlier steps), then CONFIG REWRITE again".into()),
                    None,
                    "Writes the runtime configuration into redis.conf (fails if the file is not writable).")
            }
            _ => return Err(format!("`{action}` is not a Redis repair action")),
        };
        Ok(step)
    }

    fn for_finding(
        &self,
        finding: &Finding,
        ctx: &PlanContext<'_>,
    ) -> (Vec<RepairStep>, Vec<String>) {
        let evidence = |k: &str| finding.evidence.get(k).and_then(Value::as_f64);
        let mut params = Map::new();
        let action = match finding.id.as_str() {
            "RDS-MEM-01" | "RDS-MEM-02" => {
                let used = evidence("used_memory").unwrap_or(0.0);
                let max = evidence("maxmemory").unwrap_or(0.0);
                let target = (used.max(max) * 1.25 / 1_048_576.0).ceil() as u64 * 1_048_576;
                if target == 0 {
                    return (Vec::new(), vec![finding.recommendation.clone()]);
                }
                params.insert("bytes".into(), target.to_string().into());
                "RDS-FIX-01"
            }
            "RDS-MEM-05" | "RDS-MEM-06" => "RDS-FIX-04",
            "RDS-MEM-07" | "RDS-MEM-08" => "RDS-FIX-03",
            "RDS-CONN-01" | "RDS-CONN-02" => {
                let clients = evidence("connected_clients").unwrap_or(0.0);
                let max = evidence("maxclients").unwrap_or(clients);
                params.insert(
                    "n".into(),
                    ((max.max(clients) * 2.0) as u64)
                        .max(10_000)
                        .to_string()
                        .into(),
                );
                "RDS-FIX-06"
            }
            "RDS-PER-01" | "RDS-PER-04" => "RDS-FIX-09",
            "RDS-PER-02" | "RDS-LAT-04" => "RDS-FIX-10",
            "RDS-LAT-03" => "RDS-FIX-08",
            "RDS-LAT-07" => "RDS-FIX-11",
            "RDS-SEC-01" => "RDS-FIX-13",
            "RDS-SEC-02" => "RDS-FIX-12",
            _ => return (Vec::new(), Vec::new()),
        };
        let mut manual = Vec::new();
        if finding.id == "RDS-MEM-01" {
            manual.push("For a disposable cache, RDS-FIX-02 (switch to allkeys-lru) is the other way out — dangerous: keys are evicted at once. Ask for it explicitly.".into());
        }
        match self.build(action, &params, ctx) {
            Ok(step) => {
                let mut steps = vec![step];
                if matches!(steps[0].rollback, RollbackSpec::RestoreConfig { .. }) {
                    match self.build("RDS-FIX-16", &Map::new(), ctx) {
                        Ok(persist) => steps.push(persist),
                        Err(_) => manual.extend(persist_by_hand(&steps[0], ctx)),
                    }
                }
                (steps, manual)
            }
            Err(e) => (Vec::new(), vec![format!("{action}: {e}")]),
        }
    }
}

#[cfg(test)]
mod tests;
