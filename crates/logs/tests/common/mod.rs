//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::ops::ControlFlow;
use std::path::PathBuf;

use sigrun_logs::{
    Event, Layout, LayoutChoice, Location, ReadProblem, ReadScratch, ValueKind, read_json_bytes,
};

/// The shared folder (`SIGRUN_SHARED`, else `<workspace>/../shared`), or `None` after printing
/// why the calling test is skipped.
pub fn shared() -> Option<PathBuf> {
    let path = std::env::var_os("SIGRUN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    if path.is_dir() {
        Some(path)
    } else {
        println!("skipped: shared folder {} not found", path.display());
        None
    }
}

/// An event copied out of the reader's buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct Owned {
    pub layout: Layout,
    pub location: Location,
    pub event_id: Option<u32>,
    pub record_id: Option<u64>,
    pub channel: Option<String>,
    pub provider: Option<String>,
    pub computer: Option<String>,
    pub timestamp: Option<String>,
    pub fields: Vec<(String, ValueKind, String)>,
    pub raw: String,
    pub recovered: bool,
}

impl Owned {
    /// Copies the event, checking on the way that every name and value is a slice of
    /// [`Event::text`] (the matcher's keyword gate searches that text in place of the values).
    pub fn of(event: &Event<'_>) -> Owned {
        let text = event.text().as_bytes().as_ptr_range();
        let within = |part: &str| {
            let part = part.as_bytes().as_ptr_range();
            text.start <= part.start && part.end <= text.end
        };
        for (name, value) in event.fields() {
            assert!(within(name), "{name:?} is not in the event's text");
            let value = value.text();
            assert!(
                value.is_empty() || within(value),
                "{name}={value:?} is not in the event's text"
            );
        }
        Owned {
            layout: event.layout(),
            location: event.location(),
            event_id: event.event_id(),
            record_id: event.record_id(),
            channel: event.channel().map(str::to_string),
            provider: event.provider().map(str::to_string),
            computer: event.computer().map(str::to_string),
            timestamp: event.timestamp().map(str::to_string),
            fields: event
                .fields()
                .map(|(name, value)| (name.to_string(), value.kind(), value.text().to_string()))
                .collect(),
            raw: String::from_utf8_lossy(event.raw_json()).into_owned(),
            recovered: event.is_recovered(),
        }
    }

    /// The fields as `name=text` strings.
    pub fn pairs(&self) -> Vec<String> {
        self.fields
            .iter()
            .map(|(n, _, t)| format!("{n}={t}"))
            .collect()
    }
}

/// Read JSON text; return the events and the problems.
pub fn read(text: &[u8], layout: LayoutChoice) -> (Vec<Owned>, Vec<ReadProblem>) {
    let mut events = Vec::new();
    let mut problems = Vec::new();
    let mut scratch = ReadScratch::new();
    let stats = read_json_bytes(
        text,
        layout,
        &mut scratch,
        |event| {
            events.push(Owned::of(&event));
            ControlFlow::Continue(())
        },
        |problem| problems.push(problem),
    );
    assert_eq!(stats.events, events.len() as u64);
    assert_eq!(stats.problems, problems.len() as u64);
    (events, problems)
}

/// Problems as `location: message` strings.
pub fn describe(problems: &[ReadProblem]) -> Vec<String> {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.location, p.kind))
        .collect()
}
