//! A template instance's substitution values, read straight from the record's bytes.
//!
//! `EvtxRecord::template_instances` walks the record's token stream and decodes every value
//! into `evtx`'s value type (scanning each string for its NUL on the way); that was a fifth of
//! reading a record, on top of the same decoding `evtx` had already done while building the
//! record. The common layout is simple enough to read here: a fragment header, one template
//! instance (its definition inline or not), the value descriptors, the values, the end of the
//! stream (or of the bytes). Anything else (other tokens, a descriptor whose size is not its type's size,
//! arrays other than NUL-ended strings, ANSI strings, system times, handles) gives `None`, and the caller asks `evtx` as
//! before; so a value read here is always one `evtx` reads the same way, which
//! `tests/evtx_direct.rs` and the `logs_evtx` fuzz target check against `evtx`'s rendering.

use super::Cursor;
use evtx::binxml::value_variant::BinXmlValue;
use evtx::binxml::value_variant::FileTime;

/// A substitution value, as the shape writer takes it.
#[derive(Debug, Clone)]
pub(crate) enum Sub<'a> {
    /// As `evtx` decodes it.
    Value(BinXmlValue<'a>),
    /// A string's UTF-16LE bytes, not yet cut at their first NUL (the writer stops there, as
    /// `evtx` does when it reads the value): one pass over the text instead of two.
    Utf16(&'a [u8]),
    /// A SID's bytes (`evtx`'s SID value cannot be made outside it).
    Sid(&'a [u8]),
    /// A string array's UTF-16LE bytes: strings one after another, each ended by a NUL (the
    /// last one too; `evtx` would read past the value for one without).
    Utf16Array(&'a [u8]),
}

impl Sub<'_> {
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Sub::Value(BinXmlValue::NullType))
    }
}

/// The strings of a string array's bytes (see [`Sub::Utf16Array`]), without their NULs.
pub(crate) fn array_items(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    (0..bytes.len() / 2).filter_map(move |unit| {
        let at = unit * 2;
        if bytes[at] != 0 || bytes[at + 1] != 0 {
            return None;
        }
        let item = &bytes[start..at];
        start = at + 2;
        Some(item)
    })
}

/// One template instance: where its definition is, and its values.
#[derive(Debug)]
pub(crate) struct Instance<'a> {
    pub(crate) def_offset: u32,
    pub(crate) values: Vec<Sub<'a>>,
}

/// Token of a fragment header, a template instance and the end of a stream.
const FRAGMENT_HEADER: u8 = 0x0f;
const TEMPLATE_INSTANCE: u8 = 0x0c;
const END_OF_STREAM: u8 = 0x00;

/// Reads the one template instance that the BinXML stream at `chunk[start..start + len]` is,
/// or `None` when the stream is anything else (see the module docs).
pub(crate) fn read_instance(chunk: &[u8], start: usize, len: usize) -> Option<Instance<'_>> {
    let mut values = Vec::new();
    let def_offset = read_instance_into(chunk, start, len, &mut values)?;
    Some(Instance { def_offset, values })
}

/// [`read_instance`] into `values` (emptied first), which a reader reuses for every record;
/// returns the definition's offset.
pub(crate) fn read_instance_into<'c>(
    chunk: &'c [u8],
    start: usize,
    len: usize,
    values: &mut Vec<Sub<'c>>,
) -> Option<u32> {
    values.clear();
    let mut at = Cursor::new(chunk, start, start.checked_add(len)?)?;
    if at.peek()? == FRAGMENT_HEADER {
        at.take(4)?;
    }
    if at.u8()? != TEMPLATE_INSTANCE {
        return None;
    }
    let _unknown = at.u8()?;
    let _template_id = at.u32()?;
    let def_offset = at.u32()?;
    // A definition written inline (its first use in the chunk) is skipped.
    if at.pos == def_offset as usize {
        let _next = at.u32()?;
        let _guid = at.take(16)?;
        let size = at.u32()? as usize;
        at.take(size)?;
    }
    let count = at.u32()? as usize;
    let descriptors = at.take(count.checked_mul(4)?)?;
    values.reserve(count);
    for descriptor in descriptors.chunks_exact(4) {
        let size = usize::from(u16::from_le_bytes([descriptor[0], descriptor[1]]));
        let bytes = at.take(size)?;
        values.push(value(descriptor[2], bytes)?);
    }
    // Nothing may follow but the end of the stream (after which `evtx` reads nothing).
    match at.rest() {
        [] | [END_OF_STREAM, ..] => Some(def_offset),
        _ => None,
    }
}

/// `values`, emptied, as a vector of values borrowing from other bytes: its memory, kept by a
/// reader from record to record (the standard library collects an empty vector's iterator into
/// the same allocation when the items have the same layout).
pub(crate) fn recycle<'a, 'b>(mut values: Vec<Sub<'a>>) -> Vec<Sub<'b>> {
    values.clear();
    values.into_iter().map(|_| unreachable!("empty")).collect()
}

/// The value of type `kind` held in exactly `bytes`, as `evtx` decodes it; `None` for types
/// left to `evtx` and for sizes that are not the type's. Inlined into its one caller: returned
/// through memory, each value was written in parts and read back whole, a stalled load that
/// was most of the time `read_instance` took.
#[inline(always)]
fn value(kind: u8, bytes: &[u8]) -> Option<Sub<'_>> {
    use BinXmlValue as V;
    let value = match kind {
        0x00 => V::NullType,
        // An odd size is an error in `evtx`.
        0x01 if bytes.len().is_multiple_of(2) => return Some(Sub::Utf16(bytes)),
        0x03 => V::Int8Type(i8::from_le_bytes(fixed(bytes)?)),
        0x04 => V::UInt8Type(u8::from_le_bytes(fixed(bytes)?)),
        0x05 => V::Int16Type(i16::from_le_bytes(fixed(bytes)?)),
        0x06 => V::UInt16Type(u16::from_le_bytes(fixed(bytes)?)),
        0x07 => V::Int32Type(i32::from_le_bytes(fixed(bytes)?)),
        0x08 => V::UInt32Type(u32::from_le_bytes(fixed(bytes)?)),
        0x09 => V::Int64Type(i64::from_le_bytes(fixed(bytes)?)),
        0x0a => V::UInt64Type(u64::from_le_bytes(fixed(bytes)?)),
        0x0b => V::Real32Type(f32::from_le_bytes(fixed(bytes)?)),
        0x0c => V::Real64Type(f64::from_le_bytes(fixed(bytes)?)),
        // Windows writes bitmasks into some bool slots: `evtx` keeps those as integers.
        0x0d => match i32::from_le_bytes(fixed(bytes)?) {
            0 => V::BoolType(false),
            1 => V::BoolType(true),
            raw => V::Int32Type(raw),
        },
        0x0e => V::BinaryType(bytes),
        0x0f => V::GuidType(fixed(bytes)?),
        0x10 => match bytes.len() {
            4 => V::HexInt32Type(u32::from_le_bytes(fixed(bytes)?)),
            _ => V::HexInt64Type(u64::from_le_bytes(fixed(bytes)?)),
        },
        0x11 => V::FileTimeType(FileTime(u64::from_le_bytes(fixed(bytes)?))),
        // A SID is as long as its sub-authority count says.
        0x13 if bytes.len() >= 8 && bytes.len() == 8 + usize::from(bytes[1]) * 4 => {
            return Some(Sub::Sid(bytes));
        }
        0x14 => V::HexInt32Type(u32::from_le_bytes(fixed(bytes)?)),
        0x15 => V::HexInt64Type(u64::from_le_bytes(fixed(bytes)?)),
        0x21 => V::BinXmlType(bytes),
        0x81 if bytes.len().is_multiple_of(2) && bytes.ends_with(&[0, 0]) => {
            return Some(Sub::Utf16Array(bytes));
        }
        _ => return None,
    };
    Some(Sub::Value(value))
}

/// `bytes` as an array of exactly `N` bytes.
fn fixed<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream: fragment header, template instance (definition at `def_offset`, written inline
    /// when `inline`), the descriptors and values, then `tail`.
    fn stream(def_offset: u32, inline: bool, values: &[(u8, &[u8])], tail: &[u8]) -> Vec<u8> {
        let mut out = vec![0x0f, 1, 1, 0, TEMPLATE_INSTANCE, 1];
        out.extend(7u32.to_le_bytes());
        out.extend(def_offset.to_le_bytes());
        if inline {
            out.extend(0u32.to_le_bytes());
            out.extend([0xab; 16]);
            out.extend(3u32.to_le_bytes());
            out.extend([0xcd; 3]);
        }
        out.extend((values.len() as u32).to_le_bytes());
        for (kind, bytes) in values {
            out.extend((bytes.len() as u16).to_le_bytes());
            out.extend([*kind, 0]);
        }
        for (_, bytes) in values {
            out.extend(*bytes);
        }
        out.extend(tail);
        out
    }

    fn utf16(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn read(bytes: &[u8]) -> Option<Instance<'_>> {
        read_instance(bytes, 0, bytes.len())
    }

    #[test]
    fn values_are_read_as_evtx_decodes_them() {
        let text = utf16("cmd.exe\0junk");
        let sid = [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0];
        let values: &[(u8, &[u8])] = &[
            (0x00, &[9, 9]),
            (0x01, &text),
            (0x04, &[200]),
            (0x05, &(-2i16).to_le_bytes()),
            (0x08, &4688u32.to_le_bytes()),
            (0x0a, &u64::MAX.to_le_bytes()),
            (0x0d, &1i32.to_le_bytes()),
            (0x0d, &6i32.to_le_bytes()),
            (0x0f, &[0x11; 16]),
            (0x10, &8u64.to_le_bytes()),
            (0x11, &132_000_000_000_000_000u64.to_le_bytes()),
            (0x13, &sid),
            (0x14, &0x10u32.to_le_bytes()),
            (0x21, &[0x0f, 1, 1, 0]),
            (0x0e, &[1, 2, 3]),
        ];
        let bytes = stream(1000, false, values, &[END_OF_STREAM]);
        let instance = read(&bytes).expect("read");
        assert_eq!(instance.def_offset, 1000);
        use BinXmlValue as V;
        let expected = [
            V::NullType,
            V::UInt8Type(200),
            V::Int16Type(-2),
            V::UInt32Type(4688),
            V::UInt64Type(u64::MAX),
            V::BoolType(true),
            V::Int32Type(6),
            V::GuidType([0x11; 16]),
            V::HexInt64Type(8),
            V::FileTimeType(FileTime(132_000_000_000_000_000)),
        ];
        let mut got = instance
            .values
            .iter()
            .filter(|v| !matches!(v, Sub::Utf16(_)));
        for (got, want) in got.by_ref().zip(&expected) {
            assert!(
                matches!(got, Sub::Value(v) if v == want),
                "{got:?} != {want:?}"
            );
        }
        assert!(matches!(instance.values[11], Sub::Sid(s) if s == sid));
        assert!(matches!(
            instance.values[12],
            Sub::Value(V::HexInt32Type(0x10))
        ));
        assert!(matches!(
            instance.values[13],
            Sub::Value(V::BinXmlType([0x0f, 1, 1, 0]))
        ));
        assert!(matches!(
            instance.values[14],
            Sub::Value(V::BinaryType([1, 2, 3]))
        ));
        assert_eq!(instance.values.len(), values.len());
        // The string is kept whole; the writer stops at its NUL.
        assert!(matches!(instance.values[1], Sub::Utf16(s) if s == text));
        let mut written = String::new();
        assert_eq!(
            super::super::write_value(&instance.values[1], &mut written).ok(),
            Some(crate::ValueKind::String)
        );
        assert_eq!(written, "cmd.exe");
    }

    #[test]
    fn a_string_is_empty_when_evtx_would_read_it_as_empty() {
        // `evtx` cuts at the first NUL: a string that starts with one is empty.
        let is_empty = |bytes: &[u8]| super::super::is_empty(&Sub::Utf16(bytes));
        assert!(is_empty(&[]));
        assert!(is_empty(&[0, 0]));
        assert!(is_empty(&[0, 0, 0x41, 0]));
        assert!(!is_empty(&[0x41, 0]));
        assert!(!is_empty(&[0x41, 0, 0, 0]));
        // Values of other kinds are never empty strings.
        assert!(!super::super::is_empty(&Sub::Sid(&[
            1, 0, 0, 0, 0, 0, 0, 5
        ])));
        assert!(super::super::is_empty(&Sub::Value(BinXmlValue::NullType)));
    }

    #[test]
    fn an_inline_definition_is_skipped_and_the_stream_may_end_anyhow_after_its_end() {
        // The definition starts right after the instance's own fields: offset 4 + 10.
        let values: &[(u8, &[u8])] = &[(0x06, &[5, 0])];
        for tail in [&[][..], &[END_OF_STREAM], &[END_OF_STREAM, 0x2a, 0, 0]] {
            let bytes = stream(14, true, values, tail);
            let instance = read(&bytes).expect("read");
            assert_eq!(instance.def_offset, 14);
            assert!(matches!(
                instance.values[..],
                [Sub::Value(BinXmlValue::UInt16Type(5))]
            ));
        }
        // Not inline: the same bytes would be read as values.
        let bytes = stream(15, true, values, &[]);
        assert!(read(&bytes).is_none());
    }

    #[test]
    fn a_string_array_is_kept_whole_when_its_last_string_is_ended() {
        let array = utf16("a\0\0bc\0");
        let values: &[(u8, &[u8])] = &[(0x81, &array)];
        let bytes = stream(1000, false, values, &[]);
        let instance = read(&bytes).expect("read");
        let [Sub::Utf16Array(kept)] = instance.values[..] else {
            panic!("{:?}", instance.values);
        };
        assert_eq!(kept, &array[..]);
        let items: Vec<&[u8]> = array_items(kept).collect();
        assert_eq!(items, [&utf16("a")[..], &[], &utf16("bc")[..]]);
        // A last string without its NUL (`evtx` would read on past the value).
        let cut = utf16("a\0b");
        let values: &[(u8, &[u8])] = &[(0x81, &cut)];
        assert!(read(&stream(1000, false, values, &[])).is_none());
    }

    #[test]
    fn anything_else_is_left_to_evtx() {
        let ok: &[(u8, &[u8])] = &[(0x08, &[1, 0, 0, 0])];
        assert!(read(&stream(1000, false, ok, &[END_OF_STREAM])).is_some());
        // Another token after the instance.
        assert!(read(&stream(1000, false, ok, &[0x01, 0x41])).is_none());
        // A size that is not the type's size, an odd string, a SID of the wrong length.
        for (kind, bytes) in [
            (0x08u8, &[1u8, 0, 0, 0, 0, 0, 0, 0][..]),
            (0x08, &[1, 0]),
            (0x01, &[0x41, 0, 0x42]),
            (0x13, &[1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0]),
            (0x10, &[1, 2]),
        ] {
            let values: &[(u8, &[u8])] = &[(kind, bytes)];
            assert!(
                read(&stream(1000, false, values, &[])).is_none(),
                "{kind:#x}"
            );
        }
        // Types left to evtx: ANSI strings, system times, arrays, unknown ones.
        for kind in [0x02u8, 0x12, 0x20, 0x81, 0x88, 0x16, 0xff] {
            let values: &[(u8, &[u8])] = &[(kind, &[0x41, 0])];
            assert!(
                read(&stream(1000, false, values, &[])).is_none(),
                "{kind:#x}"
            );
        }
        // Not a template instance, or cut short.
        assert!(read(&[0x0f, 1, 1, 0, 0x01]).is_none());
        let bytes = stream(1000, false, ok, &[]);
        for len in 0..bytes.len() {
            assert!(read_instance(&bytes, 0, len).is_none(), "{len}");
        }
        assert!(read_instance(&bytes, 0, bytes.len() + 1).is_none());
    }
}
