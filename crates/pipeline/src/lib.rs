//! Logsource and field mapping as data, shared by the hunt engine and the converters.
//!
//! A *pipeline* is a YAML file (format: `FORMAT.md` in this crate) that says, for each rule
//! `logsource` (category / product / service), where the events are (conditions on event
//! fields such as `Channel` and `EventID`) and what each Sigma field is called in them.
//! Defaults are embedded ([`Pipeline::builtin`]: `windows`, `ecs`); users can write their own
//! files and stack them over the defaults ([`Pipeline::stack`]).
//!
//! ```
//! use sigrun_pipeline::{FieldTarget, LogSource, Pipeline, Resolution};
//!
//! let windows = Pipeline::builtin("windows")?;
//! let logsource = LogSource { product: Some("windows"), category: Some("process_creation"), service: None };
//! let Resolution::Mapped(variants) = windows.resolve(&logsource) else { unreachable!() };
//! let names: Vec<_> = variants.iter().map(|v| v.name()).collect();
//! assert_eq!(names, ["sysmon_process_creation", "security_4688"]);
//! assert_eq!(variants[1].field("Image"), FieldTarget::Names(vec!["NewProcessName".to_owned()].into()));
//! # Ok::<(), sigrun_pipeline::PipelineError>(())
//! ```

mod builtin;
mod error;
mod logsource;
mod model;
mod parse;
mod pysigma;
mod raw;
mod resolve;
mod stack;

pub use error::{PipelineError, TextPosition};
pub use logsource::{KeyRequirement, LogSource, LogsourcePattern};
pub use model::{
    Condition, ConditionSet, ConditionValue, HashColumns, Pipeline, TargetInfo, ValueMap,
    ValueTransform,
};
pub use pysigma::{Translation, TranslationWarning};
pub use resolve::{FieldTarget, Resolution, SourceVariant};

impl Pipeline {
    /// Parses and validates a pipeline file. `name_for_errors` (usually the path) prefixes
    /// every error message; YAML problems, unknown keys included, carry line and column.
    ///
    /// A pySigma pipeline (`PYSIGMA.md`) is translated; since this signature cannot return
    /// warnings, a translation with warnings is an error here; [`Pipeline::load_yaml`]
    /// returns them instead.
    pub fn from_yaml(name_for_errors: &str, text: &str) -> Result<Pipeline, PipelineError> {
        if Pipeline::is_pysigma(text) {
            return pysigma::strict(name_for_errors, text);
        }
        parse::parse_pipeline(name_for_errors, text)
    }

    /// The `name:` of the file (`windows`), or the stacked names (`windows+site`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `description:` of the file, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The values of a placeholder (`%Administrators%` → `placeholders: {Administrators: [...]}`),
    /// for the `expand` modifier; `None` when the pipeline does not define it.
    pub fn placeholder(&self, name: &str) -> Option<&[String]> {
        self.placeholders.get(name).map(Vec::as_slice)
    }
}
