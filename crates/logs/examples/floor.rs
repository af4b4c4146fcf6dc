//! The parse floor: render every record of the given EVTX files to JSON with the `evtx` crate
//! alone, the least any EVTX reader built on it can cost. Compare with `examples/read.rs`.
//!
//! `cargo run --release -p sigrun-logs --example floor -- [--threads N] [--api chunk|parser]
//!  [--repeat N] INPUT...` (files or folders; folders are searched for `*.evtx`).
//!
//! `--api chunk` (default) renders chunk by chunk with `EvtxChunkData` and `into_json_bytes`,
//! the API sigrun-logs uses; `--api parser` uses `EvtxParser::records_json_bytes`. Threads take
//! whole files.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use evtx::{EvtxChunkData, EvtxParser, ParserSettings};

fn main() {
    let mut threads = 1;
    let mut repeat = 1;
    let mut parser_api = false;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = number(args.next()),
            "--repeat" => repeat = number(args.next()),
            "--api" => match args.next().as_deref() {
                Some("chunk") => parser_api = false,
                Some("parser") => parser_api = true,
                _ => usage(),
            },
            _ => collect(PathBuf::from(arg), &mut files),
        }
    }
    if files.is_empty() {
        usage();
    }
    let settings = ParserSettings::new().num_threads(1).indent(false);
    for _ in 0..repeat {
        let records = AtomicU64::new(0);
        let bytes = AtomicU64::new(0);
        let errors = AtomicU64::new(0);
        let next = AtomicUsize::new(0);
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads.max(1) {
                scope.spawn(|| {
                    let mut counts = Counts::default();
                    while let Some(file) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                        if parser_api {
                            by_parser(file, &settings, &mut counts);
                        } else {
                            by_chunk(file, &settings, &mut counts);
                        }
                    }
                    records.fetch_add(counts.records, Ordering::Relaxed);
                    bytes.fetch_add(counts.bytes, Ordering::Relaxed);
                    errors.fetch_add(counts.errors, Ordering::Relaxed);
                });
            }
        });
        println!(
            "floor ({}): {} files, {} records, {} JSON bytes, {} errors, threads {threads}, {:.4} s",
            if parser_api { "parser" } else { "chunk" },
            files.len(),
            records.load(Ordering::Relaxed),
            bytes.load(Ordering::Relaxed),
            errors.load(Ordering::Relaxed),
            started.elapsed().as_secs_f64()
        );
    }
}

#[derive(Default)]
struct Counts {
    records: u64,
    bytes: u64,
    errors: u64,
}

impl Counts {
    fn add(&mut self, json: Result<Vec<u8>, evtx::err::EvtxError>) {
        match json {
            Ok(json) => {
                self.records += 1;
                self.bytes += json.len() as u64;
            }
            Err(_) => self.errors += 1,
        }
    }
}

/// Every record through `EvtxParser`'s record iterator.
fn by_parser(file: &PathBuf, settings: &ParserSettings, counts: &mut Counts) {
    let Ok(parser) = EvtxParser::from_path(file) else {
        counts.errors += 1;
        return;
    };
    let mut parser = parser.with_configuration(settings.clone());
    for record in parser.records_json_bytes() {
        counts.add(record.map(|r| r.data));
    }
}

/// Every record, one 64 KiB chunk at a time.
fn by_chunk(file: &PathBuf, settings: &ParserSettings, counts: &mut Counts) {
    let settings = Arc::new(settings.clone());
    let Ok(mut reader) = std::fs::File::open(file) else {
        counts.errors += 1;
        return;
    };
    let mut buffer = vec![0; 65536];
    for chunk in 0.. {
        let offset = 4096 + chunk * 65536;
        buffer.resize(65536, 0);
        if reader.seek(SeekFrom::Start(offset)).is_err() || reader.read_exact(&mut buffer).is_err()
        {
            break;
        }
        let Ok(mut data) = EvtxChunkData::new(std::mem::take(&mut buffer), false) else {
            continue;
        };
        if let Ok(mut parsed) = data.parse(Arc::clone(&settings)) {
            for record in parsed.iter() {
                counts.add(record.and_then(|r| r.into_json_bytes()).map(|r| r.data));
            }
        }
        buffer = data.data;
    }
}

fn collect(path: PathBuf, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in walkdir::WalkDir::new(&path)
            .sort_by_file_name()
            .into_iter()
            .flatten()
        {
            if entry
                .path()
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
            {
                files.push(entry.into_path());
            }
        }
    } else {
        files.push(path);
    }
}

fn number(arg: Option<String>) -> usize {
    arg.and_then(|a| a.parse().ok()).unwrap_or_else(|| usage())
}

fn usage() -> ! {
    eprintln!("usage: floor [--threads N] [--repeat N] [--api chunk|parser] INPUT...");
    std::process::exit(2)
}
