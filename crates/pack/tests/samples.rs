//! `samples/wmi-persistence.jsonl` at the workspace root: the synthetic log that
//! `sigrun hunt samples/` runs the pack over. These checks keep it readable by the nested
//! (evtx_dump) JSON reader and make sure it gives every rule of the pack events of its log
//! source. Which events each rule matches is listed in `samples/README.md`.

mod common;

use std::collections::BTreeMap;

use common::{belongs_to, only_rule, parse_embedded, pipeline_logsource, workspace_dir};
use serde_json::Value;
use sigrun_pipeline::{Pipeline, Resolution};

const SAMPLE: &str = "samples/wmi-persistence.jsonl";

fn read_sample() -> Option<Vec<Value>> {
    let path = workspace_dir().join(SAMPLE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        println!(
            "skipped: {} is absent (not a workspace checkout)",
            path.display()
        );
        return None;
    };
    Some(
        text.lines()
            .enumerate()
            .map(|(i, line)| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{SAMPLE}:{}: invalid JSON: {e}", i + 1))
            })
            .collect(),
    )
}

fn text<'a>(event: &'a Value, pointer: &str) -> &'a str {
    event
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} missing in {event}"))
}

#[test]
fn every_event_is_a_complete_nested_windows_event_in_time_order() {
    let Some(events) = read_sample() else { return };
    assert_eq!(events.len(), 50);
    let mut last_time = "";
    let mut last_record: BTreeMap<&str, u64> = BTreeMap::new();
    for (i, event) in events.iter().enumerate() {
        let line = i + 1;
        text(event, "/Event/System/Provider/#attributes/Name");
        assert_eq!(
            text(event, "/Event/System/Computer"),
            "WS042.corp.example",
            "line {line}"
        );
        let channel = text(event, "/Event/System/Channel");
        let time = text(event, "/Event/System/TimeCreated/#attributes/SystemTime");
        assert!(
            time >= last_time && time.starts_with("2026-11-20T") && time.ends_with('Z'),
            "line {line}: {time}"
        );
        last_time = time;
        let record = event
            .pointer("/Event/System/EventRecordID")
            .and_then(Value::as_u64)
            .expect("EventRecordID");
        let previous = last_record.insert(channel, record);
        assert!(
            previous.is_none_or(|p| p < record),
            "line {line}: record ids go back in {channel}"
        );
        let id = event.pointer("/Event/System/EventID").expect("EventID");
        assert!(
            id.get("#text").unwrap_or(id).is_u64(),
            "line {line}: EventID"
        );
        let body = event
            .pointer("/Event/EventData")
            .or_else(|| event.pointer("/Event/UserData"));
        assert!(
            body.is_some_and(|b| b.as_object().is_some_and(|o| !o.is_empty())),
            "line {line}: no data"
        );
    }
}

#[test]
fn every_rule_of_the_pack_has_events_of_its_log_source() {
    let Some(events) = read_sample() else { return };
    let windows = Pipeline::builtin("windows").expect("built-in windows pipeline");
    let mut covered = vec![false; events.len()];
    for rule in sigrun_pack::rules() {
        let file = parse_embedded(rule);
        let Resolution::Mapped(variants) = windows.resolve(&pipeline_logsource(only_rule(&file)))
        else {
            panic!("{}: unmapped", rule.file_name);
        };
        let mut found = 0;
        for (i, event) in events.iter().enumerate() {
            let belongs = variants.iter().any(|v| belongs_to(event, v));
            if belongs {
                found += 1;
                covered[i] = true;
            }
        }
        assert!(
            found > 0,
            "{}: no sample event of its log source",
            rule.file_name
        );
    }
    let stray: Vec<usize> = covered
        .iter()
        .enumerate()
        .filter(|(_, c)| !**c)
        .map(|(i, _)| i + 1)
        .collect();
    assert!(
        stray.is_empty(),
        "lines of no pack rule's log source: {stray:?}"
    );
}
