//! `sigrun test` and `sigrun explain` end to end: output formats (snapshots), exit codes,
//! coverage, and SigmaHQ's regression data.

use std::path::Path;
use std::process::Output;

mod common;
use common::{shared_with, sigrun, stdout};

/// A folder with one rule and a sidecar with a passing and a failing case, and one rule
/// without tests.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("mofcomp.yml"),
        "title: Mofcomp Run\nid: 0d6f3b51-2f0e-4d1b-9a64-8a8f5a4b7c21\nlogsource: {product: windows, category: process_creation}\ndetection:\n    selection:\n        Image|endswith: '\\mofcomp.exe'\n    filter:\n        ParentImage|endswith: '\\msiexec.exe'\n    condition: selection and not filter\nlevel: medium\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("mofcomp.tests.yml"),
        "tests:\n    - name: mofcomp from a shell\n      expect: match\n      event: {Event: {System: {EventID: 1, Channel: Microsoft-Windows-Sysmon/Operational, EventRecordID: 11}, EventData: {Image: 'C:\\Windows\\System32\\wbem\\mofcomp.exe', ParentImage: 'C:\\Windows\\System32\\cmd.exe'}}}\n    - name: an installer is wrongly expected to match\n      expect: match\n      event: {Event: {System: {EventID: 1, Channel: Microsoft-Windows-Sysmon/Operational, EventRecordID: 12}, EventData: {Image: 'C:\\Windows\\System32\\wbem\\mofcomp.exe', ParentImage: 'C:\\Windows\\System32\\msiexec.exe'}}}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("untested.yml"),
        "title: Untested\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel: {Image: x}\n    condition: sel\n",
    )
    .expect("write");
    dir
}

/// Output with the temporary folder's path replaced, for snapshots.
fn normalized(output: &Output, dir: &Path) -> String {
    stdout(output).replace(&dir.display().to_string(), "<dir>")
}

#[test]
fn test_text_json_and_junit() {
    let dir = fixture();
    let path = dir.path().to_str().expect("path");
    let text = sigrun(&["test", path]);
    assert_eq!(text.status.code(), Some(1));
    insta::assert_snapshot!("test_text", normalized(&text, dir.path()));
    let json = sigrun(&["test", "--format", "json", path]);
    insta::assert_snapshot!("test_json", normalized(&json, dir.path()));
    let junit = sigrun(&["test", "--format", "junit", path]);
    insta::assert_snapshot!("test_junit", normalized(&junit, dir.path()));
}

/// `test` reads rule folders through the parse cache: the first run fills it, and a warm
/// run and a run without it report the same.
#[test]
fn test_results_do_not_depend_on_the_parse_cache() {
    let dir = fixture();
    let path = dir.path().to_str().expect("path");
    let cache = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| common::sigrun_cached(&common::repo_root(), cache.path(), args);
    let cold = run(&["test", "--format", "json", path]);
    assert!(cache.path().join("rule-parses.bin").is_file());
    let warm = run(&["test", "--format", "json", path]);
    let none = run(&["test", "--no-cache", "--format", "json", path]);
    assert_eq!(cold.status.code(), Some(1));
    for other in [&warm, &none] {
        assert_eq!(other.status.code(), cold.status.code());
        assert_eq!(other.stdout, cold.stdout);
        assert_eq!(other.stderr, cold.stderr);
    }
}

#[test]
fn builtin_pack_tests_pass() {
    let output = sigrun(&["test"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.contains("16 passed, 0 failed"), "{text}");
    assert!(
        text.ends_with("coverage: 16 of 16 rules have tests (100.0%)\n"),
        "{text}"
    );
}

#[test]
fn explain_snapshots() {
    let dir = fixture();
    let rule = dir.path().join("mofcomp.yml");
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        concat!(
            r#"{"Event":{"System":{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","EventRecordID":11},"EventData":{"Image":"C:\\Windows\\System32\\wbem\\mofcomp.exe","ParentImage":"C:\\Windows\\System32\\cmd.exe"}}}"#,
            "\n",
            r#"{"Event":{"System":{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","EventRecordID":12},"EventData":{"Image":"C:\\Windows\\System32\\wbem\\mofcomp.exe","ParentImage":"C:\\Windows\\System32\\msiexec.exe"}}}"#,
            "\n",
            r#"{"Event":{"System":{"EventID":4688,"Channel":"Security","EventRecordID":13},"EventData":{"NewProcessName":"C:\\Windows\\System32\\wbem\\mofcomp.exe","ParentProcessName":"C:\\Windows\\explorer.exe"}}}"#,
            "\n",
            r#"{"Event":{"System":{"EventID":11,"Channel":"Microsoft-Windows-Sysmon/Operational","EventRecordID":14},"EventData":{"Image":"C:\\Windows\\System32\\wbem\\mofcomp.exe"}}}"#,
            "\n"
        ),
    )
    .expect("write");
    let output = sigrun(&[
        "explain",
        rule.to_str().expect("path"),
        events.to_str().expect("path"),
    ]);
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!("explain_four_events", normalized(&output, dir.path()));
    let one = sigrun(&[
        "explain",
        "--record",
        "12",
        rule.to_str().expect("path"),
        events.to_str().expect("path"),
    ]);
    assert_eq!(
        one.status.code(),
        Some(1),
        "the selected event does not match"
    );
}

#[test]
fn sigmahq_regression_cases_run_and_missing_data_is_skipped() {
    let Some(shared) = shared_with("corpus/sigma") else {
        return;
    };
    let rules = shared.join("corpus/sigma/rules");
    let output = sigrun(&["test", "--format", "json", rules.to_str().expect("path")]);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let summary = &value["summary"];
    println!("sigrun test rules/: {summary}");
    assert!(
        summary["passed"].as_u64().expect("passed") >= 100,
        "{summary}"
    );
    assert!(
        summary["skipped"].as_u64().expect("skipped") >= 50,
        "{summary}"
    );
    let failed: Vec<&serde_json::Value> = value["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter(|r| r["outcome"] == "failed" || r["outcome"] == "error")
        .collect();
    // Every failure is a regression file whose match_count disagrees with the specification's
    // semantics; each is explained in KNOWN_REGRESSION_DIFFERENCES.
    for rule in &failed {
        let path = rule["rule"].as_str().expect("path");
        assert!(
            KNOWN_REGRESSION_DIFFERENCES
                .iter()
                .any(|known| path.ends_with(known)),
            "unexplained failure: {rule:#}"
        );
    }
}

/// Regression cases whose `match_count` sigrun does not reproduce, with the reason (see the
/// issue note): the cases count matches differently from the specification.
const KNOWN_REGRESSION_DIFFERENCES: &[&str] = &[
    "file_event_win_anydesk_artefact.yml",
    "file_event_win_cred_dump_tools_dropped_files.yml",
    "registry_set_disable_administrative_share.yml",
];
