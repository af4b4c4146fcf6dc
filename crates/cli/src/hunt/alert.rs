//! An alert: one rule matching one event, with what the printers need copied out of the
//! reader's borrowed event.

use sigrun_logs::{Event, Location};
use sigrun_pipeline::{FieldTarget, Pipeline};
use std::path::Path;
use std::sync::Arc;

/// One rule matching one event. The event's part is shared by all the alerts of the event.
pub struct Alert<'e> {
    /// Index into the hunt's rule list.
    pub rule: usize,
    /// The pipeline source the rule matched through.
    pub source: &'e str,
    pub file: Arc<Path>,
    pub event: Arc<AlertEvent>,
    /// `(name, value)` of the rule's key fields present in the event; empty when the output
    /// does not show them ([`KeyFields::Skip`]).
    pub key_fields: Vec<(String, String)>,
}

/// Whether alerts carry their rule's key fields: the table and CSV show them, JSON Lines
/// carries the whole event instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFields {
    Collect,
    Skip,
}

impl<'e> Alert<'e> {
    /// Roughly the bytes the alert holds, without its event (see [`AlertEvent::size`]).
    pub fn size(&self) -> usize {
        std::mem::size_of::<Alert>()
            + self
                .key_fields
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>()
    }

    pub fn new(
        rule: usize,
        source: &'e str,
        file: &Arc<Path>,
        event: &Event<'_>,
        shared: &Arc<AlertEvent>,
        fields: &[String],
        pipeline: &Pipeline,
    ) -> Alert<'e> {
        let key_fields = fields
            .iter()
            .filter_map(|sigma| {
                let value = event_value(event, sigma, source, pipeline)?;
                Some((sigma.clone(), value))
            })
            .collect();
        Alert {
            rule,
            source,
            file: Arc::clone(file),
            event: Arc::clone(shared),
            key_fields,
        }
    }
}

/// What the printers need of an event, copied out of the reader's borrowed event once for
/// all of its alerts: its head's texts and its whole JSON, in one string.
pub struct AlertEvent {
    pub location: Location,
    pub event_id: Option<u32>,
    pub record_id: Option<u64>,
    /// The timestamp, computer, channel and JSON, one after the other.
    text: String,
    /// Where the computer, channel and JSON start in `text`.
    starts: [usize; 3],
}

impl AlertEvent {
    pub fn new(event: &Event<'_>) -> AlertEvent {
        let mut text = String::new();
        text.push_str(event.timestamp().unwrap_or_default());
        let computer = text.len();
        text.push_str(event.computer().unwrap_or_default());
        let channel = text.len();
        text.push_str(event.channel().unwrap_or_default());
        let json = text.len();
        push_compact_json(event.raw_json(), &mut text);
        AlertEvent {
            location: event.location(),
            event_id: event.event_id(),
            record_id: event.record_id(),
            text,
            starts: [computer, channel, json],
        }
    }

    pub fn timestamp(&self) -> &str {
        &self.text[..self.starts[0]]
    }

    pub fn computer(&self) -> &str {
        &self.text[self.starts[0]..self.starts[1]]
    }

    pub fn channel(&self) -> &str {
        &self.text[self.starts[1]..self.starts[2]]
    }

    /// The whole event as compact JSON.
    pub fn json(&self) -> &str {
        &self.text[self.starts[2]..]
    }

    /// Roughly the bytes the event holds.
    pub fn size(&self) -> usize {
        std::mem::size_of::<AlertEvent>() + self.text.len()
    }
}

#[cfg(test)]
impl AlertEvent {
    /// An event from its parts, for the printers' tests.
    pub fn from_parts(
        location: Location,
        event_id: Option<u32>,
        record_id: Option<u64>,
        [timestamp, computer, channel, json]: [&str; 4],
    ) -> AlertEvent {
        let computer_start = timestamp.len();
        let channel_start = computer_start + computer.len();
        AlertEvent {
            location,
            event_id,
            record_id,
            text: [timestamp, computer, channel, json].concat(),
            starts: [computer_start, channel_start, channel_start + channel.len()],
        }
    }
}

/// The first value of a Sigma field in the event, through the pipeline source's field names.
fn event_value(
    event: &Event<'_>,
    sigma: &str,
    source: &str,
    pipeline: &Pipeline,
) -> Option<String> {
    let variant = pipeline.sources().find(|v| v.name() == source);
    let value = match variant.map(|v| v.field(sigma)) {
        Some(FieldTarget::Names(names)) => names.iter().find_map(|name| event.first(name)),
        Some(FieldTarget::Unavailable) => return None,
        _ => event.first(sigma),
    };
    value.map(|value| value.text().to_string())
}

/// The event's JSON on one line (JSON input may be pretty-printed; JSON Lines output must
/// not contain line breaks). Text that is not JSON is kept as a JSON string.
fn push_compact_json(raw: &[u8], out: &mut String) {
    // The reader has parsed the event already: text without line breaks (every EVTX record,
    // every JSON Lines event) is used as it is, which saves a parse per event.
    if memchr::memchr2(b'\n', b'\r', raw).is_none()
        && let Ok(text) = std::str::from_utf8(raw)
    {
        out.push_str(text.trim());
        return;
    }
    let value = serde_json::from_slice::<serde_json::Value>(raw)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(raw).into_owned()));
    out.push_str(&value.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigrun_logs::{LayoutChoice, ReadScratch, read_json_bytes};
    use std::ops::ControlFlow;

    /// The events of JSON text, each as its alerts would show it.
    fn alert_events(json: &str) -> Vec<AlertEvent> {
        let mut events = Vec::new();
        read_json_bytes(
            json.as_bytes(),
            LayoutChoice::Auto,
            &mut ReadScratch::new(),
            |event| {
                events.push(AlertEvent::new(&event));
                ControlFlow::Continue(())
            },
            |problem| panic!("{problem}"),
        );
        events
    }

    #[test]
    fn an_alert_event_keeps_the_head_and_the_whole_event_on_one_line() {
        let pretty = r##"{
  "Event": {
    "System": {
      "EventID": 5861, "EventRecordID": 42, "Computer": "WS01",
      "Channel": "Microsoft-Windows-WMI-Activity/Operational",
      "TimeCreated": {"#attributes": {"SystemTime": "2026-11-30T10:00:00.000Z"}}
    },
    "UserData": {"Operation_ESStoConsumerBinding": {"CONSUMER": "x \"y\""}}
  }
}"##;
        let [event] = <[AlertEvent; 1]>::try_from(alert_events(pretty))
            .ok()
            .expect("one");
        assert_eq!(event.timestamp(), "2026-11-30T10:00:00.000Z");
        assert_eq!(event.computer(), "WS01");
        assert_eq!(
            event.channel(),
            "Microsoft-Windows-WMI-Activity/Operational"
        );
        assert_eq!((event.event_id, event.record_id), (Some(5861), Some(42)));
        assert_eq!(event.location.to_string(), "line 1 (byte 0)");
        let compact: serde_json::Value = serde_json::from_str(pretty).expect("json");
        assert_eq!(event.json(), compact.to_string());
        // JSON Lines text is taken as it is; a missing head is empty.
        let [line] = <[AlertEvent; 1]>::try_from(alert_events("{\"a\": 1}\n"))
            .ok()
            .expect("one");
        assert_eq!(
            [
                line.timestamp(),
                line.computer(),
                line.channel(),
                line.json()
            ],
            ["", "", "", "{\"a\": 1}"]
        );
        assert_eq!((line.event_id, line.record_id), (None, None));
    }
}
