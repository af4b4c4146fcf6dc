//! Why a rule was not compiled. Every rule handed to the compiler is either compiled or
//! comes back with one of these: nothing is dropped silently.

use std::fmt;

/// One rule the engine did not compile, with the caller's id for it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CompileProblem {
    /// The caller's id of the rule (the `usize` passed to the compiler).
    pub rule: usize,
    pub kind: ProblemKind,
}

/// The reason a rule is not evaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum ProblemKind {
    /// The pipeline has no source for the rule's logsource (the pipeline's own reason).
    #[error("{0}")]
    Unmapped(String),
    /// A Sigma 1 `| count() ...` aggregation: replaced by correlation rules in Sigma 2.
    #[error("Sigma 1 aggregation '|{0}' is not evaluated; express it as a correlation rule")]
    Aggregation(String),
    /// Correlation rules need state across events; a later stage evaluates them over the
    /// matches of their base rules.
    #[error("correlation rules are not evaluated by the event matcher")]
    Correlation,
    /// Filters change other rules; they are applied before compilation, not matched alone.
    #[error("filters are not matched on their own; apply them to the rules they name")]
    Filter,
    /// The document had errors when it was read (see its diagnostics).
    #[error("the rule has errors and cannot be compiled")]
    InvalidDocument,
    /// The regex engine rejects the pattern (look-around, back-references, size).
    #[error("regular expression /{pattern}/ cannot be compiled: {error}")]
    Regex { pattern: String, error: String },
    /// `%name%` with the `expand` modifier and no value for it in the pipeline.
    #[error("placeholder %{0}% has no values in the pipeline")]
    UnknownPlaceholder(String),
    #[error("the condition names '{0}', which is not a search identifier of the rule")]
    UnknownIdentifier(String),
    #[error("'{0}' selects no search identifier")]
    EmptyPattern(String),
    #[error("the rule has no condition")]
    NoCondition,
    /// Every variant is false for every event, e.g. because every field it needs is
    /// unavailable in the sources of its logsource.
    #[error("the rule can never match: the fields it needs are unavailable in its sources")]
    NeverMatches,
}

impl ProblemKind {
    /// A short stable name for counting problems by kind.
    pub fn code(&self) -> &'static str {
        match self {
            ProblemKind::Unmapped(_) => "unmapped-logsource",
            ProblemKind::Aggregation(_) => "aggregation",
            ProblemKind::Correlation => "correlation",
            ProblemKind::Filter => "filter",
            ProblemKind::InvalidDocument => "invalid-document",
            ProblemKind::Regex { .. } => "regex",
            ProblemKind::UnknownPlaceholder(_) => "unknown-placeholder",
            ProblemKind::UnknownIdentifier(_) => "unknown-identifier",
            ProblemKind::EmptyPattern(_) => "empty-pattern",
            ProblemKind::NoCondition => "no-condition",
            ProblemKind::NeverMatches => "never-matches",
        }
    }
}

impl fmt::Display for CompileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {}: {}", self.rule, self.kind)
    }
}
