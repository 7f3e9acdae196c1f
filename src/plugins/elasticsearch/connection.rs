//! Talking to Elasticsearch/OpenSearch over its REST API through the official client's
//! transport: the collector's reads pass the (method, path) allowlist first; writes are for the
//! executor only. Replies are checked for what a real cluster (or a proxy in front of it) can
//! get wrong: an HTML error page, a body cut off, malformed JSON, 401/403.

use std::time::Duration;

use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::Method;
use elasticsearch::http::headers::{HeaderMap, HeaderValue, X_OPAQUE_ID};
use elasticsearch::http::transport::{SingleNodeConnectionPool, Transport, TransportBuilder};
use serde_json::Value;

use super::http_guard::check_read_only;
use crate::config::{InstanceConfig, resolve_password};
use crate::plugins::PluginError;
use crate::repair::ExecutorToken;

/// Where and how to reach a cluster (the password is resolved, never printed).
#[derive(Clone)]
pub struct EsTarget {
    /// `elasticsearch://host:port` or `elasticsearch+https://host:port`, without credentials.
    pub endpoint: String,
    base: url::Url,
    credentials: Option<(String, String)>,
    ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for EsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsTarget")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// The `X-Opaque-Id` of the collector's, the tools' and the executor's reads: Elasticsearch
/// and OpenSearch write it into their slow logs, task list, deprecation log and HTTP tracer,
/// so an operator can tell this program's requests from the applications'.
pub const OPAQUE_ID_READ: &str = "kubestack-ai";
/// The `X-Opaque-Id` of the repair executor's writes.
pub const OPAQUE_ID_REPAIR: &str = "kubestack-ai-repair";

/// A reply: status and JSON body (or the text for the `_cat` text views and hot threads).
#[derive(Debug, Clone, PartialEq)]
pub struct EsReply {
    pub status: u16,
    pub body: Value,
}

impl EsTarget {
    /// The target of a configured instance; user and password from `username` /
    /// `password_env` / `password_file`, or the URL.
    pub fn from_instance(instance: &InstanceConfig) -> Result<Self, PluginError> {
        let url = crate::plugins::registry::validate_url_for(instance).map_err(|reason| {
            PluginError::Config(format!("instance `{}`: url: {reason}", instance.name))
        })?;
        let scheme = if url.scheme() == "elasticsearch+https" {
            "https"
        } else {
            "http"
        };
        let host = url.host_str().unwrap_or("127.0.0.1");
        let port = url.port().unwrap_or(9200);
        let base = url::Url::parse(&format!("{scheme}://{host}:{port}/"))
            .map_err(|e| PluginError::Config(format!("instance `{}`: url: {e}", instance.name)))?;
        let password = resolve_password(instance)
            .map_err(|e| PluginError::Config(e.to_string()))?
            .or_else(|| url.password().map(crate::config::decode_userinfo));
        let user = instance.username.clone().or_else(|| {
            (!url.username().is_empty()).then(|| crate::config::decode_userinfo(url.username()))
        });
        let ca_pem = match &instance.tls_ca_file {
            Some(path) => Some(std::fs::read(path).map_err(|e| {
                PluginError::Config(format!(
                    "instance `{}`: tls_ca_file {}: {e}",
                    instance.name,
                    path.display()
                ))
            })?),
            None => None,
        };
        Ok(EsTarget {
            endpoint: format!("{}://{host}:{port}", url.scheme()),
            base,
            credentials: user.map(|u| (u, password.unwrap_or_default())),
            ca_pem,
        })
    }

    /// Whether requests carry credentials (ES-SEC-01 asks whether the cluster answers without).
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    fn transport(
        &self,
        timeout: Duration,
        with_credentials: bool,
    ) -> Result<Transport, PluginError> {
        let mut b = TransportBuilder::new(SingleNodeConnectionPool::new(self.base.clone()))
            .disable_proxy()
            .timeout(timeout);
        if with_credentials && let Some((u, p)) = &self.credentials {
            b = b.auth(Credentials::Basic(u.clone(), p.clone()));
        }
        if let Some(pem) = &self.ca_pem {
            let cert = Certificate::from_pem(pem).map_err(|e| {
                PluginError::Config(format!(
                    "{}: tls_ca_file is not a PEM certificate: {e}",
                    self.endpoint
                ))
            })?;
            b = b.cert_validation(CertificateValidation::Full(cert));
        }
        b.build()
            .map_err(|e| PluginError::Config(format!("{}: {e}", self.endpoint)))
    }

    /// The collector's client: every request is checked read-only first.
    pub fn reader(&self, timeout: Duration) -> Result<EsReader, PluginError> {
        Ok(EsReader {
            http: EsHttp {
                transport: self.transport(timeout, true)?,
                endpoint: self.endpoint.clone(),
                timeout,
                opaque_id: OPAQUE_ID_READ,
            },
            anonymous: if self.has_credentials() {
                Some(EsHttp {
                    transport: self.transport(timeout, false)?,
                    endpoint: self.endpoint.clone(),
                    timeout,
                    opaque_id: OPAQUE_ID_READ,
                })
            } else {
                None
            },
        })
    }

    /// A client that can write — for the repair executor only (it needs the token).
    pub fn writer(&self, timeout: Duration, _token: &ExecutorToken) -> Result<EsHttp, PluginError> {
        Ok(EsHttp {
            transport: self.transport(timeout, true)?,
            endpoint: self.endpoint.clone(),
            timeout,
            opaque_id: OPAQUE_ID_REPAIR,
        })
    }
}

/// Bytes of one reply at most (the largest reads — `_cat/shards` and node stats of a big
/// cluster — are a few MiB).
pub const MAX_REPLY_BYTES: usize = 32 << 20;

/// One HTTP client of a cluster.
pub struct EsHttp {
    transport: Transport,
    endpoint: String,
    timeout: Duration,
    /// Sent as `X-Opaque-Id` with every request.
    opaque_id: &'static str,
}

impl EsHttp {
    /// Sends a request; an error status is returned as a reply, except 401/403 (`Auth`).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<EsReply, PluginError> {
        let m = match method.to_ascii_uppercase().as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            other => {
                return Err(PluginError::Config(format!(
                    "HTTP method {other} is not supported"
                )));
            }
        };
        let endpoint = self.endpoint.clone();
        let body = body.map(|b| b.to_string());
        let mut headers = HeaderMap::new();
        headers.insert(X_OPAQUE_ID, HeaderValue::from_static(self.opaque_id));
        let response = self
            .transport
            .send(m, path, headers, None::<&()>, body, Some(self.timeout))
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    PluginError::Timeout {
                        endpoint: endpoint.clone(),
                        millis: self.timeout.as_millis() as u64,
                    }
                } else {
                    let reason = source_chain(&e);
                    // Something answered, but not in HTTP: most often a node's transport port
                    // (9300), which a real node answers with a line of plain text.
                    if reason.contains("invalid HTTP") {
                        PluginError::Protocol {
                            endpoint: endpoint.clone(),
                            reason: format!(
                                "{method} {path}: the port answered, but not in HTTP — is this a node's transport port (9300) rather than its HTTP port (9200)? ({reason})"
                            ),
                        }
                    } else {
                        PluginError::Unreachable {
                            endpoint: endpoint.clone(),
                            reason,
                        }
                    }
                }
            })?;
        let status = response.status_code().as_u16();
        let content_type = response.content_type().to_string();
        let too_big = |size: String| PluginError::Protocol {
            endpoint: endpoint.clone(),
            reason: format!(
                "{method} {path}: the reply ({size}) is larger than the {} MiB cap on a reply",
                MAX_REPLY_BYTES >> 20
            ),
        };
        // A declared length past the cap is refused before a byte of the body is read.
        if let Some(len) = response.content_length()
            && len > MAX_REPLY_BYTES as u64
        {
            return Err(too_big(format!("{len} bytes declared")));
        }
        let text = response.text().await.map_err(|e| PluginError::Protocol {
            endpoint: endpoint.clone(),
            reason: format!(
                "{method} {path}: the reply was cut off ({})",
                source_chain(&e)
            ),
        })?;
        // The client crate offers no bounded read: a chunked reply (no declared length) is
        // read whole, then refused here before it is parsed or kept.
        if text.len() > MAX_REPLY_BYTES {
            return Err(too_big(format!("{} bytes", text.len())));
        }
        if status == 401 || status == 403 {
            return Err(PluginError::Auth {
                endpoint,
                reason: format!("HTTP {status} on {method} {path}: {}", error_reason(&text)),
            });
        }
        let wants_json = !(path.contains("hot_threads")
            || (path.starts_with("/_cat") && !path.contains("format=json")));
        if !wants_json || method.eq_ignore_ascii_case("HEAD") {
            return Ok(EsReply {
                status,
                body: Value::String(text),
            });
        }
        if !content_type.contains("json") {
            return Err(PluginError::Protocol {
                endpoint,
                reason: format!(
                    "{method} {path}: HTTP {status} answered `{}` instead of JSON (a proxy or another service on this port?): {}",
                    if content_type.is_empty() {
                        "no content type"
                    } else {
                        &content_type
                    },
                    text.chars().take(120).collect::<String>()
                ),
            });
        }
        let body: Value = serde_json::from_str(&text).map_err(|e| PluginError::Protocol {
            endpoint: endpoint.clone(),
            reason: format!("{method} {path}: malformed JSON ({e})"),
        })?;
        Ok(EsReply { status, body })
    }
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(&format!(": {s}"));
        cur = s.source();
    }
    out
}

/// `{"error":{"type":…,"reason":…}}` → `type: reason`.
pub fn error_reason(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| {
            let e = v.get("error")?;
            Some(match e {
                Value::String(s) => s.clone(),
                _ => format!(
                    "{}: {}",
                    e.get("type").and_then(Value::as_str).unwrap_or("error"),
                    e.get("reason").and_then(Value::as_str).unwrap_or("")
                ),
            })
        })
        .unwrap_or_else(|| text.chars().take(160).collect())
}

/// The collector's connection: only allowlisted reads.
pub struct EsReader {
    http: EsHttp,
    /// The same cluster without credentials, to ask whether it answers anyone (ES-SEC-01).
    anonymous: Option<EsHttp>,
}

impl EsReader {
    /// A read; anything off the allowlist is refused before it is sent.
    pub async fn read(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<EsReply, PluginError> {
        check_read_only(method, path).map_err(|e| PluginError::Refused(e.to_string()))?;
        self.http.send(method, path, body).await
    }

    /// `GET path`, expecting 2xx JSON.
    pub async fn get(&self, path: &str) -> Result<Value, PluginError> {
        let r = self.read("GET", path, None).await?;
        if let Some(finding) = super::refusal::refusal_finding(r.status, "GET", path, &r.body) {
            return Err(PluginError::ServerRefused {
                endpoint: self.http.endpoint.clone(),
                reply: format!(
                    "GET {path}: HTTP {}: {}",
                    r.status,
                    error_reason(&r.body.to_string())
                ),
                finding: Box::new(finding),
            });
        }
        if !(200..300).contains(&r.status) {
            return Err(PluginError::Protocol {
                endpoint: self.http.endpoint.clone(),
                reason: format!(
                    "GET {path}: HTTP {}: {}",
                    r.status,
                    error_reason(&r.body.to_string())
                ),
            });
        }
        Ok(r.body)
    }

    /// Whether `GET /` succeeds without credentials (`None` when the collector has none either:
    /// then its own success answers the question).
    pub async fn answers_anonymously(&self) -> Option<bool> {
        let anon = self.anonymous.as_ref()?;
        Some(matches!(anon.send("GET", "/", None).await, Ok(r) if r.status == 200))
    }
}
