//! SigmaHQ's repository conventions, stricter than the specification (opt-in profile
//! `--profile sigmahq`): required fields, file names, title case and 4-space indentation.

use super::{Context, Profile, Validator};
use crate::diagnostic::{Diagnostic, Severity};
use crate::document::DocumentKind;
use crate::loader::DocRef;
use crate::source::Span;

pub(super) fn validators() -> Vec<Validator> {
    [
        Validator::document(
            "sigmahq-fields",
            Severity::Warning,
            "SigmaHQ: detection rules carry id, status, description, references, author, date, tags, falsepositives and level",
            required_fields,
        ),
        Validator::document(
            "sigmahq-filename",
            Severity::Warning,
            "SigmaHQ: file names are 10–70 characters of [a-z0-9_] ending in .yml",
            filename,
        ),
        Validator::document(
            "sigmahq-title",
            Severity::Warning,
            "SigmaHQ: titles use title case, do not end with a full stop and are at most 110 characters",
            title,
        ),
        Validator::document(
            "sigmahq-indentation",
            Severity::Warning,
            "SigmaHQ: indentation is made of spaces, 4 per level",
            indentation,
        ),
    ]
    .into_iter()
    .map(|v| v.in_profile(Profile::SigmaHq))
    .collect()
}

fn required_fields(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    let Some(DocumentKind::Rule(rule)) = doc.kind() else {
        return;
    };
    let meta = &rule.meta;
    let missing: Vec<&str> = [
        ("id", meta.id.is_none()),
        ("status", meta.status.is_none()),
        ("description", meta.description.is_none()),
        ("references", meta.references.is_empty()),
        ("author", meta.author.is_none()),
        ("date", meta.date.is_none()),
        ("tags", meta.tags.is_empty()),
        ("falsepositives", meta.falsepositives.is_empty()),
        ("level", meta.level.is_none()),
    ]
    .into_iter()
    .filter_map(|(name, absent)| absent.then_some(name))
    .collect();
    if !missing.is_empty() {
        out.push(
            Diagnostic::warning(
                "sigmahq-fields",
                format!("SigmaHQ requires {}", missing.join(", ")),
            )
            .at(meta
                .title
                .as_ref()
                .map_or(Span::point(doc.document.span().start), |t| t.span)),
        );
    }
}

fn filename(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    if doc.document.index != 0 {
        return;
    }
    let Some(name) = doc.file.path().file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let stem = name.strip_suffix(".yml");
    let valid = stem.is_some_and(|stem| {
        (10..=70).contains(&name.len())
            && stem
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    });
    if !valid {
        out.push(
            Diagnostic::warning(
                "sigmahq-filename",
                format!("file name '{name}' is not 10–70 characters of [a-z0-9_] ending in .yml"),
            )
            .at(Span::point(0)),
        );
    }
}

/// Words that stay lowercase inside a title-case title.
const MINOR_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "over",
    "per", "the", "to", "via", "vs", "with", "without",
];

fn title(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    let Some(title) = doc.document.meta().and_then(|m| m.title.as_ref()) else {
        return;
    };
    let text = title.value.as_str();
    let lowercase_word = text.split_whitespace().enumerate().find(|(i, word)| {
        let starts_lower = word.chars().next().is_some_and(char::is_lowercase);
        // Tokens such as 'cmd.exe', 'rundll32' or '-enc' are names, not words.
        let is_plain_word = word.chars().all(char::is_alphabetic);
        starts_lower && is_plain_word && (*i == 0 || !MINOR_WORDS.contains(word))
    });
    if let Some((_, word)) = lowercase_word {
        out.push(
            Diagnostic::warning(
                "sigmahq-title",
                format!("title is not in title case ('{word}')"),
            )
            .at(title.span),
        );
    }
    if text.ends_with('.') {
        out.push(
            Diagnostic::warning("sigmahq-title", "title ends with a full stop").at(title.span),
        );
    }
    let length = text.chars().count();
    if length > 110 {
        out.push(
            Diagnostic::warning(
                "sigmahq-title",
                format!("title is {length} characters long; SigmaHQ allows 110"),
            )
            .at(title.span),
        );
    }
}

fn indentation(_: &Context<'_>, doc: DocRef<'_>, out: &mut Vec<Diagnostic>) {
    let text = doc.file.source.text();
    let span = doc.document.span();
    let Some(body) = text.get(span.range()) else {
        return;
    };
    // Lines of a block scalar (`description: |`) are free text: skip those indented deeper than
    // the key that opened it.
    let mut block_scalar_indent: Option<usize> = None;
    let mut offset = span.start as usize;
    for line in body.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        let indent = content.len() - content.trim_start_matches(' ').len();
        let rest = &content[indent..];
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        if let Some(opened_at) = block_scalar_indent {
            if indent > opened_at {
                continue;
            }
            block_scalar_indent = None;
        }
        if rest.starts_with('\t') {
            out.push(
                Diagnostic::warning("sigmahq-indentation", "indentation uses a tab")
                    .at(Span::new(start as u32, (start + indent + 1) as u32)),
            );
        } else if indent % 4 != 0 {
            out.push(
                Diagnostic::warning(
                    "sigmahq-indentation",
                    format!("indented by {indent} spaces, not a multiple of 4"),
                )
                .at(Span::new(start as u32, (start + indent) as u32)),
            );
        }
        let trimmed = rest.trim_end();
        let opens_block = ["|", ">", "|-", ">-", "|+", ">+"].iter().any(|marker| {
            trimmed.ends_with(&format!(": {marker}")) || trimmed.ends_with(&format!("- {marker}"))
        });
        if opens_block {
            block_scalar_indent = Some(indent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{Options, Profile};

    fn sigmahq(name: &str, text: &str) -> Vec<(String, String, String)> {
        let options = Options {
            profile: Profile::SigmaHq,
            ..Options::default()
        };
        check_files(&[(name, text)], &options)
    }

    const COMPLETE: &str = "title: Suspicious Mofcomp Execution\nid: 6f1e2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b\nstatus: experimental\ndescription: |\n  Free text\n     indented as it likes.\nreferences:\n    - https://example.org\nauthor: sigrun\ndate: 2026-11-29\ntags:\n    - attack.t1546.003\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    selection:\n        Image|endswith: '\\mofcomp.exe'\n    condition: selection\nfalsepositives:\n    - Unknown\nlevel: medium\n";

    #[test]
    fn a_conforming_rule_passes_and_the_profile_is_opt_in() {
        assert_eq!(sigmahq("proc_creation_win_mofcomp.yml", COMPLETE), vec![]);
        let sloppy = "title: bad title.\nlogsource:\n  product: windows\ndetection:\n  sel:\n    A: b\n  condition: sel\n";
        assert_eq!(check(sloppy), vec![]);
        let findings = sigmahq("Bad-Name.yml", sloppy);
        assert_eq!(
            findings
                .iter()
                .map(|f| (f.0.as_str(), f.1.as_str()))
                .collect::<Vec<_>>(),
            [
                (
                    "sigmahq-filename",
                    "file name 'Bad-Name.yml' is not 10–70 characters of [a-z0-9_] ending in .yml"
                ),
                (
                    "sigmahq-fields",
                    "SigmaHQ requires id, status, description, references, author, date, tags, falsepositives, level"
                ),
                ("sigmahq-title", "title is not in title case ('bad')"),
                ("sigmahq-title", "title ends with a full stop"),
                (
                    "sigmahq-indentation",
                    "indented by 2 spaces, not a multiple of 4"
                ),
                (
                    "sigmahq-indentation",
                    "indented by 2 spaces, not a multiple of 4"
                ),
                (
                    "sigmahq-indentation",
                    "indented by 2 spaces, not a multiple of 4"
                ),
            ]
        );
    }

    #[test]
    fn minor_words_and_names_may_be_lowercase() {
        let text = COMPLETE.replace(
            "Suspicious Mofcomp Execution",
            "Execution of mofcomp.exe via WMI",
        );
        assert_eq!(sigmahq("proc_creation_win_mofcomp.yml", &text), vec![]);
    }
}
