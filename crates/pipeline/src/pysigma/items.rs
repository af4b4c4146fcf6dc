//! Reading a pySigma pipeline file into typed items, refusing at once what cannot carry over.
//!
//! Everything pySigma accepts in a YAML pipeline is recognised here. A construct is either
//! typed for the translation, refused with an error (its meaning would be lost), or accepted
//! with a warning (its effect does not reach anything sigrun produces, or sigrun reports it
//! differently).

use std::sync::Arc;

use regex::Regex;

use crate::error::{PipelineError, TextPosition};
use crate::model::ConditionValue;

use super::TranslationWarning;
use super::cond::{Cond, Shape, parse_expression};
use super::report::{Label, file_error};
use super::scope::Scope;
use super::yaml::{Node, Value, position};

/// One file, read.
#[derive(Debug)]
pub(crate) struct PipelineFile {
    pub file: Arc<str>,
    pub name: Option<String>,
    pub priority: i64,
    /// `vars:` in file order.
    pub vars: Vec<(String, Node)>,
    pub items: Vec<Item>,
}

/// One transformation with its conditions.
#[derive(Debug)]
pub(crate) struct Item {
    pub label: Label,
    pub rule: Cond<RuleAtom>,
    pub detection: Cond<ItemAtom>,
    pub field: Cond<FieldAtom>,
    pub action: Action,
}

/// A rule condition.
#[derive(Debug)]
pub(crate) enum RuleAtom {
    Logsource(Scope),
    /// `processing_item_applied`: an earlier item with this id applied to the rule.
    Applied(String),
    State(StateTest),
    /// `is_sigma_rule` (true: sigrun converts detection rules only) and
    /// `is_sigma_correlation_rule` (false).
    Constant(bool),
}

/// A detection item condition.
#[derive(Debug)]
pub(crate) enum ItemAtom {
    Applied(String),
    State(StateTest),
}

/// A field name condition.
#[derive(Debug)]
pub(crate) enum FieldAtom {
    Include(FieldSet),
    Exclude(FieldSet),
    Applied(String),
    State(StateTest),
}

/// The field names of `include_fields` / `exclude_fields`.
#[derive(Debug)]
pub(crate) enum FieldSet {
    Plain(Vec<String>),
    /// `mode: re`: Python's `re.match`, anchored at the start only.
    Regex(Vec<Regex>),
}

impl FieldSet {
    pub(crate) fn contains(&self, name: &str) -> bool {
        match self {
            FieldSet::Plain(names) => names.iter().any(|n| n == name),
            FieldSet::Regex(patterns) => patterns.iter().any(|p| p.is_match(name)),
        }
    }
}

/// `processing_state`: compares the pipeline state with a value.
#[derive(Debug)]
pub(crate) struct StateTest {
    pub key: String,
    pub val: Value,
    pub op: StateOp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateOp {
    Eq,
    Ne,
    Gte,
    Gt,
    Lte,
    Lt,
}

/// What an item does, in the terms the translation understands.
#[derive(Debug)]
pub(crate) enum Action {
    /// `field_name_mapping` (`prefix: false`) or `field_name_prefix_mapping` (`prefix: true`).
    Map {
        entries: Vec<(String, Mapped)>,
        prefix: bool,
    },
    /// `field_name_prefix`.
    Prefix(String),
    /// `field_name_suffix`.
    Suffix(String),
    /// `add_condition`: field → accepted values (any of them).
    AddCondition(Vec<(String, Vec<ConditionValue>)>),
    ChangeLogsource(Scope),
    SetState {
        key: String,
        val: Value,
    },
    ValuePlaceholders(Selection),
    WildcardPlaceholders(Selection),
    RuleFailure,
    Nest(Vec<Item>),
    /// Accepted with a warning: no effect on anything sigrun produces.
    NoEffect,
}

/// A mapping target as written: one name, or a list (which pySigma turns into an OR of
/// copies of the detection item, losing their record of applied items).
#[derive(Debug, Clone)]
pub(crate) enum Mapped {
    One(String),
    Many(Vec<String>),
}

impl Mapped {
    pub(crate) fn with_suffix(&self, rest: &str) -> Mapped {
        match self {
            Mapped::One(name) => Mapped::One(format!("{name}{rest}")),
            Mapped::Many(names) => {
                Mapped::Many(names.iter().map(|n| format!("{n}{rest}")).collect())
            }
        }
    }
}

/// Which placeholders a placeholder transformation handles.
#[derive(Debug, Clone)]
pub(crate) enum Selection {
    All,
    Include(Vec<String>),
    Exclude(Vec<String>),
}

impl Selection {
    pub(crate) fn handles(&self, name: &str) -> bool {
        match self {
            Selection::All => true,
            Selection::Include(names) => names.iter().any(|n| n == name),
            Selection::Exclude(names) => !names.iter().any(|n| n == name),
        }
    }
}

const TOP_LEVEL_KEYS: &str =
    "name, priority, transformations, postprocessing, finalizers, vars, allowed_backends";

/// Reads one pySigma pipeline file.
pub(crate) fn read_file(
    file: &str,
    text: &str,
    warnings: &mut Vec<TranslationWarning>,
) -> Result<PipelineFile, PipelineError> {
    // YAML 1.2 booleans, so that `n` or `y` stay strings as in PyYAML; the YAML 1.1
    // spellings PyYAML reads as booleans are accepted where a boolean is expected.
    let options = serde_saphyr::options! { strict_booleans: true };
    let root: Node = serde_saphyr::from_str_with_options(text, options)
        .map_err(|error| yaml_error(file, &error))?;
    let Value::Map(entries) = root.value else {
        return Err(file_error(
            file,
            position(&root),
            format!("a pySigma pipeline is a map, found {}", root.value.kind()),
        ));
    };
    let file: Arc<str> = Arc::from(file);
    let mut out = PipelineFile {
        file: file.clone(),
        name: None,
        priority: 0,
        vars: Vec::new(),
        items: Vec::new(),
    };
    for (key, node) in entries {
        let at = position(&node);
        let Value::Str(key) = key else {
            return Err(file_error(
                &file,
                at,
                format!("top-level key {key} is not a string"),
            ));
        };
        match key.as_str() {
            "name" => match node.value {
                Value::Str(name) => out.name = Some(name),
                Value::Null => {}
                other => {
                    return Err(file_error(
                        &file,
                        at,
                        format!("name must be a string, found {}", other.kind()),
                    ));
                }
            },
            "priority" => match node.value {
                Value::Int(priority) => out.priority = priority,
                Value::Null => {}
                other => {
                    return Err(file_error(
                        &file,
                        at,
                        format!("priority must be an integer, found {}", other.kind()),
                    ));
                }
            },
            "vars" => match node.value {
                Value::Map(vars) => {
                    for (name, value) in vars {
                        let Value::Str(name) = name else {
                            return Err(file_error(
                                &file,
                                position(&value),
                                format!("variable name {name} is not a string"),
                            ));
                        };
                        out.vars.push((name, value));
                    }
                }
                Value::Null => {}
                other => {
                    return Err(file_error(
                        &file,
                        at,
                        format!("vars must be a map, found {}", other.kind()),
                    ));
                }
            },
            "transformations" => {
                let nodes = list(&file, "transformations", node)?;
                out.items = read_items(&file, nodes, None, warnings)?;
            }
            "postprocessing" => {
                if !list(&file, "postprocessing", node)?.is_empty() {
                    return Err(file_error(
                        &file,
                        at,
                        "postprocessing rewrites the query text pySigma produced; sigrun's \
                         converters write their own queries, so it cannot carry over",
                    ));
                }
            }
            "finalizers" => {
                if !list(&file, "finalizers", node)?.is_empty() {
                    warnings.push(TranslationWarning {
                        file: file.to_string(),
                        at,
                        message: "finalizers are ignored: they format pySigma's output, and \
                                  sigrun has its own output formats (--format)"
                            .to_owned(),
                    });
                }
            }
            // Advice to front ends about which backends suit the pipeline; no effect on
            // conversion, and sigrun's target names differ anyway.
            "allowed_backends" => {}
            other => {
                return Err(file_error(
                    &file,
                    at,
                    format!(
                        "unknown top-level key '{other}' (pySigma pipelines have {TOP_LEVEL_KEYS})"
                    ),
                ));
            }
        }
    }
    Ok(out)
}

fn yaml_error(file: &str, error: &serde_saphyr::Error) -> PipelineError {
    let error = error.without_snippet();
    let mut message = error.to_string();
    if let Some(index) = message.rfind(" at line ") {
        message.truncate(index);
    }
    PipelineError::Yaml {
        file: file.to_owned(),
        at: error.location().and_then(TextPosition::of),
        message,
    }
}

fn list(file: &str, key: &str, node: Node) -> Result<Vec<Node>, PipelineError> {
    let at = position(&node);
    match node.value {
        Value::Seq(items) => Ok(items),
        Value::Null => Ok(Vec::new()),
        other => Err(file_error(
            file,
            at,
            format!("{key} must be a list, found {}", other.kind()),
        )),
    }
}

fn read_items(
    file: &Arc<str>,
    nodes: Vec<Node>,
    parent: Option<&Label>,
    warnings: &mut Vec<TranslationWarning>,
) -> Result<Vec<Item>, PipelineError> {
    let mut items = Vec::with_capacity(nodes.len());
    for (index, node) in nodes.into_iter().enumerate() {
        items.push(read_item(file, node, index + 1, parent, warnings)?);
    }
    Ok(items)
}

/// The parameters of an item or condition, consumed key by key; what is left is unknown.
struct Params {
    entries: Vec<(String, Node)>,
}

impl Params {
    fn take(&mut self, key: &str) -> Option<Node> {
        let index = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(index).1)
    }

    fn finish(self, label: &Label, what: &str) -> Result<(), PipelineError> {
        match self.entries.first() {
            Some((key, _)) => Err(label.error(format!("unknown parameter '{key}' for {what}"))),
            None => Ok(()),
        }
    }
}

fn read_item(
    file: &Arc<str>,
    node: Node,
    index: usize,
    parent: Option<&Label>,
    warnings: &mut Vec<TranslationWarning>,
) -> Result<Item, PipelineError> {
    let at = position(&node);
    let mut label = Label {
        file: file.clone(),
        at,
        id: None,
        kind: "?".to_owned(),
        index,
        parent: parent.map(|p| Box::new(p.clone())),
    };
    let Value::Map(entries) = node.value else {
        return Err(label.error(format!("expected a map, found {}", node.value.kind())));
    };
    let mut params = Params {
        entries: Vec::with_capacity(entries.len()),
    };
    for (key, value) in entries {
        let Value::Str(key) = key else {
            return Err(label.error(format!("parameter name {key} is not a string")));
        };
        params.entries.push((key, value));
    }
    if let Some(id) = params.take("id") {
        label.id = match id.value {
            Value::Str(id) if !id.is_empty() => Some(id),
            Value::Str(_) | Value::Null => None,
            other => Some(other.to_string()),
        };
    }
    let Some(kind) = params.take("type") else {
        return Err(label.error("missing 'type'"));
    };
    label.kind = string(&label, "type", kind)?;
    // Template switches that pySigma strips from untrusted YAML.
    params.take("allow_template_vars");
    params.take("vars_allowed_paths");

    let rule = conditions(&label, &mut params, "rule", warnings, rule_atom)?;
    let detection = conditions(&label, &mut params, "detection_item", warnings, item_atom)?;
    let field = conditions(&label, &mut params, "field_name", warnings, field_atom)?;
    let action = action(&label, &mut params, warnings)?;
    params.finish(&label, &format!("type {}", label.kind))?;

    let detection_item_level = matches!(
        action,
        Action::Map { .. }
            | Action::Prefix(_)
            | Action::Suffix(_)
            | Action::ValuePlaceholders(_)
            | Action::WildcardPlaceholders(_)
    );
    let has_item_conditions = !(detection.is_empty() && field.is_empty());
    if !detection_item_level && has_item_conditions {
        warnings.push(label.warning(
            "detection item and field name conditions have no effect here: pySigma evaluates \
             them only for transformations of detection items",
        ));
    }
    if matches!(action, Action::ValuePlaceholders(_)) && parent.is_some() {
        return Err(label.error(
            "inside a nest pySigma looks placeholders up in the nested pipeline's variables, \
             which are always empty",
        ));
    }
    if matches!(action, Action::ValuePlaceholders(_)) && !(detection.is_empty() && field.is_empty())
    {
        return Err(label.error(
            "sigrun's placeholders apply to every field; value_placeholders limited by \
             detection item or field name conditions cannot carry over",
        ));
    }
    Ok(Item {
        label,
        rule,
        detection,
        field,
        action,
    })
}

/// Reads `<kind>_conditions`, `<kind>_cond_expr`, `<kind>_cond_op` and `<kind>_cond_not`.
fn conditions<A>(
    label: &Label,
    params: &mut Params,
    kind: &str,
    warnings: &mut Vec<TranslationWarning>,
    atom: fn(&Label, &str, Params, &mut Vec<TranslationWarning>) -> Result<A, PipelineError>,
) -> Result<Cond<A>, PipelineError> {
    let list_key = format!("{kind}_conditions");
    let expr_key = format!("{kind}_cond_expr");
    let op_key = format!("{kind}_cond_op");
    let not_key = format!("{kind}_cond_not");

    let mut names = Vec::new();
    let mut nodes = Vec::new();
    let named = match params.take(&list_key).map(|n| n.value) {
        None | Some(Value::Null) => false,
        Some(Value::Seq(items)) => {
            nodes = items;
            false
        }
        Some(Value::Map(entries)) => {
            for (name, node) in entries {
                names.push(name.to_string());
                nodes.push(node);
            }
            true
        }
        Some(other) => {
            return Err(label.error(format!(
                "{list_key} must be a list or a map, found {}",
                other.kind()
            )));
        }
    };
    let mut atoms = Vec::with_capacity(nodes.len());
    for node in nodes {
        let Value::Map(entries) = node.value else {
            return Err(label.error(format!(
                "each of {list_key} must be a map, found {}",
                node.value.kind()
            )));
        };
        let mut condition = Params {
            entries: Vec::new(),
        };
        for (key, value) in entries {
            condition.entries.push((key.to_string(), value));
        }
        let Some(condition_type) = condition.take("type") else {
            return Err(label.error(format!("a condition of {list_key} has no 'type'")));
        };
        let condition_type = string(label, "type", condition_type)?;
        atoms.push(atom(label, &condition_type, condition, warnings)?);
    }

    let negate = match params.take(&not_key) {
        None => false,
        Some(node) => boolean(label, &not_key, node)?,
    };
    let op = params.take(&op_key);
    let shape = match params.take(&expr_key) {
        Some(expr) => {
            if op.is_some() {
                return Err(label.error(format!("{expr_key} and {op_key} exclude each other")));
            }
            if !named {
                return Err(label.error(format!(
                    "{expr_key} needs {list_key} as a map from names to conditions"
                )));
            }
            let text = string(label, &expr_key, expr)?;
            Shape::Expression(parse_expression(&text, &names).map_err(|e| label.error(e))?)
        }
        None => Shape::Linked {
            all: match op.map(|n| n.value) {
                None | Some(Value::Null) => true,
                Some(Value::Str(op)) if op == "and" => true,
                Some(Value::Str(op)) if op == "or" => false,
                Some(other) => {
                    warnings.push(label.warning(format!(
                        "{op_key} '{other}' is neither 'and' nor 'or'; pySigma then links \
                         the conditions with 'and', and so does sigrun"
                    )));
                    true
                }
            },
        },
    };
    Ok(Cond {
        atoms,
        shape,
        negate,
    })
}

fn rule_atom(
    label: &Label,
    kind: &str,
    mut params: Params,
    warnings: &mut Vec<TranslationWarning>,
) -> Result<RuleAtom, PipelineError> {
    let atom = match kind {
        "logsource" => RuleAtom::Logsource(logsource(label, &mut params, warnings)?),
        "processing_item_applied" => {
            RuleAtom::Applied(required_string(label, &mut params, "processing_item_id")?)
        }
        "processing_state" => RuleAtom::State(state_test(label, &mut params)?),
        "is_sigma_rule" => RuleAtom::Constant(true),
        "is_sigma_correlation_rule" => RuleAtom::Constant(false),
        "contains_detection_item" | "contains_field" | "rule_attribute" | "tag" => {
            return Err(label.error(format!(
                "rule condition '{kind}' depends on the rule's detection or metadata; a sigrun \
                 pipeline chooses sources by logsource only"
            )));
        }
        other => return Err(label.error(format!("unknown rule condition type '{other}'"))),
    };
    params.finish(label, &format!("rule condition {kind}"))?;
    Ok(atom)
}

fn item_atom(
    label: &Label,
    kind: &str,
    mut params: Params,
    _warnings: &mut Vec<TranslationWarning>,
) -> Result<ItemAtom, PipelineError> {
    let atom = match kind {
        "processing_item_applied" => {
            ItemAtom::Applied(required_string(label, &mut params, "processing_item_id")?)
        }
        "processing_state" => ItemAtom::State(state_test(label, &mut params)?),
        "match_string" | "match_value" | "contains_wildcard" | "is_null" => {
            return Err(label.error(format!(
                "detection item condition '{kind}' depends on the rule's values; a sigrun \
                 pipeline renames a field for all its values alike"
            )));
        }
        other => {
            return Err(label.error(format!("unknown detection item condition type '{other}'")));
        }
    };
    params.finish(label, &format!("detection item condition {kind}"))?;
    Ok(atom)
}

fn field_atom(
    label: &Label,
    kind: &str,
    mut params: Params,
    _warnings: &mut Vec<TranslationWarning>,
) -> Result<FieldAtom, PipelineError> {
    let atom = match kind {
        "include_fields" | "exclude_fields" => {
            let Some(fields) = params.take("fields") else {
                return Err(label.error(format!("field name condition {kind} needs 'fields'")));
            };
            let fields = string_list(label, "fields", fields)?;
            let mode = match params.take("mode") {
                None => "plain".to_owned(),
                Some(node) => string(label, "mode", node)?,
            };
            let set = match mode.as_str() {
                "plain" => FieldSet::Plain(fields),
                "re" => FieldSet::Regex(
                    fields
                        .iter()
                        .map(|pattern| {
                            Regex::new(&format!("^(?:{pattern})")).map_err(|error| {
                                label.error(format!(
                                    "field name pattern '{pattern}' is not a regular \
                                     expression sigrun can read: {error}"
                                ))
                            })
                        })
                        .collect::<Result<_, _>>()?,
                ),
                other => {
                    return Err(label.error(format!(
                        "field name matching mode '{other}' is neither 'plain' nor 're'"
                    )));
                }
            };
            if kind == "include_fields" {
                FieldAtom::Include(set)
            } else {
                FieldAtom::Exclude(set)
            }
        }
        "processing_item_applied" => {
            FieldAtom::Applied(required_string(label, &mut params, "processing_item_id")?)
        }
        "processing_state" => FieldAtom::State(state_test(label, &mut params)?),
        other => {
            return Err(label.error(format!("unknown field name condition type '{other}'")));
        }
    };
    params.finish(label, &format!("field name condition {kind}"))?;
    Ok(atom)
}

fn state_test(label: &Label, params: &mut Params) -> Result<StateTest, PipelineError> {
    let key = required_string(label, params, "key")?;
    let Some(val) = params.take("val") else {
        return Err(label.error("processing_state needs 'val'"));
    };
    let op = match params.take("op") {
        None => StateOp::Eq,
        Some(node) => match string(label, "op", node)?.as_str() {
            "eq" => StateOp::Eq,
            "ne" => StateOp::Ne,
            "gte" => StateOp::Gte,
            "gt" => StateOp::Gt,
            "lte" => StateOp::Lte,
            "lt" => StateOp::Lt,
            other => {
                return Err(label.error(format!(
                    "processing_state op '{other}' is not one of eq, ne, gte, gt, lte, lt"
                )));
            }
        },
    };
    Ok(StateTest {
        key,
        val: val.value,
        op,
    })
}

/// `category` / `product` / `service` as a scope; values are lower-cased with a warning,
/// because pySigma compares them exactly and sigrun ignoring case.
fn logsource(
    label: &Label,
    params: &mut Params,
    warnings: &mut Vec<TranslationWarning>,
) -> Result<Scope, PipelineError> {
    let mut key = |name: &str| -> Result<Option<String>, PipelineError> {
        let Some(node) = params.take(name) else {
            return Ok(None);
        };
        match node.value {
            Value::Null => Ok(None),
            Value::Str(value) => {
                let lower = value.to_ascii_lowercase();
                if lower != value {
                    warnings.push(label.warning(format!(
                        "logsource {name} '{value}' is compared ignoring case in sigrun; \
                         pySigma would match only rules that write it exactly so"
                    )));
                }
                Ok(Some(lower))
            }
            other => Err(label.error(format!(
                "logsource {name} must be a string, found {}",
                other.kind()
            ))),
        }
    };
    Ok(Scope {
        category: key("category")?,
        product: key("product")?,
        service: key("service")?,
    })
}

fn action(
    label: &Label,
    params: &mut Params,
    warnings: &mut Vec<TranslationWarning>,
) -> Result<Action, PipelineError> {
    let kind = label.kind.clone();
    Ok(match kind.as_str() {
        "field_name_mapping" | "field_name_prefix_mapping" => Action::Map {
            entries: mapping(label, params)?,
            prefix: kind == "field_name_prefix_mapping",
        },
        "field_name_prefix" => Action::Prefix(required_string(label, params, "prefix")?),
        "field_name_suffix" => Action::Suffix(required_string(label, params, "suffix")?),
        "add_condition" => add_condition(label, params)?,
        "change_logsource" => Action::ChangeLogsource(logsource(label, params, warnings)?),
        "set_state" => {
            let key = required_string(label, params, "key")?;
            let Some(val) = params.take("val") else {
                return Err(label.error("set_state needs 'val'"));
            };
            Action::SetState {
                key,
                val: val.value,
            }
        }
        "value_placeholders" => Action::ValuePlaceholders(selection(label, params)?),
        "wildcard_placeholders" => {
            let selection = selection(label, params)?;
            warnings.push(label.warning(
                "sigrun pipelines cannot turn placeholders into wildcards; rules with \
                 placeholders that have no values fail unless converted with \
                 --wildcard-placeholders",
            ));
            Action::WildcardPlaceholders(selection)
        }
        "rule_failure" => {
            let message = required_string(label, params, "message")?;
            warnings.push(label.warning(format!(
                "the rules it fails are reported as unmapped (skipped) rather than failed \
                 with '{message}'"
            )));
            Action::RuleFailure
        }
        "nest" => {
            let Some(items) = params.take("items") else {
                return Err(label.error("nest needs 'items'"));
            };
            let Value::Seq(nodes) = items.value else {
                return Err(label.error(format!(
                    "nest items must be a list, found {}",
                    items.value.kind()
                )));
            };
            Action::Nest(read_items(&label.file, nodes, Some(label), warnings)?)
        }
        "add_field" | "remove_field" => {
            required_present(label, params, "field")?;
            warnings.push(label.warning(
                "ignored: it edits the rule's `fields` list, which sigrun's converters do not \
                 output",
            ));
            Action::NoEffect
        }
        "set_field" => {
            required_present(label, params, "fields")?;
            warnings.push(label.warning(
                "ignored: it edits the rule's `fields` list, which sigrun's converters do not \
                 output",
            ));
            Action::NoEffect
        }
        "set_custom_attribute" => {
            required_string(label, params, "attribute")?;
            required_present(label, params, "value")?;
            warnings.push(
                label.warning("ignored: custom attributes are read only by pySigma backends"),
            );
            Action::NoEffect
        }
        "drop_detection_item" => {
            return Err(label.error("sigrun pipelines cannot remove detection items from rules"));
        }
        "detection_item_failure" => {
            return Err(label.error(
                "sigrun pipelines cannot fail a rule because of one of its detection items",
            ));
        }
        "strict_field_mapping_failure" => {
            return Err(label.error(
                "sigrun passes unmapped field names through and cannot fail rules that use them",
            ));
        }
        "field_name_transform" => {
            return Err(
                label.error("it calls a Python function, which a pipeline file cannot carry")
            );
        }
        "query_expression_placeholders" => {
            return Err(label
                .error("it inserts target query text; sigrun placeholders are lists of values"));
        }
        "replace_string" | "map_string" | "regex" | "set_value" | "convert_type" | "case"
        | "hashes_fields" => {
            return Err(label.error(
                "it rewrites values; sigrun pipelines rename fields and select events but \
                 never change a rule's values",
            ));
        }
        other => return Err(label.error(format!("unknown transformation type '{other}'"))),
    })
}

fn mapping(label: &Label, params: &mut Params) -> Result<Vec<(String, Mapped)>, PipelineError> {
    let Some(node) = params.take("mapping") else {
        return Err(label.error("missing 'mapping'"));
    };
    let Value::Map(entries) = node.value else {
        return Err(label.error(format!(
            "mapping must be a map, found {}",
            node.value.kind()
        )));
    };
    let mut out = Vec::with_capacity(entries.len());
    for (key, target) in entries {
        let key = match key {
            Value::Str(key) => key,
            Value::Null => {
                return Err(label.error(
                    "a null key maps keyword searches to a field; sigrun pipelines rename \
                     fields only",
                ));
            }
            other => {
                return Err(label.error(format!(
                    "mapping key {other} is {}, not a field name",
                    other.kind()
                )));
            }
        };
        let mapped = match target.value {
            Value::Str(name) if !name.is_empty() => Mapped::One(name),
            Value::Seq(names) if !names.is_empty() => Mapped::Many(
                names
                    .into_iter()
                    .map(|n| match n.value {
                        Value::Str(name) if !name.is_empty() => Ok(name),
                        other => Err(label.error(format!(
                            "field '{key}' maps to {}, not a field name",
                            other.kind()
                        ))),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Value::Seq(_) => {
                return Err(label.error(format!(
                    "field '{key}' maps to an empty list, which pySigma turns into a \
                     detection that matches nothing"
                )));
            }
            other => {
                return Err(label.error(format!(
                    "field '{key}' maps to {}, not a field name",
                    if other == Value::Str(String::new()) {
                        "an empty name"
                    } else {
                        other.kind()
                    }
                )));
            }
        };
        out.push((key, mapped));
    }
    Ok(out)
}

fn add_condition(label: &Label, params: &mut Params) -> Result<Action, PipelineError> {
    let Some(node) = params.take("conditions") else {
        return Err(label.error("missing 'conditions'"));
    };
    params.take("name");
    for switch in ["template", "negated"] {
        if let Some(node) = params.take(switch)
            && boolean(label, switch, node)?
        {
            return Err(label.error(if switch == "template" {
                "template conditions take the rule's logsource into the values; sigrun \
                 source conditions are fixed values"
            } else {
                "negated conditions cannot carry over: sigrun source conditions select events, \
                 they never exclude them"
            }));
        }
    }
    let Value::Map(entries) = node.value else {
        return Err(label.error(format!(
            "conditions must be a map, found {}",
            node.value.kind()
        )));
    };
    let mut out = Vec::with_capacity(entries.len());
    for (field, value) in entries {
        let Value::Str(field) = field else {
            return Err(label.error(format!("condition field {field} is not a string")));
        };
        if field.contains('|') {
            return Err(label.error(format!(
                "condition '{field}' has modifiers; sigrun source conditions compare whole values"
            )));
        }
        let values = match value.value {
            Value::Seq(items) if !items.is_empty() => items
                .into_iter()
                .map(|v| condition_value(label, &field, v.value))
                .collect::<Result<_, _>>()?,
            Value::Seq(_) => {
                return Err(label.error(format!("condition on '{field}' has no values")));
            }
            single => vec![condition_value(label, &field, single)?],
        };
        out.push((field, values));
    }
    Ok(Action::AddCondition(out))
}

/// A condition value as pySigma reads it (a Sigma string with wildcards and escapes, or a
/// number), if sigrun's exact-match conditions can say the same.
fn condition_value(
    label: &Label,
    field: &str,
    value: Value,
) -> Result<ConditionValue, PipelineError> {
    match value {
        Value::Int(number) => Ok(ConditionValue::Integer(number)),
        Value::Str(text) => match unescape(&text) {
            Some(plain) => Ok(ConditionValue::Text(plain)),
            None => Err(label.error(format!(
                "condition value '{text}' of '{field}' has a wildcard; sigrun source conditions \
                 compare whole values"
            ))),
        },
        other => Err(label.error(format!(
            "condition on '{field}' has {} value; sigrun source conditions take strings and \
             integers",
            other.kind()
        ))),
    }
}

/// A Sigma string without its escapes, or `None` when it has an unescaped `*` or `?`.
/// `\*`, `\?` and `\\` are literal; a backslash before anything else stays a backslash.
fn unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&next @ ('*' | '?' | '\\')) => {
                    out.push(next);
                    chars.next();
                }
                _ => out.push('\\'),
            },
            '*' | '?' => return None,
            other => out.push(other),
        }
    }
    Some(out)
}

fn selection(label: &Label, params: &mut Params) -> Result<Selection, PipelineError> {
    let include = params
        .take("include")
        .map(|n| string_list(label, "include", n))
        .transpose()?;
    let exclude = params
        .take("exclude")
        .map(|n| string_list(label, "exclude", n))
        .transpose()?;
    match (include, exclude) {
        (Some(_), Some(_)) => Err(label.error("include and exclude exclude each other")),
        (Some(names), None) => Ok(Selection::Include(names)),
        (None, Some(names)) => Ok(Selection::Exclude(names)),
        (None, None) => Ok(Selection::All),
    }
}

fn string(label: &Label, key: &str, node: Node) -> Result<String, PipelineError> {
    match node.value {
        Value::Str(text) => Ok(text),
        other => Err(label.error(format!("{key} must be a string, found {}", other.kind()))),
    }
}

fn required_string(label: &Label, params: &mut Params, key: &str) -> Result<String, PipelineError> {
    match params.take(key) {
        Some(node) => string(label, key, node),
        None => Err(label.error(format!("missing '{key}'"))),
    }
}

fn required_present(label: &Label, params: &mut Params, key: &str) -> Result<(), PipelineError> {
    params
        .take(key)
        .map(|_| ())
        .ok_or_else(|| label.error(format!("missing '{key}'")))
}

fn boolean(label: &Label, key: &str, node: Node) -> Result<bool, PipelineError> {
    match node.value {
        Value::Bool(value) => Ok(value),
        Value::Str(text) if matches!(text.as_str(), "yes" | "Yes" | "YES" | "on" | "On" | "ON") => {
            Ok(true)
        }
        Value::Str(text) if matches!(text.as_str(), "no" | "No" | "NO" | "off" | "Off" | "OFF") => {
            Ok(false)
        }
        other => Err(label.error(format!(
            "{key} must be true or false, found {}",
            other.kind()
        ))),
    }
}

fn string_list(label: &Label, key: &str, node: Node) -> Result<Vec<String>, PipelineError> {
    let Value::Seq(items) = node.value else {
        return Err(label.error(format!(
            "{key} must be a list of strings, found {}",
            node.value.kind()
        )));
    };
    items
        .into_iter()
        .map(|item| string(label, key, item))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn sigma_escapes_are_literal_and_wildcards_refused() {
        assert_eq!(unescape(r"C:\Windows\x").as_deref(), Some(r"C:\Windows\x"));
        assert_eq!(unescape(r"a\*b\?c\\d").as_deref(), Some(r"a*b?c\d"));
        assert_eq!(unescape(r"trailing\").as_deref(), Some(r"trailing\"));
        assert_eq!(unescape("Microsoft-Windows-AppLocker/*"), None);
        assert_eq!(unescape("a?c"), None);
    }
}
