//! The EVTX reader on arbitrary bytes written to a file, both ways (from template values and
//! through JSON): events or counted problems, never a panic, and the direct way loses
//! nothing: every event the JSON way reads, it reads the same, at the same place, with the
//! same JSON text (which the direct way mostly writes itself from the values); it may read a
//! record whose content `evtx` cannot build. Seed it with real EVTX files
//! (`fuzz/corpus/logs_evtx/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigrun_logs::{DiscoverOptions, Input, ReadOptions, ReadScratch, discover, read_unit};
use std::ops::ControlFlow;

/// An event as its location, its `(name, text)` fields and its JSON text.
type Fields = (String, Vec<(String, String)>, Vec<u8>);

fn events(path: &std::path::Path, options: &ReadOptions) -> Vec<Fields> {
    let sources = discover(&[Input::Path(path.to_path_buf())], &DiscoverOptions::default());
    let mut scratch = ReadScratch::new();
    let mut events = Vec::new();
    for unit in sources.iter().flat_map(|s| s.units()) {
        let _ = read_unit(
            unit,
            options,
            &mut scratch,
            |event| {
                let fields = event.fields();
                let fields = fields.map(|(n, v)| (n.to_string(), v.text().to_string()));
                let json = event.raw_json().to_vec();
                events.push((event.location().to_string(), fields.collect(), json));
                ControlFlow::Continue(())
            },
            |problem| {
                std::hint::black_box(problem.to_string());
            },
        );
    }
    events
}

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("sigrun-fuzz-{}.evtx", std::process::id()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let direct = events(&path, &ReadOptions::default());
    let via_json = events(
        &path,
        &ReadOptions {
            evtx_json: true,
            ..ReadOptions::default()
        },
    );
    // The JSON way's events are, in order, among the direct way's.
    let mut direct = direct.iter();
    for event in &via_json {
        assert!(
            direct.any(|d| d == event),
            "read through JSON but not directly: {event:?}"
        );
    }
});
