//! Redis replies: INFO and CLIENT LIST text, and RESP replies (CONFIG GET, SLOWLOG GET,
//! LATENCY LATEST, ACL GETUSER) parsed from the wire bytes, then the rules over the sample;
//! the server log's lines too.
#![no_main]

use kubestack_ai::plugins::redis::settings::RedisSettings;
use kubestack_ai::plugins::redis::parse::{
    InfoMap, pairs, parse_acl_user, parse_config, parse_latency_latest, parse_slowlog,
    summarize_clients, value_text,
};
use kubestack_ai::plugins::redis::rules::{RuleInput, evaluate};
use kubestack_ai::plugins::redis::sample::RedisSample;
use kubestack_ai::plugins::redis::server_log::parse_line;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut sample = RedisSample {
        info: InfoMap::parse(&text),
        clients: summarize_clients(&text, 64),
        ..RedisSample::default()
    };
    if let Ok(value) = redis::parse_redis_value(data) {
        let _ = value_text(&value);
        let _ = pairs(&value);
        sample.config = parse_config(&value);
        sample.slowlog = parse_slowlog(&value);
        sample.latency = parse_latency_latest(&value);
        sample.default_user = parse_acl_user(&value);
        for entry in &sample.slowlog {
            let _ = entry.command_line(80);
            let _ = entry.command_line(0);
        }
        if let Some(user) = &sample.default_user {
            let _ = user.is_open();
        }
    }
    let _ = sample.version();
    let th = RedisSettings::default();
    let prev = RedisSample::default();
    for (prev, is_cache) in [(None, false), (Some(&prev), true), (Some(&sample), false)] {
        let _ = evaluate(&RuleInput {
            cur: &sample,
            prev,
            th: &th,
            is_cache,
            host: None,
        });
    }
    for line in text.lines() {
        let _ = parse_line(line);
    }
});
