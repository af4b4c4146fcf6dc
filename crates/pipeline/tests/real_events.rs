//! The `windows` pipeline's conditions against real NXLog events (Security-Datasets key
//! events in `../shared`): each source selects exactly the events it should. The matcher
//! here follows the documented semantics (integers numerically, strings ignoring case) and
//! is deliberately naive; the engine has its own.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use sigrun_pipeline::{ConditionSet, ConditionValue, Pipeline};

/// A top-level JSON value as text; objects and arrays are skipped (`None`).
struct EventValue(Option<String>);

impl<'de> Deserialize<'de> for EventValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = EventValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EventValue, E> {
                Ok(EventValue(Some(v.to_owned())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<EventValue, E> {
                Ok(EventValue(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<EventValue, E> {
                Ok(EventValue(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<EventValue, E> {
                Ok(EventValue(Some(v.to_string())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<EventValue, E> {
                Ok(EventValue(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<EventValue, E> {
                Ok(EventValue(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<EventValue, E> {
                Ok(EventValue(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EventValue, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(EventValue(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventValue, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(EventValue(None))
            }
        }
        deserializer.deserialize_any(ValueVisitor)
    }
}

type Event = BTreeMap<String, EventValue>;

fn satisfies(event: &Event, set: &ConditionSet) -> bool {
    set.entries().iter().all(|condition| {
        let Some(EventValue(Some(actual))) = event.get(condition.field()) else {
            return false;
        };
        condition.values().iter().any(|expected| match expected {
            ConditionValue::Integer(number) => actual.parse::<i64>() == Ok(*number),
            ConditionValue::Text(text) => actual.eq_ignore_ascii_case(text),
        })
    })
}

fn excerpts_dir() -> Option<PathBuf> {
    let shared = match std::env::var_os("SIGRUN_SHARED") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    let dir = shared.join("corpus/security-datasets/excerpts");
    dir.is_dir().then_some(dir)
}

#[test]
fn windows_sources_select_the_expected_nxlog_events() {
    let Some(dir) = excerpts_dir() else {
        println!("skipped: shared data not found (set SIGRUN_SHARED)");
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("readable excerpts directory")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    files.sort();

    let mut events: Vec<Event> = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable excerpt");
        for (number, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            // JSON is YAML, so the crate's YAML parser reads it.
            let event: Event = serde_saphyr::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", file.display(), number + 1));
            events.push(event);
        }
    }
    assert_eq!(events.len(), 67, "the excerpts hold 67 events");

    let windows = Pipeline::builtin("windows").expect("built-in");
    let mut selected: BTreeMap<&str, usize> = BTreeMap::new();
    for source in windows.sources() {
        let count = events
            .iter()
            .filter(|event| source.conditions().iter().any(|set| satisfies(event, set)))
            .count();
        if count > 0 {
            selected.insert(source.name(), count);
        }
    }
    let expected = BTreeMap::from([
        ("sysmon_process_creation", 18),
        ("sysmon_file_event", 4),
        ("sysmon_process_access", 4),
        ("sysmon_wmi_event", 9),
        ("sysmon", 35),
        ("security_4688", 11),
        ("security", 21),
        ("powershell_script", 1),
        ("powershell", 1),
        ("powershell_classic_start", 1),
        ("powershell_classic", 1),
        ("taskscheduler", 3),
        ("wmi", 6),
        ("windows_all_events", 67),
    ]);
    assert_eq!(selected, expected);
}
