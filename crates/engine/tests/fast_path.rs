//! The fast path (dispatch, field scans with truncated automaton keys, prefilters, triggers)
//! against the exhaustive path and `explain`, on random rules and events, and on the whole
//! SigmaHQ Windows rule set over the EVTX-ATTACK-SAMPLES corpus (there read back from a
//! snapshot).

mod common;

use common::rules as rules_of;
use common::*;
use proptest::prelude::*;
use sigrun_engine::{CompileOptions, Engine, MemoryEvent, compile_key};
use sigrun_pipeline::Pipeline;

fn pipeline() -> Pipeline {
    Pipeline::from_yaml(
        "test.yml",
        "name: test\nsources:\n  - name: all\n    logsource: {product: test}\n",
    )
    .expect("pipeline")
}

/// Short texts over an alphabet with case pairs, a non-ASCII pair, a backslash and the
/// wildcards, long enough to exceed the automata's 16-byte keys.
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('a'),
            Just('b'),
            Just('A'),
            Just('B'),
            Just('é'),
            Just('É'),
            Just('-'),
        ],
        0..max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn pattern() -> impl Strategy<Value = String> {
    (
        text(22),
        prop_oneof![Just(""), Just("*"), Just("?")],
        0..3usize,
    )
        .prop_map(|(mut t, wildcard, at)| {
            // Now and then a wildcard inside the text: a glob with a literal hint.
            if !wildcard.is_empty() {
                let at = t.char_indices().nth(at).map_or(t.len(), |(i, _)| i);
                t.insert_str(at, wildcard);
            }
            t
        })
}

const MODIFIERS: &[&str] = &[
    "",
    "|contains",
    "|startswith",
    "|endswith",
    "|contains|all",
    "|contains|cased",
    "|endswith|cased",
    "|neq",
];

fn rule_text(modifier: usize, values: &[String], keyword: bool, field: &str) -> String {
    let list: String = values
        .iter()
        .map(|v| format!("\n            - '{v}'"))
        .collect();
    if keyword {
        return rule_with(
            "{product: test}",
            &format!("    keywords:{list}\n    condition: keywords\n"),
        );
    }
    rule_with(
        "{product: test}",
        &format!(
            "    sel:\n        {field}{}:{list}\n    condition: sel\n",
            MODIFIERS[modifier % MODIFIERS.len()]
        ),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn fast_path_equals_exhaustive_and_explain(
        rules in proptest::collection::vec(
            (0..MODIFIERS.len(), proptest::collection::vec(pattern(), 1..4), proptest::bool::weighted(0.15), any::<bool>()),
            1..8,
        ),
        events in proptest::collection::vec(
            (proptest::collection::vec((text(6), 0..64usize, text(6), any::<bool>()), 0..3), text(30)),
            1..12,
        ),
    ) {
        // Event values embed the rules' own texts (so that long literals do match), with
        // random text around them and, now and then, upper-cased.
        let literals: Vec<String> = rules
            .iter()
            .flat_map(|(_, values, _, _)| values.iter())
            .map(|v| v.replace(['*', '?'], "b"))
            .collect();
        let events: Vec<(Vec<String>, String)> = events
            .into_iter()
            .map(|(values, other)| {
                let values = values
                    .into_iter()
                    .map(|(before, pick, after, upper)| {
                        let middle = &literals[pick % literals.len()];
                        let middle = if upper { middle.to_uppercase() } else { middle.clone() };
                        match pick % 4 {
                            0 => middle,
                            1 => format!("{before}{middle}"),
                            2 => format!("{middle}{after}"),
                            _ => format!("{before}{middle}{after}"),
                        }
                    })
                    .collect();
                (values, other)
            })
            .collect();
        let texts: Vec<String> = rules
            .iter()
            .map(|(m, values, keyword, on_g)| {
                rule_text(*m, values, *keyword, if *on_g { "G" } else { "F" })
            })
            .collect();
        let set = rule_set(&texts.iter().map(String::as_str).collect::<Vec<_>>());
        let pipeline = pipeline();
        let (engine, problems) = compile(&set, &pipeline);
        prop_assert!(problems.is_empty(), "{:?}", problems);
        let mut exhaustive = engine.new_scratch();
        // Scratches live across events, as in a hunt: one with the default memory of field
        // scans, one that fills up (and empties) every few values, one without. Every event
        // comes twice, so the second time its values are remembered.
        let mut remembering = engine.new_scratch();
        let mut forgetful = engine.new_scratch();
        forgetful.set_scan_memo_bytes(48);
        let mut plain = engine.new_scratch();
        plain.set_scan_memo_bytes(0);
        for (f_values, other) in events.iter().chain(&events) {
            // G holds the same texts as F: a remembered scan must not answer for another field.
            let mut event = MemoryEvent::new().with("Other", other);
            for v in f_values {
                event = event.with("F", v).with("G", v);
            }
            let fast = engine.matching_rules(&event, &mut remembering);
            prop_assert_eq!(&fast, &engine.matching_rules(&event, &mut forgetful));
            prop_assert_eq!(&fast, &engine.matching_rules(&event, &mut plain));
            let explained: Vec<usize> = rules_of(&set)
                .into_iter()
                .filter(|(_, rule)| {
                    sigrun_engine::explain::explain(rule, &pipeline, &event, &CompileOptions::default())
                        .is_ok_and(|e| e.matched())
                })
                .map(|(id, _)| id)
                .collect();
            let mut slow = Vec::new();
            engine.match_event_exhaustive(&event, &mut exhaustive, |m| slow.push(m.rule));
            prop_assert_eq!(&fast, &explained, "rules {:#?}\nevent {:?}", texts, event);
            prop_assert_eq!(&fast, &slow, "rules {:#?}\nevent {:?}", texts, event);
        }
    }
}

#[test]
fn whole_windows_rule_set_over_the_attack_samples() {
    let Some((shared, set)) = sigmahq_windows() else {
        return;
    };
    let documents = set.numbered_documents();
    let options = CompileOptions::default();
    let (compiled, problems) = Engine::compile_documents(&documents, windows(), &options);
    // The fast path runs on the engine read back from a snapshot, the exhaustive one on the
    // engine as compiled.
    let key = compile_key(&documents, windows(), &options).expect("a key");
    let bytes = compiled.snapshot(&problems, key).expect("encodes");
    let (engine, read_problems) = Engine::from_snapshot(&bytes, key).expect("reads back");
    assert_eq!(read_problems, problems);
    assert_eq!(engine.case_gates(), compiled.case_gates());
    assert!(engine.case_gates() > 0);
    assert!(engine.snapshot(&read_problems, key) == Some(bytes));
    let mut scratch = engine.new_scratch();
    let mut exhaustive = compiled.new_scratch();
    let (mut events, mut matches, mut disagreements) = (0usize, 0usize, Vec::new());
    let mut fast = Vec::new();
    let mut slow = Vec::new();
    read_logs(&shared.join("corpus/evtx-attack-samples"), |event| {
        events += 1;
        // The exhaustive path evaluates every rule: check one event in three in debug builds.
        if cfg!(debug_assertions) && events % 3 != 0 {
            return;
        }
        fast.clear();
        slow.clear();
        matches += engine.match_event(&event, &mut scratch, |m| fast.push(m.rule));
        compiled.match_event_exhaustive(&event, &mut exhaustive, |m| slow.push(m.rule));
        if fast != slow {
            disagreements.push(format!(
                "{:?}: fast {fast:?}, exhaustive {slow:?}",
                event.location()
            ));
        }
    });
    println!("{events} events, {matches} matches checked");
    assert!(events > 8000, "{events}");
    assert!(matches > 100, "{matches}");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
