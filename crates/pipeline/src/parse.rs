//! From text to a validated [`Pipeline`]: YAML parsing, then the checks YAML types cannot
//! express (empty lists, contradictions, duplicate names).

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::{Location, Spanned};

use crate::error::{PipelineError, TextPosition};
use crate::logsource::{KeyRequirement, LogsourcePattern};
use crate::model::{
    Condition, ConditionSet, ConditionValue, HashColumns, Pipeline, Removal, Source, ValueMap,
    ValueTransform,
};
use crate::raw::{
    KeyState, OneOrMany, RawConditionSet, RawLogsource, RawPipeline, RawScalar, RawSource,
    RawTransform,
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
            let checked = self.transform(&name, &field, transform)?;
            transforms.insert(field, checked);
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

    /// A transform with its data checked: no empty map, list or name, no Sigma value or
    /// algorithm twice (ignoring case, as they are looked up).
    fn transform(
        &self,
        source: &str,
        field: &str,
        raw: Spanned<RawTransform>,
    ) -> Result<ValueTransform, PipelineError> {
        let at = raw.referenced;
        let invalid = |what: String| {
            self.invalid(
                at,
                format!("source '{source}': transform of field '{field}': {what}"),
            )
        };
        Ok(match raw.value {
            RawTransform::Hex => ValueTransform::Hex,
            RawTransform::IntegrityLevelSid => ValueTransform::IntegrityLevelSid,
            RawTransform::RegistryNativePath => ValueTransform::RegistryNativePath,
            RawTransform::IntegerFromHex => ValueTransform::IntegerFromHex,
            RawTransform::DatetimeFromText => ValueTransform::DatetimeFromText,
            RawTransform::FileName => ValueTransform::FileName,
            RawTransform::ValueMap(map) => {
                if map.is_empty() {
                    return Err(invalid("value_map is empty".to_owned()));
                }
                let mut entries: Vec<(String, Vec<String>)> = Vec::with_capacity(map.len());
                for (sigma_value, OneOrMany(values)) in map {
                    if entries
                        .iter()
                        .any(|(key, _)| key.eq_ignore_ascii_case(&sigma_value))
                    {
                        return Err(invalid(format!(
                            "value_map has '{sigma_value}' twice (Sigma values ignore case)"
                        )));
                    }
                    if values.is_empty() || values.iter().any(|v| v.is_empty()) {
                        return Err(invalid(format!(
                            "value_map gives '{sigma_value}' no value or an empty one"
                        )));
                    }
                    entries.push((sigma_value, values));
                }
                ValueTransform::ValueMap(ValueMap { entries })
            }
            RawTransform::HashColumns(map) => {
                if map.is_empty() {
                    return Err(invalid("hash_columns is empty".to_owned()));
                }
                let mut columns: Vec<(String, String)> = Vec::with_capacity(map.len());
                for (algorithm, column) in map {
                    let algorithm = algorithm.trim().to_ascii_uppercase();
                    if algorithm.is_empty() || column.trim().is_empty() {
                        return Err(invalid(
                            "hash_columns has an empty algorithm or column name".to_owned(),
                        ));
                    }
                    if columns.iter().any(|(name, _)| *name == algorithm) {
                        return Err(invalid(format!(
                            "hash_columns names {algorithm} twice (algorithms ignore case)"
                        )));
                    }
                    columns.push((algorithm, column));
                }
                columns.sort();
                ValueTransform::HashColumns(HashColumns { columns })
            }
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

#[cfg(test)]
mod tests {
    use crate::model::{Pipeline, ValueTransform};
    use crate::resolve::Resolution;
    use crate::{LogSource, PipelineError};

    /// A one-source pipeline whose source has `transforms` (YAML, indented under the key).
    fn with_transforms(transforms: &str) -> Result<Pipeline, PipelineError> {
        Pipeline::from_yaml(
            "t.yml",
            &format!(
                "name: p\nsources:\n  - name: net\n    logsource: {{ product: windows, category: network_connection }}\n    transforms:\n{transforms}"
            ),
        )
    }

    fn transform(pipeline: &Pipeline, field: &str) -> Option<ValueTransform> {
        let logsource = LogSource {
            product: Some("windows"),
            category: Some("network_connection"),
            service: None,
        };
        let Resolution::Mapped(variants) = pipeline.resolve(&logsource) else {
            panic!("mapped")
        };
        variants[0].value_transform(field)
    }

    fn message(result: Result<Pipeline, PipelineError>) -> String {
        result.expect_err("an error").to_string()
    }

    #[test]
    fn named_transforms_parse() {
        let p = with_transforms(
            "      LogonId: integer_from_hex\n      CreationUtcTime: datetime_from_text\n      ParentImage: file_name\n",
        )
        .expect("parses");
        assert_eq!(
            transform(&p, "LogonId"),
            Some(ValueTransform::IntegerFromHex)
        );
        assert_eq!(
            transform(&p, "CreationUtcTime"),
            Some(ValueTransform::DatetimeFromText)
        );
        assert_eq!(transform(&p, "ParentImage"), Some(ValueTransform::FileName));
        assert_eq!(transform(&p, "Image"), None);
    }

    #[test]
    fn value_maps_look_values_up_ignoring_case() {
        let p = with_transforms(
            "      Initiated:\n        value_map: { 'true': [ConnectionSuccess, ConnectionFailed], 'false': InboundConnectionAccepted }\n",
        )
        .expect("parses");
        let Some(ValueTransform::ValueMap(map)) = transform(&p, "Initiated") else {
            panic!("a value map")
        };
        assert_eq!(
            map.get("TRUE"),
            Some(
                &[
                    "ConnectionSuccess".to_owned(),
                    "ConnectionFailed".to_owned()
                ][..]
            )
        );
        assert_eq!(
            map.entry("False"),
            Some(("false", &["InboundConnectionAccepted".to_owned()][..]))
        );
        assert_eq!(map.get("maybe"), None);
        assert_eq!(map.sigma_values().collect::<Vec<_>>(), ["false", "true"]);
    }

    #[test]
    fn unquoted_boolean_keys_are_their_text() {
        let p = with_transforms("      Initiated: { value_map: { true: a, false: b } }\n")
            .expect("parses");
        let Some(ValueTransform::ValueMap(map)) = transform(&p, "Initiated") else {
            panic!("a value map")
        };
        assert_eq!(map.get("true"), Some(&["a".to_owned()][..]));
    }

    #[test]
    fn hash_columns_are_keyed_by_upper_case_algorithm() {
        let p =
            with_transforms("      Hashes:\n        hash_columns: { sha256: SHA256, MD5: MD5 }\n")
                .expect("parses");
        let Some(ValueTransform::HashColumns(columns)) = transform(&p, "Hashes") else {
            panic!("hash columns")
        };
        assert_eq!(columns.column("Sha256"), Some("SHA256"));
        assert_eq!(columns.column("IMPHASH"), None);
        assert_eq!(columns.algorithms().collect::<Vec<_>>(), ["MD5", "SHA256"]);
    }

    #[test]
    fn transform_data_is_checked() {
        assert_eq!(
            message(with_transforms("      Initiated: { value_map: {} }\n")),
            "t.yml:6:18: source 'net': transform of field 'Initiated': value_map is empty"
        );
        assert_eq!(
            message(with_transforms(
                "      Initiated: { value_map: { 'true': a, 'TRUE': b } }\n"
            )),
            "t.yml:6:18: source 'net': transform of field 'Initiated': value_map has 'true' twice (Sigma values ignore case)"
        );
        assert_eq!(
            message(with_transforms(
                "      Initiated: { value_map: { 'true': [] } }\n"
            )),
            "t.yml:6:18: source 'net': transform of field 'Initiated': value_map gives 'true' no value or an empty one"
        );
        assert_eq!(
            message(with_transforms(
                "      Hashes: { hash_columns: { md5: A, MD5: B } }\n"
            )),
            "t.yml:6:15: source 'net': transform of field 'Hashes': hash_columns names MD5 twice (algorithms ignore case)"
        );
        assert_eq!(
            message(with_transforms("      Hashes: { hash_columns: {} }\n")),
            "t.yml:6:15: source 'net': transform of field 'Hashes': hash_columns is empty"
        );
        assert_eq!(
            message(with_transforms("      LogonId: integer\n")),
            "t.yml:6:16: unknown variant `integer`, expected one of hex, integrity_level_sid, \
             registry_native_path, integer_from_hex, datetime_from_text, file_name, value_map, \
             hash_columns"
        );
    }
}
