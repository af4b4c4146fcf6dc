//! The condition parser on arbitrary text: an expression or a located error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sigrun_rule::Span;
use sigrun_rule::condition::parse_condition;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let span_of = |a: usize, b: usize| Span::new(a as u32, b as u32);
        let mut diagnostics = Vec::new();
        if let Err(error) = parse_condition(text, &span_of, &mut diagnostics) {
            let span = error.span.expect("condition errors carry a span");
            assert!(span.end as usize <= text.len());
        }
    }
});
