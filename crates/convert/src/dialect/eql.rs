//! EQL (Elasticsearch Event Query Language), over ECS documents.
//!
//! | Sigma | EQL |
//! | --- | --- |
//! | strings (any wildcards) | `F : "v*"` — `:` is case-insensitive and takes `*` and `?` |
//! | `cased` | `F == "v"` without wildcards, `F like "v*"` with |
//! | lists | `F : ("a", "b*")`, cased `F in ("a", "b")` / `F like ("a*", "b")` |
//! | re | `F regex "lucene regexp"` (`regex~` with the `i` flag) |
//! | cidr | `cidrMatch(F, "net")` |
//! | null / exists | `F == null` / `F != null` |
//! | fieldref | `startsWith~(F, G)`, `endsWith~`, `stringContains~`; equality has no case-insensitive form |
//! | keyword | on the keyword field (`message` by default), with a warning |
//!
//! EQL wildcard patterns have no escape for a literal `*` or `?`; such values are written as
//! `regex~` (`regex` with `cased`) with the glob spelled as a Lucene RegExp.
//!
//! Missing fields: a comparison with a missing field is null and `not null` is null, so
//! `not F : "x"` would drop the events without `F`, which Sigma's `not` keeps. A test under a
//! `not` is therefore guarded, `not (F != null and F : "x")`: false, not null, without `F`.

use sigrun_rule::value::FieldRefMatch;

use super::regex::{glob_to_lucene, to_lucene};
use super::{Cx, Dialect, NotStyle, Piece, Place, Syntax};
use crate::error::{ConvertError, unsupported};
use crate::ir::{Glob, Pred, Shape, ShapeKind, Test};

pub(crate) struct Eql;

const NAME: &str = "eql";

static SYNTAX: Syntax = Syntax {
    and: " and ",
    or: " or ",
    not: NotStyle::Prefix("not "),
    open: "(",
    close: ")",
    or_binds_tighter: false,
    wrap_top: false,
    max_chain: None,
    and_or_unordered: false,
};

/// An EQL string literal.
pub(crate) fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A field name; names EQL (and ES|QL) would not read as a dotted identifier are backquoted.
pub(super) fn field(name: &str) -> String {
    let plain = name.split('.').all(|segment| {
        let mut chars = segment.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    if plain {
        name.to_owned()
    } else {
        format!("`{}`", name.replace('`', "``"))
    }
}

/// Whether glob text holds a literal `*` or `?`, which EQL wildcard patterns cannot escape.
fn has_literal_wildcard(globs: &[Glob]) -> bool {
    globs
        .iter()
        .any(|g| matches!(g, Glob::Text(t) if t.contains(['*', '?'])))
}

/// A wildcard pattern string (the text must not hold a literal `*` or `?`).
fn pattern(globs: &[Glob]) -> String {
    let mut text = String::new();
    for glob in globs {
        match glob {
            Glob::Text(t) => text.push_str(t),
            Glob::Any => text.push('*'),
            Glob::One => text.push('?'),
        }
    }
    string(&text)
}

fn shape(name: &str, s: &Shape, cased: bool) -> Piece {
    let f = field(name);
    let globs = s.to_globs();
    Piece::atom(match (s, cased) {
        (Shape::Equals(text), true) => format!("{f} == {}", string(text)),
        // A literal `*` or `?`: a regex says exactly what is meant.
        _ if has_literal_wildcard(&globs) => format!(
            "{f} {} {}",
            if cased { "regex" } else { "regex~" },
            string(&glob_to_lucene(&globs))
        ),
        (_, true) => format!("{f} like {}", pattern(&globs)),
        (_, false) => format!("{f} : {}", pattern(&globs)),
    })
}

impl Dialect for Eql {
    fn syntax(&self) -> &Syntax {
        &SYNTAX
    }

    fn test(&self, test: &Test, cx: &mut Cx) -> Result<Piece, ConvertError> {
        let name = super::field_or_keyword_warn(NAME, test, cx)?;
        let f = field(&name);
        Ok(match &test.pred {
            Pred::Str { shape: s, cased } => shape(&name, s, *cased),
            Pred::StrAny {
                kind,
                values,
                cased,
            } => {
                let shapes: Vec<Shape> = values
                    .iter()
                    .map(|v| Shape::of_kind(*kind, v.clone()))
                    .collect();
                if !(*kind == ShapeKind::Equals && *cased)
                    && shapes.iter().any(|s| has_literal_wildcard(&s.to_globs()))
                {
                    SYNTAX.join(
                        shapes.iter().map(|s| shape(&name, s, *cased)).collect(),
                        super::Op::Or,
                    )
                } else {
                    let (operator, patterns) = match (kind, cased) {
                        (ShapeKind::Equals, true) => {
                            ("in", values.iter().map(|v| string(v)).collect::<Vec<_>>())
                        }
                        (_, cased) => (
                            if *cased { "like" } else { ":" },
                            shapes.iter().map(|s| pattern(&s.to_globs())).collect(),
                        ),
                    };
                    Piece::atom(format!("{f} {operator} ({})", patterns.join(", ")))
                }
            }
            Pred::Regex { pattern, flags } => {
                let regex = to_lucene(
                    pattern,
                    sigrun_rule::value::RegexFlags {
                        ignore_case: false,
                        ..*flags
                    },
                )
                .map_err(|reason| unsupported(NAME, "regex", Some(&name), reason))?;
                let operator = if flags.ignore_case { "regex~" } else { "regex" };
                Piece::atom(format!("{f} {operator} {}", string(&regex)))
            }
            Pred::Number { raw, .. } => Piece::atom(format!("{f} == {raw}")),
            Pred::Bool(b) => Piece::atom(format!("{f} == {b}")),
            Pred::Null | Pred::Exists(false) => Piece::atom(format!("{f} == null")),
            Pred::Exists(true) => Piece::atom(format!("{f} != null")),
            Pred::Compare { op, value } => Piece::atom(format!("{f} {} {value}", op.symbol())),
            Pred::Cidr(net) => Piece::atom(format!("cidrMatch({f}, {})", string(&net.to_string()))),
            Pred::TimePart { part, .. } => {
                return Err(unsupported(
                    NAME,
                    format!("time part '{}'", part.name()),
                    Some(&name),
                    "EQL has no date-part function",
                ));
            }
            Pred::FieldRef {
                field: other,
                position,
            } => {
                let function = match position {
                    FieldRefMatch::Equals => {
                        return Err(unsupported(
                            NAME,
                            "fieldref",
                            Some(&name),
                            "EQL compares two fields only case-sensitively (==), and Sigma compares case-insensitively",
                        ));
                    }
                    FieldRefMatch::StartsWith => "startsWith~",
                    FieldRefMatch::EndsWith => "endsWith~",
                    FieldRefMatch::Contains => "stringContains~",
                };
                Piece::atom(format!("{function}({f}, {})", field(other)))
            }
        })
    }

    fn negated_test(&self, test: &Test, cx: &mut Cx) -> Result<Piece, ConvertError> {
        let piece = self.test(test, cx)?;
        // The field, or the keyword field a keyword search is written on.
        let name = super::field_or_keyword(NAME, test, cx)?;
        let mut pieces = vec![Piece::atom(format!("{} != null", field(name)))];
        match &test.pred {
            // Two-valued already: `F == null`, `F != null`.
            Pred::Null | Pred::Exists(_) => return Ok(piece),
            Pred::FieldRef { field: other, .. } => {
                pieces.push(Piece::atom(format!("{} != null", field(other))));
            }
            _ => {}
        }
        pieces.push(piece);
        Ok(SYNTAX.join(pieces, super::Op::And))
    }

    fn query(
        &self,
        source: Option<Piece>,
        rule: Piece,
        _pipes: Vec<String>,
        _place: &Place,
    ) -> String {
        format!(
            "any where {}",
            super::and_with_source(&SYNTAX, source, rule).text
        )
    }
}
