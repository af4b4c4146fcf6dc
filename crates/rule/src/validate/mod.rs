//! Validators: named checks over parsed rules, each producing diagnostics.
//!
//! Every check has a name (shown in brackets after the severity, usable with `--disable`), the
//! highest severity it reports and a one-line description. Checks run per document, or once
//! over the whole rule set for cross-document ones (duplicate ids, references). The problems
//! found while parsing are reported under their own names (`yaml`, `schema`, ...) and listed
//! here too, so that every name a user sees is documented.

mod detection;
mod metadata;
mod references;
mod sigmahq;
mod tags;

use crate::diagnostic::{Diagnostic, Severity};
use crate::loader::{DocRef, RuleIndex, RuleSet};
use rayon::prelude::*;
use sigrun_attack::AttackData;
use std::collections::HashSet;

/// Which set of conventions to check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// The Sigma specification v2.1.0.
    #[default]
    Spec,
    /// The specification plus SigmaHQ's repository conventions (opt-in).
    SigmaHq,
}

/// A named check.
pub struct Validator {
    pub name: &'static str,
    /// The most severe finding the check reports.
    pub severity: Severity,
    pub profile: Profile,
    pub description: &'static str,
    check: Check,
}

enum Check {
    /// Reported while parsing; listed for documentation and `--disable`.
    Parse,
    Document(fn(&Context<'_>, DocRef<'_>, &mut Vec<Diagnostic>)),
    Set(fn(&Context<'_>, &mut SetFindings)),
}

/// What validators may consult.
pub struct Context<'a> {
    pub set: &'a RuleSet,
    pub index: RuleIndex<'a>,
    pub attack: &'a AttackData,
}

/// Findings of set-level checks, by file index.
pub struct SetFindings {
    findings: Vec<(usize, Diagnostic)>,
}

impl SetFindings {
    pub fn push(&mut self, file: usize, diagnostic: Diagnostic) {
        self.findings.push((file, diagnostic));
    }
}

const fn parse_check(
    name: &'static str,
    severity: Severity,
    description: &'static str,
) -> Validator {
    Validator {
        name,
        severity,
        profile: Profile::Spec,
        description,
        check: Check::Parse,
    }
}

/// Every check, in the order `--list` shows them.
pub fn validators() -> &'static [Validator] {
    static ALL: std::sync::OnceLock<Vec<Validator>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = vec![
            parse_check("io", Severity::Error, "the file can be read and is UTF-8"),
            parse_check("yaml", Severity::Error, "the file is valid YAML without duplicate keys"),
            parse_check(
                "schema",
                Severity::Error,
                "document structure and field types: required sections, enums (status, level, relation and correlation types), list fields",
            ),
            parse_check(
                "detection-structure",
                Severity::Error,
                "search identifiers are maps, lists of maps or keyword lists, with scalar values",
            ),
            parse_check("unknown-modifier", Severity::Error, "every modifier is one the specification defines"),
            parse_check(
                "modifier-type",
                Severity::Error,
                "each modifier accepts the value it is applied to (e.g. 'base64' needs a string without wildcards, 'cidr' a network)",
            ),
            parse_check("condition", Severity::Error, "the condition parses"),
            parse_check("condition-style", Severity::Warning, "condition keywords are lowercase"),
            parse_check(
                "obsolete-aggregation",
                Severity::Warning,
                "Sigma 1 aggregations ('| count() by') and 'timeframe', replaced by correlation rules",
            ),
            parse_check(
                "spec-extension",
                Severity::Warning,
                "pySigma extensions outside Sigma v2.1.0 (value_median, timespan units w/M/y, 'rules: any')",
            ),
        ];
        all.extend(metadata::validators());
        all.extend(tags::validators());
        all.extend(detection::validators());
        all.extend(references::validators());
        all.extend(sigmahq::validators());
        all
    })
}

impl Validator {
    pub(crate) const fn document(
        name: &'static str,
        severity: Severity,
        description: &'static str,
        check: fn(&Context<'_>, DocRef<'_>, &mut Vec<Diagnostic>),
    ) -> Validator {
        Validator {
            name,
            severity,
            profile: Profile::Spec,
            description,
            check: Check::Document(check),
        }
    }

    pub(crate) const fn set(
        name: &'static str,
        severity: Severity,
        description: &'static str,
        check: fn(&Context<'_>, &mut SetFindings),
    ) -> Validator {
        Validator {
            name,
            severity,
            profile: Profile::Spec,
            description,
            check: Check::Set(check),
        }
    }

    pub(crate) const fn in_profile(mut self, profile: Profile) -> Validator {
        self.profile = profile;
        self
    }
}

/// How to validate.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub profile: Profile,
    /// Names of checks not to run (or whose parse findings to drop).
    pub disabled: HashSet<String>,
}

/// The findings for one file: parse problems and validator findings, sorted by position.
pub struct FileFindings {
    pub file: usize,
    pub diagnostics: Vec<Diagnostic>,
}

/// Runs every enabled check over the set. The result has one entry per file, in file order.
pub fn validate(set: &RuleSet, attack: &AttackData, options: &Options) -> Vec<FileFindings> {
    let context = Context {
        set,
        index: set.index(),
        attack,
    };
    let enabled: Vec<&Validator> = validators()
        .iter()
        .filter(|v| !options.disabled.contains(v.name))
        .filter(|v| v.profile == Profile::Spec || options.profile == Profile::SigmaHq)
        .collect();
    let wanted = |d: &Diagnostic| !options.disabled.contains(d.code);

    let mut per_file: Vec<FileFindings> = set
        .files
        .par_iter()
        .enumerate()
        .map(|(index, file)| {
            let mut diagnostics: Vec<Diagnostic> = file
                .all_diagnostics()
                .filter(|d| wanted(d))
                .cloned()
                .collect();
            for document in &file.documents {
                let doc = DocRef { file, document };
                for validator in &enabled {
                    if let Check::Document(check) = validator.check {
                        check(&context, doc, &mut diagnostics);
                    }
                }
            }
            FileFindings {
                file: index,
                diagnostics,
            }
        })
        .collect();

    let mut set_findings = SetFindings {
        findings: Vec::new(),
    };
    for validator in &enabled {
        if let Check::Set(check) = validator.check {
            check(&context, &mut set_findings);
        }
    }
    for (file, diagnostic) in set_findings.findings {
        if let Some(findings) = per_file.get_mut(file) {
            findings.diagnostics.push(diagnostic);
        }
    }
    for findings in &mut per_file {
        findings.diagnostics.retain(|d| wanted(d));
        findings.diagnostics.sort_by(|a, b| {
            (a.span.map(|s| s.start), a.code).cmp(&(b.span.map(|s| s.start), b.code))
        });
        findings.diagnostics.dedup();
    }
    per_file
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::source::SourceFile;

    /// Validates in-memory files and returns `(code, message, text at the span)` per finding.
    pub fn check_files(files: &[(&str, &str)], options: &Options) -> Vec<(String, String, String)> {
        let set = RuleSet::from_sources(files.iter().map(|(p, t)| SourceFile::new(*p, *t)));
        let findings = validate(&set, AttackData::embedded(), options);
        findings
            .into_iter()
            .flat_map(|f| {
                let file = &set.files[f.file];
                f.diagnostics
                    .into_iter()
                    .map(|d| {
                        let text = d
                            .span
                            .map_or(String::new(), |s| file.source.slice(s).to_string());
                        (d.code.to_string(), d.message, text)
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    pub fn check(text: &str) -> Vec<(String, String, String)> {
        check_files(&[("rule.yml", text)], &Options::default())
    }

    /// A minimal valid rule with the given detection body appended.
    pub fn rule_with(extra: &str) -> String {
        format!(
            "title: Test Rule\nid: 6f1e2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b\nstatus: test\nlogsource:\n    product: windows\n    category: process_creation\n{extra}"
        )
    }

    pub fn codes(findings: &[(String, String, String)]) -> Vec<&str> {
        findings.iter().map(|f| f.0.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn names_are_unique_and_described() {
        let mut seen = HashSet::new();
        for v in validators() {
            assert!(seen.insert(v.name), "duplicate validator name {}", v.name);
            assert!(!v.description.is_empty());
        }
    }

    #[test]
    fn a_clean_rule_has_no_findings() {
        let text = rule_with(
            "detection:\n    selection:\n        Image|endswith: '\\cmd.exe'\n    condition: selection\nlevel: high\n",
        );
        assert_eq!(check(&text), vec![]);
    }

    #[test]
    fn disabled_checks_are_skipped_including_parse_findings() {
        let text = rule_with(
            "detection:\n    selection:\n        Image: x\n    unused: {A: b}\n    condition: selection AND selection\n",
        );
        let all = check(&text);
        assert!(codes(&all).contains(&"unused-identifier"));
        assert!(codes(&all).contains(&"condition-style"));
        let options = Options {
            disabled: ["unused-identifier", "condition-style"]
                .into_iter()
                .map(String::from)
                .collect(),
            ..Options::default()
        };
        assert_eq!(check_files(&[("rule.yml", &text)], &options), vec![]);
    }
}
