//! Converts every rule of the SigmaHQ corpus (`../shared/corpus/sigma/rules*`) to every
//! target with its default pipeline, and prints the time (goal: under 1 s for all targets
//! together; sigma-cli needs 30-40 s per target). Rules are parsed once, outside the timing.
//!
//! `cargo bench -p sigrun-convert --bench corpus`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sigrun_convert::{Options, Target, convert_set};
use sigrun_pipeline::Pipeline;
use sigrun_rule::RuleSet;

fn corpus() -> Option<RuleSet> {
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
            p.is_dir()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("rules"))
        })
        .collect();
    folders.sort();
    Some(RuleSet::load(&folders).0)
}

fn main() {
    let Some(set) = corpus() else { return };
    let rules = set.documents().count();
    let options = Options::default();
    let pipelines: Vec<(Target, Option<&Pipeline>)> = Target::ALL
        .into_iter()
        .map(|t| {
            let pipeline = t
                .default_pipeline()
                .map(|name| Pipeline::builtin(name).expect("built-in"));
            (t, pipeline)
        })
        .collect();
    let mut best = Duration::MAX;
    let mut queries = 0;
    for _ in 0..5 {
        let start = Instant::now();
        queries = 0;
        for &(target, pipeline) in &pipelines {
            let batch = convert_set(&set, target, pipeline, &options);
            queries += batch
                .outcomes
                .iter()
                .filter_map(|o| o.conversion.as_ref())
                .map(|c| c.queries.len())
                .sum::<usize>();
        }
        best = best.min(start.elapsed());
    }
    println!(
        "{rules} documents x {} targets -> {queries} queries in {:.1} ms (best of 5, {} threads)",
        pipelines.len(),
        best.as_secs_f64() * 1e3,
        rayon::current_num_threads()
    );
    for &(target, pipeline) in &pipelines {
        let start = Instant::now();
        let batch = convert_set(&set, target, pipeline, &options);
        println!(
            "  {:8} {:15} {:7.1} ms  converted {:5} failed {:3} skipped {:5}",
            target.name(),
            pipeline.map_or("(none)", |p| p.name()),
            start.elapsed().as_secs_f64() * 1e3,
            batch.summary.converted,
            batch.summary.failed,
            batch.summary.skipped
        );
    }
}
