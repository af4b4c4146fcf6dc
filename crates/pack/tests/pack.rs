//! The pack as a whole: the embedded list matches the directory, and every rule parses,
//! passes every validator (SigmaHQ conventions included), follows the pack's metadata
//! conventions and maps to the built-in pipelines.

mod common;

use std::collections::BTreeSet;
use std::fs;

use common::{only_rule, parse_embedded, pipeline_logsource, rules_dir};
use sigrun_pipeline::{Pipeline, Resolution};
use sigrun_rule::validate::{Options, Profile, validate};
use sigrun_rule::{RuleSet, Severity, SourceFile, Status, load_file};

#[test]
fn embedded_list_matches_the_rules_directory() {
    let mut rules = BTreeSet::new();
    let mut sidecars = BTreeSet::new();
    for entry in fs::read_dir(rules_dir()).expect("crates/pack/rules is readable") {
        let name = entry
            .expect("directory entry")
            .file_name()
            .into_string()
            .expect("UTF-8 file name");
        if let Some(stem) = name.strip_suffix(".tests.yml") {
            sidecars.insert(format!("{stem}.yml"));
        } else if name.ends_with(".yml") {
            rules.insert(name);
        } else {
            panic!("unexpected file in crates/pack/rules: {name}");
        }
    }
    let embedded: Vec<&str> = sigrun_pack::rules().iter().map(|r| r.file_name).collect();
    assert_eq!(
        embedded,
        rules.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert!(
        sidecars.is_subset(&rules),
        "sidecars without a rule: {:?}",
        sidecars.difference(&rules)
    );

    for rule in sigrun_pack::rules() {
        let on_disk = fs::read_to_string(rules_dir().join(rule.file_name)).expect("rule file");
        assert_eq!(
            rule.text, on_disk,
            "{} differs from its embedded text",
            rule.file_name
        );
        let sidecar = rules_dir().join(rule.file_name.replace(".yml", ".tests.yml"));
        assert_eq!(
            rule.tests,
            fs::read_to_string(&sidecar).ok().as_deref(),
            "{}",
            sidecar.display()
        );
    }
}

#[test]
fn every_rule_parses_without_diagnostics() {
    for rule in sigrun_pack::rules() {
        let embedded = parse_embedded(rule);
        let from_disk = load_file(&rules_dir().join(rule.file_name));
        for file in [&embedded, &from_disk] {
            let problems: Vec<String> = file
                .all_diagnostics()
                .map(|d| format!("{}: {}", d.code, d.message))
                .collect();
            assert!(
                problems.is_empty(),
                "{}: {problems:#?}",
                file.path().display()
            );
            only_rule(file);
        }
        assert_eq!(only_rule(&embedded), only_rule(&from_disk));
    }
}

#[test]
fn every_rule_passes_every_validator_including_sigmahq_conventions() {
    let set = RuleSet::from_sources(
        sigrun_pack::rules()
            .iter()
            .map(|r| SourceFile::new(format!("crates/pack/rules/{}", r.file_name), r.text)),
    );
    let options = Options {
        profile: Profile::SigmaHq,
        ..Options::default()
    };
    let findings: Vec<String> = validate(&set, sigrun_attack::AttackData::embedded(), &options)
        .into_iter()
        .flat_map(|f| {
            let path = set.files[f.file].path().display().to_string();
            f.diagnostics
                .into_iter()
                .map(move |d| format!("{path}: {} [{}] {}", d.severity.as_str(), d.code, d.message))
        })
        .collect();
    assert!(findings.is_empty(), "{findings:#?}");
    // The check above must be able to fail: a rule with a lowercase title and a bad tag does.
    let bad = RuleSet::from_sources([SourceFile::new(
        "crates/pack/rules/bad_rule_example.yml",
        sigrun_pack::rules()[0]
            .text
            .replacen("title: MOF", "title: mof", 1)
            .replacen("attack.t1546.003", "attack.t1546.999", 1),
    )]);
    let found = validate(&bad, sigrun_attack::AttackData::embedded(), &options);
    let codes: BTreeSet<&str> = found
        .iter()
        .flat_map(|f| f.diagnostics.iter().map(|d| d.code))
        .collect();
    assert!(
        codes.contains("sigmahq-title") && codes.contains("attack-tag"),
        "{codes:?}"
    );
    assert!(
        found
            .iter()
            .all(|f| f.diagnostics.iter().all(|d| d.severity < Severity::Error))
    );
}

#[test]
fn every_rule_follows_the_pack_metadata_conventions() {
    let mut ids = BTreeSet::new();
    for rule in sigrun_pack::rules() {
        let file = parse_embedded(rule);
        let parsed = only_rule(&file);
        let meta = &parsed.meta;
        let name = rule.file_name;
        let id = meta.id().unwrap_or_else(|| panic!("{name}: no id"));
        assert!(is_uuid_v4(id), "{name}: id {id} is not a lowercase UUIDv4");
        assert!(ids.insert(id.to_owned()), "{name}: id {id} is used twice");
        assert_eq!(meta.status(), Some(Status::Experimental), "{name}");
        assert_eq!(meta.author(), "sigrun project", "{name}");
        assert_eq!(
            meta.date.as_ref().map(|d| d.value.as_str()),
            Some("2026-11-29"),
            "{name}"
        );
        assert_eq!(
            meta.license.as_ref().map(|l| l.value.as_str()),
            Some("Apache-2.0"),
            "{name}"
        );
        assert!(meta.level().is_some(), "{name}: no level");
        assert!(
            meta.description
                .as_ref()
                .is_some_and(|d| d.value.len() > 80),
            "{name}: description too short"
        );
        assert!(
            meta.references
                .iter()
                .any(|r| r.value == "https://attack.mitre.org/techniques/T1546/003/"),
            "{name}"
        );
        assert!(!meta.falsepositives.is_empty(), "{name}: no falsepositives");
        let tags: BTreeSet<&str> = meta.tags.iter().map(|t| t.value.as_str()).collect();
        for required in [
            "attack.persistence",
            "attack.privilege-escalation",
            "attack.t1546.003",
        ] {
            assert!(tags.contains(required), "{name}: missing tag {required}");
        }
        assert_eq!(parsed.logsource.product(), Some("windows"), "{name}");
    }
}

#[test]
fn every_rule_maps_to_the_builtin_pipelines() {
    let windows = Pipeline::builtin("windows").expect("built-in windows pipeline");
    let ecs = Pipeline::builtin("ecs").expect("built-in ecs pipeline");
    for rule in sigrun_pack::rules() {
        let file = parse_embedded(rule);
        let logsource = pipeline_logsource(only_rule(&file));
        let expected: &[&str] = match (logsource.category, logsource.service) {
            (Some("process_creation"), None) => &["sysmon_process_creation", "security_4688"],
            (Some("file_event"), None) => &["sysmon_file_event"],
            (Some("wmi_event"), None) => &["sysmon_wmi_event"],
            (Some("ps_script"), None) => &["powershell_script"],
            (Some("ps_module"), None) => &["powershell_module"],
            (Some("ps_classic_script"), None) => &["powershell_classic_script"],
            (None, Some("wmi")) => &["wmi"],
            other => panic!(
                "{}: logsource {other:?} has no expectation here",
                rule.file_name
            ),
        };
        match windows.resolve(&logsource) {
            Resolution::Mapped(variants) => {
                let names: Vec<&str> = variants.iter().map(|v| v.name()).collect();
                assert_eq!(names, expected, "{}", rule.file_name);
            }
            Resolution::Unmapped { reason } => panic!("{}: {reason}", rule.file_name),
        }
        assert!(
            matches!(ecs.resolve(&logsource), Resolution::Mapped(_)),
            "{}: unmapped in the ecs pipeline",
            rule.file_name
        );
    }
}

fn is_uuid_v4(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    lengths == [8, 4, 4, 4, 12]
        && id
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c))
        && groups[2].starts_with('4')
        && groups[3].starts_with(['8', '9', 'a', 'b'])
}
