//! The flat, borrowed view of one event that the matching engine reads fields from.
//!
//! A reader flattens every event into one reusable [`EventBuf`]: a single `String` holding all
//! field names and values back to back, and a `Vec` of [`Entry`] spans into it. Nothing is
//! allocated per event once the buffers have grown to the largest event seen. The buffer is then
//! lent out as an [`Event`], which is `Copy` and only valid while the reader's callback runs.

use std::fmt;

use crate::problem::Location;

/// What kind of JSON scalar a value was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// A JSON string; the text is unescaped.
    String,
    /// A JSON number; the text is exactly as written in the source (`4688`, `-1.5`, `1e3`).
    Number,
    /// `true` or `false`; the text is `"true"` or `"false"`.
    Bool,
    /// JSON `null`; the text is empty.
    Null,
}

/// One value of a field: its kind and its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Value<'a> {
    kind: ValueKind,
    text: &'a str,
}

impl<'a> Value<'a> {
    /// A value of `kind` whose text is `text` (see [`ValueKind`] for what the text holds).
    pub fn new(kind: ValueKind, text: &'a str) -> Self {
        Value { kind, text }
    }

    /// The kind of JSON scalar this value was.
    pub fn kind(&self) -> ValueKind {
        self.kind
    }

    /// The value as text: strings unescaped, numbers as written, `true`/`false`, `""` for null.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Whether the value is JSON `null`.
    pub fn is_null(&self) -> bool {
        self.kind == ValueKind::Null
    }
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

/// How an event's JSON is shaped, which decides its field names and where its header is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// `{"Event": {"System": {…}, "EventData": {…} | "UserData": {…}}}`, as the `evtx` crate and
    /// `evtx_dump` render a record (every EVTX record is read in this layout).
    WindowsNested,
    /// One flat object per event with the EventData fields as top-level keys and an envelope
    /// (`EventID`, `Channel`, `Hostname`, `SourceName`, …), as NXLog or legacy Winlogbeat write.
    WindowsFlat,
    /// Elastic Common Schema: `winlog.event_data.*`, `winlog.channel`, `process.*`, `host.name`…
    Ecs,
}

/// Which layout to read JSON events in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LayoutChoice {
    /// Decide for each event from its top-level keys: an `Event` object makes it
    /// [`Layout::WindowsNested`], a `winlog` or `ecs` key (object or dotted prefix) makes it
    /// [`Layout::Ecs`], anything else is [`Layout::WindowsFlat`]. Deciding per event costs
    /// nothing measurable and keeps mixed files and any split into work units consistent.
    #[default]
    Auto,
    /// Read every event in this layout.
    Fixed(Layout),
}

/// A span of [`EventBuf`]'s text. `u32` keeps entries small; the flattener refuses events whose
/// text would not fit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

impl Span {
    /// The span `start..end` of the text (the flattener keeps the text under `u32::MAX`).
    pub(crate) fn new(start: usize, end: usize) -> Self {
        Span {
            start: start as u32,
            len: (end - start) as u32,
        }
    }

    pub(crate) fn get(self, text: &str) -> &str {
        let start = self.start as usize;
        text.get(start..start + self.len as usize).unwrap_or("")
    }
}

/// One `(name, value)` pair of a flattened event.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    /// Cheap pre-filter for name lookups: length, first and last byte of the name.
    pub(crate) name_key: u32,
    pub(crate) name: Span,
    /// The name's id in the reader's [`crate::names::NameIds`] ([`EventBuf::name_table`]),
    /// or [`NO_NAME_ID`] (names of JSON input and of header aliases).
    pub(crate) name_id: u32,
    pub(crate) value: Span,
    pub(crate) kind: ValueKind,
    /// For an EVTX record filled from its template values: the substitution whose text the
    /// value is (see [`OWN_SLOTS`], [`NESTED_SLOTS`]), which the record's JSON text takes
    /// instead of converting the substitution again; else [`NO_SLOT`].
    pub(crate) slot: u16,
}

/// The [`Entry::name_id`] of a name without one.
pub(crate) const NO_NAME_ID: u32 = u32::MAX;

/// The key that [`Entry::name_key`] holds for `name`: a lookup compares it before any bytes, so a
/// scan over an event's entries rejects almost every other name in one integer comparison.
#[inline]
pub(crate) fn name_key(name: &str) -> u32 {
    let bytes = name.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            ((bytes.len().min(0xffff) as u32) << 16) | (u32::from(first) << 8) | u32::from(last)
        }
        _ => 0,
    }
}

/// The normalized header of an event, filled by every layout.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Header {
    pub(crate) event_id: Option<u32>,
    pub(crate) record_id: Option<u64>,
    pub(crate) channel: Option<Span>,
    pub(crate) provider: Option<Span>,
    pub(crate) computer: Option<Span>,
    pub(crate) timestamp: Option<Span>,
}

/// The reusable buffer one event is flattened into. Create one per thread (a
/// [`ReadScratch`](crate::ReadScratch) holds one) and let the readers refill it for every event.
#[derive(Debug)]
pub struct EventBuf {
    pub(crate) text: String,
    pub(crate) entries: Vec<Entry>,
    pub(crate) header: Header,
    pub(crate) layout: Layout,
    /// Name of the field being built while flattening (kept here so that it is reused).
    pub(crate) path: String,
    /// Where the flattener decodes strings it checks but does not keep.
    pub(crate) scratch: String,
    pub(crate) location: Location,
    pub(crate) recovered: bool,
    /// The table the entries' name ids come from (0: they have none).
    pub(crate) name_table: u64,
}

/// [`Entry::slot`] of the substitutions of an EVTX record's own template instance: the slot
/// number as it is.
pub(crate) const OWN_SLOTS: u16 = 0;
/// [`Entry::slot`] of the substitutions of the instance nested in one of the record's: the
/// slot number with this bit set.
pub(crate) const NESTED_SLOTS: u16 = 0x8000;
/// [`Entry::slot`] of a value that is no substitution's text (and of slots from 0x8000 on).
pub(crate) const NO_SLOT: u16 = u16::MAX;

impl Default for EventBuf {
    fn default() -> Self {
        EventBuf::new()
    }
}

impl EventBuf {
    /// An empty buffer.
    pub fn new() -> Self {
        EventBuf {
            text: String::with_capacity(4096),
            entries: Vec::with_capacity(64),
            header: Header::default(),
            layout: Layout::WindowsFlat,
            path: String::with_capacity(128),
            scratch: String::new(),
            location: Location::Source,
            recovered: false,
            name_table: 0,
        }
    }

    /// Forget the previous event, keeping the allocations.
    pub(crate) fn clear(&mut self) {
        self.text.clear();
        self.entries.clear();
        self.path.clear();
        self.header = Header::default();
        self.location = Location::Source;
        self.recovered = false;
        self.name_table = 0;
    }

    /// Per substitution slot of the template `instance` ([`OWN_SLOTS`] or [`NESTED_SLOTS`]),
    /// of `count` slots, the text the fill wrote for it, if it wrote one.
    pub(crate) fn slot_texts(&self, instance: u16, count: usize) -> Vec<Option<Span>> {
        let mut texts = vec![None; count];
        for entry in &self.entries {
            if entry.slot != NO_SLOT
                && entry.slot & NESTED_SLOTS == instance
                && let Some(text) = texts.get_mut(usize::from(entry.slot & !NESTED_SLOTS))
            {
                *text = Some(entry.value);
            }
        }
        texts
    }

    /// View the flattened event; `raw` is the JSON text it was flattened from.
    pub fn event<'a>(&'a self, raw: &'a [u8]) -> Event<'a> {
        Event {
            buf: self,
            raw: Raw::Text(raw),
        }
    }

    /// View the event, whose JSON text `render` gives when it is asked for (an EVTX record
    /// read from its template values is rendered only if an alert needs it).
    pub(crate) fn event_rendered<'a>(&'a self, render: &'a RenderJson<'a>) -> Event<'a> {
        Event {
            buf: self,
            raw: Raw::Render(render),
        }
    }

    pub(crate) fn push_text(&mut self, text: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(text);
        Span {
            start: start as u32,
            len: text.len() as u32,
        }
    }
}

/// Renders an event's JSON text on demand (once: later calls give the same text); `None` when
/// rendering fails.
pub(crate) type RenderJson<'a> = dyn Fn() -> Option<&'a [u8]> + 'a;

/// An event's JSON text: the source's bytes, or a way to render them.
#[derive(Clone, Copy)]
enum Raw<'a> {
    Text(&'a [u8]),
    Render(&'a RenderJson<'a>),
}

/// One event, borrowed from the reader's buffer: only valid during the reader's callback.
#[derive(Clone, Copy)]
pub struct Event<'a> {
    buf: &'a EventBuf,
    raw: Raw<'a>,
}

impl fmt::Debug for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("layout", &self.layout())
            .field("location", &self.location())
            .field("event_id", &self.event_id())
            .field("channel", &self.channel())
            .field("fields", &self.fields().collect::<Vec<_>>())
            .finish()
    }
}

impl<'a> Event<'a> {
    /// All values of the field `name` (several when the source had an array or repeated
    /// `Data` elements), in document order. The name is matched exactly and case-sensitively.
    pub fn get<'n>(&self, name: &'n str) -> Values<'a, 'n> {
        Values {
            entries: self.buf.entries.iter(),
            text: &self.buf.text,
            name,
            key: name_key(name),
        }
    }

    /// The first value of the field `name`.
    pub fn first(&self, name: &str) -> Option<Value<'a>> {
        self.get(name).next()
    }

    /// Whether the event has a field `name` (with any value, null included).
    pub fn has(&self, name: &str) -> bool {
        self.first(name).is_some()
    }

    /// Every `(name, value)` pair in document order, for keyword searches and output. In the
    /// [`Layout::WindowsFlat`] layout, `Provider_Name` and `Computer` copies of the envelope
    /// come last when the source had no such keys.
    pub fn fields(&self) -> Fields<'a> {
        Fields(self.fields_with_ids())
    }

    /// [`Event::fields`] with each name's id in the event's name table
    /// ([`Event::name_table`]), where it has one: a reader gives the same name the same id in
    /// every event it reads with the same table, so a consumer can remember what it made of a
    /// name by its id instead of looking the name up again.
    pub fn fields_with_ids(&self) -> FieldsWithIds<'a> {
        FieldsWithIds {
            entries: self.buf.entries.iter(),
            text: &self.buf.text,
        }
    }

    /// Which table the name ids of [`Event::fields_with_ids`] come from: ids from tables with
    /// the same number name the same names. 0 when the event has no ids (JSON input).
    pub fn name_table(&self) -> u64 {
        self.buf.name_table
    }

    /// The text every name and value of [`Event::fields`] is a slice of: a string that does not
    /// occur in it occurs in none of them (a prefilter's whole-event question).
    pub fn text(&self) -> &'a str {
        &self.buf.text
    }

    /// How many `(name, value)` pairs [`Event::fields`] yields.
    pub fn field_count(&self) -> usize {
        self.buf.entries.len()
    }

    /// The event ID (`System/EventID`, `EventID`, `winlog.event_id` or `event.code`), when it
    /// is a decimal number that fits.
    pub fn event_id(&self) -> Option<u32> {
        self.buf.header.event_id
    }

    /// The channel (`System/Channel`, `Channel`, `winlog.channel`).
    pub fn channel(&self) -> Option<&'a str> {
        self.header_text(self.buf.header.channel)
    }

    /// The provider (`System/Provider@Name`; `Provider_Name`, `SourceName` or `ProviderName`;
    /// `winlog.provider_name`).
    pub fn provider(&self) -> Option<&'a str> {
        self.header_text(self.buf.header.provider)
    }

    /// The computer (`System/Computer`; `Computer` or `Hostname`; `winlog.computer_name`,
    /// `host.name` or `host.hostname`).
    pub fn computer(&self) -> Option<&'a str> {
        self.header_text(self.buf.header.computer)
    }

    /// The time as found in the source (`System/TimeCreated@SystemTime`; `TimeCreated`,
    /// `EventTime` or `@timestamp`; `@timestamp`), not parsed.
    pub fn timestamp(&self) -> Option<&'a str> {
        self.header_text(self.buf.header.timestamp)
    }

    /// The record ID (`System/EventRecordID`; `RecordNumber` or `EventRecordID`;
    /// `winlog.record_id`). For EVTX records this is the rendered System value, which can
    /// differ from the record header's ID in [`Location::Record`].
    pub fn record_id(&self) -> Option<u64> {
        self.buf.header.record_id
    }

    /// The event as JSON text: the source's bytes for JSON input, the `evtx` crate's compact
    /// JSON rendering for EVTX records (rendered on the first call for records read from
    /// their template values; `null` in the unlikely case that the rendering fails).
    pub fn raw_json(&self) -> &'a [u8] {
        match self.raw {
            Raw::Text(text) => text,
            Raw::Render(render) => render().unwrap_or(b"null"),
        }
    }

    /// The layout the event was read in.
    pub fn layout(&self) -> Layout {
        self.buf.layout
    }

    /// Where the event is in its source.
    pub fn location(&self) -> Location {
        self.buf.location
    }

    /// Whether the record was carved from unallocated EVTX chunk space
    /// ([`ReadOptions::recover_records`](crate::ReadOptions::recover_records)).
    pub fn is_recovered(&self) -> bool {
        self.buf.recovered
    }

    fn header_text(&self, span: Option<Span>) -> Option<&'a str> {
        span.map(|s| s.get(&self.buf.text))
    }
}

/// The values of one field of an [`Event`] (see [`Event::get`]).
#[derive(Clone)]
pub struct Values<'a, 'n> {
    entries: std::slice::Iter<'a, Entry>,
    text: &'a str,
    name: &'n str,
    key: u32,
}

impl<'a> Iterator for Values<'a, '_> {
    type Item = Value<'a>;

    #[inline]
    fn next(&mut self) -> Option<Value<'a>> {
        for entry in self.entries.by_ref() {
            if entry.name_key == self.key && entry.name.get(self.text) == self.name {
                return Some(Value::new(entry.kind, entry.value.get(self.text)));
            }
        }
        None
    }
}

/// Every `(name, value)` pair of an [`Event`] (see [`Event::fields`]).
#[derive(Clone)]
pub struct Fields<'a>(FieldsWithIds<'a>);

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a str, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let (name, _, value) = self.0.next()?;
        Some((name, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for Fields<'_> {}

/// Every `(name, name id, value)` of an [`Event`] (see [`Event::fields_with_ids`]).
#[derive(Clone)]
pub struct FieldsWithIds<'a> {
    entries: std::slice::Iter<'a, Entry>,
    text: &'a str,
}

impl<'a> Iterator for FieldsWithIds<'a> {
    type Item = (&'a str, Option<u32>, Value<'a>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.entries.next()?;
        Some((
            entry.name.get(self.text),
            (entry.name_id != NO_NAME_ID).then_some(entry.name_id),
            Value::new(entry.kind, entry.value.get(self.text)),
        ))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for FieldsWithIds<'_> {}
