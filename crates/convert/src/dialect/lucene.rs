//! Lucene query strings: Kibana (query_string / "Lucene" syntax) and Graylog.
//!
//! | Sigma | Lucene |
//! | --- | --- |
//! | equals | `F:"v"` (a quoted term; reserved characters escaped as the seed forms do) |
//! | wildcards | `F:*v*` (unquoted: quotes would make `*` literal), reserved characters escaped |
//! | lists | `F:("a" OR "b")` |
//! | re | `F:/lucene regexp/` (translated: whole-value match, no `\d`, no flags) |
//! | cidr | `F:"10.0.0.0/8"` (on an `ip` field) |
//! | comparisons | `F:>5` |
//! | null / exists | `NOT _exists_:F` / `_exists_:F` |
//! | keyword | `*v*` on the default fields |
//!
//! Case: a query string cannot choose case sensitivity; it follows the field's mapping
//! (keyword fields are case-sensitive, text fields analysed). `cased` is therefore reported
//! as a warning, not silently dropped. `fieldref` and time parts have no query-string form.
//!
//! Graylog writes field names with `_` for `.` (Graylog stores dotted names that way).

use sigrun_rule::modifier::CompareOp;

use super::regex::to_lucene;
use super::{Cx, Dialect, NotStyle, Op, Piece, Place, Syntax};
use crate::error::{ConvertError, unsupported};
use crate::ir::{Glob, Pred, Shape, Test};

pub(crate) struct Lucene {
    pub graylog: bool,
}

static SYNTAX: Syntax = Syntax {
    and: " AND ",
    or: " OR ",
    not: NotStyle::Prefix("NOT "),
    open: "(",
    close: ")",
    or_binds_tighter: false,
    wrap_top: true,
    max_chain: None,
    and_or_unordered: true,
};

/// Characters the query-string parser treats as syntax.
const RESERVED: &str = "+-=&|><!(){}[]^\"~*?:\\/";

/// Escapes reserved characters; outside quotes also whitespace.
pub(crate) fn escape(text: &str, quoted: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if RESERVED.contains(c) || (!quoted && c.is_whitespace()) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", escape(text, true))
}

/// A wildcard term: text escaped, `*` and `?` left active.
fn wildcard(globs: &[Glob]) -> String {
    let mut out = String::new();
    for glob in globs {
        match glob {
            Glob::Text(t) => out.push_str(&escape(t, false)),
            Glob::Any => out.push('*'),
            Glob::One => out.push('?'),
        }
    }
    out
}

/// A value term: quoted when it has no wildcard, else an escaped wildcard term.
fn term(shape: &Shape) -> String {
    match shape {
        Shape::Equals(text) => quoted(text),
        other => wildcard(&other.to_globs()),
    }
}

fn compare(op: CompareOp) -> &'static str {
    op.symbol()
}

impl Lucene {
    fn target(&self) -> &'static str {
        if self.graylog { "graylog" } else { "lucene" }
    }

    fn field(&self, name: &str) -> String {
        let name = if self.graylog {
            name.replace('.', "_")
        } else {
            name.to_owned()
        };
        let mut out = String::with_capacity(name.len());
        for c in name.chars() {
            if RESERVED.contains(c) || c.is_whitespace() {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }

    fn warn_cased(&self, cased: bool, field: Option<&str>, cx: &mut Cx) {
        if cased {
            cx.warn(format!(
                "{}: 'cased' on {} cannot be chosen in a query string; case sensitivity follows the field mapping",
                self.target(),
                field.map_or_else(|| "a keyword".to_owned(), |f| format!("field '{f}'"))
            ));
        }
    }
}

impl Dialect for Lucene {
    fn syntax(&self) -> &Syntax {
        &SYNTAX
    }

    fn test(&self, test: &Test, cx: &mut Cx) -> Result<Piece, ConvertError> {
        let target = self.target();
        let name = test.field.as_deref();
        let prefix = name
            .map(|n| format!("{}:", self.field(n)))
            .unwrap_or_default();
        let need_field = |construct: &str| match name {
            Some(n) => Ok(n),
            None => Err(unsupported(
                target,
                construct,
                None,
                "a keyword search can only be a string",
            )),
        };
        Ok(match &test.pred {
            Pred::Str { shape, cased } => {
                self.warn_cased(*cased, name, cx);
                Piece::atom(format!("{prefix}{}", term(shape)))
            }
            Pred::StrAny {
                kind,
                values,
                cased,
            } => {
                self.warn_cased(*cased, name, cx);
                let terms: Vec<String> = values
                    .iter()
                    .map(|v| term(&Shape::of_kind(*kind, v.clone())))
                    .collect();
                match name {
                    Some(_) => Piece::atom(format!("{prefix}({})", terms.join(" OR "))),
                    None => SYNTAX.join(terms.into_iter().map(Piece::atom).collect(), Op::Or),
                }
            }
            Pred::Regex { pattern, flags } => {
                let regex = to_lucene(pattern, *flags)
                    .map_err(|reason| unsupported(target, "regex", name, reason))?;
                // The translation escapes `/`, so the regex cannot end the /.../ term early.
                Piece::atom(format!("{prefix}/{regex}/"))
            }
            Pred::Number { raw, .. } => {
                need_field("number")?;
                Piece::atom(format!("{prefix}{}", quoted(raw)))
            }
            Pred::Bool(b) => {
                need_field("boolean")?;
                Piece::atom(format!("{prefix}{b}"))
            }
            Pred::Null | Pred::Exists(false) => {
                let field = need_field("null")?;
                Piece::new(format!("NOT _exists_:{}", self.field(field)), Op::Not)
            }
            Pred::Exists(true) => {
                let field = need_field("exists")?;
                Piece::atom(format!("_exists_:{}", self.field(field)))
            }
            Pred::Compare { op, value } => {
                need_field("comparison")?;
                Piece::atom(format!("{prefix}{}{value}", compare(*op)))
            }
            Pred::Cidr(net) => {
                need_field("cidr")?;
                Piece::atom(format!("{prefix}{}", quoted(&net.to_string())))
            }
            Pred::TimePart { part, .. } => {
                return Err(unsupported(
                    target,
                    format!("time part '{}'", part.name()),
                    name,
                    "a query string cannot extract part of a date",
                ));
            }
            Pred::FieldRef { .. } => {
                return Err(unsupported(
                    target,
                    "fieldref",
                    name,
                    "a query string cannot compare two fields",
                ));
            }
        })
    }

    fn query(
        &self,
        source: Option<Piece>,
        rule: Piece,
        _pipes: Vec<String>,
        _place: &Place,
    ) -> String {
        let piece = super::and_with_source(&SYNTAX, source, rule);
        if SYNTAX.wrap_top && matches!(piece.op, Op::And | Op::Or) {
            format!("({})", piece.text)
        } else {
            piece.text
        }
    }
}
