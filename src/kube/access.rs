//! RBAC before acting: a SelfSubjectAccessReview asks the API server whether the current
//! credentials may do something (open a port-forward, read logs, patch a StatefulSet), so the UI
//! can say what is not allowed instead of failing late.
//!
//! A review stores nothing, but on the wire it is a `create` — a POST — and the API server's
//! audit log records it as one. A read-only context is promised no POST/PUT/PATCH/DELETE at
//! all, so callers skip the review there (and outside confirm mode; see
//! `Executor::withholds_mutating_requests`): the action itself then fails with the server's 403
//! if it is not allowed, which says the same, only later.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::PostParams;
use kube::{Api, Client};

/// One thing to ask about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
    pub subresource: Option<&'static str>,
    pub namespace: String,
    pub name: Option<String>,
}

impl Access {
    /// `create pods/portforward` in a namespace.
    pub fn port_forward(namespace: &str) -> Access {
        Access {
            verb: "create",
            group: "",
            resource: "pods",
            subresource: Some("portforward"),
            namespace: namespace.into(),
            name: None,
        }
    }

    /// `get pods/log` in a namespace.
    pub fn logs(namespace: &str) -> Access {
        Access {
            verb: "get",
            group: "",
            resource: "pods",
            subresource: Some("log"),
            namespace: namespace.into(),
            name: None,
        }
    }

    /// `get secrets/NAME` in a namespace.
    pub fn secret(namespace: &str, name: &str) -> Access {
        Access {
            verb: "get",
            group: "",
            resource: "secrets",
            subresource: None,
            namespace: namespace.into(),
            name: Some(name.into()),
        }
    }

    /// `verb` on a workload or pod (`patch statefulsets`, `delete pods` …).
    pub fn on(
        verb: &'static str,
        group: &'static str,
        resource: &'static str,
        namespace: &str,
    ) -> Access {
        Access {
            verb,
            group,
            resource,
            subresource: None,
            namespace: namespace.into(),
            name: None,
        }
    }

    /// `create pods/portforward in payments`.
    pub fn describe(&self) -> String {
        let res = match self.subresource {
            Some(s) => format!("{}/{s}", self.resource),
            None => self.resource.to_string(),
        };
        format!("{} {res} in {}", self.verb, self.namespace)
    }
}

/// Whether it is allowed: `Ok(())`, or `Err` saying what is not allowed (or why it could not
/// be checked — an API server that cannot answer the review does not block the action; the
/// action's own error will then say more).
pub async fn check(client: &Client, access: &Access) -> Result<(), String> {
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(access.verb.into()),
                group: Some(access.group.into()),
                resource: Some(access.resource.into()),
                subresource: access.subresource.map(str::to_string),
                namespace: Some(access.namespace.clone()),
                name: access.name.clone(),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    };
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    match api.create(&PostParams::default(), &review).await {
        Ok(r) => match r.status {
            Some(s) if !s.allowed => Err(format!(
                "not allowed: {}{}",
                access.describe(),
                s.reason
                    .filter(|r| !r.is_empty())
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )),
            _ => Ok(()),
        },
        Err(e) => {
            tracing::debug!("access review for {} failed: {e}", access.describe());
            Ok(())
        }
    }
}
