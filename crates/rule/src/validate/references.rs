//! Checks across documents: duplicate ids, and the rules that correlations and filters name.

use super::{Context, SetFindings, Validator};
use crate::diagnostic::{Diagnostic, Severity};
use crate::document::{DocumentKind, FilterTarget, LogSource};
use crate::filter::logsource_fits;
use crate::loader::DocRef;
use std::collections::HashMap;

pub(super) fn validators() -> Vec<Validator> {
    vec![
        Validator::set(
            "duplicate-id",
            Severity::Error,
            "no two documents share an id",
            duplicate_id,
        ),
        Validator::set(
            "correlation-reference",
            Severity::Error,
            "the rules a correlation names (by id or name) exist in the checked set, and alias keys name them too",
            correlation_reference,
        ),
        Validator::set(
            "filter-reference",
            Severity::Warning,
            "the rules a filter names exist in the checked set, and their logsource fits the filter's",
            filter_reference,
        ),
    ]
}

/// Every document with the index of its file.
fn documents<'a>(context: &Context<'a>) -> impl Iterator<Item = (usize, DocRef<'a>)> {
    context
        .set
        .files
        .iter()
        .enumerate()
        .flat_map(|(index, file)| {
            file.documents
                .iter()
                .map(move |document| (index, DocRef { file, document }))
        })
}

fn duplicate_id(context: &Context<'_>, out: &mut SetFindings) {
    let mut first_seen: HashMap<&str, DocRef<'_>> = HashMap::new();
    for (file_index, doc) in documents(context) {
        let Some(id) = doc.document.meta().and_then(|m| m.id.as_ref()) else {
            continue;
        };
        match first_seen.get(id.value.as_str()) {
            None => {
                first_seen.insert(&id.value, doc);
            }
            Some(first) => {
                let mut d = Diagnostic::error(
                    "duplicate-id",
                    format!(
                        "id {} is also used by '{}' in {}",
                        id.value,
                        first.document.meta().map_or("", |m| m.title()),
                        first.file.path().display()
                    ),
                )
                .at(id.span);
                if std::ptr::eq(first.file, doc.file)
                    && let Some(first_id) = first.document.meta().and_then(|m| m.id.as_ref())
                {
                    d = d.related(first_id.span, "first used here");
                }
                out.push(file_index, d);
            }
        }
    }
}

fn correlation_reference(context: &Context<'_>, out: &mut SetFindings) {
    for (file_index, doc) in documents(context) {
        let Some(DocumentKind::Correlation(correlation)) = doc.kind() else {
            continue;
        };
        for reference in &correlation.rules {
            match context.index.resolve(&reference.value) {
                None => out.push(
                    file_index,
                    Diagnostic::error(
                        "correlation-reference",
                        format!(
                            "the correlation names rule '{}', which is not among the checked rules",
                            reference.value
                        ),
                    )
                    .at(reference.span)
                    .help("check the referenced rules together with the correlation (pass their folder too)"),
                ),
                Some(target) if std::ptr::eq(target.document, doc.document) => out.push(
                    file_index,
                    Diagnostic::error("correlation-reference", "the correlation names itself")
                        .at(reference.span),
                ),
                Some(_) => {}
            }
        }
        for alias in &correlation.aliases {
            for (rule, _) in &alias.fields {
                let named = correlation.rules.iter().any(|r| {
                    r.value == rule.value
                        || context.index.resolve(&r.value).is_some_and(|target| {
                            target.document.meta().is_some_and(|m| {
                                m.name() == Some(rule.value.as_str())
                                    || m.id() == Some(rule.value.as_str())
                            })
                        })
                });
                if !named {
                    out.push(
                        file_index,
                        Diagnostic::error(
                            "correlation-reference",
                            format!(
                                "alias '{}' maps rule '{}', which the correlation does not name",
                                alias.alias.value, rule.value
                            ),
                        )
                        .at(rule.span),
                    );
                }
            }
        }
    }
}

fn describe(logsource: &LogSource) -> String {
    let parts: Vec<String> = [
        ("category", logsource.category()),
        ("product", logsource.product()),
        ("service", logsource.service()),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
    .collect();
    if parts.is_empty() {
        "(empty)".into()
    } else {
        parts.join(" ")
    }
}

fn filter_reference(context: &Context<'_>, out: &mut SetFindings) {
    for (file_index, doc) in documents(context) {
        let Some(DocumentKind::Filter(filter)) = doc.kind() else {
            continue;
        };
        let FilterTarget::Rules(rules) = &filter.target else {
            continue;
        };
        for reference in rules {
            match context.index.resolve(&reference.value) {
                None => out.push(
                    file_index,
                    Diagnostic::warning(
                        "filter-reference",
                        format!(
                            "the filter names rule '{}', which is not among the checked rules",
                            reference.value
                        ),
                    )
                    .at(reference.span),
                ),
                Some(target) => match target.kind() {
                    Some(DocumentKind::Rule(rule)) if !logsource_fits(&filter.logsource, &rule.logsource) => out.push(
                        file_index,
                        Diagnostic::warning(
                            "filter-reference",
                            format!(
                                "the filter's logsource ({}) does not fit rule '{}' ({}), so the filter would not apply to it",
                                describe(&filter.logsource),
                                rule.meta.title(),
                                describe(&rule.logsource)
                            ),
                        )
                        .at(reference.span),
                    ),
                    Some(DocumentKind::Rule(_)) | None => {}
                    Some(other) => out.push(
                        file_index,
                        Diagnostic::warning(
                            "filter-reference",
                            format!(
                                "the filter names a {}, but filters apply to detection rules only",
                                other.kind_name()
                            ),
                        )
                        .at(reference.span),
                    ),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Options;
    use super::super::test_support::*;

    const RULE_A: &str = "title: Rule A\nid: 11111111-1111-4111-8111-111111111111\nname: rule_a\nlogsource: {product: windows, category: process_creation}\ndetection: {sel: {Image: x}, condition: sel}\n";

    #[test]
    fn duplicate_ids_across_files() {
        let findings = check_files(&[("a.yml", RULE_A), ("b.yml", RULE_A)], &Options::default());
        assert_eq!(
            findings,
            vec![(
                "duplicate-id".into(),
                "id 11111111-1111-4111-8111-111111111111 is also used by 'Rule A' in a.yml".into(),
                "11111111-1111-4111-8111-111111111111".into()
            )]
        );
    }

    #[test]
    fn correlation_references() {
        let correlation = "title: C\ncorrelation:\n    type: event_count\n    rules: [rule_a, missing_rule]\n    aliases:\n        user:\n            rule_a: User\n            other: Account\n    group-by: [user]\n    timespan: 1h\n    condition: {gte: 2}\n";
        let findings = check_files(
            &[("a.yml", RULE_A), ("c.yml", correlation)],
            &Options::default(),
        );
        assert_eq!(
            findings
                .iter()
                .map(|f| (f.0.as_str(), f.1.as_str(), f.2.as_str()))
                .collect::<Vec<_>>(),
            [
                (
                    "correlation-reference",
                    "the correlation names rule 'missing_rule', which is not among the checked rules",
                    "missing_rule"
                ),
                (
                    "correlation-reference",
                    "alias 'user' maps rule 'other', which the correlation does not name",
                    "other"
                ),
            ]
        );
    }

    #[test]
    fn filter_references_and_logsource_fit() {
        let filter = "title: F\nlogsource: {product: windows, category: file_event}\nfilter:\n    rules: [rule_a, nothing]\n    sel: {User: admin}\n    condition: not sel\n";
        let findings = check_files(&[("a.yml", RULE_A), ("f.yml", filter)], &Options::default());
        assert_eq!(
            findings.iter().map(|f| f.1.as_str()).collect::<Vec<_>>(),
            [
                "the filter's logsource (category=file_event product=windows) does not fit rule 'Rule A' (category=process_creation product=windows), so the filter would not apply to it",
                "the filter names rule 'nothing', which is not among the checked rules",
            ]
        );
    }
}
