//! The pipeline file as written: serde structs that mirror the YAML one to one.
//!
//! Every struct denies unknown keys so that a typo (`feilds:`) is an error with a line number
//! instead of a silently ignored mapping. Values that later checks may reject carry their
//! location ([`Spanned`]) so that those errors can point at the line too. Nothing here knows
//! about resolution; `parse.rs` turns these structs into the validated model.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::model::TargetInfo;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPipeline {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub sources: Vec<RawSource>,
    #[serde(default)]
    pub fields: BTreeMap<String, Spanned<OneOrMany>>,
    #[serde(default)]
    pub fallback_field: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub placeholders: BTreeMap<String, Spanned<Vec<String>>>,
    #[serde(default)]
    pub remove_sources: Vec<Spanned<String>>,
}

/// One entry of `sources:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSource {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub logsource: Spanned<RawLogsource>,
    #[serde(default)]
    pub conditions: Option<Spanned<Vec<RawConditionSet>>>,
    #[serde(default)]
    pub fields: BTreeMap<String, Spanned<OneOrMany>>,
    #[serde(default)]
    pub unavailable: Vec<Spanned<String>>,
    #[serde(default)]
    pub transforms: BTreeMap<String, Spanned<RawTransform>>,
    #[serde(default)]
    pub target: Option<TargetInfo>,
}

/// A `transforms:` value as written: a name (`hex`) or a one-key map with the transform's data
/// (`value_map: {...}`, `hash_columns: {...}`). `parse.rs` checks the data.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum RawTransform {
    Hex,
    IntegrityLevelSid,
    RegistryNativePath,
    IntegerFromHex,
    DatetimeFromText,
    FileName,
    /// Sigma value → event value(s).
    ValueMap(BTreeMap<String, OneOrMany>),
    /// Hash algorithm → event field.
    HashColumns(BTreeMap<String, String>),
}

/// One map of `conditions:`: event field → accepted value(s).
pub(crate) type RawConditionSet = BTreeMap<String, Spanned<ConditionValues>>;

/// The `logsource:` of a source. Each key is three-state: missing (any value), a string
/// (must equal), or `null` (the rule must not have the key); see [`KeyState`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLogsource {
    #[serde(default, deserialize_with = "present")]
    pub category: KeyState,
    #[serde(default, deserialize_with = "present")]
    pub product: KeyState,
    #[serde(default, deserialize_with = "present")]
    pub service: KeyState,
}

/// A logsource key as written: absent, `null`, or a value.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) enum KeyState {
    #[default]
    Missing,
    Null,
    Value(String),
}

/// Serde calls this only for keys that are present, which is how `Missing` (the default)
/// is told apart from an explicit `null`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<KeyState, D::Error> {
    Ok(match Option::<String>::deserialize(deserializer)? {
        Some(value) => KeyState::Value(value),
        None => KeyState::Null,
    })
}

/// A field name or a list of field names (`Image: NewProcessName` or `Image: [a, b]`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor;

        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name or a list of field names")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![value.to_owned()]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(OneOrMany(names))
            }
        }

        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

/// The value(s) of one condition entry: a scalar or a list of scalars (any of them).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ConditionValues(pub Vec<RawScalar>);

/// A condition value with the type YAML gave it: `4688` is an integer, `'4688'` a string.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RawScalar {
    Text(String),
    Integer(i64),
}

impl<'de> Deserialize<'de> for RawScalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

impl<'de> Deserialize<'de> for ConditionValues {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValuesVisitor;

        impl<'de> Visitor<'de> for ValuesVisitor {
            type Value = ConditionValues;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, an integer, or a list of them")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<ConditionValues, E> {
                ScalarVisitor
                    .visit_str(value)
                    .map(|v| ConditionValues(vec![v]))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<ConditionValues, E> {
                ScalarVisitor
                    .visit_i64(value)
                    .map(|v| ConditionValues(vec![v]))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<ConditionValues, E> {
                ScalarVisitor
                    .visit_u64(value)
                    .map(|v| ConditionValues(vec![v]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ConditionValues, A::Error> {
                let mut values = Vec::new();
                while let Some(value) = seq.next_element::<RawScalar>()? {
                    values.push(value);
                }
                Ok(ConditionValues(values))
            }
        }

        deserializer.deserialize_any(ValuesVisitor)
    }
}

/// Accepts exactly strings and integers; booleans, floats, null and maps are type errors.
struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = RawScalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an integer")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<RawScalar, E> {
        Ok(RawScalar::Text(value.to_owned()))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawScalar, E> {
        Ok(RawScalar::Integer(value))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawScalar, E> {
        i64::try_from(value)
            .map(RawScalar::Integer)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
    }
}
