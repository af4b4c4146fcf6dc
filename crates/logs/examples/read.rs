//! Read inputs through sigrun-logs and print event / problem counts and the time taken, to
//! compare with `examples/floor.rs` (the `evtx` crate alone).
//!
//! `cargo run --release -p sigrun-logs --example read -- [--threads N] [--layout auto|nested|flat|ecs]
//!  [--repeat N] [--show N] INPUT...`

use std::ops::ControlFlow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use sigrun_logs::{
    DiscoverOptions, Input, Layout, LayoutChoice, ReadOptions, ReadScratch, SourceKind, discover,
    read_unit,
};

fn main() {
    let mut threads = 1;
    let mut repeat = 1;
    let mut show = 0usize;
    let mut options = ReadOptions::default();
    let mut inputs = Vec::new();
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        let value = |args: &mut dyn Iterator<Item = std::ffi::OsString>| {
            args.next()
                .and_then(|v| v.into_string().ok())
                .unwrap_or_else(|| usage())
        };
        match arg.to_str() {
            Some("--threads") => threads = value(&mut args).parse().unwrap_or_else(|_| usage()),
            Some("--repeat") => repeat = value(&mut args).parse().unwrap_or_else(|_| usage()),
            Some("--show") => show = value(&mut args).parse().unwrap_or_else(|_| usage()),
            Some("--layout") => {
                options.layout = match value(&mut args).as_str() {
                    "auto" => LayoutChoice::Auto,
                    "nested" => LayoutChoice::Fixed(Layout::WindowsNested),
                    "flat" => LayoutChoice::Fixed(Layout::WindowsFlat),
                    "ecs" => LayoutChoice::Fixed(Layout::Ecs),
                    _ => usage(),
                }
            }
            _ => inputs.push(Input::from_arg(arg)),
        }
    }
    if inputs.is_empty() {
        usage();
    }
    let started = Instant::now();
    let sources = discover(&inputs, &DiscoverOptions::default());
    let discovered = started.elapsed();
    for source in &sources {
        if let SourceKind::Skipped(reason) = source.kind()
            && source.is_explicit()
        {
            eprintln!("skipped {}: {reason}", source.path().display());
        }
    }
    let units: Vec<_> = sources.iter().flat_map(|s| s.units()).collect();
    let shown = Mutex::new(0usize);
    for round in 0..repeat {
        let events = AtomicU64::new(0);
        let fields = AtomicU64::new(0);
        let problems = AtomicU64::new(0);
        let next = AtomicUsize::new(0);
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads.max(1) {
                scope.spawn(|| {
                    let mut scratch = ReadScratch::new();
                    let (mut my_events, mut my_fields) = (0, 0);
                    while let Some(unit) = units.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let result = read_unit(
                            unit,
                            &options,
                            &mut scratch,
                            |event| {
                                my_events += 1;
                                my_fields += event.field_count() as u64;
                                if round == 0 && show > 0 {
                                    let mut shown = shown.lock().unwrap();
                                    if *shown < show {
                                        *shown += 1;
                                        println!("{event:#?}");
                                    }
                                }
                                ControlFlow::Continue(())
                            },
                            |problem| {
                                if round == 0 {
                                    eprintln!("problem: {problem}");
                                }
                            },
                        );
                        match result {
                            Ok(stats) => {
                                problems.fetch_add(stats.problems, Ordering::Relaxed);
                            }
                            Err(error) => eprintln!("error: {error}"),
                        }
                    }
                    events.fetch_add(my_events, Ordering::Relaxed);
                    fields.fetch_add(my_fields, Ordering::Relaxed);
                });
            }
        });
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "sigrun-logs: {} sources, {} units, {} events, {} fields, {} problems, \
             threads {threads}, discover {:.4} s, read {seconds:.4} s",
            sources.len(),
            units.len(),
            events.load(Ordering::Relaxed),
            fields.load(Ordering::Relaxed),
            problems.load(Ordering::Relaxed),
            discovered.as_secs_f64(),
        );
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: read [--threads N] [--repeat N] [--show N] [--layout auto|nested|flat|ecs] INPUT..."
    );
    std::process::exit(2)
}
