//! Shared test helpers: the shared folder, the corpus, rules from text.
#![allow(dead_code)]

use std::path::PathBuf;

use sigrun_rule::{RuleSet, SigmaRule, SourceFile, parse_source};

/// The shared folder (`SIGRUN_SHARED` or `<workspace>/../shared`), or `None` after printing
/// one line when it is absent.
pub fn shared() -> Option<PathBuf> {
    let path = std::env::var_os("SIGRUN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    if path.is_dir() {
        Some(path)
    } else {
        println!("skipped: no shared folder at {}", path.display());
        None
    }
}

/// The `rules*` folders of the SigmaHQ corpus, loaded in place.
pub fn corpus_rules() -> Option<RuleSet> {
    let sigma = shared()?.join("corpus/sigma");
    if !sigma.is_dir() {
        println!("skipped: no Sigma corpus at {}", sigma.display());
        return None;
    }
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&sigma)
        .expect("corpus folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("rules"))
        })
        .collect();
    folders.sort();
    let (set, missing) = RuleSet::load(&folders);
    assert!(missing.is_empty(), "{missing:?}");
    Some(set)
}

/// Parses one rule document from YAML text (panics on errors: test input).
pub fn rule(yaml: &str) -> SigmaRule {
    let file = parse_source(SourceFile::new("test.yml", yaml.to_owned()));
    let errors: Vec<_> = file
        .all_diagnostics()
        .filter(|d| d.severity == sigrun_rule::Severity::Error)
        .map(|d| d.message.clone())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    file.documents[0].rule().expect("a rule").clone()
}

/// A rule with one selection `sel` (given as YAML lines, indented by 8) and a logsource.
pub fn selection(logsource: &str, body: &str) -> SigmaRule {
    let body: String = body.lines().map(|l| format!("        {l}\n")).collect();
    rule(&format!(
        "title: t\nid: 00000000-0000-4000-8000-000000000000\nlogsource: {logsource}\ndetection:\n    sel:\n{body}    condition: sel\n"
    ))
}
