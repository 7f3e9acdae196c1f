//! Reading one key of a Kubernetes Secret (a discovered instance's password), checked first by
//! a SelfSubjectAccessReview where POSTs may be sent. The value never appears in an error.

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

/// The key of a Secret as text; the value never appears in an error. With `review`, asks a
/// SelfSubjectAccessReview first.
pub async fn read_secret(
    client: &Client,
    namespace: &str,
    name: &str,
    key: &str,
    review: bool,
) -> Result<String, String> {
    if review {
        super::access::check(client, &super::access::Access::secret(namespace, name)).await?;
    }
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = api.get(name).await.map_err(|e| {
        format!(
            "secret {namespace}/{name}: {}",
            super::contexts::scrub(&super::contexts::describe(&e))
        )
    })?;
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| b.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|s| s.clone().into_bytes())
        })
        .ok_or_else(|| format!("secret {namespace}/{name} has no key `{key}`"))?;
    String::from_utf8(bytes)
        .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
        .map_err(|_| format!("secret {namespace}/{name} key `{key}` is not UTF-8 text"))
}
