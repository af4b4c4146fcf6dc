//! The generic emitter: a query tree written in a dialect, with the fewest parentheses the
//! dialect's precedence allows.

use crate::dialect::{Cx, Dialect, Op, Piece};
use crate::error::{ConvertError, unsupported};
use crate::ir::{Expr, Test};

/// Writes an expression. Constants never reach here ([`Expr::simplify`] removed them).
pub(crate) fn write(
    dialect: &dyn Dialect,
    expr: &Expr,
    cx: &mut Cx,
) -> Result<Piece, ConvertError> {
    write_in(dialect, expr, false, cx)
}

/// Writes an expression; `negated` says that it sits under a `not` (at any depth), where
/// a dialect may have to write tests so that a missing field gives false, not null
/// ([`Dialect::negated_test`]).
fn write_in(
    dialect: &dyn Dialect,
    expr: &Expr,
    negated: bool,
    cx: &mut Cx,
) -> Result<Piece, ConvertError> {
    let syntax = dialect.syntax();
    if let Expr::Test(Test {
        field,
        as_text: Some(form),
        ..
    }) = expr
        && !dialect.writes_text_form(*form)
    {
        return Err(unsupported(
            cx.target,
            "a test on a field stored as another type",
            field.as_deref(),
            format!(
                "the source stores {}, and the language cannot build that text from it",
                form.describe()
            ),
        ));
    }
    match expr {
        Expr::Test(test) if negated => dialect.negated_test(test, cx),
        Expr::Test(test) => dialect.test(test, cx),
        Expr::Not(inner) => Ok(syntax.negate(write_in(dialect, inner, true, cx)?)),
        Expr::And(items) => join(dialect, items, Op::And, negated, cx),
        Expr::Or(items) => join(dialect, items, Op::Or, negated, cx),
        Expr::Const(value) => Err(ConvertError::Rule(format!(
            "internal: constant {value} left in the query tree"
        ))),
    }
}

fn join(
    dialect: &dyn Dialect,
    items: &[Expr],
    op: Op,
    negated: bool,
    cx: &mut Cx,
) -> Result<Piece, ConvertError> {
    let pieces = items
        .iter()
        .map(|item| write_in(dialect, item, negated, cx))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(dialect.syntax().join(pieces, op))
}

/// Writes the rule's expression, moving the top-level `and` terms the dialect can only write
/// as pipeline stages (SPL `| regex`) out of the expression. `None` when every term moved.
pub(crate) fn write_with_pipes(
    dialect: &dyn Dialect,
    expr: &Expr,
    cx: &mut Cx,
) -> Result<(Option<Piece>, Vec<String>), ConvertError> {
    let terms: Vec<&Expr> = match expr {
        Expr::And(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut inline = Vec::with_capacity(terms.len());
    let mut pipes = Vec::new();
    for term in terms {
        let piped = match term {
            Expr::Test(test) => dialect.pipe(test, false, cx),
            Expr::Not(inner) => match inner.as_ref() {
                Expr::Test(test) => dialect.pipe(test, true, cx),
                _ => None,
            },
            _ => None,
        };
        match piped {
            Some(stage) => pipes.push(stage?),
            None => inline.push(write(dialect, term, cx)?),
        }
    }
    let piece = if inline.is_empty() {
        None
    } else {
        Some(dialect.syntax().join(inline, Op::And))
    };
    Ok((piece, pipes))
}
