//! From the per-scope outcomes to one sigrun [`Pipeline`]: one source per scope that differs
//! from its parent, pipeline-wide renames, a fallback template and placeholders; refusing
//! whatever sigrun's model cannot say exactly.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::PipelineError;
use crate::model::{Condition, ConditionSet, ConditionValue, Pipeline, Source, TargetInfo};

use super::TranslationWarning;
use super::items::{Action, FieldAtom, Item, ItemAtom, PipelineFile, RuleAtom};
use super::report::{Label, file_error};
use super::scope::{MAX_SCOPES, Scope, closure};
use super::simulate::{Added, Outcome, dedup, simulate};
use super::yaml::{Node, Value, position};

/// More condition sets than this for one source means the conditions fan out explosively.
const MAX_CONDITION_SETS: usize = 1024;

/// State keys that pySigma backends read as the query's table and index.
const TABLE_KEY: &str = "query_table";
const INDEX_KEY: &str = "index";

/// Translates the files (already in pySigma's order: by priority, then as given).
pub(crate) fn build(
    files: Vec<PipelineFile>,
    warnings: &mut Vec<TranslationWarning>,
) -> Result<Pipeline, PipelineError> {
    let origin = files.last().map(|f| f.file.to_string()).unwrap_or_default();
    let name = files
        .iter()
        .map(|f| f.name.clone().unwrap_or_else(|| stem(&f.file)))
        .collect::<Vec<_>>()
        .join("+");
    let mut vars: BTreeMap<String, (String, Node)> = BTreeMap::new();
    let mut items: Vec<Item> = Vec::new();
    for file in files {
        for (var, node) in file.vars {
            vars.insert(var, (file.file.to_string(), node));
        }
        items.extend(file.items);
    }

    warn_unused_state(&items, warnings);

    let mut patterns = BTreeSet::new();
    collect_patterns(&items, &mut patterns);
    let Some(scopes) = closure(&patterns) else {
        return Err(file_error(
            &origin,
            None,
            format!(
                "the logsource conditions combine into more than {MAX_SCOPES} classes of rules"
            ),
        ));
    };
    let outcomes: Vec<Outcome<'_>> = scopes
        .iter()
        .map(|scope| simulate(scope, &items))
        .collect::<Result<_, _>>()?;

    check_failures(&scopes, &outcomes)?;
    let kept_before_pruning: Vec<usize> = (0..scopes.len())
        .filter(|&i| outcomes[i].failed.is_none())
        .collect();

    let mut sigma_names: BTreeSet<&str> = BTreeSet::new();
    for &i in &kept_before_pruning {
        sigma_names.extend(outcomes[i].known.keys().map(String::as_str));
    }
    let mut contents = BTreeMap::new();
    for &i in &kept_before_pruning {
        contents.insert(i, content(&scopes[i], &outcomes[i], &sigma_names)?);
    }
    let kept = prune(&scopes, &kept_before_pruning, &contents);

    let fallback = fallback(&kept, &outcomes)?;
    let placeholders = placeholders(&kept, &outcomes, &vars)?;

    let default = |name: &str| -> Vec<String> {
        match &fallback {
            Some(templates) => templates
                .iter()
                .map(|t| t.replace("{name}", name))
                .collect(),
            None => vec![name.to_owned()],
        }
    };
    let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if kept.first() == Some(&0) {
        // The empty scope (index 0) serves every rule no other source takes: its renames
        // become the pipeline-wide ones.
        for (name, targets) in sigma_names.iter().zip(&contents[&0].fields) {
            if *targets != default(name) {
                fields.insert((*name).to_owned(), targets.clone());
            }
        }
    }
    let mut sources = Vec::with_capacity(kept.len());
    for &i in &kept {
        let content = &contents[&i];
        let mut source_fields = BTreeMap::new();
        for (name, targets) in sigma_names.iter().zip(&content.fields) {
            let inherited = fields.get(*name).cloned().unwrap_or_else(|| default(name));
            if *targets != inherited {
                source_fields.insert((*name).to_owned(), targets.clone());
            }
        }
        sources.push(Source {
            name: scopes[i].to_string(),
            description: None,
            logsource: scopes[i].pattern(),
            conditions: content.conditions.clone(),
            fields: source_fields,
            unavailable: BTreeSet::new(),
            transforms: BTreeMap::new(),
            target: content.target.clone(),
        });
    }

    Ok(Pipeline {
        name,
        description: Some("translated from a pySigma processing pipeline".to_owned()),
        sources,
        fields,
        fallback_field: fallback,
        placeholders,
        remove_sources: Vec::new(),
        origin,
    })
}

/// The file name without folders and extension, as the name of an unnamed pipeline.
fn stem(file: &str) -> String {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let stem = base
        .strip_suffix(".yml")
        .or_else(|| base.strip_suffix(".yaml"))
        .unwrap_or(base);
    if stem.is_empty() {
        "pysigma".to_owned()
    } else {
        stem.to_owned()
    }
}

fn collect_patterns(items: &[Item], out: &mut BTreeSet<Scope>) {
    for item in items {
        for atom in &item.rule.atoms {
            if let RuleAtom::Logsource(pattern) = atom {
                out.insert(pattern.clone());
            }
        }
        if let Action::Nest(inner) = &item.action {
            collect_patterns(inner, out);
        }
    }
}

/// `set_state` keys other than the table and index only matter to `processing_state`
/// conditions; a key no condition reads is meant for a pySigma backend and lost here.
fn warn_unused_state(items: &[Item], warnings: &mut Vec<TranslationWarning>) {
    fn read_keys(items: &[Item], keys: &mut BTreeSet<String>) {
        for item in items {
            for atom in &item.rule.atoms {
                if let RuleAtom::State(test) = atom {
                    keys.insert(test.key.clone());
                }
            }
            for atom in &item.detection.atoms {
                if let ItemAtom::State(test) = atom {
                    keys.insert(test.key.clone());
                }
            }
            for atom in &item.field.atoms {
                if let FieldAtom::State(test) = atom {
                    keys.insert(test.key.clone());
                }
            }
            if let Action::Nest(inner) = &item.action {
                read_keys(inner, keys);
            }
        }
    }
    fn warn(items: &[Item], read: &BTreeSet<String>, warnings: &mut Vec<TranslationWarning>) {
        for item in items {
            match &item.action {
                Action::SetState { key, .. }
                    if key != TABLE_KEY && key != INDEX_KEY && !read.contains(key) =>
                {
                    warnings.push(item.label.warning(format!(
                        "ignored: state '{key}' is read by no condition, and sigrun gives a \
                         meaning only to '{TABLE_KEY}' (the source's table) and '{INDEX_KEY}' \
                         (its index)"
                    )));
                }
                Action::Nest(inner) => warn(inner, read, warnings),
                _ => {}
            }
        }
    }
    let mut read = BTreeSet::new();
    read_keys(items, &mut read);
    warn(items, &read, warnings);
}

/// Rules of a failed scope must end up unmapped: no broader scope may convert them.
fn check_failures(scopes: &[Scope], outcomes: &[Outcome<'_>]) -> Result<(), PipelineError> {
    for (i, outcome) in outcomes.iter().enumerate() {
        let Some(failure) = outcome.failed else {
            continue;
        };
        if let Some(broader) = (0..scopes.len())
            .find(|&j| j != i && scopes[i].implies(&scopes[j]) && outcomes[j].failed.is_none())
        {
            return Err(failure.label.error(format!(
                "it fails rules with logsource {} but not those with the broader logsource {}; \
                 sigrun can leave a logsource unmapped only together with every broader one",
                scopes[i], scopes[broader]
            )));
        }
    }
    Ok(())
}

/// What a source says, for comparing a scope with its parent.
#[derive(Debug, PartialEq)]
struct Content {
    /// Per Sigma name of the shared list, the event fields.
    fields: Vec<Vec<String>>,
    templates: Vec<String>,
    conditions: Vec<ConditionSet>,
    target: Option<TargetInfo>,
    placeholders: Vec<Label>,
}

fn content(
    scope: &Scope,
    outcome: &Outcome<'_>,
    sigma_names: &BTreeSet<&str>,
) -> Result<Content, PipelineError> {
    Ok(Content {
        fields: sigma_names.iter().map(|name| outcome.field(name)).collect(),
        templates: outcome.templates(),
        conditions: condition_sets(scope, &outcome.added)?,
        target: target(outcome)?,
        placeholders: outcome
            .placeholders
            .iter()
            .map(|item| item.label.clone())
            .collect(),
    })
}

/// The conditions `add_condition` added, ANDed: one set per combination of the names a
/// condition field was renamed to (a list mapping makes it "any of these fields"). Two
/// conditions on one field keep the values both allow; when none is left, both entries stay,
/// and the set selects no event, as pySigma's query matches none.
fn condition_sets(scope: &Scope, added: &[Added]) -> Result<Vec<ConditionSet>, PipelineError> {
    let mut sets: Vec<Vec<(String, Vec<ConditionValue>)>> = vec![Vec::new()];
    for condition in added {
        let names = dedup(condition.paths.iter().map(|p| p.name.clone()).collect());
        let mut next = Vec::with_capacity(sets.len() * names.len());
        for set in &sets {
            for name in &names {
                let mut set = set.clone();
                let both: Option<Vec<ConditionValue>> = set
                    .iter()
                    .find(|(field, _)| field == name)
                    .map(|(_, existing)| {
                        existing
                            .iter()
                            .filter(|v| condition.values.iter().any(|w| same_value(v, w)))
                            .cloned()
                            .collect()
                    });
                match both {
                    Some(both) if !both.is_empty() => {
                        for (field, values) in &mut set {
                            if field == name {
                                values.clone_from(&both);
                            }
                        }
                    }
                    _ => set.push((name.clone(), condition.values.clone())),
                }
                if !next.contains(&set) {
                    next.push(set);
                }
            }
        }
        if next.len() > MAX_CONDITION_SETS {
            return Err(condition.label.error(format!(
                "for rules with logsource {scope}, the conditions fan out into more than \
                 {MAX_CONDITION_SETS} combinations"
            )));
        }
        sets = next;
    }
    Ok(sets
        .into_iter()
        .map(|mut set| {
            set.sort_by(|a, b| a.0.cmp(&b.0));
            ConditionSet {
                entries: set
                    .into_iter()
                    .map(|(field, values)| Condition { field, values })
                    .collect(),
            }
        })
        .collect())
}

/// Equal as the engine compares condition values: text ignoring ASCII case.
fn same_value(a: &ConditionValue, b: &ConditionValue) -> bool {
    match (a, b) {
        (ConditionValue::Text(x), ConditionValue::Text(y)) => x.eq_ignore_ascii_case(y),
        (ConditionValue::Integer(x), ConditionValue::Integer(y)) => x == y,
        _ => false,
    }
}

/// The source's table and index from the pipeline state.
fn target(outcome: &Outcome<'_>) -> Result<Option<TargetInfo>, PipelineError> {
    let read = |key: &str| -> Result<Option<String>, PipelineError> {
        let Some((value, label)) = outcome.state.get(key) else {
            return Ok(None);
        };
        match value {
            Value::Str(text) => Ok(Some(text.clone())),
            Value::Seq(items) if items.len() == 1 => match &items[0].value {
                Value::Str(text) => Ok(Some(text.clone())),
                other => {
                    Err(label.error(format!("{key} must be a string, found {}", other.kind())))
                }
            },
            other => Err(label.error(format!(
                "{key} must be one string for sigrun, found {}",
                other.kind()
            ))),
        }
    };
    let table = read(TABLE_KEY)?;
    let index = read(INDEX_KEY)?;
    Ok((table.is_some() || index.is_some()).then(|| TargetInfo {
        table,
        index,
        ..TargetInfo::default()
    }))
}

/// Drops scopes that say the same as the one scope their rules would fall back to, least
/// specific first so that each decision sees the final set of broader scopes.
fn prune(scopes: &[Scope], kept: &[usize], contents: &BTreeMap<usize, Content>) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::with_capacity(kept.len());
    for &i in kept {
        let broader: Vec<usize> = out
            .iter()
            .copied()
            .filter(|&j| scopes[i].implies(&scopes[j]))
            .collect();
        let best = broader.iter().map(|&j| scopes[j].specificity()).max();
        let parents: Vec<usize> = broader
            .into_iter()
            .filter(|&j| Some(scopes[j].specificity()) == best)
            .collect();
        if let [parent] = parents[..]
            && contents[&parent] == contents[&i]
        {
            continue;
        }
        out.push(i);
    }
    out
}

/// The pipeline-wide template for unnamed fields; every source must agree on it.
fn fallback(
    kept: &[usize],
    outcomes: &[Outcome<'_>],
) -> Result<Option<Vec<String>>, PipelineError> {
    let Some((&first, rest)) = kept.split_first() else {
        return Ok(None);
    };
    let reference = &outcomes[first];
    for &i in rest {
        let other = &outcomes[i];
        if other.templates() != reference.templates() {
            let culprit = other
                .generic_log
                .iter()
                .find(|l| !reference.generic_log.contains(l))
                .or_else(|| {
                    reference
                        .generic_log
                        .iter()
                        .find(|l| !other.generic_log.contains(l))
                });
            let message = "it renames every unnamed field for some logsources only; sigrun's \
                           fallback_field applies to all sources (name the fields with \
                           include_fields to make it exact)";
            return Err(match culprit {
                Some(label) => label.error(message),
                None => file_error(&reference_file(reference), None, message),
            });
        }
    }
    let templates = reference.templates();
    Ok((templates != ["{name}"]).then_some(templates))
}

fn reference_file(outcome: &Outcome<'_>) -> String {
    outcome
        .generic_log
        .first()
        .map(|l| l.file.to_string())
        .unwrap_or_default()
}

/// Placeholder values from `vars`, through the `value_placeholders` items, which must apply
/// to every source alike.
fn placeholders(
    kept: &[usize],
    outcomes: &[Outcome<'_>],
    vars: &BTreeMap<String, (String, Node)>,
) -> Result<BTreeMap<String, Vec<String>>, PipelineError> {
    let Some((&first, rest)) = kept.split_first() else {
        return Ok(BTreeMap::new());
    };
    let applied = &outcomes[first].placeholders;
    for &i in rest {
        let other = &outcomes[i].placeholders;
        if other.len() != applied.len()
            || other.iter().zip(applied).any(|(a, b)| a.label != b.label)
        {
            let culprit = other
                .iter()
                .chain(applied.iter())
                .find(|item| {
                    !(other.iter().any(|o| o.label == item.label)
                        && applied.iter().any(|a| a.label == item.label))
                })
                .or_else(|| applied.first())
                .or_else(|| other.first());
            let message =
                "it applies to some logsources only; sigrun's placeholders apply to every rule";
            return Err(match culprit {
                Some(item) => item.label.error(message),
                None => file_error("", None, message),
            });
        }
    }
    let mut out = BTreeMap::new();
    for (name, (file, node)) in vars {
        // The first placeholder item that handles the name decides what it becomes.
        let mut handlers = applied.iter().filter(|item| match &item.action {
            Action::ValuePlaceholders(selection) | Action::WildcardPlaceholders(selection) => {
                selection.handles(name)
            }
            _ => false,
        });
        match handlers.next() {
            Some(first) if matches!(first.action, Action::ValuePlaceholders(_)) => {
                out.insert(name.clone(), var_values(file, name, node)?);
            }
            Some(first) => {
                if let Some(shadowed) =
                    handlers.find(|item| matches!(item.action, Action::ValuePlaceholders(_)))
                {
                    return Err(shadowed.label.error(format!(
                        "{} comes first and already turns %{name}% into a wildcard, so \
                         these values are never used",
                        first.label
                    )));
                }
            }
            None => {}
        }
    }
    Ok(out)
}

/// A variable's values as pySigma's `str()` writes them.
fn var_values(file: &str, name: &str, node: &Node) -> Result<Vec<String>, PipelineError> {
    let scalar = |value: &Value| match value {
        Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => Ok(value.to_string()),
        other => Err(file_error(
            file,
            position(node),
            format!(
                "variable '{name}' holds {}, not a string or number",
                other.kind()
            ),
        )),
    };
    let values = match &node.value {
        Value::Seq(items) => items
            .iter()
            .map(|item| scalar(&item.value))
            .collect::<Result<Vec<_>, _>>()?,
        single => vec![scalar(single)?],
    };
    if values.is_empty() {
        return Err(file_error(
            file,
            position(node),
            format!("variable '{name}' is an empty list"),
        ));
    }
    Ok(values)
}
