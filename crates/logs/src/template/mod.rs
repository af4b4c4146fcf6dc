//! Fill an event straight from an EVTX record's template substitutions, without rendering the
//! record to JSON and parsing that JSON back.
//!
//! Almost every EVTX record is one template instance: a template definition, stored in its
//! chunk, that lays out the XML, and the record's own substitution values (Sysmon and most
//! manifest events nest their `EventData` as a second instance in one of those values). A
//! definition is read into a [`Shape`]: the flat fields its elements give under the naming
//! rules of [`crate::flatten`] (the same names, kinds, order and `null` handling as flattening
//! the `evtx` crate's JSON rendering), each taken from a substitution or from the definition's
//! own text (which `evtx` always writes as a string, whatever it looks like). [`Shapes`] keeps
//! them across chunks. A record is then filled by formatting its
//! values into those fields.
//!
//! Only shapes whose JSON rendering is simple are read this way; a definition or a value that
//! is not (arrays outside an unnamed `Data`, repeated sibling names, attributes on leaf
//! elements outside `System`, more than one unnamed `Data`, more than one nested instance, a
//! container whose members are all left out, …) makes the caller render
//! that record to JSON as before. `tests/evtx_direct.rs` checks that both ways give the same
//! events for every record of the corpus; `tests.rs` pins each rule on hand-written
//! definitions.
//!
//! A shape also holds a [`json::JsonPlan`] of its definition when `evtx`'s JSON rules settle
//! it, so that the JSON text of a record an alert asks for is written from the same values
//! ([`Filled::write_json`]) instead of by `evtx`.

use std::fmt::Write as _;
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::Arc;

use evtx::EvtxRecord;
use evtx::binxml::BinXmlTemplateValues;
use evtx::binxml::value_variant::BinXmlValue;

use crate::event::{Entry, EventBuf, NESTED_SLOTS, NO_NAME_ID, NO_SLOT, OWN_SLOTS, Span, name_key};
use crate::names::NameIds;
use crate::{Layout, ValueKind};

/// Shapes are looked up once per record (by offset) and once per new definition (by its
/// bytes): a fast hasher, as the keys come from the log, not from anyone who gains by
/// making them collide beyond slowing one file down.
type RandomState = foldhash::fast::RandomState;
type HashMap<K, V> = std::collections::HashMap<K, V, RandomState>;

mod cursor;
mod json;
mod values;
use cursor::Cursor;
use json::{JsonPlan, Slots};
use values::{Sub, array_items, read_instance, read_instance_into, recycle};

/// Bytes before a template definition's BinXML: next-definition offset, GUID, data size.
const DEFINITION_HEADER_SIZE: usize = 24;
/// How deep a definition's elements may nest before it is left to the JSON path.
const MAX_DEPTH: usize = 32;
/// The last FILETIME `jiff` (and so `evtx`) represents: 9999-12-30T22:00:00.9999999Z.
const LAST_FILETIME: u64 = 2_650_466_808_009_999_999;
/// A DependencyId meaning "none".
const NO_DEPENDENCY: u16 = 0xffff;

/// The fields one template definition fills, in the order flattening its JSON gives them.
#[derive(Debug)]
pub(crate) struct Shape {
    fields: Vec<Field>,
    /// The fields that come from `System`, where the event's header is read.
    system: Range<usize>,
    /// For each container whose members all depend on values, those values: when all of one
    /// container's are NULL it has no member left and the renderer writes it as `null`, a
    /// case left to `evtx` (the instance is declined).
    all_left_out: Box<[Box<[u16]>]>,
    /// How the JSON text of its instances is written, when [`json`] writes it.
    json: Option<JsonPlan>,
}

#[derive(Debug)]
struct Field {
    name: Box<str>,
    key: u32,
    /// The name's id in the [`Shapes`]' table (given when the shape is kept there).
    id: u32,
    value: Source,
    /// Substitutions that leave the field out when they are NULL (the DependencyIds of its
    /// element and that element's ancestors).
    dependencies: Box<[u16]>,
}

impl Field {
    /// Append this field's entry, whose value is the text written since `start` (the text of
    /// substitution `slot`, or [`NO_SLOT`]).
    fn push_entry(&self, buf: &mut EventBuf, start: usize, kind: ValueKind, slot: u16) {
        let value = Span::new(start, buf.text.len());
        let name = buf.push_text(&self.name);
        buf.entries.push(Entry {
            name_key: self.key,
            name,
            name_id: self.id,
            value,
            kind,
            slot,
        });
    }
}

#[derive(Debug)]
enum Source {
    /// Text of the definition itself.
    Text(Box<str>),
    /// `null`: an element with nothing in it.
    Null,
    /// A substitution, and what an empty one gives.
    Slot { index: u16, empty: Empty },
    /// A substitution holding a nested template instance (the `EventData` or `UserData` of
    /// most events), whose fields come here.
    Nested { index: u16 },
    /// The substitution of an unnamed `<Data>`: a field per string of a string array, else
    /// one field (`""` when empty).
    Items { index: u16 },
}

/// What an empty substitution gives (`null`, `""`, or nothing, as the JSON renderer writes it
/// and flattening reads it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Empty {
    Omit,
    Null,
    Blank,
}

/// Where a template definition is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Role {
    /// A record's own template, rooted at `Event`.
    Record,
    /// A template nested in a record's substitution, rooted at a child of `Event`.
    EventChild,
}

/// The template shapes a reader has seen. A definition lives in its chunk and names its
/// elements by chunk offset, so a shape is found by offset within the current chunk, and in
/// earlier chunks (of any file the reader read) by all that decides how it parses: its
/// offset, its bytes and the bytes of every name it takes from outside itself. A chunk's
/// first definition sits at the same offset in every chunk, and most repeat.
#[derive(Debug, Default)]
pub(crate) struct Shapes {
    chunk: HashMap<(u32, Role), Option<Arc<Shape>>>,
    known: HashMap<u64, Vec<Known>>,
    /// Bytes the known definitions hold; none are added past [`MAX_KNOWN_BYTES`].
    known_bytes: usize,
    hasher: RandomState,
    /// The ids of the shapes' field names.
    names: NameIds,
    /// The memory of the values of a record's own and nested instances, reused.
    values: [Vec<Sub<'static>>; 2],
}

/// The names a definition referenced outside itself: offset and stored entry (character count
/// and characters).
type OutsideNames = Vec<(usize, Box<[u8]>)>;

/// The most definition bytes [`Shapes`] keeps across chunks.
const MAX_KNOWN_BYTES: usize = 8 << 20;

#[derive(Debug)]
struct Known {
    role: Role,
    offset: u32,
    body: Box<[u8]>,
    names: OutsideNames,
    shape: Option<Arc<Shape>>,
}

impl Shapes {
    /// Forget the current chunk's definitions (the next chunk's offsets mean other ones).
    pub(crate) fn next_chunk(&mut self) {
        self.chunk.clear();
    }

    /// Called before each record: a full name table starts again, and with it every shape
    /// (theirs are ids of the old table). Never within a record, whose own and nested shapes
    /// must name fields from one table.
    fn begin_record(&mut self) {
        if self.names.is_full() {
            *self = Shapes::default();
        }
    }

    fn get(&mut self, chunk: &[u8], offset: u32, role: Role) -> Result<Arc<Shape>, Declined> {
        if let Some(shape) = self.chunk.get(&(offset, role)) {
            return shape.clone().ok_or(Declined);
        }
        let shape = self.known_or_read(chunk, offset, role);
        self.chunk.insert((offset, role), shape.clone());
        shape.ok_or(Declined)
    }

    fn known_or_read(&mut self, chunk: &[u8], offset: u32, role: Role) -> Option<Arc<Shape>> {
        let body = definition_body(chunk, offset)?;
        let hash = self.hasher.hash_one((role, offset, body));
        let same = |known: &&Known| {
            known.role == role
                && known.offset == offset
                && *known.body == *body
                && known
                    .names
                    .iter()
                    .all(|(at, entry)| name_entry(chunk, *at) == Some(&entry[..]))
        };
        if let Some(known) = self
            .known
            .get(&hash)
            .and_then(|list| list.iter().find(same))
        {
            return known.shape.clone();
        }
        let (shape, names) = Shape::read(chunk, offset, role)?;
        let shape = shape.map(|mut shape| {
            for field in &mut shape.fields {
                field.id = self.names.id(&field.name);
            }
            Arc::new(shape)
        });
        let size = body.len() + names.iter().map(|(_, e)| e.len() + 16).sum::<usize>();
        if self.known_bytes + size <= MAX_KNOWN_BYTES {
            self.known_bytes += size;
            self.known.entry(hash).or_default().push(Known {
                role,
                offset,
                body: body.into(),
                names,
                shape: shape.clone(),
            });
        }
        shape
    }
}

/// The BinXML of the template definition at `offset` (after its header).
fn definition_body(chunk: &[u8], offset: u32) -> Option<&[u8]> {
    let start = (offset as usize).checked_add(DEFINITION_HEADER_SIZE)?;
    let size = u32::from_le_bytes(chunk.get(start - 4..start)?.try_into().ok()?) as usize;
    chunk.get(start..start.checked_add(size)?.min(chunk.len()))
}

/// The stored entry of the name at `offset`: its character count and characters.
fn name_entry(chunk: &[u8], offset: usize) -> Option<&[u8]> {
    let count = u16::from_le_bytes(chunk.get(offset + 6..offset + 8)?.try_into().ok()?);
    chunk.get(offset + 6..offset + 8 + usize::from(count) * 2)
}

/// Fill `buf` straight from `record`'s template values. `probe` is a record of the same chunk
/// (or `None`, and it is set), re-pointed at nested instances when `evtx` has to read their
/// values.
pub(crate) fn fill_record<'c>(
    record: &EvtxRecord<'c>,
    probe: &mut Option<EvtxRecord<'c>>,
    shapes: &mut Shapes,
    buf: &mut EventBuf,
) -> Result<Filled, Declined> {
    let stream = (record.binxml_offset, record.binxml_size as usize);
    fill_with(
        record.chunk.data,
        stream,
        shapes,
        buf,
        &mut |offset, len, values| instance(record, probe, offset, len, values),
    )
}

/// Fill `buf` from the record whose BinXML is the `(offset, length)` window `stream` of
/// `chunk`, reading only the common layout ([`read_instance`]): a record this declines may
/// still be read by [`fill_record`], which asks `evtx` for the other layouts. Where this
/// succeeds, [`fill_record`] gives the same event (it tries the same reading first).
pub(crate) fn fill_record_bytes(
    chunk: &[u8],
    stream: (u64, usize),
    shapes: &mut Shapes,
    buf: &mut EventBuf,
) -> Result<Filled, Declined> {
    fill_with(chunk, stream, shapes, buf, &mut |offset, len, values| {
        read_instance_into(chunk, offset as usize, len, values).ok_or(Declined)
    })
}

/// The shapes a record was filled by: what writing its JSON text needs.
#[derive(Debug)]
pub(crate) struct Filled {
    own: Arc<Shape>,
    /// The nested instance's definition offset and shape, when it had one.
    nested: Option<(u32, Arc<Shape>)>,
}

impl Filled {
    /// Write the JSON text of the record at `stream` of `chunk` (the one these shapes filled)
    /// as `evtx` renders it, from its values read again in the common layout; declined where
    /// the plans do not cover its definitions or values (see [`json`]), and `out` is then
    /// left in any state. `filled` is the buffer the record was filled into: the texts of
    /// most values are taken from it instead of being converted again.
    pub(crate) fn write_json(
        &self,
        chunk: &[u8],
        (offset, len): (u64, usize),
        filled: &EventBuf,
        out: &mut Vec<u8>,
    ) -> Result<(), Declined> {
        fn slots<'s, 'c>(
            values: &'s [Sub<'c>],
            texts: &'s [Option<Span>],
            filled: &'s EventBuf,
        ) -> Slots<'s, 'c> {
            Slots {
                values,
                texts,
                text: &filled.text,
            }
        }
        let own = read_instance(chunk, offset as usize, len).ok_or(Declined)?;
        let plan = self.own.json.as_ref().ok_or(Declined)?;
        let own_texts = filled.slot_texts(OWN_SLOTS, own.values.len());
        plan.write_record(
            &slots(&own.values, &own_texts, filled),
            out,
            &mut |bytes, out| {
                let offset = nested_offset(chunk, bytes)?;
                let instance = read_instance(chunk, offset, bytes.len()).ok_or(Declined)?;
                match &self.nested {
                    Some((def_offset, shape)) if *def_offset == instance.def_offset => {
                        let plan = shape.json.as_ref().ok_or(Declined)?;
                        let texts = filled.slot_texts(NESTED_SLOTS, instance.values.len());
                        let values = slots(&instance.values, &texts, filled);
                        plan.write_member(&values, out, &mut |_, _| Err(Declined))
                    }
                    _ => Err(Declined),
                }
            },
        )
    }
}

/// Where the nested instance held in `bytes`, a slice of `chunk`, starts in the chunk.
fn nested_offset(chunk: &[u8], bytes: &[u8]) -> Result<usize, Declined> {
    let offset = (bytes.as_ptr() as usize).checked_sub(chunk.as_ptr() as usize);
    offset
        .filter(|&o| o + bytes.len() <= chunk.len())
        .ok_or(Declined)
}

/// Reads the template instance at `(offset, length)` of a chunk into the values given (which
/// it empties first); returns its definition's offset.
type InstanceAt<'f, 'c> = dyn FnMut(u64, usize, &mut Vec<Sub<'c>>) -> Result<u32, Declined> + 'f;

/// Fill `buf` from the record at `stream` of `chunk`, each template instance (the record's
/// own and a nested one) read by `instance_at`, into memory the shapes keep from record to
/// record.
fn fill_with<'c>(
    chunk: &'c [u8],
    stream: (u64, usize),
    shapes: &mut Shapes,
    buf: &mut EventBuf,
    instance_at: &mut InstanceAt<'_, 'c>,
) -> Result<Filled, Declined> {
    shapes.begin_record();
    let [own, nested] = std::mem::take(&mut shapes.values);
    let mut values = [recycle(own), recycle(nested)];
    let filled = fill_from(chunk, stream, shapes, buf, instance_at, &mut values);
    shapes.values = values.map(recycle);
    filled
}

fn fill_from<'c>(
    chunk: &'c [u8],
    (offset, len): (u64, usize),
    shapes: &mut Shapes,
    buf: &mut EventBuf,
    instance_at: &mut InstanceAt<'_, 'c>,
    [own_values, nested_values]: &mut [Vec<Sub<'c>>; 2],
) -> Result<Filled, Declined> {
    let own_def = instance_at(offset, len, own_values)?;
    let shape = shapes.get(chunk, own_def, Role::Record)?;
    buf.clear();
    buf.layout = Layout::WindowsNested;
    buf.name_table = shapes.names.table();
    let mut system = 0..0;
    let mut nested_shape = None;
    shape.fill(
        own_values,
        buf,
        OWN_SLOTS,
        &mut system,
        &mut |bytes, buf| {
            let offset = nested_offset(chunk, bytes)?;
            let nested_def = instance_at(offset as u64, bytes.len(), nested_values)?;
            let shape = shapes.get(chunk, nested_def, Role::EventChild)?;
            let no_nested: &mut FillNested<'_> = &mut |_, _| Err(Declined);
            shape.fill(nested_values, buf, NESTED_SLOTS, &mut (0..0), no_nested)?;
            nested_shape = Some((nested_def, shape));
            Ok(())
        },
    )?;
    crate::header::fill(buf, system);
    Ok(Filled {
        own: shape,
        nested: nested_shape,
    })
}

/// The one template instance that the BinXML stream at `offset` (`len` bytes) of `record`'s
/// chunk is: read here when its layout is the common one, else by `evtx` (through `record`,
/// or `probe` re-pointed at a nested stream); declined unless the stream starts with a
/// template instance (other content would be lost) and holds no other.
fn instance<'c>(
    record: &EvtxRecord<'c>,
    probe: &mut Option<EvtxRecord<'c>>,
    offset: u64,
    len: usize,
    values: &mut Vec<Sub<'c>>,
) -> Result<u32, Declined> {
    let chunk = record.chunk.data;
    if let Some(def_offset) = read_instance_into(chunk, offset as usize, len, values) {
        return Ok(def_offset);
    }
    values.clear();
    let stream = (offset as usize)
        .checked_add(len)
        .and_then(|end| chunk.get(offset as usize..end))
        .ok_or(Declined)?;
    if !matches!(stream, [0x0f, _, _, _, 0x0c, ..] | [0x0c, ..]) {
        return Err(Declined);
    }
    let instances = if offset == record.binxml_offset && len == record.binxml_size as usize {
        record.template_instances()
    } else {
        let probe = probe.get_or_insert_with(|| record.clone());
        probe.binxml_offset = offset;
        probe.binxml_size = u32::try_from(len).map_err(|_| Declined)?;
        probe.template_instances()
    };
    let instances = instances.map_err(|_| Declined)?;
    let [instance] = <[BinXmlTemplateValues<'c>; 1]>::try_from(instances).map_err(|_| Declined)?;
    values.extend(instance.values.into_iter().map(Sub::Value));
    Ok(instance.template_def_offset)
}

/// Appends the fields of the nested instance held in a substitution's bytes.
type FillNested<'f> = dyn FnMut(&[u8], &mut EventBuf) -> Result<(), Declined> + 'f;

/// Why a record could not be filled from its values: the caller renders it to JSON instead.
#[derive(Debug)]
pub(crate) struct Declined;

impl Shape {
    /// Read the template definition at `offset` of `chunk`: `None` when it cannot be parsed;
    /// else its shape (`None`: not one this module reads) and the names it took from outside
    /// itself (see [`Shapes`]).
    fn read(chunk: &[u8], offset: u32, role: Role) -> Option<(Option<Shape>, OutsideNames)> {
        let start = (offset as usize).checked_add(DEFINITION_HEADER_SIZE)?;
        let end = start + definition_body(chunk, offset)?.len();
        let mut reader = Reader {
            at: Cursor::new(chunk, start, end)?,
            outside: Vec::new(),
        };
        let root = reader.fragment()?;
        let shape = match role {
            Role::Record => compile(&root),
            Role::EventChild => compile_event_child(&root),
        };
        let shape = shape.map(|shape| Shape {
            json: match role {
                Role::Record => JsonPlan::record(&root),
                Role::EventChild => JsonPlan::nested(&root),
            },
            ..shape
        });
        Some((shape, reader.outside))
    }

    /// Append the fields of an instance whose substitution values are `values` to `buf`;
    /// `system` gets the range of entries from `System`, and `nested` appends the fields of a
    /// nested instance.
    fn fill(
        &self,
        values: &[Sub<'_>],
        buf: &mut EventBuf,
        instance: u16,
        system: &mut Range<usize>,
        nested: &mut FillNested<'_>,
    ) -> Result<(), Declined> {
        let null = |slot: &u16| values.get(usize::from(*slot)).is_some_and(Sub::is_null);
        if self.all_left_out.iter().any(|group| group.iter().all(null)) {
            return Err(Declined);
        }
        // The entry's mark for the text of substitution `index`.
        let slot = |index: u16| {
            if index < NESTED_SLOTS {
                index | instance
            } else {
                NO_SLOT
            }
        };
        for (index, field) in self.fields.iter().enumerate() {
            if index == self.system.start {
                system.start = buf.entries.len();
            }
            if index == self.system.end {
                system.end = buf.entries.len();
            }
            let left_out = field
                .dependencies
                .iter()
                .any(|&d| values.get(usize::from(d)).is_some_and(Sub::is_null));
            if left_out {
                continue;
            }
            let start = buf.text.len();
            let (kind, slot) = match &field.value {
                Source::Text(text) => {
                    buf.text.push_str(text);
                    (ValueKind::String, NO_SLOT)
                }
                Source::Null => (ValueKind::Null, NO_SLOT),
                Source::Slot { index, empty } => match values.get(usize::from(*index)) {
                    Some(value) if !is_empty(value) => {
                        (write_value(value, &mut buf.text)?, slot(*index))
                    }
                    _ => match empty {
                        Empty::Omit => continue,
                        Empty::Null => (ValueKind::Null, NO_SLOT),
                        Empty::Blank => (ValueKind::String, NO_SLOT),
                    },
                },
                Source::Items { index } => match values.get(usize::from(*index)) {
                    Some(Sub::Utf16Array(bytes)) => {
                        for item in array_items(bytes) {
                            let start = buf.text.len();
                            push_utf16(item, &mut buf.text)?;
                            field.push_entry(buf, start, ValueKind::String, NO_SLOT);
                        }
                        continue;
                    }
                    Some(value) if !is_empty(value) => {
                        (write_value(value, &mut buf.text)?, slot(*index))
                    }
                    _ => (ValueKind::String, NO_SLOT),
                },
                Source::Nested { index } => {
                    match values.get(usize::from(*index)) {
                        Some(Sub::Value(BinXmlValue::BinXmlType(bytes))) if !bytes.is_empty() => {
                            nested(bytes, buf)?
                        }
                        // Nothing is rendered for an empty one.
                        Some(value) if is_empty(value) => {}
                        None => {}
                        Some(_) => return Err(Declined),
                    }
                    continue;
                }
            };
            field.push_entry(buf, start, kind, slot);
        }
        if self.system.end == self.fields.len() && self.system.start < self.system.end {
            system.end = buf.entries.len();
        }
        Ok(())
    }
}

/// Whether the renderer treats `value` as empty (it writes `null`, `""` or nothing for it).
fn is_empty(value: &Sub<'_>) -> bool {
    let value = match value {
        Sub::Value(value) => value,
        Sub::Utf16(bytes) => return matches!(bytes, [] | [_] | [0, 0, ..]),
        // The renderer takes an array for its strings before it asks whether it is empty.
        Sub::Sid(_) | Sub::Utf16Array(_) => return false,
    };
    match value {
        BinXmlValue::NullType => true,
        BinXmlValue::StringType(s) => s.is_empty(),
        BinXmlValue::AnsiStringType(s) => s.is_empty(),
        BinXmlValue::BinaryType(bytes) => bytes.is_empty(),
        BinXmlValue::BinXmlType(bytes) => bytes.is_empty(),
        _ => false,
    }
}

/// Append `value`'s text as the JSON rendering holds it (unescaped) and return its kind;
/// decline values the renderer does not write as one scalar.
fn write_value(value: &Sub<'_>, text: &mut String) -> Result<ValueKind, Declined> {
    use BinXmlValue as V;
    let value = match value {
        Sub::Value(value) => value,
        Sub::Utf16(bytes) => {
            push_utf16(bytes, text)?;
            return Ok(ValueKind::String);
        }
        Sub::Sid(bytes) => {
            push_sid(bytes, text);
            return Ok(ValueKind::String);
        }
        // Only an unnamed `Data` ([`Source::Items`]) takes an array.
        Sub::Utf16Array(_) => return Err(Declined),
    };
    fn number(text: &mut String, n: impl itoa::Integer) -> ValueKind {
        text.push_str(itoa::Buffer::new().format(n));
        ValueKind::Number
    }
    Ok(match value {
        V::StringType(s) => {
            push_utf16(s.as_bytes(), text)?;
            ValueKind::String
        }
        V::GuidType(guid) => {
            push_guid(guid, text);
            ValueKind::String
        }
        V::AnsiStringType(s) => {
            text.push_str(s);
            ValueKind::String
        }
        V::Int8Type(v) => number(text, *v),
        V::UInt8Type(v) => number(text, *v),
        V::Int16Type(v) => number(text, *v),
        V::UInt16Type(v) => number(text, *v),
        V::Int32Type(v) => number(text, *v),
        V::UInt32Type(v) => number(text, *v),
        V::Int64Type(v) => number(text, *v),
        V::UInt64Type(v) => number(text, *v),
        V::BoolType(v) => {
            text.push_str(if *v { "true" } else { "false" });
            ValueKind::Bool
        }
        V::HexInt32Type(v) => {
            text.push_str("0x");
            push_hex(text, u64::from(*v));
            ValueKind::String
        }
        V::HexInt64Type(v) => {
            text.push_str("0x");
            push_hex(text, *v);
            ValueKind::String
        }
        V::FileTimeType(time) if push_filetime(time.0, text) => ValueKind::String,
        V::SidType(sid) => {
            push_sid(sid.as_bytes(), text);
            ValueKind::String
        }
        // Their text form has nothing to escape, so `evtx`'s own formatting is the JSON text.
        V::Real32Type(_)
        | V::Real64Type(_)
        | V::BinaryType(_)
        | V::SizeTType(_)
        | V::FileTimeType(_)
        | V::SysTimeType(_) => {
            let _ = write!(text, "{value}");
            ValueKind::String
        }
        _ => return Err(Declined),
    })
}

/// Append UTF-16LE `bytes` up to their first NUL as UTF-8, as `evtx` reads a string value
/// (it cuts at the NUL); declined on an unpaired surrogate before it (the JSON way reports or
/// renders those records by its own rules). Most text is ASCII: eight units are checked and
/// copied at a time, and only the other characters are decoded one by one.
fn push_utf16(bytes: &[u8], text: &mut String) -> Result<(), Declined> {
    text.reserve(bytes.len() / 2);
    let mut ascii = AsciiRun::default();
    let mut rest = bytes;
    loop {
        while let Some((block, tail)) = rest.split_first_chunk::<16>() {
            let Some(packed) = ascii_block(block) else {
                break;
            };
            ascii.push(&packed, text)?;
            rest = tail;
        }
        // One unit (the last few of most texts, and any other character), decoded here: the
        // standard library's `decode_utf16` iterator, made anew for each, was not always
        // inlined, and then cost a fifth of this function.
        let Some((unit, tail)) = rest.split_first_chunk::<2>() else {
            // Done (an odd last byte is not a unit, as in `evtx`).
            return ascii.flush(text);
        };
        rest = tail;
        let ch = match u16::from_le_bytes(*unit) {
            0 => return ascii.flush(text),
            unit @ 1..=0x7f => {
                ascii.push(&[unit as u8], text)?;
                continue;
            }
            high @ 0xd800..=0xdbff => {
                let Some((low, tail)) = rest.split_first_chunk::<2>() else {
                    return Err(Declined);
                };
                let low = u16::from_le_bytes(*low);
                if !(0xdc00..=0xdfff).contains(&low) {
                    return Err(Declined);
                }
                rest = tail;
                let scalar =
                    0x1_0000 + ((u32::from(high) - 0xd800) << 10) + (u32::from(low) - 0xdc00);
                char::from_u32(scalar).ok_or(Declined)?
            }
            0xdc00..=0xdfff => return Err(Declined),
            unit => char::from_u32(u32::from(unit)).ok_or(Declined)?,
        };
        ascii.flush(text)?;
        text.push(ch);
    }
}

/// The eight characters of a block of eight UTF-16LE units when all are ASCII and none is
/// NUL.
#[inline]
fn ascii_block(block: &[u8; 16]) -> Option<[u8; 8]> {
    // Each word holds four units, low byte first.
    let [a, b] = [&block[..8], &block[8..]].map(|half| {
        let mut word = [0; 8];
        word.copy_from_slice(half);
        u64::from_le_bytes(word)
    });
    const HIGH_BYTES: u64 = 0xff00_ff00_ff00_ff00;
    const LOW_TOP_BITS: u64 = 0x0080_0080_0080_0080;
    const LANE_ONES: u64 = 0x0001_0001_0001_0001;
    const LANE_TOPS: u64 = 0x8000_8000_8000_8000;
    if (a | b) & (HIGH_BYTES | LOW_TOP_BITS) != 0 {
        return None;
    }
    // Every unit is below 0x80 now; one that is zero borrows into its lane's top bit.
    let has_zero = |x: u64| x.wrapping_sub(LANE_ONES) & !x & LANE_TOPS != 0;
    if has_zero(a) || has_zero(b) {
        return None;
    }
    // Each lane's low byte, packed: lanes 0 and 1 into the low half, 2 and 3 into the high
    // half, then both halves together (three shifts instead of eight).
    let pack = |x: u64| {
        let x = (x | x >> 8) & 0x0000_ffff_0000_ffff;
        ((x | x >> 16) as u32).to_le_bytes()
    };
    let [a, b] = [pack(a), pack(b)];
    Some([a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]])
}

/// ASCII characters gathered to be appended with one `push_str`.
struct AsciiRun {
    bytes: [u8; 64],
    len: usize,
}

impl Default for AsciiRun {
    fn default() -> Self {
        AsciiRun {
            bytes: [0; 64],
            len: 0,
        }
    }
}

impl AsciiRun {
    #[inline]
    fn push(&mut self, ascii: &[u8], text: &mut String) -> Result<(), Declined> {
        if self.len + ascii.len() > self.bytes.len() {
            self.flush(text)?;
        }
        self.bytes[self.len..self.len + ascii.len()].copy_from_slice(ascii);
        self.len += ascii.len();
        Ok(())
    }

    #[inline]
    fn flush(&mut self, text: &mut String) -> Result<(), Declined> {
        text.push_str(std::str::from_utf8(&self.bytes[..self.len]).map_err(|_| Declined)?);
        self.len = 0;
        Ok(())
    }
}

/// A GUID as `evtx` writes it: `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}`, in lower case, the
/// first three groups little-endian.
fn push_guid(guid: &[u8; 16], text: &mut String) {
    /// Where each byte's two digits go: the first three groups are little-endian.
    const AT: [usize; 16] = [7, 5, 3, 1, 12, 10, 17, 15, 20, 22, 25, 27, 29, 31, 33, 35];
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = *b"{00000000-0000-0000-0000-000000000000}";
    for (&byte, at) in guid.iter().zip(AT) {
        out[at] = HEX[usize::from(byte >> 4)];
        out[at + 1] = HEX[usize::from(byte & 0x0f)];
    }
    // Hex digits and punctuation only.
    text.push_str(std::str::from_utf8(&out).unwrap_or_default());
}

/// A FILETIME as `evtx` writes it, `2019-03-19T23:34:25.1234567Z`, for the times `jiff` can
/// represent (to year 9999); `false` leaves the others to `evtx`'s own formatting.
fn push_filetime(filetime: u64, text: &mut String) -> bool {
    /// Days from 0000-03-01 (the proleptic Gregorian calendar's year starting in March, so
    /// that leap days fall at its end) to 1601-01-01.
    const DAYS_TO_1601: u64 = 584_694;
    if filetime > LAST_FILETIME {
        return false;
    }
    // 100 ns ticks since 1601-01-01. Every record has a time: the calendar date is computed
    // here (Hinnant's `civil_from_days`) rather than through `jiff`'s general conversion,
    // which cost ~900 instructions a value.
    let ticks = filetime % 10_000_000;
    let seconds = filetime / 10_000_000;
    let days = seconds / 86_400 + DAYS_TO_1601;
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    let second_of_day = seconds % 86_400;
    let mut out = *b"0000-00-00T00:00:00.0000000Z";
    let mut put = |end: usize, mut value: u64, width: usize| {
        for at in (end - width..end).rev() {
            out[at] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(4, year, 4);
    put(7, month, 2);
    put(10, day, 2);
    put(13, second_of_day / 3_600, 2);
    put(16, second_of_day / 60 % 60, 2);
    put(19, second_of_day % 60, 2);
    put(27, ticks, 7);
    // Digits and separators only.
    text.push_str(std::str::from_utf8(&out).unwrap_or_default());
    true
}

/// `value` as `{:x}` writes it: lower-case hex digits without leading zeros.
fn push_hex(text: &mut String, value: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digits = (64 - value.leading_zeros()).div_ceil(4).max(1);
    for shift in (0..digits).rev() {
        text.push(char::from(HEX[((value >> (shift * 4)) & 0xf) as usize]));
    }
}

/// A SID as `evtx` writes it: `S-<revision>-<authority>-<sub-authority>…` (`S-?` when cut).
fn push_sid(bytes: &[u8], text: &mut String) {
    let &[revision, count, a0, a1, a2, a3, a4, a5, ref subs @ ..] = bytes else {
        text.push_str("S-?");
        return;
    };
    let authority = u64::from_be_bytes([0, 0, a0, a1, a2, a3, a4, a5]);
    let mut digits = itoa::Buffer::new();
    text.push_str("S-");
    text.push_str(digits.format(revision));
    text.push('-');
    text.push_str(digits.format(authority));
    for sub in subs.chunks_exact(4).take(usize::from(count)) {
        text.push('-');
        text.push_str(digits.format(u32::from_le_bytes([sub[0], sub[1], sub[2], sub[3]])));
    }
}

/// One node of a template definition.
#[derive(Debug)]
enum Node {
    Element(Element),
    Text(String),
    Slot(u16),
}

#[derive(Debug)]
struct Element {
    name: String,
    dependency: Option<u16>,
    attributes: Vec<(String, Vec<Node>)>,
    children: Vec<Node>,
}

/// A cursor over a definition's BinXML tokens; every read is bounds-checked and a token this
/// module does not read ends the parse with `None`.
struct Reader<'c> {
    at: Cursor<'c>,
    /// Names referenced elsewhere than where they are read.
    outside: OutsideNames,
}

impl Reader<'_> {
    /// `FragmentHeader Element [EOF]`.
    fn fragment(&mut self) -> Option<Element> {
        if self.at.u8()? != 0x0f {
            return None;
        }
        self.at.bytes::<3>()?;
        let token = self.at.u8()?;
        if token & !0x40 != 0x01 {
            return None;
        }
        let root = self.element(token, 0)?;
        matches!(self.at.peek(), None | Some(0x00)).then_some(root)
    }

    /// A name reference: an offset into the chunk, whose name is stored there (right here
    /// when the offset is the current position, which the reader then skips).
    fn name(&mut self) -> Option<String> {
        let offset = self.at.u32()? as usize;
        let (name, count) = name_at(self.at.chunk, offset)?;
        if offset == self.at.pos {
            // Link, hash, count, the characters and their NUL.
            self.at.pos = self.at.pos.checked_add(6 + 2 + count * 2 + 2)?;
        } else {
            self.outside
                .push((offset, name_entry(self.at.chunk, offset)?.into()));
        }
        Some(name)
    }

    /// The element whose start token (`0x01`/`0x41`) was just read.
    fn element(&mut self, token: u8, depth: usize) -> Option<Element> {
        if depth > MAX_DEPTH {
            return None;
        }
        let dependency = Some(self.at.u16()?).filter(|&d| d != NO_DEPENDENCY);
        let _size = self.at.u32()?;
        let name = self.name()?;
        let mut attributes = Vec::new();
        if token & 0x40 != 0 {
            let _size = self.at.u32()?;
            while matches!(self.at.peek()?, 0x06 | 0x46) {
                self.at.pos += 1;
                let name = self.name()?;
                let mut value = Vec::new();
                while matches!(self.at.peek()?, 0x05 | 0x45 | 0x0d | 0x0e) {
                    let token = self.at.u8()?;
                    value.push(self.leaf(token)?);
                }
                attributes.push((name, value));
            }
        }
        let mut children = Vec::new();
        match self.at.u8()? {
            0x03 => {}
            0x02 => loop {
                match self.at.u8()? {
                    0x04 => break,
                    token @ (0x01 | 0x41) => {
                        children.push(Node::Element(self.element(token, depth + 1)?));
                    }
                    token @ (0x05 | 0x45 | 0x0d | 0x0e) => children.push(self.leaf(token)?),
                    _ => return None,
                }
            },
            _ => return None,
        }
        Some(Element {
            name,
            dependency,
            attributes,
            children,
        })
    }

    /// A text value (only UTF-16 strings) or a substitution.
    fn leaf(&mut self, token: u8) -> Option<Node> {
        match token {
            0x05 | 0x45 => {
                if self.at.u8()? != 0x01 {
                    return None;
                }
                let count = usize::from(self.at.u16()?);
                Some(Node::Text(utf16(self.at.take(count.checked_mul(2)?)?)?))
            }
            0x0d | 0x0e => {
                let index = self.at.u16()?;
                let _type = self.at.u8()?;
                Some(Node::Slot(index))
            }
            _ => None,
        }
    }
}

/// The name stored at `offset` of the chunk: next-name offset, hash, character count, UTF-16.
/// Returns the name and its stored character count.
fn name_at(chunk: &[u8], offset: usize) -> Option<(String, usize)> {
    let count = u16::from_le_bytes(chunk.get(offset + 6..offset + 8)?.try_into().ok()?);
    let count = usize::from(count);
    let start = offset + 8;
    Some((utf16(chunk.get(start..start + count * 2)?)?, count))
}

/// A name or text of a definition, which ends at its first NUL as `evtx` reads it (`None`
/// on an unpaired surrogate before it). Most are a few ASCII characters, taken one by one;
/// others are read as values are.
fn utf16(bytes: &[u8]) -> Option<String> {
    let mut text = String::with_capacity(bytes.len() / 2);
    for unit in bytes.chunks_exact(2) {
        match u16::from_le_bytes([unit[0], unit[1]]) {
            0 => break,
            unit @ 1..=0x7f => text.push(char::from(unit as u8)),
            _ => {
                text.clear();
                push_utf16(bytes, &mut text).ok()?;
                break;
            }
        }
    }
    Some(text)
}

/// Where an element is, which decides how its fields are named and what empty values give.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    System,
    Other,
}

struct Compiler {
    fields: Vec<Field>,
    dependencies: Vec<u16>,
    all_left_out: Vec<Box<[u16]>>,
}

/// The shape of the definition rooted at `root` (`Event`), if every part of it is one that
/// flattens simply.
fn compile(root: &Element) -> Option<Shape> {
    // The root's DependencyId is ignored: it has no parent to be left out of.
    if root.name != "Event" || !only_xmlns(&root.attributes) {
        return None;
    }
    let mut compiler = Compiler {
        fields: Vec::new(),
        dependencies: Vec::new(),
        all_left_out: Vec::new(),
    };
    let mut system = 0..0;
    let mut seen = Vec::new();
    let mut nested = false;
    for child in &root.children {
        let element = match child {
            Node::Element(element) => element,
            // One nested instance, whose root becomes a child of `Event`; the renderer takes
            // other ways for more than one.
            Node::Slot(index) if !nested => {
                nested = true;
                compiler.push(String::new(), Source::Nested { index: *index });
                continue;
            }
            _ => return None,
        };
        if seen.contains(&element.name.as_str()) {
            return None;
        }
        seen.push(element.name.as_str());
        match element.name.as_str() {
            "System" => {
                system.start = compiler.fields.len();
                compiler.element(element, Place::System)?;
                system.end = compiler.fields.len();
            }
            "EventData" => {
                compiler.enter(element);
                compiler.event_data(element)?;
                compiler.leave(element);
            }
            _ => compiler.element(element, Place::Other)?,
        }
    }
    // A nested root named like a static child would be renamed (`EventData_1`).
    if nested && seen.iter().any(|name| *name != "System") {
        return None;
    }
    Some(Shape {
        fields: compiler.fields,
        system,
        all_left_out: compiler.all_left_out.into_boxed_slice(),
        json: None,
    })
}

/// The shape of a nested definition rooted at `root`, which is rendered as a child of `Event`
/// (`EventData`, `UserData`, …).
fn compile_event_child(root: &Element) -> Option<Shape> {
    let mut compiler = Compiler {
        fields: Vec::new(),
        dependencies: Vec::new(),
        all_left_out: Vec::new(),
    };
    // Its root's DependencyId is ignored, as a record root's is.
    match root.name.as_str() {
        "System" => return None,
        "EventData" => compiler.event_data(root)?,
        _ => compiler.element_body(root, Place::Other)?,
    }
    Some(Shape {
        fields: compiler.fields,
        system: 0..0,
        all_left_out: compiler.all_left_out.into_boxed_slice(),
        json: None,
    })
}

/// Whether `children` are elements that all depend on a value (so that all may be left out).
fn all_dependent(children: &[Node]) -> bool {
    !children.is_empty()
        && children
            .iter()
            .all(|c| matches!(c, Node::Element(e) if e.dependency.is_some()))
}

/// Whether every attribute is an `xmlns` declaration (which flattening drops).
fn only_xmlns(attributes: &[(String, Vec<Node>)]) -> bool {
    attributes.iter().all(|(name, _)| is_xmlns(name))
}

fn is_xmlns(name: &str) -> bool {
    name == "xmlns" || name.starts_with("xmlns:")
}

impl Compiler {
    fn push(&mut self, name: String, value: Source) {
        let key = name_key(&name);
        self.fields.push(Field {
            name: name.into_boxed_str(),
            key,
            id: NO_NAME_ID,
            value,
            dependencies: self.dependencies.clone().into_boxed_slice(),
        });
    }

    /// A container whose `children` all depend on values is `null` when all are left out,
    /// which the fill declines (see [`Shape::all_left_out`]).
    fn may_all_be_left_out(&mut self, children: &[Node]) {
        if all_dependent(children) {
            let dependencies = children.iter().filter_map(|c| match c {
                Node::Element(e) => e.dependency,
                _ => None,
            });
            self.all_left_out.push(dependencies.collect());
        }
    }

    /// Fields of `element` are left out when its dependency is NULL.
    fn enter(&mut self, element: &Element) {
        self.dependencies.extend(element.dependency);
    }

    fn leave(&mut self, element: &Element) {
        if element.dependency.is_some() {
            self.dependencies.pop();
        }
    }

    /// An element and its subtree, named by leaf names (`<element>_<attribute>` for
    /// attributes), as flattening names everything below `Event`'s children.
    fn element(&mut self, element: &Element, place: Place) -> Option<()> {
        self.enter(element);
        self.element_body(element, place)?;
        self.leave(element);
        Some(())
    }

    fn element_body(&mut self, element: &Element, place: Place) -> Option<()> {
        if place != Place::System {
            self.may_all_be_left_out(&element.children);
        }
        let kept: Vec<_> = element
            .attributes
            .iter()
            .filter(|(name, _)| !is_xmlns(name))
            .collect();
        if place != Place::System && !element.attributes.is_empty() {
            // Outside `System`, only containers may carry (xmlns) attributes.
            if !kept.is_empty()
                || !element
                    .children
                    .iter()
                    .all(|c| matches!(c, Node::Element(_)))
            {
                return None;
            }
        }
        for (attribute, value) in kept {
            let name = format!("{}_{attribute}", element.name);
            match value.as_slice() {
                [] => {}
                [Node::Text(text)] if text.is_empty() => {}
                [Node::Text(text)] => self.push(name, Source::Text(text.clone().into())),
                [Node::Slot(index)] => self.push(
                    name,
                    Source::Slot {
                        index: *index,
                        empty: Empty::Omit,
                    },
                ),
                _ => return None,
            }
        }
        match element.children.as_slice() {
            // An empty element renders as `null` (dropped in `System`) or as its attributes.
            [] if place != Place::System && element.attributes.is_empty() => {
                self.push(element.name.clone(), Source::Null);
            }
            [] => {}
            [Node::Slot(index)] => {
                let empty = if place == Place::System {
                    Empty::Omit
                } else {
                    Empty::Null
                };
                self.push(
                    element.name.clone(),
                    Source::Slot {
                        index: *index,
                        empty,
                    },
                );
            }
            [Node::Text(text)] => {
                if text.is_empty() || place != Place::System {
                    return None;
                }
                self.push(element.name.clone(), Source::Text(text.clone().into()));
            }
            children => {
                let mut seen = Vec::new();
                for child in children {
                    let Node::Element(child) = child else {
                        return None;
                    };
                    // Repeated names are renamed (`_1`, …) by the renderer.
                    if seen.contains(&child.name.as_str()) {
                        return None;
                    }
                    seen.push(child.name.as_str());
                    self.element(child, place)?;
                }
            }
        }
        Some(())
    }

    /// `EventData`: only `<Data Name="N">%n</Data>` children, each the field `N`.
    fn event_data(&mut self, element: &Element) -> Option<()> {
        if !only_xmlns(&element.attributes) {
            return None;
        }
        if has_unnamed_data(element) {
            return self.unnamed_data(element);
        }
        self.may_all_be_left_out(&element.children);
        if element.children.is_empty() && element.attributes.is_empty() {
            self.push(element.name.clone(), Source::Null);
        }
        let mut seen: Vec<&str> = Vec::new();
        for child in &element.children {
            let Node::Element(data) = child else {
                return None;
            };
            if data.name != "Data" {
                return None;
            }
            let name = match data.attributes.as_slice() {
                [(attribute, value)] if attribute == "Name" => match value.as_slice() {
                    [Node::Text(name)] if !name.is_empty() => name.as_str(),
                    _ => return None,
                },
                _ => return None,
            };
            if seen.contains(&name) {
                return None;
            }
            seen.push(name);
            let [Node::Slot(index)] = data.children.as_slice() else {
                return None;
            };
            self.enter(data);
            self.push(
                name.to_string(),
                Source::Slot {
                    index: *index,
                    empty: Empty::Blank,
                },
            );
            self.leave(data);
        }
        Some(())
    }

    /// `EventData` of classic events: one unnamed `<Data>%n</Data>`, whose strings are the
    /// values of the field `Data`, and other elements after it (`<Binary>`), each its field.
    fn unnamed_data(&mut self, element: &Element) -> Option<()> {
        self.may_all_be_left_out(&element.children);
        let mut seen: Vec<&str> = Vec::new();
        for child in &element.children {
            let Node::Element(child) = child else {
                return None;
            };
            // One `Data` (more are written as one array) and no repeated names.
            if seen.contains(&child.name.as_str()) {
                return None;
            }
            seen.push(&child.name);
            if child.name != "Data" {
                self.element(child, Place::Other)?;
                continue;
            }
            let ([], [Node::Slot(index)]) =
                (child.attributes.as_slice(), child.children.as_slice())
            else {
                return None;
            };
            self.enter(child);
            self.push("Data".to_string(), Source::Items { index: *index });
            self.leave(child);
        }
        Some(())
    }
}

/// Whether a container holds a `<Data>` without attributes.
fn has_unnamed_data(element: &Element) -> bool {
    element
        .children
        .iter()
        .any(|c| matches!(c, Node::Element(e) if e.name == "Data" && e.attributes.is_empty()))
}

#[cfg(test)]
mod tests;
