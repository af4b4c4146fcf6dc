//! `sigrun explain RULE EVENTS`: why a rule matches an event or not, search by search and
//! value by value.

use anyhow::{Context as _, bail};
use sigrun_engine::CompileOptions;
use sigrun_engine::explain::{Explanation, ItemExplanation, SearchNode, explain};
use sigrun_logs::{
    DiscoverOptions, Input, ReadOptions, ReadScratch, SourceKind, discover, read_unit,
};
use sigrun_rule::{RuleSet, SigmaRule};
use std::fmt::Write as _;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// The rule file (its first detection rule, or the one --rule-id names).
    rule: PathBuf,
    /// A log file: EVTX, JSON or JSON Lines.
    events: PathBuf,
    /// The id or name of the rule, when the file holds several documents.
    #[arg(long)]
    rule_id: Option<String>,
    /// Only the event with this record id (EventRecordID / RecordNumber / winlog.record_id).
    #[arg(long)]
    record: Option<u64>,
    /// Only the N-th event of the file (1-based).
    #[arg(long)]
    index: Option<u64>,
    /// At most this many events are explained.
    #[arg(long, default_value_t = 20)]
    limit: u64,
    /// Pipeline: built-in names or YAML files, stacked.
    #[arg(short, long = "pipeline", value_name = "NAME|FILE")]
    pipelines: Vec<String>,
}

pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    let pipeline = crate::pipelines::load(&args.pipelines)?;
    let (set, unreadable) = RuleSet::load(std::slice::from_ref(&args.rule));
    if let Some((path, reason)) = unreadable.first() {
        bail!("{}: {reason}", path.display());
    }
    let rule: &SigmaRule = set
        .documents()
        .filter(|d| !d.document.has_errors())
        .filter_map(|d| d.document.rule())
        .find(|r| {
            args.rule_id
                .as_deref()
                .is_none_or(|want| r.meta.id() == Some(want) || r.meta.name() == Some(want))
        })
        .with_context(|| {
            format!(
                "{}: no valid detection rule{}",
                args.rule.display(),
                args.rule_id
                    .as_deref()
                    .map(|id| format!(" with id or name {id}"))
                    .unwrap_or_default()
            )
        })?;

    let sources = discover(
        &[Input::from_arg(&args.events)],
        &DiscoverOptions::default(),
    );
    let mut out = String::new();
    let _ = writeln!(
        out,
        "rule: {} ({}), by {}",
        rule.meta.title(),
        rule.meta.id().unwrap_or("no id"),
        match rule.meta.author() {
            "" => "no author given",
            author => author,
        }
    );
    let mut index = 0u64;
    let mut explained = 0u64;
    let mut matched = 0u64;
    let mut failure: Option<anyhow::Error> = None;
    let mut scratch = ReadScratch::new();
    let mut problems = Vec::new();
    for source in &sources {
        if let SourceKind::Skipped(reason) = source.kind() {
            bail!("{}: {reason}", source.path().display());
        }
        for unit in source.units() {
            let result = read_unit(
                unit,
                &ReadOptions::default(),
                &mut scratch,
                |event| {
                    index += 1;
                    let wanted = args.index.is_none_or(|i| i == index)
                        && args.record.is_none_or(|r| event.record_id() == Some(r));
                    if !wanted {
                        return ControlFlow::Continue(());
                    }
                    if explained == args.limit {
                        return ControlFlow::Break(());
                    }
                    explained += 1;
                    let header = format!(
                        "\nevent {index}{} ({}, event id {})",
                        event
                            .record_id()
                            .map(|r| format!(", record {r}"))
                            .unwrap_or_default(),
                        event.channel().unwrap_or("no channel"),
                        event
                            .event_id()
                            .map(|e| e.to_string())
                            .unwrap_or_else(|| "-".into())
                    );
                    out.push_str(&header);
                    out.push('\n');
                    match explain(rule, &pipeline, &event, &CompileOptions::default()) {
                        Ok(explanation) => {
                            if explanation.matched() {
                                matched += 1;
                            }
                            render(&explanation, &mut out);
                        }
                        Err(problem) => {
                            failure =
                                Some(anyhow::anyhow!("the rule cannot be evaluated: {problem}"));
                            return ControlFlow::Break(());
                        }
                    }
                    ControlFlow::Continue(())
                },
                |problem| problems.push(problem.to_string()),
            );
            result?;
            for problem in problems.drain(..) {
                let _ = writeln!(out, "skipped: {problem}");
            }
            if let Some(error) = failure.take() {
                return Err(error);
            }
        }
    }
    if explained == 0 {
        bail!("{}: no event selected", args.events.display());
    }
    let _ = writeln!(out, "\n{matched} of {explained} events match");
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    Ok(if matched > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn mark(matched: bool) -> &'static str {
    if matched { "yes" } else { "no " }
}

/// The explanation as an indented tree: sources, searches, items and values.
pub fn render(explanation: &Explanation, out: &mut String) {
    let _ = writeln!(
        out,
        "  result: {}",
        if explanation.matched() {
            "MATCH"
        } else {
            "no match"
        }
    );
    for variant in &explanation.variants {
        let _ = writeln!(
            out,
            "  source {}: {}",
            variant.source,
            if variant.selected {
                "selects the event"
            } else {
                "does not select the event"
            }
        );
        if !variant.selected {
            continue;
        }
        let conditions: Vec<String> = variant
            .conditions
            .iter()
            .map(|c| mark(*c).trim().to_string())
            .collect();
        let _ = writeln!(out, "    condition holds: {}", conditions.join(", "));
        for search in &variant.searches {
            let _ = writeln!(out, "    [{}] {}", mark(search.matched), search.name);
            node(&search.body, 3, out);
        }
    }
}

fn node(body: &SearchNode, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match body {
        SearchNode::AllOf { items, .. } => items.iter().for_each(|i| item(i, depth, out)),
        SearchNode::AnyOf { alternatives, .. } => {
            for (n, alternative) in alternatives.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{pad}[{}] alternative {}",
                    mark(alternative.matched()),
                    n + 1
                );
                node(alternative, depth + 1, out);
            }
        }
        SearchNode::Keywords(keywords) => item(keywords, depth, out),
    }
}

fn item(item: &ItemExplanation, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let field = item.field.as_deref().unwrap_or("(keywords)");
    let how = match (item.join_all, item.negated) {
        (true, true) => " (all, negated)",
        (true, false) => " (all)",
        (false, true) => " (negated)",
        (false, false) => "",
    };
    let seen = match (&item.event_field, item.event_values.as_slice()) {
        (_, []) if item.field.is_some() => "absent".to_string(),
        (_, []) => String::new(),
        (Some(name), values) => {
            let shown: Vec<String> = values.iter().take(3).map(|v| shorten(v)).collect();
            format!("{name} = {}", shown.join(" | "))
        }
        (None, _) => String::new(),
    };
    let _ = writeln!(out, "{pad}[{}] {field}{how}: {seen}", mark(item.matched));
    for value in &item.values {
        let _ = writeln!(
            out,
            "{pad}    [{}] {}",
            mark(value.matched),
            value.description
        );
    }
}

fn shorten(value: &str) -> String {
    let flat = value.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 100 {
        let mut cut: String = flat.chars().take(99).collect();
        cut.push('…');
        format!("'{cut}'")
    } else {
        format!("'{flat}'")
    }
}
