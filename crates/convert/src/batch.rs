//! Converting a whole rule set: per-rule outcomes in file order and a summary.

use std::path::PathBuf;

use rayon::prelude::*;
use sigrun_pipeline::Pipeline;
use sigrun_rule::{DocumentKind, RuleSet, Severity};

use crate::{Conversion, Options, Target, convert};

/// What happened to one document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Converted,
    /// The rule could not be converted (or could not be loaded).
    Failed,
    /// Not applicable: the logsource is not in the pipeline, or the document is not a
    /// detection rule (correlations and filters are not converted yet).
    Skipped,
}

/// One document of the set and its conversion.
#[derive(Clone, Debug)]
pub struct RuleOutcome {
    pub path: PathBuf,
    /// Line of the document's start (1-based).
    pub line: u32,
    pub id: Option<String>,
    pub title: String,
    pub author: String,
    pub status: Status,
    pub conversion: Option<Conversion>,
    /// Why the rule failed or was skipped (also the failed variants of a converted rule are
    /// in `conversion.errors`).
    pub reason: Option<String>,
    /// A short stable category of `reason`, for histograms.
    pub category: Option<String>,
}

/// Counts of a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub converted: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Summary {
    /// Converted out of the rules that apply (failed + converted), in percent.
    pub fn success_rate(&self) -> f64 {
        let applicable = self.converted + self.failed;
        if applicable == 0 {
            100.0
        } else {
            self.converted as f64 * 100.0 / applicable as f64
        }
    }
}

/// The outcomes of a set, in the set's (sorted path) order.
#[derive(Clone, Debug)]
pub struct Batch {
    pub target: Target,
    pub pipeline: Option<String>,
    pub outcomes: Vec<RuleOutcome>,
    pub summary: Summary,
}

/// Converts every document of a set (in parallel; the order of outcomes is the set's).
pub fn convert_set(
    set: &RuleSet,
    target: Target,
    pipeline: Option<&Pipeline>,
    options: &Options,
) -> Batch {
    let documents: Vec<_> = set.documents().collect();
    let outcomes: Vec<RuleOutcome> = documents
        .par_iter()
        .map(|doc| {
            let meta = doc.document.meta();
            let line = doc.file.source.line_col(doc.document.span().start).line;
            let mut outcome = RuleOutcome {
                path: doc.file.path().to_path_buf(),
                line,
                id: meta.and_then(|m| m.id()).map(str::to_owned),
                title: meta.map(|m| m.title().to_owned()).unwrap_or_default(),
                author: meta.map(|m| m.author().to_owned()).unwrap_or_default(),
                status: Status::Failed,
                conversion: None,
                reason: None,
                category: None,
            };
            let error = doc
                .file
                .all_diagnostics()
                .find(|d| d.severity == Severity::Error);
            match (&doc.document.kind, error) {
                (_, Some(diagnostic)) => {
                    outcome.reason = Some(format!("the rule has errors: {}", diagnostic.message));
                    outcome.category = Some("invalid rule".to_owned());
                }
                (None, None) => {
                    outcome.reason = Some("not a Sigma rule, correlation or filter".to_owned());
                    outcome.category = Some("invalid rule".to_owned());
                }
                (Some(DocumentKind::Rule(rule)), None) => {
                    match convert(rule, target, pipeline, options) {
                        Ok(conversion) => {
                            outcome.status = Status::Converted;
                            outcome.conversion = Some(conversion);
                        }
                        Err(error) => {
                            outcome.status = if error.is_skip() {
                                Status::Skipped
                            } else {
                                Status::Failed
                            };
                            outcome.category = Some(error.category());
                            outcome.reason = Some(error.to_string());
                        }
                    }
                }
                (Some(other), None) => {
                    outcome.status = Status::Skipped;
                    outcome.reason =
                        Some(format!("{} documents are not converted", other.kind_name()));
                    outcome.category = Some(format!("{} not converted", other.kind_name()));
                }
            }
            outcome
        })
        .collect();
    let mut summary = Summary::default();
    for outcome in &outcomes {
        match outcome.status {
            Status::Converted => summary.converted += 1,
            Status::Failed => summary.failed += 1,
            Status::Skipped => summary.skipped += 1,
        }
    }
    Batch {
        target,
        pipeline: pipeline.map(|p| p.name().to_owned()),
        outcomes,
        summary,
    }
}
