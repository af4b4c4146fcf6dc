//! Output forms of a batch: the queries alone, one NDJSON record per rule, or one file per
//! rule named by its id. The library builds the text; the CLI decides where it goes.
//!
//! Sigma rules are licensed DRL 1.1: every record and every file keeps the rule's id, title
//! and author (as a comment where the language has comments, otherwise the file is the JSON
//! record).

use serde_json::{Value, json};

use crate::batch::{Batch, RuleOutcome};
use crate::target::Target;

/// How a batch is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The queries alone, separated by blank lines.
    Query,
    /// One JSON object per line per rule.
    Ndjson,
    /// One file per rule, named by its id.
    Files,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Query, Format::Ndjson, Format::Files];

    pub fn name(self) -> &'static str {
        match self {
            Format::Query => "query",
            Format::Ndjson => "ndjson",
            Format::Files => "files",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Format::Query => "the queries alone, separated by blank lines",
            Format::Ndjson => {
                "one JSON record per rule: id, title, author, target, pipeline, queries, warnings, errors"
            }
            Format::Files => {
                "one file per rule named <id>.<extension>, with the rule's id, title and author"
            }
        }
    }

    pub fn parse(name: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

impl Batch {
    /// Every converted query, separated by blank lines, in rule order.
    pub fn query_text(&self) -> String {
        self.outcomes
            .iter()
            .filter_map(|o| o.conversion.as_ref())
            .map(|c| c.text())
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    /// One JSON record per document, each on its own line (with a final newline).
    pub fn ndjson(&self) -> String {
        let mut out = String::new();
        for outcome in &self.outcomes {
            out.push_str(&self.record(outcome).to_string());
            out.push('\n');
        }
        out
    }

    /// The JSON record of one outcome.
    pub fn record(&self, outcome: &RuleOutcome) -> Value {
        let (queries, warnings, mut errors) = match &outcome.conversion {
            Some(c) => (
                serde_json::to_value(&c.queries).unwrap_or(Value::Null),
                c.warnings.clone(),
                c.errors
                    .iter()
                    .map(|(source, e)| format!("[{source}] {e}"))
                    .collect::<Vec<_>>(),
            ),
            None => (json!([]), Vec::new(), Vec::new()),
        };
        if let Some(reason) = &outcome.reason {
            errors.push(reason.clone());
        }
        json!({
            "id": outcome.id,
            "title": outcome.title,
            "author": outcome.author,
            "path": outcome.path.display().to_string(),
            "line": outcome.line,
            "target": self.target,
            "pipeline": self.pipeline,
            "status": outcome.status,
            "queries": queries,
            "warnings": warnings,
            "errors": errors,
        })
    }

    /// One (file name, content) per converted rule. Files are named by the rule id; a rule
    /// without an id is named by its file stem and document line. Names are unique.
    pub fn files(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for outcome in &self.outcomes {
            let Some(conversion) = &outcome.conversion else {
                continue;
            };
            let stem = match &outcome.id {
                Some(id) => sanitize(id),
                None => format!(
                    "{}-{}",
                    sanitize(
                        &outcome
                            .path
                            .file_stem()
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_default()
                    ),
                    outcome.line
                ),
            };
            let mut name = format!("{stem}.{}", self.target.extension());
            let mut n = 2;
            while out.iter().any(|(existing, _)| *existing == name) {
                name = format!("{stem}-{n}.{}", self.target.extension());
                n += 1;
            }
            let content = match self.target.comment("") {
                Some(_) => commented(self.target, outcome, conversion),
                None => {
                    let mut text =
                        serde_json::to_string_pretty(&self.record(outcome)).unwrap_or_default();
                    text.push('\n');
                    text
                }
            };
            out.push((name, content));
        }
        out
    }
}

/// The queries of a rule with a comment header naming the rule (DRL 1.1).
fn commented(target: Target, outcome: &RuleOutcome, conversion: &crate::Conversion) -> String {
    let comment = |text: &str| target.comment(text).unwrap_or_default();
    let mut out = String::new();
    for line in [
        format!("title: {}", outcome.title),
        format!("id: {}", outcome.id.as_deref().unwrap_or("-")),
        format!("author: {}", outcome.author),
        "license: Detection Rule License (DRL) 1.1".to_owned(),
    ] {
        out.push_str(&comment(&line));
        out.push('\n');
    }
    for warning in &conversion.warnings {
        out.push_str(&comment(&format!("warning: {warning}")));
        out.push('\n');
    }
    for query in &conversion.queries {
        out.push('\n');
        if let Some(source) = &query.source {
            out.push_str(&comment(&format!("source: {source}")));
            out.push('\n');
        }
        out.push_str(&query.text);
        out.push('\n');
    }
    out
}

/// A file-name-safe version of an id or stem.
fn sanitize(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.starts_with('.') {
        format!("rule{cleaned}")
    } else {
        cleaned
    }
}

/// One target in a listing.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TargetListing {
    pub name: &'static str,
    pub description: &'static str,
    pub default_pipeline: Option<&'static str>,
    pub pipelines: &'static [&'static str],
    pub extension: &'static str,
}

/// What `--list` shows: targets, built-in pipelines, output formats.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Listing {
    pub targets: Vec<TargetListing>,
    pub pipelines: Vec<(&'static str, Option<String>)>,
    pub formats: Vec<(&'static str, &'static str)>,
}

/// Every target, built-in pipeline (with its description) and output format.
pub fn list() -> Listing {
    Listing {
        targets: Target::ALL
            .into_iter()
            .map(|t| TargetListing {
                name: t.name(),
                description: t.description(),
                default_pipeline: t.default_pipeline(),
                pipelines: t.pipelines(),
                extension: t.extension(),
            })
            .collect(),
        pipelines: sigrun_pipeline::Pipeline::builtin_names()
            .iter()
            .map(|name| {
                let description = sigrun_pipeline::Pipeline::builtin(name)
                    .ok()
                    .and_then(|p| p.description().map(str::to_owned));
                (*name, description)
            })
            .collect(),
        formats: Format::ALL
            .into_iter()
            .map(|f| (f.name(), f.description()))
            .collect(),
    }
}
