//! Reading allocates nothing per event once the scratch buffers have grown: a second pass
//! over a thousand JSON events allocates as often as a pass over one, and no EVTX record filled
//! from its template values allocates. Allocations are counted per thread, so that the test
//! harness's own threads (its timer, its output) do not count.

mod common;
#[path = "common/counting.rs"]
mod counting;

use counting::allocations_so_far;
use sigrun_logs::{LayoutChoice, ReadScratch, read_json_bytes};
use std::ops::ControlFlow;

/// Allocations made while reading `text` with `scratch`, and the events read.
fn allocations(text: &[u8], scratch: &mut ReadScratch) -> (usize, u64) {
    let before = allocations_so_far();
    let stats = read_json_bytes(
        text,
        LayoutChoice::Auto,
        scratch,
        |event| {
            assert!(event.field_count() > 0);
            ControlFlow::Continue(())
        },
        |problem| panic!("{problem}"),
    );
    (allocations_so_far() - before, stats.events)
}

#[test]
fn no_allocation_per_event() {
    let nested = r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"Image":"C:\\Windows\\cmd.exe","Data":[{"#attributes":{"Name":"A"},"#text":"x"}]}}}"##;
    let flat = r#"{"SourceName":"S","Hostname":"H","EventID":4688,"NewProcessName":"C:\\x.exe","tags":["a","b"]}"#;
    let ecs = r#"{"winlog":{"channel":"Security","event_id":4688,"event_data":{"CommandLine":"cmd /c \"x\""}},"host":{"name":"h"}}"#;
    let one = format!("{nested}\n{flat}\n{ecs}\n");
    let many = one.repeat(1000);

    let mut scratch = ReadScratch::new();
    allocations(many.as_bytes(), &mut scratch);
    let (for_one, events) = allocations(one.as_bytes(), &mut scratch);
    assert_eq!(events, 3);
    let (for_many, events) = allocations(many.as_bytes(), &mut scratch);
    assert_eq!(events, 3000);
    assert_eq!(for_many, for_one);
    // The path shared by problems is the only allocation left.
    assert!(for_one <= 2, "{for_one} allocations");
}

/// Records of an EVTX chunk filled from their template values allocate nothing each, once a
/// first pass over the file has grown the buffers and learnt the templates: between two
/// records of the same chunk the allocation count does not move.
#[test]
fn no_allocation_per_evtx_record() {
    use sigrun_logs::{DiscoverOptions, Input, Location, ReadOptions, discover, read_unit};
    let Some(shared) = common::shared() else {
        return;
    };
    let file = shared.join(
        "corpus/evtx-attack-samples/AutomatedTestingTools/PanacheSysmon_vs_AtomicRedTeam01.evtx",
    );
    let sources = discover(&[Input::Path(file)], &DiscoverOptions::default());
    let units: Vec<_> = sources.iter().flat_map(|s| s.units()).collect();
    assert!(!units.is_empty());
    let mut scratch = ReadScratch::new();
    let options = ReadOptions::default();
    let pass = |scratch: &mut ReadScratch| {
        // Per record: its chunk and the allocations made before it was handed on (room made
        // first, so that the list itself does not allocate while it is filled).
        let mut seen: Vec<(u64, usize)> = Vec::with_capacity(1 << 16);
        for unit in &units {
            read_unit(
                unit,
                &options,
                scratch,
                |event| {
                    let chunk = match event.location() {
                        Location::Record { chunk, .. } => chunk,
                        other => panic!("not a record: {other:?}"),
                    };
                    seen.push((chunk, allocations_so_far()));
                    ControlFlow::Continue(())
                },
                |problem| panic!("{problem}"),
            )
            .expect("read");
        }
        seen
    };
    pass(&mut scratch);
    let seen = pass(&mut scratch);
    assert!(seen.len() > 500, "{} records", seen.len());
    let allocating: Vec<usize> = seen
        .windows(2)
        .enumerate()
        .filter(|(_, pair)| pair[0].0 == pair[1].0 && pair[1].1 != pair[0].1)
        .map(|(at, _)| at + 1)
        .collect();
    assert!(
        allocating.is_empty(),
        "records that allocated: {allocating:?}"
    );
}
