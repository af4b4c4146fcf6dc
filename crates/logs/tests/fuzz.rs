//! Properties of the JSON reader on generated input: it never panics, it agrees with
//! serde_json on what is a valid object, and it flattens every valid object like a simple
//! reference flattener over serde_json's tree.

mod common;

use std::ops::ControlFlow;

use proptest::prelude::*;
use serde_json::{Map, Value};
use sigrun_logs::{Layout, LayoutChoice, ReadScratch, ValueKind, read_json_bytes};

const LAYOUTS: [LayoutChoice; 4] = [
    LayoutChoice::Auto,
    LayoutChoice::Fixed(Layout::WindowsNested),
    LayoutChoice::Fixed(Layout::WindowsFlat),
    LayoutChoice::Fixed(Layout::Ecs),
];

/// An event's `(name, kind, text)` fields.
type Fields = Vec<(String, ValueKind, String)>;

/// Read `bytes`; return the events' fields and the number of problems.
fn read(bytes: &[u8], layout: LayoutChoice) -> (Vec<Fields>, u64) {
    let mut events = Vec::new();
    let mut scratch = ReadScratch::new();
    let stats = read_json_bytes(
        bytes,
        layout,
        &mut scratch,
        |event| {
            // Touch everything the engine would.
            let _ = (
                event.event_id(),
                event.channel(),
                event.computer(),
                event.timestamp(),
            );
            events.push(common::Owned::of(&event).fields);
            ControlFlow::Continue(())
        },
        |_| {},
    );
    assert_eq!(stats.events, events.len() as u64);
    (events, stats.problems)
}

/// The ECS layout's names from serde_json's tree: nested keys joined by dots, one value per
/// array element.
fn reference(value: &Value, name: &str, out: &mut Fields) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                let child = if name.is_empty() {
                    key.clone()
                } else {
                    format!("{name}.{key}")
                };
                reference(value, &child, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| reference(v, name, out)),
        Value::String(s) => out.push((name.to_string(), ValueKind::String, s.clone())),
        Value::Number(n) => out.push((name.to_string(), ValueKind::Number, n.to_string())),
        Value::Bool(b) => out.push((name.to_string(), ValueKind::Bool, b.to_string())),
        Value::Null => out.push((name.to_string(), ValueKind::Null, String::new())),
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        "[a-z\\\\\"/\u{1}-\u{1f}é😀 ]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec(("[a-z#@.]{1,6}", inner), 0..5)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    prop::collection::vec(("[a-zA-Z_#.]{1,8}", json_value()), 0..6)
        .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>()))
}

/// JSON-looking text: tokens in any order.
fn token_soup() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just("{"),
        Just("}"),
        Just("["),
        Just("]"),
        Just(","),
        Just(":"),
        Just("\"Event\""),
        Just("\"System\""),
        Just("\"EventData\""),
        Just("\"Data\""),
        Just("\"#attributes\""),
        Just("\"#text\""),
        Just("\"Name\""),
        Just("\"winlog\""),
        Just("\"x\""),
        Just("1"),
        Just("-2.5e3"),
        Just("null"),
        Just("true"),
        Just("\n"),
        Just(" "),
        Just("Record 1\n"),
        Just("\"\\u12"),
        Just("\"\\ud800\""),
        Just("\u{feff}"),
        Just("\\"),
        Just("\""),
    ];
    prop::collection::vec(token, 0..80).prop_map(|tokens| tokens.concat().into_bytes())
}

/// A JSON file of no events (an empty array, in any spacing) is read as such, without a
/// problem; an array of empty arrays is not events and is reported.
#[test]
fn an_empty_array_is_no_event_and_no_problem() {
    for layout in LAYOUTS {
        for text in ["[]", " [ ]\n", "\n[\n]"] {
            assert_eq!(read(text.as_bytes(), layout), (vec![], 0), "{text:?}");
        }
        let (events, problems) = read(b"[[]]", layout);
        assert!(events.is_empty() && problems > 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        for layout in LAYOUTS {
            read(&bytes, layout);
        }
    }

    #[test]
    fn token_soup_never_panics(bytes in token_soup()) {
        for layout in LAYOUTS {
            let (events, problems) = read(&bytes, layout);
            // Something is always read or reported, unless the input holds only whitespace,
            // byte-order marks and `evtx_dump` record lines, or an empty array (a JSON file
            // of no events).
            let text = String::from_utf8_lossy(&bytes).replace("Record 1\n", "").replace('\u{feff}', "");
            let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let blank = compact.is_empty() || compact == "[]";
            prop_assert!(blank || !events.is_empty() || problems > 0);
        }
    }

    #[test]
    fn objects_flatten_like_the_reference(value in json_object(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&value).unwrap()
        } else {
            serde_json::to_string(&value).unwrap()
        };
        let (events, problems) = read(text.as_bytes(), LayoutChoice::Fixed(Layout::Ecs));
        let mut expected = Vec::new();
        reference(&value, "", &mut expected);
        prop_assert_eq!(problems, 0);
        prop_assert_eq!(events, vec![expected]);
    }

    #[test]
    fn accepts_what_serde_json_accepts(value in json_object(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = serde_json::to_vec(&value).unwrap();
        let at = at.index(bytes.len());
        bytes[at] = byte;
        let starts_with_object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        // A nested object or array at the start of a line is read as a cut-off line.
        let line_starts = bytes.windows(2).any(|w| w[0] == b'\n' && (w[1] == b'{' || w[1] == b'['));
        prop_assume!(starts_with_object && !line_starts);
        let serde = serde_json::from_slice::<Value>(&bytes);
        for layout in LAYOUTS {
            let (events, problems) = read(&bytes, layout);
            let ours = events.len() == 1 && problems == 0;
            match &serde {
                Ok(_) => prop_assert!(ours, "serde_json accepts {:?}", String::from_utf8_lossy(&bytes)),
                // Lone surrogates become U+FFFD and huge numbers stay text here; serde_json
                // rejects both.
                Err(e) if ours => prop_assert!(
                    bytes.windows(2).any(|w| w == b"\\u") || e.to_string().contains("out of range"),
                    "only sigrun accepts {:?}: {}", String::from_utf8_lossy(&bytes), e
                ),
                Err(_) => {}
            }
        }
    }
}
