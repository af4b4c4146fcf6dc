//! The JSON / JSON Lines event reader on arbitrary bytes, in every layout: events or counted
//! problems, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigrun_logs::{Layout, LayoutChoice, ReadScratch, read_json_bytes};
use std::ops::ControlFlow;

fuzz_target!(|data: &[u8]| {
    let mut scratch = ReadScratch::new();
    for layout in [
        LayoutChoice::Auto,
        LayoutChoice::Fixed(Layout::WindowsNested),
        LayoutChoice::Fixed(Layout::WindowsFlat),
        LayoutChoice::Fixed(Layout::Ecs),
    ] {
        read_json_bytes(
            data,
            layout,
            &mut scratch,
            |event| {
                for (name, value) in event.fields() {
                    std::hint::black_box((name, value.text()));
                }
                ControlFlow::Continue(())
            },
            |problem| {
                std::hint::black_box(problem.to_string());
            },
        );
    }
});
