//! The EVTX reader on arbitrary bytes written to a file, both ways (from template values and
//! through JSON): events or counted problems, never a panic, and both ways agree on the
//! events. Seed it with real EVTX files (`fuzz/corpus/logs_evtx/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigrun_logs::{DiscoverOptions, Input, ReadOptions, ReadScratch, discover, read_unit};
use std::ops::ControlFlow;

fn events(path: &std::path::Path, options: &ReadOptions) -> Vec<Vec<(String, String)>> {
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
                events.push(fields.map(|(n, v)| (n.to_string(), v.text().to_string())).collect());
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
    // The direct way may read a record the JSON way rejects, never a different one.
    if direct.len() == via_json.len() {
        assert_eq!(direct, via_json);
    }
});
