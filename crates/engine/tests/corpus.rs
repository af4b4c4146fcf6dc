//! Every SigmaHQ Windows rule either compiles or comes back with a stated reason.

mod common;

use common::*;
use sigrun_engine::{CompileOptions, Engine};
use sigrun_rule::RuleSet;
use std::collections::BTreeMap;

#[test]
fn every_windows_rule_compiles_or_has_a_reason() {
    let Some((_, set)) = sigmahq_windows() else {
        return;
    };
    let documents = set.numbered_documents();
    let (engine, problems) =
        Engine::compile_documents(&documents, windows(), &CompileOptions::default());
    let mut histogram: BTreeMap<String, usize> = BTreeMap::new();
    for problem in &problems {
        *histogram.entry(problem.kind.to_string()).or_default() += 1;
    }
    let stats = engine.stats();
    println!(
        "{} documents: {} compiled, {} not; {:?}",
        documents.len(),
        engine.rule_ids().len(),
        problems.len(),
        stats
    );
    for (reason, count) in &histogram {
        println!("{count:5}  {reason}");
    }
    // Every document is accounted for exactly once.
    assert_eq!(
        engine.accounted_rules(&problems),
        (0..documents.len()).collect::<Vec<_>>()
    );
    // Every reason is stated (no empty text) and none is a surprise for this corpus: SigmaHQ
    // Windows rules are valid, mapped by the builtin pipeline, and free of Sigma 1
    // aggregations; only regexes outside the Rust regex dialect may fail.
    for problem in &problems {
        assert!(!problem.kind.to_string().is_empty());
        assert!(
            matches!(problem.kind.code(), "regex"),
            "unexpected problem for {}: {}",
            set.documents()
                .nth(problem.rule)
                .unwrap()
                .file
                .path()
                .display(),
            problem.kind
        );
    }
    assert!(
        engine.rule_ids().len() >= 2390,
        "{}",
        engine.rule_ids().len()
    );
}

#[test]
fn every_sigmahq_rule_folder_is_accounted_for() {
    let Some(shared) = shared_dir() else {
        println!("skipped: ../shared is absent");
        return;
    };
    let sigma = shared.join("corpus/sigma");
    let mut folders: Vec<_> = std::fs::read_dir(&sigma)
        .expect("corpus")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("rules"))
        })
        .collect();
    folders.sort();
    let (set, _) = RuleSet::load(&folders);
    let documents = set.numbered_documents();
    let (engine, problems) =
        Engine::compile_documents(&documents, windows(), &CompileOptions::default());
    let mut histogram: BTreeMap<&str, usize> = BTreeMap::new();
    for problem in &problems {
        *histogram.entry(problem.kind.code()).or_default() += 1;
    }
    println!(
        "{} documents in {} folders: {} compiled; not compiled: {histogram:?}",
        documents.len(),
        folders.len(),
        engine.rule_ids().len()
    );
    assert_eq!(
        engine.accounted_rules(&problems),
        (0..documents.len()).collect::<Vec<_>>(),
        "every document is compiled or has a reason, once"
    );
    // Placeholder rules need values the builtin pipeline does not define.
    assert!(
        histogram
            .get("unknown-placeholder")
            .is_some_and(|&n| n >= 10)
    );
    // Other products (linux, cloud, ...) are not in the windows pipeline.
    assert!(
        histogram
            .get("unmapped-logsource")
            .is_some_and(|&n| n >= 500)
    );
}
