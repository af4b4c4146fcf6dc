//! The example filters of seed 000's false-positive scenarios (`examples/filters`): each one
//! silences its scenario and nothing else, in `hunt` and in `test`.

use std::collections::BTreeSet;
use std::path::Path;

mod common;
use common::sigrun;

const EVENTS: &str = "crates/cli/tests/fixtures/filters/scrcons_scenarios.jsonl";
const RULE: &str = "crates/pack/rules/scrcons_file_write.yml";

/// Record ids of the alerts of a hunt with the scrcons rule and the given filters.
fn alerted(filters: &[&str]) -> BTreeSet<u64> {
    let mut args = vec![
        "hunt",
        "-f",
        "jsonl",
        "--no-summary",
        "--progress",
        "never",
        "-r",
        RULE,
    ];
    for filter in filters {
        args.extend(["--filters", filter]);
    }
    args.push(EVENTS);
    let output = sigrun(&args);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| {
            let alert: serde_json::Value = serde_json::from_str(line).expect("JSON");
            alert["record_id"].as_u64().expect("record id")
        })
        .collect()
}

fn all_but(excluded: &[u64]) -> BTreeSet<u64> {
    (101..=108).filter(|r| !excluded.contains(r)).collect()
}

#[test]
fn without_filters_every_scenario_alerts() {
    assert_eq!(alerted(&[]), all_but(&[]));
}

#[test]
fn each_filter_silences_its_scenario_only() {
    let cases: [(&str, &[u64]); 4] = [
        ("examples/filters/mf_scrcons_scheduled_tasks.yml", &[103]),
        (
            "examples/filters/mf_scrcons_windows_update_gpo.yml",
            &[104, 105],
        ),
        ("examples/filters/mf_scrcons_dism_sfc.yml", &[106, 107]),
        ("examples/filters/mf_scrcons_admin_scripts.yml", &[108]),
    ];
    for (filter, silenced) in cases {
        assert_eq!(alerted(&[filter]), all_but(silenced), "{filter}");
    }
    // Together they leave the attack and the near miss (a task file outside the Microsoft
    // task folder).
    assert_eq!(alerted(&["examples/filters"]), BTreeSet::from([101, 102]));
}

#[test]
fn filters_apply_in_rule_tests_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rule = dir.path().join("scrcons_file_write.yml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(RULE),
        &rule,
    )
    .expect("copy");
    let events = std::fs::canonicalize(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(EVENTS),
    )
    .expect("events");
    std::fs::write(
        dir.path().join("scrcons_file_write.tests.yml"),
        format!("tests:\n    - name: only the attack and the near miss remain\n      matches: 2\n      file: '{}'\n", events.display()),
    )
    .expect("write");
    let path = dir.path().to_str().expect("path");
    let without = sigrun(&["test", path]);
    assert_eq!(
        without.status.code(),
        Some(1),
        "8 events match without filters"
    );
    let with = sigrun(&["test", "--filters", "examples/filters", path]);
    assert_eq!(
        with.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&with.stdout)
    );
}

#[test]
fn a_filter_whose_logsource_does_not_fit_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let filter = dir.path().join("mf_wrong.yml");
    std::fs::write(
        &filter,
        "title: Wrong Logsource\nlogsource: {product: windows, category: process_creation}\nfilter:\n    rules: [1b416acd-566a-4f92-a3d9-b52023156834]\n    sel: {User: x}\n    condition: not sel\n",
    )
    .expect("write");
    let output = sigrun(&[
        "hunt",
        "--no-summary",
        "--progress",
        "never",
        "-r",
        RULE,
        "--filters",
        filter.to_str().expect("path"),
        EVENTS,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("(Wrong Logsource): not applied to rule 'File Written by the WMI Script Event Consumer Host': the filter's logsource does not fit the rule's"),
        "{stderr}"
    );
}
