//! Running a rule's test cases through the engine, with reasons for every failure.

use crate::Found;
use crate::regression::RegressionInfo;
use crate::sidecar::{ExpectWord, LayoutWord, Sidecar, SidecarEvents};
use sigrun_engine::explain::{Explanation, ItemExplanation, SearchNode, explain};
use sigrun_engine::{CompileOptions, Engine};
use sigrun_logs::{
    DiscoverOptions, Event, Input, Layout, LayoutChoice, ReadOptions, ReadScratch, SourceKind,
    discover, read_json_bytes, read_unit,
};
use sigrun_pipeline::Pipeline;
use sigrun_rule::SigmaRule;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// Where a rule's cases came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestSource {
    Sidecar(PathBuf),
    Regression(PathBuf),
}

/// What a case asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// Every event matches.
    All,
    /// No event matches.
    None,
    /// Exactly this many events match.
    Exactly(u64),
    /// At least one event matches (regression data without `match_count`).
    AtLeastOne,
}

impl Expectation {
    fn holds(self, matched: u64, events: u64) -> bool {
        match self {
            Expectation::All => matched == events && events > 0,
            Expectation::None => matched == 0,
            Expectation::Exactly(n) => matched == n,
            Expectation::AtLeastOne => matched >= 1,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Expectation::All => "every event matches".into(),
            Expectation::None => "no event matches".into(),
            Expectation::Exactly(n) => format!("{n} matching events"),
            Expectation::AtLeastOne => "at least one matching event".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    pub name: String,
    pub expectation: Expectation,
    pub events: u64,
    pub matched: u64,
    pub passed: bool,
    /// For a failed case: why, event by event (at most a few events).
    pub details: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    /// Nothing to run (no tests, or regression data that is not there).
    Skipped(String),
    /// The tests could not run (malformed test file, rule that does not compile, unreadable log).
    Error(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleTestReport {
    pub rule_path: String,
    pub title: String,
    pub id: String,
    pub source: Option<TestSource>,
    pub outcome: Outcome,
    pub cases: Vec<CaseResult>,
}

impl RuleTestReport {
    /// Records the result of running the rule's cases: passed when every case passed, failed
    /// when one did not, an error when they could not run.
    pub fn settle(&mut self, result: Result<Vec<CaseResult>, String>) {
        match result {
            Ok(cases) => {
                self.outcome = if cases.iter().all(|c| c.passed) {
                    Outcome::Passed
                } else {
                    Outcome::Failed
                };
                self.cases = cases;
            }
            Err(message) => self.outcome = Outcome::Error(message),
        }
    }
}

/// How many failing events a case explains.
const EXPLAINED_EVENTS: usize = 3;

/// Runs the tests `found` for `rule`. `pipeline` overrides the built-in pipeline a case would
/// pick (`windows`, or `ecs` for the ECS layout).
pub fn run_rule_tests(
    rule: &SigmaRule,
    rule_path: &Path,
    found: &Found,
    pipeline: Option<&Pipeline>,
) -> RuleTestReport {
    let mut report = RuleTestReport {
        rule_path: rule_path.display().to_string(),
        title: rule.meta.title().to_string(),
        id: rule.meta.id().unwrap_or_default().to_string(),
        source: None,
        outcome: Outcome::Passed,
        cases: Vec::new(),
    };
    let result = match found {
        Found::None => {
            report.outcome = Outcome::Skipped("no tests".into());
            return report;
        }
        Found::MissingRegression(path) => {
            report.outcome = Outcome::Skipped(format!("regression data {path} is not there"));
            return report;
        }
        Found::Sidecar(path) => {
            report.source = Some(TestSource::Sidecar(path.clone()));
            run_sidecar(rule, path, pipeline)
        }
        Found::Regression(path) => {
            report.source = Some(TestSource::Regression(path.clone()));
            run_regression(rule, path, pipeline)
        }
    };
    report.settle(result);
    report
}

fn run_sidecar(
    rule: &SigmaRule,
    path: &Path,
    pipeline: Option<&Pipeline>,
) -> Result<Vec<CaseResult>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    run_sidecar_text(rule, path, &text, pipeline)
}

/// Runs sidecar cases given as text (the built-in pack embeds its sidecars).
pub fn run_sidecar_text(
    rule: &SigmaRule,
    path: &Path,
    text: &str,
    pipeline: Option<&Pipeline>,
) -> Result<Vec<CaseResult>, String> {
    let sidecar = Sidecar::parse(path, text).map_err(|e| e.to_string())?;
    if let Some(named) = &sidecar.rule
        && rule.meta.id() != Some(named.as_str())
        && rule.meta.name() != Some(named.as_str())
    {
        return Err(format!(
            "{}: the tests are for rule '{named}', not for '{}' ({})",
            path.display(),
            rule.meta.title(),
            rule.meta.id().unwrap_or("no id")
        ));
    }
    let mut results = Vec::new();
    for case in &sidecar.tests {
        let layout = match case.layout {
            None => LayoutChoice::Auto,
            Some(LayoutWord::WindowsNested) => LayoutChoice::Fixed(Layout::WindowsNested),
            Some(LayoutWord::WindowsFlat) => LayoutChoice::Fixed(Layout::WindowsFlat),
            Some(LayoutWord::Ecs) => LayoutChoice::Fixed(Layout::Ecs),
        };
        let builtin_name = case.pipeline.clone().unwrap_or_else(|| {
            if case.layout == Some(LayoutWord::Ecs) {
                "ecs"
            } else {
                "windows"
            }
            .to_string()
        });
        let chosen = match pipeline {
            Some(p) => p,
            None => Pipeline::builtin(&builtin_name)
                .map_err(|e| format!("{}: case '{}': {e}", path.display(), case.name))?,
        };
        let expectation = match (case.expect, case.matches) {
            (Some(ExpectWord::Match), _) => Expectation::All,
            (Some(ExpectWord::NoMatch), _) => Expectation::None,
            (None, Some(n)) => Expectation::Exactly(n),
            (None, None) => Expectation::AtLeastOne,
        };
        let events = case.events(path);
        let result = run_case(rule, chosen, &case.name, expectation, &events, layout)
            .map_err(|e| format!("{}: case '{}': {e}", path.display(), case.name))?;
        results.push(result);
    }
    Ok(results)
}

fn run_regression(
    rule: &SigmaRule,
    info_path: &Path,
    pipeline: Option<&Pipeline>,
) -> Result<Vec<CaseResult>, String> {
    let text =
        std::fs::read_to_string(info_path).map_err(|e| format!("{}: {e}", info_path.display()))?;
    let info = RegressionInfo::parse(&text).map_err(|e| format!("{}: {e}", info_path.display()))?;
    let root = RegressionInfo::root_of(info_path);
    let chosen = match pipeline {
        Some(p) => p,
        None => Pipeline::builtin("windows").map_err(|e| e.to_string())?,
    };
    let mut results = Vec::new();
    for case in &info.regression_tests_info {
        let expectation = case
            .match_count
            .map_or(Expectation::AtLeastOne, Expectation::Exactly);
        let file = root.join(&case.path);
        let events = SidecarEvents::File(file);
        results.push(run_case(
            rule,
            chosen,
            &case.name,
            expectation,
            &events,
            LayoutChoice::Auto,
        )?);
    }
    if results.is_empty() {
        return Err(format!(
            "{}: no regression_tests_info entries",
            info_path.display()
        ));
    }
    Ok(results)
}

/// Counts the events the rule matches and explains the first events that went against the
/// expectation.
fn run_case(
    rule: &SigmaRule,
    pipeline: &Pipeline,
    name: &str,
    expectation: Expectation,
    events: &SidecarEvents,
    layout: LayoutChoice,
) -> Result<CaseResult, String> {
    let options = CompileOptions::default();
    let (engine, problems) = Engine::compile(&[(0, rule)], pipeline, &options);
    if let Some(problem) = problems.first() {
        return Err(format!("the rule cannot run: {}", problem.kind));
    }
    let mut scratch = engine.new_scratch();
    let mut total = 0u64;
    let mut matched = 0u64;
    let mut details = Vec::new();
    let mut problems = Vec::new();
    let mut on_event = |event: Event<'_>| {
        total += 1;
        let hit = engine.match_event(&event, &mut scratch, |_| {}) > 0;
        if hit {
            matched += 1;
        }
        let unexpected = match expectation {
            Expectation::All => !hit,
            Expectation::None => hit,
            Expectation::Exactly(_) | Expectation::AtLeastOne => false,
        };
        if unexpected && details.len() < EXPLAINED_EVENTS {
            let which = match event.record_id() {
                Some(record) => format!("event {total} (record {record})"),
                None => format!("event {total}"),
            };
            let why = match explain(rule, pipeline, &event, &options) {
                Ok(explanation) => summarize(&explanation),
                Err(problem) => problem.to_string(),
            };
            let verb = if hit { "matched" } else { "did not match" };
            details.push(format!("{which} {verb}: {why}"));
        }
        ControlFlow::Continue(())
    };
    let mut read_scratch = ReadScratch::new();
    match events {
        SidecarEvents::Inline(values) => {
            for value in values {
                let bytes = serde_json::to_vec(value).map_err(|e| e.to_string())?;
                read_json_bytes(&bytes, layout, &mut read_scratch, &mut on_event, |p| {
                    problems.push(p.to_string())
                });
            }
        }
        SidecarEvents::File(path) => {
            let sources = discover(&[Input::from_arg(path)], &DiscoverOptions::default());
            let options = ReadOptions {
                layout,
                ..ReadOptions::default()
            };
            for source in &sources {
                if let SourceKind::Skipped(reason) = source.kind() {
                    return Err(format!("{}: {reason}", source.path().display()));
                }
                for unit in source.units() {
                    read_unit(unit, &options, &mut read_scratch, &mut on_event, |p| {
                        problems.push(p.to_string())
                    })
                    .map_err(|e| e.to_string())?;
                }
            }
        }
    }
    if let Some(problem) = problems.first() {
        return Err(format!("an event could not be read: {problem}"));
    }
    let passed = expectation.holds(matched, total);
    if !passed && details.is_empty() {
        details.push(format!("{matched} of {total} events matched"));
    }
    Ok(CaseResult {
        name: name.to_string(),
        expectation,
        events: total,
        matched,
        passed,
        details: if passed { Vec::new() } else { details },
    })
}

/// One line: which source selected the event and which searches matched it.
pub fn summarize(explanation: &Explanation) -> String {
    let selected: Vec<_> = explanation.variants.iter().filter(|v| v.selected).collect();
    if selected.is_empty() {
        let sources: Vec<&str> = explanation
            .variants
            .iter()
            .map(|v| v.source.as_str())
            .collect();
        return format!(
            "no source of the rule selects the event (sources: {}); check its channel and event id",
            sources.join(", ")
        );
    }
    let variant = selected
        .iter()
        .find(|v| v.matched)
        .copied()
        .unwrap_or(selected[0]);
    let searches: Vec<String> = variant
        .searches
        .iter()
        .map(|s| {
            if s.matched {
                format!("{} matched", s.name)
            } else {
                match first_failing_item(&s.body) {
                    Some(item) => format!("{} did not match ({})", s.name, describe_item(item)),
                    None => format!("{} did not match", s.name),
                }
            }
        })
        .collect();
    format!("via {}: {}", variant.source, searches.join("; "))
}

fn first_failing_item(node: &SearchNode) -> Option<&ItemExplanation> {
    match node {
        SearchNode::AllOf { items, .. } => items.iter().find(|i| !i.matched),
        SearchNode::AnyOf { alternatives, .. } => alternatives.iter().find_map(first_failing_item),
        SearchNode::Keywords(item) => (!item.matched).then_some(item),
    }
}

fn describe_item(item: &ItemExplanation) -> String {
    let wanted: Vec<&str> = item.values.iter().map(|v| v.description.as_str()).collect();
    let field = item.field.as_deref().unwrap_or("keywords");
    let got = match (&item.event_field, item.event_values.first()) {
        (Some(name), Some(value)) => {
            let value: String = value.chars().take(80).collect();
            format!("{name} is '{value}'")
        }
        _ if item.field.is_some() => "the field is absent".to_string(),
        _ => "no value of the event".to_string(),
    };
    let negation = if item.negated { "not " } else { "" };
    format!("{field}: wanted {negation}{}, {got}", wanted.join(" or "))
}
