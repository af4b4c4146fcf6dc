//! Reading JSON allocates nothing per event once the scratch buffers have grown: the second
//! pass over a thousand events allocates as often as a pass over one. Allocations are counted
//! per thread, so that the test harness's own threads (its timer, its output) do not count.

use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::cell::Cell;
use std::ops::ControlFlow;

use sigrun_logs::{LayoutChoice, ReadScratch, read_json_bytes};

struct Counting;

thread_local! {
    /// Allocations made by this thread (a constant initializer: reading it never allocates).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn allocations_so_far() -> usize {
    ALLOCATIONS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
        // `try_with`: a thread being torn down has no counter left, and is not the test's.
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: AllocLayout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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
