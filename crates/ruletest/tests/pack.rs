//! Every rule of the built-in pack passes its own sidecar tests (issue: a test for every rule).

use sigrun_rule::{RuleSet, SourceFile};
use std::path::Path;

#[test]
fn every_pack_rule_passes_its_tests() {
    let mut failures = Vec::new();
    let mut cases = 0;
    for rule in sigrun_pack::rules() {
        let set = RuleSet::from_sources([SourceFile::new(rule.file_name, rule.text)]);
        let parsed = set
            .documents()
            .find_map(|d| d.document.rule())
            .expect("a detection rule");
        let tests = rule.tests.expect("every pack rule has tests");
        let sidecar = Path::new(rule.file_name).with_extension("tests.yml");
        match sigrun_ruletest::run_sidecar_text(parsed, &sidecar, tests, None) {
            Err(error) => failures.push(error),
            Ok(results) => {
                cases += results.len();
                for case in results.iter().filter(|c| !c.passed) {
                    failures.push(format!(
                        "{}: {}: {}",
                        rule.file_name,
                        case.name,
                        case.details.join(" / ")
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases >= 4 * sigrun_pack::rules().len(), "{cases} cases");
}

#[test]
fn a_failing_case_says_which_search_did_not_match() {
    let rule = sigrun_pack::rules()
        .iter()
        .find(|r| r.file_name == "mofcomp_suspicious_compile.yml")
        .expect("mofcomp rule");
    let set = RuleSet::from_sources([SourceFile::new(rule.file_name, rule.text)]);
    let parsed = set
        .documents()
        .find_map(|d| d.document.rule())
        .expect("rule");
    let tests = "tests:\n  - name: notepad is not mofcomp\n    expect: match\n    event:\n      Event:\n        System: {EventID: 1, Channel: Microsoft-Windows-Sysmon/Operational, EventRecordID: 7}\n        EventData: {Image: 'C:\\Windows\\notepad.exe', CommandLine: notepad.exe}\n";
    let results = sigrun_ruletest::run_sidecar_text(parsed, Path::new("x.tests.yml"), tests, None)
        .expect("runs");
    assert!(!results[0].passed);
    let detail = &results[0].details[0];
    assert!(
        detail.starts_with("event 1 (record 7) did not match: via sysmon_process_creation: "),
        "{detail}"
    );
    assert!(detail.contains("did not match (Image: wanted"), "{detail}");
    assert!(
        detail.contains("Image is 'C:\\Windows\\notepad.exe'"),
        "{detail}"
    );

    let wrong_channel = "tests:\n  - name: wrong channel\n    expect: match\n    event: {Event: {System: {EventID: 1, Channel: Security}, EventData: {Image: 'C:\\Windows\\System32\\wbem\\mofcomp.exe'}}}\n";
    let results =
        sigrun_ruletest::run_sidecar_text(parsed, Path::new("x.tests.yml"), wrong_channel, None)
            .expect("runs");
    assert!(
        results[0].details[0].contains("no source of the rule selects the event"),
        "{:?}",
        results[0].details
    );
}
