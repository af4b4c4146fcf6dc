//! Discovery: folders, globs, standard input, format sniffing, skipped paths and work units.

use std::path::{Path, PathBuf};

use sigrun_logs::{DiscoverOptions, Input, SkipReason, SourceKind, UnitKind, discover};

/// An EVTX file of `chunks` chunks: a header with the signature, then zeroes.
fn fake_evtx(path: &Path, chunks: u64) {
    let mut bytes = vec![0u8; 4096 + chunks as usize * 65536];
    bytes[..8].copy_from_slice(b"ElfFile\0");
    std::fs::write(path, bytes).unwrap();
}

fn name(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[test]
fn folders_globs_stdin_and_skips_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("sub")).unwrap();
    fake_evtx(&root.join("b.evtx"), 3);
    std::fs::write(root.join("a.log"), "{\"a\":1}\n").unwrap();
    std::fs::write(root.join("sub/z.json"), " [ {} ]").unwrap();
    std::fs::write(root.join("sub/dump.txt"), "Record 1\n{\"Event\":{}}\n").unwrap();
    std::fs::write(root.join("notes.yml"), "title: x\n").unwrap();
    std::fs::write(root.join("empty.json"), "  \n").unwrap();

    let inputs = [
        Input::Path(root.to_path_buf()),
        Input::Path(root.join("*.l?g")),
        Input::Path(root.join("missing.evtx")),
        Input::Path(root.join("nothing*.json")),
        Input::from_arg("-"),
    ];
    let sources = discover(&inputs, &DiscoverOptions::default());
    let found: Vec<_> = sources
        .iter()
        .map(|s| {
            (
                name(s.path(), root),
                s.kind().clone(),
                s.is_explicit(),
                s.index(),
            )
        })
        .collect();
    let skipped = |reason| SourceKind::Skipped(reason);
    assert_eq!(
        found,
        [
            ("a.log".into(), SourceKind::Json, false, 0),
            ("b.evtx".into(), SourceKind::Evtx, false, 1),
            ("empty.json".into(), skipped(SkipReason::Empty), false, 2),
            (
                "notes.yml".into(),
                skipped(SkipReason::UnknownFormat),
                false,
                3
            ),
            ("sub/dump.txt".into(), SourceKind::Json, false, 4),
            ("sub/z.json".into(), SourceKind::Json, false, 5),
            ("a.log".into(), SourceKind::Json, true, 6),
            (
                "missing.evtx".into(),
                skipped(SkipReason::NotFound),
                true,
                7
            ),
            (
                "nothing*.json".into(),
                skipped(SkipReason::NoMatch),
                true,
                8
            ),
            ("-".into(), SourceKind::Stdin, true, 9),
        ]
    );
    let units: Vec<_> = sources
        .iter()
        .flat_map(|s| s.units())
        .map(|u| (u.key(), u.kind().clone()))
        .collect();
    assert_eq!(
        units,
        [
            ((0, 0), UnitKind::Json { bytes: 0..8 }),
            ((1, 0), UnitKind::Evtx { chunks: 0..3 }),
            ((4, 0), UnitKind::Json { bytes: 0..22 }),
            ((5, 0), UnitKind::Json { bytes: 0..7 }),
            ((6, 0), UnitKind::Json { bytes: 0..8 }),
            ((9, 0), UnitKind::Stdin),
        ]
    );
    assert_eq!(
        SkipReason::UnknownFormat.to_string(),
        "neither EVTX nor JSON (expected `ElfFile`, `{` or `[` at the start)"
    );
}

#[test]
fn evtx_files_split_into_chunk_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.evtx");
    fake_evtx(&path, 10);
    // Ten whole chunks and a cut eleventh.
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    file.set_len(4096 + 10 * 65536 + 100).unwrap();
    let options = DiscoverOptions {
        evtx_chunks_per_unit: 4,
        ..DiscoverOptions::default()
    };
    let sources = discover(&[Input::Path(path.clone())], &options);
    let ranges: Vec<_> = sources[0]
        .units()
        .iter()
        .map(|u| u.kind().clone())
        .collect();
    assert_eq!(
        ranges,
        [
            UnitKind::Evtx { chunks: 0..4 },
            UnitKind::Evtx { chunks: 4..8 },
            UnitKind::Evtx { chunks: 8..11 },
        ]
    );
    assert!(sources[0].units().windows(2).all(|w| w[0] < w[1]));
    assert_eq!(sources[0].units()[0].weight(), 4 * 65536);

    // A file with only a header still gets one unit, which checks the header.
    let header_only = dir.path().join("h.evtx");
    fake_evtx(&header_only, 0);
    let sources = discover(&[Input::Path(header_only)], &options);
    assert_eq!(
        sources[0].units()[0].kind(),
        &UnitKind::Evtx { chunks: 0..0 }
    );
}

#[test]
fn json_lines_split_at_event_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("big.jsonl");
    let mut text = String::new();
    for i in 0..20_000 {
        // Pretty-printed events mixed in: their inner lines never start with `{`.
        if i % 100 == 0 {
            text.push_str(&format!("{{\n  \"n\": {i},\n  \"o\": {{\"x\": 1}}\n}}\n"));
        } else {
            text.push_str(&format!(
                "{{\"n\":{i},\"pad\":\"{}\"}}\n",
                "x".repeat(i % 50)
            ));
        }
    }
    std::fs::write(&path, &text).unwrap();
    let options = DiscoverOptions {
        json_unit_bytes: 1 << 16,
        ..DiscoverOptions::default()
    };
    let sources = discover(&[Input::Path(path)], &options);
    let units = sources[0].units();
    assert!(units.len() > 10, "{} units", units.len());
    let mut expected_start = 0;
    for unit in units {
        let UnitKind::Json { bytes } = unit.kind() else {
            panic!()
        };
        assert_eq!(bytes.start, expected_start);
        if bytes.start > 0 {
            let start = bytes.start as usize;
            assert_eq!(&text.as_bytes()[start - 1..start + 1], b"\n{");
        }
        expected_start = bytes.end;
    }
    assert_eq!(expected_start, text.len() as u64);

    // A file that starts with `[` is one unit.
    let array = dir.path().join("array.json");
    std::fs::write(
        &array,
        format!("[{}]", "{\"a\":1},\n".repeat(20_000) + "{}"),
    )
    .unwrap();
    let sources = discover(&[Input::Path(array)], &options);
    assert_eq!(sources[0].units().len(), 1);
}

/// With `defer_small_files`, a file found in a folder and no larger than one unit is one
/// whole-file unit, told when read; larger files and named files are told here.
#[test]
fn small_files_in_folders_are_told_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fake_evtx(&root.join("big.evtx"), 17);
    fake_evtx(&root.join("small.evtx"), 16);
    std::fs::write(root.join("a.json"), "{\"a\":1}\n").unwrap();
    std::fs::write(root.join("notes.yml"), "title: x\n").unwrap();
    let options = DiscoverOptions {
        defer_small_files: true,
        ..DiscoverOptions::default()
    };
    let inputs = [
        Input::Path(root.to_path_buf()),
        Input::Path(root.join("notes.yml")),
    ];
    let sources = discover(&inputs, &options);
    let found: Vec<_> = sources
        .iter()
        .map(|s| {
            let units: Vec<_> = s.units().iter().map(|u| u.kind().clone()).collect();
            (name(s.path(), root), s.kind().clone(), units)
        })
        .collect();
    let deferred = |len| (SourceKind::Deferred, vec![UnitKind::File { len }]);
    let expected = [
        ("a.json", deferred(8)),
        (
            "big.evtx",
            (
                SourceKind::Evtx,
                vec![
                    UnitKind::Evtx { chunks: 0..16 },
                    UnitKind::Evtx { chunks: 16..17 },
                ],
            ),
        ),
        ("notes.yml", deferred(9)),
        ("small.evtx", deferred(4096 + 16 * 65536)),
        (
            "notes.yml",
            (SourceKind::Skipped(SkipReason::UnknownFormat), Vec::new()),
        ),
    ];
    let expected: Vec<_> = expected
        .into_iter()
        .map(|(name, (kind, units))| (name.to_string(), kind, units))
        .collect();
    assert_eq!(found, expected);
    // Read: the JSON file's event; the rule file reads as no log; a file gone since is an
    // error that names it.
    let read = |unit| {
        let mut events = 0;
        sigrun_logs::read_unit(
            unit,
            &sigrun_logs::ReadOptions::default(),
            &mut sigrun_logs::ReadScratch::new(),
            |_| {
                events += 1;
                std::ops::ControlFlow::Continue(())
            },
            |problem| panic!("{problem}"),
        )
        .map(|stats| (events, stats.not_a_log))
        .map_err(|error| error.to_string())
    };
    assert_eq!(read(&sources[0].units()[0]), Ok((1, false)));
    assert_eq!(read(&sources[2].units()[0]), Ok((0, true)));
    std::fs::remove_file(root.join("a.json")).unwrap();
    let gone = read(&sources[0].units()[0]).unwrap_err();
    assert!(
        gone.starts_with(&format!("{}: open failed: ", root.join("a.json").display())),
        "{gone}"
    );
}
