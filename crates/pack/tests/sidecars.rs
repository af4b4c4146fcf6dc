//! The rule tests next to each rule (`<rule>.tests.yml`) follow `TESTS-FORMAT.md`, name the
//! rule they sit next to, have at least two positive and two negative cases, and every event
//! expected to match is shaped for one of the rule's log sources in the built-in `windows`
//! pipeline (right channel and event ID), so a typo there cannot make a positive case pass
//! or fail for the wrong reason once the engine runs them.

mod common;

use std::collections::BTreeSet;

use common::{belongs_to, only_rule, parse_embedded, pipeline_logsource};
use serde::Deserialize;
use serde_json::Value;
use sigrun_pipeline::{Pipeline, Resolution, SourceVariant};

/// A sidecar file, as TESTS-FORMAT.md defines it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sidecar {
    rule: Option<String>,
    tests: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    expect: Option<Expect>,
    matches: Option<usize>,
    layout: Option<Layout>,
    pipeline: Option<String>,
    event: Option<Value>,
    events: Option<Vec<Value>>,
    file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Expect {
    Match,
    NoMatch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Layout {
    WindowsNested,
    WindowsFlat,
    Ecs,
}

/// What a well-formed sidecar holds, for the pack-level checks.
#[derive(Debug, Default, PartialEq, Eq)]
struct Summary {
    positive: usize,
    negative: usize,
    counted: usize,
}

/// Checks one sidecar against the format and against its rule; the error names the case.
fn check_sidecar(
    text: &str,
    rule_id: &str,
    variants: &[SourceVariant<'_>],
) -> Result<Summary, String> {
    let sidecar: Sidecar =
        serde_saphyr::from_str(text).map_err(|e| format!("not a sidecar: {e}"))?;
    if let Some(rule) = &sidecar.rule
        && rule != rule_id
    {
        return Err(format!("names rule {rule}, but sits next to {rule_id}"));
    }
    if sidecar.tests.is_empty() {
        return Err("has no tests".into());
    }
    let mut names = BTreeSet::new();
    let mut summary = Summary::default();
    for case in &sidecar.tests {
        let name = case.name.trim();
        let fail = |why: &str| Err(format!("test '{name}': {why}"));
        if name.is_empty() || !names.insert(name) {
            return fail("names must be non-empty and unique");
        }
        let given = [
            case.event.is_some(),
            case.events.is_some(),
            case.file.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return fail("give exactly one of event, events, file");
        }
        if case.file.is_some() {
            return fail("embedded pack tests must be self-contained: 'file' is not allowed");
        }
        if case
            .pipeline
            .as_deref()
            .is_some_and(|p| Pipeline::builtin(p).is_err())
        {
            return fail("pipeline is not a built-in pipeline");
        }
        let events: Vec<&Value> = match (&case.event, &case.events) {
            (Some(event), None) => vec![event],
            (None, Some(events)) if !events.is_empty() => events.iter().collect(),
            _ => return fail("events must not be empty"),
        };
        for event in &events {
            let Some(object) = event.as_object() else {
                return fail("every event is a mapping");
            };
            let detected = if object.get("Event").is_some_and(Value::is_object) {
                Layout::WindowsNested
            } else if object.keys().any(|key| is_ecs_key(key)) {
                Layout::Ecs
            } else {
                Layout::WindowsFlat
            };
            if case.layout.is_some_and(|layout| layout != detected) {
                return fail(&format!(
                    "layout says {:?}, the event looks {detected:?}",
                    case.layout
                ));
            }
        }
        match (case.expect, case.matches) {
            (Some(Expect::Match), None) => {
                for event in &events {
                    if !variants.iter().any(|v| belongs_to(event, v)) {
                        return fail(
                            "an event expected to match belongs to none of the rule's log sources",
                        );
                    }
                }
                summary.positive += 1;
            }
            (Some(Expect::NoMatch), None) => summary.negative += 1,
            (None, Some(count)) if case.events.is_some() && count <= events.len() => {
                summary.counted += 1
            }
            (None, Some(_)) => return fail("'matches: N' needs 'events' with at least N events"),
            _ => return fail("give exactly one of expect, matches"),
        }
    }
    Ok(summary)
}

/// Whether a top-level key marks an ECS document: `winlog` or `ecs`, or a dotted name under one.
fn is_ecs_key(key: &str) -> bool {
    ["winlog", "ecs"].iter().any(|prefix| {
        key.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

#[test]
fn every_sidecar_is_well_formed_and_covers_both_outcomes() {
    let windows = Pipeline::builtin("windows").expect("built-in windows pipeline");
    let mut cases = 0;
    for rule in sigrun_pack::rules() {
        let file = parse_embedded(rule);
        let parsed = only_rule(&file);
        let Resolution::Mapped(variants) = windows.resolve(&pipeline_logsource(parsed)) else {
            panic!("{}: unmapped", rule.file_name);
        };
        let text = rule
            .tests
            .unwrap_or_else(|| panic!("{}: no sidecar", rule.file_name));
        assert!(
            text.starts_with("# sigrun rule tests"),
            "{}: sidecar header comment",
            rule.file_name
        );
        let id = parsed.meta.id().expect("rule id");
        let summary = check_sidecar(text, id, &variants)
            .unwrap_or_else(|e| panic!("{}: {e}", rule.file_name));
        assert!(summary.positive >= 2, "{}: {summary:?}", rule.file_name);
        assert!(summary.negative >= 2, "{}: {summary:?}", rule.file_name);
        cases += summary.positive + summary.negative + summary.counted;
    }
    assert_eq!(cases, 89);
}

#[test]
fn the_sidecar_check_rejects_malformed_files() {
    let windows = Pipeline::builtin("windows").expect("built-in windows pipeline");
    let Resolution::Mapped(variants) = windows.resolve(&sigrun_pipeline::LogSource {
        category: Some("process_creation"),
        product: Some("windows"),
        service: None,
    }) else {
        panic!("process_creation is mapped");
    };
    let sysmon1 = r#"{Event: {System: {EventID: 1, Channel: Microsoft-Windows-Sysmon/Operational}, EventData: {Image: 'C:\x.exe'}}}"#;
    let sysmon11 = r#"{Event: {System: {EventID: 11, Channel: Microsoft-Windows-Sysmon/Operational}, EventData: {}}}"#;
    let check = |tests: &str| check_sidecar(&format!("rule: r1\ntests:\n{tests}"), "r1", &variants);

    let good = format!(
        "  - {{name: a, expect: match, event: {sysmon1}}}\n  - {{name: b, expect: no-match, event: {sysmon11}}}\n  - {{name: c, matches: 1, events: [{sysmon1}, {sysmon11}]}}\n  - {{name: d, expect: no-match, layout: ecs, event: {{winlog.channel: Security}}}}\n  - {{name: e, expect: no-match, layout: windows-flat, event: {{EventID: 1, Channel: Security}}}}\n"
    );
    assert_eq!(
        check(&good),
        Ok(Summary {
            positive: 1,
            negative: 3,
            counted: 1
        })
    );

    let bad = [
        (
            format!("  - {{name: a, expect: match, matches: 1, events: [{sysmon1}]}}\n"),
            "exactly one of expect, matches",
        ),
        (
            format!("  - {{name: a, expect: match, event: {sysmon1}, events: [{sysmon1}]}}\n"),
            "exactly one of event",
        ),
        (
            format!("  - {{name: a, expect: match, event: {sysmon11}}}\n"),
            "belongs to none",
        ),
        (
            format!("  - {{name: a, matches: 2, events: [{sysmon1}]}}\n"),
            "at least N events",
        ),
        (
            format!("  - {{name: a, expect: no-match, layout: ecs, event: {sysmon1}}}\n"),
            "layout says",
        ),
        (
            format!(
                "  - {{name: a, expect: no-match, event: {sysmon1}}}\n  - {{name: a, expect: no-match, event: {sysmon1}}}\n"
            ),
            "unique",
        ),
        (
            "  - {name: a, expect: match, file: x.jsonl}\n".to_owned(),
            "self-contained",
        ),
        (
            format!("  - {{name: a, expect: maybe, event: {sysmon1}}}\n"),
            "not a sidecar",
        ),
        (
            format!("  - {{name: a, expected: match, event: {sysmon1}}}\n"),
            "not a sidecar",
        ),
    ];
    for (tests, why) in bad {
        let result = check(&tests);
        assert!(
            result.as_ref().is_err_and(|e| e.contains(why)),
            "{tests} gave {result:?}, expected '{why}'"
        );
    }
    let other_rule = check_sidecar("rule: r2\ntests: []\n", "r1", &variants);
    assert!(other_rule.is_err_and(|e| e.contains("names rule r2")));
}
