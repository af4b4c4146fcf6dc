//! Damaged input: a truncated EVTX file, flipped bytes in chunk and record headers, a damaged
//! file header, checksum validation, invalid UTF-8 and oversized events in JSON Lines. Each
//! damage is reported as counted problems while every other event is still read.

mod common;

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use common::{Owned, shared};
use sigrun_logs::{
    DiscoverOptions, Input, Location, ProblemKind, ReadError, ReadOptions, ReadProblem,
    ReadScratch, discover, read_unit,
};

/// A multi-chunk sample: 12 chunks of records.
const SAMPLE: &str = "corpus/evtx-attack-samples/Privilege Escalation/Sysmon_UACME_64.evtx";

fn read_path(
    path: &Path,
    options: &ReadOptions,
    discover_options: &DiscoverOptions,
) -> (Vec<Owned>, Vec<ReadProblem>) {
    let sources = discover(&[Input::Path(path.to_path_buf())], discover_options);
    let mut events = Vec::new();
    let mut problems = Vec::new();
    let mut scratch = ReadScratch::new();
    for unit in sources[0].units() {
        let stats = read_unit(
            unit,
            options,
            &mut scratch,
            |event| {
                events.push(Owned::of(&event));
                ControlFlow::Continue(())
            },
            |problem| problems.push(problem),
        )
        .unwrap();
        assert!(!stats.stopped);
    }
    (events, problems)
}

fn read(path: &Path) -> (Vec<Owned>, Vec<ReadProblem>) {
    read_path(path, &ReadOptions::default(), &DiscoverOptions::default())
}

fn chunk_of(event: &Owned) -> u64 {
    match event.location {
        Location::Record { chunk, .. } => chunk,
        other => panic!("{other:?}"),
    }
}

trait RecordId {
    fn location_record_id(&self) -> Option<u64>;
}

impl RecordId for Owned {
    fn location_record_id(&self) -> Option<u64> {
        match self.location {
            Location::Record { record_id, .. } => record_id,
            _ => None,
        }
    }
}

fn offset_of(event: &Owned) -> u64 {
    match event.location {
        Location::Record {
            offset: Some(offset),
            ..
        } => offset,
        other => panic!("{other:?}"),
    }
}

/// A copy of the sample in a temporary folder, and its clean read.
fn sample() -> Option<(tempfile::TempDir, PathBuf, Vec<Owned>)> {
    let shared = shared()?;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.evtx");
    std::fs::copy(shared.join(SAMPLE), &path).unwrap();
    let (events, problems) = read(&path);
    assert!(problems.is_empty());
    assert_eq!(events.len(), 530);
    Some((dir, path, events))
}

fn patch(path: &Path, offset: usize, bytes: &[u8]) {
    let mut data = std::fs::read(path).unwrap();
    data[offset..offset + bytes.len()].copy_from_slice(bytes);
    std::fs::write(path, data).unwrap();
}

fn kinds(problems: &[ReadProblem]) -> Vec<String> {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.location, p.kind))
        .collect()
}

#[test]
fn truncated_evtx_reads_the_records_that_fit() {
    let Some((_dir, path, clean)) = sample() else {
        return;
    };
    let cut = 30_000u64;
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(4096 + 2 * 65536 + cut).unwrap();
    let (events, problems) = read(&path);

    // Records of chunk 2 that end before the cut (a record ends where the next begins).
    let chunk2: Vec<_> = clean.iter().filter(|e| chunk_of(e) == 2).collect();
    let fit = chunk2.windows(2).filter(|w| offset_of(w[1]) <= cut).count();
    let expected: Vec<_> = clean
        .iter()
        .filter(|e| chunk_of(e) < 2)
        .chain(chunk2.iter().copied().take(fit))
        .cloned()
        .collect();
    assert!(fit > 10);
    assert_eq!(events, expected);
    let cut_record = offset_of(chunk2[fit]);
    assert_eq!(
        kinds(&problems)[..1],
        ["chunk 2: file truncated: chunk has 30000 of 65536 bytes"]
    );
    // The record cut in two is reported, not read.
    assert!(cut_record < cut);
    assert_eq!(problems.len(), 2, "{:?}", kinds(&problems));
    assert_eq!(
        problems[1].location,
        Location::Record {
            chunk: 2,
            record_id: chunk2[fit].location_record_id(),
            offset: Some(cut_record)
        }
    );
    assert_eq!(
        problems[1].kind.to_string(),
        "invalid EVTX record: the record runs past the end of the file"
    );
}

#[test]
fn damaged_chunk_header_skips_that_chunk_only() {
    let Some((_dir, path, clean)) = sample() else {
        return;
    };
    patch(&path, 4096 + 65536, b"XlfChnk\0");
    assert_chunk_1_is_skipped_and_reported(&path, &clean);
}

/// Every event of `clean` but chunk 1's is read from `path`, and chunk 1 is reported as having
/// no chunk header.
fn assert_chunk_1_is_skipped_and_reported(path: &Path, clean: &[Owned]) {
    let (events, problems) = read(path);
    let expected: Vec<_> = clean.iter().filter(|e| chunk_of(e) != 1).cloned().collect();
    assert_eq!(events, expected);
    assert_eq!(
        kinds(&problems),
        ["chunk 1: invalid EVTX chunk: invalid chunk header magic"]
    );
}

#[test]
fn a_counted_chunk_with_its_header_zeroed_is_reported_and_an_uncounted_one_is_unused_space() {
    let Some((_dir, path, clean)) = sample() else {
        return;
    };
    // Chunk 1 (one the file header counts) with its first 16 KiB zeroed: read whole, and its
    // damage told.
    patch(&path, 4096 + 65536, &[0; 16 * 1024]);
    assert_chunk_1_is_skipped_and_reported(&path, &clean);
    let (events, problems) = read(&path);
    // A chunk past those the header counts, zeroes where a header would be: the unused space
    // files are preallocated with, whatever lies further in.
    let mut data = std::fs::read(&path).unwrap();
    let mut unused = vec![0u8; 65536];
    unused[16 * 1024..].fill(7);
    data.extend_from_slice(&unused);
    std::fs::write(&path, data).unwrap();
    let (events_after, problems_after) = read(&path);
    assert_eq!(events_after, events);
    assert_eq!(kinds(&problems_after), kinds(&problems));
}

#[test]
fn damaged_record_header_skips_that_record_only() {
    let Some((_dir, path, clean)) = sample() else {
        return;
    };
    let victim = &clean[1];
    let offset = offset_of(victim);
    patch(&path, 4096 + offset as usize, b"\0\0\0\0");
    let (events, problems) = read(&path);
    let expected: Vec<_> = clean
        .iter()
        .filter(|e| e.location != victim.location)
        .cloned()
        .collect();
    assert_eq!(events, expected);
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].location,
        Location::Record {
            chunk: 0,
            record_id: None,
            offset: Some(offset)
        }
    );
    assert!(matches!(problems[0].kind, ProblemKind::EvtxRecord(_)));
}

#[test]
fn damaged_file_header_is_reported_and_read_anyway() {
    let Some((_dir, path, clean)) = sample() else {
        return;
    };
    let data = std::fs::read(&path).unwrap();
    patch(&path, 24, &[data[24] ^ 0xFF]);
    let (events, problems) = read(&path);
    assert_eq!(events, clean);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].location, Location::Source);
    assert!(matches!(problems[0].kind, ProblemKind::EvtxFileHeader(_)));
}

#[test]
fn checksum_validation_skips_a_chunk_whose_crc_does_not_match() {
    let Some((_dir, path, clean)) = sample() else {
        return;
    };
    // The stored CRC32 of chunk 3's records (chunk header offset 52).
    let at = 4096 + 3 * 65536 + 52;
    let data = std::fs::read(&path).unwrap();
    patch(&path, at, &[data[at] ^ 1]);
    // Not validating (the default), the records are read as they are.
    let (events, problems) = read(&path);
    assert_eq!((events.len(), problems.len()), (clean.len(), 0));
    let options = ReadOptions {
        validate_checksums: true,
        ..ReadOptions::default()
    };
    let (events, problems) = read_path(&path, &options, &DiscoverOptions::default());
    let expected: Vec<_> = clean.iter().filter(|e| chunk_of(e) != 3).cloned().collect();
    assert_eq!(events, expected);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].location, Location::Chunk { chunk: 3 });
    assert!(matches!(problems[0].kind, ProblemKind::EvtxChunk(_)));
}

#[test]
fn a_file_that_stopped_being_evtx_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.evtx");
    let mut bytes = vec![0u8; 4096];
    bytes[..8].copy_from_slice(b"ElfFile\0");
    std::fs::write(&path, &bytes).unwrap();
    let sources = discover(&[Input::Path(path.clone())], &DiscoverOptions::default());
    std::fs::write(&path, b"{}").unwrap();
    let result = read_unit(
        &sources[0].units()[0],
        &ReadOptions::default(),
        &mut ReadScratch::new(),
        |_| ControlFlow::Continue(()),
        |_| {},
    );
    assert!(
        matches!(result, Err(ReadError::NotEvtx { .. })),
        "{result:?}"
    );
}

#[test]
fn header_only_evtx_has_no_events_and_no_problems() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.evtx");
    let mut bytes = vec![0u8; 4096];
    bytes[..8].copy_from_slice(b"ElfFile\0");
    bytes[120] = 4; // NO_CRC32: the header claims no checksum.
    std::fs::write(&path, &bytes).unwrap();
    let (events, problems) = read(&path);
    assert!(
        events.is_empty() && problems.is_empty(),
        "{:?}",
        kinds(&problems)
    );
}

#[test]
fn invalid_utf8_lines_in_split_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.jsonl");
    let mut data = Vec::new();
    let mut bad_offsets = Vec::new();
    for i in 0..5000 {
        if i % 97 == 5 {
            data.extend_from_slice(b"{\"n\":\"");
            bad_offsets.push(data.len() as u64 + 1);
            data.extend_from_slice(b"a\xC3\x28b\"}\n");
        } else {
            data.extend_from_slice(
                format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "é".repeat(i % 40)).as_bytes(),
            );
        }
    }
    std::fs::write(&path, &data).unwrap();
    let split = DiscoverOptions {
        json_unit_bytes: 1 << 16,
        ..DiscoverOptions::default()
    };
    let (events, problems) = read_path(&path, &ReadOptions::default(), &split);
    assert_eq!(events.len(), 5000 - bad_offsets.len());
    let found: Vec<_> = problems
        .iter()
        .map(|p| match (p.location, &p.kind) {
            (Location::Text { byte_offset, .. }, ProblemKind::Json(e)) => {
                (byte_offset, e.to_string())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    let expected: Vec<_> = bad_offsets
        .iter()
        .map(|&o| (o, "invalid UTF-8 in a JSON string".to_string()))
        .collect();
    assert_eq!(found, expected);
    let numbers: Vec<_> = events.iter().map(|e| e.fields[0].2.clone()).collect();
    let good: Vec<_> = (0..5000)
        .filter(|i| i % 97 != 5)
        .map(|i| i.to_string())
        .collect();
    assert_eq!(numbers, good);
}

#[test]
fn oversized_events_are_skipped_and_large_ones_cross_buffer_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.jsonl");
    let big = format!("{{\"big\":\"{}\"}}", "x".repeat(200));
    let huge = format!("{{\"huge\":\"{}\"}}", "y".repeat(3 << 20));
    let text = format!("{{\"a\":1}}\n{big}\n{{\"a\":2}}\n{huge}\n{{\"a\":3}}\n");
    std::fs::write(&path, &text).unwrap();
    let small = ReadOptions {
        max_event_bytes: 100,
        ..ReadOptions::default()
    };
    let (events, problems) = read_path(&path, &small, &DiscoverOptions::default());
    let values: Vec<_> = events.iter().map(|e| e.pairs()).collect();
    assert_eq!(values, [["a=1"], ["a=2"], ["a=3"]]);
    let lines: Vec<_> = problems
        .iter()
        .map(|p| (p.location.to_string(), p.kind.to_string()))
        .collect();
    let too_large = "event larger than the 100-byte limit; skipped".to_string();
    assert_eq!(
        lines,
        [
            ("line 2 (byte 8)".to_string(), too_large.clone()),
            (
                format!("line 4 (byte {})", 8 + big.len() + 1 + 8),
                too_large
            ),
        ]
    );
    // With the default limit, the 3 MiB event is read across several 1 MiB reads.
    let (events, problems) = read_path(&path, &ReadOptions::default(), &DiscoverOptions::default());
    assert!(problems.is_empty());
    assert_eq!(events.len(), 5);
    assert_eq!(events[3].fields[0].2.len(), 3 << 20);
    let per_line: BTreeMap<_, _> = events
        .iter()
        .map(|e| match e.location {
            Location::Text { line, .. } => (line, e.fields[0].0.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(per_line[&Some(4)], "huge");
    assert_eq!(per_line[&Some(5)], "a");
}
