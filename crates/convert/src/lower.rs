//! Lowering: a rule's detection and condition, for one source variant of a pipeline (or for
//! no pipeline), into the target-independent query tree of [`crate::ir`].
//!
//! Semantics follow the hunt engine so that a converted query finds what `sigrun hunt` finds:
//! a keyword is searched anywhere in a value; a field the source does not carry is absent
//! (a test on it is false, `null` and `exists: false` are true) and the tree is folded.

use sigrun_pipeline::{
    ConditionValue, FieldTarget, HashColumns, Pipeline, SourceVariant, ValueMap, ValueTransform,
};
use sigrun_rule::condition::{Expr as CondExpr, ExprKind, Quantifier};
use sigrun_rule::value::MatchValue;
use sigrun_rule::{DetectionItem, Part, Search, SigmaRule, SigmaString, ValueJoin};

use crate::error::ConvertError;
use crate::ir::{Expr, Glob, Pred, Shape, Test, TextForm};

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
    /// Things the user should know about how values were rewritten (warnings).
    notes: Vec<String>,
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
            notes: Vec::new(),
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
        self.unavailable.sort();
        self.unavailable.dedup();
        if let Expr::Const(value) = expr {
            return Err(ConvertError::Constant {
                source_name: self.source_name(),
                value,
                fields: std::mem::take(&mut self.unavailable),
            });
        }
        let mut warnings = std::mem::take(&mut self.notes);
        if !self.unavailable.is_empty() {
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
                                        Expr::Test(Test::new(Some(entry.field().to_owned()), pred))
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
        let transform = item
            .field_name()
            .and_then(|name| self.variant.and_then(|v| v.value_transform(name)));
        if let Some(ValueTransform::HashColumns(columns)) = &transform {
            // The value names the column (`SHA256=...`): the field's own name plays no part.
            let mut values = Vec::with_capacity(item.values.len());
            for value in &item.values {
                values.push(self.hash_value(item, &value.value, columns)?);
            }
            return Ok(join(item, values));
        }
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
        let mut values = Vec::with_capacity(item.values.len());
        for value in &item.values {
            let mut per_field = Vec::with_capacity(fields.len());
            for field in &fields {
                per_field.push(self.value(
                    item,
                    field.as_deref(),
                    &value.value,
                    transform.as_ref(),
                )?);
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
        transform: Option<&ValueTransform>,
    ) -> Result<Expr, ConvertError> {
        let test = |pred: Pred| Expr::Test(Test::new(field.map(str::to_owned), pred));
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
        transform: &ValueTransform,
    ) -> Result<Expr, ConvertError> {
        if let MatchValue::AnyOf(alternatives) = value {
            // The alternatives of one written value (windash, base64offset), each rewritten.
            return Ok(Expr::or(
                alternatives
                    .iter()
                    .map(|v| self.transformed(item, field, v, transform))
                    .collect::<Result<_, _>>()?,
            ));
        }
        let sigma_field = item.field_name().unwrap_or_default().to_owned();
        let source_name = self.source_name();
        let fail = |name: &'static str, reason: String| ConvertError::Transform {
            field: sigma_field.clone(),
            transform: name,
            source_name: source_name.clone(),
            reason,
        };
        let test = |pred: Pred| Expr::Test(Test::new(field.map(str::to_owned), pred));
        let equals = |text: String| {
            test(Pred::Str {
                shape: Shape::Equals(text),
                cased: false,
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
                    MatchValue::String { value, .. } => value
                        .as_plain()
                        .and_then(ValueTransform::integrity_level_sid),
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
            ValueTransform::IntegerFromHex => match value {
                // Plain text is compared with the whole hex text: as a number when it is
                // that text of one, otherwise it never equals it.
                MatchValue::String {
                    value: string,
                    cased,
                } if string.as_plain().is_some() => {
                    let text = string.as_plain().unwrap_or_default();
                    match sysmon_hex(text, *cased) {
                        Some(n) => Ok(test(Pred::Number {
                            value: sigrun_rule::Number::Int(n),
                            raw: n.to_string(),
                        })),
                        None => {
                            self.notes.push(format!(
                                "source '{source_name}' stores '{sigma_field}' as an integer, which Sysmon logs as hex text ('0x3e7'): {} never equals that text, so the test is false",
                                value.describe()
                            ));
                            Ok(Expr::Const(false))
                        }
                    }
                }
                MatchValue::String { .. } | MatchValue::Regex { .. } => {
                    self.as_text(item, field, value, TextForm::Hex)
                }
                // A number in the rule is the number; null, exists and comparisons read the
                // integer as it is stored.
                MatchValue::Number { .. }
                | MatchValue::Null
                | MatchValue::Exists(_)
                | MatchValue::Compare { .. } => self.value(item, field, value, None),
                _ => Err(fail(
                    "an integer",
                    format!("{} does not apply to a number", value.describe()),
                )),
            },
            ValueTransform::DatetimeFromText => match value {
                MatchValue::String { .. } | MatchValue::Regex { .. } => {
                    self.as_text(item, field, value, TextForm::SysmonTime)
                }
                MatchValue::Null | MatchValue::Exists(_) | MatchValue::TimePart { .. } => {
                    self.value(item, field, value, None)
                }
                _ => Err(fail(
                    "a datetime",
                    format!(
                        "{} does not apply to a date and time; text (as Sysmon logs it), regex, time-part, null and exists tests do",
                        value.describe()
                    ),
                )),
            },
            ValueTransform::FileName => match value {
                MatchValue::String {
                    value: string,
                    cased,
                } if !string.has_placeholders() => {
                    match file_name_shape(Shape::from_globs(globs(string))) {
                        Some(shape) => Ok(test(Pred::Str {
                            shape,
                            cased: *cased,
                        })),
                        None => {
                            // The value needs the folder, which the source does not carry.
                            self.unavailable
                                .push(format!("{sigma_field} (folder path)"));
                            Ok(Expr::Const(false))
                        }
                    }
                }
                MatchValue::Regex { .. } => {
                    self.unavailable
                        .push(format!("{sigma_field} (folder path)"));
                    Ok(Expr::Const(false))
                }
                // The name is there exactly when the path is.
                MatchValue::Null | MatchValue::Exists(_) => self.value(item, field, value, None),
                _ => Err(fail(
                    "the file name of the path",
                    format!(
                        "only path patterns can be read from a file name, not {}",
                        value.describe()
                    ),
                )),
            },
            ValueTransform::ValueMap(map) => {
                let written = match value {
                    MatchValue::String {
                        value: string,
                        cased,
                    } => string.as_plain().map(|t| (t.to_owned(), *cased)),
                    MatchValue::Bool(b) => Some((b.to_string(), false)),
                    MatchValue::Number { raw, .. } => Some((raw.clone(), false)),
                    _ => None,
                };
                let Some((written, cased)) = written else {
                    return Err(fail(
                        "other values (a value map)",
                        format!(
                            "only whole values ({}) can be mapped, not {}",
                            known_values(map),
                            value.describe()
                        ),
                    ));
                };
                match map.entry(&written) {
                    Some((key, values)) if !cased || key == written => {
                        Ok(Expr::or(values.iter().cloned().map(equals).collect()))
                    }
                    _ => Err(fail(
                        "other values (a value map)",
                        format!(
                            "{} is none of the mapped values ({})",
                            value.describe(),
                            known_values(map)
                        ),
                    )),
                }
            }
            // Routed in `item` before any field is resolved.
            ValueTransform::HashColumns(columns) => self.hash_value(item, value, columns),
        }
    }

    /// A value compared with the text Sysmon logs for a field the source stores as another
    /// type: lowered as usual, each test marked with the text form the dialect must build.
    fn as_text(
        &mut self,
        item: &DetectionItem,
        field: Option<&str>,
        value: &MatchValue,
        form: TextForm,
    ) -> Result<Expr, ConvertError> {
        let mut expr = self.value(item, field, value, None)?;
        set_text_form(&mut expr, form);
        Ok(expr)
    }

    /// One value of a Sysmon `Hashes` item (`SHA1=...,MD5=...,IMPHASH=...`) on a source with
    /// a column per algorithm. `contains 'ALGO=HEX'` holds exactly when ALGO's hash starts
    /// with HEX (equals it, at the digest's full length); an algorithm without a column is a
    /// field the source does not carry.
    fn hash_value(
        &mut self,
        item: &DetectionItem,
        value: &MatchValue,
        columns: &HashColumns,
    ) -> Result<Expr, ConvertError> {
        let sigma_field = item.field_name().unwrap_or_default().to_owned();
        let source_name = self.source_name();
        let fail = |reason: String| ConvertError::Transform {
            field: sigma_field.clone(),
            transform: "one column per hash algorithm",
            source_name: source_name.clone(),
            reason,
        };
        let pair = match value {
            MatchValue::AnyOf(alternatives) => {
                let mut out = Vec::with_capacity(alternatives.len());
                for alternative in alternatives {
                    out.push(self.hash_value(item, alternative, columns)?);
                }
                return Ok(Expr::or(out));
            }
            MatchValue::String {
                value: string,
                cased: false,
            } if !string.has_placeholders() => match Shape::from_globs(globs(string)) {
                Shape::Contains(text) => hash_pair(&text).map(|(a, d)| (a, d.to_owned())),
                _ => None,
            },
            _ => None,
        };
        let Some((algorithm, digest)) = pair else {
            return Err(fail(format!(
                "only `contains` of one ALGORITHM=hex pair (algorithms {}) splits into a column, not {}",
                SYSMON_HASHES
                    .iter()
                    .map(|(name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", "),
                value.describe()
            )));
        };
        let Some(column) = columns.column(algorithm) else {
            self.unavailable
                .push(format!("{sigma_field} ({algorithm})"));
            return Ok(Expr::Const(false));
        };
        let full_length = SYSMON_HASHES
            .iter()
            .any(|(name, length)| *name == algorithm && *length == digest.len());
        let shape = if full_length {
            Shape::Equals(digest)
        } else {
            Shape::StartsWith(digest)
        };
        Ok(Expr::Test(Test::new(
            Some(column.to_owned()),
            Pred::Str {
                shape,
                cased: false,
            },
        )))
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

/// A path pattern as a pattern on the path's file name (the text after its last `\`), when
/// the two match the same paths: `endswith '\name'` is `name` equal, `endswith 'ame.exe'`
/// (no backslash) is the name ending so. Anything else needs the folder: `None`.
fn file_name_shape(shape: Shape) -> Option<Shape> {
    let Shape::EndsWith(tail) = shape else {
        return None;
    };
    match tail.strip_prefix('\\') {
        Some(name) if !name.is_empty() && !name.contains('\\') => {
            Some(Shape::Equals(name.to_owned()))
        }
        None if !tail.contains('\\') => Some(Shape::EndsWith(tail)),
        _ => None,
    }
}

/// Marks every test of a lowered value as compared with the field's text form.
fn set_text_form(expr: &mut Expr, form: TextForm) {
    match expr {
        Expr::Test(test) => test.as_text = Some(form),
        Expr::And(items) | Expr::Or(items) => {
            items.iter_mut().for_each(|e| set_text_form(e, form));
        }
        Expr::Not(inner) => set_text_form(inner, form),
        Expr::Const(_) => {}
    }
}

/// The integer whose Sysmon text (`0x` and lower-case hex digits, no leading zeros) `text`
/// is, compared ignoring case unless `cased`; `None` when `text` is no such text.
fn sysmon_hex(text: &str, cased: bool) -> Option<i64> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X").filter(|_| !cased))?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_hexdigit())
        && (digits == "0" || !digits.starts_with('0'))
        && (!cased || !digits.bytes().any(|b| b.is_ascii_uppercase()));
    if !canonical {
        return None;
    }
    // LUIDs are unsigned 64-bit; the column is a signed long holding the same bits.
    u64::from_str_radix(digits, 16).ok().map(|n| n as i64)
}

/// Sysmon's hash algorithms and their hex digest lengths (`Hashes` lists them as `NAME=hex`).
const SYSMON_HASHES: [(&str, usize); 4] =
    [("MD5", 32), ("SHA1", 40), ("SHA256", 64), ("IMPHASH", 32)];

/// `ALGORITHM=hex` of a Sysmon algorithm (upper-case name), with at least one hex digit.
fn hash_pair(text: &str) -> Option<(&'static str, &str)> {
    let (name, digest) = text.split_once('=')?;
    let (algorithm, _) = SYSMON_HASHES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name.trim()))?;
    (!digest.is_empty() && digest.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some((*algorithm, digest))
}

/// The Sigma values of a value map, quoted, for messages.
fn known_values(map: &ValueMap) -> String {
    map.sigma_values()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
