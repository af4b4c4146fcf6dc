//! Helpers shared by the pack's integration tests.

#![allow(dead_code)]

use serde_json::Value;
use sigrun_pipeline::{ConditionValue, SourceVariant};
use sigrun_rule::{DocumentKind, RuleFile, SigmaRule, SourceFile, parse_source};
use std::path::{Path, PathBuf};

/// `crates/pack`.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `crates/pack/rules`.
pub fn rules_dir() -> PathBuf {
    crate_dir().join("rules")
}

/// The workspace root (two levels above this crate).
pub fn workspace_dir() -> PathBuf {
    crate_dir().join("../..")
}

/// Parses an embedded rule under its path in the repository, so messages name the real file.
pub fn parse_embedded(rule: &sigrun_pack::PackRule) -> RuleFile {
    let path = Path::new("crates/pack/rules").join(rule.file_name);
    parse_source(SourceFile::new(path, rule.text))
}

/// The one detection rule of a parsed file; panics with the file name when there is not
/// exactly one.
pub fn only_rule(file: &RuleFile) -> &SigmaRule {
    assert_eq!(
        file.documents.len(),
        1,
        "{}: expected one YAML document",
        file.path().display()
    );
    match &file.documents[0].kind {
        Some(DocumentKind::Rule(rule)) => rule,
        other => panic!(
            "{}: expected a detection rule, got {other:?}",
            file.path().display()
        ),
    }
}

/// The rule's `logsource` in the pipeline crate's terms.
pub fn pipeline_logsource(rule: &SigmaRule) -> sigrun_pipeline::LogSource<'_> {
    sigrun_pipeline::LogSource {
        category: rule.logsource.category(),
        product: rule.logsource.product(),
        service: rule.logsource.service(),
    }
}

/// The event's channel and event ID, from the nested (`Event.System`) or the flat layout.
fn header(event: &Value) -> (Option<&str>, Option<i64>) {
    let system = event.pointer("/Event/System").unwrap_or(event);
    let channel = system.get("Channel").and_then(Value::as_str);
    let id = system
        .get("EventID")
        .map(|id| id.get("#text").unwrap_or(id));
    let id = id.and_then(|id| {
        id.as_i64()
            .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
    });
    (channel, id)
}

/// Whether the event satisfies one of the variant's condition sets (only `Channel` and
/// `EventID` conditions are understood here; any other makes the set unsatisfied).
pub fn belongs_to(event: &Value, variant: &SourceVariant<'_>) -> bool {
    let (channel, id) = header(event);
    variant.conditions().iter().any(|set| {
        set.entries().iter().all(|condition| {
            condition
                .values()
                .iter()
                .any(|value| match (condition.field(), value) {
                    ("Channel", ConditionValue::Text(text)) => {
                        channel.is_some_and(|c| c.eq_ignore_ascii_case(text))
                    }
                    ("EventID", ConditionValue::Integer(n)) => id == Some(*n),
                    _ => false,
                })
        })
    })
}
