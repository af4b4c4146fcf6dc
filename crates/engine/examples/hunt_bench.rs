//! Measures the engine on the shared corpus: compile time of every SigmaHQ Windows rule and
//! matching cost over the EVTX-ATTACK-SAMPLES records, against the
//! parse floor (the `evtx` crate rendering every record as JSON).
//!
//! ```text
//! cargo run --release -p sigrun-engine --example hunt_bench [-- <rules dir> <evtx dir>]
//! ```
//! Paths default to `$SIGRUN_SHARED` (or `../shared`) `corpus/sigma/rules/windows` and
//! `corpus/evtx-attack-samples`. Knobs (environment): `BENCH_REPEAT=n` (warm passes), `BENCH_CHECK=0` (skip the comparison
//! with the exhaustive path), `BENCH_MEMORY=n` (n engine-only passes over the events held in
//! memory; the function `hunt_bench::memory_pass` isolates them for profilers),
//! `BENCH_GROUPS=1` (cost per channel and event id, and the slowest events), `BENCH_MEMO=bytes`
//! (size of the per-thread memory of field scans; 0 turns it off; a list such as `0,4194304`
//! alternates the sizes pass by pass in the memory passes and prints each one's median). Every pass starts with a
//! fresh scratch, so that remembered scans only help within a pass, as in one run over logs.

use sigrun_engine::{CompileOptions, Engine};
use sigrun_logs::{DiscoverOptions, Input, ReadOptions, ReadScratch, discover, read_unit};
use sigrun_pipeline::Pipeline;
use sigrun_rule::RuleSet;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn main() {
    let shared = std::env::var_os("SIGRUN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let mut args = std::env::args().skip(1);
    let rules_dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| shared.join("corpus/sigma/rules/windows"));
    let evtx_dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| shared.join("corpus/evtx-attack-samples"));
    if !rules_dir.is_dir() || !evtx_dir.is_dir() {
        println!(
            "skipped: {} or {} is absent",
            rules_dir.display(),
            evtx_dir.display()
        );
        return;
    }

    let started = Instant::now();
    let (set, _) = RuleSet::load(std::slice::from_ref(&rules_dir));
    let documents = set.numbered_documents();
    println!(
        "load+parse {} rule documents: {:?}",
        documents.len(),
        started.elapsed()
    );
    let pipeline = Pipeline::builtin("windows").expect("builtin pipeline");

    let options = CompileOptions::default();
    let started = Instant::now();
    let (engine, problems) = Engine::compile_documents(&documents, pipeline, &options);
    let compile = started.elapsed();
    let stats = engine.stats();
    println!(
        "compile: {compile:?} (lowering {:?}, scan tables {:?}; automata are built on first use); {} rules, {} problems, \
         {} variants ({} untriggered), {} atoms, {} patterns in {} automata, {} buckets",
        stats.lowering,
        stats.scan_tables,
        stats.rules,
        problems.len(),
        stats.variants,
        stats.untriggered_variants,
        stats.atoms,
        stats.automaton_patterns,
        stats.automata,
        stats.buckets,
    );
    for (field, patterns) in &stats.largest_automata {
        println!("    automaton {field}: {patterns} patterns");
    }
    run(&engine, &evtx_dir);
}

fn run(engine: &Engine, evtx_dir: &Path) {
    // Parse floor: the evtx crate rendering every record as JSON text.
    let files: Vec<PathBuf> = walk(evtx_dir);
    let started = Instant::now();
    let mut records = 0usize;
    for file in &files {
        if let Ok(mut parser) = evtx::EvtxParser::from_path(file) {
            let settings = evtx::ParserSettings::new().num_threads(1);
            parser = parser.with_configuration(settings);
            for record in parser.records_json().flatten() {
                records += 1;
                std::hint::black_box(record.data.len());
            }
        }
    }
    let floor = started.elapsed();

    // sigrun-logs reading alone, then reading and matching.
    let sources = discover(
        &[Input::Path(evtx_dir.to_path_buf())],
        &DiscoverOptions::default(),
    );
    let read_options = ReadOptions::default();
    let mut read_scratch = ReadScratch::new();
    let started = Instant::now();
    let mut events = 0usize;
    for unit in sources.iter().flat_map(|s| s.units()) {
        let _ = read_unit(
            unit,
            &read_options,
            &mut read_scratch,
            |event| {
                events += 1;
                std::hint::black_box(event.field_count());
                ControlFlow::Continue(())
            },
            |_| {},
        );
    }
    let read = started.elapsed();

    let check = std::env::var("BENCH_CHECK").as_deref() != Ok("0");
    // BENCH_MEMO=bytes, or a list (`0,4194304`) compared pass by pass in the memory passes.
    let memo_sizes: Vec<usize> = std::env::var("BENCH_MEMO")
        .unwrap_or_default()
        .split(',')
        .filter_map(|b| b.parse().ok())
        .collect();
    let memo_bytes = memo_sizes.first().copied();
    let fresh_scratch = || {
        let mut scratch = engine.new_scratch();
        if let Some(bytes) = memo_bytes {
            scratch.set_scan_memo_bytes(bytes);
        }
        scratch
    };
    let mut scratch = fresh_scratch();
    let mut exhaustive_scratch = engine.new_scratch();
    let mut matches = 0usize;
    let mut disagreements = 0usize;
    let mut match_time = Duration::ZERO;
    let mut fast = Vec::new();
    let mut slow = Vec::new();
    let started = Instant::now();
    for unit in sources.iter().flat_map(|s| s.units()) {
        let _ = read_unit(
            unit,
            &read_options,
            &mut read_scratch,
            |event| {
                let t = Instant::now();
                fast.clear();
                matches += engine.match_event(&event, &mut scratch, |m| fast.push(m.rule));
                match_time += t.elapsed();
                if check {
                    slow.clear();
                    engine.match_event_exhaustive(&event, &mut exhaustive_scratch, |m| {
                        slow.push(m.rule)
                    });
                    if fast != slow {
                        disagreements += 1;
                    }
                }
                ControlFlow::Continue(())
            },
            |_| {},
        );
    }
    let total = started.elapsed();

    // Steady state: the same events matched again (warm caches), timed per event.
    let repeat: usize = std::env::var("BENCH_REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    let mut again = Duration::ZERO;
    let mut last_pass = usize::MAX;
    for (pass, unit) in std::iter::repeat_n(&sources, repeat)
        .enumerate()
        .flat_map(|(pass, s)| s.iter().flat_map(|s| s.units()).map(move |u| (pass, u)))
    {
        if pass != last_pass {
            last_pass = pass;
            scratch = fresh_scratch();
        }
        let _ = read_unit(
            unit,
            &read_options,
            &mut read_scratch,
            |event| {
                let t = Instant::now();
                engine.match_event(&event, &mut scratch, |_| {});
                again += t.elapsed();
                ControlFlow::Continue(())
            },
            |_| {},
        );
    }
    let again = again / repeat.max(1) as u32;
    // BENCH_MEMORY=n: the engine alone, n passes over the events held in memory.
    if let Some(passes) = std::env::var("BENCH_MEMORY")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        let mut owned = Vec::new();
        for unit in sources.iter().flat_map(|s| s.units()) {
            let _ = read_unit(
                unit,
                &read_options,
                &mut read_scratch,
                |event| {
                    let mut m = sigrun_engine::MemoryEvent::new();
                    for (name, value) in event.fields() {
                        let kind = match value.kind() {
                            sigrun_logs::ValueKind::String => sigrun_engine::ValueKind::String,
                            sigrun_logs::ValueKind::Number => sigrun_engine::ValueKind::Number,
                            sigrun_logs::ValueKind::Bool => sigrun_engine::ValueKind::Bool,
                            sigrun_logs::ValueKind::Null => sigrun_engine::ValueKind::Null,
                        };
                        m.push(name, kind, value.text());
                    }
                    owned.push(m);
                    ControlFlow::Continue(())
                },
                |_| {},
            );
        }
        let t = Instant::now();
        let mut n = 0;
        let mut per_size = vec![Vec::new(); memo_sizes.len()];
        for pass in 0..passes {
            scratch = engine.new_scratch();
            if !memo_sizes.is_empty() {
                scratch.set_scan_memo_bytes(memo_sizes[pass % memo_sizes.len()]);
            }
            let started = Instant::now();
            n += memory_pass(engine, &owned, &mut scratch);
            if !memo_sizes.is_empty() {
                per_size[pass % memo_sizes.len()].push(started.elapsed());
            }
        }
        let d = t.elapsed() / passes.max(1) as u32;
        for (size, mut times) in memo_sizes.iter().zip(per_size) {
            times.sort();
            if let Some(median) = times.get(times.len() / 2) {
                println!("  in memory, scan memo {size} bytes: median {median:?} per pass");
            }
        }

        if std::env::var_os("BENCH_GROUPS").is_some() {
            use sigrun_engine::EventView;
            let mut groups: std::collections::BTreeMap<(String, u32), (usize, Duration)> =
                Default::default();
            for event in &owned {
                let t = Instant::now();
                for _ in 0..5 {
                    engine.match_event(event, &mut scratch, |_| {});
                }
                let e = t.elapsed() / 5;
                let g = groups
                    .entry((
                        event.channel().unwrap_or("").to_owned(),
                        event.event_id().unwrap_or(0),
                    ))
                    .or_default();
                g.0 += 1;
                g.1 += e;
            }
            let mut slowest: Vec<(Duration, usize)> = owned
                .iter()
                .enumerate()
                .map(|(i, event)| {
                    let best = (0..5)
                        .map(|_| {
                            let t = Instant::now();
                            engine.match_event(event, &mut scratch, |_| {});
                            t.elapsed()
                        })
                        .min()
                        .unwrap_or_default();
                    (best, i)
                })
                .collect();
            slowest.sort();
            for (d, i) in slowest.iter().rev().take(5) {
                let event = &owned[*i];
                let (mut n, mut bytes, mut max) = (0, 0, (0, String::new()));
                event.for_each_field(&mut |name, v| {
                    n += 1;
                    bytes += v.text.len();
                    if v.text.len() > max.0 {
                        max = (v.text.len(), name.to_owned());
                    }
                });
                println!(
                    "    slow: {d:?} {:?} {:?}: {n} fields, {bytes} bytes, longest {max:?}",
                    event.channel(),
                    event.event_id()
                );
            }
            let mut sorted: Vec<_> = groups.into_iter().collect();
            sorted.sort_by_key(|(_, (_, d))| std::cmp::Reverse(*d));
            for ((c, e), (n, d)) in sorted.iter().take(15) {
                println!(
                    "    {c} {e}: {n} events, {d:?} total, {:.2} µs/event",
                    d.as_secs_f64() * 1e6 / *n as f64
                );
            }
        }
        println!(
            "  in memory: {d:?} per pass ({:.2} µs/event), {n} matches",
            d.as_secs_f64() * 1e6 / owned.len() as f64
        );
    }
    let per_event = |d: Duration| d.as_secs_f64() * 1e6 / events.max(1) as f64;
    println!(
        "  {records} records (evtx floor {floor:?} = {:.0} rec/s); sigrun-logs read {events} \
         events in {read:?}; matching {match_time:?} ({:.2} µs/event, {:.0} events/s, \
         {:.2}× floor), warm {again:?} ({:.2} µs/event, {:.2}× floor); {matches} matches{}",
        records as f64 / floor.as_secs_f64(),
        per_event(match_time),
        events as f64 / match_time.as_secs_f64(),
        match_time.as_secs_f64() / floor.as_secs_f64(),
        per_event(again),
        again.as_secs_f64() / floor.as_secs_f64(),
        if check {
            format!(
                ", {disagreements} disagreements with the exhaustive path (read+match+check {total:?})"
            )
        } else {
            String::new()
        }
    );
}

/// One pass of the engine over events in memory (a separate function so that profilers can
/// isolate it: `valgrind --tool=callgrind --toggle-collect=hunt_bench::memory_pass`).
#[inline(never)]
fn memory_pass(
    engine: &Engine,
    events: &[sigrun_engine::MemoryEvent],
    scratch: &mut sigrun_engine::Scratch,
) -> usize {
    events
        .iter()
        .map(|event| engine.match_event(event, scratch, |_| {}))
        .sum()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
