//! From a YAML document to a typed [`Document`], reporting every structural problem.

use crate::condition::parse_condition;
use crate::detection::{SearchIdentifier, parse_search};
use crate::diagnostic::Diagnostic;
use crate::document::*;
use crate::source::{Span, Spanned};
use crate::yaml::{Node, NodeKind, ScalarValue};

/// Keys the specification defines for each kind of document (besides the kind's own section).
const RULE_KEYS: &[&str] = &[
    "title",
    "id",
    "name",
    "related",
    "taxonomy",
    "status",
    "description",
    "license",
    "author",
    "references",
    "date",
    "modified",
    "logsource",
    "detection",
    "fields",
    "falsepositives",
    "level",
    "tags",
    "scope",
];

/// Reads one YAML document. `source` is the whole file text (nodes' spans point into it).
pub fn parse_document(index: usize, node: Node, source: &str) -> Document {
    let mut diagnostics = Vec::new();
    let kind = read_kind(&node, source, &mut diagnostics);
    Document::new(index, kind, node.span, diagnostics)
}

fn read_kind(node: &Node, source: &str, out: &mut Vec<Diagnostic>) -> Option<DocumentKind> {
    let Some(entries) = node.as_map() else {
        out.push(
            Diagnostic::error(
                "schema",
                format!("a Sigma document is a map, not {}", node.kind_name()),
            )
            .at(node.span),
        );
        return None;
    };
    if let Some(action) = node.get("action") {
        out.push(
            Diagnostic::error(
                "schema",
                "Sigma 1 rule collections ('action: global/repeat/reset') are not supported",
            )
            .at(action.span)
            .help("write each rule as a complete document; Sigma 2 dropped collection actions"),
        );
        return None;
    }
    let has = |key: &str| node.get(key).is_some();
    let kinds: Vec<&str> = ["detection", "correlation", "filter"]
        .into_iter()
        .filter(|k| has(k))
        .collect();
    if kinds.len() > 1 {
        out.push(
            Diagnostic::error(
                "schema",
                format!(
                    "a document must have only one of 'detection', 'correlation' or 'filter' (found {})",
                    kinds.join(", ")
                ),
            )
            .at(node.span),
        );
        return None;
    }
    match kinds.first() {
        Some(&"detection") => Some(DocumentKind::Rule(read_rule(node, entries, source, out))),
        Some(&"correlation") => Some(DocumentKind::Correlation(read_correlation(
            node, entries, source, out,
        ))),
        Some(&"filter") => Some(DocumentKind::Filter(read_filter(
            node, entries, source, out,
        ))),
        _ => {
            out.push(
                Diagnostic::error(
                    "schema",
                    "not a Sigma document: it has no 'detection', 'correlation' or 'filter' section",
                )
                .at(Span::point(node.span.start)),
            );
            None
        }
    }
}

fn read_rule(
    node: &Node,
    entries: &[(Node, Node)],
    source: &str,
    out: &mut Vec<Diagnostic>,
) -> SigmaRule {
    let meta = read_metadata(entries, RULE_KEYS, out);
    let logsource = match node.get("logsource") {
        Some(ls) => read_logsource(ls, out),
        None => {
            out.push(
                Diagnostic::error("schema", "missing required field 'logsource'")
                    .at(Span::point(node.span.start)),
            );
            LogSource::default()
        }
    };
    let detection = node
        .get("detection")
        .map(|d| read_detection(d, source, out, "detection"))
        .unwrap_or_default();
    SigmaRule {
        meta,
        logsource,
        detection,
    }
}

fn read_metadata(entries: &[(Node, Node)], known: &[&str], out: &mut Vec<Diagnostic>) -> Metadata {
    let mut meta = Metadata::default();
    for (key, value) in entries {
        let Some(name) = key.as_str() else { continue };
        match name {
            "title" => meta.title = string(value, "title", out),
            "id" => meta.id = string(value, "id", out),
            "name" => meta.name = string(value, "name", out),
            "taxonomy" => meta.taxonomy = string(value, "taxonomy", out),
            "description" => meta.description = string(value, "description", out),
            "license" => meta.license = string(value, "license", out),
            "author" => meta.author = string(value, "author", out),
            "date" => meta.date = string(value, "date", out),
            "modified" => meta.modified = string(value, "modified", out),
            "references" => meta.references = strings(value, "references", out),
            "tags" => meta.tags = strings(value, "tags", out),
            "falsepositives" => meta.falsepositives = strings(value, "falsepositives", out),
            "fields" => meta.fields = strings(value, "fields", out),
            "scope" => meta.scope = strings(value, "scope", out),
            "status" => meta.status = keyword(value, "status", Status::parse, Status::ALL, out),
            "level" => meta.level = keyword(value, "level", Level::parse, Level::ALL, out),
            "related" => meta.related = related(value, out),
            _ if known.contains(&name) => {}
            _ => meta
                .custom
                .push((Spanned::new(name.to_string(), key.span), value.clone())),
        }
    }
    meta
}

/// A scalar read as text. Null means absent; maps and lists are errors.
fn string(node: &Node, what: &str, out: &mut Vec<Diagnostic>) -> Option<Spanned<String>> {
    match &node.kind {
        NodeKind::Scalar(s) if s.value == ScalarValue::Null => None,
        NodeKind::Scalar(s) => Some(Spanned::new(s.text.clone(), node.span)),
        _ => {
            out.push(
                Diagnostic::error(
                    "schema",
                    format!("'{what}' must be a string, not {}", node.kind_name()),
                )
                .at(node.span),
            );
            None
        }
    }
}

/// A list of scalars. A single scalar is accepted as a one-element list with a warning.
fn strings(node: &Node, what: &str, out: &mut Vec<Diagnostic>) -> Vec<Spanned<String>> {
    match &node.kind {
        NodeKind::Seq(items) => items
            .iter()
            .filter_map(|item| string(item, what, out))
            .collect(),
        NodeKind::Scalar(s) if s.value == ScalarValue::Null => Vec::new(),
        NodeKind::Scalar(_) => {
            out.push(
                Diagnostic::warning("schema", format!("'{what}' should be a list"))
                    .at(node.span)
                    .help(format!("write it as a YAML list: `{what}:` then `- value`")),
            );
            string(node, what, out).into_iter().collect()
        }
        NodeKind::Map(_) => {
            out.push(
                Diagnostic::error("schema", format!("'{what}' must be a list, not a map"))
                    .at(node.span),
            );
            Vec::new()
        }
    }
}

fn keyword<T: Copy + std::fmt::Display>(
    node: &Node,
    what: &str,
    parse: fn(&str) -> Option<T>,
    all: &[T],
    out: &mut Vec<Diagnostic>,
) -> Option<Spanned<T>> {
    let text = string(node, what, out)?;
    match parse(&text.value) {
        Some(v) => Some(Spanned::new(v, text.span)),
        None => {
            let allowed: Vec<String> = all.iter().map(|v| v.to_string()).collect();
            let lower = parse(&text.value.to_ascii_lowercase());
            let mut diagnostic =
                Diagnostic::error("schema", format!("'{}' is not a valid {what}", text.value))
                    .at(text.span)
                    .label(format!("expected one of: {}", allowed.join(", ")));
            if let Some(v) = lower {
                diagnostic = diagnostic.help(format!("write '{v}' in lowercase"));
            }
            out.push(diagnostic);
            None
        }
    }
}

fn related(node: &Node, out: &mut Vec<Diagnostic>) -> Vec<RelatedRule> {
    let Some(items) = node.as_seq() else {
        if !node.is_null() {
            out.push(
                Diagnostic::error("schema", "'related' must be a list of {id, type} maps")
                    .at(node.span),
            );
        }
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            if item.as_map().is_none() {
                out.push(
                    Diagnostic::error("schema", "a 'related' entry must be a map with id and type")
                        .at(item.span),
                );
                return None;
            }
            let id = item.get("id").and_then(|id| string(id, "related id", out));
            let kind = item.get("type").and_then(|t| {
                keyword(
                    t,
                    "relation type",
                    RelationType::parse,
                    RelationType::ALL,
                    out,
                )
            });
            match id {
                Some(id) => Some(RelatedRule { id, kind }),
                None => {
                    out.push(
                        Diagnostic::error("schema", "a 'related' entry needs an 'id'")
                            .at(item.span),
                    );
                    None
                }
            }
        })
        .collect()
}

fn read_logsource(node: &Node, out: &mut Vec<Diagnostic>) -> LogSource {
    let mut logsource = LogSource {
        span: node.span,
        ..LogSource::default()
    };
    let Some(entries) = node.as_map() else {
        out.push(
            Diagnostic::error(
                "schema",
                format!("'logsource' must be a map, not {}", node.kind_name()),
            )
            .at(node.span),
        );
        return logsource;
    };
    for (key, value) in entries {
        let Some(name) = key.as_str() else { continue };
        let text = string(value, &format!("logsource {name}"), out);
        match name {
            "category" => logsource.category = text,
            "product" => logsource.product = text,
            "service" => logsource.service = text,
            "definition" => logsource.definition = text,
            _ => {
                if let Some(text) = text {
                    logsource
                        .custom
                        .push((Spanned::new(name.to_string(), key.span), text));
                }
            }
        }
    }
    logsource
}

/// Reads a detection section (or a filter's `filter` section; `section` names it for messages).
/// In filters, `rules` is not a search identifier and is skipped here.
fn read_detection(
    node: &Node,
    source: &str,
    out: &mut Vec<Diagnostic>,
    section: &str,
) -> Detection {
    let mut detection = Detection {
        span: node.span,
        ..Detection::default()
    };
    let Some(entries) = node.as_map() else {
        out.push(
            Diagnostic::error(
                "schema",
                format!("'{section}' must be a map, not {}", node.kind_name()),
            )
            .at(node.span),
        );
        return detection;
    };
    let mut condition_node = None;
    for (key, value) in entries {
        let Some(name) = key.as_str() else { continue };
        match name {
            "condition" => condition_node = Some(value),
            "rules" if section == "filter" => {}
            "timeframe" => {
                detection.timeframe = string(value, "timeframe", out);
                out.push(
                    Diagnostic::warning(
                        "obsolete-aggregation",
                        "'timeframe' belongs to Sigma 1 aggregations",
                    )
                    .at(key.span)
                    .help("use a correlation rule with a timespan"),
                );
            }
            _ => {
                let name = Spanned::new(name.to_string(), key.span);
                match parse_search(value, source, out) {
                    Some(search) => detection.searches.push(SearchIdentifier {
                        name,
                        search,
                        span: key.span.to(value.span),
                    }),
                    None => detection.unreadable.push(name),
                }
            }
        }
    }
    match condition_node {
        None => out.push(
            Diagnostic::error("schema", format!("'{section}' has no 'condition'"))
                .at(Span::point(node.span.start))
                .help("add `condition: selection` naming the search identifiers to combine"),
        ),
        Some(condition) => {
            let texts: Vec<&Node> = match &condition.kind {
                NodeKind::Seq(items) => items.iter().collect(),
                _ => vec![condition],
            };
            if texts.is_empty() {
                out.push(
                    Diagnostic::error("condition", "empty list of conditions").at(condition.span),
                );
            }
            for text_node in texts {
                let Some(text) = text_node.as_str() else {
                    out.push(
                        Diagnostic::error(
                            "condition",
                            format!(
                                "a condition must be a string, not {}",
                                text_node.kind_name()
                            ),
                        )
                        .at(text_node.span),
                    );
                    continue;
                };
                let span_of = |from: usize, to: usize| text_node.text_span(source, from, to);
                match parse_condition(text, &span_of, out) {
                    Ok(parsed) => detection.conditions.push(parsed),
                    Err(diagnostic) => out.push(*diagnostic),
                }
            }
        }
    }
    detection
}

const CORRELATION_KEYS: &[&str] = &[
    "title",
    "id",
    "name",
    "status",
    "description",
    "author",
    "references",
    "date",
    "modified",
    "taxonomy",
    "falsepositives",
    "level",
    "generate",
    "correlation",
    "tags",
    "related",
    "license",
    "fields",
    "scope",
];

fn read_correlation(
    node: &Node,
    entries: &[(Node, Node)],
    _source: &str,
    out: &mut Vec<Diagnostic>,
) -> Correlation {
    let meta = read_metadata(entries, CORRELATION_KEYS, out);
    let section = node.get("correlation").cloned().unwrap_or(Node {
        span: node.span,
        kind: NodeKind::Map(Vec::new()),
    });
    let mut correlation = Correlation {
        meta,
        kind: None,
        rules: Vec::new(),
        group_by: Vec::new(),
        timespan: None,
        condition: None,
        aliases: Vec::new(),
        generate: false,
        span: section.span,
    };
    if let Some(generate) = node.get("generate") {
        correlation.generate = boolean(generate, "generate", out);
    }
    let Some(fields) = section.as_map() else {
        out.push(
            Diagnostic::error(
                "schema",
                format!("'correlation' must be a map, not {}", section.kind_name()),
            )
            .at(section.span),
        );
        return correlation;
    };
    for (key, value) in fields {
        let Some(name) = key.as_str() else { continue };
        match name {
            "type" => {
                correlation.kind = keyword(
                    value,
                    "correlation type",
                    CorrelationType::parse,
                    CorrelationType::ALL,
                    out,
                );
                if let Some(kind) = &correlation.kind
                    && kind.value == CorrelationType::ValueMedian
                {
                    out.push(
                        Diagnostic::warning(
                            "spec-extension",
                            "'value_median' is a pySigma extension, not Sigma v2.1.0",
                        )
                        .at(kind.span)
                        .help("value_percentile with percentile 50 is the specified form"),
                    );
                }
            }
            "rules" => correlation.rules = strings(value, "correlation rules", out),
            "group-by" => correlation.group_by = strings(value, "group-by", out),
            "timespan" => correlation.timespan = timespan(value, out),
            "condition" => correlation.condition = correlation_condition(value, out),
            "aliases" => correlation.aliases = aliases(value, out),
            "generate" => correlation.generate = boolean(value, "generate", out),
            other => out.push(
                Diagnostic::error(
                    "schema",
                    format!("unknown key '{other}' in 'correlation'"),
                )
                .at(key.span)
                .help("correlation keys are type, rules, group-by, timespan, condition, aliases and generate"),
            ),
        }
    }
    correlation
}

fn boolean(node: &Node, what: &str, out: &mut Vec<Diagnostic>) -> bool {
    match node.as_scalar().map(|s| s.value) {
        Some(ScalarValue::Bool(b)) => b,
        _ => {
            out.push(
                Diagnostic::error("schema", format!("'{what}' must be true or false"))
                    .at(node.span),
            );
            false
        }
    }
}

/// `<int><unit>`: s, m, h, d (spec); w, M, y (pySigma) with a warning.
pub fn parse_timespan(text: &str) -> Result<(Timespan, bool), String> {
    let text = text.trim();
    let unit_at = text
        .char_indices()
        .last()
        .map(|(i, _)| i)
        .ok_or("empty timespan")?;
    let (number, unit) = text.split_at(unit_at);
    let count: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a timespan such as 90m or 1h"))?;
    let (factor, extension) = match unit {
        "s" => (1, false),
        "m" => (60, false),
        "h" => (3600, false),
        "d" => (86_400, false),
        "w" => (7 * 86_400, true),
        "M" => (30 * 86_400, true),
        "y" => (365 * 86_400, true),
        _ => {
            return Err(format!(
                "'{text}' has an unknown time unit '{unit}' (use s, m, h or d)"
            ));
        }
    };
    let seconds = count
        .checked_mul(factor)
        .ok_or_else(|| format!("timespan '{text}' is too long"))?;
    Ok((Timespan { seconds }, extension))
}

fn timespan(node: &Node, out: &mut Vec<Diagnostic>) -> Option<Spanned<Timespan>> {
    let text = string(node, "timespan", out)?;
    match parse_timespan(&text.value) {
        Ok((span, extension)) => {
            if extension {
                out.push(
                    Diagnostic::warning(
                        "spec-extension",
                        "timespan units w, M and y are pySigma extensions",
                    )
                    .at(text.span),
                );
            }
            Some(Spanned::new(span, text.span))
        }
        Err(message) => {
            out.push(Diagnostic::error("schema", message).at(text.span));
            None
        }
    }
}

fn correlation_condition(node: &Node, out: &mut Vec<Diagnostic>) -> Option<CorrelationCondition> {
    if let Some(text) = node.as_str() {
        out.push(
            Diagnostic::warning(
                "spec-extension",
                "a condition expression in a correlation is a pySigma extension (temporal types only)",
            )
            .at(node.span),
        );
        return Some(CorrelationCondition {
            thresholds: Vec::new(),
            field: None,
            expression: Some(Spanned::new(text.to_string(), node.span)),
            span: node.span,
        });
    }
    let Some(entries) = node.as_map() else {
        out.push(
            Diagnostic::error(
                "schema",
                "a correlation 'condition' must be a map such as {gte: 10}",
            )
            .at(node.span),
        );
        return None;
    };
    let mut condition = CorrelationCondition {
        thresholds: Vec::new(),
        field: None,
        expression: None,
        span: node.span,
    };
    for (key, value) in entries {
        let Some(name) = key.as_str() else { continue };
        if name == "field" {
            condition.field = string(value, "condition field", out);
            continue;
        }
        if name == "percentile" {
            continue;
        }
        let Some(op) = CorrelationOp::parse(name) else {
            out.push(
                Diagnostic::error(
                    "schema",
                    format!("unknown correlation condition operator '{name}'"),
                )
                .at(key.span)
                .label("expected gt, gte, lt, lte, eq, neq or field"),
            );
            continue;
        };
        let number = match value.as_scalar().map(|s| s.value) {
            Some(ScalarValue::Int(i)) => i as f64,
            Some(ScalarValue::Float(f)) => f,
            _ => {
                out.push(
                    Diagnostic::error("schema", format!("'{name}' needs a number")).at(value.span),
                );
                continue;
            }
        };
        condition
            .thresholds
            .push((Spanned::new(op, key.span), number));
    }
    if condition.thresholds.len() > 2 {
        out.push(
            Diagnostic::error(
                "schema",
                "a correlation condition has one comparison, or two that form a range",
            )
            .at(node.span),
        );
    }
    Some(condition)
}

fn aliases(node: &Node, out: &mut Vec<Diagnostic>) -> Vec<CorrelationAlias> {
    let Some(entries) = node.as_map() else {
        out.push(
            Diagnostic::error(
                "schema",
                "'aliases' must map alias names to {rule: field} maps",
            )
            .at(node.span),
        );
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|(alias, mapping)| {
            let alias = Spanned::new(alias.as_str()?.to_string(), alias.span);
            let Some(pairs) = mapping.as_map() else {
                out.push(
                    Diagnostic::error(
                        "schema",
                        format!("alias '{}' must map rule names to field names", alias.value),
                    )
                    .at(mapping.span),
                );
                return None;
            };
            let fields = pairs
                .iter()
                .filter_map(|(rule, field)| {
                    Some((
                        Spanned::new(rule.as_str()?.to_string(), rule.span),
                        string(field, "alias field", out)?,
                    ))
                })
                .collect();
            Some(CorrelationAlias { alias, fields })
        })
        .collect()
}

const FILTER_KEYS: &[&str] = &[
    "title",
    "id",
    "name",
    "description",
    "author",
    "references",
    "date",
    "modified",
    "taxonomy",
    "logsource",
    "filter",
    "tags",
    "license",
    "related",
    "status",
    "level",
    "falsepositives",
];

fn read_filter(
    node: &Node,
    entries: &[(Node, Node)],
    source: &str,
    out: &mut Vec<Diagnostic>,
) -> Filter {
    let meta = read_metadata(entries, FILTER_KEYS, out);
    let logsource = match node.get("logsource") {
        Some(ls) => read_logsource(ls, out),
        None => {
            out.push(
                Diagnostic::error("schema", "a filter needs a 'logsource'")
                    .at(Span::point(node.span.start)),
            );
            LogSource::default()
        }
    };
    let section = node.get("filter");
    let target = match section.and_then(|f| f.get("rules")) {
        None => {
            out.push(
                Diagnostic::error(
                    "schema",
                    "a filter needs 'rules' (a list of rule ids or names, or 'any')",
                )
                .at(section.map_or(node.span, |s| Span::point(s.span.start))),
            );
            FilterTarget::Rules(Vec::new())
        }
        Some(rules) => match &rules.kind {
            NodeKind::Scalar(s) if s.text == "any" => FilterTarget::Any(rules.span),
            NodeKind::Seq(items) if items.is_empty() => FilterTarget::Any(rules.span),
            _ => FilterTarget::Rules(strings(rules, "filter rules", out)),
        },
    };
    if matches!(target, FilterTarget::Any(_)) {
        out.push(
            Diagnostic::info(
                "spec-extension",
                "'rules: any' (or an empty list) is a pySigma extension proposed for Sigma 2.2",
            )
            .at(section
                .and_then(|f| f.get("rules"))
                .map_or(node.span, |r| r.span)),
        );
    }
    let detection = section
        .map(|f| read_detection(f, source, out, "filter"))
        .unwrap_or_default();
    Filter {
        meta,
        logsource,
        target,
        detection,
    }
}
