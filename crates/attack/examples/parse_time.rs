//! Measures how long parsing the embedded ATT&CK table and resolving tags take.
//!
//! `cargo run --release -p sigrun-attack --example parse_time`

use std::hint::black_box;
use std::time::{Duration, Instant};

use sigrun_attack::AttackData;

/// Runs `f` `runs` times and returns the minimum and the median duration.
fn measure<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[0], times[runs / 2])
}

fn main() {
    let first = Instant::now();
    let data = AttackData::embedded();
    println!("first AttackData::embedded(): {:?}", first.elapsed());

    let (min, median) = measure(200, AttackData::parse_embedded);
    println!("parse embedded table (200 runs): min {min:?}, median {median:?}");

    let mut tags: Vec<String> = data.techniques().iter().map(|t| t.tag()).collect();
    tags.extend(data.tactics().iter().map(|t| t.tag()));
    tags.extend(data.objects().iter().filter_map(|o| o.tag()));
    tags.extend(
        data.revocations()
            .iter()
            .map(|r| format!("attack.{}", r.id().to_ascii_lowercase())),
    );
    tags.extend(
        [
            "attack.privilege_escalation",
            "attack.stealth",
            "attack.t9999",
            "attack.T1059",
        ]
        .map(String::from),
    );
    let (min, median) = measure(200, || {
        for tag in &tags {
            black_box(data.resolve_tag(tag));
        }
    });
    let per_tag = median / u32::try_from(tags.len()).unwrap_or(u32::MAX);
    println!(
        "resolve {} tags (200 runs): min {min:?}, median {median:?} ({per_tag:?} per tag)",
        tags.len()
    );
}
