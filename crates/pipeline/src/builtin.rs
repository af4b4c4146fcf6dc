//! The pipelines embedded in the binary (`data/*.yml`), parsed once on first use.

use std::sync::OnceLock;

use crate::error::PipelineError;
use crate::model::Pipeline;

/// One embedded pipeline file.
struct Builtin {
    name: &'static str,
    /// The name errors carry, so that a broken embedded file is recognisable as such.
    file: &'static str,
    text: &'static str,
    parsed: OnceLock<Result<Pipeline, PipelineError>>,
}

static BUILTINS: [Builtin; 2] = [
    Builtin {
        name: "windows",
        file: "builtin:windows.yml",
        text: include_str!("../data/windows.yml"),
        parsed: OnceLock::new(),
    },
    Builtin {
        name: "ecs",
        file: "builtin:ecs.yml",
        text: include_str!("../data/ecs.yml"),
        parsed: OnceLock::new(),
    },
];

static NAMES: [&str; 2] = [BUILTINS[0].name, BUILTINS[1].name];

impl Pipeline {
    /// A built-in pipeline by name (see [`Pipeline::builtin_names`]), parsed on first use.
    ///
    /// Errors when the name is unknown, or when the embedded file is invalid (a build defect
    /// the test suite guards against; it is reported rather than panicking).
    pub fn builtin(name: &str) -> Result<&'static Pipeline, PipelineError> {
        let builtin = BUILTINS
            .iter()
            .find(|builtin| builtin.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| PipelineError::UnknownBuiltin {
                name: name.to_owned(),
                known: NAMES.join(", "),
            })?;
        builtin
            .parsed
            .get_or_init(|| Pipeline::from_yaml(builtin.file, builtin.text))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The names [`Pipeline::builtin`] accepts: `windows`, `ecs`.
    pub fn builtin_names() -> &'static [&'static str] {
        &NAMES
    }

    /// The embedded YAML text of a built-in pipeline, e.g. to show or copy it as the start of
    /// a user's own file.
    pub fn builtin_text(name: &str) -> Option<&'static str> {
        BUILTINS
            .iter()
            .find(|builtin| builtin.name.eq_ignore_ascii_case(name))
            .map(|builtin| builtin.text)
    }
}
