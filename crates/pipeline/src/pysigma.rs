//! pySigma processing pipelines (the YAML files of sigma-cli and the pySigma backends) read
//! as sigrun pipelines. Format and rules of the translation: `PYSIGMA.md` in this crate.
//!
//! pySigma runs a list of transformations over each rule; sigrun resolves a rule's logsource
//! to sources and looks field names up. The translation runs the pySigma pipeline once per
//! class of rules that it cannot tell apart (a *scope*, see `scope.rs`) and writes down what
//! it did to field names, event conditions, table and index. Where the result would not
//! mean exactly what pySigma does, the file is refused with the transformation's id, type
//! and line; where only reporting differs or the construct reaches nothing sigrun outputs,
//! it is accepted with a [`TranslationWarning`].

mod build;
mod cond;
mod items;
mod report;
mod scope;
mod simulate;
mod yaml;

use std::collections::BTreeMap;
use std::fmt;

use serde::de::IgnoredAny;

use crate::error::{PipelineError, TextPosition};
use crate::model::Pipeline;

/// A pipeline translated from pySigma, with what the user should know about it.
#[derive(Debug, Clone)]
pub struct Translation {
    /// The translated pipeline.
    pub pipeline: Pipeline,
    /// Constructs accepted with a difference (ignored output settings, reporting). Empty for
    /// a sigrun-format file.
    pub warnings: Vec<TranslationWarning>,
}

/// Something of a pySigma file that carried over only in part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslationWarning {
    /// The file name given to the loader.
    pub file: String,
    /// The line of the transformation (or key).
    pub at: Option<TextPosition>,
    /// `transformation '<id>' (<type>): <what differs>`.
    pub message: String,
}

impl fmt::Display for TranslationWarning {
    /// `file:line:column: message`, like [`PipelineError`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some(at) => write!(
                f,
                "{}:{}:{}: {}",
                self.file, at.line, at.column, self.message
            ),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Top-level keys that exist only in pySigma's format.
const PYSIGMA_KEYS: [&str; 6] = [
    "transformations",
    "postprocessing",
    "finalizers",
    "vars",
    "priority",
    "allowed_backends",
];

impl Pipeline {
    /// Whether `text` is a pySigma pipeline: a map with a top-level key of pySigma's format
    /// (`transformations`, `vars`, `priority`, ...) that sigrun's format does not have.
    pub fn is_pysigma(text: &str) -> bool {
        serde_saphyr::from_str::<BTreeMap<String, IgnoredAny>>(text)
            .is_ok_and(|keys| PYSIGMA_KEYS.iter().any(|key| keys.contains_key(*key)))
    }

    /// Reads a pipeline file of either format: a pySigma pipeline (see
    /// [`Pipeline::is_pysigma`]) is translated, a sigrun pipeline parsed as by
    /// [`Pipeline::from_yaml`] (then without warnings).
    pub fn load_yaml(name_for_errors: &str, text: &str) -> Result<Translation, PipelineError> {
        if Pipeline::is_pysigma(text) {
            Pipeline::from_pysigma_yamls(&[(name_for_errors, text)])
        } else {
            Ok(Translation {
                pipeline: crate::parse::parse_pipeline(name_for_errors, text)?,
                warnings: Vec::new(),
            })
        }
    }

    /// Translates one pySigma pipeline file.
    pub fn from_pysigma_yaml(
        name_for_errors: &str,
        text: &str,
    ) -> Result<Translation, PipelineError> {
        Pipeline::from_pysigma_yamls(&[(name_for_errors, text)])
    }

    /// Translates several pySigma pipeline files as pySigma combines them: ordered by
    /// `priority` (lowest first, ties in the given order), transformations concatenated,
    /// `vars` merged with the later file winning. The name is the files' `name`s (or file
    /// stems) joined with `+`.
    pub fn from_pysigma_yamls(files: &[(&str, &str)]) -> Result<Translation, PipelineError> {
        if files.is_empty() {
            return Err(PipelineError::EmptyStack);
        }
        let mut warnings = Vec::new();
        let mut read = Vec::with_capacity(files.len());
        for (name, text) in files {
            read.push(items::read_file(name, text, &mut warnings)?);
        }
        read.sort_by_key(|file| file.priority);
        let pipeline = build::build(read, &mut warnings)?;
        Ok(Translation { pipeline, warnings })
    }
}

/// [`Pipeline::from_yaml`] for a pySigma file: warnings become an error, since that caller
/// has no way to show them.
pub(crate) fn strict(name_for_errors: &str, text: &str) -> Result<Pipeline, PipelineError> {
    let translation = Pipeline::from_pysigma_yaml(name_for_errors, text)?;
    match translation.warnings.into_iter().next() {
        None => Ok(translation.pipeline),
        Some(warning) => Err(PipelineError::Invalid {
            file: warning.file,
            at: warning.at,
            reason: format!(
                "{} (Pipeline::load_yaml accepts the file and returns this as a warning)",
                warning.message
            ),
        }),
    }
}
