//! Why a rule could not be converted. Every message names the construct and the reason, so
//! that a user can tell a limit of the target language from a defect of the rule.

use thiserror::Error;

/// A conversion failure for one rule (or one source variant of it).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConvertError {
    /// The pipeline has no source for the rule's logsource: the rule is not for this data
    /// model. Batches count these as skipped, not failed.
    #[error("{reason}")]
    Unmapped { reason: String },

    /// The target language cannot express a construct of the rule.
    #[error("{target} cannot express {construct}{}: {reason}", on_field(field))]
    Unsupported {
        target: &'static str,
        /// What the rule asks for, e.g. `regex`, `cidr`, `keyword search`, `fieldref`.
        construct: String,
        field: Option<String>,
        reason: String,
    },

    /// The condition names a search identifier the detection does not define.
    #[error("the condition names '{0}', which the detection does not define")]
    UnknownIdentifier(String),

    /// `1 of x*` / `all of x*` selects no search identifier.
    #[error("'{0}' selects no search identifier")]
    EmptyPattern(String),

    /// An `expand` placeholder without values.
    #[error("placeholder %{name}% has no values in {}", pipeline_name(pipeline))]
    UndefinedPlaceholder {
        name: String,
        pipeline: Option<String>,
    },

    /// A pipeline value transform that cannot be applied to a value.
    #[error("field '{field}' is stored as {transform} in source '{source_name}': {reason}")]
    Transform {
        field: String,
        transform: &'static str,
        source_name: String,
        reason: String,
    },

    /// After fields the source does not carry were treated as absent, the condition no longer
    /// depends on the event.
    #[error(
        "in source '{source_name}' the condition is always {value}: {}",
        unavailable_reason(fields)
    )]
    Constant {
        source_name: String,
        value: bool,
        /// The Sigma fields the source does not carry that the rule uses.
        fields: Vec<String>,
    },

    /// The rule is not something the converters handle (an obsolete Sigma 1 aggregation, no
    /// condition).
    #[error("{0}")]
    Rule(String),

    /// Every source variant failed; each failure with its source.
    #[error("{}", variants_message(.0))]
    Variants(Vec<(String, ConvertError)>),
}

fn on_field(field: &Option<String>) -> String {
    field
        .as_ref()
        .map(|f| format!(" on field '{f}'"))
        .unwrap_or_default()
}

fn pipeline_name(pipeline: &Option<String>) -> String {
    match pipeline {
        Some(name) => format!("pipeline '{name}'"),
        None => "the conversion (no pipeline given)".to_owned(),
    }
}

fn unavailable_reason(fields: &[String]) -> String {
    if fields.is_empty() {
        "it does not depend on the event".to_owned()
    } else {
        format!(
            "the source does not carry {}",
            fields
                .iter()
                .map(|f| format!("'{f}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn variants_message(variants: &[(String, ConvertError)]) -> String {
    variants
        .iter()
        .map(|(source, error)| format!("[{source}] {error}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ConvertError {
    /// Whether the rule was skipped (not for this data model) rather than failed.
    pub fn is_skip(&self) -> bool {
        matches!(self, ConvertError::Unmapped { .. })
    }

    /// Whether the failure comes from the data rather than the language: the data model lacks
    /// a field the rule needs, or a placeholder has no values.
    pub fn is_data_gap(&self) -> bool {
        match self {
            ConvertError::Constant { fields, .. } => !fields.is_empty(),
            ConvertError::UndefinedPlaceholder { .. } => true,
            ConvertError::Variants(variants) => variants.iter().all(|(_, e)| e.is_data_gap()),
            _ => false,
        }
    }

    /// A short, stable category for histograms (`unsupported regex`, `constant`, ...).
    pub fn category(&self) -> String {
        match self {
            ConvertError::Unmapped { .. } => "unmapped logsource".to_owned(),
            ConvertError::Unsupported { construct, .. } => format!("unsupported {construct}"),
            ConvertError::UnknownIdentifier(_) => "unknown identifier".to_owned(),
            ConvertError::EmptyPattern(_) => "empty pattern".to_owned(),
            ConvertError::UndefinedPlaceholder { .. } => "undefined placeholder".to_owned(),
            ConvertError::Transform { transform, .. } => format!("transform {transform}"),
            ConvertError::Constant { fields, .. } if !fields.is_empty() => {
                "source lacks a field".to_owned()
            }
            ConvertError::Constant { value, .. } => format!("constant {value}"),
            ConvertError::Rule(_) => "rule".to_owned(),
            ConvertError::Variants(variants) => variants
                .first()
                .map(|(_, e)| e.category())
                .unwrap_or_else(|| "variants".to_owned()),
        }
    }
}

/// Shorthand for dialects: an [`ConvertError::Unsupported`].
pub(crate) fn unsupported(
    target: &'static str,
    construct: impl Into<String>,
    field: Option<&str>,
    reason: impl Into<String>,
) -> ConvertError {
    ConvertError::Unsupported {
        target,
        construct: construct.into(),
        field: field.map(str::to_owned),
        reason: reason.into(),
    }
}
