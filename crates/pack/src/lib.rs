//! sigrun's built-in rule pack: Sigma rules for WMI event-subscription persistence
//! (ATT&CK T1546.003), compiled into the binary so that `sigrun hunt` has something to run
//! with no rule folder at hand, together with each rule's test cases.
//!
//! The rules live as ordinary files in `crates/pack/rules/` so that they can be read, linted
//! and converted like any other rule; this crate only embeds their text. Each `<rule>.yml`
//! may have a sidecar `<rule>.tests.yml` whose format is described in `TESTS-FORMAT.md`.
//! The rules are our own work, licensed Apache-2.0 like the rest of the project.
//!
//! Nothing here parses the rules: callers hand [`PackRule::text`] to `sigrun-rule` with
//! [`PackRule::file_name`] as its path, so diagnostics point at the file a user can open.

/// One embedded rule file and its tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackRule {
    /// The file name under `crates/pack/rules/`, e.g. `scrcons_file_write.yml`.
    pub file_name: &'static str,
    /// The rule's YAML text.
    pub text: &'static str,
    /// The text of the sidecar `<rule>.tests.yml`, when the rule has one.
    pub tests: Option<&'static str>,
}

/// Embeds `rules/<stem>.yml` and its sidecar `rules/<stem>.tests.yml`.
macro_rules! pack_rule {
    ($stem:literal) => {
        PackRule {
            file_name: concat!($stem, ".yml"),
            text: include_str!(concat!("../rules/", $stem, ".yml")),
            tests: Some(include_str!(concat!("../rules/", $stem, ".tests.yml"))),
        }
    };
}

/// Every rule of the pack, sorted by file name. A test checks this list against the
/// directory, so a rule file added without an entry here fails the build's tests.
static RULES: &[PackRule] = &[
    pack_rule!("mofcomp_suspicious_compile"),
    pack_rule!("powershell_wmi_subscription_classic_log"),
    pack_rule!("powershell_wmi_subscription_cmdline"),
    pack_rule!("powershell_wmi_subscription_module_log"),
    pack_rule!("powershell_wmi_subscription_script_block"),
    pack_rule!("scrcons_file_write"),
    pack_rule!("scrcons_process_start"),
    pack_rule!("sysmon_wmi_active_consumer_bound"),
    pack_rule!("sysmon_wmi_active_consumer_registered"),
    pack_rule!("sysmon_wmi_event_filter_registered"),
    pack_rule!("wmi_activity_active_consumer_binding"),
    pack_rule!("wmi_activity_consumer_provider_started"),
    pack_rule!("wmi_activity_permanent_filter_trigger"),
    pack_rule!("wmi_host_spawns_shell"),
    pack_rule!("wmi_repository_write_unexpected_process"),
    pack_rule!("wmic_event_subscription_create"),
];

/// The rules of the pack, sorted by file name.
pub fn rules() -> &'static [PackRule] {
    RULES
}

/// The rule whose file name is `file_name` (e.g. `scrcons_file_write.yml`).
pub fn rule(file_name: &str) -> Option<&'static PackRule> {
    RULES.iter().find(|r| r.file_name == file_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_sorted_unique_and_non_empty() {
        let names: Vec<&str> = rules().iter().map(|r| r.file_name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        assert_eq!(names.len(), 16);
        for rule in rules() {
            assert!(rule.text.starts_with("title: "), "{}", rule.file_name);
            assert!(
                rule.tests.is_some_and(|t| t.contains("\ntests:\n")),
                "{}",
                rule.file_name
            );
        }
    }

    #[test]
    fn lookup_by_file_name() {
        let found = rule("scrcons_file_write.yml").map(|r| r.file_name);
        assert_eq!(found, Some("scrcons_file_write.yml"));
        assert_eq!(rule("scrcons_file_write"), None);
        assert_eq!(rule("missing.yml"), None);
    }
}
