//! The validated pipeline: what a loaded file means, independent of how it was written.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::error::TextPosition;
use crate::logsource::LogsourcePattern;

/// A parsed and validated pipeline: a named list of sources plus pipeline-wide field names.
///
/// Build one with [`Pipeline::from_yaml`], take a built-in one with [`Pipeline::builtin`],
/// or layer several with [`Pipeline::stack`]. Resolve a rule's logsource with
/// [`Pipeline::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) sources: Vec<Source>,
    /// Pipeline-wide renames, consulted after the source's own `fields`.
    pub(crate) fields: BTreeMap<String, Vec<String>>,
    /// Templates (each contains `{name}`) for Sigma fields no `fields` entry names.
    pub(crate) fallback_field: Option<Vec<String>>,
    pub(crate) placeholders: BTreeMap<String, Vec<String>>,
    /// Sources of lower layers that this pipeline removes when stacked on them.
    pub(crate) remove_sources: Vec<Removal>,
    /// The file name given to `from_yaml`, for errors found later (when stacking). A stack
    /// keeps its last layer's.
    pub(crate) origin: String,
}

/// A `remove_sources` entry with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Removal {
    pub name: String,
    pub at: Option<TextPosition>,
}

/// One way a logsource is found in the data: which rules it applies to, which events it
/// selects and how Sigma field names are spelled in those events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    pub name: String,
    pub description: Option<String>,
    pub logsource: LogsourcePattern,
    /// Never empty: an omitted `conditions:` becomes one empty set, which selects every event.
    pub conditions: Vec<ConditionSet>,
    pub fields: BTreeMap<String, Vec<String>>,
    pub unavailable: BTreeSet<String>,
    pub transforms: BTreeMap<String, ValueTransform>,
    pub target: Option<TargetInfo>,
}

/// A conjunction of conditions: an event satisfies the set when it satisfies every entry.
/// The empty set is satisfied by every event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionSet {
    pub(crate) entries: Vec<Condition>,
}

impl ConditionSet {
    /// The entries, sorted by field name; all of them must hold.
    pub fn entries(&self) -> &[Condition] {
        &self.entries
    }
}

/// One `field: value(s)` entry of a condition set: the event's field must equal one of the
/// values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub(crate) field: String,
    pub(crate) values: Vec<ConditionValue>,
}

impl Condition {
    /// The event field to test, as the event names it (conditions are not field-mapped).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The accepted values (never empty); the condition holds when any one of them matches.
    pub fn values(&self) -> &[ConditionValue] {
        &self.values
    }
}

/// A condition value, typed as the YAML wrote it (`4688` vs `'4688'`).
///
/// Matching semantics (implemented by the engine): `Integer` compares numerically with the
/// event value read as an integer, so `EventID: 1` matches `"1"` and `1`; `Text` compares
/// case-insensitively, so `Channel: security` matches `Security`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConditionValue {
    /// A string value.
    Text(String),
    /// An integer value.
    Integer(i64),
}

/// Where converters send the query for a source (`target:` in the file). The hunt ignores it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetInfo {
    /// Table name (Kusto, SQL), e.g. `DeviceProcessEvents`.
    #[serde(default)]
    pub table: Option<String>,
    /// Index or index pattern (Elasticsearch, Splunk), e.g. `winlogbeat-*`.
    #[serde(default)]
    pub index: Option<String>,
    /// Splunk sourcetype, e.g. `XmlWinEventLog`.
    #[serde(default)]
    pub sourcetype: Option<String>,
    /// Splunk source, e.g. `XmlWinEventLog:Security`.
    #[serde(default)]
    pub source: Option<String>,
}

/// How a source's event stores a Sigma field's value differently from the Sigma convention
/// (`transforms:` in the file). Parsed and exposed now; the engine and the converters give
/// them their effect later, so today a transformed field simply compares the raw value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueTransform {
    /// The event holds the number as a `0x`-prefixed hexadecimal string (Security 4688
    /// `NewProcessId` `0x1a74` where Sysmon has `ProcessId` `6772`).
    Hex,
    /// The event holds a mandatory-label SID (`S-1-16-12288`) where Sigma uses the integrity
    /// level name (`High`).
    IntegrityLevelSid,
    /// The event holds a native registry path (`\REGISTRY\MACHINE\SOFTWARE\...`, key only)
    /// where Sysmon uses `HKLM\SOFTWARE\...\ValueName`.
    RegistryNativePath,
}
