//! Regular expressions across flavours.
//!
//! Sigma regexes are a PCRE subset searched anywhere in the value. RE2 targets (KQL, DuckDB)
//! and PCRE targets (SPL) take them nearly as written, with flags inline. Lucene's RegExp
//! (Lucene and Graylog query strings, EQL `regex`, ES|QL `RLIKE`) is a different language:
//! it always matches the whole value, has no `\d`/`\w`/`\s`, no inline flags, no
//! non-capturing groups, and gives `# @ & < > ~ "` meanings of their own. [`to_lucene`]
//! translates through the regex-syntax AST and refuses what Lucene cannot express.

use regex_syntax::ast::{
    self, Assertion, AssertionKind, Ast, ClassBracketed, ClassPerl, ClassPerlKind, ClassSet,
    ClassSetItem, Flag, FlagsItemKind, GroupKind, RepetitionKind, RepetitionRange,
};
use sigrun_rule::value::RegexFlags;

/// Why a regex has no equivalent in a flavour.
pub type Refusal = String;

/// Checks that a Sigma regex is in the part of PCRE that RE2 supports (no look-around,
/// back-references, possessive quantifiers or atomic groups).
pub fn check_re2(pattern: &str) -> Result<(), Refusal> {
    if sigrun_rule::detection::uses_unsupported_regex_feature(pattern) {
        return Err(
            "it uses look-around, back-references, atomic groups or possessive quantifiers, which RE2 does not support"
                .to_owned(),
        );
    }
    Ok(())
}

/// Characters with a meaning in Lucene RegExp (with all optional operators enabled, as
/// Elasticsearch does by default), which a literal must escape.
const LUCENE_SPECIAL: &str = ".?+*|{}[]()\"\\#@&<>~^$-/";

/// Translates a Sigma regex (unanchored search) into a Lucene RegExp (whole-value match).
pub fn to_lucene(pattern: &str, flags: RegexFlags) -> Result<String, Refusal> {
    check_re2(pattern)?;
    let ast = ast::parse::Parser::new()
        .parse(pattern)
        .map_err(|e| format!("it does not parse: {}", e.kind()))?;
    let mut printer = Printer {
        ignore_case: flags.ignore_case,
        multi_line: flags.multi_line,
        out: String::new(),
    };
    let branches: Vec<&Ast> = match &ast {
        Ast::Alternation(alt) => alt.asts.iter().collect(),
        other => vec![other],
    };
    let several = branches.len() > 1;
    if several {
        printer.out.push('(');
    }
    for (i, branch) in branches.into_iter().enumerate() {
        if i > 0 {
            printer.out.push('|');
        }
        printer.branch(branch)?;
    }
    if several {
        printer.out.push(')');
    }
    Ok(printer.out)
}

struct Printer {
    ignore_case: bool,
    multi_line: bool,
    out: String,
}

fn is_start(ast: &Ast) -> bool {
    matches!(ast, Ast::Assertion(a) if matches!(a.kind, AssertionKind::StartText | AssertionKind::StartLine))
}

fn is_end(ast: &Ast) -> bool {
    matches!(ast, Ast::Assertion(a) if matches!(a.kind, AssertionKind::EndText | AssertionKind::EndLine))
}

impl Printer {
    /// One top-level alternative: leading `^` / trailing `$` become the absence of `.*`.
    fn branch(&mut self, ast: &Ast) -> Result<(), Refusal> {
        let mut items: Vec<&Ast> = match ast {
            Ast::Concat(concat) => concat.asts.iter().collect(),
            other => vec![other],
        };
        // Leading flag groups such as `(?i)` apply before the anchors.
        while let Some(Ast::Flags(set)) = items.first() {
            self.apply_flags(&set.flags)?;
            items.remove(0);
        }
        let anchored_start = items.first().is_some_and(|a| is_start(a));
        if anchored_start {
            items.remove(0);
        }
        let anchored_end = items.last().is_some_and(|a| is_end(a));
        if anchored_end {
            items.pop();
        }
        if (anchored_start || anchored_end) && self.multi_line {
            return Err(
                "with the m flag, ^ and $ match at line breaks, which Lucene cannot express"
                    .to_owned(),
            );
        }
        if !anchored_start {
            self.out.push_str(".*");
        }
        for item in items {
            self.ast(item)?;
        }
        if !anchored_end {
            self.out.push_str(".*");
        }
        Ok(())
    }

    fn apply_flags(&mut self, flags: &ast::Flags) -> Result<(), Refusal> {
        let mut negated = false;
        for item in &flags.items {
            match &item.kind {
                FlagsItemKind::Negation => negated = true,
                FlagsItemKind::Flag(Flag::CaseInsensitive) => self.ignore_case = !negated,
                FlagsItemKind::Flag(Flag::MultiLine) => self.multi_line = !negated,
                // Lucene's `.` matches line breaks anyway, and greed does not change whether
                // a value matches.
                FlagsItemKind::Flag(Flag::DotMatchesNewLine | Flag::SwapGreed | Flag::Unicode) => {}
                FlagsItemKind::Flag(other) => {
                    return Err(format!(
                        "the inline flag {other:?} has no Lucene equivalent"
                    ));
                }
            }
        }
        Ok(())
    }

    fn ast(&mut self, ast: &Ast) -> Result<(), Refusal> {
        match ast {
            Ast::Empty(_) => {}
            Ast::Flags(set) => self.apply_flags(&set.flags)?,
            Ast::Literal(literal) => self.literal(literal.c),
            Ast::Dot(_) => self.out.push('.'),
            Ast::Assertion(assertion) => return Err(assertion_refusal(assertion)),
            Ast::ClassUnicode(_) => {
                return Err("Unicode classes (\\p{..}) have no Lucene equivalent".to_owned());
            }
            Ast::ClassPerl(perl) => self.out.push_str(&perl_class(perl)),
            Ast::ClassBracketed(class) => self.bracketed(class)?,
            Ast::Repetition(rep) => {
                self.group_if_needed(&rep.ast)?;
                match &rep.op.kind {
                    RepetitionKind::ZeroOrOne => self.out.push('?'),
                    RepetitionKind::ZeroOrMore => self.out.push('*'),
                    RepetitionKind::OneOrMore => self.out.push('+'),
                    RepetitionKind::Range(RepetitionRange::Exactly(n)) => {
                        self.out.push_str(&format!("{{{n}}}"))
                    }
                    RepetitionKind::Range(RepetitionRange::AtLeast(n)) => {
                        self.out.push_str(&format!("{{{n},}}"))
                    }
                    RepetitionKind::Range(RepetitionRange::Bounded(m, n)) => {
                        self.out.push_str(&format!("{{{m},{n}}}"))
                    }
                }
            }
            Ast::Group(group) => {
                let saved = (self.ignore_case, self.multi_line);
                if let GroupKind::NonCapturing(flags) = &group.kind {
                    self.apply_flags(flags)?;
                }
                self.out.push('(');
                self.ast(&group.ast)?;
                self.out.push(')');
                (self.ignore_case, self.multi_line) = saved;
            }
            Ast::Alternation(alt) => {
                // Lucene has no empty alternative: `(a|)` is written `(a)?`.
                let branches: Vec<&Ast> = alt
                    .asts
                    .iter()
                    .filter(|a| !matches!(a, Ast::Empty(_)))
                    .collect();
                let optional = branches.len() < alt.asts.len();
                if optional {
                    self.out.push('(');
                }
                for (i, branch) in branches.iter().enumerate() {
                    if i > 0 {
                        self.out.push('|');
                    }
                    self.ast(branch)?;
                }
                if optional {
                    self.out.push_str(")?");
                }
            }
            Ast::Concat(concat) => {
                for item in &concat.asts {
                    self.ast(item)?;
                }
            }
        }
        Ok(())
    }

    /// A repeated operand needs a group unless it is one character, class or group.
    fn group_if_needed(&mut self, ast: &Ast) -> Result<(), Refusal> {
        let single = matches!(
            ast,
            Ast::Literal(_)
                | Ast::Dot(_)
                | Ast::ClassPerl(_)
                | Ast::ClassBracketed(_)
                | Ast::Group(_)
        );
        if single {
            self.ast(ast)
        } else {
            self.out.push('(');
            self.ast(ast)?;
            self.out.push(')');
            Ok(())
        }
    }

    fn literal(&mut self, c: char) {
        if self.ignore_case && has_case(c) {
            self.out.push('[');
            for variant in case_variants(c) {
                push_class_char(&mut self.out, variant);
            }
            self.out.push(']');
        } else {
            push_escaped(&mut self.out, c);
        }
    }

    fn bracketed(&mut self, class: &ClassBracketed) -> Result<(), Refusal> {
        let mut body = String::new();
        self.class_set(&class.kind, class.negated, &mut body)?;
        self.out.push('[');
        if class.negated {
            self.out.push('^');
        }
        self.out.push_str(&body);
        self.out.push(']');
        Ok(())
    }

    fn class_set(&self, set: &ClassSet, negated: bool, out: &mut String) -> Result<(), Refusal> {
        match set {
            ClassSet::BinaryOp(_) => Err(
                "class intersection or difference (&&, --, ~~) has no Lucene equivalent".to_owned(),
            ),
            ClassSet::Item(item) => self.class_item(item, negated, out),
        }
    }

    fn class_item(
        &self,
        item: &ClassSetItem,
        negated: bool,
        out: &mut String,
    ) -> Result<(), Refusal> {
        match item {
            ClassSetItem::Empty(_) => {}
            ClassSetItem::Literal(l) => {
                if self.ignore_case && has_case(l.c) {
                    case_variants(l.c).for_each(|c| push_class_char(out, c));
                } else {
                    push_class_char(out, l.c);
                }
            }
            ClassSetItem::Range(range) => {
                let (start, end) = (range.start.c, range.end.c);
                push_class_char(out, start);
                out.push('-');
                push_class_char(out, end);
                if self.ignore_case {
                    let size = end as u32 - start as u32;
                    if size > 512 {
                        return Err("a case-insensitive character range this wide cannot be written for Lucene".to_owned());
                    }
                    for c in (start..=end).filter(|c| has_case(*c)) {
                        for variant in case_variants(c).filter(|v| !(start..=end).contains(v)) {
                            push_class_char(out, variant);
                        }
                    }
                }
            }
            ClassSetItem::Ascii(_) => {
                return Err("ASCII classes ([:alpha:]) have no Lucene equivalent".to_owned());
            }
            ClassSetItem::Unicode(_) => {
                return Err("Unicode classes (\\p{..}) have no Lucene equivalent".to_owned());
            }
            ClassSetItem::Perl(perl) => {
                if perl.negated {
                    return Err(
                        "a negated class (\\D, \\W, \\S) inside brackets has no Lucene equivalent"
                            .to_owned(),
                    );
                }
                out.push_str(perl_members(&perl.kind));
            }
            ClassSetItem::Bracketed(inner) => {
                if inner.negated {
                    return Err(
                        "a negated class nested in a class has no Lucene equivalent".to_owned()
                    );
                }
                self.class_set(&inner.kind, negated, out)?;
            }
            ClassSetItem::Union(union) => {
                for item in &union.items {
                    self.class_item(item, negated, out)?;
                }
            }
        }
        Ok(())
    }
}

fn assertion_refusal(assertion: &Assertion) -> Refusal {
    match assertion.kind {
        AssertionKind::StartLine
        | AssertionKind::StartText
        | AssertionKind::EndLine
        | AssertionKind::EndText => {
            "^ or $ inside the pattern (not at its start or end) has no Lucene equivalent"
                .to_owned()
        }
        _ => "word boundaries (\\b, \\B) have no Lucene equivalent".to_owned(),
    }
}

/// The members of a perl class, for use inside brackets. `\s` leaves out the vertical tab
/// and form feed, which do not occur in log values and would have to be written raw.
fn perl_members(kind: &ClassPerlKind) -> &'static str {
    match kind {
        ClassPerlKind::Digit => "0-9",
        ClassPerlKind::Space => " \t\n\r",
        ClassPerlKind::Word => "a-zA-Z0-9_",
    }
}

fn perl_class(perl: &ClassPerl) -> String {
    format!(
        "[{}{}]",
        if perl.negated { "^" } else { "" },
        perl_members(&perl.kind)
    )
}

fn has_case(c: char) -> bool {
    c.is_lowercase() || c.is_uppercase()
}

/// The character and its simple case variants (one char each way).
fn case_variants(c: char) -> impl Iterator<Item = char> {
    let mut variants = vec![c];
    let mut single = |mut it: Box<dyn Iterator<Item = char>>| {
        if let (Some(v), None) = (it.next(), it.next())
            && !variants.contains(&v)
        {
            variants.push(v);
        }
    };
    single(Box::new(c.to_lowercase()));
    single(Box::new(c.to_uppercase()));
    variants.into_iter()
}

/// A glob as a Lucene RegExp (whole-value match): text escaped, `*` → `.*`, `?` → `.`.
pub fn glob_to_lucene(globs: &[crate::ir::Glob]) -> String {
    let mut out = String::new();
    for glob in globs {
        match glob {
            crate::ir::Glob::Text(t) => t.chars().for_each(|c| push_escaped(&mut out, c)),
            crate::ir::Glob::Any => out.push_str(".*"),
            crate::ir::Glob::One => out.push('.'),
        }
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    if LUCENE_SPECIAL.contains(c) {
        out.push('\\');
    }
    out.push(c);
}

/// A character inside brackets: everything but letters and digits is escaped, which Lucene
/// accepts and which keeps `]`, `^`, `-` and `\` literal.
fn push_class_char(out: &mut String, c: char) {
    if !c.is_alphanumeric() && !c.is_whitespace() {
        out.push('\\');
    }
    out.push(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lucene(p: &str) -> String {
        to_lucene(p, RegexFlags::default()).unwrap()
    }

    #[test]
    fn anchoring_becomes_dot_star() {
        assert_eq!(lucene("abc"), ".*abc.*");
        assert_eq!(lucene("^abc"), "abc.*");
        assert_eq!(lucene("abc$"), ".*abc");
        assert_eq!(lucene("^a|b$"), "(a.*|.*b)");
    }

    #[test]
    fn perl_classes_groups_and_specials() {
        assert_eq!(lucene(r"^\d+\.exe$"), r"[0-9]+\.exe");
        assert_eq!(lucene(r"(?:ab)+x"), r".*(ab)+x.*");
        assert_eq!(lucene(r"a#b@c<d"), r".*a\#b\@c\<d.*");
        assert_eq!(lucene(r"[\w.-]{2,5}"), r".*[a-zA-Z0-9_\.\-]{2,5}.*");
        assert_eq!(lucene(r"\D"), r".*[^0-9].*");
        assert_eq!(lucene(r"a/b"), r".*a\/b.*");
        assert_eq!(lucene(r"x(\s|)y"), ".*x(([ \t\n\r])?)y.*");
    }

    #[test]
    fn case_insensitivity_is_spelled_out() {
        let flags = RegexFlags {
            ignore_case: true,
            ..Default::default()
        };
        assert_eq!(to_lucene("^ab1$", flags).unwrap(), "[aA][bB]1");
        assert_eq!(to_lucene("^[a-c]$", flags).unwrap(), "[a-cABC]");
        assert_eq!(lucene("^(?i)x$"), "[xX]");
    }

    #[test]
    fn refusals_name_the_construct() {
        assert!(
            to_lucene(r"a\bb", RegexFlags::default())
                .unwrap_err()
                .contains("word boundaries")
        );
        assert!(
            to_lucene(r"a(?=b)", RegexFlags::default())
                .unwrap_err()
                .contains("look-around")
        );
        assert!(
            to_lucene(r"\pL", RegexFlags::default())
                .unwrap_err()
                .contains("Unicode")
        );
        assert!(
            to_lucene(r"a^b", RegexFlags::default())
                .unwrap_err()
                .contains("inside the pattern")
        );
    }
}
