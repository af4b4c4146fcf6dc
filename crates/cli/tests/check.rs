//! `sigrun check` end to end: exit codes, text/JSON/SARIF output (snapshots), the seed rules
//! and the whole SigmaHQ corpus.

use std::path::Path;
use std::process::Output;

mod common;
use common::{seed_000_rule, seed_001_rule, shared_with, stdout};

fn sigrun(args: &[&str]) -> Output {
    common::sigrun_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

const BROKEN: &str = "tests/fixtures/check/broken_rule.yml";
const CLEAN: &str = "tests/fixtures/check/clean_rule.yml";

#[test]
fn text_output_shows_every_finding_at_its_line() {
    let output = sigrun(&["check", BROKEN]);
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("check_text", stdout(&output));
}

#[test]
fn json_output() {
    let output = sigrun(&[
        "check",
        "--format",
        "json",
        "--severity",
        "info",
        BROKEN,
        CLEAN,
    ]);
    assert_eq!(output.status.code(), Some(1));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    insta::assert_json_snapshot!("check_json", value);
}

#[test]
fn sarif_output() {
    let output = sigrun(&["check", "--format", "sarif", BROKEN]);
    assert_eq!(output.status.code(), Some(1));
    let mut value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(value["version"], "2.1.0");
    let run = &mut value["runs"][0];
    let rules = run["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .len();
    for result in run["results"].as_array().expect("results") {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert!(index < rules);
        assert_eq!(
            run["tool"]["driver"]["rules"][index]["id"], result["ruleId"],
            "ruleIndex points at the rule"
        );
    }
    // The rule table is long and documented by --list; snapshot only the results.
    insta::assert_json_snapshot!("check_sarif_results", run["results"]);
}

#[test]
fn exit_codes() {
    assert_eq!(sigrun(&["check", CLEAN]).status.code(), Some(0));
    // Warnings fail only when asked.
    let dir = tempfile::tempdir().expect("tempdir");
    let warn_only = dir.path().join("warn_only.yml");
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(CLEAN))
        .expect("fixture")
        .replace("2026-11-29", "2026/11/29");
    std::fs::write(&warn_only, text).expect("write");
    let path = warn_only.to_str().expect("path");
    assert_eq!(sigrun(&["check", path]).status.code(), Some(0));
    assert_eq!(
        sigrun(&["check", "--fail-on", "warning", path])
            .status
            .code(),
        Some(1)
    );
    // The run itself failing: a path that does not exist, an unknown validator name.
    let missing = sigrun(&["check", "no/such/folder"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stdout(&missing).contains("no/such/folder"));
    let unknown = sigrun(&["check", "--disable", "no-such-check", CLEAN]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no such validator"));
}

#[test]
fn validators_can_be_listed_and_disabled() {
    let list = stdout(&sigrun(&["check", "--list"]));
    for name in [
        "undefined-identifier",
        "modifier-chain",
        "attack-tag",
        "sigmahq-filename",
        "schema",
    ] {
        assert!(
            list.lines().any(|l| l.starts_with(name)),
            "{name} missing from --list"
        );
    }
    let output = sigrun(&[
        "check",
        "--format",
        "json",
        "--disable",
        "undefined-identifier",
        "--disable",
        "unknown-modifier",
        "--disable",
        "modifier-chain",
        BROKEN,
    ]);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(value["summary"]["errors"], 1, "{value:#}");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn seed_rules_parse_and_old_forms_are_reported() {
    let Some(shared) = shared_with("corpus/sigma") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let seeds = shared.join("seeds");
    let read = |name: &str| std::fs::read_to_string(seeds.join(name)).expect("seed");
    let rule_000 = seed_000_rule(&read("000_1b44c350238dc441.txt")).expect("rule in seed 000");
    let rule_001 = seed_001_rule(&read("001_ae5210002f8d1d01.txt")).expect("rule in seed 001");
    std::fs::write(dir.path().join("seed_000.yml"), rule_000).expect("write");
    std::fs::write(dir.path().join("seed_001.yml"), rule_001).expect("write");
    let output = sigrun(&[
        "check",
        "--format",
        "json",
        dir.path().to_str().expect("path"),
    ]);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(value["summary"]["documents"], 2);
    assert_eq!(value["summary"]["errors"], 0, "{value:#}");
    assert_eq!(output.status.code(), Some(0));
    let files = value["files"].as_array().expect("files");
    assert_eq!(files.len(), 1, "seed 000 is clean: {value:#}");
    assert!(
        files[0]["path"]
            .as_str()
            .expect("path")
            .ends_with("seed_001.yml")
    );
    let found: Vec<(String, String, Option<String>)> = files[0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or_default().to_string(),
                f["message"].as_str().unwrap_or_default().to_string(),
                f["help"].as_str().map(String::from),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "date-format".to_string(),
                "date '2018/03/07' uses the Sigma 1 form YYYY/MM/DD".to_string(),
                Some("Sigma 2 dates read YYYY-MM-DD: write 2018-03-07".to_string())
            ),
            (
                "attack-tag".to_string(),
                "tag 'attack.t1084' names T1084 (Windows Management Instrumentation Event Subscription), revoked in ATT&CK v18.1".to_string(),
                Some("use 'attack.t1546.003' instead".to_string())
            ),
        ]
    );
}

#[test]
fn sigmahq_rules_have_no_errors() {
    let Some(shared) = shared_with("corpus/sigma") else {
        return;
    };
    let rules = shared.join("corpus/sigma/rules");
    let output = sigrun(&["check", "--format", "json", rules.to_str().expect("path")]);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(value["summary"]["errors"], 0);
    assert!(value["summary"]["files"].as_u64().expect("files") > 3_000);
    assert_eq!(output.status.code(), Some(0));
}

/// `check` over the whole SigmaHQ corpus says the same with a cold parse cache, a warm one
/// and none.
#[test]
fn the_parse_cache_never_changes_the_findings() {
    let Some(shared) = shared_with("corpus/sigma") else {
        return;
    };
    let corpus = shared.join("corpus/sigma");
    let corpus = corpus.to_str().expect("path");
    let cache = tempfile::tempdir().expect("tempdir");
    let run = |extra: &[&str]| {
        let mut args = vec!["check", "--format", "json", corpus];
        args.extend_from_slice(extra);
        common::sigrun_cached(Path::new(env!("CARGO_MANIFEST_DIR")), cache.path(), &args)
    };
    let cold = run(&[]);
    assert!(cache.path().join("rule-parses.bin").is_file());
    let warm = run(&[]);
    let none = run(&["--no-cache"]);
    assert!(cold.stdout.len() > 1000);
    for (name, other) in [("warm", &warm), ("--no-cache", &none)] {
        assert_eq!(other.status.code(), cold.status.code(), "{name}");
        assert_eq!(other.stdout, cold.stdout, "{name}");
        assert_eq!(other.stderr, cold.stderr, "{name}");
    }
}
