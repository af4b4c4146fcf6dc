//! An alert: one rule matching one event, with what the printers need copied out of the
//! reader's borrowed event.

use sigrun_logs::Event;
use sigrun_pipeline::{FieldTarget, Pipeline};
use std::path::Path;
use std::sync::Arc;

pub struct Alert {
    /// Index into the hunt's rule list.
    pub rule: usize,
    /// The pipeline source the rule matched through.
    pub source: String,
    pub file: Arc<Path>,
    pub location: String,
    pub timestamp: String,
    pub computer: String,
    pub channel: String,
    pub event_id: Option<u32>,
    pub record_id: Option<u64>,
    /// `(name, value)` of the rule's key fields present in the event.
    pub key_fields: Vec<(String, String)>,
    /// The whole event as compact JSON.
    pub event_json: String,
}

impl Alert {
    /// Roughly the bytes the alert holds.
    pub fn size(&self) -> usize {
        std::mem::size_of::<Alert>()
            + self.event_json.len()
            + self.location.len()
            + self
                .key_fields
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>()
    }

    pub fn new(
        rule: usize,
        source: &str,
        file: &Arc<Path>,
        event: &Event<'_>,
        fields: &[String],
        pipeline: &Pipeline,
    ) -> Alert {
        let key_fields = fields
            .iter()
            .filter_map(|sigma| {
                let value = event_value(event, sigma, source, pipeline)?;
                Some((sigma.clone(), value))
            })
            .collect();
        Alert {
            rule,
            source: source.to_string(),
            file: Arc::clone(file),
            location: event.location().to_string(),
            timestamp: event.timestamp().unwrap_or_default().to_string(),
            computer: event.computer().unwrap_or_default().to_string(),
            channel: event.channel().unwrap_or_default().to_string(),
            event_id: event.event_id(),
            record_id: event.record_id(),
            key_fields,
            event_json: compact_json(event.raw_json()),
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
fn compact_json(raw: &[u8]) -> String {
    // The reader has parsed the event already: text without line breaks (every EVTX record,
    // every JSON Lines event) is used as it is, which saves a parse per alert.
    if memchr::memchr2(b'\n', b'\r', raw).is_none()
        && let Ok(text) = std::str::from_utf8(raw)
    {
        return text.trim().to_string();
    }
    match serde_json::from_slice::<serde_json::Value>(raw) {
        Ok(value) => value.to_string(),
        Err(_) => serde_json::Value::String(String::from_utf8_lossy(raw).into_owned()).to_string(),
    }
}
