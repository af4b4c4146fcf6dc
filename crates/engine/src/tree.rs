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

    /// What must hold whenever the tree is true: up to [`MAX_TRIGGER_SETS`] sets of atoms,
    /// each with at least one atom true, the rarest first.
    pub fn trigger(&self, atoms: &[Atom]) -> Trigger {
        match self.trigger_sets(atoms) {
            Sets::Never => Trigger::Never,
            Sets::Unknown => Trigger::Unknown,
            Sets::Known(sets) => Trigger::AllOf(sets.into_iter().map(|(_, set)| set).collect()),
        }
    }

    fn trigger_sets(&self, atoms: &[Atom]) -> Sets {
        match self {
            Tree::Const(false) => Sets::Never,
            Tree::Const(true) | Tree::Not(_) => Sets::Unknown,
            Tree::Atom(a) => {
                let atom = &atoms[*a as usize];
                let set = if atom.scan == ScanKind::Exact {
                    vec![*a]
                } else if !atom.hints.is_empty() {
                    atom.hints.to_vec()
                } else {
                    return Sets::Unknown;
                };
                Sets::Known(vec![(set_score(&set, atoms), set)])
            }
            // Every part's sets are necessary: the rarest of them all.
            Tree::And(items) => {
                let mut all: Vec<(f64, Vec<AtomId>)> = Vec::new();
                for item in items {
                    match item.trigger_sets(atoms) {
                        Sets::Never => return Sets::Never,
                        Sets::Unknown => {}
                        Sets::Known(sets) => all.extend(sets),
                    }
                }
                best_sets(all)
            }
            // `(a1 and a2) or (b1 and b2)` needs `a1 or b1` and `a2 or b2`: the k-th sets of
            // the branches joined, a branch with fewer sets giving its last one again
            // (`(a1 and a2) or b` needs `a1 or b` and `a2 or b`).
            Tree::Or(items) => {
                let mut branches: Vec<Vec<(f64, Vec<AtomId>)>> = Vec::new();
                for item in items {
                    match item.trigger_sets(atoms) {
                        Sets::Never => {}
                        Sets::Unknown => return Sets::Unknown,
                        Sets::Known(sets) => branches.push(sets),
                    }
                }
                let Some(depth) = branches.iter().map(Vec::len).max() else {
                    return Sets::Never;
                };
                let joined = (0..depth)
                    .map(|k| {
                        let mut union: Vec<AtomId> = branches
                            .iter()
                            .flat_map(|sets| sets[k.min(sets.len() - 1)].1.iter().copied())
                            .collect();
                        union.sort_unstable();
                        union.dedup();
                        (set_score(&union, atoms), union)
                    })
                    .collect();
                best_sets(joined)
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

/// How many necessary sets a trigger keeps: a variant is evaluated only when each has a
/// fired atom. One set let through every event with a common value (a rule's
/// `Company: Microsoft Corporation` beside its rare image names); a second catches most of
/// those, and a third would add scanning more than it saves.
pub const MAX_TRIGGER_SETS: usize = 2;

/// Necessary sets with their scores, or why there are none.
enum Sets {
    Never,
    Unknown,
    Known(Vec<(f64, Vec<AtomId>)>),
}

/// The [`MAX_TRIGGER_SETS`] rarest distinct sets of `sets`, rarest first.
fn best_sets(mut sets: Vec<(f64, Vec<AtomId>)>) -> Sets {
    // Stable: equal scores keep the tree's order.
    sets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best: Vec<(f64, Vec<AtomId>)> = Vec::with_capacity(MAX_TRIGGER_SETS);
    for set in sets {
        if best.len() == MAX_TRIGGER_SETS {
            break;
        }
        if !best.iter().any(|(_, kept)| *kept == set.1) {
            best.push(set);
        }
    }
    if best.is_empty() {
        Sets::Unknown
    } else {
        Sets::Known(best)
    }
}

/// What must hold before a variant can match.
#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    /// Nothing is known: evaluate the variant for every event it is dispatched.
    Unknown,
    /// Evaluate only when each of these sets (one or two, the rarest first) has a fired scan
    /// atom.
    AllOf(Vec<Vec<AtomId>>),
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
    fn triggers_pick_the_rarest_necessary_sets() {
        let mut table = AtomTable::default();
        let f = AtomField::Field(table.field(&["F".to_string()]));
        let short = table.literal(f, Anchor::Contains, "ab");
        let long = table.literal(f, Anchor::Contains, "abcdefgh");
        let other = table.literal(f, Anchor::Suffix, ".exe");
        let third = table.literal(f, Anchor::Contains, "a");
        let atoms = &table.atoms;
        let all_of = |sets: &[&[AtomId]]| Trigger::AllOf(sets.iter().map(|s| s.to_vec()).collect());
        // and: each part is necessary; the two rarer (longer) ones are kept, rarest first.
        let t = Tree::And(vec![a(short), a(long)]);
        assert_eq!(t.trigger(atoms), all_of(&[&[long], &[short]]));
        let t = Tree::And(vec![a(third), a(short), a(long)]);
        assert_eq!(t.trigger(atoms), all_of(&[&[long], &[short]]));
        // or: every branch must contribute.
        let t = Tree::Or(vec![a(short), a(other)]);
        assert_eq!(t.trigger(atoms), all_of(&[&[short, other]]));
        // (long and short) or (other and third): (long or other) and (short or third).
        let t = Tree::Or(vec![
            Tree::And(vec![a(short), a(long)]),
            Tree::And(vec![a(other), a(third)]),
        ]);
        assert_eq!(t.trigger(atoms), all_of(&[&[long, other], &[short, third]]));
        // A branch with one set gives it to both.
        let t = Tree::Or(vec![Tree::And(vec![a(short), a(long)]), a(other)]);
        assert_eq!(t.trigger(atoms), all_of(&[&[long, other], &[short, other]]));
        // a negation gives nothing; an or with such a branch gives nothing.
        let t = Tree::Or(vec![a(short), Tree::Not(Box::new(a(other)))]);
        assert_eq!(t.trigger(atoms), Trigger::Unknown);
        // and with a negated part still has the positive part's trigger.
        let t = Tree::And(vec![Tree::Not(Box::new(a(other))), a(short)]);
        assert_eq!(t.trigger(atoms), all_of(&[&[short]]));
        // The same set twice is kept once.
        let t = Tree::And(vec![
            Tree::Or(vec![a(short), a(other)]),
            Tree::Or(vec![a(other), a(short)]),
        ]);
        assert_eq!(t.trigger(atoms), all_of(&[&[short, other]]));
        assert_eq!(Tree::Const(false).trigger(atoms), Trigger::Never);
        assert_eq!(
            Tree::And(vec![a(short), Tree::Const(false)]).trigger(atoms),
            Trigger::Never
        );
    }
}
