//! The slow path: why one rule did or did not match one event, search by search and value by
//! value (for `sigrun explain`).
//!
//! It shares the lowering and the value semantics with the engine but none of its machinery
//! (dispatch, slots, scans, triggers, caches): every test reads the event directly. The test
//! suite runs both over the same corpus, so the fast path is checked against this one.

use crate::atoms::{AtomField, AtomTable};
use crate::compile::CompileOptions;
use crate::dispatch::{CondValue, compile_selector};
use crate::event::{EventView, FieldValue};
use crate::lower::Lowerer;
use crate::matcher::{Matcher, fieldref_holds};
use crate::problem::ProblemKind;
use crate::text::lower;
use crate::tree::Tree;
use sigrun_pipeline::{FieldTarget, Pipeline, SourceVariant};
use sigrun_rule::{DetectionItem, Search, SigmaRule, ValueJoin};

/// The result of explaining one rule against one event.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    pub variants: Vec<VariantExplanation>,
}

impl Explanation {
    /// Whether the rule matches the event (through any variant that selects it).
    pub fn matched(&self) -> bool {
        self.variants.iter().any(|v| v.selected && v.matched)
    }
}

/// One pipeline source of the rule.
#[derive(Clone, Debug, PartialEq)]
pub struct VariantExplanation {
    pub source: String,
    /// Whether the source's conditions (channel, event id, ...) select the event.
    pub selected: bool,
    /// Whether the rule's condition holds on the event (regardless of `selected`).
    pub matched: bool,
    /// Each condition of the rule's condition list, in order.
    pub conditions: Vec<bool>,
    pub searches: Vec<SearchExplanation>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SearchExplanation {
    pub name: String,
    pub matched: bool,
    pub body: SearchNode,
}

/// The structure of a search identifier with a result at every level.
#[derive(Clone, Debug, PartialEq)]
pub enum SearchNode {
    AllOf {
        matched: bool,
        items: Vec<ItemExplanation>,
    },
    AnyOf {
        matched: bool,
        alternatives: Vec<SearchNode>,
    },
    Keywords(ItemExplanation),
}

impl SearchNode {
    pub fn matched(&self) -> bool {
        match self {
            SearchNode::AllOf { matched, .. } | SearchNode::AnyOf { matched, .. } => *matched,
            SearchNode::Keywords(item) => item.matched,
        }
    }
}

/// One `field|modifiers: values` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemExplanation {
    /// The Sigma field (`None` for keywords).
    pub field: Option<String>,
    /// The event field that was read: the first present name the source maps the field to;
    /// `None` when absent, unavailable, or for keywords.
    pub event_field: Option<String>,
    /// The values of that event field.
    pub event_values: Vec<String>,
    pub join_all: bool,
    pub negated: bool,
    pub matched: bool,
    pub values: Vec<ValueExplanation>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ValueExplanation {
    /// The rule value as written after its modifiers (`'*\cmd.exe'`, `/re/i`, `>= 5`).
    pub description: String,
    pub matched: bool,
}

/// Explains `rule` against `event` under `pipeline`. Fails for the reasons the compiler would
/// refuse the rule.
pub fn explain<E: EventView + ?Sized>(
    rule: &SigmaRule,
    pipeline: &Pipeline,
    event: &E,
    options: &CompileOptions,
) -> Result<Explanation, ProblemKind> {
    let variants = crate::compile::rule_variants(rule, pipeline)?;
    // Each field under its own name and, when that has spaces, also without them (Sigma's
    // `ThreatName` for `Threat Name`), as the engine files it.
    let mut fields: Vec<(String, FieldValue<'_>)> = Vec::new();
    event.for_each_field(&mut |name, value| {
        fields.push((name.to_owned(), value));
        if name.contains(' ') {
            fields.push((name.replace(' ', ""), value));
        }
    });
    let view = View {
        fields: &fields,
        channel: event.channel(),
        event_id: event.event_id(),
    };
    let mut out = Vec::new();
    for variant in variants {
        out.push(explain_variant(rule, pipeline, variant, &view, options)?);
    }
    Ok(Explanation { variants: out })
}

struct View<'a, 'e> {
    fields: &'a [(String, FieldValue<'e>)],
    channel: Option<&'a str>,
    event_id: Option<u32>,
}

impl View<'_, '_> {
    fn values(&self, name: &str) -> Vec<FieldValue<'_>> {
        self.fields
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .collect()
    }

    /// The values of the first present name.
    fn first_present<'n>(&self, names: &'n [String]) -> Option<(&'n str, Vec<FieldValue<'_>>)> {
        names.iter().find_map(|name| {
            let values = self.values(name);
            (!values.is_empty()).then_some((name.as_str(), values))
        })
    }
}

fn explain_variant(
    rule: &SigmaRule,
    pipeline: &Pipeline,
    variant: SourceVariant<'_>,
    view: &View<'_, '_>,
    options: &CompileOptions,
) -> Result<VariantExplanation, ProblemKind> {
    let mut table = AtomTable::default();
    let (selector, _, _) = compile_selector(&variant, &mut table);
    let channel = view.channel.map(lower);
    let selected = selector.sets.iter().any(|set| {
        set.channels.as_ref().is_none_or(|cs| {
            channel
                .as_deref()
                .is_some_and(|c| cs.iter().any(|x| **x == *c))
        }) && set
            .event_ids
            .as_ref()
            .is_none_or(|ids| view.event_id.is_some_and(|e| ids.contains(&e)))
            && set.residual.iter().all(|(field, expected)| {
                let name = &table.fields[*field as usize][0];
                view.values(name).iter().any(|v| {
                    expected.iter().any(|e| match e {
                        CondValue::Text(t) => **t == lower(v.text),
                        CondValue::Int(i) => v.text.trim().parse::<i64>() == Ok(*i),
                    })
                })
            })
    });

    let mut lowerer = Lowerer {
        table: &mut table,
        pipeline,
        variant,
        placeholders: options.placeholders,
    };
    let whole = lowerer.rule(rule)?;
    let mut searches = Vec::new();
    let mut search_trees = Vec::new();
    for search in &rule.detection.searches {
        search_trees.push(lowerer.search(&search.search)?);
        let body = explain_search(&mut lowerer, &search.search, view)?;
        searches.push((search.name.value.clone(), body));
    }
    let eval = Eval {
        table: &table,
        view,
    };
    let conditions = match &whole {
        Tree::Or(roots) => roots.iter().map(|r| eval.tree(r)).collect(),
        other => vec![eval.tree(other)],
    };
    let searches = searches
        .into_iter()
        .zip(&search_trees)
        .map(|((name, body), tree)| SearchExplanation {
            name,
            matched: eval.tree(tree),
            body,
        })
        .collect();
    Ok(VariantExplanation {
        source: variant.name().to_owned(),
        selected,
        matched: eval.tree(&whole),
        conditions,
        searches,
    })
}

fn explain_search(
    lowerer: &mut Lowerer<'_, '_>,
    search: &Search,
    view: &View<'_, '_>,
) -> Result<SearchNode, ProblemKind> {
    Ok(match search {
        Search::AllOf(items) => {
            let items = items
                .iter()
                .map(|i| explain_item(lowerer, i, view))
                .collect::<Result<Vec<_>, _>>()?;
            SearchNode::AllOf {
                matched: items.iter().all(|i| i.matched),
                items,
            }
        }
        Search::AnyOf(alternatives) => {
            let alternatives = alternatives
                .iter()
                .map(|s| explain_search(lowerer, s, view))
                .collect::<Result<Vec<_>, _>>()?;
            SearchNode::AnyOf {
                matched: alternatives.iter().any(SearchNode::matched),
                alternatives,
            }
        }
        Search::Keywords(item) => SearchNode::Keywords(explain_item(lowerer, item, view)?),
    })
}

fn explain_item(
    lowerer: &mut Lowerer<'_, '_>,
    item: &DetectionItem,
    view: &View<'_, '_>,
) -> Result<ItemExplanation, ProblemKind> {
    let trees = lowerer.item_values(item)?;
    let (event_field, event_values) = match item.field_name() {
        None => (None, Vec::new()),
        Some(name) => {
            let names: Vec<String> = match lowerer.variant.field(name) {
                FieldTarget::Names(names) => names.to_vec(),
                FieldTarget::SameName => vec![name.to_owned()],
                FieldTarget::Unavailable => Vec::new(),
            };
            match view.first_present(&names) {
                Some((found, values)) => (
                    Some(found.to_owned()),
                    values.iter().map(|v| v.text.to_owned()).collect(),
                ),
                None => (None, Vec::new()),
            }
        }
    };
    let eval = Eval {
        table: lowerer.table,
        view,
    };
    let values: Vec<ValueExplanation> = item
        .values
        .iter()
        .zip(&trees)
        .map(|(value, tree)| ValueExplanation {
            description: value.value.describe(),
            matched: eval.tree(tree),
        })
        .collect();
    let joined = match item.join {
        ValueJoin::Any => values.iter().any(|v| v.matched),
        ValueJoin::All => values.iter().all(|v| v.matched),
    };
    Ok(ItemExplanation {
        field: item.field_name().map(str::to_owned),
        event_field,
        event_values,
        join_all: item.join == ValueJoin::All,
        negated: item.negated,
        matched: joined != item.negated,
        values,
    })
}

/// Direct evaluation of a tree against the event.
struct Eval<'a, 'v, 'e> {
    table: &'a AtomTable,
    view: &'a View<'v, 'e>,
}

impl Eval<'_, '_, '_> {
    fn tree(&self, tree: &Tree) -> bool {
        match tree {
            Tree::Const(b) => *b,
            Tree::Atom(a) => self.atom(*a),
            Tree::Not(inner) => !self.tree(inner),
            Tree::And(items) => items.iter().all(|i| self.tree(i)),
            Tree::Or(items) => items.iter().any(|i| self.tree(i)),
        }
    }

    fn atom(&self, id: u32) -> bool {
        let atom = &self.table.atoms[id as usize];
        let values: Vec<FieldValue<'_>> = match atom.field {
            AtomField::Keyword => self.view.fields.iter().map(|(_, v)| *v).collect(),
            AtomField::Field(f) => match self.view.first_present(&self.table.fields[f as usize]) {
                Some((_, values)) => values,
                None => return atom.matcher.when_absent(),
            },
        };
        if let Matcher::FieldRef { other, position } = &atom.matcher {
            let Some((_, others)) =
                other.and_then(|o| self.view.first_present(&self.table.fields[o as usize]))
            else {
                return false;
            };
            return values.iter().filter(|v| !v.is_null()).any(|v| {
                others
                    .iter()
                    .filter(|w| !w.is_null())
                    .any(|w| fieldref_holds(*position, &lower(v.text), &lower(w.text)))
            });
        }
        values
            .iter()
            .any(|v| atom.matcher.test_value(*v, &lower(v.text)))
    }
}
