//! Shapes of hand-written template definitions and the events they fill, with exact values.
//! (Every record of the shared corpus is also compared with its JSON rendering in
//! `tests/evtx_direct.rs`.)

use evtx::Utf16LeSlice;
use evtx::binxml::value_variant::BinXmlValue;

use super::*;
use crate::ValueKind::{Null, Number, String as Str};

/// Writes a template definition (header, fragment, tokens) at offset 0 of a chunk.
struct Definition {
    bytes: Vec<u8>,
}

impl Definition {
    fn new() -> Self {
        let mut bytes = vec![0; DEFINITION_HEADER_SIZE];
        bytes.extend([0x0f, 1, 1, 0]);
        Definition { bytes }
    }

    fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes.extend(v.to_le_bytes());
        self
    }

    fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes.extend(v.to_le_bytes());
        self
    }

    fn utf16(&mut self, text: &str) -> &mut Self {
        for unit in text.encode_utf16() {
            self.u16(unit);
        }
        self
    }

    /// A name defined right here; returns its offset for later references.
    fn name(&mut self, name: &str) -> u32 {
        let at = self.bytes.len() as u32 + 4;
        self.u32(at)
            .u32(0)
            .u16(0)
            .u16(name.encode_utf16().count() as u16);
        self.utf16(name).u16(0);
        at
    }

    /// A start tag; `attributes` when an attribute list follows.
    fn open(&mut self, name: &str, attributes: bool, dependency: Option<u16>) -> &mut Self {
        self.bytes.push(if attributes { 0x41 } else { 0x01 });
        self.u16(dependency.unwrap_or(NO_DEPENDENCY)).u32(0);
        self.name(name);
        if attributes {
            self.u32(0);
        }
        self
    }

    /// A start tag whose name was defined at `offset` earlier.
    fn open_ref(&mut self, offset: u32) -> &mut Self {
        self.bytes.push(0x01);
        self.u16(NO_DEPENDENCY).u32(0).u32(offset)
    }

    fn attribute(&mut self, name: &str) -> &mut Self {
        self.bytes.push(0x06);
        self.name(name);
        self
    }

    fn text(&mut self, text: &str) -> &mut Self {
        self.bytes.extend([0x05, 0x01]);
        self.u16(text.encode_utf16().count() as u16).utf16(text)
    }

    fn slot(&mut self, index: u16) -> &mut Self {
        self.bytes.push(0x0d);
        self.u16(index).bytes.push(0x01);
        self
    }

    fn close_start(&mut self) -> &mut Self {
        self.bytes.push(0x02);
        self
    }

    fn close_empty(&mut self) -> &mut Self {
        self.bytes.push(0x03);
        self
    }

    fn end(&mut self) -> &mut Self {
        self.bytes.push(0x04);
        self
    }

    /// `<Event xmlns="http://schemas"><System>`, both left open.
    fn event_and_system(&mut self) -> &mut Self {
        self.open("Event", true, None)
            .attribute("xmlns")
            .text("http://schemas");
        self.close_start();
        self.open("System", false, None).close_start()
    }

    /// `<elem>%slot</elem>`
    fn leaf(&mut self, name: &str, slot: u16) -> &mut Self {
        self.open(name, false, None).close_start().slot(slot).end()
    }

    /// `<Data Name="name">%slot</Data>`, depending on `dependency`.
    fn data(&mut self, name: &str, slot: u16, dependency: Option<u16>) -> &mut Self {
        self.open("Data", true, dependency)
            .attribute("Name")
            .text(name);
        self.close_start().slot(slot).end()
    }

    fn finish(&mut self) -> Vec<u8> {
        self.bytes.push(0x00);
        let size = (self.bytes.len() - DEFINITION_HEADER_SIZE) as u32;
        self.bytes[20..24].copy_from_slice(&size.to_le_bytes());
        std::mem::take(&mut self.bytes)
    }
}

/// The shape of the definition at offset 0 of `chunk`, if it is read and one this module reads.
fn read(chunk: &[u8], role: Role) -> Option<Shape> {
    Shape::read(chunk, 0, role).and_then(|(shape, _)| shape)
}

fn utf16(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn string(bytes: &[u8]) -> BinXmlValue<'_> {
    BinXmlValue::StringType(Utf16LeSlice::new(bytes, bytes.len() / 2))
}

/// Fill an event from `shape` and `values`; its fields as (name, kind, text).
/// `evtx`'s values as the shape writer takes them.
fn subs<'a>(values: &[BinXmlValue<'a>]) -> Vec<Sub<'a>> {
    values.iter().cloned().map(Sub::Value).collect()
}

/// [`super::write_value`] of one of `evtx`'s values.
fn write_value(value: &BinXmlValue<'_>, text: &mut String) -> Result<ValueKind, Declined> {
    super::write_value(&Sub::Value(value.clone()), text)
}

fn fill(
    shape: &Shape,
    values: &[BinXmlValue<'_>],
) -> Result<Vec<(String, ValueKind, String)>, Declined> {
    let mut buf = EventBuf::new();
    buf.clear();
    buf.layout = Layout::WindowsNested;
    let mut system = 0..0;
    shape.fill(
        &subs(values),
        &mut buf,
        OWN_SLOTS,
        &mut system,
        &mut |_, _| Err(Declined),
    )?;
    crate::header::fill(&mut buf, system);
    let event = buf.event(b"");
    Ok(event
        .fields()
        .map(|(n, v)| (n.to_string(), v.kind(), v.text().to_string()))
        .collect())
}

/// `Event` with a `System` (Provider Name=%0, EventID %1, Channel text, Correlation
/// ActivityID=%2, Execution ProcessID=%3) and an `EventData` (A=%4, B=%5, C=%6 depending on %7).
fn security_like() -> Vec<u8> {
    let mut d = Definition::new();
    d.event_and_system();
    d.open("Provider", true, None)
        .attribute("Name")
        .slot(0)
        .close_empty();
    d.leaf("EventID", 1);
    d.open("Channel", false, None)
        .close_start()
        .text("Security")
        .end();
    d.open("Correlation", true, None)
        .attribute("ActivityID")
        .slot(2)
        .close_empty();
    d.open("Execution", true, None)
        .attribute("ProcessID")
        .slot(3)
        .close_empty();
    d.end();
    d.open("EventData", false, None).close_start();
    d.data("A", 4, None)
        .data("B", 5, None)
        .data("C", 6, Some(7));
    d.end();
    d.end();
    d.finish()
}

fn owned(fields: &[(&str, ValueKind, &str)]) -> Vec<(String, ValueKind, String)> {
    fields
        .iter()
        .map(|(n, k, t)| (n.to_string(), *k, t.to_string()))
        .collect()
}

#[test]
fn a_record_template_fills_named_fields_with_the_renderers_kinds_and_empties() {
    let chunk = security_like();
    let shape = read(&chunk, Role::Record).expect("shape");
    let (prov, x, c) = (utf16("Prov"), utf16("x"), utf16("c"));
    let values = [
        string(&prov),
        BinXmlValue::UInt16Type(4688),
        BinXmlValue::NullType,
        BinXmlValue::UInt32Type(4),
        string(&x),
        string(&[]),
        string(&c),
        BinXmlValue::UInt8Type(1),
    ];
    assert_eq!(
        fill(&shape, &values).expect("filled"),
        owned(&[
            ("Provider_Name", Str, "Prov"),
            ("EventID", Number, "4688"),
            ("Channel", Str, "Security"),
            // Correlation's empty ActivityID is left out.
            ("Execution_ProcessID", Number, "4"),
            ("A", Str, "x"),
            // An empty `Data` is "" (the renderer writes `""`), not null.
            ("B", Str, ""),
            ("C", Str, "c"),
        ])
    );
    // In `System` an empty leaf is dropped (the renderer's `null`); a NULL dependency leaves
    // its element out.
    let values = [
        string(&prov),
        BinXmlValue::NullType,
        BinXmlValue::NullType,
        BinXmlValue::UInt32Type(4),
        string(&x),
        string(&x),
        string(&c),
        BinXmlValue::NullType,
    ];
    assert_eq!(
        fill(&shape, &values).expect("filled"),
        owned(&[
            ("Provider_Name", Str, "Prov"),
            ("Channel", Str, "Security"),
            ("Execution_ProcessID", Number, "4"),
            ("A", Str, "x"),
            ("B", Str, "x"),
        ])
    );
}

#[test]
fn the_header_is_read_from_the_system_fields() {
    let chunk = security_like();
    let shape = read(&chunk, Role::Record).expect("shape");
    let (prov, x) = (utf16("Prov"), utf16("x"));
    let values = [
        string(&prov),
        BinXmlValue::UInt16Type(4688),
        BinXmlValue::NullType,
        BinXmlValue::UInt32Type(4),
        string(&x),
        string(&x),
        string(&x),
        BinXmlValue::NullType,
    ];
    let mut buf = EventBuf::new();
    let mut system = 0..0;
    shape
        .fill(
            &subs(&values),
            &mut buf,
            OWN_SLOTS,
            &mut system,
            &mut |_, _| Err(Declined),
        )
        .expect("filled");
    assert_eq!(system, 0..4);
    crate::header::fill(&mut buf, system);
    let event = buf.event(b"");
    assert_eq!(event.event_id(), Some(4688));
    assert_eq!(event.channel(), Some("Security"));
    assert_eq!(event.provider(), Some("Prov"));
}

#[test]
fn values_are_written_as_evtx_writes_them() {
    let mut text = String::new();
    let guid = [
        0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45,
        0x67,
    ];
    assert_eq!(
        write_value(&BinXmlValue::GuidType(guid), &mut text).ok(),
        Some(Str)
    );
    assert_eq!(text, "{12345678-1234-5678-9abc-def001234567}");
    text.clear();
    let kind = write_value(&BinXmlValue::HexInt64Type(0x8000_0000_0000_0000), &mut text);
    assert_eq!(
        (kind.ok(), text.as_str()),
        (Some(Str), "0x8000000000000000")
    );
    text.clear();
    let kind = write_value(&BinXmlValue::Int64Type(-5), &mut text);
    assert_eq!((kind.ok(), text.as_str()), (Some(Number), "-5"));
    text.clear();
    let kind = write_value(&BinXmlValue::BoolType(true), &mut text);
    assert_eq!((kind.ok(), text.as_str()), (Some(ValueKind::Bool), "true"));
    // Arrays and nested BinXML are not one scalar: the JSON way takes them.
    assert!(write_value(&BinXmlValue::UInt16ArrayType(&[1, 2]), &mut text).is_err());
    assert!(write_value(&BinXmlValue::BinXmlType(&[0x0f]), &mut text).is_err());
}

#[test]
fn utf16_text_is_copied_exactly_to_its_first_nul_and_odd_text_is_declined() {
    let long = format!("{}é→𝄞 end", "C:\\Windows\\System32\\".repeat(5));
    let mut text = String::from("pre|");
    push_utf16(&utf16(&long), &mut text).expect("text");
    assert_eq!(text, format!("pre|{long}"));
    // An unpaired surrogate, and an embedded NUL.
    let lone: Vec<u8> = [0x61, 0xd800, 0x62]
        .iter()
        .flat_map(|u: &u16| u.to_le_bytes())
        .collect();
    assert!(push_utf16(&lone, &mut String::new()).is_err());
    // A NUL ends the text, as `evtx` cuts string values there.
    let mut text = String::new();
    push_utf16(&utf16("a\0b"), &mut text).expect("text");
    assert_eq!(text, "a");
    // Names and definition texts end at their first NUL, as evtx reads them.
    assert_eq!(
        super::utf16(&utf16("Proc\0essGuid")).as_deref(),
        Some("Proc")
    );
}

#[test]
fn a_name_defined_earlier_is_found_by_its_offset() {
    let mut d = Definition::new();
    d.open("Event", false, None).close_start();
    d.open("UserData", false, None).close_start();
    let first = d.bytes.len() + 1 + 2 + 4 + 4;
    d.leaf("Value", 0);
    d.open_ref(first as u32).close_start().slot(1).end();
    d.end().end();
    // Two `Value` siblings would be renamed `Value`, `Value_1`: not read this way.
    assert!(read(&d.finish(), Role::Record).is_none());

    let mut d = Definition::new();
    d.open("Event", false, None).close_start();
    d.open("UserData", false, None).close_start();
    let first = d.bytes.len() + 1 + 2 + 4 + 4;
    d.leaf("Value", 0);
    d.open("Other", false, None).close_start();
    d.open_ref(first as u32).close_start().slot(1).end();
    d.end();
    d.end().end();
    let chunk = d.finish();
    let shape = read(&chunk, Role::Record).expect("shape");
    let one = utf16("1");
    // Outside `System`, an empty leaf stays as a null value.
    assert_eq!(
        fill(&shape, &[string(&one), BinXmlValue::NullType]).expect("filled"),
        owned(&[("Value", Str, "1"), ("Value", Null, "")])
    );
}

#[test]
fn shapes_the_renderer_writes_otherwise_are_declined() {
    // Repeated `Data` names.
    let mut d = Definition::new();
    d.open("Event", false, None).close_start();
    d.open("EventData", false, None).close_start();
    d.data("A", 0, None).data("A", 1, None);
    d.end().end();
    assert!(read(&d.finish(), Role::Record).is_none());
    // Not an `Event`, and a cut-off definition.
    let mut d = Definition::new();
    d.leaf("Other", 0);
    assert!(read(&d.finish(), Role::Record).is_none());
    let chunk = security_like();
    assert!(read(&chunk[..chunk.len() - 10], Role::Record).is_none());
}

#[test]
fn a_nested_event_data_fills_its_fields_in_place() {
    let mut d = Definition::new();
    d.open("Event", false, None).close_start();
    d.open("System", false, None).close_start();
    d.leaf("EventID", 0);
    d.end();
    d.slot(1);
    d.end();
    let chunk = d.finish();
    let shape = read(&chunk, Role::Record).expect("shape");

    let mut nested = Definition::new();
    nested.open("EventData", false, None).close_start();
    nested.data("Image", 0, None);
    nested.end();
    let nested_chunk = nested.finish();
    let nested_shape = read(&nested_chunk, Role::EventChild).expect("nested shape");
    let image = utf16("C:\\a.exe");
    let payload = [0x0f_u8, 1, 1, 0, 0x0c];

    let mut buf = EventBuf::new();
    let mut system = 0..0;
    let values = [
        BinXmlValue::UInt16Type(1),
        BinXmlValue::BinXmlType(&payload),
    ];
    shape
        .fill(
            &subs(&values),
            &mut buf,
            OWN_SLOTS,
            &mut system,
            &mut |bytes, buf| {
                assert_eq!(bytes, payload);
                nested_shape.fill(
                    &[Sub::Value(string(&image))],
                    buf,
                    NESTED_SLOTS,
                    &mut (0..0),
                    &mut |_, _| Err(Declined),
                )
            },
        )
        .expect("filled");
    let fields: Vec<_> = buf
        .event(b"")
        .fields()
        .map(|(n, v)| format!("{n}={}", v.text()))
        .collect();
    assert_eq!(fields, ["EventID=1", "Image=C:\\a.exe"]);
    // A nested substitution that holds a string is not an element: declined.
    let text = utf16("x");
    let values = [BinXmlValue::UInt16Type(1), string(&text)];
    assert!(fill(&shape, &values).is_err());
    // `System` cannot come from a nested instance (it holds the header).
    let mut d = Definition::new();
    d.open("System", false, None)
        .close_start()
        .leaf("EventID", 0)
        .end();
    assert!(read(&d.finish(), Role::EventChild).is_none());
}

/// A definition of `Event/UserData/<name at the end of the chunk>` = %0, and that name.
fn with_name_outside(name: &str) -> Vec<u8> {
    let mut d = Definition::new();
    d.open("Event", false, None).close_start();
    d.open("UserData", false, None).close_start();
    d.bytes.push(0x01);
    d.u16(NO_DEPENDENCY).u32(0);
    let reference = d.bytes.len();
    d.u32(0).close_start().slot(0).end();
    d.end().end();
    let mut chunk = d.finish();
    let at = chunk.len() as u32;
    chunk[reference..reference + 4].copy_from_slice(&at.to_le_bytes());
    let mut name_entry = Definition { bytes: Vec::new() };
    name_entry
        .u32(0)
        .u16(0)
        .u16(name.encode_utf16().count() as u16);
    name_entry.utf16(name).u16(0);
    chunk.extend(name_entry.bytes);
    chunk
}

#[test]
fn a_shape_is_reused_across_chunks_only_when_its_outside_names_are_the_same() {
    let mut shapes = Shapes::default();
    let names = |shape: &Shape| -> Vec<String> {
        shape.fields.iter().map(|f| f.name.to_string()).collect()
    };
    let alpha = with_name_outside("Alpha");
    let first = shapes.get(&alpha, 0, Role::Record).expect("shape");
    assert_eq!(names(&first), ["Alpha"]);
    // The same bytes in the next chunk, whose name at that offset differs.
    shapes.next_chunk();
    let beta = with_name_outside("Beta");
    let second = shapes.get(&beta, 0, Role::Record).expect("shape");
    assert_eq!(names(&second), ["Beta"]);
    // The same definition and names again: the shape read for the first chunk.
    shapes.next_chunk();
    let third = shapes.get(&alpha, 0, Role::Record).expect("shape");
    assert!(Arc::ptr_eq(&first, &third));
    // Within a chunk, an offset means one definition whatever the bytes now say.
    let again = shapes.get(&beta, 0, Role::Record).expect("shape");
    assert!(Arc::ptr_eq(&first, &again));
}

#[test]
fn times_and_sids_are_written_as_evtx_writes_them() {
    let time = |filetime: u64| {
        let mut text = String::new();
        push_filetime(filetime, &mut text).then_some(text)
    };
    for (filetime, expected) in [
        (0, "1601-01-01T00:00:00.0000000Z"),
        (131_976_344_651_234_567, "2019-03-21T09:34:25.1234567Z"),
        (126_227_808_000_000_000, "2001-01-01T00:00:00.0000000Z"),
        // Leap days: of a leap year that is a century, and none in 1900 (not a leap year).
        (125_962_560_000_000_000, "2000-02-29T00:00:00.0000000Z"),
        (125_963_423_990_000_000, "2000-02-29T23:59:59.0000000Z"),
        (94_405_823_990_000_000, "1900-02-28T23:59:59.0000000Z"),
        (94_405_824_000_000_000, "1900-03-01T00:00:00.0000000Z"),
        // The last time `jiff` represents; past it, `evtx`'s own formatting is used.
        (2_650_466_808_009_999_999, "9999-12-30T22:00:00.9999999Z"),
    ] {
        assert_eq!(time(filetime).as_deref(), Some(expected), "{filetime}");
    }
    assert_eq!(time(2_650_466_808_010_000_000), None);
    assert_eq!(time(2_650_467_743_999_999_999), None);
    assert_eq!(time(u64::MAX), None);

    let sid = |bytes: &[u8]| {
        let mut text = String::new();
        push_sid(bytes, &mut text);
        text
    };
    let mut local_system = vec![1, 1, 0, 0, 0, 0, 0, 5];
    local_system.extend(18u32.to_le_bytes());
    assert_eq!(sid(&local_system), "S-1-5-18");
    let mut domain = vec![1, 3, 0, 0, 0, 0, 0, 5];
    for sub in [21u32, 3_623_811_015, 500] {
        domain.extend(sub.to_le_bytes());
    }
    assert_eq!(sid(&domain), "S-1-5-21-3623811015-500");
    // A count larger than the bytes hold writes what there is; a cut header is `S-?`.
    assert_eq!(sid(&domain[..16]), "S-1-5-21-3623811015");
    assert_eq!(sid(&[1, 1, 0]), "S-?");
}

/// UTF-16 units that exercise every path of `push_utf16`: ASCII (the eight-unit blocks),
/// NUL, other BMP characters, surrogates paired or not.
fn units() -> impl proptest::strategy::Strategy<Value = Vec<u16>> {
    use proptest::prelude::*;
    let unit = prop_oneof![
        8 => 0x20u16..0x7f,
        1 => Just(0u16),
        1 => 0x01u16..0x80,
        1 => 0x80u16..0x800,
        1 => 0xd800u16..0xe000,
        1 => any::<u16>(),
    ];
    proptest::collection::vec(unit, 0..90)
}

proptest::proptest! {
    /// The fast copy of values agrees with `evtx`'s reading (cut at the first NUL) and the
    /// standard library's decoder on any text: the same characters appended, or declined
    /// exactly when a lone surrogate comes before the first NUL. Names and texts of definitions
    /// (`utf16`, a character at a time when ASCII) read the same.
    #[test]
    fn utf16_readers_agree_with_the_standard_decoder(
        units in units(),
        odd_byte in proptest::option::of(proptest::prelude::any::<u8>()),
    ) {
        let mut bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        bytes.extend(odd_byte);
        let before_nul = units.iter().position(|&u| u == 0).map_or(&units[..], |at| &units[..at]);
        let decoded = String::from_utf16(before_nul).ok();
        let mut text = String::from("pre|");
        let got = push_utf16(&bytes, &mut text).ok().map(|()| text);
        proptest::prop_assert_eq!(got, decoded.as_ref().map(|s| format!("pre|{s}")));
        proptest::prop_assert_eq!(super::utf16(&bytes), decoded);
    }
}

#[test]
fn ascii_blocks_are_taken_whole_or_not_at_all() {
    assert_eq!(
        ascii_block(&utf16("C:\\Window").as_slice()[..16].try_into().unwrap()),
        Some(*b"C:\\Windo")
    );
    let with = |at: usize, unit: u16| {
        let mut block: [u8; 16] = utf16("abcdefgh").try_into().unwrap();
        block[at * 2..at * 2 + 2].copy_from_slice(&unit.to_le_bytes());
        ascii_block(&block)
    };
    for at in 0..8 {
        assert_eq!(with(at, 0), None, "NUL at {at}");
        assert_eq!(with(at, 0xe9), None, "é at {at}");
        assert_eq!(with(at, 0x0141), None, "Ł at {at}");
        assert_eq!(with(at, 0x7f).map(|b| b[at]), Some(0x7f), "DEL at {at}");
        assert!(with(at, 0x01).is_some(), "U+0001 at {at}");
    }
}

/// A FILETIME as `jiff`'s calendar conversion writes it (what `push_filetime` replaced).
fn filetime_by_jiff(filetime: u64) -> Option<String> {
    let ticks = filetime % 10_000_000;
    let seconds = (filetime / 10_000_000) as i64 - 11_644_473_600;
    let time = evtx::Timestamp::new(seconds, ticks as i32 * 100).ok()?;
    let at = evtx::Offset::UTC.to_datetime(time);
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{ticks:07}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    ))
}

proptest::proptest! {
    /// The calendar arithmetic agrees with `jiff` on any FILETIME, near the end of its range
    /// too, and declines exactly where `jiff` does.
    #[test]
    fn times_are_written_as_jiff_writes_them(
        filetime in proptest::prop_oneof![
            proptest::prelude::any::<u64>(),
            0u64..3_000_000_000_000_000_000,
            2_650_466_000_000_000_000u64..2_650_468_000_000_000_000,
        ],
    ) {
        let mut text = String::new();
        let written = push_filetime(filetime, &mut text).then_some(text);
        proptest::prop_assert_eq!(written, filetime_by_jiff(filetime));
    }

    /// A GUID is written as `evtx` formats it.
    #[test]
    fn guids_are_written_as_evtx_formats_them(guid: [u8; 16]) {
        let mut text = String::new();
        push_guid(&guid, &mut text);
        proptest::prop_assert_eq!(text, BinXmlValue::GuidType(guid).to_string());
    }

    /// The hand-written number writers give what the formatting machinery gives.
    #[test]
    fn numbers_are_written_as_format_writes_them(value: u64) {
        let mut hex = String::from("x");
        push_hex(&mut hex, value);
        proptest::prop_assert_eq!(hex, format!("x{value:x}"));
    }
}

#[test]
fn hex_edges() {
    let hex = |v| {
        let mut t = String::new();
        push_hex(&mut t, v);
        t
    };
    assert_eq!(hex(0), "0");
    assert_eq!(hex(0x8000_0000_0000_0000), "8000000000000000");
    assert_eq!(hex(0xabc), "abc");
}

/// The JSON text `shape`'s plan writes for `values` (no nested instance), or `None` when it
/// has no plan or declines.
fn json(shape: &Shape, values: &[BinXmlValue<'_>]) -> Option<String> {
    let mut out = Vec::new();
    let plan = shape.json.as_ref()?;
    plan.write_record(&Slots::values_only(&subs(values)), &mut out, &mut |_, _| {
        Err(Declined)
    })
    .ok()?;
    String::from_utf8(out).ok()
}

/// `Event` (xmlns) with a `System` (Provider Name=%0 Guid=%1, EventID %2, Level %3,
/// Correlation ActivityID=%4, Execution ProcessID=%5 ThreadID=%6, Channel text, Security
/// UserID=%7, Keywords %8 depending on %8) and an `EventData` (CommandLine=%9, Empty=%10).
fn sysmon_like() -> Vec<u8> {
    let mut d = Definition::new();
    d.event_and_system();
    d.open("Provider", true, None)
        .attribute("Name")
        .slot(0)
        .attribute("Guid")
        .slot(1)
        .close_empty();
    d.leaf("EventID", 2).leaf("Level", 3);
    d.open("Correlation", true, None)
        .attribute("ActivityID")
        .slot(4)
        .close_empty();
    d.open("Execution", true, None)
        .attribute("ProcessID")
        .slot(5)
        .attribute("ThreadID")
        .slot(6)
        .close_empty();
    d.open("Channel", false, None)
        .close_start()
        .text("Microsoft-Windows-Sysmon/Operational")
        .end();
    d.open("Security", true, None)
        .attribute("UserID")
        .slot(7)
        .close_empty();
    d.open("Keywords", false, Some(8))
        .close_start()
        .slot(8)
        .end();
    d.end();
    d.open("EventData", false, None).close_start();
    d.data("CommandLine", 9, None).data("Empty", 10, None);
    d.end();
    d.end();
    d.finish()
}

#[test]
fn a_record_s_json_text_is_written_as_evtx_renders_it() {
    let chunk = sysmon_like();
    let shape = read(&chunk, Role::Record).expect("shape");
    let provider = utf16("Microsoft-Windows-Sysmon");
    let command = utf16("cmd.exe /c \"x\"\t\\ \u{1} é");
    let mut values = vec![
        string(&provider),
        BinXmlValue::GuidType([0x11; 16]),
        BinXmlValue::UInt16Type(1),
        BinXmlValue::UInt8Type(4),
        BinXmlValue::NullType,
        BinXmlValue::UInt32Type(2032),
        BinXmlValue::UInt32Type(4092),
        BinXmlValue::NullType,
        BinXmlValue::HexInt64Type(0x8000_0000_0000_0000),
        string(&command),
        BinXmlValue::NullType,
    ];
    assert_eq!(
        json(&shape, &values).as_deref(),
        Some(concat!(
            r##"{"Event":{"#attributes":{"xmlns":"http://schemas"},"System":{"##,
            r##""Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon","##,
            r##""Guid":"{11111111-1111-1111-1111-111111111111}"}},"EventID":1,"Level":4,"##,
            r##""Correlation":null,"Execution":{"#attributes":{"ProcessID":2032,"##,
            r##""ThreadID":4092}},"Channel":"Microsoft-Windows-Sysmon/Operational","##,
            r##""Security":null,"Keywords":"0x8000000000000000"},"##,
            r##""EventData":{"CommandLine":"cmd.exe /c \"x\"\t\\ \u0001 é","Empty":""}}}"##,
        ))
    );
    // An attribute left empty is left out; a member whose dependency is NULL too; a missing
    // value is empty.
    values[1] = BinXmlValue::NullType;
    values[8] = BinXmlValue::NullType;
    values.truncate(10);
    let text = json(&shape, &values).expect("written");
    assert!(
        text.contains(r##""Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}}"##),
        "{text}"
    );
    assert!(text.contains(r##""Security":null},"EventData""##), "{text}");
    assert!(text.ends_with(r##""Empty":""}}}"##), "{text}");
}

#[test]
fn an_element_with_content_and_attributes_and_a_container_left_empty() {
    // <Event><System><Level Kind=%0>%1</Level><Opt><A>%2</A><B>%3</B></Opt></System></Event>,
    // A depending on %2 and B on %3.
    let mut d = Definition::new();
    d.open("Event", false, None).close_start();
    d.open("System", false, None).close_start();
    d.open("Level", true, None)
        .attribute("Kind")
        .slot(0)
        .close_start()
        .slot(1)
        .end();
    d.open("Opt", false, None).close_start();
    d.open("A", false, Some(2)).close_start().slot(2).end();
    d.open("B", false, Some(3)).close_start().slot(3).end();
    d.end();
    d.end();
    d.end();
    let chunk = d.finish();
    let shape = read(&chunk, Role::Record).expect("shape");
    let kind = utf16("k");
    use BinXmlValue::{Int32Type, NullType, UInt8Type};
    let cases: [(&[BinXmlValue<'_>], &str); 4] = [
        (
            &[string(&kind), UInt8Type(4), Int32Type(-1), NullType],
            r##"{"Event":{"System":{"Level":{"#attributes":{"Kind":"k"},"#text":4},"Opt":{"A":-1}}}}"##,
        ),
        (
            &[NullType, UInt8Type(4), NullType, Int32Type(2)],
            r##"{"Event":{"System":{"Level":4,"Opt":{"B":2}}}}"##,
        ),
        (
            &[string(&kind), NullType, NullType, NullType],
            r##"{"Event":{"System":{"Level":{"#attributes":{"Kind":"k"}},"Opt":null}}}"##,
        ),
        (
            &[NullType, NullType, NullType, NullType],
            r##"{"Event":{"System":{"Level":null,"Opt":null}}}"##,
        ),
    ];
    for (values, expected) in cases {
        assert_eq!(json(&shape, values).as_deref(), Some(expected));
    }
}

#[test]
fn json_the_plans_do_not_settle_is_left_to_evtx() {
    // Values of other types.
    let chunk = sysmon_like();
    let shape = read(&chunk, Role::Record).expect("shape");
    let mut values = vec![BinXmlValue::NullType; 11];
    values[9] = BinXmlValue::Real64Type(1.5);
    assert_eq!(json(&shape, &values), None);
    values[9] = BinXmlValue::BinaryType(&[1, 2]);
    let text = json(&shape, &values).expect("binary values are written");
    assert!(text.contains(r##""CommandLine":"0102""##), "{text}");
    values[9] = BinXmlValue::FileTimeType(evtx::binxml::value_variant::FileTime(u64::MAX));
    assert_eq!(json(&shape, &values), None);
    values[9] = BinXmlValue::UInt64Type(7);
    assert!(json(&shape, &values).is_some());

    // A `Data` that depends on a value (the shape still fills the event).
    let chunk = security_like();
    let shape = read(&chunk, Role::Record).expect("shape");
    assert!(shape.json.is_none());
}

#[test]
fn definition_text_that_looks_like_a_number_is_a_string() {
    // `evtx` reads a definition's text as a string value, which it writes quoted.
    let mut d = Definition::new();
    d.open("Event", false, None).close_start();
    d.open("System", false, None).close_start();
    d.open("Task", false, None).close_start().text("0").end();
    d.open("Provider", true, None)
        .attribute("Name")
        .text("-1")
        .close_empty();
    d.leaf("EventID", 0);
    d.open("Computer", false, None)
        .close_start()
        .text("2016dc.corp")
        .end();
    d.end();
    d.end();
    let chunk = d.finish();
    let shape = read(&chunk, Role::Record).expect("shape");
    let values = [BinXmlValue::UInt16Type(4624)];
    assert_eq!(
        fill(&shape, &values).expect("filled"),
        owned(&[
            ("Task", Str, "0"),
            ("Provider_Name", Str, "-1"),
            ("EventID", Number, "4624"),
            ("Computer", Str, "2016dc.corp"),
        ])
    );
    assert_eq!(
        json(&shape, &values).as_deref(),
        Some(concat!(
            r##"{"Event":{"System":{"Task":"0","Provider":{"#attributes":{"Name":"-1"}},"##,
            r##""EventID":4624,"Computer":"2016dc.corp"}}}"##
        ))
    );
}

proptest::proptest! {
    /// Escaping eight bytes at a time gives what escaping byte by byte gives, on text with
    /// many bytes to escape, at every position of a word.
    #[test]
    fn json_escaping_by_words_agrees_with_escaping_by_bytes(
        text in "[a\"\\\\\u{0}-\u{1f}\u{7f}\u{80}-\u{ff}\u{2028}\u{1d11e} ]{0,40}",
    ) {
        let mut expected = Vec::new();
        for ch in text.chars() {
            match ch {
                '"' => expected.extend_from_slice(b"\\\""),
                '\\' => expected.extend_from_slice(b"\\\\"),
                '\n' => expected.extend_from_slice(b"\\n"),
                '\r' => expected.extend_from_slice(b"\\r"),
                '\t' => expected.extend_from_slice(b"\\t"),
                '\u{8}' => expected.extend_from_slice(b"\\b"),
                '\u{c}' => expected.extend_from_slice(b"\\f"),
                c if (c as u32) < 0x20 => {
                    expected.extend_from_slice(format!("\\u{:04X}", c as u32).as_bytes())
                }
                c => expected.extend_from_slice(c.to_string().as_bytes()),
            }
        }
        let mut out = Vec::new();
        json::escape(&text, &mut out);
        proptest::prop_assert_eq!(out, expected);
    }
}

#[test]
fn json_strings_are_escaped_as_evtx_escapes_them() {
    let escaped = |text: &str| {
        let mut out = Vec::new();
        json::escape(text, &mut out);
        String::from_utf8(out).expect("utf-8")
    };
    assert_eq!(escaped("plain"), "plain");
    assert_eq!(escaped("\"\\/"), "\\\"\\\\/");
    assert_eq!(escaped("\n\r\t\u{8}\u{c}"), "\\n\\r\\t\\b\\f");
    assert_eq!(
        escaped("\u{0}\u{1}\u{1f}\u{7f}"),
        "\\u0000\\u0001\\u001F\u{7f}"
    );
    assert_eq!(escaped("é\u{2028}𝄞"), "é\u{2028}𝄞");
    assert_eq!(escaped("a\"b"), "a\\\"b");
}

/// `<Event><System><EventID>%3</EventID></System><EventData><Data>%0</Data>
/// <Binary>%2</Binary></EventData></Event>`, `Data` depending on %0 and `Binary` on %2, as
/// classic (non-manifest) events are written.
fn classic() -> Vec<u8> {
    let mut d = Definition::new();
    d.open("Event", false, None).close_start();
    d.open("System", false, None).close_start();
    d.leaf("EventID", 3);
    d.end();
    d.open("EventData", false, None).close_start();
    d.open("Data", false, Some(0)).close_start().slot(0).end();
    d.open("Binary", false, Some(2)).close_start().slot(2).end();
    d.end();
    d.end();
    d.finish()
}

/// An event's fields as (name, kind, text).
type Fields = Vec<(String, ValueKind, String)>;

/// Fill and write the JSON text of `shape` with substitutions as the shape writer takes them.
fn fill_and_json(shape: &Shape, values: &[Sub<'_>]) -> Result<(Fields, String), Declined> {
    let mut buf = EventBuf::new();
    buf.clear();
    buf.layout = Layout::WindowsNested;
    shape.fill(values, &mut buf, OWN_SLOTS, &mut (0..0), &mut |_, _| {
        Err(Declined)
    })?;
    let event = buf.event(b"");
    let fields = event
        .fields()
        .map(|(n, v)| (n.to_string(), v.kind(), v.text().to_string()))
        .collect();
    let plan = shape.json.as_ref().ok_or(Declined)?;
    // With the texts the fill made, and converting every value again: the same text.
    let mut out = Vec::new();
    let filled = Slots {
        values,
        texts: &buf.slot_texts(OWN_SLOTS, values.len()),
        text: &buf.text,
    };
    plan.write_record(&filled, &mut out, &mut |_, _| Err(Declined))?;
    let mut again = Vec::new();
    plan.write_record(&Slots::values_only(values), &mut again, &mut |_, _| {
        Err(Declined)
    })?;
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&again)
    );
    Ok((fields, String::from_utf8(out).map_err(|_| Declined)?))
}

#[test]
fn an_unnamed_data_gives_a_data_field_per_string_of_its_array() {
    let chunk = classic();
    let shape = read(&chunk, Role::Record).expect("shape");
    let array = utf16("http://x/y\0\0(NULL)\0");
    let text = utf16("one");
    let id = Sub::Value(BinXmlValue::UInt16Type(1040));
    let null = Sub::Value(BinXmlValue::NullType);
    let binary = Sub::Value(BinXmlValue::BinaryType(&[0x0a, 0xbc]));

    let (fields, json) = fill_and_json(
        &shape,
        &[
            Sub::Utf16Array(&array),
            null.clone(),
            null.clone(),
            id.clone(),
        ],
    )
    .expect("array");
    assert_eq!(
        fields,
        owned(&[
            ("EventID", Number, "1040"),
            ("Data", Str, "http://x/y"),
            ("Data", Str, ""),
            ("Data", Str, "(NULL)"),
        ])
    );
    assert_eq!(
        json,
        r##"{"Event":{"System":{"EventID":1040},"EventData":{"Data":{"#text":["http://x/y","","(NULL)"]}}}}"##
    );

    // One string, and a binary value.
    let one = utf16("only\0");
    let (fields, json) = fill_and_json(
        &shape,
        &[
            Sub::Utf16Array(&one),
            null.clone(),
            binary.clone(),
            id.clone(),
        ],
    )
    .expect("one");
    assert_eq!(
        fields,
        owned(&[
            ("EventID", Number, "1040"),
            ("Data", Str, "only"),
            ("Binary", Str, "0ABC"),
        ])
    );
    assert_eq!(
        json,
        r##"{"Event":{"System":{"EventID":1040},"EventData":{"Data":{"#text":"only"},"Binary":"0ABC"}}}"##
    );

    // A plain string where the array would be.
    let (fields, json) = fill_and_json(
        &shape,
        &[Sub::Utf16(&text), null.clone(), null.clone(), id.clone()],
    )
    .expect("string");
    assert_eq!(fields[1], ("Data".to_string(), Str, "one".to_string()));
    assert!(
        json.contains(r##""EventData":{"Data":{"#text":"one"}}"##),
        "{json}"
    );

    // Both left out: `EventData` would be `null`, left to `evtx`.
    assert!(fill_and_json(&shape, &[null.clone(), null.clone(), null, id]).is_err());
}

#[test]
fn unnamed_data_the_shapes_do_not_settle_are_declined() {
    // Two unnamed `Data` (written as one array), or unnamed and named together.
    for named_too in [false, true] {
        let mut d = Definition::new();
        d.open("Event", false, None).close_start();
        d.open("EventData", false, None).close_start();
        d.open("Data", false, None).close_start().slot(0).end();
        if named_too {
            d.data("N", 1, None);
        } else {
            d.open("Data", false, None).close_start().slot(1).end();
        }
        d.end().end();
        assert!(read(&d.finish(), Role::Record).is_none(), "{named_too}");
    }
    // An array anywhere else.
    let chunk = sysmon_like();
    let shape = read(&chunk, Role::Record).expect("shape");
    let array = utf16("a\0b\0");
    let mut values: Vec<Sub<'_>> = vec![Sub::Value(BinXmlValue::NullType); 11];
    values[9] = Sub::Utf16Array(&array);
    assert!(fill_and_json(&shape, &values).is_err());
}

#[test]
fn a_container_whose_members_may_all_be_left_out_is_declined_only_when_they_are() {
    // <Event><EventData><Data Name="A">%0</Data> and B=%1, each depending on itself;
    // <Extra><X>%2</X></Extra>, X depending on %2.
    let mut d = Definition::new();
    d.open("Event", false, None).close_start();
    d.open("EventData", false, None).close_start();
    d.data("A", 0, Some(0)).data("B", 1, Some(1));
    d.end();
    d.open("Extra", false, None).close_start();
    d.open("X", false, Some(2)).close_start().slot(2).end();
    d.end();
    d.end();
    let chunk = d.finish();
    let shape = read(&chunk, Role::Record).expect("shape");
    let a = utf16("a");
    let x = utf16("x");
    use BinXmlValue::NullType;
    assert_eq!(
        fill(&shape, &[string(&a), NullType, string(&x)]).expect("filled"),
        owned(&[("A", Str, "a"), ("X", Str, "x")])
    );
    // Either container with all its members left out would be `null`: left to `evtx`.
    assert!(fill(&shape, &[NullType, NullType, string(&x)]).is_err());
    assert!(fill(&shape, &[string(&a), NullType, NullType]).is_err());
}

/// The element tree of the definition at offset 0 of `chunk`.
fn root(chunk: &[u8]) -> Element {
    let start = DEFINITION_HEADER_SIZE;
    let end = start + definition_body(chunk, 0).expect("body").len();
    let mut reader = Reader {
        at: Cursor::new(chunk, start, end).expect("cursor"),
        outside: Vec::new(),
    };
    reader.fragment().expect("parsed")
}

#[test]
fn json_plans_decline_repeated_member_names() {
    // Two `Level` elements, which `evtx` writes as `Level` and `Level_1`.
    let mut d = Definition::new();
    d.open("Event", false, None).close_start();
    d.open("System", false, None).close_start();
    d.leaf("Level", 0).leaf("Level", 1);
    d.end().end();
    assert!(JsonPlan::record(&root(&d.finish())).is_none());
    // A `Data` named like a sibling element.
    let mut d = Definition::new();
    d.open("EventData", false, None).close_start();
    d.data("Binary", 0, None).leaf("Binary", 1);
    d.end();
    assert!(JsonPlan::nested(&root(&d.finish())).is_none());
    // Distinct names are written.
    let mut d = Definition::new();
    d.open("EventData", false, None).close_start();
    d.data("A", 0, None).leaf("Binary", 1);
    d.end();
    assert!(JsonPlan::nested(&root(&d.finish())).is_some());
}

#[test]
fn shapes_give_a_field_name_one_id_and_start_a_new_table_when_full() {
    let mut shapes = Shapes::default();
    let ids = |shape: &Shape| -> Vec<(String, u32)> {
        shape
            .fields
            .iter()
            .map(|f| (f.name.to_string(), f.id))
            .collect()
    };
    let alpha = with_name_outside("Alpha");
    let first = shapes.get(&alpha, 0, Role::Record).expect("shape");
    assert_eq!(ids(&first), [("Alpha".to_string(), 0)]);
    shapes.next_chunk();
    let beta = with_name_outside("Beta");
    let second = shapes.get(&beta, 0, Role::Record).expect("shape");
    assert_eq!(ids(&second), [("Beta".to_string(), 1)]);
    // Another definition with a field named `Alpha`: the same id.
    let mut nested = Definition::new();
    nested.open("EventData", false, None).close_start();
    nested.data("Beta", 0, None);
    nested.data("Alpha", 1, None);
    nested.end();
    shapes.next_chunk();
    let third = shapes
        .get(&nested.finish(), 0, Role::EventChild)
        .expect("shape");
    assert_eq!(
        ids(&third),
        [("Beta".to_string(), 1), ("Alpha".to_string(), 0)]
    );

    // Filled events carry the ids and their table.
    let mut buf = EventBuf::new();
    buf.name_table = shapes.names.table();
    third
        .fill(
            &subs(&[string(&utf16("b")), string(&utf16("a"))]),
            &mut buf,
            OWN_SLOTS,
            &mut (0..0),
            &mut |_, _| Err(Declined),
        )
        .expect("filled");
    let event = buf.event(b"");
    let filled: Vec<_> = event
        .fields_with_ids()
        .map(|(n, id, v)| format!("{n}#{id:?}={}", v.text()))
        .collect();
    assert_eq!(filled, ["Beta#Some(1)=b", "Alpha#Some(0)=a"]);
    assert_eq!(event.name_table(), shapes.names.table());

    // A full table is started again before a record, with every shape forgotten.
    let table = shapes.names.table();
    for n in 0.. {
        if shapes.names.is_full() {
            break;
        }
        shapes.names.id(&format!("name{n}"));
    }
    shapes.begin_record();
    assert_ne!(shapes.names.table(), table);
    let again = shapes.get(&beta, 0, Role::Record).expect("shape");
    assert!(!Arc::ptr_eq(&again, &second));
    assert_eq!(ids(&again), [("Beta".to_string(), 0)]);
}
