//! The read-only classification of catalog §5.4: a request is allowed on the collector's
//! connection only when its (method, normalised path) is on the allowlist. The method alone is
//! wrong both ways (allocation explain is a POST read; some GETs read documents), so unknown
//! paths are denied. Document reads (`_search`, `_doc` …) are not allowed either: the collector
//! never needs row data.

/// Why a request is refused on the read-only connection.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("not a read-only request: {method} {path} ({why})")]
pub struct Refusal {
    pub method: String,
    pub path: String,
    pub why: &'static str,
}

/// First path segments under which every GET is a read of cluster metadata.
const GET_PREFIXES: &[&str] = &[
    "_cat",
    "_nodes",
    "_health_report",
    "_xpack",
    "_license",
    "_snapshot",
    "_alias",
    "_aliases",
    "_template",
    "_index_template",
    "_component_template",
    "_ilm",
];

/// `_cluster/<x>` reads.
const CLUSTER_READS: &[&str] = &[
    "health",
    "state",
    "stats",
    "settings",
    "pending_tasks",
    "allocation",
];

/// Per-index reads: `/<index>/<x>`.
const INDEX_READS: &[&str] = &[
    "_settings",
    "_mapping",
    "_stats",
    "_segments",
    "_recovery",
    "_shard_stores",
    "_alias",
    "_ilm",
];

/// Whether `method path` may be sent on the collector's connection. `path` may carry a query.
pub fn check_read_only(method: &str, path: &str) -> Result<(), Refusal> {
    let method = method.to_ascii_uppercase();
    let (path_only, query) = path.split_once('?').unwrap_or((path, ""));
    let segments: Vec<&str> = path_only.split('/').filter(|s| !s.is_empty()).collect();
    let refuse = |why| {
        Err(Refusal {
            method: method.clone(),
            path: path.to_string(),
            why,
        })
    };
    if segments.iter().any(|s| *s == ".." || s.contains('%')) {
        return refuse("path tricks are refused");
    }
    let first = segments.first().copied().unwrap_or("");
    match method.as_str() {
        "GET" | "HEAD" => {
            if segments.is_empty() || GET_PREFIXES.contains(&first) {
                return Ok(());
            }
            if first == "_cluster" {
                return match segments.get(1) {
                    Some(s) if CLUSTER_READS.contains(s) => Ok(()),
                    _ => refuse("not a cluster read"),
                };
            }
            // The security plugin's health only: its other APIs return users and hashes.
            if segments == ["_plugins", "_security", "health"] {
                return Ok(());
            }
            if first == "_tasks" {
                return match segments.len() {
                    1 | 2 => Ok(()),
                    _ => refuse("only task listings are reads"),
                };
            }
            if !first.starts_with('_') || first == "_all" {
                return match segments.get(1) {
                    Some(s) if INDEX_READS.contains(s) => Ok(()),
                    None => refuse("index contents are not read by the collector"),
                    _ => refuse("documents are not read by the collector"),
                };
            }
            refuse("unknown API: denied by default")
        }
        "POST" => {
            if segments == ["_cluster", "allocation", "explain"] {
                return Ok(());
            }
            if segments == ["_cluster", "reroute"]
                && query
                    .split('&')
                    .any(|p| p == "dry_run=true" || p == "dry_run")
            {
                return Ok(());
            }
            if segments == ["_ingest", "pipeline", "_simulate"] {
                return Ok(());
            }
            refuse("POST changes state here")
        }
        _ => refuse("PUT, DELETE and PATCH change state"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pass() {
        for (m, p) in [
            ("GET", "/"),
            ("GET", "/_cluster/health"),
            ("GET", "/_cluster/health?level=indices"),
            (
                "GET",
                "/_cluster/settings?include_defaults=true&flat_settings=true",
            ),
            ("GET", "/_cluster/allocation/explain"),
            ("POST", "/_cluster/allocation/explain"),
            ("GET", "/_cat/shards?format=json&bytes=b"),
            (
                "GET",
                "/_nodes/stats/jvm,os,fs,process,thread_pool,breaker,indices",
            ),
            ("GET", "/_nodes/hot_threads"),
            ("GET", "/_tasks?detailed=true"),
            ("GET", "/logs-2026/_settings"),
            ("GET", "/_all/_settings?filter_path=**.blocks"),
            ("POST", "/_cluster/reroute?retry_failed=true&dry_run=true"),
            ("HEAD", "/"),
            ("GET", "/_plugins/_security/health"),
        ] {
            assert_eq!(check_read_only(m, p), Ok(()), "{m} {p}");
        }
    }

    #[test]
    fn writes_document_reads_and_unknown_apis_are_refused() {
        for (m, p) in [
            ("PUT", "/_cluster/settings"),
            ("DELETE", "/logs-2026"),
            ("POST", "/_cluster/reroute?retry_failed=true"),
            ("POST", "/_cache/clear?fielddata=true"),
            ("POST", "/_tasks/node:1/_cancel"),
            ("GET", "/_tasks/node:1/_cancel"),
            ("POST", "/logs/_doc"),
            ("GET", "/logs/_search"),
            ("GET", "/logs/_doc/1"),
            ("GET", "/logs"),
            ("POST", "/_bulk"),
            ("GET", "/_security/user"),
            ("GET", "/_cluster/voting_config_exclusions"),
            ("GET", "/_cat/../_cluster/settings"),
            ("GET", "/_plugins/_security/api/internalusers"),
            ("PATCH", "/"),
        ] {
            assert!(check_read_only(m, p).is_err(), "{m} {p}");
        }
    }
}
