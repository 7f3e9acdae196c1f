//! What is particular to the MySQL kind: its name, scheme, account, settings section, how it is
//! found in a cluster, and the checks of its `[[instances]]`.

use std::collections::BTreeMap;

use super::keys::{MysqlKeys, MysqlSslMode};
use super::settings::MysqlSettings;
use crate::config::{
    AppConfig, InstanceConfig, InstanceKeys, InstanceKind, KindRules, PluginSettings,
    SettingsSection, unreadable_tls_files,
};
use crate::kube::DiscoveryHints;
use crate::plugins::descriptor::{KindDescriptor, check_url};

impl InstanceKind {
    /// MySQL or MariaDB (the flavor is detected on connect), served by `plugins::mysql`.
    pub const MYSQL: InstanceKind = InstanceKind::from_static("mysql");
}

/// The Oracle MySQL operator's label.
fn operator_labels(labels: &BTreeMap<String, String>) -> Option<String> {
    labels
        .contains_key("mysql.oracle.com/cluster")
        .then(|| "label mysql.oracle.com/cluster".into())
}

/// The MySQL kind's facts.
pub static DESCRIPTOR: KindDescriptor = KindDescriptor {
    kind: InstanceKind::MYSQL,
    schemes: &["mysql"],
    default_user: "root",
    settings_section: MysqlSettings::SECTION,
    discovery: DiscoveryHints {
        kind: InstanceKind::MYSQL,
        names: &["mysql", "mariadb", "percona"],
        operator_labels,
        ports: &[3306],
    },
};

impl KindRules for super::MysqlPlugin {
    fn kind(&self) -> InstanceKind {
        DESCRIPTOR.kind
    }

    fn settings_section(&self) -> Option<SettingsSection> {
        MysqlSettings::section()
    }

    fn settings_problems(&self, config: &AppConfig) -> Vec<(String, String)> {
        MysqlSettings::problems(config)
    }

    fn validate_url(&self, raw: &str) -> Result<url::Url, String> {
        check_url(&DESCRIPTOR, raw, "mysql://user@host:3306/db")
    }

    fn instance_problems(&self, inst: &InstanceConfig) -> Vec<(&'static str, String)> {
        if let Err(problems) = MysqlKeys::read(inst) {
            return problems;
        }
        let mut problems = mysql_tls_problems(inst);
        problems.extend(unreadable_tls_files(inst));
        problems
    }

    fn own_instance_keys(&self) -> &'static [&'static str] {
        MysqlKeys::NAMES
    }
}

/// The mode an instance connects with: `ssl_mode` when set; else `verify-ca` when a
/// `tls_ca_file` is given (as the MySQL client does with `--ssl-ca` alone), `disabled` otherwise.
pub fn mysql_ssl_mode(instance: &InstanceConfig) -> MysqlSslMode {
    match MysqlKeys::of(instance).ssl_mode {
        Some(m) => m,
        None if instance.tls_ca_file.is_some() => MysqlSslMode::VerifyCa,
        None => MysqlSslMode::Disabled,
    }
}

/// What is wrong with the TLS settings of a MySQL instance, as (field, problem).
pub fn mysql_tls_problems(instance: &InstanceConfig) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mode = mysql_ssl_mode(instance);
    if mode == MysqlSslMode::Disabled {
        for (field, set) in [
            ("tls_ca_file", instance.tls_ca_file.is_some()),
            ("tls_cert_file", instance.tls_cert_file.is_some()),
        ] {
            if set {
                out.push((field, format!("{field} is set but ssl_mode is disabled")));
            }
        }
    }
    if matches!(mode, MysqlSslMode::Preferred | MysqlSslMode::Required)
        && instance.tls_ca_file.is_some()
    {
        out.push((
            "ssl_mode",
            format!(
                "ssl_mode {} does not check the certificate, so tls_ca_file would be ignored (use verify-ca or verify-identity)",
                mode.as_str()
            ),
        ));
    }
    out
}
