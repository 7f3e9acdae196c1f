//! Elasticsearch/OpenSearch JSON shapes: `_nodes/stats`, allocation explanations, cluster
//! health and settings from the fuzz document into a sample, then the rules (against an
//! empty previous sample and against itself); the read-only HTTP guard on its strings too.
#![no_main]

use kubestack_ai::plugins::elasticsearch::http_guard::check_read_only;
use kubestack_ai::plugins::elasticsearch::rules::{RuleInput, effective_used_pct, evaluate};
use kubestack_ai::plugins::elasticsearch::sample::{EsSample, parse_explanation, parse_node_stats};
use kubestack_ai::plugins::elasticsearch::settings::EsSettings;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some((method, path)) = text.split_once(' ') {
        let _ = check_read_only(method, path);
    }
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let mut sample = EsSample {
        at: v.get("at").and_then(Value::as_f64).unwrap_or(0.0),
        health: v.get("health").cloned().unwrap_or(Value::Null),
        nodes: parse_node_stats(&v),
        ..EsSample::default()
    };
    if let Some(list) = v.get("explanations").and_then(Value::as_array) {
        sample.explanations = list.iter().map(parse_explanation).collect();
    } else {
        sample.explanations.push(parse_explanation(&v));
    }
    if let Some(map) = v.get("settings").and_then(Value::as_object) {
        for (k, val) in map {
            let text = match val {
                Value::String(t) => t.clone(),
                other => other.to_string(),
            };
            sample.settings.insert(k.clone(), text);
            sample.explicit_settings.push(k.clone());
        }
    }
    let _ = sample.status();
    let _ = sample.health_u64("unassigned_shards");
    for (k, val) in &sample.settings {
        let _ = effective_used_pct(val, sample.setting(k), 1 << 40);
        let _ = effective_used_pct(val, None, 0);
    }
    let empty = EsSample::default();
    for prev in [None, Some(&empty), Some(&sample)] {
        let _ = evaluate(&RuleInput {
            cur: &sample,
            prev,
            th: &EsSettings::default(),
        });
    }
});
