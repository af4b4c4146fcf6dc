//! Errors of loading, validating and stacking pipelines.

use std::fmt;

/// A position in a pipeline file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextPosition {
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl TextPosition {
    pub(crate) fn of(location: serde_saphyr::Location) -> Option<Self> {
        // serde-saphyr reports line 0 for "unknown".
        (location.line() > 0).then(|| Self {
            line: location.line(),
            column: location.column(),
        })
    }
}

/// `file:line:column` or just `file` when the position is unknown.
struct Place<'a>(&'a str, Option<TextPosition>);

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(at) => write!(f, "{}:{}:{}", self.0, at.line, at.column),
            None => f.write_str(self.0),
        }
    }
}

/// Why a pipeline could not be loaded, validated or stacked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    /// The file is not valid YAML or does not fit the format (unknown key, wrong type,
    /// missing `name`, ...).
    #[error("{}: {message}", Place(file, *at))]
    Yaml {
        /// The file name given to `from_yaml`.
        file: String,
        /// Where the problem is, when the parser knows.
        at: Option<TextPosition>,
        /// The parser's description of the problem.
        message: String,
    },
    /// The file parses but says something contradictory or empty.
    #[error("{}: {reason}", Place(file, *at))]
    Invalid {
        /// The file name given to `from_yaml`.
        file: String,
        /// The line of the offending value.
        at: Option<TextPosition>,
        /// What is wrong.
        reason: String,
    },
    /// `remove_sources` names a source that no lower layer of the stack defines.
    #[error(
        "{}: remove_sources names '{source_name}', which no earlier pipeline in the stack defines",
        Place(file, *at)
    )]
    UnknownRemovedSource {
        /// The file of the pipeline that has the `remove_sources` entry.
        file: String,
        /// The line of the entry.
        at: Option<TextPosition>,
        /// The name that matched nothing.
        source_name: String,
    },
    /// [`Pipeline::stack`](crate::Pipeline::stack) was given no pipeline.
    #[error("cannot stack an empty list of pipelines")]
    EmptyStack,
    /// [`Pipeline::builtin`](crate::Pipeline::builtin) was asked for a name it does not have.
    /// The message lists every built-in name: the hunt's (`known`) and the converters'
    /// ([`Pipeline::converter_names`](crate::Pipeline::converter_names)).
    #[error(
        "no built-in pipeline named '{name}' (for hunt and convert: {known}; for convert only: {})",
        crate::Pipeline::converter_names().join(", ")
    )]
    UnknownBuiltin {
        /// The requested name.
        name: String,
        /// The hunt's built-in names ([`Pipeline::builtin_names`](crate::Pipeline::builtin_names)),
        /// comma-separated.
        known: String,
    },
}

impl PipelineError {
    pub(crate) fn invalid(
        file: &str,
        location: serde_saphyr::Location,
        reason: impl Into<String>,
    ) -> Self {
        Self::Invalid {
            file: file.to_owned(),
            at: TextPosition::of(location),
            reason: reason.into(),
        }
    }
}
