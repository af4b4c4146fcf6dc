//! The narrow view of an event that the engine reads, and a small owned event for tests and
//! tools.
//!
//! The engine never looks a field up by name one atom at a time: it walks an event's fields
//! once ([`EventView::for_each_field`]) and files the values it needs into per-field slots. A
//! reader therefore only has to offer a cheap walk over `(name, value)` pairs plus the two
//! header values used for dispatch (channel and event id).

/// What kind of scalar a field value is. Matching depends on it only for `null` (a JSON null
/// is "no value") and for numbers (compared numerically as well as textually).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueKind {
    String,
    Number,
    Bool,
    Null,
}

/// One value of a field: its kind and its text (`""` for null, `"true"`/`"false"` for bools,
/// numbers as written).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldValue<'a> {
    pub kind: ValueKind,
    pub text: &'a str,
}

impl<'a> FieldValue<'a> {
    pub fn new(kind: ValueKind, text: &'a str) -> Self {
        FieldValue { kind, text }
    }

    pub fn string(text: &'a str) -> Self {
        FieldValue::new(ValueKind::String, text)
    }

    pub fn is_null(&self) -> bool {
        self.kind == ValueKind::Null
    }
}

/// What the engine needs from an event.
///
/// `for_each_field` must report every `(name, value)` pair of the event in a stable order; a
/// field with several values (an array, repeated `Data` elements) is reported once per value
/// under the same name. Names are compared exactly (case-sensitive), as the pipeline spells
/// them (`Image`, `Provider_Name`, `winlog.event_data.Image`).
pub trait EventView {
    /// The event id used for dispatch (`System/EventID`, `winlog.event_id`, ...).
    fn event_id(&self) -> Option<u32>;
    /// The channel used for dispatch (`System/Channel`, `winlog.channel`, ...).
    fn channel(&self) -> Option<&str>;
    /// Calls `f` once per `(name, value)` pair, in document order.
    fn for_each_field<'s>(&'s self, f: &mut dyn FnMut(&'s str, FieldValue<'s>));
    /// [`EventView::for_each_field`] with each name's id in the event's name table
    /// ([`EventView::name_table`]) where it has one. The engine remembers what it made of a
    /// name by its id, instead of looking the name up in every event.
    fn for_each_field_with_id<'s>(
        &'s self,
        f: &mut dyn FnMut(&'s str, Option<u32>, FieldValue<'s>),
    ) {
        self.for_each_field(&mut |name, value| f(name, None, value))
    }
    /// Which table the name ids come from: within one table an id always names the same
    /// name, and no two tables have the same number. 0: no ids.
    fn name_table(&self) -> u64 {
        0
    }
    /// A text that holds every value's text (anything else may be in it too), when the event
    /// has one at hand: a keyword the text lacks is in no value, which one search tells.
    fn all_text(&self) -> Option<&str> {
        None
    }
}

impl<T: EventView + ?Sized> EventView for &T {
    fn event_id(&self) -> Option<u32> {
        (**self).event_id()
    }

    fn channel(&self) -> Option<&str> {
        (**self).channel()
    }

    fn for_each_field<'s>(&'s self, f: &mut dyn FnMut(&'s str, FieldValue<'s>)) {
        (**self).for_each_field(f)
    }

    fn for_each_field_with_id<'s>(
        &'s self,
        f: &mut dyn FnMut(&'s str, Option<u32>, FieldValue<'s>),
    ) {
        (**self).for_each_field_with_id(f)
    }

    fn name_table(&self) -> u64 {
        (**self).name_table()
    }

    fn all_text(&self) -> Option<&str> {
        (**self).all_text()
    }
}

/// The events of `sigrun-logs` readers (EVTX, JSON, JSON Lines).
impl EventView for sigrun_logs::Event<'_> {
    fn event_id(&self) -> Option<u32> {
        sigrun_logs::Event::event_id(self)
    }

    fn channel(&self) -> Option<&str> {
        sigrun_logs::Event::channel(self)
    }

    fn for_each_field<'s>(&'s self, f: &mut dyn FnMut(&'s str, FieldValue<'s>)) {
        for (name, value) in self.fields() {
            f(name, field_value(value));
        }
    }

    fn for_each_field_with_id<'s>(
        &'s self,
        f: &mut dyn FnMut(&'s str, Option<u32>, FieldValue<'s>),
    ) {
        for (name, id, value) in self.fields_with_ids() {
            f(name, id, field_value(value));
        }
    }

    fn name_table(&self) -> u64 {
        sigrun_logs::Event::name_table(self)
    }

    fn all_text(&self) -> Option<&str> {
        Some(self.text())
    }
}

fn field_value(value: sigrun_logs::Value<'_>) -> FieldValue<'_> {
    let kind = match value.kind() {
        sigrun_logs::ValueKind::String => ValueKind::String,
        sigrun_logs::ValueKind::Number => ValueKind::Number,
        sigrun_logs::ValueKind::Bool => ValueKind::Bool,
        sigrun_logs::ValueKind::Null => ValueKind::Null,
    };
    FieldValue::new(kind, value.text())
}

/// An owned event built field by field: for tests, examples and `explain` on hand-made input.
/// Its channel is the first `Channel` field and its event id the first `EventID` field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryEvent {
    fields: Vec<(String, ValueKind, String)>,
    /// Every value's text, one per line: the event's [`EventView::all_text`].
    all_text: String,
}

impl MemoryEvent {
    pub fn new() -> Self {
        MemoryEvent::default()
    }

    /// Adds a string field (builder style).
    pub fn with(mut self, name: &str, text: &str) -> Self {
        self.push(name, ValueKind::String, text);
        self
    }

    /// Adds a number field, stored as its text.
    pub fn with_number(mut self, name: &str, number: impl ToString) -> Self {
        self.push(name, ValueKind::Number, &number.to_string());
        self
    }

    pub fn with_bool(mut self, name: &str, value: bool) -> Self {
        self.push(name, ValueKind::Bool, if value { "true" } else { "false" });
        self
    }

    /// Adds a JSON-null field: present, but without a value.
    pub fn with_null(mut self, name: &str) -> Self {
        self.push(name, ValueKind::Null, "");
        self
    }

    pub fn push(&mut self, name: &str, kind: ValueKind, text: &str) {
        self.fields.push((name.to_owned(), kind, text.to_owned()));
        self.all_text.push_str(text);
        self.all_text.push('\n');
    }

    fn first(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, text)| text.as_str())
    }
}

impl EventView for MemoryEvent {
    fn event_id(&self) -> Option<u32> {
        self.first("EventID").and_then(|t| t.trim().parse().ok())
    }

    fn channel(&self) -> Option<&str> {
        self.first("Channel")
    }

    fn for_each_field<'s>(&'s self, f: &mut dyn FnMut(&'s str, FieldValue<'s>)) {
        for (name, kind, text) in &self.fields {
            f(name, FieldValue::new(*kind, text));
        }
    }

    fn all_text(&self) -> Option<&str> {
        Some(&self.all_text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_event_reports_header_and_fields_in_order() {
        let event = MemoryEvent::new()
            .with("Channel", "Security")
            .with_number("EventID", 4688)
            .with_null("Empty")
            .with("Channel", "Second");
        assert_eq!(event.channel(), Some("Security"));
        assert_eq!(event.event_id(), Some(4688));
        let mut seen = Vec::new();
        event.for_each_field(&mut |name, value| seen.push((name.to_owned(), value.kind)));
        assert_eq!(
            seen,
            [
                ("Channel".to_owned(), ValueKind::String),
                ("EventID".to_owned(), ValueKind::Number),
                ("Empty".to_owned(), ValueKind::Null),
                ("Channel".to_owned(), ValueKind::String),
            ]
        );
    }
}
