//! Parse and check the whole SigmaHQ corpus (`rules*` and `deprecated`), as `sigrun check` does.
//! Reads `../shared` in place (or `SIGRUN_SHARED`); prints one line and measures nothing when
//! it is absent.

use criterion::{Criterion, criterion_group, criterion_main};
use sigrun_rule::RuleSet;
use sigrun_rule::validate::{Options, validate};
use std::path::PathBuf;

fn corpus_folders() -> Option<Vec<PathBuf>> {
    let shared = std::env::var_os("SIGRUN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let sigma = shared.join("corpus/sigma");
    let Ok(entries) = std::fs::read_dir(&sigma) else {
        println!("skipped: no Sigma corpus at {}", sigma.display());
        return None;
    };
    let mut folders: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("rules") || n == "deprecated")
        })
        .collect();
    folders.sort();
    Some(folders)
}

fn bench(c: &mut Criterion) {
    let Some(folders) = corpus_folders() else {
        return;
    };
    let attack = sigrun_attack::AttackData::embedded();
    let mut group = c.benchmark_group("corpus");
    group.sample_size(10);
    group.bench_function("parse", |b| b.iter(|| RuleSet::load(&folders)));
    group.bench_function("parse_and_check", |b| {
        b.iter(|| {
            let (set, _) = RuleSet::load(&folders);
            validate(&set, attack, &Options::default())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
