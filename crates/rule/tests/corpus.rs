//! Every rule of the SigmaHQ corpus in `../shared/corpus/sigma` parses (not a sample: all).

use sigrun_rule::{RuleSet, Severity};
use std::path::PathBuf;

/// The shared folder, or `None` (after printing one line) when it is absent.
fn shared() -> Option<PathBuf> {
    let path = std::env::var_os("SIGRUN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    if path.join("corpus/sigma").is_dir() {
        Some(path)
    } else {
        println!("skipped: no Sigma corpus at {}", path.display());
        None
    }
}

fn rule_folders(sigma: &std::path::Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(sigma)
        .expect("corpus folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("rules") || n == "deprecated")
        })
        .collect();
    folders.sort();
    folders
}

#[test]
fn every_rule_and_deprecated_rule_parses_without_errors() {
    let Some(shared) = shared() else { return };
    let sigma = shared.join("corpus/sigma");
    let (set, missing) = RuleSet::load(&rule_folders(&sigma));
    assert!(missing.is_empty(), "{missing:?}");
    let documents = set.documents().count();
    assert!(documents > 3_700, "only {documents} documents found");
    let mut failures = Vec::new();
    for file in &set.files {
        for d in file
            .all_diagnostics()
            .filter(|d| d.severity == Severity::Error)
        {
            failures.push(sigrun_rule::diagnostic::render(
                &file.source,
                d,
                Default::default(),
            ));
        }
        for doc in &file.documents {
            assert!(
                doc.kind.is_some(),
                "{} has an unrecognised document",
                file.path().display()
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} errors:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn unsupported_rules_parse_or_fail_with_a_located_message() {
    let Some(shared) = shared() else { return };
    let (set, _) = RuleSet::load(&[shared.join("corpus/sigma/unsupported")]);
    assert!(set.files.len() > 80);
    for file in &set.files {
        for d in file
            .all_diagnostics()
            .filter(|d| d.severity == Severity::Error)
        {
            assert!(
                d.span.is_some(),
                "{}: {} has no location",
                file.path().display(),
                d.message
            );
            assert!(!d.message.is_empty());
        }
    }
}
