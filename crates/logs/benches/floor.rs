//! sigrun-logs against the parse floor (the `evtx` crate alone) on evtx-attack-samples, and
//! the JSON reader on a Security-Datasets capture. Skipped when the shared corpus is absent.
//!
//! `cargo bench -p sigrun-logs --bench floor`

use std::hint::black_box;
use std::io::{Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use evtx::{EvtxChunkData, ParserSettings};
use sigrun_logs::{
    DiscoverOptions, Input, LayoutChoice, ReadOptions, ReadScratch, SourceKind, WorkUnit, discover,
    read_json_bytes, read_unit,
};

fn shared() -> Option<PathBuf> {
    let path = std::env::var_os("SIGRUN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    path.is_dir().then_some(path)
}

/// Render every record of `files` to JSON with `evtx`'s chunk API; return the record count.
fn floor(files: &[PathBuf]) -> u64 {
    let settings = Arc::new(ParserSettings::new().indent(false));
    let mut records = 0;
    let mut buffer = vec![0; 65536];
    for path in files {
        let Ok(mut file) = std::fs::File::open(path) else {
            continue;
        };
        for chunk in 0u64.. {
            buffer.resize(65536, 0);
            let offset = 4096 + chunk * 65536;
            if file.seek(SeekFrom::Start(offset)).is_err() || file.read_exact(&mut buffer).is_err()
            {
                break;
            }
            let Ok(mut data) = EvtxChunkData::new(std::mem::take(&mut buffer), false) else {
                continue;
            };
            if let Ok(mut parsed) = data.parse(Arc::clone(&settings)) {
                for record in parsed.iter() {
                    if let Ok(json) = record.and_then(|r| r.into_json_bytes()) {
                        black_box(&json.data);
                        records += 1;
                    }
                }
            }
            buffer = data.data;
        }
    }
    records
}

/// Read every unit through sigrun-logs; return the event count.
fn sigrun(units: &[WorkUnit], scratch: &mut ReadScratch) -> u64 {
    let options = ReadOptions::default();
    let mut events = 0;
    for unit in units {
        let stats = read_unit(
            unit,
            &options,
            scratch,
            |event| {
                black_box(event.event_id());
                ControlFlow::Continue(())
            },
            |_| {},
        );
        events += stats.map_or(0, |s| s.events);
    }
    events
}

fn evtx_attack_samples(c: &mut Criterion) {
    let Some(shared) = shared() else {
        println!("skipped: shared corpus not found");
        return;
    };
    let folder = shared.join("corpus/evtx-attack-samples");
    let sources = discover(&[Input::Path(folder)], &DiscoverOptions::default());
    let files: Vec<PathBuf> = sources
        .iter()
        .filter(|s| *s.kind() == SourceKind::Evtx)
        .map(|s| s.path().to_path_buf())
        .collect();
    let units: Vec<WorkUnit> = sources
        .iter()
        .flat_map(|s| s.units().iter().cloned())
        .collect();
    let mut scratch = ReadScratch::new();
    let records = floor(&files);
    assert_eq!(records, sigrun(&units, &mut scratch));

    let mut group = c.benchmark_group("evtx-attack-samples");
    group.sample_size(10);
    group.throughput(Throughput::Elements(records));
    group.bench_function("floor: evtx to JSON", |b| b.iter(|| floor(&files)));
    group.bench_function("sigrun-logs: read_unit", |b| {
        b.iter(|| sigrun(&units, &mut scratch))
    });
    group.finish();
}

fn security_datasets_json(c: &mut Criterion) {
    let Some(shared) = shared() else { return };
    let path =
        shared.join("corpus/security-datasets/json/empire_launcher_vbs_2020-09-04160940.json");
    let Ok(text) = std::fs::read(&path) else {
        return;
    };
    let mut scratch = ReadScratch::new();
    let mut group = c.benchmark_group("security-datasets");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("read_json_bytes", |b| {
        b.iter(|| {
            read_json_bytes(
                &text,
                LayoutChoice::Auto,
                &mut scratch,
                |event| {
                    black_box(event.field_count());
                    ControlFlow::Continue(())
                },
                |_| {},
            )
        })
    });
    group.finish();
}

criterion_group!(benches, evtx_attack_samples, security_datasets_json);
criterion_main!(benches);
