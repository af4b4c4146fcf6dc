//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

use sigrun_engine::{CompileOptions, CompileProblem, Engine, EventView, MemoryEvent, ValueKind};
use sigrun_pipeline::Pipeline;
use sigrun_rule::{RuleSet, SigmaRule, SourceFile};
use std::path::PathBuf;

/// `../shared` (or `$SIGRUN_SHARED`), when present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SIGRUN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    dir.is_dir().then_some(dir)
}

/// Parses rule texts (one file each).
pub fn rule_set(texts: &[&str]) -> RuleSet {
    RuleSet::from_sources(
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| SourceFile::new(format!("rule{i}.yml"), t.to_string())),
    )
}

/// The rules of a set, with their position as id; panics on documents with errors.
pub fn rules(set: &RuleSet) -> Vec<(usize, &SigmaRule)> {
    set.documents()
        .enumerate()
        .map(|(i, d)| {
            assert!(
                !d.document.has_errors(),
                "{:?}",
                d.document
                    .diagnostics
                    .iter()
                    .map(|d| &d.message)
                    .collect::<Vec<_>>()
            );
            (i, d.document.rule().expect("a rule"))
        })
        .collect()
}

/// SigmaHQ's Windows rules from `../shared`, with the shared folder: `None`, and one printed
/// line, when it is absent. Every file must load.
pub fn sigmahq_windows() -> Option<(PathBuf, RuleSet)> {
    let Some(shared) = shared_dir() else {
        println!("skipped: ../shared is absent");
        return None;
    };
    let (set, errors) = RuleSet::load(&[shared.join("corpus/sigma/rules/windows")]);
    assert!(errors.is_empty(), "{errors:?}");
    Some((shared, set))
}

pub fn windows() -> &'static Pipeline {
    Pipeline::builtin("windows").expect("builtin")
}

pub fn compile(set: &RuleSet, pipeline: &Pipeline) -> (Engine, Vec<CompileProblem>) {
    Engine::compile(&rules(set), pipeline, &CompileOptions::default())
}

/// A rule for Sysmon/4688 process creation with the given detection body (indented by 4).
pub fn process_rule(detection: &str) -> String {
    format!(
        "title: t\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n{detection}"
    )
}

/// A rule with the given logsource line and detection body.
pub fn rule_with(logsource: &str, detection: &str) -> String {
    format!("title: t\nlogsource: {logsource}\ndetection:\n{detection}")
}

pub fn sysmon1(fields: &[(&str, &str)]) -> MemoryEvent {
    let mut event = MemoryEvent::new()
        .with("Channel", "Microsoft-Windows-Sysmon/Operational")
        .with_number("EventID", 1);
    for (name, value) in fields {
        event.push(name, ValueKind::String, value);
    }
    event
}

/// The ids of the rules of `set` matching `event`, checked against `explain` for every rule.
pub fn matching(
    engine: &Engine,
    set: &RuleSet,
    pipeline: &Pipeline,
    event: &impl EventView,
) -> Vec<usize> {
    let mut scratch = engine.new_scratch();
    let fast = engine.matching_rules(event, &mut scratch);
    // A second run with the same scratch must agree (stale stamps must not leak).
    assert_eq!(engine.matching_rules(event, &mut scratch), fast);
    let slow: Vec<usize> = rules(set)
        .into_iter()
        .filter(|(id, _)| engine.rule_ids().contains(id))
        .filter(|(_, rule)| {
            sigrun_engine::explain::explain(rule, pipeline, event, &CompileOptions::default())
                .expect("explainable")
                .matched()
        })
        .map(|(id, _)| id)
        .collect();
    assert_eq!(fast, slow, "fast path and explain disagree");
    fast
}

/// Whether the single rule `text` matches `event` under the windows pipeline.
pub fn hit(text: &str, event: &impl EventView) -> bool {
    let set = rule_set(&[text]);
    let (engine, problems) = compile(&set, windows());
    assert!(problems.is_empty(), "{problems:?}");
    !matching(&engine, &set, windows(), event).is_empty()
}

/// Reads every event of a file (or folder) with the `sigrun-logs` readers, in order.
/// Returns the number of events and of skipped parts.
pub fn read_logs(
    path: &std::path::Path,
    mut on_event: impl FnMut(sigrun_logs::Event<'_>),
) -> (usize, usize) {
    use sigrun_logs::{DiscoverOptions, Input, ReadOptions, ReadScratch, discover, read_unit};
    let sources = discover(
        &[Input::Path(path.to_path_buf())],
        &DiscoverOptions::default(),
    );
    let mut scratch = ReadScratch::new();
    let (mut events, mut problems) = (0, 0);
    for unit in sources.iter().flat_map(|s| s.units()) {
        let result = read_unit(
            unit,
            &ReadOptions::default(),
            &mut scratch,
            |event| {
                events += 1;
                on_event(event);
                std::ops::ControlFlow::Continue(())
            },
            |_| problems += 1,
        );
        if result.is_err() {
            problems += 1;
        }
    }
    (events, problems)
}
