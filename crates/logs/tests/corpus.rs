//! The readers over the shared corpora: every EVTX record of evtx-attack-samples, the
//! Security-Datasets JSON Lines, and the Sigma regression data, where each EVTX file has a
//! JSON rendering of the same records that must flatten to the same fields.

mod common;

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use common::{Owned, shared};
use sigrun_logs::{
    DiscoverOptions, Input, Layout, Location, ReadOptions, ReadScratch, Source, SourceKind,
    discover, read_unit,
};

/// Every event and problem of `sources`, by source path.
fn read_all(sources: &[Source]) -> (BTreeMap<PathBuf, Vec<Owned>>, Vec<String>) {
    read_all_with(sources, &ReadOptions::default())
}

fn read_all_with(
    sources: &[Source],
    options: &ReadOptions,
) -> (BTreeMap<PathBuf, Vec<Owned>>, Vec<String>) {
    let mut events: BTreeMap<PathBuf, Vec<Owned>> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut scratch = ReadScratch::new();
    for source in sources {
        for unit in source.units() {
            let list = events.entry(source.path().to_path_buf()).or_default();
            read_unit(
                unit,
                options,
                &mut scratch,
                |event| {
                    list.push(Owned::of(&event));
                    ControlFlow::Continue(())
                },
                |problem| problems.push(problem.to_string()),
            )
            .unwrap();
        }
    }
    (events, problems)
}

/// A value with the differences of two JSON renderings of one record taken out.
fn normalize(value: &str) -> String {
    let value: String = value.chars().filter(|&c| c != '{' && c != '}').collect();
    let value = value.trim().to_uppercase();
    let is_time = value.len() > 26 && value.as_bytes()[10] == b'T' && value.ends_with('Z');
    if is_time {
        value[..26].to_string()
    } else {
        value
    }
}

/// How many records the `evtx` crate itself reads from `path`.
fn evtx_count(path: &Path) -> usize {
    let mut parser = evtx::EvtxParser::from_path(path).unwrap();
    parser.records_json_bytes().filter(Result::is_ok).count()
}

#[test]
fn evtx_attack_samples_every_record() {
    let Some(shared) = shared() else { return };
    let folder = shared.join("corpus/evtx-attack-samples");
    // One chunk per unit: the split must not lose or reorder records.
    let options = DiscoverOptions {
        evtx_chunks_per_unit: 1,
        ..DiscoverOptions::default()
    };
    let sources = discover(&[Input::Path(folder)], &options);
    let evtx: Vec<_> = sources
        .iter()
        .filter(|s| *s.kind() == SourceKind::Evtx)
        .cloned()
        .collect();
    assert_eq!(evtx.len(), 277);
    let (events, problems) = read_all(&evtx);
    assert_eq!(problems, Vec::<String>::new());
    let mut total = 0;
    for (path, list) in &events {
        assert_eq!(list.len(), evtx_count(path), "{}", path.display());
        total += list.len();
        for event in list {
            assert_eq!(event.layout, Layout::WindowsNested);
            // The record header's ID and System/EventRecordID differ in re-saved logs.
            let Location::Record {
                record_id, offset, ..
            } = event.location
            else {
                panic!("{:?}", event.location)
            };
            assert!(record_id.is_some() && event.record_id.is_some());
            assert!(offset.is_some_and(|o| o >= 512));
            // Records written by ETW sessions (Microsoft-Windows-RPC) have no channel.
            assert!(event.event_id.is_some(), "{event:?}");
            assert!(event.computer.is_some() && event.timestamp.is_some());
            assert!(event.provider.is_some());
        }
        // Record order within a file is file order: chunk by chunk, offset by offset.
        let order: Vec<_> = list
            .iter()
            .map(|e| match e.location {
                Location::Record { chunk, offset, .. } => (chunk, offset),
                _ => unreachable!(),
            })
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{}", path.display());
    }
    assert_eq!(total, 8255);

    // Carving stale records adds recovered ones and changes none of the live ones.
    let options = ReadOptions {
        recover_records: true,
        ..ReadOptions::default()
    };
    let (carved, _) = read_all_with(&evtx, &options);
    for (path, list) in &carved {
        let live: Vec<_> = list.iter().filter(|e| !e.recovered).cloned().collect();
        assert_eq!(&live, &events[path], "{}", path.display());
    }
    let recovered: usize = carved
        .values()
        .map(|l| l.iter().filter(|e| e.recovered).count())
        .sum();
    println!("recovered records: {recovered}");
}

#[test]
fn evtx_and_its_json_rendering_flatten_alike() {
    let Some(shared) = shared() else { return };
    let folder = shared.join("corpus/sigma/regression_data");
    let sources = discover(&[Input::Path(folder)], &DiscoverOptions::default());
    let (events, problems) = read_all(&sources);
    assert_eq!(problems, Vec::<String>::new());
    let mut pairs = 0;
    for (path, from_evtx) in &events {
        if path.extension().is_none_or(|e| e != "evtx") {
            continue;
        }
        let Some(from_json) = events.get(&path.with_extension("json")) else {
            continue;
        };
        pairs += 1;
        assert!(!from_evtx.is_empty(), "{}", path.display());
        assert_eq!(from_evtx.len(), from_json.len(), "{}", path.display());
        for (a, b) in from_evtx.iter().zip(from_json) {
            assert_eq!(b.layout, Layout::WindowsNested);
            // The JSON files were rendered by another tool: GUIDs without braces in upper
            // case, times to the microsecond. Names, kinds and everything else must agree.
            let normal = |fields: &[(String, sigrun_logs::ValueKind, String)]| {
                fields
                    .iter()
                    .map(|(n, k, v)| (n.clone(), *k, normalize(v)))
                    .collect::<Vec<_>>()
            };
            assert_eq!(normal(&a.fields), normal(&b.fields), "{}", path.display());
            assert_eq!(
                (
                    a.event_id,
                    a.record_id,
                    &a.channel,
                    &a.provider,
                    &a.computer
                ),
                (
                    b.event_id,
                    b.record_id,
                    &b.channel,
                    &b.provider,
                    &b.computer
                )
            );
        }
    }
    assert_eq!(pairs, 132);
}

#[test]
fn security_datasets_json_lines() {
    let Some(shared) = shared() else { return };
    let folder = shared.join("corpus/security-datasets/json");
    let sources = discover(&[Input::Path(folder)], &DiscoverOptions::default());
    let (events, problems) = read_all(&sources);
    assert_eq!(problems, Vec::<String>::new());
    let counts: Vec<_> = events
        .iter()
        .map(|(path, list)| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                list.len(),
            )
        })
        .collect();
    let expected = [
        (
            "GoldenSAMLADFSMailAccess_Microsoft365DefenderEvents.json",
            9,
        ),
        (
            "cmd_lsass_memory_dumpert_syscalls_2020-10-1822561997.json",
            118,
        ),
        ("empire_launcher_vbs_2020-09-04160940.json", 2067),
        (
            "empire_schtasks_creation_standard_user_2020-09-21031526.json",
            1297,
        ),
        (
            "psh_lsass_memory_dump_comsvcs_2020-10-18T19500924.json",
            184,
        ),
        ("schtask_create_2020-12-1907003032.json", 1041),
    ];
    let expected: Vec<_> = expected.iter().map(|(n, c)| (n.to_string(), *c)).collect();
    assert_eq!(counts, expected);
    for (path, list) in &events {
        if path.to_string_lossy().contains("GoldenSAML") {
            continue;
        }
        for event in list {
            assert_eq!(event.layout, Layout::WindowsFlat);
            // Records written by ETW sessions (Microsoft-Windows-RPC) have no channel.
            assert!(event.event_id.is_some(), "{event:?}");
            let names: Vec<_> = event.fields.iter().map(|f| f.0.as_str()).collect();
            assert!(names.contains(&"Provider_Name") && names.contains(&"Computer"));
        }
    }
}

#[test]
fn json_split_into_small_units_reads_the_same_events() {
    let Some(shared) = shared() else { return };
    let file =
        shared.join("corpus/security-datasets/json/empire_launcher_vbs_2020-09-04160940.json");
    let whole = discover(&[Input::Path(file.clone())], &DiscoverOptions::default());
    let options = DiscoverOptions {
        json_unit_bytes: 1 << 16,
        ..DiscoverOptions::default()
    };
    let split = discover(&[Input::Path(file)], &options);
    assert_eq!(whole[0].units().len(), 1);
    assert!(split[0].units().len() > 50);
    let (a, problems_a) = read_all(&whole);
    let (b, problems_b) = read_all(&split);
    assert!(problems_a.is_empty() && problems_b.is_empty());
    let (a, b) = (
        a.into_values().next().unwrap(),
        b.into_values().next().unwrap(),
    );
    assert_eq!(a.len(), 2067);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.raw, y.raw);
        assert_eq!(x.fields, y.fields);
        // Units after the first do not know their line numbers, but byte offsets agree.
        match (x.location, y.location) {
            (Location::Text { byte_offset: p, .. }, Location::Text { byte_offset: q, .. }) => {
                assert_eq!(p, q)
            }
            other => panic!("{other:?}"),
        }
    }
}

/// Files told only when read (`defer_small_files`) read exactly as files told by discovery:
/// every event and problem of every source of the whole corpus, EVTX and JSON, and the files
/// that are no log (READMEs, rule files) read as nothing.
#[test]
fn deferred_files_read_as_discovered_ones() {
    let Some(shared) = shared() else { return };
    let inputs = [Input::Path(shared.join("corpus"))];
    let told = discover(&inputs, &DiscoverOptions::default());
    let deferring = DiscoverOptions {
        defer_small_files: true,
        ..DiscoverOptions::default()
    };
    let deferred = discover(&inputs, &deferring);
    assert!(
        deferred
            .iter()
            .filter(|s| *s.kind() == SourceKind::Deferred)
            .count()
            > 100
    );
    assert!(told.iter().all(|s| *s.kind() != SourceKind::Deferred));
    // Sources that are no log have no units when told, and read as no log when deferred.
    let mut scratch = ReadScratch::new();
    let mut not_logs = 0;
    for source in &deferred {
        for unit in source.units() {
            let stats = read_unit(
                unit,
                &ReadOptions::default(),
                &mut scratch,
                |_| ControlFlow::Continue(()),
                |_| {},
            )
            .unwrap();
            not_logs += usize::from(stats.not_a_log);
        }
    }
    let told_not_logs = told.iter().filter(|s| s.units().is_empty()).count();
    let deferred_empty = deferred.iter().filter(|s| s.units().is_empty()).count();
    assert!(not_logs > 0);
    assert_eq!(not_logs + deferred_empty, told_not_logs);
    // The same events and problems, by source (a source with no events aside: a deferred
    // file that is no log has a unit, which reads nothing).
    let read = |sources| {
        let (mut events, problems) = read_all(sources);
        events.retain(|_, events: &mut Vec<Owned>| !events.is_empty());
        (events, problems)
    };
    let ((deferred_events, deferred_problems), (told_events, told_problems)) =
        (read(&deferred), read(&told));
    assert_eq!(deferred_problems, told_problems);
    assert!(deferred_events.len() > 300);
    assert!(deferred_events.keys().eq(told_events.keys()));
    for (path, events) in &told_events {
        assert!(deferred_events[path] == *events, "{}", path.display());
    }
}
