use super::*;

#[test]
fn keys_are_displayed_with_indexes() {
    let path = ["instances", "1", "url"].map(String::from);
    assert_eq!(display_key(&path), "instances[1].url");
    assert_eq!(display_key(&[]), "");
}

/// Rules of a made-up kind: `fake://` URLs, and `groups` is its own key.
struct FakeRules;

impl KindRules for FakeRules {
    fn kind(&self) -> crate::config::InstanceKind {
        crate::config::InstanceKind::from_static("fake")
    }
    fn validate_url(&self, raw: &str) -> Result<url::Url, String> {
        let url = url::Url::parse(raw).map_err(|e| format!("not a valid URL: {e}"))?;
        if url.scheme() != "fake" {
            return Err(format!(
                "scheme `{}` is not supported for kind fake",
                url.scheme()
            ));
        }
        Ok(url)
    }
    fn instance_problems(
        &self,
        inst: &crate::config::InstanceConfig,
    ) -> Vec<(&'static str, String)> {
        unreadable_tls_files(inst)
    }
    fn own_instance_keys(&self) -> &'static [&'static str] {
        &["groups"]
    }
}

/// Rules of a second made-up kind, with no keys of its own.
struct OtherRules;

impl KindRules for OtherRules {
    fn kind(&self) -> crate::config::InstanceKind {
        crate::config::InstanceKind::from_static("other")
    }
    fn validate_url(&self, raw: &str) -> Result<url::Url, String> {
        url::Url::parse(raw).map_err(|e| e.to_string())
    }
    fn instance_problems(&self, _: &crate::config::InstanceConfig) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

fn problems_of(text: &str) -> Vec<String> {
    let config = parse_config(text, &[&FakeRules, &OtherRules]).unwrap();
    validate(&config, &[&FakeRules, &OtherRules], &|_| "test".to_string())
        .into_iter()
        .map(|p| format!("{}: {}", p.key, p.problem))
        .collect()
}

#[test]
fn the_kind_rules_given_to_the_loader_judge_each_instance() {
    let ok =
        "[[instances]]\nname = \"a\"\nkind = \"fake\"\nurl = \"fake://h:1\"\ngroups = [\"g\"]\n";
    assert_eq!(problems_of(ok), Vec::<String>::new());
    let unknown = "[[instances]]\nname = \"a\"\nkind = \"redi\"\nurl = \"fake://h:1\"\n";
    assert_eq!(
        problems_of(unknown),
        ["instances[0].kind: unknown kind `redi` (one of fake, other)"]
    );
    let scheme = "[[instances]]\nname = \"a\"\nkind = \"fake\"\nurl = \"http://h:1\"\n";
    let p = problems_of(scheme);
    assert!(
        p[0].starts_with("instances[0].url:") && p[0].contains("`http`"),
        "{p:?}"
    );
    let foreign =
        "[[instances]]\nname = \"a\"\nkind = \"other\"\nurl = \"other://h:1\"\ngroups = [\"g\"]\n";
    assert_eq!(
        problems_of(foreign),
        ["instances[0].groups: `groups` is for kind fake only"]
    );
    let missing = "[[instances]]\nname = \"a\"\nkind = \"fake\"\nurl = \"fake://h:1\"\ntls_ca_file = \"/nonexistent/ca.pem\"\n";
    let p = problems_of(missing);
    assert!(
        p[0].starts_with("instances[0].tls_ca_file: cannot read"),
        "{p:?}"
    );
    let cred = "[[kubernetes.credentials]]\nkind = \"nope\"\nusername = \"u\"\n";
    assert_eq!(
        problems_of(cred),
        ["kubernetes.credentials[0].kind: unknown kind `nope` (one of fake, other)"]
    );
}

#[test]
fn only_variables_that_name_the_configuration_are_read_as_configuration() {
    // Every top-level key of the configuration is in the list…
    let value = serde_json::to_value(AppConfig::default()).unwrap();
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.push("instances");
    for k in keys {
        assert!(TOP_LEVEL_KEYS.contains(&k), "{k} is not in TOP_LEVEL_KEYS");
        assert!(is_config_variable(&k.to_ascii_uppercase(), &[]));
    }
    // …the plugins' sections given to the loader are read too…
    assert!(is_config_variable("REDIS", &["redis"]));
    assert!(!is_config_variable("REDIS", &[]));
    // …sections' keys and misspelt sections are read (the latter to be refused by name)…
    assert!(is_config_variable("COLLECTOR__INTERVAL_SECS", &["redis"]));
    assert!(is_config_variable("COLLECTR__INTERVAL_SECS", &["redis"]));
    // …and the scripts' own variables are not.
    for other in [
        "KUBE_BIN",
        "FUZZ_SECS",
        "KAFKA_CACHE",
        "OPENSEARCH_CACHE",
        "GO_CACHE",
    ] {
        assert!(!is_config_variable(other, &["redis"]), "{other}");
    }
}
