//! Checks of the metadata fields against the Sigma schema.

use super::{Context, Validator};
use crate::diagnostic::{Diagnostic, Severity};
use crate::document::{DocumentKind, LogSource, Metadata};
use crate::loader::DocRef;
use crate::source::{Span, Spanned};

pub(super) fn validators() -> Vec<Validator> {
    vec![
        Validator::document(
            "required-fields",
            Severity::Error,
            "a title is present (logsource and detection are checked while parsing)",
            required_fields,
        ),
        Validator::document(
            "title-length",
            Severity::Error,
            "title and name are at most 256 characters",
            title_length,
        ),
        Validator::document(
            "id-format",
            Severity::Error,
            "'id' and related ids are UUIDs (version 4 recommended)",
            id_format,
        ),
        Validator::document(
            "date-format",
            Severity::Error,
            "'date' and 'modified' are YYYY-MM-DD (the Sigma 1 form YYYY/MM/DD is a warning), and modified is not before date",
            date_format,
        ),
        Validator::document(
            "logsource-format",
            Severity::Warning,
            "logsource names one of category, product or service, in lowercase with '_' instead of spaces",
            logsource_format,
        ),
        Validator::document(
            "duplicate-entries",
            Severity::Warning,
            "tags, references, falsepositives and fields hold no duplicates",
            duplicate_entries,
        ),
    ]
}

fn required_fields(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    if let Some(meta) = doc.document.meta()
        && meta.title.is_none()
    {
        out.push(
            Diagnostic::error("required-fields", "missing required field 'title'")
                .at(Span::point(doc.document.span().start)),
        );
    }
}

fn title_length(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    let Some(meta) = doc.document.meta() else {
        return;
    };
    for (what, value) in [("title", &meta.title), ("name", &meta.name)] {
        if let Some(value) = value {
            let length = value.value.chars().count();
            if length > 256 {
                out.push(
                    Diagnostic::error(
                        "title-length",
                        format!("{what} is {length} characters long; the limit is 256"),
                    )
                    .at(value.span),
                );
            }
        }
    }
}

fn id_format(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    let Some(meta) = doc.document.meta() else {
        return;
    };
    let ids = meta
        .id
        .iter()
        .map(|id| ("id", id))
        .chain(meta.related.iter().map(|r| ("related id", &r.id)));
    for (what, id) in ids {
        match uuid::Uuid::try_parse(&id.value) {
            Ok(parsed) if id.value.len() == 36 => {
                if parsed.get_version_num() != 4 {
                    out.push(
                        Diagnostic::info(
                            "id-format",
                            format!(
                                "{what} is a version {} UUID; Sigma recommends version 4",
                                parsed.get_version_num()
                            ),
                        )
                        .at(id.span),
                    );
                }
            }
            _ => out.push(
                Diagnostic::error("id-format", format!("{what} '{}' is not a UUID", id.value))
                    .at(id.span)
                    .help("ids look like 929a690e-bef0-4204-a928-ef5e620d6fcc"),
            ),
        }
    }
}

/// A date in `YYYY-MM-DD`, as (year, month, day), checking the calendar.
pub(crate) fn parse_date(text: &str) -> Option<(u32, u32, u32)> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year: u32 = text[..4].parse().ok()?;
    let month: u32 = text[5..7].parse().ok()?;
    let day: u32 = text[8..].parse().ok()?;
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&day).then_some((year, month, day))
}

fn check_date(
    what: &str,
    value: &Spanned<String>,
    out: &mut Vec<Diagnostic>,
) -> Option<(u32, u32, u32)> {
    if let Some(date) = parse_date(&value.value) {
        return Some(date);
    }
    let slashed = value.value.replace('/', "-");
    if value.value.contains('/')
        && let Some(date) = parse_date(&slashed)
    {
        out.push(
            Diagnostic::warning(
                "date-format",
                format!("{what} '{}' uses the Sigma 1 form YYYY/MM/DD", value.value),
            )
            .at(value.span)
            .help(format!("Sigma 2 dates read YYYY-MM-DD: write {slashed}")),
        );
        return Some(date);
    }
    out.push(
        Diagnostic::error(
            "date-format",
            format!(
                "{what} '{}' is not a date in the form YYYY-MM-DD",
                value.value
            ),
        )
        .at(value.span),
    );
    None
}

fn date_format(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    let Some(meta) = doc.document.meta() else {
        return;
    };
    let date = meta.date.as_ref().and_then(|d| check_date("date", d, out));
    let modified = meta
        .modified
        .as_ref()
        .and_then(|m| check_date("modified", m, out));
    if let (Some(date), Some(modified), Some(span)) =
        (date, modified, meta.modified.as_ref().map(|m| m.span))
        && modified < date
    {
        out.push(
            Diagnostic::warning("date-format", "'modified' is earlier than 'date'")
                .at(span)
                .related(meta.date.as_ref().map_or(span, |d| d.span), "created here"),
        );
    }
}

fn logsource_of<'a>(doc: &DocRef<'a>) -> Option<&'a LogSource> {
    match doc.kind()? {
        DocumentKind::Rule(rule) => Some(&rule.logsource),
        DocumentKind::Filter(filter) => Some(&filter.logsource),
        DocumentKind::Correlation(_) => None,
    }
}

fn logsource_format(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    let Some(logsource) = logsource_of(&doc) else {
        return;
    };
    if logsource.category.is_none() && logsource.product.is_none() && logsource.service.is_none() {
        out.push(
            Diagnostic::warning(
                "logsource-format",
                "the logsource names no category, product or service",
            )
            .at(logsource.span)
            .help("without them no pipeline can tell which events the rule is for"),
        );
    }
    for (what, value) in [
        ("category", &logsource.category),
        ("product", &logsource.product),
        ("service", &logsource.service),
    ] {
        let Some(value) = value else { continue };
        let valid = value
            .value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'));
        if !valid {
            let suggestion = value.value.to_ascii_lowercase().replace(' ', "_");
            out.push(
                Diagnostic::warning(
                    "logsource-format",
                    format!(
                        "logsource {what} '{}' is not lowercase letters, digits, '_', '-' or '.'",
                        value.value
                    ),
                )
                .at(value.span)
                .help(format!("write '{suggestion}'")),
            );
        }
    }
}

fn duplicate_entries(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    let Some(meta) = doc.document.meta() else {
        return;
    };
    let lists: [(&str, &Vec<Spanned<String>>); 4] = [
        ("tag", &meta.tags),
        ("reference", &meta.references),
        ("false positive", &meta.falsepositives),
        ("field", &meta.fields),
    ];
    for (what, list) in lists {
        report_duplicates(what, list, out);
    }
    let _: &Metadata = meta;
}

fn report_duplicates(what: &str, list: &[Spanned<String>], out: &mut Vec<Diagnostic>) {
    for (i, entry) in list.iter().enumerate() {
        if let Some(first) = list[..i].iter().find(|e| e.value == entry.value) {
            out.push(
                Diagnostic::warning(
                    "duplicate-entries",
                    format!("duplicate {what} '{}'", entry.value),
                )
                .at(entry.span)
                .related(first.span, "first listed here"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    const DETECTION: &str = "detection:\n    sel:\n        A: b\n    condition: sel\n";

    #[test]
    fn dates() {
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2018/03/07"), None);
        assert_eq!(parse_date("2018-3-7"), None);
        let findings = check(&rule_with(&format!(
            "date: 2018/03/07\nmodified: 2017-01-01\n{DETECTION}"
        )));
        assert_eq!(
            findings,
            vec![
                (
                    "date-format".to_string(),
                    "date '2018/03/07' uses the Sigma 1 form YYYY/MM/DD".to_string(),
                    "2018/03/07".to_string()
                ),
                (
                    "date-format".to_string(),
                    "'modified' is earlier than 'date'".to_string(),
                    "2017-01-01".to_string()
                ),
            ]
        );
        let findings = check(&rule_with(&format!("date: 2018-13-01\n{DETECTION}")));
        assert_eq!(
            findings[0].1,
            "date '2018-13-01' is not a date in the form YYYY-MM-DD"
        );
    }

    #[test]
    fn ids_are_uuids() {
        let text = format!(
            "title: T\nid: not-a-uuid\nrelated:\n    - id: 6f1e2a3b-4c5d-1e6f-8a9b-0c1d2e3f4a5b\n      type: derived\nlogsource: {{product: windows}}\n{DETECTION}"
        );
        let findings = check(&text);
        assert_eq!(codes(&findings), ["id-format", "id-format"]);
        assert_eq!(findings[0].1, "id 'not-a-uuid' is not a UUID");
        assert_eq!(
            findings[1].1,
            "related id is a version 1 UUID; Sigma recommends version 4"
        );
    }

    #[test]
    fn title_length_and_missing_title() {
        let long = "x".repeat(257);
        let findings = check(&format!(
            "title: {long}\nlogsource: {{product: windows}}\n{DETECTION}"
        ));
        assert_eq!(
            findings[0].1,
            "title is 257 characters long; the limit is 256"
        );
        let findings = check(&format!("logsource: {{product: windows}}\n{DETECTION}"));
        assert_eq!(findings[0].1, "missing required field 'title'");
    }

    #[test]
    fn logsource_and_duplicates() {
        let text = format!(
            "title: T\ntags: [attack.execution, attack.execution]\nlogsource:\n    product: Windows\n    category: process creation\n{DETECTION}"
        );
        let findings = check(&text);
        assert_eq!(
            codes(&findings),
            ["duplicate-entries", "logsource-format", "logsource-format"]
        );
        assert_eq!(findings[0].1, "duplicate tag 'attack.execution'");
        assert_eq!(
            findings[2].1,
            "logsource category 'process creation' is not lowercase letters, digits, '_', '-' or '.'"
        );
        let findings = check(&format!(
            "title: T\nlogsource: {{definition: x}}\n{DETECTION}"
        ));
        assert_eq!(
            findings[0].1,
            "the logsource names no category, product or service"
        );
    }
}
