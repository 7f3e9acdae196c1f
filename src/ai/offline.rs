//! The offline analysis: when no model is configured or it cannot answer, the rule engine
//! answers — clearly labelled, with rule ids, explanations and recommended actions. The
//! findings that speak to the question (its words, the metrics and categories they name) come
//! first with their next step; the rest follow, most severe first.

use crate::model::Finding;

/// The label every offline answer starts with.
pub const OFFLINE_LABEL: &str = "Offline analysis (built-in rule engine — no model was asked)";

/// What a question's words mean to the rules: a word (or, for questions written without
/// spaces, a piece of text such as `写入`) and the terms of the findings it points at. Terms are
/// matched against a finding's id, category, title, detail, evidence keys and recommendation.
const CONCEPTS: &[(&[&str], &[&str])] = &[
    (
        &[
            "write", "writes", "writing", "insert", "set", "put", "produce", "publish", "index",
            "写", "写入",
        ],
        &[
            "memory",
            "maxmemory",
            "oom",
            "evict",
            "persistence",
            "rdb",
            "aof",
            "bgsave",
            "disk",
            "watermark",
            "read_only",
            "read-only",
            "readonly",
            "block",
            "lock",
            "isr",
            "under-replicated",
            "replica",
            "allocation",
            "unassigned",
            "rejected",
            "write",
        ],
    ),
    (
        &[
            "slow", "slowness", "latency", "timeout", "timeouts", "lag", "lagging", "delay", "慢",
            "延迟", "超时",
        ],
        &[
            "latency",
            "slowlog",
            "slow",
            "lag",
            "queue",
            "rejected",
            "threads",
            "cpu",
            "fragmentation",
            "pending",
            "blocked",
            "lock",
            "throttl",
        ],
    ),
    (
        &[
            "memory", "oom", "ram", "evicted", "eviction", "heap", "内存",
        ],
        &[
            "memory",
            "maxmemory",
            "evict",
            "fragmentation",
            "heap",
            "jvm",
            "oom",
            "breaker",
        ],
    ),
    (
        &[
            "connect",
            "connection",
            "connections",
            "refused",
            "clients",
            "client",
            "连接",
        ],
        &[
            "connection",
            "clients",
            "maxclients",
            "max_connections",
            "threads",
            "aborted",
            "refused",
        ],
    ),
    (
        &["disk", "space", "full", "storage", "磁盘", "空间"],
        &[
            "disk",
            "watermark",
            "persistence",
            "storage",
            "binlog",
            "log_dirs",
            "flood",
        ],
    ),
    (
        &[
            "security", "secure", "password", "auth", "exposed", "acl", "tls", "安全", "密码",
        ],
        &[
            "security",
            "password",
            "auth",
            "acl",
            "tls",
            "anonymous",
            "grant",
            "protected",
        ],
    ),
    (
        &[
            "replica",
            "replicas",
            "replication",
            "failover",
            "slave",
            "follower",
            "复制",
            "主从",
        ],
        &[
            "replication",
            "replica",
            "slave",
            "isr",
            "master_link",
            "failover",
            "io_thread",
        ],
    ),
    (
        &[
            "crash", "crashing", "restart", "restarts", "pod", "pods", "down", "崩溃", "重启",
        ],
        &[
            "pod",
            "restart",
            "crashloop",
            "oomkilled",
            "not ready",
            "pending",
            "k8s",
        ],
    ),
    (
        &[
            "consumer",
            "consumers",
            "group",
            "groups",
            "offset",
            "offsets",
            "消费",
        ],
        &["lag", "consumer", "group", "rebalanc", "offset"],
    ),
    (
        &[
            "red", "yellow", "shard", "shards", "cluster", "health", "分片",
        ],
        &[
            "shard",
            "unassigned",
            "allocation",
            "status",
            "health",
            "node",
        ],
    ),
];

/// The systems' own names: every finding of an instance is about its system.
const KIND_WORDS: &[&str] = &[
    "redis",
    "mysql",
    "mariadb",
    "kafka",
    "elasticsearch",
    "opensearch",
    "instance",
    "server",
    "cluster",
    "database",
    "broker",
];

/// Words too common to say what a question is about.
const STOP_WORDS: &[&str] = &[
    "the",
    "and",
    "are",
    "why",
    "what",
    "how",
    "is",
    "was",
    "were",
    "does",
    "did",
    "can",
    "for",
    "with",
    "this",
    "that",
    "there",
    "from",
    "have",
    "has",
    "not",
    "any",
    "all",
    "who",
    "when",
    "where",
    "which",
    "should",
    "would",
    "could",
    "you",
    "your",
    "our",
    "its",
    "it's",
    "about",
    "into",
    "than",
    "then",
    "them",
    "they",
    "failing",
    "fail",
    "fails",
    "failed",
    "error",
    "errors",
    "problem",
    "problems",
    "wrong",
    "issue",
    "issues",
    "happening",
    "going",
    "on",
];

/// The terms a question asks about: its own words (three letters or more, not a stop word)
/// and the finding terms its words or phrases point at.
/// The question's own words count up to this many (a pasted log is no question).
const MAX_QUESTION_WORDS: usize = 64;

/// The terms a question asks about: its own words (three letters or more, not a stop word,
/// not part of the instance's name — "why is redis-cache slow" is not about every finding that
/// says "redis") and the finding terms its words or phrases point at.
fn question_terms(question: &str, instance: &str) -> Vec<String> {
    let head: String = question.chars().take(2_000).collect();
    let lower = head.to_lowercase();
    let instance = instance.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut terms: Vec<String> = words
        .iter()
        .filter(|w| {
            w.chars().count() >= 3
                && !STOP_WORDS.contains(w)
                && !instance.contains(*w)
                && !KIND_WORDS.contains(w)
        })
        .take(MAX_QUESTION_WORDS)
        .map(|w| w.to_string())
        .collect();
    for (asks, means) in CONCEPTS {
        let hit = asks.iter().any(|a| {
            if a.is_ascii() {
                words.contains(a)
            } else {
                lower.contains(a)
            }
        });
        if hit {
            terms.extend(means.iter().map(|m| m.to_string()));
        }
    }
    terms.sort();
    terms.dedup();
    terms
}

/// The terms of `terms` a finding speaks of.
fn matched<'t>(finding: &Finding, terms: &'t [String]) -> Vec<&'t str> {
    let mut text = format!(
        "{} {} {} {} {}",
        finding.id, finding.category, finding.title, finding.detail, finding.recommendation
    )
    .to_lowercase();
    for key in finding.evidence.keys() {
        text.push(' ');
        text.push_str(&key.to_lowercase());
    }
    terms
        .iter()
        .filter(|t| text.contains(t.as_str()))
        .map(String::as_str)
        .collect()
}

/// Answers `question` about `instance` from its findings: those that match the question
/// first (most matched terms, then most severe), each with its next step; then the others.
pub fn offline_analysis(
    instance: &str,
    question: &str,
    health_problem: Option<&str>,
    findings: &[Finding],
) -> String {
    let mut out = format!("{OFFLINE_LABEL}\n\n");
    if let Some(problem) = health_problem {
        out.push_str(&format!(
            "{instance} cannot be collected right now: {problem}\n\n"
        ));
    }
    if findings.is_empty() {
        out.push_str(&format!(
            "No rule fires for {instance}: memory, latency, connections, replication, persistence \
             and security checks all pass on the latest sample.\n"
        ));
        return out;
    }
    let terms = question_terms(question, instance);
    let mut ranked: Vec<(&Finding, Vec<&str>)> =
        findings.iter().map(|f| (f, matched(f, &terms))).collect();
    ranked.sort_by(|(a, am), (b, bm)| {
        bm.len()
            .min(1)
            .cmp(&am.len().min(1))
            .then(b.severity.cmp(&a.severity))
            .then(bm.len().cmp(&am.len()))
            .then(a.id.cmp(&b.id))
    });
    let matching = ranked.iter().filter(|(_, m)| !m.is_empty()).count();
    // Quoted back, so bounded: a pasted log is no question to repeat.
    let mut question_text: String = question.split_whitespace().collect::<Vec<_>>().join(" ");
    if question_text.chars().count() > 120 {
        question_text = question_text.chars().take(119).collect::<String>() + "…";
    }
    if matching > 0 {
        out.push_str(&format!(
            "{instance}: {matching} of {} finding(s) bear on “{question_text}”, most severe first; start with the first one's next step.\n",
            ranked.len()
        ));
    } else if !question_text.is_empty() {
        out.push_str(&format!(
            "{instance}: no finding speaks of what “{question_text}” asks; all {} finding(s), most severe first:\n",
            ranked.len()
        ));
    } else {
        out.push_str(&format!(
            "{instance} has {} finding(s), most severe first:\n",
            ranked.len()
        ));
    }
    for (i, (f, m)) in ranked.iter().enumerate() {
        if i == matching && matching > 0 {
            out.push_str("\nThe other findings, most severe first:\n");
        }
        let evidence: Vec<String> = f
            .evidence
            .iter()
            .filter(|(k, _)| *k != "threshold")
            .take(5)
            .map(|(k, v)| format!("{k}={}", v.to_string().trim_matches('"')))
            .collect();
        let why_here = if m.is_empty() {
            String::new()
        } else {
            let shown: Vec<&str> = m.iter().take(8).copied().collect();
            let more = if m.len() > shown.len() { ", …" } else { "" };
            format!("   Matches: {}{more}\n", shown.join(", "))
        };
        out.push_str(&format!(
            "\n{}. {} {} — {}\n{why_here}   Why: {}\n   Evidence: {}\n   Do: {}\n",
            i + 1,
            f.severity.tag(),
            f.id,
            f.title,
            f.detail,
            evidence.join(", "),
            f.recommendation
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Severity;

    fn findings() -> Vec<Finding> {
        vec![
            Finding::new(
                "RDS-LAT-01",
                Severity::Warning,
                "latency",
                "slow commands in the slow log",
                "d1",
                "use SCAN",
            )
            .with("count", 3),
            Finding::new(
                "RDS-MEM-01",
                Severity::Critical,
                "memory",
                "memory near maxmemory",
                "d2",
                "free memory",
            ),
            Finding::new(
                "RDS-PER-02",
                Severity::Warning,
                "persistence",
                "last background save failed",
                "writes are refused while stop-writes-on-bgsave-error is on",
                "fix the disk, then BGSAVE",
            ),
            Finding::new(
                "RDS-SEC-01",
                Severity::Critical,
                "security",
                "no password",
                "anyone on the network can connect",
                "set requirepass",
            ),
        ]
    }

    fn order(text: &str) -> Vec<&str> {
        let mut ids: Vec<(usize, &str)> = ["RDS-LAT-01", "RDS-MEM-01", "RDS-PER-02", "RDS-SEC-01"]
            .into_iter()
            .map(|id| (text.find(id).unwrap(), id))
            .collect();
        ids.sort();
        ids.into_iter().map(|(_, id)| id).collect()
    }

    #[test]
    fn without_a_question_findings_are_listed_most_severe_first_with_ids_and_actions() {
        let text = offline_analysis("redis-cache", "", None, &findings());
        assert!(text.starts_with(OFFLINE_LABEL));
        assert_eq!(
            order(&text),
            ["RDS-MEM-01", "RDS-SEC-01", "RDS-LAT-01", "RDS-PER-02"]
        );
        assert!(text.contains("Do: free memory") && text.contains("count=3"));
        assert!(offline_analysis("x", "", Some("down"), &[]).contains("cannot be collected"));
    }

    #[test]
    fn the_findings_that_match_the_question_lead_and_the_answer_differs_by_question() {
        let writes = offline_analysis("c", "why are writes failing?", None, &findings());
        assert_eq!(
            order(&writes)[..2],
            ["RDS-MEM-01", "RDS-PER-02"],
            "memory and persistence bear on writes\n{writes}"
        );
        assert!(writes.contains("2 of 4 finding(s) bear on"), "{writes}");
        assert!(writes.contains("The other findings"), "{writes}");
        let slow = offline_analysis("c", "Why is it so slow?", None, &findings());
        assert_eq!(order(&slow)[0], "RDS-LAT-01", "{slow}");
        let secure = offline_analysis("c", "is it secure?", None, &findings());
        assert_eq!(order(&secure)[0], "RDS-SEC-01", "{secure}");
        assert_ne!(writes, slow);
        // The instance's and the system's names say nothing about which finding is meant.
        let named = offline_analysis("redis-cache", "why is redis-cache slow?", None, &findings());
        assert!(named.contains("1 of 4 finding(s) bear on"), "{named}");
        assert_eq!(order(&named)[0], "RDS-LAT-01");
        // Questions without spaces (Chinese) match by phrase.
        let zh = offline_analysis("缓存", "为什么写入失败？", None, &findings());
        assert_eq!(order(&zh)[..2], ["RDS-MEM-01", "RDS-PER-02"], "{zh}");
        // A question no finding speaks of says so and lists them all.
        let other = offline_analysis("c", "what about the weather", None, &findings());
        assert!(other.contains("no finding speaks of"), "{other}");
        assert_eq!(order(&other)[0], "RDS-MEM-01");
    }

    #[test]
    fn hostile_questions_are_answered_without_panicking() {
        for q in [
            "\u{0}\u{202e}",
            "🔥🔥🔥",
            "-",
            "________",
            "写",
            &"why ".repeat(100_000),
        ] {
            let text = offline_analysis("c", q, None, &findings());
            assert!(text.starts_with(OFFLINE_LABEL));
            assert!(text.len() < 4_000, "the question is quoted bounded");
        }
    }
}
