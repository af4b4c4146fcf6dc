//! Property tests of the condition parser: it never panics, every error points inside the
//! text, and printing any expression and parsing it back gives the same tree, whether it is
//! printed with every parenthesis or with only those the precedence needs.

use proptest::prelude::*;
use sigrun_rule::condition::{ExprKind, Pattern, Quantifier, parse_condition};
use sigrun_rule::{Expr, Span};

/// An expression without spans, for generating and comparing.
#[derive(Clone, Debug, PartialEq)]
enum Tree {
    Id(String),
    Not(Box<Tree>),
    And(Vec<Tree>),
    Or(Vec<Tree>),
    Of(bool, String),
}

fn strip(expr: &Expr) -> Tree {
    match &expr.kind {
        ExprKind::Identifier(name) => Tree::Id(name.clone()),
        ExprKind::Not(inner) => Tree::Not(Box::new(strip(inner))),
        ExprKind::And(items) => flatten(items.iter().map(strip), true),
        ExprKind::Or(items) => flatten(items.iter().map(strip), false),
        ExprKind::Quantified {
            quantifier,
            pattern,
        } => Tree::Of(
            *quantifier == Quantifier::All,
            match pattern {
                Pattern::Them => "them".to_string(),
                Pattern::Glob(glob) => glob.clone(),
            },
        ),
    }
}

/// `a and (b and c)` means the same as `a and b and c`: compare associative operators flat.
fn flatten(items: impl Iterator<Item = Tree>, and: bool) -> Tree {
    let mut out = Vec::new();
    for item in items {
        match item {
            Tree::And(inner) if and => out.extend(inner),
            Tree::Or(inner) if !and => out.extend(inner),
            other => out.push(other),
        }
    }
    if and { Tree::And(out) } else { Tree::Or(out) }
}

fn normalize(tree: Tree) -> Tree {
    match tree {
        Tree::Not(inner) => Tree::Not(Box::new(normalize(*inner))),
        Tree::And(items) => flatten(items.into_iter().map(normalize), true),
        Tree::Or(items) => flatten(items.into_iter().map(normalize), false),
        other => other,
    }
}

/// Binding strength: or < and < not < `x of` and identifiers.
fn strength(tree: &Tree) -> u8 {
    match tree {
        Tree::Or(_) => 1,
        Tree::And(_) => 2,
        Tree::Not(_) => 3,
        Tree::Id(_) | Tree::Of(..) => 4,
    }
}

fn print(tree: &Tree, minimal: bool) -> String {
    let wrap = |child: &Tree, needed: u8| {
        let text = print(child, minimal);
        if !minimal || strength(child) <= needed {
            format!("({text})")
        } else {
            text
        }
    };
    match tree {
        Tree::Id(name) => name.clone(),
        Tree::Of(all, pattern) => format!("{} of {pattern}", if *all { "all" } else { "1" }),
        Tree::Not(inner) => format!("not {}", wrap(inner, 2)),
        Tree::And(items) => items
            .iter()
            .map(|i| wrap(i, 1))
            .collect::<Vec<_>>()
            .join(" and "),
        Tree::Or(items) => items
            .iter()
            .map(|i| wrap(i, 0))
            .collect::<Vec<_>>()
            .join(" or "),
    }
}

fn identifier() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,8}".prop_filter("not a keyword", |s| {
        !matches!(
            s.as_str(),
            "and" | "or" | "not" | "of" | "them" | "all" | "any"
        )
    })
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        identifier().prop_map(Tree::Id),
        (
            any::<bool>(),
            prop_oneof![Just("them".to_string()), "[a-z]{1,5}_\\*"]
        )
            .prop_map(|(all, p)| Tree::Of(all, p)),
    ];
    leaf.prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| Tree::Not(Box::new(t))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Tree::And),
            prop::collection::vec(inner, 2..4).prop_map(Tree::Or),
        ]
    })
}

fn parse(text: &str) -> Result<Tree, String> {
    let span_of = |a: usize, b: usize| Span::new(a as u32, b as u32);
    let mut diagnostics = Vec::new();
    parse_condition(text, &span_of, &mut diagnostics)
        .map(|c| strip(&c.expr))
        .map_err(|d| d.message.clone())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn fully_parenthesized_round_trip(tree in tree()) {
        let text = print(&tree, false);
        prop_assert_eq!(parse(&text), Ok(normalize(tree)), "{}", text);
    }

    #[test]
    fn minimal_parentheses_round_trip(tree in tree()) {
        let text = print(&tree, true);
        prop_assert_eq!(parse(&text), Ok(normalize(tree)), "{}", text);
    }

    #[test]
    fn arbitrary_text_never_panics_and_errors_point_inside(text in "\\PC{0,60}") {
        let span_of = |a: usize, b: usize| Span::new(a as u32, b as u32);
        let mut diagnostics = Vec::new();
        if let Err(error) = parse_condition(&text, &span_of, &mut diagnostics) {
            let span = error.span.expect("condition errors have a span");
            prop_assert!(span.start <= span.end && span.end as usize <= text.len(), "{:?} in {:?}", span, text);
        }
    }

    #[test]
    fn condition_like_text_never_panics(
        words in prop::collection::vec(
            prop_oneof![
                Just("and"), Just("or"), Just("not"), Just("("), Just(")"), Just("1 of"),
                Just("all of"), Just("them"), Just("sel"), Just("sel_*"), Just("|"),
                Just("count() > 3"), Just("x")
            ],
            0..20,
        )
    ) {
        let text = words.join(" ");
        let _ = parse(&text);
    }
}

#[test]
fn precedence_examples() {
    let and = |items: Vec<Tree>| Tree::And(items);
    let id = |s: &str| Tree::Id(s.to_string());
    assert_eq!(
        parse("a or b and not c"),
        Ok(Tree::Or(vec![
            id("a"),
            and(vec![id("b"), Tree::Not(Box::new(id("c")))])
        ]))
    );
    assert_eq!(
        parse("not 1 of sel_* and all of them"),
        Ok(and(vec![
            Tree::Not(Box::new(Tree::Of(false, "sel_*".into()))),
            Tree::Of(true, "them".into())
        ]))
    );
}
