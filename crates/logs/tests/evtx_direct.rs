//! EVTX records filled straight from their template values must give exactly the event that
//! rendering them to JSON and flattening that gives: the same fields (names, kinds, text, in
//! order), header, location and JSON text. Checked on every EVTX file of the shared corpus,
//! with both ways counted so that the direct way is known to be the one taken.

mod common;

use std::ops::ControlFlow;
use std::path::PathBuf;

use common::{Owned, shared};
use sigrun_logs::{
    DiscoverOptions, Input, ReadOptions, ReadScratch, SourceKind, discover, read_unit,
};

/// Every event of every EVTX file under `folder`, read with `options` (each one's JSON text
/// asked for); and how many records were read through their JSON rendering, and how many JSON
/// texts sigrun wrote itself from template values.
fn read(folder: PathBuf, options: &ReadOptions) -> (Vec<(PathBuf, Owned)>, Vec<String>, u64, u64) {
    let sources = discover(&[Input::Path(folder)], &DiscoverOptions::default());
    let mut events = Vec::new();
    let mut problems = Vec::new();
    let mut rendered = 0;
    let mut written = 0;
    let mut scratch = ReadScratch::new();
    for source in sources.iter().filter(|s| *s.kind() == SourceKind::Evtx) {
        for unit in source.units() {
            let stats = read_unit(
                unit,
                options,
                &mut scratch,
                |event| {
                    events.push((source.path().to_path_buf(), Owned::of(&event)));
                    ControlFlow::Continue(())
                },
                |problem| problems.push(problem.to_string()),
            )
            .unwrap();
            rendered += stats.evtx_rendered;
            written += stats.json_from_values;
        }
    }
    (events, problems, rendered, written)
}

#[test]
fn template_values_give_the_events_that_json_rendering_gives() {
    let Some(shared) = shared() else { return };
    let corpus = shared.join("corpus");
    for options in [
        ReadOptions::default(),
        ReadOptions {
            recover_records: true,
            ..ReadOptions::default()
        },
    ] {
        let via_json = ReadOptions {
            evtx_json: true,
            ..options.clone()
        };
        let (direct, direct_problems, rendered, written) = read(corpus.clone(), &options);
        let (reference, reference_problems, all, none) = read(corpus.clone(), &via_json);
        assert_eq!(none, 0, "no JSON text written from values on the JSON way");
        assert_eq!(direct_problems, reference_problems);
        assert_eq!(direct.len(), reference.len());
        assert_eq!(all, reference.len() as u64, "every record rendered");
        let mut differences = Vec::new();
        for ((path, a), (_, b)) in direct.iter().zip(&reference) {
            if a != b {
                differences.push(format!(
                    "{} {:?}\n  direct: {:?}\n  json:   {:?}",
                    path.display(),
                    a.location,
                    a.fields,
                    b.fields
                ));
            }
        }
        assert!(
            differences.is_empty(),
            "{} of {} events differ:\n{}",
            differences.len(),
            direct.len(),
            differences[..differences.len().min(5)].join("\n")
        );
        let share = 1.0 - rendered as f64 / direct.len() as f64;
        let written_share = written as f64 / direct.len() as f64;
        println!(
            "{} records (recover_records {}), {:.1}% read from template values, {:.1}% of \
             their JSON texts written from them",
            direct.len(),
            options.recover_records,
            share * 100.0,
            written_share * 100.0
        );
        // The direct way must be the one taken for nearly every live record of the corpus
        // (carved records always take the JSON way).
        if !options.recover_records {
            assert!(share > 0.9, "only {:.1}% read directly", share * 100.0);
            // And nearly every one of those records' JSON text (the `raw` compared above) is
            // written by sigrun from the same values.
            assert!(
                written_share > 0.85,
                "only {:.1}% of JSON texts written from values",
                written_share * 100.0
            );
        }
    }
}

/// A directly read record's JSON is rendered by `evtx`'s record iterator, advanced only as far
/// as that record: asking for a few records' JSON, far apart and in chunks where most records
/// are never asked for, must give each exactly the text that reading every record through
/// JSON gives.
#[test]
fn json_asked_for_some_records_only_is_each_one_s_own() {
    let Some(shared) = shared() else { return };
    let folder = shared.join("corpus");
    let via_json = ReadOptions {
        evtx_json: true,
        ..ReadOptions::default()
    };
    let (reference, _, _, _) = read(folder.clone(), &via_json);
    let sources = discover(&[Input::Path(folder)], &DiscoverOptions::default());
    let mut scratch = ReadScratch::new();
    let mut asked = Vec::new();
    let mut index = 0usize;
    for source in sources.iter().filter(|s| *s.kind() == SourceKind::Evtx) {
        for unit in source.units() {
            read_unit(
                unit,
                &ReadOptions::default(),
                &mut scratch,
                |event| {
                    if index % 7 == 3 {
                        let raw = String::from_utf8_lossy(event.raw_json()).into_owned();
                        asked.push((index, event.location(), raw));
                    }
                    index += 1;
                    ControlFlow::Continue(())
                },
                |_| {},
            )
            .unwrap();
        }
    }
    assert_eq!(index, reference.len());
    assert!(asked.len() > 1000, "{}", asked.len());
    for (index, location, raw) in &asked {
        let (_, expected) = &reference[*index];
        assert_eq!(*location, expected.location);
        assert_eq!(*raw, expected.raw, "{location:?}");
    }
}
