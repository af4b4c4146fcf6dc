//! The query tree every target is written from: the rule's condition with search identifiers,
//! `x of` quantifiers, value lists, `all`, `neq`, placeholders and field names already
//! resolved. Only what a query language has to decide is left: how to write each test and
//! where parentheses go.

use ipnet::IpNet;
use sigrun_rule::modifier::{CompareOp, TimePart};
use sigrun_rule::value::{FieldRefMatch, Number, RegexFlags};

/// A boolean expression over tests. `And`/`Or` hold two or more operands after
/// [`Expr::simplify`]; nested operators of the same kind are flattened.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Test(Test),
    /// A test whose outcome is known without looking at the event (a field the source does
    /// not carry). Removed by [`Expr::simplify`] unless the whole expression is constant.
    Const(bool),
}

/// One test on one field, or on every value of the event (`field: None`, a keyword search).
#[derive(Clone, Debug, PartialEq)]
pub struct Test {
    pub field: Option<String>,
    pub pred: Pred,
    /// For a string or regex test on a field the source stores as another type: the text
    /// Sigma's value is compared with, which the dialect builds from the stored value.
    /// `None`: the field's value as stored.
    pub as_text: Option<TextForm>,
}

impl Test {
    /// A test on the stored value of `field` (or on every value, for `None`).
    pub fn new(field: Option<String>, pred: Pred) -> Test {
        Test {
            field,
            pred,
            as_text: None,
        }
    }
}

/// How a field stored as another type is written as the text Sysmon logs (and Sigma rules
/// are written against).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextForm {
    /// An integer as `0x` and lower-case hex digits, no leading zeros (999 → `0x3e7`).
    Hex,
    /// A UTC datetime as `yyyy-MM-dd HH:mm:ss.fff` (`2023-03-15 12:34:56.789`).
    SysmonTime,
}

impl TextForm {
    /// What the form is, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            TextForm::Hex => "an integer (Sysmon logs it as hex text, '0x3e7')",
            TextForm::SysmonTime => "a datetime (Sysmon logs it as 'yyyy-MM-dd HH:mm:ss.fff')",
        }
    }
}

/// What a test checks.
#[derive(Clone, Debug, PartialEq)]
pub enum Pred {
    /// A string match; case-insensitive unless `cased`.
    Str {
        shape: Shape,
        cased: bool,
    },
    /// Any of several strings of the same kind (the values of one list, or ORed tests on one
    /// field), case-insensitive unless `cased`. Targets with a list form (`in~`, `IN`,
    /// `field : (...)`) use it; the others write one test per value.
    StrAny {
        kind: ShapeKind,
        values: Vec<String>,
        cased: bool,
    },
    /// An unanchored regular expression search.
    Regex {
        pattern: String,
        flags: RegexFlags,
    },
    /// Numeric (or textual, for string fields) equality.
    Number {
        value: Number,
        raw: String,
    },
    Bool(bool),
    /// The field is absent or empty.
    Null,
    Compare {
        op: CompareOp,
        value: Number,
    },
    TimePart {
        part: TimePart,
        value: i64,
    },
    Cidr(IpNet),
    /// The field is present (`true`) or absent (`false`).
    Exists(bool),
    /// Compared with another field of the same event (already mapped).
    FieldRef {
        field: String,
        position: FieldRefMatch,
    },
}

/// A Sigma wildcard string sorted into the forms every language has an operator for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    Equals(String),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    /// Wildcards anywhere else (`a*b`, `?`): the general glob.
    Glob(Vec<Glob>),
}

/// The kind of a [`Shape`] without its text (for lists).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShapeKind {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
}

/// A piece of a general glob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Glob {
    Text(String),
    /// `*`
    Any,
    /// `?`
    One,
}

impl Shape {
    /// Sorts glob pieces into a shape: `x`, `*x*`, `x*`, `*x` get their own operator; a lone
    /// `*` stays a glob (it means "any value, the empty one included").
    pub fn from_globs(globs: Vec<Glob>) -> Shape {
        match globs.as_slice() {
            [] => Shape::Equals(String::new()),
            [Glob::Text(t)] => Shape::Equals(t.clone()),
            [Glob::Any, Glob::Text(t), Glob::Any] => Shape::Contains(t.clone()),
            [Glob::Text(t), Glob::Any] => Shape::StartsWith(t.clone()),
            [Glob::Any, Glob::Text(t)] => Shape::EndsWith(t.clone()),
            _ => Shape::Glob(globs),
        }
    }

    /// The kind and text of a non-glob shape.
    pub fn kind(&self) -> Option<(ShapeKind, &str)> {
        match self {
            Shape::Equals(t) => Some((ShapeKind::Equals, t)),
            Shape::Contains(t) => Some((ShapeKind::Contains, t)),
            Shape::StartsWith(t) => Some((ShapeKind::StartsWith, t)),
            Shape::EndsWith(t) => Some((ShapeKind::EndsWith, t)),
            Shape::Glob(_) => None,
        }
    }

    /// The shape of `kind` around `text`.
    pub fn of_kind(kind: ShapeKind, text: String) -> Shape {
        match kind {
            ShapeKind::Equals => Shape::Equals(text),
            ShapeKind::Contains => Shape::Contains(text),
            ShapeKind::StartsWith => Shape::StartsWith(text),
            ShapeKind::EndsWith => Shape::EndsWith(text),
        }
    }

    /// The shape as glob pieces (for targets that only have a wildcard operator).
    pub fn to_globs(&self) -> Vec<Glob> {
        let text = |t: &str| {
            if t.is_empty() {
                None
            } else {
                Some(Glob::Text(t.to_owned()))
            }
        };
        match self {
            Shape::Equals(t) => text(t).into_iter().collect(),
            Shape::Contains(t) => {
                let mut v = vec![Glob::Any];
                v.extend(text(t));
                v.push(Glob::Any);
                v
            }
            Shape::StartsWith(t) => text(t).into_iter().chain([Glob::Any]).collect(),
            Shape::EndsWith(t) => [Glob::Any].into_iter().chain(text(t)).collect(),
            Shape::Glob(g) => g.clone(),
        }
    }
}

impl Expr {
    pub fn and(items: Vec<Expr>) -> Expr {
        Expr::And(items)
    }

    pub fn or(items: Vec<Expr>) -> Expr {
        Expr::Or(items)
    }

    #[allow(clippy::should_implement_trait)]
    pub fn not(inner: Expr) -> Expr {
        Expr::Not(Box::new(inner))
    }

    /// Folds constants, flattens nested `and`/`or`, removes double negation and unwraps
    /// one-operand operators. The result is either a single [`Expr::Const`] or contains none.
    pub fn simplify(self) -> Expr {
        match self {
            Expr::Test(_) | Expr::Const(_) => self,
            Expr::Not(inner) => match inner.simplify() {
                Expr::Const(b) => Expr::Const(!b),
                Expr::Not(inner) => *inner,
                other => Expr::Not(Box::new(other)),
            },
            Expr::And(items) => Self::fold(items, true),
            Expr::Or(items) => Self::fold(items, false),
        }
    }

    /// `and` (`is_and`) or `or` of simplified operands: the neutral constant is dropped, the
    /// absorbing one wins, same-kind operands are flattened.
    fn fold(items: Vec<Expr>, is_and: bool) -> Expr {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item.simplify() {
                Expr::Const(b) if b == is_and => {}
                Expr::Const(b) => return Expr::Const(b),
                Expr::And(inner) if is_and => out.extend(inner),
                Expr::Or(inner) if !is_and => out.extend(inner),
                other => out.push(other),
            }
        }
        match out.len() {
            0 => Expr::Const(is_and),
            1 => out.pop().unwrap_or(Expr::Const(is_and)),
            _ if is_and => Expr::And(out),
            _ => Expr::Or(out),
        }
    }

    /// Merges ORed string tests of one field, one kind and one case mode into a
    /// [`Pred::StrAny`], keeping the position of the first. Applied after [`Expr::simplify`].
    pub fn group_lists(self) -> Expr {
        match self {
            Expr::And(items) => Expr::And(items.into_iter().map(Expr::group_lists).collect()),
            Expr::Not(inner) => Expr::Not(Box::new(inner.group_lists())),
            Expr::Or(items) => {
                let mut out: Vec<Expr> = Vec::with_capacity(items.len());
                for item in items.into_iter().map(Expr::group_lists) {
                    if let Some(merged) = out.iter_mut().find_map(|e| mergeable(e, &item)) {
                        merged.push(list_value(&item));
                        continue;
                    }
                    out.push(into_list_candidate(item));
                }
                let out: Vec<Expr> = out.into_iter().map(single_value_back).collect();
                if out.len() == 1 {
                    out.into_iter().next().unwrap_or(Expr::Const(false))
                } else {
                    Expr::Or(out)
                }
            }
            other => other,
        }
    }
}

/// A string test that could start a list: `Str` with a non-glob shape becomes a one-value
/// `StrAny`, so that later tests of the same kind can join it.
fn into_list_candidate(item: Expr) -> Expr {
    match item {
        Expr::Test(Test {
            field,
            pred: Pred::Str { shape, cased },
            as_text,
        }) => match shape.kind() {
            Some((kind, text)) => Expr::Test(Test {
                field,
                pred: Pred::StrAny {
                    kind,
                    values: vec![text.to_owned()],
                    cased,
                },
                as_text,
            }),
            None => Expr::Test(Test {
                field,
                pred: Pred::Str { shape, cased },
                as_text,
            }),
        },
        other => other,
    }
}

/// A one-value list that found no partner goes back to a plain test.
fn single_value_back(item: Expr) -> Expr {
    match item {
        Expr::Test(Test {
            field,
            pred:
                Pred::StrAny {
                    kind,
                    mut values,
                    cased,
                },
            as_text,
        }) if values.len() == 1 => Expr::Test(Test {
            field,
            pred: Pred::Str {
                shape: Shape::of_kind(kind, values.pop().unwrap_or_default()),
                cased,
            },
            as_text,
        }),
        other => other,
    }
}

/// The value list of `existing` when `item` can join it: same field, kind, case mode and
/// text form.
fn mergeable<'a>(existing: &'a mut Expr, item: &Expr) -> Option<&'a mut Vec<String>> {
    let Expr::Test(Test {
        field,
        pred: Pred::StrAny {
            kind,
            values,
            cased,
        },
        as_text,
    }) = existing
    else {
        return None;
    };
    let Expr::Test(Test {
        field: other_field,
        pred: Pred::Str {
            shape,
            cased: other_cased,
        },
        as_text: other_as_text,
    }) = item
    else {
        return None;
    };
    let (other_kind, _) = shape.kind()?;
    (field == other_field
        && *kind == other_kind
        && cased == other_cased
        && as_text == other_as_text)
        .then_some(values)
}

fn list_value(item: &Expr) -> String {
    match item {
        Expr::Test(Test {
            pred: Pred::Str { shape, .. },
            ..
        }) => shape.kind().map(|(_, t)| t.to_owned()).unwrap_or_default(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq(field: &str, value: &str) -> Expr {
        Expr::Test(Test::new(
            Some(field.into()),
            Pred::Str {
                shape: Shape::Equals(value.into()),
                cased: false,
            },
        ))
    }

    #[test]
    fn shapes_from_globs() {
        let t = |s: &str| Glob::Text(s.into());
        assert_eq!(Shape::from_globs(vec![t("a")]), Shape::Equals("a".into()));
        assert_eq!(
            Shape::from_globs(vec![Glob::Any, t("a"), Glob::Any]),
            Shape::Contains("a".into())
        );
        assert_eq!(
            Shape::from_globs(vec![t("a"), Glob::Any]),
            Shape::StartsWith("a".into())
        );
        assert_eq!(
            Shape::from_globs(vec![Glob::Any, t("a")]),
            Shape::EndsWith("a".into())
        );
        assert_eq!(
            Shape::from_globs(vec![Glob::Any]),
            Shape::Glob(vec![Glob::Any])
        );
        assert_eq!(
            Shape::from_globs(vec![t("a"), Glob::One]),
            Shape::Glob(vec![t("a"), Glob::One])
        );
        assert_eq!(Shape::from_globs(vec![]), Shape::Equals(String::new()));
    }

    #[test]
    fn simplify_folds_constants_and_flattens() {
        let e = Expr::and(vec![
            Expr::Const(true),
            Expr::and(vec![eq("a", "1"), eq("b", "2")]),
            Expr::not(Expr::not(eq("c", "3"))),
        ]);
        assert_eq!(
            e.simplify(),
            Expr::and(vec![eq("a", "1"), eq("b", "2"), eq("c", "3")])
        );
        assert_eq!(
            Expr::or(vec![eq("a", "1"), Expr::Const(true)]).simplify(),
            Expr::Const(true)
        );
        assert_eq!(
            Expr::and(vec![eq("a", "1"), Expr::not(Expr::Const(true))]).simplify(),
            Expr::Const(false)
        );
        assert_eq!(
            Expr::or(vec![Expr::Const(false), eq("a", "1")]).simplify(),
            eq("a", "1")
        );
    }

    #[test]
    fn lists_group_by_field_kind_and_case() {
        let e = Expr::or(vec![eq("a", "1"), eq("b", "x"), eq("a", "2")]).group_lists();
        assert_eq!(
            e,
            Expr::or(vec![
                Expr::Test(Test::new(
                    Some("a".into()),
                    Pred::StrAny {
                        kind: ShapeKind::Equals,
                        values: vec!["1".into(), "2".into()],
                        cased: false
                    }
                )),
                eq("b", "x"),
            ])
        );
        // A lone value stays a plain test.
        assert_eq!(
            Expr::or(vec![eq("a", "1"), eq("b", "2")]).group_lists(),
            Expr::or(vec![eq("a", "1"), eq("b", "2")])
        );
    }

    #[test]
    fn lists_keep_text_forms_apart() {
        let hex = |value: &str| {
            let Expr::Test(mut test) = eq("a", value) else {
                unreachable!()
            };
            test.as_text = Some(TextForm::Hex);
            Expr::Test(test)
        };
        // A stored-value test and a text-form test of one field never share a list.
        let e = Expr::or(vec![eq("a", "1"), hex("0x1"), hex("0x2")]).group_lists();
        let Expr::Or(items) = e else {
            panic!("an or: {e:?}")
        };
        assert_eq!(items[0], eq("a", "1"));
        assert_eq!(
            items[1],
            Expr::Test(Test {
                field: Some("a".into()),
                pred: Pred::StrAny {
                    kind: ShapeKind::Equals,
                    values: vec!["0x1".into(), "0x2".into()],
                    cased: false
                },
                as_text: Some(TextForm::Hex),
            })
        );
        assert_eq!(items.len(), 2);
    }
}
