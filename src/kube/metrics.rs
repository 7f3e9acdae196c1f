//! Pod CPU and memory from `metrics.k8s.io` (metrics-server). k8s-openapi has no types for this
//! API group, so the two objects we read are declared here. The API has no watch: it is polled.
//! A cluster without it answers 404 on the group, and the pod columns then say `n/a`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// `metrics.k8s.io/v1beta1` `PodMetrics` (the fields we read).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PodMetrics {
    pub metadata: MetricsMeta,
    #[serde(default)]
    pub containers: Vec<ContainerMetrics>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MetricsMeta {
    pub name: String,
    #[serde(default)]
    pub namespace: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContainerMetrics {
    pub name: String,
    #[serde(default)]
    pub usage: HashMap<String, String>,
}

/// `PodMetricsList`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct PodMetricsList {
    #[serde(default)]
    pub items: Vec<PodMetrics>,
}

impl PodMetrics {
    /// One pod with one container using `cpu` and `memory` (Kubernetes quantities).
    pub fn new(namespace: &str, pod: &str, cpu: &str, memory: &str) -> Self {
        PodMetrics {
            metadata: MetricsMeta {
                name: pod.into(),
                namespace: namespace.into(),
            },
            containers: vec![ContainerMetrics {
                name: "main".into(),
                usage: HashMap::from([
                    ("cpu".to_string(), cpu.to_string()),
                    ("memory".to_string(), memory.to_string()),
                ]),
            }],
        }
    }

    /// The pod's total `(millicores, bytes)` over its containers.
    pub fn totals(&self) -> (u64, u64) {
        self.containers.iter().fold((0, 0), |(c, m), x| {
            (
                c + x.usage.get("cpu").and_then(|q| cpu_millis(q)).unwrap_or(0),
                m + x.usage.get("memory").and_then(|q| bytes(q)).unwrap_or(0),
            )
        })
    }
}

/// A CPU quantity in millicores: `250m`, `1`, `0.5`, `12345n`, `15u`.
pub fn cpu_millis(q: &str) -> Option<u64> {
    let q = q.trim();
    let (num, scale) = if let Some(n) = q.strip_suffix('n') {
        (n, 1e-6)
    } else if let Some(n) = q.strip_suffix('u') {
        (n, 1e-3)
    } else if let Some(n) = q.strip_suffix('m') {
        (n, 1.0)
    } else {
        (q, 1000.0)
    };
    let v: f64 = num.parse().ok()?;
    (v >= 0.0).then(|| (v * scale).round() as u64)
}

/// A memory quantity in bytes: `128974848`, `129e6`, `123Mi`, `1Gi`, `100M`, `512Ki`.
pub fn bytes(q: &str) -> Option<u64> {
    let q = q.trim();
    const SUFFIXES: [(&str, f64); 12] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    for (s, f) in SUFFIXES {
        if let Some(n) = q.strip_suffix(s) {
            return n.parse::<f64>().ok().map(|v| (v * f) as u64);
        }
    }
    q.parse::<f64>().ok().map(|v| v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(cpu_millis("250m"), Some(250));
        assert_eq!(cpu_millis("2"), Some(2000));
        assert_eq!(cpu_millis("0.5"), Some(500));
        assert_eq!(cpu_millis("12345678n"), Some(12));
        assert_eq!(cpu_millis("x"), None);
        assert_eq!(bytes("123Mi"), Some(123 * 1048576));
        assert_eq!(bytes("1Gi"), Some(1 << 30));
        assert_eq!(bytes("100M"), Some(100_000_000));
        assert_eq!(bytes("4096"), Some(4096));
        assert_eq!(bytes("129e6"), Some(129_000_000));
    }
}
