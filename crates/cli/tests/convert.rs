//! `sigrun convert` end to end: the seed rule in the seeds' forms, a seed 000 exclusion
//! changing every target's query, output formats, the summary and exit codes.

use std::path::{Path, PathBuf};

mod common;
use common::{sigrun, stdout};

fn seeds() -> Option<PathBuf> {
    let path = std::env::var_os("SIGRUN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
        .join("seeds");
    if path.is_dir() {
        Some(path)
    } else {
        println!("skipped: no seeds at {}", path.display());
        None
    }
}

/// Writes seed 000's rule (SigmaHQ's WMI script consumer file write) into `dir`.
fn seed_rule(dir: &Path) -> Option<PathBuf> {
    let seeds = seeds()?;
    let text = std::fs::read_to_string(seeds.join("000_1b44c350238dc441.txt")).expect("seed 000");
    let path = dir.join("seed_000.yml");
    std::fs::write(
        &path,
        common::seed_000_rule(&text).expect("rule in seed 000"),
    )
    .expect("write");
    Some(path)
}

const FILTER: &str = "examples/filters/mf_scrcons_dism_sfc.yml";

fn query(target: &str, pipeline: &[&str], rule: &Path, filters: bool) -> String {
    let mut args = vec!["convert", "-t", target];
    args.extend_from_slice(pipeline);
    if filters {
        args.extend(["--filters", FILTER]);
    }
    let rule = rule.to_str().expect("path");
    args.push(rule);
    let output = sigrun(&args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(&output)
}

#[test]
fn seed_rule_in_the_seeds_forms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(rule) = seed_rule(dir.path()) else {
        return;
    };
    // Seed 000: Sentinel ASIM. Same table, operator and value; the column is the acting
    // process (the seed's pySigma mapping names the written file instead: see the note).
    assert_eq!(
        query("kusto", &["-p", "kusto_asim"], &rule, false),
        "imFileEvent\n| where ActingProcessName =~ \"C:\\\\WINDOWS\\\\system32\\\\wbem\\\\scrcons.exe\"\n"
    );
    assert_eq!(
        query("kusto", &["-p", "kusto_defender"], &rule, false),
        "DeviceFileEvents\n| where InitiatingProcessFolderPath =~ \"C:\\\\WINDOWS\\\\system32\\\\wbem\\\\scrcons.exe\"\n"
    );
    // Seed 001: Kibana and Graylog over the rule's own field names.
    assert_eq!(
        query("lucene", &["--no-pipeline"], &rule, false),
        "Image:\"C\\:\\\\WINDOWS\\\\system32\\\\wbem\\\\scrcons.exe\"\n"
    );
    assert_eq!(
        query("graylog", &["--no-pipeline"], &rule, false),
        "Image:\"C\\:\\\\WINDOWS\\\\system32\\\\wbem\\\\scrcons.exe\"\n"
    );
}

/// A seed 000 exclusion (DISM/SFC repair files) changes each target's query by exactly the
/// negated filter.
#[test]
fn a_filter_changes_every_target_query() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(rule) = seed_rule(dir.path()) else {
        return;
    };
    let mut snapshot = String::new();
    for (target, pipeline) in [
        ("kusto", vec!["-p", "kusto_asim"]),
        ("kusto", vec!["-p", "kusto_defender"]),
        ("lucene", vec!["--no-pipeline"]),
        ("graylog", vec!["--no-pipeline"]),
        ("eql", vec![]),
        ("esql", vec![]),
        ("splunk", vec![]),
        ("sqlite", vec![]),
        ("duckdb", vec![]),
    ] {
        let before = query(target, &pipeline, &rule, false);
        let after = query(target, &pipeline, &rule, true);
        assert_ne!(before, after, "{target}");
        snapshot.push_str(&format!(
            "== {target} {}\n-- without filter\n{before}-- with {FILTER}\n{after}",
            pipeline.join(" ")
        ));
    }
    insta::assert_snapshot!("convert_seed_rule_with_filter", snapshot);
}

#[test]
fn formats_summary_and_exit_codes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).expect("mkdir");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../crates/pack/rules/mofcomp_suspicious_compile.yml"),
        rules.join("mofcomp.yml"),
    )
    .expect("copy");
    std::fs::write(
        rules.join("linux.yml"),
        "title: Linux\nid: 11111111-1111-4111-8111-111111111111\nlogsource: {product: linux, category: process_creation}\ndetection: {sel: {Image: x}, condition: sel}\n",
    )
    .expect("write");
    let rules_arg = rules.to_str().expect("path");

    let ndjson = sigrun(&["convert", "-t", "splunk", "-f", "ndjson", rules_arg]);
    assert_eq!(ndjson.status.code(), Some(0));
    let records: Vec<serde_json::Value> = stdout(&ndjson)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(records.len(), 2);
    let converted = records
        .iter()
        .find(|r| r["status"] == "converted")
        .expect("converted");
    for key in [
        "id", "title", "author", "target", "pipeline", "queries", "warnings", "errors",
    ] {
        assert!(!converted[key].is_null(), "{key} missing: {converted}");
    }
    assert_eq!(converted["author"], "sigrun project");
    let stderr = String::from_utf8_lossy(&ndjson.stderr);
    assert!(
        stderr.ends_with("splunk: 1 converted, 0 failed, 1 skipped (pipeline: splunk_windows)\n"),
        "{stderr}"
    );

    let out = dir.path().join("out");
    let files = sigrun(&[
        "convert",
        "-t",
        "kusto",
        "-f",
        "files",
        "-o",
        out.to_str().expect("path"),
        rules_arg,
    ]);
    assert_eq!(files.status.code(), Some(0));
    let written: Vec<String> = std::fs::read_dir(&out)
        .expect("out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(written, ["dace8d06-8010-451a-bd99-fae8661868d2.kql"]);

    // A rule the target cannot express fails with its reason; the batch goes on.
    std::fs::write(
        rules.join("regex.yml"),
        "title: Regex Rule\nlogsource: {product: windows, category: process_creation}\ndetection: {sel: {CommandLine|re: 'a(?=b)'}, condition: sel}\n",
    )
    .expect("write");
    let failed = sigrun(&["convert", "-t", "kusto", rules_arg]);
    assert_eq!(failed.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("failed "), "{stderr}");
    assert!(stderr.contains("regex.yml:1 (Regex Rule): "), "{stderr}");
    assert!(
        stderr.ends_with("kusto: 1 converted, 1 failed, 1 skipped (pipeline: kusto_defender)\n"),
        "{stderr}"
    );
    assert!(!stdout(&failed).is_empty());

    let unknown = sigrun(&["convert", "-t", "nosuch", rules_arg]);
    assert_eq!(unknown.status.code(), Some(2));
}
