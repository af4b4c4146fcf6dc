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

/// SigmaHQ's CI passes every rule under `rules/`, so `sigrun check` must find no errors there
/// (warnings and notes are allowed: the corpus uses ATT&CK v19 tags, for one).
#[test]
fn check_reports_no_errors_on_sigmahq_rules() {
    use sigrun_rule::validate::{Options, validate};
    let Some(shared) = shared() else { return };
    let (set, _) = RuleSet::load(&[shared.join("corpus/sigma/rules")]);
    assert!(set.files.len() > 3_000);
    let findings = validate(
        &set,
        sigrun_attack::AttackData::embedded(),
        &Options::default(),
    );
    let mut errors = Vec::new();
    let mut histogram = std::collections::BTreeMap::new();
    for file_findings in &findings {
        let file = &set.files[file_findings.file];
        for d in &file_findings.diagnostics {
            *histogram.entry((d.severity.as_str(), d.code)).or_insert(0) += 1;
            if d.severity == Severity::Error {
                errors.push(sigrun_rule::diagnostic::render(
                    &file.source,
                    d,
                    Default::default(),
                ));
            }
        }
    }
    println!("findings on rules/: {histogram:?}");
    assert!(
        errors.is_empty(),
        "{} errors:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

/// Every file of the corpus read back from the parse cache equals its parse: documents,
/// spans and diagnostics (compared as their full `Debug` text).
#[test]
fn every_corpus_file_reads_back_from_the_parse_cache_unchanged() {
    let Some(shared) = shared() else { return };
    let folders = rule_folders(&shared.join("corpus/sigma"));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("parses");
    let (parsed, _) = RuleSet::load(&folders);
    let cold = sigrun_rule::ParseCache::open(&path);
    let (first, _) = RuleSet::load_cached(&folders, &cold);
    assert!(cold.save().expect("written"));
    let warm = sigrun_rule::ParseCache::open(&path);
    let (second, _) = RuleSet::load_cached(&folders, &warm);
    assert!(!warm.save().expect("nothing new"), "every file was a hit");
    assert_eq!(parsed.files.len(), second.files.len());
    assert!(parsed.files.len() > 3000, "{}", parsed.files.len());
    for ((a, b), c) in parsed.files.iter().zip(&first.files).zip(&second.files) {
        let shown = |f: &sigrun_rule::RuleFile| format!("{:?}\n{:?}", f.documents, f.diagnostics);
        assert_eq!(shown(a), shown(b), "{}", a.path().display());
        assert_eq!(shown(a), shown(c), "{}", a.path().display());
    }
}
