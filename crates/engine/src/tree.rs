//! A rule variant's condition as a boolean tree over atoms: simplified, ordered cheapest
//! first, reduced to its trigger atoms, and flattened into the engine's node arena.

use crate::atoms::{Atom, AtomField, AtomId, ScanKind};
use crate::fx::FxMap;
use crate::matcher::{Anchor, Literal, Matcher};

#[derive(Clone, Debug, PartialEq)]
pub enum Tree {
    Const(bool),
    Atom(AtomId),
    Not(Box<Tree>),
    And(Vec<Tree>),
    Or(Vec<Tree>),
}

impl Tree {
    /// Folds constants, flattens nested `and`/`or`, removes double negation and repeated
    /// atoms. Pure boolean algebra: the result is true for exactly the same events.
    pub fn simplify(self) -> Tree {
        match self {
            Tree::Not(inner) => match inner.simplify() {
                Tree::Const(b) => Tree::Const(!b),
                Tree::Not(x) => *x,
                other => Tree::Not(Box::new(other)),
            },
            Tree::And(items) => Tree::join(items, true),
            Tree::Or(items) => Tree::join(items, false),
            other => other,
        }
    }

    /// `and` (`is_and`) or `or` of `items`, simplified.
    fn join(items: Vec<Tree>, is_and: bool) -> Tree {
        // `and`: true is neutral and false absorbs; `or` the other way round.
        let neutral = is_and;
        let mut out: Vec<Tree> = Vec::with_capacity(items.len());
        // Repeated atoms are dropped: a linear check for the usual short lists, a set for the
        // long ones (thousands of windash or base64 variants).
        let mut seen: Option<FxMap<AtomId, ()>> = None;
        let mut push = |item: Tree, out: &mut Vec<Tree>| {
            if let Tree::Atom(a) = item {
                let repeated = match &mut seen {
                    Some(set) => set.insert(a, ()).is_some(),
                    None if out.len() < 16 => out.contains(&Tree::Atom(a)),
                    None => {
                        let set = seen.insert(
                            out.iter()
                                .filter_map(|t| match t {
                                    Tree::Atom(x) => Some((*x, ())),
                                    _ => None,
                                })
                                .collect(),
                        );
                        set.insert(a, ()).is_some()
                    }
                };
                if repeated {
                    return;
                }
            }
            out.push(item);
        };
        for item in items {
            match item.simplify() {
                Tree::Const(b) if b == neutral => {}
                Tree::Const(b) => return Tree::Const(b),
                Tree::And(inner) if is_and => inner.into_iter().for_each(|i| push(i, &mut out)),
                Tree::Or(inner) if !is_and => inner.into_iter().for_each(|i| push(i, &mut out)),
                other => push(other, &mut out),
            }
        }
        match out.len() {
            0 => Tree::Const(neutral),
            1 => out.pop().unwrap_or(Tree::Const(neutral)),
            _ if is_and => Tree::And(out),
            _ => Tree::Or(out),
        }
    }

    /// Sorts every `and`/`or` cheapest child first (stable, so equal costs keep the rule's
    /// order), so that short-circuiting skips the expensive ones (regexes) most often.
    /// Returns the node's rough evaluation cost.
    pub fn order(&mut self, atoms: &[Atom]) -> u32 {
        match self {
            Tree::Const(_) => 0,
            Tree::Atom(a) => atom_cost(&atoms[*a as usize]),
            Tree::Not(inner) => inner.order(atoms),
            Tree::And(items) | Tree::Or(items) => {
                let mut costed: Vec<(u32, Tree)> = std::mem::take(items)
                    .into_iter()
                    .map(|mut i| (i.order(atoms), i))
                    .collect();
                costed.sort_by_key(|(cost, _)| *cost);
                let total = costed
                    .iter()
                    .fold(0u32, |sum, (c, _)| sum.saturating_add(*c));
                *items = costed.into_iter().map(|(_, i)| i).collect();
                total
            }
        }
    }

    /// Atoms of which at least one is true whenever the tree is true.
    pub fn trigger(&self, atoms: &[Atom]) -> Trigger {
        match self {
            Tree::Const(false) => Trigger::Never,
            Tree::Const(true) | Tree::Not(_) => Trigger::Unknown,
            Tree::Atom(a) => {
                let atom = &atoms[*a as usize];
                if atom.scan == ScanKind::Exact {
                    Trigger::AnyOf(vec![*a])
                } else if !atom.hints.is_empty() {
                    Trigger::AnyOf(atom.hints.to_vec())
                } else {
                    Trigger::Unknown
                }
            }
            Tree::And(items) => {
                let mut best: Option<(f64, Vec<AtomId>)> = None;
                for item in items {
                    match item.trigger(atoms) {
                        Trigger::Never => return Trigger::Never,
                        Trigger::Unknown => {}
                        Trigger::AnyOf(set) => {
                            let score = set_score(&set, atoms);
                            if best.as_ref().is_none_or(|(s, _)| score < *s) {
                                best = Some((score, set));
                            }
                        }
                    }
                }
                best.map_or(Trigger::Unknown, |(_, set)| Trigger::AnyOf(set))
            }
            Tree::Or(items) => {
                let mut union: Vec<AtomId> = Vec::new();
                let mut any = false;
                for item in items {
                    match item.trigger(atoms) {
                        Trigger::Never => {}
                        Trigger::Unknown => return Trigger::Unknown,
                        Trigger::AnyOf(set) => {
                            any = true;
                            union.extend(set);
                        }
                    }
                }
                if !any {
                    return Trigger::Never;
                }
                union.sort_unstable();
                union.dedup();
                Trigger::AnyOf(union)
            }
        }
    }

    /// Appends the tree to the arena and returns its root.
    pub fn emit(&self, nodes: &mut Vec<Node>, kids: &mut Vec<u32>) -> u32 {
        let node = match self {
            Tree::Const(b) => Node::Const(*b),
            Tree::Atom(a) => Node::Atom(*a),
            Tree::Not(inner) => Node::Not(inner.emit(nodes, kids)),
            Tree::And(items) | Tree::Or(items) => {
                let ids: Vec<u32> = items.iter().map(|i| i.emit(nodes, kids)).collect();
                let start = kids.len() as u32;
                kids.extend(ids);
                let len = items.len() as u32;
                if matches!(self, Tree::And(_)) {
                    Node::And(start, len)
                } else {
                    Node::Or(start, len)
                }
            }
        };
        nodes.push(node);
        (nodes.len() - 1) as u32
    }
}

/// What must hold before a variant can match.
#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    /// Nothing is known: evaluate the variant for every event it is dispatched.
    Unknown,
    /// Evaluate only when one of these scan atoms fired.
    AnyOf(Vec<AtomId>),
    /// The variant can never match (e.g. every field it tests is unavailable in the source).
    Never,
}

/// A node of the flattened condition arena.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Node {
    Const(bool),
    Atom(AtomId),
    Not(u32),
    /// Children are `kids[start..start + len]`.
    And(u32, u32),
    Or(u32, u32),
}

fn atom_cost(atom: &Atom) -> u32 {
    if atom.scan == ScanKind::Exact {
        return if atom.field == AtomField::Keyword {
            2
        } else {
            1
        };
    }
    let keyword = if atom.field == AtomField::Keyword {
        10
    } else {
        1
    };
    keyword
        * match &atom.matcher {
            Matcher::Null | Matcher::Exists(_) | Matcher::Bool(_) | Matcher::Number { .. } => 2,
            Matcher::Literal(_) => 3,
            Matcher::Glob { .. } => 5,
            Matcher::Compare { .. } | Matcher::TimePart { .. } | Matcher::Cidr(_) => 6,
            Matcher::FieldRef { .. } => 8,
            Matcher::Regex(_) => 40,
        }
}

/// An estimate of how often a trigger set fires (lower is better): long literals are rarer
/// than short ones, equality rarer than containment.
fn set_score(set: &[AtomId], atoms: &[Atom]) -> f64 {
    set.iter()
        .map(|&a| {
            let atom = &atoms[a as usize];
            let spread = if atom.field == AtomField::Keyword {
                4.0
            } else {
                1.0
            };
            spread
                * match &atom.matcher {
                    Matcher::Literal(Literal { anchor, text, .. }) => {
                        let len = text.chars().count() as f64;
                        match anchor {
                            Anchor::Equals => 0.002,
                            Anchor::Prefix | Anchor::Suffix => 0.5 / (1.0 + len * len),
                            Anchor::Contains => 1.0 / (1.0 + len * len),
                        }
                    }
                    Matcher::Number { .. } => 0.05,
                    _ => 1.0,
                }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atoms::AtomTable;

    fn a(i: u32) -> Tree {
        Tree::Atom(i)
    }

    #[test]
    fn simplify_folds_and_flattens() {
        let t = Tree::And(vec![
            Tree::Const(true),
            a(1),
            Tree::And(vec![a(2), a(1)]),
            Tree::Not(Box::new(Tree::Not(Box::new(a(3))))),
        ]);
        assert_eq!(t.simplify(), Tree::And(vec![a(1), a(2), a(3)]));
        let t = Tree::Or(vec![a(1), Tree::Const(true)]);
        assert_eq!(t.simplify(), Tree::Const(true));
        let t = Tree::And(vec![a(1), Tree::Not(Box::new(Tree::Const(true)))]);
        assert_eq!(t.simplify(), Tree::Const(false));
        assert_eq!(Tree::Or(vec![]).simplify(), Tree::Const(false));
        assert_eq!(Tree::Or(vec![a(4)]).simplify(), a(4));
    }

    #[test]
    fn triggers_pick_a_necessary_set() {
        let mut table = AtomTable::default();
        let f = AtomField::Field(table.field(&["F".to_string()]));
        let short = table.literal(f, Anchor::Contains, "ab");
        let long = table.literal(f, Anchor::Contains, "abcdefgh");
        let other = table.literal(f, Anchor::Suffix, ".exe");
        let atoms = &table.atoms;
        // and: the rarer (longer) literal is enough.
        let t = Tree::And(vec![a(short), a(long)]);
        assert_eq!(t.trigger(atoms), Trigger::AnyOf(vec![long]));
        // or: every branch must contribute.
        let t = Tree::Or(vec![a(short), a(other)]);
        assert_eq!(t.trigger(atoms), Trigger::AnyOf(vec![short, other]));
        // a negation gives nothing; an or with such a branch gives nothing.
        let t = Tree::Or(vec![a(short), Tree::Not(Box::new(a(other)))]);
        assert_eq!(t.trigger(atoms), Trigger::Unknown);
        // and with a negated part still has the positive part's trigger.
        let t = Tree::And(vec![Tree::Not(Box::new(a(other))), a(short)]);
        assert_eq!(t.trigger(atoms), Trigger::AnyOf(vec![short]));
        assert_eq!(Tree::Const(false).trigger(atoms), Trigger::Never);
    }
}
