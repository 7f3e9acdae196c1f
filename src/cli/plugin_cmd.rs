//! `plugin list`: built-in plugins, what they support, and the health of their instances.

use color_eyre::eyre::Result;
use serde_json::json;

use super::OutputFormat;
use crate::config::LoadedConfig;
use crate::plugins::PLUGINS;

/// Lists plugins with one quick sample per configured instance.
pub async fn list(loaded: &LoadedConfig, output: OutputFormat) -> Result<i32> {
    let mut plugins_json = Vec::new();
    let mut text = String::new();
    for &plugin in PLUGINS {
        let instances: Vec<_> = loaded
            .config
            .instances
            .iter()
            .filter(|i| i.kind == plugin.kind())
            .collect();
        let checks = futures::future::join_all(instances.iter().map(|inst| async move {
            let health = match plugin.collector(inst, &loaded.config) {
                Ok(mut c) => match c.collect().await {
                    Ok(s) => format!(
                        "up (version {})",
                        s.facts.version.unwrap_or_else(|| "?".into())
                    ),
                    Err(e) => format!("down: {e}"),
                },
                Err(e) => format!("misconfigured: {e}"),
            };
            (inst.name.clone(), health)
        }))
        .await;
        match output {
            OutputFormat::Json => plugins_json.push(json!({
                "name": plugin.name(), "version": plugin.version(),
                "supported_versions": plugin.supported_versions(), "rules": plugin.rule_ids(),
                "instances": checks.iter().map(|(n, h)| json!({"name": n, "health": h})).collect::<Vec<_>>(),
            })),
            OutputFormat::Table | OutputFormat::Markdown => {
                let md = output == OutputFormat::Markdown;
                text.push_str(&if md {
                    format!("## {} {}\n\n- supports: {}\n- rules: {}\n", plugin.name(), plugin.version(), plugin.supported_versions(), plugin.rule_ids().len())
                } else {
                    format!("{:<8} {:<8} {}  ({} rules)\n", plugin.name(), plugin.version(), plugin.supported_versions(), plugin.rule_ids().len())
                });
                if checks.is_empty() {
                    text.push_str(if md { "- instances: none configured\n" } else { "  instances: none configured\n" });
                }
                for (name, health) in &checks {
                    text.push_str(&if md { format!("- `{name}`: {health}\n") } else { format!("  {name:<20} {health}\n") });
                }
            }
        }
    }
    if output == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&plugins_json)?);
    } else {
        print!("{text}");
    }
    Ok(0)
}
