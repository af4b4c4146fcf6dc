//! pySigma's condition lists and condition expressions, evaluated in three-valued logic.
//!
//! A translation decides each condition for a whole class of rules or fields at once. Most
//! atoms are decidable (a logsource, the pipeline state); a regular expression over "every
//! other field name" is not, so atoms answer [`Tri::Unknown`] and the combination may still
//! be decided (`unknown and false` is false). Only an undecided final answer is an error.

/// Kleene's three-valued truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tri {
    False,
    True,
    Unknown,
}

impl Tri {
    pub(crate) fn of(value: bool) -> Tri {
        if value { Tri::True } else { Tri::False }
    }

    pub(crate) fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, Tri::True) => Tri::True,
            _ => Tri::Unknown,
        }
    }

    pub(crate) fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::False, Tri::False) => Tri::False,
            _ => Tri::Unknown,
        }
    }

    pub(crate) fn not(self) -> Tri {
        match self {
            Tri::False => Tri::True,
            Tri::True => Tri::False,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

/// A parsed `*_cond_expr`: identifiers are indexes into the condition list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Atom(usize),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    fn eval<E>(&self, atom: &mut impl FnMut(usize) -> Result<Tri, E>) -> Result<Tri, E> {
        Ok(match self {
            Expr::Atom(index) => atom(*index)?,
            Expr::Not(inner) => inner.eval(atom)?.not(),
            Expr::And(left, right) => left.eval(atom)?.and(right.eval(atom)?),
            Expr::Or(left, right) => left.eval(atom)?.or(right.eval(atom)?),
        })
    }

    fn collect(&self, used: &mut Vec<usize>) {
        match self {
            Expr::Atom(index) => used.push(*index),
            Expr::Not(inner) => inner.collect(used),
            Expr::And(left, right) | Expr::Or(left, right) => {
                left.collect(used);
                right.collect(used);
            }
        }
    }
}

/// How the conditions of one kind combine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `*_cond_op`: all (`and`, the default) or any (`or`) of the list.
    Linked { all: bool },
    /// `*_cond_expr` over named conditions.
    Expression(Expr),
}

/// The conditions of one kind (rule, detection item or field name) of a transformation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cond<A> {
    pub atoms: Vec<A>,
    pub shape: Shape,
    /// `*_cond_not`.
    pub negate: bool,
}

impl<A> Default for Cond<A> {
    fn default() -> Self {
        Cond {
            atoms: Vec::new(),
            shape: Shape::Linked { all: true },
            negate: false,
        }
    }
}

impl<A> Cond<A> {
    /// The combined result, as pySigma computes it for detection items and field names:
    /// an empty list links to `all([]) = True` or `any([]) = False`, then `not` applies.
    pub(crate) fn eval<E>(&self, mut atom: impl FnMut(&A) -> Result<Tri, E>) -> Result<Tri, E> {
        let result = match &self.shape {
            Shape::Linked { all } => {
                let mut result = Tri::of(*all);
                for a in &self.atoms {
                    let value = atom(a)?;
                    result = if *all {
                        result.and(value)
                    } else {
                        result.or(value)
                    };
                }
                result
            }
            Shape::Expression(expr) => expr.eval(&mut |index| atom(&self.atoms[index]))?,
        };
        Ok(if self.negate { result.not() } else { result })
    }

    /// The result for rule conditions: pySigma applies an item with no rule condition to
    /// every rule, even with `rule_cond_not: true`.
    pub(crate) fn eval_rule<E>(&self, atom: impl FnMut(&A) -> Result<Tri, E>) -> Result<Tri, E> {
        if self.atoms.is_empty() {
            return Ok(Tri::True);
        }
        self.eval(atom)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.atoms.is_empty()
    }
}

/// Parses a condition expression (`a and not (b or c)`) over the condition names; `not`
/// binds tighter than `and`, which binds tighter than `or`, as in pySigma. Every name must
/// exist and every condition must be used (pySigma refuses unreferenced conditions).
pub(crate) fn parse_expression(text: &str, names: &[String]) -> Result<Expr, String> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens: &tokens,
        at: 0,
        names,
    };
    let expr = parser.or()?;
    if parser.at != tokens.len() {
        return Err(format!(
            "unexpected '{}' in condition expression '{text}'",
            tokens[parser.at]
        ));
    }
    let mut used = Vec::new();
    expr.collect(&mut used);
    if let Some(unused) = (0..names.len()).find(|index| !used.contains(index)) {
        return Err(format!(
            "condition '{}' is not used by the expression '{text}'",
            names[unused]
        ));
    }
    Ok(expr)
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        if c == '(' || c == ')' {
            tokens.push(c.to_string());
            continue;
        }
        if !is_name_char(c) {
            return Err(format!(
                "unexpected character '{c}' in condition expression '{text}'"
            ));
        }
        let mut end = start + c.len_utf8();
        while let Some(&(index, next)) = chars.peek() {
            if !is_name_char(next) {
                break;
            }
            end = index + next.len_utf8();
            chars.next();
        }
        tokens.push(text[start..end].to_owned());
    }
    Ok(tokens)
}

/// pySigma's identifiers: `Word(alphanums + "_-")`.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

struct Parser<'t> {
    tokens: &'t [String],
    at: usize,
    names: &'t [String],
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek() == Some("or") {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.not()?;
        while self.peek() == Some("and") {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.peek() == Some("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        let Some(token) = self.peek() else {
            return Err("condition expression ends too early".to_owned());
        };
        if token == "(" {
            self.at += 1;
            let inner = self.or()?;
            if self.peek() != Some(")") {
                return Err("missing ')' in condition expression".to_owned());
            }
            self.at += 1;
            return Ok(inner);
        }
        if matches!(token, ")" | "and" | "or") {
            return Err(format!("unexpected '{token}' in condition expression"));
        }
        let index = self
            .names
            .iter()
            .position(|name| name == token)
            .ok_or_else(|| format!("condition expression names '{token}', which is not defined"))?;
        self.at += 1;
        Ok(Expr::Atom(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn precedence_is_not_and_or() {
        let expr = parse_expression("a or not b and c", &names(&["a", "b", "c"])).unwrap();
        assert_eq!(
            expr,
            Expr::Or(
                Box::new(Expr::Atom(0)),
                Box::new(Expr::And(
                    Box::new(Expr::Not(Box::new(Expr::Atom(1)))),
                    Box::new(Expr::Atom(2))
                ))
            )
        );
    }

    #[test]
    fn parentheses_group() {
        let expr = parse_expression("(a or b) and c", &names(&["a", "b", "c"])).unwrap();
        assert!(matches!(expr, Expr::And(_, _)));
    }

    #[test]
    fn unknown_and_unused_names_are_refused() {
        assert_eq!(
            parse_expression("a and x", &names(&["a"])).unwrap_err(),
            "condition expression names 'x', which is not defined"
        );
        assert_eq!(
            parse_expression("a", &names(&["a", "b"])).unwrap_err(),
            "condition 'b' is not used by the expression 'a'"
        );
        assert_eq!(
            parse_expression("a and", &names(&["a"])).unwrap_err(),
            "condition expression ends too early"
        );
    }

    #[test]
    fn kleene_logic_decides_what_it_can() {
        assert_eq!(Tri::Unknown.and(Tri::False), Tri::False);
        assert_eq!(Tri::Unknown.or(Tri::True), Tri::True);
        assert_eq!(Tri::Unknown.and(Tri::True), Tri::Unknown);
        assert_eq!(Tri::Unknown.not(), Tri::Unknown);
    }

    #[test]
    fn empty_lists_follow_python_all_and_any() {
        let all: Cond<()> = Cond::default();
        assert_eq!(all.eval(|_| Ok::<_, ()>(Tri::True)), Ok(Tri::True));
        let any: Cond<()> = Cond {
            shape: Shape::Linked { all: false },
            ..Cond::default()
        };
        assert_eq!(any.eval(|_| Ok::<_, ()>(Tri::True)), Ok(Tri::False));
        let negated_rule: Cond<()> = Cond {
            negate: true,
            ..Cond::default()
        };
        assert_eq!(
            negated_rule.eval_rule(|_| Ok::<_, ()>(Tri::True)),
            Ok(Tri::True)
        );
    }
}
