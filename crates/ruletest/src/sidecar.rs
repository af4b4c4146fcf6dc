//! The sidecar test file format (`crates/pack/TESTS-FORMAT.md`).

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `foo.yml` → `foo.tests.yml` in the same folder.
pub fn sidecar_path(rule_path: &Path) -> PathBuf {
    let stem = rule_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    rule_path.with_file_name(format!("{stem}.tests.yml"))
}

/// A parsed sidecar file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    /// The id or name of the rule under test.
    #[serde(default)]
    pub rule: Option<String>,
    pub tests: Vec<SidecarCase>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SidecarCase {
    pub name: String,
    #[serde(default)]
    pub expect: Option<ExpectWord>,
    #[serde(default)]
    pub matches: Option<u64>,
    #[serde(default)]
    pub layout: Option<LayoutWord>,
    #[serde(default)]
    pub pipeline: Option<String>,
    #[serde(default)]
    pub event: Option<serde_json::Value>,
    #[serde(default)]
    pub events: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ExpectWord {
    #[serde(rename = "match")]
    Match,
    #[serde(rename = "no-match")]
    NoMatch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum LayoutWord {
    #[serde(rename = "windows-nested")]
    WindowsNested,
    #[serde(rename = "windows-flat")]
    WindowsFlat,
    #[serde(rename = "ecs")]
    Ecs,
}

/// Where a case's events come from.
#[derive(Debug, Clone, PartialEq)]
pub enum SidecarEvents {
    Inline(Vec<serde_json::Value>),
    File(PathBuf),
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SidecarError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

impl Sidecar {
    /// Parses and checks a sidecar file's text.
    pub fn parse(path: &Path, text: &str) -> Result<Sidecar, SidecarError> {
        let invalid = |message: String| SidecarError::Invalid {
            path: path.display().to_string(),
            message,
        };
        let sidecar: Sidecar = serde_saphyr::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if sidecar.tests.is_empty() {
            return Err(invalid("'tests' is empty".into()));
        }
        let mut names = std::collections::HashSet::new();
        for case in &sidecar.tests {
            if case.name.trim().is_empty() {
                return Err(invalid("a test case has an empty name".into()));
            }
            if !names.insert(case.name.as_str()) {
                return Err(invalid(format!("two test cases are named '{}'", case.name)));
            }
            if case.expect.is_some() == case.matches.is_some() {
                return Err(invalid(format!(
                    "case '{}': give exactly one of 'expect' and 'matches'",
                    case.name
                )));
            }
            let sources = [
                case.event.is_some(),
                case.events.is_some(),
                case.file.is_some(),
            ];
            if sources.iter().filter(|s| **s).count() != 1 {
                return Err(invalid(format!(
                    "case '{}': give exactly one of 'event', 'events' and 'file'",
                    case.name
                )));
            }
            if case.events.as_ref().is_some_and(Vec::is_empty) {
                return Err(invalid(format!("case '{}': 'events' is empty", case.name)));
            }
        }
        Ok(sidecar)
    }
}

impl SidecarCase {
    /// The events of the case; a `file` is relative to the sidecar's folder.
    pub fn events(&self, sidecar_path: &Path) -> SidecarEvents {
        if let Some(file) = &self.file {
            let folder = sidecar_path.parent().unwrap_or(Path::new("."));
            return SidecarEvents::File(folder.join(file));
        }
        let mut events = Vec::new();
        events.extend(self.event.iter().cloned());
        events.extend(self.events.iter().flatten().cloned());
        SidecarEvents::Inline(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Sidecar, SidecarError> {
        Sidecar::parse(Path::new("r.tests.yml"), text)
    }

    #[test]
    fn valid_file() {
        let sidecar = parse(
            "rule: abc\ntests:\n  - name: one\n    expect: match\n    event: {Event: {System: {EventID: 1}}}\n  - name: two\n    matches: 2\n    events: [{A: 1}, {B: 'x'}]\n",
        )
        .unwrap();
        assert_eq!(sidecar.rule.as_deref(), Some("abc"));
        assert_eq!(sidecar.tests[0].expect, Some(ExpectWord::Match));
        assert_eq!(
            sidecar.tests[0].events(Path::new("d/r.tests.yml")),
            SidecarEvents::Inline(vec![
                serde_json::json!({"Event": {"System": {"EventID": 1}}})
            ])
        );
        assert_eq!(sidecar.tests[1].matches, Some(2));
        assert_eq!(
            sidecar_path(Path::new("a/b/rule.yml")),
            Path::new("a/b/rule.tests.yml")
        );
    }

    #[test]
    fn invalid_files_say_why() {
        let err = |text: &str| parse(text).unwrap_err().to_string();
        assert_eq!(
            err("tests:\n  - name: a\n    expect: match\n    matches: 1\n    event: {}\n"),
            "r.tests.yml: case 'a': give exactly one of 'expect' and 'matches'"
        );
        assert_eq!(
            err("tests:\n  - name: a\n    expect: match\n"),
            "r.tests.yml: case 'a': give exactly one of 'event', 'events' and 'file'"
        );
        assert_eq!(
            err(
                "tests:\n  - name: a\n    expect: match\n    event: {}\n  - name: a\n    expect: match\n    event: {}\n"
            ),
            "r.tests.yml: two test cases are named 'a'"
        );
        assert!(
            err("tests:\n  - name: a\n    expect: maybe\n    event: {}\n")
                .starts_with("r.tests.yml: ")
        );
        assert!(err("tests: []\nextra: 1\n").contains("extra"));
    }
}
