//! The JSON text of a record read from its template values, written as `evtx` renders it.
//!
//! An alert carries its event's JSON text. For a record filled from its template values
//! ([`super::Shape`]), asking `evtx` for that text means advancing its record iterator to the
//! record, which builds the content of every record on the way, and then rendering it: on an
//! alert-dense log that was a sixth of a hunt's work per record. A [`JsonPlan`] is read from the
//! same definition as the shape and writes the text from the same values, by `evtx`'s JSON
//! rules: an element is a member named after it; a leaf is its value (`null` when empty, `""`
//! for a named `Data`), integers and booleans bare, other values as escaped strings; attributes
//! go in `#attributes` (with the content as `#text`); an element that depends on a NULL value is
//! left out, and a container whose members are all left out is `null`; a nested instance
//! becomes a member named after its root.
//!
//! Only the definitions and values whose rendering these rules settle are written here:
//! repeated names (renamed `_1`, …), positional or dependent `Data`, attributes on a container
//! with substitutions, mixed text and elements, and value
//! types other than strings, integers, booleans, GUIDs, hex integers, FILETIMEs and SIDs are
//! declined, and the caller asks `evtx` as before. `tests/evtx_direct.rs` compares the text
//! written here with `evtx`'s for every record of the corpus.

use evtx::binxml::value_variant::BinXmlValue;

use super::values::{Sub, array_items};
use super::{Declined, Element, Node, is_empty, write_value};
use crate::event::Span;

/// How the JSON text of one template definition's instances is written.
#[derive(Debug)]
pub(super) struct JsonPlan {
    /// `"<root name>":`, the member the root's value is written under.
    key: Box<str>,
    value: Value,
}

#[derive(Debug)]
enum Value {
    /// JSON text fixed by the definition.
    Fixed(Box<str>),
    /// One substitution's value, or `empty` when it is missing or empty.
    Leaf {
        slot: u16,
        empty: &'static str,
    },
    /// An element with attributes (some from substitutions) and at most one substitution as
    /// its content: `{"#attributes":{…},"#text":…}`, or the content alone when no attribute is
    /// written, or `null` when nothing is.
    Attributed {
        attributes: Box<[Attribute]>,
        content: Option<u16>,
    },
    Object(Object),
    /// The value of an unnamed `Data`: `{"#text":…}` holding a string array's strings (one
    /// bare, more in an array) or a scalar (`""` when empty).
    Items {
        slot: u16,
    },
}

#[derive(Debug)]
struct Object {
    /// `"#attributes":{…}` when the element has fixed attribute text.
    attributes: Option<Box<str>>,
    members: Box<[Member]>,
    /// Every member depends on a value and there are no attributes: the object is `null`
    /// when all of them are left out.
    null_when_left_empty: bool,
}

#[derive(Debug)]
enum Member {
    /// `"<name>":<value>`, left out when the value of `dependency` is NULL.
    Element {
        key: Box<str>,
        dependency: Option<u16>,
        value: Value,
    },
    /// A substitution holding a nested template instance, written as the member of its root.
    Nested { slot: u16 },
}

#[derive(Debug)]
enum Attribute {
    /// `"<name>":<value>`, fixed by the definition.
    Fixed(Box<str>),
    /// `"<name>":` and the substitution whose value follows; left out when it is empty.
    Slot { key: Box<str>, slot: u16 },
}

/// Writes the JSON text of a nested instance held in a substitution's bytes, as the member
/// `"<root>":<value>`.
pub(super) type WriteNested<'f> = dyn FnMut(&[u8], &mut Vec<u8>) -> Result<(), Declined> + 'f;

/// An instance's substitution values, with the texts the event's fill already made of some of
/// them: the JSON text takes those instead of converting the values again (converting was a
/// third of writing an alert's event).
pub(super) struct Slots<'s, 'c> {
    pub(super) values: &'s [Sub<'c>],
    /// Per slot, where in `text` the fill wrote the value's text, if it did: what
    /// [`write_value`] writes for the value, which the fill wrote with it.
    pub(super) texts: &'s [Option<Span>],
    pub(super) text: &'s str,
}

impl<'s, 'c> Slots<'s, 'c> {
    /// Values without texts: each is converted where it is written.
    #[cfg(test)]
    pub(super) fn values_only(values: &'s [Sub<'c>]) -> Self {
        Slots {
            values,
            texts: &[],
            text: "",
        }
    }

    fn get(&self, slot: u16) -> Option<&'s Sub<'c>> {
        self.values.get(usize::from(slot))
    }

    /// The text the fill made of the value of `slot`, if it made one.
    fn known(&self, slot: u16) -> Option<&'s str> {
        let span = self.texts.get(usize::from(slot)).copied().flatten()?;
        Some(span.get(self.text))
    }

    /// The non-empty value of `slot`, with its text if the fill made one.
    fn given(&self, slot: u16) -> Option<(&'s Sub<'c>, Option<&'s str>)> {
        let value = self.get(slot).filter(|v| !is_empty(v))?;
        Some((value, self.known(slot)))
    }
}

impl JsonPlan {
    /// The plan of a record's own definition, rooted at `Event`.
    pub(super) fn record(root: &Element) -> Option<JsonPlan> {
        if root.name != "Event" {
            return None;
        }
        Some(JsonPlan {
            key: key(&root.name)?,
            value: element_value(root, false, true)?,
        })
    }

    /// The plan of a definition nested in a record's substitution.
    pub(super) fn nested(root: &Element) -> Option<JsonPlan> {
        Some(JsonPlan {
            key: key(&root.name)?,
            value: element_value(root, is_container(&root.name), false)?,
        })
    }

    /// `{"Event":…}`: the whole text of a record whose own instance has `values`.
    pub(super) fn write_record(
        &self,
        values: &Slots<'_, '_>,
        out: &mut Vec<u8>,
        nested: &mut WriteNested<'_>,
    ) -> Result<(), Declined> {
        out.push(b'{');
        self.write_member(values, out, nested)?;
        out.push(b'}');
        Ok(())
    }

    /// `"<root>":<value>`: the member a nested instance with `values` is written as.
    pub(super) fn write_member(
        &self,
        values: &Slots<'_, '_>,
        out: &mut Vec<u8>,
        nested: &mut WriteNested<'_>,
    ) -> Result<(), Declined> {
        out.extend_from_slice(self.key.as_bytes());
        let mut text = String::new();
        write(&self.value, values, out, nested, &mut text)
    }
}

/// `EventData` and `UserData`, whose `Data` children are named by their `Name`.
fn is_container(name: &str) -> bool {
    name == "EventData" || name == "UserData"
}

/// `"<name>":` for an element or attribute name, which `evtx` writes as it is: declined for
/// names that would need escaping.
fn key(name: &str) -> Option<Box<str>> {
    let plain = name.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
    plain.then(|| format!("\"{name}\":").into_boxed_str())
}

/// Whether a substitution or a dependency appears anywhere in `element`'s subtree (its own
/// dependency aside: that is its parent's business).
fn varies(element: &Element) -> bool {
    let in_nodes = |nodes: &[Node]| {
        nodes.iter().any(|node| match node {
            Node::Slot(_) => true,
            Node::Element(child) => child.dependency.is_some() || varies(child),
            Node::Text(_) => false,
        })
    };
    element.attributes.iter().any(|(_, value)| in_nodes(value)) || in_nodes(&element.children)
}

fn has_slot(nodes: &[Node]) -> bool {
    nodes.iter().any(|node| matches!(node, Node::Slot(_)))
}

/// The text of nodes that are all text (`None` otherwise).
fn fixed_text(nodes: &[Node]) -> Option<String> {
    nodes
        .iter()
        .map(|node| match node {
            Node::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// Fixed text as a JSON string (`evtx` reads a definition's text as a string, whatever it
/// looks like).
fn fixed_string(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len() + 2);
    out.push(b'"');
    escape(text, &mut out);
    out.push(b'"');
    String::from_utf8(out).ok()
}

/// The `"name":value` members of an element's fixed attributes (those with text), or `None`
/// when one is not plain.
fn fixed_attributes(element: &Element) -> Option<Vec<String>> {
    let mut members = Vec::new();
    for (name, value) in &element.attributes {
        if has_slot(value) {
            continue;
        }
        let text = fixed_text(value)?;
        if text.is_empty() {
            continue;
        }
        members.push(format!("{}{}", key(name)?, fixed_string(&text)?));
    }
    Some(members)
}

/// The value of `element` (the caller writes its key). `event`: the record's root, whose one
/// substitution child may hold a nested instance.
fn element_value(element: &Element, container: bool, event: bool) -> Option<Value> {
    if !varies(element) {
        return fixed_value(element).map(|text| Value::Fixed(text.into_boxed_str()));
    }
    let slot_attributes = element.attributes.iter().any(|(_, v)| has_slot(v));
    let fixed_attribute_text = !fixed_attributes(element)?.is_empty();
    match element.children.as_slice() {
        [Node::Slot(slot)] if !event => {
            if slot_attributes || fixed_attribute_text {
                return Some(Value::Attributed {
                    attributes: attributes(element)?,
                    content: Some(*slot),
                });
            }
            // A container's leaf re-enters the naming rules through its nested root.
            (!container).then_some(Value::Leaf {
                slot: *slot,
                empty: "null",
            })
        }
        [] if slot_attributes => Some(Value::Attributed {
            attributes: attributes(element)?,
            content: None,
        }),
        [] => None,
        _ if slot_attributes => None,
        children => object(element, children, container, event).map(Value::Object),
    }
}

/// The attributes of an element written as `#attributes` with substitutions in them.
fn attributes(element: &Element) -> Option<Box<[Attribute]>> {
    let mut attributes = Vec::new();
    for (name, value) in &element.attributes {
        match value.as_slice() {
            [Node::Slot(slot)] => attributes.push(Attribute::Slot {
                key: key(name)?,
                slot: *slot,
            }),
            value if has_slot(value) => return None,
            value => {
                let text = fixed_text(value)?;
                if !text.is_empty() {
                    let member = format!("{}{}", key(name)?, fixed_string(&text)?);
                    attributes.push(Attribute::Fixed(member.into_boxed_str()));
                }
            }
        }
    }
    Some(attributes.into_boxed_slice())
}

/// An element whose children are elements (and, for `Event`, one nested instance last).
fn object(element: &Element, children: &[Node], container: bool, event: bool) -> Option<Object> {
    let fixed = fixed_attributes(element)?;
    let attributes =
        (!fixed.is_empty()).then(|| format!("\"#attributes\":{{{}}}", fixed.join(",")).into());
    let all_depend = children
        .iter()
        .all(|c| matches!(c, Node::Element(e) if e.dependency.is_some()));
    // Unnamed `Data` (one, written as `"Data":{"#text":…}`) or named ones, not both.
    let data: Vec<bool> = children
        .iter()
        .filter_map(|c| match c {
            Node::Element(e) if container && e.name == "Data" => Some(e.attributes.is_empty()),
            _ => None,
        })
        .collect();
    let unnamed = data.iter().filter(|&&unnamed| unnamed).count();
    if unnamed > 1 || (unnamed == 1 && data.len() > 1) {
        return None;
    }
    let unnamed = unnamed == 1;
    let mut members = Vec::new();
    for (index, child) in children.iter().enumerate() {
        let child = match child {
            Node::Element(child) => child,
            // One nested instance, after every element, none of which may be left out.
            Node::Slot(slot) if event && index + 1 == children.len() => {
                let none_left_out = members.iter().all(|m| {
                    matches!(
                        m,
                        Member::Element {
                            dependency: None,
                            ..
                        }
                    )
                });
                if !none_left_out {
                    return None;
                }
                members.push(Member::Nested { slot: *slot });
                continue;
            }
            _ => return None,
        };
        if container && child.name == "Data" {
            members.push(data_member(child, unnamed)?);
            continue;
        }
        members.push(Member::Element {
            key: key(&child.name)?,
            dependency: child.dependency,
            value: element_value(child, is_container(&child.name), false)?,
        });
    }
    // Repeated names (elements, `Data` names or both) are renamed (`_1`, …).
    let mut keys: Vec<&str> = members
        .iter()
        .filter_map(|m| match m {
            Member::Element { key, .. } => Some(&**key),
            Member::Nested { .. } => None,
        })
        .collect();
    keys.sort_unstable();
    if keys.windows(2).any(|pair| pair[0] == pair[1]) {
        return None;
    }
    Some(Object {
        null_when_left_empty: all_depend && attributes.is_none(),
        attributes,
        members: members.into_boxed_slice(),
    })
}

/// `<Data Name="N">%n</Data>` in a container: the member `"N":` whose empty value is `""`;
/// or, `unnamed`, `<Data>%n</Data>`: the member `"Data":{"#text":…}`.
fn data_member(data: &Element, unnamed: bool) -> Option<Member> {
    if unnamed {
        let [Node::Slot(slot)] = data.children.as_slice() else {
            return None;
        };
        return Some(Member::Element {
            key: key("Data")?,
            dependency: data.dependency,
            value: Value::Items { slot: *slot },
        });
    }
    // A `Data` left out, unnamed or fixed would change how its siblings are written.
    if data.dependency.is_some() {
        return None;
    }
    let name = match data.attributes.as_slice() {
        [(attribute, value)] if attribute == "Name" => fixed_text(value)?,
        _ => return None,
    };
    if name.is_empty() {
        return None;
    }
    let [Node::Slot(slot)] = data.children.as_slice() else {
        return None;
    };
    let mut key = Vec::with_capacity(name.len() + 3);
    key.push(b'"');
    escape(&name, &mut key);
    key.extend_from_slice(b"\":");
    Some(Member::Element {
        key: String::from_utf8(key).ok()?.into_boxed_str(),
        dependency: None,
        value: Value::Leaf {
            slot: *slot,
            empty: "\"\"",
        },
    })
}

/// The JSON value of an element without substitutions or dependencies.
fn fixed_value(element: &Element) -> Option<String> {
    let attributes = fixed_attributes(element)?;
    match element.children.as_slice() {
        [] if attributes.is_empty() => Some("null".into()),
        [] => Some(format!("{{\"#attributes\":{{{}}}}}", attributes.join(","))),
        [Node::Text(text)] if attributes.is_empty() && !text.is_empty() => fixed_string(text),
        _ => None,
    }
}

/// Write `value` with the instance's `values`; `text` is scratch space.
fn write(
    value: &Value,
    values: &Slots<'_, '_>,
    out: &mut Vec<u8>,
    nested: &mut WriteNested<'_>,
    text: &mut String,
) -> Result<(), Declined> {
    match value {
        Value::Fixed(fixed) => out.extend_from_slice(fixed.as_bytes()),
        Value::Leaf { slot, empty } => match values.given(*slot) {
            Some(value) => scalar(value, out, text)?,
            None => out.extend_from_slice(empty.as_bytes()),
        },
        Value::Attributed {
            attributes,
            content,
        } => {
            let given = |slot: u16| values.given(slot);
            let any_attribute = attributes.iter().any(|a| match a {
                Attribute::Fixed(_) => true,
                Attribute::Slot { slot, .. } => given(*slot).is_some(),
            });
            let content = content.and_then(given);
            match (any_attribute, content) {
                (false, None) => out.extend_from_slice(b"null"),
                (false, Some(content)) => scalar(content, out, text)?,
                (true, content) => {
                    out.extend_from_slice(b"{\"#attributes\":{");
                    let mut first = true;
                    for attribute in attributes {
                        let (key, value) = match attribute {
                            Attribute::Fixed(member) => (member, None),
                            Attribute::Slot { key, slot } => match given(*slot) {
                                Some(value) => (key, Some(value)),
                                None => continue,
                            },
                        };
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        out.extend_from_slice(key.as_bytes());
                        if let Some(value) = value {
                            scalar(value, out, text)?;
                        }
                    }
                    out.push(b'}');
                    if let Some(content) = content {
                        out.extend_from_slice(b",\"#text\":");
                        scalar(content, out, text)?;
                    }
                    out.push(b'}');
                }
            }
        }
        Value::Items { slot } => {
            out.extend_from_slice(b"{\"#text\":");
            match values.get(*slot) {
                Some(Sub::Utf16Array(bytes)) => {
                    let many = array_items(bytes).nth(1).is_some();
                    if many {
                        out.push(b'[');
                    }
                    for (index, item) in array_items(bytes).enumerate() {
                        if index > 0 {
                            out.push(b',');
                        }
                        scalar((&Sub::Utf16(item), None), out, text)?;
                    }
                    if many {
                        out.push(b']');
                    }
                }
                Some(value) if !is_empty(value) => scalar((value, values.known(*slot)), out, text)?,
                _ => out.extend_from_slice(b"\"\""),
            }
            out.push(b'}');
        }
        Value::Object(object) => {
            out.push(b'{');
            let open = out.len();
            if let Some(attributes) = &object.attributes {
                out.extend_from_slice(attributes.as_bytes());
            }
            for member in &object.members {
                match member {
                    Member::Element {
                        key,
                        dependency,
                        value,
                    } => {
                        let left_out = dependency
                            .and_then(|d| values.get(d))
                            .is_some_and(Sub::is_null);
                        if left_out {
                            continue;
                        }
                        if out.len() > open {
                            out.push(b',');
                        }
                        out.extend_from_slice(key.as_bytes());
                        write(value, values, out, nested, text)?;
                    }
                    Member::Nested { slot } => match values.get(*slot) {
                        Some(Sub::Value(BinXmlValue::BinXmlType(bytes))) if !bytes.is_empty() => {
                            if out.len() > open {
                                out.push(b',');
                            }
                            nested(bytes, out)?;
                        }
                        Some(value) if !is_empty(value) => return Err(Declined),
                        _ => {}
                    },
                }
            }
            if out.len() == open && object.null_when_left_empty {
                out.truncate(open - 1);
                out.extend_from_slice(b"null");
            } else {
                out.push(b'}');
            }
        }
    }
    Ok(())
}

/// A non-empty value: integers and booleans bare, the types whose text [`write_value`] gives
/// as `evtx` does as escaped strings; others are declined.
///
/// `known` is the text the fill made of the value, if it made one; else it is made here, in
/// `text`.
fn scalar(
    (value, known): (&Sub<'_>, Option<&str>),
    out: &mut Vec<u8>,
    text: &mut String,
) -> Result<(), Declined> {
    use BinXmlValue as V;
    let bare = match value {
        Sub::Utf16(_) | Sub::Sid(_) => false,
        Sub::Utf16Array(_) => return Err(Declined),
        Sub::Value(value) => match value {
            V::Int8Type(_)
            | V::UInt8Type(_)
            | V::Int16Type(_)
            | V::UInt16Type(_)
            | V::Int32Type(_)
            | V::UInt32Type(_)
            | V::Int64Type(_)
            | V::UInt64Type(_)
            | V::BoolType(_) => true,
            V::StringType(_)
            | V::GuidType(_)
            | V::HexInt32Type(_)
            | V::HexInt64Type(_)
            | V::SidType(_)
            | V::BinaryType(_) => false,
            V::FileTimeType(time) if time.0 <= super::LAST_FILETIME => false,
            _ => return Err(Declined),
        },
    };
    let text = match known {
        Some(known) => known,
        None => {
            text.clear();
            write_value(value, text)?;
            text
        }
    };
    if bare {
        out.extend_from_slice(text.as_bytes());
    } else {
        out.push(b'"');
        escape(text, out);
        out.push(b'"');
    }
    Ok(())
}

/// Append `text` JSON-escaped as `evtx` escapes strings: quote, backslash and the C0 controls
/// (`\n`, `\r`, `\t`, `\b`, `\f`, the others `\u00XX` in upper case); everything else as it is.
/// Runs without such bytes are copied whole, found eight bytes at a time (a table lookup per
/// byte was half the cost of writing an alert's event).
pub(super) fn escape(text: &str, out: &mut Vec<u8>) {
    crate::json::escape_with(text, out, b"0123456789ABCDEF");
}
