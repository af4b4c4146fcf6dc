//! Checks of detection sections: identifiers the condition names, modifier chains the
//! specification forbids, and value smells.

use super::{Context, Validator};
use crate::condition::{ExprKind, Pattern};
use crate::detection::{DetectionItem, ValueJoin, uses_unsupported_regex_feature};
use crate::diagnostic::{Diagnostic, Severity};
use crate::document::{Detection, DocumentKind};
use crate::loader::DocRef;
use crate::modifier::Modifier;
use crate::string::Part;
use crate::value::MatchValue;

pub(super) fn validators() -> Vec<Validator> {
    vec![
        Validator::document(
            "undefined-identifier",
            Severity::Error,
            "every identifier the condition names is defined, and every pattern ('1 of sel_*', 'them') selects at least one",
            undefined_identifier,
        ),
        Validator::document(
            "unused-identifier",
            Severity::Warning,
            "every search identifier is used by the condition",
            unused_identifier,
        ),
        Validator::document(
            "modifier-chain",
            Severity::Error,
            "modifier chains the specification forbids: 'base64offset' not followed by 'contains', 'all' with a single value, 'windash' with 'all'",
            modifier_chain,
        ),
        Validator::document(
            "all-without-contains",
            Severity::Warning,
            "'field|all' without 'contains' (or another wildcard) requires one field to equal several values",
            all_without_contains,
        ),
        Validator::document(
            "wildcard-instead-of-modifier",
            Severity::Warning,
            "'*value*', '*value' and 'value*' written with wildcards where 'contains', 'endswith' or 'startswith' belongs",
            wildcard_instead_of_modifier,
        ),
        Validator::document(
            "double-wildcard",
            Severity::Warning,
            "'**' in a value (one '*' means the same)",
            double_wildcard,
        ),
        Validator::document(
            "control-character",
            Severity::Warning,
            "values hold no control characters (often a tab or newline pasted by mistake, or '\\t' meant as a path)",
            control_character,
        ),
        Validator::document(
            "regex-engine",
            Severity::Warning,
            "regular expressions avoid look-around and backreferences, which RE2-style engines (sigrun's, Go, Rust, many SIEMs) do not support",
            regex_engine,
        ),
        Validator::document(
            "null-in-list",
            Severity::Warning,
            "'null' is not one value among others in a list (the specification asks for a separate selection)",
            null_in_list,
        ),
        Validator::document(
            "expand-without-placeholder",
            Severity::Warning,
            "'expand' is applied to a value that holds a %placeholder%",
            expand_without_placeholder,
        ),
    ]
}

/// The detection section of a rule or filter.
fn detection_of<'a>(doc: &DocRef<'a>) -> Option<&'a Detection> {
    match doc.kind()? {
        DocumentKind::Rule(rule) => Some(&rule.detection),
        DocumentKind::Filter(filter) => Some(&filter.detection),
        DocumentKind::Correlation(_) => None,
    }
}

fn undefined_identifier(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    let Some(detection) = detection_of(&doc) else {
        return;
    };
    let names = defined_names(detection);
    for condition in &detection.conditions {
        for reference in condition.expr.references() {
            match &reference.kind {
                ExprKind::Identifier(name) if !names.contains(&name.as_str()) => {
                    let mut d = Diagnostic::error(
                        "undefined-identifier",
                        format!(
                            "the condition names '{name}', which the detection does not define"
                        ),
                    )
                    .at(reference.span);
                    if let Some(close) = closest(name, &names) {
                        d = d.help(format!("did you mean '{close}'?"));
                    }
                    out.push(d);
                }
                ExprKind::Quantified { pattern, .. }
                    if !names.iter().any(|name| pattern.selects(name)) =>
                {
                    let message = match pattern {
                        Pattern::Them => {
                            "'them' selects no search identifier (identifiers starting with '_' are excluded)".to_string()
                        }
                        Pattern::Glob(glob) => {
                            format!("the pattern '{glob}' matches no search identifier")
                        }
                    };
                    out.push(Diagnostic::error("undefined-identifier", message).at(reference.span));
                }
                _ => {}
            }
        }
    }
}

/// Every search identifier the detection section defines, those that failed to parse included
/// (their errors are reported already; calling them undefined would only add noise).
fn defined_names(detection: &Detection) -> Vec<&str> {
    let read = detection.searches.iter().map(|s| &s.name);
    read.chain(&detection.unreadable)
        .map(|name| name.value.as_str())
        .collect()
}

/// The defined name closest to `name` by edit distance, when it is close enough to be a typo.
fn closest<'a>(name: &str, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .map(|candidate| (crate::modifier::edit_distance(name, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 4))
        .min()
        .map(|(_, candidate)| candidate)
}

fn unused_identifier(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    let Some(detection) = detection_of(&doc) else {
        return;
    };
    if detection.conditions.is_empty() {
        return;
    }
    let references: Vec<_> = detection
        .conditions
        .iter()
        .flat_map(|c| c.expr.references())
        .collect();
    for search in &detection.searches {
        let name = search.name.value.as_str();
        let used = references.iter().any(|r| match &r.kind {
            ExprKind::Identifier(id) => id == name,
            ExprKind::Quantified { pattern, .. } => pattern.selects(name),
            _ => false,
        });
        if !used {
            out.push(
                Diagnostic::warning(
                    "unused-identifier",
                    format!("search identifier '{name}' is not used by the condition"),
                )
                .at(search.name.span),
            );
        }
    }
}

/// Every detection item of the document.
fn items<'a>(doc: &DocRef<'a>) -> Vec<&'a DetectionItem> {
    detection_of(doc)
        .map(|d| d.searches.iter().flat_map(|s| s.search.items()).collect())
        .unwrap_or_default()
}

fn modifier_span(item: &DetectionItem, modifier: Modifier) -> crate::source::Span {
    item.modifiers
        .iter()
        .find(|m| m.value == modifier)
        .map_or(item.span, |m| m.span)
}

fn modifier_chain(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    for item in items(&doc) {
        let chain: Vec<Modifier> = item.modifiers.iter().map(|m| m.value).collect();
        if let Some(position) = chain.iter().position(|m| *m == Modifier::Base64Offset)
            && chain.get(position + 1) != Some(&Modifier::Contains)
        {
            out.push(
                Diagnostic::error(
                    "modifier-chain",
                    "'base64offset' must be followed by 'contains'",
                )
                .at(modifier_span(item, Modifier::Base64Offset))
                .help("the offsets produce fragments of an encoded string; only a substring search can find them: write 'base64offset|contains'"),
            );
        }
        if item.join == ValueJoin::All && item.values.len() == 1 {
            out.push(
                Diagnostic::error("modifier-chain", "'all' with a single value")
                    .at(modifier_span(item, Modifier::All))
                    .help("'all' joins the values of a list with AND; with one value, remove it"),
            );
        }
        if item.join == ValueJoin::All && item.has_modifier(Modifier::Windash) {
            out.push(
                Diagnostic::error("modifier-chain", "'windash' cannot be combined with 'all'")
                    .at(modifier_span(item, Modifier::Windash))
                    .help("each value's dash variants are alternatives; with 'all' every variant would have to be present"),
            );
        }
    }
}

fn all_without_contains(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    for item in items(&doc) {
        if item.field.is_none() || item.join != ValueJoin::All || item.values.len() < 2 {
            continue;
        }
        let any_wildcard = item.values.iter().any(|v| {
            let mut wild = false;
            v.value.for_each_leaf(&mut |leaf| {
                wild |= match leaf {
                    MatchValue::String { value, .. } => value.has_wildcards(),
                    MatchValue::Regex { .. } => true,
                    _ => false,
                }
            });
            wild
        });
        if !any_wildcard {
            out.push(
                Diagnostic::warning(
                    "all-without-contains",
                    "'all' without 'contains': one field cannot equal several different values",
                )
                .at(modifier_span(item, Modifier::All))
                .help("did you mean 'contains|all'?"),
            );
        }
    }
}

/// Whether an item's modifiers already say where the value goes.
fn has_position_modifier(item: &DetectionItem) -> bool {
    item.modifiers.iter().any(|m| {
        matches!(
            m.value,
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith | Modifier::Re
        )
    }) || item.field.is_none()
}

/// The written text of a value, with the span to point at.
fn written<'a>(doc: &DocRef<'a>, value: &crate::source::Spanned<MatchValue>) -> &'a str {
    doc.file.source.slice(value.span)
}

fn wildcard_instead_of_modifier(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    for item in items(&doc) {
        if has_position_modifier(item) || !item.modifiers.is_empty() {
            continue;
        }
        for value in &item.values {
            let MatchValue::String { value: string, .. } = &value.value else {
                continue;
            };
            let parts = string.parts();
            let inner = parts.iter().skip(1).take(parts.len().saturating_sub(2));
            let inner_plain = inner.clone().all(|p| matches!(p, Part::Text(_)));
            let (first, last) = (parts.first(), parts.last());
            let leading = matches!(first, Some(Part::AnyChars));
            let trailing = parts.len() > 1 && matches!(last, Some(Part::AnyChars));
            let modifier = match (leading, trailing) {
                (true, true) if parts.len() == 3 && inner_plain => "contains",
                (true, false) if parts.len() == 2 && matches!(last, Some(Part::Text(_))) => {
                    "endswith"
                }
                (false, true) if parts.len() == 2 && matches!(first, Some(Part::Text(_))) => {
                    "startswith"
                }
                _ => continue,
            };
            out.push(
                Diagnostic::warning(
                    "wildcard-instead-of-modifier",
                    format!(
                        "{} uses wildcards where the '{modifier}' modifier belongs",
                        written(&doc, value)
                    ),
                )
                .at(value.span)
                .help(format!(
                    "write the value without the outer '*' and add '|{modifier}' to the field"
                )),
            );
        }
    }
}

fn double_wildcard(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    for item in items(&doc) {
        for value in &item.values {
            let mut doubled = false;
            value.value.for_each_leaf(&mut |leaf| {
                if let MatchValue::String { value, .. } = leaf {
                    doubled |= value
                        .parts()
                        .windows(2)
                        .any(|w| matches!(w, [Part::AnyChars, Part::AnyChars]));
                }
            });
            if doubled {
                out.push(
                    Diagnostic::warning(
                        "double-wildcard",
                        format!(
                            "{} holds '**' (after its modifiers); one '*' means the same",
                            written(&doc, value)
                        ),
                    )
                    .at(value.span),
                );
            }
        }
    }
}

fn control_character(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    for item in items(&doc) {
        for value in &item.values {
            let text = match &value.value {
                MatchValue::String { value, .. } => value.text_content(),
                MatchValue::Regex { pattern, .. } => pattern.clone(),
                _ => continue,
            };
            if let Some(c) = text.chars().find(|c| c.is_control()) {
                out.push(
                    Diagnostic::warning(
                        "control-character",
                        format!("the value holds the control character U+{:04X}", c as u32),
                    )
                    .at(value.span)
                    .help("in a double-quoted YAML string '\\t' is a tab: use single quotes for Windows paths"),
                );
            }
        }
    }
}

fn regex_engine(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    for item in items(&doc) {
        for value in &item.values {
            if let MatchValue::Regex { pattern, .. } = &value.value
                && uses_unsupported_regex_feature(pattern)
            {
                out.push(
                    Diagnostic::warning(
                        "regex-engine",
                        "the regular expression uses look-around or a backreference",
                    )
                    .at(value.span)
                    .help("sigrun's engine and RE2-based SIEMs cannot run it; rewrite it without them"),
                );
            }
        }
    }
}

fn null_in_list(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    for item in items(&doc) {
        if item.values.len() < 2 {
            continue;
        }
        for value in &item.values {
            if value.value == MatchValue::Null {
                out.push(
                    Diagnostic::warning("null-in-list", "'null' is one value among others in a list")
                        .at(value.span)
                        .help("write a separate selection with 'field: null' and combine it in the condition"),
                );
            }
        }
    }
}

fn expand_without_placeholder(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    for item in items(&doc) {
        if !item.has_modifier(Modifier::Expand) {
            continue;
        }
        for value in &item.values {
            let mut has_placeholder = false;
            value.value.for_each_leaf(&mut |leaf| {
                if let MatchValue::String { value, .. } = leaf {
                    has_placeholder |= value.has_placeholders();
                }
            });
            if !has_placeholder {
                out.push(
                    Diagnostic::warning(
                        "expand-without-placeholder",
                        format!(
                            "'expand' on {}, which holds no %placeholder%",
                            written(&doc, value)
                        ),
                    )
                    .at(value.span),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    fn detect(body: &str) -> Vec<(String, String, String)> {
        check(&rule_with(&format!("detection:\n{body}")))
    }

    #[test]
    fn undefined_identifiers_and_patterns() {
        let findings = detect(
            "    selection:\n        A: b\n    condition: selecton and 1 of filter_* and not all of them\n",
        );
        assert_eq!(
            findings,
            vec![
                (
                    "undefined-identifier".into(),
                    "the condition names 'selecton', which the detection does not define".into(),
                    "selecton".into()
                ),
                (
                    "undefined-identifier".into(),
                    "the pattern 'filter_*' matches no search identifier".into(),
                    "1 of filter_*".into()
                ),
            ]
        );
        let findings = detect("    _sel:\n        A: b\n    condition: 1 of them\n");
        assert_eq!(
            codes(&findings),
            ["unused-identifier", "undefined-identifier"]
        );
        assert_eq!(
            findings[1].1,
            "'them' selects no search identifier (identifiers starting with '_' are excluded)"
        );
    }

    #[test]
    fn an_unreadable_search_is_reported_once() {
        // Defined but empty: its own error is the finding, not also "undefined".
        let findings = detect("    selection: {}\n    condition: selection\n");
        assert_eq!(
            findings,
            vec![(
                "detection-structure".into(),
                "empty search identifier".into(),
                "{}".into()
            )]
        );
        let findings =
            detect("    selection: []\n    filter: {}\n    condition: 1 of sel* and not filter\n");
        assert_eq!(
            codes(&findings),
            ["detection-structure", "detection-structure"]
        );
    }

    #[test]
    fn typo_gets_a_suggestion() {
        let set = crate::loader::RuleSet::from_sources([crate::source::SourceFile::new(
            "r.yml",
            rule_with("detection:\n    selection:\n        A: b\n    condition: selecton\n"),
        )]);
        let all = super::super::validate(
            &set,
            sigrun_attack::AttackData::embedded(),
            &Default::default(),
        );
        let d = all[0]
            .diagnostics
            .iter()
            .find(|d| d.code == "undefined-identifier")
            .unwrap();
        assert_eq!(d.help.as_deref(), Some("did you mean 'selection'?"));
    }

    #[test]
    fn unused_identifiers() {
        let findings = detect(
            "    sel_a:\n        A: b\n    sel_b:\n        B: c\n    other:\n        C: d\n    condition: 1 of sel_*\n",
        );
        assert_eq!(
            findings,
            vec![(
                "unused-identifier".into(),
                "search identifier 'other' is not used by the condition".into(),
                "other".into()
            )]
        );
    }

    #[test]
    fn forbidden_modifier_chains() {
        let findings = detect(
            "    sel:\n        A|base64offset: abc\n        B|contains|all: x\n        C|windash|contains|all: ['-a', '-b']\n    condition: sel\n",
        );
        assert_eq!(
            findings
                .iter()
                .map(|f| (f.0.as_str(), f.1.as_str(), f.2.as_str()))
                .collect::<Vec<_>>(),
            [
                (
                    "modifier-chain",
                    "'base64offset' must be followed by 'contains'",
                    "base64offset"
                ),
                ("modifier-chain", "'all' with a single value", "all"),
                (
                    "modifier-chain",
                    "'windash' cannot be combined with 'all'",
                    "windash"
                ),
            ]
        );
        assert_eq!(
            detect("    sel:\n        A|base64offset|contains: abc\n    condition: sel\n"),
            vec![]
        );
    }

    #[test]
    fn all_without_contains() {
        let findings = detect("    sel:\n        A|all: [x, y]\n    condition: sel\n");
        assert_eq!(codes(&findings), ["all-without-contains"]);
        assert_eq!(
            detect("    sel:\n        A|all: ['*x*', 'y*']\n    condition: sel\n"),
            vec![]
        );
        assert_eq!(
            detect("    sel:\n        '|all': [x, y]\n    condition: sel\n"),
            vec![]
        );
    }

    #[test]
    fn value_smells() {
        let findings = detect(
            "    sel:\n        A: '*cmd*'\n        B: '*\\cmd.exe'\n        C: 'cmd*'\n        D: '*a*b*'\n        E|contains: 'x**y'\n        F: \"C:\\temp\"\n    condition: sel\n",
        );
        assert_eq!(
            findings
                .iter()
                .map(|f| (f.0.as_str(), f.1.as_str()))
                .collect::<Vec<_>>(),
            [
                (
                    "wildcard-instead-of-modifier",
                    "'*cmd*' uses wildcards where the 'contains' modifier belongs"
                ),
                (
                    "wildcard-instead-of-modifier",
                    "'*\\cmd.exe' uses wildcards where the 'endswith' modifier belongs"
                ),
                (
                    "wildcard-instead-of-modifier",
                    "'cmd*' uses wildcards where the 'startswith' modifier belongs"
                ),
                (
                    "double-wildcard",
                    "'x**y' holds '**' (after its modifiers); one '*' means the same"
                ),
                (
                    "control-character",
                    "the value holds the control character U+0009"
                ),
            ]
        );
    }

    #[test]
    fn regex_null_and_expand() {
        let findings = detect(
            "    sel:\n        A|re: 'a(?=b)'\n        B: [x, null]\n        C|expand: plain\n        D|expand: '%admins%'\n    condition: sel\n",
        );
        assert_eq!(
            codes(&findings),
            ["regex-engine", "null-in-list", "expand-without-placeholder"]
        );
        assert_eq!(
            findings[2].1,
            "'expand' on plain, which holds no %placeholder%"
        );
    }
}
