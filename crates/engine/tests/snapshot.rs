//! Compiled rule sets written as snapshots and read back: the same engine, the same problems,
//! keys that change with every input of the compiler, and damaged bytes refused.

mod common;

use common::*;
use sigrun_engine::{
    CompileOptions, CompileProblem, Engine, MemoryEvent, PlaceholderPolicy, SnapshotError,
    compile_key,
};
use sigrun_pipeline::Pipeline;
use sigrun_rule::RuleSet;

fn key(set: &RuleSet) -> u128 {
    compile_key(
        &set.numbered_documents(),
        windows(),
        &CompileOptions::default(),
    )
    .expect("a key")
}

fn compiled(set: &RuleSet) -> (Engine, Vec<CompileProblem>) {
    Engine::compile_documents(
        &set.numbered_documents(),
        windows(),
        &CompileOptions::default(),
    )
}

/// A process rule, a keyword rule (its scan has a case gate, which snapshots do not hold), a
/// regex, a number and a rule that cannot compile.
fn rules() -> RuleSet {
    rule_set(&[
        &process_rule(
            "    sel:\n        Image|endswith: '\\wmic.exe'\n        CommandLine|contains: 'create'\n    condition: sel\n",
        ),
        &rule_with(
            "{product: windows}",
            "    keywords:\n        - 'sekurlsa::'\n        - 'Kerberos::'\n    condition: keywords\n",
        ),
        &process_rule(
            "    sel:\n        CommandLine|re: 'scrcons\\.exe\\s+/k'\n    condition: sel\n",
        ),
        &rule_with(
            "{product: windows, service: security}",
            "    sel:\n        EventID: 4688\n    condition: sel\n",
        ),
        &process_rule("    sel:\n        CommandLine|re: '(?<=a)b'\n    condition: sel\n"),
    ])
}

fn events() -> Vec<MemoryEvent> {
    vec![
        sysmon1(&[
            ("Image", "C:\\Windows\\System32\\WBEM\\WMIC.exe"),
            (
                "CommandLine",
                "wmic /namespace:\\\\root\\subscription PATH __EventFilter CREATE",
            ),
        ]),
        sysmon1(&[("CommandLine", "mimikatz SEKURLSA::logonpasswords")]),
        sysmon1(&[("CommandLine", "scrcons.exe /k run"), ("Image", "x")]),
        sysmon1(&[("CommandLine", "nothing here")]),
        MemoryEvent::new()
            .with("Channel", "Security")
            .with_number("EventID", 4688)
            .with("NewProcessName", "C:\\Windows\\System32\\wbem\\wmic.exe")
            .with("CommandLine", "wmic process call create calc"),
    ]
}

/// [`rules`], compiled, its key and its snapshot.
fn written() -> (RuleSet, Engine, Vec<CompileProblem>, u128, Vec<u8>) {
    let set = rules();
    let (engine, problems) = compiled(&set);
    let key = key(&set);
    let bytes = engine.snapshot(&problems, key).expect("encodes");
    (set, engine, problems, key, bytes)
}

fn matches(engine: &Engine, events: &[MemoryEvent]) -> Vec<Vec<usize>> {
    let mut scratch = engine.new_scratch();
    events
        .iter()
        .map(|e| engine.matching_rules(e, &mut scratch))
        .collect()
}

#[test]
fn a_snapshot_reads_back_to_the_same_engine() {
    let (set, engine, problems, key, bytes) = written();
    let (read, read_problems) = Engine::from_snapshot(&bytes, key).expect("reads back");
    assert_eq!(read_problems, problems);
    assert_eq!(
        problems
            .iter()
            .map(|p| (p.rule, p.kind.code()))
            .collect::<Vec<_>>(),
        vec![(4, "regex")]
    );
    assert_eq!(read.rule_ids(), engine.rule_ids());
    assert_eq!((engine.case_gates(), read.case_gates()), (1, 1));
    assert!(read.snapshot(&read_problems, key) == Some(bytes.clone()));
    // Compiling again gives the same bytes: a snapshot depends on nothing but its input.
    let (again, again_problems) = compiled(&set);
    assert!(again.snapshot(&again_problems, key) == Some(bytes));
    let expected = vec![vec![0], vec![1], vec![2], vec![], vec![0, 3]];
    assert_eq!(matches(&engine, &events()), expected);
    assert_eq!(matches(&read, &events()), expected);
}

#[test]
fn the_key_changes_with_every_input_of_the_compiler() {
    let set = rules();
    let options = CompileOptions::default();
    let docs = set.numbered_documents();
    let base = compile_key(&docs, windows(), &options);
    assert_eq!(base, compile_key(&docs, windows(), &options));
    // A value of one rule.
    let changed = rule_set(&[&process_rule(
        "    sel:\n        Image|endswith: '\\wmic.exe'\n        CommandLine|contains: 'delete'\n    condition: sel\n",
    )]);
    let mut other_docs = docs.clone();
    other_docs[0] = changed.numbered_documents()[0];
    assert_ne!(base, compile_key(&other_docs, windows(), &options));
    // The ids the caller gives, and the documents given.
    let shifted: Vec<_> = docs.iter().map(|&(id, d)| (id + 1, d)).collect();
    assert_ne!(base, compile_key(&shifted, windows(), &options));
    assert_ne!(base, compile_key(&docs[1..], windows(), &options));
    // The pipeline and the options.
    let other = Pipeline::from_yaml(
        "other.yml",
        "name: other\nsources:\n  - name: all\n    logsource: {product: windows}\n",
    )
    .expect("pipeline");
    assert_ne!(base, compile_key(&docs, &other, &options));
    let wildcards = CompileOptions {
        placeholders: PlaceholderPolicy::Wildcard,
    };
    assert_ne!(base, compile_key(&docs, windows(), &wildcards));
}

#[test]
fn damaged_or_foreign_bytes_are_refused() {
    let (_, _, _, key, bytes) = written();
    let refused = |bytes: &[u8], key: u128| Engine::from_snapshot(bytes, key).err();
    assert_eq!(refused(&bytes, key + 1), Some(SnapshotError::OtherKey));
    assert_eq!(refused(&[], key), Some(SnapshotError::Foreign));
    assert_eq!(refused(&bytes[..20], key), Some(SnapshotError::Foreign));
    let mut foreign = bytes.clone();
    foreign[0] ^= 1;
    assert_eq!(refused(&foreign, key), Some(SnapshotError::Foreign));
    for at in [40, bytes.len() / 2, bytes.len() - 9, bytes.len() - 1] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x10;
        assert_eq!(refused(&damaged, key), Some(SnapshotError::Damaged), "{at}");
    }
    assert_eq!(
        refused(&bytes[..bytes.len() - 1], key),
        Some(SnapshotError::Damaged)
    );
    // A sound checksum over bytes that are not an engine.
    let mut garbage = bytes[..32].to_vec();
    garbage.extend_from_slice(&[0xff; 12]);
    let checksum = xxhash_rust::xxh3::xxh3_64(&garbage);
    garbage.extend_from_slice(&checksum.to_le_bytes());
    assert!(matches!(
        refused(&garbage, key),
        Some(SnapshotError::Undecodable(_))
    ));
}

/// A snapshot holds every automaton, however many were built before it was written: built on
/// threads beforehand, some built by matching, none (the writer builds them), or read back
/// from an earlier snapshot: the same bytes.
#[test]
fn the_bytes_do_not_depend_on_how_the_automata_were_built() {
    let (set, _, problems, key, bytes) = written();
    let (on_threads, _) = compiled(&set);
    on_threads.build_automata(3);
    assert!(on_threads.snapshot(&problems, key).expect("encodes") == bytes);
    let (matched, _) = compiled(&set);
    let mut scratch = matched.new_scratch();
    for event in events() {
        matched.match_event(&event, &mut scratch, |_| {});
    }
    assert!(matched.snapshot(&problems, key).expect("encodes") == bytes);
    let (read, _) = Engine::from_snapshot(&bytes, key).expect("reads back");
    assert!(read.snapshot(&problems, key).expect("encodes") == bytes);
}
