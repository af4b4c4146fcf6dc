//! SPL (Splunk search).
//!
//! | Sigma | SPL |
//! | --- | --- |
//! | strings | `F="*v*"` (case-insensitive; `*` is the only wildcard) |
//! | `cased` | `F=CASE("v")` |
//! | lists | `F IN ("a", "b*")` |
//! | re | `\| regex F="..."` / `\| regex F!="..."` after the search (top-level `and` terms only) |
//! | fieldref | `\| where lower('F')=lower('G')` after the search (top-level `and` terms only; not `contains`) |
//! | cidr | `F="10.0.0.0/8"` |
//! | null / exists | `NOT F=*` / `F=*` |
//! | keyword | `"*v*"` (raw text) |
//!
//! Precedence: SPL evaluates `OR` before `AND` (implicit or explicit), so `(a OR b) AND c`
//! is written `a OR b c` and `(a AND b) OR c` needs its parentheses: the [`Syntax`] table
//! says so and the generic emitter places them. SPL search has no escape for a literal `*`
//! and no single-character wildcard; values with either are refused.

use sigrun_rule::value::FieldRefMatch;

use super::{
    Cx, Dialect, NotStyle, Op, Piece, Place, Syntax, glob_to_regex, inline_flags, regex_escape,
};
use crate::error::{ConvertError, unsupported};
use crate::ir::{Glob, Pred, Shape, ShapeKind, Test};

pub(crate) struct Splunk;

const NAME: &str = "splunk";

static SYNTAX: Syntax = Syntax {
    and: " ",
    or: " OR ",
    not: NotStyle::Prefix("NOT "),
    open: "(",
    close: ")",
    or_binds_tighter: true,
    wrap_top: false,
    max_chain: None,
    and_or_unordered: false,
};

/// An SPL quoted string: `\` and `"` escaped.
fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '\\' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A field name; names with characters SPL would split on are single-quoted.
fn field(name: &str) -> String {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | ':'))
        && !name.is_empty()
    {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', "\\'"))
    }
}

/// A value string with `*` active; `Err` for `?` and for a literal `*`.
fn pattern(globs: &[Glob], name: Option<&str>) -> Result<String, ConvertError> {
    let mut text = String::new();
    for glob in globs {
        match glob {
            Glob::Text(t) if t.contains('*') => {
                return Err(unsupported(
                    NAME,
                    "literal '*'",
                    name,
                    "SPL search has no escape for '*' in a value",
                ));
            }
            Glob::Text(t) => text.push_str(t),
            Glob::Any => text.push('*'),
            Glob::One => {
                return Err(unsupported(
                    NAME,
                    "wildcard '?'",
                    name,
                    "SPL search has no single-character wildcard",
                ));
            }
        }
    }
    Ok(string(&text))
}

/// An eval-expression reference to a field (`'Field Name'`).
fn eval_field(name: &str) -> String {
    format!("'{}'", name.replace('\'', "\\'"))
}

impl Dialect for Splunk {
    fn syntax(&self) -> &Syntax {
        &SYNTAX
    }

    fn test(&self, test: &Test, _cx: &mut Cx) -> Result<Piece, ConvertError> {
        let name = test.field.as_deref();
        let prefix = name.map(|n| format!("{}=", field(n))).unwrap_or_default();
        let only_as_pipe = |construct: &str| {
            unsupported(
                NAME,
                construct,
                name,
                "SPL has it only as a command after the search (| regex, | where), which works for a top-level AND term but not under OR or NOT",
            )
        };
        let need_field = |construct: &str| {
            name.ok_or_else(|| {
                unsupported(
                    NAME,
                    construct,
                    None,
                    "a keyword search can only be a string",
                )
            })
        };
        Ok(match &test.pred {
            Pred::Str { shape, cased } => {
                let value = pattern(&shape.to_globs(), name)?;
                match (cased, name) {
                    (true, Some(_)) => Piece::atom(format!("{prefix}CASE({value})")),
                    (true, None) => Piece::atom(format!("CASE({value})")),
                    (false, _) => Piece::atom(format!("{prefix}{value}")),
                }
            }
            Pred::StrAny {
                kind,
                values,
                cased,
            } => {
                let patterns = values
                    .iter()
                    .map(|v| pattern(&Shape::of_kind(*kind, v.clone()).to_globs(), name))
                    .collect::<Result<Vec<_>, _>>()?;
                match (name, cased) {
                    (Some(n), false) => {
                        Piece::atom(format!("{} IN ({})", field(n), patterns.join(", ")))
                    }
                    _ => SYNTAX.join(
                        patterns
                            .into_iter()
                            .map(|p| {
                                Piece::atom(if *cased {
                                    format!("{prefix}CASE({p})")
                                } else {
                                    format!("{prefix}{p}")
                                })
                            })
                            .collect(),
                        Op::Or,
                    ),
                }
            }
            Pred::Regex { .. } => return Err(only_as_pipe("regex")),
            Pred::FieldRef { .. } => return Err(only_as_pipe("fieldref")),
            Pred::Number { raw, .. } => {
                need_field("number")?;
                Piece::atom(format!("{prefix}{raw}"))
            }
            Pred::Bool(b) => {
                need_field("boolean")?;
                Piece::atom(format!("{prefix}\"{b}\""))
            }
            Pred::Null | Pred::Exists(false) => {
                let n = need_field("null")?;
                Piece::new(format!("NOT {}=*", field(n)), Op::Not)
            }
            Pred::Exists(true) => {
                let n = need_field("exists")?;
                Piece::atom(format!("{}=*", field(n)))
            }
            Pred::Compare { op, value } => {
                let n = need_field("comparison")?;
                Piece::atom(format!("{}{}{value}", field(n), op.symbol()))
            }
            Pred::Cidr(net) => {
                need_field("cidr")?;
                Piece::atom(format!("{prefix}{}", string(&net.to_string())))
            }
            Pred::TimePart { part, .. } => {
                return Err(unsupported(
                    NAME,
                    format!("time part '{}'", part.name()),
                    name,
                    "SPL search cannot extract part of a field's date",
                ));
            }
        })
    }

    fn pipe(
        &self,
        test: &Test,
        negated: bool,
        _cx: &mut Cx,
    ) -> Option<Result<String, ConvertError>> {
        let name = test.field.as_deref()?;
        match &test.pred {
            Pred::Regex { pattern, flags } => Some(Ok(format!(
                "| regex {}{}={}",
                field(name),
                if negated { "!" } else { "" },
                string(&inline_flags(pattern, *flags))
            ))),
            Pred::FieldRef {
                field: other,
                position,
            } => {
                let (a, b) = (
                    format!("lower({})", eval_field(name)),
                    format!("lower({})", eval_field(other)),
                );
                let test = match position {
                    FieldRefMatch::Equals => format!("{a}={b}"),
                    FieldRefMatch::StartsWith => format!("substr({a}, 1, len({b}))={b}"),
                    FieldRefMatch::EndsWith => {
                        format!("substr({a}, len({a})-len({b})+1)={b}")
                    }
                    FieldRefMatch::Contains => {
                        return Some(Err(unsupported(
                            NAME,
                            "fieldref|contains",
                            Some(name),
                            "SPL eval has no substring search for a value taken from another field (like() would treat % and _ in it as wildcards)",
                        )));
                    }
                };
                let test = if negated {
                    format!("NOT ({test})")
                } else {
                    test
                };
                Some(Ok(format!("| where {test}")))
            }
            _ => None,
        }
    }

    fn query(
        &self,
        source: Option<Piece>,
        rule: Piece,
        pipes: Vec<String>,
        place: &Place,
    ) -> String {
        let mut out = String::new();
        if let Some(index) = &place.index {
            out.push_str(&format!("index={} ", string(index)));
        }
        if let Some(sourcetype) = &place.sourcetype {
            out.push_str(&format!("sourcetype={} ", string(sourcetype)));
        }
        if let Some(source) = &place.source {
            out.push_str(&format!("source={} ", string(source)));
        }
        let search = super::and_with_source(&SYNTAX, source, rule);
        // After the place terms (implicitly ANDed), an OR-level search needs no parentheses:
        // SPL's OR binds tighter than AND.
        out.push_str(&search.text);
        for pipe in pipes {
            out.push('\n');
            out.push_str(&pipe);
        }
        out
    }
}

/// SPL `| where` (eval expressions): the fallback for rules the search language cannot
/// express (a literal `*`, the `?` wildcard, a regex or fieldref under OR/NOT). Strings are
/// matched with `match()` on an anchored regex, which says exactly what Sigma means; every
/// field is read through `coalesce()` so that a missing field gives false, not null (eval's
/// null would make `NOT` false too).
pub(crate) struct SplunkWhere;

static WHERE_SYNTAX: Syntax = Syntax {
    and: " AND ",
    or: " OR ",
    not: NotStyle::Prefix("NOT "),
    open: "(",
    close: ")",
    or_binds_tighter: false,
    wrap_top: false,
    max_chain: None,
    and_or_unordered: false,
};

/// A field as a string that is never null.
fn text_of(name: &str) -> String {
    format!("coalesce(tostring({}), \"\")", eval_field(name))
}

/// The regex body of a shape kind around alternatives (already regex-escaped).
fn anchored(kind: ShapeKind, alternatives: &[String]) -> String {
    let body = if alternatives.len() == 1 {
        alternatives[0].clone()
    } else {
        format!("(?:{})", alternatives.join("|"))
    };
    match kind {
        ShapeKind::Equals => format!("^{body}$"),
        ShapeKind::Contains => body,
        ShapeKind::StartsWith => format!("^{body}"),
        ShapeKind::EndsWith => format!("{body}$"),
    }
}

fn matches(subject: &str, regex: &str, cased: bool) -> Piece {
    let regex = if cased {
        regex.to_owned()
    } else {
        format!("(?i){regex}")
    };
    Piece::atom(format!("match({subject}, {})", string(&regex)))
}

impl Dialect for SplunkWhere {
    fn syntax(&self) -> &Syntax {
        &WHERE_SYNTAX
    }

    fn test(&self, test: &Test, _cx: &mut Cx) -> Result<Piece, ConvertError> {
        let name = test.field.as_deref().unwrap_or("_raw");
        let subject = text_of(name);
        let f = eval_field(name);
        Ok(match &test.pred {
            Pred::Str { shape, cased } => {
                let regex = match shape.kind() {
                    Some((kind, text)) => anchored(kind, &[regex_escape(text)]),
                    None => glob_to_regex(&shape.to_globs()),
                };
                matches(&subject, &regex, *cased)
            }
            Pred::StrAny {
                kind,
                values,
                cased,
            } => {
                let escaped: Vec<String> = values.iter().map(|v| regex_escape(v)).collect();
                matches(&subject, &anchored(*kind, &escaped), *cased)
            }
            Pred::Regex { pattern, flags } => Piece::atom(format!(
                "match({subject}, {})",
                string(&inline_flags(pattern, *flags))
            )),
            Pred::Number { raw, .. } => Piece::atom(format!("{subject}={}", string(raw))),
            Pred::Bool(b) => Piece::atom(format!("lower({subject})=\"{b}\"")),
            Pred::Null => Piece::new(format!("isnull({f}) OR {f}=\"\""), Op::Or),
            Pred::Exists(true) => Piece::atom(format!("isnotnull({f})")),
            Pred::Exists(false) => Piece::atom(format!("isnull({f})")),
            Pred::Compare { op, value } => Piece::new(
                format!(
                    "isnotnull(tonumber({f})) AND tonumber({f}){}{value}",
                    op.symbol()
                ),
                Op::And,
            ),
            Pred::Cidr(net) => Piece::atom(format!(
                "cidrmatch({}, {subject})",
                string(&net.to_string())
            )),
            Pred::FieldRef {
                field: other,
                position,
            } => {
                let (a, b) = (
                    format!("lower({subject})"),
                    format!("lower({})", text_of(other)),
                );
                Piece::atom(match position {
                    FieldRefMatch::Equals => format!("{a}={b}"),
                    FieldRefMatch::StartsWith => format!("substr({a}, 1, len({b}))={b}"),
                    FieldRefMatch::EndsWith => format!("substr({a}, len({a})-len({b})+1)={b}"),
                    FieldRefMatch::Contains => {
                        return Err(unsupported(
                            NAME,
                            "fieldref|contains",
                            Some(name),
                            "SPL eval has no substring search for a value taken from another field",
                        ));
                    }
                })
            }
            Pred::TimePart { part, .. } => {
                return Err(unsupported(
                    NAME,
                    format!("time part '{}'", part.name()),
                    Some(name),
                    "the field's date format is unknown, so SPL cannot extract part of it",
                ));
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
        let search = Splunk.query(source, Piece::atom(""), Vec::new(), place);
        let search = search.trim_end();
        let search = if search.is_empty() { "*" } else { search };
        format!("{search}\n| where {}", rule.text)
    }
}
