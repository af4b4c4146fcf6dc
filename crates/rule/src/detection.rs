//! The detection section: search identifiers made of detection items.
//!
//! A search identifier's value is a map (its items are ANDed), a list of maps (ORed), or a list
//! of plain values (keywords, matched against any field). Each item is `field|modifiers: values`;
//! the values of one item are ORed unless the `all` modifier ANDs them. Modifiers apply left to
//! right, each changing the values' type (string → regex, number → comparison ...) exactly as
//! the Sigma v2.1.0 modifier appendix and pySigma define it.

use crate::diagnostic::Diagnostic;
use crate::modifier::Modifier;
use crate::source::{Span, Spanned};
use crate::string::SigmaString;
use crate::value::{FieldRefMatch, MatchValue, Number, RegexFlags};
use crate::yaml::{Node, NodeKind, Scalar, ScalarValue};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// How the values of one item combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ValueJoin {
    /// Any value matches (the default).
    Any,
    /// Every value must match (the `all` modifier).
    All,
}

/// `field|modifiers: values`, or a keyword list when `field` is `None`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DetectionItem {
    /// The field name; `None` for keywords (matched against every value of the event).
    pub field: Option<Spanned<String>>,
    pub modifiers: Vec<Spanned<Modifier>>,
    /// One entry per written value, in order.
    pub values: Vec<Spanned<MatchValue>>,
    pub join: ValueJoin,
    /// The `neq` modifier: the item matches when its values do not.
    pub negated: bool,
    /// The whole `key: value` entry (or the keyword list).
    pub span: Span,
}

impl DetectionItem {
    pub fn has_modifier(&self, modifier: Modifier) -> bool {
        self.modifiers.iter().any(|m| m.value == modifier)
    }

    pub fn field_name(&self) -> Option<&str> {
        self.field.as_ref().map(|f| f.value.as_str())
    }
}

/// The body of a search identifier.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Search {
    /// A map: every item must match.
    AllOf(Vec<DetectionItem>),
    /// A list of maps (or of maps and keywords): any element matches.
    AnyOf(Vec<Search>),
    /// A list of plain values: keywords.
    Keywords(DetectionItem),
}

impl Search {
    /// Every detection item, depth first.
    pub fn items(&self) -> Vec<&DetectionItem> {
        let mut out = Vec::new();
        self.collect_items(&mut out);
        out
    }

    fn collect_items<'a>(&'a self, out: &mut Vec<&'a DetectionItem>) {
        match self {
            Search::AllOf(items) => out.extend(items.iter()),
            Search::AnyOf(searches) => searches.iter().for_each(|s| s.collect_items(out)),
            Search::Keywords(item) => out.push(item),
        }
    }
}

/// A named search (`selection: ...`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SearchIdentifier {
    pub name: Spanned<String>,
    pub search: Search,
    pub span: Span,
}

/// Reads a search identifier's value. Problems go to `diagnostics`; `None` when nothing usable
/// remains.
pub fn parse_search(
    node: &Node,
    source: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Search> {
    match &node.kind {
        NodeKind::Map(entries) => {
            if entries.is_empty() {
                diagnostics.push(
                    Diagnostic::error("detection-structure", "empty search identifier")
                        .at(node.span)
                        .label("this map has no field"),
                );
                return None;
            }
            let items = entries
                .iter()
                .filter_map(|(key, value)| parse_item(key, value, source, diagnostics))
                .collect::<Vec<_>>();
            (items.len() == entries.len()).then_some(Search::AllOf(items))
        }
        NodeKind::Seq(elements) => {
            if elements.is_empty() {
                diagnostics.push(
                    Diagnostic::error("detection-structure", "empty search identifier")
                        .at(node.span)
                        .label("this list is empty"),
                );
                return None;
            }
            if elements.iter().all(|e| e.as_scalar().is_some()) {
                return keyword_item(node, None, elements, source, diagnostics)
                    .map(Search::Keywords);
            }
            let mut alternatives = Vec::with_capacity(elements.len());
            let mut ok = true;
            for element in elements {
                let parsed = match &element.kind {
                    NodeKind::Map(_) => parse_search(element, source, diagnostics),
                    NodeKind::Scalar(_) => keyword_item(
                        element,
                        None,
                        std::slice::from_ref(element),
                        source,
                        diagnostics,
                    )
                    .map(Search::Keywords),
                    NodeKind::Seq(_) => {
                        diagnostics.push(
                            Diagnostic::error(
                                "detection-structure",
                                "a search identifier's list may hold maps or values, not lists",
                            )
                            .at(element.span),
                        );
                        None
                    }
                };
                match parsed {
                    Some(search) => alternatives.push(search),
                    None => ok = false,
                }
            }
            ok.then_some(Search::AnyOf(alternatives))
        }
        NodeKind::Scalar(_) => {
            diagnostics.push(
                Diagnostic::error(
                    "detection-structure",
                    format!(
                        "a search identifier must be a map or a list, not {}",
                        node.kind_name()
                    ),
                )
                .at(node.span)
                .help("write `field: value` pairs, or a list of keywords"),
            );
            None
        }
    }
}

/// A keyword list (`- value` items, or `'|all': [...]`).
fn keyword_item(
    span_node: &Node,
    key: Option<(&Node, Vec<Spanned<Modifier>>)>,
    values: &[Node],
    source: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<DetectionItem> {
    let modifiers = key.map(|(_, m)| m).unwrap_or_default();
    build_item(None, modifiers, span_node.span, values, source, diagnostics)
}

fn parse_item(
    key: &Node,
    value: &Node,
    source: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<DetectionItem> {
    let key_scalar = key.as_scalar()?;
    let (field, modifiers) = parse_key(key, key_scalar, source, diagnostics)?;
    let span = key.span.to(value.span);
    let values: Vec<Node> = match &value.kind {
        NodeKind::Seq(items) => {
            if items.is_empty() {
                diagnostics.push(
                    Diagnostic::error("detection-structure", "empty list of values")
                        .at(value.span)
                        .label("an item needs at least one value"),
                );
                return None;
            }
            if let Some(nested) = items.iter().find(|i| i.as_scalar().is_none()) {
                diagnostics.push(
                    Diagnostic::error(
                        "detection-structure",
                        format!(
                            "a field's values must be scalars, not {}",
                            nested.kind_name()
                        ),
                    )
                    .at(nested.span),
                );
                return None;
            }
            items.clone()
        }
        NodeKind::Scalar(_) => vec![value.clone()],
        NodeKind::Map(_) => {
            diagnostics.push(
                Diagnostic::error(
                    "detection-structure",
                    "a field's value must be a scalar or a list of scalars, not a map",
                )
                .at(value.span)
                .help("nested maps are not Sigma; use one search identifier per map"),
            );
            return None;
        }
    };
    build_item(field, modifiers, span, &values, source, diagnostics)
}

/// A key's field (absent for keyword lists) and its modifiers.
type ParsedKey = (Option<Spanned<String>>, Vec<Spanned<Modifier>>);

/// Splits `field|mod1|mod2` into the field and its modifiers, with a span for each.
fn parse_key(
    key: &Node,
    scalar: &Scalar,
    source: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<ParsedKey> {
    let sub_span = |from: usize, to: usize| key.text_span(source, from, to);

    let text = scalar.text.as_str();
    let mut pieces = text.split('|');
    let field_text = pieces.next().unwrap_or("");
    let field = (!field_text.is_empty())
        .then(|| Spanned::new(field_text.to_string(), sub_span(0, field_text.len())));
    let mut modifiers = Vec::new();
    let mut offset = field_text.len() + 1;
    let mut ok = true;
    for piece in pieces {
        let span = sub_span(offset, offset + piece.len());
        offset += piece.len() + 1;
        if piece.is_empty() {
            diagnostics.push(
                Diagnostic::error("unknown-modifier", "empty modifier name")
                    .at(span)
                    .label("two `|` in a row, or a trailing `|`"),
            );
            ok = false;
            continue;
        }
        match Modifier::from_name(piece) {
            Some(m) => modifiers.push(Spanned::new(m, span)),
            None => {
                let mut diagnostic =
                    Diagnostic::error("unknown-modifier", format!("unknown modifier '{piece}'"))
                        .at(span)
                        .label("not a Sigma modifier");
                if let Some(suggestion) = Modifier::suggest(piece) {
                    diagnostic = diagnostic.help(format!("did you mean '{suggestion}'?"));
                }
                diagnostics.push(diagnostic);
                ok = false;
            }
        }
    }
    ok.then_some((field, modifiers))
}

/// What a written value is before modifiers act on it.
#[derive(Clone, Debug)]
enum Working {
    Str {
        value: SigmaString,
        /// The value as written (before wildcard parsing), for `re` and `cidr`.
        original: String,
        cased: bool,
    },
    Regex {
        pattern: String,
        flags: RegexFlags,
    },
    Number {
        value: Number,
        raw: String,
    },
    Bool(bool),
    Null,
    Done(MatchValue),
    Expansion(Vec<Working>),
}

fn build_item(
    field: Option<Spanned<String>>,
    modifiers: Vec<Spanned<Modifier>>,
    span: Span,
    values: &[Node],
    source: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<DetectionItem> {
    let errors_before = diagnostics.len();
    if let Some(exists) = modifiers.iter().find(|m| m.value == Modifier::Exists)
        && modifiers.len() > 1
    {
        diagnostics.push(
            Diagnostic::error(
                "modifier-type",
                "'exists' cannot be combined with other modifiers",
            )
            .at(exists.span),
        );
        return None;
    }
    let mut join = ValueJoin::Any;
    let mut negated = false;
    for m in &modifiers {
        match m.value {
            Modifier::All => join = ValueJoin::All,
            Modifier::Neq => negated = true,
            _ => {}
        }
    }
    let value_modifiers: Vec<&Spanned<Modifier>> = modifiers
        .iter()
        .filter(|m| !m.value.is_list_modifier())
        .collect();

    let mut out = Vec::with_capacity(values.len());
    for node in values {
        let Some(scalar) = node.as_scalar() else {
            continue;
        };
        let mut working = initial_value(scalar, source, node);
        let mut applied: Vec<Modifier> = Vec::new();
        for modifier in &value_modifiers {
            match apply(modifier, working, &applied, field.is_some()) {
                Ok(next) => working = next,
                Err(message) => {
                    diagnostics.push(
                        Diagnostic::error("modifier-type", message)
                            .at(modifier.span)
                            .related(node.span, "this value"),
                    );
                    working = Working::Null;
                    break;
                }
            }
            applied.push(modifier.value);
        }
        out.push(Spanned::new(finish(working), node.span));
    }
    if diagnostics.len() > errors_before {
        return None;
    }
    Some(DetectionItem {
        field,
        modifiers,
        values: out,
        join,
        negated,
        span,
    })
}

fn initial_value(scalar: &Scalar, source: &str, node: &Node) -> Working {
    match scalar.value {
        ScalarValue::Null => Working::Null,
        ScalarValue::Bool(b) => Working::Bool(b),
        ScalarValue::Int(i) => Working::Number {
            value: Number::Int(i),
            raw: source
                .get(node.span.range())
                .unwrap_or(&scalar.text)
                .to_string(),
        },
        ScalarValue::Float(f) => Working::Number {
            value: Number::Float(f),
            raw: source
                .get(node.span.range())
                .unwrap_or(&scalar.text)
                .to_string(),
        },
        ScalarValue::String => Working::Str {
            value: SigmaString::parse(&scalar.text),
            original: scalar.text.clone(),
            cased: false,
        },
    }
}

/// Numbers become strings when a string modifier meets them (`EventID|startswith: 46`).
fn as_string(working: Working) -> Working {
    match working {
        Working::Number { raw, .. } => Working::Str {
            value: SigmaString::parse(&raw),
            original: raw,
            cased: false,
        },
        other => other,
    }
}

fn type_name(working: &Working) -> &'static str {
    match working {
        Working::Str { .. } => "a string",
        Working::Regex { .. } => "a regular expression",
        Working::Number { .. } => "a number",
        Working::Bool(_) => "a boolean",
        Working::Null => "null",
        Working::Done(MatchValue::Compare { .. }) => "a comparison",
        Working::Done(MatchValue::Cidr(_)) => "a CIDR network",
        Working::Done(MatchValue::Exists(_)) => "an exists test",
        Working::Done(MatchValue::FieldRef { .. }) => "a field reference",
        Working::Done(MatchValue::TimePart { .. }) => "a time part",
        Working::Done(_) => "a value",
        Working::Expansion(_) => "an expansion",
    }
}

fn incompatible(modifier: Modifier, working: &Working) -> String {
    format!(
        "modifier '{}' cannot be applied to {}",
        modifier.name(),
        type_name(working)
    )
}

/// Applies one value modifier. `applied` lists the value modifiers applied before it.
fn apply(
    modifier: &Spanned<Modifier>,
    working: Working,
    applied: &[Modifier],
    has_field: bool,
) -> Result<Working, String> {
    let m = modifier.value;
    if let Working::Expansion(items) = working {
        return items
            .into_iter()
            .map(|item| apply(modifier, item, applied, has_field))
            .collect::<Result<Vec<_>, _>>()
            .map(Working::Expansion);
    }
    match m {
        Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith => {
            match as_string(working) {
                Working::Str {
                    mut value,
                    original,
                    cased,
                } => {
                    if m != Modifier::StartsWith {
                        value.prepend_any();
                    }
                    if m != Modifier::EndsWith {
                        value.append_any();
                    }
                    Ok(Working::Str {
                        value,
                        original,
                        cased,
                    })
                }
                Working::Regex { pattern, flags } => Ok(Working::Regex {
                    pattern: anchor_regex(&pattern, m),
                    flags,
                }),
                Working::Done(MatchValue::FieldRef { field, position }) => {
                    let position = match (position, m) {
                        (FieldRefMatch::Equals, Modifier::StartsWith) => FieldRefMatch::StartsWith,
                        (FieldRefMatch::Equals, Modifier::EndsWith) => FieldRefMatch::EndsWith,
                        (FieldRefMatch::StartsWith, Modifier::EndsWith)
                        | (FieldRefMatch::EndsWith, Modifier::StartsWith)
                        | (_, Modifier::Contains) => FieldRefMatch::Contains,
                        (same, _) => same,
                    };
                    Ok(Working::Done(MatchValue::FieldRef { field, position }))
                }
                other => Err(incompatible(m, &other)),
            }
        }
        Modifier::Cased => match as_string(working) {
            Working::Str {
                value, original, ..
            } => Ok(Working::Str {
                value,
                original,
                cased: true,
            }),
            other => Err(incompatible(m, &other)),
        },
        Modifier::Windash => match as_string(working) {
            Working::Str {
                value,
                original,
                cased,
            } => {
                let variants = value.windash_variants().ok_or_else(|| {
                    format!(
                        "windash would expand more than {} dashes of this value into over 15,000 variants",
                        crate::string::MAX_WINDASH_SLOTS
                    )
                })?;
                Ok(Working::Expansion(
                    variants
                        .into_iter()
                        .map(|value| Working::Str {
                            value,
                            original: original.clone(),
                            cased,
                        })
                        .collect(),
                ))
            }
            other => Err(incompatible(m, &other)),
        },
        Modifier::Re => {
            if !applied.is_empty() {
                return Err("'re' must come before any other value modifier".into());
            }
            match as_string(working) {
                Working::Str { original, .. } => {
                    check_regex(&original)?;
                    Ok(Working::Regex {
                        pattern: original,
                        flags: RegexFlags::default(),
                    })
                }
                other => Err(incompatible(m, &other)),
            }
        }
        Modifier::IgnoreCase | Modifier::Multiline | Modifier::DotAll => match working {
            Working::Regex { pattern, mut flags } => {
                match m {
                    Modifier::IgnoreCase => flags.ignore_case = true,
                    Modifier::Multiline => flags.multi_line = true,
                    _ => flags.dot_all = true,
                }
                Ok(Working::Regex { pattern, flags })
            }
            other => Err(format!(
                "regex flag '{}' must follow 're', not apply to {}",
                m.name(),
                type_name(&other)
            )),
        },
        Modifier::Base64 | Modifier::Base64Offset => match as_string(working) {
            Working::Str {
                value,
                original,
                cased,
            } => {
                let Some(text) = value.as_plain() else {
                    return Err(format!(
                        "'{}' cannot encode a value with wildcards or placeholders",
                        m.name()
                    ));
                };
                let data = base64_input(text, applied);
                let encoded: Vec<String> = if m == Modifier::Base64 {
                    vec![BASE64.encode(&data)]
                } else {
                    base64_offsets(&data)
                };
                let mut strings = encoded.into_iter().map(|e| Working::Str {
                    value: SigmaString::literal(e),
                    original: original.clone(),
                    cased,
                });
                if m == Modifier::Base64 {
                    Ok(strings.next().unwrap_or(Working::Null))
                } else {
                    Ok(Working::Expansion(strings.collect()))
                }
            }
            other => Err(incompatible(m, &other)),
        },
        Modifier::Utf16Le | Modifier::Utf16Be | Modifier::Utf16 => match as_string(working) {
            Working::Str {
                value,
                original,
                cased,
            } => {
                if !value.text_content().is_ascii() {
                    return Err(format!(
                        "'{}' is only defined for ASCII text here (as in pySigma)",
                        m.name()
                    ));
                }
                let encoded = value.map_text(|text| {
                    let mut out = String::with_capacity(text.len() * 2);
                    for c in text.chars() {
                        if m == Modifier::Utf16Be {
                            out.push('\0');
                            out.push(c);
                        } else {
                            out.push(c);
                            out.push('\0');
                        }
                    }
                    out
                });
                let value = if m == Modifier::Utf16 {
                    let mut with_bom = SigmaString::literal("\u{feff}");
                    for part in encoded.parts() {
                        with_bom.push(part.clone());
                    }
                    with_bom
                } else {
                    encoded
                };
                Ok(Working::Str {
                    value,
                    original,
                    cased,
                })
            }
            other => Err(incompatible(m, &other)),
        },
        Modifier::Lt | Modifier::Lte | Modifier::Gt | Modifier::Gte => {
            let op = m.compare_op().ok_or("not a comparison")?;
            Ok(Working::Done(MatchValue::Compare {
                op,
                value: expect_number(m, working)?,
            }))
        }
        Modifier::Minute
        | Modifier::Hour
        | Modifier::Day
        | Modifier::Week
        | Modifier::Month
        | Modifier::Year => {
            let part = m.time_part().ok_or("not a time part")?;
            let value = match expect_number(m, working)? {
                Number::Int(i) => i,
                Number::Float(f) => {
                    return Err(format!("'{}' needs a whole number, not {f}", m.name()));
                }
            };
            if let Some((low, high)) = part.range()
                && !(low..=high).contains(&value)
            {
                return Err(format!(
                    "a {} is between {low} and {high}; {value} never matches",
                    part.name()
                ));
            }
            Ok(Working::Done(MatchValue::TimePart { part, value }))
        }
        Modifier::Cidr => {
            if !applied.is_empty() {
                return Err("'cidr' must come before any other value modifier".into());
            }
            match as_string(working) {
                Working::Str { original, .. } => {
                    let network = original.trim().parse::<ipnet::IpNet>().or_else(|_| {
                        original
                            .trim()
                            .parse::<std::net::IpAddr>()
                            .map(ipnet::IpNet::from)
                    });
                    match network {
                        Ok(net) => Ok(Working::Done(MatchValue::Cidr(net))),
                        Err(_) => Err(format!("'{original}' is not an IPv4 or IPv6 network")),
                    }
                }
                other => Err(incompatible(m, &other)),
            }
        }
        Modifier::Exists => {
            if !has_field {
                return Err("'exists' needs a field name".into());
            }
            if !applied.is_empty() {
                return Err("'exists' cannot be combined with other value modifiers".into());
            }
            match working {
                Working::Bool(b) => Ok(Working::Done(MatchValue::Exists(b))),
                Working::Str { original, .. } if original.eq_ignore_ascii_case("true") => {
                    Ok(Working::Done(MatchValue::Exists(true)))
                }
                Working::Str { original, .. } if original.eq_ignore_ascii_case("false") => {
                    Ok(Working::Done(MatchValue::Exists(false)))
                }
                other => Err(format!(
                    "'exists' takes true or false, not {}",
                    type_name(&other)
                )),
            }
        }
        Modifier::Expand => match as_string(working) {
            Working::Str {
                value,
                original,
                cased,
            } => Ok(Working::Str {
                value: value.expand_placeholders(),
                original,
                cased,
            }),
            other => Err(incompatible(m, &other)),
        },
        Modifier::FieldRef => match as_string(working) {
            Working::Str { value, .. } => match value.as_plain() {
                Some(name) if !name.is_empty() => Ok(Working::Done(MatchValue::FieldRef {
                    field: name.to_string(),
                    position: FieldRefMatch::Equals,
                })),
                _ => Err("'fieldref' takes a field name without wildcards".into()),
            },
            other => Err(incompatible(m, &other)),
        },
        Modifier::All | Modifier::Neq => Ok(working),
    }
}

fn expect_number(m: Modifier, working: Working) -> Result<Number, String> {
    match working {
        Working::Number { value, .. } => Ok(value),
        Working::Str { ref original, .. } => Number::parse(original)
            .ok_or_else(|| format!("'{}' needs a number, not '{original}'", m.name())),
        other => Err(incompatible(m, &other)),
    }
}

/// pySigma's contains/startswith/endswith on a regex: group a top-level alternation, then add
/// `.*` where the regex is not already open or anchored.
fn anchor_regex(pattern: &str, m: Modifier) -> String {
    let mut pattern = if has_top_level_alternation(pattern) {
        format!("(?:{pattern})")
    } else {
        pattern.to_string()
    };
    if m != Modifier::StartsWith && !pattern.starts_with(".*") && !pattern.starts_with('^') {
        pattern.insert_str(0, ".*");
    }
    if m != Modifier::EndsWith && !ends_unescaped(&pattern, ".*") && !ends_unescaped(&pattern, "$")
    {
        pattern.push_str(".*");
    }
    pattern
}

fn ends_unescaped(pattern: &str, suffix: &str) -> bool {
    let Some(head) = pattern.strip_suffix(suffix) else {
        return false;
    };
    let backslashes = head.len() - head.trim_end_matches('\\').len();
    backslashes % 2 == 0
}

fn has_top_level_alternation(pattern: &str) -> bool {
    let bytes = pattern.as_bytes();
    let (mut depth, mut in_class, mut i) = (0i32, false, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                i += 2;
                continue;
            }
            b']' if in_class => in_class = false,
            b'[' if !in_class => {
                in_class = true;
                if bytes.get(i + 1) == Some(&b'^') {
                    i += 1;
                }
                if bytes.get(i + 1) == Some(&b']') {
                    i += 1;
                }
            }
            b'(' if !in_class => depth += 1,
            b')' if !in_class => depth -= 1,
            b'|' if !in_class && depth == 0 => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// Rejects regexes that are not valid in the Sigma regex subset as Rust's `regex` parses it.
/// Constructs Rust does not support (look-around, back-references) are reported by the
/// `regex-engine` validator, not here: they are valid Sigma.
fn check_regex(pattern: &str) -> Result<(), String> {
    match regex_syntax::Parser::new().parse(pattern) {
        Ok(_) => Ok(()),
        Err(error) => {
            if uses_unsupported_regex_feature(pattern) {
                Ok(())
            } else {
                let detail = match &error {
                    regex_syntax::Error::Parse(e) => e.kind().to_string(),
                    regex_syntax::Error::Translate(e) => e.kind().to_string(),
                    other => other.to_string(),
                };
                Err(format!("invalid regular expression: {detail}"))
            }
        }
    }
}

/// PCRE features outside Rust's regex syntax: look-around, back-references, atomic groups,
/// possessive quantifiers.
pub fn uses_unsupported_regex_feature(pattern: &str) -> bool {
    pattern.contains("(?=")
        || pattern.contains("(?!")
        || pattern.contains("(?<=")
        || pattern.contains("(?<!")
        || pattern.contains("(?>")
        || pattern.contains("*+")
        || pattern.contains("++")
        || pattern
            .as_bytes()
            .windows(2)
            .any(|w| w[0] == b'\\' && (b'1'..=b'9').contains(&w[1]))
}

/// The bytes the base64 modifiers encode: UTF-8, except that the `utf16` modifier's byte-order
/// mark (U+FEFF) becomes FF FE, as pySigma does.
fn base64_input(text: &str, applied: &[Modifier]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text;
    if applied.contains(&Modifier::Utf16)
        && let Some(after) = text.strip_prefix('\u{feff}')
    {
        bytes.extend_from_slice(&[0xff, 0xfe]);
        rest = after;
    }
    bytes.extend_from_slice(rest.as_bytes());
    bytes
}

/// The three base64 forms of `data` at byte shifts 0, 1 and 2, with the characters that depend
/// on unknown neighbouring bytes cut off (Sigma's `base64offset`).
pub fn base64_offsets(data: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END_CUT: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|shift| {
            let mut shifted = vec![b' '; shift];
            shifted.extend_from_slice(data);
            let encoded = BASE64.encode(&shifted);
            let cut = END_CUT[(data.len() + shift) % 3];
            let end = encoded.len().saturating_sub(cut);
            encoded.get(START[shift]..end).unwrap_or("").to_string()
        })
        .collect()
}

fn finish(working: Working) -> MatchValue {
    match working {
        Working::Str { value, cased, .. } => MatchValue::String { value, cased },
        Working::Regex { pattern, flags } => MatchValue::Regex { pattern, flags },
        Working::Number { value, raw } => MatchValue::Number { value, raw },
        Working::Bool(b) => MatchValue::Bool(b),
        Working::Null => MatchValue::Null,
        Working::Done(value) => value,
        Working::Expansion(items) => MatchValue::AnyOf(items.into_iter().map(finish).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::string::Part;
    use crate::yaml::parse_documents;

    fn parse_sel(yaml: &str) -> (Option<Search>, Vec<Diagnostic>) {
        let docs = parse_documents(yaml).expect("yaml");
        let node = docs[0].get("sel").expect("sel");
        let mut diagnostics = Vec::new();
        let search = parse_search(node, yaml, &mut diagnostics);
        (search, diagnostics)
    }

    fn first_item(yaml: &str) -> DetectionItem {
        let (search, diagnostics) = parse_sel(yaml);
        assert!(diagnostics.is_empty(), "{diagnostics:?}");
        match search {
            Some(Search::AllOf(mut items)) => items.remove(0),
            Some(Search::Keywords(item)) => item,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn values(yaml: &str) -> Vec<MatchValue> {
        first_item(yaml)
            .values
            .into_iter()
            .map(|v| v.value)
            .collect()
    }

    fn error(yaml: &str) -> String {
        let (search, diagnostics) = parse_sel(yaml);
        assert!(search.is_none(), "expected an error for {yaml}");
        diagnostics[0].message.clone()
    }

    fn string(raw: &str) -> MatchValue {
        MatchValue::String {
            value: SigmaString::parse(raw),
            cased: false,
        }
    }

    #[test]
    fn plain_values_keep_their_types() {
        assert_eq!(
            values("sel:\n  F: [a, 11, 1.5, true, null]\n"),
            vec![
                string("a"),
                MatchValue::Number {
                    value: Number::Int(11),
                    raw: "11".into()
                },
                MatchValue::Number {
                    value: Number::Float(1.5),
                    raw: "1.5".into()
                },
                MatchValue::Bool(true),
                MatchValue::Null,
            ]
        );
    }

    #[test]
    fn contains_startswith_endswith_add_wildcards() {
        assert_eq!(values("sel:\n  F|contains: x\n"), vec![string("*x*")]);
        assert_eq!(values("sel:\n  F|startswith: x\n"), vec![string("x*")]);
        assert_eq!(
            values("sel:\n  F|endswith: '\\x.exe'\n"),
            vec![string("*\\x.exe")]
        );
        // A number meets a string modifier as its text.
        assert_eq!(values("sel:\n  F|startswith: 46\n"), vec![string("46*")]);
    }

    #[test]
    fn all_and_neq_are_list_modifiers() {
        let all = first_item("sel:\n  F|contains|all: [a, b]\n");
        assert_eq!(all.join, ValueJoin::All);
        assert!(!all.negated);
        assert_eq!(all.values.len(), 2);
        let neq = first_item("sel:\n  F|neq: x\n");
        assert!(neq.negated);
        assert_eq!(neq.values[0].value, string("x"));
    }

    #[test]
    fn cased_marks_strings_case_sensitive() {
        assert_eq!(
            values("sel:\n  F|contains|cased: Ab\n"),
            vec![MatchValue::String {
                value: SigmaString::parse("*Ab*"),
                cased: true
            }]
        );
    }

    #[test]
    fn windash_expands_before_or_after_contains() {
        let expected: Vec<MatchValue> =
            [" -f ", " /f ", " \u{2013}f ", " \u{2014}f ", " \u{2015}f "]
                .iter()
                .map(|t| MatchValue::String {
                    value: SigmaString::from_parts([
                        Part::AnyChars,
                        Part::Text(t.to_string()),
                        Part::AnyChars,
                    ]),
                    cased: false,
                })
                .collect();
        assert_eq!(
            values("sel:\n  F|windash|contains: ' -f '\n"),
            vec![MatchValue::AnyOf(expected.clone())]
        );
        assert_eq!(
            values("sel:\n  F|contains|windash: ' -f '\n"),
            vec![MatchValue::AnyOf(expected)]
        );
    }

    #[test]
    fn re_keeps_the_original_text_and_takes_flags() {
        assert_eq!(
            values("sel:\n  F|re|i|m|s: 'a\\*b.*'\n"),
            vec![MatchValue::Regex {
                pattern: "a\\*b.*".into(),
                flags: RegexFlags {
                    ignore_case: true,
                    multi_line: true,
                    dot_all: true
                }
            }]
        );
        assert!(error("sel:\n  F|re: '(a'\n").starts_with("invalid regular expression"));
        assert!(error("sel:\n  F|i: x\n").contains("must follow 're'"));
        assert!(error("sel:\n  F|contains|re: x\n").contains("before any other"));
        // Look-around is valid Sigma; the engine reports it separately.
        assert_eq!(values("sel:\n  F|re: 'a(?!b)'\n").len(), 1);
    }

    #[test]
    fn regex_with_contains_follows_pysigma() {
        assert_eq!(anchor_regex("a|b", Modifier::Contains), ".*(?:a|b).*");
        assert_eq!(anchor_regex("^ab", Modifier::Contains), "^ab.*");
        assert_eq!(anchor_regex("ab$", Modifier::Contains), ".*ab$");
        assert_eq!(anchor_regex("ab\\$", Modifier::Contains), ".*ab\\$.*");
        assert_eq!(anchor_regex("ab", Modifier::StartsWith), "ab.*");
        assert_eq!(anchor_regex("ab", Modifier::EndsWith), ".*ab");
        assert_eq!(anchor_regex("[|]", Modifier::EndsWith), ".*[|]");
    }

    #[test]
    fn base64_and_base64offset() {
        assert_eq!(values("sel:\n  F|base64: abc\n"), vec![string("YWJj")]);
        // pySigma's reference values for 'abc' at offsets 0, 1, 2.
        assert_eq!(
            values("sel:\n  F|base64offset|contains: abc\n"),
            vec![MatchValue::AnyOf(vec![
                string("*YWJj*"),
                string("*FiY*"),
                string("*hYm*")
            ])]
        );
        assert_eq!(
            base64_offsets(b"/c echo"),
            ["L2MgZWNob", "9jIGVjaG", "vYyBlY2hv"]
        );
        assert!(error("sel:\n  F|base64: 'a*'\n").contains("wildcards"));
    }

    #[test]
    fn utf16_encodings() {
        assert_eq!(values("sel:\n  F|wide: ab\n"), vec![string("a\0b\0")]);
        assert_eq!(values("sel:\n  F|utf16be: ab\n"), vec![string("\0a\0b")]);
        assert_eq!(
            values("sel:\n  F|utf16: ab\n"),
            vec![string("\u{feff}a\0b\0")]
        );
        // With base64, the BOM is FF FE: base64 of FF FE 61 00 is "//5hAA==".
        assert_eq!(
            values("sel:\n  F|utf16|base64: a\n"),
            vec![string("//5hAA==")]
        );
        // 'ping' as UTF-16LE, base64 at offset 0 (without the unstable last characters).
        let encoded = values("sel:\n  F|wide|base64offset|contains: ping\n");
        let MatchValue::AnyOf(variants) = &encoded[0] else {
            panic!("{encoded:?}")
        };
        assert_eq!(variants[0], string("*cABpAG4AZw*"));
        assert_eq!(variants[2], string("*wAGkAbgBnA*"));
        assert!(error("sel:\n  F|wide: é\n").contains("ASCII"));
    }

    #[test]
    fn numeric_comparisons_and_time_parts() {
        assert_eq!(
            values("sel:\n  F|gte: 5\n"),
            vec![MatchValue::Compare {
                op: crate::modifier::CompareOp::Gte,
                value: Number::Int(5)
            }]
        );
        assert_eq!(
            values("sel:\n  F|lt: '2.5'\n"),
            vec![MatchValue::Compare {
                op: crate::modifier::CompareOp::Lt,
                value: Number::Float(2.5)
            }]
        );
        assert!(error("sel:\n  F|gt: abc\n").contains("needs a number"));
        assert_eq!(
            values("sel:\n  T|hour: 3\n"),
            vec![MatchValue::TimePart {
                part: crate::modifier::TimePart::Hour,
                value: 3
            }]
        );
        assert!(error("sel:\n  T|month: 13\n").contains("between 1 and 12"));
    }

    #[test]
    fn cidr_exists_fieldref_expand() {
        assert_eq!(
            values("sel:\n  Ip|cidr: 10.0.0.0/8\n"),
            vec![MatchValue::Cidr("10.0.0.0/8".parse().unwrap())]
        );
        assert_eq!(
            values("sel:\n  Ip|cidr: 'fe80::/10'\n"),
            vec![MatchValue::Cidr("fe80::/10".parse().unwrap())]
        );
        assert!(error("sel:\n  Ip|cidr: 10.0.0/99\n").contains("not an IPv4"));
        assert_eq!(
            values("sel:\n  F|exists: true\n"),
            vec![MatchValue::Exists(true)]
        );
        assert!(error("sel:\n  F|exists: 1\n").contains("true or false"));
        assert!(error("sel:\n  F|contains|exists: true\n").contains("cannot be combined"));
        assert_eq!(
            values("sel:\n  A|fieldref|endswith: B\n"),
            vec![MatchValue::FieldRef {
                field: "B".into(),
                position: FieldRefMatch::EndsWith
            }]
        );
        assert_eq!(
            values("sel:\n  A|fieldref|contains: B\n"),
            vec![MatchValue::FieldRef {
                field: "B".into(),
                position: FieldRefMatch::Contains
            }]
        );
        assert!(error("sel:\n  A|fieldref: 'B*'\n").contains("without wildcards"));
        assert_eq!(
            values("sel:\n  U|expand: '%Admins%'\n"),
            vec![MatchValue::String {
                value: SigmaString::from_parts([Part::Placeholder("Admins".into())]),
                cased: false
            }]
        );
    }

    #[test]
    fn unknown_modifier_points_at_the_name_and_suggests() {
        let yaml = "sel:\n  Image|contians: x\n";
        let (search, diagnostics) = parse_sel(yaml);
        assert!(search.is_none());
        let d = &diagnostics[0];
        assert_eq!(d.message, "unknown modifier 'contians'");
        assert_eq!(&yaml[d.span.unwrap().range()], "contians");
        assert_eq!(d.help.as_deref(), Some("did you mean 'contains'?"));
    }

    #[test]
    fn keywords_and_lists_of_maps() {
        let (search, diagnostics) = parse_sel("sel:\n  - mimikatz\n  - sekurlsa\n");
        assert!(diagnostics.is_empty());
        let Some(Search::Keywords(item)) = search else {
            panic!()
        };
        assert!(item.field.is_none());
        assert_eq!(item.values.len(), 2);

        let (search, _) = parse_sel("sel:\n  - A: 1\n  - B: 2\n    C: 3\n");
        let Some(Search::AnyOf(alternatives)) = search else {
            panic!()
        };
        assert_eq!(alternatives.len(), 2);
        assert!(matches!(&alternatives[1], Search::AllOf(items) if items.len() == 2));

        let keywords = first_item("sel:\n  '|all': [a, b]\n");
        assert!(keywords.field.is_none());
        assert_eq!(keywords.join, ValueJoin::All);
    }

    #[test]
    fn structural_errors() {
        assert!(error("sel: x\n").contains("must be a map or a list"));
        assert!(error("sel: {}\n").contains("empty search identifier"));
        assert!(error("sel:\n  F: []\n").contains("empty list of values"));
        assert!(error("sel:\n  F: {a: b}\n").contains("not a map"));
        assert!(error("sel:\n  F:\n    - [a]\n").contains("must be scalars"));
        assert!(error("sel:\n  F||contains: x\n").contains("empty modifier"));
    }
}
