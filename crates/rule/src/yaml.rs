//! A YAML tree in which every node knows its exact source span.
//!
//! Sigma needs more than a typed deserializer gives: detection sections are maps with
//! arbitrary keys whose values may be scalars, lists or maps; a quoted `'11'` and a plain `11`
//! differ; error messages must point at the key or value at fault. So the loader reads the
//! event stream of serde-saphyr's YAML parser (granit-parser, panic-free) and builds this small
//! tree itself. Plain scalars are resolved with the YAML 1.2 core schema; the raw source text
//! stays available for every scalar.

use crate::source::Span;
use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle, ScanError};
use std::collections::HashMap;

/// Most nodes one document may expand to through aliases (a guard against "billion laughs").
const MAX_NODES_PER_DOCUMENT: usize = 200_000;
/// Deepest nesting accepted; Sigma documents are a few levels deep.
const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Node {
    pub span: Span,
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum NodeKind {
    Scalar(Scalar),
    Seq(Vec<Node>),
    /// Entries in document order. Keys are unique (duplicates are load errors).
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scalar {
    /// The scalar's content after YAML escape processing.
    pub text: String,
    pub style: Style,
    pub value: ScalarValue,
}

/// How a scalar was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|` or `>` block scalars.
    Block,
}

/// The YAML 1.2 core-schema type of a scalar. Quoted and block scalars are always strings.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ScalarValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    pub span: Span,
    pub message: String,
}

impl Node {
    pub fn as_scalar(&self) -> Option<&Scalar> {
        match &self.kind {
            NodeKind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a string-like scalar (any scalar that is not null).
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(s) if s.value != ScalarValue::Null => Some(&s.text),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar(s) if s.value == ScalarValue::Null)
    }

    /// The value of `key` in a map node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The source span of the byte range `from..to` of a scalar's text. Exact for plain scalars
    /// and for quoted scalars without escapes; otherwise the whole scalar.
    pub fn text_span(&self, source: &str, from: usize, to: usize) -> Span {
        let Some(scalar) = self.as_scalar() else {
            return self.span;
        };
        let raw = source.get(self.span.range()).unwrap_or("");
        let offset = match scalar.style {
            Style::Plain if raw == scalar.text => 0,
            Style::SingleQuoted | Style::DoubleQuoted
                if raw.len() == scalar.text.len() + 2 && raw[1..raw.len() - 1] == scalar.text =>
            {
                1
            }
            _ => return self.span,
        };
        self.span.sub(offset + from, offset + to)
    }

    /// A word for the node's shape, for messages ("a list", "a map", "a string" ...).
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a map",
            NodeKind::Scalar(s) => match s.value {
                ScalarValue::Null => "null",
                ScalarValue::Bool(_) => "a boolean",
                ScalarValue::Int(_) => "an integer",
                ScalarValue::Float(_) => "a number",
                ScalarValue::String => "a string",
            },
        }
    }
}

/// Parses every document of a YAML stream. Empty documents are skipped.
pub fn parse_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut builder = TreeBuilder::new(text);
    let mut parser = Parser::new_from_str(text);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| scan_error(text, &e))?;
        let span = builder.span(span.start, span.end);
        builder.event(event, span)?;
    }
    Ok(builder.documents)
}

fn scan_error(text: &str, error: &ScanError) -> YamlError {
    let offset = byte_offset(text, error.marker());
    YamlError {
        span: Span::point(offset),
        message: error.info(),
    }
}

fn byte_offset(text: &str, marker: &Marker) -> u32 {
    let offset = marker.byte_offset().unwrap_or_else(|| {
        // The parser counts characters; convert to bytes.
        text.char_indices()
            .nth(marker.index())
            .map_or(text.len(), |(i, _)| i)
    });
    offset.min(text.len()) as u32
}

enum Open {
    Seq {
        span: Span,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        span: Span,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
    },
}

struct TreeBuilder<'t> {
    text: &'t str,
    documents: Vec<Node>,
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    nodes_in_document: usize,
}

impl<'t> TreeBuilder<'t> {
    fn new(text: &'t str) -> Self {
        TreeBuilder {
            text,
            documents: Vec::new(),
            stack: Vec::new(),
            anchors: HashMap::new(),
            nodes_in_document: 0,
        }
    }

    fn span(&self, start: Marker, end: Marker) -> Span {
        Span::new(byte_offset(self.text, &start), byte_offset(self.text, &end))
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        match event {
            Event::DocumentStart(..) => {
                self.anchors.clear();
                self.nodes_in_document = 0;
            }
            Event::Scalar(text, style, anchor, tag) => {
                let forced_string = tag
                    .as_ref()
                    .is_some_and(|t| t.is_yaml_core_schema_tag("str"));
                let node = scalar_node(text.into_owned(), style, forced_string, span);
                self.finish(node, anchor)?;
            }
            Event::SequenceStart(_, anchor, _) => {
                self.check_depth(span)?;
                self.stack.push(Open::Seq {
                    span,
                    anchor,
                    items: Vec::new(),
                });
            }
            Event::MappingStart(_, anchor, _) => {
                self.check_depth(span)?;
                self.stack.push(Open::Map {
                    span,
                    anchor,
                    entries: Vec::new(),
                    pending_key: None,
                });
            }
            Event::SequenceEnd => {
                if let Some(Open::Seq {
                    span: start,
                    anchor,
                    items,
                }) = self.stack.pop()
                {
                    let span = start.to(span);
                    self.finish(
                        Node {
                            span,
                            kind: NodeKind::Seq(items),
                        },
                        anchor,
                    )?;
                }
            }
            Event::MappingEnd => {
                if let Some(Open::Map {
                    span: start,
                    anchor,
                    entries,
                    ..
                }) = self.stack.pop()
                {
                    let span = start.to(span);
                    self.finish(
                        Node {
                            span,
                            kind: NodeKind::Map(entries),
                        },
                        anchor,
                    )?;
                }
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id).cloned() else {
                    return Err(YamlError {
                        span,
                        message: "alias refers to an unknown anchor".into(),
                    });
                };
                self.nodes_in_document += count_nodes(&target);
                if self.nodes_in_document > MAX_NODES_PER_DOCUMENT {
                    return Err(YamlError {
                        span,
                        message: format!(
                            "aliases expand this document beyond {MAX_NODES_PER_DOCUMENT} nodes"
                        ),
                    });
                }
                // The alias stands where it is written; its content comes from the anchor.
                self.finish(Node { span, ..target }, 0)?;
            }
            Event::UnresolvedAlias(name) => {
                return Err(YamlError {
                    span,
                    message: format!("alias *{name} has no anchor"),
                });
            }
            _ => {}
        }
        Ok(())
    }

    fn check_depth(&self, span: Span) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError {
                span,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
        }
        Ok(())
    }

    /// Attaches a completed node to its parent, or ends a document.
    fn finish(&mut self, node: Node, anchor: usize) -> Result<(), YamlError> {
        self.nodes_in_document += 1;
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if !node.is_null() {
                    self.documents.push(node);
                }
            }
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => {
                    if node.as_scalar().is_none() {
                        return Err(YamlError {
                            span: node.span,
                            message: format!(
                                "a map key must be a scalar, not {}",
                                node.kind_name()
                            ),
                        });
                    }
                    if let Some((first, _)) = entries.iter().find(|(k, _)| {
                        k.as_scalar().map(|s| &s.text) == node.as_scalar().map(|s| &s.text)
                    }) {
                        return Err(YamlError {
                            span: node.span,
                            message: format!(
                                "duplicate key '{}' (first defined at byte {})",
                                node.as_scalar().map_or("", |s| &s.text),
                                first.span.start
                            ),
                        });
                    }
                    *pending_key = Some(node);
                }
                Some(key) => entries.push((key, node)),
            },
        }
        Ok(())
    }
}

fn count_nodes(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Scalar(_) => 1,
        NodeKind::Seq(items) => 1 + items.iter().map(count_nodes).sum::<usize>(),
        NodeKind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count_nodes(k) + count_nodes(v))
                .sum::<usize>()
        }
    }
}

fn scalar_node(text: String, style: ScalarStyle, forced_string: bool, span: Span) -> Node {
    let style = match style {
        ScalarStyle::Plain => Style::Plain,
        ScalarStyle::SingleQuoted => Style::SingleQuoted,
        ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
        _ => Style::Block,
    };
    let value = if style == Style::Plain && !forced_string {
        resolve_plain(&text)
    } else {
        ScalarValue::String
    };
    Node {
        span,
        kind: NodeKind::Scalar(Scalar { text, style, value }),
    }
}

/// The YAML 1.2 core schema's resolution of a plain scalar.
pub fn resolve_plain(text: &str) -> ScalarValue {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return ScalarValue::Null,
        "true" | "True" | "TRUE" => return ScalarValue::Bool(true),
        "false" | "False" | "FALSE" => return ScalarValue::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return ScalarValue::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return ScalarValue::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return ScalarValue::Float(f64::NAN),
        _ => {}
    }
    let bytes = text.as_bytes();
    if let Some(hex) = text.strip_prefix("0x") {
        if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return i64::from_str_radix(hex, 16).map_or(ScalarValue::String, ScalarValue::Int);
        }
        return ScalarValue::String;
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if !oct.is_empty() && oct.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return i64::from_str_radix(oct, 8).map_or(ScalarValue::String, ScalarValue::Int);
        }
        return ScalarValue::String;
    }
    let digits = bytes
        .strip_prefix(b"-")
        .or_else(|| bytes.strip_prefix(b"+"))
        .unwrap_or(bytes);
    if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
        return text.parse().map_or(ScalarValue::String, ScalarValue::Int);
    }
    if is_core_float(digits) {
        return text.parse().map_or(ScalarValue::String, ScalarValue::Float);
    }
    ScalarValue::String
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` without the sign.
fn is_core_float(s: &[u8]) -> bool {
    let mut i = 0;
    let int_digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if s.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exp_digits = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if exp_digits == 0 {
            return false;
        }
        i += exp_digits;
    }
    i == s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Node {
        let mut docs = parse_documents(text).expect("valid yaml");
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    #[test]
    fn plain_scalars_resolve_with_the_core_schema() {
        assert_eq!(resolve_plain("11"), ScalarValue::Int(11));
        assert_eq!(resolve_plain("-4"), ScalarValue::Int(-4));
        assert_eq!(resolve_plain("0x1F"), ScalarValue::Int(31));
        assert_eq!(resolve_plain("0o17"), ScalarValue::Int(15));
        assert_eq!(resolve_plain("1.5"), ScalarValue::Float(1.5));
        assert_eq!(resolve_plain("1e3"), ScalarValue::Float(1000.0));
        assert_eq!(resolve_plain("~"), ScalarValue::Null);
        assert_eq!(resolve_plain(""), ScalarValue::Null);
        assert_eq!(resolve_plain("True"), ScalarValue::Bool(true));
        // YAML 1.1 booleans and dates are plain strings in YAML 1.2.
        assert_eq!(resolve_plain("yes"), ScalarValue::String);
        assert_eq!(resolve_plain("y"), ScalarValue::String);
        assert_eq!(resolve_plain("2018-03-07"), ScalarValue::String);
        assert_eq!(resolve_plain("1.2.3"), ScalarValue::String);
        assert_eq!(resolve_plain("0x"), ScalarValue::String);
        assert_eq!(resolve_plain("99999999999999999999"), ScalarValue::String);
    }

    #[test]
    fn quoted_scalars_are_strings_and_keep_spans() {
        let text = "a: '11'\nb: 11\nc: \"x\\ty\"\n";
        let node = doc(text);
        let a = node.get("a").unwrap();
        assert_eq!(a.as_scalar().unwrap().value, ScalarValue::String);
        assert_eq!(&text[a.span.range()], "'11'");
        let b = node.get("b").unwrap();
        assert_eq!(b.as_scalar().unwrap().value, ScalarValue::Int(11));
        assert_eq!(&text[b.span.range()], "11");
        assert_eq!(node.get("c").unwrap().as_str(), Some("x\ty"));
    }

    #[test]
    fn several_documents_and_empty_ones() {
        let docs = parse_documents("a: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert!(docs[1].get("b").is_some());
    }

    #[test]
    fn duplicate_keys_are_errors_pointing_at_the_second_key() {
        let text = "a: 1\nb: 2\na: 3\n";
        let err = parse_documents(text).unwrap_err();
        assert_eq!(err.span.start, 10);
        assert!(
            err.message.starts_with("duplicate key 'a'"),
            "{}",
            err.message
        );
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = parse_documents("a: [1, 2\n").unwrap_err();
        assert!(err.span.start > 0);
        let err = parse_documents("a: b: c\n").unwrap_err();
        assert_eq!(err.span.start, 4);
    }

    #[test]
    fn aliases_copy_their_anchor_and_are_bounded() {
        let node = doc("a: &x [1, 2]\nb: *x\n");
        assert_eq!(node.get("b").unwrap().as_seq().unwrap().len(), 2);
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let prev = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let err = parse_documents(&bomb).unwrap_err();
        assert!(err.message.contains("beyond"), "{}", err.message);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = "[".repeat(100);
        assert!(parse_documents(&text).is_err());
    }

    #[test]
    fn non_scalar_keys_are_refused() {
        let err = parse_documents("? [a]\n: b\n").unwrap_err();
        assert!(err.message.contains("must be a scalar"), "{}", err.message);
    }
}
