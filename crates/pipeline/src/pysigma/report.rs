//! Naming a transformation in errors and warnings: its id, its type and its line.

use std::fmt;
use std::sync::Arc;

use crate::error::{PipelineError, TextPosition};

use super::TranslationWarning;

/// Which transformation of which file something is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Label {
    pub file: Arc<str>,
    pub at: Option<TextPosition>,
    /// The `id:`; pySigma generates one when it is missing, which no condition can name.
    pub id: Option<String>,
    /// The `type:` (`field_name_mapping`, ...).
    pub kind: String,
    /// 1-based position in its list, for items without an id (pySigma's "processing rule N").
    pub index: usize,
    /// The enclosing `nest` item, if any.
    pub parent: Option<Box<Label>>,
}

impl fmt::Display for Label {
    /// `transformation 'ecs_mapping' (field_name_mapping)`, or `transformation #3 (...)`
    /// without an id, followed by ` in 'outer' (nest)` inside a nest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "transformation '{id}' ({})", self.kind)?,
            None => write!(f, "transformation #{} ({})", self.index, self.kind)?,
        }
        if let Some(parent) = &self.parent {
            match &parent.id {
                Some(id) => write!(f, " in '{id}' ({})", parent.kind)?,
                None => write!(f, " in #{} ({})", parent.index, parent.kind)?,
            }
        }
        Ok(())
    }
}

impl Label {
    /// The construct cannot be translated: a [`PipelineError::Invalid`] at the item's line.
    pub(crate) fn error(&self, message: impl fmt::Display) -> PipelineError {
        PipelineError::Invalid {
            file: self.file.to_string(),
            at: self.at,
            reason: format!("{self}: {message}"),
        }
    }

    /// The construct was translated with a difference the user should know about.
    pub(crate) fn warning(&self, message: impl fmt::Display) -> TranslationWarning {
        TranslationWarning {
            file: self.file.to_string(),
            at: self.at,
            message: format!("{self}: {message}"),
        }
    }
}

/// An error about the file itself (top-level keys), not about one transformation.
pub(crate) fn file_error(
    file: &str,
    at: Option<TextPosition>,
    message: impl Into<String>,
) -> PipelineError {
    PipelineError::Invalid {
        file: file.to_owned(),
        at,
        reason: message.into(),
    }
}
