//! Compiled-rule snapshots from any bytes: refused with a reason or read back, never a panic,
//! and an engine read back matches events without a panic. The bytes are tried as a whole
//! file and as the payload of a file with a sound header and checksum (which random bytes
//! almost never have), so that the decoder and its index checks see them; the latter as a
//! hunt reads its cache file, with the bytes shared.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigrun_engine::{CompileOptions, Engine, MemoryEvent, ValueKind, compile_key};
use sigrun_pipeline::Pipeline;
use sigrun_rule::{RuleSet, SourceFile};
use std::sync::OnceLock;

const RULES: [&str; 2] = [
    "title: a\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n    Image|endswith: '\\wmic.exe'\n    CommandLine|contains: create\n  condition: sel\n",
    "title: b\nlogsource: {product: windows}\ndetection:\n  keywords:\n    - 'sekurlsa::'\n  condition: keywords\n",
];

/// A real snapshot's header (magic and key), and its key.
fn header() -> &'static (Vec<u8>, u128) {
    static HEADER: OnceLock<(Vec<u8>, u128)> = OnceLock::new();
    HEADER.get_or_init(|| {
        let set = RuleSet::from_sources(
            RULES
                .iter()
                .enumerate()
                .map(|(i, text)| SourceFile::new(format!("{i}.yml"), text.to_string())),
        );
        let documents = set.numbered_documents();
        let pipeline = Pipeline::builtin("windows").expect("builtin");
        let options = CompileOptions::default();
        let key = compile_key(&documents, pipeline, &options).expect("a key");
        let (engine, problems) = Engine::compile_documents(&documents, pipeline, &options);
        let bytes = engine.snapshot(&problems, key).expect("encodes");
        (bytes[..32].to_vec(), key)
    })
}

fn exercise(engine: &Engine) {
    let mut scratch = engine.new_scratch();
    let events = [
        MemoryEvent::new()
            .with("Channel", "Microsoft-Windows-Sysmon/Operational")
            .with_number("EventID", 1)
            .with("Image", "C:\\Windows\\System32\\wbem\\WMIC.exe")
            .with("CommandLine", "wmic process call create sekurlsa::x"),
        MemoryEvent::new()
            .with("Channel", "Security")
            .with_number("EventID", 4688)
            .with("NewProcessName", "x"),
    ];
    for mut event in events {
        event.push("Other", ValueKind::String, "sekurlsa::");
        let _ = engine.match_event(&event, &mut scratch, |_| {});
        let _ = engine.match_event_exhaustive(&event, &mut scratch, |_| {});
    }
}

fuzz_target!(|data: &[u8]| {
    let (head, key) = header();
    if let Ok((engine, _)) = Engine::from_snapshot(data, *key) {
        exercise(&engine);
    }
    let mut bytes = head.clone();
    bytes.extend_from_slice(data);
    let checksum = xxhash_rust::xxh3::xxh3_64(&bytes);
    bytes.extend_from_slice(&checksum.to_le_bytes());
    // Read as a hunt reads its cache file: the automata keep views of the bytes.
    let bytes = bytes::Bytes::from(bytes);
    if let Ok((engine, _)) = Engine::from_shared_snapshot(&bytes, *key) {
        exercise(&engine);
    }
});
