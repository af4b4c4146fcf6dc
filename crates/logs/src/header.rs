//! Fill an event's normalized header from its flattened fields, by layout.
//!
//! The header is what the engine dispatches on (EventID, channel) and what printers show
//! (computer, time, record ID), so every layout fills the same slots from its own names.

use std::ops::Range;

use crate::Layout;
use crate::event::{Entry, EventBuf, Header, NO_NAME_ID, Span, name_key};

#[derive(Clone, Copy)]
enum Slot {
    EventId,
    RecordId,
    Channel,
    Provider,
    Computer,
    Timestamp,
}

const SLOTS: usize = 6;

/// Which slot a field fills in `layout`, and its rank there (lower wins; the first field of
/// the best rank wins).
fn slot_of(layout: Layout, name: &str) -> Option<(Slot, u8)> {
    use Slot::*;
    Some(match layout {
        Layout::WindowsNested => match name {
            "EventID" => (EventId, 0),
            "EventRecordID" => (RecordId, 0),
            "Channel" => (Channel, 0),
            "Provider_Name" => (Provider, 0),
            "Computer" => (Computer, 0),
            "TimeCreated_SystemTime" => (Timestamp, 0),
            _ => return None,
        },
        Layout::WindowsFlat => match name {
            "EventID" => (EventId, 0),
            "RecordNumber" => (RecordId, 0),
            "EventRecordID" => (RecordId, 1),
            "Channel" => (Channel, 0),
            "Provider_Name" => (Provider, 0),
            "SourceName" => (Provider, 1),
            "ProviderName" => (Provider, 2),
            "Computer" => (Computer, 0),
            "Hostname" => (Computer, 1),
            "TimeCreated" => (Timestamp, 0),
            "EventTime" => (Timestamp, 1),
            "@timestamp" => (Timestamp, 2),
            _ => return None,
        },
        Layout::Ecs => match name {
            "winlog.event_id" => (EventId, 0),
            "event.code" => (EventId, 1),
            "winlog.record_id" => (RecordId, 0),
            "winlog.channel" => (Channel, 0),
            "winlog.provider_name" => (Provider, 0),
            "winlog.computer_name" => (Computer, 0),
            "host.name" => (Computer, 1),
            "host.hostname" => (Computer, 2),
            "@timestamp" => (Timestamp, 0),
            _ => return None,
        },
    })
}

/// Fill `buf.header` for `buf.layout`. In the nested layout only the `System` entries
/// (`system`) count. In the flat layout, `Provider_Name` and `Computer` entries are added at
/// the end, sharing the envelope's value, when the event has no field of that name, so that
/// rules written against EVTX names match NXLog events too.
pub(crate) fn fill(buf: &mut EventBuf, system: Range<usize>) {
    let layout = buf.layout;
    let range = if layout == Layout::WindowsNested {
        system
    } else {
        0..buf.entries.len()
    };
    let mut best: [Option<(u8, usize)>; SLOTS] = [None; SLOTS];
    for index in range {
        let entry = buf.entries[index];
        if let Some((slot, rank)) = slot_of(layout, entry.name.get(&buf.text)) {
            let best = &mut best[slot as usize];
            if best.is_none_or(|(r, _)| rank < r) {
                *best = Some((rank, index));
            }
        }
    }
    let entry = |slot: Slot| best[slot as usize].map(|(_, index)| buf.entries[index]);
    let text = |entry: Option<Entry>| entry.map(|e| e.value);
    let number = |entry: Option<Entry>| {
        entry.and_then(|e| e.value.get(&buf.text).trim().parse::<u64>().ok())
    };
    buf.header = Header {
        event_id: number(entry(Slot::EventId)).and_then(|id| u32::try_from(id).ok()),
        record_id: number(entry(Slot::RecordId)),
        channel: text(entry(Slot::Channel)),
        provider: text(entry(Slot::Provider)),
        computer: text(entry(Slot::Computer)),
        timestamp: text(entry(Slot::Timestamp)),
    };
    let aliases = [
        (entry(Slot::Provider), "Provider_Name"),
        (entry(Slot::Computer), "Computer"),
    ];
    if layout == Layout::WindowsFlat {
        for (source, name) in aliases {
            if let Some(source) = source
                && source.name.get(&buf.text) != name
            {
                add_alias(buf, name, source.value, source.kind);
            }
        }
    }
}

/// Add the entry `name` whose value is the span `value` of another entry.
fn add_alias(buf: &mut EventBuf, name: &str, value: Span, kind: crate::ValueKind) {
    let name_span = buf.push_text(name);
    buf.entries.push(Entry {
        name_key: name_key(name),
        name: name_span,
        name_id: NO_NAME_ID,
        value,
        kind,
        slot: crate::event::NO_SLOT,
    });
}
