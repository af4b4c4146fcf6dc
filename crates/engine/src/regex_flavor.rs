//! Sigma's regex flavour on Rust's regex engine.
//!
//! Sigma specifies its regexes as a PCRE subset, and the engines that run them in SIEMs agree
//! that the Perl classes `\w`, `\d` and `\s` are ASCII classes: PCRE without `(*UCP)`
//! (Splunk), RE2 (Kusto, DuckDB). Rust's regex makes them Unicode classes by default, which
//! matches more (`\w` takes `é` and thousands of other letters) and costs far more to build:
//! `\w{1,64}` alone compiles to tens of thousands of NFA states, 25 ms of a whole hunt's
//! start. So every Perl class is rewritten as its ASCII class before the regex is built;
//! everything else (case folding with `(?i)`, `.`, Unicode literals) stays as it is.

use regex_syntax::ast::parse::Parser;
use regex_syntax::ast::print::Printer;
use regex_syntax::ast::{
    Ast, ClassAscii, ClassAsciiKind, ClassBracketed, ClassPerl, ClassPerlKind, ClassSet,
    ClassSetItem,
};
use std::borrow::Cow;

/// `pattern` with its Perl classes made ASCII (`\w` is `[0-9A-Za-z_]`, `\d` is `[0-9]`, `\s`
/// is `[\t\n\v\f\r ]`, and their negations likewise); the pattern itself when it has none or
/// does not parse (the regex build then reports the error).
pub fn ascii_perl_classes(pattern: &str) -> Cow<'_, str> {
    // Most patterns have no backslash class at all: skip the parse.
    if !pattern.contains(['\\']) {
        return Cow::Borrowed(pattern);
    }
    let Ok(mut ast) = Parser::new().parse(pattern) else {
        return Cow::Borrowed(pattern);
    };
    if !rewrite(&mut ast) {
        return Cow::Borrowed(pattern);
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    match Printer::new().print(&ast, &mut out) {
        Ok(()) => Cow::Owned(out),
        Err(_) => Cow::Borrowed(pattern),
    }
}

/// Rewrites the Perl classes under `ast`; whether there was one.
fn rewrite(ast: &mut Ast) -> bool {
    match ast {
        Ast::ClassPerl(perl) => {
            // A bracketed class holding the ASCII class: `\w` becomes `[[:word:]]`.
            let item = ClassSetItem::Ascii(ascii(perl));
            *ast = Ast::class_bracketed(ClassBracketed {
                span: perl.span,
                negated: false,
                kind: ClassSet::Item(item),
            });
            true
        }
        Ast::ClassBracketed(class) => rewrite_set(&mut class.kind),
        Ast::Repetition(repetition) => rewrite(&mut repetition.ast),
        Ast::Group(group) => rewrite(&mut group.ast),
        Ast::Alternation(alternation) => rewrite_all(&mut alternation.asts, rewrite),
        Ast::Concat(concat) => rewrite_all(&mut concat.asts, rewrite),
        Ast::Empty(_)
        | Ast::Flags(_)
        | Ast::Literal(_)
        | Ast::Dot(_)
        | Ast::Assertion(_)
        | Ast::ClassUnicode(_) => false,
    }
}

/// Rewrites every one of `items` (none is skipped once one was rewritten); whether any was.
fn rewrite_all<T>(items: &mut [T], rewrite: fn(&mut T) -> bool) -> bool {
    items
        .iter_mut()
        .fold(false, |any, item| rewrite(item) | any)
}

fn rewrite_set(set: &mut ClassSet) -> bool {
    match set {
        ClassSet::Item(item) => rewrite_item(item),
        ClassSet::BinaryOp(op) => rewrite_set(&mut op.lhs) | rewrite_set(&mut op.rhs),
    }
}

fn rewrite_item(item: &mut ClassSetItem) -> bool {
    match item {
        ClassSetItem::Perl(perl) => {
            *item = ClassSetItem::Ascii(ascii(perl));
            true
        }
        ClassSetItem::Bracketed(class) => rewrite_set(&mut class.kind),
        ClassSetItem::Union(union) => rewrite_all(&mut union.items, rewrite_item),
        ClassSetItem::Empty(_)
        | ClassSetItem::Literal(_)
        | ClassSetItem::Range(_)
        | ClassSetItem::Ascii(_)
        | ClassSetItem::Unicode(_) => false,
    }
}

fn ascii(perl: &ClassPerl) -> ClassAscii {
    ClassAscii {
        span: perl.span,
        kind: match perl.kind {
            ClassPerlKind::Digit => ClassAsciiKind::Digit,
            ClassPerlKind::Space => ClassAsciiKind::Space,
            ClassPerlKind::Word => ClassAsciiKind::Word,
        },
        negated: perl.negated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_match(pattern: &str, text: &str) -> bool {
        regex::Regex::new(&ascii_perl_classes(pattern))
            .expect("valid")
            .is_match(text)
    }

    #[test]
    fn perl_classes_become_ascii_classes() {
        assert_eq!(
            ascii_perl_classes(r"-k\s\w{1,64}"),
            r"-k[[:space:]][[:word:]]{1,64}"
        );
        assert_eq!(
            ascii_perl_classes(r"\W\D\S"),
            r"[[:^word:]][[:^digit:]][[:^space:]]"
        );
        assert_eq!(ascii_perl_classes(r"[\w.-]+"), r"[[:word:].-]+");
        assert_eq!(ascii_perl_classes(r"[^\d]"), r"[^[:digit:]]");
        assert_eq!(ascii_perl_classes(r"(?i)a(\d|x)"), r"(?i)a([[:digit:]]|x)");
        assert_eq!(ascii_perl_classes(r"[a-z&&\w]"), r"[a-z&&[:word:]]");
    }

    #[test]
    fn other_patterns_are_kept_as_written() {
        for pattern in [
            r"abc",
            r"a\.b\\c",
            r"\bx\b",
            r"\p{L}+",
            r"[\x41-\x5a]",
            r"(?i)é+",
        ] {
            assert_eq!(ascii_perl_classes(pattern), pattern);
            assert!(matches!(ascii_perl_classes(pattern), Cow::Borrowed(_)));
        }
        // A pattern that does not parse is left to the build, which reports it.
        assert_eq!(ascii_perl_classes(r"\w("), r"\w(");
    }

    #[test]
    fn the_classes_match_ascii_only_as_pcre_and_re2_do() {
        assert!(is_match(r"^\w+$", "cmd_64"));
        assert!(!is_match(r"^\w+$", "café"));
        assert!(is_match(r"^\W$", "é"));
        assert!(is_match(r"^\d+$", "2024"));
        assert!(!is_match(r"^\d$", "٣")); // ARABIC-INDIC DIGIT THREE
        assert!(is_match(r"^\s$", "\u{0b}"));
        assert!(!is_match(r"^\s$", "\u{a0}")); // NO-BREAK SPACE
        // Case folding and other Unicode stay.
        assert!(is_match(r"(?i)^\w+É$", "abé"));
        assert!(is_match(r"^.$", "é"));
    }
}
