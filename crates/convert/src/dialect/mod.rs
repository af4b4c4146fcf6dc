//! Dialects: what each target language writes for each test, and its boolean syntax.
//!
//! A dialect is a [`Syntax`] table (operators, precedence, negation form) plus a writer for
//! single tests ([`Dialect::test`]) and for the final query around the expression
//! ([`Dialect::query`]). The generic emitter ([`crate::emit`]) walks the tree, asks the
//! dialect for each test and places parentheses from the table, so no dialect deals with
//! precedence.

pub(crate) mod eql;
pub(crate) mod esql;
pub(crate) mod kusto;
pub(crate) mod lucene;
pub(crate) mod regex;
pub(crate) mod splunk;
pub(crate) mod sql;

use crate::error::{ConvertError, unsupported};
use crate::ir::{Glob, Test, TextForm};

/// The operator a written piece ends up as at its top, which decides whether it needs
/// parentheses where it is placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Or,
    And,
    Not,
    /// A term, a function call, a parenthesised group: never needs parentheses.
    Atom,
}

/// A written piece of a query with its top operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub op: Op,
}

impl Piece {
    pub fn atom(text: impl Into<String>) -> Piece {
        Piece {
            text: text.into(),
            op: Op::Atom,
        }
    }

    pub fn new(text: impl Into<String>, op: Op) -> Piece {
        Piece {
            text: text.into(),
            op,
        }
    }
}

/// How a language negates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotStyle {
    /// A prefix operator binding tighter than `and`/`or` (`NOT x`).
    Prefix(&'static str),
    /// A function-like wrapper around its operand (`not(x)`, `NOT coalesce(x, FALSE)`),
    /// which therefore needs no parentheses of its own.
    Wrap(&'static str, &'static str),
}

/// The boolean part of a language: the table the generic emitter works from.
#[derive(Clone, Copy, Debug)]
pub struct Syntax {
    pub and: &'static str,
    pub or: &'static str,
    pub not: NotStyle,
    pub open: &'static str,
    pub close: &'static str,
    /// SPL evaluates `OR` before (implicit or explicit) `AND`: `a OR b c` is `(a OR b) c`.
    pub or_binds_tighter: bool,
    /// Wrap a top-level `and`/`or` in parentheses, for query strings that UIs paste into
    /// larger queries (Kibana, Graylog).
    pub wrap_top: bool,
    /// Longest run of operands joined without parentheses. KQL parses `a or b or c ...` as a
    /// left-deep tree and refuses trees deeper than a few hundred levels, so long lists are
    /// split into parenthesised groups (depth grows with the square root of the length).
    pub max_chain: Option<usize>,
    /// The parser gives AND and OR no precedence over each other (Lucene's classic query
    /// parser, which Kibana's and Graylog's query strings use, reads `a AND b OR c` as
    /// `+a +b c`, in which `c` is optional), and a `NOT` joined by OR only excludes (`a OR
    /// NOT b` is `a` without `b`). An AND under OR and a NOT under OR are therefore
    /// parenthesised; a group of only `NOT` terms matches all other documents in
    /// Elasticsearch's query_string.
    pub and_or_unordered: bool,
}

impl Syntax {
    /// Binding strength: higher binds tighter.
    pub fn level(&self, op: Op) -> u8 {
        match (op, self.or_binds_tighter) {
            (Op::Or, false) | (Op::And, true) => 1,
            (Op::And, false) | (Op::Or, true) => 2,
            (Op::Not, _) => 3,
            (Op::Atom, _) => 4,
        }
    }

    /// `piece` as an operand of `parent`: parenthesised when it binds more loosely.
    pub fn operand(&self, piece: Piece, parent: Op) -> String {
        let unordered =
            self.and_or_unordered && parent == Op::Or && matches!(piece.op, Op::And | Op::Not);
        if unordered || self.level(piece.op) < self.level(parent) {
            format!("{}{}{}", self.open, piece.text, self.close)
        } else {
            piece.text
        }
    }

    /// Pieces joined by `and` or `or`.
    pub fn join(&self, mut pieces: Vec<Piece>, op: Op) -> Piece {
        if pieces.len() == 1 {
            return pieces.into_iter().next().unwrap_or_else(|| Piece::atom(""));
        }
        if let Some(max) = self.max_chain.filter(|&max| max >= 2 && pieces.len() > max) {
            let group = (pieces.len() as f64).sqrt().ceil().max(2.0) as usize;
            let group = group.min(max);
            let mut grouped = Vec::with_capacity(pieces.len().div_ceil(group));
            while !pieces.is_empty() {
                let rest = pieces.split_off(group.min(pieces.len()));
                let chunk = std::mem::replace(&mut pieces, rest);
                let joined = self.join(chunk, op);
                grouped.push(Piece::atom(format!(
                    "{}{}{}",
                    self.open, joined.text, self.close
                )));
            }
            return self.join(grouped, op);
        }
        let separator = if op == Op::And { self.and } else { self.or };
        let parts: Vec<String> = pieces.into_iter().map(|p| self.operand(p, op)).collect();
        Piece::new(parts.join(separator), op)
    }

    pub fn negate(&self, piece: Piece) -> Piece {
        match self.not {
            // `NOT NOT x` is not valid everywhere (Lucene refuses it): the inner negation is
            // parenthesised.
            NotStyle::Prefix(token) if piece.op == Op::Not => Piece::new(
                format!("{token}{}{}{}", self.open, piece.text, self.close),
                Op::Not,
            ),
            NotStyle::Prefix(token) => {
                Piece::new(format!("{token}{}", self.operand(piece, Op::Not)), Op::Not)
            }
            NotStyle::Wrap(open, close) => Piece::atom(format!("{open}{}{close}", piece.text)),
        }
    }
}

/// Where the query runs: from the pipeline source's `target:` and the options.
#[derive(Clone, Debug, Default)]
pub struct Place {
    pub table: Option<String>,
    pub index: Option<String>,
    pub sourcetype: Option<String>,
    pub source: Option<String>,
}

/// What a dialect may consult and report while writing tests.
#[derive(Debug, Default)]
pub struct Cx {
    /// The target's name, for errors raised outside a dialect.
    pub target: &'static str,
    /// The table the query runs on, when the pipeline names one (KQL reads `EventData` of
    /// `SecurityEvent` differently from `WindowsEvent`'s).
    pub table: Option<String>,
    /// The field keyword searches go to in languages without a field-less search.
    pub keyword_field: Option<String>,
    pub warnings: Vec<String>,
}

impl Cx {
    pub fn warn(&mut self, message: String) {
        if !self.warnings.contains(&message) {
            self.warnings.push(message);
        }
    }
}

/// One target language.
pub trait Dialect: Sync {
    fn syntax(&self) -> &Syntax;

    /// Writes one test.
    fn test(&self, test: &Test, cx: &mut Cx) -> Result<Piece, ConvertError>;

    /// Whether [`Dialect::test`] can write the text Sysmon logs for a field the source stores
    /// as another type ([`Test::as_text`]). The emitter refuses such tests where it cannot,
    /// so a dialect that ignores `as_text` never compares the wrong thing.
    fn writes_text_form(&self, _form: TextForm) -> bool {
        false
    }

    /// Writes one test that sits under a `not`. Languages whose comparisons with a missing
    /// field are null, and whose `not null` is null (not true, as Sigma's `not` over a missing
    /// field is), write the test so that it is false there; the others write it as usual.
    fn negated_test(&self, test: &Test, cx: &mut Cx) -> Result<Piece, ConvertError> {
        self.test(test, cx)
    }

    /// A test the language can only write as a pipeline stage after the search (SPL's
    /// `| regex`), when the test is a top-level `and` term. `None` for tests written inline.
    fn pipe(
        &self,
        _test: &Test,
        _negated: bool,
        _cx: &mut Cx,
    ) -> Option<Result<String, ConvertError>> {
        None
    }

    /// The whole query: the source's selection (if any), the rule's expression and any
    /// pipeline stages.
    fn query(
        &self,
        source: Option<Piece>,
        rule: Piece,
        pipes: Vec<String>,
        place: &Place,
    ) -> String;
}

/// The rule and the source selection ANDed in one expression (most languages).
pub(crate) fn and_with_source(syntax: &Syntax, source: Option<Piece>, rule: Piece) -> Piece {
    match source {
        Some(source) => syntax.join(vec![source, rule], Op::And),
        None => rule,
    }
}

/// The error for a keyword search in a language without one, unless a keyword field is set.
pub(crate) fn keyword_unsupported(target: &'static str) -> ConvertError {
    unsupported(
        target,
        "keyword search",
        None,
        "the language has no search over every field; set a keyword field (the field that holds the whole event text) to search there",
    )
}

/// The field a test is on, or the keyword field; `Err` when there is neither.
pub(crate) fn field_or_keyword<'t>(
    target: &'static str,
    test: &'t Test,
    cx: &'t Cx,
) -> Result<&'t str, ConvertError> {
    match (&test.field, &cx.keyword_field) {
        (Some(field), _) => Ok(field),
        (None, Some(keyword)) => Ok(keyword),
        (None, None) => Err(keyword_unsupported(target)),
    }
}

/// Like [`field_or_keyword`], warning when the keyword field stands in for a keyword search.
pub(crate) fn field_or_keyword_warn(
    target: &'static str,
    test: &Test,
    cx: &mut Cx,
) -> Result<String, ConvertError> {
    let name = field_or_keyword(target, test, cx)?.to_owned();
    if test.field.is_none() {
        cx.warn(format!(
            "{target}: keyword search written as a search of the field '{name}'"
        ));
    }
    Ok(name)
}

/// Glob pieces as a regular expression (RE2/PCRE syntax) matching the whole value.
pub(crate) fn glob_to_regex(globs: &[Glob]) -> String {
    let mut out = String::from("^");
    for glob in globs {
        match glob {
            Glob::Text(t) => out.push_str(&regex_escape(t)),
            Glob::Any => out.push_str(".*"),
            Glob::One => out.push('.'),
        }
    }
    out.push('$');
    out
}

/// Escapes regex meta characters (the set RE2, PCRE and Rust agree on).
pub(crate) fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Inline flags for PCRE/RE2-style regexes: `(?i)`, `(?m)`, `(?s)` in front.
pub(crate) fn inline_flags(pattern: &str, flags: sigrun_rule::value::RegexFlags) -> String {
    let letters = flags.letters();
    if letters.is_empty() {
        pattern.to_owned()
    } else {
        format!("(?{letters}){pattern}")
    }
}
