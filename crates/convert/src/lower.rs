//! Lowering: a rule's detection and condition, for one source variant of a pipeline (or for
//! no pipeline), into the target-independent query tree of [`crate::ir`].
//!
//! Semantics follow the hunt engine so that a converted query finds what `sigrun hunt` finds:
//! a keyword is searched anywhere in a value; a field the source does not carry is absent
//! (a test on it is false, `null` and `exists: false` are true) and the tree is folded.

use sigrun_pipeline::{ConditionValue, FieldTarget, Pipeline, SourceVariant, ValueTransform};
use sigrun_rule::condition::{Expr as CondExpr, ExprKind, Quantifier};
use sigrun_rule::value::MatchValue;
use sigrun_rule::{DetectionItem, Part, Search, SigmaRule, SigmaString, ValueJoin};

use crate::error::ConvertError;
use crate::ir::{Expr, Glob, Pred, Shape, Test};

/// What to do with a `%placeholder%` the pipeline has no values for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlaceholderPolicy {
    /// Reject the rule, as the Sigma specification requires.
    #[default]
    Reject,
    /// The placeholder matches anything (`*`), pySigma's `wildcard_placeholders`.
    Wildcard,
}

/// The result of lowering one rule for one variant.
#[derive(Debug)]
pub(crate) struct Lowered {
    /// The rule's condition, simplified, without the source's own conditions.
    pub rule: Expr,
    /// The source's conditions (which events belong to it), `None` when it selects every
    /// event or when there is no pipeline.
    pub source: Option<Expr>,
    pub warnings: Vec<String>,
}

pub(crate) struct Lowerer<'a> {
    pub pipeline: Option<&'a Pipeline>,
    pub variant: Option<SourceVariant<'a>>,
    pub placeholders: PlaceholderPolicy,
    /// Sigma fields the variant does not carry that the rule used.
    unavailable: Vec<String>,
}

impl<'a> Lowerer<'a> {
    pub fn new(
        pipeline: Option<&'a Pipeline>,
        variant: Option<SourceVariant<'a>>,
        placeholders: PlaceholderPolicy,
    ) -> Self {
        Lowerer {
            pipeline,
            variant,
            placeholders,
            unavailable: Vec::new(),
        }
    }

    fn source_name(&self) -> String {
        self.variant
            .map_or_else(|| "(no pipeline)".to_owned(), |v| v.name().to_owned())
    }

    /// Lowers the whole rule: each condition of a list is ORed with the others.
    pub fn rule(mut self, rule: &SigmaRule) -> Result<Lowered, ConvertError> {
        let detection = &rule.detection;
        if detection.conditions.is_empty() {
            return Err(ConvertError::Rule("the rule has no condition".to_owned()));
        }
        if detection.conditions.iter().any(|c| c.aggregation.is_some()) {
            return Err(ConvertError::Rule(
                "Sigma 1 aggregations ('| count() by ...') are obsolete and not converted; use a correlation rule".to_owned(),
            ));
        }
        let mut roots = Vec::with_capacity(detection.conditions.len());
        for condition in &detection.conditions {
            roots.push(self.expr(rule, &condition.expr)?);
        }
        let expr = Expr::or(roots).simplify();
        if let Expr::Const(value) = expr {
            return Err(ConvertError::Constant {
                source_name: self.source_name(),
                value,
                fields: std::mem::take(&mut self.unavailable),
            });
        }
        let mut warnings = Vec::new();
        if !self.unavailable.is_empty() {
            self.unavailable.sort();
            self.unavailable.dedup();
            warnings.push(format!(
                "source '{}' does not carry {}; tests on them were treated as on an absent field",
                self.source_name(),
                self.unavailable
                    .iter()
                    .map(|f| format!("'{f}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(Lowered {
            rule: expr.group_lists(),
            source: self.source_conditions(),
            warnings,
        })
    }

    /// The variant's event selection: any condition set, each entry of a set, any value of
    /// an entry. Text compares case-insensitively, integers numerically.
    fn source_conditions(&self) -> Option<Expr> {
        let variant = self.variant?;
        let sets: Vec<Expr> = variant
            .conditions()
            .iter()
            .map(|set| {
                Expr::and(
                    set.entries()
                        .iter()
                        .map(|entry| {
                            Expr::or(
                                entry
                                    .values()
                                    .iter()
                                    .map(|value| {
                                        let pred = match value {
                                            ConditionValue::Text(text) => Pred::Str {
                                                shape: Shape::Equals(text.clone()),
                                                cased: false,
                                            },
                                            ConditionValue::Integer(i) => Pred::Number {
                                                value: sigrun_rule::Number::Int(*i),
                                                raw: i.to_string(),
                                            },
                                        };
                                        Expr::Test(Test {
                                            field: Some(entry.field().to_owned()),
                                            pred,
                                        })
                                    })
                                    .collect(),
                            )
                        })
                        .collect(),
                )
            })
            .collect();
        match Expr::or(sets).simplify() {
            Expr::Const(_) => None,
            expr => Some(expr.group_lists()),
        }
    }

    fn expr(&mut self, rule: &SigmaRule, expr: &CondExpr) -> Result<Expr, ConvertError> {
        Ok(match &expr.kind {
            ExprKind::Identifier(name) => {
                let search = rule
                    .detection
                    .search(name)
                    .ok_or_else(|| ConvertError::UnknownIdentifier(name.clone()))?;
                self.search(&search.search)?
            }
            ExprKind::Not(inner) => Expr::not(self.expr(rule, inner)?),
            ExprKind::And(items) => Expr::and(
                items
                    .iter()
                    .map(|i| self.expr(rule, i))
                    .collect::<Result<_, _>>()?,
            ),
            ExprKind::Or(items) => Expr::or(
                items
                    .iter()
                    .map(|i| self.expr(rule, i))
                    .collect::<Result<_, _>>()?,
            ),
            ExprKind::Quantified {
                quantifier,
                pattern,
            } => {
                let mut selected = Vec::new();
                for search in &rule.detection.searches {
                    if pattern.selects(&search.name.value) {
                        selected.push(self.search(&search.search)?);
                    }
                }
                if selected.is_empty() {
                    return Err(ConvertError::EmptyPattern(pattern.as_str().to_owned()));
                }
                match quantifier {
                    Quantifier::Any => Expr::or(selected),
                    Quantifier::All => Expr::and(selected),
                }
            }
        })
    }

    fn search(&mut self, search: &Search) -> Result<Expr, ConvertError> {
        Ok(match search {
            Search::AllOf(items) => Expr::and(
                items
                    .iter()
                    .map(|i| self.item(i))
                    .collect::<Result<_, _>>()?,
            ),
            Search::AnyOf(alternatives) => Expr::or(
                alternatives
                    .iter()
                    .map(|s| self.search(s))
                    .collect::<Result<_, _>>()?,
            ),
            Search::Keywords(item) => self.item(item)?,
        })
    }

    /// `field|modifiers: values`: values ORed (ANDed with `all`), negated with `neq`.
    fn item(&mut self, item: &DetectionItem) -> Result<Expr, ConvertError> {
        let fields = match item.field_name() {
            None => vec![None],
            Some(name) => match self.resolve(name) {
                Some(names) => names.into_iter().map(Some).collect(),
                None => {
                    self.unavailable.push(name.to_owned());
                    let values = item
                        .values
                        .iter()
                        .map(|v| Expr::Const(absent_result(&v.value)))
                        .collect();
                    return Ok(join(item, values));
                }
            },
        };
        let transform = item
            .field_name()
            .and_then(|name| self.variant.and_then(|v| v.value_transform(name)));
        let mut values = Vec::with_capacity(item.values.len());
        for value in &item.values {
            let mut per_field = Vec::with_capacity(fields.len());
            for field in &fields {
                per_field.push(self.value(item, field.as_deref(), &value.value, transform)?);
            }
            values.push(Expr::or(per_field));
        }
        Ok(join(item, values))
    }

    /// The event field names of a Sigma field; `None` when the source does not carry it.
    fn resolve(&self, sigma_name: &str) -> Option<Vec<String>> {
        let Some(variant) = self.variant else {
            return Some(vec![sigma_name.to_owned()]);
        };
        match variant.field(sigma_name) {
            FieldTarget::Names(names) => Some(names.into_owned()),
            FieldTarget::SameName => Some(vec![sigma_name.to_owned()]),
            FieldTarget::Unavailable => None,
        }
    }

    fn value(
        &mut self,
        item: &DetectionItem,
        field: Option<&str>,
        value: &MatchValue,
        transform: Option<ValueTransform>,
    ) -> Result<Expr, ConvertError> {
        let test = |pred: Pred| {
            Expr::Test(Test {
                field: field.map(str::to_owned),
                pred,
            })
        };
        let keyword = field.is_none();
        if let Some(transform) = transform {
            return self.transformed(item, field, value, transform);
        }
        Ok(match value {
            MatchValue::AnyOf(alternatives) => Expr::or(
                alternatives
                    .iter()
                    .map(|v| self.value(item, field, v, transform))
                    .collect::<Result<_, _>>()?,
            ),
            MatchValue::String { value, cased } => {
                let mut alternatives = Vec::new();
                for string in self.expand(value)? {
                    let mut globs = globs(&string);
                    if keyword {
                        // A keyword is found anywhere in a value (the spec's "full text").
                        if globs.first() != Some(&Glob::Any) {
                            globs.insert(0, Glob::Any);
                        }
                        if globs.last() != Some(&Glob::Any) {
                            globs.push(Glob::Any);
                        }
                    }
                    alternatives.push(test(Pred::Str {
                        shape: Shape::from_globs(globs),
                        cased: *cased,
                    }));
                }
                Expr::or(alternatives)
            }
            // A keyword that YAML read as a number or a boolean is text to look for.
            MatchValue::Number { raw, .. } if keyword => test(Pred::Str {
                shape: Shape::Contains(raw.clone()),
                cased: false,
            }),
            MatchValue::Bool(b) if keyword => test(Pred::Str {
                shape: Shape::Contains(b.to_string()),
                cased: false,
            }),
            MatchValue::Number { value, raw } => test(Pred::Number {
                value: *value,
                raw: raw.clone(),
            }),
            MatchValue::Bool(b) => test(Pred::Bool(*b)),
            MatchValue::Null => test(Pred::Null),
            MatchValue::Regex { pattern, flags } => test(Pred::Regex {
                pattern: pattern.clone(),
                flags: *flags,
            }),
            MatchValue::Compare { op, value } => test(Pred::Compare {
                op: *op,
                value: *value,
            }),
            MatchValue::TimePart { part, value } => test(Pred::TimePart {
                part: *part,
                value: *value,
            }),
            MatchValue::Cidr(net) => test(Pred::Cidr(*net)),
            MatchValue::Exists(b) => test(Pred::Exists(*b)),
            MatchValue::FieldRef {
                field: other,
                position,
            } => match self.resolve(other) {
                None => {
                    self.unavailable.push(other.clone());
                    Expr::Const(false)
                }
                Some(names) => Expr::or(
                    names
                        .into_iter()
                        .map(|name| {
                            test(Pred::FieldRef {
                                field: name,
                                position: *position,
                            })
                        })
                        .collect(),
                ),
            },
        })
    }

    /// A value of a field whose source stores it differently (pipeline `transforms:`).
    fn transformed(
        &mut self,
        item: &DetectionItem,
        field: Option<&str>,
        value: &MatchValue,
        transform: ValueTransform,
    ) -> Result<Expr, ConvertError> {
        let sigma_field = item.field_name().unwrap_or_default().to_owned();
        let fail = |name: &'static str, reason: String| ConvertError::Transform {
            field: sigma_field.clone(),
            transform: name,
            source_name: self.source_name(),
            reason,
        };
        let equals = |text: String| {
            Expr::Test(Test {
                field: field.map(str::to_owned),
                pred: Pred::Str {
                    shape: Shape::Equals(text),
                    cased: false,
                },
            })
        };
        match transform {
            ValueTransform::Hex => {
                let number = match value {
                    MatchValue::Number {
                        value: sigrun_rule::Number::Int(i),
                        ..
                    } => Some(*i),
                    MatchValue::String { value, .. } => {
                        value.as_plain().and_then(|t| t.trim().parse::<i64>().ok())
                    }
                    _ => None,
                };
                match number {
                    Some(n) if n >= 0 => Ok(equals(format!("0x{n:x}"))),
                    _ => Err(fail(
                        "hexadecimal",
                        format!(
                            "only a whole number can be rewritten as hex, not {}",
                            value.describe()
                        ),
                    )),
                }
            }
            ValueTransform::IntegrityLevelSid => {
                let sid = match value {
                    MatchValue::String { value, .. } => value.as_plain().and_then(integrity_sid),
                    _ => None,
                };
                match sid {
                    Some(sid) => Ok(equals(sid.to_owned())),
                    None => Err(fail(
                        "a mandatory-label SID",
                        format!(
                            "only the level names Untrusted, Low, Medium, MediumPlus, High and System map to a SID, not {}",
                            value.describe()
                        ),
                    )),
                }
            }
            ValueTransform::RegistryNativePath => Err(fail(
                "a native registry key path",
                "converters do not rewrite HKLM\\... values into \\REGISTRY\\MACHINE\\... keys"
                    .to_owned(),
            )),
        }
    }

    /// A string's placeholders replaced by the pipeline's values (every combination).
    fn expand(&self, value: &SigmaString) -> Result<Vec<SigmaString>, ConvertError> {
        if !value.has_placeholders() {
            return Ok(vec![value.clone()]);
        }
        let mut out = vec![SigmaString::default()];
        for part in value.parts() {
            let Part::Placeholder(name) = part else {
                for string in &mut out {
                    string.push(part.clone());
                }
                continue;
            };
            let values = self.pipeline.and_then(|p| p.placeholder(name));
            match (values, self.placeholders) {
                (Some(values), _) if !values.is_empty() => {
                    let mut next = Vec::with_capacity(out.len() * values.len());
                    for prefix in &out {
                        for v in values {
                            let mut s = prefix.clone();
                            for p in SigmaString::parse(v).parts() {
                                s.push(p.clone());
                            }
                            next.push(s);
                        }
                    }
                    out = next;
                }
                (_, PlaceholderPolicy::Wildcard) => {
                    for string in &mut out {
                        string.push(Part::AnyChars);
                    }
                }
                (_, PlaceholderPolicy::Reject) => {
                    return Err(ConvertError::UndefinedPlaceholder {
                        name: name.clone(),
                        pipeline: self.pipeline.map(|p| p.name().to_owned()),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// An item's per-value expressions joined by its list modifiers.
fn join(item: &DetectionItem, values: Vec<Expr>) -> Expr {
    let joined = match item.join {
        ValueJoin::Any => Expr::or(values),
        ValueJoin::All => Expr::and(values),
    };
    if item.negated {
        Expr::not(joined)
    } else {
        joined
    }
}

/// A test on a field the event does not have: only `null` and `exists: false` hold.
fn absent_result(value: &MatchValue) -> bool {
    match value {
        MatchValue::Null | MatchValue::Exists(false) => true,
        MatchValue::AnyOf(values) => values.iter().any(absent_result),
        _ => false,
    }
}

/// The glob pieces of a placeholder-free Sigma string.
fn globs(string: &SigmaString) -> Vec<Glob> {
    string
        .parts()
        .iter()
        .map(|part| match part {
            Part::Text(t) => Glob::Text(t.clone()),
            Part::AnyChars | Part::Placeholder(_) => Glob::Any,
            Part::OneChar => Glob::One,
        })
        .collect()
}

/// The mandatory-label SID of an integrity level name (Windows `S-1-16-*`).
fn integrity_sid(level: &str) -> Option<&'static str> {
    const LEVELS: [(&str, &str); 6] = [
        ("untrusted", "S-1-16-0"),
        ("low", "S-1-16-4096"),
        ("medium", "S-1-16-8192"),
        ("mediumplus", "S-1-16-8448"),
        ("high", "S-1-16-12288"),
        ("system", "S-1-16-16384"),
    ];
    LEVELS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(level.trim()))
        .map(|(_, sid)| *sid)
}
