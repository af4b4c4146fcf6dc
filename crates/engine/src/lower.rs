//! Lowering: a rule's detection and condition, for one source variant, into a [`Tree`] over
//! deduplicated atoms. Field names are resolved through the variant here, so everything after
//! this step works on event field names only.

use crate::atoms::{AtomField, AtomId, AtomTable, MatcherKey};
use crate::matcher::{Anchor, LazyRegex, Literal, Matcher, NumKey};
use crate::problem::ProblemKind;
use crate::text::{Glob, GlobPart, lower};
use crate::tree::Tree;
use sigrun_pipeline::{FieldTarget, Pipeline, SourceVariant, ValueTransform};
use sigrun_rule::condition::{Expr, ExprKind, Quantifier};
use sigrun_rule::value::MatchValue;
use sigrun_rule::{DetectionItem, Part, Search, SigmaRule, SigmaString, ValueJoin};

/// What to do with a `%placeholder%` the pipeline has no values for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PlaceholderPolicy {
    /// The rule is not compiled (the Sigma specification's requirement).
    #[default]
    Reject,
    /// The placeholder matches anything (`*`), pySigma's `wildcard_placeholders`.
    Wildcard,
}

/// Where an item's values are looked for.
#[derive(Clone, Copy, Debug)]
enum Target {
    Field(AtomField),
    /// The source never carries the field: every value sees an absent field.
    Unavailable,
}

pub struct Lowerer<'a, 'p> {
    pub table: &'a mut AtomTable,
    pub pipeline: &'p Pipeline,
    pub variant: SourceVariant<'p>,
    pub placeholders: PlaceholderPolicy,
}

impl Lowerer<'_, '_> {
    /// The whole rule: its conditions ORed (each condition of a list is its own query; an
    /// event matching any of them matches the rule).
    pub fn rule(&mut self, rule: &SigmaRule) -> Result<Tree, ProblemKind> {
        let detection = &rule.detection;
        if detection.conditions.is_empty() {
            return Err(ProblemKind::NoCondition);
        }
        let mut searches: Vec<Option<Tree>> = vec![None; detection.searches.len()];
        let mut roots = Vec::with_capacity(detection.conditions.len());
        for condition in &detection.conditions {
            roots.push(self.expr(rule, &condition.expr, &mut searches)?);
        }
        Ok(Tree::Or(roots))
    }

    fn expr(
        &mut self,
        rule: &SigmaRule,
        expr: &Expr,
        searches: &mut Vec<Option<Tree>>,
    ) -> Result<Tree, ProblemKind> {
        Ok(match &expr.kind {
            ExprKind::Identifier(name) => {
                let index = rule
                    .detection
                    .searches
                    .iter()
                    .position(|s| s.name.value == *name)
                    .ok_or_else(|| ProblemKind::UnknownIdentifier(name.clone()))?;
                self.search_at(rule, index, searches)?
            }
            ExprKind::Not(inner) => Tree::Not(Box::new(self.expr(rule, inner, searches)?)),
            ExprKind::And(items) => Tree::And(
                items
                    .iter()
                    .map(|i| self.expr(rule, i, searches))
                    .collect::<Result<_, _>>()?,
            ),
            ExprKind::Or(items) => Tree::Or(
                items
                    .iter()
                    .map(|i| self.expr(rule, i, searches))
                    .collect::<Result<_, _>>()?,
            ),
            ExprKind::Quantified {
                quantifier,
                pattern,
            } => {
                let mut selected = Vec::new();
                for (index, search) in rule.detection.searches.iter().enumerate() {
                    if pattern.selects(&search.name.value) {
                        selected.push(self.search_at(rule, index, searches)?);
                    }
                }
                if selected.is_empty() {
                    return Err(ProblemKind::EmptyPattern(pattern.as_str().to_owned()));
                }
                match quantifier {
                    Quantifier::Any => Tree::Or(selected),
                    Quantifier::All => Tree::And(selected),
                }
            }
        })
    }

    /// A search identifier's tree, lowered once per variant.
    fn search_at(
        &mut self,
        rule: &SigmaRule,
        index: usize,
        searches: &mut [Option<Tree>],
    ) -> Result<Tree, ProblemKind> {
        if let Some(tree) = &searches[index] {
            return Ok(tree.clone());
        }
        let tree = self.search(&rule.detection.searches[index].search)?;
        searches[index] = Some(tree.clone());
        Ok(tree)
    }

    pub fn search(&mut self, search: &Search) -> Result<Tree, ProblemKind> {
        Ok(match search {
            Search::AllOf(items) => Tree::And(
                items
                    .iter()
                    .map(|i| self.item(i))
                    .collect::<Result<_, _>>()?,
            ),
            Search::AnyOf(alternatives) => Tree::Or(
                alternatives
                    .iter()
                    .map(|s| self.search(s))
                    .collect::<Result<_, _>>()?,
            ),
            Search::Keywords(item) => self.item(item)?,
        })
    }

    /// `field|modifiers: values`: values ORed (ANDed with `all`), negated with `neq`.
    pub fn item(&mut self, item: &DetectionItem) -> Result<Tree, ProblemKind> {
        let values = self.item_values(item)?;
        let joined = match item.join {
            ValueJoin::Any => Tree::Or(values),
            ValueJoin::All => Tree::And(values),
        };
        Ok(if item.negated {
            Tree::Not(Box::new(joined))
        } else {
            joined
        })
    }

    /// One tree per written value of an item (before `all`/`neq` combine them).
    pub fn item_values(&mut self, item: &DetectionItem) -> Result<Vec<Tree>, ProblemKind> {
        let target = match item.field_name() {
            None => Target::Field(AtomField::Keyword),
            Some(name) => self.resolve(name),
        };
        let keyword = item.field.is_none();
        let transform = item
            .field_name()
            .and_then(|name| self.variant.value_transform(name));
        item.values
            .iter()
            .map(|v| match (&transform, target) {
                (Some(transform), Target::Field(field)) => {
                    self.transformed(field, &v.value, transform)
                }
                _ => self.value(target, &v.value, keyword),
            })
            .collect()
    }

    /// A value of a field the source stores another way (pipeline `transforms:`), in the
    /// event's form: Security 4688 writes process ids in hex (`6772` is `0x1a74`) and
    /// integrity levels as mandatory-label SIDs (`High` is `S-1-16-12288`). A value with no
    /// such form (a part of a number, a pattern, an unknown level), and the transforms that
    /// only converters' data models use, are compared as written.
    fn transformed(
        &mut self,
        field: AtomField,
        value: &MatchValue,
        transform: &ValueTransform,
    ) -> Result<Tree, ProblemKind> {
        if let MatchValue::AnyOf(alternatives) = value {
            return Ok(Tree::Or(
                alternatives
                    .iter()
                    .map(|v| self.transformed(field, v, transform))
                    .collect::<Result<_, _>>()?,
            ));
        }
        let plain = match value {
            MatchValue::String { value, .. } => value.as_plain(),
            _ => None,
        };
        let event_text = match transform {
            ValueTransform::Hex => {
                let number = match value {
                    MatchValue::Number {
                        value: sigrun_rule::Number::Int(n),
                        ..
                    } => Some(*n),
                    _ => plain.and_then(|text| text.trim().parse::<i64>().ok()),
                };
                number.filter(|n| *n >= 0).map(|n| format!("0x{n:x}"))
            }
            ValueTransform::IntegrityLevelSid => plain
                .and_then(ValueTransform::integrity_level_sid)
                .map(str::to_owned),
            _ => None,
        };
        match event_text {
            Some(text) => Ok(Tree::Atom(self.table.literal(
                field,
                Anchor::Equals,
                &lower(&text),
            ))),
            None => self.value(Target::Field(field), value, false),
        }
    }

    /// What a Sigma field is called in the variant's events.
    fn resolve(&mut self, sigma_name: &str) -> Target {
        match self.variant.field(sigma_name) {
            FieldTarget::Names(names) => Target::Field(AtomField::Field(self.table.field(&names))),
            FieldTarget::SameName => {
                Target::Field(AtomField::Field(self.table.field(&[sigma_name.to_owned()])))
            }
            FieldTarget::Unavailable => Target::Unavailable,
        }
    }

    fn value(
        &mut self,
        target: Target,
        value: &MatchValue,
        keyword: bool,
    ) -> Result<Tree, ProblemKind> {
        if let MatchValue::AnyOf(alternatives) = value {
            return Ok(Tree::Or(
                alternatives
                    .iter()
                    .map(|v| self.value(target, v, keyword))
                    .collect::<Result<_, _>>()?,
            ));
        }
        let field = match target {
            Target::Unavailable => return Ok(Tree::Const(absent_result(value))),
            Target::Field(field) => field,
        };
        match value {
            MatchValue::String { value, cased } => {
                if !keyword && !value.has_placeholders() {
                    return Ok(Tree::Atom(self.string(field, value, *cased)));
                }
                let mut alternatives = Vec::new();
                for mut string in self.expand(value)? {
                    if keyword {
                        // A keyword is found anywhere in a value (the spec's "full text").
                        string.prepend_any();
                        string.append_any();
                    }
                    alternatives.push(Tree::Atom(self.string(field, &string, *cased)));
                }
                Ok(Tree::Or(alternatives))
            }
            // A keyword that YAML read as a number or bool is text to look for.
            MatchValue::Number { raw, .. } if keyword => {
                let text = lower(raw);
                Ok(Tree::Atom(self.table.literal(
                    field,
                    Anchor::Contains,
                    &text,
                )))
            }
            MatchValue::Bool(b) if keyword => {
                let text = if *b { "true" } else { "false" };
                Ok(Tree::Atom(self.table.literal(
                    field,
                    Anchor::Contains,
                    text,
                )))
            }
            other => self.other(field, other).map(Tree::Atom),
        }
    }

    /// Non-string values: one atom each.
    fn other(&mut self, field: AtomField, value: &MatchValue) -> Result<AtomId, ProblemKind> {
        let (key, matcher) = match value {
            MatchValue::Regex { pattern, flags } => {
                let key = MatcherKey::Regex(
                    pattern.clone(),
                    [flags.ignore_case, flags.multi_line, flags.dot_all],
                );
                let flags = *flags;
                let pattern = pattern.clone();
                return self.table.atom(field, key, move |table| {
                    // Parse now, in the flavour it is built in (errors make the rule a
                    // problem); build on first use.
                    let flavored = crate::regex_flavor::ascii_perl_classes(&pattern);
                    let hints = crate::regex_hint::analyze(&flavored, flags).map_err(|error| {
                        ProblemKind::Regex {
                            pattern: pattern.clone(),
                            error,
                        }
                    })?;
                    let hints = hints
                        .iter()
                        .map(|l| table.literal(field, Anchor::Contains, l))
                        .collect();
                    Ok((
                        Matcher::Regex(Box::new(LazyRegex::new(&pattern, flags))),
                        hints,
                    ))
                });
            }
            MatchValue::Number { value, raw } => {
                let key = NumKey::of(*value);
                let raw_lower: Box<str> = lower(raw).into();
                (
                    MatcherKey::Number(key, raw_lower.clone()),
                    Matcher::Number { key, raw_lower },
                )
            }
            MatchValue::Bool(b) => (MatcherKey::Bool(*b), Matcher::Bool(*b)),
            MatchValue::Null => (MatcherKey::Null, Matcher::Null),
            MatchValue::Exists(b) => (MatcherKey::Exists(*b), Matcher::Exists(*b)),
            MatchValue::Compare { op, value } => (
                MatcherKey::Compare(*op, value.as_f64().to_bits()),
                Matcher::Compare {
                    op: *op,
                    value: value.as_f64(),
                },
            ),
            MatchValue::TimePart { part, value } => (
                MatcherKey::TimePart(*part, *value),
                Matcher::TimePart {
                    part: *part,
                    value: *value,
                },
            ),
            MatchValue::Cidr(net) => (MatcherKey::Cidr(*net), Matcher::Cidr(*net)),
            MatchValue::FieldRef {
                field: other,
                position,
            } => {
                let other = match self.resolve(other) {
                    Target::Field(AtomField::Field(id)) => Some(id),
                    _ => None,
                };
                (
                    MatcherKey::FieldRef(other, *position),
                    Matcher::FieldRef {
                        other,
                        position: *position,
                    },
                )
            }
            MatchValue::String { .. } | MatchValue::AnyOf(_) => {
                unreachable!("strings and expansions are lowered by the caller")
            }
        };
        self.table
            .atom(field, key, |_| Ok::<_, ProblemKind>((matcher, Vec::new())))
    }

    /// The strings a value stands for once its placeholders are replaced.
    fn expand(&self, value: &SigmaString) -> Result<Vec<SigmaString>, ProblemKind> {
        if !value.has_placeholders() {
            return Ok(vec![value.clone()]);
        }
        let mut results = vec![SigmaString::default()];
        for part in value.parts() {
            match part {
                Part::Placeholder(name) => match self.pipeline.placeholder(name) {
                    Some(values) => {
                        results = results
                            .iter()
                            .flat_map(|prefix| {
                                values.iter().map(move |v| {
                                    // Pipeline values are Sigma strings: their wildcards
                                    // work, as in pySigma's value placeholders.
                                    let mut s = prefix.clone();
                                    SigmaString::parse(v)
                                        .parts()
                                        .iter()
                                        .for_each(|p| s.push(p.clone()));
                                    s
                                })
                            })
                            .collect();
                    }
                    None if self.placeholders == PlaceholderPolicy::Wildcard => {
                        results.iter_mut().for_each(|s| s.push(Part::AnyChars));
                    }
                    None => return Err(ProblemKind::UnknownPlaceholder(name.clone())),
                },
                other => results.iter_mut().for_each(|s| s.push(other.clone())),
            }
        }
        Ok(results)
    }

    /// A wildcard string: a literal atom when its wildcards are only `*` at the ends,
    /// otherwise a glob atom with its longest literal as a hint.
    fn string(&mut self, field: AtomField, value: &SigmaString, cased: bool) -> AtomId {
        let fold = |t: &str| if cased { t.to_owned() } else { lower(t) };
        let literal = match value.parts() {
            [] => Some((Anchor::Equals, "")),
            [Part::Text(t)] => Some((Anchor::Equals, t.as_str())),
            [Part::Text(t), Part::AnyChars] => Some((Anchor::Prefix, t.as_str())),
            [Part::AnyChars, Part::Text(t)] => Some((Anchor::Suffix, t.as_str())),
            [Part::AnyChars, Part::Text(t), Part::AnyChars] => Some((Anchor::Contains, t.as_str())),
            _ => None,
        };
        if let Some((anchor, text)) = literal {
            if !cased {
                return self.table.literal_folding(field, anchor, text);
            }
            let text = fold(text);
            let key = MatcherKey::CasedLiteral(anchor, text.as_str().into());
            let result: Result<AtomId, std::convert::Infallible> =
                self.table.atom(field, key, |table| {
                    let hint = (!text.is_empty())
                        .then(|| table.literal(field, Anchor::Contains, &lower(&text)))
                        .into_iter()
                        .collect();
                    Ok((Matcher::Literal(Literal::new(anchor, &text, true)), hint))
                });
            return match result {
                Ok(id) => id,
                Err(never) => match never {},
            };
        }
        let texts: Vec<String> = value
            .parts()
            .iter()
            .map(|p| match p {
                Part::Text(t) => fold(t),
                _ => String::new(),
            })
            .collect();
        let glob = Glob::new(value.parts().iter().zip(&texts).map(|(p, t)| match p {
            Part::Text(_) => GlobPart::Text(t),
            Part::OneChar => GlobPart::One,
            // Placeholders were expanded before; a leftover one can only mean "anything".
            Part::AnyChars | Part::Placeholder(_) => GlobPart::Star,
        }));
        let key = MatcherKey::Glob(glob.clone(), cased);
        let result: Result<AtomId, std::convert::Infallible> =
            self.table.atom(field, key, |table| {
                let hint = glob
                    .longest_text()
                    .map(|t| table.literal(field, Anchor::Contains, &lower(t)))
                    .into_iter()
                    .collect();
                Ok((Matcher::Glob { glob, cased }, hint))
            });
        match result {
            Ok(id) => id,
            Err(never) => match never {},
        }
    }
}

/// The value of a test on a field the source never has.
fn absent_result(value: &MatchValue) -> bool {
    match value {
        MatchValue::Null | MatchValue::Exists(false) => true,
        MatchValue::AnyOf(values) => values.iter().any(absent_result),
        _ => false,
    }
}
