//! sigrun's ES|QL and SPL next to pySigma's, rule by rule, for SigmaHQ `rules/windows`.
//!
//! Neither language has a parser we can run here, so the reference is the other converter:
//! pySigma 1.5 with pysigma-backend-elasticsearch and pysigma-backend-splunk (what sigma-cli 3
//! runs). Both convert without a pipeline (Sigma field names, no logsource conditions), so
//! that only the languages' writing differs.
//!
//! `scripts/pysigma_compare.py` converts every rule with pySigma (`pysigma_convert.py`), reads
//! sigrun's queries from stdin, parses both sides into boolean trees of field tests, and sorts
//! every difference into a named category (escaping, case handling, wildcard forms, pySigma
//! defects, ...). This test fails on a difference no category explains.
//!
//! The script first checks its classifier on pairs whose answer is known, including pairs
//! that must stay unexplained, and fails when it errs.
//!
//! Run time: about 30 s (pySigma converts ~2400 rules twice). The test skips with one line
//! when pySigma is not installed; `scripts/install-verifiers.sh` installs the pinned versions
//! the categories were written against, and CI that has run it exercises this test as part of
//! `cargo test`.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value as Json, json};
use sigrun_convert::{Options, Target, convert};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

fn pysigma_installed() -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import sigma.backends.elasticsearch, sigma.backends.splunk",
        ])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!(
            "skipped: pySigma with the elasticsearch and splunk backends is not installed (scripts/install-verifiers.sh)"
        );
    }
    ok
}

#[test]
fn esql_and_splunk_differ_from_pysigma_only_in_explained_ways() {
    if !pysigma_installed() {
        return;
    }
    let Some(shared) = common::shared() else {
        return;
    };
    let windows = shared.join("corpus/sigma/rules/windows");
    if !windows.is_dir() {
        println!("skipped: no {}", windows.display());
        return;
    }
    let (set, missing) = sigrun_rule::RuleSet::load(std::slice::from_ref(&windows));
    assert!(missing.is_empty(), "{missing:?}");
    let mut input = String::new();
    let mut rules = 0;
    for doc in set.documents() {
        let Some(rule) = doc.document.rule() else {
            continue;
        };
        if doc.document.has_errors() {
            continue;
        }
        rules += 1;
        for target in [Target::Esql, Target::Splunk] {
            let mut record = json!({
                "path": doc.file.path().display().to_string(),
                "id": rule.meta.id(),
                "target": target.name(),
            });
            match convert(rule, target, None, &Options::default()) {
                Ok(conversion) => {
                    record["queries"] = json!(
                        conversion
                            .queries
                            .iter()
                            .map(|q| q.text.as_str())
                            .collect::<Vec<_>>()
                    );
                }
                Err(error) => record["error"] = json!(error.to_string()),
            }
            input.push_str(&record.to_string());
            input.push('\n');
        }
    }
    let script = Path::new(MANIFEST).join("scripts/pysigma_compare.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(&windows)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("compare output");
    assert!(
        output.status.success(),
        "pysigma_compare.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    writer.join().expect("writer").expect("write to compare");
    let report: Json = serde_json::from_slice(&output.stdout).expect("report JSON");
    println!("{rules} rules of rules/windows");
    println!(
        "{}",
        serde_json::to_string_pretty(&report["summary"]).expect("summary")
    );
    let unexplained = report["unexplained"].as_array().expect("unexplained list");
    assert!(
        unexplained.is_empty(),
        "{} differences no category explains:\n{}",
        unexplained.len(),
        unexplained
            .iter()
            .take(20)
            .map(|u| serde_json::to_string_pretty(u).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
