//! From text to a validated [`Pipeline`]: YAML parsing, then the checks YAML types cannot
//! express (empty lists, contradictions, duplicate names).

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::{Location, Spanned};

use crate::error::{PipelineError, TextPosition};
use crate::logsource::{KeyRequirement, LogsourcePattern};
use crate::model::{Condition, ConditionSet, ConditionValue, Pipeline, Removal, Source};
use crate::raw::{
    KeyState, OneOrMany, RawConditionSet, RawLogsource, RawPipeline, RawScalar, RawSource,
};

/// The placeholder a `fallback_field` template must contain.
pub(crate) const NAME_PLACEHOLDER: &str = "{name}";

/// Parses and validates one pipeline file. `file` is only used in error messages.
pub(crate) fn parse_pipeline(file: &str, text: &str) -> Result<Pipeline, PipelineError> {
    let raw: RawPipeline =
        serde_saphyr::from_str(text).map_err(|error| yaml_error(file, &error))?;
    Checker { file }.pipeline(raw)
}

fn yaml_error(file: &str, error: &serde_saphyr::Error) -> PipelineError {
    let error = error.without_snippet();
    PipelineError::Yaml {
        file: file.to_owned(),
        at: error.location().and_then(TextPosition::of),
        message: user_message(&error.to_string()),
    }
}

/// serde-saphyr ends some messages with ` at line L, column C` (the error carries the
/// position already) and its duplicate-key message with advice about its own API options,
/// which means nothing to someone editing a pipeline file; both tails are dropped.
fn user_message(message: &str) -> String {
    let mut text = message;
    for tail in [" at line ", ", set DuplicateKeyPolicy"] {
        if let Some(index) = text.rfind(tail) {
            text = &text[..index];
        }
    }
    text.to_owned()
}

/// Validation context: the file name every error carries.
struct Checker<'f> {
    file: &'f str,
}

impl Checker<'_> {
    fn invalid(&self, at: Location, reason: impl Into<String>) -> PipelineError {
        PipelineError::invalid(self.file, at, reason)
    }

    fn pipeline(&self, raw: RawPipeline) -> Result<Pipeline, PipelineError> {
        let name = raw.name.value.trim().to_owned();
        if name.is_empty() {
            return Err(self.invalid(raw.name.referenced, "the pipeline name is empty"));
        }

        let mut sources = Vec::with_capacity(raw.sources.len());
        let mut seen = BTreeSet::new();
        for raw_source in raw.sources {
            let source_name = raw_source.name.value.trim().to_owned();
            if source_name.is_empty() {
                return Err(self.invalid(raw_source.name.referenced, "a source name is empty"));
            }
            if !seen.insert(source_name.clone()) {
                return Err(self.invalid(
                    raw_source.name.referenced,
                    format!("source '{source_name}' is defined twice"),
                ));
            }
            sources.push(self.source(source_name, raw_source)?);
        }

        let fields = self.field_map(raw.fields)?;
        let fallback_field = raw
            .fallback_field
            .map(|templates| self.fallback(templates))
            .transpose()?;

        let mut placeholders = BTreeMap::new();
        for (placeholder, values) in raw.placeholders {
            if values.value.is_empty() {
                return Err(self.invalid(
                    values.referenced,
                    format!("placeholder '{placeholder}' has no values"),
                ));
            }
            placeholders.insert(placeholder, values.value);
        }

        let mut remove_sources = Vec::with_capacity(raw.remove_sources.len());
        for removal in raw.remove_sources {
            if seen.contains(&removal.value) {
                return Err(self.invalid(
                    removal.referenced,
                    format!(
                        "remove_sources names '{}', which this pipeline itself defines",
                        removal.value
                    ),
                ));
            }
            remove_sources.push(Removal {
                name: removal.value,
                at: TextPosition::of(removal.referenced),
            });
        }

        Ok(Pipeline {
            name,
            description: raw.description,
            sources,
            fields,
            fallback_field,
            placeholders,
            remove_sources,
            origin: self.file.to_owned(),
        })
    }

    fn source(&self, name: String, raw: RawSource) -> Result<Source, PipelineError> {
        let logsource = self.logsource(&name, raw.logsource)?;
        let conditions = match raw.conditions {
            // No `conditions:` at all: the source selects every event of the data.
            None => vec![ConditionSet {
                entries: Vec::new(),
            }],
            Some(sets) if sets.value.is_empty() => {
                return Err(self.invalid(
                    sets.referenced,
                    format!(
                        "source '{name}': `conditions: []` would select no event; \
                         leave the key out to select every event"
                    ),
                ));
            }
            Some(sets) => sets
                .value
                .into_iter()
                .map(|set| self.condition_set(&name, set))
                .collect::<Result<_, _>>()?,
        };

        let fields = self.field_map(raw.fields)?;
        let mut unavailable = BTreeSet::new();
        for field in raw.unavailable {
            if fields.contains_key(&field.value) {
                return Err(self.invalid(
                    field.referenced,
                    format!(
                        "source '{name}': field '{}' is both mapped under `fields` and listed \
                         as unavailable",
                        field.value
                    ),
                ));
            }
            unavailable.insert(field.value);
        }

        let mut transforms = BTreeMap::new();
        for (field, transform) in raw.transforms {
            if unavailable.contains(&field) {
                return Err(self.invalid(
                    transform.referenced,
                    format!("source '{name}': field '{field}' has a transform but is unavailable"),
                ));
            }
            transforms.insert(field, transform.value);
        }

        Ok(Source {
            name,
            description: raw.description,
            logsource,
            conditions,
            fields,
            unavailable,
            transforms,
            target: raw.target,
        })
    }

    fn logsource(
        &self,
        source: &str,
        raw: Spanned<RawLogsource>,
    ) -> Result<LogsourcePattern, PipelineError> {
        let at = raw.referenced;
        let requirement = |key: &str, state: KeyState| {
            match state {
            KeyState::Missing => Ok(KeyRequirement::Any),
            KeyState::Null => Ok(KeyRequirement::Absent),
            KeyState::Value(value) if value.trim().is_empty() => Err(self.invalid(
                at,
                format!("source '{source}': logsource {key} is empty; write `{key}: null` to require its absence"),
            )),
            KeyState::Value(value) => Ok(KeyRequirement::Equals(value.trim().to_ascii_lowercase())),
        }
        };
        let pattern = LogsourcePattern {
            category: requirement("category", raw.value.category)?,
            product: requirement("product", raw.value.product)?,
            service: requirement("service", raw.value.service)?,
        };
        if pattern.specificity() == 0 {
            return Err(self.invalid(
                at,
                format!(
                    "source '{source}': logsource names no key, so it would apply to every rule"
                ),
            ));
        }
        Ok(pattern)
    }

    fn condition_set(
        &self,
        source: &str,
        raw: RawConditionSet,
    ) -> Result<ConditionSet, PipelineError> {
        let mut entries = Vec::with_capacity(raw.len());
        for (field, values) in raw {
            if field.trim().is_empty() {
                return Err(self.invalid(
                    values.referenced,
                    format!("source '{source}': a condition has an empty field name"),
                ));
            }
            if values.value.0.is_empty() {
                return Err(self.invalid(
                    values.referenced,
                    format!("source '{source}': condition on '{field}' has an empty value list"),
                ));
            }
            let values = values
                .value
                .0
                .into_iter()
                .map(|value| match value {
                    RawScalar::Text(text) => ConditionValue::Text(text),
                    RawScalar::Integer(number) => ConditionValue::Integer(number),
                })
                .collect();
            entries.push(Condition { field, values });
        }
        Ok(ConditionSet { entries })
    }

    fn field_map(
        &self,
        raw: BTreeMap<String, Spanned<OneOrMany>>,
    ) -> Result<BTreeMap<String, Vec<String>>, PipelineError> {
        let mut map = BTreeMap::new();
        for (sigma_name, targets) in raw {
            let names = targets.value.0;
            if names.is_empty() {
                return Err(self.invalid(
                    targets.referenced,
                    format!("field '{sigma_name}' maps to an empty list"),
                ));
            }
            if names.iter().any(|name| name.trim().is_empty()) {
                return Err(self.invalid(
                    targets.referenced,
                    format!("field '{sigma_name}' maps to an empty name"),
                ));
            }
            map.insert(sigma_name, names);
        }
        Ok(map)
    }

    fn fallback(&self, raw: Spanned<OneOrMany>) -> Result<Vec<String>, PipelineError> {
        let templates = raw.value.0;
        if templates.is_empty() {
            return Err(self.invalid(raw.referenced, "fallback_field is an empty list"));
        }
        if let Some(bad) = templates.iter().find(|t| !t.contains(NAME_PLACEHOLDER)) {
            return Err(self.invalid(
                raw.referenced,
                format!("fallback_field template '{bad}' does not contain {NAME_PLACEHOLDER}"),
            ));
        }
        Ok(templates)
    }
}
