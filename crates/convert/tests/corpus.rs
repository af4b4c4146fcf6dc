//! Every rule of the SigmaHQ corpus (`../shared/corpus/sigma/rules*`), converted to every
//! target, without a pipeline and with the target's default pipeline: at least 99% of the
//! rules that apply convert, counting every failure, the rules that need data the source lacks
//! (a field the data model does not have, values for a placeholder) included; without those the
//! language alone must reach 99% too. The failure reasons are printed as a histogram.

mod common;

use std::collections::BTreeMap;

use sigrun_convert::{Batch, Options, Status, Target, convert_set};
use sigrun_pipeline::Pipeline;

fn histogram(batch: &Batch) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for outcome in &batch.outcomes {
        if outcome.status == Status::Failed {
            *counts
                .entry(outcome.category.clone().unwrap_or_default())
                .or_insert(0) += 1;
        }
    }
    counts
}

/// Rules that failed for want of data (a field the source lacks, placeholder values) rather
/// than for a limit of the language.
const DATA_GAPS: [&str; 2] = ["source lacks a field", "undefined placeholder"];

/// Converted out of the rules that apply and need nothing the data lacks, in percent.
fn language_success(batch: &Batch) -> f64 {
    let gaps: usize = histogram(batch)
        .iter()
        .filter(|(category, _)| DATA_GAPS.contains(&category.as_str()))
        .map(|(_, n)| n)
        .sum();
    let s = batch.summary;
    s.converted as f64 * 100.0 / (s.converted + s.failed - gaps).max(1) as f64
}

fn report(label: &str, batch: &Batch) {
    let s = batch.summary;
    println!(
        "{label:28} converted {:5}  failed {:3}  skipped {:5}  success {:6.2}% (language {:6.2}%)",
        s.converted,
        s.failed,
        s.skipped,
        s.success_rate(),
        language_success(batch)
    );
    for (category, count) in histogram(batch) {
        println!("{:32}{count:5}  {category}", "");
    }
}

#[test]
fn the_corpus_converts_to_every_target() {
    let Some(set) = common::corpus_rules() else {
        return;
    };
    let documents = set.documents().count();
    assert!(documents > 3_000, "only {documents} documents");
    let options = Options::default();
    let mut below = Vec::new();
    for target in Target::ALL {
        let mut runs: Vec<(String, Option<&Pipeline>)> = vec![("no pipeline".to_owned(), None)];
        if let Some(name) = target.default_pipeline() {
            runs.push((
                name.to_owned(),
                Some(Pipeline::builtin(name).expect("built-in")),
            ));
        }
        for (label, pipeline) in runs {
            let batch = convert_set(&set, target, pipeline, &options);
            let label = format!("{target} / {label}");
            report(&label, &batch);
            assert_eq!(
                batch.summary.converted + batch.summary.failed + batch.summary.skipped,
                documents
            );
            if batch.summary.success_rate() < 99.0 || language_success(&batch) < 99.0 {
                below.push(label);
            }
            // Every converted rule has a non-empty query per variant.
            for outcome in &batch.outcomes {
                if let Some(conversion) = &outcome.conversion {
                    assert!(!conversion.queries.is_empty());
                    for query in &conversion.queries {
                        assert!(
                            !query.text.trim().is_empty(),
                            "{}: empty query",
                            outcome.path.display()
                        );
                    }
                }
            }
        }
    }
    assert!(below.is_empty(), "below 99% success: {below:?}");
}
