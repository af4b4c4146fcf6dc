//! Matching allocates nothing per event once the scratch has grown: a second pass of the
//! whole Windows rule set over the EVTX attack samples makes no allocation inside
//! `match_event`. Allocations are counted per thread, so that the test harness's own threads
//! do not count.

mod common;
#[path = "../../logs/tests/common/counting.rs"]
mod counting;

use common::{read_logs, sigmahq_windows, windows};
use counting::allocations_so_far;
use sigrun_engine::{CompileOptions, Engine};

#[test]
fn no_allocation_per_event_when_matching() {
    let Some((shared, set)) = sigmahq_windows() else {
        return;
    };
    let documents = set.numbered_documents();
    let (engine, _) = Engine::compile_documents(&documents, windows(), &CompileOptions::default());
    let mut scratch = engine.new_scratch();
    let logs = shared.join("corpus/evtx-attack-samples");
    // Room for every match up front, so that keeping them does not allocate.
    let mut matched: Vec<usize> = Vec::with_capacity(1 << 16);
    // The first pass builds what matching builds once (automata, regexes, the scan memo).
    read_logs(&logs, |event| {
        engine.match_event(&event, &mut scratch, |_| {});
    });
    let (mut events, mut allocations) = (0, 0);
    read_logs(&logs, |event| {
        events += 1;
        let before = allocations_so_far();
        engine.match_event(&event, &mut scratch, |m| matched.push(m.rule));
        allocations += allocations_so_far() - before;
    });
    assert!(events > 8000, "{events} events");
    assert!(matched.len() > 1000, "{} matches", matched.len());
    assert_eq!(allocations, 0, "allocations over {events} events");
}
