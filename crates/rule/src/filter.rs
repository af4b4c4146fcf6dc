//! Applying Sigma filters (meta filters, spec v2.1.0 §4) to the rules they name: the one step
//! `hunt`, `convert` and `test` share, so a filter silences the same events everywhere.
//!
//! A filter's condition is ANDed onto every condition of each rule it applies to: the rules it
//! names by id or name, or with `rules: any` every detection rule whose logsource fits. Its
//! search identifiers are copied into the rule under the names `_filter<N>_<name>`: the leading
//! `_` keeps them out of the rule's own `1 of them`, and the number keeps two filters apart. A
//! filter's `them` and patterns are expanded against its own identifiers before the copy.
//! Filters never apply to correlation rules, and a filter whose logsource does not fit a rule it
//! names is reported and not applied to it.

use crate::condition::{Condition, Expr, ExprKind, Pattern, Quantifier};
use crate::document::{DocumentKind, FilterTarget, LogSource};
use crate::loader::RuleSet;
use crate::source::Spanned;

/// What applying filters did.
#[derive(Debug, Default)]
pub struct FilterReport {
    /// `(filter title, rule title)` for every application, in rule order.
    pub applied: Vec<(String, String)>,
    /// Filters that named a rule they could not apply to, or nothing at all, with the reason.
    pub problems: Vec<FilterProblem>,
}

/// A filter that did not apply where it said it would.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FilterProblem {
    pub filter_path: String,
    pub filter_title: String,
    pub message: String,
}

/// One filter, ready to be merged into rules.
struct Prepared {
    title: String,
    path: String,
    logsource: LogSource,
    target: FilterTarget,
    searches: Vec<crate::detection::SearchIdentifier>,
    /// The filter's conditions ORed, with identifiers renamed and patterns expanded.
    condition: Expr,
}

/// Whether every logsource key the filter names has the same value in the rule (ASCII case
/// ignored): a filter for `product: windows` fits every Windows rule.
pub fn logsource_fits(filter: &LogSource, rule: &LogSource) -> bool {
    [
        (filter.category(), rule.category()),
        (filter.product(), rule.product()),
        (filter.service(), rule.service()),
    ]
    .into_iter()
    .all(|(f, r)| f.is_none_or(|f| r.is_some_and(|r| r.eq_ignore_ascii_case(f))))
}

/// Applies every filter document of `filters` to the detection rules of `rules`, in place.
/// Filters among `rules` themselves are applied too (pass an empty set as `filters` then).
pub fn apply_filters(rules: &mut RuleSet, filters: &RuleSet) -> FilterReport {
    let mut report = FilterReport::default();
    let mut prepared = Vec::new();
    for set in [&*rules, filters] {
        for doc in set.documents() {
            if let Some(DocumentKind::Filter(filter)) = doc.kind()
                && !doc.document.has_errors()
            {
                let number = prepared.len() + 1;
                prepared.push(prepare(
                    number,
                    doc.file.path().display().to_string(),
                    filter,
                ));
            }
        }
    }
    if prepared.is_empty() {
        return report;
    }
    let mut used = vec![false; prepared.len()];
    for file in &mut rules.files {
        for document in &mut file.documents {
            if document.has_errors() {
                continue;
            }
            let Some(DocumentKind::Rule(rule)) = &mut document.kind else {
                continue;
            };
            for (index, filter) in prepared.iter().enumerate() {
                let named = match &filter.target {
                    FilterTarget::Any(_) => true,
                    FilterTarget::Rules(names) => names.iter().any(|n| {
                        rule.meta.id() == Some(n.value.as_str())
                            || rule.meta.name() == Some(n.value.as_str())
                    }),
                };
                if !named {
                    continue;
                }
                if !logsource_fits(&filter.logsource, &rule.logsource) {
                    if matches!(filter.target, FilterTarget::Rules(_)) {
                        used[index] = true;
                        report.problems.push(FilterProblem {
                            filter_path: filter.path.clone(),
                            filter_title: filter.title.clone(),
                            message: format!(
                                "not applied to rule '{}': the filter's logsource does not fit the rule's",
                                rule.meta.title()
                            ),
                        });
                    }
                    continue;
                }
                used[index] = true;
                rule.detection
                    .searches
                    .extend(filter.searches.iter().cloned());
                for condition in &mut rule.detection.conditions {
                    let span = condition.expr.span;
                    let original = std::mem::replace(
                        &mut condition.expr,
                        Expr {
                            kind: ExprKind::Identifier(String::new()),
                            span,
                        },
                    );
                    condition.expr = Expr {
                        kind: ExprKind::And(and_operands([original, filter.condition.clone()])),
                        span,
                    };
                }
                report
                    .applied
                    .push((filter.title.clone(), rule.meta.title().to_string()));
            }
        }
    }
    for (filter, used) in prepared.iter().zip(used) {
        if !used {
            report.problems.push(FilterProblem {
                filter_path: filter.path.clone(),
                filter_title: filter.title.clone(),
                message: "applies to no rule: no rule it names was loaded with a fitting logsource"
                    .to_string(),
            });
        }
    }
    report
}

/// The operands of `a and b`, with operands that are themselves `and` flattened in.
fn and_operands(parts: [Expr; 2]) -> Vec<Expr> {
    let mut out = Vec::new();
    for part in parts {
        match part.kind {
            ExprKind::And(items) => out.extend(items),
            kind => out.push(Expr {
                kind,
                span: part.span,
            }),
        }
    }
    out
}

fn prepare(number: usize, path: String, filter: &crate::document::Filter) -> Prepared {
    let prefix = format!("_filter{number}_");
    let names: Vec<&str> = filter
        .detection
        .searches
        .iter()
        .map(|s| s.name.value.as_str())
        .collect();
    let searches = filter
        .detection
        .searches
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.name = Spanned::new(format!("{prefix}{}", s.name.value), s.name.span);
            s
        })
        .collect();
    let conditions: Vec<Expr> = filter
        .detection
        .conditions
        .iter()
        .map(|c: &Condition| rename(&c.expr, &prefix, &names))
        .collect();
    let condition = match conditions.len() {
        1 => conditions
            .into_iter()
            .next()
            .unwrap_or_else(|| unreachable!()),
        _ => Expr {
            span: filter.detection.span,
            kind: ExprKind::Or(conditions),
        },
    };
    Prepared {
        title: filter.meta.title().to_string(),
        path,
        logsource: filter.logsource.clone(),
        target: filter.target.clone(),
        searches,
        condition,
    }
}

/// The filter's expression over the renamed identifiers, with `them` and patterns expanded to
/// the filter's own identifiers (they must not reach the rule's).
fn rename(expr: &Expr, prefix: &str, names: &[&str]) -> Expr {
    let kind = match &expr.kind {
        ExprKind::Identifier(name) => ExprKind::Identifier(format!("{prefix}{name}")),
        ExprKind::Not(inner) => ExprKind::Not(Box::new(rename(inner, prefix, names))),
        ExprKind::And(items) => {
            ExprKind::And(items.iter().map(|i| rename(i, prefix, names)).collect())
        }
        ExprKind::Or(items) => {
            ExprKind::Or(items.iter().map(|i| rename(i, prefix, names)).collect())
        }
        ExprKind::Quantified {
            quantifier,
            pattern,
        } => {
            let selected: Vec<Expr> = names
                .iter()
                .filter(|n| pattern.selects(n))
                .map(|n| Expr {
                    kind: ExprKind::Identifier(format!("{prefix}{n}")),
                    span: expr.span,
                })
                .collect();
            match selected.len() {
                // Nothing selected: keep a pattern that selects nothing, which the compilers
                // and converters report as such.
                0 => ExprKind::Quantified {
                    quantifier: *quantifier,
                    pattern: Pattern::Glob(format!("{prefix}{}", pattern.as_str())),
                },
                1 => {
                    return selected
                        .into_iter()
                        .next()
                        .unwrap_or_else(|| unreachable!());
                }
                _ => match quantifier {
                    Quantifier::Any => ExprKind::Or(selected),
                    Quantifier::All => ExprKind::And(selected),
                },
            }
        }
    };
    Expr {
        kind,
        span: expr.span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    const RULE: &str = "title: Scrcons Writes\nid: 33f41cdd-35ac-4ba8-814b-c6a4244a1ad4\nlogsource: {product: windows, category: file_event}\ndetection:\n    selection:\n        Image: 'C:\\WINDOWS\\system32\\wbem\\scrcons.exe'\n    filter: {TargetFilename|endswith: '.log'}\n    condition: selection and not filter\n";
    const OTHER: &str = "title: Other\nid: 0d6f3b51-2f0e-4d1b-9a64-8a8f5a4b7c21\nlogsource: {product: windows, category: process_creation}\ndetection:\n    sel: {Image: x}\n    condition: 1 of them\n";

    fn set(files: &[(&str, &str)]) -> RuleSet {
        RuleSet::from_sources(files.iter().map(|(p, t)| SourceFile::new(*p, *t)))
    }

    fn conditions(set: &RuleSet) -> Vec<String> {
        set.documents()
            .filter_map(|d| d.document.rule())
            .map(|r| {
                r.detection
                    .conditions
                    .iter()
                    .map(|c| c.expr.to_string())
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect()
    }

    #[test]
    fn named_filter_is_anded_with_renamed_identifiers() {
        let filter = "title: Dell Power Manager\nlogsource: {product: windows, category: file_event}\nfilter:\n    rules: [33f41cdd-35ac-4ba8-814b-c6a4244a1ad4]\n    selection: {TargetFilename|startswith: 'C:\\Program Files\\Dell\\'}\n    condition: not selection\n";
        let mut rules = set(&[("r.yml", RULE), ("o.yml", OTHER)]);
        let report = apply_filters(&mut rules, &set(&[("f.yml", filter)]));
        assert_eq!(
            conditions(&rules),
            [
                "selection and not filter and not _filter1_selection",
                "1 of them"
            ]
        );
        assert_eq!(
            report.applied,
            [(
                "Dell Power Manager".to_string(),
                "Scrcons Writes".to_string()
            )]
        );
        assert!(report.problems.is_empty());
        let rule = rules.documents().next().unwrap().document.rule().unwrap();
        assert!(rule.detection.search("_filter1_selection").is_some());
    }

    #[test]
    fn rules_any_applies_by_logsource_and_patterns_stay_inside_the_filter() {
        let filter = "title: Admin Scripts\nlogsource: {product: windows}\nfilter:\n    rules: any\n    sel_a: {User: admin}\n    sel_b: {User: svc}\n    condition: not 1 of sel_* and not 1 of them\n";
        let mut rules = set(&[("r.yml", RULE), ("o.yml", OTHER)]);
        let report = apply_filters(&mut rules, &set(&[("f.yml", filter)]));
        assert_eq!(
            conditions(&rules),
            [
                "selection and not filter and not (_filter1_sel_a or _filter1_sel_b) and not (_filter1_sel_a or _filter1_sel_b)",
                "1 of them and not (_filter1_sel_a or _filter1_sel_b) and not (_filter1_sel_a or _filter1_sel_b)"
            ]
        );
        assert_eq!(report.applied.len(), 2);
    }

    #[test]
    fn logsource_mismatch_and_unused_filters_are_reported() {
        let filter = "title: Wrong Source\nlogsource: {product: windows, category: process_creation}\nfilter:\n    rules: [33f41cdd-35ac-4ba8-814b-c6a4244a1ad4]\n    sel: {User: admin}\n    condition: not sel\n";
        let unused = "title: Nothing\nlogsource: {product: windows}\nfilter:\n    rules: [no-such-rule]\n    sel: {User: admin}\n    condition: not sel\n";
        let mut rules = set(&[("r.yml", RULE)]);
        let report = apply_filters(&mut rules, &set(&[("f.yml", filter), ("u.yml", unused)]));
        assert_eq!(conditions(&rules), ["selection and not filter"]);
        assert_eq!(
            report
                .problems
                .iter()
                .map(|p| (p.filter_title.as_str(), p.message.as_str()))
                .collect::<Vec<_>>(),
            [
                (
                    "Wrong Source",
                    "not applied to rule 'Scrcons Writes': the filter's logsource does not fit the rule's"
                ),
                (
                    "Nothing",
                    "applies to no rule: no rule it names was loaded with a fitting logsource"
                ),
            ]
        );
    }
}
