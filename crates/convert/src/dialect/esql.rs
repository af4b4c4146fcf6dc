//! ES|QL (Elasticsearch Query Language), over ECS documents.
//!
//! | Sigma | ES\|QL |
//! | --- | --- |
//! | equals | `TO_LOWER(F) == "v"` (value lower-cased; `F == "v"` with `cased`) |
//! | wildcards | `TO_LOWER(F) LIKE "*v*"` (`F LIKE` with `cased`; `\\*`, `\\?`, `\\\\` escape) |
//! | lists of equals | `TO_LOWER(F) IN ("a", "b")` |
//! | re | `F RLIKE "lucene regexp"` (translated; `i` spelled out as classes) |
//! | cidr | `CIDR_MATCH(F, "net")` |
//! | null / exists | `F IS NULL` / `F IS NOT NULL` |
//! | time parts | `DATE_EXTRACT("HOUR_OF_DAY", F) == 3` |
//! | not | `NOT COALESCE(x, false)`: a missing field makes a comparison null, and Sigma's `not`
//! |     | over a missing field is true |
//! | keyword | on the keyword field (`message` by default), with a warning |

use sigrun_rule::modifier::TimePart;
use sigrun_rule::value::FieldRefMatch;

use super::regex::to_lucene;
use super::{Cx, Dialect, NotStyle, Op, Piece, Place, Syntax};
use crate::error::{ConvertError, unsupported};
use crate::ir::{Glob, Pred, Shape, ShapeKind, Test};

pub(crate) struct Esql;

const NAME: &str = "esql";

static SYNTAX: Syntax = Syntax {
    and: " AND ",
    or: " OR ",
    not: NotStyle::Wrap("NOT COALESCE(", ", false)"),
    open: "(",
    close: ")",
    or_binds_tighter: false,
    wrap_top: false,
    max_chain: None,
    and_or_unordered: false,
};

// ES|QL quotes strings and backquotes field names as EQL does.
use super::eql::{field, string};

/// A LIKE pattern (before string escaping): `*`, `?` active, literal ones and `\` escaped.
fn like_pattern(globs: &[Glob], lower: bool) -> String {
    let mut out = String::new();
    for glob in globs {
        match glob {
            Glob::Text(t) => {
                let t = if lower { t.to_lowercase() } else { t.clone() };
                for c in t.chars() {
                    if matches!(c, '*' | '?' | '\\') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Glob::Any => out.push('*'),
            Glob::One => out.push('?'),
        }
    }
    out
}

fn shape(name: &str, s: &Shape, cased: bool) -> Piece {
    let f = field(name);
    let subject = if cased { f } else { format!("TO_LOWER({f})") };
    Piece::atom(match s {
        Shape::Equals(text) => {
            let text = if cased {
                text.clone()
            } else {
                text.to_lowercase()
            };
            format!("{subject} == {}", string(&text))
        }
        other => format!(
            "{subject} LIKE {}",
            string(&like_pattern(&other.to_globs(), !cased))
        ),
    })
}

fn date_part(part: TimePart) -> &'static str {
    match part {
        TimePart::Minute => "MINUTE_OF_HOUR",
        TimePart::Hour => "HOUR_OF_DAY",
        TimePart::Day => "DAY_OF_MONTH",
        TimePart::Week => "ALIGNED_WEEK_OF_YEAR",
        TimePart::Month => "MONTH_OF_YEAR",
        TimePart::Year => "YEAR",
    }
}

impl Dialect for Esql {
    fn syntax(&self) -> &Syntax {
        &SYNTAX
    }

    fn test(&self, test: &Test, cx: &mut Cx) -> Result<Piece, ConvertError> {
        let name = super::field_or_keyword_warn(NAME, test, cx)?;
        let f = field(&name);
        Ok(match &test.pred {
            Pred::Str { shape: s, cased } => shape(&name, s, *cased),
            Pred::StrAny {
                kind: ShapeKind::Equals,
                values,
                cased,
            } => {
                let subject = if *cased {
                    f.clone()
                } else {
                    format!("TO_LOWER({f})")
                };
                let values: Vec<String> = values
                    .iter()
                    .map(|v| string(&if *cased { v.clone() } else { v.to_lowercase() }))
                    .collect();
                Piece::atom(format!("{subject} IN ({})", values.join(", ")))
            }
            Pred::StrAny {
                kind,
                values,
                cased,
            } => SYNTAX.join(
                values
                    .iter()
                    .map(|v| shape(&name, &Shape::of_kind(*kind, v.clone()), *cased))
                    .collect(),
                Op::Or,
            ),
            Pred::Regex { pattern, flags } => {
                let regex = to_lucene(pattern, *flags)
                    .map_err(|reason| unsupported(NAME, "regex", Some(&name), reason))?;
                Piece::atom(format!("{f} RLIKE {}", string(&regex)))
            }
            Pred::Number { raw, .. } => Piece::atom(format!("{f} == {raw}")),
            Pred::Bool(b) => Piece::atom(format!("{f} == {b}")),
            Pred::Null | Pred::Exists(false) => Piece::atom(format!("{f} IS NULL")),
            Pred::Exists(true) => Piece::atom(format!("{f} IS NOT NULL")),
            Pred::Compare { op, value } => Piece::atom(format!("{f} {} {value}", op.symbol())),
            Pred::Cidr(net) => {
                Piece::atom(format!("CIDR_MATCH({f}, {})", string(&net.to_string())))
            }
            Pred::TimePart { part, value } => Piece::atom(format!(
                "DATE_EXTRACT({}, {f}) == {value}",
                string(date_part(*part))
            )),
            Pred::FieldRef {
                field: other,
                position,
            } => {
                let (a, b) = (
                    format!("TO_LOWER({f})"),
                    format!("TO_LOWER({})", field(other)),
                );
                Piece::atom(match position {
                    FieldRefMatch::Equals => format!("{a} == {b}"),
                    FieldRefMatch::StartsWith => format!("STARTS_WITH({a}, {b})"),
                    FieldRefMatch::EndsWith => format!("ENDS_WITH({a}, {b})"),
                    FieldRefMatch::Contains => format!("LOCATE({a}, {b}) > 0"),
                })
            }
        })
    }

    fn query(
        &self,
        source: Option<Piece>,
        rule: Piece,
        _pipes: Vec<String>,
        place: &Place,
    ) -> String {
        let index = place.index.as_deref().unwrap_or("*");
        format!(
            "FROM {index}\n| WHERE {}",
            super::and_with_source(&SYNTAX, source, rule).text
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_literal_wildcards_and_backslashes() {
        assert_eq!(
            like_pattern(&[Glob::Any, Glob::Text("C:\\A*b".into())], true),
            "*c:\\\\a\\*b"
        );
    }
}
