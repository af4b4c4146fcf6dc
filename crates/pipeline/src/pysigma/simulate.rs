//! Running a pySigma pipeline symbolically for one scope (one class of rules).
//!
//! pySigma rewrites each rule; here the pipeline runs once per scope over *field names*
//! instead of rules. A Sigma field name is followed through every transformation as one or
//! more paths (a list mapping fans out). Names no transformation singles out all travel the
//! same way and are represented once, as templates `prefix{name}suffix`; a name becomes
//! "known" (tracked on its own) as soon as a transformation names it (a mapping key, an
//! `include_fields` entry). Detection items added by `add_condition` are followed the same
//! way, so a mapping after the condition renames the condition's field, as in pySigma.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::PipelineError;
use crate::model::ConditionValue;

use super::cond::Tri;
use super::items::{
    Action, FieldAtom, FieldSet, Item, ItemAtom, Mapped, RuleAtom, StateOp, StateTest,
};
use super::report::Label;
use super::scope::Scope;
use super::yaml::Value;

/// One current name of a field, with the ids of the items that processed the detection item
/// carrying it (pySigma's per-item record, which `processing_item_applied` reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Path {
    pub name: String,
    pub applied: BTreeSet<String>,
}

/// How every field no transformation named is renamed: `prefix` + name + `suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pub prefix: String,
    pub suffix: String,
    pub applied: BTreeSet<String>,
}

impl Template {
    fn apply(&self, name: &str) -> String {
        format!("{}{name}{}", self.prefix, self.suffix)
    }

    /// The part of `current` that stands for the original name, if `current` can come from
    /// this template.
    fn preimage<'n>(&self, current: &'n str) -> Option<&'n str> {
        let rest = current.strip_prefix(self.prefix.as_str())?;
        rest.strip_suffix(self.suffix.as_str())
    }
}

/// A condition `add_condition` added, with the current names of its field.
#[derive(Debug, Clone)]
pub(crate) struct Added {
    pub paths: Vec<Path>,
    pub values: Vec<ConditionValue>,
    pub label: Label,
}

/// What the pipeline does to the rules of one scope.
#[derive(Debug)]
pub(crate) struct Outcome<'a> {
    /// The `rule_failure` that fails these rules.
    pub failed: Option<&'a Item>,
    /// Paths of the Sigma names a transformation singled out.
    pub known: BTreeMap<String, Vec<Path>>,
    /// Paths of every other Sigma name.
    pub generic: Vec<Template>,
    /// The items that changed `generic`, for errors.
    pub generic_log: Vec<Label>,
    pub added: Vec<Added>,
    /// The final pipeline state and the item that set each key.
    pub state: BTreeMap<String, (Value, Label)>,
    /// Placeholder transformations applied, in order.
    pub placeholders: Vec<&'a Item>,
}

impl Outcome<'_> {
    /// The event fields a Sigma field becomes, in order, without repeats.
    pub(crate) fn field(&self, sigma_name: &str) -> Vec<String> {
        let names: Vec<String> = match self.known.get(sigma_name) {
            Some(paths) => paths.iter().map(|p| p.name.clone()).collect(),
            None => self.generic.iter().map(|t| t.apply(sigma_name)).collect(),
        };
        dedup(names)
    }

    /// The generic templates as `prefix{name}suffix` strings.
    pub(crate) fn templates(&self) -> Vec<String> {
        dedup(self.generic.iter().map(|t| t.apply("{name}")).collect())
    }
}

pub(crate) fn dedup(names: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(names.len());
    for name in names {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Runs `items` for the rules of `scope`.
pub(crate) fn simulate<'a>(scope: &Scope, items: &'a [Item]) -> Result<Outcome<'a>, PipelineError> {
    let mut sim = Sim {
        scope,
        logsource: None,
        applied: BTreeSet::new(),
        out: Outcome {
            failed: None,
            known: BTreeMap::new(),
            generic: vec![Template {
                prefix: String::new(),
                suffix: String::new(),
                applied: BTreeSet::new(),
            }],
            generic_log: Vec::new(),
            added: Vec::new(),
            state: BTreeMap::new(),
            placeholders: Vec::new(),
        },
    };
    sim.run(items)?;
    Ok(sim.out)
}

struct Sim<'s, 'a> {
    scope: &'s Scope,
    /// The logsource set by `change_logsource`; before that, logsource conditions are
    /// decided by the scope.
    logsource: Option<Scope>,
    /// Ids of the items applied to the rule.
    applied: BTreeSet<String>,
    out: Outcome<'a>,
}

/// A field name as the conditions see it: a concrete name, or "any name no transformation
/// singled out" (the generic templates).
#[derive(Clone, Copy)]
enum Name<'n> {
    Concrete(&'n str),
    Other,
}

impl<'a> Sim<'_, 'a> {
    fn run(&mut self, items: &'a [Item]) -> Result<(), PipelineError> {
        for item in items {
            if self.out.failed.is_some() {
                // pySigma raises at the failure: nothing after it matters.
                return Ok(());
            }
            let holds = item
                .rule
                .eval_rule(|atom| self.rule_atom(&item.label, atom))?;
            match holds {
                Tri::True => {}
                Tri::False => continue,
                Tri::Unknown => {
                    return Err(item.label.error("its rule conditions cannot be decided"));
                }
            }
            if let Some(id) = &item.label.id {
                self.applied.insert(id.clone());
            }
            self.apply(item)?;
        }
        Ok(())
    }

    fn apply(&mut self, item: &'a Item) -> Result<(), PipelineError> {
        match &item.action {
            Action::Map { entries, prefix } => {
                let mut referenced: Vec<&str> = Vec::new();
                if !prefix {
                    referenced.extend(entries.iter().map(|(key, _)| key.as_str()));
                }
                self.materialize(item, &referenced);
                let lookup = |name: &str| -> Option<Mapped> {
                    if *prefix {
                        entries.iter().find_map(|(src, dest)| {
                            name.strip_prefix(src.as_str())
                                .map(|rest| dest.with_suffix(rest))
                        })
                    } else {
                        entries
                            .iter()
                            .find(|(key, _)| key == name)
                            .map(|(_, dest)| dest.clone())
                    }
                };
                self.rename_concrete(item, &lookup)?;
                if *prefix {
                    self.prefix_map_generic(item, entries)?;
                }
            }
            Action::Prefix(prefix) => {
                self.materialize(item, &[]);
                self.rename_concrete(item, &|name| Some(Mapped::One(format!("{prefix}{name}"))))?;
                self.rename_generic(item, |t| Template {
                    prefix: format!("{prefix}{}", t.prefix),
                    ..t.clone()
                })?;
            }
            Action::Suffix(suffix) => {
                self.materialize(item, &[]);
                self.rename_concrete(item, &|name| Some(Mapped::One(format!("{name}{suffix}"))))?;
                self.rename_generic(item, |t| Template {
                    suffix: format!("{}{suffix}", t.suffix),
                    ..t.clone()
                })?;
            }
            Action::AddCondition(conditions) => {
                for (field, values) in conditions {
                    self.out.added.push(Added {
                        paths: vec![Path {
                            name: field.clone(),
                            applied: BTreeSet::new(),
                        }],
                        values: values.clone(),
                        label: item.label.clone(),
                    });
                }
            }
            Action::ChangeLogsource(scope) => self.logsource = Some(scope.clone()),
            Action::SetState { key, val } => {
                self.out
                    .state
                    .insert(key.clone(), (val.clone(), item.label.clone()));
            }
            Action::ValuePlaceholders(_) | Action::WildcardPlaceholders(_) => {
                self.out.placeholders.push(item);
            }
            Action::RuleFailure => self.out.failed = Some(item),
            Action::Nest(inner) => {
                // The nested pipeline starts with an empty state; what it sets is copied
                // into the enclosing state afterwards.
                let outer = std::mem::take(&mut self.out.state);
                self.run(inner)?;
                let nested = std::mem::replace(&mut self.out.state, outer);
                self.out.state.extend(nested);
            }
            Action::NoEffect => {}
        }
        Ok(())
    }

    fn rule_atom(&self, label: &Label, atom: &RuleAtom) -> Result<Tri, PipelineError> {
        Ok(Tri::of(match atom {
            RuleAtom::Logsource(pattern) => match &self.logsource {
                None => self.scope.implies(pattern),
                Some(changed) => changed.implies(pattern),
            },
            RuleAtom::Applied(id) => self.applied.contains(id),
            RuleAtom::State(test) => self.state_holds(label, test)?,
            RuleAtom::Constant(value) => *value,
        }))
    }

    fn state_holds(&self, label: &Label, test: &StateTest) -> Result<bool, PipelineError> {
        let Some((value, _)) = self.out.state.get(&test.key) else {
            return Ok(false);
        };
        let order = compare(value, &test.val);
        Ok(match test.op {
            StateOp::Eq => order == Some(std::cmp::Ordering::Equal),
            StateOp::Ne => order != Some(std::cmp::Ordering::Equal),
            op => {
                let Some(order) = order.filter(|_| comparable(value, &test.val)) else {
                    return Err(label.error(format!(
                        "processing_state cannot order state '{}' = {value} against {}",
                        test.key, test.val
                    )));
                };
                match op {
                    StateOp::Gte => order.is_ge(),
                    StateOp::Gt => order.is_gt(),
                    StateOp::Lte => order.is_le(),
                    _ => order.is_lt(),
                }
            }
        })
    }

    /// Whether `item` renames a detection item whose field is `name` and whose record of
    /// applied items is `applied`. pySigma first checks the detection item (detection item
    /// and field name conditions, with the item's own record), then the field name alone
    /// (field name conditions, where `processing_item_applied` reads a per-name record that
    /// only a rule's `fields:` list fills, so it is false for detection items).
    fn renames(
        &self,
        item: &Item,
        name: Name<'_>,
        applied: &BTreeSet<String>,
    ) -> Result<Tri, PipelineError> {
        let label = &item.label;
        let detection = item.detection.eval(|atom| {
            Ok::<_, PipelineError>(match atom {
                ItemAtom::Applied(id) => Tri::of(applied.contains(id)),
                ItemAtom::State(test) => Tri::of(self.state_holds(label, test)?),
            })
        })?;
        let field = |record: Option<&BTreeSet<String>>| {
            item.field.eval(|atom| {
                Ok::<_, PipelineError>(match atom {
                    FieldAtom::Include(set) | FieldAtom::Exclude(set) => {
                        let member = match (name, set) {
                            (Name::Concrete(name), set) => Tri::of(set.contains(name)),
                            (Name::Other, FieldSet::Plain(_)) => Tri::False,
                            (Name::Other, FieldSet::Regex(_)) => Tri::Unknown,
                        };
                        if matches!(atom, FieldAtom::Include(_)) {
                            member
                        } else {
                            member.not()
                        }
                    }
                    FieldAtom::Applied(id) => Tri::of(record.is_some_and(|r| r.contains(id))),
                    FieldAtom::State(test) => Tri::of(self.state_holds(label, test)?),
                })
            })
        };
        let gate = detection.and(field(Some(applied))?);
        Ok(gate.and(field(None)?))
    }

    /// Starts tracking, on its own, every Sigma name that reaches one of `names` (or a
    /// plain field of the item's field conditions) through the generic templates.
    fn materialize(&mut self, item: &Item, names: &[&str]) {
        let mut wanted: Vec<&str> = names.to_vec();
        for atom in &item.field.atoms {
            if let FieldAtom::Include(FieldSet::Plain(fields))
            | FieldAtom::Exclude(FieldSet::Plain(fields)) = atom
            {
                wanted.extend(fields.iter().map(String::as_str));
            }
        }
        for current in wanted {
            for template in &self.out.generic {
                let Some(sigma_name) = template.preimage(current) else {
                    continue;
                };
                if !self.out.known.contains_key(sigma_name) {
                    let paths = self
                        .out
                        .generic
                        .iter()
                        .map(|t| Path {
                            name: t.apply(sigma_name),
                            applied: t.applied.clone(),
                        })
                        .collect();
                    self.out.known.insert(sigma_name.to_owned(), paths);
                }
            }
        }
    }

    /// Applies a renaming to every concrete path (known names and added conditions).
    fn rename_concrete(
        &mut self,
        item: &Item,
        lookup: &dyn Fn(&str) -> Option<Mapped>,
    ) -> Result<(), PipelineError> {
        let mut known = std::mem::take(&mut self.out.known);
        let mut added = std::mem::take(&mut self.out.added);
        let result = (|| {
            for paths in known.values_mut() {
                *paths = self.rename_paths(item, lookup, paths)?;
            }
            for condition in &mut added {
                condition.paths = self.rename_paths(item, lookup, &condition.paths)?;
            }
            Ok(())
        })();
        self.out.known = known;
        self.out.added = added;
        result
    }

    fn rename_paths(
        &self,
        item: &Item,
        lookup: &dyn Fn(&str) -> Option<Mapped>,
        paths: &[Path],
    ) -> Result<Vec<Path>, PipelineError> {
        let mut out = Vec::with_capacity(paths.len());
        for path in paths {
            let target = match lookup(&path.name) {
                Some(target) => target,
                None => {
                    out.push(path.clone());
                    continue;
                }
            };
            if self.renames(item, Name::Concrete(&path.name), &path.applied)? != Tri::True {
                out.push(path.clone());
                continue;
            }
            match target {
                Mapped::One(name) => {
                    let mut applied = path.applied.clone();
                    applied.extend(item.label.id.iter().cloned());
                    out.push(Path { name, applied });
                }
                // pySigma replaces the item by an OR of copies, which start with an empty
                // record of applied items.
                Mapped::Many(names) => out.extend(names.into_iter().map(|name| Path {
                    name,
                    applied: BTreeSet::new(),
                })),
            }
        }
        Ok(out)
    }

    /// Applies a renaming of every name (prefix, suffix) to the generic templates.
    fn rename_generic(
        &mut self,
        item: &Item,
        rename: impl Fn(&Template) -> Template,
    ) -> Result<(), PipelineError> {
        let mut changed = false;
        let mut next = Vec::with_capacity(self.out.generic.len());
        for template in &self.out.generic {
            match self.renames(item, Name::Other, &template.applied)? {
                Tri::True => {
                    let mut renamed = rename(template);
                    renamed.applied.extend(item.label.id.iter().cloned());
                    next.push(renamed);
                    changed = true;
                }
                Tri::False => next.push(template.clone()),
                Tri::Unknown => return Err(undecided(item)),
            }
        }
        self.out.generic = next;
        if changed {
            self.out.generic_log.push(item.label.clone());
        }
        Ok(())
    }

    /// `field_name_prefix_mapping` over the generic templates: decidable only when each
    /// prefix to replace is already part of the template's fixed prefix.
    fn prefix_map_generic(
        &mut self,
        item: &Item,
        entries: &[(String, Mapped)],
    ) -> Result<(), PipelineError> {
        let mut changed = false;
        let mut next = Vec::with_capacity(self.out.generic.len());
        for template in &self.out.generic {
            let mut hit = None;
            for (src, dest) in entries {
                if src.len() <= template.prefix.len() {
                    if template.prefix.starts_with(src.as_str()) {
                        hit = Some((src, dest));
                        break;
                    }
                } else if src.starts_with(template.prefix.as_str()) {
                    return Err(item.label.error(format!(
                        "a sigrun pipeline cannot rename every field that starts with '{src}' \
                         (only fields it names, a prefix added to all of them, or fields a \
                         mapping named before)"
                    )));
                }
            }
            let Some((src, dest)) = hit else {
                next.push(template.clone());
                continue;
            };
            match self.renames(item, Name::Other, &template.applied)? {
                Tri::True => {}
                Tri::False => {
                    next.push(template.clone());
                    continue;
                }
                Tri::Unknown => return Err(undecided(item)),
            }
            changed = true;
            let rest = &template.prefix[src.len()..];
            match dest.with_suffix(rest) {
                Mapped::One(prefix) => {
                    let mut applied = template.applied.clone();
                    applied.extend(item.label.id.iter().cloned());
                    next.push(Template {
                        prefix,
                        suffix: template.suffix.clone(),
                        applied,
                    });
                }
                Mapped::Many(prefixes) => {
                    next.extend(prefixes.into_iter().map(|prefix| Template {
                        prefix,
                        suffix: template.suffix.clone(),
                        applied: BTreeSet::new(),
                    }))
                }
            }
        }
        self.out.generic = next;
        if changed {
            self.out.generic_log.push(item.label.clone());
        }
        Ok(())
    }
}

fn undecided(item: &Item) -> PipelineError {
    item.label.error(
        "its field name conditions (a regular expression) cannot be decided for every field \
         name, and a sigrun pipeline must rename all unnamed fields alike",
    )
}

/// Python's comparison of two state values, where it is defined.
fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Float(y)) => (*x as f64).partial_cmp(y),
        (Value::Float(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (x, y) if x == y => Some(std::cmp::Ordering::Equal),
        _ => None,
    }
}

/// Whether Python can order the two values (`<` on a number and a string raises).
fn comparable(a: &Value, b: &Value) -> bool {
    let numeric = |v: &Value| matches!(v, Value::Int(_) | Value::Float(_));
    (numeric(a) && numeric(b))
        || matches!(
            (a, b),
            (Value::Str(_), Value::Str(_)) | (Value::Bool(_), Value::Bool(_))
        )
}
