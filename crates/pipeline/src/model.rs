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
/// (`transforms:` in the file). The converters apply them all (`sigrun-convert`); the hunt
/// engine applies `Hex` and `IntegrityLevelSid` (Security 4688) and compares the others' values
/// as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
    /// The event holds an integer (Defender's `LogonId` column, `999`) where Sigma writes the
    /// text Sysmon logs: `0x` and lower-case hex digits (`'0x3e7'`).
    IntegerFromHex,
    /// The event holds a datetime (ASIM's `TargetFileCreationTime`) where Sigma writes the text
    /// Sysmon logs: UTC as `yyyy-MM-dd HH:mm:ss.fff` (`'2023-03-15 12:34:56.789'`).
    DatetimeFromText,
    /// The event holds only the file name (`rundll32.exe`) of the path Sigma writes
    /// (`C:\Windows\System32\rundll32.exe`), e.g. Defender's
    /// `InitiatingProcessParentFileName` for `ParentImage` outside `DeviceProcessEvents`.
    FileName,
    /// The event field holds other values than Sigma writes (Defender's `ActionType` for
    /// Sysmon's `Initiated`): each Sigma value stands for any of its event values.
    ValueMap(ValueMap),
    /// The event has one column per hash algorithm where Sysmon's `Hashes` is one text
    /// (`SHA1=...,MD5=...,IMPHASH=...`): each algorithm's column, by algorithm name.
    HashColumns(HashColumns),
}

impl ValueTransform {
    /// The mandatory-label SID of an integrity level as Sysmon names it (`High` →
    /// `S-1-16-12288`, ignoring case), for [`ValueTransform::IntegrityLevelSid`]; `None` for
    /// any other text.
    pub fn integrity_level_sid(level: &str) -> Option<&'static str> {
        const LEVELS: [(&str, &str); 6] = [
            ("untrusted", "S-1-16-0"),
            ("low", "S-1-16-4096"),
            ("medium", "S-1-16-8192"),
            ("mediumplus", "S-1-16-8448"),
            ("high", "S-1-16-12288"),
            ("system", "S-1-16-16384"),
        ];
        LEVELS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(level.trim()))
            .map(|(_, sid)| *sid)
    }
}

/// The values of a [`ValueTransform::ValueMap`]: Sigma value → event values, in file order.
/// Sigma values are looked up ignoring ASCII case, as Sigma compares strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValueMap {
    pub(crate) entries: Vec<(String, Vec<String>)>,
}

impl ValueMap {
    /// The event values a Sigma value stands for (never empty), `None` when the map has no
    /// entry for it.
    pub fn get(&self, sigma_value: &str) -> Option<&[String]> {
        self.entry(sigma_value).map(|(_, values)| values)
    }

    /// The entry for a Sigma value: the key as the file writes it (for `cased` matches,
    /// which must equal it exactly) and its event values.
    pub fn entry(&self, sigma_value: &str) -> Option<(&str, &[String])> {
        self.entries
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(sigma_value))
            .map(|(key, values)| (key.as_str(), values.as_slice()))
    }

    /// The Sigma values the map knows, in file order (for messages).
    pub fn sigma_values(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(key, _)| key.as_str())
    }
}

/// The columns of a [`ValueTransform::HashColumns`]: algorithm (`SHA256`) → event field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HashColumns {
    /// Upper-case algorithm names, sorted.
    pub(crate) columns: Vec<(String, String)>,
}

impl HashColumns {
    /// The event field holding the `algorithm` hash (`sha256` and `SHA256` are one name),
    /// `None` when the source has no column for it.
    pub fn column(&self, algorithm: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(algorithm))
            .map(|(_, column)| column.as_str())
    }

    /// The algorithms the source has a column for, upper-case and sorted.
    pub fn algorithms(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|(name, _)| name.as_str())
    }
}
