//! Literals a regex match cannot do without, as hints: when none of them occurs in a value
//! (ignoring case), the regex cannot match it, so the regex only runs on values that hold one.

use crate::text::lower;
use regex_syntax::hir::literal::{ExtractKind, Extractor, Literal, Seq};
use regex_syntax::hir::{Hir, HirKind};
use sigrun_rule::value::RegexFlags;

/// Most literals a hint set may have (beyond that, scanning for them costs more than it saves).
const MAX_LITERALS: usize = 32;

/// Parses the pattern as the regex engine will (so that an unsupported pattern is refused
/// when the rule set is compiled, not when it first runs) and returns lower-cased literals
/// one of which every match contains; empty when there is no useful set (the regex is then
/// always evaluated).
///
/// Every match starts with one of the prefix literals (and ends with one of the suffix
/// literals) of a finite literal sequence, and contains each literal of the top-level
/// concatenation, so each candidate set is a necessary condition; lower-casing keeps it one
/// for the case-insensitive value scans.
pub fn analyze(pattern: &str, flags: RegexFlags) -> Result<Vec<String>, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(flags.ignore_case)
        .multi_line(flags.multi_line)
        .dot_matches_new_line(flags.dot_all)
        .build()
        .parse(pattern)
        .map_err(|error| match error {
            regex_syntax::Error::Parse(e) => e.kind().to_string(),
            regex_syntax::Error::Translate(e) => e.kind().to_string(),
            other => other.to_string(),
        })?;
    Ok(literals_of(&hir))
}

fn literals_of(hir: &Hir) -> Vec<String> {
    let mut best: Vec<String> = Vec::new();
    let mut best_score = f64::INFINITY;
    // A literal every match contains somewhere (the backtick of ``\w+`\w+``).
    let mut inner = Vec::new();
    required_inner(hir, &mut inner);
    if let Some(longest) = inner.iter().max_by_key(|l| l.len()) {
        let seq = Seq::singleton(Literal::inexact(longest.clone()));
        if let Some(literals) = usable(&seq) {
            best_score = score(&literals);
            best = literals;
        }
    }
    for prefix in [true, false] {
        let kind = if prefix {
            ExtractKind::Prefix
        } else {
            ExtractKind::Suffix
        };
        let seq = Extractor::new().kind(kind).extract(hir);
        // The literals themselves, or the part they all share (`abc` for `abc0`..`abc9`).
        let shared = if prefix {
            seq.longest_common_prefix()
        } else {
            seq.longest_common_suffix()
        };
        let shared = shared.map(|bytes| Seq::singleton(Literal::inexact(bytes.to_vec())));
        for candidate in [Some(&seq), shared.as_ref()].into_iter().flatten() {
            let Some(literals) = usable(candidate) else {
                continue;
            };
            let score = score(&literals);
            if score < best_score {
                best_score = score;
                best = literals;
            }
        }
    }
    best
}

/// How often a literal set is expected to be present (lower is better): long literals are
/// rare.
fn score(literals: &[String]) -> f64 {
    literals
        .iter()
        .map(|l| 1.0 / (1.0 + (l.len() * l.len()) as f64))
        .sum()
}

/// Literals that every match contains: those of the top-level concatenation (looking
/// through groups and repetitions of at least one), lower-cased. Neighbouring items that each
/// match one character up to case (`(?i)exe` is three classes, `[Ee][Xx][Ee]`) join into one
/// literal, so that a case-insensitive pattern yields its long words too.
fn required_inner(hir: &Hir, out: &mut Vec<Vec<u8>>) {
    match hir.kind() {
        HirKind::Literal(literal) => out.push(lowered_bytes(&literal.0)),
        HirKind::Concat(items) => {
            let mut run = Vec::new();
            for item in items {
                match folded_text(item) {
                    Some(text) => run.extend(text),
                    None => {
                        if !run.is_empty() {
                            out.push(std::mem::take(&mut run));
                        }
                        required_inner(item, out);
                    }
                }
            }
            if !run.is_empty() {
                out.push(run);
            }
        }
        HirKind::Capture(capture) => required_inner(&capture.sub, out),
        HirKind::Repetition(repetition) if repetition.min >= 1 => {
            required_inner(&repetition.sub, out)
        }
        _ => {}
    }
}

/// The lower-cased text every value the item matches has there (as the engine lowers values,
/// character by character): a literal, or a class whose characters all lower to one character
/// (`[Kk\u{212a}]` is `k`; `[Ss\u{17f}]` is not: `\u{17f}` stays itself).
fn folded_text(hir: &Hir) -> Option<Vec<u8>> {
    match hir.kind() {
        HirKind::Literal(literal) => Some(lowered_bytes(&literal.0)),
        HirKind::Class(regex_syntax::hir::Class::Unicode(class)) => {
            let mut chars = class
                .iter()
                .flat_map(|range| range.start()..=range.end())
                .take(8);
            let first = single_lower(chars.next()?)?;
            let mut count = 1;
            for c in chars {
                count += 1;
                if count > 4 || single_lower(c)? != first {
                    return None;
                }
            }
            Some(first.to_string().into_bytes())
        }
        _ => None,
    }
}

/// The one character `c` lowers to, if it lowers to one.
fn single_lower(c: char) -> Option<char> {
    let mut lowered = c.to_lowercase();
    let first = lowered.next()?;
    lowered.next().is_none().then_some(first)
}

/// Literal bytes lower-cased (bytes that are not UTF-8 are kept: `usable` cuts at them).
fn lowered_bytes(bytes: &[u8]) -> Vec<u8> {
    match std::str::from_utf8(bytes) {
        Ok(text) => lower(text).into_bytes(),
        Err(_) => bytes.to_vec(),
    }
}

/// The sequence as lower-cased, deduplicated, non-empty text literals.
fn usable(seq: &Seq) -> Option<Vec<String>> {
    let literals = seq.literals()?;
    if literals.is_empty() || literals.len() > MAX_LITERALS * 4 {
        return None;
    }
    let mut out: Vec<String> = Vec::with_capacity(literals.len());
    for literal in literals {
        let bytes = literal.as_bytes();
        // A literal cut inside a UTF-8 sequence keeps its valid start (still required).
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).ok()?,
        };
        if text.is_empty() {
            return None;
        }
        out.push(lower(text));
    }
    out.sort();
    out.dedup();
    (out.len() <= MAX_LITERALS).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn required_literals(pattern: &str, flags: RegexFlags) -> Vec<String> {
        analyze(pattern, flags).unwrap_or_default()
    }

    fn flags(ignore_case: bool) -> RegexFlags {
        RegexFlags {
            ignore_case,
            ..RegexFlags::default()
        }
    }

    #[test]
    fn literal_prefixes_and_suffixes() {
        assert_eq!(required_literals("abc[0-9]+", flags(false)), ["abc"]);
        assert_eq!(required_literals("[0-9]+\\.exe$", flags(false)), [".exe"]);
        assert_eq!(
            required_literals("(foo|bar)baz", flags(false)),
            ["barbaz", "foobaz"]
        );
        // Case-insensitive variants fold into one lower-cased literal.
        assert_eq!(required_literals("Abc", flags(true)), ["abc"]);
        assert_eq!(required_literals("(?i)ABC", flags(false)), ["abc"]);
        // A literal inside: every match has the backticks.
        assert_eq!(
            required_literals("\\w+`(?:\\w+|-|.)`[\\w+|\\s]", flags(false)),
            ["`"]
        );
        assert_eq!(
            required_literals("[a-z]+=+abcd[0-9]", flags(false)),
            ["abcd"]
        );
        // Case-insensitive words inside: the longest, lower-cased (cut at `s`, see below).
        assert_eq!(
            required_literals(
                "(?i)\\.exe[\"']?\\s+[^\"]{0,64}werfaultsecure\\.exe[\"']?\\s+\\d{2,10}",
                flags(false)
            ),
            ["ecure.exe"]
        );
        assert_eq!(
            required_literals("[0-9]+(?i:WerFault)[0-9]+", flags(false)),
            ["werfault"]
        );
        // `k` folds with the Kelvin sign, which lowers to `k`: one word.
        assert_eq!(
            required_literals("[0-9]+(?i:kkk)[0-9]", flags(false)),
            ["kkk"]
        );
    }

    #[test]
    fn case_folds_that_lower_apart_break_a_word() {
        // `(?i)s` also matches U+017F, which stays itself when lowered: `xsx` is not in the
        // lowered value "x\u{17f}x", so the word is cut at the `s`.
        let hints = required_literals("[0-9]+(?i:abcsdef)[0-9]", flags(false));
        assert_eq!(hints, ["def"]);
        let value = lower("1ABC\u{17f}DEF2");
        assert!(
            regex::Regex::new("[0-9]+(?i:abcsdef)[0-9]")
                .expect("regex")
                .is_match("1ABC\u{17f}DEF2")
        );
        assert!(hints.iter().any(|h| value.contains(h.as_str())));
    }

    #[test]
    fn no_hint_when_any_value_could_match() {
        assert!(required_literals(".*", flags(false)).is_empty());
        assert!(required_literals("[a-z]+", flags(false)).is_empty());
        assert!(required_literals("a|", flags(false)).is_empty());
        assert!(required_literals("(", flags(false)).is_empty());
        assert!(
            analyze("a(?=b)", flags(false))
                .unwrap_err()
                .contains("look-around")
        );
    }
}
