//! Sigma rules to SIEM queries: one generic emitter, one dialect table per target.
//!
//! ```text
//! SigmaRule ──pipeline (logsource → sources, field names)──► lower ──► query tree (ir)
//!     query tree ──emit (precedence, parentheses)──► dialect (tests, quoting) ──► query text
//! ```
//!
//! A rule is converted once per source variant its logsource resolves to in the pipeline
//! (e.g. Sysmon 1 and Security 4688 for `process_creation`); each variant gives one query.
//! A construct the target cannot express is a precise error naming the construct and the
//! reason, never a dropped modifier or an empty query.
//!
//! ```
//! use sigrun_convert::{Options, Target, convert};
//! use sigrun_rule::{SourceFile, parse_source};
//!
//! let text = "title: t\nlogsource: {product: windows, category: process_creation}\n\
//!             detection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n";
//! let file = parse_source(SourceFile::new("t.yml", text.to_owned()));
//! let rule = file.documents[0].rule().unwrap();
//! let out = convert(rule, Target::Splunk, None, &Options::default())?;
//! assert_eq!(out.queries[0].text, r#"Image="*\\cmd.exe""#);
//! # Ok::<(), sigrun_convert::ConvertError>(())
//! ```

mod batch;
mod dialect;
mod emit;
mod error;
mod ir;
mod lower;
mod output;
mod target;

pub use batch::{Batch, RuleOutcome, Status, Summary, convert_set};
pub use error::ConvertError;
pub use lower::PlaceholderPolicy;
pub use output::{Format, Listing, TargetListing, list};
pub use target::{Target, UnknownTarget};

use dialect::{Cx, Piece, Place};
use lower::Lowerer;
use sigrun_pipeline::{LogSource, Pipeline, Resolution, SourceVariant};
use sigrun_rule::SigmaRule;

/// Where keyword (field-less) searches go in languages without a search over every field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum KeywordField {
    /// The target's default ([`Target::default_keyword_field`]).
    #[default]
    TargetDefault,
    /// No keyword field: keyword searches fail in such languages.
    None,
    /// This field (or column).
    Field(String),
}

/// Conversion settings.
#[derive(Clone, Debug)]
pub struct Options {
    pub placeholders: PlaceholderPolicy,
    pub keyword_field: KeywordField,
    /// Overrides the table of every query (Kusto, SQL).
    pub table: Option<String>,
    /// Overrides the index of every query (ES|QL).
    pub index: Option<String>,
    /// AND the pipeline source's own conditions (Channel, EventID, ...) into the query.
    pub source_conditions: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            placeholders: PlaceholderPolicy::Reject,
            keyword_field: KeywordField::TargetDefault,
            table: None,
            index: None,
            source_conditions: true,
        }
    }
}

/// One query of a conversion.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Query {
    /// The pipeline source the query is for (`None` without a pipeline).
    pub source: Option<String>,
    /// Table or index the query runs on, when the target has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    pub text: String,
}

/// A converted rule: one query per source variant that converted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversion {
    pub target: Target,
    /// The pipeline's name, `None` when converted without one.
    pub pipeline: Option<String>,
    pub queries: Vec<Query>,
    /// Things the user should know (fields treated as absent, approximations).
    pub warnings: Vec<String>,
    /// Variants that failed while others converted: (source name, error).
    pub errors: Vec<(String, ConvertError)>,
}

impl Conversion {
    /// The query texts separated by a blank line.
    pub fn text(&self) -> String {
        self.queries
            .iter()
            .map(|q| q.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}

/// Converts one rule. With a pipeline, the rule's logsource picks the sources (an unmapped
/// logsource is [`ConvertError::Unmapped`]); without one, field names stay as written and
/// no source condition is added.
pub fn convert(
    rule: &SigmaRule,
    target: Target,
    pipeline: Option<&Pipeline>,
    options: &Options,
) -> Result<Conversion, ConvertError> {
    let variants: Vec<Option<SourceVariant<'_>>> = match pipeline {
        None => vec![None],
        Some(pipeline) => {
            let logsource = LogSource {
                category: rule.logsource.category(),
                product: rule.logsource.product(),
                service: rule.logsource.service(),
            };
            match pipeline.resolve(&logsource) {
                Resolution::Mapped(variants) => variants.into_iter().map(Some).collect(),
                Resolution::Unmapped { reason } => return Err(ConvertError::Unmapped { reason }),
            }
        }
    };
    let mut conversion = Conversion {
        target,
        pipeline: pipeline.map(|p| p.name().to_owned()),
        queries: Vec::with_capacity(variants.len()),
        warnings: Vec::new(),
        errors: Vec::new(),
    };
    for variant in variants {
        let source = variant.map(|v| v.name().to_owned());
        match convert_variant(rule, target, pipeline, variant, options) {
            Ok((query, warnings)) => {
                conversion.queries.push(query);
                for warning in warnings {
                    if !conversion.warnings.contains(&warning) {
                        conversion.warnings.push(warning);
                    }
                }
            }
            Err(error) => conversion
                .errors
                .push((source.unwrap_or_else(|| "(no pipeline)".to_owned()), error)),
        }
    }
    if conversion.queries.is_empty() {
        let mut errors = conversion.errors;
        return Err(if errors.len() == 1 {
            errors.remove(0).1
        } else {
            ConvertError::Variants(errors)
        });
    }
    Ok(conversion)
}

fn convert_variant(
    rule: &SigmaRule,
    target: Target,
    pipeline: Option<&Pipeline>,
    variant: Option<SourceVariant<'_>>,
    options: &Options,
) -> Result<(Query, Vec<String>), ConvertError> {
    let lowered = Lowerer::new(pipeline, variant, options.placeholders).rule(rule)?;
    let target_info = variant.and_then(|v| v.target());
    let place = Place {
        table: options
            .table
            .clone()
            .or_else(|| target_info.and_then(|t| t.table.clone())),
        index: options
            .index
            .clone()
            .or_else(|| target_info.and_then(|t| t.index.clone())),
        sourcetype: target_info.and_then(|t| t.sourcetype.clone()),
        source: target_info.and_then(|t| t.source.clone()),
    };
    let dialect = target.dialect();
    let mut cx = Cx {
        target: target.name(),
        table: place.table.clone(),
        keyword_field: match &options.keyword_field {
            KeywordField::TargetDefault => target.default_keyword_field().map(str::to_owned),
            KeywordField::None => None,
            KeywordField::Field(field) => Some(field.clone()),
        },
        warnings: lowered.warnings,
    };
    let source = match (&lowered.source, options.source_conditions) {
        (Some(expr), true) => Some(emit::write(dialect, expr, &mut cx)?),
        _ => None,
    };
    let (dialect, rule_piece, pipes) = match emit::write_with_pipes(dialect, &lowered.rule, &mut cx)
    {
        Ok((piece, pipes)) => (dialect, piece, pipes),
        Err(error) => match target.fallback_dialect() {
            Some(fallback) => match emit::write(fallback, &lowered.rule, &mut cx) {
                // The fallback's refusal is the final word: it is the language's last resort.
                Ok(piece) => (fallback, Some(piece), Vec::new()),
                Err(fallback_error) => return Err(fallback_error),
            },
            None => return Err(error),
        },
    };
    let (source, rule_piece) = match (source, rule_piece) {
        (source, Some(rule)) => (source, rule),
        (Some(source), None) => (None, source),
        (None, None) => (None, Piece::atom("*")),
    };
    let text = dialect.query(source, rule_piece, pipes, &place);
    Ok((
        Query {
            source: variant.map(|v| v.name().to_owned()),
            table: place.table.or(place.index),
            text,
        },
        cx.warnings,
    ))
}
