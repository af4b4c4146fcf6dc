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

/// A bundled rule (no shared folder needed): scrcons.exe writing a file.
const PACK_RULE: &str = "crates/pack/rules/scrcons_file_write.yml";

fn run_ok(args: &[&str]) -> (String, String) {
    let output = sigrun(args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    (stdout(&output), stderr)
}

#[test]
fn several_targets_in_one_run_give_each_target_its_usual_output() {
    let (kusto, _) = run_ok(&["convert", "-t", "kusto", PACK_RULE]);
    let (lucene, _) = run_ok(&["convert", "-t", "lucene", PACK_RULE]);
    let (both, stderr) = run_ok(&["convert", "-t", "kusto,lucene", PACK_RULE]);
    assert_eq!(
        both,
        format!(
            "== kusto (pipeline: kusto_defender) ==\n{kusto}\n== lucene (pipeline: ecs) ==\n{lucene}"
        )
    );
    assert_eq!(
        stderr,
        "kusto: 1 converted, 0 failed, 0 skipped (pipeline: kusto_defender)\n\
         lucene: 1 converted, 0 failed, 0 skipped (pipeline: ecs)\n"
    );
    // Repeating -t is the same; a target named twice (kql is kusto) is converted once.
    let (repeated, _) = run_ok(&[
        "convert", "-t", "kusto", "-t", "lucene", "-t", "kql", PACK_RULE,
    ]);
    assert_eq!(repeated, both);

    let (all, _) = run_ok(&[
        "convert",
        "-t",
        "kusto,lucene,graylog,eql,esql,splunk,sqlite,duckdb",
        PACK_RULE,
    ]);
    insta::assert_snapshot!("convert_one_rule_all_targets", all);
}

#[test]
fn several_targets_as_ndjson_and_files() {
    let (ndjson, _) = run_ok(&["convert", "-t", "splunk,sqlite", "-f", "ndjson", PACK_RULE]);
    let records: Vec<serde_json::Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let targets: Vec<(&str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["target"].as_str().expect("target"),
                r["pipeline"].as_str().unwrap_or("none"),
            )
        })
        .collect();
    assert_eq!(targets, [("splunk", "splunk_windows"), ("sqlite", "none")]);
    let (splunk_alone, _) = run_ok(&["convert", "-t", "splunk", "-f", "ndjson", PACK_RULE]);
    assert_eq!(ndjson.lines().next(), splunk_alone.lines().next());

    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let alone = dir.path().join("alone");
    run_ok(&[
        "convert",
        "-t",
        "kusto,splunk",
        "-f",
        "files",
        "-o",
        out.to_str().expect("path"),
        PACK_RULE,
    ]);
    run_ok(&[
        "convert",
        "-t",
        "kusto",
        "-f",
        "files",
        "-o",
        alone.to_str().expect("path"),
        PACK_RULE,
    ]);
    let file = "1b416acd-566a-4f92-a3d9-b52023156834";
    assert_eq!(
        std::fs::read_to_string(out.join("kusto").join(format!("{file}.kql"))).expect("kusto file"),
        std::fs::read_to_string(alone.join(format!("{file}.kql"))).expect("single-target file")
    );
    assert!(out.join("splunk").join(format!("{file}.spl")).is_file());
    let top: Vec<String> = std::fs::read_dir(&out)
        .expect("out")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(top, ["kusto", "splunk"]);
}

#[test]
fn several_targets_name_the_target_of_each_failure_and_fail_if_one_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rule = dir.path().join("regex.yml");
    std::fs::write(
        &rule,
        "title: Regex Rule\nlogsource: {product: windows, category: process_creation}\ndetection: {sel: {CommandLine|re: 'a(?=b)'}, condition: sel}\n",
    )
    .expect("write");
    let rule = rule.to_str().expect("path");
    let output = sigrun(&["convert", "-t", "kusto,sqlite", rule]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].starts_with(&format!("kusto: failed {rule}:1 (Regex Rule): ")),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(
            "kusto: 0 converted, 1 failed, 0 skipped (pipeline: kusto_defender)\n\
             sqlite: 1 converted, 0 failed, 0 skipped (pipeline: none)\n"
        ),
        "{stderr}"
    );

    let unknown = sigrun(&["convert", "-t", "kusto,nosuch", rule]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .starts_with("sigrun: error: unknown target 'nosuch'"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
}

/// A pySigma processing pipeline for flat Windows JSON: process creation is EventID 1,
/// CommandLine is `cmdline`, and only Windows rules are converted.
const PYSIGMA_PIPELINE: &str = "
name: flat_lab
transformations:
  - id: process_creation
    type: add_condition
    conditions: { EventID: 1 }
    rule_conditions: [ { type: logsource, product: windows, category: process_creation } ]
  - id: names
    type: field_name_mapping
    mapping: { CommandLine: cmdline }
  - id: windows_only
    type: rule_failure
    message: only Windows rules
    rule_conditions: [ { type: logsource, product: windows } ]
    rule_cond_not: true
";

const EVIL_RULE: &str = "title: Evil Command
id: 5f0c2d4e-8d0b-4a57-9f39-3f1e9d2b7a11
author: lab
logsource: { product: windows, category: process_creation }
detection:
    sel:
        CommandLine|contains: evil
    condition: sel
level: high
";

#[test]
fn a_pysigma_pipeline_file_drives_convert_and_hunt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.to_str().expect("path").to_owned()
    };
    let pipeline = write("my.yml", PYSIGMA_PIPELINE);
    let rule = write("rule.yml", EVIL_RULE);
    let linux = write(
        "linux.yml",
        "title: Linux Rule\nlogsource: {product: linux, category: process_creation}\ndetection: {sel: {CommandLine: x}, condition: sel}\n",
    );
    let warning = format!(
        "sigrun: warning: {pipeline}:11:5: transformation 'windows_only' (rule_failure): the rules it fails are reported as unmapped (skipped) rather than failed with 'only Windows rules'\n"
    );

    let (lucene, stderr) = run_ok(&["convert", "-t", "lucene", "-p", &pipeline, &rule, &linux]);
    assert_eq!(lucene, "(EventID:\"1\" AND cmdline:*evil*)\n");
    assert_eq!(
        stderr,
        format!("{warning}lucene: 1 converted, 0 failed, 1 skipped (pipeline: flat_lab)\n")
    );
    let (kusto, _) = run_ok(&["convert", "-t", "kusto", "-p", &pipeline, &rule]);
    assert_eq!(kusto, "EventID == 1 and cmdline contains \"evil\"\n");

    // The same file for the hunt: only the EventID 1 event with the renamed field matches.
    let events = write(
        "events.jsonl",
        "{\"EventRecordID\": 1, \"EventID\": 1, \"Channel\": \"Lab\", \"cmdline\": \"evil.exe -x\"}\n\
         {\"EventRecordID\": 2, \"EventID\": 2, \"Channel\": \"Lab\", \"cmdline\": \"evil.exe -x\"}\n\
         {\"EventRecordID\": 3, \"EventID\": 1, \"Channel\": \"Lab\", \"CommandLine\": \"evil.exe\"}\n",
    );
    let hunt = sigrun(&[
        "hunt",
        "-p",
        &pipeline,
        "-r",
        &rule,
        "--layout",
        "windows-flat",
        "-f",
        "jsonl",
        "--no-summary",
        "--progress",
        "never",
        &events,
    ]);
    // Exit status 1: alerts, nothing skipped.
    assert_eq!(
        hunt.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&hunt.stderr)
    );
    let alerts: Vec<serde_json::Value> = stdout(&hunt)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let matched: Vec<(u64, &str)> = alerts
        .iter()
        .map(|a| {
            (
                a["record_id"].as_u64().expect("record id"),
                a["source"].as_str().expect("source"),
            )
        })
        .collect();
    assert_eq!(matched, [(1, "product=windows category=process_creation")]);

    // pySigma files combine with each other, not with sigrun pipelines.
    let mixed = sigrun(&[
        "convert", "-t", "lucene", "-p", "ecs", "-p", &pipeline, &rule,
    ]);
    assert_eq!(mixed.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&mixed.stderr),
        format!(
            "sigrun: error: {pipeline} is a pySigma pipeline, which cannot be stacked with the sigrun pipeline(s) ecs; give pySigma pipelines alone (they combine by priority, as in pySigma)\n"
        )
    );
}
