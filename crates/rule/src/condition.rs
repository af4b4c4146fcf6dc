//! The condition language: `selection and not 1 of filter_*`.
//!
//! Precedence from loosest to tightest: `or` < `and` < `not` < `x of` < parentheses. `and` and
//! `or` group to the left (they are associative, so the tree stores them n-ary). Keywords are
//! lowercase in the spec; other spellings are accepted with a warning. The Sigma 1 aggregation
//! suffix (`| count(field) by group > 5`) is parsed into [`Aggregation`] so that old rules still
//! load, with a warning that correlation rules replace it; `near` is a precise error.

use crate::diagnostic::Diagnostic;
use crate::source::Span;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Expr {
    pub kind: ExprKind,
    /// Source span of this sub-expression.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExprKind {
    Identifier(String),
    Not(Box<Expr>),
    /// Two or more operands.
    And(Vec<Expr>),
    /// Two or more operands.
    Or(Vec<Expr>),
    /// `1 of x*`, `any of x*`, `all of x*`, `... of them`.
    Quantified {
        quantifier: Quantifier,
        pattern: Pattern,
    },
}

/// A parsed condition: the boolean expression and, for Sigma 1 rules, an aggregation suffix.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Condition {
    pub expr: Expr,
    pub aggregation: Option<Aggregation>,
    pub span: Span,
}

/// The obsolete Sigma 1 aggregation `| count(field) by group > 5`, kept so that old rules load;
/// nothing evaluates or converts it (correlation rules replace it).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Aggregation {
    pub function: String,
    pub field: Option<String>,
    pub group_by: Option<String>,
    pub operator: String,
    pub threshold: f64,
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Quantifier {
    /// `1 of` / `any of`: OR over the matched identifiers.
    Any,
    /// `all of`: AND over the matched identifiers.
    All,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Pattern {
    /// `them`: every identifier not starting with `_`.
    Them,
    /// An identifier pattern where `*` matches any run of characters.
    Glob(String),
}

impl Pattern {
    /// Whether a search identifier is selected by this pattern.
    pub fn selects(&self, identifier: &str) -> bool {
        match self {
            Pattern::Them => !identifier.starts_with('_'),
            Pattern::Glob(glob) => glob_matches(glob.as_bytes(), identifier.as_bytes()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Pattern::Them => "them",
            Pattern::Glob(glob) => glob,
        }
    }
}

fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob_matches(rest, &text[i..])),
        Some((&c, rest)) => text
            .split_first()
            .is_some_and(|(&t, text_rest)| t == c && glob_matches(rest, text_rest)),
    }
}

impl Expr {
    /// Every identifier and pattern the expression names, in order.
    pub fn references(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        self.collect_references(&mut out);
        out
    }

    fn collect_references<'a>(&'a self, out: &mut Vec<&'a Expr>) {
        match &self.kind {
            ExprKind::Identifier(_) | ExprKind::Quantified { .. } => out.push(self),
            ExprKind::Not(inner) => inner.collect_references(out),
            ExprKind::And(items) | ExprKind::Or(items) => {
                items.iter().for_each(|i| i.collect_references(out))
            }
        }
    }
}

impl std::fmt::Display for Expr {
    /// Prints the expression with the parentheses its structure needs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn write(expr: &Expr, parent: u8, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let (level, text) = match &expr.kind {
                ExprKind::Identifier(name) => return f.write_str(name),
                ExprKind::Quantified {
                    quantifier,
                    pattern,
                } => {
                    let q = match quantifier {
                        Quantifier::Any => "1",
                        Quantifier::All => "all",
                    };
                    return write!(f, "{q} of {}", pattern.as_str());
                }
                ExprKind::Not(inner) => {
                    f.write_str("not ")?;
                    return write(inner, 3, f);
                }
                ExprKind::And(items) => (2, (items, " and ")),
                ExprKind::Or(items) => (1, (items, " or ")),
            };
            let (items, separator) = text;
            if level < parent {
                f.write_str("(")?;
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(separator)?;
                }
                write(item, level + 1, f)?;
            }
            if level < parent {
                f.write_str(")")?;
            }
            Ok(())
        }
        write(self, 0, f)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Open,
    Close,
}

#[derive(Clone, Debug)]
struct Lexed {
    token: Token,
    /// Byte range within the condition text.
    start: usize,
    end: usize,
}

/// Parse results carry the first error; boxed because diagnostics are large and errors rare.
pub type Parsed<T> = Result<T, Box<Diagnostic>>;

fn fail<T>(diagnostic: Diagnostic) -> Parsed<T> {
    Err(Box::new(diagnostic))
}

/// Maps byte ranges of the condition text to source spans.
pub type SpanOf<'a> = &'a dyn Fn(usize, usize) -> Span;

/// Parses a condition. `span_of` maps byte ranges of `text` to source spans. Warnings (such as
/// upper-case keywords or an obsolete aggregation) go to `diagnostics`; the first error ends
/// parsing and is returned.
pub fn parse_condition(
    text: &str,
    span_of: SpanOf<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Parsed<Condition> {
    let (expr_text, aggregation) = match text.find('|') {
        Some(pipe) => {
            let aggregation = parse_aggregation(&text[pipe + 1..], pipe + 1, span_of)?;
            diagnostics.push(
                Diagnostic::warning(
                    "obsolete-aggregation",
                    "aggregation expressions ('| count() by ...') were removed in Sigma 2.0",
                )
                .at(span_of(pipe, text.len()))
                .label("only checked; sigrun neither runs nor converts it")
                .help("express thresholds with a correlation rule (type: event_count)"),
            );
            (&text[..pipe], Some(aggregation))
        }
        None => (text, None),
    };
    let expr = parse_expression(expr_text, span_of, diagnostics)?;
    Ok(Condition {
        expr,
        aggregation,
        span: span_of(0, text.len()),
    })
}

/// `count(field) by group > 5` (the text after `|`); `offset` is its position in the condition.
fn parse_aggregation(text: &str, offset: usize, span_of: SpanOf<'_>) -> Parsed<Aggregation> {
    let span = span_of(offset, offset + text.len());
    let error = |message: &str| -> Box<Diagnostic> {
        Diagnostic::error("condition", format!("invalid aggregation: {message}"))
            .at(span)
            .help("Sigma 1 aggregations read `| count([field]) [by field] <op> number`; Sigma 2 uses correlation rules")
            .into()
    };
    let rest = text.trim_start();
    let open = rest
        .find('(')
        .ok_or_else(|| error("expected a function such as count()"))?;
    let function = rest[..open].trim();
    if !matches!(function, "count" | "min" | "max" | "avg" | "sum") {
        return Err(error(&format!("unknown function '{function}'")));
    }
    let close = rest.find(')').ok_or_else(|| error("missing ')'"))?;
    let field = rest[open + 1..close].trim();
    let mut rest = rest[close + 1..].trim_start();
    let mut group_by = None;
    if let Some(after) = rest.strip_prefix("by ") {
        let after = after.trim_start();
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        group_by = Some(after[..end].to_string());
        rest = after[end..].trim_start();
    }
    let operator = ["<=", ">=", "==", "!=", "<", ">"]
        .into_iter()
        .find(|op| rest.starts_with(op))
        .ok_or_else(|| error("expected a comparison such as '> 10'"))?;
    let threshold = rest[operator.len()..]
        .trim()
        .parse::<f64>()
        .map_err(|_| error("the threshold must be a number and end the condition"))?;
    Ok(Aggregation {
        function: function.to_string(),
        field: (!field.is_empty()).then(|| field.to_string()),
        group_by,
        operator: operator.to_string(),
        threshold,
        span,
    })
}

/// Parses the boolean part of a condition.
pub fn parse_expression(
    text: &str,
    span_of: SpanOf<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Parsed<Expr> {
    let tokens = lex(text, span_of)?;
    if tokens.is_empty() {
        return fail(Diagnostic::error("condition", "empty condition").at(span_of(0, text.len())));
    }
    let mut parser = Parser {
        tokens,
        position: 0,
        span_of,
        text_len: text.len(),
        diagnostics,
        depth: 0,
    };
    let expr = parser.or()?;
    if let Some(extra) = parser.tokens.get(parser.position) {
        let span = span_of(extra.start, extra.end);
        return fail(match &extra.token {
            Token::Close => Diagnostic::error("condition", "unbalanced ')'")
                .at(span)
                .label("no '(' opens this"),
            Token::Word(w) => Diagnostic::error("condition", format!("unexpected '{w}'"))
                .at(span)
                .label("expected 'and', 'or' or the end of the condition"),
            Token::Open => Diagnostic::error("condition", "unexpected '('")
                .at(span)
                .label("expected 'and', 'or' or the end of the condition"),
        });
    }
    Ok(expr)
}

fn lex(text: &str, span_of: SpanOf<'_>) -> Parsed<Vec<Lexed>> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                chars.next();
                let token = if c == '(' { Token::Open } else { Token::Close };
                tokens.push(Lexed {
                    token,
                    start,
                    end: start + 1,
                });
            }
            _ => {
                let mut end = start;
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')') {
                        break;
                    }
                    end = i + c.len_utf8();
                    chars.next();
                }
                let word = &text[start..end];
                if let Some(bad) = word
                    .chars()
                    .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '*' | '.')))
                {
                    return fail(
                        Diagnostic::error(
                            "condition",
                            format!("unexpected character '{bad}' in condition"),
                        )
                        .at(span_of(start, end))
                        .help("identifiers are letters, digits, '_' and '-'; patterns may add '*'"),
                    );
                }
                tokens.push(Lexed {
                    token: Token::Word(word.to_string()),
                    start,
                    end,
                });
            }
        }
    }
    Ok(tokens)
}

struct Parser<'a, 'd> {
    tokens: Vec<Lexed>,
    position: usize,
    span_of: SpanOf<'a>,
    text_len: usize,
    diagnostics: &'d mut Vec<Diagnostic>,
    depth: usize,
}

const MAX_CONDITION_DEPTH: usize = 200;

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Lexed> {
        self.tokens.get(self.position)
    }

    fn span(&self, lexed: &Lexed) -> Span {
        (self.span_of)(lexed.start, lexed.end)
    }

    fn end_span(&self) -> Span {
        (self.span_of)(self.text_len, self.text_len)
    }

    /// Whether the next token is the keyword `keyword`, in any case. Upper- or mixed-case
    /// spellings produce a warning.
    fn at_keyword(&mut self, keyword: &str) -> bool {
        let Some(lexed) = self.peek() else {
            return false;
        };
        let Token::Word(word) = &lexed.token else {
            return false;
        };
        if !word.eq_ignore_ascii_case(keyword) {
            return false;
        }
        if word != keyword {
            let span = self.span(lexed);
            self.diagnostics.push(
                Diagnostic::warning(
                    "condition-style",
                    format!("condition keyword '{word}' should be lowercase"),
                )
                .at(span)
                .help(format!("write '{keyword}'")),
            );
        }
        true
    }

    fn or(&mut self) -> Parsed<Expr> {
        let first = self.and()?;
        let mut items = vec![first];
        while self.at_keyword("or") {
            self.position += 1;
            items.push(self.and()?);
        }
        Ok(combine(items, ExprKind::Or))
    }

    fn and(&mut self) -> Parsed<Expr> {
        let first = self.not()?;
        let mut items = vec![first];
        while self.at_keyword("and") {
            self.position += 1;
            items.push(self.not()?);
        }
        Ok(combine(items, ExprKind::And))
    }

    fn not(&mut self) -> Parsed<Expr> {
        if self.at_keyword("not") {
            let start = self.span(&self.tokens[self.position]);
            self.position += 1;
            self.enter(start)?;
            let inner = self.not()?;
            self.depth -= 1;
            let span = start.to(inner.span);
            return Ok(Expr {
                kind: ExprKind::Not(Box::new(inner)),
                span,
            });
        }
        self.primary()
    }

    fn enter(&mut self, span: Span) -> Parsed<()> {
        self.depth += 1;
        if self.depth > MAX_CONDITION_DEPTH {
            return fail(
                Diagnostic::error(
                    "condition",
                    format!("condition nested deeper than {MAX_CONDITION_DEPTH} levels"),
                )
                .at(span),
            );
        }
        Ok(())
    }

    fn primary(&mut self) -> Parsed<Expr> {
        let Some(lexed) = self.peek().cloned() else {
            return fail(
                Diagnostic::error("condition", "condition ends too early")
                    .at(self.end_span())
                    .label("expected an identifier, 'not', '1 of', 'all of' or '('"),
            );
        };
        let span = self.span(&lexed);
        match &lexed.token {
            Token::Open => {
                self.position += 1;
                self.enter(span)?;
                let inner = self.or()?;
                self.depth -= 1;
                match self.peek() {
                    Some(Lexed {
                        token: Token::Close,
                        ..
                    }) => {
                        let close = self.span(&self.tokens[self.position]);
                        self.position += 1;
                        Ok(Expr {
                            kind: inner.kind,
                            span: span.to(close),
                        })
                    }
                    _ => fail(
                        Diagnostic::error("condition", "unclosed '('")
                            .at(span)
                            .label("this '(' is never closed"),
                    ),
                }
            }
            Token::Close => fail(
                Diagnostic::error("condition", "unexpected ')'")
                    .at(span)
                    .label("expected an identifier or '('"),
            ),
            Token::Word(word) => {
                for keyword in ["and", "or"] {
                    if word.eq_ignore_ascii_case(keyword) {
                        return fail(
                            Diagnostic::error(
                                "condition",
                                format!("'{keyword}' needs an operand before it"),
                            )
                            .at(span),
                        );
                    }
                }
                if word.eq_ignore_ascii_case("near") {
                    return fail(
                        Diagnostic::error("condition", "'near' was removed in Sigma 2.0")
                            .at(span)
                            .help("use a temporal correlation rule"),
                    );
                }
                if let Some(of) = self.tokens.get(self.position + 1)
                    && matches!(&of.token, Token::Word(w) if w.eq_ignore_ascii_case("of"))
                {
                    return self.quantified(&lexed, word);
                }
                if word.contains('*') {
                    return fail(
                        Diagnostic::error(
                            "condition",
                            format!("wildcard '{word}' outside of '1 of' / 'all of'"),
                        )
                        .at(span)
                        .help(format!("write '1 of {word}' or 'all of {word}'")),
                    );
                }
                self.position += 1;
                Ok(Expr {
                    kind: ExprKind::Identifier(word.clone()),
                    span,
                })
            }
        }
    }

    fn quantified(&mut self, lexed: &Lexed, word: &str) -> Parsed<Expr> {
        let span = self.span(lexed);
        let quantifier = match word.to_ascii_lowercase().as_str() {
            "1" => Quantifier::Any,
            "any" => Quantifier::Any,
            "all" => Quantifier::All,
            _ => {
                return fail(
                    Diagnostic::error("condition", format!("unsupported quantifier '{word}'"))
                        .at(span)
                        .help("Sigma knows '1 of', 'any of' and 'all of'"),
                );
            }
        };
        if word != "1" && word != word.to_ascii_lowercase() {
            self.diagnostics.push(
                Diagnostic::warning(
                    "condition-style",
                    format!("condition keyword '{word}' should be lowercase"),
                )
                .at(span),
            );
        }
        // Consume the quantifier and `of`.
        self.position += 1;
        self.at_keyword("of");
        self.position += 1;
        let Some(target) = self.peek().cloned() else {
            return fail(
                Diagnostic::error("condition", "'of' needs a pattern or 'them'")
                    .at(self.end_span()),
            );
        };
        let target_span = self.span(&target);
        let Token::Word(target_word) = &target.token else {
            return fail(
                Diagnostic::error("condition", "'of' needs a pattern or 'them'")
                    .at(target_span)
                    .help("parentheses cannot follow 'of'"),
            );
        };
        let pattern = if target_word.eq_ignore_ascii_case("them") {
            if target_word != "them" {
                self.at_keyword("them");
            }
            Pattern::Them
        } else {
            Pattern::Glob(target_word.clone())
        };
        self.position += 1;
        Ok(Expr {
            kind: ExprKind::Quantified {
                quantifier,
                pattern,
            },
            span: span.to(target_span),
        })
    }
}

fn combine(mut items: Vec<Expr>, make: fn(Vec<Expr>) -> ExprKind) -> Expr {
    if items.len() == 1 {
        return items.remove(0);
    }
    let span = items[0].span.to(items[items.len() - 1].span);
    Expr {
        kind: make(items),
        span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Parsed<Expr> {
        let span_of = |a: usize, b: usize| Span::new(a as u32, b as u32);
        let mut diagnostics = Vec::new();
        parse_condition(text, &span_of, &mut diagnostics).map(|c| c.expr)
    }

    fn show(text: &str) -> String {
        parse(text)
            .map(|e| e.to_string())
            .unwrap_or_else(|d| format!("error: {}", d.message))
    }

    #[test]
    fn precedence_or_and_not_of() {
        assert_eq!(show("a or b and c"), "a or b and c");
        assert_eq!(
            parse("a or b and c").unwrap().kind,
            ExprKind::Or(vec![
                Expr {
                    kind: ExprKind::Identifier("a".into()),
                    span: Span::new(0, 1)
                },
                Expr {
                    kind: ExprKind::And(vec![
                        Expr {
                            kind: ExprKind::Identifier("b".into()),
                            span: Span::new(5, 6)
                        },
                        Expr {
                            kind: ExprKind::Identifier("c".into()),
                            span: Span::new(11, 12)
                        },
                    ]),
                    span: Span::new(5, 12)
                },
            ])
        );
        assert_eq!(show("(a or b) and c"), "(a or b) and c");
        assert_eq!(show("not a and b"), "not a and b");
        assert!(matches!(
            parse("not a and b").unwrap().kind,
            ExprKind::And(ref items) if matches!(items[0].kind, ExprKind::Not(_))
        ));
        assert_eq!(show("not (a and b)"), "not (a and b)");
        assert_eq!(show("not not a"), "not not a");
        assert_eq!(
            show("sel and not 1 of filter_* or all of them"),
            "sel and not 1 of filter_* or all of them"
        );
    }

    #[test]
    fn and_or_are_flattened_left_to_right() {
        let expr = parse("a and b and c").unwrap();
        assert!(matches!(&expr.kind, ExprKind::And(items) if items.len() == 3));
        let expr = parse("a or (b or c)").unwrap();
        // Parentheses keep their grouping.
        assert!(matches!(&expr.kind, ExprKind::Or(items) if items.len() == 2));
    }

    #[test]
    fn quantifiers() {
        let expr = parse("any of sel_*").unwrap();
        assert_eq!(
            expr.kind,
            ExprKind::Quantified {
                quantifier: Quantifier::Any,
                pattern: Pattern::Glob("sel_*".into())
            }
        );
        assert_eq!(expr.span, Span::new(0, 12));
        assert_eq!(
            parse("all of them").unwrap().kind,
            ExprKind::Quantified {
                quantifier: Quantifier::All,
                pattern: Pattern::Them
            }
        );
        assert_eq!(show("2 of sel*"), "error: unsupported quantifier '2'");
    }

    #[test]
    fn pattern_selection() {
        assert!(Pattern::Them.selects("selection"));
        assert!(!Pattern::Them.selects("_helper"));
        let glob = Pattern::Glob("sel*".into());
        assert!(glob.selects("selection"));
        assert!(glob.selects("sel"));
        assert!(!glob.selects("filter"));
        let glob = Pattern::Glob("*_img".into());
        assert!(glob.selects("sel_img"));
        assert!(!glob.selects("sel_img2"));
        assert!(Pattern::Glob("a*b*c".into()).selects("axxbyyc"));
    }

    #[test]
    fn errors_point_at_the_problem() {
        let err = parse("selection | count() >").unwrap_err();
        assert!(
            err.message.contains("invalid aggregation"),
            "{}",
            err.message
        );
        assert_eq!(err.span, Some(Span::new(11, 21)));
        let err = parse("count(x) per y > 200 and not z").unwrap_err();
        assert_eq!(err.message, "unexpected character '>' in condition");
        let err = parse("(a or b").unwrap_err();
        assert_eq!(err.message, "unclosed '('");
        assert_eq!(err.span, Some(Span::new(0, 1)));
        let err = parse("a or b)").unwrap_err();
        assert_eq!(err.message, "unbalanced ')'");
        let err = parse("a and").unwrap_err();
        assert_eq!(err.message, "condition ends too early");
        assert_eq!(err.span, Some(Span::new(5, 5)));
        assert_eq!(show("a b"), "error: unexpected 'b'");
        assert_eq!(show("and a"), "error: 'and' needs an operand before it");
        assert_eq!(
            show("sel*"),
            "error: wildcard 'sel*' outside of '1 of' / 'all of'"
        );
        assert_eq!(show("a near b"), "error: unexpected 'near'");
        assert_eq!(show("near b"), "error: 'near' was removed in Sigma 2.0");
        assert_eq!(show(""), "error: empty condition");
        assert_eq!(
            show("a = b"),
            "error: unexpected character '=' in condition"
        );
        assert_eq!(show("1 of ("), "error: 'of' needs a pattern or 'them'");
    }

    #[test]
    fn uppercase_keywords_warn() {
        let span_of = |a: usize, b: usize| Span::new(a as u32, b as u32);
        let mut diagnostics = Vec::new();
        let condition = parse_condition("a AND NOT b", &span_of, &mut diagnostics).unwrap();
        assert_eq!(condition.expr.to_string(), "a and not b");
        assert_eq!(diagnostics.len(), 2);
        assert_eq!(diagnostics[0].code, "condition-style");
    }

    #[test]
    fn sigma1_aggregations_parse_with_a_warning() {
        let span_of = |a: usize, b: usize| Span::new(a as u32, b as u32);
        let mut diagnostics = Vec::new();
        let condition = parse_condition(
            "selection | count(category) by dst_ip > 30",
            &span_of,
            &mut diagnostics,
        )
        .unwrap();
        assert_eq!(condition.expr.to_string(), "selection");
        assert_eq!(
            condition.aggregation,
            Some(Aggregation {
                function: "count".into(),
                field: Some("category".into()),
                group_by: Some("dst_ip".into()),
                operator: ">".into(),
                threshold: 30.0,
                span: Span::new(11, 42),
            })
        );
        assert_eq!(diagnostics[0].code, "obsolete-aggregation");
        let condition = parse_condition("sel | count() > 5", &span_of, &mut Vec::new()).unwrap();
        assert_eq!(condition.aggregation.unwrap().field, None);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = format!("{}a{}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(&text).unwrap_err().message.contains("deeper"));
        let text = format!("{}a", "not ".repeat(5000));
        assert!(parse(&text).unwrap_err().message.contains("deeper"));
    }
}
